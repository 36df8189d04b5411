/* Clients of the authorization code grant that are registered: <state>/clients.json (0600),
 * written by `warden issuer client add` and by dynamic registration (dcr.c) under the state
 * lock, re-read by a running issuer when it changed. A confidential client's secret is kept as
 * its SHA-256 only (secrets are 256 random bits, so a plain hash is enough). The lookup that
 * every endpoint uses, registered first and then Client ID Metadata Documents, is here too. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "base/base64.h"

#define CLIENTS_FILE "clients.json"

struct wdn__as_registry {
    struct wdn__as_client *v;
    size_t n;
    struct stat st;
    bool loaded;
};

void wdn__as_client_reset(struct wdn__as_client *c)
{
    free(c->id);
    free(c->name);
    for (size_t i = 0; i < c->nredirects; i++)
        free(c->redirects[i]);
    free(c->redirects);
    free(c->scope);
    memset(c, 0, sizeof(*c));
}

static char *dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

int wdn__as_client_copy(struct wdn__as_client *dst, const struct wdn__as_client *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->id = dup_opt(src->id);
    dst->name = dup_opt(src->name);
    dst->scope = dup_opt(src->scope);
    dst->redirects = calloc(src->nredirects ? src->nredirects : 1, sizeof(char *));
    dst->public_client = src->public_client;
    dst->source = src->source;
    memcpy(dst->secret_hash, src->secret_hash, sizeof(dst->secret_hash));
    if (!dst->id || !dst->name || (src->scope && !dst->scope) || !dst->redirects)
        goto fail;
    for (; dst->nredirects < src->nredirects; dst->nredirects++)
        if ((dst->redirects[dst->nredirects] = strdup(src->redirects[dst->nredirects])) == NULL)
            goto fail;
    return 0;
fail:
    wdn__as_client_reset(dst);
    return WDN_ENOMEM;
}

struct wdn__as_registry *wdn__as_registry_new(void)
{
    return calloc(1, sizeof(struct wdn__as_registry));
}

static void registry_clear(struct wdn__as_registry *r)
{
    for (size_t i = 0; i < r->n; i++)
        wdn__as_client_reset(&r->v[i]);
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

void wdn__as_registry_free(struct wdn__as_registry *r)
{
    if (r == NULL)
        return;
    registry_clear(r);
    free(r);
}

static const char *const source_names[] = {"cli", "dcr", "cimd"};

int wdn__as_client_from_json(json_t *e, struct wdn__as_client *out)
{
    const char *id = json_string_value(json_object_get(e, "client_id"));
    const char *name = json_string_value(json_object_get(e, "client_name"));
    const char *method = json_string_value(json_object_get(e, "token_endpoint_auth_method"));
    const char *hash = json_string_value(json_object_get(e, "client_secret_sha256"));
    const char *scope = json_string_value(json_object_get(e, "scope"));
    const char *source = json_string_value(json_object_get(e, "source"));
    json_t *uris = json_object_get(e, "redirect_uris"), *u;
    size_t i, n = 0;
    const char *why;

    memset(out, 0, sizeof(*out));
    if (id == NULL || !wdn__as_printable(id, WDN_ISSUER_MAX_FIELD_BYTES) || !json_is_array(uris) ||
        json_array_size(uris) == 0 || json_array_size(uris) > WDN_ISSUER_MAX_REDIRECTS ||
        (name != NULL && !wdn__as_printable(name, WDN_ISSUER_MAX_FIELD_BYTES)) ||
        (scope != NULL && !wdn__as_scope_ok(scope)))
        return WDN_EPARSE;
    out->public_client = method == NULL || strcmp(method, "none") == 0;
    if (!out->public_client) {
        if (hash == NULL ||
            wdn_b64url_decode(wdn_str_from_cstr(hash), out->secret_hash, sizeof(out->secret_hash),
                              &n) != 0 ||
            n != WDN__AS_HASH_LEN)
            return WDN_EPARSE;
    }
    out->source = source && strcmp(source, "dcr") == 0 ? WDN__AS_SRC_DCR : WDN__AS_SRC_CLI;
    out->id = strdup(id);
    out->name = strdup(name ? name : id);
    out->scope = dup_opt(scope);
    out->redirects = calloc(json_array_size(uris), sizeof(char *));
    if (!out->id || !out->name || (scope && !out->scope) || !out->redirects)
        goto fail;
    json_array_foreach (uris, i, u) {
        const char *s = json_string_value(u);
        if (s == NULL || wdn__as_redirect_uri_ok(s, &why) != 0 ||
            (out->redirects[out->nredirects] = strdup(s)) == NULL)
            goto fail;
        out->nredirects++;
    }
    return 0;
fail:
    wdn__as_client_reset(out);
    return WDN_EPARSE;
}

json_t *wdn__as_client_to_json(const struct wdn__as_client *c, int64_t created)
{
    json_t *uris = json_array(), *e;
    char h64[48];
    size_t n;

    for (size_t i = 0; uris && i < c->nredirects; i++)
        json_array_append_new(uris, json_string(c->redirects[i]));
    e = json_pack("{sssssosssI}", "client_id", c->id, "client_name", c->name, "redirect_uris", uris,
                  "source", source_names[c->source], "created", (json_int_t)created);
    if (e == NULL)
        return NULL;
    if (c->scope && json_object_set_new(e, "scope", json_string(c->scope)) != 0)
        goto fail;
    if (c->public_client) {
        if (json_object_set_new(e, "token_endpoint_auth_method", json_string("none")) != 0)
            goto fail;
    } else if (wdn_b64url_encode(c->secret_hash, WDN__AS_HASH_LEN, h64, sizeof(h64), &n) != 0 ||
               json_object_set_new(e, "token_endpoint_auth_method",
                                   json_string("client_secret_basic")) != 0 ||
               json_object_set_new(e, "client_secret_sha256", json_string(h64)) != 0) {
        goto fail;
    }
    return e;
fail:
    json_decref(e);
    return NULL;
}

/* Re-reads clients.json when it changed (an unreadable file keeps the last good list). */
static void registry_refresh(struct wdn_issuer *iss)
{
    struct wdn__as_registry *r = iss->registry;
    json_t *root = NULL, *arr, *e;
    struct stat st;
    size_t i;

    if (r->loaded && !wdn__as_file_changed(iss->state_dir, CLIENTS_FILE, &r->st))
        return;
    if (wdn__as_read_json(iss->state_dir, CLIENTS_FILE, WDN_ISSUER_MAX_STORE_BYTES, &root, &st,
                          NULL) != 0)
        return;
    registry_clear(r);
    r->st = st;
    r->loaded = true;
    arr = json_object_get(root, "clients");
    if (json_is_array(arr) && json_array_size(arr) <= WDN_ISSUER_MAX_REG_CLIENTS)
        r->v = calloc(json_array_size(arr) + 1, sizeof(*r->v));
    json_array_foreach (arr, i, e) {
        if (r->v != NULL && wdn__as_client_from_json(e, &r->v[r->n]) == 0)
            r->n++;
    }
    json_decref(root);
}

int wdn__as_registry_find(struct wdn_issuer *iss, const char *id, struct wdn__as_client *out)
{
    registry_refresh(iss);
    for (size_t i = 0; i < iss->registry->n; i++)
        if (strcmp(iss->registry->v[i].id, id) == 0)
            return wdn__as_client_copy(out, &iss->registry->v[i]);
    memset(out, 0, sizeof(*out));
    return WDN_ENOTFOUND;
}

int wdn__as_find_client(struct wdn_issuer *iss, const char *id, int64_t now,
                        struct wdn__as_client *out, struct wdn_diag *d)
{
    int rc;

    pthread_mutex_lock(&iss->mu);
    rc = wdn__as_registry_find(iss, id, out);
    pthread_mutex_unlock(&iss->mu);
    if (rc != WDN_ENOTFOUND)
        return rc;
    if (strncmp(id, "https://", 8) == 0)
        return wdn__as_cimd_client(iss, id, now, out, d);
    return wdn_diag_set(d, WDN_ENOTFOUND, "unknown client");
}

/* ---- Writing clients.json ----------------------------------------------------------------- */

int wdn__as_registry_add(const char *dir, const struct wdn__as_client *c, int64_t now,
                         struct wdn_diag *d)
{
    json_t *root = NULL, *arr = NULL, *e = NULL;
    int fd = -1, rc = wdn__as_list_open(dir, CLIENTS_FILE, "clients", &fd, &root, &arr, d);

    if (rc != 0)
        goto out;
    if (wdn__as_list_find(arr, "client_id", c->id) >= 0) {
        rc = wdn_diag_set(d, WDN_EEXISTS, "client '%s' is registered already", c->id);
        goto out;
    }
    if (json_array_size(arr) >= WDN_ISSUER_MAX_REG_CLIENTS) {
        rc = wdn_diag_set(d, WDN_ELIMIT, "at most %d registered clients",
                          WDN_ISSUER_MAX_REG_CLIENTS);
        goto out;
    }
    e = wdn__as_client_to_json(c, now);
    if (e == NULL || json_array_append(arr, e) != 0) {
        rc = wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto out;
    }
    rc = wdn__as_write_json(dir, CLIENTS_FILE, root, d);
out:
    json_decref(e);
    json_decref(root);
    wdn__as_unlock(fd);
    return rc;
}

int wdn_issuer_client_add(const char *state_dir, const struct wdn_issuer_reg_client *c,
                          char *secret_out, size_t cap, struct wdn_diag *d)
{
    struct wdn__as_client o = {0};
    const char *why;
    int rc = WDN_EINVAL;

    if (c->id == NULL || !wdn__as_printable(c->id, WDN_ISSUER_MAX_FIELD_BYTES) ||
        strchr(c->id, ' ') != NULL)
        return wdn_diag_set(d, rc, "the client id must be 1..%d printable characters, no spaces",
                            WDN_ISSUER_MAX_FIELD_BYTES);
    if (strncmp(c->id, "https://", 8) == 0)
        return wdn_diag_set(d, rc,
                            "an https URL is a Client ID Metadata Document id: such clients "
                            "need no registration");
    if (c->name != NULL && !wdn__as_printable(c->name, WDN_ISSUER_MAX_FIELD_BYTES))
        return wdn_diag_set(d, rc, "the client name must be printable");
    if (c->nredirect_uris == 0 || c->nredirect_uris > WDN_ISSUER_MAX_REDIRECTS)
        return wdn_diag_set(d, rc, "give 1..%d redirect URIs", WDN_ISSUER_MAX_REDIRECTS);
    for (size_t i = 0; i < c->nredirect_uris; i++)
        if (wdn__as_redirect_uri_ok(c->redirect_uris[i], &why) != 0)
            return wdn_diag_set(d, rc, "redirect URI '%s': %s", c->redirect_uris[i], why);
    if (c->scope != NULL && !wdn__as_scope_ok(c->scope))
        return wdn_diag_set(d, rc, "the scope must be scope tokens separated by spaces");
    o.id = (char *)c->id;
    o.name = (char *)(c->name ? c->name : c->id);
    o.redirects = (char **)c->redirect_uris;
    o.nredirects = c->nredirect_uris;
    o.scope = (char *)c->scope;
    o.public_client = c->public_client;
    o.source = WDN__AS_SRC_CLI;
    if (!c->public_client) {
        if (cap < 64 || wdn__as_random(secret_out, cap, 32) != 0)
            return wdn_diag_set(d, WDN_ECRYPTO, "no randomness for the secret");
        wdn__as_sha256(secret_out, strlen(secret_out), o.secret_hash);
    }
    return wdn__as_registry_add(state_dir, &o, (int64_t)time(NULL), d);
}

int wdn_issuer_client_remove(const char *state_dir, const char *id, struct wdn_diag *d)
{
    return wdn__as_list_remove(state_dir, CLIENTS_FILE, "clients", "client_id", id,
                               "registered client", d);
}

int wdn_issuer_client_list(const char *state_dir,
                           int (*fn)(const char *id, bool public_client, const char *redirects,
                                     const char *source, void *ud),
                           void *ud, struct wdn_diag *d)
{
    json_t *root = NULL, *e;
    size_t i;
    int rc = wdn__as_read_json(state_dir, CLIENTS_FILE, WDN_ISSUER_MAX_STORE_BYTES, &root, NULL, d);

    json_array_foreach (json_object_get(root, "clients"), i, e) {
        struct wdn__as_client c;
        struct wdn_buf b;
        if (rc != 0 || wdn__as_client_from_json(e, &c) != 0)
            continue;
        wdn_buf_init(&b, 64 * 1024);
        for (size_t j = 0; j < c.nredirects; j++)
            wdn_buf_printf(&b, "%s%s", j ? " " : "", c.redirects[j]);
        rc = fn(c.id, c.public_client, wdn_buf_cstr(&b) ? b.data : "", source_names[c.source], ud);
        wdn_buf_reset(&b);
        wdn__as_client_reset(&c);
    }
    json_decref(root);
    return rc;
}
