/* Protected resource and authorization server metadata, parsed strictly: these documents come
 * from servers the client does not trust yet, and every URL in them decides where a credential
 * may travel next. Identifiers are compared exactly (RFC 8414 3.3, RFC 9207): a trailing slash
 * or a case change is a different issuer. */
#include "oauth2/metadata.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/error.h"
#include "http/fetch_int.h"

/* The fetch client's URL parser is the one URL parser (fuzzed); it has no public name yet
 * (coord/client.md asks net for one). */
int wdn_oauth2_url_parse(const char *url, struct wdn_oauth2_url *u, struct wdn_diag *d)
{
    struct wdn__fetch_url f;
    char why[128] = "", host[WDN_FETCH_MAX_HOST_BYTES + 3];
    size_t i, plen;
    bool default_port;

    memset(u, 0, sizeof(*u));
    if (wdn__fetch_url_parse(url, false, &f, why, sizeof(why)) != 0)
        return wdn_diag_set(d, WDN_EINVAL, "'%.200s' is not a usable URL: %s", url ? url : "", why);
    u->https = f.tls;
    /* With no no_proxy list the fetch client's check is exactly "is this host loopback". */
    u->loopback = wdn__fetch_no_proxy(NULL, &f);
    for (i = 0; f.host[i] != '\0' && i + 1 < sizeof(host); i++)
        host[i] = (char)tolower((unsigned char)f.host[i]);
    host[i] = '\0';
    default_port = (f.tls && f.port == 443) || (!f.tls && f.port == 80);
    if ((default_port
             ? wdn_fmt(u->origin, sizeof(u->origin), "%s://%s%s%s", f.tls ? "https" : "http",
                       f.ipv6 ? "[" : "", host, f.ipv6 ? "]" : "")
             : wdn_fmt(u->origin, sizeof(u->origin), "%s://%s%s%s:%u", f.tls ? "https" : "http",
                       f.ipv6 ? "[" : "", host, f.ipv6 ? "]" : "", (unsigned)f.port)) != 0)
        return wdn_diag_set(d, WDN_ELIMIT, "URL too long");
    plen = strcspn(f.target.p, "?");
    if (plen > f.target.len)
        plen = f.target.len;
    if (plen >= sizeof(u->path))
        return wdn_diag_set(d, WDN_ELIMIT, "URL too long");
    if (!(plen == 1 && f.target.p[0] == '/')) {
        memcpy(u->path, f.target.p, plen);
        u->path[plen] = '\0';
    }
    return 0;
}

bool wdn_oauth2_same_origin(const char *a, const char *b)
{
    struct wdn_oauth2_url ua, ub;

    return wdn_oauth2_url_parse(a, &ua, NULL) == 0 && wdn_oauth2_url_parse(b, &ub, NULL) == 0 &&
           strcmp(ua.origin, ub.origin) == 0;
}

bool wdn_oauth2_scope_has(const char *scope, const char *item)
{
    size_t n = strlen(item);
    const char *p = scope;

    while (p != NULL && *p != '\0') {
        size_t len;
        p += strspn(p, " ");
        len = strcspn(p, " ");
        if (len == n && len > 0 && strncmp(p, item, n) == 0)
            return true;
        p += len;
    }
    return false;
}

/* ---------------------------------------------------------------------------------------- */

static json_t *load(struct wdn_str doc, struct wdn_diag *d, int *rc)
{
    json_error_t jerr;
    json_t *o;

    if (doc.len > WDN_OAUTH2_MAX_METADATA_BYTES) {
        *rc = wdn_diag_set(d, WDN_ELIMIT, "metadata document too large (%zu bytes)", doc.len);
        return NULL;
    }
    o = json_loadb(doc.p != NULL ? doc.p : "", doc.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        *rc = wdn_diag_set(d, WDN_EPARSE, "metadata document is not a JSON object");
        return NULL;
    }
    *rc = 0;
    return o;
}

/* A string member that must, when present, be a string without NUL bytes. */
static int get_str(json_t *o, const char *key, const char **out, struct wdn_diag *d)
{
    json_t *v = json_object_get(o, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return wdn_diag_set(d, WDN_EPARSE, "metadata member '%s' is not a string", key);
    *out = json_string_value(v);
    return 0;
}

/* A member that must be an http(s) URL when present. */
static int get_url(json_t *o, const char *key, const char **out, struct wdn_diag *d)
{
    struct wdn_oauth2_url u;
    int rc = get_str(o, key, out, d);

    if (rc == 0 && *out != NULL && wdn_oauth2_url_parse(*out, &u, NULL) != 0)
        rc = wdn_diag_set(d, WDN_EPARSE, "metadata member '%s' is not an http(s) URL", key);
    return rc;
}

/* A list of strings joined by spaces (NULL when absent); each must be a string without space. */
static int get_list(json_t *o, const char *key, char **out, struct wdn_diag *d)
{
    json_t *arr = json_object_get(o, key), *v;
    size_t i, len = 0;

    *out = NULL;
    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return wdn_diag_set(d, WDN_EPARSE, "metadata member '%s' is not an array", key);
    json_array_foreach (arr, i, v) {
        const char *s = json_string_value(v);
        if (s == NULL || strlen(s) != json_string_length(v) || strchr(s, ' ') != NULL)
            return wdn_diag_set(d, WDN_EPARSE, "metadata member '%s' has a bad entry", key);
        len += strlen(s) + 1;
    }
    if (len > WDN_OAUTH2_MAX_SCOPE * 8)
        return wdn_diag_set(d, WDN_ELIMIT, "metadata member '%s' is too long", key);
    *out = calloc(1, len + 1);
    if (*out == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    len = 0;
    json_array_foreach (arr, i, v) {
        size_t n = strlen(json_string_value(v));
        if (i > 0)
            (*out)[len++] = ' ';
        memcpy(*out + len, json_string_value(v), n + 1);
        len += n;
    }
    return 0;
}

static bool list_has(json_t *o, const char *key, const char *item)
{
    json_t *arr = json_object_get(o, key), *v;
    size_t i;

    json_array_foreach (arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), item) == 0)
            return true;
    }
    return false;
}

static char *dup_or_null(const char *s, bool *nomem)
{
    char *c;

    if (s == NULL)
        return NULL;
    c = strdup(s);
    if (c == NULL)
        *nomem = true;
    return c;
}

/* RFC 9728 3.3, as the MCP SDKs apply it: the document names this resource or a parent of it
 * at a path-segment boundary, on the same origin. */
static bool resource_covers(const char *resource, const char *url)
{
    struct wdn_oauth2_url r, u;
    size_t rl, ul;

    if (wdn_oauth2_url_parse(resource, &r, NULL) != 0 || wdn_oauth2_url_parse(url, &u, NULL) != 0)
        return false;
    if (strchr(resource, '#') != NULL || strchr(resource, '?') != NULL ||
        strcmp(r.origin, u.origin) != 0)
        return false;
    rl = strlen(r.path);
    ul = strlen(u.path);
    while (rl > 0 && r.path[rl - 1] == '/')
        rl--;
    while (ul > 0 && u.path[ul - 1] == '/')
        ul--;
    if (rl > ul || strncmp(r.path, u.path, rl) != 0)
        return false;
    return rl == ul || u.path[rl] == '/';
}

int wdn_oauth2_prm_parse(struct wdn_str doc, const char *resource_url, struct wdn_oauth2_prm *out,
                         struct wdn_diag *d)
{
    json_t *o, *servers, *v;
    const char *res = NULL;
    bool nomem = false;
    size_t i;
    int rc;

    memset(out, 0, sizeof(*out));
    o = load(doc, d, &rc);
    if (o == NULL)
        return rc;
    if ((rc = get_str(o, "resource", &res, d)) != 0)
        goto out;
    if (res == NULL) {
        rc = wdn_diag_set(d, WDN_EPARSE, "protected resource metadata has no 'resource'");
        goto out;
    }
    if (!resource_covers(res, resource_url)) {
        rc = wdn_diag_set(d, WDN_EAUTH,
                          "protected resource metadata is for '%.200s', not '%.200s': refusing it",
                          res, resource_url);
        goto out;
    }
    servers = json_object_get(o, "authorization_servers");
    if (!json_is_array(servers) || json_array_size(servers) == 0 || json_array_size(servers) > 16) {
        rc = wdn_diag_set(d, WDN_EPARSE,
                          "protected resource metadata lists no authorization_servers");
        goto out;
    }
    json_array_foreach (servers, i, v) {
        struct wdn_oauth2_url u;
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
            wdn_oauth2_url_parse(json_string_value(v), &u, NULL) != 0) {
            rc = wdn_diag_set(d, WDN_EPARSE,
                              "authorization_servers has an entry that is not "
                              "an http(s) URL");
            goto out;
        }
    }
    out->authorization_servers = calloc(json_array_size(servers), sizeof(char *));
    out->resource = strdup(res);
    if (out->authorization_servers == NULL || out->resource == NULL)
        nomem = true;
    for (i = 0; !nomem && i < json_array_size(servers); i++) {
        out->authorization_servers[i] =
            dup_or_null(json_string_value(json_array_get(servers, i)), &nomem);
        out->n_as++;
    }
    if (!nomem && (rc = get_list(o, "scopes_supported", &out->scopes_supported, d)) != 0)
        goto out;
    out->dpop_bound = json_is_true(json_object_get(o, "dpop_bound_access_tokens_required"));
    rc = nomem ? wdn_diag_set(d, WDN_ENOMEM, "out of memory") : 0;
out:
    json_decref(o);
    if (rc != 0)
        wdn_oauth2_prm_reset(out);
    return rc;
}

void wdn_oauth2_prm_reset(struct wdn_oauth2_prm *p)
{
    size_t i;

    for (i = 0; i < p->n_as; i++)
        free(p->authorization_servers[i]);
    free(p->authorization_servers);
    free(p->resource);
    free(p->scopes_supported);
    memset(p, 0, sizeof(*p));
}

static const struct {
    const char *name;
    unsigned bit;
} auth_methods[] = {
    {"none", WDN_OAUTH2_AM_NONE},
    {"client_secret_basic", WDN_OAUTH2_AM_BASIC},
    {"client_secret_post", WDN_OAUTH2_AM_POST},
    {"private_key_jwt", WDN_OAUTH2_AM_PRIVATE_KEY_JWT},
};

static const struct {
    const char *name;
    unsigned bit;
} grants[] = {
    {"authorization_code", WDN_OAUTH2_GT_AUTHORIZATION_CODE},
    {"client_credentials", WDN_OAUTH2_GT_CLIENT_CREDENTIALS},
    {"refresh_token", WDN_OAUTH2_GT_REFRESH_TOKEN},
    {"urn:ietf:params:oauth:grant-type:jwt-bearer", WDN_OAUTH2_GT_JWT_BEARER},
    {"urn:ietf:params:oauth:grant-type:token-exchange", WDN_OAUTH2_GT_TOKEN_EXCHANGE},
};

int wdn_oauth2_asm_parse(struct wdn_str doc, const char *issuer, struct wdn_oauth2_asm *out,
                         struct wdn_diag *d)
{
    const char *iss = NULL, *authz = NULL, *token = NULL, *reg = NULL, *jwks = NULL;
    json_t *o, *algs;
    bool nomem = false;
    size_t i;
    int rc;

    memset(out, 0, sizeof(*out));
    o = load(doc, d, &rc);
    if (o == NULL)
        return rc;
    if ((rc = get_str(o, "issuer", &iss, d)) != 0)
        goto out;
    if (iss == NULL || (issuer != NULL && strcmp(iss, issuer) != 0)) {
        rc = wdn_diag_set(d, WDN_EAUTH,
                          "authorization server metadata names issuer '%.200s', expected '%.200s'"
                          ": refusing it",
                          iss != NULL ? iss : "(none)", issuer != NULL ? issuer : "(any)");
        goto out;
    }
    if ((rc = get_url(o, "authorization_endpoint", &authz, d)) != 0 ||
        (rc = get_url(o, "token_endpoint", &token, d)) != 0 ||
        (rc = get_url(o, "registration_endpoint", &reg, d)) != 0 ||
        (rc = get_url(o, "jwks_uri", &jwks, d)) != 0)
        goto out;
    out->issuer = dup_or_null(iss, &nomem);
    out->authorization_endpoint = dup_or_null(authz, &nomem);
    out->token_endpoint = dup_or_null(token, &nomem);
    out->registration_endpoint = dup_or_null(reg, &nomem);
    out->jwks_uri = dup_or_null(jwks, &nomem);
    if (nomem) {
        rc = wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = get_list(o, "scopes_supported", &out->scopes_supported, d)) != 0)
        goto out;
    out->offline_access = wdn_oauth2_scope_has(out->scopes_supported, "offline_access");
    /* RFC 8414 2: without the list, client_secret_basic is the default. */
    out->auth_methods_listed =
        json_is_array(json_object_get(o, "token_endpoint_auth_methods_supported"));
    for (i = 0; i < sizeof(auth_methods) / sizeof(auth_methods[0]); i++)
        if (list_has(o, "token_endpoint_auth_methods_supported", auth_methods[i].name))
            out->auth_methods |= auth_methods[i].bit;
    if (!out->auth_methods_listed)
        out->auth_methods = WDN_OAUTH2_AM_BASIC;
    if (json_is_array(json_object_get(o, "grant_types_supported"))) {
        for (i = 0; i < sizeof(grants) / sizeof(grants[0]); i++)
            if (list_has(o, "grant_types_supported", grants[i].name))
                out->grant_types |= grants[i].bit;
    } else {
        out->grant_types = WDN_OAUTH2_GT_AUTHORIZATION_CODE; /* RFC 8414 default */
    }
    out->pkce_listed = json_is_array(json_object_get(o, "code_challenge_methods_supported"));
    out->pkce_s256 = list_has(o, "code_challenge_methods_supported", "S256");
    out->iss_parameter =
        json_is_true(json_object_get(o, "authorization_response_iss_parameter_supported"));
    out->cimd = json_is_true(json_object_get(o, "client_id_metadata_document_supported"));
    out->dpop_es256 = list_has(o, "dpop_signing_alg_values_supported", "ES256");
    algs = json_object_get(o, "token_endpoint_auth_signing_alg_values_supported");
    out->assertion_es256 = !json_is_array(algs) ||
                           list_has(o, "token_endpoint_auth_signing_alg_values_supported", "ES256");
    out->assertion_rs256 = !json_is_array(algs) ||
                           list_has(o, "token_endpoint_auth_signing_alg_values_supported", "RS256");
    rc = 0;
out:
    json_decref(o);
    if (rc != 0)
        wdn_oauth2_asm_reset(out);
    return rc;
}

void wdn_oauth2_asm_reset(struct wdn_oauth2_asm *m)
{
    free(m->issuer);
    free(m->authorization_endpoint);
    free(m->token_endpoint);
    free(m->registration_endpoint);
    free(m->jwks_uri);
    free(m->scopes_supported);
    memset(m, 0, sizeof(*m));
}
