/* JWK and JWKS parsing (RFC 7517, RFC 7518 section 6, RFC 8037): every usable key becomes a
 * checked EVP_PKEY once, at load time, so that verification only looks keys up. */
#include "base/json_dump.h"
#include "jose/jwk.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "base/base64.h"
#include "base/error.h"
#include "base/fault.h"
#include "base/json_scan.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "jose/internal.h"

#define RSA_ALGS                                                                                   \
    (WDN_JOSE_ALG_BIT(WDN_JOSE_RS256) | WDN_JOSE_ALG_BIT(WDN_JOSE_RS384) |                         \
     WDN_JOSE_ALG_BIT(WDN_JOSE_RS512) | WDN_JOSE_ALG_BIT(WDN_JOSE_PS256) |                         \
     WDN_JOSE_ALG_BIT(WDN_JOSE_PS384) | WDN_JOSE_ALG_BIT(WDN_JOSE_PS512))

/* Why a key was skipped; only used to count and, in tests, to explain. */
enum skip { KEEP = 0, SKIP };

/* Decodes the base64url string member name of o into buf. WDN_ENOTFOUND when absent. */
static int b64_member(json_t *o, const char *name, unsigned char *buf, size_t cap, size_t *len)
{
    json_t *v = json_object_get(o, name);

    if (v == NULL)
        return WDN_ENOTFOUND;
    if (!json_is_string(v))
        return WDN_EPARSE;
    return wdn_b64url_decode((struct wdn_str){json_string_value(v), json_string_length(v)}, buf,
                             cap, len);
}

static EVP_PKEY *fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, OSSL_PARAM_BLD_to_param(bld));
    EVP_PKEY_CTX *pc =
        WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, EVP_PKEY_CTX_new_from_name(NULL, type, NULL));
    EVP_PKEY *pkey = NULL;

    if (params == NULL || pc == NULL ||
        WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_PKEY_fromdata_init(pc)) <= 0 ||
        WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0,
                     EVP_PKEY_fromdata(pc, &pkey, EVP_PKEY_PUBLIC_KEY, params)) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_from_ne(const unsigned char *n, size_t nlen, const unsigned char *e,
                             size_t elen)
{
    OSSL_PARAM_BLD *bld = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, OSSL_PARAM_BLD_new());
    BIGNUM *bn = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, BN_bin2bn(n, (int)nlen, NULL));
    BIGNUM *be = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, BN_bin2bn(e, (int)elen, NULL));
    EVP_PKEY *pkey = NULL;

    if (bld == NULL || bn == NULL || be == NULL)
        goto out;
    if (!WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0,
                      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn)) ||
        !WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)))
        goto out;
    pkey = fromdata("RSA", bld);
out:
    BN_free(bn);
    BN_free(be);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* Curve name in JWK terms -> OpenSSL group, coordinate size and the one algorithm allowed. */
static const struct {
    const char *crv;
    const char *group;
    size_t coord;
    enum wdn_jose_alg alg;
} curves[] = {
    {"P-256", "prime256v1", 32, WDN_JOSE_ES256},
    {"P-384", "secp384r1", 48, WDN_JOSE_ES384},
    {"P-521", "secp521r1", 66, WDN_JOSE_ES512},
};

size_t wdn__jose_ec_coord(EVP_PKEY *pkey, enum wdn_jose_alg *alg)
{
    char name[64];
    size_t len = 0;

    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                        &len))
        return 0;
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (strcmp(name, curves[i].group) == 0) {
            if (alg)
                *alg = curves[i].alg;
            return curves[i].coord;
        }
    }
    return 0;
}

static EVP_PKEY *ec_from_xy(const char *group, const unsigned char *x, const unsigned char *y,
                            size_t coord)
{
    OSSL_PARAM_BLD *bld = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, OSSL_PARAM_BLD_new());
    unsigned char pt[1 + 2 * 66];
    EVP_PKEY *pkey = NULL;

    pt[0] = 0x04; /* uncompressed point: 04 || x || y */
    memcpy(pt + 1, x, coord);
    memcpy(pt + 1 + coord, y, coord);
    if (bld == NULL ||
        !WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0,
                      OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0)) ||
        !WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0,
                      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                                       1 + 2 * coord)))
        goto out;
    pkey = fromdata("EC", bld);
out:
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* The public key of the first certificate in "x5c" (for JWKS that publish only certificates).
 * The certificate is trusted as a container because the JWKS came from the trusted issuer;
 * x5c in a token header is never looked at. */
static EVP_PKEY *x5c_key(json_t *jwk)
{
    json_t *arr = json_object_get(jwk, "x5c"), *first;
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t len = 0;
    X509 *cert = NULL;
    EVP_PKEY *pkey = NULL;

    if (!json_is_array(arr) || json_array_size(arr) == 0)
        goto out;
    first = json_array_get(arr, 0);
    if (!json_is_string(first))
        goto out;
    der = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, malloc(WDN_JWK_MAX_X5C_BYTES));
    if (der == NULL)
        goto out;
    if (wdn_b64std_decode((struct wdn_str){json_string_value(first), json_string_length(first)},
                          der, WDN_JWK_MAX_X5C_BYTES, &len) != 0)
        goto out;
    p = der;
    cert = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, d2i_X509(NULL, &p, (long)len));
    if (cert == NULL || p != der + len)
        goto out;
    pkey = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, X509_get_pubkey(cert));
out:
    X509_free(cert);
    free(der);
    return pkey;
}

static bool public_check(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *c =
        WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL));
    bool ok = c != NULL && WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_PKEY_public_check(c)) == 1;

    EVP_PKEY_CTX_free(c);
    return ok;
}

/* Does "key_ops", when present, allow verification? */
static bool ops_allow_verify(json_t *jwk)
{
    json_t *ops = json_object_get(jwk, "key_ops"), *v;
    size_t i;

    if (ops == NULL)
        return true;
    if (!json_is_array(ops))
        return false;
    json_array_foreach(ops, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), "verify") == 0)
            return true;
    }
    return false;
}

/* Fills k from one JWK object; returns KEEP or SKIP (k then holds nothing to free). */
static enum skip parse_key(json_t *jwk, struct wdn_jwk *k)
{
    json_t *kty = json_object_get(jwk, "kty"), *use = json_object_get(jwk, "use");
    json_t *alg = json_object_get(jwk, "alg"), *kid = json_object_get(jwk, "kid");
    unsigned char a[WDN_JWK_MAX_RSA_BITS / 8], b[66];
    size_t alen = 0, blen = 0;
    EVP_PKEY *pkey = NULL;
    const char *ktys;
    enum wdn_jose_alg named = WDN_JOSE_ALG_UNKNOWN;

    memset(k, 0, sizeof(*k));
    if (!json_is_string(kty))
        goto skip;
    ktys = json_string_value(kty);
    if (use != NULL && !(json_is_string(use) && strcmp(json_string_value(use), "sig") == 0))
        goto skip;
    if (!ops_allow_verify(jwk))
        goto skip;
    if (alg != NULL) {
        if (!json_is_string(alg))
            goto skip;
        named = wdn_jose_alg_parse((struct wdn_str){json_string_value(alg), json_string_length(alg)});
        if (named == WDN_JOSE_ALG_UNKNOWN)
            goto skip; /* "HS256", "RSA-OAEP", "none", ...: never a verification key here */
    }
    if (kid != NULL && (!json_is_string(kid) || json_string_length(kid) > WDN_JWK_MAX_KID_BYTES))
        goto skip;

    if (strcmp(ktys, "RSA") == 0) {
        int rn = b64_member(jwk, "n", a, sizeof(a), &alen);
        int re = b64_member(jwk, "e", b, 8, &blen);
        if (rn == WDN_ENOTFOUND && re == WDN_ENOTFOUND)
            pkey = x5c_key(jwk);
        else if (rn == 0 && re == 0 && alen > 0 && blen > 0)
            pkey = rsa_from_ne(a, alen, b, blen);
        if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
            goto skip;
        if (EVP_PKEY_get_bits(pkey) < 2048 || EVP_PKEY_get_bits(pkey) > WDN_JWK_MAX_RSA_BITS)
            goto skip;
        k->kty = WDN_JWK_RSA;
        k->allowed = RSA_ALGS;
        k->sig_len = (size_t)EVP_PKEY_get_size(pkey);
    } else if (strcmp(ktys, "EC") == 0) {
        json_t *crv = json_object_get(jwk, "crv");
        size_t ci = 0, nc = sizeof(curves) / sizeof(curves[0]);
        unsigned char x[66];
        if (!json_is_string(crv))
            goto skip;
        for (; ci < nc; ci++) {
            if (strcmp(json_string_value(crv), curves[ci].crv) == 0)
                break;
        }
        if (ci == nc)
            goto skip;
        /* Coordinates are fixed-length (RFC 7518 section 6.2.1.2): check before use. */
        if (b64_member(jwk, "x", x, sizeof(x), &alen) != 0 || alen != curves[ci].coord ||
            b64_member(jwk, "y", b, sizeof(b), &blen) != 0 || blen != curves[ci].coord)
            goto skip;
        pkey = ec_from_xy(curves[ci].group, x, b, curves[ci].coord);
        if (pkey == NULL)
            goto skip;
        k->kty = WDN_JWK_EC;
        k->allowed = WDN_JOSE_ALG_BIT(curves[ci].alg);
        k->sig_len = 2 * curves[ci].coord;
    } else if (strcmp(ktys, "OKP") == 0) {
        json_t *crv = json_object_get(jwk, "crv");
        if (!json_is_string(crv) || strcmp(json_string_value(crv), "Ed25519") != 0)
            goto skip;
        if (b64_member(jwk, "x", b, sizeof(b), &blen) != 0 || blen != 32)
            goto skip;
        pkey = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL,
                            EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, b, 32));
        if (pkey == NULL)
            goto skip;
        k->kty = WDN_JWK_OKP;
        k->allowed = WDN_JOSE_ALG_BIT(WDN_JOSE_EDDSA);
        k->sig_len = 64;
    } else {
        goto skip;
    }
    /* Points off the curve, the point at infinity, even RSA moduli and the like stop here. */
    if (k->kty != WDN_JWK_OKP && !public_check(pkey))
        goto skip;
    if (named != WDN_JOSE_ALG_UNKNOWN) {
        /* The JWK's alg must agree with its type (kty-alg-mismatch): an "ES256" RSA key is
         * not a key at all. */
        if (!(k->allowed & WDN_JOSE_ALG_BIT(named)))
            goto skip;
        k->allowed = WDN_JOSE_ALG_BIT(named);
        k->alg = named;
    }
    if (wdn__jose_thumbprint(pkey, k->tp) != 0)
        goto skip;
    k->kid_len = kid ? json_string_length(kid) : 0;
    k->kid = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, malloc(k->kid_len + 1));
    if (k->kid == NULL)
        goto skip;
    memcpy(k->kid, kid ? json_string_value(kid) : "", k->kid_len + 1);
    k->pkey = pkey;
    k->id = wdn__jose_next_id();
    return KEEP;
skip:
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    memset(k, 0, sizeof(*k));
    return SKIP;
}

static json_t *load_json(struct wdn_str s, size_t max, struct wdn_diag *d)
{
    json_error_t err;
    json_t *root;

    if (s.len > max) {
        wdn_diag_set(d, WDN_ELIMIT, "JWKS of %zu bytes exceeds the limit of %zu", s.len, max);
        return NULL;
    }
    if (!wdn_json_depth_ok(s.p, s.len, WDN_JSON_MAX_DEPTH)) {
        wdn_diag_set(d, WDN_ELIMIT, "JWKS nests deeper than %d levels", WDN_JSON_MAX_DEPTH);
        return NULL;
    }
    root = json_loadb(s.p, s.len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL)
        wdn_diag_set(d, WDN_EPARSE, "JWKS is not JSON: %s (offset %d)", err.text, err.position);
    else if (!json_is_object(root)) {
        wdn_diag_set(d, WDN_EPARSE, "JWKS is not a JSON object");
        json_decref(root);
        root = NULL;
    }
    return root;
}

static struct wdn_jwks *from_array(json_t *arr, size_t count, struct wdn_diag *d)
{
    struct wdn_jwks *s =
        WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(1, sizeof(*s) + count * sizeof(struct wdn_jwk)));
    json_t *v;
    size_t i;

    if (s == NULL) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&s->refs, 1);
    json_array_foreach(arr, i, v)
    {
        if (s->n < WDN_JWKS_MAX_KEYS && json_is_object(v) && parse_key(v, &s->keys[s->n]) == KEEP)
            s->n++;
        else
            s->skipped++;
    }
    return s;
}

struct wdn_jwks *wdn_jwks_parse(struct wdn_str json, struct wdn_diag *d)
{
    json_t *root = load_json(json, WDN_JWKS_MAX_BYTES, d), *keys;
    struct wdn_jwks *s = NULL;
    size_t n;

    if (root == NULL)
        return NULL;
    keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        wdn_diag_set(d, WDN_EPARSE, "JWKS has no \"keys\" array");
        goto out;
    }
    n = json_array_size(keys);
    s = from_array(keys, n < WDN_JWKS_MAX_KEYS ? n : WDN_JWKS_MAX_KEYS, d);
out:
    json_decref(root);
    return s;
}

struct wdn_jwks *wdn_jwks_parse_jwk(struct wdn_str json, struct wdn_diag *d)
{
    json_t *root = load_json(json, WDN_JWKS_MAX_BYTES, d), *arr;
    struct wdn_jwks *s = NULL;

    if (root == NULL)
        return NULL;
    arr = json_array();
    if (arr == NULL || json_array_append(arr, root) != 0) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto out;
    }
    s = from_array(arr, 1, d);
    if (s != NULL && s->n == 0) {
        wdn_diag_set(d, WDN_EUNSUPPORTED, "the JWK is not a usable verification key");
        wdn_jwks_release(s);
        s = NULL;
    }
out:
    json_decref(arr);
    json_decref(root);
    return s;
}

struct wdn_jwks *wdn_jwks_ref(struct wdn_jwks *s)
{
    if (s != NULL)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void wdn_jwks_release(struct wdn_jwks *s)
{
    if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < s->n; i++) {
        EVP_PKEY_free(s->keys[i].pkey);
        free(s->keys[i].kid);
    }
    free(s);
}

size_t wdn_jwks_count(const struct wdn_jwks *s)
{
    return s ? s->n : 0;
}

size_t wdn_jwks_skipped(const struct wdn_jwks *s)
{
    return s ? s->skipped : 0;
}

const struct wdn_jwk *wdn_jwks_key(const struct wdn_jwks *s, size_t i)
{
    return (s && i < s->n) ? &s->keys[i] : NULL;
}

bool wdn_jwks_has_thumbprint(const struct wdn_jwks *s, const unsigned char tp[32])
{
    for (size_t i = 0; s && i < s->n; i++) {
        if (memcmp(s->keys[i].tp, tp, 32) == 0)
            return true;
    }
    return false;
}

struct wdn_str wdn_jwk_kid(const struct wdn_jwk *k)
{
    return (struct wdn_str){k->kid, k->kid_len};
}

enum wdn_jwk_kty wdn_jwk_kty(const struct wdn_jwk *k)
{
    return k->kty;
}

enum wdn_jose_alg wdn_jwk_alg(const struct wdn_jwk *k)
{
    return k->alg;
}

bool wdn_jwk_allows(const struct wdn_jwk *k, enum wdn_jose_alg alg)
{
    return alg > 0 && alg < WDN_JOSE_ALG_COUNT && (k->allowed & WDN_JOSE_ALG_BIT(alg)) != 0;
}

const unsigned char *wdn_jwk_thumbprint(const struct wdn_jwk *k)
{
    return k->tp;
}

/* Sets member name of o to the base64url of n bytes. */
static int set_b64(json_t *o, const char *name, const unsigned char *p, size_t n)
{
    char buf[2 * WDN_JWK_MAX_RSA_BITS / 8];
    size_t len = 0;

    if (wdn_b64url_encode(p, n, buf, sizeof(buf), &len) != 0)
        return -1;
    return json_object_set_new(o, name, json_stringn(buf, len));
}

static int set_bn(json_t *o, const char *name, EVP_PKEY *pkey, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char buf[WDN_JWK_MAX_RSA_BITS / 8];
    int n, rc = -1;

    if (!WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_PKEY_get_bn_param(pkey, param, &bn)))
        goto out;
    if (pad > 0)
        n = BN_bn2binpad(bn, buf, pad);
    else if (BN_num_bytes(bn) <= (int)sizeof(buf))
        n = BN_bn2bin(bn, buf);
    else
        n = -1;
    if (n < 0)
        goto out;
    rc = set_b64(o, name, buf, (size_t)n);
out:
    BN_free(bn);
    return rc;
}

json_t *wdn__jose_public_members(EVP_PKEY *pkey)
{
    json_t *o = json_object();
    int id = EVP_PKEY_get_base_id(pkey);
    int bad = o == NULL;

    if (!bad && id == EVP_PKEY_RSA) {
        bad |= json_object_set_new(o, "kty", json_string("RSA"));
        bad |= set_bn(o, "n", pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        bad |= set_bn(o, "e", pkey, OSSL_PKEY_PARAM_RSA_E, 0);
    } else if (!bad && id == EVP_PKEY_EC) {
        enum wdn_jose_alg alg = WDN_JOSE_ALG_UNKNOWN;
        size_t coord = wdn__jose_ec_coord(pkey, &alg);
        const char *crv = alg == WDN_JOSE_ES256 ? "P-256" : alg == WDN_JOSE_ES384 ? "P-384" : "P-521";
        bad |= coord == 0;
        bad |= json_object_set_new(o, "kty", json_string("EC"));
        bad |= json_object_set_new(o, "crv", json_string(crv));
        bad |= !bad && set_bn(o, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X, (int)coord);
        bad |= !bad && set_bn(o, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y, (int)coord);
    } else if (!bad && id == EVP_PKEY_ED25519) {
        unsigned char raw[32];
        size_t len = sizeof(raw);
        bad |= !WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_PKEY_get_raw_public_key(pkey, raw, &len)) ||
               len != 32;
        bad |= json_object_set_new(o, "kty", json_string("OKP"));
        bad |= json_object_set_new(o, "crv", json_string("Ed25519"));
        bad |= !bad && set_b64(o, "x", raw, 32);
    } else {
        bad = 1;
    }
    if (bad) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

int wdn__jose_thumbprint(EVP_PKEY *pkey, unsigned char out[32])
{
    json_t *o = wdn__jose_public_members(pkey);
    char *s = NULL;
    int rc = WDN_ECRYPTO;

    if (o == NULL)
        goto out;
    /* RFC 7638 section 3: required members only, sorted, no whitespace. */
    s = wdn_json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (s == NULL) {
        rc = WDN_ENOMEM;
        goto out;
    }
    rc = wdn_jose_sha256(s, strlen(s), out);
out:
    free(s);
    json_decref(o);
    return rc;
}
