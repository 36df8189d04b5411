/* The audit log: a bounded ring of record bodies filled by request threads, and one writer
 * thread that numbers, time-stamps, chains and writes them. A request thread formats its
 * record's body and takes the lock only to put the pointer in the ring; when the ring is full
 * the record is dropped and counted, and the writer later writes a "dropped" record saying how
 * many. The chain (seq, prev) belongs to the writer alone. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/internal.h"
#include "base/error.h"
#include "base/limits.h"
#include "trace/span.h"

struct entry {
    uint64_t time_ns;
    char *body; /* malloc'd, owned by the ring */
    size_t len;
};

struct wdn_audit {
    char *app_id;
    bool record_args;
    struct wdn__audit_sink sink;

    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    struct entry *ring;
    size_t cap, head, count;
    uint64_t enqueued, processed; /* under mu: flush waits for processed >= enqueued */
    bool stop, running;
    pthread_t thread;

    /* The writer's chain. */
    uint64_t seq;
    char prev[65];
    struct wdn_buf line;
    uint64_t sink_drops; /* records the sink refused, not yet reported */

    atomic_uint_fast64_t queued, written, dropped, sink_errors, queue_drops, rotations;
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

/* Chains and writes one record; on failure the chain does not advance (the record never
 * happened) and the loss is counted for the next "dropped" record. */
static int write_record(struct wdn_audit *a, uint64_t time_ns, struct wdn_str body)
{
    char hash[65];
    int rc;

    wdn_buf_reset(&a->line);
    rc = wdn__audit_line(&a->line, a->seq + 1, time_ns, a->app_id, body, a->prev);
    if (rc == 0)
        rc = wdn__audit_hash((struct wdn_str){a->line.data, a->line.len - 1}, hash);
    if (rc == 0) {
        /* The write is the one place the writer may be cancelled (a sink that never returns
         * at shutdown): it holds no lock there. */
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        rc = wdn__audit_sink_write(&a->sink, a->line.data, a->line.len);
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        atomic_store(&a->rotations, a->sink.rotations);
    }
    if (rc) {
        atomic_fetch_add(&a->sink_errors, 1);
        return rc;
    }
    a->seq++;
    memcpy(a->prev, hash, sizeof(hash));
    atomic_fetch_add(&a->written, 1);
    return 0;
}

/* Writes a "dropped" record: count records lost for reason. */
static bool report(struct wdn_audit *a, const char *reason, uint64_t count)
{
    char body[160];
    int n = snprintf(body, sizeof(body),
                     "\"kind\":\"dropped\",\"decision\":\"none\",\"reason\":\"%s\","
                     "\"count\":%llu",
                     reason, (unsigned long long)count);

    return write_record(a, wdn_trace_now_ns(), (struct wdn_str){body, (size_t)n}) == 0;
}

/* Reports losses not yet reported. True when none is left: only then may the next record be
 * written, so that a gap in the records is always announced before what follows it. */
static bool report_drops(struct wdn_audit *a)
{
    uint64_t q = atomic_exchange(&a->queue_drops, 0);
    bool clear = true;

    if (q && !report(a, "queue_full", q)) {
        atomic_fetch_add(&a->queue_drops, q);
        clear = false;
    }
    if (a->sink_drops) {
        if (report(a, "sink_error", a->sink_drops))
            a->sink_drops = 0;
        else
            clear = false;
    }
    return clear;
}

/* Writes one queued record, or counts it lost. */
static void write_entry(struct wdn_audit *a, const struct entry *e)
{
    if (!report_drops(a) || write_record(a, e->time_ns, (struct wdn_str){e->body, e->len}) != 0) {
        a->sink_drops++;
        atomic_fetch_add(&a->dropped, 1);
    }
}

static void *run(void *arg)
{
    struct wdn_audit *a = arg;
    char start[192];
    int n = snprintf(start, sizeof(start),
                     "\"kind\":\"start\",\"decision\":\"none\",\"version\":\"%s\"", WDN_VERSION);

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);

    if (write_record(a, wdn_trace_now_ns(), (struct wdn_str){start, (size_t)n}) != 0)
        a->sink_drops++; /* the start record counts as lost too: the gap is announced */
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->stop && a->count == 0)
            pthread_cond_wait(&a->wake, &a->mu);
        if (a->count == 0 && a->stop)
            break;
        /* Entries [head, head + k) are the writer's until it gives the slots back. */
        size_t head = a->head, k = a->count;
        pthread_mutex_unlock(&a->mu);

        for (size_t i = 0; i < k; i++) {
            struct entry *e = &a->ring[(head + i) % a->cap];
            write_entry(a, e);
            free(e->body);
            e->body = NULL;
        }
        report_drops(a);
        wdn__audit_sink_sync(&a->sink);

        pthread_mutex_lock(&a->mu);
        a->head = (a->head + k) % a->cap;
        a->count -= k;
        a->processed += k;
        pthread_cond_broadcast(&a->done);
    }
    pthread_mutex_unlock(&a->mu);
    report_drops(a);
    return NULL;
}

int wdn_audit_open(const struct wdn_audit_opts *o, struct wdn_audit **out, struct wdn_diag *d)
{
    struct wdn_audit *a;
    pthread_condattr_t ca;
    int rc;

    *out = NULL;
    if (o->sink == NULL || *o->sink == '\0' || o->app_id == NULL)
        return wdn_diag_set(d, WDN_EINVAL, "--audit-log needs a file path, stdout or syslog");
    if (o->queue_cap > WDN_AUDIT_QUEUE_MAX)
        return wdn_diag_set(d, WDN_ERANGE, "the audit queue holds at most %u records",
                            WDN_AUDIT_QUEUE_MAX);
    if (o->max_bytes && o->max_bytes < WDN_AUDIT_ROTATE_MIN_BYTES)
        return wdn_diag_set(d, WDN_ERANGE, "--audit-max-size must be at least %u bytes",
                            WDN_AUDIT_ROTATE_MIN_BYTES);
    if (o->keep > WDN_AUDIT_KEEP_MAX)
        return wdn_diag_set(d, WDN_ERANGE, "--audit-keep must be at most %u", WDN_AUDIT_KEEP_MAX);
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    a->sink.fd = -1;
    a->cap = o->queue_cap ? o->queue_cap : WDN_AUDIT_QUEUE_DEFAULT;
    a->ring = calloc(a->cap, sizeof(*a->ring));
    a->app_id = strdup(o->app_id);
    a->record_args = o->record_args;
    wdn_buf_init(&a->line, WDN_AUDIT_MAX_RECORD_BYTES);
    if (a->ring == NULL || a->app_id == NULL) {
        wdn_audit_close(a);
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    }
    rc = wdn__audit_sink_open(&a->sink, o, a->prev, &a->seq, d);
    if (rc) {
        wdn_audit_close(a);
        return rc;
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->wake, &ca);
    pthread_cond_init(&a->done, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&a->thread, NULL, run, a) != 0) {
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->wake);
        pthread_cond_destroy(&a->done);
        wdn_audit_close(a); /* not running: closes the sink and frees */
        return wdn_diag_set(d, WDN_ESYS, "could not start the audit writer's thread");
    }
    a->running = true;
    *out = a;
    return 0;
}

void wdn_audit_emit(struct wdn_audit *a, const struct wdn_audit_event *ev)
{
    struct wdn_buf body;
    bool queued = false;
    uint64_t now = wdn_trace_now_ns();

    if (a == NULL)
        return;
    wdn_buf_init(&body, WDN_AUDIT_MAX_RECORD_BYTES - 512);
    if (wdn_buf_reserve(&body, 512) == 0 && wdn__audit_body(ev, a->record_args, &body) == 0) {
        pthread_mutex_lock(&a->mu);
        if (a->count < a->cap && !a->stop) {
            struct entry *e = &a->ring[(a->head + a->count) % a->cap];
            e->time_ns = now;
            e->body = body.data;
            e->len = body.len;
            a->count++;
            a->enqueued++;
            queued = true;
            if (a->count == 1)
                pthread_cond_signal(&a->wake);
        }
        pthread_mutex_unlock(&a->mu);
    }
    if (queued) {
        atomic_fetch_add_explicit(&a->queued, 1, memory_order_relaxed);
    } else {
        wdn_buf_reset(&body);
        atomic_fetch_add_explicit(&a->queue_drops, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&a->dropped, 1, memory_order_relaxed);
    }
}

void wdn_audit_stats(struct wdn_audit *a, struct wdn_audit_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (a == NULL)
        return;
    out->queued = atomic_load(&a->queued);
    out->written = atomic_load(&a->written);
    out->sink_errors = atomic_load(&a->sink_errors);
    out->dropped = atomic_load(&a->dropped);
    out->rotations = atomic_load(&a->rotations);
}

int wdn_audit_flush(struct wdn_audit *a, unsigned timeout_ms)
{
    struct timespec until;
    int rc = 0;

    deadline_after(&until, timeout_ms);
    pthread_mutex_lock(&a->mu);
    uint64_t want = a->enqueued;
    while (a->processed < want) {
        if (pthread_cond_timedwait(&a->done, &a->mu, &until) == ETIMEDOUT) {
            rc = WDN_ETIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void wdn_audit_close(struct wdn_audit *a)
{
    if (a == NULL)
        return;
    if (a->running) {
        /* The writer empties the ring before it stops; a sink that blocks for good (a pipe
         * nobody reads) is given WDN_AUDIT_DRAIN_MS, then abandoned with what it holds. */
        int rc = wdn_audit_flush(a, WDN_AUDIT_DRAIN_MS);
        pthread_mutex_lock(&a->mu);
        a->stop = true;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->mu);
        if (rc != 0)
            pthread_cancel(a->thread);
        pthread_join(a->thread, NULL);
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->wake);
        pthread_cond_destroy(&a->done);
    }
    for (size_t i = 0; a->ring && i < a->cap; i++)
        free(a->ring[i].body);
    free(a->ring);
    wdn__audit_sink_close(&a->sink);
    wdn_buf_reset(&a->line);
    free(a->app_id);
    free(a);
}
