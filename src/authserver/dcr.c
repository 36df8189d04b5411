/* Dynamic Client Registration (RFC 7591), served only with --dcr: older MCP clients register
 * themselves here (the 2026-07-28 spec deprecates it for Client ID Metadata Documents). A
 * registration gets a random client_id, and a secret when it is confidential; it lands in
 * clients.json beside the clients of `warden issuer client add`, with the same checks on
 * redirect URIs. */
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "authserver/as_int.h"
#include "base/error.h"

static int reg_error(struct wdn_issuer_response *resp, const char *error, const char *msg)
{
    return wdn__as_done(wdn__as_token_error(resp, 400, error, msg));
}

/* Every member of arr is a string in allowed (NULL-terminated). */
static bool strings_within(json_t *arr, const char *const *allowed)
{
    size_t i;
    json_t *e;

    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return false;
    json_array_foreach (arr, i, e) {
        const char *s = json_string_value(e);
        bool ok = false;
        for (const char *const *a = allowed; s && *a && !ok; a++)
            ok = strcmp(s, *a) == 0;
        if (!ok)
            return false;
    }
    return true;
}

/* The request's metadata into c (strings borrowed from body). 0 or WDN__AS_DONE. */
static int read_metadata(struct wdn_issuer *iss, json_t *body, struct wdn__as_client *c,
                         const char **uris, struct wdn_issuer_response *resp)
{
    static const char *const grants[] = {"authorization_code", "refresh_token", NULL};
    static const char *const responses[] = {"code", NULL};
    json_t *arr = json_object_get(body, "redirect_uris"), *e;
    const char *method = json_string_value(json_object_get(body, "token_endpoint_auth_method"));
    const char *name = json_string_value(json_object_get(body, "client_name"));
    const char *scope = json_string_value(json_object_get(body, "scope"));
    const char *why;
    size_t i;

    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > WDN_ISSUER_MAX_REDIRECTS)
        return reg_error(resp, "invalid_redirect_uri", "give 1..16 redirect_uris");
    json_array_foreach (arr, i, e) {
        const char *u = json_string_value(e);
        if (u == NULL || wdn__as_redirect_uri_ok(u, &why) != 0)
            return reg_error(resp, "invalid_redirect_uri",
                             "a redirect URI must be https, or http on a loopback host, without "
                             "a fragment");
        uris[i] = u;
    }
    if (json_object_get(body, "token_endpoint_auth_method") &&
        (method == NULL ||
         (strcmp(method, "none") != 0 && strcmp(method, "client_secret_basic") != 0 &&
          strcmp(method, "client_secret_post") != 0)))
        return reg_error(resp, "invalid_client_metadata",
                         "token_endpoint_auth_method must be none, client_secret_basic or "
                         "client_secret_post");
    if (json_object_get(body, "grant_types") &&
        !strings_within(json_object_get(body, "grant_types"), grants))
        return reg_error(resp, "invalid_client_metadata",
                         "grant_types may be authorization_code and refresh_token");
    if (json_object_get(body, "response_types") &&
        !strings_within(json_object_get(body, "response_types"), responses))
        return reg_error(resp, "invalid_client_metadata", "response_types may only be code");
    if (json_object_get(body, "client_name") &&
        (name == NULL || !wdn__as_printable(name, WDN_ISSUER_MAX_FIELD_BYTES)))
        return reg_error(resp, "invalid_client_metadata", "client_name must be printable");
    if (json_object_get(body, "scope") && (scope == NULL || !wdn__as_scope_ok(scope)))
        return reg_error(resp, "invalid_client_metadata", "the scope is malformed");
    if (scope != NULL && !wdn__as_scope_subset(scope, iss->scopes))
        return reg_error(resp, "invalid_client_metadata",
                         "the scope asks for scopes this server does not offer");
    c->redirects = (char **)uris;
    c->nredirects = json_array_size(arr);
    c->public_client = method == NULL ? false : strcmp(method, "none") == 0;
    c->name = (char *)name;
    c->scope = (char *)scope;
    c->source = WDN__AS_SRC_DCR;
    return 0;
}

static json_t *answer(const struct wdn__as_client *c, const char *secret, const char *method,
                      int64_t now)
{
    json_t *uris = json_array(), *o;

    for (size_t i = 0; uris && i < c->nredirects; i++)
        json_array_append_new(uris, json_string(c->redirects[i]));
    o = json_pack("{sssIsosssss[ss]s[s]}", "client_id", c->id, "client_id_issued_at",
                  (json_int_t)now, "redirect_uris", uris, "client_name", c->name,
                  "token_endpoint_auth_method", method, "grant_types", "authorization_code",
                  "refresh_token", "response_types", "code");
    if (o != NULL && secret != NULL &&
        (json_object_set_new(o, "client_secret", json_string(secret)) != 0 ||
         json_object_set_new(o, "client_secret_expires_at", json_integer(0)) != 0))
        o = (json_decref(o), NULL);
    if (o != NULL && c->scope && json_object_set_new(o, "scope", json_string(c->scope)) != 0)
        o = (json_decref(o), NULL);
    return o;
}

int wdn__as_register(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                     struct wdn_issuer_response *resp)
{
    const char *uris[WDN_ISSUER_MAX_REDIRECTS];
    char id[32], secret[WDN__AS_RANDOM_CHARS + 1];
    struct wdn__as_client c = {0};
    struct wdn_diag d;
    json_error_t jerr;
    json_t *body = NULL;
    const char *method;
    int rc;

    if (req->body_too_large) {
        rc = wdn__as_token_error(resp, 413, "invalid_client_metadata", "the request is too large");
        goto out;
    }
    if (wdn__as_media_type_is(req->content_type, "application/json"))
        body = json_loadb(req->body.p, req->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(body)) {
        rc = wdn__as_token_error(resp, 400, "invalid_client_metadata",
                                 "the registration must be a JSON object (application/json)");
        goto out;
    }
    rc = read_metadata(iss, body, &c, uris, resp);
    if (rc != 0)
        goto out;
    rc = wdn__as_random(id, sizeof(id), 16);
    if (rc != 0)
        goto out;
    c.id = id;
    if (c.name == NULL)
        c.name = id;
    secret[0] = '\0';
    if (!c.public_client) {
        rc = wdn__as_random(secret, sizeof(secret), 32);
        if (rc != 0)
            goto out;
        wdn__as_sha256(secret, strlen(secret), c.secret_hash);
    }
    rc = wdn__as_registry_add(iss->state_dir, &c, now, &d);
    if (rc == WDN_ELIMIT) {
        rc = wdn__as_token_error(resp, 400, "invalid_client_metadata",
                                 "this server has no room for more clients");
        goto out;
    }
    if (rc != 0)
        goto out;
    method = json_string_value(json_object_get(body, "token_endpoint_auth_method"));
    wdn_fmt(resp->client_id, sizeof(resp->client_id), "%s", id);
    resp->status = 201;
    resp->pragma_no_cache = true;
    rc = wdn__as_set_json(resp, answer(&c, c.public_client ? NULL : secret,
                                       method ? method : "client_secret_basic", now));
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    json_decref(body);
    return rc == WDN__AS_DONE ? 0 : rc;
}
