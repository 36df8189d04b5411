/* The TLS engine: OpenSSL 3 driven through a custom in-memory BIO (see tls.h for the contract). */
#include "http/tls.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/error.h"

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

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;
static const unsigned char alpn_http11[] = "\x08http/1.1";

/* The BIO reads from and writes to the connection's own buffers, so libuv can read straight
 * into the input buffer and the output block can be handed over without a copy. */
static int bio_write(BIO *b, const char *data, int n)
{
    struct wdn_tls *t = BIO_get_data(b);
    size_t need, cap;
    char *p;

    BIO_clear_retry_flags(b);
    if (n <= 0)
        return 0;
    need = t->out_len + (size_t)n;
    /* Only the hard cap can fail here: wdn_tls_write keeps normal output far below it. */
    if (need > WDN_TLS_MAX_OUTPUT_BYTES)
        return -1;
    if (need > t->out_cap) {
        cap = t->out_cap ? t->out_cap : 4096;
        while (cap < need)
            cap *= 2;
        p = realloc(t->out, cap);
        if (p == NULL)
            return -1;
        t->out = p;
        t->out_cap = cap;
    }
    memcpy(t->out + t->out_len, data, (size_t)n);
    t->out_len = need;
    return n;
}

static int bio_read(BIO *b, char *buf, int n)
{
    struct wdn_tls *t = BIO_get_data(b);
    size_t avail = t->in_len - t->in_off;

    BIO_clear_retry_flags(b);
    if (avail == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    if (n <= 0)
        return 0;
    if ((size_t)n > avail)
        n = (int)avail;
    memcpy(buf, t->in + t->in_off, (size_t)n);
    t->in_off += (size_t)n;
    if (t->in_off == t->in_len)
        t->in_off = t->in_len = 0;
    return n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct wdn_tls *t = BIO_get_data(b);

    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return t ? (long)(t->in_len - t->in_off) : 0;
    case BIO_CTRL_WPENDING:
        return t ? (long)t->out_len : 0;
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void bio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wdn_tls");

    if (m == NULL)
        return;
    if (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create)) {
        BIO_meth_free(m);
        return;
    }
    bio_method = m;
}

/* Appends the first OpenSSL error (and the verification error, if any) to a diag message. */
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

static SSL_SESSION *session_get(struct wdn_tls_ctx *ctx, const char *key)
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

static void ctx_release(struct wdn_tls_ctx *ctx)
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
    ctx_release(ctx);
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

static struct wdn_tls *tls_new(struct wdn_tls_ctx *ctx)
{
    struct wdn_tls *t;
    BIO *bio = NULL;

    pthread_once(&bio_once, bio_method_init);
    if (bio_method == NULL)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->ssl = SSL_new(ctx->ssl_ctx);
    bio = BIO_new(bio_method);
    if (t->ssl == NULL || bio == NULL) {
        BIO_free(bio);
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return NULL;
    }
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio); /* one BIO both ways; SSL owns it */
    SSL_set_app_data(t->ssl, t);
    atomic_fetch_add(&ctx->refs, 1);
    t->ctx = ctx;
    return t;
}

struct wdn_tls *wdn_tls_new_server(struct wdn_tls_ctx *ctx)
{
    struct wdn_tls *t;

    if (ctx == NULL || !ctx->server)
        return NULL;
    t = tls_new(ctx);
    if (t != NULL)
        SSL_set_accept_state(t->ssl);
    return t;
}

struct wdn_tls *wdn_tls_new_client(struct wdn_tls_ctx *ctx, const char *server_name,
                                   const char *session_key)
{
    struct wdn_tls *t = NULL;
    unsigned char ip[16];
    bool is_ip;

    if (ctx == NULL || ctx->server)
        goto fail;
    if (server_name == NULL && ctx->verify != WDN_TLS_VERIFY_NONE)
        goto fail;
    t = tls_new(ctx);
    if (t == NULL)
        goto fail;
    SSL_set_connect_state(t->ssl);
    if (server_name != NULL) {
        is_ip = inet_pton(AF_INET, server_name, ip) == 1 || inet_pton(AF_INET6, server_name, ip) == 1;
        if (is_ip) {
            /* RFC 6066: no SNI for an address; the certificate must carry the IP SAN. */
            if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), server_name) != 1)
                goto fail;
        } else {
            X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(t->ssl),
                                            X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (SSL_set_tlsext_host_name(t->ssl, server_name) != 1 ||
                SSL_set1_host(t->ssl, server_name) != 1)
                goto fail;
        }
    }
    if (session_key != NULL) {
        /* The key includes the verified name: a session must never let a connection skip the
         * name check it would otherwise have made. */
        size_t a = server_name ? strlen(server_name) : 0, b = strlen(session_key);
        t->session_key = malloc(a + b + 2);
        if (t->session_key == NULL)
            goto fail;
        memcpy(t->session_key, server_name ? server_name : "", a);
        t->session_key[a] = '\n';
        memcpy(t->session_key + a + 1, session_key, b + 1);
        SSL_SESSION *sess = session_get(ctx, t->session_key);
        if (sess != NULL) {
            SSL_set_session(t->ssl, sess);
            SSL_SESSION_free(sess);
        }
    }
    return t;
fail:
    ERR_clear_error();
    wdn_tls_free(t);
    return NULL;
}

void wdn_tls_free(struct wdn_tls *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    free(t->in);
    free(t->out);
    free(t->err);
    free(t->session_key);
    free(t->spiffe);
    ctx_release(t->ctx);
    free(t);
}

/* Records a fatal error once: OpenSSL's reason, the verification error, and our context. */
static int tls_fail(struct wdn_tls *t, const char *what)
{
    char reason[256] = "";
    char buf[512];
    unsigned long e = ERR_peek_error();
    long vr = SSL_get_verify_result(t->ssl);

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    t->failed = true;
    if (t->err == NULL) {
        if (vr != X509_V_OK)
            snprintf(buf, sizeof(buf), "%s: %s; certificate: %s", what,
                     reason[0] ? reason : "failed", X509_verify_cert_error_string(vr));
        else
            snprintf(buf, sizeof(buf), "%s: %s", what, reason[0] ? reason : "failed");
        t->err = strdup(buf);
    }
    return WDN_ETLS;
}

int wdn_tls_feed(struct wdn_tls *t, const void *data, size_t n)
{
    size_t live, cap;
    char *p;

    if (t->failed)
        return WDN_ESTATE;
    if (n == 0)
        return 0;
    live = t->in_len - t->in_off;
    if (n > WDN_TLS_MAX_INPUT_BYTES - live)
        return WDN_ELIMIT;
    if (t->in_off > 0 && t->in_len + n > t->in_cap) {
        memmove(t->in, t->in + t->in_off, live);
        t->in_off = 0;
        t->in_len = live;
    }
    if (t->in_len + n > t->in_cap) {
        cap = t->in_cap ? t->in_cap : WDN_TLS_IN_BUF_BYTES;
        while (cap < t->in_len + n)
            cap *= 2;
        if (cap > WDN_TLS_MAX_INPUT_BYTES)
            cap = WDN_TLS_MAX_INPUT_BYTES;
        p = realloc(t->in, cap);
        if (p == NULL)
            return WDN_ENOMEM;
        t->in = p;
        t->in_cap = cap;
    }
    memcpy(t->in + t->in_len, data, n);
    t->in_len += n;
    return 0;
}

char *wdn_tls_in_space(struct wdn_tls *t, size_t *len)
{
    size_t live = t->in_len - t->in_off;

    *len = 0;
    if (t->in == NULL) {
        t->in = malloc(WDN_TLS_IN_BUF_BYTES);
        if (t->in == NULL)
            return NULL;
        t->in_cap = WDN_TLS_IN_BUF_BYTES;
    }
    if (t->in_off > 0) {
        memmove(t->in, t->in + t->in_off, live);
        t->in_off = 0;
        t->in_len = live;
    }
    if (t->in_len == t->in_cap)
        return NULL;
    *len = t->in_cap - t->in_len;
    return t->in + t->in_len;
}

void wdn_tls_in_commit(struct wdn_tls *t, size_t n)
{
    if (n > t->in_cap - t->in_len)
        n = t->in_cap - t->in_len; /* a caller bug; never write past the buffer's end */
    t->in_len += n;
}

/* When every byte is consumed the input buffer goes back to the allocator: idle connections
 * then hold no ciphertext buffer at all. */
static void in_release_if_empty(struct wdn_tls *t)
{
    if (t->in != NULL && t->in_len == t->in_off) {
        free(t->in);
        t->in = NULL;
        t->in_cap = t->in_len = t->in_off = 0;
    }
}

int wdn_tls_read(struct wdn_tls *t, void *buf, size_t cap)
{
    size_t got = 0;
    int rc;

    if (t->failed)
        return WDN_ETLS;
    if (cap > INT_MAX)
        cap = INT_MAX;
    ERR_clear_error();
    if (SSL_read_ex(t->ssl, buf, cap, &got) == 1)
        return (int)got;
    switch (SSL_get_error(t->ssl, 0)) {
    case SSL_ERROR_WANT_READ:
        in_release_if_empty(t);
        rc = WDN_EAGAIN;
        break;
    case SSL_ERROR_ZERO_RETURN:
        rc = WDN_EEOF;
        break;
    default:
        rc = tls_fail(t, SSL_is_init_finished(t->ssl) ? "TLS read" : "TLS handshake");
        break;
    }
    return rc;
}

int wdn_tls_write(struct wdn_tls *t, const void *data, size_t n)
{
    size_t done = 0;
    int rc;

    if (t->failed)
        return WDN_ETLS;
    if (t->closed)
        return WDN_ESTATE;
    if (n == 0)
        return 0;
    if (t->out_len >= WDN_TLS_OUT_HIGH_WATER)
        return WDN_EAGAIN;
    if (n > WDN_TLS_WRITE_CHUNK_BYTES)
        n = WDN_TLS_WRITE_CHUNK_BYTES;
    ERR_clear_error();
    if (SSL_write_ex(t->ssl, data, n, &done) == 1)
        return (int)done;
    switch (SSL_get_error(t->ssl, 0)) {
    case SSL_ERROR_WANT_READ:
        rc = WDN_EAGAIN;
        break;
    default:
        rc = tls_fail(t, SSL_is_init_finished(t->ssl) ? "TLS write" : "TLS handshake");
        break;
    }
    return rc;
}

bool wdn_tls_has_buffered_input(const struct wdn_tls *t)
{
    return t->in_len > t->in_off || SSL_has_pending(t->ssl) == 1;
}

size_t wdn_tls_pending_output(const struct wdn_tls *t)
{
    return t->out_len;
}

int wdn_tls_take_output(struct wdn_tls *t, char **data, size_t *len)
{
    if (t->out_len == 0) {
        *data = NULL;
        *len = 0;
        return WDN_EAGAIN;
    }
    *data = t->out;
    *len = t->out_len;
    t->out = NULL;
    t->out_len = t->out_cap = 0;
    return 0;
}

size_t wdn_tls_read_output(struct wdn_tls *t, void *buf, size_t cap)
{
    size_t n = t->out_len < cap ? t->out_len : cap;

    memcpy(buf, t->out, n);
    memmove(t->out, t->out + n, t->out_len - n);
    t->out_len -= n;
    if (t->out_len == 0) {
        free(t->out);
        t->out = NULL;
        t->out_cap = 0;
    }
    return n;
}

int wdn_tls_handshake(struct wdn_tls *t)
{
    int rc;

    if (t->failed)
        return WDN_ETLS;
    ERR_clear_error();
    if (SSL_do_handshake(t->ssl) == 1)
        return 0;
    switch (SSL_get_error(t->ssl, 0)) {
    case SSL_ERROR_WANT_READ:
        rc = WDN_EAGAIN;
        break;
    default:
        rc = tls_fail(t, "TLS handshake");
        break;
    }
    return rc;
}

bool wdn_tls_handshake_done(const struct wdn_tls *t)
{
    return !t->failed && SSL_is_init_finished(t->ssl);
}

bool wdn_tls_resumed(const struct wdn_tls *t)
{
    return SSL_session_reused(t->ssl) == 1;
}

int wdn_tls_close(struct wdn_tls *t)
{
    if (t->failed)
        return WDN_ESTATE;
    if (t->closed)
        return 0;
    t->closed = true;
    ERR_clear_error();
    /* 1 or 0 both mean our close_notify is queued; a negative result with WANT_READ too. We do
     * not wait for the peer's close_notify: HTTP framing already tells where data ends. */
    if (SSL_shutdown(t->ssl) < 0 && SSL_get_error(t->ssl, -1) != SSL_ERROR_WANT_READ)
        return tls_fail(t, "TLS close");
    ERR_clear_error();
    return 0;
}

const char *wdn_tls_error(const struct wdn_tls *t)
{
    return t->err ? t->err : "";
}

const char *wdn_tls_version(const struct wdn_tls *t)
{
    return SSL_get_version(t->ssl);
}

struct wdn_str wdn_tls_alpn(const struct wdn_tls *t)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;

    SSL_get0_alpn_selected(t->ssl, &p, &n);
    return (struct wdn_str){(const char *)p, p ? n : 0};
}

X509 *wdn_tls_peer_cert(const struct wdn_tls *t)
{
    X509 *cert;

    if (t->failed || !SSL_is_init_finished(t->ssl))
        return NULL;
    cert = SSL_get0_peer_certificate(t->ssl);
    /* With WDN_TLS_VERIFY_NONE on a client the chain was not enforced: never hand out an
     * unverified certificate as if it were an identity. */
    if (cert == NULL || SSL_get_verify_result(t->ssl) != X509_V_OK ||
        t->ctx->verify == WDN_TLS_VERIFY_NONE)
        return NULL;
    return cert;
}

int wdn_tls_x509_spiffe_id(X509 *cert, char *buf, size_t cap, size_t *len)
{
    GENERAL_NAMES *names = NULL;
    const unsigned char *uri = NULL;
    int crit = 0, nuri = 0, urilen = 0;
    int rc = WDN_EAUTH;

    if (len != NULL)
        *len = 0;
    if (cert == NULL)
        goto out;
    /* An X.509-SVID leaf must not be a CA (SPIFFE X509-SVID spec, section 4.1). */
    if (X509_check_ca(cert) != 0)
        goto out;
    names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (names == NULL)
        goto out; /* none, or several SAN extensions (crit == -2) */
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != GEN_URI)
            continue;
        nuri++;
        uri = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
        urilen = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
    }
    if (nuri != 1 || urilen <= 9 || urilen > WDN_SPIFFE_MAX_ID_BYTES ||
        memcmp(uri, "spiffe://", 9) != 0)
        goto out;
    for (int i = 0; i < urilen; i++) {
        if (uri[i] <= 0x20 || uri[i] >= 0x7f)
            goto out;
    }
    if ((size_t)urilen >= cap) {
        rc = WDN_ELIMIT;
        goto out;
    }
    memcpy(buf, uri, (size_t)urilen);
    buf[urilen] = '\0';
    if (len != NULL)
        *len = (size_t)urilen;
    rc = 0;
out:
    GENERAL_NAMES_free(names);
    ERR_clear_error();
    return rc;
}

int wdn_tls_peer_spiffe_id(struct wdn_tls *t, struct wdn_str *id)
{
    char buf[WDN_SPIFFE_MAX_ID_BYTES + 1];
    size_t n = 0;
    X509 *cert;
    int rc;

    *id = (struct wdn_str){NULL, 0};
    if (t->spiffe != NULL) {
        *id = (struct wdn_str){t->spiffe, t->spiffe_len};
        return 0;
    }
    cert = wdn_tls_peer_cert(t);
    if (cert == NULL)
        return WDN_ENOTFOUND;
    rc = wdn_tls_x509_spiffe_id(cert, buf, sizeof(buf), &n);
    if (rc != 0)
        return rc;
    t->spiffe = malloc(n + 1);
    if (t->spiffe == NULL)
        return WDN_ENOMEM;
    memcpy(t->spiffe, buf, n + 1);
    t->spiffe_len = n;
    *id = (struct wdn_str){t->spiffe, n};
    return 0;
}
