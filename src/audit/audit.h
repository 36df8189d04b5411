/* Audit records: one JSON line per access decision and per MCP tool call, hash-chained (each
 * record carries the SHA-256 of the line before it, across file rotations and restarts), written
 * by a thread of their own from a bounded queue so that a full disk or a slow sink never blocks
 * or fails a request. Never a token or a secret: only claims of verified tokens, and the
 * SHA-256 of tool arguments unless recording them was asked for. See docs/audit.md. */
#ifndef WDN_AUDIT_AUDIT_H
#define WDN_AUDIT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/str.h"

/** What a record is about. X(name, value); the names appear in records as "kind". */
#define WDN_AUDIT_KIND_TABLE(X)                                                                    \
    X(API_TOKEN, 0, "api_token")           /* dapr-api-token on the API port */                    \
    X(ACCESS_CONTROL, 1, "access_control") /* Configuration accessControl at the callee */         \
    X(BEARER, 2, "bearer")                 /* a pipeline's bearer middleware */                    \
    X(TOOL_POLICY, 3, "tool_policy")       /* the MCPServer's per-tool policy */                   \
    X(TOOL_CALL, 4, "tool_call")           /* an MCP tools/call that went on to the server */      \
    X(START, 5, "start")                   /* the audit log was opened (a sidecar started) */      \
    X(DROPPED, 6, "dropped")               /* records lost: "count" and "reason" */

enum wdn_audit_kind {
#define WDN__AUDIT_KIND_ENUM(name, value, text) WDN_AUDIT_##name = (value),
    WDN_AUDIT_KIND_TABLE(WDN__AUDIT_KIND_ENUM)
#undef WDN__AUDIT_KIND_ENUM
        WDN_AUDIT_KIND_COUNT
};

/** The kind's name in records ("tool_policy"), static; NULL for an unknown value. */
const char *wdn_audit_kind_name(enum wdn_audit_kind k);

/**
 * One decision, as the request path knows it. Every pointer is borrowed for wdn_audit_emit only
 * (it copies the bytes into its queue); NULL or empty fields are left out of the record. Claims are those of a verified token only:
 * the claims of a token that failed verification are whatever its sender wrote.
 */
struct wdn_audit_event {
    enum wdn_audit_kind kind;
    bool allowed;
    const char *reason;      /* reason code ("invalid_token", "tool_not_granted") */
    int status;              /* HTTP status answered; 0 when the request went on */
    const char *caller;      /* the caller's SPIFFE ID (mTLS peer), or NULL */
    const char *iss, *sub;   /* of the verified token */
    const char *client_id;   /* client_id, else azp, of the verified token */
    const char *jti;         /* of the verified token */
    struct wdn_str verb;     /* HTTP method */
    struct wdn_str path;     /* the path, never the query string */
    struct wdn_str rpc;      /* JSON-RPC method ("tools/call") */
    struct wdn_str tool;     /* tool name */
    struct wdn_str args;     /* the tool's arguments as JSON text: hashed (SHA-256) and recorded
                                only when the log was opened with record_args */
    uint64_t generation;     /* configuration generation the decision was made on */
    const uint8_t *trace_id; /* 16 bytes, or NULL */
};

/** Where records go and how. Pointers are borrowed for wdn_audit_open only. */
struct wdn_audit_opts {
    const char *sink;   /* a file path, "stdout" or "syslog" */
    const char *app_id; /* this sidecar's app ID, in every record */
    uint64_t max_bytes; /* file: rotate before a record would pass this size (0 = default) */
    unsigned keep;      /* file: rotated files kept, FILE.1 newest (0 = default) */
    size_t queue_cap;   /* records waiting (and WDN_AUDIT_QUEUE_RECORD_BYTES of queue memory
                           for each); 0 = WDN_AUDIT_QUEUE_DEFAULT */
    bool record_args;   /* put tool arguments in records, not only their hash */
    bool fsync;         /* file: fdatasync after each batch of records */
};

/** Counters since the log was opened. */
struct wdn_audit_stats {
    uint64_t queued;      /* events accepted into the queue */
    uint64_t written;     /* records written (dropped-records records included) */
    uint64_t dropped;     /* events lost: queue full, or the sink failed */
    uint64_t sink_errors; /* failed writes (a full disk, a closed pipe) */
    uint64_t rotations;   /* file rotations */
};

struct wdn_audit;

/**
 * Opens the sink (for a file: continues the chain from the last record of FILE or FILE.1 and
 * creates FILE 0600 when missing) and starts the writer thread, which writes a "start" record.
 * 0 and *out (the caller's: wdn_audit_close), or WDN_EINVAL/WDN_ERANGE (bad options), WDN_EIO
 * (the file cannot be opened) with d saying what to fix.
 */
int wdn_audit_open(const struct wdn_audit_opts *opts, struct wdn_audit **out, struct wdn_diag *d);

/**
 * Queues a record of ev, time-stamped now: copies its fields into the preallocated queue under a
 * short lock (no allocation, no formatting; the writer thread formats, hashes and writes). Never
 * blocks on I/O and never fails: when the queue is full, the event is counted as dropped and a
 * "dropped" record says so once the writer catches up. Any thread; a NULL log is ignored.
 */
void wdn_audit_emit(struct wdn_audit *a, const struct wdn_audit_event *ev);

/** Reads the counters (any thread). */
void wdn_audit_stats(struct wdn_audit *a, struct wdn_audit_stats *out);

/**
 * True when name (a file name within a folder, no slash) is the log's file or one of its
 * rotations (FILE.1, FILE.2, ...): a folder watcher can tell the log's own writes from the
 * files it watches. False for stdout and syslog, and for a NULL log or name.
 */
bool wdn_audit_is_log_name(const struct wdn_audit *a, const char *name);

/** Waits until every record queued so far was written (or failed), at most timeout_ms.
 * 0 or WDN_ETIMEOUT. */
int wdn_audit_flush(struct wdn_audit *a, unsigned timeout_ms);

/** Writes what is queued (at most WDN_AUDIT_DRAIN_MS), stops the writer, closes the sink and
 * frees everything. NULL is fine. */
void wdn_audit_close(struct wdn_audit *a);

/* ---- Reading records back: `warden audit verify` and `warden audit query` ---------------- */

/** One file's records in chain order; files are read in the order of their first record. */
struct wdn_audit_verify_result {
    bool ok;
    uint64_t records; /* records checked */
    size_t files;     /* files read (empty ones included) */
    uint64_t first_seq, last_seq;
    char last_hash[65];    /* hex SHA-256 of the last good record: an anchor to keep elsewhere */
    bool starts_mid_chain; /* the first record is not the chain's first (earlier files missing) */
    char file[4096];       /* where the first broken record is ("" when ok) */
    uint64_t line;         /* its line number (1-based) */
    char msg[512];         /* what is wrong with it */
};

/**
 * Checks the chain through n files: every line must be a record whose "prev" is the SHA-256 of
 * the line before it and whose "seq" is one more, from one file to the next. Files are taken in
 * the order of their first record's seq (so `audit.log*` works whatever the shell's order).
 * Returns 0 with r->ok false and r naming the first broken record when the chain is broken,
 * or WDN_EIO/WDN_ENOMEM (d says which file) when a file cannot be read.
 */
int wdn_audit_verify(const char *const *files, size_t n, struct wdn_audit_verify_result *r,
                     struct wdn_diag *d);

/** Filters of `audit query`: NULL/0 fields match everything. Strings are borrowed. */
struct wdn_audit_filter {
    const char *tool;
    const char *decision; /* "allow" or "deny" */
    const char *kind;
    const char *caller; /* SPIFFE ID, or an app ID (matches the ID's last segment) */
    const char *sub;
    const char *app_id;
    const char *trace_id;
    int64_t since_ns, until_ns; /* Unix epoch nanoseconds; 0 = open */
};

/**
 * Calls fn with each record line (without its newline; borrowed for the call) of the n files
 * that matches f, in chain order. Lines that are not records are skipped and counted in
 * *skipped (may be NULL). 0, the first non-zero value fn returned, or WDN_EIO (d says which).
 */
int wdn_audit_query(const char *const *files, size_t n, const struct wdn_audit_filter *f,
                    int (*fn)(void *ud, struct wdn_str line), void *ud, uint64_t *skipped,
                    struct wdn_diag *d);

/**
 * Parses a --since/--until value: an RFC 3339 time ("2026-11-01T10:00:00Z", fractions and
 * offsets allowed), a date ("2026-11-01", midnight UTC), or a duration before now_ns
 * ("90s", "15m", "2h", "7d"). 0 and *out (Unix epoch ns), or WDN_EINVAL.
 */
int wdn_audit_parse_time(const char *s, int64_t now_ns, int64_t *out);

#endif
