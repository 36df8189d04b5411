/* The C MCP SDK: JSON-RPC 2.0 codec, a transport-neutral Streamable HTTP server core, a client. */
#ifndef WARDEN_MCP_H
#define WARDEN_MCP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warden/error.h"

/*
 * Conventions: functions return 0 or a negative WDN_E* code (warden/error.h). json_t values
 * follow jansson's rules: "steals" means the callee takes the caller's reference (also on
 * failure), "borrowed" means the callee neither keeps nor releases it beyond the call.
 */

/* ---------------------------------------------------------------------------------------- */
/* Protocol versions                                                                          */

#define WDN_MCP_V2025_03_26 "2025-03-26"
#define WDN_MCP_V2025_06_18 "2025-06-18"
#define WDN_MCP_V2025_11_25 "2025-11-25"
#define WDN_MCP_V2026_07_28 "2026-07-28"
/** The newest version negotiated through initialize (the "legacy", session era). */
#define WDN_MCP_LATEST_LEGACY WDN_MCP_V2025_11_25

/** True when v names a version this SDK implements (any of the four above). */
bool wdn_mcp_version_supported(const char *v);
/** True for versions without initialize (2026-07-28): per-request metadata, no sessions. */
bool wdn_mcp_version_is_modern(const char *v);

/* ---------------------------------------------------------------------------------------- */
/* JSON-RPC 2.0                                                                               */

#define WDN_JSONRPC_PARSE_ERROR (-32700)
#define WDN_JSONRPC_INVALID_REQUEST (-32600)
#define WDN_JSONRPC_METHOD_NOT_FOUND (-32601)
#define WDN_JSONRPC_INVALID_PARAMS (-32602)
#define WDN_JSONRPC_INTERNAL_ERROR (-32603)
/** Implementation-defined range used by MCP transports. */
#define WDN_MCP_ERR_TRANSPORT (-32000)
#define WDN_MCP_ERR_SESSION_NOT_FOUND (-32001)
#define WDN_MCP_ERR_RESOURCE_NOT_FOUND (-32002) /* before 2026-07-28; then -32602 */
/** 2026-07-28 codes (the -32020..-32099 range the spec reserves for itself). */
#define WDN_MCP_ERR_HEADER_MISMATCH (-32020)
#define WDN_MCP_ERR_MISSING_CAPABILITY (-32021)
#define WDN_MCP_ERR_UNSUPPORTED_VERSION (-32022)

/** The tasks extension (SEP-2663), negotiated through capabilities.extensions. */
#define WDN_MCP_EXT_TASKS "io.modelcontextprotocol/tasks"

enum wdn_jsonrpc_kind {
    WDN_JSONRPC_REQUEST = 1,  /* method + id */
    WDN_JSONRPC_NOTIFICATION, /* method, no id */
    WDN_JSONRPC_RESULT,       /* id + result */
    WDN_JSONRPC_ERROR,        /* id (may be null) + error */
};

/** One classified message. Every pointer is borrowed from the json_t it was classified from. */
struct wdn_jsonrpc_msg {
    enum wdn_jsonrpc_kind kind;
    json_t *id;         /* string or integer; NULL for notifications; json null for some errors */
    const char *method; /* requests and notifications */
    json_t *params;     /* object or array, or NULL when absent */
    json_t *result;     /* WDN_JSONRPC_RESULT */
    json_t *error;      /* WDN_JSONRPC_ERROR */
};

/** Why a message was refused: the JSON-RPC code to answer with and a short message. */
struct wdn_jsonrpc_fault {
    int code;          /* WDN_JSONRPC_* */
    json_t *id;        /* borrowed: the id when it could be read, else NULL (answer with null) */
    char message[160]; /* safe to send back: never echoes more than a short excerpt of input */
};

/**
 * Parses len bytes of UTF-8 JSON with the limits of src/base/limits.h (WDN_JSONRPC_MAX_BYTES,
 * WDN_JSON_MAX_DEPTH, duplicate keys refused). On success *out is a new reference (object or
 * array) owned by the caller. On failure fills fault (-32700 for bytes that are not JSON or
 * exceed a limit, -32600 for JSON that is neither an object nor an array) and returns
 * WDN_EPARSE or WDN_ELIMIT.
 */
int wdn_jsonrpc_parse(const char *buf, size_t len, json_t **out, struct wdn_jsonrpc_fault *fault);

/**
 * Classifies one JSON-RPC message (an element of a batch or a whole body). Ids must be strings
 * or integers (never null, except in an error response); "jsonrpc" must be "2.0"; params, when
 * present, must be an object or an array. 0 and fills msg, or WDN_EPROTO and fills fault
 * (-32600 with the id when readable).
 */
int wdn_jsonrpc_classify(json_t *obj, struct wdn_jsonrpc_msg *msg, struct wdn_jsonrpc_fault *fault);

/** A new result response {"jsonrpc","id","result"}; id borrowed, result stolen. NULL: no memory. */
json_t *wdn_jsonrpc_make_result(json_t *id, json_t *result);
/**
 * A new error response; id borrowed (NULL gives "id": null), message copied, data stolen
 * (may be NULL). NULL when out of memory.
 */
json_t *wdn_jsonrpc_make_error(json_t *id, int code, const char *message, json_t *data);
/** A new request (id borrowed) or notification (id NULL); params stolen (may be NULL). */
json_t *wdn_jsonrpc_make_request(json_t *id, const char *method, json_t *params);

/* ---------------------------------------------------------------------------------------- */
/* JSON Schema 2020-12 (tool input and output schemas)                                       */

/*
 * Every keyword of the 2020-12 core, applicator, unevaluated, validation and format vocabularies
 * is enforced except $dynamicRef/$dynamicAnchor and a nested $id: type, enum, const, the
 * numeric and length bounds, pattern and patternProperties (ECMA-262 regular expressions run by
 * PCRE2 under WDN_MCP_SCHEMA_MATCH_LIMIT/_DEPTH_LIMIT: a catastrophic pattern fails the value,
 * never hangs), required, dependentRequired, properties, additionalProperties, propertyNames,
 * prefixItems, items, contains/minContains/maxContains, uniqueItems, min/maxProperties,
 * allOf/anyOf/oneOf/not, if/then/else, dependentSchemas, unevaluatedProperties/Items, $ref to
 * "#", "#/json/pointer" or "#anchor" ($anchor), $defs, and format (asserted for date-time, date,
 * time, duration, email, hostname, ipv4, ipv6, uri, uri-reference, uuid, json-pointer,
 * relative-json-pointer, regex; other formats annotate). Annotations (title, description,
 * default, examples, $schema, $comment, x-* ...) are ignored. Anything else (remote $ref,
 * unknown keywords, draft-07's array "items") is refused at compilation, so a schema is never
 * silently half-checked; nothing is ever fetched.
 */
struct wdn_mcp_schema;

/**
 * Compiles schema (borrowed; the compiled schema keeps a reference). NULL with *rc set
 * (WDN_EUNSUPPORTED, WDN_EINVAL, WDN_ELIMIT beyond WDN_MCP_SCHEMA_MAX_NODES subschemas or
 * WDN_MCP_SCHEMA_MAX_PATTERN pattern bytes, WDN_ENOMEM) and a message in err (may be NULL).
 * A compiled schema is immutable: any thread may match with it.
 */
struct wdn_mcp_schema *wdn_mcp_schema_compile(const json_t *schema, int *rc, char *err,
                                              size_t errcap);
/**
 * Validates instance (borrowed). 0 when valid; WDN_EINVAL with a message naming the failing
 * location (e.g. "/b: expected number, got string") in err otherwise.
 */
int wdn_mcp_schema_match(const struct wdn_mcp_schema *s, const json_t *instance, char *err,
                         size_t errcap);
/** Frees a compiled schema; NULL is fine. */
void wdn_mcp_schema_free(struct wdn_mcp_schema *s);

/** Compiles and frees: 0 when schema would compile, else as wdn_mcp_schema_compile. */
int wdn_mcp_schema_check(const json_t *schema, char *err, size_t errcap);

/** Compiles schema and validates instance with it (both borrowed); see wdn_mcp_schema_match. */
int wdn_mcp_schema_validate(const json_t *schema, const json_t *instance, char *err, size_t errcap);

/* ---------------------------------------------------------------------------------------- */
/* Server                                                                                     */

struct wdn_mcp_server;
struct wdn_mcp_call;
struct wdn_mcp_stream;

/** Log levels of notifications/message (RFC 5424 order). */
enum wdn_mcp_log_level {
    WDN_MCP_LOG_DEBUG = 0,
    WDN_MCP_LOG_INFO,
    WDN_MCP_LOG_NOTICE,
    WDN_MCP_LOG_WARNING,
    WDN_MCP_LOG_ERROR,
    WDN_MCP_LOG_CRITICAL,
    WDN_MCP_LOG_ALERT,
    WDN_MCP_LOG_EMERGENCY,
};

/** Server settings; strings are copied by wdn_mcp_server_new. */
struct wdn_mcp_server_config {
    const char *name;         /* serverInfo.name (required) */
    const char *version;      /* serverInfo.version (required) */
    const char *title;        /* optional */
    const char *instructions; /* optional */
    const char *path;         /* the MCP endpoint, e.g. "/mcp"; NULL accepts any path */
    bool stateless;           /* no Mcp-Session-Id; GET and DELETE answer 405 */
    bool sse_responses;       /* answer every request with an SSE stream (else JSON unless
                                 the handler sends notifications first) */
    /* Host header names accepted (hostname part, no port); NULL: localhost, 127.0.0.1, [::1].
       A single "*" accepts any Host (behind a proxy that already checked it). */
    const char *const *allowed_hosts;
    /* Origin values accepted exactly (scheme://host[:port]); NULL: http(s) origins whose host
       is in allowed_hosts. */
    const char *const *allowed_origins;
    /* Resumable SSE streams (sessions of 2025-11-25 and later only; stateless servers cannot
       resume): every SSE event carries an id "<stream>-<seq>", each SSE stream opens with a
       priming event (an id and empty data), and the last events of each stream are kept
       (WDN_MCP_RESUME_* in src/base/limits.h) so that a client which lost the connection
       resumes with GET + Last-Event-ID and gets the rest of that stream only. */
    bool resumable;
    /* SSE polling (SEP-1699), 0 = off; implies resumable. Priming events carry
       "retry: sse_poll_ms" (at most WDN_MCP_RESUME_MAX_RETRY_MS), and the POST stream of a
       tools/call is closed right after its priming event, so that no connection is held while
       the tool runs: the client reconnects with GET + Last-Event-ID and gets the result. */
    long sse_poll_ms;
    /* Added for 2026-07-28 and its extensions (zero keeps the defaults). */
    /* Entries per page of tools/list, resources/list, resources/templates/list, prompts/list;
       0: WDN_MCP_PAGE_SIZE. Longer lists carry nextCursor. */
    size_t page_size;
    /* Caching hints of 2026-07-28 list and discovery results (SEP-2549): ttlMs (>= 0) and
       cacheScope "public" (cache_public) or "private" (the default: a sidecar may filter lists
       per caller). resources/read results take wdn_mcp_call_cache's, else ttlMs 0, private. */
    long cache_ttl_ms;
    bool cache_public;
    /* Key that seals requestState (multi round-trip requests, SEP-2322) with HMAC-SHA256, 32
       bytes; NULL: random per server (state then only verifies on the server that made it:
       give every instance behind a load balancer the same key). Copied. */
    const unsigned char *state_key;
    size_t state_key_len;
    /* Tasks (SEP-2663): ttlMs and pollIntervalMs of new tasks; 0: WDN_MCP_TASK_TTL_MS and
       WDN_MCP_TASK_POLL_MS. */
    long task_ttl_ms;
    long task_poll_ms;
};

/** A new server, or NULL (out of memory or missing name/version). Free with _free. */
struct wdn_mcp_server *wdn_mcp_server_new(const struct wdn_mcp_server_config *cfg);
/** Frees the server, its sessions and registrations; ends open GET streams. NULL is fine. */
void wdn_mcp_server_free(struct wdn_mcp_server *srv);

/**
 * A tool handler. args is the validated "arguments" object (borrowed; {} when absent). Fill
 * the result with the wdn_mcp_call_* functions. A negative return becomes an isError result
 * (with the error's text unless the handler added content). Runs on the thread that called
 * wdn_mcp_server_handle, without any server lock held.
 */
typedef int (*wdn_mcp_tool_fn)(struct wdn_mcp_call *call, json_t *args, void *ud);

/** A tool. Strings and JSON texts are copied at registration; ud is borrowed. */
struct wdn_mcp_tool {
    const char *name;          /* 1-128 of [A-Za-z0-9_.-] */
    const char *title;         /* optional */
    const char *description;   /* optional but expected */
    const char *input_schema;  /* JSON text of an object schema; NULL: {"type":"object"} */
    const char *output_schema; /* optional JSON text; structuredContent is validated by it */
    const char *annotations;   /* optional JSON text of ToolAnnotations */
    wdn_mcp_tool_fn fn;
    void *ud;
    /* Added for tasks (SEP-2663); zero keeps the plain behaviour. */
    enum wdn_mcp_task_support {
        WDN_MCP_TASK_NEVER = 0, /* always answered synchronously */
        WDN_MCP_TASK_OPTIONAL,  /* a task when the client declared the tasks extension */
        WDN_MCP_TASK_REQUIRED,  /* a task; a client without the extension gets -32021 */
    } task_support;
    /* Optional, for task tools: runs synchronously before the task is created and may gather
       input with multi round-trip requests (the client sees input_required rounds first, then
       the task). fn then runs in the task and sees the same inputs and state. */
    wdn_mcp_tool_fn prepare;
    /* The handlers (fn, prepare) never block and return fast (no I/O, no waiting, no
       wdn_mcp_call_request): the HTTP adapter may run them on its loop thread instead of
       handing each call to the thread pool and back (see wdn_mcp_server_is_quick). */
    bool quick;
};

/** Registers a tool; WDN_EEXISTS for a duplicate name, WDN_EUNSUPPORTED for a bad schema. */
int wdn_mcp_server_add_tool(struct wdn_mcp_server *srv, const struct wdn_mcp_tool *tool);

/**
 * Reads a resource. uri is the requested URI (for templates, the expanded one). Append
 * content objects ({"uri","mimeType","text"} or {"uri","mimeType","blob"}) to contents
 * (borrowed array). Return 0, WDN_ENOTFOUND (-> -32002) or another error (-> -32603).
 */
typedef int (*wdn_mcp_read_fn)(struct wdn_mcp_call *call, const char *uri, json_t *contents,
                               void *ud);

/** A resource (uri) or resource template (uri_template, RFC 6570 level 1 "{var}"). Copied. */
struct wdn_mcp_resource {
    const char *uri; /* exactly one of uri and uri_template */
    const char *uri_template;
    const char *name;
    const char *title;
    const char *description;
    const char *mime_type;
    wdn_mcp_read_fn read;
    void *ud;
    bool quick; /* read never blocks and returns fast (as wdn_mcp_tool.quick) */
};

/** Registers a resource or a template. WDN_EEXISTS, WDN_EINVAL, WDN_ELIMIT. */
int wdn_mcp_server_add_resource(struct wdn_mcp_server *srv, const struct wdn_mcp_resource *r);

/**
 * Renders a prompt: args is the "arguments" object (borrowed, string values; required ones
 * checked already). Set *messages to a new array of PromptMessage objects (ownership passes to
 * the server). 0 or a negative code (-> -32603).
 */
typedef int (*wdn_mcp_prompt_fn)(struct wdn_mcp_call *call, json_t *args, json_t **messages,
                                 void *ud);

/**
 * Completes an argument of a prompt or resource template: append candidate strings to values
 * (borrowed array; the server keeps at most 100). ref_name is the prompt name or template.
 */
typedef int (*wdn_mcp_complete_fn)(const char *ref_name, const char *arg, const char *value,
                                   json_t *values, void *ud);

struct wdn_mcp_prompt_arg {
    const char *name;
    const char *description;
    bool required;
};

/** A prompt. Copied at registration. */
struct wdn_mcp_prompt {
    const char *name;
    const char *title;
    const char *description;
    const struct wdn_mcp_prompt_arg *args;
    size_t nargs;
    wdn_mcp_prompt_fn get;
    void *ud;
    bool quick; /* get never blocks and returns fast (as wdn_mcp_tool.quick) */
};

int wdn_mcp_server_add_prompt(struct wdn_mcp_server *srv, const struct wdn_mcp_prompt *p);

/** Sets the completion hook for completion/complete (prompts and templates). */
void wdn_mcp_server_set_completer(struct wdn_mcp_server *srv, wdn_mcp_complete_fn fn, void *ud);

/* Helpers a handler calls on its struct wdn_mcp_call (borrowed; valid during the handler). */

/** Appends a text content block to the tool result. */
int wdn_mcp_call_text(struct wdn_mcp_call *call, const char *text);
/** Appends any content block (stolen): image, audio, resource, resource_link. */
int wdn_mcp_call_content(struct wdn_mcp_call *call, json_t *block);
/** Sets structuredContent (stolen, must be an object). */
int wdn_mcp_call_structured(struct wdn_mcp_call *call, json_t *obj);
/** Marks the result isError (tool execution failed). */
void wdn_mcp_call_set_error(struct wdn_mcp_call *call);
/**
 * Sends notifications/progress when the request carried a progressToken (no-op otherwise).
 * total <= 0 omits it; message may be NULL. Switches the response to an SSE stream.
 */
int wdn_mcp_call_progress(struct wdn_mcp_call *call, double progress, double total,
                          const char *message);
/** Sends notifications/message when level is at or above the session's level; data stolen. */
int wdn_mcp_call_log(struct wdn_mcp_call *call, enum wdn_mcp_log_level level, const char *logger,
                     json_t *data);
/**
 * Sends a request to the client (sampling/createMessage, elicitation/create, roots/list) on
 * this request's SSE stream and waits up to timeout_ms for the client's reply, which arrives on
 * another POST. params stolen. On success *result is a new reference to the reply's result. A
 * JSON-RPC error reply gives WDN_EPROTO with its message in errmsg; WDN_ESTATE when there is no
 * session (stateless servers and 2026-07-28 cannot carry server requests); WDN_ETIMEOUT.
 * Blocks the calling thread, so the server must run handlers off the HTTP loop thread.
 */
int wdn_mcp_call_request(struct wdn_mcp_call *call, const char *method, json_t *params,
                         long timeout_ms, json_t **result, char *errmsg, size_t errcap);
/**
 * Checks that the client declared a capability ("sampling", "elicitation", "roots") in
 * initialize (or, for 2026-07-28, in this request's _meta). 0 when declared or unknown (a
 * stateless server of the initialize era cannot know). Otherwise WDN_EUNSUPPORTED: return it
 * from the tool handler and the client gets MissingRequiredClientCapability (-32021, with
 * data.requiredCapabilities; HTTP 400 on 2026-07-28) instead of a result.
 */
int wdn_mcp_call_require_capability(struct wdn_mcp_call *call, const char *capability);
/*
 * Input from the client (elicitation/create, sampling/createMessage, roots/list), in every
 * protocol version. A handler runs in rounds: it reads the answers it has with
 * wdn_mcp_call_input, queues what it still needs with wdn_mcp_call_input_request and returns;
 * the SDK gets the answers and runs the handler again with all answers so far, until a round
 * queues nothing. How the answers come:
 *  - 2026-07-28 (multi round-trip requests, SEP-2322): the client gets an InputRequiredResult
 *    ({resultType:"input_required", inputRequests, requestState}) and retries the request with
 *    inputResponses; requestState carries the handler's state sealed with HMAC-SHA256 (bound to
 *    method, name and WDN_MCP_STATE_TTL_MS), so a tampered or foreign state is refused (-32602).
 *  - in a task: the task shows status input_required with the unanswered requests until
 *    tasks/update brings their answers (a partial answer keeps it waiting for the rest).
 *  - in a session of the initialize era: each request goes to the client on the SSE stream,
 *    as wdn_mcp_call_request does (handlers then run off the loop thread).
 * A round that also produced content has it discarded. At most WDN_MCP_MAX_INPUT_ROUNDS rounds.
 */

/**
 * Queues a request to the client under key (1-64 of [A-Za-z0-9_.-], unique in the round;
 * params stolen). WDN_EUNSUPPORTED when the client did not declare the capability the method
 * needs (elicitation, sampling, roots): the handler may then do without, or return the error
 * from wdn_mcp_call_require_capability. WDN_EINVAL for another method or a bad key,
 * WDN_EEXISTS for a key queued already, WDN_ELIMIT beyond WDN_MCP_MAX_INPUT_REQUESTS.
 */
int wdn_mcp_call_input_request(struct wdn_mcp_call *call, const char *key, const char *method,
                               json_t *params);
/** The client's answer to the request queued under key (borrowed, an object), or NULL. */
json_t *wdn_mcp_call_input(const struct wdn_mcp_call *call, const char *key);
/** The state the handler set in the previous round (verified), or NULL. */
const char *wdn_mcp_call_state(const struct wdn_mcp_call *call);
/** Sets the state the next round sees (copied; with the answers so far it must fit in
 * WDN_MCP_MAX_STATE_BYTES when it travels in requestState). */
int wdn_mcp_call_set_state(struct wdn_mcp_call *call, const char *state);
/**
 * Ends the request with a JSON-RPC error instead of a result: a protocol failure, not a tool
 * error (those are wdn_mcp_call_set_error). In a task the task becomes failed with this error.
 * The handler's return value is then ignored.
 */
void wdn_mcp_call_fail(struct wdn_mcp_call *call, int code, const char *message);
/** Caching hints of this result (resources/read on 2026-07-28): ttl_ms >= 0, public or not. */
void wdn_mcp_call_cache(struct wdn_mcp_call *call, long ttl_ms, bool public_scope);
/** True when this call runs as a task (SEP-2663). */
bool wdn_mcp_call_is_task(const struct wdn_mcp_call *call);

/** True once the client cancelled this request (notifications/cancelled, or tasks/cancel). */
bool wdn_mcp_call_cancelled(const struct wdn_mcp_call *call);
/** The protocol version this request is served under (static string). */
const char *wdn_mcp_call_version(const struct wdn_mcp_call *call);
/**
 * The W3C traceparent of the request being handled, for the requests a handler makes in turn
 * (send it as the traceparent header, or in params._meta): the request's span when the server
 * has a tracer, else the caller's context passed on. Writes 55 characters and a NUL into out
 * (cap >= 56). 0, or WDN_ENOTFOUND when there is no trace context, WDN_ELIMIT when cap is short.
 */
int wdn_mcp_call_traceparent(const struct wdn_mcp_call *call, char *out, size_t cap);

struct wdn_tracer; /* warden/trace.h */
/**
 * Records a span for every JSON-RPC request the server handles ("tools/call get_weather",
 * kind SERVER, OpenTelemetry's MCP attributes), a child of the request's params._meta
 * traceparent (SEP-414) or, without one, of its HTTP traceparent header. t is borrowed and must
 * outlive the server; NULL turns spans off. Call before the server handles requests.
 */
void wdn_mcp_server_set_tracer(struct wdn_mcp_server *srv, struct wdn_tracer *t);

/* The HTTP-level interface: the adapter translates its HTTP server's request to this. */

/** A header as slices; neither is NUL-terminated. Names compare case-insensitively. */
struct wdn_mcp_hdr {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/** One HTTP request as seen by the MCP endpoint; everything borrowed for the call. */
struct wdn_mcp_http_request {
    const char *method; /* "POST", "GET", "DELETE", ... (NUL-terminated) */
    const char *target; /* request target, path and optional query (NUL-terminated) */
    const struct wdn_mcp_hdr *headers;
    size_t nheaders;
    const char *body;
    size_t body_len;
    /* Added: the body already parsed with wdn_jsonrpc_parse (borrowed), or NULL: the core
       parses it. Lets a caller that classified the request (wdn_mcp_server_is_quick) avoid a
       second parse. */
    json_t *parsed;
};

/** A response header; both strings NUL-terminated and valid only during the head callback. */
struct wdn_mcp_out_header {
    const char *name;
    const char *value;
};

/**
 * Where the server writes the answer. head is called exactly once, before any body bytes.
 * body carries raw bytes: a JSON document, or SSE events already framed ("data: ...\n\n").
 * When wdn_mcp_server_handle returns and *stream is NULL, the response is complete. end is
 * called for a stream left open (a GET stream) when the server closes it, and, on a server
 * with sse_poll_ms, while wdn_mcp_server_handle still runs, when it closes the connection of a
 * POST's SSE stream early (the request goes on; the rest of its stream waits for a GET with
 * Last-Event-ID); body is not called after end. An out without end is never closed early.
 * Callbacks return 0, or non-zero when the connection is gone (the server then stops writing).
 */
struct wdn_mcp_http_out {
    int (*head)(void *ud, int status, const struct wdn_mcp_out_header *headers, size_t n);
    int (*body)(void *ud, const char *p, size_t n);
    void (*end)(void *ud);
    void *ud;
};

/**
 * Handles one HTTP request to the MCP endpoint: every Streamable HTTP rule (Origin/Host 403,
 * 405, 406, 415, 413, 400/404 sessions, protocol version header, 202 for notifications and
 * responses, batches for 2025-03-26, 2026-07-28 request headers) and the JSON-RPC methods.
 * Runs tool handlers synchronously. With resumable streams (cfg.resumable, cfg.sse_poll_ms), a
 * GET with Last-Event-ID replays the rest of that stream of the session (400 for an id it
 * cannot resume from). Returns 0 when an answer was written through out; when the answer is a
 * long-lived GET stream (a standalone one, or a resumed stream still running), *stream is set
 * and the caller must call wdn_mcp_server_stream_close when the connection goes away. Negative only
 * when head could not be produced (out of memory before any byte was written): answer 500.
 */
int wdn_mcp_server_handle(struct wdn_mcp_server *srv, const struct wdn_mcp_http_request *req,
                          const struct wdn_mcp_http_out *out, struct wdn_mcp_stream **stream);

/**
 * True when handling req can run on a thread that must not block: it reaches no handler, or
 * only quick ones (wdn_mcp_tool.quick and the like), and none that may wait for the client
 * (input rounds in a session of the initialize era, SSE polling). Reads req->parsed (NULL, and
 * a POST is not quick). The HTTP adapter runs quick requests on its loop thread.
 */
bool wdn_mcp_server_is_quick(const struct wdn_mcp_server *srv,
                             const struct wdn_mcp_http_request *req);

/**
 * Detaches a GET stream whose connection closed; the server forgets out. ud is the out.ud the
 * stream was opened with: the server may end and free a stream on its own (calling out->end)
 * while the caller is about to close it, and a new stream may then have the same address; the
 * pair (stream, ud) cannot be mistaken for it. Idempotent per stream. A resumable stream stays
 * resumable (GET + Last-Event-ID) for WDN_MCP_RESUME_TTL_MS.
 */
void wdn_mcp_server_stream_close(struct wdn_mcp_server *srv, struct wdn_mcp_stream *stream,
                                 const void *ud);

/**
 * Sends a server notification (method, params stolen) on every open GET stream, e.g.
 * notifications/tools/list_changed. Returns the number of streams written, or negative.
 */
int wdn_mcp_server_broadcast(struct wdn_mcp_server *srv, const char *method, json_t *params);

/**
 * Sends notifications/resources/updated {uri} on the GET stream of every session that
 * subscribed to uri (resources/subscribe). Returns the number of streams written, or negative.
 */
int wdn_mcp_server_resource_updated(struct wdn_mcp_server *srv, const char *uri);

/** Number of live sessions (for tests and metrics). */
size_t wdn_mcp_server_session_count(struct wdn_mcp_server *srv);

/* ---------------------------------------------------------------------------------------- */
/* Client (blocking, on warden's own HTTP/1.1 client in src/http/fetch.h)                     */

struct wdn_mcp_client;

/**
 * Supplies a bearer token for each HTTP request: write a NUL-terminated token into buf (cap
 * bytes) and return 0, or return a negative code to fail the request. The client calls it
 * before every request, so a provider with its own cache (the OAuth2 client) refreshes freely.
 */
typedef int (*wdn_mcp_token_fn)(void *ud, char *buf, size_t cap);

/** Receives notifications (and server requests, which the client then answers) from SSE. */
typedef void (*wdn_mcp_notify_fn)(void *ud, const char *method, json_t *params);

/**
 * Answers a request from the server: elicitation/create, sampling/createMessage, roots/list,
 * sent on an SSE stream (initialize era) or as an inputRequest of an input_required result
 * (2026-07-28, SEP-2322). params is borrowed. Set *result to a new reference to the result
 * object and return 0; return WDN_ENOTFOUND for a method the application does not handle
 * (the server gets -32601) or another negative code (-32603 with msg). ping is answered by the
 * client itself.
 */
typedef int (*wdn_mcp_request_fn)(void *ud, const char *method, json_t *params, json_t **result,
                                  char *msg, size_t cap);

/**
 * An authorization provider: puts credentials on each HTTP request and reacts when the server
 * refuses one. include/warden/mcp_auth.h has the OAuth 2.1 one (MCP authorization); any other
 * scheme can be written against this. Callbacks run between HTTP exchanges (never inside one),
 * so they may make HTTP requests of their own; headers also runs on the thread that reads the
 * session's GET stream (when on_notify or on_request is set), so it must be thread-safe.
 */
struct wdn_mcp_auth {
    /**
     * Adds the credentials of one HTTP request (method "POST", "GET" or "DELETE" to url): call
     * add(ctx, "Name: value") once per header line ("Authorization: Bearer ...", "DPoP: ...").
     * Adding nothing sends the request without credentials. 0, or a negative code to fail the
     * request (msg says why).
     */
    int (*headers)(void *ud, const char *method, const char *url,
                   int (*add)(void *ctx, const char *line), void *ctx, char *msg, size_t cap);
    /**
     * The server answered 401 or 403; www_authenticate and dpop_nonce are the response's
     * WWW-Authenticate and DPoP-Nonce headers ("" when absent). Return 0 when credentials
     * changed and the request should be sent again, or a negative code (WDN_EAUTH, WDN_EDENIED)
     * with msg. The client asks at most WDN_MCP_CLIENT_AUTH_RETRIES times per request.
     */
    int (*refused)(void *ud, long status, const char *www_authenticate, const char *dpop_nonce,
                   char *msg, size_t cap);
    /** Optional: the DPoP-Nonce header of any other response (RFC 9449 section 9). */
    void (*nonce)(void *ud, const char *dpop_nonce);
    /** Optional: the server accepted a request with the credentials last added. */
    void (*accepted)(void *ud);
    void *ud;
};

/** Client settings; strings are copied by wdn_mcp_client_new. */
struct wdn_mcp_client_config {
    const char *url;              /* the MCP endpoint (http:// or https://) */
    const char *protocol_version; /* requested version; NULL: WDN_MCP_LATEST_LEGACY. With
                                     2026-07-28 the client sends server/discover and falls
                                     back to initialize for older servers. */
    const char *client_name;      /* clientInfo.name; NULL: "warden-mcp-client" */
    const char *client_version;   /* NULL: WDN_VERSION */
    const char *bearer_token;     /* static token, or NULL */
    wdn_mcp_token_fn token_fn;    /* wins over bearer_token when set */
    void *token_ud;
    const char *const *extra_headers; /* NULL-terminated "Name: value" lines (dapr-api-token) */
    long timeout_ms;                  /* 0: WDN_MCP_CLIENT_TIMEOUT_MS */
    wdn_mcp_notify_fn on_notify;      /* optional */
    void *notify_ud;
    /* Added for authorization and 2026-07-28 (zero keeps the behaviour above). */
    const struct wdn_mcp_auth *auth; /* borrowed, must outlive the client; wins over tokens */
    wdn_mcp_request_fn on_request;   /* optional: the server's requests (see above) */
    void *request_ud;
    const char *capabilities; /* ClientCapabilities as JSON object text, e.g.
                                 {"elicitation":{"applyDefaults":true}}; NULL: {} */
    bool progress;            /* tools/call asks for notifications/progress (to on_notify) */
};

/** What went wrong in a client call; fields are 0/"" when they do not apply. */
struct wdn_mcp_error {
    int code;         /* WDN_E*: CONNREFUSED, TIMEOUT, HTTP_STATUS, PROTO, AUTH, DENIED ... */
    long http_status; /* e.g. 401, 403, 404; 0 when no HTTP answer arrived */
    long rpc_code;    /* the JSON-RPC error code when the server answered with an error */
    char message[256];
    /* The WWW-Authenticate challenge of a 401/403 ("" when none): its resource_metadata
     * (RFC 9728) and scope tell an OAuth2 token provider where and what to ask for. */
    char www_authenticate[512];
};

/** A new client, or NULL (bad URL, no memory); err may be NULL. */
struct wdn_mcp_client *wdn_mcp_client_new(const struct wdn_mcp_client_config *cfg,
                                          struct wdn_mcp_error *err);
/** Ends the session (DELETE) when one exists and frees the client. NULL is fine. */
void wdn_mcp_client_free(struct wdn_mcp_client *c);

/**
 * Starts talking: initialize + notifications/initialized (legacy versions; keeps the
 * Mcp-Session-Id and the negotiated version) or server/discover (2026-07-28, retried once with
 * a version the server names in UnsupportedProtocolVersion; servers of the initialize era get
 * initialize instead). 401 gives WDN_EAUTH, 403 WDN_EDENIED, other statuses WDN_EHTTP_STATUS,
 * with err->http_status set.
 */
int wdn_mcp_client_connect(struct wdn_mcp_client *c, struct wdn_mcp_error *err);
/** The negotiated protocol version (static string) after connect, else NULL. */
const char *wdn_mcp_client_version(const struct wdn_mcp_client *c);
/** The server's initialize (or discover) result, borrowed, or NULL. */
json_t *wdn_mcp_client_server_info(const struct wdn_mcp_client *c);

/**
 * Sends a request and waits for its response (JSON or SSE). params stolen (may be NULL). On
 * success *result is a new reference. A JSON-RPC error answer gives WDN_EPROTO with
 * err->rpc_code and the server's message. An input_required result (2026-07-28) is answered
 * through on_request and retried (at most WDN_MCP_CLIENT_INPUT_ROUNDS times), so *result is
 * always a complete result. WDN_ECANCELED after wdn_mcp_client_cancel (notifications/cancelled
 * is then sent for it).
 */
int wdn_mcp_client_request(struct wdn_mcp_client *c, const char *method, json_t *params,
                           json_t **result, struct wdn_mcp_error *err);
/** Sends a notification (params stolen); expects 202. */
int wdn_mcp_client_notify(struct wdn_mcp_client *c, const char *method, json_t *params,
                          struct wdn_mcp_error *err);
/**
 * tools/list, following nextCursor; *tools is a new array reference. Tools whose input schema
 * maps parameters to headers in a way SEP-2243 forbids (x-mcp-header empty, not a token, on a
 * non-primitive, duplicated) are left out; the valid mappings are remembered for tools/call.
 */
int wdn_mcp_client_list_tools(struct wdn_mcp_client *c, json_t **tools, struct wdn_mcp_error *err);
/**
 * tools/call; args stolen (NULL: {}); *result is the CallToolResult (new reference). On
 * 2026-07-28, arguments that the tool's schema maps with x-mcp-header travel as Mcp-Param-*
 * headers too (call wdn_mcp_client_list_tools first so the client knows the mapping).
 */
int wdn_mcp_client_call_tool(struct wdn_mcp_client *c, const char *name, json_t *args,
                             json_t **result, struct wdn_mcp_error *err);
/**
 * A list method (resources/list, resources/templates/list, prompts/list, tools/list without
 * the header bookkeeping), following nextCursor; key names the array ("resources",
 * "resourceTemplates", "prompts"); *items is a new array reference.
 */
int wdn_mcp_client_list(struct wdn_mcp_client *c, const char *method, const char *key,
                        json_t **items, struct wdn_mcp_error *err);
/**
 * skills/list (the io.modelcontextprotocol/skills extension, SEP-2640): *skills is a new array
 * of skill entries ({uri, frontmatter, resources: [{uri, digest, size}]}). Lists only: no file is
 * fetched before the application asks for it.
 */
int wdn_mcp_client_list_skills(struct wdn_mcp_client *c, json_t **skills,
                               struct wdn_mcp_error *err);
/**
 * Reads file uri of skill (an entry of wdn_mcp_client_list_skills, borrowed) with
 * resources/read and returns its text (malloc'd, caller frees) only when it matches the entry:
 * the listed byte size and SHA-256 digest, and for the skill's SKILL.md the listed frontmatter
 * field by field. A mismatch gives WDN_EAUTH and no text: do not load the skill.
 */
int wdn_mcp_client_read_skill_file(struct wdn_mcp_client *c, const json_t *skill, const char *uri,
                                   char **text, struct wdn_mcp_error *err);
/** The text of the first text block of a CallToolResult (borrowed from result), or NULL. */
const char *wdn_mcp_result_text(const json_t *result);
/**
 * Abandons the request in progress (async-signal-safe: call it from a SIGINT handler). The
 * blocked call returns WDN_ECANCELED after telling the server with notifications/cancelled.
 */
void wdn_mcp_client_cancel(struct wdn_mcp_client *c);
/**
 * The W3C trace context this client's requests carry from now on (SEP-414): traceparent and,
 * when not NULL, tracestate go into each request's params._meta (a _meta.traceparent the caller
 * put in params stays) and into the traceparent/tracestate headers of its HTTP request, so the
 * server, and any sidecar between, continue that trace. Typically the traceparent of the span
 * the application is in (inside an MCP tool: wdn_mcp_call_traceparent). NULL clears it.
 * WDN_EINVAL, and nothing changes, when either value is not valid W3C Trace Context.
 */
int wdn_mcp_client_set_trace(struct wdn_mcp_client *c, const char *traceparent,
                             const char *tracestate);

#endif
