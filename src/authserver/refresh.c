/* Refresh tokens (OAuth 2.1 4.3, RFC 9700 4.14): random, stored as SHA-256 in
 * <state>/refresh.json (0600, rewritten atomically on every change, so they survive a
 * restart), rotated on every use, bound to the client and the resource they were issued for.
 * Tokens descending from one sign-in form a family with an absolute end; a spent token
 * presented again means one of the two parties holding it is a thief, so the whole family is
 * revoked. Spent tokens are kept until they would have expired, to recognise that. Every
 * function runs with the issuer's mutex held. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "base/base64.h"

#define REFRESH_FILE "refresh.json"

enum rt_state { RT_ACTIVE = 0, RT_SPENT, RT_REVOKED };
static const char *const state_names[] = {"active", "spent", "revoked"};

struct rt {
    unsigned char hash[WDN__AS_HASH_LEN];
    char family[WDN__AS_RANDOM_CHARS + 1];
    char *client_id, *user, *scope, *resource;
    int64_t expires, family_expires;
    enum rt_state state;
};

struct wdn__as_refresh {
    struct rt *v;
    size_t n, cap;
};

static void rt_reset(struct rt *t)
{
    free(t->client_id);
    free(t->user);
    free(t->scope);
    free(t->resource);
    memset(t, 0, sizeof(*t));
}

struct wdn__as_refresh *wdn__as_refresh_new(void)
{
    return calloc(1, sizeof(struct wdn__as_refresh));
}

void wdn__as_refresh_free(struct wdn__as_refresh *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        rt_reset(&r->v[i]);
    free(r->v);
    free(r);
}

void wdn__as_refresh_view_reset(struct wdn__as_refresh_view *v)
{
    free(v->client_id);
    free(v->user);
    free(v->scope);
    free(v->resource);
    memset(v, 0, sizeof(*v));
}

static int save(struct wdn_issuer *iss)
{
    struct wdn__as_refresh *r = iss->refresh;
    json_t *arr = json_array(), *root;
    char h64[48];
    size_t n;
    int rc;

    for (size_t i = 0; arr && i < r->n; i++) {
        struct rt *t = &r->v[i];
        if (wdn_b64url_encode(t->hash, sizeof(t->hash), h64, sizeof(h64), &n) != 0)
            continue;
        json_array_append_new(arr,
                              json_pack("{sssssssssssssssIsI}", "hash", h64, "family", t->family,
                                        "client_id", t->client_id, "user", t->user, "scope",
                                        t->scope, "resource", t->resource, "state",
                                        state_names[t->state], "expires", (json_int_t)t->expires,
                                        "family_expires", (json_int_t)t->family_expires));
    }
    root = arr ? json_pack("{so}", "tokens", arr) : NULL;
    rc = root ? wdn__as_write_json(iss->state_dir, REFRESH_FILE, root, NULL) : WDN_ENOMEM;
    json_decref(root);
    return rc;
}

static int grow(struct wdn__as_refresh *r)
{
    if (r->n < r->cap)
        return 0;
    size_t cap = r->cap ? r->cap * 2 : 64;
    struct rt *v = realloc(r->v, cap * sizeof(*v));
    if (v == NULL)
        return WDN_ENOMEM;
    r->v = v;
    r->cap = cap;
    return 0;
}

static int str_into(char **dst, json_t *e, const char *key)
{
    const char *s = json_string_value(json_object_get(e, key));
    *dst = s ? strdup(s) : NULL;
    return *dst ? 0 : WDN_EPARSE;
}

int wdn__as_refresh_load(struct wdn_issuer *iss, struct wdn_diag *d)
{
    struct wdn__as_refresh *r = iss->refresh;
    json_t *root = NULL, *e;
    size_t i, n;
    int rc =
        wdn__as_read_json(iss->state_dir, REFRESH_FILE, WDN_ISSUER_MAX_STORE_BYTES, &root, NULL, d);

    if (rc != 0)
        return rc;
    json_array_foreach (json_object_get(root, "tokens"), i, e) {
        struct rt t = {0};
        const char *h = json_string_value(json_object_get(e, "hash"));
        const char *fam = json_string_value(json_object_get(e, "family"));
        const char *st = json_string_value(json_object_get(e, "state"));
        if (r->n >= WDN_ISSUER_MAX_REFRESH || h == NULL || fam == NULL || st == NULL ||
            wdn_b64url_decode(wdn_str_from_cstr(h), t.hash, sizeof(t.hash), &n) != 0 ||
            n != WDN__AS_HASH_LEN || wdn_fmt(t.family, sizeof(t.family), "%s", fam) != 0 ||
            str_into(&t.client_id, e, "client_id") || str_into(&t.user, e, "user") ||
            str_into(&t.scope, e, "scope") || str_into(&t.resource, e, "resource") ||
            grow(r) != 0) {
            rt_reset(&t);
            continue;
        }
        t.state = strcmp(st, "active") == 0  ? RT_ACTIVE
                  : strcmp(st, "spent") == 0 ? RT_SPENT
                                             : RT_REVOKED;
        t.expires = json_integer_value(json_object_get(e, "expires"));
        t.family_expires = json_integer_value(json_object_get(e, "family_expires"));
        r->v[r->n++] = t;
    }
    json_decref(root);
    return 0;
}

/* Drops tokens past their end; when still full, the one that expires first. */
static void prune(struct wdn__as_refresh *r, int64_t now)
{
    size_t k = 0;

    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].expires <= now)
            rt_reset(&r->v[i]);
        else
            r->v[k++] = r->v[i];
    }
    r->n = k;
    while (r->n >= WDN_ISSUER_MAX_REFRESH) {
        size_t first = 0;
        for (size_t i = 1; i < r->n; i++)
            if (r->v[i].expires < r->v[first].expires)
                first = i;
        rt_reset(&r->v[first]);
        r->v[first] = r->v[--r->n];
    }
}

int wdn__as_refresh_issue(struct wdn_issuer *iss, struct wdn__as_refresh_view *v, int64_t now,
                          char *out, size_t cap)
{
    struct wdn__as_refresh *r = iss->refresh;
    struct rt t = {0};
    int rc;

    prune(r, now);
    if (v->family[0] == '\0') {
        rc = wdn__as_random(v->family, sizeof(v->family), 32);
        if (rc != 0)
            return rc;
        v->family_expires = now + iss->refresh_max_s;
    }
    rc = wdn__as_random(out, cap, 32);
    if (rc != 0)
        return rc;
    wdn__as_sha256(out, strlen(out), t.hash);
    memcpy(t.family, v->family, sizeof(t.family));
    t.client_id = strdup(v->client_id);
    t.user = strdup(v->user);
    t.scope = strdup(v->scope ? v->scope : "");
    t.resource = strdup(v->resource);
    t.family_expires = v->family_expires;
    t.expires = now + iss->refresh_lifetime_s;
    if (t.expires > t.family_expires)
        t.expires = t.family_expires;
    if (!t.client_id || !t.user || !t.scope || !t.resource || grow(r) != 0) {
        rt_reset(&t);
        return WDN_ENOMEM;
    }
    r->v[r->n++] = t;
    return save(iss);
}

int wdn__as_refresh_spend(struct wdn_issuer *iss, const char *token, const char *client_id,
                          const char *resource, const char *scope, int64_t now,
                          struct wdn__as_refresh_view *v)
{
    struct wdn__as_refresh *r = iss->refresh;
    unsigned char h[WDN__AS_HASH_LEN];

    memset(v, 0, sizeof(*v));
    wdn__as_sha256(token, strlen(token), h);
    for (size_t i = 0; i < r->n; i++) {
        struct rt *t = &r->v[i];
        if (memcmp(t->hash, h, sizeof(h)) != 0)
            continue;
        if (t->state == RT_SPENT) {
            char family[sizeof(t->family)];
            memcpy(family, t->family, sizeof(family));
            wdn__as_refresh_revoke_family(iss, family);
            return WDN_EEXISTS;
        }
        if (t->state != RT_ACTIVE || t->expires <= now || t->family_expires <= now ||
            strcmp(t->client_id, client_id) != 0)
            return WDN_ENOTFOUND;
        if (resource != NULL && !wdn__as_resource_eq(t->resource, resource))
            return WDN_ERANGE;
        if (scope != NULL && !wdn__as_scope_subset(scope, t->scope))
            return WDN_EDENIED;
        t->state = RT_SPENT;
        memcpy(v->family, t->family, sizeof(v->family));
        v->family_expires = t->family_expires;
        v->client_id = strdup(t->client_id);
        v->user = strdup(t->user);
        v->scope = strdup(t->scope);
        v->resource = strdup(t->resource);
        if (!v->client_id || !v->user || !v->scope || !v->resource) {
            wdn__as_refresh_view_reset(v);
            return WDN_ENOMEM;
        }
        return save(iss);
    }
    return WDN_ENOTFOUND;
}

void wdn__as_refresh_revoke_family(struct wdn_issuer *iss, const char *family)
{
    struct wdn__as_refresh *r = iss->refresh;
    bool changed = false;

    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].family, family) == 0 && r->v[i].state != RT_REVOKED) {
            r->v[i].state = RT_REVOKED;
            changed = true;
        }
    if (changed)
        save(iss);
}
