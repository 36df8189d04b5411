/* The MCP server core: Streamable HTTP rules and JSON-RPC methods, independent of any socket. */
#include "warden/mcp.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "base/str.h"

#define SESSION_ID_BYTES 32
#define SESSION_ID_LEN (SESSION_ID_BYTES * 2)
#define MAX_COMPLETIONS 100

struct tool {
    char *name;
    json_t *def; /* the tools/list entry */
    json_t *input_schema;
    json_t *output_schema;
    json_t *xheaders; /* [{"h": header suffix, "p": [property path...]}] from x-mcp-header */
    wdn_mcp_tool_fn fn;
    void *ud;
};

struct resource {
    char *uri;  /* static resource, or NULL */
    char *tmpl; /* template, or NULL */
    json_t *def;
    wdn_mcp_read_fn fn;
    void *ud;
};

struct prompt {
    char *name;
    json_t *def;
    wdn_mcp_prompt_fn fn;
    void *ud;
};

/* One event kept for replay: its framed bytes, id line included. */
struct revent {
    struct revent *next;
    uint64_t seq;
    size_t len;
    char data[];
};

/*
 * A resumable SSE stream (a POST's answer or a standalone GET stream) of a session. Its events
 * are numbered from 1 (the priming event is "<id>-0" and is not kept) and the last ones are kept
 * within the WDN_MCP_RESUME_* limits, so that a client that lost the connection can come back
 * with GET + Last-Event-ID. At most one connection is attached at a time (live).
 */
struct rstream {
    uint64_t id; /* unique within the server, so event ids are unique within a session */
    bool is_get; /* a standalone GET stream, else a POST's answer */
    bool ended;  /* the response went out (or the session ended): no more events */
    uint64_t next_seq, first_seq; /* next number to give; oldest event still kept */
    struct revent *head, *tail;
    size_t nevents, nbytes;
    uint64_t idle_since_ms;        /* when it ended or lost its connection; 0: in use */
    int refs;                      /* the session's list, plus a request still running */
    bool unlinked;                 /* no longer in its session's list */
    struct wdn_mcp_http_out live;  /* the attached connection; live.body NULL when none */
    struct wdn_mcp_stream *handle; /* the GET connection attached, when it is one */
    struct rstream *next;
};

struct session {
    char id[SESSION_ID_LEN + 1];
    char version[16];
    int log_level; /* -1: not set, every level is sent */
    json_t *subs;  /* resources/subscribe: an object whose keys are the subscribed URIs */
    json_t *caps;  /* the client's capabilities from initialize */
    uint64_t last_used_ms;
    struct rstream *rs; /* resumable streams, newest first */
    size_t nrs;
    struct session *next;
};

/* An open GET connection: a standalone stream, or a resumed one (GET + Last-Event-ID). */
struct wdn_mcp_stream {
    struct wdn_mcp_http_out out;
    char session[SESSION_ID_LEN + 1];
    struct rstream *rs; /* the resumable stream it carries, or NULL */
    bool standalone;    /* carries server notifications (not a POST's answer) */
    struct wdn_mcp_stream *next;
};

struct inflight {
    char session[SESSION_ID_LEN + 1];
    json_t *id;
    atomic_bool cancelled;
    struct inflight *next;
};

/* A request the server sent to the client (sampling, elicitation) and awaits on a POST. */
struct pending {
    char session[SESSION_ID_LEN + 1];
    char id[32];
    json_t *reply; /* the whole response message once it arrived */
    struct pending *next;
};

struct wdn_mcp_server {
    char *name, *version, *title, *instructions, *path;
    bool stateless, sse_responses;
    bool resumable;
    long poll_ms;
    char **hosts;   /* NULL-terminated; NULL means the loopback names */
    char **origins; /* NULL-terminated or NULL */
    bool any_host;

    struct tool tools[WDN_MCP_MAX_TOOLS];
    size_t ntools;
    struct resource resources[WDN_MCP_MAX_TOOLS];
    size_t nresources;
    struct prompt prompts[WDN_MCP_MAX_TOOLS];
    size_t nprompts;
    wdn_mcp_complete_fn completer;
    void *completer_ud;

    pthread_mutex_t mu; /* guards everything below */
    struct session *sessions;
    size_t nsessions;
    struct wdn_mcp_stream *streams;
    struct inflight *inflight;
    size_t ninflight;
    struct pending *pending;
    pthread_cond_t reply_cv; /* signalled when a pending request got its reply */
    uint64_t next_request_id;
    int stateless_log_level;
    uint64_t next_stream_id;
    size_t resume_bytes; /* bytes kept for replay by all streams */
};

/* One HTTP exchange: how the answer is being written. */
struct exchange {
    struct wdn_mcp_server *srv;
    const struct wdn_mcp_http_out *out;
    bool head_sent, sse, dead;
    char session[SESSION_ID_LEN + 1]; /* "" when there is no session */
    bool new_session;                 /* send Mcp-Session-Id with the head */
    const char *version;              /* effective protocol version (static string) */
    bool modern;
    int log_level;
    json_t *client_caps; /* owned reference: the session's, or NULL when unknown */
    bool resumable;      /* the session's SSE streams get ids and replay buffers */
    struct rstream *rs;  /* this POST's resumable stream (one reference), or NULL */
};

struct wdn_mcp_call {
    struct exchange *ex;
    json_t *progress_token;
    json_t *content;
    json_t *structured;
    bool is_error;
    struct inflight *inf;
    json_t *caps;            /* borrowed: the client's capabilities, NULL when unknown */
    const char *missing_cap; /* set by wdn_mcp_call_require_capability */
};

static const char *const loopback_hosts[] = {"localhost", "127.0.0.1", "[::1]", NULL};
static const char *const log_levels[] = {"debug", "info",     "notice", "warning",
                                         "error", "critical", "alert",  "emergency"};

static const char *static_version(const char *v)
{
    static const char *const all[] = {WDN_MCP_V2026_07_28, WDN_MCP_V2025_11_25, WDN_MCP_V2025_06_18,
                                      WDN_MCP_V2025_03_26};
    size_t i;

    for (i = 0; v != NULL && i < 4; i++)
        if (strcmp(v, all[i]) == 0)
            return all[i];
    return NULL;
}

static char *xstrdup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static char **dup_list(const char *const *list)
{
    size_t n = 0, i;
    char **out;

    if (list == NULL)
        return NULL;
    while (list[n] != NULL)
        n++;
    out = calloc(n + 1, sizeof(*out));
    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        out[i] = strdup(list[i]);
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
    srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return NULL;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->reply_cv, NULL);
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

static void session_destroy(struct wdn_mcp_server *srv, struct session *victim);

void wdn_mcp_server_free(struct wdn_mcp_server *srv)
{
    size_t i;

    if (srv == NULL)
        return;
    while (srv->sessions != NULL)
        session_destroy(srv, srv->sessions);
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

static json_t *load_schema(const char *text, int *rc)
{
    json_error_t jerr;
    json_t *s = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

    if (s == NULL || !json_is_object(s)) {
        json_decref(s);
        *rc = WDN_EINVAL;
        return NULL;
    }
    *rc = wdn_mcp_schema_check(s, NULL, 0);
    if (*rc != 0) {
        json_decref(s);
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

    if (t == NULL || t->name == NULL || t->fn == NULL || !tool_name_ok(t->name))
        goto out;
    rc = WDN_ELIMIT;
    if (srv->ntools >= WDN_MCP_MAX_TOOLS)
        goto out;
    rc = WDN_EEXISTS;
    for (i = 0; i < srv->ntools; i++)
        if (strcmp(srv->tools[i].name, t->name) == 0)
            goto out;
    in = load_schema(t->input_schema ? t->input_schema : "{\"type\":\"object\"}", &rc);
    if (in == NULL)
        goto out;
    rc = WDN_EINVAL;
    /* MCP requires an object schema for arguments. */
    if (!json_is_string(json_object_get(in, "type")) ||
        strcmp(json_string_value(json_object_get(in, "type")), "object") != 0)
        goto out;
    if (t->output_schema != NULL && (outs = load_schema(t->output_schema, &rc)) == NULL)
        goto out;
    if (t->annotations != NULL) {
        ann = json_loads(t->annotations, JSON_REJECT_DUPLICATES, NULL);
        rc = WDN_EINVAL;
        if (!json_is_object(ann))
            goto out;
    }
    rc = WDN_ENOMEM;
    def = json_object();
    if (def == NULL || set_str(def, "name", t->name) || set_str(def, "title", t->title) ||
        set_str(def, "description", t->description) ||
        json_object_set(def, "inputSchema", in) != 0 ||
        (outs && json_object_set(def, "outputSchema", outs) != 0) ||
        (ann && json_object_set(def, "annotations", ann) != 0))
        goto out;
    slot = &srv->tools[srv->ntools];
    slot->name = strdup(t->name);
    if (slot->name == NULL)
        goto out;
    slot->def = def;
    slot->input_schema = json_object_get(def, "inputSchema");
    slot->output_schema = json_object_get(def, "outputSchema");
    slot->xheaders = json_array();
    {
        json_t *root_path = json_array();
        rc = slot->xheaders == NULL || root_path == NULL
                 ? WDN_ENOMEM
                 : collect_xheaders(slot->input_schema, root_path, slot->xheaders, 0);
        json_decref(root_path);
    }
    if (rc != 0) {
        json_decref(slot->xheaders);
        free(slot->name);
        slot->def = NULL;
        goto out;
    }
    slot->fn = t->fn;
    slot->ud = t->ud;
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
        if (a == NULL || json_array_append_new(args, a) != 0 || p->args[i].name == NULL ||
            set_str(a, "name", p->args[i].name) ||
            set_str(a, "description", p->args[i].description) ||
            json_object_set_new(a, "required", json_boolean(p->args[i].required)) != 0)
            goto out;
    }
    if (json_object_set(def, "arguments", args) != 0)
        goto out;
    slot = &srv->prompts[srv->nprompts];
    slot->name = strdup(p->name);
    if (slot->name == NULL)
        goto out;
    slot->def = def;
    slot->fn = p->get;
    slot->ud = p->ud;
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

/* ---------------------------------------------------------------------------------------- */
/* Writing the answer                                                                         */

static int ex_head(struct exchange *ex, int status, const char *ctype, const char *allow)
{
    struct wdn_mcp_out_header h[6] = {{NULL, NULL}};
    size_t n = 0;

    if (ex->head_sent)
        return 0;
    ex->head_sent = true;
    if (ctype != NULL)
        h[n++] = (struct wdn_mcp_out_header){"Content-Type", ctype};
    if (ctype != NULL && strcmp(ctype, "text/event-stream") == 0) {
        h[n++] = (struct wdn_mcp_out_header){"Cache-Control", "no-cache"};
        h[n++] = (struct wdn_mcp_out_header){"X-Accel-Buffering", "no"};
    }
    if (ex->new_session && ex->session[0] != '\0')
        h[n++] = (struct wdn_mcp_out_header){"Mcp-Session-Id", ex->session};
    if (allow != NULL)
        h[n++] = (struct wdn_mcp_out_header){"Allow", allow};
    if (ex->out->head(ex->out->ud, status, h, n) != 0)
        ex->dead = true;
    return 0;
}

static void ex_body(struct exchange *ex, const char *p, size_t n)
{
    if (ex->dead || n == 0)
        return;
    if (ex->out->body(ex->out->ud, p, n) != 0)
        ex->dead = true;
}

/* Frames one JSON-RPC message as an SSE event. */
static int sse_frame(struct wdn_buf *b, const json_t *msg)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    int rc;

    if (s == NULL)
        return WDN_ENOMEM;
    rc = wdn_buf_printf(b, "event: message\ndata: %s\n\n", s);
    free(s);
    return rc;
}

/* Sends a whole JSON body with a status, the way every HTTP-level error is answered. */
static void ex_json(struct exchange *ex, int status, const json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);

    ex_head(ex, status, "application/json", NULL);
    if (s != NULL)
        ex_body(ex, s, strlen(s));
    free(s);
}

static void ex_error(struct exchange *ex, int status, json_t *id, int code, const char *msg,
                     json_t *data)
{
    json_t *e = wdn_jsonrpc_make_error(id, code, msg, data);

    if (e == NULL) {
        ex_head(ex, 500, NULL, NULL);
        return;
    }
    ex_json(ex, status, e);
    json_decref(e);
}

static void ex_status(struct exchange *ex, int status, const char *allow)
{
    ex_head(ex, status, NULL, allow);
}

/* ---------------------------------------------------------------------------------------- */
/* Header helpers                                                                             */

/* Finds a header; *count tells how many times it appeared (duplicates are refused). */
static bool find_header(const struct wdn_mcp_http_request *req, const char *name,
                        struct wdn_str *val, int *count)
{
    size_t i;
    struct wdn_str want = wdn_str_from_cstr(name);

    *count = 0;
    for (i = 0; i < req->nheaders; i++) {
        struct wdn_str n = {req->headers[i].name, req->headers[i].name_len};
        if (wdn_str_eq_case(n, want)) {
            if (*count == 0)
                *val = wdn_str_trim_ows(
                    (struct wdn_str){req->headers[i].value, req->headers[i].value_len});
            (*count)++;
        }
    }
    return *count > 0;
}

/* Does the Accept header admit type/subtype (wildcards honoured, q=0 excluded)? */
static bool accepts(struct wdn_str accept, const char *type, const char *subtype)
{
    size_t i = 0;

    while (i <= accept.len) {
        size_t start = i, end;
        struct wdn_str item, mt;
        long semi;
        while (i < accept.len && accept.p[i] != ',')
            i++;
        end = i++;
        item = wdn_str_trim_ows((struct wdn_str){accept.p + start, end - start});
        semi = wdn_str_index(item, ';');
        mt = wdn_str_trim_ows((struct wdn_str){item.p, semi >= 0 ? (size_t)semi : item.len});
        if (semi >= 0) {
            /* A q of zero means "not acceptable". */
            struct wdn_str params = {item.p + semi, item.len - (size_t)semi};
            char tmp[64];
            size_t k, m = 0;
            for (k = 0; k < params.len && m + 1 < sizeof(tmp); k++)
                if (params.p[k] != ' ' && params.p[k] != '\t')
                    tmp[m++] = params.p[k];
            tmp[m] = '\0';
            if (strstr(tmp, ";q=0") != NULL && strstr(tmp, ";q=0.") == NULL)
                continue;
            if (strstr(tmp, ";q=0.0") != NULL &&
                strspn(strstr(tmp, ";q=0.") + 5, "0") == strlen(strstr(tmp, ";q=0.") + 5))
                continue;
        }
        long slash = wdn_str_index(mt, '/');
        if (slash < 0)
            continue;
        struct wdn_str t = {mt.p, (size_t)slash};
        struct wdn_str st = {mt.p + slash + 1, mt.len - (size_t)slash - 1};
        if (wdn_str_eq_cstr(t, "*") && wdn_str_eq_cstr(st, "*"))
            return true;
        if (wdn_str_eq_case_cstr(t, type) &&
            (wdn_str_eq_cstr(st, "*") || wdn_str_eq_case_cstr(st, subtype)))
            return true;
    }
    return false;
}

/* The host part of an authority: "[::1]:80" -> "[::1]", "Example.com:8080" -> "Example.com". */
static struct wdn_str authority_host(struct wdn_str a)
{
    size_t i;

    if (a.len > 0 && a.p[0] == '[') {
        for (i = 0; i < a.len; i++)
            if (a.p[i] == ']')
                return (struct wdn_str){a.p, i + 1};
        return (struct wdn_str){NULL, 0};
    }
    for (i = 0; i < a.len; i++)
        if (a.p[i] == ':')
            break;
    return (struct wdn_str){a.p, i};
}

static bool authority_port_ok(struct wdn_str a, struct wdn_str host)
{
    struct wdn_str rest = {a.p + host.len, a.len - host.len};
    uint64_t port;

    if (rest.len == 0)
        return true;
    if (rest.p[0] != ':')
        return false;
    rest.p++;
    rest.len--;
    return wdn_str_to_u64(rest, 65535, &port) == 0;
}

static bool host_allowed(const struct wdn_mcp_server *srv, struct wdn_str host, bool for_origin)
{
    const char *const *list = (const char *const *)srv->hosts;
    size_t i;

    if (host.len == 0)
        return false;
    if (list == NULL || (srv->any_host && for_origin))
        list = loopback_hosts;
    else if (srv->any_host)
        return true;
    for (i = 0; list[i] != NULL; i++)
        if (wdn_str_eq_case_cstr(host, list[i]))
            return true;
    return false;
}

static bool origin_allowed(const struct wdn_mcp_server *srv, struct wdn_str origin)
{
    struct wdn_str auth, host;
    size_t i;

    if (srv->origins != NULL) {
        for (i = 0; srv->origins[i] != NULL; i++)
            if (wdn_str_eq_case_cstr(origin, srv->origins[i]))
                return true;
        return false;
    }
    if (wdn_str_has_prefix(origin, WDN_STR("http://")))
        auth = (struct wdn_str){origin.p + 7, origin.len - 7};
    else if (wdn_str_has_prefix(origin, WDN_STR("https://")))
        auth = (struct wdn_str){origin.p + 8, origin.len - 8};
    else
        return false; /* "null" and every other scheme */
    host = authority_host(auth);
    return host.p != NULL && authority_port_ok(auth, host) && host_allowed(srv, host, true);
}

/* ---------------------------------------------------------------------------------------- */
/* Resumable streams (the caller holds srv->mu)                                               */

static void stream_unlink(struct wdn_mcp_server *srv, struct wdn_mcp_stream *st)
{
    struct wdn_mcp_stream **pp;

    for (pp = &srv->streams; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    }
}

/*
 * Lets go of the connection a stream is attached to. A GET connection is ended (the client
 * sees its stream end and may resume) and its handle freed; a POST's connection is ended when
 * end_post is set (polling, or a client that resumed elsewhere), else just forgotten.
 */
static void rs_detach(struct wdn_mcp_server *srv, struct rstream *rs, bool end_post)
{
    if (rs->handle != NULL) {
        struct wdn_mcp_stream *h = rs->handle;
        stream_unlink(srv, h);
        if (h->out.end != NULL)
            h->out.end(h->out.ud);
        free(h);
    } else if (rs->live.body != NULL && end_post && rs->live.end != NULL) {
        rs->live.end(rs->live.ud);
    }
    rs->handle = NULL;
    memset(&rs->live, 0, sizeof(rs->live));
    rs->idle_since_ms = wdn_clock_mono_ms();
}

static void rs_drop_head(struct wdn_mcp_server *srv, struct rstream *rs)
{
    struct revent *ev = rs->head;

    rs->head = ev->next;
    if (rs->head == NULL)
        rs->tail = NULL;
    rs->nevents--;
    rs->nbytes -= ev->len;
    srv->resume_bytes -= ev->len;
    rs->first_seq = ev->seq + 1;
    free(ev);
}

static void rs_release(struct wdn_mcp_server *srv, struct rstream *rs)
{
    if (--rs->refs > 0)
        return;
    while (rs->head != NULL)
        rs_drop_head(srv, rs);
    free(rs);
}

/* Takes a stream out of its session: no more events, its connection ended. */
static void rs_unlink(struct wdn_mcp_server *srv, struct session *s, struct rstream *rs)
{
    struct rstream **pp;

    for (pp = &s->rs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == rs) {
            *pp = rs->next;
            s->nrs--;
            break;
        }
    }
    rs->unlinked = true;
    rs->ended = true;
    rs_detach(srv, rs, true);
    rs_release(srv, rs);
}

/* Drops the streams nobody used for WDN_MCP_RESUME_TTL_MS (a running request keeps its own). */
static void rs_sweep(struct wdn_mcp_server *srv, struct session *s, uint64_t now)
{
    struct rstream *rs = s->rs, *next;

    for (; rs != NULL; rs = next) {
        next = rs->next;
        if (rs->refs == 1 && rs->idle_since_ms != 0 &&
            now - rs->idle_since_ms > WDN_MCP_RESUME_TTL_MS)
            rs_unlink(srv, s, rs);
    }
}

/*
 * A new resumable stream in session s, holding two references (the session's and the
 * caller's), or NULL when the session already keeps WDN_MCP_RESUME_MAX_STREAMS streams that
 * are all in use (the answer is then an SSE stream without ids) or memory ran out.
 */
static struct rstream *rs_new(struct wdn_mcp_server *srv, struct session *s, bool is_get)
{
    struct rstream *rs, *victim = NULL;

    rs_sweep(srv, s, wdn_clock_mono_ms());
    if (s->nrs >= WDN_MCP_RESUME_MAX_STREAMS) {
        /* The oldest stream that no connection or request uses makes room. */
        for (rs = s->rs; rs != NULL; rs = rs->next)
            if (rs->refs == 1 && rs->live.body == NULL)
                victim = rs;
        if (victim == NULL)
            return NULL;
        rs_unlink(srv, s, victim);
    }
    rs = calloc(1, sizeof(*rs));
    if (rs == NULL)
        return NULL;
    rs->id = ++srv->next_stream_id;
    rs->is_get = is_get;
    rs->next_seq = 1;
    rs->first_seq = 1;
    rs->refs = 2;
    rs->next = s->rs;
    s->rs = rs;
    s->nrs++;
    return rs;
}

/* The priming event: an id and empty data, with the polling interval when there is one. */
static int rs_priming(const struct wdn_mcp_server *srv, const struct rstream *rs, char *buf,
                      size_t cap)
{
    int n = srv->poll_ms > 0
                ? snprintf(buf, cap, "id: %llu-0\nretry: %ld\ndata: \n\n",
                           (unsigned long long)rs->id, srv->poll_ms)
                : snprintf(buf, cap, "id: %llu-0\ndata: \n\n", (unsigned long long)rs->id);

    return n > 0 && (size_t)n < cap ? n : 0;
}

/*
 * Sends one message on a resumable stream: numbered, kept for replay (the oldest events go
 * when a limit is reached), and written to the attached connection, if any. A connection that
 * cannot take it (gone, or too slow: its buffer is full) is ended cleanly; the client resumes
 * from what it got, or learns with a 400 that the events it missed were dropped.
 */
static void rs_emit(struct wdn_mcp_server *srv, struct rstream *rs, const json_t *msg)
{
    char *js = NULL;
    struct revent *ev = NULL;
    size_t cap;
    int n;

    if (rs->ended)
        return;
    js = json_dumps(msg, JSON_COMPACT);
    if (js == NULL)
        return;
    cap = strlen(js) + 80;
    ev = malloc(sizeof(*ev) + cap);
    if (ev == NULL)
        goto out;
    n = snprintf(ev->data, cap, "id: %llu-%llu\nevent: message\ndata: %s\n\n",
                 (unsigned long long)rs->id, (unsigned long long)rs->next_seq, js);
    if (n <= 0 || (size_t)n >= cap)
        goto out;
    ev->len = (size_t)n;
    ev->seq = rs->next_seq++;
    ev->next = NULL;
    if (rs->live.body != NULL && rs->live.body(rs->live.ud, ev->data, ev->len) != 0)
        rs_detach(srv, rs, true);
    while (rs->head != NULL && (rs->nevents + 1 > WDN_MCP_RESUME_MAX_EVENTS ||
                                rs->nbytes + ev->len > WDN_MCP_RESUME_MAX_BYTES ||
                                srv->resume_bytes + ev->len > WDN_MCP_RESUME_MAX_TOTAL_BYTES))
        rs_drop_head(srv, rs);
    if (ev->len > WDN_MCP_RESUME_MAX_BYTES ||
        srv->resume_bytes + ev->len > WDN_MCP_RESUME_MAX_TOTAL_BYTES) {
        /* Too big to keep: a resume from before it can no longer be complete. */
        rs->first_seq = ev->seq + 1;
        goto out;
    }
    if (rs->tail != NULL)
        rs->tail->next = ev;
    else
        rs->head = ev;
    rs->tail = ev;
    rs->nevents++;
    rs->nbytes += ev->len;
    srv->resume_bytes += ev->len;
    ev = NULL;
out:
    free(ev);
    free(js);
}

/* Reads "<stream>-<seq>", two decimal numbers without sign or leading spaces. */
static bool event_id_parse(struct wdn_str v, uint64_t *stream, uint64_t *seq)
{
    uint64_t *cur = stream;
    size_t i, digits = 0;

    *stream = *seq = 0;
    if (v.len == 0 || v.len > 41)
        return false;
    for (i = 0; i < v.len; i++) {
        char c = v.p[i];
        if (c == '-' && cur == stream && digits > 0) {
            cur = seq;
            digits = 0;
            continue;
        }
        if (c < '0' || c > '9' || digits >= 20 || *cur > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
            return false;
        *cur = *cur * 10 + (uint64_t)(c - '0');
        digits++;
    }
    return cur == seq && digits > 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Sessions (the caller holds srv->mu)                                                        */

static struct session *session_find(struct wdn_mcp_server *srv, struct wdn_str id)
{
    struct session *s;

    for (s = srv->sessions; s != NULL; s = s->next)
        if (wdn_ct_equal(s->id, strlen(s->id), id.p, id.len))
            return s;
    return NULL;
}

static bool session_has_stream(const struct wdn_mcp_server *srv, const struct session *s)
{
    const struct wdn_mcp_stream *st;

    for (st = srv->streams; st != NULL; st = st->next)
        if (strcmp(st->session, s->id) == 0)
            return true;
    return false;
}

static void session_sweep(struct wdn_mcp_server *srv, uint64_t now)
{
    struct session **pp = &srv->sessions;

    while (*pp != NULL) {
        struct session *s = *pp;
        /* A session whose client listens on a GET stream is in use, however quiet. */
        if (now - s->last_used_ms > WDN_MCP_SESSION_IDLE_MS && !session_has_stream(srv, s)) {
            session_destroy(srv, s);
        } else {
            pp = &s->next;
        }
    }
}

static int session_create(struct wdn_mcp_server *srv, const char *version, char *id_out)
{
    unsigned char raw[SESSION_ID_BYTES];
    struct session *s;
    uint64_t now = wdn_clock_mono_ms();
    size_t i;

    session_sweep(srv, now);
    if (srv->nsessions >= WDN_MCP_MAX_SESSIONS)
        return WDN_ELIMIT;
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return WDN_ECRYPTO;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return WDN_ENOMEM;
    for (i = 0; i < sizeof(raw); i++)
        snprintf(s->id + 2 * i, 3, "%02x", raw[i]);
    snprintf(s->version, sizeof(s->version), "%s", version);
    s->log_level = -1;
    s->last_used_ms = now;
    s->next = srv->sessions;
    srv->sessions = s;
    srv->nsessions++;
    memcpy(id_out, s->id, SESSION_ID_LEN + 1);
    return 0;
}

/* Unlinks a session and frees it: its connections are ended, its resumable streams dropped. */
static void session_destroy(struct wdn_mcp_server *srv, struct session *victim)
{
    struct session **pp;
    struct wdn_mcp_stream **sp = &srv->streams;

    for (pp = &srv->sessions; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == victim) {
            *pp = victim->next;
            srv->nsessions--;
            break;
        }
    }
    while (victim->rs != NULL)
        rs_unlink(srv, victim, victim->rs);
    while (*sp != NULL) {
        struct wdn_mcp_stream *st = *sp;
        if (strcmp(st->session, victim->id) == 0) {
            *sp = st->next;
            if (st->out.end != NULL)
                st->out.end(st->out.ud);
            free(st);
        } else {
            sp = &st->next;
        }
    }
    json_decref(victim->subs);
    json_decref(victim->caps);
    free(victim);
}

size_t wdn_mcp_server_session_count(struct wdn_mcp_server *srv)
{
    size_t n;

    pthread_mutex_lock(&srv->mu);
    n = srv->nsessions;
    pthread_mutex_unlock(&srv->mu);
    return n;
}

static bool session_resumable(const struct wdn_mcp_server *srv, const struct session *s)
{
    /* Priming events carry empty data, which clients before 2025-11-25 may not expect. */
    return srv->resumable && strcmp(s->version, WDN_MCP_V2025_11_25) >= 0;
}

/* ---------------------------------------------------------------------------------------- */
/* SSE answers to a POST                                                                      */

/*
 * Turns the answer into an SSE stream: the head, and in a resumable session a stream record
 * whose priming event goes out first. The head goes out under the lock so that a client that
 * resumes at once finds the stream in place.
 */
static void ex_sse_begin(struct exchange *ex)
{
    struct wdn_mcp_server *srv = ex->srv;
    struct session *s;
    char prime[96];
    int n;

    if (ex->head_sent)
        return;
    ex->sse = true;
    if (!ex->resumable) {
        ex_head(ex, 200, "text/event-stream", NULL);
        return;
    }
    pthread_mutex_lock(&srv->mu);
    s = session_find(srv, wdn_str_from_cstr(ex->session));
    ex->rs = s != NULL ? rs_new(srv, s, false) : NULL;
    ex_head(ex, 200, "text/event-stream", NULL);
    if (ex->rs != NULL) {
        n = rs_priming(srv, ex->rs, prime, sizeof(prime));
        ex_body(ex, prime, (size_t)n);
        if (!ex->dead)
            ex->rs->live = *ex->out;
        else
            ex->rs->idle_since_ms = wdn_clock_mono_ms();
    }
    pthread_mutex_unlock(&srv->mu);
}

static void ex_event(struct exchange *ex, const json_t *msg)
{
    struct wdn_buf b;

    ex_sse_begin(ex);
    if (ex->rs != NULL) {
        pthread_mutex_lock(&ex->srv->mu);
        rs_emit(ex->srv, ex->rs, msg);
        pthread_mutex_unlock(&ex->srv->mu);
        return;
    }
    wdn_buf_init(&b, WDN_SSE_MAX_EVENT_BYTES);
    if (sse_frame(&b, msg) == 0)
        ex_body(ex, b.data, b.len);
    wdn_buf_reset(&b);
}

/*
 * Polling: closes the POST's connection right after the priming event, so that no connection
 * is held while the request runs; the client comes back with GET + Last-Event-ID.
 */
static void ex_poll_close(struct exchange *ex)
{
    if (ex->srv->poll_ms <= 0 || !ex->resumable || ex->out->end == NULL || ex->head_sent)
        return;
    ex_sse_begin(ex);
    if (ex->rs == NULL)
        return;
    pthread_mutex_lock(&ex->srv->mu);
    if (ex->rs->live.ud == ex->out->ud && ex->rs->live.body != NULL)
        rs_detach(ex->srv, ex->rs, true);
    pthread_mutex_unlock(&ex->srv->mu);
    ex->dead = true; /* nothing more goes to this connection, only to the stream */
}

/* The request is over: its stream ends, and the connection that carries it now (a resumed
 * GET) is ended too; the POST's own connection is left to the caller. */
static void ex_finish(struct exchange *ex)
{
    struct rstream *rs = ex->rs;

    if (rs == NULL)
        return;
    pthread_mutex_lock(&ex->srv->mu);
    rs->ended = true;
    if (rs->handle != NULL || (rs->live.body != NULL && rs->live.ud != ex->out->ud))
        rs_detach(ex->srv, rs, true);
    else
        rs_detach(ex->srv, rs, false);
    rs_release(ex->srv, rs);
    pthread_mutex_unlock(&ex->srv->mu);
    ex->rs = NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Call helpers                                                                               */

int wdn_mcp_call_text(struct wdn_mcp_call *call, const char *text)
{
    json_t *b = json_pack("{s:s, s:s}", "type", "text", "text", text ? text : "");

    return wdn_mcp_call_content(call, b);
}

int wdn_mcp_call_content(struct wdn_mcp_call *call, json_t *block)
{
    if (block == NULL)
        return WDN_ENOMEM;
    if (!json_is_object(block) || call->content == NULL) {
        json_decref(block);
        return WDN_EINVAL;
    }
    return json_array_append_new(call->content, block) == 0 ? 0 : WDN_ENOMEM;
}

int wdn_mcp_call_structured(struct wdn_mcp_call *call, json_t *obj)
{
    if (!json_is_object(obj)) {
        json_decref(obj);
        return WDN_EINVAL;
    }
    json_decref(call->structured);
    call->structured = obj;
    return 0;
}

void wdn_mcp_call_set_error(struct wdn_mcp_call *call)
{
    call->is_error = true;
}

int wdn_mcp_call_require_capability(struct wdn_mcp_call *call, const char *capability)
{
    /* Unknown capabilities (a stateless server of the initialize era) are not held against
     * the client; declared ones are checked. */
    if (call->caps == NULL || json_object_get(call->caps, capability) != NULL)
        return 0;
    call->missing_cap = capability;
    return WDN_EUNSUPPORTED;
}

bool wdn_mcp_call_cancelled(const struct wdn_mcp_call *call)
{
    return call->inf != NULL && atomic_load(&call->inf->cancelled);
}

const char *wdn_mcp_call_version(const struct wdn_mcp_call *call)
{
    return call->ex->version;
}

static void send_notification(struct exchange *ex, const char *method, json_t *params)
{
    json_t *n = wdn_jsonrpc_make_request(NULL, method, params);

    if (n == NULL)
        return;
    ex_event(ex, n);
    json_decref(n);
}

int wdn_mcp_call_progress(struct wdn_mcp_call *call, double progress, double total,
                          const char *message)
{
    json_t *p;

    if (call->progress_token == NULL)
        return 0;
    p = json_pack("{s:O, s:f}", "progressToken", call->progress_token, "progress", progress);
    if (p == NULL)
        return WDN_ENOMEM;
    if ((total > 0 && json_object_set_new(p, "total", json_real(total)) != 0) ||
        (message != NULL && json_object_set_new(p, "message", json_string(message)) != 0)) {
        json_decref(p);
        return WDN_ENOMEM;
    }
    send_notification(call->ex, "notifications/progress", p);
    return 0;
}

int wdn_mcp_call_log(struct wdn_mcp_call *call, enum wdn_mcp_log_level level, const char *logger,
                     json_t *data)
{
    json_t *p;

    if ((int)level < 0 || level > WDN_MCP_LOG_EMERGENCY || data == NULL) {
        json_decref(data);
        return WDN_EINVAL;
    }
    /* -2: a 2026-07-28 request that asked for no log messages. */
    if (call->ex->log_level == -2 ||
        (call->ex->log_level >= 0 && (int)level < call->ex->log_level)) {
        json_decref(data);
        return 0;
    }
    p = json_pack("{s:s, s:o}", "level", log_levels[level], "data", data);
    if (p == NULL)
        return WDN_ENOMEM;
    if (logger != NULL && json_object_set_new(p, "logger", json_string(logger)) != 0) {
        json_decref(p);
        return WDN_ENOMEM;
    }
    send_notification(call->ex, "notifications/message", p);
    return 0;
}

int wdn_mcp_call_request(struct wdn_mcp_call *call, const char *method, json_t *params,
                         long timeout_ms, json_t **result, char *errmsg, size_t errcap)
{
    struct wdn_mcp_server *srv = call->ex->srv;
    struct pending *p = NULL, **pp;
    struct timespec deadline;
    json_t *id = NULL, *req = NULL, *err;
    int rc = WDN_ESTATE;

    *result = NULL;
    if (errmsg != NULL && errcap > 0)
        errmsg[0] = '\0';
    /* Server requests need a stream to travel on and a session to match the reply to. */
    if (call->ex->session[0] == '\0' || call->ex->modern) {
        json_decref(params);
        goto out;
    }
    rc = WDN_ENOMEM;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        json_decref(params);
        goto out;
    }
    memcpy(p->session, call->ex->session, sizeof(p->session));
    pthread_mutex_lock(&srv->mu);
    snprintf(p->id, sizeof(p->id), "srv-%llu", (unsigned long long)++srv->next_request_id);
    p->next = srv->pending;
    srv->pending = p;
    pthread_mutex_unlock(&srv->mu);
    id = json_string(p->id);
    req = wdn_jsonrpc_make_request(id, method, params);
    if (req == NULL)
        goto unlink;
    ex_event(call->ex, req);
    /* A resumable stream keeps the request for the client's next GET; others lose it. */
    if (call->ex->dead && call->ex->rs == NULL) {
        rc = WDN_ECLOSED;
        goto unlink;
    }
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    rc = 0;
    pthread_mutex_lock(&srv->mu);
    while (p->reply == NULL && rc == 0)
        rc = pthread_cond_timedwait(&srv->reply_cv, &srv->mu, &deadline) == 0 ? 0 : WDN_ETIMEOUT;
    if (p->reply != NULL)
        rc = 0;
    pthread_mutex_unlock(&srv->mu);
    if (rc != 0)
        goto unlink;
    err = json_object_get(p->reply, "error");
    if (err != NULL) {
        rc = WDN_EPROTO;
        if (errmsg != NULL)
            snprintf(errmsg, errcap, "%s",
                     json_string_value(json_object_get(err, "message"))
                         ? json_string_value(json_object_get(err, "message"))
                         : "error");
    } else {
        *result = json_incref(json_object_get(p->reply, "result"));
    }
unlink:
    if (p != NULL) {
        pthread_mutex_lock(&srv->mu);
        for (pp = &srv->pending; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        }
        pthread_mutex_unlock(&srv->mu);
        json_decref(p->reply);
        free(p);
    }
out:
    json_decref(req);
    json_decref(id);
    return rc;
}

/* A response from the client: hand it to the handler waiting for it, if any. */
static void deliver_reply(struct exchange *ex, json_t *msg, const struct wdn_jsonrpc_msg *m)
{
    struct pending *p;

    if (!json_is_string(m->id))
        return;
    pthread_mutex_lock(&ex->srv->mu);
    for (p = ex->srv->pending; p != NULL; p = p->next) {
        if (p->reply == NULL && strcmp(p->session, ex->session) == 0 &&
            strcmp(p->id, json_string_value(m->id)) == 0) {
            p->reply = json_incref(msg);
            pthread_cond_broadcast(&ex->srv->reply_cv);
            break;
        }
    }
    pthread_mutex_unlock(&ex->srv->mu);
}

/* ---------------------------------------------------------------------------------------- */
/* Methods. Each returns a new result object, or NULL and fills *code and msg.              */

struct rpc_err {
    int code;
    char msg[256];
    json_t *data;
};

static json_t *fail(struct rpc_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *fail(struct rpc_err *e, int code, const char *fmt, ...)
{
    va_list ap;

    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return NULL;
}

static json_t *capabilities(struct wdn_mcp_server *srv, bool modern)
{
    json_t *c = json_object();
    /* Change notifications need a GET stream, which only sessions of the older versions have. */
    bool lc = !srv->stateless && !modern;

    if (c == NULL)
        return NULL;
    json_object_set_new(c, "tools", json_pack("{s:b}", "listChanged", lc));
    json_object_set_new(c, "logging", json_object());
    if (srv->nresources > 0)
        json_object_set_new(c, "resources",
                            json_pack("{s:b, s:b}", "subscribe", !modern, "listChanged", lc));
    if (srv->nprompts > 0)
        json_object_set_new(c, "prompts", json_pack("{s:b}", "listChanged", lc));
    if (srv->nprompts > 0 || srv->nresources > 0 || srv->completer != NULL)
        json_object_set_new(c, "completions", json_object());
    return c;
}

static json_t *server_info(struct wdn_mcp_server *srv)
{
    json_t *i = json_pack("{s:s, s:s}", "name", srv->name, "version", srv->version);

    if (i != NULL && srv->title != NULL)
        json_object_set_new(i, "title", json_string(srv->title));
    return i;
}

static json_t *m_initialize(struct exchange *ex, const char *version)
{
    struct wdn_mcp_server *srv = ex->srv;
    json_t *r = json_pack("{s:s, s:o, s:o}", "protocolVersion", version, "capabilities",
                          capabilities(srv, false), "serverInfo", server_info(srv));

    if (r != NULL && srv->instructions != NULL)
        json_object_set_new(r, "instructions", json_string(srv->instructions));
    return r;
}

static json_t *m_discover(struct exchange *ex)
{
    struct wdn_mcp_server *srv = ex->srv;
    json_t *r = json_pack("{s:[ssss], s:o, s:o}", "supportedVersions", WDN_MCP_V2026_07_28,
                          WDN_MCP_V2025_11_25, WDN_MCP_V2025_06_18, WDN_MCP_V2025_03_26,
                          "capabilities", capabilities(srv, true), "serverInfo", server_info(srv));

    if (r != NULL && srv->instructions != NULL)
        json_object_set_new(r, "instructions", json_string(srv->instructions));
    return r;
}

static json_t *list_of(json_t *key_defs_holder, const char *key)
{
    return json_pack("{s:o}", key, key_defs_holder);
}

static json_t *m_tools_list(struct exchange *ex)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < ex->srv->ntools; i++)
        json_array_append(a, ex->srv->tools[i].def);
    return list_of(a, "tools");
}

static struct inflight *inflight_add(struct wdn_mcp_server *srv, const char *session, json_t *id)
{
    struct inflight *inf;

    pthread_mutex_lock(&srv->mu);
    if (srv->ninflight >= WDN_MCP_MAX_INFLIGHT) {
        pthread_mutex_unlock(&srv->mu);
        return NULL;
    }
    inf = calloc(1, sizeof(*inf));
    if (inf != NULL) {
        snprintf(inf->session, sizeof(inf->session), "%s", session);
        inf->id = json_incref(id);
        atomic_init(&inf->cancelled, false);
        inf->next = srv->inflight;
        srv->inflight = inf;
        srv->ninflight++;
    }
    pthread_mutex_unlock(&srv->mu);
    return inf;
}

static void inflight_remove(struct wdn_mcp_server *srv, struct inflight *inf)
{
    struct inflight **pp;

    if (inf == NULL)
        return;
    pthread_mutex_lock(&srv->mu);
    for (pp = &srv->inflight; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == inf) {
            *pp = inf->next;
            srv->ninflight--;
            break;
        }
    }
    pthread_mutex_unlock(&srv->mu);
    json_decref(inf->id);
    free(inf);
}

static void call_init(struct wdn_mcp_call *call, struct exchange *ex, json_t *params, json_t *id)
{
    json_t *meta = json_object_get(params, "_meta");
    json_t *tok = json_object_get(meta, "progressToken");

    memset(call, 0, sizeof(*call));
    call->ex = ex;
    call->caps = ex->modern ? json_object_get(meta, "io.modelcontextprotocol/clientCapabilities")
                            : ex->client_caps;
    if (json_is_string(tok) || json_is_integer(tok))
        call->progress_token = tok;
    if (id != NULL)
        call->inf = inflight_add(ex->srv, ex->session, id);
}

static void call_done(struct wdn_mcp_call *call)
{
    inflight_remove(call->ex->srv, call->inf);
    json_decref(call->content);
    json_decref(call->structured);
}

static json_t *tool_error_result(const char *text)
{
    return json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", text, "isError",
                     1);
}

static json_t *m_tools_call(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    struct wdn_mcp_server *srv = ex->srv;
    struct wdn_mcp_call call;
    struct tool *t = NULL;
    json_t *name = json_object_get(params, "name");
    json_t *args = json_object_get(params, "arguments");
    json_t *owned_args = NULL, *r = NULL;
    char why[512];
    size_t i;
    int rc;

    if (!json_is_string(name))
        return fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: name must be a string");
    for (i = 0; i < srv->ntools; i++)
        if (strcmp(srv->tools[i].name, json_string_value(name)) == 0)
            t = &srv->tools[i];
    if (t == NULL)
        return fail(e, WDN_JSONRPC_INVALID_PARAMS, "Unknown tool: %.128s", json_string_value(name));
    if (args == NULL || json_is_null(args))
        args = owned_args = json_object();
    if (!json_is_object(args)) {
        json_decref(owned_args);
        return fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: arguments must be an object");
    }
    /* Input validation failures are tool errors the model can read and correct (SEP-1303). */
    if (wdn_mcp_schema_validate(t->input_schema, args, why, sizeof(why)) != 0) {
        char text[700];
        snprintf(text, sizeof(text), "Invalid arguments for tool %s: %s", t->name, why);
        json_decref(owned_args);
        return tool_error_result(text);
    }
    call_init(&call, ex, params, id);
    call.content = json_array();
    if (call.content == NULL) {
        call_done(&call);
        json_decref(owned_args);
        return fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    }
    rc = t->fn(&call, args, t->ud);
    if (call.missing_cap != NULL) {
        e->data = json_pack("{s:{s:{}}}", "requiredCapabilities", call.missing_cap);
        fail(e, WDN_MCP_ERR_MISSING_CAPABILITY, "Missing required client capability: %.64s",
             call.missing_cap);
        goto out;
    }
    if (rc < 0) {
        call.is_error = true;
        if (json_array_size(call.content) == 0) {
            char text[256];
            snprintf(text, sizeof(text), "Tool %s failed: %s", t->name, wdn_strerror(rc));
            wdn_mcp_call_text(&call, text);
        }
    }
    if (!call.is_error && t->output_schema != NULL) {
        if (call.structured == NULL) {
            fail(e, WDN_JSONRPC_INTERNAL_ERROR,
                 "Tool %s has an output schema but returned no structured content", t->name);
            goto out;
        }
        if (wdn_mcp_schema_validate(t->output_schema, call.structured, why, sizeof(why)) != 0) {
            fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Tool %s returned invalid structured content: %s",
                 t->name, why);
            goto out;
        }
    }
    /* Structured content also goes out as text for clients that predate it. */
    if (call.structured != NULL && json_array_size(call.content) == 0) {
        char *s = json_dumps(call.structured, JSON_COMPACT);
        if (s != NULL)
            wdn_mcp_call_text(&call, s);
        free(s);
    }
    r = json_pack("{s:O}", "content", call.content);
    if (r == NULL) {
        fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
        goto out;
    }
    if (call.structured != NULL)
        json_object_set(r, "structuredContent", call.structured);
    if (call.is_error)
        json_object_set_new(r, "isError", json_true());
out:
    call_done(&call);
    json_decref(owned_args);
    return r;
}

static json_t *m_resources_list(struct exchange *ex, bool templates)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < ex->srv->nresources; i++)
        if ((ex->srv->resources[i].tmpl != NULL) == templates)
            json_array_append(a, ex->srv->resources[i].def);
    return list_of(a, templates ? "resourceTemplates" : "resources");
}

/* RFC 6570 level 1 matching: literal text must match, each {var} matches one or more bytes
 * other than '/'. Enough for the templates servers publish (file:///{path}, test://{id}). */
static bool template_match(const char *t, const char *u)
{
    while (*t != '\0') {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            const char *next;
            size_t n = 0;
            if (close == NULL)
                return false;
            next = close + 1;
            while (u[n] != '\0' && u[n] != '/' && (*next == '\0' || u[n] != *next))
                n++;
            if (n == 0)
                return false;
            u += n;
            t = next;
        } else if (*t++ != *u++) {
            return false;
        }
    }
    return *u == '\0';
}

static json_t *m_resources_read(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    struct wdn_mcp_server *srv = ex->srv;
    json_t *uri = json_object_get(params, "uri");
    struct resource *r = NULL;
    struct wdn_mcp_call call;
    json_t *contents, *res = NULL;
    size_t i;
    int rc;

    if (!json_is_string(uri))
        return fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: uri must be a string");
    for (i = 0; i < srv->nresources && r == NULL; i++)
        if (srv->resources[i].uri != NULL &&
            strcmp(srv->resources[i].uri, json_string_value(uri)) == 0)
            r = &srv->resources[i];
    for (i = 0; i < srv->nresources && r == NULL; i++)
        if (srv->resources[i].tmpl != NULL &&
            template_match(srv->resources[i].tmpl, json_string_value(uri)))
            r = &srv->resources[i];
    if (r == NULL) {
        e->data = json_pack("{s:O}", "uri", uri);
        return fail(e, ex->modern ? WDN_JSONRPC_INVALID_PARAMS : WDN_MCP_ERR_RESOURCE_NOT_FOUND,
                    "Resource not found");
    }
    contents = json_array();
    if (contents == NULL)
        return fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    call_init(&call, ex, params, id);
    rc = r->fn(&call, json_string_value(uri), contents, r->ud);
    call_done(&call);
    if (rc == WDN_ENOTFOUND) {
        e->data = json_pack("{s:O}", "uri", uri);
        fail(e, ex->modern ? WDN_JSONRPC_INVALID_PARAMS : WDN_MCP_ERR_RESOURCE_NOT_FOUND,
             "Resource not found");
    } else if (rc < 0) {
        fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: %s", wdn_strerror(rc));
    } else {
        res = json_pack("{s:O}", "contents", contents);
    }
    json_decref(contents);
    return res;
}

static json_t *m_prompts_list(struct exchange *ex)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < ex->srv->nprompts; i++)
        json_array_append(a, ex->srv->prompts[i].def);
    return list_of(a, "prompts");
}

static json_t *m_prompts_get(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    struct wdn_mcp_server *srv = ex->srv;
    json_t *name = json_object_get(params, "name");
    json_t *args = json_object_get(params, "arguments");
    json_t *owned = NULL, *messages = NULL, *res = NULL, *decl, *a;
    struct prompt *p = NULL;
    struct wdn_mcp_call call;
    const char *k;
    json_t *v;
    size_t i;
    int rc;

    if (!json_is_string(name))
        return fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: name must be a string");
    for (i = 0; i < srv->nprompts; i++)
        if (strcmp(srv->prompts[i].name, json_string_value(name)) == 0)
            p = &srv->prompts[i];
    if (p == NULL)
        return fail(e, WDN_JSONRPC_INVALID_PARAMS, "Unknown prompt: %.128s",
                    json_string_value(name));
    if (args == NULL)
        args = owned = json_object();
    if (!json_is_object(args))
        return fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: arguments must be an object");
    json_object_foreach (args, k, v) {
        if (!json_is_string(v)) {
            json_decref(owned);
            return fail(e, WDN_JSONRPC_INVALID_PARAMS,
                        "Invalid params: argument %.64s must be a string", k);
        }
    }
    decl = json_object_get(p->def, "arguments");
    json_array_foreach (decl, i, a) {
        const char *an = json_string_value(json_object_get(a, "name"));
        if (json_is_true(json_object_get(a, "required")) && json_object_get(args, an) == NULL) {
            json_decref(owned);
            return fail(e, WDN_JSONRPC_INVALID_PARAMS,
                        "Invalid params: missing required argument %.64s", an);
        }
    }
    call_init(&call, ex, params, id);
    rc = p->fn(&call, args, &messages, p->ud);
    call_done(&call);
    if (rc < 0 || !json_is_array(messages)) {
        fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: %s",
             rc < 0 ? wdn_strerror(rc) : "prompt produced no messages");
    } else {
        res = json_pack("{s:O}", "messages", messages);
        if (res != NULL && json_object_get(p->def, "description") != NULL)
            json_object_set(res, "description", json_object_get(p->def, "description"));
    }
    json_decref(messages);
    json_decref(owned);
    return res;
}

static json_t *m_complete(struct exchange *ex, json_t *params, struct rpc_err *e)
{
    json_t *ref = json_object_get(params, "ref");
    json_t *arg = json_object_get(params, "argument");
    const char *type = json_string_value(json_object_get(ref, "type"));
    const char *rname = NULL, *aname = json_string_value(json_object_get(arg, "name"));
    const char *aval = json_string_value(json_object_get(arg, "value"));
    json_t *values, *res;
    size_t total;

    if (type == NULL || aname == NULL || aval == NULL)
        return fail(e, WDN_JSONRPC_INVALID_PARAMS,
                    "Invalid params: ref.type, argument.name and argument.value are required");
    if (strcmp(type, "ref/prompt") == 0)
        rname = json_string_value(json_object_get(ref, "name"));
    else if (strcmp(type, "ref/resource") == 0)
        rname = json_string_value(json_object_get(ref, "uri"));
    if (rname == NULL)
        return fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: bad ref");
    values = json_array();
    if (values == NULL)
        return fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    if (ex->srv->completer != NULL &&
        ex->srv->completer(rname, aname, aval, values, ex->srv->completer_ud) < 0) {
        json_decref(values);
        return fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: completion failed");
    }
    total = json_array_size(values);
    while (json_array_size(values) > MAX_COMPLETIONS)
        json_array_remove(values, json_array_size(values) - 1);
    res = json_pack("{s:{s:o, s:I, s:b}}", "completion", "values", values, "total",
                    (json_int_t)total, "hasMore", total > MAX_COMPLETIONS);
    return res;
}

/* Remembers (or forgets) a subscription for the session, so that
 * wdn_mcp_server_resource_updated reaches its GET stream. Stateless servers just acknowledge. */
static json_t *m_subscribe(struct exchange *ex, json_t *params, bool on, struct rpc_err *e)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    struct session *s;
    int rc = 0;

    if (uri == NULL)
        return fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: uri must be a string");
    if (ex->session[0] == '\0')
        return json_object();
    pthread_mutex_lock(&ex->srv->mu);
    s = session_find(ex->srv, wdn_str_from_cstr(ex->session));
    if (s != NULL && on) {
        if (s->subs == NULL)
            s->subs = json_object();
        if (s->subs == NULL || json_object_size(s->subs) >= WDN_MCP_MAX_TOOLS)
            rc = WDN_ELIMIT;
        else
            rc = json_object_set_new(s->subs, uri, json_true()) == 0 ? 0 : WDN_ENOMEM;
    } else if (s != NULL) {
        json_object_del(s->subs, uri);
    }
    pthread_mutex_unlock(&ex->srv->mu);
    if (rc != 0)
        return fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: too many subscriptions");
    return json_object();
}

static json_t *m_set_level(struct exchange *ex, json_t *params, struct rpc_err *e)
{
    const char *lvl = json_string_value(json_object_get(params, "level"));
    struct session *s;
    int i, found = -1;

    for (i = 0; lvl != NULL && i < 8; i++)
        if (strcmp(lvl, log_levels[i]) == 0)
            found = i;
    if (found < 0)
        return fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: unknown log level");
    pthread_mutex_lock(&ex->srv->mu);
    if (ex->session[0] != '\0') {
        s = session_find(ex->srv, wdn_str_from_cstr(ex->session));
        if (s != NULL)
            s->log_level = found;
    } else {
        ex->srv->stateless_log_level = found;
    }
    pthread_mutex_unlock(&ex->srv->mu);
    ex->log_level = found;
    return json_object();
}

static void m_cancelled(struct exchange *ex, json_t *params)
{
    json_t *rid = json_object_get(params, "requestId");
    struct inflight *inf;

    if (rid == NULL)
        return;
    pthread_mutex_lock(&ex->srv->mu);
    for (inf = ex->srv->inflight; inf != NULL; inf = inf->next)
        if (strcmp(inf->session, ex->session) == 0 && json_equal(inf->id, rid))
            atomic_store(&inf->cancelled, true);
    pthread_mutex_unlock(&ex->srv->mu);
}

/* Runs one request; returns the response message (result or error), never NULL unless out of
 * memory. *http_status is raised to 404 for an unknown method in the stateless era. */
static json_t *dispatch(struct exchange *ex, const struct wdn_jsonrpc_msg *m, int *http_status)
{
    const char *meth = m->method;
    json_t *params = m->params;
    struct rpc_err e = {0, "", NULL};
    json_t *r = NULL;

    if (params != NULL && !json_is_object(params))
        params = NULL; /* MCP params are objects; positional params mean nothing here */
    if (m->params != NULL && !json_is_object(m->params)) {
        fail(&e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: expected an object");
    } else if (strcmp(meth, "initialize") == 0 && !ex->modern) {
        const char *want = json_string_value(json_object_get(params, "protocolVersion"));
        const char *v = static_version(want);
        if (want == NULL)
            fail(&e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: protocolVersion is required");
        else
            r = m_initialize(
                ex, v != NULL && !wdn_mcp_version_is_modern(v) ? v : WDN_MCP_LATEST_LEGACY);
    } else if (strcmp(meth, "server/discover") == 0) {
        r = m_discover(ex);
    } else if (strcmp(meth, "ping") == 0 && !ex->modern) {
        r = json_object();
    } else if (strcmp(meth, "tools/list") == 0) {
        r = m_tools_list(ex);
    } else if (strcmp(meth, "tools/call") == 0) {
        r = m_tools_call(ex, params, m->id, &e);
    } else if (strcmp(meth, "resources/list") == 0) {
        r = m_resources_list(ex, false);
    } else if (strcmp(meth, "resources/templates/list") == 0) {
        r = m_resources_list(ex, true);
    } else if (strcmp(meth, "resources/read") == 0) {
        r = m_resources_read(ex, params, m->id, &e);
    } else if ((strcmp(meth, "resources/subscribe") == 0 ||
                strcmp(meth, "resources/unsubscribe") == 0) &&
               !ex->modern) {
        r = m_subscribe(ex, params, strcmp(meth, "resources/subscribe") == 0, &e);
    } else if (strcmp(meth, "prompts/list") == 0) {
        r = m_prompts_list(ex);
    } else if (strcmp(meth, "prompts/get") == 0) {
        r = m_prompts_get(ex, params, m->id, &e);
    } else if (strcmp(meth, "completion/complete") == 0) {
        r = m_complete(ex, params, &e);
    } else if (strcmp(meth, "logging/setLevel") == 0 && !ex->modern) {
        r = m_set_level(ex, params, &e);
    } else {
        fail(&e, WDN_JSONRPC_METHOD_NOT_FOUND, "Method not found: %.64s", meth);
        /* 2026-07-28: an unknown method is 404 with -32601 in the body. */
        if (ex->modern)
            *http_status = 404;
    }
    if (r != NULL) {
        if (ex->modern) {
            json_object_set_new(r, "resultType", json_string("complete"));
            /* 2026-07-28 caching hints on lists, reads and discovery. "private" with no
             * freshness is the safe choice: a sidecar may filter lists per caller. */
            if (strstr(meth, "/list") != NULL || strcmp(meth, "resources/read") == 0 ||
                strcmp(meth, "server/discover") == 0) {
                json_object_set_new(r, "ttlMs", json_integer(0));
                json_object_set_new(r, "cacheScope", json_string("private"));
            }
        }
        return wdn_jsonrpc_make_result(m->id, r);
    }
    if (e.code == WDN_MCP_ERR_MISSING_CAPABILITY)
        *http_status = 400;
    if (e.code == 0)
        fail(&e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    return wdn_jsonrpc_make_error(m->id, e.code, e.msg, e.data);
}

/* ---------------------------------------------------------------------------------------- */
/* The HTTP rules                                                                             */

static bool path_matches(const struct wdn_mcp_server *srv, const char *target)
{
    size_t n;

    if (srv->path == NULL)
        return true;
    n = strcspn(target, "?#");
    return n == strlen(srv->path) && strncmp(target, srv->path, n) == 0;
}

/* 2026-07-28: Mcp-Method, Mcp-Name and the _meta protocol version must mirror the body.
 * Returns 0, -1 for a header mismatch (-32020), 1 for missing _meta fields (-32602). */
static int check_modern_headers(struct exchange *ex, const struct wdn_mcp_http_request *req,
                                const struct wdn_jsonrpc_msg *m, char *why, size_t cap)
{
    struct wdn_str hm = {0}, hn = {0};
    int cm, cn;
    const char *name = NULL;
    json_t *meta;
    const char *pv;

    if (!find_header(req, "Mcp-Method", &hm, &cm) || cm != 1) {
        snprintf(why, cap, "Header mismatch: Mcp-Method header is required");
        return -1;
    }
    if (!wdn_str_eq_cstr(hm, m->method)) {
        snprintf(why, cap, "Header mismatch: Mcp-Method does not match the body method");
        return -1;
    }
    if (strcmp(m->method, "tools/call") == 0 || strcmp(m->method, "prompts/get") == 0)
        name = json_string_value(json_object_get(m->params, "name"));
    else if (strcmp(m->method, "resources/read") == 0)
        name = json_string_value(json_object_get(m->params, "uri"));
    if (name != NULL) {
        if (!find_header(req, "Mcp-Name", &hn, &cn) || cn != 1) {
            snprintf(why, cap, "Header mismatch: Mcp-Name header is required");
            return -1;
        }
        if (!wdn_str_eq_cstr(hn, name)) {
            snprintf(why, cap, "Header mismatch: Mcp-Name does not match the body");
            return -1;
        }
    }
    if (m->kind == WDN_JSONRPC_REQUEST) {
        /* Every request carries its version, identity and capabilities in _meta. */
        meta = json_object_get(m->params, "_meta");
        pv = json_string_value(json_object_get(meta, "io.modelcontextprotocol/protocolVersion"));
        if (!json_is_object(meta) || pv == NULL ||
            !json_is_object(json_object_get(meta, "io.modelcontextprotocol/clientCapabilities"))) {
            snprintf(why, cap,
                     "Invalid params: _meta must carry io.modelcontextprotocol/"
                     "protocolVersion and io.modelcontextprotocol/clientCapabilities");
            return 1;
        }
        if (strcmp(pv, ex->version) != 0) {
            snprintf(why, cap,
                     "Header mismatch: MCP-Protocol-Version does not match _meta protocolVersion");
            return -1;
        }
    }
    return 0;
}

/* Strict standard base64 (padding required, no whitespace) into out; returns the length or -1. */
static long b64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    int j;

    if (n % 4 != 0)
        return -1;
    for (i = 0; i < n; i += 4) {
        unsigned v = 0;
        int pad = 0;
        for (j = 0; j < 4; j++) {
            const char *p;
            char c = in[i + (size_t)j];
            if (c == '=' && i + 4 == n && j >= 2) {
                pad++;
                v <<= 6;
                continue;
            }
            if (pad > 0 || c == '\0' || (p = strchr(alphabet, c)) == NULL)
                return -1;
            v = (v << 6) | (unsigned)(p - alphabet);
        }
        if (o + 3 - (size_t)pad > cap)
            return -1;
        out[o++] = (unsigned char)(v >> 16);
        if (pad < 2)
            out[o++] = (unsigned char)(v >> 8);
        if (pad < 1)
            out[o++] = (unsigned char)v;
    }
    return (long)o;
}

/*
 * 2026-07-28 x-mcp-header: every annotated argument present in the body must arrive in its
 * Mcp-Param-<name> header too, literally or as =?base64?...?=, with the same value. 0 or -1
 * (HeaderMismatch, with the reason in why).
 */
static int check_param_headers(struct exchange *ex, const struct wdn_mcp_http_request *req,
                               const struct wdn_jsonrpc_msg *m, char *why, size_t cap)
{
    const char *name = json_string_value(json_object_get(m->params, "name"));
    json_t *args = json_object_get(m->params, "arguments"), *xh, *val, *seg;
    unsigned char dec[WDN_MCP_MAX_HEADER_VALUE];
    char hname[80], want[64];
    struct tool *t = NULL;
    size_t i, k;

    if (strcmp(m->method, "tools/call") != 0 || name == NULL)
        return 0;
    for (i = 0; i < ex->srv->ntools && t == NULL; i++)
        if (strcmp(ex->srv->tools[i].name, name) == 0)
            t = &ex->srv->tools[i];
    if (t == NULL)
        return 0;
    json_array_foreach (t->xheaders, i, xh) {
        struct wdn_str hv = {0};
        const char *got;
        size_t got_len;
        int count;

        val = args;
        json_array_foreach (json_object_get(xh, "p"), k, seg) {
            val = json_object_get(val, json_string_value(seg));
        }
        if (val == NULL || json_is_null(val))
            continue; /* no value, no header expected */
        snprintf(hname, sizeof(hname), "Mcp-Param-%s", json_string_value(json_object_get(xh, "h")));
        if (!find_header(req, hname, &hv, &count) || count != 1) {
            snprintf(why, cap, "Header mismatch: %s header is required", hname);
            return -1;
        }
        got = hv.p;
        got_len = hv.len;
        if (hv.len >= 11 && strncmp(hv.p, "=?base64?", 9) == 0 &&
            strncmp(hv.p + hv.len - 2, "?=", 2) == 0) {
            long n = b64_decode(hv.p + 9, hv.len - 11, dec, sizeof(dec));
            if (n < 0) {
                snprintf(why, cap, "Header mismatch: %s is not valid base64", hname);
                return -1;
            }
            got = (const char *)dec;
            got_len = (size_t)n;
        }
        if (json_is_string(val)) {
            if (got_len != json_string_length(val) ||
                memcmp(got, json_string_value(val), got_len) != 0)
                goto mismatch;
        } else if (json_is_boolean(val)) {
            const char *b = json_is_true(val) ? "true" : "false";
            if (got_len != strlen(b) || memcmp(got, b, got_len) != 0)
                goto mismatch;
        } else if (json_is_number(val)) {
            /* Numerically, so "42.0" matches 42. */
            char *end;
            double d;
            if (got_len == 0 || got_len >= sizeof(want))
                goto mismatch;
            memcpy(want, got, got_len);
            want[got_len] = '\0';
            d = strtod(want, &end);
            if (*end != '\0' || d != json_number_value(val))
                goto mismatch;
        } else {
            goto mismatch;
        }
    }
    return 0;
mismatch:
    snprintf(why, cap, "Header mismatch: %s does not match the body", hname);
    return -1;
}

/* 2026-07-28: the log level travels with each request; without it, no log messages. */
static int modern_log_level(const struct wdn_jsonrpc_msg *m)
{
    const char *lvl = json_string_value(
        json_object_get(json_object_get(m->params, "_meta"), "io.modelcontextprotocol/logLevel"));
    int i;

    for (i = 0; lvl != NULL && i < 8; i++)
        if (strcmp(lvl, log_levels[i]) == 0)
            return i;
    return -2;
}

static bool is_initialize(const json_t *msg)
{
    return json_is_object(msg) && json_is_string(json_object_get(msg, "method")) &&
           strcmp(json_string_value(json_object_get(msg, "method")), "initialize") == 0 &&
           json_object_get(msg, "id") != NULL;
}

/* Handles a batch or a single message after every transport check passed. */
static void process_body(struct exchange *ex, const struct wdn_mcp_http_request *req, json_t *root)
{
    bool batch = json_is_array(root);
    size_t n = batch ? json_array_size(root) : 1, i;
    json_t *responses = json_array();
    int status = 200;
    bool any_request = false;

    if (responses == NULL) {
        ex_status(ex, 500, NULL);
        return;
    }
    for (i = 0; i < n; i++) {
        json_t *el = batch ? json_array_get(root, i) : root;
        struct wdn_jsonrpc_msg m;
        struct wdn_jsonrpc_fault f;
        json_t *resp = NULL;

        if (wdn_jsonrpc_classify(el, &m, &f) != 0) {
            resp = wdn_jsonrpc_make_error(f.id, f.code, f.message, NULL);
            if (!batch)
                status = 400;
            any_request = true;
            if (resp != NULL)
                json_array_append_new(responses, resp);
            continue;
        }
        if (ex->modern) {
            char why[160];
            if (m.kind == WDN_JSONRPC_RESULT || m.kind == WDN_JSONRPC_ERROR) {
                ex_error(ex, 400, NULL, WDN_JSONRPC_INVALID_REQUEST,
                         "Invalid Request: clients do not send responses in this version", NULL);
                json_decref(responses);
                return;
            }
            int bad = check_modern_headers(ex, req, &m, why, sizeof(why));
            if (bad == 0 && m.kind == WDN_JSONRPC_REQUEST)
                bad = check_param_headers(ex, req, &m, why, sizeof(why));
            if (bad != 0) {
                ex_error(ex, 400, m.id,
                         bad < 0 ? WDN_MCP_ERR_HEADER_MISMATCH : WDN_JSONRPC_INVALID_PARAMS, why,
                         NULL);
                json_decref(responses);
                return;
            }
            ex->log_level = modern_log_level(&m);
        }
        if (m.kind == WDN_JSONRPC_NOTIFICATION) {
            if (strcmp(m.method, "notifications/cancelled") == 0)
                m_cancelled(ex, m.params);
            continue;
        } else if (m.kind == WDN_JSONRPC_RESULT || m.kind == WDN_JSONRPC_ERROR) {
            deliver_reply(ex, el, &m); /* answers to sampling, elicitation ... */
            continue;
        } else if (batch && strcmp(m.method, "initialize") == 0) {
            resp = wdn_jsonrpc_make_error(m.id, WDN_JSONRPC_INVALID_REQUEST,
                                          "Invalid Request: initialize must be sent alone", NULL);
        } else {
            if (!batch && strcmp(m.method, "tools/call") == 0)
                ex_poll_close(ex);
            resp = dispatch(ex, &m, &status);
        }
        any_request = true;
        if (resp != NULL)
            json_array_append_new(responses, resp);
    }
    if (!any_request) {
        /* Only notifications and responses: accepted, nothing to say. */
        ex_status(ex, 202, NULL);
        json_decref(responses);
        return;
    }
    if (ex->sse || (ex->srv->sse_responses && status == 200)) {
        for (i = 0; i < json_array_size(responses); i++)
            ex_event(ex, json_array_get(responses, i));
    } else if (batch) {
        ex_json(ex, status, responses);
    } else if (json_array_size(responses) > 0) {
        ex_json(ex, status, json_array_get(responses, 0));
    } else {
        ex_status(ex, 500, NULL);
    }
    json_decref(responses);
}

static void handle_post(struct exchange *ex, const struct wdn_mcp_http_request *req,
                        struct wdn_str pv, bool has_pv)
{
    struct wdn_mcp_server *srv = ex->srv;
    struct wdn_str accept = {0}, ctype = {0}, sid = {0};
    int c_acc, c_ct, c_sid;
    struct wdn_jsonrpc_fault f;
    json_t *root = NULL;
    struct session *s;
    long semi;

    if (!find_header(req, "Accept", &accept, &c_acc) || !accepts(accept, "application", "json") ||
        !accepts(accept, "text", "event-stream")) {
        ex_error(ex, 406, NULL, WDN_MCP_ERR_TRANSPORT,
                 "Not Acceptable: Client must accept both application/json and text/event-stream",
                 NULL);
        goto out;
    }
    find_header(req, "Content-Type", &ctype, &c_ct);
    semi = wdn_str_index(ctype, ';');
    if (semi >= 0)
        ctype.len = (size_t)semi;
    if (c_ct != 1 || !wdn_str_eq_case_cstr(wdn_str_trim_ows(ctype), "application/json")) {
        ex_error(ex, 415, NULL, WDN_MCP_ERR_TRANSPORT,
                 "Unsupported Media Type: Content-Type must be application/json", NULL);
        goto out;
    }
    if (req->body_len > WDN_JSONRPC_MAX_BYTES) {
        ex_error(ex, 413, NULL, WDN_MCP_ERR_TRANSPORT, "Payload Too Large", NULL);
        goto out;
    }
    if (wdn_jsonrpc_parse(req->body, req->body_len, &root, &f) != 0) {
        ex_error(ex, 400, NULL, f.code, f.message, NULL);
        goto out;
    }
    if (json_is_array(root)) {
        /* Batches exist only in 2025-03-26; the header (or the session) says which applies. */
        if (ex->modern || json_array_size(root) == 0 || json_array_size(root) > WDN_MCP_MAX_BATCH) {
            ex_error(ex, 400, NULL, WDN_JSONRPC_INVALID_REQUEST,
                     json_array_size(root) == 0 ? "Invalid Request: empty batch"
                                                : "Invalid Request: batch not supported",
                     NULL);
            goto out;
        }
    }
    if (ex->modern) {
        process_body(ex, req, root);
        goto out;
    }

    find_header(req, "Mcp-Session-Id", &sid, &c_sid);
    if (c_sid > 1) {
        ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT, "Bad Request: duplicate Mcp-Session-Id",
                 NULL);
        goto out;
    }
    if (is_initialize(root)) {
        const char *want =
            json_string_value(json_object_get(json_object_get(root, "params"), "protocolVersion"));
        const char *v = static_version(want);
        if (v == NULL || wdn_mcp_version_is_modern(v))
            v = WDN_MCP_LATEST_LEGACY;
        ex->version = v;
        if (!srv->stateless) {
            int rc;
            if (c_sid > 0) {
                ex_error(ex, 400, json_object_get(root, "id"), WDN_JSONRPC_INVALID_REQUEST,
                         "Invalid Request: session already initialized", NULL);
                goto out;
            }
            pthread_mutex_lock(&srv->mu);
            rc = session_create(srv, v, ex->session);
            if (rc == 0) {
                json_t *caps = json_object_get(json_object_get(root, "params"), "capabilities");
                srv->sessions->caps = json_is_object(caps) ? json_deep_copy(caps) : json_object();
            }
            pthread_mutex_unlock(&srv->mu);
            if (rc != 0) {
                ex_error(ex, 503, json_object_get(root, "id"), WDN_MCP_ERR_TRANSPORT,
                         "Service Unavailable: too many sessions", NULL);
                goto out;
            }
            ex->new_session = true;
        }
        process_body(ex, req, root);
        goto out;
    }
    if (!srv->stateless) {
        if (c_sid == 0) {
            ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT,
                     "Bad Request: Mcp-Session-Id header is required", NULL);
            goto out;
        }
        pthread_mutex_lock(&srv->mu);
        s = session_find(srv, sid);
        if (s != NULL) {
            s->last_used_ms = wdn_clock_mono_ms();
            memcpy(ex->session, s->id, sizeof(ex->session));
            ex->log_level = s->log_level;
            ex->client_caps = json_incref(s->caps);
            ex->resumable = session_resumable(srv, s);
            if (!has_pv)
                ex->version = static_version(s->version);
        }
        pthread_mutex_unlock(&srv->mu);
        if (s == NULL) {
            ex_error(ex, 404, NULL, WDN_MCP_ERR_SESSION_NOT_FOUND, "Session not found", NULL);
            goto out;
        }
    } else {
        pthread_mutex_lock(&srv->mu);
        ex->log_level = srv->stateless_log_level;
        pthread_mutex_unlock(&srv->mu);
    }
    if (json_is_array(root) && strcmp(ex->version, WDN_MCP_V2025_03_26) != 0) {
        ex_error(ex, 400, NULL, WDN_JSONRPC_INVALID_REQUEST,
                 "Invalid Request: batch not supported in this protocol version", NULL);
        goto out;
    }
    process_body(ex, req, root);
out:
    (void)pv;
    json_decref(root);
}

/*
 * GET + Last-Event-ID: replays the events of that stream after that id, then keeps the
 * connection as the stream's own while it is still open. Only the session's own streams are
 * found, so no message of another stream (or session) is ever replayed. An id that is
 * malformed, unknown, expired, or older than what was kept gets 400 (the client cannot get
 * the whole stream back, so it must not think it did).
 */
static void handle_resume(struct exchange *ex, struct session *s, struct wdn_str last,
                          const struct wdn_mcp_http_out *out, struct wdn_mcp_stream **stream)
{
    struct wdn_mcp_server *srv = ex->srv;
    struct rstream *rs = NULL;
    struct revent *ev;
    struct wdn_mcp_stream *h;
    uint64_t sid, seq;

    if (event_id_parse(last, &sid, &seq)) {
        rs_sweep(srv, s, wdn_clock_mono_ms());
        for (rs = s->rs; rs != NULL && rs->id != sid; rs = rs->next)
            ;
    }
    if (rs == NULL || seq >= rs->next_seq || seq + 1 < rs->first_seq) {
        ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT,
                 rs == NULL ? "Bad Request: unknown or expired Last-Event-ID"
                            : "Bad Request: events after Last-Event-ID are no longer available",
                 NULL);
        return;
    }
    /* The client says its old connection is gone: this one takes over. */
    rs_detach(srv, rs, true);
    ex->sse = true;
    ex_head(ex, 200, "text/event-stream", NULL);
    for (ev = rs->head; ev != NULL && !ex->dead; ev = ev->next)
        if (ev->seq > seq)
            ex_body(ex, ev->data, ev->len);
    if (rs->ended || ex->dead)
        return; /* all there is: the answer is complete */
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return;
    h->out = *out;
    memcpy(h->session, s->id, sizeof(h->session));
    h->rs = rs;
    h->standalone = rs->is_get;
    h->next = srv->streams;
    srv->streams = h;
    rs->live = *out;
    rs->handle = h;
    rs->idle_since_ms = 0;
    *stream = h;
}

static void handle_get(struct exchange *ex, const struct wdn_mcp_http_request *req,
                       const struct wdn_mcp_http_out *out, struct wdn_mcp_stream **stream)
{
    struct wdn_mcp_server *srv = ex->srv;
    struct wdn_str accept = {0}, sid = {0}, last = {0};
    struct wdn_mcp_stream *st, *it;
    struct rstream *rs = NULL, *r, *next;
    struct session *s;
    char prime[96];
    int c, c_sid, c_last;

    if (srv->stateless || ex->modern) {
        ex_status(ex, 405, srv->stateless ? "POST" : "GET, POST, DELETE");
        return;
    }
    if (!find_header(req, "Accept", &accept, &c) || !accepts(accept, "text", "event-stream")) {
        ex_error(ex, 406, NULL, WDN_MCP_ERR_TRANSPORT,
                 "Not Acceptable: Client must accept text/event-stream", NULL);
        return;
    }
    if (!find_header(req, "Mcp-Session-Id", &sid, &c_sid) || c_sid != 1) {
        ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT,
                 "Bad Request: Mcp-Session-Id header is required", NULL);
        return;
    }
    find_header(req, "Last-Event-ID", &last, &c_last);
    pthread_mutex_lock(&srv->mu);
    s = session_find(srv, sid);
    if (s == NULL) {
        pthread_mutex_unlock(&srv->mu);
        ex_error(ex, 404, NULL, WDN_MCP_ERR_SESSION_NOT_FOUND, "Session not found", NULL);
        return;
    }
    s->last_used_ms = wdn_clock_mono_ms();
    ex->resumable = session_resumable(srv, s);
    /* Without resumability the header means nothing here: a plain GET stream, as before. */
    if (ex->resumable && c_last > 0) {
        if (c_last == 1)
            handle_resume(ex, s, wdn_str_trim_ows(last), out, stream);
        else
            ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT, "Bad Request: duplicate Last-Event-ID",
                     NULL);
        pthread_mutex_unlock(&srv->mu);
        return;
    }
    for (it = srv->streams; it != NULL; it = it->next) {
        if (it->standalone && strcmp(it->session, s->id) == 0) {
            pthread_mutex_unlock(&srv->mu);
            ex_error(ex, 409, NULL, WDN_MCP_ERR_TRANSPORT,
                     "Conflict: only one SSE stream is allowed per session", NULL);
            return;
        }
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        pthread_mutex_unlock(&srv->mu);
        ex_status(ex, 500, NULL);
        return;
    }
    if (ex->resumable) {
        /* A fresh GET gives up the old standalone stream: one per session, never two. */
        for (r = s->rs; r != NULL; r = next) {
            next = r->next;
            if (r->is_get)
                rs_unlink(srv, s, r);
        }
        rs = rs_new(srv, s, true);
        if (rs != NULL) {
            rs->refs--; /* only the session holds a GET stream */
            rs->live = *out;
            rs->handle = st;
        }
    }
    st->out = *out;
    st->rs = rs;
    st->standalone = true;
    memcpy(st->session, s->id, sizeof(st->session));
    /* The head goes out under the lock so that no broadcast can overtake it. */
    ex->sse = true;
    ex_head(ex, 200, "text/event-stream", NULL);
    if (rs != NULL)
        ex_body(ex, prime, (size_t)rs_priming(srv, rs, prime, sizeof(prime)));
    st->next = srv->streams;
    srv->streams = st;
    *stream = st;
    pthread_mutex_unlock(&srv->mu);
}

static void handle_delete(struct exchange *ex, const struct wdn_mcp_http_request *req)
{
    struct wdn_mcp_server *srv = ex->srv;
    struct wdn_str sid = {0};
    struct session *s;
    int c_sid;

    if (srv->stateless || ex->modern) {
        ex_status(ex, 405, srv->stateless ? "POST" : "GET, POST, DELETE");
        return;
    }
    if (!find_header(req, "Mcp-Session-Id", &sid, &c_sid) || c_sid != 1) {
        ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT,
                 "Bad Request: Mcp-Session-Id header is required", NULL);
        return;
    }
    pthread_mutex_lock(&srv->mu);
    s = session_find(srv, sid);
    if (s != NULL)
        session_destroy(srv, s);
    pthread_mutex_unlock(&srv->mu);
    if (s == NULL)
        ex_error(ex, 404, NULL, WDN_MCP_ERR_SESSION_NOT_FOUND, "Session not found", NULL);
    else
        ex_status(ex, 200, NULL);
}

int wdn_mcp_server_handle(struct wdn_mcp_server *srv, const struct wdn_mcp_http_request *req,
                          const struct wdn_mcp_http_out *out, struct wdn_mcp_stream **stream)
{
    struct exchange ex;
    struct wdn_str host = {0}, origin = {0}, pv = {0};
    int c_host, c_origin, c_pv;
    bool has_pv;

    *stream = NULL;
    memset(&ex, 0, sizeof(ex));
    ex.srv = srv;
    ex.out = out;
    ex.version = WDN_MCP_V2025_03_26;
    ex.log_level = -1;

    if (!path_matches(srv, req->target)) {
        ex_status(&ex, 404, NULL);
        goto out;
    }
    /* DNS rebinding: a browser on a hostile page can reach 127.0.0.1 under a foreign name. */
    if (find_header(req, "Host", &host, &c_host)) {
        struct wdn_str h = authority_host(host);
        if (c_host != 1 || h.p == NULL || !authority_port_ok(host, h) ||
            !host_allowed(srv, h, false)) {
            ex_error(&ex, 403, NULL, WDN_MCP_ERR_TRANSPORT, "Forbidden: Host not allowed", NULL);
            goto out;
        }
    }
    if (find_header(req, "Origin", &origin, &c_origin) &&
        (c_origin != 1 || !origin_allowed(srv, origin))) {
        ex_error(&ex, 403, NULL, WDN_MCP_ERR_TRANSPORT, "Forbidden: Origin not allowed", NULL);
        goto out;
    }
    has_pv = find_header(req, "MCP-Protocol-Version", &pv, &c_pv);
    if (has_pv) {
        char v[32];
        const char *sv = NULL;
        if (c_pv == 1 && pv.len < sizeof(v)) {
            memcpy(v, pv.p, pv.len);
            v[pv.len] = '\0';
            sv = static_version(v);
        }
        if (sv == NULL) {
            char msg[96];
            json_t *data = json_pack("{s:[ssss], s:s%}", "supported", WDN_MCP_V2026_07_28,
                                     WDN_MCP_V2025_11_25, WDN_MCP_V2025_06_18, WDN_MCP_V2025_03_26,
                                     "requested", pv.p, pv.len < 64 ? pv.len : (size_t)64);
            json_t *body = NULL, *id = NULL;
            struct wdn_jsonrpc_fault f;
            snprintf(msg, sizeof(msg), "Unsupported protocol version");
            /* The error names the request it answers when the body lets us read its id. */
            if (req->body_len > 0 && wdn_jsonrpc_parse(req->body, req->body_len, &body, &f) == 0) {
                id = json_object_get(body, "id");
                if (!json_is_string(id) && !json_is_integer(id))
                    id = NULL;
            }
            ex_error(&ex, 400, id, WDN_MCP_ERR_UNSUPPORTED_VERSION, msg, data);
            json_decref(body);
            goto out;
        }
        ex.version = sv;
        ex.modern = wdn_mcp_version_is_modern(sv);
    }
    if (strcmp(req->method, "POST") == 0)
        handle_post(&ex, req, pv, has_pv);
    else if (strcmp(req->method, "GET") == 0)
        handle_get(&ex, req, out, stream);
    else if (strcmp(req->method, "DELETE") == 0)
        handle_delete(&ex, req);
    else
        ex_status(&ex, 405, srv->stateless || ex.modern ? "POST" : "GET, POST, DELETE");
out:
    ex_finish(&ex);
    json_decref(ex.client_caps);
    return ex.head_sent ? 0 : WDN_ENOMEM;
}

void wdn_mcp_server_stream_close(struct wdn_mcp_server *srv, struct wdn_mcp_stream *stream,
                                 const void *ud)
{
    struct wdn_mcp_stream **pp;

    if (stream == NULL)
        return;
    pthread_mutex_lock(&srv->mu);
    for (pp = &srv->streams; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == stream && stream->out.ud == ud) {
            *pp = stream->next;
            if (stream->rs != NULL && stream->rs->handle == stream) {
                /* The client went away; the stream waits for it to come back. */
                stream->rs->handle = NULL;
                memset(&stream->rs->live, 0, sizeof(stream->rs->live));
                stream->rs->idle_since_ms = wdn_clock_mono_ms();
            }
            free(stream);
            break;
        }
    }
    pthread_mutex_unlock(&srv->mu);
}

/* Sends notification n (taken; NULL means out of memory) on the open GET streams of every
 * session, or only of the sessions subscribed to uri when uri is not NULL. A resumable GET
 * stream keeps the message even while its client is reconnecting. Returns the number of
 * streams reached, or WDN_ENOMEM. */
static int notify(struct wdn_mcp_server *srv, json_t *n, const char *uri)
{
    struct wdn_mcp_stream *st;
    struct session *s;
    struct rstream *rs;
    struct wdn_buf b;
    int count = 0;

    if (n == NULL)
        return WDN_ENOMEM;
    wdn_buf_init(&b, WDN_SSE_MAX_EVENT_BYTES);
    if (sse_frame(&b, n) != 0) {
        json_decref(n);
        wdn_buf_reset(&b);
        return WDN_ENOMEM;
    }
    pthread_mutex_lock(&srv->mu);
    for (st = srv->streams; st != NULL; st = st->next) {
        if (st->rs != NULL || !st->standalone)
            continue;
        if (uri != NULL) {
            s = session_find(srv, wdn_str_from_cstr(st->session));
            if (s == NULL || json_object_get(s->subs, uri) == NULL)
                continue;
        }
        if (st->out.body(st->out.ud, b.data, b.len) == 0)
            count++;
    }
    for (s = srv->sessions; s != NULL; s = s->next) {
        if (uri != NULL && json_object_get(s->subs, uri) == NULL)
            continue;
        for (rs = s->rs; rs != NULL; rs = rs->next) {
            if (rs->is_get && !rs->ended) {
                rs_emit(srv, rs, n);
                count++;
            }
        }
    }
    pthread_mutex_unlock(&srv->mu);
    wdn_buf_reset(&b);
    json_decref(n);
    return count;
}

int wdn_mcp_server_broadcast(struct wdn_mcp_server *srv, const char *method, json_t *params)
{
    return notify(srv, wdn_jsonrpc_make_request(NULL, method, params), NULL);
}

int wdn_mcp_server_resource_updated(struct wdn_mcp_server *srv, const char *uri)
{
    return notify(srv,
                  wdn_jsonrpc_make_request(NULL, "notifications/resources/updated",
                                           json_pack("{s:s}", "uri", uri)),
                  uri);
}
