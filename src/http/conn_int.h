/* Internals of a server connection, shared by conn.c (the connection: reading, parsing, the
 * handler chain, keep-alive, timeouts), conn_request.c (the request API: head, bodies) and
 * conn_response.c (the response API and head formatting). Not a public header. */
#ifndef WDN_HTTP_CONN_INT_H
#define WDN_HTTP_CONN_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/arena.h"
#include "base/buf.h"
#include "http/parser.h"
#include "http/server.h"
#include "http/server_int.h"
#include "http/transport.h"

/* Connection states (C_*), what its timer is for (T_*), how far the response got (R_*). */
enum { C_HEAD, C_REQ, C_CLOSING };
enum { T_NONE, T_IDLE, T_HEADER, T_READ, T_WRITE, T_LINGER };
enum { R_NONE, R_STARTED, R_ENDED };

#define WREQ_KEEP_BYTES 65536 /* a recycled write request keeps a buffer up to this size */
#define WREQ_FREE_MAX 256     /* write requests kept per worker */

struct wdn_http_req {
    struct wdn__http_conn *c;
    struct wdn_http_request head;
    struct wdn_arena arena;
    uint64_t gen;
    bool owned;
    bool gone;
    wdn_http_gone_cb gone_cb;
    void *gone_ud;
    void *data;
    /* Request body. */
    uint64_t body_left;
    struct wdn_http_chunked chunked;
    wdn_http_body_cb body_cb;
    void *body_ud;
    bool body_paused;
    bool body_done;     /* every body byte has been decoded */
    bool body_reported; /* the end (or an error) has been delivered */
    int body_err;       /* an error waiting to be delivered */
    size_t held;        /* input bytes behind the piece a paused consumer holds */
    bool continue_sent;
    /* wdn_http_req_read_all. */
    struct wdn_buf all;
    wdn_http_full_body_cb all_cb;
    void *all_ud;
    bool all_failed;
    /* Response. */
    int resp;
    bool chunked_out;
    bool no_body;
    bool length_known;
    uint64_t resp_left;
    struct wdn__http_wreq *head_wr; /* a formatted head not sent yet */
    bool keep_alive;
};

struct wdn__http_conn {
    struct wdn__http_transport tx; /* first: the transport's callbacks cast back to us */
    uv_tcp_t tcp;
    uv_timer_t timer;
    uint64_t deadline; /* loop time the current wait (timer_mode) ends; 0: none */
    uint64_t armed;    /* loop time the timer fires (<= deadline); 0: not armed */
    uv_shutdown_t shutdown;
    struct wdn_http_worker *w;
    struct wdn__http_conn *prev, *next;
    struct wdn__http_conn *flush_next;
    bool in_flush;
    char *rbuf;
    size_t rlen;
    size_t head_len;
    size_t body_pos;
    int state;
    int timer_mode;
    bool closing;
    bool in_process;
    bool again;
    bool want_close;
    bool close_after_write;
    bool lingering;
    int handles_open;
    unsigned writes_pending;
    uint64_t tls_gen; /* the server's TLS context generation this connection was accepted on */
    struct wdn_http_req req;
};

/* A write request from the worker's free list (NULL when out of memory). */
static inline struct wdn__http_wreq *wreq_get(struct wdn_http_worker *w)
{
    return wdn__http_wreq_get(&w->wreqs);
}

/* Returns a write request to the worker's free list (NULL is fine). */
static inline void wreq_put(struct wdn_http_worker *w, struct wdn__http_wreq *wr)
{
    wdn__http_wreq_put(&w->wreqs, wr, WREQ_FREE_MAX, WREQ_KEEP_BYTES);
}

/* conn.c: runs the connection's state machine (re-entrant calls ask for another turn). */
void wdn__http_conn_process(struct wdn__http_conn *c);
/* conn.c: writes bufs (borrowed until wr's callback) for the current request. 0 or
 * WDN_ECLOSED (the connection then closes). */
int wdn__http_conn_write(struct wdn__http_conn *c, struct wdn__http_wreq *wr, uv_buf_t *bufs,
                         unsigned n);
/* conn.c: sends a formatted head that is still waiting, alone. */
int wdn__http_conn_flush_head(struct wdn__http_conn *c);
/* conn.c: takes c off the worker's list of heads waiting to be sent. */
void wdn__http_conn_flush_unlink(struct wdn__http_conn *c);
/* conn.c: the handler let go of the request: drop its body callbacks and move on. */
void wdn__http_req_release(struct wdn_http_req *r);

/* conn_response.c: the reason phrase of a status ("Status" for unknown ones), static. */
const char *wdn__http_reason_phrase(int status);
/* conn_response.c: the status line and headers into b. framing: 'L' length, 'C' chunked, 'N'
 * none/close. WDN_EINVAL for a bad status or header (CR, LF or NUL: response splitting). */
int wdn__http_format_head(struct wdn__http_conn *c, struct wdn_buf *b, int status,
                          const struct wdn_http_header *headers, size_t n, char framing,
                          uint64_t length);

#endif
