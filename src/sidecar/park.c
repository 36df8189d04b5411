/* Requests that wait for a pipeline's network round trip (RFC 7662 token introspection) without
 * holding their worker: the pipeline answers "pending" and later calls wake from the thread that
 * made the call; the request is parked meanwhile (its worker serves others) and resumed on its
 * own loop, where the same step runs again and answers from what the round trip stored.
 *
 * Lifetimes: a ticket is made before each run that may pend and freed after it is woken (wake
 * comes exactly once) or at once when the run did not pend. The per-worker parking lives until
 * its worker stopped and every ticket it handed out was woken, so a late wake never touches a
 * closed loop. A client that leaves while parked ends its request at once; the wake then only
 * frees the ticket. */
#include <stdlib.h>

#include "base/error.h"
#include "base/log.h"
#include "sidecar/internal.h"

struct wdn__sc_parking {
    pthread_mutex_t mu;
    uv_async_t async;
    struct wdn__sc_ticket *ready; /* woken, to resume on the loop */
    int refs;                     /* the open async handle + each ticket not yet freed */
    bool closed;                  /* the worker stopped: wakes only free their ticket */
};

struct wdn__sc_ticket {
    struct wdn__sc_parking *pk;
    struct wdn__sc_ticket *next;
    struct wdn__sc_rq *rq;
    struct wdn__sc_cfg *cfg; /* a reference for the continuation while parked */
    wdn__sc_resume_fn resume;
    void *arg; /* in the request's arena */
    bool gone; /* the client left while parked: the request has ended */
};

static void unref(struct wdn__sc_parking *pk)
{
    bool last;

    pthread_mutex_lock(&pk->mu);
    last = --pk->refs == 0;
    pthread_mutex_unlock(&pk->mu);
    if (last) {
        pthread_mutex_destroy(&pk->mu);
        free(pk);
    }
}

static void ticket_free(struct wdn__sc_ticket *t)
{
    struct wdn__sc_parking *pk = t->pk;

    wdn__sc_cfg_release(t->cfg);
    free(t);
    unref(pk);
}

/* On the loop: resume what was woken. */
static void on_async(uv_async_t *a)
{
    struct wdn__sc_parking *pk = a->data;
    struct wdn__sc_ticket *t, *next;

    pthread_mutex_lock(&pk->mu);
    t = pk->ready;
    pk->ready = NULL;
    pthread_mutex_unlock(&pk->mu);
    for (; t; t = next) {
        next = t->next;
        if (!t->gone) {
            wdn_http_req_on_gone(t->rq->req, NULL, NULL);
            t->resume(t->rq, t->cfg, t->arg);
        }
        ticket_free(t);
    }
}

struct wdn__sc_parking *wdn__sc_parking_new(uv_loop_t *loop)
{
    struct wdn__sc_parking *pk = calloc(1, sizeof(*pk));

    if (pk == NULL)
        return NULL;
    if (uv_async_init(loop, &pk->async, on_async) != 0) {
        free(pk);
        return NULL;
    }
    pthread_mutex_init(&pk->mu, NULL);
    pk->async.data = pk;
    pk->refs = 1;
    return pk;
}

static void on_closed(uv_handle_t *h)
{
    unref(h->data);
}

void wdn__sc_parking_close(struct wdn__sc_parking *pk)
{
    struct wdn__sc_ticket *t, *next;

    if (pk == NULL)
        return;
    pthread_mutex_lock(&pk->mu);
    pk->closed = true;
    t = pk->ready;
    pk->ready = NULL;
    pthread_mutex_unlock(&pk->mu);
    /* The worker's connections are closed: every parked request has ended already. */
    for (; t; t = next) {
        next = t->next;
        ticket_free(t);
    }
    uv_close((uv_handle_t *)&pk->async, on_closed);
}

struct wdn__sc_ticket *wdn__sc_ticket_new(struct wdn__sc_rq *rq)
{
    int id = wdn_http_worker_id(wdn_http_req_worker(rq->req));
    struct wdn__sc_parking *pk = id < WDN__SC_MAX_WORKERS ? rq->l->parking[id] : NULL;
    struct wdn__sc_ticket *t;

    if (pk == NULL || (t = calloc(1, sizeof(*t))) == NULL)
        return NULL;
    t->pk = pk;
    t->rq = rq;
    pthread_mutex_lock(&pk->mu);
    pk->refs++;
    pthread_mutex_unlock(&pk->mu);
    return t;
}

void wdn__sc_ticket_wake(void *ud)
{
    struct wdn__sc_ticket *t = ud;
    struct wdn__sc_parking *pk = t->pk;
    bool closed;

    pthread_mutex_lock(&pk->mu);
    closed = pk->closed;
    if (!closed) {
        t->next = pk->ready;
        pk->ready = t;
        uv_async_send(&pk->async);
    }
    pthread_mutex_unlock(&pk->mu);
    if (closed)
        ticket_free(t);
}

void wdn__sc_ticket_drop(struct wdn__sc_ticket *t)
{
    if (t)
        ticket_free(t);
}

/* The client left while the request waited: end it now (the wake only frees the ticket) and
 * let the configuration go, which the continuation will never use. */
static void on_gone(struct wdn_http_req *req, void *ud)
{
    struct wdn__sc_ticket *t = ud;

    t->gone = true;
    wdn__sc_cfg_release(t->cfg);
    t->cfg = NULL;
    wdn__sc_metrics_request(t->rq->sc, t->rq->port, 499, t->rq->t0);
    wdn__sc_obs_end(t->rq, 0);
    wdn_http_resp_end(req);
}

void wdn__sc_park(struct wdn__sc_ticket *t, struct wdn__sc_cfg *cfg, wdn__sc_resume_fn resume,
                  void *arg)
{
    atomic_fetch_add(&cfg->refs, 1);
    t->cfg = cfg;
    t->resume = resume;
    t->arg = arg;
    wdn_http_req_on_gone(t->rq->req, on_gone, t);
}
