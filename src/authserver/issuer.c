/* The authorization server object: its configuration checked and copied, its state loaded,
 * the router from paths to endpoints, and the response helpers every endpoint uses. */
#include "authserver/issuer.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "base/json_dump.h"
#include "base/limits.h"
#include "oauth2/form.h"

/* The printable ASCII RFC 6749 allows in client ids, secrets (VSCHAR) and our audiences. */
static int vschar_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > WDN_ISSUER_MAX_FIELD_BYTES)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int copy_strv(char ***out, const char *const *in, size_t n)
{
    *out = calloc(n ? n : 1, sizeof(char *));
    if (*out == NULL)
        return WDN_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (((*out)[i] = strdup(in[i])) == NULL)
            return WDN_ENOMEM;
    return 0;
}

void wdn_issuer_free(struct wdn_issuer *iss)
{
    if (iss == NULL)
        return;
    for (size_t i = 0; iss->clients && i < iss->nclients; i++) {
        free(iss->clients[i].id);
        free_strv(iss->clients[i].auds, iss->clients[i].naud);
        free_strv(iss->clients[i].scopes, iss->clients[i].nscopes);
    }
    free(iss->clients);
    free_strv(iss->resources, iss->nresources);
    free(iss->scopes);
    wdn__issuer_keyset_free(iss->ks);
    wdn__as_registry_free(iss->registry);
    wdn__as_users_free(iss->users);
    wdn__as_sessions_free(iss->sessions);
    wdn__as_pending_free(iss->pending);
    wdn__as_codes_free(iss->codes);
    wdn__as_consents_free(iss->consents);
    wdn__as_refresh_free(iss->refresh);
    wdn__as_cimd_cache_free(iss->cimd);
    pthread_mutex_destroy(&iss->mu);
    free(iss->issuer);
    free(iss->base);
    free(iss->path);
    free(iss->origin);
    free(iss->state_dir);
    free(iss->typ);
    free(iss->ca_file);
    free(iss);
}

static int check_client(const struct wdn_issuer_client_cfg *c, size_t idx, struct wdn_diag *d)
{
    if (!vschar_ok(c->id))
        return wdn_diag_set(d, WDN_EINVAL, "client %zu: the id must be 1..%d printable characters",
                            idx + 1, WDN_ISSUER_MAX_FIELD_BYTES);
    if (!vschar_ok(c->secret))
        return wdn_diag_set(d, WDN_EINVAL,
                            "client '%s': the secret must be 1..%d printable characters", c->id,
                            WDN_ISSUER_MAX_FIELD_BYTES);
    if (c->naudiences == 0 || c->naudiences > WDN_ISSUER_MAX_AUDIENCES)
        return wdn_diag_set(d, WDN_EINVAL, "client '%s': give 1..%d audiences", c->id,
                            WDN_ISSUER_MAX_AUDIENCES);
    for (size_t i = 0; i < c->naudiences; i++)
        if (!vschar_ok(c->audiences[i]) || strchr(c->audiences[i], ' ') != NULL)
            return wdn_diag_set(d, WDN_EINVAL,
                                "client '%s': audience %zu is empty, too long or "
                                "has spaces or control characters",
                                c->id, i + 1);
    if (c->nscopes > WDN_ISSUER_MAX_SCOPES)
        return wdn_diag_set(d, WDN_EINVAL, "client '%s': at most %d scopes", c->id,
                            WDN_ISSUER_MAX_SCOPES);
    for (size_t i = 0; i < c->nscopes; i++)
        if (c->scopes[i] == NULL || !wdn__as_scope_token_ok(wdn_str_from_cstr(c->scopes[i])))
            return wdn_diag_set(d, WDN_EINVAL,
                                "client '%s': scope %zu is not a valid scope "
                                "token (RFC 6749 3.3)",
                                c->id, i + 1);
    return 0;
}

static int check_config(const struct wdn_issuer_config *cfg, struct wdn_diag *d)
{
    const char *why;
    struct wdn__as_uri u;

    if (cfg->issuer == NULL || cfg->state_dir == NULL || cfg->issuer[0] == '\0')
        return wdn_diag_set(d, WDN_EINVAL, "the issuer URL and state folder are required");
    if (wdn__as_uri_parse(cfg->issuer, &u, &why) != 0 || wdn_str_index(u.path, '?') >= 0)
        return wdn_diag_set(d, WDN_EINVAL, "the issuer URL '%s' is not usable: %s", cfg->issuer,
                            wdn_str_index(u.path, '?') >= 0 ? "it has a query" : why);
    if (cfg->nclients > WDN_ISSUER_MAX_CLIENTS)
        return wdn_diag_set(d, WDN_EINVAL, "give at most %d clients", WDN_ISSUER_MAX_CLIENTS);
    if (cfg->typ != NULL && strcmp(cfg->typ, "at+jwt") != 0 && strcmp(cfg->typ, "JWT") != 0)
        return wdn_diag_set(d, WDN_EINVAL, "typ must be at+jwt or JWT");
    for (size_t i = 0; i < cfg->nclients; i++) {
        if (check_client(&cfg->clients[i], i, d) != 0)
            return WDN_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->clients[i].id, cfg->clients[j].id) == 0)
                return wdn_diag_set(d, WDN_EINVAL, "client '%s' is given twice",
                                    cfg->clients[i].id);
    }
    if (cfg->nresources > WDN_ISSUER_MAX_AUDIENCES || cfg->nscopes > WDN_ISSUER_MAX_SCOPES)
        return wdn_diag_set(d, WDN_EINVAL, "at most %d resources and %d scopes",
                            WDN_ISSUER_MAX_AUDIENCES, WDN_ISSUER_MAX_SCOPES);
    for (size_t i = 0; i < cfg->nresources; i++)
        if (!wdn__as_absolute_uri(cfg->resources[i]))
            return wdn_diag_set(d, WDN_EINVAL,
                                "resource '%s' is not an absolute URI without a fragment",
                                cfg->resources[i]);
    for (size_t i = 0; i < cfg->nscopes; i++)
        if (!wdn__as_scope_token_ok(wdn_str_from_cstr(cfg->scopes[i])))
            return wdn_diag_set(d, WDN_EINVAL, "scope '%s' is not a valid scope token",
                                cfg->scopes[i]);
    return 0;
}

static int hash_secret(const struct wdn_issuer *iss, const char *secret,
                       unsigned char out[WDN__AS_HASH_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, iss->salt, sizeof(iss->salt)) &&
             EVP_DigestUpdate(ctx, secret, strlen(secret)) && EVP_DigestFinal_ex(ctx, out, &n) &&
             n == WDN__AS_HASH_LEN;

    EVP_MD_CTX_free(ctx);
    return ok ? 0 : WDN_ECRYPTO;
}

/* The interactive clients' resources: the configured ones, else every client-credentials
 * client's audiences (deduplicated, in order). */
static int copy_resources(struct wdn_issuer *iss, const struct wdn_issuer_config *cfg)
{
    size_t cap = cfg->nresources ? cfg->nresources : 1;

    for (size_t i = 0; !cfg->nresources && i < cfg->nclients; i++)
        cap += cfg->clients[i].naudiences;
    iss->resources = calloc(cap, sizeof(char *));
    if (iss->resources == NULL)
        return WDN_ENOMEM;
    if (cfg->nresources) {
        for (size_t i = 0; i < cfg->nresources; i++)
            if ((iss->resources[iss->nresources++] = strdup(cfg->resources[i])) == NULL)
                return WDN_ENOMEM;
        return 0;
    }
    for (size_t i = 0; i < cfg->nclients; i++)
        for (size_t j = 0; j < cfg->clients[i].naudiences; j++) {
            const char *a = cfg->clients[i].audiences[j];
            bool dup = false;
            for (size_t k = 0; k < iss->nresources; k++)
                dup |= strcmp(iss->resources[k], a) == 0;
            if (!dup && (iss->resources[iss->nresources++] = strdup(a)) == NULL)
                return WDN_ENOMEM;
        }
    return 0;
}

static int copy_scopes(struct wdn_issuer *iss, const struct wdn_issuer_config *cfg)
{
    struct wdn_buf b;
    int rc = 0;

    wdn_buf_init(&b, (size_t)WDN_ISSUER_MAX_SCOPES * (WDN_ISSUER_MAX_FIELD_BYTES + 1));
    for (size_t i = 0; i < cfg->nscopes && rc == 0; i++)
        if (!wdn__as_scope_subset(cfg->scopes[i], b.data ? b.data : "")) /* not given twice */
            rc = wdn_buf_printf(&b, "%s%s", b.len ? " " : "", cfg->scopes[i]);
    /* offline_access is always offered: MCP clients add it when scopes_supported lists it, and
     * it changes nothing here (refresh tokens come with every authorization code). */
    if (rc == 0 && !wdn__as_scope_subset("offline_access", b.data ? b.data : ""))
        rc = wdn_buf_printf(&b, "%soffline_access", b.len ? " " : "");
    iss->scopes = rc == 0 ? wdn_buf_cstr(&b) : NULL;
    if (iss->scopes == NULL)
        wdn_buf_reset(&b);
    return iss->scopes ? 0 : WDN_ENOMEM;
}

/* issuer, base (no trailing slash), path and origin from the issuer URL. */
static int split_issuer(struct wdn_issuer *iss, const char *url)
{
    size_t il = strlen(url);
    struct wdn__as_uri u;
    const char *why;

    if (wdn__as_uri_parse(url, &u, &why) != 0)
        return WDN_EINVAL;
    iss->https = u.https;
    iss->issuer = strdup(url);
    iss->base = strndup(url, url[il - 1] == '/' ? il - 1 : il);
    iss->path = strndup(u.path.p, u.path.len && u.path.p[u.path.len - 1] == '/' ? u.path.len - 1
                                                                                : u.path.len);
    iss->origin = strndup(url, (size_t)(u.path.p - url));
    return iss->issuer && iss->base && iss->path && iss->origin ? 0 : WDN_ENOMEM;
}

struct wdn_issuer *wdn_issuer_new(const struct wdn_issuer_config *cfg, struct wdn_diag *d)
{
    struct wdn_issuer *iss = NULL;

    if (check_config(cfg, d) != 0)
        return NULL;
    iss = calloc(1, sizeof(*iss));
    if (iss == NULL || pthread_mutex_init(&iss->mu, NULL) != 0) {
        free(iss);
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        return NULL;
    }
    iss->state_dir = strdup(cfg->state_dir);
    iss->typ = strdup(cfg->typ ? cfg->typ : "at+jwt");
    iss->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
    iss->lifetime_s = cfg->lifetime_s > 0 ? cfg->lifetime_s : WDN_ISSUER_DEFAULT_LIFETIME_S;
    iss->refresh_lifetime_s = cfg->refresh_lifetime_s > 0 ? cfg->refresh_lifetime_s
                                                          : WDN_ISSUER_DEFAULT_REFRESH_LIFETIME_S;
    iss->refresh_max_s =
        cfg->refresh_max_s > 0 ? cfg->refresh_max_s : WDN_ISSUER_DEFAULT_REFRESH_MAX_S;
    iss->dcr = cfg->dcr;
    iss->allow_local_cimd = cfg->allow_local_cimd;
    iss->cimd_fetch = cfg->cimd_fetch ? cfg->cimd_fetch : wdn__as_cimd_fetch_default;
    iss->cimd_fetch_ud = cfg->cimd_fetch ? cfg->cimd_fetch_ud : iss;
    iss->clients = calloc(cfg->nclients ? cfg->nclients : 1, sizeof(*iss->clients));
    iss->registry = wdn__as_registry_new();
    iss->users = wdn__as_users_new();
    iss->sessions = wdn__as_sessions_new();
    iss->pending = wdn__as_pending_new();
    iss->codes = wdn__as_codes_new();
    iss->consents = wdn__as_consents_new();
    iss->refresh = wdn__as_refresh_new();
    iss->cimd = wdn__as_cimd_cache_new();
    if (split_issuer(iss, cfg->issuer) != 0 || !iss->state_dir || !iss->typ ||
        (cfg->ca_file && !iss->ca_file) || !iss->clients || !iss->registry || !iss->users ||
        !iss->sessions || !iss->pending || !iss->codes || !iss->consents || !iss->refresh ||
        !iss->cimd || copy_resources(iss, cfg) != 0 || copy_scopes(iss, cfg) != 0 ||
        RAND_bytes(iss->salt, sizeof(iss->salt)) != 1 ||
        RAND_bytes(iss->dummy_hash, WDN__AS_HASH_LEN) != 1) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory or no randomness");
        goto fail;
    }
    iss->nclients = cfg->nclients;
    for (size_t i = 0; i < cfg->nclients; i++) {
        const struct wdn_issuer_client_cfg *c = &cfg->clients[i];
        struct wdn__as_cc_client *o = &iss->clients[i];
        o->naud = c->naudiences;
        o->nscopes = c->nscopes;
        if ((o->id = strdup(c->id)) == NULL || copy_strv(&o->auds, c->audiences, o->naud) ||
            copy_strv(&o->scopes, c->scopes, o->nscopes) || hash_secret(iss, c->secret, o->hash)) {
            wdn_diag_set(d, WDN_ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (wdn__issuer_keyset_load(iss->state_dir, &iss->ks, d) != 0 ||
        wdn__as_refresh_load(iss, d) != 0)
        goto fail;
    return iss;
fail:
    wdn_issuer_free(iss);
    return NULL;
}

/* Checks a client-credentials secret: every call hashes the presented secret and makes one
 * constant-time comparison, against a random hash when the id is unknown, so an unknown
 * client and a wrong secret take the same path and the same time. */
const struct wdn__as_cc_client *wdn__as_cc_authenticate(const struct wdn_issuer *iss,
                                                        const char *id, const char *secret,
                                                        bool *known)
{
    const struct wdn__as_cc_client *found = NULL;
    const unsigned char *want = iss->dummy_hash;
    unsigned char got[WDN__AS_HASH_LEN];
    bool eq;

    for (size_t i = 0; i < iss->nclients; i++)
        if (strcmp(iss->clients[i].id, id) == 0) {
            found = &iss->clients[i];
            want = found->hash;
        }
    *known = found != NULL;
    if (hash_secret(iss, secret, got) != 0)
        return NULL;
    eq = wdn_ct_equal(got, WDN__AS_HASH_LEN, want, WDN__AS_HASH_LEN);
    OPENSSL_cleanse(got, sizeof(got));
    return eq ? found : NULL;
}

void wdn__as_refresh_keys(struct wdn_issuer *iss)
{
    struct wdn__issuer_keyset *fresh = NULL;

    if (!wdn__issuer_keyset_stale(iss->ks, iss->state_dir))
        return;
    if (wdn__issuer_keyset_load(iss->state_dir, &fresh, NULL) == 0) {
        wdn__issuer_keyset_free(iss->ks);
        iss->ks = fresh;
    }
}

int wdn_issuer_signing_kid(struct wdn_issuer *iss, int64_t now, char *buf, size_t cap)
{
    int rc;

    pthread_mutex_lock(&iss->mu);
    wdn__as_refresh_keys(iss);
    rc = wdn_fmt(buf, cap, "%s",
                 wdn_jose_key_kid(iss->ks->keys[wdn__issuer_keyset_signing(iss->ks, now)]));
    pthread_mutex_unlock(&iss->mu);
    return rc;
}

const char *wdn_issuer_url(const struct wdn_issuer *iss)
{
    return iss->issuer;
}

/* ---- Responses ---------------------------------------------------------------------------- */

void wdn_issuer_response_reset(struct wdn_issuer_response *resp)
{
    if (resp->body.data)
        OPENSSL_cleanse(resp->body.data, resp->body.len); /* it may hold a token */
    wdn_buf_reset(&resp->body);
    for (size_t i = 0; i < resp->nheaders; i++) {
        if (resp->headers[i].value) /* Location may hold a code */
            OPENSSL_cleanse(resp->headers[i].value, strlen(resp->headers[i].value));
        free(resp->headers[i].value);
    }
    resp->nheaders = 0;
}

const char *wdn_issuer_response_header(const struct wdn_issuer_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

void wdn__as_resp_init(struct wdn_issuer_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    wdn_buf_init(&resp->body, 1u << 20);
    resp->content_type = "application/json";
    resp->cache_control = "no-store";
    resp->event = "-";
    resp->error = "";
}

int wdn__as_add_header(struct wdn_issuer_response *resp, const char *name, const char *value)
{
    if (resp->nheaders == WDN_ISSUER_MAX_RESP_HEADERS)
        return WDN_ELIMIT;
    char *v = strdup(value);
    if (v == NULL)
        return WDN_ENOMEM;
    resp->headers[resp->nheaders++] = (struct wdn_issuer_header){name, v};
    return 0;
}

int wdn__as_set_json(struct wdn_issuer_response *resp, json_t *obj)
{
    char *text = obj ? wdn_json_dumps(obj, JSON_COMPACT) : NULL;
    int rc = text ? wdn_buf_append_cstr(&resp->body, text) : WDN_ENOMEM;

    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    json_decref(obj);
    return rc;
}

int wdn__as_token_error(struct wdn_issuer_response *resp, int status, const char *error,
                        const char *description)
{
    static const char basic[] = "Basic realm=\"warden issuer\", charset=\"UTF-8\"";

    resp->status = status;
    resp->error = error;
    resp->content_type = "application/json";
    resp->cache_control = "no-store";
    resp->pragma_no_cache = true;
    if (status == 401)
        memcpy(resp->www_authenticate, basic, sizeof(basic));
    wdn_buf_reset(&resp->body);
    return wdn__as_set_json(resp,
                            json_pack("{ssss}", "error", error, "error_description", description));
}

int wdn__as_endpoint(const struct wdn_issuer *iss, const char *suffix, char *out, size_t cap)
{
    return wdn_fmt(out, cap, "%s%s", iss->base, suffix);
}

bool wdn__as_media_type_is(struct wdn_str ct, const char *type)
{
    long semi = wdn_str_index(ct, ';');
    struct wdn_str t = {ct.p, semi >= 0 ? (size_t)semi : ct.len};

    return wdn_str_eq_case_cstr(wdn_str_trim_ows(t), type);
}

void wdn__as_form_wipe(struct wdn_form *f)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->fields[i].value)
            OPENSSL_cleanse(f->fields[i].value, strlen(f->fields[i].value));
    wdn_form_reset(f);
}

/* ---- The router --------------------------------------------------------------------------- */

enum route {
    R_NONE = 0,
    R_TOKEN,
    R_JWKS,
    R_METADATA,
    R_AUTHORIZE,
    R_SIGNIN,
    R_CONSENT,
    R_SIGNOUT,
    R_REGISTER,
};

/* The well-known documents: at the root for an issuer without a path; for one with a path,
 * RFC 8414's path-inserted form, OIDC's appended form, and both names either way, since
 * clients try them in different orders. */
static bool is_metadata_path(const struct wdn_issuer *iss, struct wdn_str path)
{
    static const char *const names[] = {"/.well-known/oauth-authorization-server",
                                        "/.well-known/openid-configuration"};
    size_t pl = strlen(iss->path);

    for (size_t i = 0; i < 2; i++) {
        size_t nl = strlen(names[i]);
        /* inserted: /.well-known/NAME + issuer path */
        if (path.len == nl + pl && memcmp(path.p, names[i], nl) == 0 &&
            memcmp(path.p + nl, iss->path, pl) == 0)
            return true;
        /* appended: issuer path + /.well-known/NAME */
        if (pl > 0 && path.len == pl + nl && memcmp(path.p, iss->path, pl) == 0 &&
            memcmp(path.p + pl, names[i], nl) == 0)
            return true;
    }
    return false;
}

static enum route route_of(const struct wdn_issuer *iss, struct wdn_str path)
{
    static const struct {
        const char *suffix;
        enum route r;
    } table[] = {
        {WDN_ISSUER_TOKEN_PATH, R_TOKEN},
        {WDN_ISSUER_JWKS_PATH, R_JWKS},
        {WDN_ISSUER_AUTHORIZE_PATH, R_AUTHORIZE},
        {WDN_ISSUER_AUTHORIZE_PATH "/sign-in", R_SIGNIN},
        {WDN_ISSUER_AUTHORIZE_PATH "/consent", R_CONSENT},
        {WDN_ISSUER_AUTHORIZE_PATH "/sign-out", R_SIGNOUT},
        {WDN_ISSUER_REGISTER_PATH, R_REGISTER},
    };
    size_t pl = strlen(iss->path);

    if (is_metadata_path(iss, path))
        return R_METADATA;
    if (path.len < pl || memcmp(path.p, iss->path, pl) != 0)
        return R_NONE;
    struct wdn_str rest = {path.p + pl, path.len - pl};
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (wdn_str_eq_cstr(rest, table[i].suffix))
            return table[i].r == R_REGISTER && !iss->dcr ? R_NONE : table[i].r;
    return R_NONE;
}

bool wdn_issuer_owns_path(const struct wdn_issuer *iss, struct wdn_str path)
{
    return route_of(iss, path) != R_NONE;
}

static int method_not_allowed(struct wdn_issuer_response *resp, const char *allow)
{
    resp->status = 405;
    resp->allow = allow;
    resp->error = "method_not_allowed";
    return wdn__as_set_json(resp, json_pack("{ss}", "error", "method_not_allowed"));
}

int wdn_issuer_handle(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                      struct wdn_issuer_response *resp)
{
    bool get = wdn_str_eq_cstr(req->method, "GET"), post = wdn_str_eq_cstr(req->method, "POST");
    enum route r = route_of(iss, req->path);

    wdn__as_resp_init(resp);
    switch (r) {
    case R_NONE:
        return WDN_ENOTFOUND;
    case R_TOKEN:
        resp->event = "token";
        return wdn__as_token(iss, req, now, resp);
    case R_REGISTER:
        resp->event = "register";
        return post ? wdn__as_register(iss, req, now, resp) : method_not_allowed(resp, "POST");
    case R_JWKS:
    case R_METADATA:
        resp->event = "discovery";
        if (!get)
            return method_not_allowed(resp, "GET");
        return r == R_JWKS ? wdn__as_jwks(iss, now, resp) : wdn__as_metadata(iss, now, resp);
    case R_AUTHORIZE:
        resp->event = "authorize";
        return get ? wdn__as_authorize(iss, req, now, resp) : method_not_allowed(resp, "GET");
    case R_SIGNIN:
    case R_CONSENT:
    case R_SIGNOUT:
        resp->event = r == R_SIGNIN ? "sign-in" : r == R_CONSENT ? "consent" : "sign-out";
        if (!post)
            return method_not_allowed(resp, "POST");
        return r == R_SIGNIN    ? wdn__as_signin(iss, req, now, resp)
               : r == R_CONSENT ? wdn__as_consent(iss, req, now, resp)
                                : wdn__as_signout(iss, req, now, resp);
    }
    return WDN_ENOTFOUND;
}
