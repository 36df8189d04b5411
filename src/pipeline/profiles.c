/* IdP profiles of the bearer middleware (metadata `profile`): what each provider is known to
 * write in its tokens, so that a user can name the provider and its tenant instead of learning
 * the exact issuer strings. A profile only sets defaults (issuer forms, where the keys are,
 * audiences in the forms the provider writes) and may narrow the algorithm allow-list to what
 * the provider signs with; it never widens a signature rule: the JOSE checks (algorithm pinned
 * to the key, no `none`, no HMAC, no keys from the token) are the same for every profile.
 * docs/sidecar.md has a worked example for each. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "jose/jwk.h"
#include "pipeline/bearer.h"

const char wdn__bearer_profile_names[] = "auth0, entra, keycloak, okta, google";

__attribute__((format(printf, 3, 4))) static int why_fmt(char *why, size_t cap, const char *msg,
                                                         ...)
{
    va_list ap;

    va_start(ap, msg);
    vsnprintf(why, cap, msg, ap);
    va_end(ap);
    return WDN_EINVAL;
}

/* Appends o to out, refusing a full list. */
static int push(const struct bearer_issuer *o, struct bearer_issuer *out, size_t *n, size_t max,
                char *why, size_t cap)
{
    if (*n >= max)
        return why_fmt(why, cap, "too many issuers (at most %d after profiles)",
                       WDN_BEARER_MAX_ISSUERS);
    out[(*n)++] = *o;
    return 0;
}

/* A pool copy of the printf result, or NULL. */
__attribute__((format(printf, 2, 3))) static const char *fmt(struct bearer *b, const char *f, ...)
{
    char buf[2048];
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof(buf))
        return NULL;
    return wdn__bearer_strdup(b, buf);
}

/* "8-4-4-4-12" hex: how Entra names tenants and applications. */
static bool is_guid(const char *s, size_t n)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    if (n != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (shape[i] == '-' ? c != '-' : !hex)
            return false;
    }
    return true;
}

/* The host of an https URL (copied into host), or false. */
static bool https_host(const char *url, char *host, size_t cap, const char **path)
{
    size_t n;

    if (strncmp(url, "https://", 8) != 0)
        return false;
    url += 8;
    n = strcspn(url, "/?#");
    if (n == 0 || n >= cap || memchr(url, '@', n) != NULL)
        return false;
    memcpy(host, url, n);
    host[n] = '\0';
    *path = url + n;
    return true;
}

/* Auth0: the issuer is https://<domain>/ with its trailing slash (tokens carry it; leaving it
 * out is the most common Auth0 misconfiguration). A bare domain is accepted. RS256 or PS256. */
static int auth0(struct bearer *b, struct bearer_issuer *o, char *why, size_t cap)
{
    const char *iss = o->issuer, *path = "";
    char host[256];

    if (strncmp(iss, "https://", 8) != 0 && strstr(iss, "://") == NULL &&
        (iss = fmt(b, "https://%s", iss)) == NULL)
        return WDN_ENOMEM;
    if (!https_host(iss, host, sizeof(host), &path) || (*path && strcmp(path, "/")))
        return why_fmt(why, cap,
                       "profile auth0: issuer must be your Auth0 domain, e.g. "
                       "https://tenant.us.auth0.com/ (got '%s')",
                       o->issuer);
    o->issuer = *path ? iss : fmt(b, "%s/", iss);
    o->allowed_algs = WDN_JOSE_ALG_BIT(WDN_JOSE_RS256) | WDN_JOSE_ALG_BIT(WDN_JOSE_PS256);
    return o->issuer ? 0 : WDN_ENOMEM;
}

/* Microsoft Entra ID: one tenant's tokens carry one of two issuers, v2
 * https://login.microsoftonline.com/<tenant>/v2.0 and v1 https://sts.windows.net/<tenant>/
 * (which one depends on the API's accessTokenAcceptedVersion), both signed by the tenant's
 * keys. An API's audience is its application (client) ID in v2 tokens and, in v1 tokens,
 * usually its Application ID URI api://<client id>: both forms are accepted for either. The
 * tenant must be its ID (a GUID): tokens never carry a domain name, and multi-tenant
 * endpoints (common, organizations) have no fixed issuer. RS256. */
static int entra(struct bearer *b, const struct bearer_issuer *in, struct bearer_issuer *out,
                 size_t *n, size_t max, char *why, size_t cap)
{
    static const char v2_prefix[] = "https://login.microsoftonline.com/";
    static const char v1_prefix[] = "https://sts.windows.net/";
    struct bearer_issuer v2 = *in, v1;
    const char *t = in->issuer, *end;
    char tenant[64];
    size_t tl;
    int rc;

    if (strncmp(t, v2_prefix, sizeof(v2_prefix) - 1) == 0)
        t += sizeof(v2_prefix) - 1;
    else if (strncmp(t, v1_prefix, sizeof(v1_prefix) - 1) == 0)
        t += sizeof(v1_prefix) - 1;
    else if (strstr(t, "://") != NULL)
        return why_fmt(why, cap,
                       "profile entra: issuer must be the tenant ID, "
                       "https://login.microsoftonline.com/<tenant ID>/v2.0 or "
                       "https://sts.windows.net/<tenant ID>/ (got '%s'); for other clouds set "
                       "issuer and jwksURL without a profile",
                       in->issuer);
    end = t + strcspn(t, "/");
    tl = (size_t)(end - t);
    if ((*end && strcmp(end, "/v2.0") && strcmp(end, "/") && strcmp(end, "/v2.0/")) ||
        !is_guid(t, tl))
        return why_fmt(why, cap,
                       "profile entra: the tenant must be its ID, a GUID such as "
                       "72f988bf-86f1-41af-91ab-2d7cd011db47 (tokens never name a domain, and "
                       "common/organizations have no fixed issuer); got '%s'",
                       in->issuer);
    memcpy(tenant, t, tl);
    tenant[tl] = '\0';
    v2.issuer = fmt(b, "https://login.microsoftonline.com/%s/v2.0", tenant);
    if (v2.jwks_url == NULL && v2.jwks_inline == NULL)
        v2.jwks_url = fmt(b, "https://login.microsoftonline.com/%s/discovery/v2.0/keys", tenant);
    v2.allowed_algs = WDN_JOSE_ALG_BIT(WDN_JOSE_RS256);
    v2.advertise = true;
    /* Audiences in both forms. */
    for (size_t i = 0, n0 = in->n_aud; i < n0; i++) {
        const char *a = in->audiences[i], *other = NULL;
        if (is_guid(a, strlen(a))) {
            if ((other = fmt(b, "api://%s", a)) == NULL)
                return WDN_ENOMEM; /* never a narrower audience list than configured */
        } else if (strncmp(a, "api://", 6) == 0 && is_guid(a + 6, strlen(a + 6))) {
            other = a + 6;
        } else {
            continue;
        }
        if (v2.n_aud >= WDN_JWT_MAX_AUDIENCES)
            return why_fmt(why, cap, "too many audiences");
        v2.audiences[v2.n_aud++] = other;
    }
    if (v2.issuer == NULL || (v2.jwks_url == NULL && v2.jwks_inline == NULL))
        return WDN_ENOMEM;
    v1 = v2;
    v1.issuer = fmt(b, "https://sts.windows.net/%s/", tenant);
    v1.advertise = false;
    if (v1.issuer == NULL)
        return WDN_ENOMEM;
    if ((rc = push(&v2, out, n, max, why, cap)) != 0)
        return rc;
    return push(&v1, out, n, max, why, cap);
}

/* Keycloak: the issuer is the realm's URL, https://<host>[/auth]/realms/<realm> (no trailing
 * slash; /auth only on Keycloak before 17); the keys are at .../protocol/openid-connect/certs.
 * Its tokens name the client in azp (the MCP policy's client ID). */
static int keycloak(struct bearer *b, struct bearer_issuer *o, char *why, size_t cap)
{
    char host[256], iss[2048];
    const char *path = "", *realm;
    size_t l;

    if (!https_host(o->issuer, host, sizeof(host), &path) || strlen(o->issuer) >= sizeof(iss))
        return why_fmt(why, cap,
                       "profile keycloak: issuer must be the realm's https URL, e.g. "
                       "https://keycloak.example/realms/myrealm (got '%s')",
                       o->issuer);
    memcpy(iss, o->issuer, strlen(o->issuer) + 1); /* fits: measured above */
    l = strlen(iss);
    if (l && iss[l - 1] == '/')
        iss[--l] = '\0';
    realm = strstr(iss + 8 + strlen(host), "/realms/");
    if (realm == NULL || realm[8] == '\0' || strchr(realm + 8, '/') != NULL ||
        strpbrk(iss, "?#") != NULL ||
        !(realm == iss + 8 + strlen(host) ||
          (realm == iss + 8 + strlen(host) + 5 && strncmp(realm - 5, "/auth", 5) == 0)))
        return why_fmt(why, cap,
                       "profile keycloak: issuer must end in /realms/<realm>, e.g. "
                       "https://keycloak.example/realms/myrealm (got '%s')",
                       o->issuer);
    o->issuer = wdn__bearer_strdup(b, iss);
    if (o->jwks_url == NULL && o->jwks_inline == NULL)
        o->jwks_url = fmt(b, "%s/protocol/openid-connect/certs", iss);
    return o->issuer && (o->jwks_url || o->jwks_inline) ? 0 : WDN_ENOMEM;
}

/* Okta: tokens for your own APIs come from a custom authorization server,
 * https://<org>.okta.com/oauth2/<server id> (the built-in one is "default", whose audience is
 * api://default); the org authorization server (https://<org>.okta.com) issues tokens that
 * only Okta may validate, so it is refused. Keys at <issuer>/v1/keys. RS256. */
static int okta(struct bearer *b, struct bearer_issuer *o, char *why, size_t cap)
{
    char host[256], iss[2048];
    const char *path = "", *id;
    size_t l;

    if (!https_host(o->issuer, host, sizeof(host), &path) || strlen(o->issuer) >= sizeof(iss))
        return why_fmt(why, cap,
                       "profile okta: issuer must be a custom authorization server, e.g. "
                       "https://example.okta.com/oauth2/default (got '%s')",
                       o->issuer);
    memcpy(iss, o->issuer, strlen(o->issuer) + 1); /* fits: measured above */
    l = strlen(iss);
    if (l && iss[l - 1] == '/')
        iss[--l] = '\0';
    path = iss + 8 + strlen(host);
    if (strncmp(path, "/oauth2/", 8) != 0 || path[8] == '\0' || strpbrk(path + 8, "/?#") != NULL)
        return why_fmt(why, cap,
                       "profile okta: issuer must be a custom authorization server "
                       "https://<org>.okta.com/oauth2/<id> (\"default\" is built in); the org "
                       "authorization server's tokens are for Okta only (got '%s')",
                       o->issuer);
    id = path + 8;
    o->issuer = wdn__bearer_strdup(b, iss);
    if (o->jwks_url == NULL && o->jwks_inline == NULL)
        o->jwks_url = fmt(b, "%s/v1/keys", iss);
    if (o->n_aud == 0 && strcmp(id, "default") == 0)
        o->audiences[o->n_aud++] = "api://default";
    o->allowed_algs = WDN_JOSE_ALG_BIT(WDN_JOSE_RS256);
    return o->issuer && (o->jwks_url || o->jwks_inline) ? 0 : WDN_ENOMEM;
}

/* Google: ID tokens (what Google-signed service-to-service calls carry: Cloud Run, IAP,
 * Workload Identity) have iss https://accounts.google.com or accounts.google.com, keys at
 * https://www.googleapis.com/oauth2/v3/certs, RS256. The audience is the receiving service's
 * URL or OAuth client ID, which must be configured. Google access tokens are opaque and not
 * RFC 7662-introspectable. */
static int google(struct bearer *b, const struct bearer_issuer *in, struct bearer_issuer *out,
                  size_t *n, size_t max, char *why, size_t cap)
{
    struct bearer_issuer a = *in, c;
    int rc;

    if (in->issuer[0] && strcmp(in->issuer, "https://accounts.google.com") != 0 &&
        strcmp(in->issuer, "accounts.google.com") != 0)
        return why_fmt(why, cap,
                       "profile google: issuer must be https://accounts.google.com or left "
                       "out (got '%s')",
                       in->issuer);
    a.issuer = "https://accounts.google.com";
    if (a.jwks_url == NULL && a.jwks_inline == NULL)
        a.jwks_url = "https://www.googleapis.com/oauth2/v3/certs";
    a.allowed_algs = WDN_JOSE_ALG_BIT(WDN_JOSE_RS256);
    a.advertise = true;
    c = a;
    c.issuer = "accounts.google.com";
    c.advertise = false;
    if ((rc = push(&a, out, n, max, why, cap)) != 0)
        return rc;
    return push(&c, out, n, max, why, cap);
}

int wdn__bearer_profile(struct bearer *b, const struct bearer_issuer *in, struct bearer_issuer *out,
                        size_t *n, size_t max, char *why, size_t cap)
{
    struct bearer_issuer o = *in;
    const char *p = in->profile;
    int rc;

    o.advertise = true;
    if (p == NULL)
        return push(&o, out, n, max, why, cap);
    if (strcmp(p, "entra") == 0)
        return entra(b, in, out, n, max, why, cap);
    if (strcmp(p, "google") == 0)
        return google(b, in, out, n, max, why, cap);
    if (in->issuer[0] == '\0')
        return why_fmt(why, cap, "profile %s needs the issuer", p);
    if (strcmp(p, "auth0") == 0)
        rc = auth0(b, &o, why, cap);
    else if (strcmp(p, "keycloak") == 0)
        rc = keycloak(b, &o, why, cap);
    else if (strcmp(p, "okta") == 0)
        rc = okta(b, &o, why, cap);
    else
        return why_fmt(why, cap, "unknown profile '%s' (known: %s)", p, wdn__bearer_profile_names);
    return rc ? rc : push(&o, out, n, max, why, cap);
}
