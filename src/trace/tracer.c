/* The tracer: an exporter with a sampling rate, the one object both the sidecar (from a
 * Configuration's spec.tracing) and apps (include/warden/trace.h) record spans through. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "base/limits.h"
#include "trace/span.h"
#include "warden/trace.h"

struct wdn_tracer {
    struct wdn_trace_exporter *exp;
    double rate;
};

struct wdn_tracer *wdn_tracer_new(const struct wdn_tracer_config *cfg)
{
    return wdn_tracer_new_scope(cfg, "warden.mcp");
}

struct wdn_tracer *wdn_tracer_new_scope(const struct wdn_tracer_config *cfg, const char *scope)
{
    struct wdn_tracer *t;
    char url[WDN_TRACE_MAX_URL_BYTES];

    if (cfg == NULL || cfg->service_name == NULL || *cfg->service_name == '\0' ||
        !(cfg->sampling_rate >= 0 && cfg->sampling_rate <= 1) ||
        wdn_otlp_url(cfg->endpoint, false, url, sizeof(url)) != 0)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->rate = cfg->sampling_rate;
    struct wdn_trace_exporter_opts o = {.url = url,
                                        .service_name = cfg->service_name,
                                        .scope_name = scope,
                                        .ca_file = cfg->ca_file};
    if (wdn_trace_exporter_new(&o, &t->exp, NULL) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

/* OTEL_TRACES_SAMPLER(_ARG) as a rate for new traces (our sampler is always parent-based). */
static int env_rate(double *rate)
{
    const char *s = getenv("OTEL_TRACES_SAMPLER"), *arg = getenv("OTEL_TRACES_SAMPLER_ARG");
    char *end;

    *rate = 1;
    if (s == NULL || *s == '\0' || strcasecmp(s, "always_on") == 0 ||
        strcasecmp(s, "parentbased_always_on") == 0)
        return 0;
    if (strcasecmp(s, "always_off") == 0 || strcasecmp(s, "parentbased_always_off") == 0) {
        *rate = 0;
        return 0;
    }
    if (strcasecmp(s, "traceidratio") != 0 && strcasecmp(s, "parentbased_traceidratio") != 0)
        return WDN_EINVAL;
    if (arg == NULL || *arg == '\0')
        return 0;
    *rate = strtod(arg, &end);
    return *end == '\0' && *rate >= 0 && *rate <= 1 ? 0 : WDN_EINVAL;
}

struct wdn_tracer *wdn_tracer_from_env(const char *service_name)
{
    const char *traces = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    const char *base = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    const char *svc = getenv("OTEL_SERVICE_NAME");
    char url[WDN_TRACE_MAX_URL_BYTES];
    struct wdn_tracer_config cfg = {.service_name = svc && *svc ? svc : service_name};

    if (traces && *traces) {
        cfg.endpoint = traces; /* used as is, path included */
    } else if (base && *base) {
        /* A base URL always gets /v1/traces, even with a path of its own. */
        size_t n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
            n--;
        if (n + sizeof("/v1/traces") > sizeof(url))
            return NULL;
        memcpy(url, base, n);
        memcpy(url + n, "/v1/traces", sizeof("/v1/traces"));
        cfg.endpoint = url;
    } else {
        return NULL;
    }
    if (env_rate(&cfg.sampling_rate) != 0)
        return NULL;
    return wdn_tracer_new(&cfg);
}

int wdn_tracer_flush(struct wdn_tracer *t, unsigned timeout_ms)
{
    return t ? wdn_trace_exporter_flush(t->exp, timeout_ms) : 0;
}

void wdn_tracer_free(struct wdn_tracer *t)
{
    if (t == NULL)
        return;
    wdn_trace_exporter_free(t->exp);
    free(t);
}

double wdn_tracer_rate(const struct wdn_tracer *t)
{
    return t ? t->rate : 0;
}

void wdn_tracer_submit(struct wdn_tracer *t, const struct wdn_span *spans, size_t n)
{
    if (t)
        wdn_trace_exporter_submit(t->exp, spans, n);
}

void wdn_tracer_submit_each(struct wdn_tracer *t, const struct wdn_span *const *spans, size_t n)
{
    if (t)
        wdn_trace_exporter_submit_each(t->exp, spans, n);
}

void wdn_tracer_stats(struct wdn_tracer *t, struct wdn_trace_stats *out)
{
    if (t)
        wdn_trace_exporter_stats(t->exp, out);
    else
        memset(out, 0, sizeof(*out));
}
