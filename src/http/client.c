/* The HTTP/1.1 client: pooled upstream connections and exchanges (one request and its
 * response) with streaming bodies, timeouts and clean errors.
 *
 * An exchange is separate from the connection that carries it, so that it can be replayed once
 * on a fresh connection when the connection failed in a way that lost nothing: a reused
 * keep-alive connection which the upstream had just closed (before any body byte was sent and
 * any response byte arrived; nginx does the same for idempotent requests), or any connection
 * closed or reset before a byte of the request left us (a TLS handshake cut short by a server
 * that was retiring the connection). */
#include "http/client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "http/server.h"
#include "http/tls.h"
#include "http/transport.h"

#define CLIENT_READ_BUF_BYTES 65536
#define POOL_IDLE_TIMEOUT_MS 30000
#define FREE_MAX 64
#define DNS_TTL_MS 30000 /* a resolved name is reused this long */

enum { CC_CONNECTING, CC_BUSY, CC_IDLE };

struct cconn {
    struct wdn__http_transport tx; /* first: transport callbacks cast back */
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    struct wdn_http_pool *pool;
    struct cconn *prev, *next; /* pool->idle or pool->busy */
    char *rbuf;
    size_t rlen;
    size_t pos;
    int state;
    bool closing;
    bool in_process;
    bool again;
    bool reused;
    bool connected;   /* the TCP connection was established */
    bool waiting_dns; /* connects once the pool's name is resolved */
    int eof;          /* the stream ended (a WDN_E* code) while an exchange was on it */
    int handles_open;
    unsigned writes_pending;
    struct wdn_http_exchange *x;
    struct wdn__http_wreq *qhead, *qtail; /* writes waiting for the connection to be ready */
};

struct wdn_http_exchange {
    struct wdn_http_pool *pool;
    struct cconn *cc;
    const struct wdn_http_exchange_cbs *cbs;
    void *ud;
    uint64_t gen;
    struct wdn_buf head;
    char method[WDN_HTTP_MAX_METHOD_BYTES + 1];
    size_t method_len;
    uint64_t req_left;
    bool req_chunked;
    bool req_ended;
    bool body_written;
    bool sent; /* some of the request was handed to the socket */
    bool retried;
    bool got_bytes;
    bool head_done;
    bool body_done;
    bool paused;
    size_t held;
    uint64_t body_left;
    struct wdn_http_chunked chunked;
    struct wdn_http_response res;
    struct wdn_http_exchange *next_free;
};

struct wdn_http_pool {
    uv_loop_t *loop;
    char *host;
    int port;
    char *server_name;
    char *session_key;
    struct wdn_tls_ctx *tls;
    struct sockaddr_storage addr;
    bool numeric;         /* host is an address literal: addr never changes */
    bool resolving;       /* a uv_getaddrinfo is in flight */
    uint64_t resolved_at; /* loop time of the last successful resolution; 0 = never */
    uv_getaddrinfo_t gai;
    uint64_t connect_timeout_ms;
    uint64_t response_timeout_ms;
    uint64_t idle_timeout_ms;
    size_t max_idle;
    struct cconn *idle;
    size_t nidle;
    struct cconn *busy;
    size_t nconns;
    uint64_t connects;
    uint64_t gen;
    uint64_t last_used; /* loop ms: the last exchange started or connection closed */
    bool closing;
    struct wdn_http_exchange *free_x;
    size_t nfree_x;
    struct wdn__http_wreq_cache wreqs;
    struct wdn_http_pool *next; /* in a wdn_http_client */
};

struct wdn_http_client {
    uv_loop_t *loop;
    struct wdn_http_pool *pools;
    size_t npools;
    uint64_t swept_at; /* loop ms */
    uint64_t evict_ms; /* WDN_HTTP_POOL_EVICT_MS */
};

static void cc_process(struct cconn *cc);
static void cc_close(struct cconn *cc);
static void x_finish(struct wdn_http_exchange *x, int status);
static struct cconn *cc_new(struct wdn_http_pool *p);
static void cc_attach(struct cconn *cc, struct wdn_http_exchange *x);

/* ---- Free lists --------------------------------------------------------------------------- */

static struct wdn__http_wreq *wr_get(struct wdn_http_pool *p)
{
    return wdn__http_wreq_get(&p->wreqs);
}

static void wr_put(struct wdn_http_pool *p, struct wdn__http_wreq *wr)
{
    wdn__http_wreq_put(&p->wreqs, wr, FREE_MAX, 65536);
}

static struct wdn_http_exchange *x_get(struct wdn_http_pool *p)
{
    struct wdn_http_exchange *x = p->free_x;

    if (x) {
        p->free_x = x->next_free;
        p->nfree_x--;
    } else {
        x = calloc(1, sizeof(*x));
        if (x == NULL)
            return NULL;
        wdn_buf_init(&x->head, WDN_HTTP_MAX_HEAD_BYTES + 1024);
    }
    x->pool = p;
    x->cc = NULL;
    x->gen = ++p->gen;
    x->head.len = 0;
    x->req_left = 0;
    x->req_chunked = false;
    x->req_ended = false;
    x->body_written = false;
    x->sent = false;
    x->retried = false;
    x->got_bytes = false;
    x->head_done = false;
    x->body_done = false;
    x->paused = false;
    x->held = 0;
    x->body_left = 0;
    return x;
}

static void x_put(struct wdn_http_exchange *x)
{
    struct wdn_http_pool *p = x->pool;

    x->gen = 0;
    x->cbs = NULL;
    if (x->head.cap > 8192)
        wdn_buf_reset(&x->head);
    if (p->nfree_x >= FREE_MAX) {
        wdn_buf_reset(&x->head);
        free(x);
        return;
    }
    x->next_free = p->free_x;
    p->free_x = x;
    p->nfree_x++;
}

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
    free(p->server_name);
    free(p->session_key);
    free(p);
}

/* ---- Lists -------------------------------------------------------------------------------- */

static void list_unlink(struct cconn **head, struct cconn *cc)
{
    if (cc->prev)
        cc->prev->next = cc->next;
    else if (*head == cc)
        *head = cc->next;
    if (cc->next)
        cc->next->prev = cc->prev;
    cc->prev = cc->next = NULL;
}

static void list_push(struct cconn **head, struct cconn *cc)
{
    cc->prev = NULL;
    cc->next = *head;
    if (*head)
        (*head)->prev = cc;
    *head = cc;
}

/* ---- Connection lifetime ------------------------------------------------------------------ */

static void cc_maybe_free(struct cconn *cc)
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
    cc_maybe_free(cc);
}

static void cc_close(struct cconn *cc)
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

static int map_uv_error(ssize_t e)
{
    switch (e) {
    case UV_ECONNREFUSED:
        return WDN_ECONNREFUSED;
    case UV_ECONNRESET:
    case UV_EPIPE:
        return WDN_ECONNRESET;
    case UV_ETIMEDOUT:
        return WDN_ETIMEOUT;
    case UV_EOF:
        return WDN_ECLOSED;
    case UV_EPROTO:
        return WDN_ETLS;
    default:
        return WDN_ECLOSED;
    }
}

/* The exchange on cc failed with err: replay it once on a fresh connection when that is safe,
 * else report. */
static void cc_fail(struct cconn *cc, int err)
{
    struct wdn_http_exchange *x = cc->x;

    cc->x = NULL;
    cc_close(cc);
    if (x == NULL)
        return;
    x->cc = NULL;
    /* Replayable: nothing of the response arrived and no body byte was taken from the caller
     * (queued body bytes would be lost with cc), and either the connection was a reused
     * keep-alive one (the upstream closed it as we reused it) or it was established and closed
     * before anything of the request was sent. A connection that could not be made is not
     * retried here: the same address would fail the same way (the caller may pick another). */
    if (!x->retried && !x->got_bytes && !x->body_written &&
        (cc->reused || (cc->connected && !x->sent)) &&
        (err == WDN_ECLOSED || err == WDN_ECONNRESET) && !x->pool->closing) {
        struct cconn *fresh = cc_new(x->pool);
        x->retried = true;
        if (fresh) {
            cc_attach(fresh, x);
            return;
        }
    }
    x_finish(x, err);
}

static void on_cc_timer(uv_timer_t *t)
{
    struct cconn *cc = t->data;

    if (cc->state == CC_IDLE) {
        cc_close(cc);
        return;
    }
    cc_fail(cc, WDN_ETIMEOUT);
}

static void cc_timer_update(struct cconn *cc)
{
    struct wdn_http_pool *p = cc->pool;

    if (cc->closing)
        return;
    if (cc->state == CC_IDLE)
        uv_timer_start(&cc->timer, on_cc_timer, p->idle_timeout_ms, 0);
    else if (cc->state == CC_CONNECTING)
        return; /* the connect timer runs from cc_new */
    else if (cc->x && cc->x->paused)
        uv_timer_stop(&cc->timer);
    else
        uv_timer_start(&cc->timer, on_cc_timer, p->response_timeout_ms, 0);
}

/* ---- Writing ------------------------------------------------------------------------------ */

static void on_cc_write(struct wdn__http_wreq *wr, int status)
{
    struct cconn *cc = wr->c;
    struct wdn_http_exchange *x = wr->x;
    struct wdn_http_pool *p = cc->pool;

    cc->writes_pending--;
    if (x && x->gen == wr->req_gen && x->cc == cc) {
        if (wr->xcb)
            wr->xcb(x, status < 0 ? WDN_ECLOSED : 0, wr->ud);
        if (status < 0 && x->gen == wr->req_gen && cc->x == x)
            cc_fail(cc, map_uv_error(status));
    }
    wr_put(p, wr);
    cc_maybe_free(cc);
}

static void cc_send_queue(struct cconn *cc)
{
    while (cc->qhead && !cc->closing) {
        struct wdn__http_wreq *wr = cc->qhead;
        cc->qhead = wr->qnext;
        if (cc->qhead == NULL)
            cc->qtail = NULL;
        wr->c = cc;
        if (cc->x && wr->x == cc->x && wr->req_gen == cc->x->gen)
            cc->x->sent = true;
        cc->writes_pending++;
        if (wdn__http_tx_write(&cc->tx, wr, wr->bufs, wr->nbufs, on_cc_write) != 0) {
            cc->writes_pending--;
            wr_put(cc->pool, wr);
            cc_fail(cc, WDN_ECONNRESET);
            return;
        }
    }
}

static void cc_enqueue(struct cconn *cc, struct wdn__http_wreq *wr)
{
    wr->qnext = NULL;
    if (cc->qtail)
        cc->qtail->qnext = wr;
    else
        cc->qhead = wr;
    cc->qtail = wr;
    if (cc->state == CC_BUSY && wdn__http_tx_ready(&cc->tx))
        cc_send_queue(cc);
}

/* Queues the exchange's head on cc (first thing on a new or idle connection). */
static int cc_queue_head(struct cconn *cc, struct wdn_http_exchange *x)
{
    struct wdn__http_wreq *wr = wr_get(cc->pool);

    if (wr == NULL)
        return WDN_ENOMEM;
    wr->x = x;
    wr->req_gen = x->gen;
    wr->bufs[0] = uv_buf_init(x->head.data, (unsigned)x->head.len);
    wr->nbufs = 1;
    cc_enqueue(cc, wr);
    return 0;
}

/* ---- Reading ------------------------------------------------------------------------------ */

static void cc_alloc(struct wdn__http_transport *tx, char **base, size_t *len)
{
    struct cconn *cc = (struct cconn *)tx;

    if (cc->rbuf == NULL)
        cc->rbuf = malloc(CLIENT_READ_BUF_BYTES);
    if (cc->rbuf == NULL) {
        *base = NULL;
        *len = 0;
        return;
    }
    /* Squeeze out consumed bytes unless a paused consumer still holds them. */
    if (cc->pos > 0 && !(cc->x && cc->x->paused)) {
        memmove(cc->rbuf, cc->rbuf + cc->pos, cc->rlen - cc->pos);
        cc->rlen -= cc->pos;
        cc->pos = 0;
    }
    *base = cc->rbuf + cc->rlen;
    *len = CLIENT_READ_BUF_BYTES - cc->rlen;
}

static void cc_read(struct wdn__http_transport *tx, ssize_t n)
{
    struct cconn *cc = (struct cconn *)tx;
    struct wdn_http_exchange *x = cc->x;

    if (cc->closing)
        return;
    if (n < 0) {
        if (x == NULL) {
            cc_close(cc);
            return;
        }
        /* The end of the stream: what is already buffered still counts (a complete response
         * followed by a close, or a close-delimited body); the state machine decides. */
        cc->eof = map_uv_error(n);
        wdn__http_tx_read_stop(&cc->tx);
        cc_process(cc);
        return;
    }
    if (x == NULL) {
        /* Bytes on an idle connection: the upstream is confused; do not reuse it. */
        cc_close(cc);
        return;
    }
    cc->rlen += (size_t)n;
    x->got_bytes = true;
    cc_timer_update(cc);
    cc_process(cc);
}

static void cc_ready(struct wdn__http_transport *tx)
{
    struct cconn *cc = (struct cconn *)tx;

    if (cc->state == CC_CONNECTING) {
        cc->state = CC_BUSY;
        cc_timer_update(cc);
    }
    cc_send_queue(cc);
}

static const struct wdn__http_transport_cbs cc_tx_cbs = {
    .alloc = cc_alloc,
    .read = cc_read,
    .ready = cc_ready,
};

/* Finishes an exchange: the connection goes back to the pool (before on_done, so a request
 * started from on_done can reuse it) or closes, then the caller hears the outcome. */
static void x_finish(struct wdn_http_exchange *x, int status)
{
    struct cconn *cc = x->cc;
    struct wdn_http_pool *p = x->pool;
    const struct wdn_http_exchange_cbs *cbs = x->cbs;
    void *ud = x->ud;

    if (cc) {
        cc->x = NULL;
        x->cc = NULL;
        if (status == 0 && x->res.keep_alive && x->req_ended && cc->pos == cc->rlen && !cc->eof &&
            !cc->closing && !p->closing && p->nidle < p->max_idle && cc->qhead == NULL) {
            list_unlink(&p->busy, cc);
            cc->state = CC_IDLE;
            cc->reused = true;
            cc->rlen = cc->pos = 0;
            list_push(&p->idle, cc);
            p->nidle++;
            cc_timer_update(cc);
            wdn__http_tx_read_start(&cc->tx);
        } else {
            cc_close(cc);
        }
    }
    x->gen = 0;
    if (cbs && cbs->on_done)
        cbs->on_done(x, status, ud);
    x_put(x);
}

static void cc_process(struct cconn *cc)
{
    if (cc->in_process) {
        cc->again = true;
        return;
    }
    cc->in_process = true;
    for (;;) {
        struct wdn_http_exchange *x = cc->x;
        size_t head_len = 0, consumed = 0, avail;
        struct wdn_str data = {NULL, 0};
        int rc;

        cc->again = false;
        if (cc->closing || x == NULL)
            break;
        if (!x->head_done) {
            struct wdn_str m = {x->method, x->method_len};
            rc = wdn_http_parse_response(cc->rbuf + cc->pos, cc->rlen - cc->pos, m, &x->res,
                                         &head_len);
            if (rc == WDN_EAGAIN) {
                if (cc->eof)
                    cc_fail(cc, cc->eof);
                else if (cc->rlen >= CLIENT_READ_BUF_BYTES)
                    cc_fail(cc, WDN_EPROTO);
                break;
            }
            if (rc < 0) {
                cc_fail(cc, WDN_EPROTO);
                break;
            }
            if (x->res.status < 200) {
                if (x->res.status == 101) {
                    cc_fail(cc, WDN_EPROTO);
                    break;
                }
                cc->pos += head_len; /* 100 Continue and friends: not for the caller */
                continue;
            }
            x->head_done = true;
            x->body_done = x->res.body == WDN_HTTP_BODY_NONE ||
                           (x->res.body == WDN_HTTP_BODY_LENGTH && x->res.content_length == 0);
            x->body_left = x->res.content_length;
            if (x->res.body == WDN_HTTP_BODY_CHUNKED)
                wdn_http_chunked_init(&x->chunked, UINT64_MAX);
            if (x->res.body == WDN_HTTP_BODY_UNTIL_CLOSE)
                x->res.keep_alive = false;
            if (x->cbs->on_head)
                x->cbs->on_head(x, &x->res, x->ud);
            /* The head's slices are dead from here: its bytes may be overwritten. */
            if (cc->x == x)
                cc->pos += head_len;
            continue;
        }
        if (x->paused)
            break;
        if (x->body_done) {
            x_finish(x, 0);
            break;
        }
        avail = cc->rlen - cc->pos;
        if (avail == 0 && cc->eof) {
            if (x->res.body == WDN_HTTP_BODY_UNTIL_CLOSE && cc->eof == WDN_ECLOSED) {
                x->body_done = true; /* the end of a close-delimited body */
                continue;
            }
            cc_fail(cc, cc->eof);
            break;
        }
        if (avail == 0)
            break;
        if (x->res.body == WDN_HTTP_BODY_LENGTH) {
            consumed = avail < x->body_left ? avail : (size_t)x->body_left;
            data.p = cc->rbuf + cc->pos;
            data.len = consumed;
            x->body_left -= consumed;
            x->body_done = x->body_left == 0;
        } else if (x->res.body == WDN_HTTP_BODY_CHUNKED) {
            rc = wdn_http_chunked_decode(&x->chunked, cc->rbuf + cc->pos, avail, &consumed, &data);
            if (rc < 0) {
                cc_fail(cc, WDN_EPROTO);
                break;
            }
            x->body_done = rc == 1;
        } else {
            consumed = avail;
            data.p = cc->rbuf + cc->pos;
            data.len = avail;
        }
        x->held = consumed;
        if (data.len > 0 && x->cbs->on_body)
            x->cbs->on_body(x, data, x->ud);
        if (cc->x == x && !x->paused) {
            cc->pos += x->held;
            x->held = 0;
        }
    }
    cc->in_process = false;
    if (!cc->closing && cc->x && !cc->x->paused && cc->pos > 0) {
        /* Consumed bytes leave the buffer (the head's slices died with on_head). */
        memmove(cc->rbuf, cc->rbuf + cc->pos, cc->rlen - cc->pos);
        cc->rlen -= cc->pos;
        cc->pos = 0;
    }
    if (!cc->closing && cc->x) {
        /* Backpressure: reading stops only when the buffer is full (the consumer holds a piece
         * or the upstream sent ahead); stopping at every pause would cost two epoll_ctl calls
         * per response. */
        if (cc->rlen >= CLIENT_READ_BUF_BYTES || cc->eof)
            wdn__http_tx_read_stop(&cc->tx);
        else
            wdn__http_tx_read_start(&cc->tx);
    }
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
        cc_fail(cc, status == UV_ETIMEDOUT ? WDN_ETIMEOUT : WDN_ECONNREFUSED);
        return;
    }
    cc->connected = true;
    uv_tcp_nodelay(&cc->tcp, 1);
    if (wdn__http_tx_connected(&cc->tx) != 0) {
        cc_fail(cc, WDN_ETLS);
        return;
    }
    wdn__http_tx_read_start(&cc->tx);
    if (wdn__http_tx_ready(&cc->tx))
        cc_ready(&cc->tx);
}

static void cc_connect(struct cconn *cc)
{
    struct wdn_http_pool *p = cc->pool;

    cc->waiting_dns = false;
    if (uv_tcp_connect(&cc->connect, &cc->tcp, (struct sockaddr *)&p->addr, on_connect) != 0)
        uv_timer_start(&cc->timer, on_cc_timer, 0, 0);
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
            cc_fail(cc, WDN_EDNS);
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
            if (cc->waiting_dns)
                uv_timer_start(&cc->timer, on_cc_timer, 0, 0);
        }
    }
}

static struct cconn *cc_new(struct wdn_http_pool *p)
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
    uv_timer_start(&cc->timer, on_cc_timer, p->connect_timeout_ms, 0);
    if (wdn__http_tx_init(&cc->tx, &cc_tx_cbs, &cc->tcp, p->tls, false, p->server_name,
                          p->session_key) != 0) {
        /* Fails on the next turn through the usual path, so callers see one code path. */
        uv_timer_start(&cc->timer, on_cc_timer, 0, 0);
        return cc;
    }
    if (!p->numeric && (p->resolved_at == 0 || uv_now(p->loop) - p->resolved_at > DNS_TTL_MS)) {
        cc->waiting_dns = true;
        pool_resolve(p);
        return cc;
    }
    cc_connect(cc);
    return cc;
}

static void cc_attach(struct cconn *cc, struct wdn_http_exchange *x)
{
    cc->x = x;
    x->cc = cc;
    cc->pos = cc->rlen = 0;
    if (cc_queue_head(cc, x) != 0) {
        cc_fail(cc, WDN_ENOMEM);
        return;
    }
}

/* ---- Public API --------------------------------------------------------------------------- */

/* A DNS name as RFC 1123 allows it: letters, digits, '-' and '.', at most 253 bytes. */
static bool host_name_ok(const char *h)
{
    size_t n = strlen(h);

    if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

int wdn_http_pool_new(uv_loop_t *loop, const struct wdn_http_pool_config *cfg,
                      struct wdn_http_pool **out)
{
    struct wdn_http_pool *p = NULL;
    const char *host = cfg->host;
    char key[300];
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
    } else if (host_name_ok(host)) {
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
    if (p->host == NULL || p->server_name == NULL || p->session_key == NULL) {
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
        cc_close(p->idle);
    while (p->busy) {
        struct cconn *cc = p->busy;
        struct wdn_http_exchange *x = cc->x;
        cc->x = NULL;
        if (x) {
            x->cc = NULL;
            x_put(x);
        }
        cc_close(cc);
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

static bool field_ok(struct wdn_str s, bool name)
{
    if (name && s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch == '\r' || ch == '\n' || ch == '\0')
            return false;
        if (name && (ch <= ' ' || ch == ':' || ch >= 0x7f))
            return false;
    }
    return true;
}

static int build_head(struct wdn_http_pool *p, struct wdn_http_exchange *x,
                      const struct wdn_http_client_request *rq)
{
    struct wdn_buf *b = &x->head;
    bool has_host = false;
    char line[64];
    int rc = 0;

    if (rq->method.len == 0 || rq->method.len > WDN_HTTP_MAX_METHOD_BYTES ||
        !field_ok(rq->method, true) || rq->target.len == 0 || !field_ok(rq->target, true))
        return WDN_EINVAL;
    memcpy(x->method, rq->method.p, rq->method.len);
    x->method_len = rq->method.len;
    rc = wdn_buf_append(b, rq->method.p, rq->method.len);
    if (rc == 0)
        rc = wdn_buf_append(b, " ", 1);
    if (rc == 0)
        rc = wdn_buf_append(b, rq->target.p, rq->target.len);
    if (rc == 0)
        rc = wdn_buf_append(b, " HTTP/1.1\r\n", 11);
    for (size_t i = 0; i < rq->nheaders && rc == 0; i++) {
        const struct wdn_http_header *h = &rq->headers[i];
        if (!field_ok(h->name, true) || !field_ok(h->value, false))
            return WDN_EINVAL;
        if (wdn_str_eq_case_cstr(h->name, "host"))
            has_host = true;
        rc = wdn_buf_append(b, h->name.p, h->name.len);
        if (rc == 0)
            rc = wdn_buf_append(b, ": ", 2);
        if (rc == 0)
            rc = wdn_buf_append(b, h->value.p, h->value.len);
        if (rc == 0)
            rc = wdn_buf_append(b, "\r\n", 2);
    }
    if (rc == 0 && !has_host) {
        bool v6 = strchr(p->host, ':') != NULL;
        rc = wdn_buf_printf(b, "Host: %s%s%s:%d\r\n", v6 ? "[" : "", p->host, v6 ? "]" : "",
                            p->port);
    }
    if (rc == 0 && rq->body_length == UINT64_MAX) {
        rc = wdn_buf_append_cstr(b, "Transfer-Encoding: chunked\r\n");
    } else if (rc == 0 &&
               (rq->body_length > 0 || wdn_str_eq_cstr(rq->method, "POST") ||
                wdn_str_eq_cstr(rq->method, "PUT") || wdn_str_eq_cstr(rq->method, "PATCH"))) {
        rc = wdn_fmt(line, sizeof(line), "Content-Length: %llu\r\n",
                     (unsigned long long)rq->body_length);
        if (rc == 0)
            rc = wdn_buf_append_cstr(b, line);
    }
    if (rc == 0)
        rc = wdn_buf_append(b, "\r\n", 2);
    return rc;
}

int wdn_http_exchange_start(struct wdn_http_pool *p, const struct wdn_http_client_request *rq,
                            const struct wdn_http_exchange_cbs *cbs, void *ud,
                            struct wdn_http_exchange **out)
{
    struct wdn_http_exchange *x;
    struct cconn *cc;
    int rc;

    *out = NULL;
    if (p->closing)
        return WDN_ESTATE;
    x = x_get(p);
    if (x == NULL)
        return WDN_ENOMEM;
    x->cbs = cbs;
    x->ud = ud;
    rc = build_head(p, x, rq);
    if (rc) {
        x_put(x);
        return rc;
    }
    x->req_chunked = rq->body_length == UINT64_MAX;
    x->req_left = x->req_chunked ? 0 : rq->body_length;
    x->req_ended = rq->body_length == 0;
    p->last_used = uv_now(p->loop);
    /* The most recently used idle connection first: it is the least likely to have been
     * closed by the upstream's idle timeout. */
    cc = p->idle;
    if (cc) {
        list_unlink(&p->idle, cc);
        p->nidle--;
        list_push(&p->busy, cc);
        cc->state = CC_BUSY;
        uv_timer_stop(&cc->timer);
    } else {
        cc = cc_new(p);
        if (cc == NULL) {
            x_put(x);
            return WDN_ENOMEM;
        }
    }
    *out = x;
    cc_attach(cc, x);
    if (cc->state == CC_BUSY)
        cc_timer_update(cc);
    return 0;
}

int wdn_http_exchange_write(struct wdn_http_exchange *x, struct wdn_str data,
                            wdn_http_exchange_write_cb cb, void *ud)
{
    struct cconn *cc = x->cc;
    struct wdn__http_wreq *wr;
    char line[32];
    int rc = 0;

    if (x->req_ended)
        return WDN_ESTATE;
    if (cc == NULL)
        return WDN_ECLOSED;
    if (!x->req_chunked && data.len > x->req_left)
        return WDN_EINVAL;
    wr = wr_get(x->pool);
    if (wr == NULL)
        return WDN_ENOMEM;
    if (x->req_chunked && data.len > 0) {
        rc = wdn_fmt(line, sizeof(line), "%zx\r\n", data.len);
        if (rc == 0)
            rc = wdn_buf_append_cstr(&wr->buf, line);
    }
    if (rc == 0 && cb == NULL) {
        rc = wdn_buf_append(&wr->buf, data.p, data.len);
        if (rc == 0 && x->req_chunked && data.len > 0)
            rc = wdn_buf_append(&wr->buf, "\r\n", 2);
        wr->bufs[wr->nbufs++] = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
    } else if (rc == 0) {
        if (wr->buf.len)
            wr->bufs[wr->nbufs++] = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
        wr->bufs[wr->nbufs++] = uv_buf_init((char *)data.p, (unsigned)data.len);
        if (x->req_chunked && data.len > 0)
            wr->bufs[wr->nbufs++] = uv_buf_init((char *)"\r\n", 2);
    }
    if (rc) {
        wr_put(x->pool, wr);
        return rc;
    }
    if (!x->req_chunked)
        x->req_left -= data.len;
    x->body_written = true;
    wr->x = x;
    wr->req_gen = x->gen;
    wr->xcb = cb;
    wr->ud = ud;
    cc_enqueue(cc, wr);
    if (cc->x == x && cc->state == CC_BUSY)
        cc_timer_update(cc);
    return 0;
}

int wdn_http_exchange_end(struct wdn_http_exchange *x)
{
    struct cconn *cc = x->cc;
    struct wdn__http_wreq *wr;

    if (x->req_ended)
        return 0;
    if (!x->req_chunked && x->req_left > 0)
        return WDN_EINVAL;
    x->req_ended = true;
    if (!x->req_chunked || cc == NULL)
        return 0;
    wr = wr_get(x->pool);
    if (wr == NULL)
        return WDN_ENOMEM;
    wr->bufs[0] = uv_buf_init((char *)"0\r\n\r\n", 5);
    wr->nbufs = 1;
    wr->x = x;
    wr->req_gen = x->gen;
    x->body_written = true;
    cc_enqueue(cc, wr);
    return 0;
}

void wdn_http_exchange_pause(struct wdn_http_exchange *x)
{
    x->paused = true;
    if (x->cc)
        cc_timer_update(x->cc);
}

void wdn_http_exchange_resume(struct wdn_http_exchange *x)
{
    struct cconn *cc = x->cc;

    if (!x->paused)
        return;
    x->paused = false;
    if (cc == NULL)
        return;
    cc->pos += x->held;
    x->held = 0;
    cc_timer_update(cc);
    cc_process(cc);
}

void wdn_http_exchange_abort(struct wdn_http_exchange *x)
{
    struct cconn *cc = x->cc;

    if (cc) {
        cc->x = NULL;
        x->cc = NULL;
        cc_close(cc);
    }
    x_put(x);
}
