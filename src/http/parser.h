/* Strict, zero-copy HTTP/1.1 message parsing: request and response heads, chunked bodies.
 *
 * The parser never allocates and never copies: every slice points into the caller's buffer,
 * which must stay unchanged while the slices are used. It is strict like nginx: anything that
 * could let two HTTP implementations disagree about where a message ends (request smuggling)
 * is an error, reported with the status the server should answer before it closes. */
#ifndef WDN_HTTP_PARSER_H
#define WDN_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/str.h"

/** How the body of a message is delimited. */
enum wdn_http_body {
    WDN_HTTP_BODY_NONE = 0,    /* no body (request without CL/TE, 204/304/1xx, HEAD reply) */
    WDN_HTTP_BODY_LENGTH,      /* exactly content_length bytes */
    WDN_HTTP_BODY_CHUNKED,     /* Transfer-Encoding: chunked; use wdn_http_chunked_* */
    WDN_HTTP_BODY_UNTIL_CLOSE, /* response read until the connection closes */
};

struct wdn_http_header {
    struct wdn_str name;  /* token as sent (case preserved) */
    struct wdn_str value; /* leading/trailing OWS removed */
};

/** The parsed head of a request. Filled by wdn_http_parse_request; borrows the input buffer. */
struct wdn_http_request {
    struct wdn_str method;  /* token, e.g. "GET" */
    struct wdn_str target;  /* request-target exactly as sent */
    struct wdn_str path;    /* target up to '?' (origin-form); for absolute-form the path part
                               after the authority (empty when none); "*" for OPTIONS *;
                               empty for CONNECT (authority-form) */
    struct wdn_str query;   /* after '?', without it; empty when none */
    int version_minor;      /* HTTP/1.<version_minor>: 0 or 1 */
    struct wdn_str host;    /* Host header value (required and unique on HTTP/1.1) */
    enum wdn_http_body body;
    uint64_t content_length; /* valid when body == WDN_HTTP_BODY_LENGTH */
    bool keep_alive;         /* after Connection: close/keep-alive and the version */
    bool expect_continue;    /* Expect: 100-continue */
    bool upgrade;            /* Connection: upgrade with an Upgrade header */
    size_t nheaders;
    struct wdn_http_header headers[WDN_HTTP_MAX_HEADERS];
    /* On error: the status to answer (400, 414, 431, 501, 505) and a static reason for logs. */
    int error_status;
    const char *error_reason;
};

/** The parsed head of a response. */
struct wdn_http_response {
    int status;             /* 100..999 */
    struct wdn_str reason;
    int version_minor;
    enum wdn_http_body body;
    uint64_t content_length;
    bool keep_alive;
    size_t nheaders;
    struct wdn_http_header headers[WDN_HTTP_MAX_HEADERS];
    const char *error_reason; /* static, on error */
};

/**
 * Parses a request head from buf[0..len). Returns:
 *   0            complete: *head_len is the head's size including the final CRLF CRLF;
 *   WDN_EAGAIN   incomplete: call again with more bytes (the same bytes first);
 *   WDN_ELIMIT   a limit of base/limits.h was exceeded (req->error_status 431 or 414);
 *   WDN_EPARSE   malformed or ambiguous (req->error_status 400, 501 or 505).
 * On any error the connection must be closed after answering error_status.
 */
int wdn_http_parse_request(const char *buf, size_t len, struct wdn_http_request *req,
                           size_t *head_len);

/**
 * Parses a response head. request_method is the method of the request it answers (a reply to
 * HEAD has no body); returns like wdn_http_parse_request (errors are WDN_EPARSE/WDN_ELIMIT).
 */
int wdn_http_parse_response(const char *buf, size_t len, struct wdn_str request_method,
                            struct wdn_http_response *res, size_t *head_len);

/** The first header named name (case-insensitive) in headers, or NULL. */
const struct wdn_http_header *wdn_http_header_find(const struct wdn_http_header *headers,
                                                   size_t n, struct wdn_str name);

/** Incremental decoder of a chunked body. Caller-allocated; wdn_http_chunked_init first. */
struct wdn_http_chunked {
    int state;
    uint64_t remaining;   /* data bytes left in the current chunk */
    size_t line_bytes;    /* bytes of the current size/trailer line, against limits */
    size_t trailer_bytes; /* bytes of trailers so far */
    uint64_t total;       /* data bytes decoded so far */
    uint64_t max_total;   /* body limit: more data is WDN_ELIMIT (-> 413) */
    /* On error: the status to answer (400, or 413 when max_total was exceeded) and a static
     * reason for logs. Errors are sticky: later calls return the same code. */
    int error_status;
    const char *error_reason;
};

/** Prepares d for a new body of at most max_total data bytes. */
void wdn_http_chunked_init(struct wdn_http_chunked *d, uint64_t max_total);

/**
 * Decodes from in[0..len). Sets *consumed to the input bytes used and *data to a slice of
 * in holding body data (possibly empty). Call again with the rest while it returns 0 and input
 * remains. Returns:
 *   0          progress made (data and/or framing consumed), body not finished yet;
 *   1          the body is complete (last chunk and trailers read); *consumed ends there;
 *   WDN_EPARSE a malformed chunk size, extension, CRLF or trailer (-> 400);
 *   WDN_ELIMIT more data than max_total (-> 413), or an over-long line/trailers (-> 400).
 * With len == 0 it returns 0 and consumes nothing. Once the body is complete every later call
 * returns 1 and consumes nothing; after an error every later call returns the same error.
 */
int wdn_http_chunked_decode(struct wdn_http_chunked *d, const char *in, size_t len,
                            size_t *consumed, struct wdn_str *data);

/** True when a header of this name is hop-by-hop (RFC 9110 7.6.1) and must not be forwarded. */
bool wdn_http_is_hop_by_hop(struct wdn_str name);

#endif
