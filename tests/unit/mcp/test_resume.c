/* Unit tests for resumable SSE streams in the MCP server core: event ids, priming, replay after
 * Last-Event-ID, unknown ids, isolation between streams and sessions, limits, and polling. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "mcp/sse.h"
#include "warden/mcp.h"

/* ---- a capturing HTTP output ---- */

struct cap {
    int status;
    int heads;
    int ended;
    int fail_after; /* > 0: body fails once this many bytes were taken (a slow client) */
    struct wdn_buf body;
    char sid[80];
    pthread_mutex_t mu;
};

static int cap_head(void *ud, int status, const struct wdn_mcp_out_header *h, size_t n)
{
    struct cap *c = ud;
    size_t i;

    pthread_mutex_lock(&c->mu);
    c->status = status;
    c->heads++;
    for (i = 0; i < n; i++)
        if (strcasecmp(h[i].name, "Mcp-Session-Id") == 0)
            snprintf(c->sid, sizeof(c->sid), "%s", h[i].value);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int cap_body(void *ud, const char *p, size_t n)
{
    struct cap *c = ud;
    int rc;

    pthread_mutex_lock(&c->mu);
    if (c->fail_after > 0 && c->body.len + n > (size_t)c->fail_after)
        rc = WDN_ELIMIT;
    else
        rc = wdn_buf_append(&c->body, p, n);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static void cap_end(void *ud)
{
    struct cap *c = ud;

    pthread_mutex_lock(&c->mu);
    c->ended++;
    pthread_mutex_unlock(&c->mu);
}

static void cap_init(struct cap *c)
{
    memset(c, 0, sizeof(*c));
    wdn_buf_init(&c->body, 8 << 20);
    pthread_mutex_init(&c->mu, NULL);
}

static void cap_free(struct cap *c)
{
    wdn_buf_reset(&c->body);
    pthread_mutex_destroy(&c->mu);
}

static const char *cap_text(struct cap *c)
{
    const char *s = wdn_buf_cstr(&c->body);
    return s != NULL ? s : "";
}

static int cap_ended(struct cap *c)
{
    int n;

    pthread_mutex_lock(&c->mu);
    n = c->ended;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay++;
    }
    return n;
}

/* The stream number of the first "id: S-" line. */
static unsigned long long stream_of(const char *body)
{
    const char *p = strstr(body, "id: ");

    assert_non_null(p);
    return strtoull(p + 4, NULL, 10);
}

/* ---- requests ---- */

struct reqspec {
    const char *method;
    const char *sid;
    const char *version; /* MCP-Protocol-Version header, or NULL */
    const char *last_id; /* Last-Event-ID header, or NULL */
    const char *body;
};

static struct wdn_mcp_stream *run(struct wdn_mcp_server *srv, const struct reqspec *rq,
                                  struct cap *c)
{
    struct wdn_mcp_hdr h[8];
    const char *names[8], *vals[8];
    size_t n = 0, i;
    struct wdn_mcp_http_request r;
    struct wdn_mcp_http_out out = {cap_head, cap_body, cap_end, c};
    struct wdn_mcp_stream *st = NULL;
    bool post = strcmp(rq->method, "POST") == 0;

    names[n] = "Accept";
    vals[n++] = post ? "application/json, text/event-stream" : "text/event-stream";
    if (post) {
        names[n] = "Content-Type";
        vals[n++] = "application/json";
    }
    if (rq->sid != NULL) {
        names[n] = "Mcp-Session-Id";
        vals[n++] = rq->sid;
    }
    if (rq->version != NULL) {
        names[n] = "MCP-Protocol-Version";
        vals[n++] = rq->version;
    }
    if (rq->last_id != NULL) {
        names[n] = "Last-Event-ID";
        vals[n++] = rq->last_id;
    }
    for (i = 0; i < n; i++)
        h[i] = (struct wdn_mcp_hdr){names[i], strlen(names[i]), vals[i], strlen(vals[i])};
    memset(&r, 0, sizeof(r));
    r.method = rq->method;
    r.target = "/mcp";
    r.headers = h;
    r.nheaders = n;
    r.body = rq->body;
    r.body_len = rq->body != NULL ? strlen(rq->body) : 0;
    assert_int_equal(wdn_mcp_server_handle(srv, &r, &out, &st), 0);
    assert_int_equal(c->heads, 1);
    return st;
}

/* Opens a session with the given version; its id goes to sid (80 bytes). */
static void open_session(struct wdn_mcp_server *srv, const char *version, char *sid)
{
    char body[512];
    struct cap c;
    struct reqspec rq = {"POST", NULL, NULL, NULL, body};

    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
             "\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
             "\"version\":\"1\"}}}",
             version);
    cap_init(&c);
    assert_null(run(srv, &rq, &c));
    assert_int_equal(c.status, 200);
    assert_int_equal(strlen(c.sid), 64);
    memcpy(sid, c.sid, 65);
    cap_free(&c);
}

/* A tools/call of tool with id, in session sid. */
static struct wdn_mcp_stream *call_tool(struct wdn_mcp_server *srv, const char *sid, int id,
                                        const char *tool, struct cap *c)
{
    char body[256];
    struct reqspec rq = {"POST", sid, WDN_MCP_V2025_11_25, NULL, body};

    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"%s\",\"arguments\":{},\"_meta\":{\"progressToken\":\"p%d\"}}}",
             id, tool, id);
    return run(srv, &rq, c);
}

static struct wdn_mcp_stream *resume(struct wdn_mcp_server *srv, const char *sid,
                                     const char *last_id, struct cap *c)
{
    struct reqspec rq = {"GET", sid, WDN_MCP_V2025_11_25, last_id, NULL};

    return run(srv, &rq, c);
}

/* ---- tools ---- */

static int tool_three(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    (void)args;
    (void)ud;
    wdn_mcp_call_progress(call, 1, 3, "one");
    wdn_mcp_call_progress(call, 2, 3, "two");
    return wdn_mcp_call_text(call, "three");
}

static int tool_flood(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int i;

    (void)args;
    (void)ud;
    for (i = 0; i < WDN_MCP_RESUME_MAX_EVENTS + 20; i++)
        wdn_mcp_call_progress(call, i, 0, NULL);
    return wdn_mcp_call_text(call, "flooded");
}

/* Waits until the test lets it go (polling: the result comes after the client resumed). */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static int tool_gated(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    (void)args;
    (void)ud;
    wdn_mcp_call_progress(call, 1, 2, "before");
    pthread_mutex_lock(&gate_mu);
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    wdn_mcp_call_progress(call, 2, 2, "after");
    return wdn_mcp_call_text(call, "gated result");
}

static struct wdn_mcp_server *server(bool resumable, long poll_ms, bool stateless)
{
    struct wdn_mcp_server_config cfg = {.name = "t",
                                        .version = "1",
                                        .path = "/mcp",
                                        .stateless = stateless,
                                        .resumable = resumable,
                                        .sse_poll_ms = poll_ms};
    struct wdn_mcp_tool three = {.name = "three", .fn = tool_three};
    struct wdn_mcp_tool flood = {.name = "flood", .fn = tool_flood};
    struct wdn_mcp_tool gated = {.name = "gated", .fn = tool_gated};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);

    assert_non_null(srv);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &three), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &flood), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &gated), 0);
    return srv;
}

/* ---- tests ---- */

/* Every event of a resumable POST stream has an id "<stream>-<seq>", after a priming event. */
static void test_ids_and_priming(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0, false);
    char sid[80], want[64];
    struct cap c;
    unsigned long long s;
    (void)state;

    open_session(srv, WDN_MCP_V2025_11_25, sid);
    cap_init(&c);
    assert_null(call_tool(srv, sid, 7, "three", &c));
    assert_int_equal(c.status, 200);
    s = stream_of(cap_text(&c));
    /* Priming first: an id and empty data; no retry without polling. */
    snprintf(want, sizeof(want), "id: %llu-0\ndata: \n\nid: %llu-1\nevent: message\n", s, s);
    assert_memory_equal(cap_text(&c), want, strlen(want));
    assert_null(strstr(cap_text(&c), "retry:"));
    snprintf(want, sizeof(want), "id: %llu-3\nevent: message\ndata: {\"jsonrpc\"", s);
    assert_non_null(strstr(cap_text(&c), want));
    assert_non_null(strstr(strstr(cap_text(&c), want), "\"id\":7"));
    assert_int_equal(count(cap_text(&c), "id: "), 4);
    cap_free(&c);
    wdn_mcp_server_free(srv);
}

/* GET + Last-Event-ID replays what came after that id on that stream, and nothing else. */
static void test_replay_after_id(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0, false);
    char sid[80], id[64], want[64];
    struct cap c, r;
    unsigned long long s;
    (void)state;

    open_session(srv, WDN_MCP_V2025_11_25, sid);
    cap_init(&c);
    assert_null(call_tool(srv, sid, 1, "three", &c));
    s = stream_of(cap_text(&c));
    snprintf(id, sizeof(id), "%llu-1", s);
    cap_init(&r);
    /* The stream ended with its response: the answer is complete, no stream stays open. */
    assert_null(resume(srv, sid, id, &r));
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want), "id: %llu-2\n", s);
    assert_memory_equal(cap_text(&r), want, strlen(want));
    assert_int_equal(count(cap_text(&r), "id: "), 2);
    assert_non_null(strstr(cap_text(&r), "\"text\":\"three\""));
    assert_null(strstr(cap_text(&r), "\"one\""));
    cap_free(&r);
    /* From the priming event: all three. */
    snprintf(id, sizeof(id), "%llu-0", s);
    cap_init(&r);
    assert_null(resume(srv, sid, id, &r));
    assert_int_equal(count(cap_text(&r), "id: "), 3);
    cap_free(&r);
    /* From the last event: nothing more, still a clean 200. */
    snprintf(id, sizeof(id), "%llu-3", s);
    cap_init(&r);
    assert_null(resume(srv, sid, id, &r));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    cap_free(&r);
    cap_free(&c);
    wdn_mcp_server_free(srv);
}

/* Malformed, unknown, future and expired ids: 400, never a stream that silently lost events. */
static void test_unknown_ids(void **state)
{
    static const char *const bad[] = {"",
                                      "abc",
                                      "1-",
                                      "-1",
                                      "1-2-3",
                                      "1--2",
                                      "+1-0",
                                      "1 -0",
                                      "0x1-0",
                                      "99999999999999999999999-1",
                                      "1-99999999999999999999999",
                                      "999-0"};
    struct wdn_mcp_server *srv = server(true, 0, false);
    char sid[80], id[64];
    struct cap c, r;
    unsigned long long s;
    size_t i;
    (void)state;

    open_session(srv, WDN_MCP_V2025_11_25, sid);
    cap_init(&c);
    assert_null(call_tool(srv, sid, 1, "three", &c));
    s = stream_of(cap_text(&c));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cap_init(&r);
        assert_null(resume(srv, sid, bad[i], &r));
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(cap_text(&r), "Last-Event-ID"));
        cap_free(&r);
    }
    /* A sequence number the stream never reached. */
    snprintf(id, sizeof(id), "%llu-4", s);
    cap_init(&r);
    assert_null(resume(srv, sid, id, &r));
    assert_int_equal(r.status, 400);
    cap_free(&r);
    /* An unknown session is still 404, whatever the id. */
    cap_init(&r);
    snprintf(id, sizeof(id), "%llu-0", s);
    assert_null(resume(srv, "0000", id, &r));
    assert_int_equal(r.status, 404);
    cap_free(&r);
    cap_free(&c);
    wdn_mcp_server_free(srv);
}

/* A stream is found only in its own session, and replays only its own messages. */
static void test_isolation(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0, false);
    char a[80], b[80], id[64];
    struct cap c1, c2, r;
    unsigned long long s1, s2;
    (void)state;

    open_session(srv, WDN_MCP_V2025_11_25, a);
    open_session(srv, WDN_MCP_V2025_11_25, b);
    cap_init(&c1);
    cap_init(&c2);
    assert_null(call_tool(srv, a, 11, "three", &c1));
    assert_null(call_tool(srv, a, 22, "three", &c2));
    s1 = stream_of(cap_text(&c1));
    s2 = stream_of(cap_text(&c2));
    assert_true(s1 != s2);
    /* Stream 1 from its priming event: request 11's messages only. */
    snprintf(id, sizeof(id), "%llu-0", s1);
    cap_init(&r);
    assert_null(resume(srv, a, id, &r));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(cap_text(&r), "\"id\":11"));
    assert_null(strstr(cap_text(&r), "\"id\":22"));
    assert_null(strstr(cap_text(&r), "\"p22\""));
    cap_free(&r);
    /* The same id from another session: unknown there. */
    cap_init(&r);
    assert_null(resume(srv, b, id, &r));
    assert_int_equal(r.status, 400);
    assert_null(strstr(cap_text(&r), "\"id\":11"));
    cap_free(&r);
    cap_free(&c1);
    cap_free(&c2);
    wdn_mcp_server_free(srv);
}

/* Sessions of older versions, stateless servers and servers without the option get no ids. */
static void test_not_resumable(void **state)
{
    struct wdn_mcp_server *srv = server(true, 50, false);
    struct wdn_mcp_server *plain = server(false, 0, false);
    struct wdn_mcp_server *stateless = server(true, 50, true);
    struct reqspec get = {"GET", NULL, NULL, "1-0", NULL};
    char sid[80];
    struct cap c;
    struct wdn_mcp_stream *st;
    (void)state;

    open_session(srv, WDN_MCP_V2025_06_18, sid);
    cap_init(&c);
    assert_null(call_tool(srv, sid, 1, "three", &c));
    assert_int_equal(c.ended, 0); /* no polling either */
    assert_null(strstr(cap_text(&c), "id: "));
    assert_non_null(strstr(cap_text(&c), "\"text\":\"three\""));
    cap_free(&c);
    /* There the header means nothing: a plain GET stream. */
    get.sid = sid;
    cap_init(&c);
    st = run(srv, &get, &c);
    assert_non_null(st);
    assert_int_equal(c.body.len, 0);
    wdn_mcp_server_stream_close(srv, st, &c);
    cap_free(&c);

    open_session(plain, WDN_MCP_V2025_11_25, sid);
    cap_init(&c);
    assert_null(call_tool(plain, sid, 1, "three", &c));
    assert_null(strstr(cap_text(&c), "id: "));
    cap_free(&c);

    cap_init(&c);
    get.sid = NULL;
    assert_null(run(stateless, &get, &c));
    assert_int_equal(c.status, 405);
    cap_free(&c);
    wdn_mcp_server_free(srv);
    wdn_mcp_server_free(plain);
    wdn_mcp_server_free(stateless);
}

struct bg_call {
    struct wdn_mcp_server *srv;
    const char *sid;
    struct cap *c;
};

static void *bg_call_main(void *arg)
{
    struct bg_call *b = arg;

    assert_null(call_tool(b->srv, b->sid, 5, "gated", b->c));
    return NULL;
}

static void gate_set(bool open)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

/* Polling: the POST's connection closes after the priming event (with retry) while the tool
 * runs; GET + Last-Event-ID gets what was sent meanwhile, then the rest live, then its end. */
static void test_polling(void **state)
{
    struct wdn_mcp_server *srv = server(true, 75, false);
    char sid[80], id[64], want[64];
    struct cap c, r, r2;
    struct bg_call b;
    pthread_t t;
    unsigned long long s;
    struct wdn_mcp_stream *st, *st2;
    int i;
    (void)state;

    open_session(srv, WDN_MCP_V2025_11_25, sid);
    cap_init(&c);
    gate_set(false);
    b = (struct bg_call){srv, sid, &c};
    assert_int_equal(pthread_create(&t, NULL, bg_call_main, &b), 0);
    for (i = 0; i < 500 && cap_ended(&c) == 0; i++)
        usleep(2000);
    assert_int_equal(cap_ended(&c), 1);
    pthread_mutex_lock(&c.mu);
    s = stream_of(cap_text(&c));
    snprintf(want, sizeof(want), "id: %llu-0\nretry: 75\ndata: \n\n", s);
    assert_string_equal(cap_text(&c), want);
    pthread_mutex_unlock(&c.mu);

    /* The tool's first progress is kept; wait until it is there. */
    snprintf(id, sizeof(id), "%llu-0", s);
    for (i = 0; i < 500; i++) {
        cap_init(&r);
        st = resume(srv, sid, id, &r);
        if (strstr(cap_text(&r), "\"before\"") != NULL)
            break;
        if (st != NULL)
            wdn_mcp_server_stream_close(srv, st, &r);
        cap_free(&r);
        usleep(2000);
    }
    assert_non_null(st);
    assert_int_equal(r.status, 200);
    assert_null(strstr(cap_text(&r), "gated result"));
    /* A second resumption takes over; the first connection is ended cleanly. */
    cap_init(&r2);
    snprintf(id, sizeof(id), "%llu-1", s);
    st2 = resume(srv, sid, id, &r2);
    assert_non_null(st2);
    assert_int_equal(cap_ended(&r), 1);
    assert_int_equal(r2.body.len, 0);

    gate_set(true);
    assert_int_equal(pthread_join(t, NULL), 0);
    /* The rest went live to the attached connection, which the server then ended. */
    assert_non_null(strstr(cap_text(&r2), "\"after\""));
    assert_non_null(strstr(cap_text(&r2), "gated result"));
    snprintf(want, sizeof(want), "id: %llu-2\n", s);
    assert_memory_equal(cap_text(&r2), want, strlen(want));
    assert_int_equal(cap_ended(&r2), 1);
    assert_int_equal(cap_ended(&c), 1);
    cap_free(&r);
    cap_free(&r2);
    cap_free(&c);
    wdn_mcp_server_free(srv);
}

/* A stream keeps at most WDN_MCP_RESUME_MAX_EVENTS: a resumption from before what was kept is
 * refused (the client would miss events), one within it gets exactly what was kept. */
static void test_event_limit(void **state)
{
    struct wdn_mcp_server *srv = server(true, 10, false);
    const unsigned total = WDN_MCP_RESUME_MAX_EVENTS + 21; /* progress + the result */
    char sid[80], id[64];
    struct cap c, r;
    unsigned long long s;
    (void)state;

    open_session(srv, WDN_MCP_V2025_11_25, sid);
    cap_init(&c);
    assert_null(call_tool(srv, sid, 3, "flood", &c));
    assert_int_equal(c.ended, 1); /* polling: nothing of the flood went to the POST */
    s = stream_of(cap_text(&c));
    snprintf(id, sizeof(id), "%llu-0", s);
    cap_init(&r);
    assert_null(resume(srv, sid, id, &r));
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(cap_text(&r), "no longer available"));
    cap_free(&r);
    snprintf(id, sizeof(id), "%llu-%u", s, total - WDN_MCP_RESUME_MAX_EVENTS);
    cap_init(&r);
    assert_null(resume(srv, sid, id, &r));
    assert_int_equal(r.status, 200);
    assert_int_equal(count(cap_text(&r), "id: "), WDN_MCP_RESUME_MAX_EVENTS);
    assert_non_null(strstr(cap_text(&r), "flooded"));
    cap_free(&r);
    cap_free(&c);
    wdn_mcp_server_free(srv);
}

/* A standalone GET stream: ids, a slow client ended cleanly, messages kept while it is away,
 * one standalone stream per session. */
static void test_get_stream(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0, false);
    struct reqspec get = {"GET", NULL, WDN_MCP_V2025_11_25, NULL, NULL};
    char sid[80], id[64], want[64];
    struct cap g, r, x;
    unsigned long long s;
    struct wdn_mcp_stream *st;
    int i;
    (void)state;

    open_session(srv, WDN_MCP_V2025_11_25, sid);
    get.sid = sid;
    cap_init(&g);
    g.fail_after = 400; /* takes the priming event and about two notifications */
    st = run(srv, &get, &g);
    assert_non_null(st);
    s = stream_of(cap_text(&g));
    snprintf(want, sizeof(want), "id: %llu-0\ndata: \n\n", s);
    assert_string_equal(cap_text(&g), want);
    /* The client cannot keep up: its connection ends, the stream does not grow without end. */
    for (i = 0; i < 2 * WDN_MCP_RESUME_MAX_EVENTS; i++)
        assert_int_equal(wdn_mcp_server_broadcast(srv, "notifications/tools/list_changed", NULL),
                         1);
    assert_int_equal(g.ended, 1);
    assert_true(g.body.len <= 400);
    /* It comes back from the first event it got: too late, those were dropped. */
    snprintf(id, sizeof(id), "%llu-1", s);
    cap_init(&r);
    assert_null(resume(srv, sid, id, &r));
    assert_int_equal(r.status, 400);
    cap_free(&r);
    /* From a recent one: the rest, and the connection stays as the session's stream. */
    snprintf(id, sizeof(id), "%llu-%d", s, 2 * WDN_MCP_RESUME_MAX_EVENTS - 2);
    cap_init(&r);
    st = resume(srv, sid, id, &r);
    assert_non_null(st);
    assert_int_equal(count(cap_text(&r), "id: "), 2);
    assert_int_equal(wdn_mcp_server_broadcast(srv, "notifications/tools/list_changed", NULL), 1);
    assert_int_equal(count(cap_text(&r), "id: "), 3);
    /* A second plain GET meanwhile: 409, as before. */
    cap_init(&x);
    assert_null(run(srv, &get, &x));
    assert_int_equal(x.status, 409);
    cap_free(&x);
    /* The client goes; a broadcast is kept for it; DELETE drops everything. */
    wdn_mcp_server_stream_close(srv, st, &r);
    assert_int_equal(wdn_mcp_server_broadcast(srv, "notifications/tools/list_changed", NULL), 1);
    snprintf(id, sizeof(id), "%llu-%d", s, 2 * WDN_MCP_RESUME_MAX_EVENTS + 1);
    cap_init(&x);
    st = resume(srv, sid, id, &x);
    assert_non_null(st);
    assert_int_equal(count(cap_text(&x), "id: "), 1);
    get.method = "DELETE";
    cap_free(&g);
    cap_init(&g);
    assert_null(run(srv, &get, &g));
    assert_int_equal(g.status, 200);
    assert_int_equal(x.ended, 1);
    cap_free(&g);
    cap_free(&x);
    cap_free(&r);
    wdn_mcp_server_free(srv);
}

/* A session keeps at most WDN_MCP_RESUME_MAX_STREAMS: the oldest finished one makes room. */
static void test_stream_limit(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0, false);
    char sid[80], first[64], id[64];
    struct cap c, r;
    unsigned long long s = 0;
    int i;
    (void)state;

    open_session(srv, WDN_MCP_V2025_11_25, sid);
    for (i = 0; i <= WDN_MCP_RESUME_MAX_STREAMS; i++) {
        cap_init(&c);
        assert_null(call_tool(srv, sid, i, "three", &c));
        s = stream_of(cap_text(&c));
        if (i == 0)
            snprintf(first, sizeof(first), "%llu-0", s);
        cap_free(&c);
    }
    cap_init(&r);
    assert_null(resume(srv, sid, first, &r));
    assert_int_equal(r.status, 400);
    cap_free(&r);
    snprintf(id, sizeof(id), "%llu-0", s);
    cap_init(&r);
    assert_null(resume(srv, sid, id, &r));
    assert_int_equal(r.status, 200);
    cap_free(&r);
    wdn_mcp_server_free(srv);
}

static char last_id[256];
static int nprime;

static int on_sse(void *ud, const char *event, const char *data, size_t len, const char *id)
{
    (void)ud;
    (void)event;
    (void)data;
    snprintf(last_id, sizeof(last_id), "%s", id);
    if (len == 0)
        nprime++;
    return 0;
}

/* The client's SSE parser: retry: takes ASCII digits only; ids carry over between events. */
static void test_sse_retry_and_ids(void **state)
{
    static const char in[] = "id: 4-0\nretry: 1500\ndata: \n\n"
                             "retry: 12a\nretry: -5\nretry: 99999999999\nretry:\n"
                             "event: message\ndata: {}\n\n";
    static const char in2[] = "retry: 0\nid\ndata: x\n\n";
    struct wdn__sse_parser p;
    (void)state;

    wdn__sse_init(&p, 4096);
    assert_int_equal(p.retry_ms, -1);
    nprime = 0;
    assert_int_equal(wdn__sse_feed(&p, in, sizeof(in) - 1, on_sse, NULL), 0);
    assert_int_equal(p.retry_ms, 1500);
    assert_int_equal(nprime, 1);
    assert_string_equal(last_id, "4-0");
    assert_int_equal(wdn__sse_feed(&p, in2, strlen(in2), on_sse, NULL), 0);
    assert_int_equal(p.retry_ms, 0);
    assert_string_equal(last_id, "");
    wdn__sse_reset(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_priming), cmocka_unit_test(test_replay_after_id),
        cmocka_unit_test(test_unknown_ids),     cmocka_unit_test(test_isolation),
        cmocka_unit_test(test_not_resumable),   cmocka_unit_test(test_polling),
        cmocka_unit_test(test_event_limit),     cmocka_unit_test(test_get_stream),
        cmocka_unit_test(test_stream_limit),    cmocka_unit_test(test_sse_retry_and_ids),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
