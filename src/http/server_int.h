/* Internals shared by server.c (workers, listeners, shutdown) and conn.c (connections,
 * requests, responses). Not a public header. */
#ifndef WDN_HTTP_SERVER_INT_H
#define WDN_HTTP_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
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
    uv_timer_t trim_timer; /* while requests come: every WDN_HTTP_IDLE_TRIM_MS */
    bool trim_armed;
    uint64_t requests, trim_seen; /* requests begun, and as the trim timer last saw them */
    uv_check_t check;
    struct wdn__http_tx_defer defer; /* completions of writes that left at once */
    bool stopping;
    bool finishing;
    struct wdn__http_conn *conns; /* every open connection, doubly linked */
    size_t nconns;
    struct wdn__http_conn *flush; /* connections with a response head waiting to be sent */
    struct wdn__http_wreq_cache wreqs;
    long date_sec;
    char date[64]; /* "Date: ...\r\n" */
    size_t date_len;
    /* The TLS context new connections get: the worker's own reference to the server's current
     * one, refreshed when srv->tls_gen moves (wdn_http_server_set_tls). */
    struct wdn_tls_ctx *tls;
    uint64_t tls_gen;
};

struct wdn_http_server {
    struct wdn_http_server_config cfg; /* timeouts resolved to their defaults */
    int nworkers;
    struct wdn_http_worker *workers;
    int port;
    atomic_int stop_requested;
    /* The current TLS context (our reference; cfg.tls is not used after start) and its
     * generation, bumped by every wdn_http_server_set_tls. tls is read and replaced under
     * tls_mu; workers look at tls_gen alone until it moves. */
    pthread_mutex_t tls_mu;
    struct wdn_tls_ctx *tls;
    atomic_uint_fast64_t tls_gen;
};

/* Listening sockets (listen.c). Parses "host:port" (numeric IPv4, "[v6]:port", "localhost")
 * into *ss. 0 or WDN_EINVAL. */
int wdn__http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen);
/* Binds and listens on n SO_REUSEPORT sockets (fds[0..n), n <= 256) for addr (port 0: a free
 * port, set in *port) that no other process shares: WDN_EEXISTS when the port is in use by
 * another process (or another server of this one), else 0 or WDN_ESYS. */
int wdn__http_listen(const struct sockaddr_storage *addr, socklen_t sslen, int *fds, int n,
                     int *port);
/* True when a socket other than fds[0..n) listens on ss's port at an overlapping address in
 * this network namespace (a sock_diag dump of the listening TCP sockets; false without netlink). */
bool wdn__http_port_shared(const struct sockaddr_storage *ss, const int *fds, int n);

/* A request began on w (conn.c): arms the idle trim (server.c) if it is not armed. */
void wdn__http_worker_request(struct wdn_http_worker *w);

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
/* The worker's TLS context for a new connection (borrowed; NULL on a plain server) and its
 * generation, refreshed from the server's when that moved. */
struct wdn_tls_ctx *wdn__http_worker_tls(struct wdn_http_worker *w, uint64_t *gen);
/* True when connections of TLS generation gen should close after their response. */
bool wdn__http_worker_tls_retired(struct wdn_http_worker *w, uint64_t gen);
/* Frees the worker's recycled write requests. */
void wdn__http_worker_free_wreqs(struct wdn_http_worker *w);

#endif
