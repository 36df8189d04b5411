/* Token endpoint requests. The client secret only ever goes to the token endpoint the caller
 * names, in the Authorization header (Basic) or the body (post, JSON), never both; every buffer
 * that held it is wiped before it is freed. */
#include "base/json_dump.h"
#include "oauth2/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "oauth2/assertion.h"
#include "oauth2/form.h"

static void wipe(struct wdn_buf *b)
{
    if (b->data != NULL)
        OPENSSL_cleanse(b->data, b->cap);
    wdn_buf_reset(b);
}

/* The body and the Authorization line of the request. */
static int build(const struct wdn_oauth2_token_req *r, struct wdn_buf *body, struct wdn_buf *authz)
{
    const char *const *p;
    int rc = 0;

    if (r->auth == WDN_OAUTH2_AUTH_JSON) {
        json_t *o = json_object();
        char *s;
        if (o == NULL)
            return WDN_ENOMEM;
        for (p = r->params; p != NULL && p[0] != NULL; p += 2)
            json_object_set_new(o, p[0], json_string(p[1]));
        json_object_set_new(o, "client_id", json_string(r->client_id));
        json_object_set_new(o, "client_secret", json_string(r->client_secret));
        s = wdn_json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (s == NULL)
            return WDN_ENOMEM;
        rc = wdn_buf_append_cstr(body, s);
        OPENSSL_cleanse(s, strlen(s));
        free(s);
        return rc;
    }
    for (p = r->params; rc == 0 && p != NULL && p[0] != NULL; p += 2)
        rc = wdn_form_add(body, p[0], p[1]);
    switch (r->auth) {
    case WDN_OAUTH2_AUTH_BASIC:
        if (rc == 0)
            rc = wdn_buf_append_cstr(authz, "Authorization: ");
        if (rc == 0)
            rc = wdn_form_basic_auth(authz, r->client_id, r->client_secret);
        break;
    case WDN_OAUTH2_AUTH_POST:
        if (rc == 0)
            rc = wdn_form_add(body, "client_id", r->client_id);
        if (rc == 0)
            rc = wdn_form_add(body, "client_secret", r->client_secret);
        break;
    case WDN_OAUTH2_AUTH_NONE:
        if (rc == 0 && r->client_id != NULL)
            rc = wdn_form_add(body, "client_id", r->client_id);
        break;
    case WDN_OAUTH2_AUTH_PRIVATE_KEY_JWT: {
        struct wdn_buf a;
        if (r->client_key == NULL || r->assertion_audience == NULL)
            return WDN_EINVAL;
        wdn_buf_init(&a, 16384);
        if (rc == 0)
            rc =
                wdn_oauth2_client_assertion(r->client_key, r->client_id, r->assertion_audience, &a);
        if (rc == 0)
            rc = wdn_form_add(body, "client_id", r->client_id);
        if (rc == 0)
            rc = wdn_form_add(body, "client_assertion_type",
                              "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        if (rc == 0)
            rc = wdn_form_add(body, "client_assertion", wdn_buf_cstr(&a));
        wipe(&a);
        break;
    }
    default:
        break;
    }
    return rc;
}

struct answer {
    struct wdn_buf body;
    char nonce[WDN_OAUTH2_NONCE_MAX];
};

static int on_head(void *ud, const struct wdn_fetch_head *h)
{
    struct answer *a = ud;
    const struct wdn_http_header *n =
        wdn_http_header_find(h->headers, h->nheaders, WDN_STR("dpop-nonce"));

    if (n != NULL && n->value.len < sizeof(a->nonce)) {
        memcpy(a->nonce, n->value.p, n->value.len);
        a->nonce[n->value.len] = '\0';
    }
    return 0;
}

static int on_body(void *ud, const char *data, size_t len)
{
    struct answer *a = ud;

    return wdn_buf_append(&a->body, data, len) == 0 ? 0 : WDN_ELIMIT;
}

static char *dup_member(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL ? strdup(s) : NULL;
}

/* Reads RFC 6749 5.1 (success) or 5.2 (error). */
static int parse(long status, const struct wdn_buf *b, struct wdn_oauth2_tokens *out,
                 struct wdn_diag *d)
{
    json_error_t jerr;
    json_t *o = json_loadb(b->data ? b->data : "", b->len, JSON_REJECT_DUPLICATES, &jerr), *exp;
    const char *tok, *type;
    int rc = 0;

    if (!json_is_object(o)) {
        rc = wdn_diag_set(d, WDN_EHTTP_STATUS,
                          "token endpoint answered HTTP %ld with a body that is not a JSON object",
                          status);
        goto out;
    }
    if (status != 200) {
        const char *err = json_string_value(json_object_get(o, "error"));
        const char *desc = json_string_value(json_object_get(o, "error_description"));
        snprintf(out->error, sizeof(out->error), "%s", err ? err : "");
        rc = wdn_diag_set(d, err ? WDN_EAUTH : WDN_EHTTP_STATUS,
                          "token endpoint answered HTTP %ld: %.60s%s%.120s", status,
                          err ? err : "no error code", desc ? ": " : "", desc ? desc : "");
        goto out;
    }
    tok = json_string_value(json_object_get(o, "access_token"));
    type = json_string_value(json_object_get(o, "token_type"));
    if (tok == NULL || tok[0] == '\0' || strlen(tok) > WDN_JWT_MAX_TOKEN_BYTES) {
        rc = wdn_diag_set(d, WDN_EHTTP_STATUS, "token response has no usable access_token");
        goto out;
    }
    if (type == NULL) {
        rc = wdn_diag_set(d, WDN_EHTTP_STATUS, "token response has no token_type");
        goto out;
    }
    exp = json_object_get(o, "expires_in");
    out->expires_in = json_is_integer(exp) ? (int64_t)json_integer_value(exp)
                      : json_is_real(exp)  ? (int64_t)json_real_value(exp)
                                           : -1;
    out->access_token = strdup(tok);
    out->token_type = strdup(type);
    out->refresh_token = dup_member(o, "refresh_token");
    out->scope = dup_member(o, "scope");
    out->issued_token_type = dup_member(o, "issued_token_type");
    if (out->access_token == NULL || out->token_type == NULL)
        rc = wdn_diag_set(d, WDN_ENOMEM, "out of memory");
out:
    if (b->data != NULL)
        OPENSSL_cleanse(b->data, b->len);
    json_decref(o);
    return rc;
}

/* One POST; the answer's body and DPoP-Nonce land in a. */
static int post(const struct wdn_oauth2_token_req *r, struct answer *a, long *status,
                struct wdn_diag *d)
{
    struct wdn_buf body, authz, proof;
    const char *headers[6] = {0};
    size_t nh = 0;
    int rc;

    wdn_buf_init(&body, 64 * 1024);
    wdn_buf_init(&authz, 8192);
    wdn_buf_init(&proof, 16384);
    rc = build(r, &body, &authz);
    if (rc != 0) {
        wdn_diag_set(d, rc, "cannot build the token request: %s", wdn_strerror(rc));
        goto out;
    }
    headers[nh++] = r->auth == WDN_OAUTH2_AUTH_JSON
                        ? "Content-Type: application/json"
                        : "Content-Type: application/x-www-form-urlencoded";
    headers[nh++] = "Accept: application/json";
    if (authz.len > 0)
        headers[nh++] = wdn_buf_cstr(&authz);
    if (r->dpop_key != NULL) {
        rc = wdn_buf_append_cstr(&proof, "DPoP: ");
        if (rc == 0)
            rc = wdn_oauth2_dpop_proof(r->dpop_key, "POST", r->token_endpoint, NULL, r->dpop_nonce,
                                       &proof);
        if (rc != 0) {
            wdn_diag_set(d, rc, "cannot make a DPoP proof: %s", wdn_strerror(rc));
            goto out;
        }
        headers[nh++] = wdn_buf_cstr(&proof);
    }
    {
        struct wdn_fetch_request req = {
            .method = "POST",
            .url = r->token_endpoint,
            .headers = headers,
            .body = body.data,
            .body_len = body.len,
            .timeout_ms = r->net->timeout_ms,
            .ca_file = r->net->ca_file,
            .max_response = WDN_OAUTH2_MAX_TOKEN_RESPONSE,
            .https_only = !r->net->loopback_http && !r->net->user_chosen,
            .public_only = r->net->public_only && !r->net->user_chosen,
        };
        struct wdn_fetch_callbacks cb = {on_head, on_body, a};
        rc = wdn_fetch_stream(&req, &cb, status, d);
    }
out:
    wipe(&body);
    wipe(&authz);
    wipe(&proof);
    return rc;
}

int wdn_oauth2_token_request(const struct wdn_oauth2_token_req *r, struct wdn_oauth2_tokens *out,
                             struct wdn_diag *d)
{
    struct answer a;
    long status = 0;
    int rc, round;

    memset(out, 0, sizeof(*out));
    out->expires_in = -1;
    rc = wdn_oauth2_url_allowed(r->net, r->token_endpoint, d);
    if (rc != 0)
        return rc;
    for (round = 0; round < 2; round++) {
        memset(&a, 0, sizeof(a));
        wdn_buf_init(&a.body, WDN_OAUTH2_MAX_TOKEN_RESPONSE);
        rc = post(r, &a, &status, d);
        if (rc == 0)
            rc = parse(status, &a.body, out, d);
        wipe(&a.body);
        if (a.nonce[0] != '\0' && r->dpop_nonce != NULL)
            snprintf(r->dpop_nonce, WDN_OAUTH2_NONCE_MAX, "%s", a.nonce);
        /* RFC 9449 8: the server wants a nonce in the proof; once, with the one it gave. */
        if (rc == WDN_EAUTH && r->dpop_key != NULL && strcmp(out->error, "use_dpop_nonce") == 0 &&
            a.nonce[0] != '\0' && round == 0) {
            wdn_oauth2_tokens_reset(out);
            continue;
        }
        break;
    }
    if (rc != 0) {
        char err[sizeof(out->error)];
        memcpy(err, out->error, sizeof(err));
        wdn_oauth2_tokens_reset(out);
        memcpy(out->error, err, sizeof(err));
    }
    return rc;
}

static void free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void wdn_oauth2_tokens_reset(struct wdn_oauth2_tokens *t)
{
    free_secret(t->access_token);
    free_secret(t->refresh_token);
    free(t->token_type);
    free(t->scope);
    free(t->issued_token_type);
    memset(t, 0, sizeof(*t));
    t->expires_in = -1;
}
