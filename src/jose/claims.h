/* Internal to src/jose: the claims of a JWT payload read in two bounded passes over its bytes,
 * without building a jansson tree. The first pass decides, exactly as jansson's
 * json_loadb(JSON_REJECT_DUPLICATES) plus wdn_json_depth_ok(WDN_JSON_MAX_DEPTH) plus "it is an
 * object" decide, whether the payload is acceptable, and measures what the second pass
 * writes: the top-level members (decoded names, decoded string values, numbers) and the
 * elements of top-level arrays, in document order, into storage the caller allocated once:
 * no copy of the payload, so a cached token holds each claim once.
 * fuzz/fuzz_jose_claims.c checks both passes against jansson. */
#ifndef WDN_JOSE_CLAIMS_H
#define WDN_JOSE_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jose/jwt.h"

/** One top-level member, or one element of a top-level array. Offsets are into the pool. */
struct wdn__claim_item {
    uint32_t name_off, name_len; /* decoded member name (NUL-terminated); 0, 0 for elements */
    uint32_t text_off, text_len; /* STRING: decoded text; OBJECT, and ARRAY elements of an
                                    array: the value's JSON text; NUL-terminated. Else 0, 0 */
    union {
        int64_t i; /* INT */
        double d;  /* REAL */
        struct {
            uint32_t first, n; /* ARRAY (top-level only): items[first .. first + n) */
        } arr;
    } v;
    uint8_t kind; /* enum wdn_jwt_claim_kind */
};

/** What the second pass needs, and the facts the caller sizes the scope table from. */
struct wdn__claims_plan {
    size_t n_members; /* top-level members */
    size_t n_elems;   /* elements of top-level arrays */
    size_t pool;      /* pool bytes: the texts items point to, each with a NUL */
    /* "scope" and "scp" members: kind (-1 when absent), decoded length, array size. */
    int scope_kind, scp_kind;
    size_t scope_len, scp_len, scope_n, scp_n;
};

/**
 * First pass: 0 when p[0..n) is a JSON object that jansson would accept with
 * JSON_REJECT_DUPLICATES and that nests at most WDN_JSON_MAX_DEPTH deep, with *plan filled;
 * WDN_EPARSE when not; WDN_ENOMEM when a large payload's key table could not be allocated.
 */
int wdn__claims_plan(const unsigned char *p, size_t n, struct wdn__claims_plan *plan);

/**
 * Second pass over a payload the first pass accepted: writes plan->n_members +
 * plan->n_elems items (members first, in document order, then the arrays' elements) and
 * plan->pool bytes of pool.
 */
void wdn__claims_fill(const unsigned char *p, size_t n, const struct wdn__claims_plan *plan,
                      struct wdn__claim_item *items, char *pool);

/**
 * The claims of a payload whose signature verified (or of an introspection answer written out
 * as JSON): read by the two passes above, then checked against rules unless
 * rules->signature_only (a payload that is not a JSON object then reads as {}). On WDN_JWT_OK
 * *out gets one reference, with no algorithm and an all-zero thumbprint.
 */
enum wdn_jwt_reason wdn__jwt_from_payload(const unsigned char *p, size_t n,
                                          const struct wdn_jwt_rules *rules, int64_t now,
                                          struct wdn_jwt **out);

#endif
