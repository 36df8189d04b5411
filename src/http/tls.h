/* TLS on OpenSSL 3 without sockets: an engine that sits between the network and the HTTP parser.
 *
 * The engine never touches a file descriptor. Ciphertext from the network goes in with
 * wdn_tls_feed (or, without a copy, wdn_tls_in_space + wdn_tls_in_commit from a libuv alloc and
 * read callback); plaintext comes out of wdn_tls_read; plaintext goes in with wdn_tls_write;
 * ciphertext to send comes out of wdn_tls_take_output. The handshake runs inside read and
 * write, so a server needs no special handshake step.
 *
 * Driving it from libuv (server or client):
 *
 *   alloc_cb:  buf->base = wdn_tls_in_space(t, &buf->len);   (NULL/0 only if the caller never
 *              read: call wdn_tls_read until WDN_EAGAIN first)
 *   read_cb:   wdn_tls_in_commit(t, nread);                   (or wdn_tls_feed(t, base, nread))
 *              for (;;) { n = wdn_tls_read(t, plain, cap);
 *                         n > 0: hand plain[0..n) to the HTTP parser, then break
 *                                if !wdn_tls_has_buffered_input(t) (a read would say EAGAIN);
 *                         WDN_EAGAIN: break (need more ciphertext);
 *                         WDN_EEOF: the peer sent close_notify; WDN_ETLS: fatal, see
 *                         wdn_tls_error(t); break }
 *              flush();        (the handshake and post-handshake messages produce output too)
 *   sending:   while (len) { n = wdn_tls_write(t, p, len);
 *                            n > 0: p += n, len -= n;
 *                            WDN_EAGAIN: flush(), then continue after the write completes
 *                                       (or, before the handshake is done, after more input) }
 *              flush();
 *   flush():   if (wdn_tls_pending_output(t)) { wdn_tls_take_output(t, &data, &len);
 *                  uv_write(... data, len ...); free(data) in the write callback }
 *   pausing:   a parser that cannot take more plaintext stops the loop and uv_read_stop()s;
 *              to resume, run the read loop first (wdn_tls_has_buffered_input may be true with
 *              no new bytes to come), then uv_read_start() again.
 *   closing:   wdn_tls_close(t); flush(); then close the socket after the write completes.
 *   client:    after wdn_tls_new_client, call wdn_tls_handshake(t) and flush() to send the
 *              ClientHello; write the request once wdn_tls_handshake_done(t).
 *
 * Memory and copies (per connection):
 * - No fixed buffers: the ciphertext input buffer is allocated on demand (up to
 *   WDN_TLS_IN_BUF_BYTES per libuv read, more only if wdn_tls_feed is handed a larger piece)
 *   and freed whenever it drains (a read that empties it frees it); OpenSSL's own record buffers are released when idle
 *   (SSL_MODE_RELEASE_BUFFERS). An idle keep-alive connection holds only the SSL object.
 * - Input: libuv reads straight into the engine's buffer (in_space/in_commit); OpenSSL copies
 *   one record at a time into its record buffer, decrypts in place and copies the plaintext
 *   into the caller's buffer. wdn_tls_feed adds one memcpy for callers that own their buffer.
 * - Output: records are appended to one malloc'd block; wdn_tls_take_output hands that block
 *   to the caller (no copy) to pass to uv_write and free afterwards. wdn_tls_write accepts at
 *   most WDN_TLS_WRITE_CHUNK_BYTES per call and refuses new plaintext while
 *   WDN_TLS_OUT_HIGH_WATER bytes wait to be sent, so output memory stays bounded without the
 *   OpenSSL rule of "retry with the same buffer".
 * - Contexts are shared by every connection and thread, reference-counted: a connection keeps
 *   its context alive, so a reloaded configuration can drop the old context at once.
 *
 * Policy: TLS 1.2 minimum (ECDHE with AEAD ciphers only), TLS 1.3 preferred, no
 * renegotiation, no compression, no 0-RTT, ALPN "http/1.1". Clients cache one session per
 * (server name, session key) so that reconnects resume (TLS 1.3 tickets); servers issue one
 * stateless ticket per handshake and keep the verified client certificate in it.
 */
#ifndef WDN_HTTP_TLS_H
#define WDN_HTTP_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/diag.h"
#include "base/limits.h"
#include "base/str.h"

/** How the peer's certificate is checked. Zero is the strictest, so a zeroed config fails
 * closed. */
enum wdn_tls_verify {
    /* Server: a client certificate is required and verified (mTLS). Client: the server's
     * certificate chain and its name (server_name) are verified. */
    WDN_TLS_VERIFY_REQUIRED = 0,
    /* Server: a client certificate is requested and verified when one is sent. Client: same
     * as REQUIRED. */
    WDN_TLS_VERIFY_OPTIONAL,
    /* Server: no client certificate is requested. Client: the server is NOT authenticated
     * (tests and explicit opt-in only); wdn_tls_peer_cert then returns NULL. */
    WDN_TLS_VERIFY_NONE,
};

/**
 * Settings for wdn_tls_ctx_new. Everything is borrowed for the duration of the call only: the
 * context copies file contents and takes its own references to OpenSSL objects.
 * Own identity: either cert_file + key_file or cert (+ chain) + key. Required for a server,
 * optional for a client (a client certificate for mTLS). Trust: any of ca_file, ca, system_ca;
 * required unless verify is WDN_TLS_VERIFY_NONE.
 */
struct wdn_tls_config {
    bool server;             /* true: accept connections; false: connect */
    const char *cert_file;   /* PEM: the leaf first, then intermediates */
    const char *key_file;    /* PEM private key (unencrypted) */
    X509 *cert;              /* in-memory leaf certificate */
    STACK_OF(X509) *chain;   /* in-memory intermediates, may be NULL */
    EVP_PKEY *key;           /* in-memory private key matching cert */
    const char *ca_file;     /* PEM file of trusted certificates (the project CA) */
    X509 *ca;                /* one in-memory trusted certificate */
    bool system_ca;          /* also trust the system's CA store */
    enum wdn_tls_verify verify;
};

/** A configured TLS context (SSL_CTX plus the client session cache). Thread-safe to share. */
struct wdn_tls_ctx;
/** One TLS connection. Used by one thread at a time. */
struct wdn_tls;

/**
 * Creates a context. Returns NULL and fills d (may be NULL) with what to fix: an unreadable
 * or mismatched certificate/key, a server without a certificate, verification without trust.
 * The caller owns the result and releases it with wdn_tls_ctx_free.
 */
struct wdn_tls_ctx *wdn_tls_ctx_new(const struct wdn_tls_config *cfg, struct wdn_diag *d);
/** Drops the caller's reference; the context lives on while connections use it. NULL is ok. */
void wdn_tls_ctx_free(struct wdn_tls_ctx *ctx);
/** Takes one more reference (any thread), released with wdn_tls_ctx_free; returns ctx. */
struct wdn_tls_ctx *wdn_tls_ctx_ref(struct wdn_tls_ctx *ctx);
/** The underlying SSL_CTX (borrowed), for settings this API does not cover. */
SSL_CTX *wdn_tls_ctx_ssl_ctx(struct wdn_tls_ctx *ctx);

/** A server-side connection on a server context. NULL when out of memory or ctx is a client
 * context. The caller owns it (wdn_tls_free). */
struct wdn_tls *wdn_tls_new_server(struct wdn_tls_ctx *ctx);
/**
 * A client-side connection. server_name (borrowed, copied) is a DNS name or an IP literal: it
 * is what the server certificate must match (DNS SAN or IP SAN) and, for a DNS name, the SNI
 * sent; it is required unless the context's verify is WDN_TLS_VERIFY_NONE. session_key
 * (borrowed, copied, may be NULL for no resumption) names the endpoint for the session cache,
 * e.g. "127.0.0.1:4002": sessions are reused only for the same server_name and session_key.
 * Returns NULL when out of memory or the arguments are invalid.
 */
struct wdn_tls *wdn_tls_new_client(struct wdn_tls_ctx *ctx, const char *server_name,
                                   const char *session_key);
/** Frees the connection and its buffers (no close_notify: call wdn_tls_close first). NULL ok. */
void wdn_tls_free(struct wdn_tls *t);

/**
 * Copies n bytes of ciphertext received from the network into the engine. 0, or WDN_ELIMIT
 * when more than WDN_TLS_MAX_INPUT_BYTES would wait unprocessed (the caller stopped reading),
 * WDN_ENOMEM, WDN_ESTATE after a fatal error.
 */
int wdn_tls_feed(struct wdn_tls *t, const void *data, size_t n);
/**
 * Zero-copy input: returns free space in the engine's input buffer (owned by the engine; write
 * at most *len bytes, then call wdn_tls_in_commit). Returns NULL with *len 0 when out of
 * memory or when the buffer is full (read until WDN_EAGAIN first).
 */
char *wdn_tls_in_space(struct wdn_tls *t, size_t *len);
/** Accounts n bytes written into the space from wdn_tls_in_space (n <= its len; 0 is ok). */
void wdn_tls_in_commit(struct wdn_tls *t, size_t n);

/**
 * Decrypts into buf (cap bytes, caller-owned). Returns the byte count (> 0), WDN_EAGAIN when
 * more ciphertext is needed (the handshake may have produced output: flush it), WDN_EEOF when
 * the peer sent close_notify, or WDN_ETLS on a fatal error (handshake or verification failure,
 * garbage input; wdn_tls_error says why; an alert may be pending as output).
 */
int wdn_tls_read(struct wdn_tls *t, void *buf, size_t cap);
/**
 * Encrypts up to WDN_TLS_WRITE_CHUNK_BYTES of data (borrowed for the call). Returns the bytes
 * accepted (> 0; call again for the rest), 0 when n is 0, WDN_EAGAIN when nothing was taken
 * (WDN_TLS_OUT_HIGH_WATER bytes wait to be sent, or the handshake needs peer input first), or
 * WDN_ETLS / WDN_ESTATE (after wdn_tls_close or a fatal error).
 */
int wdn_tls_write(struct wdn_tls *t, const void *data, size_t n);
/**
 * True when input is buffered in the engine (ciphertext not yet processed or plaintext already
 * decrypted). A caller that stopped its read loop early (backpressure) must resume by calling
 * wdn_tls_read until WDN_EAGAIN, not by waiting for the network: no new bytes may arrive.
 */
bool wdn_tls_has_buffered_input(const struct wdn_tls *t);
/** Bytes of ciphertext waiting to be sent; cheap. */
size_t wdn_tls_pending_output(const struct wdn_tls *t);
/**
 * Hands all pending ciphertext to the caller: *data becomes a malloc'd block of *len bytes
 * that the caller frees with free() (e.g. in the uv_write callback). Returns 0, or WDN_EAGAIN
 * with *data NULL and *len 0 when nothing is pending.
 */
int wdn_tls_take_output(struct wdn_tls *t, char **data, size_t *len);
/** Copies up to cap bytes of pending ciphertext into buf and drops them; returns the count. */
size_t wdn_tls_read_output(struct wdn_tls *t, void *buf, size_t cap);

/** Drives the handshake: 0 when complete, WDN_EAGAIN when peer input is needed (flush
 * output first), WDN_ETLS on failure. Needed only to start a client. */
int wdn_tls_handshake(struct wdn_tls *t);
/** True once the handshake has completed (the peer is authenticated per the verify mode). */
bool wdn_tls_handshake_done(const struct wdn_tls *t);
/** True when this connection resumed a previous session (no certificate exchange). */
bool wdn_tls_resumed(const struct wdn_tls *t);
/**
 * Queues close_notify (flush it, then close the socket). 0, or WDN_ESTATE after a fatal error
 * (then just close). Idempotent.
 */
int wdn_tls_close(struct wdn_tls *t);

/**
 * A static-or-owned description of the last fatal error for logs: the OpenSSL reason and, for
 * a failed verification, the certificate error. Never contains key material. Borrowed until
 * wdn_tls_free; "" when there was no error.
 */
const char *wdn_tls_error(const struct wdn_tls *t);
/**
 * Why the peer's certificate was refused ("hostname mismatch", "unable to get local issuer
 * certificate", ...), static, or NULL when its verification did not fail.
 */
const char *wdn_tls_verify_error(const struct wdn_tls *t);
/** The negotiated protocol ("TLSv1.3", "TLSv1.2"), static. */
const char *wdn_tls_version(const struct wdn_tls *t);
/** The ALPN protocol selected ("http/1.1"), or an empty slice. Borrowed from the connection. */
struct wdn_str wdn_tls_alpn(const struct wdn_tls *t);

/**
 * The peer's certificate when it was presented and verified (borrowed; valid until
 * wdn_tls_free), else NULL. On a server with WDN_TLS_VERIFY_OPTIONAL, NULL means the client
 * sent none.
 */
X509 *wdn_tls_peer_cert(const struct wdn_tls *t);
/**
 * The SPIFFE ID of the verified peer certificate, per the X.509-SVID rules: exactly one URI
 * SAN, starting with "spiffe://", printable ASCII, at most WDN_SPIFFE_MAX_ID_BYTES, and the
 * certificate is not a CA. *id is borrowed from the connection (valid until wdn_tls_free).
 * Returns 0, WDN_ENOTFOUND (no verified peer certificate) or WDN_EAUTH (the certificate does
 * not carry exactly one valid SPIFFE URI SAN). Parse the result with wdn_pki_spiffe_parse.
 */
int wdn_tls_peer_spiffe_id(struct wdn_tls *t, struct wdn_str *id);
/**
 * The same rules on any certificate (borrowed): copies the ID NUL-terminated into buf (cap
 * bytes) and sets *len (may be NULL). 0, WDN_EAUTH, or WDN_ELIMIT when cap is too small.
 */
int wdn_tls_x509_spiffe_id(X509 *cert, char *buf, size_t cap, size_t *len);

#endif
