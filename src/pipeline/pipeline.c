/* The pipeline core: building a chain of middleware instances from a Configuration's handler
 * list (refusing, never skipping, a handler whose Component is missing, mistyped or scoped
 * away), sharing instances across reloads through a registry, and running the chain. */
#include "pipeline/pipeline.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "pipeline/internal.h"

static const char *const reason_names[] = {
#define WDN__MW_REASON_NAME(name, value) [value] = #name,
    WDN_MW_REASON_TABLE(WDN__MW_REASON_NAME)
#undef WDN__MW_REASON_NAME
};

/* The table's names are upper case; metrics labels and logs use snake_case. Computed once. */
static char reason_lower[WDN_MW_REASON_COUNT][32];
static pthread_once_t reason_once = PTHREAD_ONCE_INIT;

static void reason_lower_init(void)
{
    for (size_t i = 0; i < WDN_MW_REASON_COUNT; i++) {
        const char *s = reason_names[i];
        size_t j = 0;
        for (; s[j] && j + 1 < sizeof(reason_lower[i]); j++)
            reason_lower[i][j] = (char)((s[j] >= 'A' && s[j] <= 'Z') ? s[j] + 32 : s[j]);
        reason_lower[i][j] = '\0';
    }
}

const char *wdn_mw_reason_name(enum wdn_mw_reason r)
{
    if ((int)r < 0 || r >= WDN_MW_REASON_COUNT)
        r = WDN_MW_INTERNAL;
    pthread_once(&reason_once, reason_lower_init);
    return reason_lower[r];
}

/* Table of the middleware types warden implements. */
static const struct wdn__mw_type *const mw_types[] = {&wdn__mw_bearer};

static const struct wdn__mw_type *type_of(const char *type)
{
    for (size_t i = 0; type && i < sizeof(mw_types) / sizeof(mw_types[0]); i++)
        if (strcmp(mw_types[i]->type, type) == 0)
            return mw_types[i];
    return NULL;
}

/* Out of memory is said in words too, wherever it happened (an allocation that failed before
 * any message was written leaves d empty otherwise). */
static int oom_said(int rc, struct wdn_diag *d)
{
    if (rc == WDN_ENOMEM && d != NULL && d->code != WDN_ENOMEM)
        wdn_diag_set(d, rc, "out of memory");
    return rc;
}

int wdn_pipeline_check_component(const struct wdn_res_component *c, struct wdn_diag *d)
{
    const struct wdn__mw_type *vt = type_of(c->spec.type);

    if (vt == NULL && c->spec.type && strncmp(c->spec.type, "middleware.", 11) != 0)
        return wdn_diag_set_at(d, WDN_EUNSUPPORTED, c->spec.pos.file, c->spec.pos.line,
                               c->spec.pos.col,
                               "component '%s': warden runs no component of type '%s' (only "
                               "middleware.http.bearer); it is kept and not used",
                               c->metadata.name, c->spec.type);
    if (vt == NULL)
        return wdn_diag_set_at(d, WDN_EUNSUPPORTED, c->spec.pos.file, c->spec.pos.line,
                               c->spec.pos.col,
                               "component '%s': middleware type '%s' is not supported by warden "
                               "(supported: middleware.http.bearer)",
                               c->metadata.name, c->spec.type ? c->spec.type : "");
    return oom_said(vt->check(c, d), d);
}

void wdn__mw_ref(struct wdn__mw *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void wdn__mw_unref(struct wdn__mw *m)
{
    char *name, *ctype, *fp;

    if (m == NULL || atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    name = m->name;
    ctype = m->ctype;
    fp = m->fingerprint;
    m->vt->destroy(m);
    free(name);
    free(ctype);
    free(fp);
}

/* ---- Registry ---------------------------------------------------------------------------- */

struct wdn_mw_registry {
    pthread_mutex_t mu;
    struct wdn__mw *head; /* each holds one reference for the registry */
};

struct wdn_mw_registry *wdn_mw_registry_new(void)
{
    struct wdn_mw_registry *reg = calloc(1, sizeof(*reg));
    if (reg)
        pthread_mutex_init(&reg->mu, NULL);
    return reg;
}

void wdn_mw_registry_gc(struct wdn_mw_registry *reg)
{
    struct wdn__mw **pp, *dead = NULL;

    if (reg == NULL)
        return;
    pthread_mutex_lock(&reg->mu);
    pp = &reg->head;
    while (*pp) {
        struct wdn__mw *m = *pp;
        if (atomic_load(&m->refs) == 1) {
            *pp = m->next;
            m->next = dead;
            dead = m;
        } else {
            pp = &m->next;
        }
    }
    pthread_mutex_unlock(&reg->mu);
    /* Destroying a bearer instance joins its key thread: done outside the lock. */
    while (dead) {
        struct wdn__mw *next = dead->next;
        wdn__mw_unref(dead);
        dead = next;
    }
}

void wdn_mw_registry_stats(struct wdn_mw_registry *reg,
                           void (*fn)(const struct wdn_mw_stats *s, void *arg), void *arg)
{
    if (reg == NULL)
        return;
    pthread_mutex_lock(&reg->mu);
    for (struct wdn__mw *m = reg->head; m; m = m->next) {
        struct wdn_mw_stats s = {.name = m->name, .type = m->ctype};
        if (m->vt->stats)
            m->vt->stats(m, &s);
        fn(&s, arg);
    }
    pthread_mutex_unlock(&reg->mu);
}

void wdn_mw_registry_free(struct wdn_mw_registry *reg)
{
    struct wdn__mw *m;

    if (reg == NULL)
        return;
    m = reg->head;
    while (m) {
        struct wdn__mw *next = m->next;
        wdn__mw_unref(m);
        m = next;
    }
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

/* ---- Building ---------------------------------------------------------------------------- */

struct wdn_pipeline {
    bool has_res;                     /* a handler protects something */
    struct wdn_pipeline_resource res; /* the union, built with the pipeline */
    const char **res_lists;           /* the issuers, then the scopes */
    size_t n;
    struct wdn__mw *mw[];
};

static void add_once(const char **v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i], s) == 0)
            return;
    v[(*n)++] = s;
}

/* The handlers' resource facts, merged once at build time (the instances outlive the
 * pipeline's use of their strings: it holds references). */
static int build_resource(struct wdn_pipeline *p)
{
    struct wdn_pipeline_resource one;
    size_t n_iss = 0, n_sc = 0, ni = 0, ns = 0;
    const char **iss, **sc;

    for (size_t i = 0; i < p->n; i++) {
        if (p->mw[i]->vt->resource == NULL)
            continue;
        p->mw[i]->vt->resource(p->mw[i], &one);
        n_iss += one.n_issuers;
        n_sc += one.n_scopes;
        p->has_res = true;
    }
    if (!p->has_res)
        return 0;
    p->res_lists =
        WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(n_iss + n_sc + 1, sizeof(*p->res_lists)));
    if (p->res_lists == NULL)
        return WDN_ENOMEM;
    iss = p->res_lists;
    sc = p->res_lists + n_iss;
    for (size_t i = 0; i < p->n; i++) {
        if (p->mw[i]->vt->resource == NULL)
            continue;
        p->mw[i]->vt->resource(p->mw[i], &one);
        if (p->res.resource == NULL)
            p->res.resource = one.resource;
        if (p->res.resource_metadata == NULL)
            p->res.resource_metadata = one.resource_metadata;
        p->res.require_resource_audience =
            p->res.require_resource_audience || one.require_resource_audience;
        p->res.introspects = p->res.introspects || one.introspects;
        for (size_t k = 0; k < one.n_issuers; k++)
            add_once(iss, &ni, one.issuers[k]);
        for (size_t k = 0; k < one.n_scopes; k++)
            add_once(sc, &ns, one.scopes[k]);
    }
    p->res.issuers = iss;
    p->res.n_issuers = ni;
    p->res.scopes = sc;
    p->res.n_scopes = ns;
    return 0;
}

bool wdn_pipeline_resource(const struct wdn_pipeline *p, struct wdn_pipeline_resource *out)
{
    memset(out, 0, sizeof(*out));
    if (p == NULL || !p->has_res)
        return false;
    *out = p->res;
    return true;
}

/* Everything that makes two Components build the same instance, as one string. */
static int fingerprint(const struct wdn_res_component *c, struct wdn_buf *b)
{
    int rc = wdn_buf_printf(b, "%s\n%s\n%s\n", c->metadata.name, c->spec.type,
                            c->spec.version ? c->spec.version : "v1");
    for (size_t i = 0; rc == 0 && i < c->spec.n_metadata; i++) {
        const struct wdn_res_meta_item *it = &c->spec.metadata[i];
        if (it->value)
            rc = wdn_buf_printf(b, "%s=%zu:%s\n", it->name, strlen(it->value), it->value);
        else
            rc = wdn_buf_printf(b, "%s=secret:%s/%s\n", it->name,
                                it->secret_ref.name ? it->secret_ref.name : "",
                                it->secret_ref.key ? it->secret_ref.key : "");
    }
    return rc;
}

/* The instance for c: an identical one from the registry, or a new one added to it. The
 * returned instance carries one reference for the caller. */
static int instance_for(const struct wdn_res_component *c, struct wdn_mw_registry *reg,
                        struct wdn__mw **out, struct wdn_diag *d)
{
    const struct wdn__mw_type *vt = type_of(c->spec.type);
    struct wdn__mw *m = NULL;
    struct wdn_buf fp;
    int rc;

    *out = NULL;
    wdn_buf_init(&fp, 1u << 20);
    if (vt == NULL) {
        wdn_pipeline_check_component(c, d);
        if (d)
            d->code = WDN_ECONFIG;
        rc = WDN_ECONFIG;
        goto out;
    }
    rc = fingerprint(c, &fp);
    if (rc)
        goto out;
    if (reg) {
        pthread_mutex_lock(&reg->mu);
        for (struct wdn__mw *it = reg->head; it; it = it->next) {
            if (strcmp(it->fingerprint, wdn_buf_cstr(&fp)) == 0) {
                wdn__mw_ref(it);
                m = it;
                break;
            }
        }
        pthread_mutex_unlock(&reg->mu);
        if (m) {
            *out = m;
            rc = 0;
            goto out;
        }
    }
    rc = vt->create(c, &m, d);
    if (rc)
        goto out;
    m->vt = vt;
    atomic_init(&m->refs, 1);
    m->name = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(c->metadata.name));
    m->ctype = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(c->spec.type));
    m->fingerprint = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(wdn_buf_cstr(&fp)));
    if (!m->name || !m->ctype || !m->fingerprint) {
        wdn__mw_unref(m);
        rc = WDN_ENOMEM;
        goto out;
    }
    if (reg) {
        wdn__mw_ref(m);
        pthread_mutex_lock(&reg->mu);
        m->next = reg->head;
        reg->head = m;
        pthread_mutex_unlock(&reg->mu);
    }
    *out = m;
out:
    wdn_buf_reset(&fp);
    return rc;
}

int wdn_pipeline_build(const struct wdn_res_pipeline *spec, const struct wdn_resources *set,
                       const char *app_id, struct wdn_mw_registry *reg, struct wdn_pipeline **out,
                       struct wdn_diag *d)
{
    struct wdn_pipeline *p = NULL;
    int rc = 0;

    *out = NULL;
    if (spec == NULL || spec->n_handlers == 0)
        goto out;
    p = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL,
                     calloc(1, sizeof(*p) + spec->n_handlers * sizeof(p->mw[0])));
    if (p == NULL) {
        rc = WDN_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < spec->n_handlers; i++) {
        const struct wdn_res_handler *h = &spec->handlers[i];
        const struct wdn_res_component *c = wdn_resources_find_component(set, h->name);
        const char *hv = h->version ? h->version : "v1";
        const char *cv = c && c->spec.version ? c->spec.version : "v1";

        /* Dapr skips a handler it cannot find ("Any middlewares which are not currently
         * loaded are skipped"), which silently removes authentication; warden refuses. */
        if (c == NULL) {
            rc = wdn_diag_set_at(d, WDN_ECONFIG, h->pos.file, h->pos.line, h->pos.col,
                                 "handler '%s': no component named '%s' (the pipeline would run "
                                 "without it)",
                                 h->name, h->name);
            goto out;
        }
        if (strcmp(c->spec.type, h->type) != 0 || strcmp(hv, cv) != 0) {
            rc = wdn_diag_set_at(d, WDN_ECONFIG, h->pos.file, h->pos.line, h->pos.col,
                                 "handler '%s' has type %s/%s but component '%s' is %s/%s", h->name,
                                 h->type, hv, c->metadata.name, c->spec.type, cv);
            goto out;
        }
        if (app_id && !wdn_resources_component_in_scope(c, app_id)) {
            rc = wdn_diag_set_at(d, WDN_ECONFIG, h->pos.file, h->pos.line, h->pos.col,
                                 "handler '%s': component '%s' is scoped away from app '%s' "
                                 "(add it to the component's scopes)",
                                 h->name, c->metadata.name, app_id);
            goto out;
        }
        rc = instance_for(c, reg, &p->mw[i], d);
        if (rc)
            goto out;
        p->n++;
    }
    rc = build_resource(p);
    if (rc)
        goto out;
    *out = p;
    p = NULL;
out:
    wdn_pipeline_free(p);
    return oom_said(rc, d);
}

void wdn_pipeline_free(struct wdn_pipeline *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        wdn__mw_unref(p->mw[i]);
    free(p->res_lists);
    free(p);
}

size_t wdn_pipeline_count(const struct wdn_pipeline *p)
{
    return p ? p->n : 0;
}

int wdn_pipeline_run(const struct wdn_pipeline *p, const struct wdn_pipeline_req *rq,
                     struct wdn_pipeline_out *out)
{
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (p == NULL)
        return 0;
    for (size_t i = 0; i < p->n; i++) {
        rc = p->mw[i]->vt->run(p->mw[i], rq, out);
        if (rc || out->status != 0 || out->pending) {
            out->handler = p->mw[i]->name;
            break;
        }
    }
    if (rc && out->status == 0) {
        out->status = 500;
        out->body = WDN_STR("Internal Server Error");
        out->reason = WDN_MW_INTERNAL;
    }
    return rc;
}

bool wdn_pipeline_ready(const struct wdn_pipeline *p)
{
    for (size_t i = 0; p != NULL && i < p->n; i++)
        if (p->mw[i]->vt->ready && !p->mw[i]->vt->ready(p->mw[i]))
            return false;
    return true;
}

bool wdn_pipeline_wait_ready(const struct wdn_pipeline *p, uint64_t timeout_ms)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    uint64_t waited = 0;

    for (;;) {
        if (wdn_pipeline_ready(p))
            return true;
        if (waited >= timeout_ms)
            return false;
        nanosleep(&ts, NULL);
        waited += 20;
    }
}
