/* Internals shared by the HTTP/1.1 parsers: parser.c (character classes, lines and field
 * lines, the Transfer-Encoding and Connection grammars), parser_request.c, parser_response.c
 * and parser_chunked.c. Not a public header. */
#ifndef WDN_HTTP_PARSER_INT_H
#define WDN_HTTP_PARSER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "http/parser.h"

/*
 * Character classes, one bit each, looked up in one 256-byte table so that every inner loop
 * is a load and a test. The table was generated from the RFC 9110/9112 grammar:
 *   C_TCHAR  token characters: ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~
 *   C_VALUE  field-value bytes: HTAB, SP, VCHAR and obs-text (0x80-0xff); never CR, LF, NUL
 *   C_TARGET request-target bytes: VCHAR except '#' (a fragment is never sent)
 *   C_HOST   uri-host and port bytes: unreserved, sub-delims, ':', '[', ']', '%'
 *   C_HEX    hexadecimal digits
 *   C_QDTEXT quoted-string text: HTAB SP 0x21 0x23-0x5b 0x5d-0x7e obs-text
 */
enum {
    C_TCHAR = 0x01,
    C_VALUE = 0x02,
    C_TARGET = 0x04,
    C_HOST = 0x08,
    C_HEX = 0x10,
    C_QDTEXT = 0x20,
};

extern const unsigned char wdn__http_cls[256];

#define IS(c, f) ((wdn__http_cls[(unsigned char)(c)] & (f)) != 0)
#define IS_WS(c) ((c) == ' ' || (c) == '\t')

/* Word-at-a-time tests (Hacker's Delight / "Bit Twiddling Hacks"): exact as booleans for
 * n <= 128. HAS_ZERO: a byte of x is 0; HAS_LESS: a byte of x is below n. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
#define HAS_ZERO(x) ((((x)-ONES) & ~(x)&HIGHS) != 0)
#define HAS_LESS(x, n) ((((x)-ONES * (n)) & ~(x)&HIGHS) != 0)

/* True when s may be written as a field name (name: a token without controls, space, ':',
 * DEL or non-ASCII bytes) or a field value (no CR, LF or NUL: no response or request
 * splitting). The one check for heads we write, server and client side. */
bool wdn__http_field_ok(struct wdn_str s, bool name);

/* Where a head parse stands: the buffer, the start of the next line, and the error. */
struct wdn__http_head {
    const char *buf;
    size_t len;
    size_t pos;
    int status;
    const char *reason;
};

/* Records why a head failed (the status to answer and a reason for logs); returns rc. */
static inline int head_fail(struct wdn__http_head *h, int rc, int status, const char *reason)
{
    h->status = status;
    h->reason = reason;
    return rc;
}

/* ASCII case-insensitive equality of name with lower (n bytes, lowercase). */
static inline bool name_is(struct wdn_str name, const char *lower, size_t n)
{
    if (name.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c | 0x20);
        if (c != (unsigned char)lower[i])
            return false;
    }
    return true;
}
#define NAME_IS(name, lit) name_is((name), (lit), sizeof(lit) - 1)

/*
 * The line that starts at h->pos: on 0, *cr is the index of its CR (a sentinel for every
 * character-class loop) and h->pos moves past its LF; WDN_EAGAIN until its LF arrived; an
 * error (with head_fail) for a line over max_line (line_status), a head over
 * WDN_HTTP_MAX_HEAD_BYTES (431) or a bare LF (400).
 */
int wdn__http_next_line(struct wdn__http_head *h, size_t max_line, int line_status, size_t *cr);
/* The next field line of a head into fields[*n] (at most WDN_HTTP_MAX_HEADERS); *out = NULL at
 * the empty line that ends the head. */
int wdn__http_next_field(struct wdn__http_head *h, struct wdn_http_header *fields, size_t *n,
                         struct wdn_http_header **out);

/* What a Transfer-Encoding field value says. */
struct wdn__http_te {
    size_t codings; /* transfer-codings listed */
    size_t chunked; /* how many of them are "chunked" */
    bool last_chunked;
};

/* Checks a Transfer-Encoding value (1#transfer-coding) and counts into *ti. 0 or WDN_EPARSE. */
int wdn__http_te_parse(struct wdn_str v, struct wdn__http_te *ti);

/* The connection options that matter to us, from a Connection field (a token list). */
struct wdn__http_conn_opts {
    bool close;
    bool keep_alive;
    bool upgrade;
};

/* Reads the options of a Connection field value into *ci. */
void wdn__http_conn_parse(struct wdn_str v, struct wdn__http_conn_opts *ci);

#endif
