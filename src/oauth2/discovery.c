/* RFC 9728 and RFC 8414 discovery. Every document is fetched without following redirects, under
 * the rules of struct wdn_oauth2_net, and checked against the identifier it was fetched for, so
 * a metadata document cannot point a client at an authorization server the resource did not
 * name, nor an authorization server's document at endpoints of another issuer. */
#include "oauth2/discovery.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "oauth2/challenge.h"

/* True when host resolves to at least one address that is not public (a private server). */
static bool host_is_internal(const char *origin)
{
    struct addrinfo hints, *res = NULL, *ai;
    char host[300];
    const char *h = strstr(origin, "://");
    size_t n;
    bool internal = false;

    if (h == NULL)
        return false;
    h += 3;
    if (*h == '[') {
        n = strcspn(h + 1, "]");
        snprintf(host, sizeof(host), "%.*s", (int)n, h + 1);
    } else {
        n = strcspn(h, ":/");
        snprintf(host, sizeof(host), "%.*s", (int)n, h);
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return false;
    for (ai = res; ai != NULL; ai = ai->ai_next)
        if (!wdn_fetch_addr_public(ai->ai_addr))
            internal = true;
    freeaddrinfo(res);
    return internal;
}

void wdn_oauth2_net_for(const char *server_url, const char *ca_file, long timeout_ms,
                        struct wdn_oauth2_net *net)
{
    struct wdn_oauth2_url u;

    memset(net, 0, sizeof(*net));
    net->ca_file = ca_file;
    net->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    if (wdn_oauth2_url_parse(server_url, &u, NULL) != 0) {
        net->public_only = true;
        return;
    }
    net->loopback_http = u.loopback;
    /* A private server's authorization server is usually private too (the rule allows it);
     * a public one's must be public. Loopback servers are development set-ups. */
    net->public_only = !u.loopback && !host_is_internal(u.origin);
}

int wdn_oauth2_url_allowed(const struct wdn_oauth2_net *net, const char *url, struct wdn_diag *d)
{
    struct wdn_oauth2_url u;
    int rc = wdn_oauth2_url_parse(url, &u, d);

    if (rc != 0)
        return rc;
    if (u.https || net->user_chosen)
        return 0;
    if (net->loopback_http && u.loopback)
        return 0;
    return wdn_diag_set(d, WDN_EPERM,
                        "refusing %.200s: a URL a server chose must be https (plain http only to "
                        "loopback, and only for a loopback MCP server)",
                        u.origin);
}

static int on_body(void *ud, const char *data, size_t len)
{
    return wdn_buf_append(ud, data, len) == 0 ? 0 : WDN_ELIMIT;
}

int wdn_oauth2_get(const struct wdn_oauth2_net *net, const char *url, struct wdn_buf *body,
                   long *status, struct wdn_diag *d)
{
    static const char *const headers[] = {"Accept: application/json", NULL};
    struct wdn_fetch_request req = {
        .url = url,
        .headers = headers,
        .timeout_ms = net->timeout_ms,
        .ca_file = net->ca_file,
        .max_response = WDN_OAUTH2_MAX_METADATA_BYTES,
        .https_only = !net->loopback_http && !net->user_chosen,
        .public_only = net->public_only && !net->user_chosen,
    };
    struct wdn_fetch_callbacks cb = {NULL, on_body, body};
    int rc = wdn_oauth2_url_allowed(net, url, d);

    *status = 0;
    if (rc != 0)
        return rc;
    body->len = 0;
    body->max = WDN_OAUTH2_MAX_METADATA_BYTES;
    return wdn_fetch_stream(&req, &cb, status, d);
}

int wdn_oauth2_well_known_url(const char *url, const char *name, char *buf, size_t cap)
{
    struct wdn_oauth2_url u;
    int rc = wdn_oauth2_url_parse(url, &u, NULL);

    if (rc != 0)
        return rc;
    return wdn_fmt(buf, cap, "%s/.well-known/%s%s", u.origin, name, u.path);
}

int wdn_oauth2_oidc_config_url(const char *issuer, char *buf, size_t cap)
{
    size_t ilen = strlen(issuer);

    while (ilen > 0 && issuer[ilen - 1] == '/')
        ilen--;
    return wdn_fmt(buf, cap, "%.*s/.well-known/openid-configuration", (int)ilen, issuer);
}

/* Fetches url and, on 200, hands its body to parse. WDN_ENOTFOUND for any other status. */
static int fetch_doc(const struct wdn_oauth2_net *net, const char *url, struct wdn_buf *body,
                     struct wdn_diag *d)
{
    long status = 0;
    int rc = wdn_oauth2_get(net, url, body, &status, d);

    if (rc != 0)
        return rc;
    if (status != 200)
        return wdn_diag_set(d, WDN_ENOTFOUND, "%.200s answered HTTP %ld", url, status);
    return 0;
}

int wdn_oauth2_fetch_prm(const struct wdn_oauth2_net *net, const char *resource_url,
                         const char *header_url, struct wdn_oauth2_prm *out, char *found,
                         struct wdn_diag *d)
{
    char urls[2][WDN_OAUTH2_MAX_URL];
    struct wdn_oauth2_url u;
    struct wdn_buf body;
    int n = 0, i, rc = WDN_ENOTFOUND;

    memset(out, 0, sizeof(*out));
    if ((rc = wdn_oauth2_url_parse(resource_url, &u, d)) != 0)
        return rc;
    if (header_url != NULL && header_url[0] != '\0') {
        /* The challenge's URL is the one to use (MCP 2025-11-25); no guessing after it. */
        if (wdn_fmt(urls[n], WDN_OAUTH2_MAX_URL, "%s", header_url) != 0)
            return wdn_diag_set(d, WDN_ELIMIT, "resource_metadata URL too long");
        n++;
    } else {
        if (u.path[0] != '\0' &&
            wdn_fmt(urls[n], WDN_OAUTH2_MAX_URL, "%s/.well-known/oauth-protected-resource%s",
                    u.origin, u.path) == 0)
            n++;
        if (wdn_fmt(urls[n], WDN_OAUTH2_MAX_URL, "%s/.well-known/oauth-protected-resource",
                    u.origin) == 0)
            n++;
    }
    wdn_buf_init(&body, WDN_OAUTH2_MAX_METADATA_BYTES);
    for (i = 0; i < n; i++) {
        rc = fetch_doc(net, urls[i], &body, d);
        if (rc == WDN_ENOTFOUND)
            continue;
        if (rc != 0)
            break;
        rc = wdn_oauth2_prm_parse((struct wdn_str){body.data, body.len}, resource_url, out, d);
        if (rc == 0 && found != NULL)
            snprintf(found, WDN_OAUTH2_MAX_URL, "%s", urls[i]);
        break;
    }
    wdn_buf_reset(&body);
    return rc;
}

/* issuer_any: accept any issuer on issuer's origin (2025-03-26 servers, see below). */
static int fetch_asm(const struct wdn_oauth2_net *net, const char *issuer, bool issuer_any,
                     struct wdn_oauth2_asm *out, struct wdn_diag *d)
{
    char urls[3][WDN_OAUTH2_MAX_URL];
    struct wdn_oauth2_url u;
    struct wdn_buf body;
    int n = 0, i, rc;

    memset(out, 0, sizeof(*out));
    if ((rc = wdn_oauth2_url_parse(issuer, &u, d)) != 0)
        return rc;
    if (strchr(issuer, '?') != NULL || strchr(issuer, '#') != NULL)
        return wdn_diag_set(d, WDN_EINVAL, "issuer '%.200s' has a query or fragment", issuer);
    if (wdn_oauth2_well_known_url(issuer, "oauth-authorization-server", urls[n],
                                  WDN_OAUTH2_MAX_URL) == 0)
        n++;
    if (wdn_oauth2_well_known_url(issuer, "openid-configuration", urls[n], WDN_OAUTH2_MAX_URL) == 0)
        n++;
    /* OpenID Connect Discovery's own placement, appended to the issuer's path. */
    if (u.path[0] != '\0' && wdn_oauth2_oidc_config_url(issuer, urls[n], WDN_OAUTH2_MAX_URL) == 0)
        n++;
    wdn_buf_init(&body, WDN_OAUTH2_MAX_METADATA_BYTES);
    rc = WDN_ENOTFOUND;
    for (i = 0; i < n; i++) {
        rc = fetch_doc(net, urls[i], &body, d);
        if (rc == WDN_ENOTFOUND)
            continue;
        if (rc != 0)
            break;
        rc = wdn_oauth2_asm_parse((struct wdn_str){body.data, body.len}, issuer_any ? NULL : issuer,
                                  out, d);
        if (rc == 0 && issuer_any && !wdn_oauth2_same_origin(out->issuer, issuer)) {
            rc = wdn_diag_set(d, WDN_EAUTH,
                              "authorization server metadata at %.200s names issuer '%.200s', "
                              "on another origin: refusing it",
                              urls[i], out->issuer);
            wdn_oauth2_asm_reset(out);
        }
        break;
    }
    wdn_buf_reset(&body);
    if (rc == WDN_ENOTFOUND)
        wdn_diag_set(d, rc, "no authorization server metadata for issuer '%.200s'", issuer);
    return rc;
}

int wdn_oauth2_fetch_asm(const struct wdn_oauth2_net *net, const char *issuer,
                         struct wdn_oauth2_asm *out, struct wdn_diag *d)
{
    return fetch_asm(net, issuer, false, out, d);
}

int wdn_oauth2_legacy_asm(const struct wdn_oauth2_net *net, const char *server_url,
                          struct wdn_oauth2_asm *out, struct wdn_diag *d)
{
    struct wdn_oauth2_url u;
    char buf[WDN_OAUTH2_MAX_URL];
    int rc;

    if ((rc = wdn_oauth2_url_parse(server_url, &u, d)) != 0)
        return rc;
    /* The server is its own authorization server here: its document may name an issuer with a
     * path (servers of that era often did), but never one on another origin. */
    rc = fetch_asm(net, u.origin, true, out, d);
    if (rc != WDN_ENOTFOUND)
        return rc;
    /* 2025-03-26 section 2.3.3: no metadata at all means the default endpoints. */
    memset(out, 0, sizeof(*out));
    out->defaults = true;
    out->issuer = strdup(u.origin);
    if (wdn_fmt(buf, sizeof(buf), "%s/authorize", u.origin) == 0)
        out->authorization_endpoint = strdup(buf);
    if (wdn_fmt(buf, sizeof(buf), "%s/token", u.origin) == 0)
        out->token_endpoint = strdup(buf);
    if (wdn_fmt(buf, sizeof(buf), "%s/register", u.origin) == 0)
        out->registration_endpoint = strdup(buf);
    out->auth_methods = WDN_OAUTH2_AM_BASIC | WDN_OAUTH2_AM_POST | WDN_OAUTH2_AM_NONE;
    out->grant_types = WDN_OAUTH2_GT_AUTHORIZATION_CODE | WDN_OAUTH2_GT_REFRESH_TOKEN |
                       WDN_OAUTH2_GT_CLIENT_CREDENTIALS;
    out->pkce_s256 = true;
    out->assertion_es256 = out->assertion_rs256 = true;
    if (!out->issuer || !out->authorization_endpoint || !out->token_endpoint ||
        !out->registration_endpoint) {
        wdn_oauth2_asm_reset(out);
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */

static int fill_discovered(struct wdn_oauth2_asm *m, struct wdn_oauth2_discovered *out,
                           struct wdn_diag *d)
{
    out->issuer = m->issuer;
    out->token_endpoint = m->token_endpoint;
    out->jwks_uri = m->jwks_uri;
    m->issuer = m->token_endpoint = m->jwks_uri = NULL;
    out->supports_basic = (m->auth_methods & WDN_OAUTH2_AM_BASIC) != 0;
    out->supports_post = (m->auth_methods & WDN_OAUTH2_AM_POST) != 0;
    wdn_oauth2_asm_reset(m);
    (void)d;
    return 0;
}

int wdn_oauth2_discover_issuer(const char *issuer, const char *ca_file,
                               struct wdn_oauth2_discovered *out, struct wdn_diag *diag)
{
    struct wdn_oauth2_net net;
    struct wdn_oauth2_asm m;
    int rc;

    wdn_oauth2_net_for(issuer, ca_file, 0, &net);
    rc = wdn_oauth2_fetch_asm(&net, issuer, &m, diag);
    if (rc != 0)
        return rc;
    return fill_discovered(&m, out, diag);
}

int wdn_oauth2_discover(const char *resource_url, const char *www_authenticate, const char *ca_file,
                        struct wdn_oauth2_discovered *out, struct wdn_diag *diag)
{
    struct wdn_challenge ch;
    struct wdn_oauth2_net net;
    struct wdn_oauth2_prm prm;
    struct wdn_oauth2_asm m;
    int rc;

    memset(out, 0, sizeof(*out));
    if (www_authenticate == NULL ||
        wdn_challenge_read(wdn_str_from_cstr(www_authenticate), &ch) != 0)
        memset(&ch, 0, sizeof(ch));
    wdn_oauth2_net_for(resource_url, ca_file, 0, &net);
    rc = wdn_oauth2_fetch_prm(&net, resource_url, ch.resource_metadata, &prm, NULL, diag);
    if (rc != 0)
        return rc;
    rc = wdn_oauth2_fetch_asm(&net, prm.authorization_servers[0], &m, diag);
    if (rc == 0) {
        out->resource = prm.resource;
        prm.resource = NULL;
        rc = fill_discovered(&m, out, diag);
    }
    wdn_oauth2_prm_reset(&prm);
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
