/* Internal to src/audit: record formatting, the chain's hash, and the sinks. */
#ifndef WDN_AUDIT_INTERNAL_H
#define WDN_AUDIT_INTERNAL_H

#include <stdint.h>

#include "audit/audit.h"

/** The chain's first "prev": 64 zeros. */
#define WDN__AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/**
 * Appends the record body of ev: `"kind":...,"decision":...` (no braces, no seq, time, app_id
 * or prev). Strings longer than WDN_AUDIT_MAX_FIELD_BYTES are cut (and "truncated":true added).
 * 0, WDN_ENOMEM or WDN_ELIMIT.
 */
int wdn__audit_body(const struct wdn_audit_event *ev, bool record_args, struct wdn_buf *out);

/**
 * Appends one whole record line and its newline:
 * {"seq":N,"time":"...","app_id":"...",BODY,"prev":"PREV"}\n. 0 or as wdn_buf_append.
 */
int wdn__audit_line(struct wdn_buf *out, uint64_t seq, uint64_t time_ns, const char *app_id,
                    struct wdn_str body, const char *prev_hex);

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
