/* The multi-app run file after decoding: Dapr CLI's merge of `common` into each app, default
 * values, app IDs and path resolution (dapr/cli pkg/runfileconfig/run_file_config_parser.go). */
#include "resources/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/limits.h"

/* base + "/" + rel (rel absolute or "~/..." handled), in the arena; NULL after an error. */
static const char *resolve(struct wdn__res_ctx *ctx, const struct wdn_res_pos *pos,
                           const char *base, const char *rel)
{
    char buf[WDN_MAX_PATH];
    int n;

    if (rel == NULL || base == NULL)
        return NULL;
    if (rel[0] == '/')
        n = snprintf(buf, sizeof(buf), "%s", rel);
    else if (rel[0] == '~' && (rel[1] == '/' || rel[1] == '\0')) {
        const char *home = getenv("HOME");
        n = snprintf(buf, sizeof(buf), "%s%s", home ? home : "", rel + 1);
    } else if (strcmp(rel, ".") == 0)
        n = snprintf(buf, sizeof(buf), "%s", base);
    else
        n = snprintf(buf, sizeof(buf), "%s/%s", base,
                     rel[0] == '.' && rel[1] == '/' ? rel + 2 : rel);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        wdn__res_err_at(ctx, pos, "path too long: %.64s", rel);
        return NULL;
    }
    /* Drop a trailing slash so that base names and messages come out clean. */
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    return wdn__res_strdup(ctx, buf);
}

static bool exists(const char *path, bool want_dir)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return false;
    return want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

/* Resolves and checks a path the way Dapr's CLI does (it must exist). */
static const char *must_resolve(struct wdn__res_ctx *ctx, const struct wdn_res_pos *pos,
                                const char *what, const char *base, const char *rel)
{
    const char *p = resolve(ctx, pos, base, rel);

    if (p && !exists(p, false) && !exists(p, true)) {
        wdn__res_err_at(ctx, pos, "%s \"%.128s\" does not exist (resolved to %.200s)", what, rel,
                        p);
        return NULL;
    }
    return p;
}

static int append(struct wdn__res_ctx *ctx, struct wdn_res_strlist *l, const char *s, size_t cap)
{
    if (s == NULL || l->n >= cap)
        return 0;
    l->v[l->n++] = s;
    return 1;
}

/* Effective resources folders of one app, in Dapr's precedence order. */
static void resolve_resources(struct wdn__res_ctx *ctx, struct wdn_res_run_app *app,
                              const struct wdn_res_strlist *common)
{
    const struct wdn_res_run_shared *own = &app->sh;
    size_t cap = own->resources_paths.n + 1 + common->n + 1;
    struct wdn_res_strlist out = {0};

    out.v = wdn_arena_calloc(ctx->arena, cap * sizeof(*out.v));
    if (out.v == NULL)
        return;
    for (size_t i = 0; i < own->resources_paths.n; i++)
        append(ctx, &out,
               must_resolve(ctx, &app->pos, "resourcesPaths entry", app->app_dir,
                            own->resources_paths.v[i]),
               cap);
    if (own->resources_path)
        append(ctx, &out,
               must_resolve(ctx, &app->pos, "resourcesPath", app->app_dir, own->resources_path),
               cap);
    if (out.n == 0 && app->app_dir) {
        char local[WDN_MAX_PATH];
        if (snprintf(local, sizeof(local), "%s/.dapr/resources", app->app_dir) <
                (int)sizeof(local) &&
            exists(local, true))
            append(ctx, &out, wdn__res_strdup(ctx, local), cap);
    }
    if (out.n == 0) {
        for (size_t i = 0; i < common->n; i++)
            append(ctx, &out, common->v[i], cap);
    }
    app->resources = out;
}

static void resolve_config(struct wdn__res_ctx *ctx, struct wdn_res_run_app *app,
                           const char *common_config)
{
    char local[WDN_MAX_PATH];

    if (app->sh.config_file_path) {
        app->config_file =
            must_resolve(ctx, &app->pos, "configFilePath", app->app_dir, app->sh.config_file_path);
        return;
    }
    if (app->app_dir &&
        snprintf(local, sizeof(local), "%s/.dapr/config.yaml", app->app_dir) < (int)sizeof(local) &&
        exists(local, false)) {
        app->config_file = wdn__res_strdup(ctx, local);
        return;
    }
    app->config_file = common_config;
}

/* Fills what the app left unset from common (Go's reflect.IsZero merge, field by field). */
static void merge_shared(struct wdn__res_ctx *ctx, struct wdn_res_run_shared *app,
                         const struct wdn_res_run_shared *common)
{
#define TAKE_PTR(f)                                                                                \
    if (app->f == NULL)                                                                            \
    app->f = common->f
#define TAKE_INT(f)                                                                                \
    if (app->f == WDN_RES_UNSET)                                                                   \
    app->f = common->f
#define TAKE_I64(f)                                                                                \
    if (app->f == WDN_RES_INT_UNSET)                                                               \
    app->f = common->f
    TAKE_PTR(config_file_path);
    TAKE_PTR(app_protocol);
    TAKE_PTR(api_listen_addresses);
    TAKE_INT(enable_profiling);
    TAKE_PTR(log_level);
    TAKE_I64(app_max_concurrency);
    TAKE_PTR(placement_host_address);
    TAKE_PTR(scheduler_host_address);
    TAKE_PTR(resources_path);
    if (app->resources_paths.n == 0)
        app->resources_paths = common->resources_paths;
    TAKE_INT(app_ssl);
    TAKE_PTR(max_body_size);
    TAKE_PTR(read_buffer_size);
    TAKE_INT(enable_app_health_check);
    TAKE_PTR(app_health_check_path);
    TAKE_I64(app_health_probe_interval);
    TAKE_I64(app_health_probe_timeout);
    TAKE_I64(app_health_threshold);
    TAKE_INT(enable_api_logging);
    TAKE_PTR(runtime_path);
    TAKE_PTR(daprd_log_destination);
    TAKE_PTR(app_log_destination);
    TAKE_PTR(audit_log);
#undef TAKE_PTR
#undef TAKE_INT
#undef TAKE_I64

    /* env: common's entries first, the app's replace those of the same name. */
    if (common->env.n) {
        size_t cap = app->env.n + common->env.n;
        struct wdn_res_kv *v = wdn_arena_calloc(ctx->arena, cap * sizeof(*v));
        size_t n = 0;
        if (v == NULL)
            return;
        for (size_t i = 0; i < common->env.n; i++) {
            bool overridden = false;
            for (size_t j = 0; j < app->env.n && !overridden; j++)
                overridden = strcmp(app->env.v[j].name, common->env.v[i].name) == 0;
            if (!overridden)
                v[n++] = common->env.v[i];
        }
        for (size_t j = 0; j < app->env.n; j++)
            v[n++] = app->env.v[j];
        app->env.v = v;
        app->env.n = n;
    }

    /* Defaults from Dapr's struct tags and LogDestType constants. */
    if (app->app_protocol == NULL)
        app->app_protocol = "http";
    if (app->log_level == NULL)
        app->log_level = "info";
    if (app->max_body_size == NULL)
        app->max_body_size = "4Mi";
    if (app->read_buffer_size == NULL)
        app->read_buffer_size = "4Ki";
    if (app->daprd_log_destination == NULL)
        app->daprd_log_destination = "file";
    if (app->app_log_destination == NULL)
        app->app_log_destination = "fileAndConsole";
    if (app->app_max_concurrency == WDN_RES_INT_UNSET)
        app->app_max_concurrency = -1;
    if (app->enable_profiling == WDN_RES_UNSET)
        app->enable_profiling = 0;
    if (app->app_ssl == WDN_RES_UNSET)
        app->app_ssl = 0;
    if (app->enable_app_health_check == WDN_RES_UNSET)
        app->enable_app_health_check = 0;
    if (app->enable_api_logging == WDN_RES_UNSET)
        app->enable_api_logging = 0;
}

/* The app's --audit-log: stdout, syslog, or a file relative to the run file's folder with
 * {appID} replaced by the app's ID. Two sidecars never share a file (one chain each). */
static void resolve_audit(struct wdn__res_ctx *ctx, struct wdn_res_runfile *rf, size_t i)
{
    struct wdn_res_run_app *app = &rf->apps[i];
    const char *v = app->sh.audit_log, *at;
    char buf[WDN_MAX_PATH];

    if (v == NULL || app->app_id == NULL)
        return;
    if (strcmp(v, "stdout") == 0 || strcmp(v, "syslog") == 0) {
        app->audit_log = v;
        return;
    }
    at = strstr(v, "{appID}");
    if (at && snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - v), v, app->app_id, at + 7) >=
                  (int)sizeof(buf)) {
        wdn__res_err_at(ctx, &app->pos, "auditLog is too long");
        return;
    }
    app->audit_log = resolve(ctx, &app->pos, rf->base_dir, at ? buf : v);
    for (size_t j = 0; app->audit_log && j < i; j++) {
        const char *other = rf->apps[j].audit_log;
        if (other && strcmp(other, app->audit_log) == 0) {
            wdn__res_err_at(ctx, &app->pos,
                            "auditLog: apps \"%s\" and \"%s\" would write one audit file (%.200s); "
                            "put {appID} in the file name",
                            rf->apps[j].app_id, app->app_id, app->audit_log);
            break;
        }
    }
}

void wdn__res_runfile_finish(struct wdn__res_ctx *ctx, struct wdn_res_runfile *rf,
                             const char *base_dir)
{
    struct wdn_res_strlist common_res = {0};
    const char *common_config = NULL;
    struct wdn_res_pos cpos = rf->common.pos.line ? rf->common.pos : rf->pos;

    rf->base_dir = wdn__res_strdup(ctx, base_dir);
    if (rf->base_dir == NULL)
        return;

    /* Common paths are relative to the run file's folder. */
    size_t ccap = rf->common.resources_paths.n + 1;
    common_res.v = wdn_arena_calloc(ctx->arena, ccap * sizeof(*common_res.v));
    if (common_res.v == NULL)
        return;
    for (size_t i = 0; i < rf->common.resources_paths.n; i++)
        append(ctx, &common_res,
               must_resolve(ctx, &cpos, "common resourcesPaths entry", rf->base_dir,
                            rf->common.resources_paths.v[i]),
               ccap);
    if (rf->common.resources_path)
        append(ctx, &common_res,
               must_resolve(ctx, &cpos, "common resourcesPath", rf->base_dir,
                            rf->common.resources_path),
               ccap);
    if (rf->common.config_file_path)
        common_config = must_resolve(ctx, &cpos, "common configFilePath", rf->base_dir,
                                     rf->common.config_file_path);

    for (size_t i = 0; i < rf->n_apps; i++) {
        struct wdn_res_run_app *app = &rf->apps[i];
        size_t mark = wdn__res_path_push(ctx, "apps[%zu]", i);

        if (app->app_dir_path == NULL) {
            wdn__res_path_pop(ctx, mark);
            continue;
        }
        /* App paths (other than appDirPath itself) are relative to the app's folder. */
        app->app_dir = resolve(ctx, &app->pos, rf->base_dir, app->app_dir_path);
        if (app->app_dir && !exists(app->app_dir, true))
            wdn__res_err_at(ctx, &app->pos,
                            "appDirPath \"%.128s\" is not a folder (resolved to "
                            "%.200s)",
                            app->app_dir_path, app->app_dir);
        if (app->app_id == NULL && app->app_dir) {
            const char *slash = strrchr(app->app_dir, '/');
            const char *baseptr = slash ? slash + 1 : app->app_dir;
            if (wdn_resources_valid_app_id(baseptr))
                app->app_id = baseptr;
            else
                wdn__res_err_at(ctx, &app->pos,
                                "no appID, and the folder name \"%.64s\" is not a valid app ID",
                                baseptr);
        }
        resolve_resources(ctx, app, &common_res);
        resolve_config(ctx, app, common_config);
        merge_shared(ctx, &app->sh, &rf->common);
        resolve_audit(ctx, rf, i);
        for (size_t j = 0; j < i && app->app_id; j++) {
            if (rf->apps[j].app_id && strcmp(rf->apps[j].app_id, app->app_id) == 0) {
                wdn__res_err_at(ctx, &app->pos, "app ID \"%s\" is used twice (first at line %u)",
                                app->app_id, rf->apps[j].pos.line);
                break;
            }
        }
        wdn__res_path_pop(ctx, mark);
    }
}
