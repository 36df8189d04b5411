/* A scripted HTTP/1.1 server for client tests: each connection carries one request, handed to a
 * test function that writes the whole response. Connections are served on threads of their own,
 * so a long-lived answer (an SSE stream) does not hold up the others. */
#ifndef WDN_TESTS_FAKEHTTP_H
#define WDN_TESTS_FAKEHTTP_H

#include <stddef.h>

/** One request as received. Strings are NUL-terminated and valid during the handler. */
struct fakehttp_req {
    char method[16];
    char target[2048];
    const char *head; /* the header block, "Name: value\r\n" lines */
    const char *body; /* "" when none */
    size_t body_len;
    int fd; /* the connection, for handlers that stream */
};

/**
 * Writes the response for req to req->fd (fakehttp_respond does it for simple answers). ud is
 * the pointer given to fakehttp_start. Runs on the connection's thread.
 */
typedef void (*fakehttp_fn)(void *ud, const struct fakehttp_req *req);

struct fakehttp;

/** Starts a server on a free port of 127.0.0.1; NULL on failure. */
struct fakehttp *fakehttp_start(fakehttp_fn fn, void *ud);
/** The port it listens on. */
int fakehttp_port(const struct fakehttp *f);
/** "http://127.0.0.1:<port><path>" into buf. */
void fakehttp_url(const struct fakehttp *f, const char *path, char *buf, size_t cap);
/** Stops accepting, waits for the connection threads and frees f. */
void fakehttp_stop(struct fakehttp *f);

/** The value of header name (case-insensitive) into out; NULL when absent. */
const char *fakehttp_header(const struct fakehttp_req *req, const char *name, char *out,
                            size_t cap);
/** The value of query parameter name of the target, percent-decoded, into out; NULL absent. */
const char *fakehttp_query(const char *target, const char *name, char *out, size_t cap);
/** The value of form field name of an x-www-form-urlencoded body into out; NULL absent. */
const char *fakehttp_form(const char *body, const char *name, char *out, size_t cap);
/**
 * Writes "HTTP/1.1 <status>", the extra header lines (each ending in \r\n, may be NULL), a
 * Content-Type when body is JSON-looking, Content-Length and the body.
 */
void fakehttp_respond(const struct fakehttp_req *req, int status, const char *headers,
                      const char *body);

/**
 * Plays a browser for an authorization endpoint that answers at once: GETs url without following
 * the redirect, then GETs the Location (a client's loopback listener). 0, or -1 when the first
 * answer had no Location. location (cap bytes, may be NULL) receives it.
 */
int fakehttp_browse(const char *url, char *location, size_t cap);

#endif
