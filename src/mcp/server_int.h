/* Internal to the MCP server core (src/mcp/server*.c): its records and the functions its files
 * share. Nothing here is public; include/warden/mcp.h is the interface. */
#ifndef WDN_MCP_SERVER_INT_H
#define WDN_MCP_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"
#include "trace/span.h"
#include "warden/mcp.h"

#define SESSION_ID_BYTES 32
#define SESSION_ID_LEN (SESSION_ID_BYTES * 2)

struct task;

struct tool {
    char *name;
    json_t *def;                         /* the tools/list entry */
    json_t *input_schema;                /* borrowed from def */
    json_t *output_schema;               /* borrowed from def, or NULL */
    struct wdn_mcp_schema *in_s, *out_s; /* compiled */
    json_t *xheaders; /* [{"h": header suffix, "p": [property path...]}] from x-mcp-header */
    wdn_mcp_tool_fn fn;
    void *ud;
    enum wdn_mcp_task_support task_support;
    wdn_mcp_tool_fn prepare;
    bool quick;
};

struct resource {
    char *uri;  /* static resource, or NULL */
    char *tmpl; /* template, or NULL */
    json_t *def;
    wdn_mcp_read_fn fn;
    void *ud;
    bool quick;
};

struct prompt {
    char *name;
    json_t *def;
    wdn_mcp_prompt_fn fn;
    void *ud;
    bool quick;
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
    size_t resume_bytes;       /* bytes kept for replay by all streams */
    struct wdn_tracer *tracer; /* borrowed; NULL: no spans (server_trace.c) */

    /* 2026-07-28 and extensions: pagination, caching hints, sealed request state, tasks. */
    size_t page_size;
    long cache_ttl_ms;
    bool cache_public;
    unsigned char state_key[32];
    bool state_key_set; /* guarded by mu */
    long task_ttl_ms, task_poll_ms;
    bool has_task_tools;     /* advertise the tasks extension */
    struct task *tasks;      /* guarded by mu */
    size_t ntasks, nrunning; /* tasks kept; tasks whose thread runs */
    bool stopping;           /* wdn_mcp_server_free began: tasks end */
    pthread_cond_t task_cv;  /* signalled when a task got input, was cancelled, or stops */
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
    json_t *client_caps;             /* owned reference: the session's, or NULL when unknown */
    bool resumable;                  /* the session's SSE streams get ids and replay buffers */
    struct rstream *rs;              /* this POST's resumable stream (one reference), or NULL */
    struct wdn_str http_traceparent; /* the POST's traceparent header (borrowed), or empty */
    struct wdn_trace_ctx trace;      /* the request being dispatched (server_trace.c) */
    bool has_trace;
};

/* ---- server_trace.c: a span per JSON-RPC request ---------------------------------------- */

struct wdn__mcp_span {
    bool on; /* recorded: the tracer's sampler said yes */
    struct wdn_span span;
};

/** Takes the request's trace context (params._meta.traceparent, else the HTTP header) into
 * ex->trace and starts sp when the request is to be recorded. */
void wdn__mcp_span_begin(struct exchange *ex, const struct wdn_jsonrpc_msg *m,
                         struct wdn__mcp_span *sp);
/** Ends sp with the outcome (result, or a JSON-RPC error code) and hands it to the tracer. */
void wdn__mcp_span_end(struct exchange *ex, struct wdn__mcp_span *sp, const json_t *result,
                       int error_code);

struct wdn_mcp_call {
    struct exchange *ex;
    json_t *progress_token;
    json_t *content;
    json_t *structured;
    bool is_error;
    struct inflight *inf;
    json_t *caps;            /* borrowed: the client's capabilities, NULL when unknown */
    const char *missing_cap; /* set by wdn_mcp_call_require_capability */

    /* Input rounds (server_input.c). */
    const char *method; /* the request's method, name and arguments: what requestState is */
    const char *name;   /* bound to (borrowed) */
    json_t *args;
    json_t *answers;   /* owned object: the client's answers so far (NULL: none) */
    json_t *requests;  /* owned object: this round's queued input requests (NULL: none) */
    char *state_in;    /* the previous round's state, verified (owned) */
    char *state_out;   /* the state for the next round (owned) */
    bool retry;        /* the request carried inputResponses or requestState */
    struct task *task; /* the task this call runs in, or NULL */
    /* wdn_mcp_call_fail */
    int fail_code;
    char fail_msg[256];
    /* wdn_mcp_call_cache */
    bool cache_set, cache_public;
    long cache_ttl_ms;
};

/** A JSON-RPC error being built by a method: code, message, optional data (owned). */
struct rpc_err {
    int code;
    char msg[256];
    json_t *data;
};

/** Fills e (printf-style message) and returns NULL, so methods can `return wdn__mcp_fail(...)`. */
json_t *wdn__mcp_fail(struct rpc_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Log level names of notifications/message, indexed by enum wdn_mcp_log_level. */
extern const char *const wdn__mcp_log_levels[8];
/** The static string of a supported version (so it may be kept), or NULL. */
const char *wdn__mcp_static_version(const char *v);

/* ---- server_call.c: writing one exchange's answer ------------------------------------- */

/** Sends the head once (later calls do nothing); ctype and allow may be NULL. */
int wdn__mcp_ex_head(struct exchange *ex, int status, const char *ctype, const char *allow);
/** Writes body bytes unless the connection is gone. */
void wdn__mcp_ex_body(struct exchange *ex, const char *p, size_t n);
/** Frames one JSON-RPC message as an SSE event into b. */
int wdn__mcp_sse_frame(struct wdn_buf *b, const json_t *msg);
/** A whole JSON answer with status (doc borrowed). */
void wdn__mcp_ex_json(struct exchange *ex, int status, const json_t *doc);
/** A JSON-RPC error answer with status; id borrowed (NULL: null), data stolen. */
void wdn__mcp_ex_error(struct exchange *ex, int status, json_t *id, int code, const char *msg,
                       json_t *data);
/** A head without body. */
void wdn__mcp_ex_status(struct exchange *ex, int status, const char *allow);
/** Turns the answer into an SSE stream (resumable in a resumable session). */
void wdn__mcp_ex_sse_begin(struct exchange *ex);
/** Sends one message as an SSE event (msg borrowed). */
void wdn__mcp_ex_event(struct exchange *ex, const json_t *msg);
/** Polling: ends a tools/call POST's connection after its priming event. */
void wdn__mcp_ex_poll_close(struct exchange *ex);
/** The request is over: its resumable stream ends. */
void wdn__mcp_ex_finish(struct exchange *ex);
/** A response from the client: wakes the handler waiting for it (msg borrowed). */
void wdn__mcp_deliver_reply(struct exchange *ex, json_t *msg, const struct wdn_jsonrpc_msg *m);
/** Prepares a handler's call (registers it for cancellation when id is not NULL). */
void wdn__mcp_call_init(struct wdn_mcp_call *call, struct exchange *ex, json_t *params, json_t *id);
void wdn__mcp_call_done(struct wdn_mcp_call *call);

/* ---- server_input.c: input rounds, requestState ----------------------------------------- */

/**
 * Reads inputResponses and requestState of a request into call (answers, state_in, retry).
 * 0, or fills e (-32602) for malformed inputResponses or a requestState that fails to verify.
 */
int wdn__mcp_input_init(struct wdn_mcp_call *call, json_t *params, struct rpc_err *e);
/** Frees what the rounds hold (answers, requests, states). */
void wdn__mcp_input_done(struct wdn_mcp_call *call);
/** Clears the outputs of a round (requests, content, structured, error flags) before the next. */
void wdn__mcp_round_reset(struct wdn_mcp_call *call);
/** The queued requests without an answer, as a new object, or NULL when none. */
json_t *wdn__mcp_unanswered(const struct wdn_mcp_call *call);
/**
 * After a round that queued requests (pending, stolen): 2026-07-28 outside a task builds the
 * InputRequiredResult into *irr and returns 1; a session of the initialize era asks the client
 * on the SSE stream, stores the answers and returns 0 (run another round); otherwise fills e
 * and returns a negative code.
 */
int wdn__mcp_input_round(struct wdn_mcp_call *call, json_t *pending, json_t **irr,
                         struct rpc_err *e);

/* ---- server_tasks.c -------------------------------------------------------------------- */

/** True when the request's client declared the tasks extension. */
bool wdn__mcp_client_has_tasks(const struct wdn_mcp_call *call);
/**
 * Creates a task running tool t with params (borrowed; copied) and the inputs and state call
 * gathered so far; returns the CreateTaskResult, or NULL with e filled (-32603 when the server
 * keeps too many tasks).
 */
json_t *wdn__mcp_task_start(struct exchange *ex, struct tool *t, json_t *params,
                            struct wdn_mcp_call *call, struct rpc_err *e);
json_t *wdn__mcp_tasks_get(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e);
json_t *wdn__mcp_tasks_update(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e);
json_t *wdn__mcp_tasks_cancel(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e);
/** True once the task was cancelled (tasks/cancel, or the server stopping). */
bool wdn__mcp_task_cancelled(const struct task *t);
/** Ends every task (cancelled) and joins their threads; wdn_mcp_server_free calls it. */
void wdn__mcp_tasks_stop(struct wdn_mcp_server *srv);
/**
 * The CallToolResult of a finished round of tool t (content, structuredContent checked against
 * the output schema, isError), or NULL with e filled. rc is the handler's return value.
 */
json_t *wdn__mcp_tool_result(struct tool *t, struct wdn_mcp_call *call, int rc, struct rpc_err *e);

/* ---- server_methods.c ----------------------------------------------------------------- */

/** notifications/cancelled: flags the session's request with that id. */
void wdn__mcp_cancel(struct exchange *ex, json_t *params);
/**
 * Runs one request; returns the response message (result or error), never NULL unless out of
 * memory. *http_status is raised (404 for an unknown method on 2026-07-28, 400 for a missing
 * client capability).
 */
json_t *wdn__mcp_dispatch(struct exchange *ex, const struct wdn_jsonrpc_msg *m, int *http_status);

/* ---- server_headers.c ----------------------------------------------------------------- */

/** Finds a header (value trimmed); *count tells how many times it appeared. */
bool wdn__mcp_find_header(const struct wdn_mcp_http_request *req, const char *name,
                          struct wdn_str *val, int *count);
/** Does the Accept header admit type/subtype (wildcards honoured, q=0 excluded)? */
bool wdn__mcp_accepts(struct wdn_str accept, const char *type, const char *subtype);
/** The host part of an authority ("[::1]:80" -> "[::1]"); {NULL, 0} when malformed. */
struct wdn_str wdn__mcp_authority_host(struct wdn_str a);
bool wdn__mcp_authority_port_ok(struct wdn_str a, struct wdn_str host);
bool wdn__mcp_host_allowed(const struct wdn_mcp_server *srv, struct wdn_str host, bool for_origin);
bool wdn__mcp_origin_allowed(const struct wdn_mcp_server *srv, struct wdn_str origin);
bool wdn__mcp_path_matches(const struct wdn_mcp_server *srv, const char *target);
/** 2026-07-28 Mcp-Method/Mcp-Name/_meta: 0, -1 (HeaderMismatch) or 1 (-32602), why filled. */
int wdn__mcp_check_modern_headers(struct exchange *ex, const struct wdn_mcp_http_request *req,
                                  const struct wdn_jsonrpc_msg *m, char *why, size_t cap);
/** 2026-07-28 Mcp-Param-* headers of x-mcp-header arguments: 0 or -1 (why filled). */
int wdn__mcp_check_param_headers(struct exchange *ex, const struct wdn_mcp_http_request *req,
                                 const struct wdn_jsonrpc_msg *m, char *why, size_t cap);
/** The request's _meta log level, or -2 (none: no log messages). */
int wdn__mcp_modern_log_level(const struct wdn_jsonrpc_msg *m);

/* ---- server_session.c (the caller holds srv->mu) -------------------------------------- */

struct session *wdn__mcp_session_find(struct wdn_mcp_server *srv, struct wdn_str id);
/** A new session (id written to id_out, SESSION_ID_LEN + 1 bytes); WDN_ELIMIT, _ECRYPTO. */
int wdn__mcp_session_create(struct wdn_mcp_server *srv, const char *version, char *id_out);
void wdn__mcp_session_destroy(struct wdn_mcp_server *srv, struct session *victim);
bool wdn__mcp_session_resumable(const struct wdn_mcp_server *srv, const struct session *s);
void wdn__mcp_stream_unlink(struct wdn_mcp_server *srv, struct wdn_mcp_stream *st);
/** Lets go of a resumable stream's connection (ends a GET one; a POST's when end_post). */
void wdn__mcp_rs_detach(struct wdn_mcp_server *srv, struct rstream *rs, bool end_post);
void wdn__mcp_rs_release(struct wdn_mcp_server *srv, struct rstream *rs);
void wdn__mcp_rs_unlink(struct wdn_mcp_server *srv, struct session *s, struct rstream *rs);
void wdn__mcp_rs_sweep(struct wdn_mcp_server *srv, struct session *s, uint64_t now);
/** A new resumable stream holding two references (session's and caller's), or NULL. */
struct rstream *wdn__mcp_rs_new(struct wdn_mcp_server *srv, struct session *s, bool is_get);
/** Writes the priming event into buf; returns its length (0 when it does not fit). */
int wdn__mcp_rs_priming(const struct wdn_mcp_server *srv, const struct rstream *rs, char *buf,
                        size_t cap);
/** Sends one message on a resumable stream, keeping it for replay (msg borrowed). */
void wdn__mcp_rs_emit(struct wdn_mcp_server *srv, struct rstream *rs, const json_t *msg);
/** Reads a Last-Event-ID "<stream>-<seq>". */
bool wdn__mcp_event_id_parse(struct wdn_str v, uint64_t *stream, uint64_t *seq);

#endif
