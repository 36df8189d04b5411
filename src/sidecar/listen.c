/* The sidecar's three listeners: the API port (plain HTTP), the internal port (mTLS, caller
 * certificates required) and the metrics port. When the workload certificate changes the
 * internal one takes the new server context without closing its socket, so no connection is
 * lost meanwhile. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "http/tls.h"
#include "sidecar/internal.h"

static int listen_on(const char *addr, int port, char *buf, size_t cap)
{
    if (strchr(addr, ':'))
        return wdn_fmt(buf, cap, "[%s]:%d", addr, port);
    return wdn_fmt(buf, cap, "%s:%d", addr, port);
}

static int start_server(struct wdn__sc_listener *l, const char *addr, int port, int workers,
                        struct wdn_tls_ctx *tls, struct wdn_http_server **srv, int *bound,
                        const char *what, struct wdn_diag *d)
{
    struct wdn_http_server_config c = {
        .handlers = l->chain, .nhandlers = 1, .workers = workers, .tls = tls};
    char listen[128];
    int rc;

    l->chain[0] = &l->base;
    listen_on(addr, port, listen, sizeof(listen));
    c.listen = listen;
    c.shutdown_grace_ms = 5000;
    rc = wdn_http_server_start(&c, srv);
    if (rc == WDN_EEXISTS)
        return wdn_diag_set(d, rc,
                            "cannot listen on %s for the %s port: port %d is in use by "
                            "another process",
                            listen, what, port);
    if (rc)
        return wdn_diag_set(d, rc, "cannot listen on %s for the %s port: %s", listen, what,
                            wdn_strerror(rc));
    *bound = wdn_http_server_port(*srv);
    return 0;
}

/* Installs new contexts: the internal listener takes the new server context for new
 * connections (it stays bound, so no connection waiting to be accepted is lost, and retires
 * the connections of the old certificate after their next response), new peer pools use the
 * new client context. On failure the current certificate stays. */
int wdn__sc_tls_install(struct wdn_sidecar *sc, struct wdn_tls_ctx *srv_ctx,
                        struct wdn_tls_ctx *cli_ctx, const char *what)
{
    int rc = wdn_http_server_set_tls(sc->srv_internal, srv_ctx);

    if (rc) {
        wdn_log_error("%s failed: %s", what, wdn_strerror(rc));
        wdn_tls_ctx_free(srv_ctx);
        wdn_tls_ctx_free(cli_ctx);
        return WDN_ESTATE;
    }
    /* The old client context lives on in the pools and connections that hold it (a worker
     * takes its own reference under tls_mu); the server holds its own reference to srv_ctx. */
    pthread_mutex_lock(&sc->tls_mu);
    wdn_tls_ctx_free(sc->tls_client);
    wdn_tls_ctx_free(sc->tls_server);
    sc->tls_client = cli_ctx;
    sc->tls_server = srv_ctx;
    pthread_mutex_unlock(&sc->tls_mu);
    wdn_log_info("workload certificate %s app_id=%s internal_port=%d",
                 sc->cert_dir ? "reloaded" : "rotated", sc->app_id, sc->bound_internal);
    return 0;
}

/* The origin clients reach the API port at, for resource URIs derived from the listen address
 * (never from a request's Host header): a wildcard address stands for its family's loopback. */
static void set_origin(struct wdn_sidecar *sc)
{
    const char *a = sc->listen_address;

    if (strcmp(a, "0.0.0.0") == 0)
        a = "127.0.0.1";
    else if (strcmp(a, "::") == 0)
        a = "::1";
    if (strchr(a, ':'))
        wdn_fmt(sc->api_origin, sizeof(sc->api_origin), "http://[%s]:%d", a, sc->bound_http);
    else
        wdn_fmt(sc->api_origin, sizeof(sc->api_origin), "http://%s:%d", a, sc->bound_http);
}

int wdn__sc_listeners_start(struct wdn_sidecar *sc, struct wdn_diag *d)
{
    int rc;

    sc->api = (struct wdn__sc_listener){.base = {.on_req = wdn__sc_api_on_req,
                                                 .on_worker_start = wdn__sc_worker_start,
                                                 .on_worker_stop = wdn__sc_worker_stop},
                                        .sc = sc,
                                        .port_kind = WDN__SC_PORT_API};
    sc->internal = (struct wdn__sc_listener){.base = {.on_req = wdn__sc_peer_on_req,
                                                      .on_worker_start = wdn__sc_worker_start,
                                                      .on_worker_stop = wdn__sc_worker_stop},
                                             .sc = sc,
                                             .port_kind = WDN__SC_PORT_INTERNAL};
    sc->metrics = (struct wdn__sc_listener){.base = {.on_req = wdn__sc_metrics_on_req}, .sc = sc};
    rc = start_server(&sc->api, sc->listen_address, sc->http_port, sc->workers, NULL, &sc->srv_api,
                      &sc->bound_http, "API (--http-port)", d);
    if (rc == 0)
        set_origin(sc);
    if (rc == 0)
        rc = start_server(&sc->internal, sc->internal_address, sc->internal_port, sc->workers,
                          sc->tls_server, &sc->srv_internal, &sc->bound_internal,
                          "internal mTLS (--internal-port)", d);
    if (rc == 0 && sc->metrics_port >= 0)
        rc = start_server(&sc->metrics, sc->listen_address, sc->metrics_port, 1, NULL,
                          &sc->srv_metrics, &sc->bound_metrics, "metrics (--metrics-port)", d);
    return rc;
}

void wdn__sc_listeners_stop(struct wdn_sidecar *sc)
{
    wdn_http_server_stop(sc->srv_api);
    wdn_http_server_stop(sc->srv_internal);
    wdn_http_server_stop(sc->srv_metrics);
}

void wdn__sc_listeners_free(struct wdn_sidecar *sc)
{
    wdn_http_server_free(sc->srv_api);
    wdn_http_server_free(sc->srv_internal);
    wdn_http_server_free(sc->srv_metrics);
    sc->srv_api = sc->srv_internal = sc->srv_metrics = NULL;
}
