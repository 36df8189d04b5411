/* Compact JWS parsing and JWT verification. The order of checks is deliberate: everything
 * cheap and structural first, then the key is chosen by the server's rules (never by the
 * token), then the signature, and only then is the payload read and its claims checked, so
 * that only authenticated payloads are parsed. The payload is read by claims.c's strict
 * scanner (jansson's verdict, no tree; issue 20) into one block the verified token keeps. */
#include "base/json_dump.h"
#include "jose/jwt.h"

#include <malloc.h>
#include <math.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/error.h"
#include "base/json_scan.h"
#include "base/limits.h"
#include "base/num.h"
#include "jose/claims.h"
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
    int64_t exp;
    enum wdn_jose_alg alg;
    unsigned char tp[32];
    size_t mem;         /* heap bytes held (wdn_jwt_mem_cost) */
    uint32_t n_members; /* items[0 .. n_members) are the payload's members */
    uint32_t n_scopes;
    struct wdn_str *scopes; /* slices of the pool */
    struct wdn__claim_item *items;
    char *pool;
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

/* Heap bytes one glibc malloc of n bytes occupies: an 8-byte header, 16-byte rounding, 32 at
 * least. */
static size_t chunk(size_t n)
{
    n = (n + 8 + 15) & ~(size_t)15;
    return n < 32 ? 32 : n;
}

/* The member named name, or NULL. Names are unique (the scanner refuses repeats). */
static const struct wdn__claim_item *member(const struct wdn_jwt *j, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < j->n_members; i++) {
        const struct wdn__claim_item *it = &j->items[i];
        if (it->name_len == len && memcmp(j->pool + it->name_off, name, len) == 0)
            return it;
    }
    return NULL;
}

static struct wdn_str item_text(const struct wdn_jwt *j, const struct wdn__claim_item *it)
{
    return (struct wdn_str){j->pool + it->text_off, it->text_len};
}

static bool item_is_string(const struct wdn__claim_item *it)
{
    return it != NULL && it->kind == WDN_JWT_CLAIM_STRING;
}

/* A NumericDate (RFC 7519 section 2) as whole seconds; false when not a usable number. */
static bool numeric_date(const struct wdn__claim_item *v, int64_t *out)
{
    double d;

    if (v->kind == WDN_JWT_CLAIM_INT) {
        *out = v->v.i;
        return true;
    }
    if (v->kind != WDN_JWT_CLAIM_REAL)
        return false;
    d = v->v.d;
    if (!isfinite(d) || d > 9.0e15 || d < -9.0e15)
        return false;
    *out = (int64_t)wdn_floor(d);
    return true;
}

static bool aud_match(struct wdn_str a, const struct wdn_jwt_rules *r)
{
    for (size_t k = 0; k < r->n_audiences; k++) {
        if (wdn_str_eq_cstr(a, r->audiences[k]))
            return true;
    }
    return false;
}

static bool aud_ok(const struct wdn_jwt *j, const struct wdn__claim_item *aud,
                   const struct wdn_jwt_rules *r)
{
    if (aud == NULL)
        return false;
    if (aud->kind == WDN_JWT_CLAIM_STRING)
        return aud_match(item_text(j, aud), r);
    if (aud->kind != WDN_JWT_CLAIM_ARRAY)
        return false;
    for (size_t i = 0; i < aud->v.arr.n && i < WDN_JWT_MAX_AUDIENCES; i++) {
        const struct wdn__claim_item *v = &j->items[aud->v.arr.first + i];
        if (item_is_string(v) && aud_match(item_text(j, v), r))
            return true;
    }
    return false;
}

/* Scopes come from "scope" (space-separated string, RFC 8693/9068) or "scp" (array, or a
 * space-separated string as Entra ID sends). At most this many slices are kept. */
static size_t scope_cap(const struct wdn__claims_plan *pl)
{
    size_t n = 0;

    if (pl->scope_kind == WDN_JWT_CLAIM_STRING)
        n = (pl->scope_len + 1) / 2 + 1;
    else if (pl->scp_kind == WDN_JWT_CLAIM_STRING)
        n = (pl->scp_len + 1) / 2 + 1;
    else if (pl->scp_kind == WDN_JWT_CLAIM_ARRAY)
        n = pl->scp_n;
    return n > WDN_JWT_MAX_SCOPES ? WDN_JWT_MAX_SCOPES : n;
}

static void collect_scopes(struct wdn_jwt *j, size_t cap)
{
    const struct wdn__claim_item *sc = member(j, "scope");

    if (!item_is_string(sc))
        sc = member(j, "scp");
    if (item_is_string(sc)) {
        struct wdn_str t = item_text(j, sc);
        size_t k = 0;
        while (k < t.len && j->n_scopes < cap) {
            size_t start;
            while (k < t.len && t.p[k] == ' ')
                k++;
            start = k;
            while (k < t.len && t.p[k] != ' ')
                k++;
            if (k > start)
                j->scopes[j->n_scopes++] = (struct wdn_str){t.p + start, k - start};
        }
    } else if (sc != NULL && sc->kind == WDN_JWT_CLAIM_ARRAY) {
        for (size_t i = 0; i < sc->v.arr.n && j->n_scopes < cap; i++) {
            const struct wdn__claim_item *v = &j->items[sc->v.arr.first + i];
            if (item_is_string(v))
                j->scopes[j->n_scopes++] = item_text(j, v);
        }
    }
}

/* The claims of payload p[0..n) in one block: the struct, the scope slices, the members and
 * array elements, then the pool (the payload's text and the decoded strings). NULL with *r set
 * (MALFORMED, INTERNAL) when the payload is refused or memory is short. */
static struct wdn_jwt *claims_read(const unsigned char *p, size_t n, enum wdn_jwt_reason *r)
{
    struct wdn__claims_plan pl;
    struct wdn_jwt *j;
    size_t cap, n_items, size;
    int rc = wdn__claims_plan(p, n, &pl);

    if (rc != 0) {
        *r = rc == WDN_ENOMEM ? WDN_JWT_INTERNAL : WDN_JWT_MALFORMED;
        return NULL;
    }
    cap = scope_cap(&pl);
    n_items = pl.n_members + pl.n_elems;
    size = sizeof(*j) + cap * sizeof(struct wdn_str) + n_items * sizeof(struct wdn__claim_item) +
           pl.pool;
    j = malloc(size);
    if (j == NULL) {
        *r = WDN_JWT_INTERNAL;
        return NULL;
    }
    memset(j, 0, sizeof(*j));
    atomic_init(&j->refs, 1);
    j->scopes = (struct wdn_str *)(j + 1);
    j->items = (struct wdn__claim_item *)(j->scopes + cap);
    j->pool = (char *)(j->items + n_items);
    wdn__claims_fill(p, n, &pl, j->items, j->pool);
    j->n_members = (uint32_t)pl.n_members;
    /* What the allocator really gave (glibc may hand out a chunk up to 31 bytes larger than the
     * request rather than split off a remainder too small to use). */
    j->mem = chunk(malloc_usable_size(j));
    collect_scopes(j, cap);
    return j;
}

static enum wdn_jwt_reason check_claims(struct wdn_jwt *j, const struct wdn_jwt_rules *r,
                                        int64_t now)
{
    const struct wdn__claim_item *exp = member(j, "exp"), *nbf = member(j, "nbf");
    const struct wdn__claim_item *iat = member(j, "iat"), *iss = member(j, "iss");
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
    if (r->issuer == NULL || !item_is_string(iss) ||
        !wdn_str_eq(item_text(j, iss), wdn_str_from_cstr(r->issuer)))
        return WDN_JWT_WRONG_ISSUER;
    if (!r->skip_audience && !aud_ok(j, member(j, "aud"), r))
        return WDN_JWT_WRONG_AUDIENCE;
    for (size_t i = 0; i < r->n_scopes; i++) {
        if (!wdn_jwt_has_scope(j, wdn_str_from_cstr(r->scopes[i])))
            return WDN_JWT_INSUFFICIENT_SCOPE;
    }
    return WDN_JWT_OK;
}

enum wdn_jwt_reason wdn__jwt_from_payload(const unsigned char *p, size_t n,
                                          const struct wdn_jwt_rules *rules, int64_t now,
                                          struct wdn_jwt **out)
{
    enum wdn_jwt_reason r = WDN_JWT_OK;
    struct wdn_jwt *j = claims_read(p, n, &r);

    *out = NULL;
    /* Signature-only mode serves non-JWT JWS test vectors (RFC 8037 signs plain text). */
    if (j == NULL && r == WDN_JWT_MALFORMED && rules->signature_only)
        j = claims_read((const unsigned char *)"{}", 2, &r);
    if (j == NULL)
        return r;
    if (!rules->signature_only) {
        r = check_claims(j, rules, now);
        if (r != WDN_JWT_OK) {
            wdn_jwt_release(j);
            return r;
        }
    }
    *out = j;
    return WDN_JWT_OK;
}

enum wdn_jwt_reason wdn_jwt_verify(const struct wdn_jwks *keys, const struct wdn_jwt_rules *rules,
                                   struct wdn_str token, int64_t now, struct wdn_jwt **out)
{
    unsigned char sig[WDN_JWK_MAX_RSA_BITS / 8];
    unsigned char pbuf[WDN_JWT_MAX_TOKEN_BYTES / 4 * 3 + 3];
    size_t plen = 0, siglen = 0;
    struct parts p;
    json_t *header = NULL;
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
    r = wdn__jwt_from_payload(pbuf, plen, rules, now, &j);
    if (r != WDN_JWT_OK)
        goto out;
    j->alg = alg;
    memcpy(j->tp, key->tp, 32);
    if (out) {
        *out = j;
        j = NULL;
    }
out:
    wdn_jwt_release(j);
    json_decref(header);
    return r;
}

enum wdn_jwt_reason wdn_jwt_from_claims(json_t *claims, const struct wdn_jwt_rules *rules,
                                        int64_t now, struct wdn_jwt **out)
{
    struct wdn_jwt_rules checked = *rules;
    enum wdn_jwt_reason r;
    char *text;

    *out = NULL;
    if (!json_is_object(claims)) {
        json_decref(claims);
        return WDN_JWT_MALFORMED;
    }
    /* One representation of claims: the tree is written out and read like a payload. */
    text = wdn_json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    if (text == NULL)
        return WDN_JWT_INTERNAL;
    checked.signature_only = false;
    r = wdn__jwt_from_payload((const unsigned char *)text, strlen(text), &checked, now, out);
    free(text);
    if (r == WDN_JWT_OK)
        (*out)->alg = WDN_JOSE_ALG_UNKNOWN;
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
    free(j);
}

static void to_claim(const struct wdn_jwt *j, const struct wdn__claim_item *it,
                     struct wdn_jwt_claim *out)
{
    memset(out, 0, sizeof(*out));
    out->name = it->name_len ? (struct wdn_str){j->pool + it->name_off, it->name_len}
                             : (struct wdn_str){"", 0};
    out->kind = (enum wdn_jwt_claim_kind)it->kind;
    out->text = it->kind == WDN_JWT_CLAIM_STRING || it->text_len ? item_text(j, it)
                                                                 : (struct wdn_str){"", 0};
    if (it->kind == WDN_JWT_CLAIM_INT)
        out->i = it->v.i;
    else if (it->kind == WDN_JWT_CLAIM_REAL)
        out->d = it->v.d;
    else if (it->kind == WDN_JWT_CLAIM_ARRAY && it < j->items + j->n_members) {
        out->n_elems = it->v.arr.n;
        out->first_ = it->v.arr.first;
    }
}

size_t wdn_jwt_claim_count(const struct wdn_jwt *j)
{
    return j->n_members;
}

bool wdn_jwt_claim_at(const struct wdn_jwt *j, size_t i, struct wdn_jwt_claim *out)
{
    if (i >= j->n_members)
        return false;
    to_claim(j, &j->items[i], out);
    return true;
}

bool wdn_jwt_claim_get(const struct wdn_jwt *j, const char *name, struct wdn_jwt_claim *out)
{
    const struct wdn__claim_item *it = member(j, name);

    if (it == NULL)
        return false;
    to_claim(j, it, out);
    return true;
}

bool wdn_jwt_claim_elem(const struct wdn_jwt *j, const struct wdn_jwt_claim *a, size_t i,
                        struct wdn_jwt_claim *out)
{
    if (a->kind != WDN_JWT_CLAIM_ARRAY || i >= a->n_elems)
        return false;
    to_claim(j, &j->items[a->first_ + i], out);
    return true;
}

int wdn_jwt_claim_scalar(const struct wdn_jwt_claim *c, char *buf, size_t size)
{
    struct wdn_str t;
    json_t *real;
    size_t n;
    int len;

    switch (c->kind) {
    case WDN_JWT_CLAIM_INT:
        len = snprintf(buf, size, "%" JSON_INTEGER_FORMAT, (json_int_t)c->i);
        return len < 0 || (size_t)len >= size ? -1 : len;
    case WDN_JWT_CLAIM_REAL:
        /* jansson's own formatting of doubles (it differs between its build options). */
        real = json_real(c->d);
        n = real ? json_dumpb(real, buf, size, JSON_ENCODE_ANY | JSON_COMPACT) : 0;
        json_decref(real);
        if (n == 0 || n >= size)
            return -1;
        buf[n] = '\0';
        return (int)n;
    case WDN_JWT_CLAIM_STRING:
        t = c->text;
        break;
    case WDN_JWT_CLAIM_TRUE:
        t = WDN_STR("true");
        break;
    case WDN_JWT_CLAIM_FALSE:
        t = WDN_STR("false");
        break;
    case WDN_JWT_CLAIM_NULL:
        t = WDN_STR("null");
        break;
    default:
        return -1;
    }
    if (t.len >= size)
        return -1;
    memcpy(buf, t.p, t.len);
    buf[t.len] = '\0';
    return (int)t.len;
}

/* A claim as a JSON value (new reference), or NULL when out of memory. */
static json_t *item_json(const struct wdn_jwt *j, const struct wdn__claim_item *it, bool member)
{
    json_t *a;

    switch (it->kind) {
    case WDN_JWT_CLAIM_STRING:
        return json_stringn_nocheck(j->pool + it->text_off, it->text_len);
    case WDN_JWT_CLAIM_INT:
        return json_integer(it->v.i);
    case WDN_JWT_CLAIM_REAL:
        return json_real(it->v.d);
    case WDN_JWT_CLAIM_TRUE:
        return json_true();
    case WDN_JWT_CLAIM_FALSE:
        return json_false();
    case WDN_JWT_CLAIM_NULL:
        return json_null();
    case WDN_JWT_CLAIM_ARRAY:
        if (member) {
            a = json_array();
            for (size_t i = 0; a != NULL && i < it->v.arr.n; i++) {
                if (json_array_append_new(a, item_json(j, &j->items[it->v.arr.first + i],
                                                       false)) != 0) {
                    json_decref(a);
                    a = NULL;
                }
            }
            return a;
        }
        /* An array inside an array kept its text, like an object. */
        return json_loadb(j->pool + it->text_off, it->text_len,
                          JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    default:
        return json_loadb(j->pool + it->text_off, it->text_len,
                          JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    }
}

json_t *wdn_jwt_claims_tree(const struct wdn_jwt *j)
{
    json_t *t = json_object();

    for (size_t i = 0; t != NULL && i < j->n_members; i++) {
        const struct wdn__claim_item *it = &j->items[i];
        if (json_object_setn_new_nocheck(t, j->pool + it->name_off, it->name_len,
                                         item_json(j, it, true)) != 0) {
            json_decref(t);
            t = NULL;
        }
    }
    return t;
}

const char *wdn_jwt_claim_string(const struct wdn_jwt *j, const char *name)
{
    const struct wdn__claim_item *it = member(j, name);

    return item_is_string(it) ? j->pool + it->text_off : NULL;
}

char *wdn_jwt_claim_json(const struct wdn_jwt *j, const char *name)
{
    const struct wdn__claim_item *it = member(j, name);
    json_t *v = it ? item_json(j, it, true) : NULL;
    char *s = v ? wdn_json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    json_decref(v);
    return s;
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
