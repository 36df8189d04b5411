/* Internal to the MCP client (src/mcp/client*.c): the client object and the functions its files
 * share. client.c is the API and the requests, client_http.c one HTTP exchange (headers, JSON or
 * SSE answers, resumption, authorization retries), client_session.c the lifecycle (initialize,
 * server/discover, fallback, per-request metadata), client_tools.c what tools/list teaches the
 * client (x-mcp-header mapping) and client_input.c the server's requests (SSE and
 * input_required results). */
#ifndef WDN_MCP_CLIENT_INT_H
#define WDN_MCP_CLIENT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/limits.h"
#include "trace/context.h"
#include "warden/mcp.h"

#define WDN__MCP_SESSION_MAX 256

struct wdn__mcp_tool_headers; /* client_tools.c */

struct wdn_mcp_client {
    char *url;
    char *want_version;
    char *name;
    char *cversion;
    char *static_token;
    wdn_mcp_token_fn token_fn;
    void *token_ud;
    const struct wdn_mcp_auth *auth; /* borrowed */
    char **extra;                    /* NULL-terminated copies of the extra header lines */
    size_t nextra;
    long timeout_ms;
    wdn_mcp_notify_fn on_notify;
    void *notify_ud;
    wdn_mcp_request_fn on_request;
    void *request_ud;
    json_t *capabilities;                      /* ClientCapabilities declared (object) */
    bool progress;                             /* ask for progress notifications on tools/call */
    char traceparent[WDN_TRACEPARENT_LEN + 1]; /* wdn_mcp_client_set_trace; "" none */
    char tracestate[WDN_TRACESTATE_MAX_BYTES + 1]; /* "" none */

    pthread_mutex_t lock; /* session, between the caller and the GET stream's thread */
    char session[WDN__MCP_SESSION_MAX + 1];
    const char *version; /* negotiated, static */
    bool modern;
    json_t *server_info;
    json_int_t next_id;
    atomic_bool stop;      /* wdn_mcp_client_cancel: abandon the exchange in progress */
    /* A tools/call that may become a task (the tasks extension declared) is not abandoned at
     * once when cancelled: its exchange obeys task_stop, which a watchdog raises
     * WDN_MCP_CLIENT_TASK_CANCEL_WAIT_MS after stop, so that a CreateTaskResult arriving
     * meanwhile is ended with tasks/cancel (client.c). */
    bool task_grace;
    atomic_bool task_stop;
    json_int_t current_id; /* the request in flight (for notifications/cancelled), 0 none */
    struct wdn__mcp_tool_headers *tool_headers;
    pthread_t listener; /* the standalone GET stream's reader (client_http.c) */
    bool listening;
    atomic_bool listen_stop;
    pthread_cond_t listen_cond; /* with lock: the stream's first answer arrived (listen_ready) */
    bool listen_ready;
};

void wdn__mcp_err_set(struct wdn_mcp_error *e, int code, long http, long rpc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/** The static string for a version this SDK speaks, or NULL (defined in server.c, shared). */
const char *wdn__mcp_static_version(const char *v);
/** True when s has no control character other than TAB (safe in a header value). */
bool wdn__mcp_header_value_ok(const char *s);

/**
 * POSTs msg (a request when want_id is set, else a notification or response) and, for a
 * request, waits for its response in a JSON body or on an SSE stream (resuming the stream when
 * it breaks); *response receives the whole response message (new reference). Applies the
 * authorization provider and retries after a 401/403 it resolved. Only main exchanges (not the
 * replies sent from inside an SSE stream) adopt a session id. *status (may be NULL) receives the
 * last HTTP status. 0 or a WDN_E* code with err filled.
 */
int wdn__mcp_post(struct wdn_mcp_client *c, bool main_exchange, json_t *msg, json_t *want_id,
                  json_t **response, long *status, struct wdn_mcp_error *err);
/**
 * Opens the session's standalone GET stream on a thread of its own when the application takes
 * notifications or requests (initialize era only); _stop ends and joins it.
 */
void wdn__mcp_listen_start(struct wdn_mcp_client *c);
void wdn__mcp_listen_stop(struct wdn_mcp_client *c);
/** Ends the session with DELETE (its answer does not matter). */
void wdn__mcp_delete_session(struct wdn_mcp_client *c);

/**
 * Sends request method with params (stolen) and returns its result object (new reference) in
 * *result. Adds the per-request metadata of 2026-07-28, answers input_required results (MRTR)
 * through the request handler and retries. JSON-RPC errors give WDN_EPROTO with err->rpc_code.
 */
int wdn__mcp_request(struct wdn_mcp_client *c, const char *method, json_t *params, json_t **result,
                     long *status, struct wdn_mcp_error *err);
/** Sends one request without the MRTR loop (client_session.c's server/discover retries). */
int wdn__mcp_request_once(struct wdn_mcp_client *c, const char *method, json_t *params,
                          json_t **response, long *status, struct wdn_mcp_error *err);

/** Adds the 2026-07-28 per-request _meta to params (created when NULL); NULL: no memory. */
/* params._meta, made when absent; NULL when params is not an object (positional) or memory ran out. */
json_t *wdn__mcp_meta(json_t *params);
json_t *wdn__mcp_with_meta(struct wdn_mcp_client *c, json_t *params);

/**
 * Answers a request the server sent (elicitation/create, sampling/createMessage, roots/list,
 * ping): through the application's handler, with SEP-1034 defaults applied to an accepted
 * elicitation. Returns the JSON-RPC response to send (new reference), or NULL when out of memory.
 */
json_t *wdn__mcp_answer(struct wdn_mcp_client *c, json_t *id, const char *method, json_t *params);
/**
 * Fulfils the inputRequests of an input_required result: *responses receives the
 * inputResponses object (new reference). 0, or WDN_EUNSUPPORTED when a request has no handler.
 */
int wdn__mcp_input_responses(struct wdn_mcp_client *c, json_t *input_requests, json_t **responses,
                             struct wdn_mcp_error *err);

/**
 * Drives a task (SEP-2663) that the server created instead of answering (created: the
 * CreateTaskResult, borrowed) to its end; *result: the completed task's result (new reference).
 * WDN_EPROTO for a failed task (err->rpc_code: its error), WDN_ECANCELED (client_tasks.c).
 */
int wdn__mcp_task_wait(struct wdn_mcp_client *c, json_t *created, json_t **result,
                       struct wdn_mcp_error *err);

/** Learns the x-mcp-header mapping of tools (a tools/list page); removes invalid tools from it. */
int wdn__mcp_tools_learn(struct wdn_mcp_client *c, json_t *tools);
/**
 * Calls add(ctx, line) with one "Mcp-Param-Name: value" line for each argument of tool name
 * that its schema maps to a header (values encoded as SEP-2243 says). 0 or a negative code.
 */
int wdn__mcp_tool_param_headers(struct wdn_mcp_client *c, const char *name, json_t *args,
                                int (*add)(void *ctx, const char *line), void *ctx);
void wdn__mcp_tools_free(struct wdn_mcp_client *c);

/**
 * Checks content (len bytes) of file uri against skill, an entry of skills/list: listed, the
 * listed size and sha256 digest, and for the skill's SKILL.md the listed frontmatter exactly.
 * 0, or WDN_ENOTFOUND / WDN_EAUTH with why filled (fuzzed: fuzz/fuzz_mcp_skill.c).
 */
int wdn__mcp_skill_verify(const json_t *skill, const char *uri, const char *p, size_t len,
                          char *why, size_t cap);

#endif
