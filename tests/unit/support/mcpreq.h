/* Test helper: one HTTP exchange with the MCP server core (wdn_mcp_server_handle), no sockets:
 * the request from "Name: value" lines, the answer captured (status, headers, body, the JSON-RPC
 * message of a JSON body or of the last SSE event). */
#ifndef WDN_TESTS_MCPREQ_H
#define WDN_TESTS_MCPREQ_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/mcp.h"

#define MR_MAX_HEADERS 16

/** What the server answered. */
struct mr_answer {
    int rc;     /* wdn_mcp_server_handle's return */
    int status; /* the HTTP status */
    int heads;  /* how many times the server wrote a head (a correct exchange: once) */
    size_t nh;
    char hname[MR_MAX_HEADERS][64];
    char hval[MR_MAX_HEADERS][256];
    char *body;    /* NUL-terminated (owned) */
    json_t *msg;   /* the JSON body, or the last SSE event's data; NULL when neither */
    bool streamed; /* the server kept the stream open (mr_send closed it after the head) */
};

/**
 * Sends method target with the headers ("Name: value" lines, NULL-terminated; NULL: none) and
 * body (NULL: empty) to srv; fills *a (free with mr_free).
 */
void mr_send(struct wdn_mcp_server *srv, const char *method, const char *target,
             const char *const *headers, const char *body, size_t body_len, struct mr_answer *a);

/** A POST of body to /mcp with the headers. */
void mr_post(struct wdn_mcp_server *srv, const char *const *headers, const char *body,
             struct mr_answer *a);

/** The value of a response header, or NULL. */
const char *mr_header(const struct mr_answer *a, const char *name);

/** The JSON-RPC error code of the answer (0 when none) and its message (NULL when none). */
long mr_error_code(const struct mr_answer *a);
const char *mr_error_message(const struct mr_answer *a);

/** Frees what the answer holds. */
void mr_free(struct mr_answer *a);

/** A stream the server keeps open (a GET stream), captured on the heap. */
struct mr_stream;

/**
 * A GET of /mcp with the headers whose stream stays open: NULL when the server did not keep one
 * (then *a holds the answer). The answer's head is in *a either way.
 */
struct mr_stream *mr_open(struct wdn_mcp_server *srv, const char *const *headers,
                          struct mr_answer *a);
/** Whether the body written so far holds needle. */
bool mr_stream_has(struct mr_stream *s, const char *needle);
/** Whether the server ended the stream (its end callback ran). */
bool mr_stream_ended(struct mr_stream *s);
/** How many times the server's end callback ran for the stream (a correct end: once). */
int mr_stream_end_count(struct mr_stream *s);
/** Closes the stream on srv's side (srv NULL: the server is gone already) and frees it. */
void mr_stream_close(struct wdn_mcp_server *srv, struct mr_stream *s);

#endif
