/* TLS contexts: OpenSSL's SSL_CTX with our policy (TLS 1.2 minimum, ECDHE with AEAD, no
 * renegotiation or compression, ALPN http/1.1), the identity (certificate files or in-memory
 * objects), the trust (CA file, one CA, the system store), peer verification, the client's
 * session cache, and reference counting so that a replaced context lives while connections use
 * it. Connections on a context are in tls_engine.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "base/error.h"
#include "http/tls_int.h"

static const unsigned char alpn_http11[] = "\x08http/1.1";

static void openssl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();

    if (e != 0)
        ERR_error_string_n(e, buf, cap);
    else
        snprintf(buf, cap, "no OpenSSL error recorded");
    ERR_clear_error();
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    unsigned char *sel = NULL;

    /* A client that offers ALPN but not http/1.1 speaks something we do not (RFC 7301 says
     * to refuse with no_application_protocol). */
    if (SSL_select_next_proto(&sel, outlen, alpn_http11, sizeof(alpn_http11) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static void session_put(struct wdn_tls_ctx *ctx, const char *key, SSL_SESSION *sess)
{
    size_t i, victim = 0;

    pthread_mutex_lock(&ctx->lock);
    for (i = 0; i < ctx->nsessions; i++) {
        if (strcmp(ctx->sessions[i].key, key) == 0)
            break;
    }
    if (i == ctx->nsessions) {
        if (ctx->nsessions < WDN_TLS_SESSION_CACHE_MAX) {
            char *k = strdup(key);
            if (k == NULL) {
                SSL_SESSION_free(sess);
                goto out;
            }
            ctx->sessions[i].key = k;
            ctx->sessions[i].sess = NULL;
            ctx->nsessions++;
        } else {
            /* Full: the oldest entry makes room; its key is reused for the new endpoint. */
            for (i = 1; i < ctx->nsessions; i++) {
                if (ctx->sessions[i].stamp < ctx->sessions[victim].stamp)
                    victim = i;
            }
            char *k = strdup(key);
            if (k == NULL) {
                SSL_SESSION_free(sess);
                goto out;
            }
            i = victim;
            free(ctx->sessions[i].key);
            ctx->sessions[i].key = k;
        }
    }
    SSL_SESSION_free(ctx->sessions[i].sess);
    ctx->sessions[i].sess = sess;
    ctx->sessions[i].stamp = ++ctx->stamp;
out:
    pthread_mutex_unlock(&ctx->lock);
}

SSL_SESSION *wdn__tls_session_get(struct wdn_tls_ctx *ctx, const char *key)
{
    SSL_SESSION *sess = NULL;

    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->nsessions; i++) {
        if (strcmp(ctx->sessions[i].key, key) == 0) {
            sess = ctx->sessions[i].sess;
            if (sess != NULL && SSL_SESSION_is_resumable(sess) && SSL_SESSION_up_ref(sess))
                break;
            sess = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return sess;
}

/* OpenSSL calls this on a client for every session (ticket) the server issues. The cache keeps
 * a copy: the connection's own object is marked not resumable when the connection is freed
 * without close_notify, which is how most HTTP connections end. Returns 0: OpenSSL keeps its
 * reference. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    struct wdn_tls *t = SSL_get_app_data(ssl);
    SSL_SESSION *copy;

    if (t == NULL || t->session_key == NULL || !SSL_SESSION_is_resumable(sess))
        return 0;
    copy = SSL_SESSION_dup(sess);
    if (copy != NULL)
        session_put(t->ctx, t->session_key, copy);
    return 0;
}

static int ctx_identity(SSL_CTX *sc, const struct wdn_tls_config *cfg, struct wdn_diag *d)
{
    char why[256];
    int rc = WDN_ETLS;

    if (cfg->cert_file != NULL || cfg->key_file != NULL) {
        if (cfg->cert_file == NULL || cfg->key_file == NULL) {
            rc = wdn_diag_set(d, WDN_EINVAL, "TLS: give both a certificate file and a key file");
            goto out;
        }
        if (SSL_CTX_use_certificate_chain_file(sc, cfg->cert_file) != 1) {
            openssl_reason(why, sizeof(why));
            rc = wdn_diag_set(d, WDN_ETLS, "TLS: cannot load certificate chain %s (%s)",
                              cfg->cert_file, why);
            goto out;
        }
        if (SSL_CTX_use_PrivateKey_file(sc, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
            openssl_reason(why, sizeof(why));
            rc = wdn_diag_set(d, WDN_ETLS, "TLS: cannot load private key %s (%s)", cfg->key_file,
                              why);
            goto out;
        }
    } else if (cfg->cert != NULL || cfg->key != NULL) {
        if (cfg->cert == NULL || cfg->key == NULL) {
            rc = wdn_diag_set(d, WDN_EINVAL, "TLS: give both a certificate and a key");
            goto out;
        }
        if (SSL_CTX_use_certificate(sc, cfg->cert) != 1 ||
            SSL_CTX_use_PrivateKey(sc, cfg->key) != 1) {
            openssl_reason(why, sizeof(why));
            rc = wdn_diag_set(d, WDN_ETLS, "TLS: cannot use the certificate or key (%s)", why);
            goto out;
        }
        for (int i = 0; cfg->chain != NULL && i < sk_X509_num(cfg->chain); i++) {
            if (SSL_CTX_add1_chain_cert(sc, sk_X509_value(cfg->chain, i)) != 1) {
                openssl_reason(why, sizeof(why));
                rc = wdn_diag_set(d, WDN_ETLS, "TLS: cannot add chain certificate (%s)", why);
                goto out;
            }
        }
    } else {
        rc = 0;
        goto out;
    }
    if (SSL_CTX_check_private_key(sc) != 1) {
        ERR_clear_error();
        rc = wdn_diag_set(d, WDN_ETLS,
                          "TLS: the private key does not match the certificate; reissue them "
                          "together");
        goto out;
    }
    rc = 0;
out:
    return rc;
}

static int ctx_trust(SSL_CTX *sc, const struct wdn_tls_config *cfg, struct wdn_diag *d)
{
    char why[256];
    int rc = WDN_ETLS;

    if (cfg->ca_file != NULL && SSL_CTX_load_verify_locations(sc, cfg->ca_file, NULL) != 1) {
        openssl_reason(why, sizeof(why));
        rc = wdn_diag_set(d, WDN_ETLS, "TLS: cannot load trusted CA file %s (%s)", cfg->ca_file,
                          why);
        goto out;
    }
    if (cfg->ca != NULL && X509_STORE_add_cert(SSL_CTX_get_cert_store(sc), cfg->ca) != 1) {
        openssl_reason(why, sizeof(why));
        rc = wdn_diag_set(d, WDN_ETLS, "TLS: cannot trust the CA certificate (%s)", why);
        goto out;
    }
    if (cfg->system_ca && SSL_CTX_set_default_verify_paths(sc) != 1) {
        openssl_reason(why, sizeof(why));
        rc = wdn_diag_set(d, WDN_ETLS, "TLS: cannot load the system CA store (%s)", why);
        goto out;
    }
    rc = 0;
out:
    return rc;
}

struct wdn_tls_ctx *wdn_tls_ctx_new(const struct wdn_tls_config *cfg, struct wdn_diag *d)
{
    struct wdn_tls_ctx *ctx = NULL;
    SSL_CTX *sc = NULL;
    char why[256];
    int mode;

    ERR_clear_error();
    if (cfg == NULL || cfg->verify > WDN_TLS_VERIFY_NONE) {
        wdn_diag_set(d, WDN_EINVAL, "TLS: invalid configuration");
        goto fail;
    }
    bool has_identity = cfg->cert_file || cfg->key_file || cfg->cert || cfg->key;
    bool has_trust = cfg->ca_file || cfg->ca || cfg->system_ca;
    if (cfg->server && !has_identity) {
        wdn_diag_set(d, WDN_EINVAL, "TLS: a server needs a certificate and a private key");
        goto fail;
    }
    if (cfg->verify != WDN_TLS_VERIFY_NONE && !has_trust) {
        wdn_diag_set(d, WDN_EINVAL,
                     "TLS: verifying peers needs a trusted CA (ca_file, ca or system_ca)");
        goto fail;
    }
    sc = SSL_CTX_new(cfg->server ? TLS_server_method() : TLS_client_method());
    if (sc == NULL) {
        openssl_reason(why, sizeof(why));
        wdn_diag_set(d, WDN_ENOMEM, "TLS: cannot create a context (%s)", why);
        goto fail;
    }
    SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION);
    SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* TLS 1.2 only with forward secrecy and AEAD; TLS 1.3 suites are all fine. */
    if (SSL_CTX_set_cipher_list(sc, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
        openssl_reason(why, sizeof(why));
        wdn_diag_set(d, WDN_ETLS, "TLS: cipher list rejected (%s)", why);
        goto fail;
    }
    /* No SSL_MODE_ENABLE_PARTIAL_WRITE: our BIO never blocks, so a write of up to
     * WDN_TLS_WRITE_CHUNK_BYTES completes in one call instead of one record per call. */
    SSL_CTX_set_mode(sc, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (ctx_identity(sc, cfg, d) != 0 || ctx_trust(sc, cfg, d) != 0)
        goto fail;

    mode = SSL_VERIFY_NONE;
    if (cfg->server) {
        if (cfg->verify == WDN_TLS_VERIFY_REQUIRED)
            mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        else if (cfg->verify == WDN_TLS_VERIFY_OPTIONAL)
            mode = SSL_VERIFY_PEER;
    } else if (cfg->verify != WDN_TLS_VERIFY_NONE) {
        mode = SSL_VERIFY_PEER;
    }
    SSL_CTX_set_verify(sc, mode, NULL);
    SSL_CTX_set_verify_depth(sc, WDN_TLS_VERIFY_DEPTH);

    if (cfg->server) {
        /* Resumption with client certificates needs a session id context; one ticket per
         * handshake is enough because a client caches one session per endpoint. The stateful
         * server cache stays off: TLS 1.3 and TLS 1.2 tickets are stateless. */
        static const unsigned char sid_ctx[] = "warden";
        SSL_CTX_set_session_id_context(sc, sid_ctx, sizeof(sid_ctx) - 1);
        SSL_CTX_set_num_tickets(sc, 1);
        SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_alpn_select_cb(sc, alpn_select, NULL);
    } else {
        SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
        SSL_CTX_sess_set_new_cb(sc, new_session_cb);
        if (SSL_CTX_set_alpn_protos(sc, alpn_http11, sizeof(alpn_http11) - 1) != 0) {
            wdn_diag_set(d, WDN_ENOMEM, "TLS: cannot set ALPN");
            goto fail;
        }
    }

    ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL || pthread_mutex_init(&ctx->lock, NULL) != 0) {
        free(ctx);
        ctx = NULL;
        wdn_diag_set(d, WDN_ENOMEM, "TLS: out of memory");
        goto fail;
    }
    ctx->ssl_ctx = sc;
    atomic_init(&ctx->refs, 1);
    ctx->server = cfg->server;
    ctx->verify = cfg->verify;
    return ctx;
fail:
    SSL_CTX_free(sc);
    ERR_clear_error();
    return NULL;
}

void wdn__tls_ctx_release(struct wdn_tls_ctx *ctx)
{
    if (ctx == NULL || atomic_fetch_sub(&ctx->refs, 1) != 1)
        return;
    for (size_t i = 0; i < ctx->nsessions; i++) {
        free(ctx->sessions[i].key);
        SSL_SESSION_free(ctx->sessions[i].sess);
    }
    pthread_mutex_destroy(&ctx->lock);
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

void wdn_tls_ctx_free(struct wdn_tls_ctx *ctx)
{
    wdn__tls_ctx_release(ctx);
}

struct wdn_tls_ctx *wdn_tls_ctx_ref(struct wdn_tls_ctx *ctx)
{
    if (ctx != NULL)
        atomic_fetch_add(&ctx->refs, 1);
    return ctx;
}

SSL_CTX *wdn_tls_ctx_ssl_ctx(struct wdn_tls_ctx *ctx)
{
    return ctx->ssl_ctx;
}
