/* Resources, app ID bindings and the sidecar registry, as files in a project folder. Bindings
 * and registry entries are small JSON objects; resources keep the YAML text the user applied. */
#include "base/json_dump.h"
#include "project/store.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "base/error.h"
#include "base/file.h"
#include "base/str.h"
#include "project/project.h"

#define RESOURCE_MAX (4u << 20)

const char *wdn_store_change_name(enum wdn_store_change c)
{
    switch (c) {
    case WDN_STORE_CREATED:
        return "created";
    case WDN_STORE_CONFIGURED:
        return "configured";
    default:
        return "unchanged";
    }
}

/* Names become file names: refuse anything that could leave the folder. */
static bool safe_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 253 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static int entry_path(char *buf, size_t cap, const char *project, const char *folder,
                      const char *name, const char *ext)
{
    char rel[512];
    if (!safe_name(name))
        return WDN_EINVAL;
    if (wdn_fmt(rel, sizeof(rel), "%s/%s.%s", folder, name, ext))
        return WDN_ELIMIT;
    return wdn_project_path(buf, cap, project, rel);
}

/* Writes data unless the file already holds exactly it; reports what happened. */
static int put_file(const char *path, const char *data, size_t len, enum wdn_store_change *change)
{
    struct wdn_buf old;
    int rc = wdn_file_read(path, RESOURCE_MAX, &old);

    if (rc == 0 && old.len == len && memcmp(old.data, data, len) == 0) {
        wdn_buf_reset(&old);
        if (change)
            *change = WDN_STORE_UNCHANGED;
        return 0;
    }
    if (change)
        *change = rc == 0 ? WDN_STORE_CONFIGURED : WDN_STORE_CREATED;
    wdn_buf_reset(&old);
    return wdn_file_write_atomic(path, data, len, 0600);
}

int wdn_store_resource_path(const char *project, const char *kind, const char *name, char *buf,
                            size_t cap)
{
    char folder[64];
    int rc = wdn_fmt(folder, sizeof(folder), "resources/%s", kind);

    return rc ? rc : entry_path(buf, cap, project, folder, name, "yaml");
}

int wdn_store_put_resource(const char *project, const char *kind, const char *name,
                           const char *yaml, size_t len, enum wdn_store_change *change)
{
    char path[WDN_MAX_PATH], folder[64];
    int rc = wdn_fmt(folder, sizeof(folder), "resources/%s", kind);

    if (rc == 0)
        rc = entry_path(path, sizeof(path), project, folder, name, "yaml");
    return rc ? rc : put_file(path, yaml, len, change);
}

int wdn_store_get_resource(const char *project, const char *kind, const char *name,
                           struct wdn_buf *out)
{
    char path[WDN_MAX_PATH], folder[64];
    int rc = wdn_fmt(folder, sizeof(folder), "resources/%s", kind);

    wdn_buf_init(out, RESOURCE_MAX);
    if (rc == 0)
        rc = entry_path(path, sizeof(path), project, folder, name, "yaml");
    return rc ? rc : wdn_file_read(path, RESOURCE_MAX, out);
}

static int remove_path(const char *path)
{
    if (unlink(path) != 0)
        return wdn_error_from_errno(errno);
    return 0;
}

int wdn_store_delete_resource(const char *project, const char *kind, const char *name)
{
    char path[WDN_MAX_PATH], folder[64];
    int rc = wdn_fmt(folder, sizeof(folder), "resources/%s", kind);

    if (rc == 0)
        rc = entry_path(path, sizeof(path), project, folder, name, "yaml");
    return rc ? rc : remove_path(path);
}

int wdn_store_list_resources(const char *project, const char *kind,
                             int (*fn)(const char *name, void *arg), void *arg)
{
    char path[WDN_MAX_PATH], folder[64];
    int rc = wdn_fmt(folder, sizeof(folder), "resources/%s", kind);

    if (rc == 0)
        rc = wdn_project_path(path, sizeof(path), project, folder);
    return rc ? rc : wdn_project_list_dir(path, "yaml", fn, arg);
}

int wdn_store_resources_dir(const char *project, char *buf, size_t cap)
{
    return wdn_project_path(buf, cap, project, "resources");
}

/* Reads a small JSON object file. */
static int read_json(const char *path, json_t **out)
{
    struct wdn_buf b;
    json_error_t jerr;
    int rc = wdn_file_read(path, 64 * 1024, &b);

    *out = NULL;
    if (rc)
        return rc;
    *out = json_loadb(b.data, b.len, 0, &jerr);
    wdn_buf_reset(&b);
    if (*out == NULL || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return WDN_EPARSE;
    }
    return 0;
}

static int write_json(const char *path, json_t *o, enum wdn_store_change *change)
{
    char *s = wdn_json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    int rc;

    if (s == NULL)
        return WDN_ENOMEM;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (t == NULL) {
        free(s);
        return WDN_ENOMEM;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    rc = put_file(path, t, n + 1, change);
    free(t);
    return rc;
}

static int copy_str(char *dst, size_t cap, json_t *v)
{
    const char *s = json_string_value(v);
    return wdn_fmt(dst, cap, "%s", s ? s : "");
}

int wdn_store_appid_path(const char *project, const char *app_id, char *buf, size_t cap)
{
    return entry_path(buf, cap, project, "appids", app_id, "json");
}

int wdn_store_put_appid(const char *project, const struct wdn_store_appid *a,
                        enum wdn_store_change *change)
{
    char path[WDN_MAX_PATH];
    int rc = wdn_store_appid_path(project, a->app_id, path, sizeof(path));
    json_t *o;

    if (rc)
        return rc;
    o = json_pack("{s:s, s:s}", "appId", a->app_id, "appConfig", a->app_config);
    if (o == NULL)
        return WDN_ENOMEM;
    rc = write_json(path, o, change);
    json_decref(o);
    return rc;
}

int wdn_store_get_appid(const char *project, const char *app_id, struct wdn_store_appid *a)
{
    char path[WDN_MAX_PATH];
    json_t *o = NULL;
    int rc = wdn_store_appid_path(project, app_id, path, sizeof(path));

    memset(a, 0, sizeof(*a));
    if (rc == 0)
        rc = read_json(path, &o);
    if (rc == 0)
        rc = copy_str(a->app_id, sizeof(a->app_id), json_object_get(o, "appId"));
    if (rc == 0)
        rc = copy_str(a->app_config, sizeof(a->app_config), json_object_get(o, "appConfig"));
    json_decref(o);
    return rc;
}

int wdn_store_delete_appid(const char *project, const char *app_id)
{
    char path[WDN_MAX_PATH];
    int rc = wdn_store_appid_path(project, app_id, path, sizeof(path));
    return rc ? rc : remove_path(path);
}

int wdn_store_list_appids(const char *project, int (*fn)(const char *name, void *arg), void *arg)
{
    char path[WDN_MAX_PATH];
    int rc = wdn_project_path(path, sizeof(path), project, "appids");
    return rc ? rc : wdn_project_list_dir(path, "json", fn, arg);
}

int wdn_store_registry_dir(const char *project, char *buf, size_t cap)
{
    return wdn_project_path(buf, cap, project, "registry");
}

int wdn_store_put_sidecar(const char *project, const struct wdn_store_sidecar *s)
{
    char path[WDN_MAX_PATH];
    int rc = entry_path(path, sizeof(path), project, "registry", s->app_id, "json");
    json_t *o;

    if (rc)
        return rc;
    o = json_pack("{s:s, s:s, s:i, s:i, s:I, s:i, s:I, s:s, s:s, s:s}", "appId", s->app_id,
                  "internalAddress", s->internal_addr, "httpPort", s->http_port, "appPort",
                  s->app_port, "pid", (json_int_t)s->pid, "metricsPort", s->metrics_port,
                  "generation", (json_int_t)s->generation, "config", s->config, "state", s->state,
                  "lastError", s->last_error);
    if (o == NULL)
        return WDN_ENOMEM;
    rc = write_json(path, o, NULL);
    json_decref(o);
    return rc;
}

int wdn_store_get_sidecar(const char *project, const char *app_id, struct wdn_store_sidecar *s)
{
    char path[WDN_MAX_PATH];
    json_t *o = NULL;
    int rc = entry_path(path, sizeof(path), project, "registry", app_id, "json");

    memset(s, 0, sizeof(*s));
    if (rc == 0)
        rc = read_json(path, &o);
    if (rc == 0)
        rc = copy_str(s->app_id, sizeof(s->app_id), json_object_get(o, "appId"));
    if (rc == 0)
        rc = copy_str(s->internal_addr, sizeof(s->internal_addr),
                      json_object_get(o, "internalAddress"));
    /* The status fields are informational: an entry without them (or with longer text) still
     * resolves. */
    if (rc == 0) {
        copy_str(s->config, sizeof(s->config), json_object_get(o, "config"));
        copy_str(s->state, sizeof(s->state), json_object_get(o, "state"));
        copy_str(s->last_error, sizeof(s->last_error), json_object_get(o, "lastError"));
        s->http_port = (int)json_integer_value(json_object_get(o, "httpPort"));
        s->app_port = (int)json_integer_value(json_object_get(o, "appPort"));
        s->metrics_port = (int)json_integer_value(json_object_get(o, "metricsPort"));
        s->generation = (unsigned long long)json_integer_value(json_object_get(o, "generation"));
        s->pid = (long)json_integer_value(json_object_get(o, "pid"));
        /* An entry whose process is gone is stale: a crashed sidecar must not be dialled. */
        if (s->pid > 0 && !wdn_project_pid_alive(s->pid))
            rc = WDN_ESTATE;
    }
    json_decref(o);
    return rc;
}

struct hash_ctx {
    EVP_MD_CTX *md;
    const char *project, *kind;
    int rc;
};

/* One stored resource into the hash: its kind, name and text, each length-prefixed. */
static int hash_resource(const char *name, void *arg)
{
    struct hash_ctx *h = arg;
    struct wdn_buf b;
    char head[600];
    int n;

    h->rc = wdn_store_get_resource(h->project, h->kind, name, &b);
    if (h->rc == WDN_ENOTFOUND) /* removed while we listed: as if it was never there */
        return h->rc = 0;
    if (h->rc)
        return h->rc;
    n = snprintf(head, sizeof(head), "%s/%s %zu\n", h->kind, name, b.len);
    if (EVP_DigestUpdate(h->md, head, (size_t)n) != 1 ||
        EVP_DigestUpdate(h->md, b.data ? b.data : "", b.len) != 1)
        h->rc = WDN_ECRYPTO;
    wdn_buf_reset(&b);
    return h->rc;
}

int wdn_store_state_hash(const char *project, const char *app_id, char *out, size_t cap)
{
    static const char *const kinds[] = {WDN_KIND_COMPONENT, WDN_KIND_CONFIGURATION,
                                        WDN_KIND_MCPSERVER};
    struct hash_ctx h = {EVP_MD_CTX_new(), project, NULL, 0};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct wdn_store_appid a;
    char bind[400];
    int n;

    if (cap < WDN_STORE_STATE_LEN)
        h.rc = WDN_ELIMIT;
    else if (h.md == NULL || EVP_DigestInit_ex(h.md, EVP_sha256(), NULL) != 1)
        h.rc = WDN_ECRYPTO;
    for (size_t i = 0; h.rc == 0 && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        h.kind = kinds[i];
        int rc = wdn_store_list_resources(project, kinds[i], hash_resource, &h);
        if (h.rc == 0 && rc)
            h.rc = rc;
    }
    if (h.rc == 0) {
        int rc = wdn_store_get_appid(project, app_id, &a);
        n = rc == 0 ? snprintf(bind, sizeof(bind), "appid %s %s\n", a.app_id, a.app_config)
                    : snprintf(bind, sizeof(bind), "appid %s (none)\n", app_id);
        if (EVP_DigestUpdate(h.md, bind, (size_t)n) != 1 ||
            EVP_DigestFinal_ex(h.md, md, &mdlen) != 1)
            h.rc = WDN_ECRYPTO;
    }
    EVP_MD_CTX_free(h.md);
    if (h.rc)
        return h.rc;
    for (unsigned int i = 0; i < mdlen && 2 * i + 2 < cap; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int wdn_store_remove_sidecar(const char *project, const char *app_id, long pid)
{
    struct wdn_store_sidecar cur;
    char path[WDN_MAX_PATH];
    int rc = wdn_store_get_sidecar(project, app_id, &cur);

    if (rc != 0 && rc != WDN_ESTATE)
        return rc;
    if (pid > 0 && cur.pid != pid)
        return 0;
    rc = entry_path(path, sizeof(path), project, "registry", app_id, "json");
    return rc ? rc : remove_path(path);
}
