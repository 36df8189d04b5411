/* The server's skeleton: worker threads with one libuv loop each, each accepting on its own
 * listening socket (listen.c), and graceful shutdown. Connections themselves live in conn.c. */
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/error.h"
#include "base/limits.h"
#include "http/server.h"
#include "http/server_int.h"
#include "http/tls.h"

static void on_connection(uv_stream_t *server, int status)
{
    struct wdn_http_worker *w = server->data;
    if (status == 0 && !w->stopping)
        wdn__http_conn_accept(w);
}

static void on_check(uv_check_t *h)
{
    wdn__http_conns_flush(h->data);
}

static void close_quiet(uv_handle_t *h)
{
    if (h && !uv_is_closing(h))
        uv_close(h, NULL);
}

/* Everything served and every connection freed: let the handlers close their per-worker
 * handles, then close ours so uv_run returns. */
static void worker_finish(struct wdn_http_worker *w)
{
    const struct wdn_http_server_config *cfg = &w->srv->cfg;

    if (w->finishing)
        return;
    w->finishing = true;
    for (size_t i = 0; i < cfg->nhandlers; i++) {
        if (cfg->handlers[i]->on_worker_stop)
            cfg->handlers[i]->on_worker_stop(cfg->handlers[i], w);
    }
    close_quiet((uv_handle_t *)&w->grace_timer);
    close_quiet((uv_handle_t *)&w->trim_timer);
    close_quiet((uv_handle_t *)&w->check);
    wdn__http_tx_defer_close(&w->defer);
    close_quiet((uv_handle_t *)&w->stop_async);
}

/* A request-free period of WDN_HTTP_IDLE_TRIM_MS after some load: the read buffers and
 * requests of that load are free but still resident (glibc gives back on its own only the top
 * of a heap), so malloc_trim returns the free pages of every arena to the kernel. Once per idle
 * period: the timer stops there and the next request arms it again. */
static void on_trim(uv_timer_t *t)
{
    struct wdn_http_worker *w = t->data;

    if (w->requests != w->trim_seen) {
        w->trim_seen = w->requests;
        return;
    }
    uv_timer_stop(t);
    w->trim_armed = false;
    if (!w->stopping)
        malloc_trim(0);
}

void wdn__http_worker_request(struct wdn_http_worker *w)
{
    w->requests++;
    if (!w->trim_armed && !w->stopping) {
        w->trim_armed = true;
        uv_timer_start(&w->trim_timer, on_trim, WDN_HTTP_IDLE_TRIM_MS, WDN_HTTP_IDLE_TRIM_MS);
    }
}

void wdn__http_worker_conn_gone(struct wdn_http_worker *w)
{
    if (w->stopping && w->nconns == 0)
        worker_finish(w);
}

static void on_grace(uv_timer_t *t)
{
    struct wdn_http_worker *w = t->data;
    wdn__http_conns_kill(w);
}

static void on_stop(uv_async_t *a)
{
    struct wdn_http_worker *w = a->data;

    if (w->stopping)
        return;
    w->stopping = true;
    close_quiet((uv_handle_t *)&w->listener);
    uv_timer_start(&w->grace_timer, on_grace, w->srv->cfg.shutdown_grace_ms, 0);
    wdn__http_conns_stop(w);
    if (w->nconns == 0)
        worker_finish(w);
}

static void worker_main(void *arg)
{
    struct wdn_http_worker *w = arg;
    const struct wdn_http_server_config *cfg = &w->srv->cfg;

    /* Connections and client pools made on this loop by this thread write through it. */
    wdn__http_tx_defer_bind(&w->defer);
    for (size_t i = 0; i < cfg->nhandlers; i++) {
        if (cfg->handlers[i]->on_worker_start &&
            cfg->handlers[i]->on_worker_start(cfg->handlers[i], w) != 0) {
            /* A worker whose handlers cannot start serves nothing; it stops at once so the
             * others keep going and free() still joins it. */
            on_stop(&w->stop_async);
            break;
        }
    }
    if (atomic_load(&w->srv->stop_requested))
        on_stop(&w->stop_async);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    wdn__http_tx_defer_bind(NULL);
}

static void walk_close(uv_handle_t *h, void *arg)
{
    close_quiet(h);
}

static void worker_destroy(struct wdn_http_worker *w)
{
    if (w->loop_ready) {
        /* Normally every handle is closed by now; this only matters when start() failed
         * half-way and the thread never ran. */
        uv_walk(&w->loop, walk_close, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        w->loop_ready = false;
    }
    wdn__http_worker_free_wreqs(w);
    wdn_tls_ctx_free(w->tls);
    w->tls = NULL;
    if (w->listen_fd >= 0 && !w->fd_in_handle)
        close(w->listen_fd);
    w->listen_fd = -1;
}

static int worker_init(struct wdn_http_worker *w)
{
    int rc = WDN_ESYS;

    if (uv_loop_init(&w->loop) != 0)
        return WDN_ESYS;
    w->loop_ready = true;
    if (uv_tcp_init(&w->loop, &w->listener) != 0)
        goto out;
    w->listener.data = w;
    if (uv_tcp_open(&w->listener, w->listen_fd) != 0)
        goto out;
    /* The handle owns the descriptor from here on. */
    w->fd_in_handle = true;
    if (uv_listen((uv_stream_t *)&w->listener, 1024, on_connection) != 0)
        goto out;
    if (uv_async_init(&w->loop, &w->stop_async, on_stop) != 0)
        goto out;
    w->stop_async.data = w;
    if (uv_timer_init(&w->loop, &w->grace_timer) != 0)
        goto out;
    w->grace_timer.data = w;
    if (uv_timer_init(&w->loop, &w->trim_timer) != 0)
        goto out;
    w->trim_timer.data = w;
    uv_unref((uv_handle_t *)&w->trim_timer);
    if (uv_check_init(&w->loop, &w->check) != 0)
        goto out;
    w->check.data = w;
    uv_check_start(&w->check, on_check);
    if (wdn__http_tx_defer_init(&w->defer, &w->loop) != 0)
        goto out;
    rc = 0;
out:
    return rc;
}

int wdn_http_server_start(const struct wdn_http_server_config *cfg, struct wdn_http_server **out)
{
    struct wdn_http_server *srv = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    int rc, n, nthreads = 0;

    *out = NULL;
    rc = wdn__http_parse_listen(cfg->listen, &ss, &sslen);
    if (rc)
        goto out;
    srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        rc = WDN_ENOMEM;
        goto out;
    }
    srv->cfg = *cfg;
    pthread_mutex_init(&srv->tls_mu, NULL);
    srv->tls = wdn_tls_ctx_ref(cfg->tls);
    srv->cfg.tls = NULL; /* the current context is srv->tls */
    atomic_init(&srv->tls_gen, 1);
    if (!srv->cfg.header_timeout_ms)
        srv->cfg.header_timeout_ms = WDN_HTTP_HEADER_TIMEOUT_MS;
    if (!srv->cfg.idle_timeout_ms)
        srv->cfg.idle_timeout_ms = WDN_HTTP_IDLE_TIMEOUT_MS;
    if (!srv->cfg.read_timeout_ms)
        srv->cfg.read_timeout_ms = WDN_HTTP_READ_TIMEOUT_MS;
    if (!srv->cfg.shutdown_grace_ms)
        srv->cfg.shutdown_grace_ms = WDN_HTTP_SHUTDOWN_GRACE_MS;
    if (!srv->cfg.max_body_bytes)
        srv->cfg.max_body_bytes = WDN_HTTP_MAX_BODY_BYTES;
    n = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > 256)
        n = 256;
    srv->workers = calloc((size_t)n, sizeof(*srv->workers));
    if (srv->workers == NULL) {
        rc = WDN_ENOMEM;
        goto out;
    }
    srv->nworkers = n;
    for (int i = 0; i < n; i++) {
        srv->workers[i].srv = srv;
        srv->workers[i].id = i;
        srv->workers[i].listen_fd = -1;
        srv->workers[i].tls = wdn_tls_ctx_ref(srv->tls);
        srv->workers[i].tls_gen = 1;
    }
    {
        int fds[256];
        rc = wdn__http_listen(&ss, sslen, fds, n, &srv->port);
        if (rc)
            goto out;
        for (int i = 0; i < n; i++)
            srv->workers[i].listen_fd = fds[i];
    }
    for (int i = 0; i < n; i++) {
        rc = worker_init(&srv->workers[i]);
        if (rc)
            goto out;
    }
    for (int i = 0; i < n; i++) {
        if (uv_thread_create(&srv->workers[i].thread, worker_main, &srv->workers[i]) != 0) {
            rc = WDN_ESYS;
            goto out;
        }
        srv->workers[i].thread_started = true;
        nthreads++;
    }
    *out = srv;
    srv = NULL;
    rc = 0;
out:
    if (srv) {
        /* Threads already running stop and are joined before anything is freed. */
        atomic_store(&srv->stop_requested, 1);
        for (int i = 0; i < nthreads; i++)
            uv_async_send(&srv->workers[i].stop_async);
        for (int i = 0; i < nthreads; i++)
            uv_thread_join(&srv->workers[i].thread);
        if (srv->workers) {
            for (int i = 0; i < srv->nworkers; i++)
                worker_destroy(&srv->workers[i]);
        }
        free(srv->workers);
        wdn_tls_ctx_free(srv->tls);
        pthread_mutex_destroy(&srv->tls_mu);
        free(srv);
    }
    return rc;
}

int wdn_http_server_port(const struct wdn_http_server *srv)
{
    return srv->port;
}

void wdn_http_server_stop(struct wdn_http_server *srv)
{
    if (srv == NULL)
        return;
    atomic_store(&srv->stop_requested, 1);
    for (int i = 0; i < srv->nworkers; i++)
        uv_async_send(&srv->workers[i].stop_async);
}

void wdn_http_server_free(struct wdn_http_server *srv)
{
    if (srv == NULL)
        return;
    wdn_http_server_stop(srv);
    for (int i = 0; i < srv->nworkers; i++) {
        uv_thread_join(&srv->workers[i].thread);
        worker_destroy(&srv->workers[i]);
    }
    free(srv->workers);
    wdn_tls_ctx_free(srv->tls);
    pthread_mutex_destroy(&srv->tls_mu);
    free(srv);
}

int wdn_http_server_set_tls(struct wdn_http_server *srv, struct wdn_tls_ctx *ctx)
{
    struct wdn_tls_ctx *old;

    if (srv == NULL || ctx == NULL)
        return WDN_EINVAL;
    pthread_mutex_lock(&srv->tls_mu);
    old = srv->tls;
    if (old == NULL) {
        pthread_mutex_unlock(&srv->tls_mu);
        return WDN_EINVAL; /* a plain server stays plain */
    }
    srv->tls = wdn_tls_ctx_ref(ctx);
    atomic_fetch_add(&srv->tls_gen, 1);
    pthread_mutex_unlock(&srv->tls_mu);
    /* Workers and their connections hold references of their own. */
    wdn_tls_ctx_free(old);
    return 0;
}

struct wdn_tls_ctx *wdn__http_worker_tls(struct wdn_http_worker *w, uint64_t *gen)
{
    struct wdn_http_server *srv = w->srv;

    if (atomic_load(&srv->tls_gen) != w->tls_gen) {
        pthread_mutex_lock(&srv->tls_mu);
        wdn_tls_ctx_free(w->tls);
        w->tls = wdn_tls_ctx_ref(srv->tls);
        w->tls_gen = atomic_load(&srv->tls_gen);
        pthread_mutex_unlock(&srv->tls_mu);
    }
    *gen = w->tls_gen;
    return w->tls;
}

bool wdn__http_worker_tls_retired(struct wdn_http_worker *w, uint64_t gen)
{
    return gen != atomic_load_explicit(&w->srv->tls_gen, memory_order_relaxed);
}

int wdn_http_worker_id(const struct wdn_http_worker *w)
{
    return w->id;
}

int wdn_http_worker_count(const struct wdn_http_worker *w)
{
    return w->srv->nworkers;
}

uv_loop_t *wdn_http_worker_loop(struct wdn_http_worker *w)
{
    return &w->loop;
}
