/* Internals of the TLS engine shared by tls_context.c (contexts: identity, trust, policy, the
 * client session cache) and tls_engine.c (connections on memory BIOs). Not a public header. */
#ifndef WDN_HTTP_TLS_INT_H
#define WDN_HTTP_TLS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "http/tls.h"

/* One cached client session: reused for the next connection to the same endpoint. */
struct tls_session {
    char *key; /* server_name "\n" session_key, malloc'd */
    SSL_SESSION *sess;
    uint64_t stamp; /* insertion order, for eviction of the oldest */
};

struct wdn_tls_ctx {
    SSL_CTX *ssl_ctx;
    atomic_int refs;
    bool server;
    enum wdn_tls_verify verify;
    /* Client session cache; contexts are shared across worker threads, hence the lock. */
    pthread_mutex_t lock;
    struct tls_session sessions[WDN_TLS_SESSION_CACHE_MAX];
    size_t nsessions;
    uint64_t stamp;
};

struct wdn_tls {
    struct wdn_tls_ctx *ctx;
    SSL *ssl;
    /* Ciphertext from the network not yet consumed by OpenSSL: bytes [in_off, in_len). */
    char *in;
    size_t in_off, in_len, in_cap;
    /* Ciphertext produced by OpenSSL, waiting to be taken. */
    char *out;
    size_t out_len, out_cap;
    char *err;         /* malloc'd description of the fatal error, or NULL */
    char *session_key; /* client: cache key, or NULL */
    char *spiffe;      /* cached peer SPIFFE ID, malloc'd */
    size_t spiffe_len;
    bool failed;
    bool closed; /* we sent close_notify */
};

/* tls_context.c: the cached session for key (a new reference, or NULL). */
SSL_SESSION *wdn__tls_session_get(struct wdn_tls_ctx *ctx, const char *key);
/* tls_context.c: drops one reference to ctx; the last one frees it. */
void wdn__tls_ctx_release(struct wdn_tls_ctx *ctx);

#endif
