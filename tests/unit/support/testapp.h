/* The app behind a sidecar under test: an HTTP server on a free loopback port that reads each
 * request whole, records it (how many came whole, the last one's request line, headers and body)
 * and answers 200 "app says hi", or what the test's answer function writes. One per process.
 * And the raw client a test calls the sidecar's ports with: one request per connection. */
#ifndef WDN_TESTS_TESTAPP_H
#define WDN_TESTS_TESTAPP_H

#include <stddef.h>

#include "http/server.h"

/**
 * Answers a request whose body was read whole (after it was recorded). A body that broke on
 * the way is answered 400 "bad body" without calling it.
 */
typedef void (*testapp_fn)(struct wdn_http_req *req, struct wdn_str body);

/** Starts the app (answer NULL: 200 "app says hi"; bodies up to max_body bytes). 0 or -1. */
int testapp_start(testapp_fn answer, size_t max_body);
/** Its port. */
int testapp_port(void);
/** Requests received whole so far. */
int testapp_count(void);
/** A copy of the last request: "METHOD target\n", "name: value\n" per header, "\n", the body
 * (only the head when the body broke). */
const char *testapp_last(void);
/** Stops and frees the app. */
void testapp_stop(void);

/** An answer as the raw client read it. */
struct testresp {
    int status; /* 0 when no status line came */
    int closed; /* 1 when the server closed the connection (0: the read timed out) */
    char raw[1 << 17];
    const char *body; /* after the header block ("" when none) */
};

/**
 * Sends head (request line and header lines, each ending in \r\n) with "Connection: close",
 * then body (NULL: none; a Content-Length is added unless head has one or a Transfer-Encoding)
 * to 127.0.0.1:port on a new connection, and reads the answer until the peer closes.
 */
void testapp_http(int port, const char *head, const char *body, struct testresp *r);
/** Fills r->status and r->body from r->raw. */
void testapp_parse(struct testresp *r);

#endif
