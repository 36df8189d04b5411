/* Streamable HTTP: one request to the MCP endpoint, from the transport checks to the answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "mcp/server_int.h"

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
        wdn__mcp_ex_status(ex, 500, NULL);
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
                wdn__mcp_ex_error(ex, 400, NULL, WDN_JSONRPC_INVALID_REQUEST,
                                  "Invalid Request: clients do not send responses in this version",
                                  NULL);
                json_decref(responses);
                return;
            }
            int bad = wdn__mcp_check_modern_headers(ex, req, &m, why, sizeof(why));
            if (bad == 0 && m.kind == WDN_JSONRPC_REQUEST)
                bad = wdn__mcp_check_param_headers(ex, req, &m, why, sizeof(why));
            if (bad != 0) {
                wdn__mcp_ex_error(
                    ex, 400, m.id,
                    bad < 0 ? WDN_MCP_ERR_HEADER_MISMATCH : WDN_JSONRPC_INVALID_PARAMS, why, NULL);
                json_decref(responses);
                return;
            }
            ex->log_level = wdn__mcp_modern_log_level(&m);
        }
        if (m.kind == WDN_JSONRPC_NOTIFICATION) {
            if (strcmp(m.method, "notifications/cancelled") == 0)
                wdn__mcp_cancel(ex, m.params);
            continue;
        } else if (m.kind == WDN_JSONRPC_RESULT || m.kind == WDN_JSONRPC_ERROR) {
            wdn__mcp_deliver_reply(ex, el, &m); /* answers to sampling, elicitation ... */
            continue;
        } else if (batch && strcmp(m.method, "initialize") == 0) {
            resp = wdn_jsonrpc_make_error(m.id, WDN_JSONRPC_INVALID_REQUEST,
                                          "Invalid Request: initialize must be sent alone", NULL);
        } else {
            if (!batch && strcmp(m.method, "tools/call") == 0)
                wdn__mcp_ex_poll_close(ex);
            resp = wdn__mcp_dispatch(ex, &m, &status);
        }
        any_request = true;
        if (resp != NULL)
            json_array_append_new(responses, resp);
    }
    if (!any_request) {
        /* Only notifications and responses: accepted, nothing to say. */
        wdn__mcp_ex_status(ex, 202, NULL);
        json_decref(responses);
        return;
    }
    if (ex->sse || (ex->srv->sse_responses && status == 200)) {
        for (i = 0; i < json_array_size(responses); i++)
            wdn__mcp_ex_event(ex, json_array_get(responses, i));
    } else if (batch) {
        wdn__mcp_ex_json(ex, status, responses);
    } else if (json_array_size(responses) > 0) {
        wdn__mcp_ex_json(ex, status, json_array_get(responses, 0));
    } else {
        wdn__mcp_ex_status(ex, 500, NULL);
    }
    json_decref(responses);
}

/* Accept, Content-Type, size and traceparent of a POST: false once an error was answered. */
static bool post_headers_ok(struct exchange *ex, const struct wdn_mcp_http_request *req)
{
    struct wdn_str accept = {0}, ctype = {0}, tp = {0};
    int c_acc, c_ct, c_tp = 0;
    long semi;

    if (!wdn__mcp_find_header(req, "Accept", &accept, &c_acc) ||
        !wdn__mcp_accepts(accept, "application", "json") ||
        !wdn__mcp_accepts(accept, "text", "event-stream")) {
        wdn__mcp_ex_error(
            ex, 406, NULL, WDN_MCP_ERR_TRANSPORT,
            "Not Acceptable: Client must accept both application/json and text/event-stream", NULL);
        return false;
    }
    wdn__mcp_find_header(req, "Content-Type", &ctype, &c_ct);
    semi = wdn_str_index(ctype, ';');
    if (semi >= 0)
        ctype.len = (size_t)semi;
    if (c_ct != 1 || !wdn_str_eq_case_cstr(wdn_str_trim_ows(ctype), "application/json")) {
        wdn__mcp_ex_error(ex, 415, NULL, WDN_MCP_ERR_TRANSPORT,
                          "Unsupported Media Type: Content-Type must be application/json", NULL);
        return false;
    }
    if (req->body_len > WDN_JSONRPC_MAX_BYTES) {
        wdn__mcp_ex_error(ex, 413, NULL, WDN_MCP_ERR_TRANSPORT, "Payload Too Large", NULL);
        return false;
    }
    /* Trace context for the request spans (server_trace.c): one header, or none. */
    if (wdn__mcp_find_header(req, "traceparent", &tp, &c_tp) && c_tp == 1)
        ex->http_traceparent = tp;
    return true;
}

/* initialize in the initialize era: a new session unless the server is stateless. */
static bool start_session(struct exchange *ex, json_t *root, int c_sid)
{
    struct wdn_mcp_server *srv = ex->srv;
    json_t *params = json_object_get(root, "params"), *caps;
    const char *v =
        wdn__mcp_static_version(json_string_value(json_object_get(params, "protocolVersion")));
    int rc;

    if (v == NULL || wdn_mcp_version_is_modern(v))
        v = WDN_MCP_LATEST_LEGACY;
    ex->version = v;
    if (srv->stateless)
        return true;
    if (c_sid > 0) {
        wdn__mcp_ex_error(ex, 400, json_object_get(root, "id"), WDN_JSONRPC_INVALID_REQUEST,
                          "Invalid Request: session already initialized", NULL);
        return false;
    }
    pthread_mutex_lock(&srv->mu);
    rc = wdn__mcp_session_create(srv, v, ex->session);
    if (rc == 0) {
        caps = json_object_get(params, "capabilities");
        srv->sessions->caps = json_is_object(caps) ? json_deep_copy(caps) : json_object();
    }
    pthread_mutex_unlock(&srv->mu);
    if (rc != 0) {
        wdn__mcp_ex_error(ex, 503, json_object_get(root, "id"), WDN_MCP_ERR_TRANSPORT,
                          "Service Unavailable: too many sessions", NULL);
        return false;
    }
    ex->new_session = true;
    return true;
}

/* Any other request of the initialize era: its session (400 without, 404 unknown), or the
 * stateless server's settings. */
static bool join_session(struct exchange *ex, struct wdn_str sid, int c_sid, bool has_pv)
{
    struct wdn_mcp_server *srv = ex->srv;
    struct session *s;

    pthread_mutex_lock(&srv->mu);
    if (srv->stateless) {
        ex->log_level = srv->stateless_log_level;
        pthread_mutex_unlock(&srv->mu);
        return true;
    }
    pthread_mutex_unlock(&srv->mu);
    if (c_sid == 0) {
        wdn__mcp_ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT,
                          "Bad Request: Mcp-Session-Id header is required", NULL);
        return false;
    }
    pthread_mutex_lock(&srv->mu);
    s = wdn__mcp_session_find(srv, sid);
    if (s != NULL) {
        s->last_used_ms = wdn_clock_mono_ms();
        memcpy(ex->session, s->id, sizeof(ex->session));
        ex->log_level = s->log_level;
        ex->client_caps = json_incref(s->caps);
        ex->resumable = wdn__mcp_session_resumable(srv, s);
        if (!has_pv)
            ex->version = wdn__mcp_static_version(s->version);
    }
    pthread_mutex_unlock(&srv->mu);
    if (s == NULL) {
        wdn__mcp_ex_error(ex, 404, NULL, WDN_MCP_ERR_SESSION_NOT_FOUND, "Session not found", NULL);
        return false;
    }
    return true;
}

/* A POST: headers, the body, then its session (initialize era) or none (2026-07-28). */
static void handle_post(struct exchange *ex, const struct wdn_mcp_http_request *req, bool has_pv)
{
    struct wdn_jsonrpc_fault f;
    struct wdn_str sid = {0};
    json_t *root = NULL;
    int c_sid;

    if (!post_headers_ok(ex, req))
        goto out;
    if (req->parsed != NULL) {
        root = json_incref(req->parsed);
    } else if (wdn_jsonrpc_parse(req->body, req->body_len, &root, &f) != 0) {
        wdn__mcp_ex_error(ex, 400, NULL, f.code, f.message, NULL);
        goto out;
    }
    /* Batches exist only in 2025-03-26; the header (or the session) says which applies. */
    if (json_is_array(root) &&
        (ex->modern || json_array_size(root) == 0 || json_array_size(root) > WDN_MCP_MAX_BATCH)) {
        wdn__mcp_ex_error(ex, 400, NULL, WDN_JSONRPC_INVALID_REQUEST,
                          json_array_size(root) == 0 ? "Invalid Request: empty batch"
                                                     : "Invalid Request: batch not supported",
                          NULL);
        goto out;
    }
    if (!ex->modern) {
        wdn__mcp_find_header(req, "Mcp-Session-Id", &sid, &c_sid);
        if (c_sid > 1) {
            wdn__mcp_ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT,
                              "Bad Request: duplicate Mcp-Session-Id", NULL);
            goto out;
        }
        if (is_initialize(root) ? !start_session(ex, root, c_sid)
                                : !join_session(ex, sid, c_sid, has_pv))
            goto out;
        if (json_is_array(root) && strcmp(ex->version, WDN_MCP_V2025_03_26) != 0) {
            wdn__mcp_ex_error(ex, 400, NULL, WDN_JSONRPC_INVALID_REQUEST,
                              "Invalid Request: batch not supported in this protocol version",
                              NULL);
            goto out;
        }
    }
    process_body(ex, req, root);
out:
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

    if (wdn__mcp_event_id_parse(last, &sid, &seq)) {
        wdn__mcp_rs_sweep(srv, s, wdn_clock_mono_ms());
        for (rs = s->rs; rs != NULL && rs->id != sid; rs = rs->next)
            ;
    }
    if (rs == NULL || seq >= rs->next_seq || seq + 1 < rs->first_seq) {
        wdn__mcp_ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT,
                          rs == NULL
                              ? "Bad Request: unknown or expired Last-Event-ID"
                              : "Bad Request: events after Last-Event-ID are no longer available",
                          NULL);
        return;
    }
    /* The client says its old connection is gone: this one takes over. */
    wdn__mcp_rs_detach(srv, rs, true);
    ex->sse = true;
    wdn__mcp_ex_head(ex, 200, "text/event-stream", NULL);
    for (ev = rs->head; ev != NULL && !ex->dead; ev = ev->next)
        if (ev->seq > seq)
            wdn__mcp_ex_body(ex, ev->data, ev->len);
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
        wdn__mcp_ex_status(ex, 405, srv->stateless ? "POST" : "GET, POST, DELETE");
        return;
    }
    if (!wdn__mcp_find_header(req, "Accept", &accept, &c) ||
        !wdn__mcp_accepts(accept, "text", "event-stream")) {
        wdn__mcp_ex_error(ex, 406, NULL, WDN_MCP_ERR_TRANSPORT,
                          "Not Acceptable: Client must accept text/event-stream", NULL);
        return;
    }
    if (!wdn__mcp_find_header(req, "Mcp-Session-Id", &sid, &c_sid) || c_sid != 1) {
        wdn__mcp_ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT,
                          "Bad Request: Mcp-Session-Id header is required", NULL);
        return;
    }
    wdn__mcp_find_header(req, "Last-Event-ID", &last, &c_last);
    pthread_mutex_lock(&srv->mu);
    s = wdn__mcp_session_find(srv, sid);
    if (s == NULL) {
        pthread_mutex_unlock(&srv->mu);
        wdn__mcp_ex_error(ex, 404, NULL, WDN_MCP_ERR_SESSION_NOT_FOUND, "Session not found", NULL);
        return;
    }
    s->last_used_ms = wdn_clock_mono_ms();
    ex->resumable = wdn__mcp_session_resumable(srv, s);
    /* Without resumability the header means nothing here: a plain GET stream, as before. */
    if (ex->resumable && c_last > 0) {
        if (c_last == 1)
            handle_resume(ex, s, wdn_str_trim_ows(last), out, stream);
        else
            wdn__mcp_ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT,
                              "Bad Request: duplicate Last-Event-ID", NULL);
        pthread_mutex_unlock(&srv->mu);
        return;
    }
    for (it = srv->streams; it != NULL; it = it->next) {
        if (it->standalone && strcmp(it->session, s->id) == 0) {
            pthread_mutex_unlock(&srv->mu);
            wdn__mcp_ex_error(ex, 409, NULL, WDN_MCP_ERR_TRANSPORT,
                              "Conflict: only one SSE stream is allowed per session", NULL);
            return;
        }
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        pthread_mutex_unlock(&srv->mu);
        wdn__mcp_ex_status(ex, 500, NULL);
        return;
    }
    if (ex->resumable) {
        /* A fresh GET gives up the old standalone stream: one per session, never two. */
        for (r = s->rs; r != NULL; r = next) {
            next = r->next;
            if (r->is_get)
                wdn__mcp_rs_unlink(srv, s, r);
        }
        rs = wdn__mcp_rs_new(srv, s, true);
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
    wdn__mcp_ex_head(ex, 200, "text/event-stream", NULL);
    if (rs != NULL)
        wdn__mcp_ex_body(ex, prime, (size_t)wdn__mcp_rs_priming(srv, rs, prime, sizeof(prime)));
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
        wdn__mcp_ex_status(ex, 405, srv->stateless ? "POST" : "GET, POST, DELETE");
        return;
    }
    if (!wdn__mcp_find_header(req, "Mcp-Session-Id", &sid, &c_sid) || c_sid != 1) {
        wdn__mcp_ex_error(ex, 400, NULL, WDN_MCP_ERR_TRANSPORT,
                          "Bad Request: Mcp-Session-Id header is required", NULL);
        return;
    }
    pthread_mutex_lock(&srv->mu);
    s = wdn__mcp_session_find(srv, sid);
    if (s != NULL)
        wdn__mcp_session_destroy(srv, s);
    pthread_mutex_unlock(&srv->mu);
    if (s == NULL)
        wdn__mcp_ex_error(ex, 404, NULL, WDN_MCP_ERR_SESSION_NOT_FOUND, "Session not found", NULL);
    else
        wdn__mcp_ex_status(ex, 200, NULL);
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

    if (!wdn__mcp_path_matches(srv, req->target)) {
        wdn__mcp_ex_status(&ex, 404, NULL);
        goto out;
    }
    /* DNS rebinding: a browser on a hostile page can reach 127.0.0.1 under a foreign name. */
    if (wdn__mcp_find_header(req, "Host", &host, &c_host)) {
        struct wdn_str h = wdn__mcp_authority_host(host);
        if (c_host != 1 || h.p == NULL || !wdn__mcp_authority_port_ok(host, h) ||
            !wdn__mcp_host_allowed(srv, h, false)) {
            wdn__mcp_ex_error(&ex, 403, NULL, WDN_MCP_ERR_TRANSPORT, "Forbidden: Host not allowed",
                              NULL);
            goto out;
        }
    }
    if (wdn__mcp_find_header(req, "Origin", &origin, &c_origin) &&
        (c_origin != 1 || !wdn__mcp_origin_allowed(srv, origin))) {
        wdn__mcp_ex_error(&ex, 403, NULL, WDN_MCP_ERR_TRANSPORT, "Forbidden: Origin not allowed",
                          NULL);
        goto out;
    }
    has_pv = wdn__mcp_find_header(req, "MCP-Protocol-Version", &pv, &c_pv);
    if (has_pv) {
        char v[32];
        const char *sv = NULL;
        if (c_pv == 1 && pv.len < sizeof(v)) {
            memcpy(v, pv.p, pv.len);
            v[pv.len] = '\0';
            sv = wdn__mcp_static_version(v);
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
            wdn__mcp_ex_error(&ex, 400, id, WDN_MCP_ERR_UNSUPPORTED_VERSION, msg, data);
            json_decref(body);
            goto out;
        }
        ex.version = sv;
        ex.modern = wdn_mcp_version_is_modern(sv);
    }
    if (strcmp(req->method, "POST") == 0)
        handle_post(&ex, req, has_pv);
    else if (strcmp(req->method, "GET") == 0)
        handle_get(&ex, req, out, stream);
    else if (strcmp(req->method, "DELETE") == 0)
        handle_delete(&ex, req);
    else
        wdn__mcp_ex_status(&ex, 405, srv->stateless || ex.modern ? "POST" : "GET, POST, DELETE");
out:
    wdn__mcp_ex_finish(&ex);
    json_decref(ex.client_caps);
    return ex.head_sent ? 0 : WDN_ENOMEM;
}
