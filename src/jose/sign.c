/* Signing side of JOSE: key generation, PEM storage with owner-only permissions, compact JWS
 * signing and public JWK export. Not on any request path. */
#include "base/json_dump.h"
#include "jose/sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/fault.h"
#include "base/file.h"
#include "base/limits.h"
#include "jose/internal.h"

struct wdn_jose_key {
    EVP_PKEY *pkey;
    enum wdn_jose_alg alg;
    int has_private;
    char kid[WDN_JWK_MAX_KID_BYTES + 1];
};

/* Does alg suit this key (type, curve, size)? */
static bool alg_fits(EVP_PKEY *pkey, enum wdn_jose_alg alg)
{
    int id = EVP_PKEY_get_base_id(pkey);
    enum wdn_jose_alg curve_alg = WDN_JOSE_ALG_UNKNOWN;

    switch (alg) {
    case WDN_JOSE_RS256:
    case WDN_JOSE_RS384:
    case WDN_JOSE_RS512:
    case WDN_JOSE_PS256:
    case WDN_JOSE_PS384:
    case WDN_JOSE_PS512:
        return id == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) >= 2048;
    case WDN_JOSE_ES256:
    case WDN_JOSE_ES384:
    case WDN_JOSE_ES512:
        return id == EVP_PKEY_EC && wdn__jose_ec_coord(pkey, &curve_alg) != 0 && curve_alg == alg;
    case WDN_JOSE_EDDSA:
        return id == EVP_PKEY_ED25519;
    default:
        return false;
    }
}

static struct wdn_jose_key *wrap(EVP_PKEY *pkey, enum wdn_jose_alg alg, const char *kid,
                                 int has_private, struct wdn_diag *d)
{
    struct wdn_jose_key *k = NULL;
    unsigned char tp[32];
    size_t len = 0;

    if (!alg_fits(pkey, alg)) {
        wdn_diag_set(d, WDN_EINVAL, "the key does not suit %s", wdn_jose_alg_name(alg));
        goto fail;
    }
    k = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(1, sizeof(*k)));
    if (k == NULL) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto fail;
    }
    if (kid != NULL) {
        if (strlen(kid) == 0 || strlen(kid) > WDN_JWK_MAX_KID_BYTES) {
            wdn_diag_set(d, WDN_EINVAL, "kid must be 1 to %d bytes", WDN_JWK_MAX_KID_BYTES);
            goto fail;
        }
        memcpy(k->kid, kid, strlen(kid) + 1);
    } else if (wdn__jose_thumbprint(pkey, tp) != 0 ||
               wdn_b64url_encode(tp, 32, k->kid, sizeof(k->kid), &len) != 0) {
        wdn_diag_set(d, WDN_ECRYPTO, "cannot compute the key thumbprint");
        goto fail;
    }
    k->pkey = pkey;
    k->alg = alg;
    k->has_private = has_private;
    return k;
fail:
    free(k);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return NULL;
}

struct wdn_jose_key *wdn_jose_key_generate(enum wdn_jose_alg alg, unsigned bits, const char *kid,
                                           struct wdn_diag *d)
{
    EVP_PKEY *pkey = NULL;

    switch (alg) {
    case WDN_JOSE_RS256:
    case WDN_JOSE_PS256:
        if (bits == 0)
            bits = 2048;
        if (bits != 2048 && bits != 3072 && bits != 4096) {
            wdn_diag_set(d, WDN_EINVAL, "RSA keys are 2048, 3072 or 4096 bits");
            return NULL;
        }
        pkey = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL,
                            EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits));
        break;
    case WDN_JOSE_ES256:
        pkey = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
        break;
    case WDN_JOSE_ES384:
        pkey = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"));
        break;
    case WDN_JOSE_EDDSA:
        pkey = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
        break;
    default:
        wdn_diag_set(d, WDN_EUNSUPPORTED, "cannot generate keys for %s", wdn_jose_alg_name(alg));
        return NULL;
    }
    if (pkey == NULL) {
        wdn_diag_set(d, WDN_ECRYPTO, "key generation failed");
        ERR_clear_error();
        return NULL;
    }
    return wrap(pkey, alg, kid, 1, d);
}

struct wdn_jose_key *wdn_jose_key_load_pem(const char *path, enum wdn_jose_alg alg,
                                           const char *kid, struct wdn_diag *d)
{
    struct wdn_buf pem;
    EVP_PKEY *pkey = NULL;
    BIO *bio;
    int priv = 1, rc = wdn_file_read(path, WDN_PKI_MAX_FILE_BYTES, &pem);

    if (rc) {
        wdn_diag_set(d, rc == WDN_ELIMIT ? WDN_ELIMIT : WDN_EIO, "cannot read %s: %s", path,
                     wdn_strerror(rc));
        return NULL;
    }
    bio = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, BIO_new_mem_buf(pem.data, (int)pem.len));
    if (bio != NULL)
        pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (bio != NULL && pkey == NULL) {
        ERR_clear_error();
        (void)BIO_reset(bio);
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        priv = 0;
    }
    OPENSSL_cleanse(pem.data, pem.cap);
    wdn_buf_reset(&pem);
    if (bio == NULL) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        return NULL;
    }
    BIO_free(bio);
    if (pkey == NULL) {
        ERR_clear_error();
        wdn_diag_set(d, WDN_EPARSE, "%s holds no PEM key", path);
        return NULL;
    }
    return wrap(pkey, alg, kid, priv, d);
}

struct wdn_jose_key *wdn_jose_key_from_pem(struct wdn_str pem, enum wdn_jose_alg alg,
                                           const char *kid, struct wdn_diag *d)
{
    BIO *bio;
    EVP_PKEY *pkey;

    if (pem.len == 0 || pem.len > 64 * 1024) {
        wdn_diag_set(d, WDN_EINVAL, "no PEM key, or one too long");
        return NULL;
    }
    bio = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, BIO_new_mem_buf(pem.p, (int)pem.len));
    if (bio == NULL) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        return NULL;
    }
    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (pkey == NULL) {
        ERR_clear_error();
        wdn_diag_set(d, WDN_EPARSE, "the text holds no PEM private key");
        return NULL;
    }
    return wrap(pkey, alg, kid, 1, d);
}

int wdn_jose_key_save_pem(const struct wdn_jose_key *k, const char *path, struct wdn_diag *d)
{
    BIO *mem = NULL;
    char *p = NULL;
    long n;
    int rc = WDN_EIO;

    if (!k->has_private)
        return wdn_diag_set(d, WDN_EPERM, "a public key cannot be saved as a private key");
    /* Secure-heap memory, cleared when freed; the file is 0600 from its creation. */
    mem = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, BIO_new(BIO_s_secmem()));
    if (mem == NULL ||
        !WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0,
                      PEM_write_bio_PrivateKey(mem, k->pkey, NULL, NULL, 0, NULL, NULL)) ||
        (n = BIO_get_mem_data(mem, &p)) <= 0) {
        rc = wdn_diag_set(d, WDN_ECRYPTO, "cannot encode the key");
        goto out;
    }
    rc = wdn_file_write_atomic(path, p, (size_t)n, 0600);
    if (rc)
        rc = wdn_diag_set(d, rc, "cannot write %s: %s", path, wdn_strerror(rc));
out:
    BIO_free(mem);
    ERR_clear_error();
    return rc;
}

void wdn_jose_key_free(struct wdn_jose_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *wdn_jose_key_kid(const struct wdn_jose_key *k)
{
    return k->kid;
}

enum wdn_jose_alg wdn_jose_key_alg(const struct wdn_jose_key *k)
{
    return k->alg;
}

/* Converts a DER ECDSA signature into fixed-length r || s. */
static int der_to_raw(const unsigned char *der, size_t len, unsigned char *raw, size_t coord)
{
    const unsigned char *p = der;
    ECDSA_SIG *s = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, d2i_ECDSA_SIG(NULL, &p, (long)len));
    const BIGNUM *r, *ss;
    int rc = WDN_ECRYPTO;

    if (s == NULL)
        return rc;
    ECDSA_SIG_get0(s, &r, &ss);
    if (BN_bn2binpad(r, raw, (int)coord) == (int)coord &&
        BN_bn2binpad(ss, raw + coord, (int)coord) == (int)coord)
        rc = 0;
    ECDSA_SIG_free(s);
    return rc;
}

int wdn_jws_sign_raw(const struct wdn_jose_key *k, struct wdn_str header, struct wdn_str payload,
                     struct wdn_buf *out)
{
    EVP_MD_CTX *mc = NULL;
    EVP_PKEY_CTX *pc = NULL;
    unsigned char sig[1024], raw[132];
    size_t siglen = sizeof(sig), start = out->len, n = 0, coord;
    const unsigned char *final = sig;
    const char *mdname;
    char enc[1400];
    int rc = WDN_ENOMEM;

    if (!k->has_private)
        return WDN_EPERM;
    /* base64url(header) "." base64url(payload), built in out, then signed in place. */
    rc = wdn_buf_reserve(out, wdn_b64url_encoded_len(header.len) +
                                  wdn_b64url_encoded_len(payload.len) + 2 + sizeof(enc));
    if (rc != 0)
        goto out;
    wdn_b64url_encode(header.p, header.len, out->data + out->len, out->cap - out->len, &n);
    out->len += n;
    out->data[out->len++] = '.';
    wdn_b64url_encode(payload.p, payload.len, out->data + out->len, out->cap - out->len, &n);
    out->len += n;
    rc = WDN_ECRYPTO;
    mc = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, EVP_MD_CTX_new());
    if (mc == NULL)
        goto out;
    mdname = k->alg == WDN_JOSE_EDDSA ? NULL : EVP_MD_get0_name(wdn__jose_md(k->alg));
    if (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0,
                     EVP_DigestSignInit_ex(mc, &pc, mdname, NULL, NULL, k->pkey, NULL)) <= 0)
        goto out;
    if (k->alg == WDN_JOSE_PS256 || k->alg == WDN_JOSE_PS384 || k->alg == WDN_JOSE_PS512) {
        if (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0,
                         EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING)) <= 0 ||
            WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0,
                         EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST)) <= 0)
            goto out;
    }
    if (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0,
                     EVP_DigestSign(mc, sig, &siglen, (const unsigned char *)out->data + start,
                                    out->len - start)) <= 0)
        goto out;
    coord = wdn__jose_ec_coord(k->pkey, NULL);
    if (EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_EC) {
        if (der_to_raw(sig, siglen, raw, coord) != 0)
            goto out;
        final = raw;
        siglen = 2 * coord;
    }
    if (wdn_b64url_encode(final, siglen, enc, sizeof(enc), &n) != 0)
        goto out;
    out->data[out->len++] = '.';
    rc = wdn_buf_append(out, enc, n);
out:
    if (rc != 0)
        out->len = start;
    EVP_MD_CTX_free(mc);
    ERR_clear_error();
    return rc;
}

int wdn_jws_sign(const struct wdn_jose_key *k, struct wdn_str claims, const char *typ,
                 struct wdn_buf *out)
{
    json_t *h = json_object();
    char *hs = NULL;
    int rc = WDN_ENOMEM;

    if (h == NULL)
        goto out;
    if (json_object_set_new(h, "alg", json_string(wdn_jose_alg_name(k->alg))) != 0 ||
        json_object_set_new(h, "kid", json_string(k->kid)) != 0 ||
        json_object_set_new(h, "typ", json_string(typ ? typ : "JWT")) != 0)
        goto out;
    hs = wdn_json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (hs == NULL)
        goto out;
    rc = wdn_jws_sign_raw(k, wdn_str_from_cstr(hs), claims, out);
out:
    free(hs);
    json_decref(h);
    return rc;
}

static json_t *public_jwk(const struct wdn_jose_key *k)
{
    json_t *o = wdn__jose_public_members(k->pkey);

    if (o == NULL)
        return NULL;
    if (json_object_set_new(o, "kid", json_string(k->kid)) != 0 ||
        json_object_set_new(o, "use", json_string("sig")) != 0 ||
        json_object_set_new(o, "alg", json_string(wdn_jose_alg_name(k->alg))) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *wdn_jose_key_public_jwk(const struct wdn_jose_key *k)
{
    json_t *o = public_jwk(k);
    char *s = o ? wdn_json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(o);
    return s;
}

char *wdn_jose_jwks_export(const struct wdn_jose_key *const *keys, size_t n)
{
    json_t *root = json_object(), *arr = json_array();
    char *s = NULL;

    if (root == NULL || arr == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *o = public_jwk(keys[i]);
        if (o == NULL || json_array_append_new(arr, o) != 0)
            goto out;
    }
    if (json_object_set(root, "keys", arr) != 0)
        goto out;
    s = wdn_json_dumps(root, JSON_COMPACT);
out:
    json_decref(arr);
    json_decref(root);
    return s;
}
