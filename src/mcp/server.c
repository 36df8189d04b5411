/* The MCP server object: settings, and the tools, resources and prompts registered on it. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "mcp/server_int.h"

const char *const wdn__mcp_log_levels[] = {"debug", "info",     "notice", "warning",
                                           "error", "critical", "alert",  "emergency"};

const char *wdn__mcp_static_version(const char *v)
{
    static const char *const all[] = {WDN_MCP_V2026_07_28, WDN_MCP_V2025_11_25, WDN_MCP_V2025_06_18,
                                      WDN_MCP_V2025_03_26};
    size_t i;

    for (i = 0; v != NULL && i < 4; i++)
        if (strcmp(v, all[i]) == 0)
            return all[i];
    return NULL;
}

/* Every copy the server keeps goes through here: a fault site (base/fault.h) for the sweeps of
 * test_mcp_faults. */
static char *xstrdup(const char *s)
{
    return s != NULL ? WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(s)) : NULL;
}

static char **dup_list(const char *const *list)
{
    size_t n = 0, i;
    char **out;

    if (list == NULL)
        return NULL;
    while (list[n] != NULL)
        n++;
    out = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(n + 1, sizeof(*out)));
    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        out[i] = xstrdup(list[i]);
        if (out[i] == NULL) {
            while (i > 0)
                free(out[--i]);
            free(out);
            return NULL;
        }
    }
    return out;
}

static void free_list(char **list)
{
    size_t i;

    for (i = 0; list != NULL && list[i] != NULL; i++)
        free(list[i]);
    free(list);
}

struct wdn_mcp_server *wdn_mcp_server_new(const struct wdn_mcp_server_config *cfg)
{
    struct wdn_mcp_server *srv;

    if (cfg == NULL || cfg->name == NULL || cfg->version == NULL)
        return NULL;
    srv = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(1, sizeof(*srv)));
    if (srv == NULL)
        return NULL;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->reply_cv, NULL);
    pthread_cond_init(&srv->task_cv, NULL);
    srv->page_size = cfg->page_size > 0 ? cfg->page_size : WDN_MCP_PAGE_SIZE;
    srv->cache_ttl_ms = cfg->cache_ttl_ms > 0 ? cfg->cache_ttl_ms : 0;
    srv->cache_public = cfg->cache_public;
    srv->task_ttl_ms = cfg->task_ttl_ms > 0 ? cfg->task_ttl_ms : WDN_MCP_TASK_TTL_MS;
    srv->task_poll_ms = cfg->task_poll_ms > 0 ? cfg->task_poll_ms : WDN_MCP_TASK_POLL_MS;
    /* The key that seals requestState: the caller's (shared by every instance of a service),
     * else a random one made when first needed (server_input.c), so that a server that never
     * seals state never starts OpenSSL's random generator. */
    if (cfg->state_key != NULL && cfg->state_key_len == sizeof(srv->state_key)) {
        memcpy(srv->state_key, cfg->state_key, sizeof(srv->state_key));
        srv->state_key_set = true;
    } else if (cfg->state_key != NULL) {
        pthread_cond_destroy(&srv->task_cv);
        pthread_cond_destroy(&srv->reply_cv);
        pthread_mutex_destroy(&srv->mu);
        free(srv);
        return NULL;
    }
    srv->stateless = cfg->stateless;
    srv->sse_responses = cfg->sse_responses;
    srv->poll_ms = cfg->sse_poll_ms > 0 ? cfg->sse_poll_ms : 0;
    if (srv->poll_ms > WDN_MCP_RESUME_MAX_RETRY_MS)
        srv->poll_ms = WDN_MCP_RESUME_MAX_RETRY_MS;
    srv->resumable = cfg->resumable || srv->poll_ms > 0;
    srv->stateless_log_level = -1;
    srv->name = xstrdup(cfg->name);
    srv->version = xstrdup(cfg->version);
    srv->title = xstrdup(cfg->title);
    srv->instructions = xstrdup(cfg->instructions);
    srv->path = xstrdup(cfg->path);
    srv->hosts = dup_list(cfg->allowed_hosts);
    srv->origins = dup_list(cfg->allowed_origins);
    srv->any_host = cfg->allowed_hosts != NULL && cfg->allowed_hosts[0] != NULL &&
                    strcmp(cfg->allowed_hosts[0], "*") == 0;
    if (srv->name == NULL || srv->version == NULL || (cfg->title && !srv->title) ||
        (cfg->instructions && !srv->instructions) || (cfg->path && !srv->path) ||
        (cfg->allowed_hosts && !srv->hosts) || (cfg->allowed_origins && !srv->origins)) {
        wdn_mcp_server_free(srv);
        return NULL;
    }
    return srv;
}

void wdn_mcp_server_free(struct wdn_mcp_server *srv)
{
    size_t i;

    if (srv == NULL)
        return;
    /* Tasks run tool handlers on threads of their own: end them first. */
    wdn__mcp_tasks_stop(srv);
    while (srv->sessions != NULL)
        wdn__mcp_session_destroy(srv, srv->sessions);
    while (srv->streams != NULL) {
        struct wdn_mcp_stream *st = srv->streams;
        srv->streams = st->next;
        if (st->out.end != NULL)
            st->out.end(st->out.ud);
        free(st);
    }
    for (i = 0; i < srv->ntools; i++) {
        free(srv->tools[i].name);
        json_decref(srv->tools[i].def);
        json_decref(srv->tools[i].xheaders);
        wdn_mcp_schema_free(srv->tools[i].in_s);
        wdn_mcp_schema_free(srv->tools[i].out_s);
    }
    for (i = 0; i < srv->nresources; i++) {
        free(srv->resources[i].uri);
        free(srv->resources[i].tmpl);
        json_decref(srv->resources[i].def);
    }
    for (i = 0; i < srv->nprompts; i++) {
        free(srv->prompts[i].name);
        json_decref(srv->prompts[i].def);
    }
    free(srv->name);
    free(srv->version);
    free(srv->title);
    free(srv->instructions);
    free(srv->path);
    free_list(srv->hosts);
    free_list(srv->origins);
    OPENSSL_cleanse(srv->state_key, sizeof(srv->state_key));
    pthread_cond_destroy(&srv->task_cv);
    pthread_cond_destroy(&srv->reply_cv);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}

/* ---------------------------------------------------------------------------------------- */
/* Registration                                                                               */

static bool tool_name_ok(const char *n)
{
    size_t i, len = strlen(n);

    if (len == 0 || len > 128)
        return false;
    for (i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static int set_str(json_t *o, const char *k, const char *v)
{
    if (v == NULL)
        return 0;
    return json_object_set_new(o, k, json_string(v)) == 0 ? 0 : WDN_ENOMEM;
}

/* A JSON object from a registration's text, or NULL (not JSON, not an object, a duplicate key;
 * jansson reports a failed allocation while parsing as a syntax error, so that is WDN_EINVAL too).
 */
static json_t *load_object(const char *text, int *rc)
{
    json_t *s = json_loads(text, JSON_REJECT_DUPLICATES, NULL);

    if (s == NULL || !json_is_object(s)) {
        json_decref(s);
        *rc = WDN_EINVAL;
        return NULL;
    }
    return s;
}

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * Collects the x-mcp-header annotations of an input schema (2026-07-28): each names a header
 * Mcp-Param-<name> that must mirror a primitive argument. Names must be tokens, unique without
 * regard to case, on string, integer or boolean properties; anything else refuses the tool.
 */
static int collect_xheaders(json_t *schema, json_t *path, json_t *out, int depth)
{
    json_t *props = json_object_get(schema, "properties"), *ps, *p;
    const char *k, *h, *type;
    size_t i;
    int rc;

    if (depth > WDN_JSON_MAX_DEPTH)
        return WDN_ELIMIT;
    json_object_foreach (props, k, ps) {
        json_t *sub = json_copy(path);
        if (sub == NULL || json_array_append_new(sub, json_string(k)) != 0) {
            json_decref(sub);
            return WDN_ENOMEM;
        }
        h = json_string_value(json_object_get(ps, "x-mcp-header"));
        if (json_object_get(ps, "x-mcp-header") != NULL) {
            type = json_string_value(json_object_get(ps, "type"));
            rc = h != NULL && h[0] != '\0' && strlen(h) < 64 && type != NULL &&
                         (strcmp(type, "string") == 0 || strcmp(type, "integer") == 0 ||
                          strcmp(type, "boolean") == 0)
                     ? 0
                     : WDN_EINVAL;
            for (i = 0; rc == 0 && h[i] != '\0'; i++)
                if (!is_tchar(h[i]))
                    rc = WDN_EINVAL;
            json_array_foreach (out, i, p) {
                if (rc == 0 && strcasecmp(json_string_value(json_object_get(p, "h")), h) == 0)
                    rc = WDN_EINVAL;
            }
            if (rc == 0 &&
                json_array_append_new(out, json_pack("{s:s, s:O}", "h", h, "p", sub)) != 0)
                rc = WDN_ENOMEM;
            if (rc != 0) {
                json_decref(sub);
                return rc;
            }
        }
        rc = collect_xheaders(ps, sub, out, depth + 1);
        json_decref(sub);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int wdn_mcp_server_add_tool(struct wdn_mcp_server *srv, const struct wdn_mcp_tool *t)
{
    struct tool *slot;
    json_t *def = NULL, *in = NULL, *outs = NULL, *ann = NULL;
    size_t i;
    int rc = WDN_EINVAL;

    if (t == NULL || t->name == NULL || t->fn == NULL || !tool_name_ok(t->name) ||
        (unsigned)t->task_support > WDN_MCP_TASK_REQUIRED)
        goto out;
    rc = WDN_ELIMIT;
    if (srv->ntools >= WDN_MCP_MAX_TOOLS)
        goto out;
    rc = WDN_EEXISTS;
    for (i = 0; i < srv->ntools; i++)
        if (strcmp(srv->tools[i].name, t->name) == 0)
            goto out;
    in = load_object(t->input_schema ? t->input_schema : "{\"type\":\"object\"}", &rc);
    if (in == NULL)
        goto out;
    rc = WDN_EINVAL;
    /* MCP requires an object schema for arguments. */
    if (!json_is_string(json_object_get(in, "type")) ||
        strcmp(json_string_value(json_object_get(in, "type")), "object") != 0)
        goto out;
    if (t->output_schema != NULL && (outs = load_object(t->output_schema, &rc)) == NULL)
        goto out;
    if (t->annotations != NULL && (ann = load_object(t->annotations, &rc)) == NULL)
        goto out;
    rc = WDN_ENOMEM;
    def = json_object();
    if (def == NULL || set_str(def, "name", t->name) || set_str(def, "title", t->title) ||
        set_str(def, "description", t->description) ||
        json_object_set(def, "inputSchema", in) != 0 ||
        (outs && json_object_set(def, "outputSchema", outs) != 0) ||
        (ann && json_object_set(def, "annotations", ann) != 0))
        goto out;
    slot = &srv->tools[srv->ntools];
    slot->name = xstrdup(t->name);
    if (slot->name == NULL)
        goto out;
    slot->def = def;
    slot->input_schema = json_object_get(def, "inputSchema");
    slot->output_schema = json_object_get(def, "outputSchema");
    /* Compiled once: every call validates against the compiled form. */
    slot->in_s = wdn_mcp_schema_compile(slot->input_schema, &rc, NULL, 0);
    slot->out_s = slot->in_s != NULL && slot->output_schema != NULL
                      ? wdn_mcp_schema_compile(slot->output_schema, &rc, NULL, 0)
                      : NULL;
    slot->xheaders = json_array();
    if (slot->in_s != NULL && (slot->output_schema == NULL || slot->out_s != NULL)) {
        json_t *root_path = json_array();
        rc = slot->xheaders == NULL || root_path == NULL
                 ? WDN_ENOMEM
                 : collect_xheaders(slot->input_schema, root_path, slot->xheaders, 0);
        json_decref(root_path);
    }
    if (rc != 0) {
        json_decref(slot->xheaders);
        wdn_mcp_schema_free(slot->in_s);
        wdn_mcp_schema_free(slot->out_s);
        free(slot->name);
        slot->def = NULL;
        goto out;
    }
    slot->fn = t->fn;
    slot->ud = t->ud;
    slot->task_support = t->task_support;
    slot->prepare = t->prepare;
    slot->quick = t->quick;
    if (t->task_support != WDN_MCP_TASK_NEVER)
        srv->has_task_tools = true;
    srv->ntools++;
    def = NULL;
    rc = 0;
out:
    json_decref(def);
    json_decref(in);
    json_decref(outs);
    json_decref(ann);
    return rc;
}

int wdn_mcp_server_add_resource(struct wdn_mcp_server *srv, const struct wdn_mcp_resource *r)
{
    struct resource *slot;
    json_t *def = NULL;
    size_t i;
    int rc = WDN_EINVAL;

    if (r == NULL || r->name == NULL || r->read == NULL ||
        (r->uri == NULL) == (r->uri_template == NULL))
        goto out;
    rc = WDN_ELIMIT;
    if (srv->nresources >= WDN_MCP_MAX_TOOLS)
        goto out;
    rc = WDN_EEXISTS;
    for (i = 0; i < srv->nresources; i++) {
        const char *have = srv->resources[i].uri ? srv->resources[i].uri : srv->resources[i].tmpl;
        if (strcmp(have, r->uri ? r->uri : r->uri_template) == 0)
            goto out;
    }
    rc = WDN_ENOMEM;
    def = json_object();
    if (def == NULL || set_str(def, "uri", r->uri) ||
        set_str(def, "uriTemplate", r->uri_template) || set_str(def, "name", r->name) ||
        set_str(def, "title", r->title) || set_str(def, "description", r->description) ||
        set_str(def, "mimeType", r->mime_type))
        goto out;
    slot = &srv->resources[srv->nresources];
    memset(slot, 0, sizeof(*slot));
    slot->uri = xstrdup(r->uri);
    slot->tmpl = xstrdup(r->uri_template);
    if ((r->uri && !slot->uri) || (r->uri_template && !slot->tmpl)) {
        free(slot->uri);
        free(slot->tmpl);
        goto out;
    }
    slot->def = def;
    slot->fn = r->read;
    slot->ud = r->ud;
    slot->quick = r->quick;
    srv->nresources++;
    def = NULL;
    rc = 0;
out:
    json_decref(def);
    return rc;
}

int wdn_mcp_server_add_prompt(struct wdn_mcp_server *srv, const struct wdn_mcp_prompt *p)
{
    struct prompt *slot;
    json_t *def = NULL, *args = NULL;
    size_t i;
    int rc = WDN_EINVAL;

    if (p == NULL || p->name == NULL || p->get == NULL || (p->nargs > 0 && p->args == NULL))
        goto out;
    for (i = 0; i < p->nargs; i++)
        if (p->args[i].name == NULL)
            goto out; /* a caller's mistake, not a lack of memory */
    rc = WDN_ELIMIT;
    if (srv->nprompts >= WDN_MCP_MAX_TOOLS)
        goto out;
    rc = WDN_EEXISTS;
    for (i = 0; i < srv->nprompts; i++)
        if (strcmp(srv->prompts[i].name, p->name) == 0)
            goto out;
    rc = WDN_ENOMEM;
    def = json_object();
    args = json_array();
    if (def == NULL || args == NULL || set_str(def, "name", p->name) ||
        set_str(def, "title", p->title) || set_str(def, "description", p->description))
        goto out;
    for (i = 0; i < p->nargs; i++) {
        json_t *a = json_object();
        if (a == NULL || json_array_append_new(args, a) != 0 ||
            set_str(a, "name", p->args[i].name) ||
            set_str(a, "description", p->args[i].description) ||
            json_object_set_new(a, "required", json_boolean(p->args[i].required)) != 0)
            goto out;
    }
    if (json_object_set(def, "arguments", args) != 0)
        goto out;
    slot = &srv->prompts[srv->nprompts];
    slot->name = xstrdup(p->name);
    if (slot->name == NULL)
        goto out;
    slot->def = def;
    slot->fn = p->get;
    slot->ud = p->ud;
    slot->quick = p->quick;
    srv->nprompts++;
    def = NULL;
    rc = 0;
out:
    json_decref(def);
    json_decref(args);
    return rc;
}

void wdn_mcp_server_set_completer(struct wdn_mcp_server *srv, wdn_mcp_complete_fn fn, void *ud)
{
    srv->completer = fn;
    srv->completer_ud = ud;
}

size_t wdn_mcp_server_session_count(struct wdn_mcp_server *srv)
{
    size_t n;

    pthread_mutex_lock(&srv->mu);
    n = srv->nsessions;
    pthread_mutex_unlock(&srv->mu);
    return n;
}
