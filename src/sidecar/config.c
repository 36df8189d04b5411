/* The sidecar's configuration: built from files (--resources-path, --config) or from a project
 * (its stored resources and the Configuration bound to the app ID), compiled into an immutable
 * snapshot (access control, pipeline instances, component list) and swapped atomically, so a
 * request finishes on the snapshot it started with. Files are watched with uv_fs_event; a
 * change is applied after a short quiet time, and a broken change keeps the last good
 * snapshot (the errors are logged as file:line:col). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/log.h"
#include "project/project.h"
#include "project/store.h"
#include "sidecar/internal.h"
#include "sidecar/validate.h"

static void cfg_free(struct wdn__sc_cfg *c)
{
    if (c == NULL)
        return;
    wdn_acl_free(c->acl);
    wdn_pipeline_free(c->http_pipeline);
    wdn_pipeline_free(c->app_pipeline);
    for (size_t i = 0; i < c->n_components; i++) {
        free(c->components[i].name);
        free(c->components[i].type);
        free(c->components[i].version);
    }
    free(c->components);
    free(c->config_name);
    wdn_tool_policy_free(c->mcp);
    wdn__sc_tracing_release(c->tracing);
    free(c->mcp_name);
    free(c->mcp_path);
    for (size_t i = 0; i < c->n_mcp_routes; i++) {
        free(c->mcp_routes[i].name);
        free(c->mcp_routes[i].app_id);
        free(c->mcp_routes[i].path);
    }
    free(c->mcp_routes);
    free(c);
}

void wdn__sc_cfg_release(struct wdn__sc_cfg *cfg)
{
    if (cfg && atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) == 1)
        cfg_free(cfg);
}

struct wdn__sc_cfg *wdn__sc_cfg_get(struct wdn_sidecar *sc)
{
    struct wdn__sc_cfg *c;

    pthread_mutex_lock(&sc->cfg_mu);
    c = sc->cfg;
    if (c)
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&sc->cfg_mu);
    return c;
}

void wdn__sc_cfg_install(struct wdn_sidecar *sc, struct wdn__sc_cfg *cfg)
{
    struct wdn__sc_cfg *old;

    pthread_mutex_lock(&sc->cfg_mu);
    old = sc->cfg;
    sc->cfg = cfg;
    pthread_mutex_unlock(&sc->cfg_mu);
    wdn__sc_cfg_release(old);
    wdn_mw_registry_gc(sc->reg);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Whether paths a and b name the same file (device and inode). */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, b) == 0)
        return true;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Logs every message of the set; fills d with the first error. */
static void report(const struct wdn_resources *set, struct wdn_diag *d)
{
    bool first = true;

    for (size_t i = 0; i < set->n_msgs; i++) {
        char buf[1024];
        const struct wdn_res_msg *m = &set->msgs[i];
        wdn_resources_msg_format(m, buf, sizeof(buf));
        if (m->warning) {
            wdn_log_warn("configuration: %s", buf);
            continue;
        }
        wdn_log_error("configuration: %s", buf);
        if (first && d) {
            *d = m->d;
            first = false;
        }
    }
    if (set->truncated)
        wdn_log_error("configuration: more errors were found and not shown");
}

/* The Configuration to use, or NULL for none (*name_out says which was asked for). */
static int pick_config(struct wdn_sidecar *sc, struct wdn_resources *set,
                       const struct wdn_res_configuration **out, char *name, size_t cap,
                       struct wdn_diag *d)
{
    int rc = 0;

    *out = NULL;
    name[0] = '\0';
    if (sc->config && is_file(sc->config)) {
        /* A file: the (last) Configuration it defines. */
        rc = wdn_resources_load_path(set, sc->config);
        if (rc)
            return rc;
        /* The set reads a file once: one inside --resources-path keeps the path it was read
         * by there ("res/./cfg.yaml" for --config res/cfg.yaml), hence device and inode. */
        for (size_t i = 0; i < set->n_configurations; i++)
            if (same_file(set->configurations[i]->pos.file, sc->config))
                *out = set->configurations[i];
        if (*out == NULL)
            return wdn_diag_set_at(d, WDN_ECONFIG, sc->config, 0, 0,
                                   "no Configuration in this file");
        wdn_fmt(name, cap, "%s", (*out)->metadata.name);
        return 0;
    }
    if (sc->config) {
        wdn_fmt(name, cap, "%s", sc->config);
    } else if (sc->project) {
        struct wdn_store_appid a;
        rc = wdn_store_get_appid(sc->project, sc->app_id, &a);
        if (rc == WDN_ENOTFOUND)
            return 0; /* no binding: no Configuration, as a Dapr app without --config */
        if (rc)
            return wdn_diag_set(d, rc, "reading the binding of app ID '%s': %s", sc->app_id,
                                wdn_strerror(rc));
        wdn_fmt(name, cap, "%s", a.app_config);
    }
    if (name[0] == '\0')
        return 0;
    *out = wdn_resources_find_configuration(set, name);
    if (*out == NULL)
        return wdn_diag_set(d, WDN_ECONFIG, "configuration '%s' not found%s%s", name,
                            sc->project ? " in project " : "", sc->project ? sc->project : "");
    return 0;
}

/* The app path an MCPServer's endpoint URL names, without query or trailing slashes; "/mcp"
 * when the URL is absent or has no path. Caller frees; NULL when out of memory. */
static char *endpoint_path(const struct wdn_res_mcpserver *m)
{
    const char *url = m->spec.endpoint.streamable_http.url;
    const char *p = url ? strstr(url, "://") : NULL;
    char *path;

    p = p ? strchr(p + 3, '/') : NULL;
    path = wdn__sc_strdup(p && p[1] ? p : "/mcp");
    if (path && strchr(path, '?'))
        *strchr(path, '?') = '\0';
    for (size_t n = path ? strlen(path) : 0; n > 1 && path[n - 1] == '/';)
        path[--n] = '\0';
    return path;
}

/* The MCPServer whose spec.appId is this app, compiled; the path it guards is the path of its
 * endpoint URL ("/mcp" when it has none). A second one for the same app never gets here:
 * wdn_resources_check_unique refused the set (test_sidecar_start). */
static int compile_mcp(struct wdn_sidecar *sc, const struct wdn_resources *set,
                       struct wdn__sc_cfg *c, struct wdn_diag *d)
{
    const struct wdn_res_mcpserver *found = NULL;
    int rc;

    for (size_t i = 0; i < set->n_mcpservers && found == NULL; i++) {
        const struct wdn_res_mcpserver *m = set->mcpservers[i];
        if (m->spec.app_id != NULL && strcmp(m->spec.app_id, sc->app_id) == 0)
            found = m;
    }
    if (found == NULL)
        return 0;
    rc = wdn_tool_policy_compile(found, &c->mcp, d);
    if (rc)
        return rc;
    c->mcp_name = wdn__sc_strdup(found->metadata.name);
    c->mcp_path = endpoint_path(found);
    return c->mcp_name && c->mcp_path ? 0 : WDN_ENOMEM;
}

/* Every MCPServer by name, for the proxy endpoint /v1.0/mcp/<name>: which app serves it and on
 * which path. Names are unique per kind (the loader refuses duplicates). */
static int compile_mcp_routes(const struct wdn_resources *set, struct wdn__sc_cfg *c)
{
    if (set->n_mcpservers == 0)
        return 0;
    c->mcp_routes = wdn__sc_calloc(set->n_mcpservers, sizeof(*c->mcp_routes));
    if (c->mcp_routes == NULL)
        return WDN_ENOMEM;
    for (size_t i = 0; i < set->n_mcpservers; i++) {
        const struct wdn_res_mcpserver *m = set->mcpservers[i];
        struct wdn__sc_mcp_route *r = &c->mcp_routes[c->n_mcp_routes++];
        r->name = wdn__sc_strdup(m->metadata.name);
        r->app_id = wdn__sc_strdup(m->spec.app_id ? m->spec.app_id : "");
        r->path = endpoint_path(m);
        if (r->name == NULL || r->app_id == NULL || r->path == NULL)
            return WDN_ENOMEM;
    }
    return 0;
}

int wdn__sc_cfg_build(struct wdn_sidecar *sc, struct wdn__sc_cfg **out, struct wdn_diag *d)
{
    struct wdn_resources *set = wdn_resources_new();
    const struct wdn_res_configuration *conf = NULL;
    struct wdn__sc_cfg *c = wdn__sc_calloc(1, sizeof(*c));
    char name[WDN_RES_MAX_NAME + 1];
    char path[WDN_MAX_PATH];
    int rc = WDN_ENOMEM;

    *out = NULL;
    wdn_diag_clear(d);
    if (set == NULL || c == NULL)
        goto out;
    atomic_init(&c->refs, 1);
    /* Before anything is read: what the CLI compares to know this build saw its change. */
    if (sc->project &&
        wdn_store_state_hash(sc->project, sc->app_id, sc->state, sizeof(sc->state)) != 0)
        sc->state[0] = '\0';
    if (sc->project) {
        static const char *const kinds[] = {WDN_KIND_COMPONENT, WDN_KIND_CONFIGURATION,
                                            WDN_KIND_MCPSERVER};
        for (size_t i = 0; i < 3; i++) {
            char rel[64];
            wdn_fmt(rel, sizeof(rel), "resources/%s", kinds[i]);
            if (wdn_project_path(path, sizeof(path), sc->project, rel) == 0 && is_dir(path)) {
                rc = wdn_resources_load_path(set, path);
                if (rc && rc != WDN_ECONFIG)
                    goto fail;
            }
        }
    }
    for (size_t i = 0; i < sc->n_resources_paths; i++) {
        rc = wdn_resources_load_path(set, sc->resources_paths[i]);
        if (rc && rc != WDN_ECONFIG)
            goto fail;
    }
    rc = pick_config(sc, set, &conf, name, sizeof(name), d);
    /* The checks `warden check` and `apply` run too (validate.c): every resource, then the
     * Configuration this app runs. */
    wdn_sidecar_check_resources(set);
    if (conf)
        wdn_sidecar_check_config(set, conf, sc->app_id);
    if (set->n_errors) {
        rc = WDN_ECONFIG;
        goto fail;
    }
    if (rc)
        goto fail;
    if (conf) {
        rc = wdn_acl_compile(&conf->spec.access_control, true, &c->acl, d);
        if (rc)
            goto fail;
        rc = wdn_pipeline_build(&conf->spec.http_pipeline, set, sc->app_id, sc->reg,
                                &c->http_pipeline, d);
        if (rc)
            goto fail;
        rc = wdn_pipeline_build(&conf->spec.app_http_pipeline, set, sc->app_id, sc->reg,
                                &c->app_pipeline, d);
        if (rc)
            goto fail;
        const struct wdn_res_tracing *tr = &conf->spec.tracing;
        rc = wdn__sc_tracing_get(sc, tr->sampling_rate || tr->otel.endpoint_address ? tr : NULL,
                                 &c->tracing, d);
        if (rc)
            goto fail;
    }
    rc = compile_mcp(sc, set, c, d);
    if (rc)
        goto fail;
    rc = compile_mcp_routes(set, c);
    if (rc)
        goto out;
    rc = WDN_ENOMEM;
    c->config_name = wdn__sc_strdup(name);
    c->components = wdn__sc_calloc(set->n_components + 1, sizeof(*c->components));
    if (!c->config_name || !c->components)
        goto out;
    for (size_t i = 0; i < set->n_components; i++) {
        const struct wdn_res_component *comp = set->components[i];
        struct wdn__sc_component *dst = &c->components[c->n_components];
        if (!wdn_resources_component_in_scope(comp, sc->app_id))
            continue;
        dst->name = wdn__sc_strdup(comp->metadata.name);
        dst->type = wdn__sc_strdup(comp->spec.type);
        dst->version = wdn__sc_strdup(comp->spec.version ? comp->spec.version : "v1");
        c->n_components++;
        if (!dst->name || !dst->type || !dst->version)
            goto out;
    }
    *out = c;
    c = NULL;
    rc = 0;
    goto out;
fail:
    report(set, d);
    if (set->n_errors == 0 && d && d->code) {
        char buf[1024];
        wdn_log_error("configuration: %s", wdn_diag_format(d, buf, sizeof(buf)));
    }
    if (rc == 0)
        rc = WDN_ECONFIG;
out:
    cfg_free(c);
    wdn_resources_free(set);
    return rc;
}

/* ---- Watching ---------------------------------------------------------------------------- */

static void reload(uv_timer_t *t)
{
    struct wdn_sidecar *sc = t->data;
    struct wdn__sc_cfg *c = NULL;
    struct wdn_diag d;
    int rc = wdn__sc_cfg_build(sc, &c, &d);

    if (rc) {
        atomic_fetch_add(&sc->m.reloads_failed, 1);
        wdn_log_error("configuration reload failed; keeping generation %llu",
                      (unsigned long long)sc->generation);
        struct wdn__sc_cfg *cur = wdn__sc_cfg_get(sc);
        wdn__sc_publish(sc, cur ? cur->config_name : NULL, &d); /* the CLI prints it */
        wdn__sc_cfg_release(cur);
        return;
    }
    c->generation = ++sc->generation;
    atomic_store(&sc->m.generation, c->generation);
    atomic_fetch_add(&sc->m.reloads_ok, 1);
    wdn_log_info("configuration reloaded generation=%llu config=%s acl=%s http_pipeline=%zu "
                 "app_http_pipeline=%zu mcp_policy=%s",
                 (unsigned long long)c->generation, c->config_name[0] ? c->config_name : "-",
                 c->acl ? "on" : "off", wdn_pipeline_count(c->http_pipeline),
                 wdn_pipeline_count(c->app_pipeline), c->mcp_name ? c->mcp_name : "-");
    wdn__sc_cfg_install(sc, c);
    /* c stays current until the next reload, which only this loop runs. */
    wdn__sc_publish(sc, c->config_name, NULL);
}

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct wdn_sidecar *sc = h->data;

    /* An audit log kept in a watched folder changes after every batch: were its writes taken
     * for edits, the sidecar would reload as often as records are written. */
    if (wdn__sc_audit_is_log(sc, filename))
        return;
    /* Editors and atomic writers produce bursts of events: reload once things are quiet. */
    uv_timer_start(&sc->debounce, reload, WDN_SIDECAR_RELOAD_DEBOUNCE_MS, 0);
}

static int watch(struct wdn_sidecar *sc, const char *path)
{
    uv_fs_event_t *h;
    int rc;

    for (size_t i = 0; i < sc->n_watches; i++)
        if (strcmp(sc->watches[i].path ? sc->watches[i].path : "", path) == 0)
            return 0;
    if (sc->n_watches >= WDN__SC_MAX_WATCHES)
        return WDN_ELIMIT;
    h = &sc->watches[sc->n_watches];
    uv_fs_event_init(&sc->loop, h);
    h->data = sc;
    sc->n_watches++;
    rc = uv_fs_event_start(h, on_fs_event, path, 0);
    if (rc) {
        wdn_log_warn("cannot watch %s: %s (changes there need a restart)", path, uv_strerror(rc));
        return 0;
    }
    wdn_log_debug("watching %s", path);
    return 0;
}

/* Watches a folder, or a file's folder (atomic writers replace the file by a rename). */
static int watch_path(struct wdn_sidecar *sc, const char *p)
{
    char dir[WDN_MAX_PATH];
    const char *slash;

    if (is_dir(p))
        return watch(sc, p);
    slash = strrchr(p, '/');
    if (slash == NULL)
        return watch(sc, ".");
    if (slash == p)
        return watch(sc, "/");
    if (wdn_fmt(dir, sizeof(dir), "%.*s", (int)(slash - p), p) != 0)
        return WDN_ELIMIT;
    return watch(sc, dir);
}

int wdn__sc_watch_start(struct wdn_sidecar *sc)
{
    char path[WDN_MAX_PATH];
    int rc = 0;

    uv_timer_init(&sc->loop, &sc->debounce);
    sc->debounce.data = sc;
    if (sc->project) {
        static const char *const rels[] = {"resources/component", "resources/configuration",
                                           "resources/mcpserver", "appids"};
        for (size_t i = 0; i < 4 && rc == 0; i++) {
            if (wdn_project_path(path, sizeof(path), sc->project, rels[i]) != 0)
                continue;
            /* Watch folders that do not exist yet too: the first `apply` creates them. */
            if (!is_dir(path) && mkdir(path, 0700) != 0 && errno != EEXIST)
                continue;
            rc = watch(sc, path);
        }
    }
    for (size_t i = 0; i < sc->n_resources_paths && rc == 0; i++)
        rc = watch_path(sc, sc->resources_paths[i]);
    if (rc == 0 && sc->config && is_file(sc->config))
        rc = watch_path(sc, sc->config);
    return rc;
}

static void on_closed(uv_handle_t *h)
{
}

void wdn__sc_watch_stop(struct wdn_sidecar *sc)
{
    for (size_t i = 0; i < sc->n_watches; i++)
        uv_close((uv_handle_t *)&sc->watches[i], on_closed);
    sc->n_watches = 0;
    /* A sidecar that failed to start (a port in use) stops before the timer was made. */
    if (sc->debounce.data != NULL)
        uv_close((uv_handle_t *)&sc->debounce, on_closed);
    sc->debounce.data = NULL;
}
