/* A minimal HTTP receiver for the exporter's tests: one thread, one connection at a time,
 * keeps each request's body and answers with the status and body it was told to, or holds
 * every request unanswered ("hang") to play a receiver that stalls. It closes each connection
 * after one answer, or keeps it for the next request ("keep_alive"; with "close_kept" it reads
 * the next request on a kept connection and closes it unanswered: a server whose idle timeout
 * crossed the client's request). A protobuf body
 * (application/x-protobuf) is kept decoded into the OTLP JSON form, so that tests read every
 * body the same way; one that does not decode is kept as "PROTOBUF: why". */
#ifndef WDN_TESTS_TRACE_RECEIVER_H
#define WDN_TESTS_TRACE_RECEIVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define RECEIVER_MAX_BODIES 256

struct receiver {
    int fd, port;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool hang;
    atomic_bool keep_alive;
    atomic_bool close_kept;
    atomic_int status; /* answered to each request, 200 at first */
    const char *reply; /* answer body (static, no NUL inside), "{}" at first */
    pthread_mutex_t mu;
    char *bodies[RECEIVER_MAX_BODIES];
    char paths[RECEIVER_MAX_BODIES][64];
    char ctypes[RECEIVER_MAX_BODIES][64];
    char tparents[RECEIVER_MAX_BODIES][64]; /* the traceparent header, "" when none */
    char tstates[RECEIVER_MAX_BODIES][128]; /* the tracestate header, "" when none */
    size_t n;
    size_t conns; /* connections accepted */
};

/**
 * An OTLP ExportTraceServiceRequest in protobuf as the OTLP JSON encoding says it (hex IDs,
 * times and int64 values as decimal strings, enums as numbers; malloc'd), decoded strictly:
 * an unknown field, a wrong wire type, a length past the end, or a string that is not UTF-8
 * gives "PROTOBUF: why" instead.
 */
char *otlp_pb_to_json(const unsigned char *p, size_t n);

/** Starts listening on 127.0.0.1 (a free port). 0 or -1. */
int receiver_start(struct receiver *r);
/** The number of connections accepted so far. */
size_t receiver_conns(struct receiver *r);
/** The number of requests received so far. */
size_t receiver_count(struct receiver *r);
/** Waits until at least n requests arrived, up to timeout_ms. true when they did. */
bool receiver_wait(struct receiver *r, size_t n, int timeout_ms);
/** Stops the thread and frees the bodies. */
void receiver_stop(struct receiver *r);

#endif
