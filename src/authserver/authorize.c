/* The authorization endpoint's request: parsed and validated in the order that keeps redirects
 * safe. Until the client and its redirect URI are known to belong together, every error is
 * shown on a page and never sent anywhere (an open redirect otherwise); after that, errors go
 * back to the client as RFC 6749 4.1.2.1 redirects with state and the RFC 9207 iss. PKCE is
 * required with S256 only; the resource (RFC 8707) must be one the issuer serves; scopes must
 * be offered. Then GET /authorize hands the request to the sign-in and consent steps. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "oauth2/form.h"

void wdn__as_authz_reset(struct wdn__as_authz *a)
{
    free(a->client_id);
    free(a->client_name);
    free(a->redirect_uri);
    free(a->state);
    free(a->scope);
    free(a->resource);
    free(a->challenge);
    memset(a, 0, sizeof(*a));
}

static int dup_into(char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    return (*dst = strdup(src)) ? 0 : WDN_ENOMEM;
}

int wdn__as_authz_copy(struct wdn__as_authz *dst, const struct wdn__as_authz *src)
{
    *dst = *src;
    if (dup_into(&dst->client_id, src->client_id) ||
        dup_into(&dst->client_name, src->client_name) ||
        dup_into(&dst->redirect_uri, src->redirect_uri) || dup_into(&dst->state, src->state) ||
        dup_into(&dst->scope, src->scope) || dup_into(&dst->resource, src->resource) ||
        dup_into(&dst->challenge, src->challenge)) {
        wdn__as_authz_reset(dst);
        return WDN_ENOMEM;
    }
    return 0;
}

static int page_error(struct wdn__as_authz_error *err, int status, const char *msg)
{
    err->page = true;
    err->status = status;
    err->error = "invalid_request";
    wdn_fmt(err->message, sizeof(err->message), "%s", msg);
    return WDN_EINVAL;
}

static int redirect_error(struct wdn__as_authz_error *err, const char *error, const char *msg)
{
    err->page = false;
    err->status = 302;
    err->error = error;
    wdn_fmt(err->message, sizeof(err->message), "%s", msg);
    return WDN_EINVAL;
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* The scope asked for, normalised (one space between tokens, no repeats) into out; each token
 * must be offered by the issuer and allowed for the client. */
static int check_scope(const struct wdn_issuer *iss, const struct wdn__as_client *c,
                       const char *scope, struct wdn_buf *out, struct wdn__as_authz_error *err)
{
    for (const char *p = scope ? scope : ""; *p;) {
        size_t len = strcspn(p, " ");
        struct wdn_str t = {p, len};
        char one[WDN_ISSUER_MAX_FIELD_BYTES + 1];

        if (len > 0) {
            if (!wdn__as_scope_token_ok(t))
                return redirect_error(err, "invalid_scope", "the scope is malformed");
            wdn_fmt(one, sizeof(one), "%.*s", WDN_STR_FMT(t));
            if (!wdn__as_scope_subset(one, iss->scopes))
                return redirect_error(err, "invalid_scope",
                                      "a requested scope is not offered by this server");
            if (c->scope != NULL && !wdn__as_scope_subset(one, c->scope))
                return redirect_error(err, "invalid_scope",
                                      "a requested scope is not allowed for this client");
            if (!wdn__as_scope_subset(one, out->data ? out->data : "") &&
                wdn_buf_printf(out, "%s%s", out->len ? " " : "", one) != 0)
                return redirect_error(err, "invalid_scope", "the scope is too long");
        }
        p += len;
        p += *p == ' ';
    }
    return wdn_buf_cstr(out) ? 0 : redirect_error(err, "server_error", "out of memory");
}

/* PKCE (RFC 7636, OAuth 2.1 4.1.1): S256 only; a missing method means plain, refused too. */
static int check_pkce(const char *challenge, const char *method, struct wdn__as_authz_error *err)
{
    if (challenge == NULL)
        return redirect_error(err, "invalid_request",
                              "code_challenge is required (PKCE with S256)");
    if (method == NULL || strcmp(method, "S256") != 0)
        return redirect_error(err, "invalid_request",
                              "code_challenge_method must be S256 (plain is not accepted)");
    if (strlen(challenge) != 43 || strspn(challenge, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                                     "opqrstuvwxyz0123456789-_") != 43)
        return redirect_error(err, "invalid_request",
                              "code_challenge must be a base64url SHA-256 (43 characters)");
    return 0;
}

static int check_resource(const struct wdn_issuer *iss, const char *resource, const char **out,
                          struct wdn__as_authz_error *err)
{
    if (resource == NULL) {
        if (iss->nresources == 0)
            return redirect_error(err, "invalid_target", "this server serves no resource");
        *out = iss->resources[0];
        return 0;
    }
    if (!wdn__as_absolute_uri(resource))
        return redirect_error(err, "invalid_target",
                              "resource must be an absolute URI without a fragment (RFC 8707)");
    for (size_t i = 0; i < iss->nresources; i++)
        if (wdn__as_resource_eq(iss->resources[i], resource)) {
            *out = iss->resources[i];
            return 0;
        }
    return redirect_error(err, "invalid_target",
                          "this server does not issue tokens for that "
                          "resource");
}

static int check_prompt(const char *prompt, struct wdn__as_authz *out,
                        struct wdn__as_authz_error *err)
{
    for (const char *p = prompt ? prompt : ""; *p;) {
        size_t len = strcspn(p, " ");
        struct wdn_str t = {p, len};
        if (wdn_str_eq_cstr(t, "none"))
            out->prompt_none = true;
        else if (wdn_str_eq_cstr(t, "login"))
            out->prompt_login = true;
        else if (wdn_str_eq_cstr(t, "consent"))
            out->prompt_consent = true;
        else if (len > 0 && !wdn_str_eq_cstr(t, "select_account"))
            return redirect_error(err, "invalid_request", "prompt has an unknown value");
        p += len;
        p += *p == ' ';
    }
    if (out->prompt_none && (out->prompt_login || out->prompt_consent))
        return redirect_error(err, "invalid_request", "prompt=none cannot be combined");
    return 0;
}

/* Steps after the redirect URI is trusted: errors from here on are redirected. */
static int check_rest(struct wdn_issuer *iss, const struct wdn_form *f,
                      const struct wdn__as_client *c, struct wdn__as_authz *out,
                      struct wdn__as_authz_error *err)
{
    const char *rt = wdn_form_get(f, "response_type"), *mode = wdn_form_get(f, "response_mode");
    const char *resource = NULL;
    struct wdn_buf scope;
    int rc;

    if (rt == NULL || strcmp(rt, "code") != 0)
        return redirect_error(err, rt ? "unsupported_response_type" : "invalid_request",
                              "response_type must be code");
    if (mode != NULL && strcmp(mode, "query") != 0)
        return redirect_error(err, "invalid_request", "response_mode must be query");
    if (wdn_form_get(f, "request") || wdn_form_get(f, "request_uri"))
        return redirect_error(err, "request_not_supported", "request objects are not supported");
    rc = check_pkce(wdn_form_get(f, "code_challenge"), wdn_form_get(f, "code_challenge_method"),
                    err);
    if (rc == 0)
        rc = check_prompt(wdn_form_get(f, "prompt"), out, err);
    if (rc == 0)
        rc = check_resource(iss, wdn_form_get(f, "resource"), &resource, err);
    if (rc != 0)
        return rc;
    wdn_buf_init(&scope, 64 * 1024);
    rc = check_scope(iss, c, wdn_form_get(f, "scope"), &scope, err);
    if (rc == 0 &&
        (dup_into(&out->challenge, wdn_form_get(f, "code_challenge")) ||
         dup_into(&out->resource, resource) || dup_into(&out->scope, scope.data ? scope.data : "")))
        rc = redirect_error(err, "server_error", "out of memory");
    wdn_buf_reset(&scope);
    return rc;
}

int wdn__as_authz_parse(struct wdn_issuer *iss, struct wdn_str query, int64_t now,
                        struct wdn__as_authz *out, struct wdn__as_authz_error *err)
{
    struct wdn_form f = {0};
    struct wdn__as_client c = {0};
    struct wdn_diag d;
    const char *id, *redirect, *state;
    bool match = false;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    wdn_diag_clear(&d);
    if (wdn_form_decode(query, &f) != 0) {
        rc = page_error(err, 400,
                        "The authorization request is malformed: a parameter is repeated or "
                        "badly encoded.");
        goto out;
    }
    id = wdn_form_get(&f, "client_id");
    redirect = wdn_form_get(&f, "redirect_uri");
    state = wdn_form_get(&f, "state");
    if (id == NULL || *id == '\0') {
        rc = page_error(err, 400, "The authorization request names no client (client_id).");
        goto out;
    }
    rc = wdn__as_find_client(iss, id, now, &c, &d);
    if (rc != 0) {
        char msg[sizeof(err->message)];
        wdn_fmt(msg, sizeof(msg), "The client is not known to this server: %s.",
                rc == WDN_ENOTFOUND ? "no client is registered with this client_id" : d.msg);
        rc = page_error(err, 400, msg);
        goto out;
    }
    if (redirect == NULL) {
        rc = page_error(err, 400, "The authorization request has no redirect_uri.");
        goto out;
    }
    for (size_t i = 0; i < c.nredirects && !match; i++)
        match = wdn__as_redirect_match(c.redirects[i], redirect);
    if (!match) {
        rc = page_error(err, 400,
                        "The redirect_uri is not registered for this client, so the result "
                        "cannot be sent back. Nothing was sent anywhere.");
        goto out;
    }
    if (state != NULL && (strlen(state) > WDN_ISSUER_MAX_STATE_PARAM || !printable_ascii(state))) {
        rc = page_error(err, 400, "The state parameter is too long or not printable ASCII.");
        goto out;
    }
    out->source = c.source;
    out->public_client = c.public_client;
    if (dup_into(&out->client_id, c.id) || dup_into(&out->client_name, c.name) ||
        dup_into(&out->redirect_uri, redirect) || dup_into(&out->state, state)) {
        rc = page_error(err, 500, "Out of memory.");
        goto out;
    }
    rc = check_rest(iss, &f, &c, out, err);
out:
    if (rc != 0 && err->page)
        wdn__as_authz_reset(out);
    wdn__as_client_reset(&c);
    wdn_form_reset(&f);
    return rc;
}

int wdn__as_authz_redirect(struct wdn_issuer *iss, const struct wdn__as_authz *a, const char *code,
                           const char *error, const char *description, int status,
                           struct wdn_issuer_response *resp)
{
    struct wdn_buf q, loc;
    int rc;

    wdn_buf_init(&q, 16384);
    wdn_buf_init(&loc, 32768);
    rc = code ? wdn_form_add(&q, "code", code) : wdn_form_add(&q, "error", error);
    if (rc == 0 && !code && description)
        rc = wdn_form_add(&q, "error_description", description);
    if (rc == 0 && a->state)
        rc = wdn_form_add(&q, "state", a->state);
    if (rc == 0)
        rc = wdn_form_add(&q, "iss", iss->issuer);
    if (rc == 0)
        rc = wdn_buf_printf(&loc, "%s%c%.*s", a->redirect_uri,
                            strchr(a->redirect_uri, '?') ? '&' : '?', (int)q.len, q.data);
    if (rc == 0 && wdn_buf_cstr(&loc) == NULL)
        rc = WDN_ENOMEM;
    if (rc == 0)
        rc = wdn__as_add_header(resp, "Location", loc.data);
    if (rc == 0)
        rc = wdn__as_add_header(resp, "Referrer-Policy", "no-referrer");
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    resp->error = code ? "" : error;
    wdn_fmt(resp->client_id, sizeof(resp->client_id), "%s", a->client_id ? a->client_id : "");
    if (loc.data)
        wdn_buf_reset(&loc);
    if (q.data)
        wdn_buf_reset(&q);
    return rc;
}

int wdn__as_authorize(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                      struct wdn_issuer_response *resp)
{
    struct wdn__as_authz a;
    struct wdn__as_authz_error err;
    struct wdn__as_session_view s;
    char rid[WDN__AS_RANDOM_CHARS + 1];
    int rc;

    if (wdn__as_authz_parse(iss, req->query, now, &a, &err) != 0) {
        if (err.page) {
            resp->error = err.error;
            rc = wdn__as_page_message(iss, err.status,
                                      &(struct wdn__as_page){.title = "This sign-in cannot go on",
                                                             .message = err.message,
                                                             .message_is_error = true},
                                      resp);
        } else {
            rc = wdn__as_authz_redirect(iss, &a, NULL, err.error, err.message, 302, resp);
        }
        wdn__as_authz_reset(&a);
        return rc;
    }
    wdn_fmt(resp->client_id, sizeof(resp->client_id), "%s", a.client_id);
    pthread_mutex_lock(&iss->mu);
    wdn__as_session_find(iss, req->cookie, now, &s);
    rc = s.found ? 0 : wdn__as_session_start(iss, "", now, &s, resp);
    if (rc == 0)
        rc = wdn__as_pending_put(iss, &a, s.hash, now, rid, sizeof(rid));
    if (rc == 0)
        rc = wdn__as_proceed(iss, &a, &s, rid, now, 302, resp);
    pthread_mutex_unlock(&iss->mu);
    wdn__as_authz_reset(&a);
    OPENSSL_cleanse(&s, sizeof(s));
    return rc;
}
