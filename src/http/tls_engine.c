/* The TLS engine: one connection of OpenSSL 3 driven through a custom in-memory BIO (see tls.h
 * for the contract): ciphertext in and out of the caller's buffers, plaintext through read
 * and write, the handshake inside them, errors recorded once, and the verified peer's identity
 * (certificate, SPIFFE ID). Contexts are in tls_context.c. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/error.h"
#include "http/tls_int.h"

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

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

/* OpenSSL's SSL_get_error reads this thread's error queue, so it must be empty before each
 * I/O call. OpenSSL 3's ERR_clear_error walks every slot of the queue (two frees each) even when
 * it is empty; peeking first costs a fraction of that on the common path, where nothing failed. */
static void err_queue_clear(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

/* Appends the first OpenSSL error (and the verification error, if any) to a diag message. */
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
        is_ip =
            inet_pton(AF_INET, server_name, ip) == 1 || inet_pton(AF_INET6, server_name, ip) == 1;
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
        SSL_SESSION *sess = wdn__tls_session_get(ctx, t->session_key);
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
    wdn__tls_ctx_release(t->ctx);
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
    err_queue_clear();
    if (SSL_read_ex(t->ssl, buf, cap, &got) == 1) {
        in_release_if_empty(t);
        return (int)got;
    }
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
    err_queue_clear();
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
    err_queue_clear();
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

const char *wdn_tls_verify_error(const struct wdn_tls *t)
{
    long vr = SSL_get_verify_result(t->ssl);
    return vr == X509_V_OK ? NULL : X509_verify_cert_error_string(vr);
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
