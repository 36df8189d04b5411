/* The sidecar's life: options, the first configuration and workload identity, the listeners,
 * registration for name resolution, the main loop (signals, file watches, certificate
 * rotation, housekeeping) and a clean shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "http/tls.h"
#include "pki/pki.h"
#include "project/project.h"
#include "project/store.h"
#include "sidecar/internal.h"

/* An option given (not empty) whose copy failed. */
static bool lost(const char *given, const char *kept)
{
    return given && *given && !kept;
}

int wdn_sidecar_new(const struct wdn_sidecar_opts *o, struct wdn_sidecar **out, struct wdn_diag *d)
{
    struct wdn_sidecar *sc = wdn__sc_calloc(1, sizeof(*sc));
    struct wdn__sc_cfg *cfg = NULL;
    int rc = WDN_ENOMEM;

    *out = NULL;
    wdn_diag_clear(d);
    if (sc == NULL)
        return WDN_ENOMEM;
    pthread_mutex_init(&sc->cfg_mu, NULL);
    pthread_mutex_init(&sc->peers_mu, NULL);
    pthread_mutex_init(&sc->tls_mu, NULL);
    pthread_mutex_init(&sc->obs_mu, NULL);
    sc->bound_http = sc->bound_internal = sc->bound_metrics = -1;
    if (o->app_id == NULL || !wdn_resources_valid_app_id(o->app_id)) {
        rc = wdn_diag_set(d, WDN_EINVAL, "--app-id is required: 1..%d of [A-Za-z0-9_-]",
                          WDN_RES_MAX_APPID);
        goto out;
    }
    if (o->app_protocol && strcmp(o->app_protocol, "http") != 0) {
        rc = wdn_diag_set(d, WDN_EUNSUPPORTED, "--app-protocol %s is not supported (http only)",
                          o->app_protocol);
        goto out;
    }
    if (o->api_token && strlen(o->api_token) > WDN_SIDECAR_MAX_API_TOKEN) {
        rc = wdn_diag_set(d, WDN_ELIMIT, "DAPR_API_TOKEN is too long");
        goto out;
    }
    sc->app_id = wdn__sc_strdup(o->app_id);
    sc->app_port = o->app_port;
    sc->app_address = wdn__sc_strdup(o->app_address ? o->app_address : "127.0.0.1");
    sc->listen_address = wdn__sc_strdup(o->listen_address ? o->listen_address : "127.0.0.1");
    sc->internal_address = wdn__sc_strdup(o->internal_address ? o->internal_address : "127.0.0.1");
    sc->http_port = o->http_port;
    sc->internal_port = o->internal_port;
    sc->metrics_port = o->metrics_port;
    sc->config = wdn__sc_strdup(o->config);
    sc->project = wdn__sc_strdup(o->project);
    sc->api_token = o->api_token && *o->api_token ? wdn__sc_strdup(o->api_token) : NULL;
    sc->app_api_token =
        o->app_api_token && *o->app_api_token ? wdn__sc_strdup(o->app_api_token) : NULL;
    sc->workers = o->workers;
    sc->handle_signals = o->handle_signals;
    sc->ca_dir = wdn__sc_strdup(o->ca_dir);
    if (o->cert_dir && o->ca_dir) {
        rc = wdn_diag_set(d, WDN_EINVAL,
                          "--cert-dir and --ca-dir cannot be used together: --cert-dir takes "
                          "certificates issued elsewhere, --ca-dir issues them from a local CA");
        goto out;
    }
    sc->cert_dir = wdn__sc_strdup(o->cert_dir);
    sc->trust_domain =
        wdn__sc_strdup(o->trust_domain ? o->trust_domain : WDN_PKI_DEFAULT_TRUST_DOMAIN);
    sc->ns = wdn__sc_strdup(o->ns ? o->ns : WDN_PKI_DEFAULT_NAMESPACE);
    sc->spiffe_id = wdn__sc_calloc(1, WDN_SPIFFE_MAX_ID_BYTES + 1);
    /* A copy that failed must not turn a protection off (no API token, no Configuration,
     * another CA) or reach the SPIFFE ID below: refuse to start. */
    if (!sc->app_id || !sc->trust_domain || !sc->ns || !sc->spiffe_id ||
        lost(o->cert_dir, sc->cert_dir) || lost(o->config, sc->config) ||
        lost(o->project, sc->project) || lost(o->ca_dir, sc->ca_dir) ||
        lost(o->api_token, sc->api_token) || lost(o->app_api_token, sc->app_api_token))
        goto out;
    rc = wdn_pki_spiffe_format(sc->spiffe_id, WDN_SPIFFE_MAX_ID_BYTES + 1, sc->trust_domain, sc->ns,
                               sc->app_id, d);
    if (rc) {
        char why[512];
        wdn_fmt(why, sizeof(why), "%s", d ? d->msg : "invalid");
        rc = wdn_diag_set(d, WDN_EINVAL, "--trust-domain/--namespace: %s", why);
        goto out;
    }
    if (o->peer_dns) {
        rc = wdn__sc_dns_template_check(o->peer_dns, sc->ns, d);
        if (rc)
            goto out;
        sc->peer_dns = wdn__sc_strdup(o->peer_dns);
        rc = WDN_ENOMEM;
        if (sc->peer_dns == NULL)
            goto out;
    }
    /* Workload certificates are valid 24 h: a new one every 12 h (tests set it shorter). */
    sc->rotate_ms = 12ull * 3600 * 1000;
    {
        const char *r = getenv("WARDEN_SIDECAR_ROTATE_MS");
        if (r && strtoull(r, NULL, 10) >= 100)
            sc->rotate_ms = strtoull(r, NULL, 10);
    }
    sc->reg = wdn_mw_registry_new();
    if (!sc->app_id || !sc->app_address || !sc->listen_address || !sc->internal_address || !sc->reg)
        goto out;
    for (size_t i = 0; i < o->n_resources_paths && i < WDN_SIDECAR_MAX_RESOURCE_PATHS; i++) {
        sc->resources_paths[i] = wdn__sc_strdup(o->resources_paths[i]);
        if (sc->resources_paths[i] == NULL)
            goto out;
        sc->n_resources_paths++;
    }
    if (sc->project && !wdn_project_exists(sc->project)) {
        rc = wdn_diag_set(d, WDN_ENOTFOUND, "project '%s' does not exist (warden project create)",
                          sc->project);
        goto out;
    }
    if (o->peers_file) {
        rc = wdn__sc_peers_load(sc, o->peers_file, d);
        if (rc)
            goto out;
    }
    if (o->audit_log) {
        struct wdn_audit_opts ao = {.sink = o->audit_log,
                                    .app_id = sc->app_id,
                                    .max_bytes = o->audit_max_bytes,
                                    .keep = o->audit_keep,
                                    .queue_cap = o->audit_queue,
                                    .record_args = o->audit_args,
                                    .fsync = o->audit_fsync};
        rc = wdn_audit_open(&ao, &sc->audit, d);
        if (rc)
            goto out;
    }
    rc = wdn__sc_cfg_build(sc, &cfg, d);
    if (rc)
        goto out;
    cfg->generation = sc->generation = 1;
    atomic_store(&sc->m.generation, 1);
    wdn__sc_cfg_install(sc, cfg);
    rc = wdn__sc_identity_load(sc, d);
    if (rc)
        goto out;
    *out = sc;
    sc = NULL;
out:
    wdn_sidecar_free(sc);
    return rc;
}

/* ---- Running ----------------------------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
}

static void shutdown_loop(struct wdn_sidecar *sc)
{
    if (!sc->loop_ready)
        return;
    sc->loop_ready = false;
    atomic_store(&sc->ready, false);
    wdn__sc_listeners_stop(sc);
    wdn__sc_watch_stop(sc);
    wdn__sc_identity_stop(sc);
    wdn__sc_dns_stop(sc);
    uv_close((uv_handle_t *)&sc->housekeeping, on_closed);
    uv_close((uv_handle_t *)&sc->ready_timer, on_closed);
    uv_close((uv_handle_t *)&sc->stop_async, on_closed);
    if (sc->handle_signals) {
        uv_close((uv_handle_t *)&sc->sigint, on_closed);
        uv_close((uv_handle_t *)&sc->sigterm, on_closed);
        /* Closing the handles restored the default actions; a second signal (timeout(1) and
         * shells signal the whole process group) must not kill the graceful shutdown. */
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
    }
}

static void on_stop(uv_async_t *a)
{
    shutdown_loop(a->data);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct wdn_sidecar *sc = s->data;
    wdn_log_info("signal %d: shutting down", signum);
    shutdown_loop(sc);
}

struct hk_state {
    struct wdn_sidecar *sc;
};

/* Logs key set transitions (loaded, failing) once per change, not on every tick. */
static void log_mw(const struct wdn_mw_stats *s, void *arg)
{
    static __thread char last[16][256];
    static __thread uint64_t last_err[16];
    static __thread bool last_loaded[16];
    size_t slot = 0;

    (void)arg;
    for (const char *p = s->name; *p; p++)
        slot = slot * 31 + (unsigned char)*p;
    slot %= 16;
    if (s->keys_loaded && !last_loaded[slot])
        wdn_log_info("jwks loaded component=%s keys=%zu", s->name, s->keys);
    if (s->refresh_errors != last_err[slot] && s->last_error[0] &&
        strcmp(last[slot], s->last_error) != 0)
        wdn_log_warn("jwks refresh failed component=%s error=\"%s\"%s", s->name, s->last_error,
                     s->keys_loaded ? " (the last good key set stays in use)"
                                    : " (protected requests get 503 until it loads)");
    last_loaded[slot] = s->keys_loaded;
    last_err[slot] = s->refresh_errors;
    memcpy(last[slot], s->last_error, sizeof(last[slot]));
}

/* The configuration's pipelines have what they need to decide (a bearer's first key set). */
static bool pipelines_ready(struct wdn_sidecar *sc)
{
    struct wdn__sc_cfg *cfg = wdn__sc_cfg_get(sc);
    bool ok = cfg == NULL ||
              (wdn_pipeline_ready(cfg->http_pipeline) && wdn_pipeline_ready(cfg->app_pipeline));

    wdn__sc_cfg_release(cfg);
    return ok;
}

/* Healthy once the keys are in: an app started on healthz (dev run, the Dapr SDKs) must not get
 * 503 keys_not_loaded for its first call. An issuer that stays down does not keep the sidecar
 * unhealthy: after WDN_SIDECAR_READY_KEYS_MS it says so and protected requests get 503. */
static void on_ready_check(uv_timer_t *t)
{
    struct wdn_sidecar *sc = t->data;
    bool keys = pipelines_ready(sc);

    if (!keys && wdn_clock_mono_ms() < sc->ready_deadline_ms)
        return;
    if (!keys)
        wdn_log_warn("no key set loaded after %d s: healthy anyway; requests the bearer "
                     "middleware protects get 503 until the keys load",
                     WDN_SIDECAR_READY_KEYS_MS / 1000);
    uv_timer_stop(t);
    atomic_store(&sc->ready, true);
}

static void on_housekeeping(uv_timer_t *t)
{
    struct wdn_sidecar *sc = t->data;
    wdn_mw_registry_gc(sc->reg);
    wdn_mw_registry_stats(sc->reg, log_mw, NULL);
    wdn__sc_obs_housekeeping(sc, false);
}

int wdn_sidecar_run(struct wdn_sidecar *sc, struct wdn_diag *d)
{
    int rc;

    wdn_diag_clear(d);
    uv_loop_init(&sc->loop);
    uv_async_init(&sc->loop, &sc->stop_async, on_stop);
    sc->stop_async.data = sc;
    uv_timer_init(&sc->loop, &sc->housekeeping);
    sc->housekeeping.data = sc;
    uv_timer_init(&sc->loop, &sc->ready_timer);
    sc->ready_timer.data = sc;
    if (sc->handle_signals) {
        uv_signal_init(&sc->loop, &sc->sigint);
        uv_signal_init(&sc->loop, &sc->sigterm);
        sc->sigint.data = sc->sigterm.data = sc;
        uv_signal_start(&sc->sigint, on_signal, SIGINT);
        uv_signal_start(&sc->sigterm, on_signal, SIGTERM);
    }
    sc->loop_ready = true;
    rc = wdn__sc_dns_start(sc);
    if (rc)
        wdn_diag_set(d, rc, "cannot start the name resolver: %s", wdn_strerror(rc));
    if (rc == 0)
        rc = wdn__sc_listeners_start(sc, d);
    if (rc == 0 && sc->project) {
        struct wdn__sc_cfg *cfg = wdn__sc_cfg_get(sc);
        rc = wdn__sc_publish(sc, cfg ? cfg->config_name : NULL, NULL);
        wdn__sc_cfg_release(cfg);
        if (rc)
            wdn_diag_set(d, rc, "cannot register in project %s: %s", sc->project, wdn_strerror(rc));
        else
            sc->registered = true;
    }
    if (rc == 0)
        rc = wdn__sc_watch_start(sc);
    if (rc == 0) {
        struct wdn__sc_cfg *cfg = wdn__sc_cfg_get(sc);
        if (pipelines_ready(sc)) {
            atomic_store(&sc->ready, true); /* before the line that says so */
        } else {
            sc->ready_deadline_ms = wdn_clock_mono_ms() + WDN_SIDECAR_READY_KEYS_MS;
            uv_timer_start(&sc->ready_timer, on_ready_check, 20, 20);
        }
        printf("warden sidecar ready: app-id=%s http-port=%d internal-port=%d metrics-port=%d\n",
               sc->app_id, sc->bound_http, sc->bound_internal, sc->bound_metrics);
        fflush(stdout);
        wdn_log_info("sidecar ready app_id=%s http_port=%d internal_port=%d metrics_port=%d "
                     "app=%s:%d config=%s project=%s",
                     sc->app_id, sc->bound_http, sc->bound_internal, sc->bound_metrics,
                     sc->app_address, sc->app_port, cfg->config_name[0] ? cfg->config_name : "-",
                     sc->project ? sc->project : "-");
        wdn__sc_cfg_release(cfg);
        uv_timer_start(&sc->housekeeping, on_housekeeping, 200, 1000);
        wdn__sc_identity_start(sc);
    }
    if (rc)
        shutdown_loop(sc);
    uv_run(&sc->loop, UV_RUN_DEFAULT);

    wdn__sc_listeners_free(sc);
    if (sc->registered) {
        wdn_store_remove_sidecar(sc->project, sc->app_id, (long)getpid());
        sc->registered = false;
    }
    uv_loop_close(&sc->loop);
    if (rc == 0)
        wdn_log_info("sidecar stopped app_id=%s", sc->app_id);
    return rc;
}

void wdn_sidecar_stop(struct wdn_sidecar *sc)
{
    uv_async_send(&sc->stop_async);
}

int wdn_sidecar_http_port(const struct wdn_sidecar *sc)
{
    return sc->bound_http;
}

int wdn_sidecar_internal_port(const struct wdn_sidecar *sc)
{
    return sc->bound_internal;
}

int wdn_sidecar_metrics_port(const struct wdn_sidecar *sc)
{
    return sc->bound_metrics;
}

bool wdn_sidecar_ready(const struct wdn_sidecar *sc)
{
    return atomic_load(&sc->ready);
}

void wdn_sidecar_free(struct wdn_sidecar *sc)
{
    if (sc == NULL)
        return;
    wdn__sc_cfg_install(sc, NULL);
    wdn__sc_obs_housekeeping(sc, true);
    wdn_audit_close(sc->audit);
    pthread_mutex_destroy(&sc->obs_mu);
    wdn_mw_registry_free(sc->reg);
    wdn_tls_ctx_free(sc->tls_server);
    wdn_tls_ctx_free(sc->tls_client);
    free(sc->ca_dir);
    free(sc->cert_dir);
    free(sc->trust_domain);
    free(sc->ns);
    free(sc->spiffe_id);
    wdn__sc_dns_free(sc);
    pthread_mutex_destroy(&sc->tls_mu);
    free(sc->peers);
    for (size_t i = 0; i < sc->n_resources_paths; i++)
        free(sc->resources_paths[i]);
    free(sc->app_id);
    free(sc->app_address);
    free(sc->listen_address);
    free(sc->internal_address);
    free(sc->config);
    free(sc->project);
    free(sc->api_token);
    free(sc->app_api_token);
    pthread_mutex_destroy(&sc->cfg_mu);
    pthread_mutex_destroy(&sc->peers_mu);
    free(sc);
}
