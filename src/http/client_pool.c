/* The client's pools and connections: one pool per upstream (host, port, TLS context), its idle
 * keep-alive connections (most recently used first, watched so one the upstream closes goes at
 * once), connecting with a timeout, names resolved off the loop, and a client's set of pools
 * with the eviction of those left unused. The exchanges on the connections are in
 * client_exchange.c. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dns.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/client_int.h"
#include "http/tls.h"

static void cc_connect(struct cconn *cc);

static void pool_destroy(struct wdn_http_pool *p)
{
    while (p->free_x) {
        struct wdn_http_exchange *x = p->free_x;
        p->free_x = x->next_free;
        wdn_buf_reset(&x->head);
        free(x);
    }
    wdn__http_wreq_cache_drain(&p->wreqs);
    wdn_tls_ctx_free(p->tls);
    free(p->host);
    free(p->host_line);
    free(p->server_name);
    free(p->session_key);
    free(p);
}

/* ---- Connection lifetime ------------------------------------------------------------------ */

void wdn__http_cc_maybe_free(struct cconn *cc)
{
    struct wdn_http_pool *p = cc->pool;

    if (cc->handles_open > 0 || cc->writes_pending > 0)
        return;
    while (cc->qhead) {
        struct wdn__http_wreq *wr = cc->qhead;
        cc->qhead = wr->qnext;
        wr_put(p, wr);
    }
    wdn__http_tx_free(&cc->tx);
    free(cc->rbuf);
    free(cc);
    p->nconns--;
    p->last_used = uv_now(p->loop);
    if (p->closing && p->nconns == 0 && !p->resolving)
        pool_destroy(p);
}

static void on_cc_closed(uv_handle_t *h)
{
    struct cconn *cc = h->data;
    cc->handles_open--;
    wdn__http_cc_maybe_free(cc);
}

void wdn__http_cc_close(struct cconn *cc)
{
    struct wdn_http_pool *p = cc->pool;

    if (cc->closing)
        return;
    cc->closing = true;
    if (cc->state == CC_IDLE) {
        list_unlink(&p->idle, cc);
        p->nidle--;
    } else {
        list_unlink(&p->busy, cc);
    }
    wdn__http_tx_close(&cc->tx, on_cc_closed);
    uv_close((uv_handle_t *)&cc->timer, on_cc_closed);
}

/* A connection's timer is armed lazily: cc->deadline is when the current wait runs out, and
 * the uv timer, armed for cc->armed <= deadline, is restarted only when a deadline comes
 * earlier than that. Moving a deadline later (every request: a response wait after an idle
 * keep, progress on the response, idle again) costs nothing; the timer that fires early
 * re-arms for the rest. Before (issue 20) each request restarted it four times. */
static void on_cc_timer(uv_timer_t *t)
{
    struct cconn *cc = t->data;
    uint64_t now = uv_now(cc->pool->loop);

    cc->armed = 0;
    if (cc->deadline == 0)
        return; /* nothing to wait for now (a paused response) */
    if (now < cc->deadline) {
        cc->armed = cc->deadline;
        uv_timer_start(&cc->timer, on_cc_timer, cc->deadline - now, 0);
        return;
    }
    cc->deadline = 0;
    if (cc->state == CC_IDLE) {
        wdn__http_cc_close(cc);
        return;
    }
    wdn__http_cc_fail(cc, cc->early ? cc->early : WDN_ETIMEOUT);
}

/* cc's current wait ends ms from now (0: on the loop's next turn). */
static void cc_arm(struct cconn *cc, uint64_t ms)
{
    cc->deadline = uv_now(cc->pool->loop) + ms;
    if (cc->armed == 0 || cc->deadline < cc->armed) {
        cc->armed = cc->deadline;
        uv_timer_start(&cc->timer, on_cc_timer, ms, 0);
    }
}

void wdn__http_cc_timer_update(struct cconn *cc)
{
    struct wdn_http_pool *p = cc->pool;

    if (cc->closing)
        return;
    if (cc->state == CC_IDLE)
        cc_arm(cc, p->idle_timeout_ms);
    else if (cc->state == CC_CONNECTING)
        return; /* the connect timer runs from cc_new */
    else if (cc->x && cc->x->paused)
        cc->deadline = 0;
    else
        cc_arm(cc, p->response_timeout_ms);
}

/* ---- Connecting --------------------------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status)
{
    struct cconn *cc = req->data;

    if (cc->closing)
        return;
    if (status < 0) {
        /* Refused, unreachable or unroutable: the upstream cannot be reached (a connect
         * timeout is the timer's WDN_ETIMEOUT). */
        wdn__http_cc_fail(cc, status == UV_ETIMEDOUT ? WDN_ETIMEOUT : WDN_ECONNREFUSED);
        return;
    }
    cc->connected = true;
    uv_tcp_nodelay(&cc->tcp, 1);
    if (wdn__http_tx_connected(&cc->tx) != 0) {
        wdn__http_cc_fail(cc, WDN_ETLS);
        return;
    }
    wdn__http_tx_read_start(&cc->tx);
    if (wdn__http_tx_ready(&cc->tx))
        wdn__http_cc_tx_cbs.ready(&cc->tx);
}

static void cc_connect(struct cconn *cc)
{
    struct wdn_http_pool *p = cc->pool;

    cc->waiting_dns = false;
    if (uv_tcp_connect(&cc->connect, &cc->tcp, (struct sockaddr *)&p->addr, on_connect) != 0) {
        /* Failed at once (no route: ENETUNREACH, EADDRNOTAVAIL, ...): nothing was sent and the
         * address cannot be reached, as on_connect reports it, so a caller (the proxy's
         * reroute) moves on to another address. Reported from the loop, like the rest. */
        cc->early = WDN_ECONNREFUSED;
        cc_arm(cc, 0);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct wdn_http_pool *p = req->data;
    struct addrinfo *pick = NULL;
    struct cconn *cc, *next;

    p->resolving = false;
    /* IPv4 first: local services usually listen on 127.0.0.1 while "localhost" may come back
     * as ::1 first. */
    for (struct addrinfo *ai = res; status == 0 && ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET && pick == NULL)
            pick = ai;
    }
    for (struct addrinfo *ai = res; status == 0 && ai && pick == NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET6)
            pick = ai;
    }
    if (pick && pick->ai_addrlen <= sizeof(p->addr)) {
        memset(&p->addr, 0, sizeof(p->addr));
        memcpy(&p->addr, pick->ai_addr, pick->ai_addrlen);
        if (pick->ai_family == AF_INET)
            ((struct sockaddr_in *)&p->addr)->sin_port = htons((uint16_t)p->port);
        else
            ((struct sockaddr_in6 *)&p->addr)->sin6_port = htons((uint16_t)p->port);
        p->resolved_at = uv_now(p->loop);
        if (p->resolved_at == 0)
            p->resolved_at = 1;
    }
    if (res)
        uv_freeaddrinfo(res);
    if (p->closing) {
        if (p->nconns == 0)
            pool_destroy(p);
        return;
    }
    for (cc = p->busy; cc; cc = next) {
        next = cc->next;
        if (!cc->waiting_dns || cc->closing)
            continue;
        if (pick)
            cc_connect(cc);
        else
            wdn__http_cc_fail(cc, WDN_EDNS);
    }
}

/* Starts resolving the pool's host name unless that is already under way. */
static void pool_resolve(struct wdn_http_pool *p)
{
    struct addrinfo hints;
    char port[8];

    if (p->resolving)
        return;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", p->port);
    p->gai.data = p;
    p->resolving = true;
    if (uv_getaddrinfo(p->loop, &p->gai, on_resolved, p->host, port, &hints) != 0) {
        /* Reported to the waiting connections at once, from the loop. */
        p->resolving = false;
        for (struct cconn *cc = p->busy; cc; cc = cc->next) {
            if (cc->waiting_dns) {
                cc->early = WDN_EDNS; /* as on_resolved reports a failed lookup */
                cc_arm(cc, 0);
            }
        }
    }
}

struct cconn *wdn__http_cc_new(struct wdn_http_pool *p)
{
    struct cconn *cc = calloc(1, sizeof(*cc));

    if (cc == NULL)
        return NULL;
    cc->pool = p;
    cc->state = CC_CONNECTING;
    uv_tcp_init(p->loop, &cc->tcp);
    uv_timer_init(p->loop, &cc->timer);
    cc->tcp.data = cc;
    cc->timer.data = cc;
    cc->connect.data = cc;
    cc->handles_open = 2;
    p->nconns++;
    p->connects++;
    list_push(&p->busy, cc);
    /* The connect timeout covers name resolution too. */
    cc_arm(cc, p->connect_timeout_ms);
    if (wdn__http_tx_init(&cc->tx, &wdn__http_cc_tx_cbs, &cc->tcp, p->tls, false, p->server_name,
                          p->session_key) != 0) {
        /* Fails on the next turn through the usual path, so callers see one code path. */
        cc_arm(cc, 0);
        return cc;
    }
    if (!p->numeric && (p->resolved_at == 0 || uv_now(p->loop) - p->resolved_at > WDN_DNS_TTL_MS)) {
        cc->waiting_dns = true;
        pool_resolve(p);
        return cc;
    }
    cc_connect(cc);
    return cc;
}

/* ---- Pools and clients -------------------------------------------------------------------- */

int wdn_http_pool_new(uv_loop_t *loop, const struct wdn_http_pool_config *cfg,
                      struct wdn_http_pool **out)
{
    struct wdn_http_pool *p = NULL;
    const char *host = cfg->host;
    char key[300], line[320];
    int rc = WDN_EINVAL;

    *out = NULL;
    if (host == NULL || cfg->port <= 0 || cfg->port > 65535)
        goto out;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        rc = WDN_ENOMEM;
        goto out;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&p->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&p->addr;
    p->numeric = true;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)cfg->port);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)cfg->port);
    } else if (wdn_dns_name_ok(host, WDN_DNS_TRAILING_DOT | WDN_DNS_UNDERSCORE)) {
        p->numeric = false; /* resolved asynchronously on first connect (uv_getaddrinfo) */
    } else {
        goto out;
    }
    p->loop = loop;
    p->port = cfg->port;
    p->tls = wdn_tls_ctx_ref(cfg->tls);
    p->last_used = uv_now(loop);
    p->host = strdup(cfg->host);
    p->server_name = strdup(cfg->server_name ? cfg->server_name : cfg->host);
    if (wdn_fmt(key, sizeof(key), "%s:%d", cfg->host, cfg->port) != 0)
        goto out;
    p->session_key = strdup(key);
    if (wdn_fmt(line, sizeof(line), "Host: %s%s%s:%d\r\n", strchr(host, ':') ? "[" : "", host,
                strchr(host, ':') ? "]" : "", cfg->port) != 0)
        goto out;
    p->host_line = strdup(line);
    if (p->host == NULL || p->server_name == NULL || p->session_key == NULL ||
        p->host_line == NULL) {
        rc = WDN_ENOMEM;
        goto out;
    }
    p->connect_timeout_ms =
        cfg->connect_timeout_ms ? cfg->connect_timeout_ms : WDN_HTTP_UPSTREAM_CONNECT_TIMEOUT_MS;
    p->response_timeout_ms =
        cfg->response_timeout_ms ? cfg->response_timeout_ms : WDN_HTTP_UPSTREAM_TIMEOUT_MS;
    p->idle_timeout_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : POOL_IDLE_TIMEOUT_MS;
    p->max_idle = cfg->max_idle ? cfg->max_idle : WDN_HTTP_POOL_MAX_IDLE;
    *out = p;
    p = NULL;
    rc = 0;
out:
    if (p)
        pool_destroy(p);
    return rc;
}

void wdn_http_pool_free(struct wdn_http_pool *p)
{
    if (p == NULL)
        return;
    p->closing = true;
    while (p->idle)
        wdn__http_cc_close(p->idle);
    while (p->busy) {
        struct cconn *cc = p->busy;
        struct wdn_http_exchange *x = cc->x;
        cc->x = NULL;
        if (x) {
            x->cc = NULL;
            wdn__http_x_put(x);
        }
        wdn__http_cc_close(cc);
    }
    if (p->resolving)
        uv_cancel((uv_req_t *)&p->gai);
    else if (p->nconns == 0)
        pool_destroy(p);
}

size_t wdn_http_pool_idle(const struct wdn_http_pool *p)
{
    return p->nidle;
}

uint64_t wdn_http_pool_connects(const struct wdn_http_pool *p)
{
    return p->connects;
}

int wdn_http_client_new(uv_loop_t *loop, struct wdn_http_client **out)
{
    struct wdn_http_client *cl = calloc(1, sizeof(*cl));

    *out = NULL;
    if (cl == NULL)
        return WDN_ENOMEM;
    cl->loop = loop;
    cl->swept_at = uv_now(loop);
    cl->evict_ms = WDN_HTTP_POOL_EVICT_MS;
    *out = cl;
    return 0;
}

/* Frees the pools that have had no connection for evict_ms: upstreams come and go (peers move
 * to new addresses, TLS contexts are replaced by certificate rotation), and a pool per upstream
 * ever used would otherwise grow without bound. A pool without connections has no exchange in
 * flight, so nobody holds it. */
static void sweep(struct wdn_http_client *cl)
{
    uint64_t now = uv_now(cl->loop);
    struct wdn_http_pool **pp = &cl->pools;

    if (now - cl->swept_at < WDN_HTTP_POOL_SWEEP_MS && cl->evict_ms >= WDN_HTTP_POOL_SWEEP_MS)
        return;
    cl->swept_at = now;
    while (*pp != NULL) {
        struct wdn_http_pool *p = *pp;
        if (p->nconns == 0 && !p->resolving && now - p->last_used >= cl->evict_ms) {
            *pp = p->next;
            cl->npools--;
            wdn_http_pool_free(p);
        } else {
            pp = &p->next;
        }
    }
}

void wdn_http_client_set_evict_ms(struct wdn_http_client *cl, uint64_t ms)
{
    cl->evict_ms = ms;
}

size_t wdn_http_client_npools(const struct wdn_http_client *cl)
{
    return cl->npools;
}

int wdn_http_client_pool(struct wdn_http_client *cl, const struct wdn_http_pool_config *cfg,
                         struct wdn_http_pool **out)
{
    struct wdn_http_pool *p;
    const char *sn = cfg->server_name ? cfg->server_name : cfg->host;
    int rc;

    sweep(cl);
    for (p = cl->pools; p; p = p->next) {
        if (p->port == cfg->port && p->tls == cfg->tls && cfg->host &&
            strcmp(p->host, cfg->host) == 0 && sn && strcmp(p->server_name, sn) == 0) {
            *out = p;
            return 0;
        }
    }
    rc = wdn_http_pool_new(cl->loop, cfg, &p);
    if (rc)
        return rc;
    p->next = cl->pools;
    cl->pools = p;
    cl->npools++;
    *out = p;
    return 0;
}

void wdn_http_client_free(struct wdn_http_client *cl)
{
    if (cl == NULL)
        return;
    while (cl->pools) {
        struct wdn_http_pool *p = cl->pools;
        cl->pools = p->next;
        wdn_http_pool_free(p);
    }
    free(cl);
}
