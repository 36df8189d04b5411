/* Compact JWS parsing and JWT verification. The order of checks is deliberate: everything
 * cheap and structural first, then the key is chosen by the server's rules (never by the
 * token), then the signature, and only then is the payload parsed as JSON and its claims
 * checked, so that jansson only ever sees authenticated payloads. */
#include "jose/jwt.h"

#include <math.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/error.h"
#include "base/json_scan.h"
#include "base/limits.h"
#include "base/num.h"
#include "jose/internal.h"

static const char *const reason_names[] = {
    "ok",          "malformed",     "token_too_large", "unsupported_alg", "alg_none",
    "key_alg_mismatch", "crit_unsupported", "unknown_kid", "bad_signature", "expired",
    "not_yet_valid", "iat_in_future", "wrong_issuer",  "wrong_audience",  "missing_exp",
    "insufficient_scope", "bad_typ", "key_set_not_loaded", "alg_not_allowed", "bad_claim",
    "internal", "inactive",
};
_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) == WDN_JWT_REASON_COUNT,
               "one name per reason");

static const char *const reason_texts[] = {
#define WDN__JWT_REASON_TEXT(name, value, desc) desc,
    WDN_JWT_REASON_TABLE(WDN__JWT_REASON_TEXT)
#undef WDN__JWT_REASON_TEXT
};

const char *wdn_jwt_reason_name(enum wdn_jwt_reason r)
{
    if ((int)r < 0 || r >= WDN_JWT_REASON_COUNT)
        return "internal";
    return reason_names[r];
}

const char *wdn_jwt_reason_text(enum wdn_jwt_reason r)
{
    if ((int)r < 0 || r >= WDN_JWT_REASON_COUNT)
        return reason_texts[WDN_JWT_INTERNAL];
    return reason_texts[r];
}

void wdn_jwt_rules_init(struct wdn_jwt_rules *r)
{
    memset(r, 0, sizeof(*r));
    r->clock_skew_s = 60;
}

struct wdn_jwt {
    atomic_long refs;
    json_t *payload;
    int64_t exp;
    enum wdn_jose_alg alg;
    unsigned char tp[32];
    char *scope_buf;
    size_t mem; /* estimated heap bytes held (wdn_jwt_mem_cost) */
    size_t n_scopes;
    struct wdn_str scopes[];
};

/* The parts of a compact JWS, as slices of the token. */
struct parts {
    struct wdn_str header, payload, sig, signing_input;
};

static enum wdn_jwt_reason split(struct wdn_str t, struct parts *p)
{
    long d1 = wdn_str_index(t, '.'), d2;
    struct wdn_str rest;

    if (d1 < 0)
        return WDN_JWT_MALFORMED;
    rest = (struct wdn_str){t.p + d1 + 1, t.len - (size_t)d1 - 1};
    d2 = wdn_str_index(rest, '.');
    if (d2 < 0)
        return WDN_JWT_MALFORMED;
    p->header = (struct wdn_str){t.p, (size_t)d1};
    p->payload = (struct wdn_str){rest.p, (size_t)d2};
    p->sig = (struct wdn_str){rest.p + d2 + 1, rest.len - (size_t)d2 - 1};
    p->signing_input = (struct wdn_str){t.p, (size_t)d1 + 1 + (size_t)d2};
    /* A fourth part (JWE has five) or trailing bytes fail here: '.' is not base64url, so
     * the signature part would not decode; checked explicitly for a clear reason anyway. */
    if (wdn_str_index(p->sig, '.') >= 0 || p->header.len == 0 || p->payload.len == 0)
        return WDN_JWT_MALFORMED;
    return WDN_JWT_OK;
}

static json_t *parse_object(const unsigned char *p, size_t n)
{
    json_t *v;

    if (!wdn_json_depth_ok((const char *)p, n, WDN_JSON_MAX_DEPTH))
        return NULL;
    v = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

static bool typ_ok(const char *typ)
{
    /* RFC 7515 section 4.1.9: compare case-insensitively, "application/" may be omitted. */
    static const char *const ok[] = {"JWT", "application/jwt", "at+jwt", "application/at+jwt"};
    struct wdn_str t = wdn_str_from_cstr(typ);

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (wdn_str_eq_case_cstr(t, ok[i]))
            return true;
    }
    return false;
}

/* Header checks that need no key: alg, crit, typ, kid. */
static enum wdn_jwt_reason check_header(json_t *h, enum wdn_jose_alg *alg, struct wdn_str *kid)
{
    json_t *a = json_object_get(h, "alg"), *crit = json_object_get(h, "crit");
    json_t *typ = json_object_get(h, "typ"), *k = json_object_get(h, "kid");
    struct wdn_str as;

    if (!json_is_string(a))
        return WDN_JWT_MALFORMED;
    as = (struct wdn_str){json_string_value(a), json_string_length(a)};
    if (wdn_str_eq_case_cstr(as, "none"))
        return WDN_JWT_ALG_NONE;
    *alg = wdn_jose_alg_parse(as);
    if (*alg == WDN_JOSE_ALG_UNKNOWN)
        return WDN_JWT_UNSUPPORTED_ALG; /* HS256 and friends: never with our public keys */
    if (crit != NULL) {
        /* RFC 7515 section 4.1.11: we implement no extension, so any crit rejects. */
        if (!json_is_array(crit) || json_array_size(crit) == 0)
            return WDN_JWT_MALFORMED;
        return WDN_JWT_CRIT_UNSUPPORTED;
    }
    if (typ != NULL && (!json_is_string(typ) || !typ_ok(json_string_value(typ))))
        return WDN_JWT_BAD_TYP;
    if (k != NULL) {
        if (!json_is_string(k) || json_string_length(k) == 0 ||
            json_string_length(k) > WDN_JWK_MAX_KID_BYTES)
            return WDN_JWT_MALFORMED;
        *kid = (struct wdn_str){json_string_value(k), json_string_length(k)};
    }
    /* jku, x5u, jwk, x5c, x5t: deliberately never read. */
    return WDN_JWT_OK;
}

/* Per-thread memory of recently accepted protected headers. Every token an issuer signs with
 * one key carries the same header bytes, so a header byte-identical to one that already
 * passed check_header has the same alg and kid: the JSON parse is skipped. Only headers that
 * passed every check are remembered, and only short ones. */
#define HDR_SLOTS 4
#define HDR_MAX 384

struct hdr_memo {
    size_t len;
    char b64[HDR_MAX];
    enum wdn_jose_alg alg;
    size_t kid_len;
    bool has_kid;
    char kid[WDN_JWK_MAX_KID_BYTES];
};

static _Thread_local struct hdr_memo hdr_memo[HDR_SLOTS];
static _Thread_local unsigned hdr_next;

static const struct hdr_memo *hdr_lookup(struct wdn_str b64)
{
    for (int i = 0; i < HDR_SLOTS; i++) {
        const struct hdr_memo *m = &hdr_memo[i];
        if (m->len != 0 && m->len == b64.len && memcmp(m->b64, b64.p, b64.len) == 0)
            return m;
    }
    return NULL;
}

static void hdr_remember(struct wdn_str b64, enum wdn_jose_alg alg, struct wdn_str kid)
{
    struct hdr_memo *m;

    if (b64.len == 0 || b64.len > HDR_MAX || kid.len > WDN_JWK_MAX_KID_BYTES)
        return;
    m = &hdr_memo[hdr_next++ % HDR_SLOTS];
    m->len = b64.len;
    memcpy(m->b64, b64.p, b64.len);
    m->alg = alg;
    m->has_kid = kid.p != NULL;
    m->kid_len = kid.len;
    if (kid.len)
        memcpy(m->kid, kid.p, kid.len);
}

/* The header's alg and kid (kid slices into *h_out's storage or the memo; both outlive the
 * call). */
static enum wdn_jwt_reason read_header(struct wdn_str b64, json_t **h_out, enum wdn_jose_alg *alg,
                                       struct wdn_str *kid)
{
    unsigned char hbuf[WDN_JWT_MAX_HEADER_BYTES];
    const struct hdr_memo *m = hdr_lookup(b64);
    size_t hlen = 0;
    enum wdn_jwt_reason r;
    int rc;

    if (m != NULL) {
        *alg = m->alg;
        if (m->has_kid)
            *kid = (struct wdn_str){m->kid, m->kid_len};
        return WDN_JWT_OK;
    }
    rc = wdn_b64url_decode(b64, hbuf, sizeof(hbuf), &hlen);
    if (rc != 0)
        return rc == WDN_ELIMIT ? WDN_JWT_TOKEN_TOO_LARGE : WDN_JWT_MALFORMED;
    *h_out = parse_object(hbuf, hlen);
    if (*h_out == NULL)
        return WDN_JWT_MALFORMED;
    r = check_header(*h_out, alg, kid);
    if (r == WDN_JWT_OK)
        hdr_remember(b64, *alg, *kid);
    return r;
}

/* Chooses the key: by kid when the token has one; without kid only when exactly one key of
 * the set could verify this algorithm. */
static enum wdn_jwt_reason select_key(const struct wdn_jwks *keys, bool has_kid,
                                      struct wdn_str kid, enum wdn_jose_alg alg,
                                      const struct wdn_jwk **out)
{
    const struct wdn_jwk *found = NULL;
    size_t kid_matches = 0, candidates = 0;

    for (size_t i = 0; i < keys->n; i++) {
        const struct wdn_jwk *k = &keys->keys[i];
        if (has_kid) {
            /* A key published without kid is only ever chosen for tokens without one. */
            if (k->kid_len == 0 || !wdn_str_eq((struct wdn_str){k->kid, k->kid_len}, kid))
                continue;
            kid_matches++;
        }
        if (wdn_jwk_allows(k, alg)) {
            candidates++;
            if (found == NULL)
                found = k;
        }
    }
    if (has_kid && kid_matches == 0)
        return WDN_JWT_UNKNOWN_KID;
    if (candidates == 0)
        return has_kid ? WDN_JWT_KEY_ALG_MISMATCH : WDN_JWT_UNKNOWN_KID;
    if (!has_kid && candidates > 1)
        return WDN_JWT_UNKNOWN_KID;
    *out = found;
    return WDN_JWT_OK;
}

/* A NumericDate (RFC 7519 section 2) as whole seconds; false when not a usable number. */
static bool numeric_date(json_t *v, int64_t *out)
{
    double d;

    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (!json_is_real(v))
        return false;
    d = json_real_value(v);
    if (!isfinite(d) || d > 9.0e15 || d < -9.0e15)
        return false;
    *out = (int64_t)wdn_floor(d);
    return true;
}

static bool aud_ok(json_t *aud, const struct wdn_jwt_rules *r)
{
    json_t *v;
    size_t i;

    if (json_is_string(aud)) {
        struct wdn_str a = {json_string_value(aud), json_string_length(aud)};
        for (size_t j = 0; j < r->n_audiences; j++) {
            if (wdn_str_eq_cstr(a, r->audiences[j]))
                return true;
        }
        return false;
    }
    if (!json_is_array(aud))
        return false;
    json_array_foreach(aud, i, v)
    {
        if (i >= WDN_JWT_MAX_AUDIENCES)
            break;
        if (json_is_string(v) && aud_ok(v, r))
            return true;
    }
    return false;
}

/* Heap bytes one glibc malloc of n bytes occupies: an 8-byte header, 16-byte rounding, 32 at
 * least. */
static size_t chunk(size_t n)
{
    n = (n + 8 + 15) & ~(size_t)15;
    return n < 32 ? 32 : n;
}

/* An estimate of the heap a parsed JSON value holds, from jansson 2.14's layout on 64-bit
 * targets: an object is a 72-byte head, a bucket table of 16 bytes per slot (8 at first,
 * doubled as it fills) and one 57-byte pair per member plus its key; an array a 40-byte head
 * and a table of 8-byte slots (8 at first, doubled); a string a 32-byte head and its text;
 * numbers 24 bytes; true, false and null are shared. Checked against the allocations jansson
 * really makes by tests/unit/oidc/test_token_cache_memory.c. */
static size_t json_cost(const json_t *v, int depth)
{
    size_t total = 0, i, slots;
    const char *key;
    json_t *e;

    if (depth > WDN_JSON_MAX_DEPTH)
        return 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        slots = 8;
        while (slots <= json_object_size(v))
            slots *= 2;
        total = chunk(72) + chunk(16 * slots);
        json_object_foreach ((json_t *)v, key, e) {
            total += chunk(57 + strlen(key)) + json_cost(e, depth + 1);
        }
        return total;
    case JSON_ARRAY:
        slots = 8;
        while (slots < json_array_size(v))
            slots *= 2;
        total = chunk(40) + chunk(8 * slots);
        json_array_foreach (v, i, e) {
            total += json_cost(e, depth + 1);
        }
        return total;
    case JSON_STRING:
        return chunk(32) + chunk(json_string_length(v) + 1);
    case JSON_INTEGER:
    case JSON_REAL:
        return chunk(24);
    default:
        return 0;
    }
}

/* Collects scopes from "scope" (space-separated string, RFC 8693/9068) or "scp" (array, or a
 * space-separated string as Entra ID sends) into one allocation. */
static struct wdn_jwt *claims_new(json_t *payload)
{
    json_t *sc = json_object_get(payload, "scope"), *v;
    struct wdn_jwt *j;
    size_t total = 0, n = 0, i;
    char *w;

    if (!json_is_string(sc))
        sc = json_object_get(payload, "scp");
    if (json_is_string(sc)) {
        total = json_string_length(sc) + 1;
        n = total / 2 + 1;
    } else if (json_is_array(sc)) {
        json_array_foreach(sc, i, v)
        {
            if (json_is_string(v))
                total += json_string_length(v) + 1;
        }
        n = json_array_size(sc);
    } else {
        sc = NULL;
    }
    if (n > WDN_JWT_MAX_SCOPES)
        n = WDN_JWT_MAX_SCOPES;
    j = calloc(1, sizeof(*j) + n * sizeof(struct wdn_str));
    if (j == NULL)
        return NULL;
    j->scope_buf = malloc(total + 1);
    if (j->scope_buf == NULL) {
        free(j);
        return NULL;
    }
    w = j->scope_buf;
    if (json_is_string(sc)) {
        const char *s = json_string_value(sc);
        size_t len = json_string_length(sc), k = 0;
        memcpy(w, s, len);
        while (k < len && j->n_scopes < n) {
            size_t start;
            while (k < len && w[k] == ' ')
                k++;
            start = k;
            while (k < len && w[k] != ' ')
                k++;
            if (k > start)
                j->scopes[j->n_scopes++] = (struct wdn_str){w + start, k - start};
        }
    } else if (sc != NULL) {
        json_array_foreach(sc, i, v)
        {
            if (j->n_scopes >= n)
                break;
            if (!json_is_string(v))
                continue;
            memcpy(w, json_string_value(v), json_string_length(v));
            j->scopes[j->n_scopes++] = (struct wdn_str){w, json_string_length(v)};
            w += json_string_length(v);
        }
    }
    atomic_init(&j->refs, 1);
    j->payload = payload;
    j->mem = chunk(sizeof(*j) + n * sizeof(struct wdn_str)) + chunk(total + 1) +
             json_cost(payload, 0);
    return j;
}

static enum wdn_jwt_reason check_claims(json_t *pl, struct wdn_jwt *j,
                                        const struct wdn_jwt_rules *r, int64_t now)
{
    json_t *exp = json_object_get(pl, "exp"), *nbf = json_object_get(pl, "nbf");
    json_t *iat = json_object_get(pl, "iat"), *iss = json_object_get(pl, "iss");
    int64_t t;

    if (exp == NULL)
        return WDN_JWT_MISSING_EXP;
    if (!numeric_date(exp, &j->exp))
        return WDN_JWT_BAD_CLAIM;
    if (now - r->clock_skew_s >= j->exp)
        return WDN_JWT_EXPIRED;
    if (nbf != NULL) {
        if (!numeric_date(nbf, &t))
            return WDN_JWT_BAD_CLAIM;
        if (t > now + r->clock_skew_s)
            return WDN_JWT_NOT_YET_VALID;
    }
    if (iat != NULL) {
        if (!numeric_date(iat, &t))
            return WDN_JWT_BAD_CLAIM;
        if (t > now + r->clock_skew_s)
            return WDN_JWT_IAT_IN_FUTURE;
    }
    /* Exact comparison, lengths first: "https://a.example/" is not "https://a.example". */
    if (r->issuer == NULL || !json_is_string(iss) ||
        !wdn_str_eq((struct wdn_str){json_string_value(iss), json_string_length(iss)},
                    wdn_str_from_cstr(r->issuer)))
        return WDN_JWT_WRONG_ISSUER;
    if (!r->skip_audience && !aud_ok(json_object_get(pl, "aud"), r))
        return WDN_JWT_WRONG_AUDIENCE;
    for (size_t i = 0; i < r->n_scopes; i++) {
        if (!wdn_jwt_has_scope(j, wdn_str_from_cstr(r->scopes[i])))
            return WDN_JWT_INSUFFICIENT_SCOPE;
    }
    return WDN_JWT_OK;
}

enum wdn_jwt_reason wdn_jwt_verify(const struct wdn_jwks *keys, const struct wdn_jwt_rules *rules,
                                   struct wdn_str token, int64_t now, struct wdn_jwt **out)
{
    unsigned char sig[WDN_JWK_MAX_RSA_BITS / 8];
    unsigned char pbuf[WDN_JWT_MAX_TOKEN_BYTES / 4 * 3 + 3];
    size_t plen = 0, siglen = 0;
    struct parts p;
    json_t *header = NULL, *payload = NULL;
    enum wdn_jose_alg alg = WDN_JOSE_ALG_UNKNOWN;
    struct wdn_str kid = {NULL, 0};
    const struct wdn_jwk *key = NULL;
    struct wdn_jwt *j = NULL;
    enum wdn_jwt_reason r;
    int rc;

    if (out)
        *out = NULL;
    if (token.len > WDN_JWT_MAX_TOKEN_BYTES) {
        r = WDN_JWT_TOKEN_TOO_LARGE;
        goto out;
    }
    if (token.p == NULL || (r = split(token, &p)) != WDN_JWT_OK) {
        r = WDN_JWT_MALFORMED;
        goto out;
    }
    r = read_header(p.header, &header, &alg, &kid);
    if (r != WDN_JWT_OK)
        goto out;
    if (rules->allowed_algs != 0 && !(rules->allowed_algs & WDN_JOSE_ALG_BIT(alg))) {
        r = WDN_JWT_ALG_NOT_ALLOWED;
        goto out;
    }
    /* The signature and payload must decode before any key is looked at. */
    rc = wdn_b64url_decode(p.sig, sig, sizeof(sig), &siglen);
    if (rc == WDN_ELIMIT) {
        r = WDN_JWT_BAD_SIGNATURE;
        goto out;
    }
    if (rc != 0) {
        r = WDN_JWT_MALFORMED;
        goto out;
    }
    if (wdn_b64url_decode(p.payload, pbuf, sizeof(pbuf), &plen) != 0) {
        r = WDN_JWT_MALFORMED;
        goto out;
    }
    if (keys == NULL) {
        r = WDN_JWT_KEY_SET_NOT_LOADED;
        goto out;
    }
    r = select_key(keys, kid.p != NULL, kid, alg, &key);
    if (r != WDN_JWT_OK)
        goto out;
    /* Exact length before any comparison or arithmetic (ecdsa-sig-wrong-length). */
    if (siglen != key->sig_len) {
        r = WDN_JWT_BAD_SIGNATURE;
        goto out;
    }
    rc = wdn__jose_verify(key, alg, (const unsigned char *)p.signing_input.p,
                          p.signing_input.len, sig, siglen);
    if (rc != 0) {
        ERR_clear_error();
        r = rc == WDN_EAUTH ? WDN_JWT_BAD_SIGNATURE : WDN_JWT_INTERNAL;
        goto out;
    }
    payload = parse_object(pbuf, plen);
    /* Signature-only mode serves non-JWT JWS test vectors (RFC 8037 signs plain text). */
    if (payload == NULL && rules->signature_only)
        payload = json_object();
    if (payload == NULL) {
        r = WDN_JWT_MALFORMED;
        goto out;
    }
    j = claims_new(payload);
    if (j == NULL) {
        r = WDN_JWT_INTERNAL;
        goto out;
    }
    payload = NULL; /* owned by j now */
    j->alg = alg;
    memcpy(j->tp, key->tp, 32);
    if (!rules->signature_only) {
        r = check_claims(j->payload, j, rules, now);
        if (r != WDN_JWT_OK)
            goto out;
    }
    if (out) {
        *out = j;
        j = NULL;
    }
out:
    wdn_jwt_release(j);
    json_decref(payload);
    json_decref(header);
    return r;
}

enum wdn_jwt_reason wdn_jwt_from_claims(json_t *claims, const struct wdn_jwt_rules *rules,
                                        int64_t now, struct wdn_jwt **out)
{
    struct wdn_jwt *j;
    enum wdn_jwt_reason r;

    *out = NULL;
    if (!json_is_object(claims)) {
        json_decref(claims);
        return WDN_JWT_MALFORMED;
    }
    j = claims_new(claims);
    if (j == NULL) {
        json_decref(claims);
        return WDN_JWT_INTERNAL;
    }
    j->alg = WDN_JOSE_ALG_UNKNOWN;
    r = check_claims(j->payload, j, rules, now);
    if (r == WDN_JWT_OK)
        *out = j;
    else
        wdn_jwt_release(j);
    return r;
}

struct wdn_jwt *wdn_jwt_ref(struct wdn_jwt *j)
{
    if (j != NULL)
        atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed);
    return j;
}

void wdn_jwt_release(struct wdn_jwt *j)
{
    if (j == NULL || atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1)
        return;
    json_decref(j->payload);
    free(j->scope_buf);
    free(j);
}

const json_t *wdn_jwt_claims(const struct wdn_jwt *j)
{
    return j->payload;
}

const char *wdn_jwt_claim_string(const struct wdn_jwt *j, const char *name)
{
    return json_string_value(json_object_get(j->payload, name));
}

char *wdn_jwt_claim_json(const struct wdn_jwt *j, const char *name)
{
    json_t *v = json_object_get(j->payload, name);

    return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

const char *wdn_jwt_sub(const struct wdn_jwt *j)
{
    return wdn_jwt_claim_string(j, "sub");
}

const char *wdn_jwt_client_id(const struct wdn_jwt *j)
{
    const char *c = wdn_jwt_claim_string(j, "client_id");

    if (c == NULL)
        c = wdn_jwt_claim_string(j, "azp");
    if (c == NULL)
        c = wdn_jwt_claim_string(j, "appid");
    return c;
}

size_t wdn_jwt_scope_count(const struct wdn_jwt *j)
{
    return j->n_scopes;
}

struct wdn_str wdn_jwt_scope(const struct wdn_jwt *j, size_t i)
{
    return i < j->n_scopes ? j->scopes[i] : (struct wdn_str){NULL, 0};
}

bool wdn_jwt_has_scope(const struct wdn_jwt *j, struct wdn_str s)
{
    for (size_t i = 0; i < j->n_scopes; i++) {
        if (wdn_str_eq(j->scopes[i], s))
            return true;
    }
    return false;
}

int64_t wdn_jwt_exp(const struct wdn_jwt *j)
{
    return j->exp;
}

enum wdn_jose_alg wdn_jwt_alg(const struct wdn_jwt *j)
{
    return j->alg;
}

size_t wdn_jwt_mem_cost(const struct wdn_jwt *j)
{
    return j->mem;
}

const unsigned char *wdn_jwt_key_thumbprint(const struct wdn_jwt *j)
{
    return j->tp;
}
