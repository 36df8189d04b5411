/* Internals shared by server.c (workers, listeners, shutdown) and conn.c (connections,
 * requests, responses). Not a public header. */
#ifndef WDN_HTTP_SERVER_INT_H
#define WDN_HTTP_SERVER_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/arena.h"
#include "base/buf.h"
#include "http/parser.h"
#include "http/server.h"
#include "http/transport.h"

struct wdn__http_conn;

struct wdn_http_worker {
    struct wdn_http_server *srv;
    int id;
    uv_thread_t thread;
    bool thread_started;
    uv_loop_t loop;
    bool loop_ready;
    uv_tcp_t listener;
    int listen_fd;
    bool fd_in_handle;
    uv_async_t stop_async;
    uv_timer_t grace_timer;
    uv_check_t check;
    bool stopping;
    bool finishing;
    struct wdn__http_conn *conns; /* every open connection, doubly linked */
    size_t nconns;
    struct wdn__http_conn *flush; /* connections with a response head waiting to be sent */
    struct wdn__http_wreq_cache wreqs;
    long date_sec;
    char date[64]; /* "Date: ...\r\n" */
    size_t date_len;
};

struct wdn_http_server {
    struct wdn_http_server_config cfg; /* timeouts resolved to their defaults */
    int nworkers;
    struct wdn_http_worker *workers;
    int port;
    atomic_int stop_requested;
};

/* Connection entry points used by server.c. */
void wdn__http_conn_accept(struct wdn_http_worker *w);
/* Starts a worker's graceful stop: idle connections close, busy ones finish. */
void wdn__http_conns_stop(struct wdn_http_worker *w);
/* Closes every remaining connection (grace period over). */
void wdn__http_conns_kill(struct wdn_http_worker *w);
/* Sends response heads that are still waiting (the worker's uv_check). */
void wdn__http_conns_flush(struct wdn_http_worker *w);
/* Called by conn.c whenever a connection was freed: the worker may finish stopping. */
void wdn__http_worker_conn_gone(struct wdn_http_worker *w);
/* Frees the worker's recycled write requests. */
void wdn__http_worker_free_wreqs(struct wdn_http_worker *w);

#endif
