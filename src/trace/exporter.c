/* The span exporter: a ring of packed spans under one mutex. Request threads copy the used part
 * of each finished span into it (its fixed fields, its attributes, its text: a few hundred bytes,
 * no I/O, no allocation, no encoding); the exporter's thread takes what is queued, unpacks it,
 * encodes it (OTLP protobuf) and sends it in batches over OTLP/HTTP while the request threads go
 * on filling the rest of the ring. When the ring is full, spans are dropped and counted: a slow
 * or dead receiver never slows a request. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/ring.h"
#include "http/fetch.h"
#include "trace/span.h"

/* A span in the ring: its fields up to attrs, then attrs[nattrs], then text[used]. */
#define PACKED_HEAD offsetof(struct wdn_span, attrs)

static size_t packed_size(const struct wdn_span *s)
{
    return PACKED_HEAD + s->nattrs * sizeof(s->attrs[0]) + s->used;
}

static void pack(char *w, const struct wdn_span *s)
{
    memcpy(w, s, PACKED_HEAD);
    w += PACKED_HEAD;
    memcpy(w, s->attrs, s->nattrs * sizeof(s->attrs[0]));
    w += s->nattrs * sizeof(s->attrs[0]);
    memcpy(w, s->text, s->used);
}

static void unpack(struct wdn_span *s, const char *p)
{
    memcpy(s, p, PACKED_HEAD);
    p += PACKED_HEAD;
    memcpy(s->attrs, p, s->nattrs * sizeof(s->attrs[0]));
    p += s->nattrs * sizeof(s->attrs[0]);
    memcpy(s->text, p, s->used);
}

struct wdn_trace_exporter {
    char *url, *service, *scope, *ca_file;
    size_t cap, batch_max;
    unsigned flush_ms, timeout_ms;

    pthread_mutex_t mu;
    pthread_cond_t wake;    /* the thread: spans are waiting, a flush was asked, or stop */
    pthread_cond_t done;    /* flush waiters: a round ended */
    struct wdn_ring ring;   /* packed spans */
    struct wdn_span *batch; /* batch_max spans unpacked for the encoder (the thread's) */
    bool stop, running;
    bool flush_pending;                   /* a flush waits: start a round now */
    uint64_t rounds_started, rounds_done; /* a flush waits for a round that began after it */
    pthread_t thread;

    atomic_uint_fast64_t submitted, dropped, exported, failed_spans, failed_exports;
    atomic_int last_error;
    atomic_long last_status;
    struct wdn_buf body;
    struct wdn_fetch_keep *keep; /* the connection to the receiver, kept between batches */
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

/* partial_success.rejected_spans of a 2xx answer. An answer that is not an
 * ExportTraceServiceResponse (a receiver that answers JSON to protobuf, or garbage) rejects
 * nothing it says: the spans count as exported, as the status says. */
static uint64_t rejected_spans(const struct wdn_buf *body)
{
    uint64_t n = 0;

    if (body->len == 0 || wdn_otlp_parse_response(body->data, body->len, &n) != 0)
        return 0;
    return n;
}

/* Sends n spans in one request. */
static void export_batch(struct wdn_trace_exporter *e, const struct wdn_span *spans, size_t n,
                         unsigned timeout_ms)
{
    static const char *const headers[] = {"Content-Type: application/x-protobuf", NULL};
    struct wdn_fetch_response resp;
    int rc;

    e->body.len = 0; /* the buffer is kept from one batch to the next */
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
        .keep = e->keep,
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

/* Under e->mu: waits until a batch is waiting, a flush or stop asks, or flush_ms passed. */
static void wait_for_batch(struct wdn_trace_exporter *e)
{
    struct timespec until;

    deadline_after(&until, e->flush_ms);
    while (!e->stop && !e->flush_pending && e->ring.count < e->batch_max)
        if (pthread_cond_timedwait(&e->wake, &e->mu, &until) == ETIMEDOUT)
            break;
}

static void *run(void *arg)
{
    struct wdn_trace_exporter *e = arg;

    pthread_setname_np(pthread_self(), "wdn-trace");
    pthread_mutex_lock(&e->mu);
    for (;;) {
        wait_for_batch(e);
        bool stopping = e->stop;
        uint64_t round = ++e->rounds_started;
        struct wdn_ring_run run;
        e->flush_pending = false;
        wdn_ring_take(&e->ring, &run);
        pthread_mutex_unlock(&e->mu);

        /* The last round at shutdown gets a short timeout: stopping must not wait long on a
         * receiver that does not answer. */
        unsigned t = stopping && e->timeout_ms > 2000 ? 2000 : e->timeout_ms;
        const char *p;
        size_t k = 0, size;
        while ((p = wdn_ring_next(&e->ring, &run, &size)) != NULL) {
            unpack(&e->batch[k++], p);
            if (k == e->batch_max || run.left == 0) {
                export_batch(e, e->batch, k, t);
                k = 0;
            }
        }

        pthread_mutex_lock(&e->mu);
        wdn_ring_release(&e->ring, &run);
        e->rounds_done = round;
        pthread_cond_broadcast(&e->done);
        if (stopping && e->ring.count == 0)
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
    /* Room for cap typical spans, and always for one of the largest. */
    int rc = wdn_ring_init(&e->ring, e->cap,
                           e->cap * WDN_TRACE_QUEUE_SPAN_BYTES +
                               wdn_ring_cost(PACKED_HEAD + sizeof(((struct wdn_span *)0)->attrs) +
                                             WDN_TRACE_ATTR_BYTES));
    e->batch = malloc(e->batch_max * sizeof(*e->batch));
    /* One connection for every batch, as long as the receiver keeps it open: a connection
     * per batch cost both ends more than the batch's bytes did. */
    e->keep = wdn_fetch_keep_new();
    /* A span with full attributes encodes to at most about 1.5 KB (a sidecar's to ~150 B). */
    wdn_buf_init(&e->body, e->batch_max * 4096 + 4096);
    if (rc != 0 || e->url == NULL || e->service == NULL || e->scope == NULL ||
        (opts->ca_file && e->ca_file == NULL) || e->batch == NULL || e->keep == NULL) {
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

/* Queues n spans, spans[i] or *each[i]. */
static void submit(struct wdn_trace_exporter *e, const struct wdn_span *spans,
                   const struct wdn_span *const *each, size_t n)
{
    size_t fit = 0;

    pthread_mutex_lock(&e->mu);
    for (; fit < n; fit++) {
        const struct wdn_span *s = each ? each[fit] : &spans[fit];
        char *w = wdn_ring_push(&e->ring, packed_size(s));
        if (w == NULL)
            break;
        pack(w, s);
    }
    if (e->ring.count >= e->batch_max && e->ring.count - fit < e->batch_max)
        pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->mu);
    atomic_fetch_add_explicit(&e->submitted, fit, memory_order_relaxed);
    if (fit < n)
        atomic_fetch_add_explicit(&e->dropped, n - fit, memory_order_relaxed);
}

void wdn_trace_exporter_submit(struct wdn_trace_exporter *e, const struct wdn_span *spans, size_t n)
{
    submit(e, spans, NULL, n);
}

void wdn_trace_exporter_submit_each(struct wdn_trace_exporter *e,
                                    const struct wdn_span *const *spans, size_t n)
{
    submit(e, NULL, spans, n);
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
    /* The round under way may have taken its run before these spans arrived: wait for the
     * next one, which takes them. */
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
    wdn_fetch_keep_free(e->keep);
    wdn_ring_free(&e->ring);
    free(e->batch);
    free(e->url);
    free(e->service);
    free(e->scope);
    free(e->ca_file);
    free(e);
}
