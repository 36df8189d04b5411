/* Fuzz target, differential: the claims of a JWT payload read by src/jose/claims.c's scanner
 * (no JSON tree; issue 20) against the jansson path it replaced. The first byte picks the
 * rules (issuer, audience, required scope, clock, signature-only); the rest is the payload, as
 * wdn_jwt_verify hands it over once the signature has verified. Checked on every input: the
 * same verdict (accepted, or the same refusal reason) as the old code gave, and on acceptance
 * the same values: every member (name, type, value; array elements), the scopes, exp, the
 * string and JSON forms callers read, and the tree rebuilt on demand. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json_scan.h"
#include "base/limits.h"
#include "base/num.h"
#include "fuzz.h"
#include "jose/claims.h"
#include "jose/jwt.h"

/* ---- The oracle: what wdn_jwt_verify did with a verified payload before the scanner ------- */

static json_t *oracle_parse(const uint8_t *p, size_t n)
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

static bool oracle_date(json_t *v, int64_t *out)
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

static bool oracle_aud(json_t *aud, const struct wdn_jwt_rules *r)
{
    json_t *v;
    size_t i;

    if (json_is_string(aud)) {
        struct wdn_str a = {json_string_value(aud), json_string_length(aud)};
        for (size_t k = 0; k < r->n_audiences; k++) {
            if (wdn_str_eq_cstr(a, r->audiences[k]))
                return true;
        }
        return false;
    }
    if (!json_is_array(aud))
        return false;
    json_array_foreach (aud, i, v) {
        if (i >= WDN_JWT_MAX_AUDIENCES)
            break;
        if (json_is_string(v) && oracle_aud(v, r))
            return true;
    }
    return false;
}

/* The scopes as the old claims_new collected them. */
static size_t oracle_scopes(json_t *pl, struct wdn_str *out)
{
    json_t *sc = json_object_get(pl, "scope"), *v;
    size_t n = 0, got = 0, i;

    if (!json_is_string(sc))
        sc = json_object_get(pl, "scp");
    if (json_is_string(sc))
        n = (json_string_length(sc) + 1) / 2 + 1;
    else if (json_is_array(sc))
        n = json_array_size(sc);
    if (n > WDN_JWT_MAX_SCOPES)
        n = WDN_JWT_MAX_SCOPES;
    if (json_is_string(sc)) {
        const char *s = json_string_value(sc);
        size_t len = json_string_length(sc), k = 0;
        while (k < len && got < n) {
            size_t start;
            while (k < len && s[k] == ' ')
                k++;
            start = k;
            while (k < len && s[k] != ' ')
                k++;
            if (k > start)
                out[got++] = (struct wdn_str){s + start, k - start};
        }
    } else if (json_is_array(sc)) {
        json_array_foreach (sc, i, v) {
            if (got >= n)
                break;
            if (json_is_string(v))
                out[got++] = (struct wdn_str){json_string_value(v), json_string_length(v)};
        }
    }
    return got;
}

static enum wdn_jwt_reason oracle_check(json_t *pl, const struct wdn_jwt_rules *r, int64_t now,
                                        int64_t *exp_out)
{
    static struct wdn_str scopes[WDN_JWT_MAX_SCOPES];
    json_t *exp = json_object_get(pl, "exp"), *nbf = json_object_get(pl, "nbf");
    json_t *iat = json_object_get(pl, "iat"), *iss = json_object_get(pl, "iss");
    size_t ns = oracle_scopes(pl, scopes);
    int64_t t;

    if (exp == NULL)
        return WDN_JWT_MISSING_EXP;
    if (!oracle_date(exp, exp_out))
        return WDN_JWT_BAD_CLAIM;
    if (now - r->clock_skew_s >= *exp_out)
        return WDN_JWT_EXPIRED;
    if (nbf != NULL) {
        if (!oracle_date(nbf, &t))
            return WDN_JWT_BAD_CLAIM;
        if (t > now + r->clock_skew_s)
            return WDN_JWT_NOT_YET_VALID;
    }
    if (iat != NULL) {
        if (!oracle_date(iat, &t))
            return WDN_JWT_BAD_CLAIM;
        if (t > now + r->clock_skew_s)
            return WDN_JWT_IAT_IN_FUTURE;
    }
    if (r->issuer == NULL || !json_is_string(iss) ||
        !wdn_str_eq((struct wdn_str){json_string_value(iss), json_string_length(iss)},
                    wdn_str_from_cstr(r->issuer)))
        return WDN_JWT_WRONG_ISSUER;
    if (!r->skip_audience && !oracle_aud(json_object_get(pl, "aud"), r))
        return WDN_JWT_WRONG_AUDIENCE;
    for (size_t i = 0; i < r->n_scopes; i++) {
        bool found = false;
        for (size_t k = 0; k < ns && !found; k++)
            found = wdn_str_eq(scopes[k], wdn_str_from_cstr(r->scopes[i]));
        if (!found)
            return WDN_JWT_INSUFFICIENT_SCOPE;
    }
    return WDN_JWT_OK;
}

/* ---- Comparing values ---------------------------------------------------------------------- */

static bool same_text(struct wdn_str a, const char *b, size_t blen)
{
    return a.len == blen && memcmp(a.p, b, blen) == 0;
}

/* The JSON text a claim carries (objects, arrays in arrays) parses back to v. */
static void check_text(const struct wdn_jwt_claim *c, json_t *v)
{
    json_t *back =
        json_loadb(c->text.p, c->text.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    CHECK(back != NULL && json_equal(back, v));
    json_decref(back);
}

/* The scalar text export_auth uses, as jansson's compact encoder writes it. */
static void check_scalar(const struct wdn_jwt_claim *c, json_t *v)
{
    char buf[128], *want;
    int n = wdn_jwt_claim_scalar(c, buf, sizeof(buf));

    if (json_is_array(v) || json_is_object(v)) {
        CHECK(n == -1);
        return;
    }
    if (json_is_string(v)) {
        CHECK(n == -1 ? c->text.len >= sizeof(buf) : strcmp(buf, json_string_value(v)) == 0);
        return;
    }
    want = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    CHECK(want != NULL && n >= 0 && strcmp(buf, want) == 0);
    free(want);
}

static void check_value(const struct wdn_jwt *j, const struct wdn_jwt_claim *c, json_t *v,
                        bool member)
{
    struct wdn_jwt_claim e;
    json_t *ev;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_STRING:
        CHECK(c->kind == WDN_JWT_CLAIM_STRING);
        CHECK(same_text(c->text, json_string_value(v), json_string_length(v)));
        CHECK(c->text.p[c->text.len] == '\0');
        break;
    case JSON_INTEGER:
        CHECK(c->kind == WDN_JWT_CLAIM_INT && c->i == (int64_t)json_integer_value(v));
        CHECK(c->text.len == 0);
        break;
    case JSON_REAL:
        CHECK(c->kind == WDN_JWT_CLAIM_REAL &&
              memcmp(&c->d, &(double){json_real_value(v)}, sizeof(double)) == 0);
        CHECK(c->text.len == 0);
        break;
    case JSON_TRUE:
        CHECK(c->kind == WDN_JWT_CLAIM_TRUE);
        break;
    case JSON_FALSE:
        CHECK(c->kind == WDN_JWT_CLAIM_FALSE);
        break;
    case JSON_NULL:
        CHECK(c->kind == WDN_JWT_CLAIM_NULL);
        break;
    case JSON_OBJECT:
        CHECK(c->kind == WDN_JWT_CLAIM_OBJECT);
        check_text(c, v);
        break;
    case JSON_ARRAY:
        CHECK(c->kind == WDN_JWT_CLAIM_ARRAY);
        if (!member) {
            check_text(c, v);
            CHECK(c->n_elems == 0);
            break;
        }
        CHECK(c->text.len == 0);
        CHECK(c->n_elems == json_array_size(v));
        json_array_foreach (v, i, ev) {
            CHECK(wdn_jwt_claim_elem(j, c, i, &e));
            CHECK(e.name.len == 0);
            check_value(j, &e, ev, false);
        }
        CHECK(!wdn_jwt_claim_elem(j, c, i, &e));
        break;
    }
    check_scalar(c, v);
}

static void check_claims_equal(const struct wdn_jwt *j, json_t *tree)
{
    static struct wdn_str scopes[WDN_JWT_MAX_SCOPES];
    size_t ns = oracle_scopes(tree, scopes);
    struct wdn_jwt_claim c;
    const char *key;
    json_t *v, *rebuilt;

    CHECK(wdn_jwt_claim_count(j) == json_object_size(tree));
    for (size_t i = 0; i < wdn_jwt_claim_count(j); i++) {
        CHECK(wdn_jwt_claim_at(j, i, &c));
        CHECK(c.name.p[c.name.len] == '\0' && strlen(c.name.p) == c.name.len);
        v = json_object_getn(tree, c.name.p, c.name.len);
        CHECK(v != NULL);
        check_value(j, &c, v, true);
    }
    CHECK(!wdn_jwt_claim_at(j, wdn_jwt_claim_count(j), &c));
    json_object_foreach (tree, key, v) {
        const char *s = wdn_jwt_claim_string(j, key);
        char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), *got;
        CHECK(wdn_jwt_claim_get(j, key, &c));
        CHECK(json_is_string(v) ? s != NULL && strcmp(s, json_string_value(v)) == 0 : s == NULL);
        got = wdn_jwt_claim_json(j, key);
        CHECK(want != NULL && got != NULL && strcmp(want, got) == 0);
        free(want);
        free(got);
    }
    CHECK(wdn_jwt_scope_count(j) == ns);
    for (size_t i = 0; i < ns; i++)
        CHECK(wdn_str_eq(wdn_jwt_scope(j, i), scopes[i]));
    rebuilt = wdn_jwt_claims_tree(j);
    CHECK(rebuilt != NULL && json_equal(rebuilt, tree));
    json_decref(rebuilt);
    CHECK(wdn_jwt_mem_cost(j) > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const auds[] = {"api", "https://mcp.example/"};
    static const char *const scopes[] = {"read"};
    static const int64_t clocks[] = {1700000000, 0, -5000000000000000LL, 9000000000000000LL};
    struct wdn_jwt_rules rules;
    struct wdn_jwt *j = NULL;
    enum wdn_jwt_reason got, want;
    json_t *tree;
    int64_t now, exp = 0;

    if (size < 1 || size - 1 > WDN_JWT_MAX_TOKEN_BYTES)
        return 0;
    wdn_jwt_rules_init(&rules);
    rules.issuer = (data[0] & 1) ? "https://issuer.example/" : "joe";
    rules.audiences = auds;
    rules.n_audiences = 2;
    rules.skip_audience = (data[0] & 2) != 0;
    if (data[0] & 4) {
        rules.scopes = scopes;
        rules.n_scopes = 1;
    }
    rules.signature_only = (data[0] & 0x80) != 0;
    now = clocks[(data[0] >> 3) & 3];
    data++;
    size--;

    tree = oracle_parse(data, size);
    got = wdn__jwt_from_payload(data, size, &rules, now, &j);
    CHECK((got == WDN_JWT_OK) == (j != NULL));
    if (rules.signature_only) {
        CHECK(got == WDN_JWT_OK);
        if (tree == NULL)
            tree = json_object();
    } else {
        want = tree ? oracle_check(tree, &rules, now, &exp) : WDN_JWT_MALFORMED;
        if (got != want)
            fprintf(stderr, "verdict: scanner %s, jansson %s\n", wdn_jwt_reason_name(got),
                    wdn_jwt_reason_name(want));
        CHECK(got == want);
        if (got == WDN_JWT_OK)
            CHECK(wdn_jwt_exp(j) == exp);
    }
    if (j != NULL)
        check_claims_equal(j, tree);
    /* Whatever the rules said, an object jansson accepts is read with the same values. */
    if (tree != NULL && j == NULL) {
        rules.signature_only = true;
        CHECK(wdn__jwt_from_payload(data, size, &rules, now, &j) == WDN_JWT_OK);
        check_claims_equal(j, tree);
    }
    wdn_jwt_release(j);
    json_decref(tree);
    return 0;
}
