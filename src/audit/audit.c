/* The audit log: a bounded queue of entries filled by request threads, and one writer thread
 * that formats, numbers, time-stamps, chains and writes them. The queue is one preallocated ring
 * of bytes: a request thread takes the lock, copies its event's fields and strings into the next
 * free bytes (no allocation, no formatting, no hashing) and lets go. When the ring is full (too
 * many records, or too many bytes of them) the record is dropped and counted, and the writer
 * later writes a "dropped" record saying how many. The chain (seq, prev) belongs to the writer
 * alone. The writer formats what it takes from the ring straight into a batch and writes the
 * batch with one system call; a batch the sink refuses is taken back whole (the chain goes back
 * to where the batch began) and counted as lost. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "audit/internal.h"
#include "base/error.h"
#include "base/limits.h"
#include "base/ring.h"
#include "trace/span.h"

struct wdn_audit {
    char *app_id;
    bool record_args;
    struct wdn__audit_sink sink;

    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    struct wdn_ring ring;         /* queued entries (struct wdn__audit_entry and their strings) */
    uint64_t enqueued, processed; /* under mu: flush waits for processed >= enqueued */
    size_t wake_at;               /* queued records that wake the writer before its timer */
    bool stop, running, hurry;    /* hurry: a flush waits */
    pthread_t thread;

    /* The writer's chain. */
    uint64_t seq;
    char prev[65];
    uint64_t sink_drops; /* records the sink refused, not yet reported */

    /* Lines chained but not yet written, and what to take back if the sink refuses them. */
    struct wdn_buf batch;
    uint64_t batch_seq0;
    char batch_prev0[65];
    uint64_t batch_records; /* lines in the batch */
    uint64_t batch_events;  /* of them, records of events (counted in dropped when lost) */
    uint64_t batch_lost;    /* records lost if the batch is: events, start, and the losses its
                               dropped records report */
    uint64_t batch_q;       /* queue losses its dropped records report */

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

/* The writer is cancelled in its write: under ASan, the frames the cancellation unwinds would
 * keep their poisoned redzones, which the thread's exit then trips over; unpoison its stack. */
static void on_cancel(void *unused)
{
    (void)unused;
#if defined(__SANITIZE_ADDRESS__)
    __asan_handle_no_return();
#endif
}

/* Writes the batch with one system call. When the sink refuses it, the chain goes back to where
 * the batch began (those records never happened) and the loss waits for the next "dropped"
 * record. */
static void flush_batch(struct wdn_audit *a)
{
    int rc;

    if (a->batch.len == 0)
        return;
    /* The write is the one place the writer may be cancelled (a sink that never returns at
     * shutdown): it holds no lock there. */
    pthread_cleanup_push(on_cancel, NULL);
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    rc = wdn__audit_sink_write(&a->sink, a->batch.data, a->batch.len);
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    pthread_cleanup_pop(0);
    atomic_store(&a->rotations, a->sink.rotations);
    if (rc == 0) {
        atomic_fetch_add(&a->written, a->batch_records);
    } else {
        atomic_fetch_add(&a->sink_errors, 1);
        atomic_fetch_add(&a->dropped, a->batch_events);
        atomic_fetch_add(&a->queue_drops, a->batch_q);
        a->sink_drops += a->batch_lost;
        a->seq = a->batch_seq0;
        memcpy(a->prev, a->batch_prev0, sizeof(a->prev));
    }
    a->batch.len = 0;
    a->batch_seq0 = a->seq;
    memcpy(a->batch_prev0, a->prev, sizeof(a->prev));
    a->batch_records = a->batch_events = a->batch_lost = a->batch_q = 0;
}

/* Chains one record into the batch, formatted straight into it. A batch stops at
 * WDN_AUDIT_BATCH_BYTES and where the file would rotate, so that a rotation falls between two
 * records. lost: the records its loss stands for. */
static void chain_record(struct wdn_audit *a, const struct wdn__audit_entry *e, bool event,
                         uint64_t lost, uint64_t q)
{
    char hash[65];
    size_t room = wdn__audit_sink_room(&a->sink);
    struct wdn_str app = wdn_str_from_cstr(a->app_id);
    size_t bound = wdn__audit_line_max(app, e);
    size_t at;

    if (a->batch.len &&
        (a->batch.len + bound > WDN_AUDIT_BATCH_BYTES || a->batch.len + bound > room))
        flush_batch(a);
    at = a->batch.len;
    if (wdn__audit_line(&a->batch, a->seq + 1, app, e, a->prev, bound) != 0 ||
        wdn__audit_hash((struct wdn_str){a->batch.data + at, a->batch.len - at - 1}, hash) != 0) {
        /* Out of memory, or a line longer than a record may be: lost like a failed write. */
        a->batch.len = at;
        atomic_fetch_add(&a->sink_errors, 1);
        if (event)
            atomic_fetch_add(&a->dropped, 1);
        atomic_fetch_add(&a->queue_drops, q);
        a->sink_drops += lost;
        return;
    }
    a->seq++;
    memcpy(a->prev, hash, sizeof(hash));
    a->batch_records++;
    a->batch_events += event;
    a->batch_lost += lost;
    a->batch_q += q;
}

/* A record the writer makes itself ("start", "dropped"): an entry with a reason and no other
 * string. */
static void chain_own(struct wdn_audit *a, enum wdn_audit_kind kind, const char *reason,
                      uint64_t count, uint64_t lost, uint64_t q)
{
    struct {
        struct wdn__audit_entry e;
        char text[32];
    } own;
    size_t n = reason ? strlen(reason) : 0;

    memset(&own, 0, sizeof(own));
    own.e.kind = (uint8_t)kind;
    own.e.time_ns = wdn_trace_now_ns();
    own.e.count = count;
    own.e.len[WDN__AUDIT_S_REASON] = (uint32_t)n;
    memcpy(own.text, reason ? reason : "", n);
    chain_record(a, &own.e, false, lost, q);
}

/* Chains a "dropped" record for each loss not yet reported, before the next record: a gap is
 * always announced before what follows it. */
static void report_drops(struct wdn_audit *a)
{
    uint64_t q = atomic_exchange(&a->queue_drops, 0);

    if (q)
        chain_own(a, WDN_AUDIT_DROPPED, "queue_full", q, 0, q);
    if (a->sink_drops) {
        uint64_t s = a->sink_drops;
        a->sink_drops = 0;
        chain_own(a, WDN_AUDIT_DROPPED, "sink_error", s, s, 0);
    }
}

/* Under a->mu: waits until a quarter of the queue is waiting, a flush or stop asks, or
 * WDN_AUDIT_FLUSH_MS passed. */
static void wait_for_batch(struct wdn_audit *a)
{
    struct timespec until;

    if (a->stop || a->hurry || a->ring.count >= a->wake_at)
        return;
    deadline_after(&until, WDN_AUDIT_FLUSH_MS);
    while (!a->stop && !a->hurry && a->ring.count < a->wake_at)
        if (pthread_cond_timedwait(&a->wake, &a->mu, &until) == ETIMEDOUT)
            break;
}

static void *run(void *arg)
{
    struct wdn_audit *a = arg;

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    pthread_setname_np(pthread_self(), "wdn-audit");
    a->batch_seq0 = a->seq;
    memcpy(a->batch_prev0, a->prev, sizeof(a->prev));
    /* A start record that is lost is announced too. */
    chain_own(a, WDN_AUDIT_START, NULL, 0, 1, 0);
    flush_batch(a);
    pthread_mutex_lock(&a->mu);
    for (;;) {
        /* Waking the writer for every record would cost more than writing it: it sleeps until a
         * batch is waiting, a flush asks, or WDN_AUDIT_FLUSH_MS after the first record. */
        while (!a->stop && a->ring.count == 0)
            pthread_cond_wait(&a->wake, &a->mu);
        wait_for_batch(a);
        a->hurry = false;
        if (a->ring.count == 0 && a->stop)
            break;
        /* The entries queued now are the writer's until it gives their bytes back; request
         * threads only write past them. */
        struct wdn_ring_run run;
        wdn_ring_take(&a->ring, &run);
        pthread_mutex_unlock(&a->mu);

        const struct wdn__audit_entry *e;
        size_t size;
        while ((e = wdn_ring_next(&a->ring, &run, &size)) != NULL) {
            report_drops(a);
            chain_record(a, e, true, 1, 0);
        }
        report_drops(a);
        flush_batch(a);
        wdn__audit_sink_sync(&a->sink);

        pthread_mutex_lock(&a->mu);
        wdn_ring_release(&a->ring, &run);
        a->processed += run.n;
        pthread_cond_broadcast(&a->done);
    }
    pthread_mutex_unlock(&a->mu);
    report_drops(a);
    flush_batch(a);
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
    size_t cap = o->queue_cap ? o->queue_cap : WDN_AUDIT_QUEUE_DEFAULT;
    a->wake_at = cap / 4 ? cap / 4 : 1;
    a->app_id = strdup(o->app_id);
    a->record_args = o->record_args;
    wdn_buf_init(&a->batch, WDN_AUDIT_BATCH_BYTES + WDN_AUDIT_MAX_RECORD_BYTES);
    /* Room for cap typical records, and always for one of the largest. */
    rc = wdn_ring_init(&a->ring, cap,
                       cap * WDN_AUDIT_QUEUE_RECORD_BYTES + wdn_ring_cost(WDN__AUDIT_ENTRY_MAX));
    if (rc != 0 || a->app_id == NULL) {
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
    struct wdn__audit_entry *e = NULL;
    struct wdn__audit_prep prep;
    uint64_t now;
    size_t size;

    if (a == NULL)
        return;
    now = wdn_trace_now_ns();
    /* Everything that reads the event is done before the lock: under it, one copy. */
    size = wdn__audit_entry_prepare(ev, a->record_args, &prep);
    pthread_mutex_lock(&a->mu);
    if (!a->stop && (e = wdn_ring_push(&a->ring, size)) != NULL) {
        wdn__audit_entry_fill(e, ev, &prep, a->record_args, now);
        a->enqueued++;
        if (a->ring.count == 1 || a->ring.count == a->wake_at)
            pthread_cond_signal(&a->wake);
    }
    pthread_mutex_unlock(&a->mu);
    if (e) {
        atomic_fetch_add_explicit(&a->queued, 1, memory_order_relaxed);
    } else {
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

bool wdn_audit_is_log_name(const struct wdn_audit *a, const char *name)
{
    const char *base, *p;
    size_t n;

    if (a == NULL || name == NULL || a->sink.type != WDN__AUDIT_FILE)
        return false;
    base = strrchr(a->sink.path, '/');
    base = base ? base + 1 : a->sink.path;
    n = strlen(base);
    if (strncmp(name, base, n) != 0)
        return false;
    if (name[n] == '\0')
        return true;
    if (name[n] != '.' || name[n + 1] == '\0')
        return false;
    for (p = name + n + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

int wdn_audit_flush(struct wdn_audit *a, unsigned timeout_ms)
{
    struct timespec until;
    int rc = 0;

    deadline_after(&until, timeout_ms);
    pthread_mutex_lock(&a->mu);
    uint64_t want = a->enqueued;
    a->hurry = true;
    pthread_cond_signal(&a->wake);
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
    wdn_ring_free(&a->ring);
    wdn__audit_sink_close(&a->sink);
    wdn_buf_reset(&a->batch);
    free(a->app_id);
    free(a);
}
