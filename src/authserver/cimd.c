/* Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, the MCP
 * 2025-11-25 registration): a client_id that is an https URL names a JSON document describing
 * the client. It is fetched with the SSRF guard of http/fetch.h (public addresses only unless
 * --allow-local-cimd, https only, no redirects, no proxy, size and time limits), must name
 * itself exactly, and is cached for its Cache-Control max-age (bounded). The client is public:
 * a document cannot hold a shared secret. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "http/fetch.h"
#include "oidc/discovery.h"

struct cached {
    struct wdn__as_client c; /* c.id is the URL */
    int64_t expires;
};

struct wdn__as_cimd_cache {
    struct cached v[WDN_ISSUER_CIMD_CACHE];
    size_t n;
};

struct wdn__as_cimd_cache *wdn__as_cimd_cache_new(void)
{
    return calloc(1, sizeof(struct wdn__as_cimd_cache));
}

void wdn__as_cimd_cache_free(struct wdn__as_cimd_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        wdn__as_client_reset(&c->v[i].c);
    free(c);
}

int wdn__as_cimd_parse(const char *url, struct wdn_str doc, struct wdn__as_client *out,
                       struct wdn_diag *d)
{
    json_error_t jerr;
    json_t *root = json_loadb(doc.p, doc.len, JSON_REJECT_DUPLICATES, &jerr), *uris, *u;
    const char *id, *name, *method, *scope, *why;
    size_t i;
    int rc = WDN_EINVAL;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(root)) {
        wdn_diag_set(d, rc, "the client's metadata document is not a JSON object");
        goto out;
    }
    id = json_string_value(json_object_get(root, "client_id"));
    if (id == NULL || strcmp(id, url) != 0 ||
        strlen(id) != json_string_length(json_object_get(root, "client_id"))) {
        wdn_diag_set(d, rc,
                     "the client's metadata document names another client_id than its "
                     "URL");
        goto out;
    }
    name = json_string_value(json_object_get(root, "client_name"));
    if (name == NULL || !wdn__as_printable(name, WDN_ISSUER_MAX_FIELD_BYTES)) {
        wdn_diag_set(d, rc, "the client's metadata document has no usable client_name");
        goto out;
    }
    if (json_object_get(root, "client_secret") ||
        json_object_get(root, "client_secret_expires_at")) {
        wdn_diag_set(d, rc,
                     "the client's metadata document holds a client_secret, which a "
                     "public document must not");
        goto out;
    }
    method = json_string_value(json_object_get(root, "token_endpoint_auth_method"));
    if (json_object_get(root, "token_endpoint_auth_method") &&
        (method == NULL || strcmp(method, "none") != 0)) {
        wdn_diag_set(d, rc,
                     "the client's metadata document asks for token_endpoint_auth_method "
                     "'%s'; this server supports none (PKCE) for such clients",
                     method ? method : "?");
        goto out;
    }
    scope = json_string_value(json_object_get(root, "scope"));
    if (json_object_get(root, "scope") && (scope == NULL || !wdn__as_scope_ok(scope))) {
        wdn_diag_set(d, rc, "the client's metadata document has a malformed scope");
        goto out;
    }
    uris = json_object_get(root, "redirect_uris");
    if (!json_is_array(uris) || json_array_size(uris) == 0 ||
        json_array_size(uris) > WDN_ISSUER_MAX_REDIRECTS) {
        wdn_diag_set(d, rc, "the client's metadata document needs 1..%d redirect_uris",
                     WDN_ISSUER_MAX_REDIRECTS);
        goto out;
    }
    out->id = strdup(url);
    out->name = strdup(name);
    out->scope = scope ? strdup(scope) : NULL;
    out->redirects = calloc(json_array_size(uris), sizeof(char *));
    out->public_client = true;
    out->source = WDN__AS_SRC_CIMD;
    if (!out->id || !out->name || (scope && !out->scope) || !out->redirects) {
        rc = wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto out;
    }
    json_array_foreach (uris, i, u) {
        const char *s = json_string_value(u);
        if (s == NULL || wdn__as_redirect_uri_ok(s, &why) != 0) {
            wdn_diag_set(d, rc, "redirect URI %zu of the client's metadata document: %s", i + 1,
                         s ? why : "not a string");
            goto out;
        }
        if ((out->redirects[out->nredirects] = strdup(s)) == NULL) {
            rc = wdn_diag_set(d, WDN_ENOMEM, "out of memory");
            goto out;
        }
        out->nredirects++;
    }
    rc = 0;
out:
    if (rc != 0)
        wdn__as_client_reset(out);
    json_decref(root);
    return rc;
}

int wdn__as_cimd_fetch_default(void *ud, const char *url, struct wdn_issuer_cimd_doc *doc,
                               struct wdn_diag *d)
{
    const struct wdn_issuer *iss = ud;
    static const char *const headers[] = {"Accept: application/json", NULL};
    struct wdn_fetch_request req = {
        .url = url,
        .headers = headers,
        .timeout_ms = WDN_ISSUER_CIMD_TIMEOUT_MS,
        .ca_file = iss->ca_file,
        .max_response = WDN_ISSUER_CIMD_MAX_BYTES,
        .max_head = 16384,
        .https_only = true,
        .no_proxy_env = true,
        .public_only = !iss->allow_local_cimd,
    };
    struct wdn_fetch_response resp;
    int rc = wdn_fetch(&req, &resp, d);

    if (rc == 0) {
        doc->status = resp.status;
        wdn_fmt(doc->content_type, sizeof(doc->content_type), "%s", resp.content_type);
        doc->max_age = resp.cache_control[0]
                           ? wdn_oidc_cache_max_age(wdn_str_from_cstr(resp.cache_control))
                           : -1;
        rc = wdn_buf_append(&doc->body, resp.body.data, resp.body.len);
        if (rc != 0)
            wdn_diag_set(d, rc, "the document is too large");
    }
    wdn_fetch_response_reset(&resp);
    return rc;
}

static const struct cached *cache_find(const struct wdn__as_cimd_cache *c, const char *url,
                                       int64_t now)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].expires > now && strcmp(c->v[i].c.id, url) == 0)
            return &c->v[i];
    return NULL;
}

/* Keeps a copy of cl until expires: replaces the same URL, else an expired entry, else the one
 * that expires first. */
static void cache_put(struct wdn__as_cimd_cache *c, const struct wdn__as_client *cl,
                      int64_t expires, int64_t now)
{
    struct cached *slot = NULL;

    for (size_t i = 0; i < c->n && slot == NULL; i++)
        if (strcmp(c->v[i].c.id, cl->id) == 0 || c->v[i].expires <= now)
            slot = &c->v[i];
    if (slot == NULL && c->n < WDN_ISSUER_CIMD_CACHE)
        slot = &c->v[c->n++];
    for (size_t i = 0; slot == NULL && i < c->n; i++)
        if (slot == NULL || c->v[i].expires < slot->expires)
            slot = &c->v[i];
    if (slot == NULL)
        slot = &c->v[0];
    wdn__as_client_reset(&slot->c);
    slot->expires = 0;
    if (wdn__as_client_copy(&slot->c, cl) == 0)
        slot->expires = expires;
}

int wdn__as_cimd_client(struct wdn_issuer *iss, const char *url, int64_t now,
                        struct wdn__as_client *out, struct wdn_diag *d)
{
    struct wdn_issuer_cimd_doc doc;
    const struct cached *hit;
    const char *why;
    int64_t age;
    int rc;

    memset(out, 0, sizeof(*out));
    if (wdn__as_cimd_url_ok(url, &why) != 0)
        return wdn_diag_set(d, WDN_EINVAL, "the client_id URL is not usable: %s", why);
    pthread_mutex_lock(&iss->mu);
    hit = cache_find(iss->cimd, url, now);
    rc = hit ? wdn__as_client_copy(out, &hit->c) : WDN_ENOTFOUND;
    pthread_mutex_unlock(&iss->mu);
    if (rc != WDN_ENOTFOUND)
        return rc;

    memset(&doc, 0, sizeof(doc));
    wdn_buf_init(&doc.body, WDN_ISSUER_CIMD_MAX_BYTES);
    doc.max_age = -1;
    rc = iss->cimd_fetch(iss->cimd_fetch_ud, url, &doc, d);
    if (rc != 0) {
        char cause[sizeof(d->msg)];
        wdn_fmt(cause, sizeof(cause), "%s", d && d->msg[0] ? d->msg : wdn_strerror(rc));
        wdn_diag_set(d, rc, "the client's metadata document could not be fetched: %s", cause);
        goto out;
    }
    if (doc.status >= 300 && doc.status < 400) {
        rc = wdn_diag_set(d, WDN_EINVAL,
                          "the client's metadata document URL answered a "
                          "redirect (%ld), which is not followed",
                          doc.status);
        goto out;
    }
    if (doc.status != 200) {
        rc = wdn_diag_set(d, WDN_EINVAL, "the client's metadata document URL answered HTTP %ld",
                          doc.status);
        goto out;
    }
    rc = wdn__as_cimd_parse(url, wdn_buf_str(&doc.body), out, d);
    if (rc != 0)
        goto out;
    age = doc.max_age < 0 ? WDN_ISSUER_CIMD_DEFAULT_AGE_S : doc.max_age;
    if (age > WDN_ISSUER_CIMD_MAX_AGE_S)
        age = WDN_ISSUER_CIMD_MAX_AGE_S;
    if (age > 0) {
        pthread_mutex_lock(&iss->mu);
        cache_put(iss->cimd, out, now + age, now);
        pthread_mutex_unlock(&iss->mu);
    }
out:
    wdn_buf_reset(&doc.body);
    return rc;
}
