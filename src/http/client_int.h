/* Internals of the HTTP/1.1 client, shared by client_pool.c (pools, connections: connecting,
 * resolving, idle keeping, closing, timers) and client_exchange.c (exchanges: writing the
 * request, reading the response, the replay on a fresh connection). Not a public header. */
#ifndef WDN_HTTP_CLIENT_INT_H
#define WDN_HTTP_CLIENT_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/buf.h"
#include "http/client.h"
#include "http/parser.h"
#include "http/transport.h"

#define CLIENT_READ_BUF_BYTES 65536
#define POOL_IDLE_TIMEOUT_MS 30000
#define FREE_MAX 64

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
    int early;        /* why a connection that failed before its first callback failed (a
                         WDN_E* code the timer reports on the next turn; 0: a timeout) */
    int handles_open;
    unsigned writes_pending;
    uint64_t deadline; /* loop time the current wait (connect, response, idle) ends; 0: none */
    uint64_t armed;    /* loop time the timer fires (<= deadline); 0: not armed */
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
    char *host_line; /* "Host: HOST:PORT\r\n", made once for every request's head */
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

/* Write requests from the pool's free list (NULL when out of memory), and back. */
static inline struct wdn__http_wreq *wr_get(struct wdn_http_pool *p)
{
    return wdn__http_wreq_get(&p->wreqs);
}

static inline void wr_put(struct wdn_http_pool *p, struct wdn__http_wreq *wr)
{
    wdn__http_wreq_put(&p->wreqs, wr, FREE_MAX, 65536);
}

/* The pool's idle and busy lists of connections. */
static inline void list_unlink(struct cconn **head, struct cconn *cc)
{
    if (cc->prev)
        cc->prev->next = cc->next;
    else if (*head == cc)
        *head = cc->next;
    if (cc->next)
        cc->next->prev = cc->prev;
    cc->prev = cc->next = NULL;
}

static inline void list_push(struct cconn **head, struct cconn *cc)
{
    cc->prev = NULL;
    cc->next = *head;
    if (*head)
        (*head)->prev = cc;
    *head = cc;
}

/* client_pool.c: a new connection of p, connecting (or waiting for the name), busy; NULL when
 * out of memory. */
struct cconn *wdn__http_cc_new(struct wdn_http_pool *p);
/* client_pool.c: closes cc (idempotent); it is freed once its handles are closed. */
void wdn__http_cc_close(struct cconn *cc);
/* client_pool.c: frees cc once its handles are closed and no write is pending. */
void wdn__http_cc_maybe_free(struct cconn *cc);
/* client_pool.c: (re)arms cc's timer for its state: idle keep, response wait, or none. */
void wdn__http_cc_timer_update(struct cconn *cc);

/* client_exchange.c: the transport callbacks of a client connection. */
extern const struct wdn__http_transport_cbs wdn__http_cc_tx_cbs;
/* client_exchange.c: the exchange on cc failed with err: replayed once on a fresh connection
 * when that is safe, else reported; cc is closed. */
void wdn__http_cc_fail(struct cconn *cc, int err);
/* client_exchange.c: returns an exchange to its pool's free list. */
void wdn__http_x_put(struct wdn_http_exchange *x);

#endif
