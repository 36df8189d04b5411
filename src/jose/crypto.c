/* The crypto primitives under JWS: algorithm names, digests fetched once per process, and
 * per-thread contexts so that verification neither allocates nor takes provider locks. */
#include "jose/crypto.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "base/error.h"
#include "base/fault.h"
#include "jose/internal.h"

static const char *const alg_names[WDN_JOSE_ALG_COUNT] = {
    "unknown", "RS256", "RS384", "RS512", "PS256", "PS384",
    "PS512",   "ES256", "ES384", "ES512", "EdDSA",
};

const char *wdn_jose_alg_name(enum wdn_jose_alg alg)
{
    if ((int)alg <= 0 || alg >= WDN_JOSE_ALG_COUNT)
        return alg_names[0];
    return alg_names[alg];
}

enum wdn_jose_alg wdn_jose_alg_parse(struct wdn_str name)
{
    for (int a = 1; a < WDN_JOSE_ALG_COUNT; a++) {
        if (wdn_str_eq_cstr(name, alg_names[a]))
            return (enum wdn_jose_alg)a;
    }
    return WDN_JOSE_ALG_UNKNOWN;
}

/* Digests are fetched once: an implicit fetch (EVP_sha256() inside each init) takes the
 * provider store's lock on every call, which DESIGN.md section 3 measured scaling badly. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md256, *md384, *md512;
static atomic_uint_fast64_t next_id = 1;

static void md_fetch(void)
{
    md256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    md512 = EVP_MD_fetch(NULL, "SHA512", NULL);
}

/* Runs at exit so that leak checkers see the process-wide digests released. */
__attribute__((destructor)) static void md_release(void)
{
    EVP_MD_free(md256);
    EVP_MD_free(md384);
    EVP_MD_free(md512);
    md256 = md384 = md512 = NULL;
}

const EVP_MD *wdn__jose_md(enum wdn_jose_alg alg)
{
    pthread_once(&md_once, md_fetch);
    switch (alg) {
    case WDN_JOSE_RS256:
    case WDN_JOSE_PS256:
    case WDN_JOSE_ES256:
        return md256;
    case WDN_JOSE_RS384:
    case WDN_JOSE_PS384:
    case WDN_JOSE_ES384:
        return md384;
    case WDN_JOSE_RS512:
    case WDN_JOSE_PS512:
    case WDN_JOSE_ES512:
        return md512;
    default:
        return NULL;
    }
}

uint64_t wdn__jose_next_id(void)
{
    return atomic_fetch_add(&next_id, 1);
}

/* Per-thread state. A small direct-mapped cache of EVP_PKEY_CTX initialised for verification
 * with one (key, algorithm): creating and initialising a context costs a provider fetch, so
 * it is done once per key per thread. A slot holds a reference to its EVP_PKEY, so a key
 * set freed while a slot still names its key stays valid until the slot is reused. */
#define SLOTS 32

struct slot {
    uint64_t tag; /* key id * 16 + alg; 0 = empty */
    EVP_PKEY_CTX *ctx;
};

struct tls {
    EVP_MD_CTX *md;  /* digests: SHA-256 of tokens, signing inputs */
    EVP_MD_CTX *ed;  /* EdDSA one-shot verification */
    struct slot slots[SLOTS];
};

static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static _Thread_local struct tls *tls_cur;

static void tls_free(void *p)
{
    struct tls *t = p;

    if (t == NULL)
        return;
    EVP_MD_CTX_free(t->md);
    EVP_MD_CTX_free(t->ed);
    for (int i = 0; i < SLOTS; i++)
        EVP_PKEY_CTX_free(t->slots[i].ctx);
    free(t);
}

static void tls_init_key(void)
{
    pthread_key_create(&tls_key, tls_free);
}

static struct tls *tls_get(void)
{
    struct tls *t = tls_cur;

    if (t != NULL)
        return t;
    pthread_once(&tls_once, tls_init_key);
    t = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(1, sizeof(*t)));
    if (t == NULL)
        return NULL;
    t->md = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, EVP_MD_CTX_new());
    t->ed = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, EVP_MD_CTX_new());
    if (t->md == NULL || t->ed == NULL) {
        tls_free(t);
        return NULL;
    }
    /* The key's destructor frees the state when the thread exits. */
    pthread_setspecific(tls_key, t);
    tls_cur = t;
    return t;
}

void wdn_jose_thread_cleanup(void)
{
    if (tls_cur == NULL)
        return;
    pthread_setspecific(tls_key, NULL);
    tls_free(tls_cur);
    tls_cur = NULL;
}

int wdn_jose_sha256(const void *p, size_t n, unsigned char out[32])
{
    struct tls *t = tls_get();
    const EVP_MD *md = wdn__jose_md(WDN_JOSE_RS256);
    unsigned len = 0;

    if (t == NULL || md == NULL)
        return WDN_ENOMEM;
    if (!WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_DigestInit_ex2(t->md, md, NULL)) ||
        !WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_DigestUpdate(t->md, p, n)) ||
        !WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_DigestFinal_ex(t->md, out, &len)) || len != 32)
        return WDN_ECRYPTO;
    return 0;
}

/* Returns this thread's verification context for (key, alg), creating it on a miss. */
static EVP_PKEY_CTX *slot_ctx(struct tls *t, const struct wdn_jwk *k, enum wdn_jose_alg alg)
{
    uint64_t tag = k->id * 16 + (uint64_t)alg;
    struct slot *s = &t->slots[tag % SLOTS];
    EVP_PKEY_CTX *ctx;
    const EVP_MD *md = wdn__jose_md(alg);

    if (s->tag == tag)
        return s->ctx;
    ctx = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL));
    if (ctx == NULL || WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_PKEY_verify_init(ctx)) <= 0)
        goto fail;
    if (k->kty == WDN_JWK_RSA) {
        bool pss = alg == WDN_JOSE_PS256 || alg == WDN_JOSE_PS384 || alg == WDN_JOSE_PS512;
        int pad = pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
        if (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_PKEY_CTX_set_rsa_padding(ctx, pad)) <= 0)
            goto fail;
        if (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_PKEY_CTX_set_signature_md(ctx, md)) <= 0)
            goto fail;
        /* RFC 7518 section 3.5: MGF1 with the same hash, salt as long as the hash. */
        if (pss &&
            (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md)) <= 0 ||
             WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0,
                          EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST)) <= 0))
            goto fail;
    } else if (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_PKEY_CTX_set_signature_md(ctx, md)) <= 0) {
        goto fail;
    }
    EVP_PKEY_CTX_free(s->ctx);
    s->ctx = ctx;
    s->tag = tag;
    return ctx;
fail:
    EVP_PKEY_CTX_free(ctx);
    return NULL;
}

/* Appends a DER INTEGER holding the unsigned big-endian value v[0..n). */
static size_t der_int(unsigned char *o, const unsigned char *v, size_t n)
{
    size_t i = 0, len;

    while (i < n - 1 && v[i] == 0)
        i++;
    len = n - i + ((v[i] & 0x80) ? 1 : 0);
    o[0] = 0x02;
    o[1] = (unsigned char)len;
    if (v[i] & 0x80) {
        o[2] = 0;
        memcpy(o + 3, v + i, n - i);
    } else {
        memcpy(o + 2, v + i, n - i);
    }
    return 2 + len;
}

/* JWS carries ECDSA signatures as fixed-length r || s (RFC 7518 section 3.4); OpenSSL wants
 * DER. Built by hand into a stack buffer: no allocation on the hot path. */
static size_t ecdsa_der(unsigned char *out, const unsigned char *sig, size_t siglen)
{
    unsigned char body[2 * (3 + 66)];
    size_t half = siglen / 2, n = 0, o = 0;

    n += der_int(body + n, sig, half);
    n += der_int(body + n, sig + half, half);
    out[o++] = 0x30;
    if (n >= 128)
        out[o++] = 0x81;
    out[o++] = (unsigned char)n;
    memcpy(out + o, body, n);
    return o + n;
}

int wdn__jose_verify(const struct wdn_jwk *k, enum wdn_jose_alg alg, const unsigned char *in,
                     size_t n, const unsigned char *sig, size_t siglen)
{
    struct tls *t = tls_get();
    unsigned char dig[EVP_MAX_MD_SIZE], der[2 * (3 + 66) + 3];
    unsigned diglen = 0;
    const EVP_MD *md;
    EVP_PKEY_CTX *ctx;
    int r;

    if (t == NULL)
        return WDN_ENOMEM;
    if (alg == WDN_JOSE_EDDSA) {
        /* Ed25519 signs the message itself, so there is no digest step; the one-shot API
         * needs a fresh init per message. */
        EVP_MD_CTX_reset(t->ed);
        if (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0,
                         EVP_DigestVerifyInit_ex(t->ed, NULL, NULL, NULL, NULL, k->pkey, NULL)) <=
            0)
            return WDN_ECRYPTO;
        r = EVP_DigestVerify(t->ed, sig, siglen, in, n);
        return r == 1 ? 0 : WDN_EAUTH;
    }
    md = wdn__jose_md(alg);
    if (md == NULL)
        return WDN_ECRYPTO;
    if (!WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_DigestInit_ex2(t->md, md, NULL)) ||
        !WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_DigestUpdate(t->md, in, n)) ||
        !WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_DigestFinal_ex(t->md, dig, &diglen)))
        return WDN_ECRYPTO;
    ctx = slot_ctx(t, k, alg);
    if (ctx == NULL)
        return WDN_ECRYPTO;
    if (k->kty == WDN_JWK_EC) {
        size_t derlen = ecdsa_der(der, sig, siglen);
        r = EVP_PKEY_verify(ctx, der, derlen, dig, diglen);
    } else {
        r = EVP_PKEY_verify(ctx, sig, siglen, dig, diglen);
    }
    return r == 1 ? 0 : WDN_EAUTH;
}
