/* RFC 9728 and RFC 8414 discovery. Every document is fetched without following redirects and
 * checked against the identifier it was fetched for, so a metadata document cannot point a
 * client at an authorization server the resource did not name. */
#include "oauth2/discovery.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/error.h"
#include "http/fetch.h"
#include "oauth2/challenge.h"

#define URL_MAX 2048

/* Splits an http(s) URL into origin ("https://host:port") and path (without query/fragment). */
static int split_url(const char *url, struct wdn_str *origin, struct wdn_str *path)
{
    size_t skip;

    if (strncmp(url, "https://", 8) == 0)
        skip = 8;
    else if (strncmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return WDN_EINVAL;
    size_t auth_len = strcspn(url + skip, "/?#");
    if (auth_len == 0)
        return WDN_EINVAL;
    origin->p = url;
    origin->len = skip + auth_len;
    path->p = url + origin->len;
    path->len = strcspn(path->p, "?#");
    return 0;
}

int wdn_oauth2_well_known_url(const char *url, const char *name, char *buf, size_t cap)
{
    struct wdn_str origin = {0}, path = {0};
    int rc = split_url(url, &origin, &path);

    if (rc)
        return rc;
    if (path.len == 1 && path.p[0] == '/')
        path.len = 0;
    return wdn_fmt(buf, cap, "%.*s/.well-known/%s%.*s", WDN_STR_FMT(origin), name,
                   WDN_STR_FMT(path));
}

/* Fetches url and parses a JSON object; *out owned by the caller. */
static int fetch_json(const char *url, const char *ca_file, json_t **out, struct wdn_diag *diag)
{
    const char *headers[] = {"Accept: application/json", NULL};
    struct wdn_fetch_request req = {.url = url, .headers = headers, .ca_file = ca_file,
                                    .max_response = 256 * 1024};
    struct wdn_fetch_response resp;
    json_error_t jerr;
    int rc = wdn_fetch(&req, &resp, diag);

    *out = NULL;
    if (rc)
        goto out;
    if (resp.status != 200) {
        rc = wdn_diag_set(diag, WDN_EHTTP_STATUS, "%s answered HTTP %ld", url, resp.status);
        goto out;
    }
    *out = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, JSON_REJECT_DUPLICATES,
                      &jerr);
    if (*out == NULL || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        rc = wdn_diag_set(diag, WDN_EPARSE, "%s is not a JSON object", url);
    }
out:
    wdn_fetch_response_reset(&resp);
    return rc;
}

/* Compares two resource identifiers, ignoring one trailing slash on either. */
static int same_resource(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la && a[la - 1] == '/')
        la--;
    if (lb && b[lb - 1] == '/')
        lb--;
    return la == lb && strncmp(a, b, la) == 0;
}

static int resource_covers(const char *res, const char *expect)
{
    size_t lr = strlen(res);

    if (same_resource(res, expect))
        return 1;
    if (lr && res[lr - 1] == '/')
        lr--;
    return strncmp(res, expect, lr) == 0 && expect[lr] == '/';
}

static int has_string(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

int wdn_oauth2_discover_issuer(const char *issuer, const char *ca_file,
                               struct wdn_oauth2_discovered *out, struct wdn_diag *diag)
{
    char urls[3][URL_MAX];
    json_t *meta = NULL;
    int rc = WDN_ENOTFOUND, n = 0;

    if (wdn_oauth2_well_known_url(issuer, "oauth-authorization-server", urls[n], URL_MAX) == 0)
        n++;
    if (wdn_oauth2_well_known_url(issuer, "openid-configuration", urls[n], URL_MAX) == 0)
        n++;
    size_t il = strlen(issuer);
    if (wdn_fmt(urls[n], URL_MAX, "%.*s/.well-known/openid-configuration",
                (int)(il && issuer[il - 1] == '/' ? il - 1 : il), issuer) == 0)
        n++;
    if (n == 0)
        return wdn_diag_set(diag, WDN_EINVAL, "issuer '%s' is not an http(s) URL", issuer);
    for (int i = 0; i < n && meta == NULL; i++) {
        if (i == 2 && strcmp(urls[2], urls[1]) == 0)
            break;
        rc = fetch_json(urls[i], ca_file, &meta, diag);
    }
    if (meta == NULL)
        return rc;
    const char *iss = json_string_value(json_object_get(meta, "issuer"));
    const char *tok = json_string_value(json_object_get(meta, "token_endpoint"));
    const char *jwks = json_string_value(json_object_get(meta, "jwks_uri"));
    json_t *methods = json_object_get(meta, "token_endpoint_auth_methods_supported");
    if (iss == NULL || strcmp(iss, issuer) != 0) {
        rc = wdn_diag_set(diag, WDN_EAUTH,
                          "authorization server metadata names issuer '%s', expected '%s'",
                          iss ? iss : "(none)", issuer);
        goto out;
    }
    if (tok == NULL) {
        rc = wdn_diag_set(diag, WDN_EPARSE, "authorization server metadata has no token_endpoint");
        goto out;
    }
    out->issuer = strdup(iss);
    out->token_endpoint = strdup(tok);
    out->jwks_uri = jwks ? strdup(jwks) : NULL;
    /* RFC 8414: when absent, the default is client_secret_basic. */
    out->supports_basic = methods ? has_string(methods, "client_secret_basic") : 1;
    out->supports_post = methods ? has_string(methods, "client_secret_post") : 0;
    rc = (out->issuer && out->token_endpoint && (!jwks || out->jwks_uri))
             ? 0
             : wdn_diag_set(diag, WDN_ENOMEM, "out of memory");
out:
    json_decref(meta);
    return rc;
}

int wdn_oauth2_discover(const char *resource_url, const char *www_authenticate,
                        const char *ca_file, struct wdn_oauth2_discovered *out,
                        struct wdn_diag *diag)
{
    char urls[2][URL_MAX];
    json_t *prm = NULL;
    int n = 0, rc;

    memset(out, 0, sizeof(*out));
    if (www_authenticate &&
        wdn_challenge_param(wdn_str_from_cstr(www_authenticate), "Bearer", "resource_metadata",
                            urls[0], URL_MAX) == 0)
        n = 1;
    if (n == 0) {
        if (wdn_oauth2_well_known_url(resource_url, "oauth-protected-resource", urls[n],
                                      URL_MAX) == 0)
            n++;
        struct wdn_str origin = {0}, path = {0};
        if (split_url(resource_url, &origin, &path) == 0 && path.len > 1 &&
            wdn_fmt(urls[n], URL_MAX, "%.*s/.well-known/oauth-protected-resource",
                    WDN_STR_FMT(origin)) == 0)
            n++;
    }
    if (n == 0)
        return wdn_diag_set(diag, WDN_EINVAL, "resource '%s' is not an http(s) URL",
                            resource_url);
    rc = WDN_ENOTFOUND;
    for (int i = 0; i < n && prm == NULL; i++)
        rc = fetch_json(urls[i], ca_file, &prm, diag);
    if (prm == NULL)
        return rc;
    const char *res = json_string_value(json_object_get(prm, "resource"));
    json_t *servers = json_object_get(prm, "authorization_servers");
    const char *as = json_string_value(json_array_get(servers, 0));
    struct wdn_str origin = {0}, path = {0};
    char expect[URL_MAX];
    split_url(resource_url, &origin, &path);
    wdn_fmt(expect, sizeof(expect), "%.*s%.*s", WDN_STR_FMT(origin), WDN_STR_FMT(path));
    /* RFC 9728 3.3: the resource must be the one we asked about. Like the MCP SDKs, accept a
     * parent of it at a path-segment boundary (metadata for a whole origin). */
    if (res == NULL || !resource_covers(res, expect)) {
        rc = wdn_diag_set(diag, WDN_EAUTH, "protected resource metadata is for '%s', not '%s'",
                          res ? res : "(none)", expect);
        goto out;
    }
    if (as == NULL) {
        rc = wdn_diag_set(diag, WDN_EPARSE,
                          "protected resource metadata lists no authorization_servers");
        goto out;
    }
    out->resource = strdup(res);
    if (out->resource == NULL) {
        rc = wdn_diag_set(diag, WDN_ENOMEM, "out of memory");
        goto out;
    }
    rc = wdn_oauth2_discover_issuer(as, ca_file, out, diag);
out:
    json_decref(prm);
    if (rc)
        wdn_oauth2_discovered_reset(out);
    return rc;
}

void wdn_oauth2_discovered_reset(struct wdn_oauth2_discovered *out)
{
    free(out->resource);
    free(out->issuer);
    free(out->token_endpoint);
    free(out->jwks_uri);
    memset(out, 0, sizeof(*out));
}
