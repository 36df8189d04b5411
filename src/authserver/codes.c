/* Authorization codes and remembered consents. Codes live in memory only: random, kept as
 * SHA-256, single use, WDN_ISSUER_CODE_LIFETIME_S; a code redeemed twice means it leaked, so
 * the second attempt fails and also revokes the refresh token family the first one got (OAuth
 * 2.1 4.1.3). Consents are remembered per user, client, resource and scope set in
 * <state>/consents.json, so a restart does not ask again. Every function runs with the
 * issuer's mutex held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "authserver/as_int.h"
#include "base/error.h"

struct code {
    bool used;     /* the slot holds a code */
    bool redeemed; /* ... that was redeemed once */
    unsigned char hash[WDN__AS_HASH_LEN];
    struct wdn__as_authz a;
    char user[WDN__AS_USER_MAX + 1];
    char family[WDN__AS_RANDOM_CHARS + 1]; /* refresh family issued on redemption */
    int64_t expires;
};

struct wdn__as_codes {
    struct code v[WDN_ISSUER_MAX_CODES];
};

struct wdn__as_codes *wdn__as_codes_new(void)
{
    return calloc(1, sizeof(struct wdn__as_codes));
}

static void code_drop(struct code *c)
{
    wdn__as_authz_reset(&c->a);
    memset(c, 0, sizeof(*c));
}

void wdn__as_codes_free(struct wdn__as_codes *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < WDN_ISSUER_MAX_CODES; i++)
        code_drop(&c->v[i]);
    free(c);
}

void wdn__as_grant_reset(struct wdn__as_grant *g)
{
    wdn__as_authz_reset(&g->authz);
    memset(g, 0, sizeof(*g));
}

int wdn__as_code_issue(struct wdn_issuer *iss, const struct wdn__as_authz *a, const char *user,
                       int64_t now, char *out, size_t cap)
{
    struct code *slot = NULL;
    int rc;

    /* A redeemed code is kept until it expires, so that a second redemption is recognised. */
    for (size_t i = 0; i < WDN_ISSUER_MAX_CODES; i++) {
        struct code *c = &iss->codes->v[i];
        if (c->used && c->expires <= now)
            code_drop(c);
        if (!c->used && slot == NULL)
            slot = c;
    }
    if (slot == NULL) {
        /* Full: the code closest to expiring goes (codes live 60 s; this takes a flood). */
        slot = &iss->codes->v[0];
        for (size_t i = 1; i < WDN_ISSUER_MAX_CODES; i++)
            if (iss->codes->v[i].expires < slot->expires)
                slot = &iss->codes->v[i];
        code_drop(slot);
    }
    rc = wdn__as_random(out, cap, 32);
    if (rc == 0)
        rc = wdn__as_authz_copy(&slot->a, a);
    if (rc == 0)
        rc = wdn_fmt(slot->user, sizeof(slot->user), "%s", user);
    if (rc != 0) {
        code_drop(slot);
        return rc;
    }
    wdn__as_sha256(out, strlen(out), slot->hash);
    slot->used = true;
    slot->expires = now + WDN_ISSUER_CODE_LIFETIME_S;
    return 0;
}

int wdn__as_code_redeem(struct wdn_issuer *iss, const char *code, int64_t now,
                        struct wdn__as_grant *g)
{
    unsigned char h[WDN__AS_HASH_LEN];

    memset(g, 0, sizeof(*g));
    wdn__as_sha256(code, strlen(code), h);
    for (size_t i = 0; i < WDN_ISSUER_MAX_CODES; i++) {
        struct code *c = &iss->codes->v[i];
        if (!c->used || memcmp(c->hash, h, sizeof(h)) != 0)
            continue;
        if (c->expires <= now) {
            code_drop(c);
            return WDN_ENOTFOUND;
        }
        if (c->redeemed) {
            if (c->family[0])
                wdn__as_refresh_revoke_family(iss, c->family);
            code_drop(c); /* once is enough to be sure */
            return WDN_EEXISTS;
        }
        c->redeemed = true;
        memcpy(g->code_hash, h, sizeof(h));
        memcpy(g->user, c->user, sizeof(g->user));
        return wdn__as_authz_copy(&g->authz, &c->a);
    }
    return WDN_ENOTFOUND;
}

void wdn__as_code_set_family(struct wdn_issuer *iss, const unsigned char h[WDN__AS_HASH_LEN],
                             const char *family)
{
    for (size_t i = 0; i < WDN_ISSUER_MAX_CODES; i++) {
        struct code *c = &iss->codes->v[i];
        if (c->used && memcmp(c->hash, h, WDN__AS_HASH_LEN) == 0)
            wdn_fmt(c->family, sizeof(c->family), "%s", family);
    }
}

/* ---- Consents ----------------------------------------------------------------------------- */

#define CONSENTS_FILE "consents.json"

struct wdn__as_consents {
    json_t *list; /* the "consents" array as on disk; NULL until loaded */
    struct stat st;
};

struct wdn__as_consents *wdn__as_consents_new(void)
{
    return calloc(1, sizeof(struct wdn__as_consents));
}

void wdn__as_consents_free(struct wdn__as_consents *c)
{
    if (c == NULL)
        return;
    json_decref(c->list);
    free(c);
}

/* Loads consents.json on first use (the issuer is its only writer while it runs). */
static json_t *consents(struct wdn_issuer *iss)
{
    struct wdn__as_consents *c = iss->consents;
    json_t *root = NULL;

    if (c->list != NULL)
        return c->list;
    if (wdn__as_read_json(iss->state_dir, CONSENTS_FILE, WDN_ISSUER_MAX_STORE_BYTES, &root, &c->st,
                          NULL) == 0 &&
        json_is_array(json_object_get(root, "consents")))
        c->list = json_incref(json_object_get(root, "consents"));
    else
        c->list = json_array();
    json_decref(root);
    return c->list;
}

static bool same(json_t *e, const char *key, const char *v)
{
    const char *s = json_string_value(json_object_get(e, key));
    return s != NULL && strcmp(s, v) == 0;
}

bool wdn__as_consent_has(struct wdn_issuer *iss, const char *user, const char *client,
                         const char *resource, const char *scope)
{
    json_t *list = consents(iss), *e;
    size_t i;

    json_array_foreach (list, i, e) {
        if (same(e, "user", user) && same(e, "client_id", client) &&
            same(e, "resource", resource) &&
            wdn__as_scope_subset(scope, json_string_value(json_object_get(e, "scope"))))
            return true;
    }
    return false;
}

int wdn__as_consent_put(struct wdn_issuer *iss, const char *user, const char *client,
                        const char *resource, const char *scope, int64_t now)
{
    json_t *list = consents(iss), *e, *root;
    size_t i;
    int rc;

    /* One entry per user, client and resource, holding every scope consented to. */
    json_array_foreach (list, i, e) {
        if (same(e, "user", user) && same(e, "client_id", client) &&
            same(e, "resource", resource)) {
            const char *old = json_string_value(json_object_get(e, "scope"));
            if (!wdn__as_scope_subset(scope, old)) {
                size_t n = strlen(old ? old : "") + strlen(scope) + 2;
                char *both = malloc(n);
                if (both == NULL)
                    return WDN_ENOMEM;
                snprintf(both, n, "%s%s%s", old ? old : "", old && *old && *scope ? " " : "",
                         scope);
                json_object_set_new(e, "scope", json_string(both));
                free(both);
            }
            json_object_set_new(e, "at", json_integer(now));
            goto save;
        }
    }
    while (json_array_size(list) >= WDN_ISSUER_MAX_CONSENTS)
        json_array_remove(list, 0); /* the oldest goes */
    e = json_pack("{sssssssssI}", "user", user, "client_id", client, "resource", resource, "scope",
                  scope, "at", (json_int_t)now);
    if (e == NULL || json_array_append_new(list, e) != 0)
        return WDN_ENOMEM;
save:
    root = json_pack("{sO}", "consents", list);
    rc = root ? wdn__as_write_json(iss->state_dir, CONSENTS_FILE, root, NULL) : WDN_ENOMEM;
    json_decref(root);
    return rc;
}
