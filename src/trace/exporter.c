/* The span exporter: two span buffers under one mutex. Request threads append to the active
 * one (a copy, no I/O, no allocation); the exporter's thread swaps the buffers and sends the
 * full one in batches over OTLP/HTTP JSON while the request threads go on filling the other.
 * When the active buffer is full, spans are dropped and counted: a slow or dead receiver never
 * slows a request. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "http/fetch.h"
#include "trace/span.h"

struct spanbuf {
    struct wdn_span *v;
    size_t n;
};

struct wdn_trace_exporter {
    char *url, *service, *scope, *ca_file;
    size_t cap, batch_max;
    unsigned flush_ms, timeout_ms;

    pthread_mutex_t mu;
    pthread_cond_t wake; /* the thread: spans are waiting, a flush was asked, or stop */
    pthread_cond_t done; /* flush waiters: a round ended */
    struct spanbuf buf[2];
    int active;
    bool stop, running;
    bool flush_pending;                   /* a flush waits: start a round now */
    uint64_t rounds_started, rounds_done; /* a flush waits for a round that began after it */
    pthread_t thread;

    atomic_uint_fast64_t submitted, dropped, exported, failed_spans, failed_exports;
    atomic_int last_error;
    atomic_long last_status;
    struct wdn_buf body;
};

static void deadline_after(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void count_failure(struct wdn_trace_exporter *e, size_t n, int err, long status)
{
    atomic_fetch_add(&e->failed_exports, 1);
    atomic_fetch_add(&e->failed_spans, n);
    atomic_store(&e->last_error, err);
    atomic_store(&e->last_status, status);
}

/* Reads partialSuccess.rejectedSpans of a 2xx answer (an int64 in a string or a number). */
static uint64_t rejected_spans(const struct wdn_buf *body)
{
    json_t *o, *v;
    uint64_t n = 0;

    if (body->len == 0 || strstr(body->data, "rejectedSpans") == NULL)
        return 0;
    o = json_loadb(body->data, body->len, JSON_REJECT_DUPLICATES, NULL);
    v = json_object_get(json_object_get(o, "partialSuccess"), "rejectedSpans");
    if (json_is_integer(v) && json_integer_value(v) > 0)
        n = (uint64_t)json_integer_value(v);
    else if (json_is_string(v))
        n = strtoull(json_string_value(v), NULL, 10);
    json_decref(o);
    return n;
}

/* Sends n spans in one request. */
static void export_batch(struct wdn_trace_exporter *e, const struct wdn_span *spans, size_t n,
                         unsigned timeout_ms)
{
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    struct wdn_fetch_response resp;
    int rc;

    wdn_buf_reset(&e->body);
    rc = wdn_otlp_encode(&e->body, e->service, e->scope, spans, n);
    if (rc) {
        count_failure(e, n, rc, 0);
        return;
    }
    struct wdn_fetch_request req = {
        .method = "POST",
        .url = e->url,
        .headers = headers,
        .body = e->body.data,
        .body_len = e->body.len,
        .timeout_ms = timeout_ms,
        .ca_file = e->ca_file,
        .max_response = 65536,
        .no_proxy_env = true,
    };
    rc = wdn_fetch(&req, &resp, NULL);
    if (rc == 0 && resp.status >= 200 && resp.status < 300) {
        uint64_t rej = rejected_spans(&resp.body);
        if (rej > n)
            rej = n;
        atomic_fetch_add(&e->exported, n - rej);
        if (rej)
            atomic_fetch_add(&e->failed_spans, rej);
    } else {
        count_failure(e, n, rc ? rc : WDN_EHTTP_STATUS, rc ? 0 : resp.status);
    }
    wdn_fetch_response_reset(&resp);
}

static void *run(void *arg)
{
    struct wdn_trace_exporter *e = arg;

    pthread_mutex_lock(&e->mu);
    for (;;) {
        struct timespec until;
        deadline_after(&until, e->flush_ms);
        while (!e->stop && !e->flush_pending && e->buf[e->active].n < e->batch_max) {
            if (pthread_cond_timedwait(&e->wake, &e->mu, &until) == ETIMEDOUT)
                break;
        }
        bool stopping = e->stop;
        uint64_t round = ++e->rounds_started;
        struct spanbuf *full = &e->buf[e->active];
        e->flush_pending = false;
        e->active ^= 1;
        pthread_mutex_unlock(&e->mu);

        /* The last round at shutdown gets a short timeout: stopping must not wait long on a
         * receiver that does not answer. */
        unsigned t = stopping && e->timeout_ms > 2000 ? 2000 : e->timeout_ms;
        for (size_t i = 0; i < full->n; i += e->batch_max) {
            size_t k = full->n - i < e->batch_max ? full->n - i : e->batch_max;
            export_batch(e, full->v + i, k, t);
        }

        pthread_mutex_lock(&e->mu);
        full->n = 0;
        e->rounds_done = round;
        pthread_cond_broadcast(&e->done);
        if (stopping && e->buf[e->active].n == 0)
            break;
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

int wdn_trace_exporter_new(const struct wdn_trace_exporter_opts *opts,
                           struct wdn_trace_exporter **out, struct wdn_diag *d)
{
    struct wdn_trace_exporter *e;
    pthread_condattr_t ca;

    *out = NULL;
    if (opts->url == NULL || opts->service_name == NULL)
        return wdn_diag_set(d, WDN_EINVAL, "the trace exporter needs a URL and a service name");
    if (opts->queue_cap > WDN_TRACE_QUEUE_MAX)
        return wdn_diag_set(d, WDN_ERANGE, "the span queue holds at most %u spans",
                            WDN_TRACE_QUEUE_MAX);
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    e->cap = opts->queue_cap ? opts->queue_cap : WDN_TRACE_QUEUE_DEFAULT;
    e->batch_max = opts->batch_max ? opts->batch_max : WDN_TRACE_BATCH_MAX;
    if (e->batch_max > e->cap)
        e->batch_max = e->cap;
    e->flush_ms = opts->flush_ms ? opts->flush_ms : WDN_TRACE_FLUSH_MS;
    e->timeout_ms = opts->timeout_ms ? opts->timeout_ms : WDN_TRACE_EXPORT_TIMEOUT_MS;
    e->url = strdup(opts->url);
    e->service = strdup(opts->service_name);
    e->scope = strdup(opts->scope_name ? opts->scope_name : "warden");
    e->ca_file = opts->ca_file ? strdup(opts->ca_file) : NULL;
    /* Pages of the buffers are touched only as spans fill them. */
    e->buf[0].v = malloc(e->cap * sizeof(struct wdn_span));
    e->buf[1].v = malloc(e->cap * sizeof(struct wdn_span));
    /* A batch of spans with full attributes encodes to about 3 KB each. */
    wdn_buf_init(&e->body, e->batch_max * 4096 + 4096);
    if (e->url == NULL || e->service == NULL || e->scope == NULL ||
        (opts->ca_file && e->ca_file == NULL) || e->buf[0].v == NULL || e->buf[1].v == NULL) {
        wdn_trace_exporter_free(e);
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&e->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->wake, &ca);
    pthread_cond_init(&e->done, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&e->thread, NULL, run, e) != 0) {
        pthread_mutex_destroy(&e->mu);
        pthread_cond_destroy(&e->wake);
        pthread_cond_destroy(&e->done);
        wdn_trace_exporter_free(e); /* not running: frees the memory only */
        return wdn_diag_set(d, WDN_ESYS, "could not start the trace exporter's thread");
    }
    e->running = true;
    *out = e;
    return 0;
}

void wdn_trace_exporter_submit(struct wdn_trace_exporter *e, const struct wdn_span *spans, size_t n)
{
    size_t fit;

    pthread_mutex_lock(&e->mu);
    struct spanbuf *b = &e->buf[e->active];
    fit = e->cap - b->n < n ? e->cap - b->n : n;
    memcpy(b->v + b->n, spans, fit * sizeof(*spans));
    b->n += fit;
    if (b->n >= e->batch_max && b->n - fit < e->batch_max)
        pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->mu);
    atomic_fetch_add_explicit(&e->submitted, fit, memory_order_relaxed);
    if (fit < n)
        atomic_fetch_add_explicit(&e->dropped, n - fit, memory_order_relaxed);
}

void wdn_trace_exporter_stats(struct wdn_trace_exporter *e, struct wdn_trace_stats *out)
{
    out->submitted = atomic_load(&e->submitted);
    out->dropped = atomic_load(&e->dropped);
    out->exported = atomic_load(&e->exported);
    out->failed_spans = atomic_load(&e->failed_spans);
    out->failed_exports = atomic_load(&e->failed_exports);
    out->last_error = atomic_load(&e->last_error);
    out->last_status = atomic_load(&e->last_status);
}

int wdn_trace_exporter_flush(struct wdn_trace_exporter *e, unsigned timeout_ms)
{
    struct timespec until;
    int rc = 0;

    deadline_after(&until, timeout_ms);
    pthread_mutex_lock(&e->mu);
    /* The round under way may have swapped the buffers before these spans arrived: wait for
     * the next one, which sends the buffer they are in. */
    uint64_t want = e->rounds_started + 1;
    e->flush_pending = true;
    pthread_cond_signal(&e->wake);
    while (e->rounds_done < want) {
        if (pthread_cond_timedwait(&e->done, &e->mu, &until) == ETIMEDOUT) {
            rc = WDN_ETIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

void wdn_trace_exporter_free(struct wdn_trace_exporter *e)
{
    if (e == NULL)
        return;
    if (e->running) {
        pthread_mutex_lock(&e->mu);
        e->stop = true;
        pthread_cond_signal(&e->wake);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->thread, NULL);
        pthread_mutex_destroy(&e->mu);
        pthread_cond_destroy(&e->wake);
        pthread_cond_destroy(&e->done);
    }
    wdn_buf_reset(&e->body);
    free(e->buf[0].v);
    free(e->buf[1].v);
    free(e->url);
    free(e->service);
    free(e->scope);
    free(e->ca_file);
    free(e);
}
