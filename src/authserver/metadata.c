/* Discovery: one document for RFC 8414 and OpenID Connect Discovery (served on every
 * well-known path, see issuer.c's router), listing everything a client needs to pick a flow,
 * and the JWKS with the keys that are published (a rotated key before it signs, a retired one
 * until its overlap ends). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authserver/as_int.h"
#include "base/error.h"

/* The published keys: every key not retired by now, so a key is out before it signs and stays
 * out for its overlap after it stopped. Called locked. */
static size_t published(const struct wdn_issuer *iss, int64_t now, const struct wdn_jose_key **out)
{
    size_t n = 0;

    for (size_t i = 0; i < iss->ks->n; i++)
        if (iss->ks->retires[i] == 0 || iss->ks->retires[i] > now)
            out[n++] = iss->ks->keys[i];
    return n;
}

int wdn__as_jwks(struct wdn_issuer *iss, int64_t now, struct wdn_issuer_response *resp)
{
    const struct wdn_jose_key *keys[WDN_ISSUER_MAX_KEYS];
    char *doc;
    int rc;

    pthread_mutex_lock(&iss->mu);
    wdn__as_refresh_keys(iss);
    doc = wdn_jose_jwks_export(keys, published(iss, now, keys));
    pthread_mutex_unlock(&iss->mu);
    rc = doc ? wdn_buf_append_cstr(&resp->body, doc) : WDN_ENOMEM;
    free(doc);
    resp->status = 200;
    /* Short, so a rotation reaches validators that honour max-age quickly; validators also
     * refetch on an unknown kid. */
    resp->cache_control = "public, max-age=60";
    return rc;
}

static void add_unique(json_t *arr, const char *v)
{
    size_t i;
    json_t *e;

    json_array_foreach (arr, i, e) {
        if (strcmp(json_string_value(e), v) == 0)
            return;
    }
    json_array_append_new(arr, json_string(v));
}

/* scopes_supported: what interactive clients may ask for, then every client-credentials
 * client's scopes, and offline_access last. */
static json_t *scopes_json(const struct wdn_issuer *iss)
{
    json_t *arr = json_array();

    for (const char *p = iss->scopes; arr && *p;) {
        size_t len = strcspn(p, " ");
        char *one = strndup(p, len);
        if (one && strcmp(one, "offline_access") != 0)
            add_unique(arr, one);
        free(one);
        p += len;
        p += *p == ' ';
    }
    for (size_t i = 0; arr && i < iss->nclients; i++)
        for (size_t j = 0; j < iss->clients[i].nscopes; j++)
            add_unique(arr, iss->clients[i].scopes[j]);
    if (arr)
        add_unique(arr, "offline_access");
    return arr;
}

static json_t *algs_json(struct wdn_issuer *iss, int64_t now)
{
    const struct wdn_jose_key *keys[WDN_ISSUER_MAX_KEYS];
    json_t *arr = json_array();
    size_t n;

    pthread_mutex_lock(&iss->mu);
    wdn__as_refresh_keys(iss);
    n = published(iss, now, keys);
    for (size_t i = 0; arr && i < n; i++)
        add_unique(arr, wdn_jose_alg_name(wdn_jose_key_alg(keys[i])));
    pthread_mutex_unlock(&iss->mu);
    return arr;
}

static int set_endpoint(struct wdn_issuer *iss, json_t *doc, const char *name, const char *suffix)
{
    char url[WDN_ISSUER_MAX_URI_BYTES + 64];

    if (wdn__as_endpoint(iss, suffix, url, sizeof(url)) != 0)
        return WDN_ELIMIT;
    return json_object_set_new(doc, name, json_string(url)) == 0 ? 0 : WDN_ENOMEM;
}

int wdn__as_metadata(struct wdn_issuer *iss, int64_t now, struct wdn_issuer_response *resp)
{
    json_t *scopes = scopes_json(iss), *algs = algs_json(iss, now), *doc = NULL;
    int rc = WDN_ENOMEM;

    if (scopes == NULL || algs == NULL)
        goto out;
    /* subject_types_supported and id_token_signing_alg_values_supported are required members
     * of the OIDC document (there is no ID token: parsers want them). */
    doc = json_pack(
        "{sss[s]s[s]s[sss]s[sss]s[s]sbsbsOs[s]sOsO}", "issuer", iss->issuer,
        "response_types_supported", "code", "response_modes_supported", "query",
        "grant_types_supported", "authorization_code", "refresh_token", "client_credentials",
        "token_endpoint_auth_methods_supported", "client_secret_basic", "client_secret_post",
        "none", "code_challenge_methods_supported", "S256", "client_id_metadata_document_supported",
        1, "authorization_response_iss_parameter_supported", 1, "scopes_supported", scopes,
        "subject_types_supported", "public", "id_token_signing_alg_values_supported", algs,
        "access_token_signing_alg_values_supported", algs);
    if (doc == NULL)
        goto out;
    rc = set_endpoint(iss, doc, "authorization_endpoint", WDN_ISSUER_AUTHORIZE_PATH);
    if (rc == 0)
        rc = set_endpoint(iss, doc, "token_endpoint", WDN_ISSUER_TOKEN_PATH);
    if (rc == 0)
        rc = set_endpoint(iss, doc, "jwks_uri", WDN_ISSUER_JWKS_PATH);
    if (rc == 0 && iss->dcr)
        rc = set_endpoint(iss, doc, "registration_endpoint", WDN_ISSUER_REGISTER_PATH);
    if (rc != 0)
        goto out;
    resp->status = 200;
    resp->cache_control = "public, max-age=300";
    rc = wdn__as_set_json(resp, json_incref(doc));
out:
    json_decref(doc);
    json_decref(scopes);
    json_decref(algs);
    return rc;
}
