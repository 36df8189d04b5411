/* Prometheus metrics of the sidecar (text exposition format 0.0.4): requests by port and status,
 * a latency histogram (time to the response head), auth failures by reason, access-control
 * decisions, key set refreshes and status per bearer component, configuration reloads. Counters
 * are relaxed atomics bumped on the request path; rendering reads them on the metrics worker. */
#include <string.h>

#include "base/clock.h"
#include "sidecar/internal.h"

static const double buckets[WDN__SC_HIST_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};
static const char *const port_names[2] = {"api", "internal"};
static const char *const acl_by_names[5] = {"none", "global", "app", "operation", "invalid"};

void wdn__sc_metrics_request(struct wdn_sidecar *sc, int port, int status, uint64_t t0_ns)
{
    uint64_t us = (wdn_clock_mono_ns() - t0_ns) / 1000;
    double s = (double)us / 1e6;
    size_t b = 0;

    if (status < 100 || status > 599)
        status = 599;
    atomic_fetch_add_explicit(&sc->m.requests[port][status], 1, memory_order_relaxed);
    while (b < WDN__SC_HIST_BUCKETS && s > buckets[b])
        b++;
    atomic_fetch_add_explicit(&sc->m.hist[port][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sc->m.hist_sum_us[port], us, memory_order_relaxed);
}

static uint64_t ld(atomic_uint_fast64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

struct mw_render {
    struct wdn_buf *out;
    int pass;
};

static void render_mw(const struct wdn_mw_stats *s, void *arg)
{
    struct mw_render *r = arg;

    switch (r->pass) {
    case 0:
        wdn_buf_printf(r->out, "warden_jwks_refresh_total{component=\"%s\",result=\"ok\"} %llu\n",
                       s->name, (unsigned long long)s->refresh_ok);
        wdn_buf_printf(r->out,
                       "warden_jwks_refresh_total{component=\"%s\",result=\"error\"} %llu\n",
                       s->name, (unsigned long long)s->refresh_errors);
        break;
    case 1:
        wdn_buf_printf(r->out, "warden_jwks_loaded{component=\"%s\"} %d\n", s->name,
                       s->keys_loaded ? 1 : 0);
        break;
    case 2:
        wdn_buf_printf(r->out, "warden_jwks_keys{component=\"%s\"} %zu\n", s->name, s->keys);
        break;
    case 3:
        wdn_buf_printf(r->out,
                       "warden_token_cache_total{component=\"%s\",result=\"hit\"} %llu\n"
                       "warden_token_cache_total{component=\"%s\",result=\"miss\"} %llu\n",
                       s->name, (unsigned long long)s->cache_hits, s->name,
                       (unsigned long long)s->cache_misses);
        break;
    case 4:
        wdn_buf_printf(r->out, "warden_token_cache_evictions_total{component=\"%s\"} %llu\n",
                       s->name, (unsigned long long)s->cache_evictions);
        break;
    default:
        wdn_buf_printf(r->out, "warden_token_cache_bytes{component=\"%s\"} %llu\n", s->name,
                       (unsigned long long)s->cache_bytes);
        break;
    }
}

void wdn__sc_metrics_render(struct wdn_sidecar *sc, struct wdn_buf *out)
{
    struct mw_render r = {.out = out};

    wdn_buf_printf(out, "# HELP warden_requests_total Requests answered, by listener and status.\n"
                        "# TYPE warden_requests_total counter\n");
    for (int p = 0; p < 2; p++)
        for (int s = 100; s < 600; s++) {
            uint64_t v = ld(&sc->m.requests[p][s]);
            if (v)
                wdn_buf_printf(out, "warden_requests_total{port=\"%s\",code=\"%d\"} %llu\n",
                               port_names[p], s, (unsigned long long)v);
        }
    wdn_buf_printf(out, "# HELP warden_request_duration_seconds Time from the request head to "
                        "the response head.\n"
                        "# TYPE warden_request_duration_seconds histogram\n");
    for (int p = 0; p < 2; p++) {
        uint64_t cum = 0;
        for (int b = 0; b <= WDN__SC_HIST_BUCKETS; b++) {
            cum += ld(&sc->m.hist[p][b]);
            if (b < WDN__SC_HIST_BUCKETS)
                wdn_buf_printf(out,
                               "warden_request_duration_seconds_bucket{port=\"%s\",le=\"%g\"} "
                               "%llu\n",
                               port_names[p], buckets[b], (unsigned long long)cum);
            else
                wdn_buf_printf(out,
                               "warden_request_duration_seconds_bucket{port=\"%s\",le=\"+Inf\"} "
                               "%llu\n",
                               port_names[p], (unsigned long long)cum);
        }
        wdn_buf_printf(out, "warden_request_duration_seconds_sum{port=\"%s\"} %.6f\n",
                       port_names[p], (double)ld(&sc->m.hist_sum_us[p]) / 1e6);
        wdn_buf_printf(out, "warden_request_duration_seconds_count{port=\"%s\"} %llu\n",
                       port_names[p], (unsigned long long)cum);
    }
    wdn_buf_printf(out, "# HELP warden_auth_failures_total Requests refused by a middleware, by "
                        "reason.\n# TYPE warden_auth_failures_total counter\n");
    for (int i = 1; i < WDN_MW_REASON_COUNT; i++) {
        if (i == WDN_MW_INVALID_TOKEN)
            continue;
        wdn_buf_printf(out, "warden_auth_failures_total{reason=\"%s\"} %llu\n",
                       wdn_mw_reason_name((enum wdn_mw_reason)i),
                       (unsigned long long)ld(&sc->m.auth_failures[i]));
    }
    for (int i = 1; i < WDN_JWT_REASON_COUNT; i++) {
        uint64_t v = ld(&sc->m.jwt_failures[i]);
        if (v)
            wdn_buf_printf(out, "warden_auth_failures_total{reason=\"%s\"} %llu\n",
                           wdn_jwt_reason_name((enum wdn_jwt_reason)i), (unsigned long long)v);
    }
    wdn_buf_printf(out, "# HELP warden_acl_decisions_total Access-control decisions at the "
                        "callee.\n# TYPE warden_acl_decisions_total counter\n");
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 5; b++) {
            uint64_t v = ld(&sc->m.acl[a][b]);
            if (v)
                wdn_buf_printf(out, "warden_acl_decisions_total{decision=\"%s\",by=\"%s\"} %llu\n",
                               a ? "allow" : "deny", acl_by_names[b], (unsigned long long)v);
        }
    wdn_buf_printf(out, "# HELP warden_jwks_refresh_total Key set fetches per bearer component.\n"
                        "# TYPE warden_jwks_refresh_total counter\n");
    wdn_mw_registry_stats(sc->reg, render_mw, &r);
    r.pass = 1;
    wdn_buf_printf(out, "# HELP warden_jwks_loaded 1 once the component's key set is loaded.\n"
                        "# TYPE warden_jwks_loaded gauge\n");
    wdn_mw_registry_stats(sc->reg, render_mw, &r);
    r.pass = 2;
    wdn_buf_printf(out, "# HELP warden_jwks_keys Keys in the component's current key set.\n"
                        "# TYPE warden_jwks_keys gauge\n");
    wdn_mw_registry_stats(sc->reg, render_mw, &r);
    r.pass = 3;
    wdn_buf_printf(out, "# HELP warden_token_cache_total Verified-token cache lookups.\n"
                        "# TYPE warden_token_cache_total counter\n");
    wdn_mw_registry_stats(sc->reg, render_mw, &r);
    r.pass = 4;
    wdn_buf_printf(out,
                   "# HELP warden_token_cache_evictions_total Verified tokens dropped to stay "
                   "within tokenCacheSize.\n# TYPE warden_token_cache_evictions_total counter\n");
    wdn_mw_registry_stats(sc->reg, render_mw, &r);
    r.pass = 5;
    wdn_buf_printf(out, "# HELP warden_token_cache_bytes Estimated bytes the verified-token cache "
                        "holds.\n# TYPE warden_token_cache_bytes gauge\n");
    wdn_mw_registry_stats(sc->reg, render_mw, &r);
    wdn_buf_printf(out,
                   "# HELP warden_config_reloads_total Configuration reloads by result.\n"
                   "# TYPE warden_config_reloads_total counter\n"
                   "warden_config_reloads_total{result=\"ok\"} %llu\n"
                   "warden_config_reloads_total{result=\"error\"} %llu\n"
                   "# HELP warden_config_generation Generation of the configuration in use.\n"
                   "# TYPE warden_config_generation gauge\n"
                   "warden_config_generation %llu\n",
                   (unsigned long long)ld(&sc->m.reloads_ok),
                   (unsigned long long)ld(&sc->m.reloads_failed),
                   (unsigned long long)ld(&sc->m.generation));
    struct wdn__sc_cfg *cfg = wdn__sc_cfg_get(sc);
    wdn__sc_obs_metrics(sc, cfg ? cfg->tracing : NULL, out);
    wdn__sc_cfg_release(cfg);
}

int wdn__sc_metrics_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct wdn__sc_listener *l = (struct wdn__sc_listener *)self;
    const struct wdn_http_request *head = wdn_http_req_head(req);
    static const struct wdn_http_header ct = {{"Content-Type", 12},
                                              {"text/plain; version=0.0.4", 25}};
    static const struct wdn_http_header plain = {{"Content-Type", 12}, {"text/plain", 10}};
    struct wdn_buf b;

    if (!wdn_str_eq_cstr(head->path, "/metrics")) {
        wdn_http_respond(req, 404, &plain, 1, WDN_STR("Not Found\n"));
        return 0;
    }
    wdn_buf_init(&b, 4u << 20);
    wdn__sc_metrics_render(l->sc, &b);
    wdn_http_respond(req, 200, &ct, 1, wdn_buf_str(&b));
    wdn_buf_reset(&b);
    return 0;
}
