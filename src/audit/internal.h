/* Internal to src/audit: the queued form of an event, record formatting, the chain's hash, and
 * the sinks. */
#ifndef WDN_AUDIT_INTERNAL_H
#define WDN_AUDIT_INTERNAL_H

#include <stdint.h>

#include "audit/audit.h"
#include "base/limits.h"

/** The chain's first "prev": 64 zeros. */
#define WDN__AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/** The strings of an entry, in the order they are packed (and appear in a record). */
enum wdn__audit_str {
    WDN__AUDIT_S_REASON,
    WDN__AUDIT_S_CALLER,
    WDN__AUDIT_S_ISS,
    WDN__AUDIT_S_SUB,
    WDN__AUDIT_S_CLIENT_ID,
    WDN__AUDIT_S_JTI,
    WDN__AUDIT_S_VERB,
    WDN__AUDIT_S_PATH,
    WDN__AUDIT_S_RPC,
    WDN__AUDIT_S_TOOL,
    WDN__AUDIT_S_ARGS,
    WDN__AUDIT_S_COUNT
};

/**
 * An event as the request thread queues it: fixed fields and the bytes of its strings right
 * after this header (len[i] bytes each, in enum order), copied as they are. Nothing is
 * formatted, escaped or hashed on the request thread; the writer does all of it.
 */
struct wdn__audit_entry {
    uint8_t kind;
    bool allowed;
    bool cut;         /* a string was cut to its limit: "truncated":true */
    bool has_trace;   /* trace_id is set */
    bool args_hashed; /* args_sha256 holds the hash of arguments too long to queue whole */
    bool record_args; /* the arguments are queued to be recorded, not only hashed */
    uint16_t status;  /* HTTP status, 0 when none */
    uint64_t time_ns; /* Unix epoch ns of the decision */
    uint64_t generation;
    uint64_t count; /* "dropped" records: how many records were lost */
    uint8_t trace_id[16];
    uint8_t args_sha256[32];
    uint32_t len[WDN__AUDIT_S_COUNT];
};

/** The bytes of an entry at most (its header, every string field at its limit, arguments). */
#define WDN__AUDIT_ENTRY_MAX                                                                       \
    (sizeof(struct wdn__audit_entry) + (WDN__AUDIT_S_COUNT - 1) * WDN_AUDIT_MAX_FIELD_BYTES +      \
     WDN_AUDIT_MAX_ARGS_BYTES + 8)

/**
 * An event read once for its entry, before the queue's lock is taken: its strings cut to their
 * limits, whether any was cut, and the hash of arguments too long to queue.
 */
struct wdn__audit_prep {
    struct wdn_str s[WDN__AUDIT_S_COUNT]; /* what the entry keeps of each string */
    bool cut;                             /* a string was cut (or arguments hashed, not kept) */
    bool args_hashed;                     /* args_sha256 holds the hash of arguments too long */
    uint8_t args_sha256[32];
};

/**
 * Reads ev for its entry into p (request thread, outside the queue's lock): no allocation, no
 * formatting; only arguments longer than WDN_AUDIT_MAX_ARGS_BYTES are hashed here (rare: their
 * bytes would not fit an entry); the writer hashes the others. Returns the entry's size (its
 * header and strings).
 */
size_t wdn__audit_entry_prepare(const struct wdn_audit_event *ev, bool record_args,
                                struct wdn__audit_prep *p);

/** Fills the entry at e (the size prepare returned, in queue memory) from ev and what prepare
 * read of it. */
void wdn__audit_entry_fill(struct wdn__audit_entry *e, const struct wdn_audit_event *ev,
                           const struct wdn__audit_prep *p, bool record_args, uint64_t time_ns);

/** The bytes of entry e's record line at most (exact when the quick bound passes a record's
 * limit, so that a long line is only refused when it really is too long). */
size_t wdn__audit_line_max(struct wdn_str app_id, const struct wdn__audit_entry *e);

/**
 * Appends one whole record line for entry e and its newline:
 * {"seq":N,"time":"...","app_id":"...","kind":...,...,"prev":"PREV"}\n. Field order is fixed, so
 * equal entries give equal lines. max: wdn__audit_line_max(app_id, e). Writer thread. 0,
 * WDN_ENOMEM, WDN_ELIMIT (a line longer than a record may be) or WDN_ECRYPTO.
 */
int wdn__audit_line(struct wdn_buf *out, uint64_t seq, struct wdn_str app_id,
                    const struct wdn__audit_entry *e, const char *prev_hex, size_t max);

/** Hex SHA-256 of a record line (without its newline) into hex (65 bytes). 0 or WDN_ECRYPTO. */
int wdn__audit_hash(struct wdn_str line, char *hex);

/** RFC 3339 UTC with microseconds ("2026-11-01T10:00:00.123456Z") into out (32 bytes). */
void wdn__audit_time(uint64_t unix_ns, char *out);

enum wdn__audit_sink_type { WDN__AUDIT_FILE, WDN__AUDIT_STDOUT, WDN__AUDIT_SYSLOG };

struct wdn__audit_sink {
    enum wdn__audit_sink_type type;
    int fd;
    char *path;
    uint64_t size; /* of the current file */
    uint64_t max_bytes;
    unsigned keep;
    bool fsync;
    uint64_t rotations;
};

/**
 * Opens the sink. For a file, reads where the chain stands: prev_hex gets the hash of the last
 * record of FILE (or of FILE.1 when FILE is empty or missing), *last_seq its seq; both stay the
 * genesis (zeros, 0) when there is none. A last line cut short (a crash mid-write) is ended with
 * a newline so the next record starts on a line of its own. 0 or WDN_EIO/WDN_ENOMEM with d.
 */
int wdn__audit_sink_open(struct wdn__audit_sink *s, const struct wdn_audit_opts *o, char *prev_hex,
                         uint64_t *last_seq, struct wdn_diag *d);
/**
 * Writes whole lines (a batch, each with its newline) whole or not at all: a file is rotated
 * first when they would take it past max_bytes, and cut back after a short write. syslog gets
 * one message per line. 0 or a WDN_E* code.
 */
int wdn__audit_sink_write(struct wdn__audit_sink *s, const char *line, size_t len);
/** Bytes a file may still take before it rotates (SIZE_MAX for stdout and syslog). */
size_t wdn__audit_sink_room(const struct wdn__audit_sink *s);
/** Makes written records durable (file: fdatasync) when fsync was asked for. */
void wdn__audit_sink_sync(struct wdn__audit_sink *s);
void wdn__audit_sink_close(struct wdn__audit_sink *s);

#endif
