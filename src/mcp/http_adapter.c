/* The bridge from the libuv HTTP server to the transport-neutral MCP core: one request at a time.
 * A request that reaches only quick handlers (wdn_mcp_server_is_quick) runs on the loop thread
 * and is answered at once; others run on the thread pool, their output marshalled back to the
 * loop with a uv_async_t. */
#include "mcp/http_adapter.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "base/log.h"


struct mreq {
    struct wdn_mcp_http_handler *h;
    struct wdn_http_req *req;
    uv_work_t work;
    uv_async_t async;
    bool has_async; /* only for work on the pool and GET streams: other threads write then */
    bool bad_body;  /* the body is not JSON-RPC: the core answers 400 without any handler */
    struct wdn_mcp_http_request in; /* headers in the request's arena */

    /* Filled by the core from whatever thread runs it; guarded by mu. Callbacks signal the
     * loop with uv_async_send while still holding mu, so the loop can never close the async
     * handle between a callback's update and its signal. */
    pthread_mutex_t mu;
    bool head_ready, sse;
    int status;
    size_t nh;
    struct wdn_buf pending;
    bool work_done, server_ended, gone;
    struct wdn_mcp_stream *stream;

    /* Loop thread only. responded: the HTTP response is over (the core may still run, after it
     * closed a POST's SSE connection early for polling); finished: everything is over. */
    bool started, responded, finished;

    /* Last and not zeroed at allocation: written before they are read (nh says how many). */
    char hname[WDN_MCP_MAX_OUT_HEADERS][WDN_MCP_MAX_HEADER_NAME + 1];
    char hval[WDN_MCP_MAX_OUT_HEADERS][WDN_MCP_MAX_HEADER_VALUE + 1];
};

static void mreq_free(struct mreq *m)
{
    json_decref(m->in.parsed);
    wdn_buf_reset(&m->pending);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static void on_closed(uv_handle_t *handle)
{
    mreq_free(handle->data);
}

/* Wakes the loop when another thread produced output; the loop thread itself needs no wake-up
 * (it flushes when the core returns). Called with m->mu held. */
static void wake(struct mreq *m)
{
    if (m->has_async)
        uv_async_send(&m->async);
}

static void finish_req(struct mreq *m)
{
    if (m->has_async)
        uv_close((uv_handle_t *)&m->async, on_closed);
    else
        mreq_free(m);
}

static int o_head(void *ud, int status, const struct wdn_mcp_out_header *h, size_t n)
{
    struct mreq *m = ud;
    size_t i;

    pthread_mutex_lock(&m->mu);
    m->status = status;
    m->nh = 0;
    for (i = 0; i < n; i++) {
        size_t nl = strlen(h[i].name), vl = strlen(h[i].value);

        /* Never cut: a header beyond the limits is left out, and said so. */
        if (m->nh == WDN_MCP_MAX_OUT_HEADERS || nl >= sizeof(m->hname[0]) ||
            vl >= sizeof(m->hval[0])) {
            wdn_log_warn("mcp: the answer's header %.*s is left out (over %d headers, a name "
                         "over %d bytes or a value over %d bytes)",
                         (int)(nl < 64 ? nl : 64), h[i].name, WDN_MCP_MAX_OUT_HEADERS,
                         WDN_MCP_MAX_HEADER_NAME, WDN_MCP_MAX_HEADER_VALUE);
            continue;
        }
        memcpy(m->hname[m->nh], h[i].name, nl + 1);
        memcpy(m->hval[m->nh], h[i].value, vl + 1);
        if (strcasecmp(h[i].name, "Content-Type") == 0 &&
            strcmp(h[i].value, "text/event-stream") == 0)
            m->sse = true;
        m->nh++;
    }
    m->head_ready = true;
    wake(m);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int o_body(void *ud, const char *p, size_t n)
{
    struct mreq *m = ud;
    int rc;

    pthread_mutex_lock(&m->mu);
    rc = m->gone || m->server_ended ? WDN_ECLOSED : wdn_buf_append(&m->pending, p, n);
    if (rc == 0)
        wake(m);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static void o_end(void *ud)
{
    struct mreq *m = ud;

    pthread_mutex_lock(&m->mu);
    m->server_ended = true;
    m->stream = NULL; /* the core has let go of it */
    wake(m);
    pthread_mutex_unlock(&m->mu);
}

/* Runs on the loop thread: writes what the core produced, ends the request when it is over. */
static void flush(struct mreq *m)
{
    struct wdn_http_header hh[WDN_MCP_MAX_OUT_HEADERS];
    struct wdn_mcp_stream *to_close = NULL;
    struct wdn_buf out;
    bool done, end_early, respond_whole = false;
    int status = 0;
    size_t i, nh = 0;

    if (m->finished)
        return;
    wdn_buf_init(&out, m->pending.max);
    pthread_mutex_lock(&m->mu);
    if (!m->started && m->head_ready && (m->sse || m->work_done)) {
        status = m->status;
        nh = m->nh;
        for (i = 0; i < nh; i++) {
            hh[i].name = wdn_str_from_cstr(m->hname[i]);
            hh[i].value = wdn_str_from_cstr(m->hval[i]);
        }
        respond_whole = !m->sse;
    }
    /* Take the pending bytes; the core may keep appending while we write. */
    if ((m->started || status != 0) && m->pending.len > 0) {
        out = m->pending;
        wdn_buf_init(&m->pending, out.max);
    }
    if (m->gone && m->work_done && m->stream != NULL) {
        to_close = m->stream;
        m->stream = NULL;
    }
    done = m->work_done && (m->stream == NULL || m->server_ended || m->gone);
    /* The core ended a POST's SSE connection while the request still runs (polling). */
    end_early = !m->work_done && m->server_ended;
    pthread_mutex_unlock(&m->mu);

    /* Detach from the core first: after this returns it never calls us again. */
    if (to_close != NULL)
        wdn_mcp_server_stream_close(m->h->srv, to_close, m);
    if (m->responded) {
        m->finished = done;
    } else if (respond_whole) {
        wdn_http_respond(m->req, status, hh, nh, wdn_buf_str(&out));
        m->responded = true;
        m->finished = true;
    } else {
        if (status != 0) {
            wdn_http_resp_start(m->req, status, hh, nh, WDN_HTTP_LENGTH_UNKNOWN);
            m->started = true;
        }
        if (m->started && out.len > 0)
            wdn_http_resp_write(m->req, wdn_buf_str(&out), NULL, NULL);
        if (done || (end_early && m->started)) {
            if (m->started)
                wdn_http_resp_end(m->req);
            else
                wdn_http_respond(m->req, 500, NULL, 0, WDN_STR(""));
            /* The request is released: nothing touches m->req from here on. */
            m->responded = true;
            m->req = NULL;
            m->finished = done;
        }
    }
    wdn_buf_reset(&out);
    if (m->finished)
        finish_req(m);
}

static void on_async(uv_async_t *a)
{
    flush(a->data);
}

static void do_work(uv_work_t *w)
{
    struct mreq *m = w->data;
    struct wdn_mcp_http_out out = {o_head, o_body, o_end, m};
    struct wdn_mcp_stream *st = NULL;
    int rc;

    rc = wdn_mcp_server_handle(m->h->srv, &m->in, &out, &st);
    pthread_mutex_lock(&m->mu);
    if (rc < 0 && !m->head_ready) {
        m->status = 500;
        m->nh = 0;
        m->head_ready = true;
    }
    if (!m->server_ended)
        m->stream = st;
    pthread_mutex_unlock(&m->mu);
}

static void after_work(uv_work_t *w, int status)
{
    struct mreq *m = w->data;

    (void)status;
    pthread_mutex_lock(&m->mu);
    m->work_done = true;
    pthread_mutex_unlock(&m->mu);
    flush(m);
}

/*
 * Where the core runs: on this loop thread when every handler the request reaches is quick (or
 * run_inline says so), else on the thread pool, where handlers may block. The hand-off costs a
 * queue, a thread wake-up and an async wake-up of the loop per request: most of a quick
 * tools/call's time on two cores, so it is paid only when a handler may block.
 */
static void start_work(struct mreq *m)
{
    bool inline_run = m->h->run_inline || m->bad_body || wdn_mcp_server_is_quick(m->h->srv, &m->in);

    m->work.data = m;
    /* Output from other threads (pool work, a GET stream's notifications) wakes the loop. */
    if (!inline_run || strcmp(m->in.method, "POST") != 0) {
        if (uv_async_init(wdn_http_req_loop(m->req), &m->async, on_async) != 0) {
            wdn_http_respond(m->req, 503, NULL, 0, WDN_STR(""));
            mreq_free(m);
            return;
        }
        m->async.data = m;
        m->has_async = true;
    }
    if (inline_run ||
        uv_queue_work(wdn_http_req_loop(m->req), &m->work, do_work, after_work) != 0) {
        do_work(&m->work);
        after_work(&m->work, 0);
    }
}

static void on_gone(struct wdn_http_req *req, void *ud)
{
    struct mreq *m = ud;
    bool run;

    (void)req;
    pthread_mutex_lock(&m->mu);
    m->gone = true;
    run = m->work_done;
    pthread_mutex_unlock(&m->mu);
    if (run)
        flush(m);
}

static void on_body(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    struct mreq *m = ud;

    if (status < 0) {
        wdn_http_respond(req, status == WDN_ELIMIT ? 413 : 400, NULL, 0, WDN_STR(""));
        m->finished = true;
        mreq_free(m);
        return;
    }
    m->in.body = body.p;
    m->in.body_len = body.len;
    /* Parsed once, here: the classification reads it and the core uses it. A body that does
     * not parse is left to the core, which answers the error. */
    if (body.len > 0 && body.len <= WDN_JSONRPC_MAX_BYTES) {
        struct wdn_jsonrpc_fault f;
        if (wdn_jsonrpc_parse(body.p, body.len, &m->in.parsed, &f) != 0) {
            m->in.parsed = NULL;
            m->bad_body = true; /* answered with an error at once */
        }
    }
    start_work(m);
}

static int on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct wdn_mcp_http_handler *h = (struct wdn_mcp_http_handler *)self;
    const struct wdn_http_request *head = wdn_http_req_head(req);
    struct wdn_arena *arena = wdn_http_req_arena(req);
    struct wdn_mcp_hdr *hdrs;
    struct mreq *m;
    size_t i, n;

    if (h->path != NULL && !wdn_str_eq_cstr(head->path, h->path))
        return WDN_HTTP_DECLINED;
    /* Only the fixed part is zeroed: the output header buffers are written before use. */
    m = malloc(sizeof(*m));
    n = head->nheaders < WDN_HTTP_MAX_HEADERS ? head->nheaders : WDN_HTTP_MAX_HEADERS;
    hdrs = wdn_arena_alloc(arena, (n > 0 ? n : 1) * sizeof(*hdrs));
    if (m == NULL || hdrs == NULL) {
        free(m);
        wdn_http_respond(req, 503, NULL, 0, WDN_STR(""));
        return 0;
    }
    memset(m, 0, offsetof(struct mreq, hname));
    m->h = h;
    m->req = req;
    pthread_mutex_init(&m->mu, NULL);
    wdn_buf_init(&m->pending, 2 * (size_t)WDN_JSONRPC_MAX_BYTES);
    m->in.method = wdn_arena_strdup(arena, head->method);
    m->in.target = wdn_arena_strdup(arena, head->target);
    if (m->in.method == NULL || m->in.target == NULL) {
        wdn_http_respond(req, 503, NULL, 0, WDN_STR(""));
        mreq_free(m);
        return 0;
    }
    for (i = 0; i < n; i++) {
        hdrs[i].name = head->headers[i].name.p;
        hdrs[i].name_len = head->headers[i].name.len;
        hdrs[i].value = head->headers[i].value.p;
        hdrs[i].value_len = head->headers[i].value.len;
    }
    m->in.headers = hdrs;
    m->in.nheaders = n;
    wdn_http_req_set_data(req, m);
    wdn_http_req_on_gone(req, on_gone, m);
    if (wdn_http_req_has_body(req))
        wdn_http_req_read_all(req, WDN_JSONRPC_MAX_BYTES, on_body, m);
    else
        start_work(m);
    return 0;
}

struct wdn_http_handler *wdn_mcp_http_handler_init(struct wdn_mcp_http_handler *h,
                                                   struct wdn_mcp_server *srv, const char *path,
                                                   bool run_inline)
{
    memset(h, 0, sizeof(*h));
    h->base.on_req = on_req;
    h->srv = srv;
    h->path = path;
    h->run_inline = run_inline;
    return &h->base;
}
