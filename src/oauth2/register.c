/* Dynamic client registration. The registration endpoint was named by a metadata document, so
 * the request goes under the same URL rules as every other discovered URL, and the answer is
 * bounded and checked before the client uses what it says. */
#include "base/json_dump.h"
#include "oauth2/register.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"

static const char *method_name(enum wdn_oauth2_auth a)
{
    switch (a) {
    case WDN_OAUTH2_AUTH_BASIC:
        return "client_secret_basic";
    case WDN_OAUTH2_AUTH_POST:
        return "client_secret_post";
    case WDN_OAUTH2_AUTH_PRIVATE_KEY_JWT:
        return "private_key_jwt";
    default:
        return "none";
    }
}

int wdn_oauth2_pick_auth(unsigned methods, bool has_secret, bool has_key, const char *preferred)
{
    static const struct {
        const char *name;
        unsigned bit;
        int auth;
    } all[] = {
        {"client_secret_basic", WDN_OAUTH2_AM_BASIC, WDN_OAUTH2_AUTH_BASIC},
        {"client_secret_post", WDN_OAUTH2_AM_POST, WDN_OAUTH2_AUTH_POST},
        {"private_key_jwt", WDN_OAUTH2_AM_PRIVATE_KEY_JWT, WDN_OAUTH2_AUTH_PRIVATE_KEY_JWT},
        {"none", WDN_OAUTH2_AM_NONE, WDN_OAUTH2_AUTH_NONE},
    };
    size_t i;

    for (i = 0; preferred != NULL && i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(preferred, all[i].name) == 0 && (methods & all[i].bit))
            return all[i].auth;
    if (has_key)
        return (methods & WDN_OAUTH2_AM_PRIVATE_KEY_JWT) ? WDN_OAUTH2_AUTH_PRIVATE_KEY_JWT : -1;
    if (has_secret) {
        if (methods & WDN_OAUTH2_AM_BASIC)
            return WDN_OAUTH2_AUTH_BASIC;
        if (methods & WDN_OAUTH2_AM_POST)
            return WDN_OAUTH2_AUTH_POST;
        /* A server that only takes public clients: the secret is simply not sent. */
        return (methods & WDN_OAUTH2_AM_NONE) ? WDN_OAUTH2_AUTH_NONE : -1;
    }
    return (methods & WDN_OAUTH2_AM_NONE) ? WDN_OAUTH2_AUTH_NONE : -1;
}

static int on_body(void *ud, const char *data, size_t len)
{
    return wdn_buf_append(ud, data, len) == 0 ? 0 : WDN_ELIMIT;
}

/* The method a public native client asks for: none where possible. */
static enum wdn_oauth2_auth wanted(const struct wdn_oauth2_asm *as)
{
    if (as->auth_methods & WDN_OAUTH2_AM_NONE)
        return WDN_OAUTH2_AUTH_NONE;
    if (as->auth_methods & WDN_OAUTH2_AM_BASIC)
        return WDN_OAUTH2_AUTH_BASIC;
    if (as->auth_methods & WDN_OAUTH2_AM_POST)
        return WDN_OAUTH2_AUTH_POST;
    return WDN_OAUTH2_AUTH_NONE;
}

static json_t *request_body(const struct wdn_oauth2_reg_req *r)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:[s]}", "client_name",
                          r->client_name != NULL ? r->client_name : "warden", "application_type",
                          "native", "token_endpoint_auth_method", method_name(wanted(r->as)),
                          "response_types", "code");
    json_t *grants = json_array();

    if (o == NULL || grants == NULL) {
        json_decref(o);
        json_decref(grants);
        return NULL;
    }
    if (r->grant_types & WDN_OAUTH2_GT_AUTHORIZATION_CODE)
        json_array_append_new(grants, json_string("authorization_code"));
    if (r->grant_types & WDN_OAUTH2_GT_REFRESH_TOKEN)
        json_array_append_new(grants, json_string("refresh_token"));
    if (r->grant_types & WDN_OAUTH2_GT_CLIENT_CREDENTIALS)
        json_array_append_new(grants, json_string("client_credentials"));
    json_object_set_new(o, "grant_types", grants);
    json_object_set_new(o, "redirect_uris", json_array());
    if (r->redirect_uri != NULL)
        json_array_append_new(json_object_get(o, "redirect_uris"), json_string(r->redirect_uri));
    if (r->scope != NULL && r->scope[0] != '\0')
        json_object_set_new(o, "scope", json_string(r->scope));
    return o;
}

static int read_answer(const struct wdn_oauth2_reg_req *r, long status, const struct wdn_buf *b,
                       struct wdn_oauth2_registration *out, struct wdn_diag *d)
{
    json_error_t jerr;
    json_t *o = json_loadb(b->data ? b->data : "", b->len, JSON_REJECT_DUPLICATES, &jerr), *v;
    const char *id, *secret, *method;
    size_t i;
    bool ours = false;
    int rc = 0;

    if (!json_is_object(o)) {
        rc = wdn_diag_set(d, WDN_EHTTP_STATUS, "registration answered HTTP %ld without JSON",
                          status);
        goto out;
    }
    if (status != 200 && status != 201) {
        const char *err = json_string_value(json_object_get(o, "error"));
        const char *desc = json_string_value(json_object_get(o, "error_description"));
        rc = wdn_diag_set(d, WDN_EAUTH, "dynamic registration refused (HTTP %ld): %.60s%s%.120s",
                          status, err ? err : "no error code", desc ? ": " : "", desc ? desc : "");
        goto out;
    }
    id = json_string_value(json_object_get(o, "client_id"));
    secret = json_string_value(json_object_get(o, "client_secret"));
    method = json_string_value(json_object_get(o, "token_endpoint_auth_method"));
    if (id == NULL || id[0] == '\0' || strlen(id) > 1024) {
        rc = wdn_diag_set(d, WDN_EPARSE, "the registration answer has no usable client_id");
        goto out;
    }
    if (json_is_array(json_object_get(o, "redirect_uris")) && r->redirect_uri != NULL) {
        json_array_foreach (json_object_get(o, "redirect_uris"), i, v) {
            if (json_is_string(v) && strcmp(json_string_value(v), r->redirect_uri) == 0)
                ours = true;
        }
        if (!ours) {
            rc = wdn_diag_set(d, WDN_EAUTH,
                              "the server registered other redirect URIs than this client's "
                              "loopback one: refusing the registration");
            goto out;
        }
    }
    out->client_id = strdup(id);
    out->client_secret = secret != NULL ? strdup(secret) : NULL;
    out->secret_expires_at =
        (int64_t)json_integer_value(json_object_get(o, "client_secret_expires_at"));
    /* The method the server registered wins; without one, ours (with a secret: basic/post). */
    if (method != NULL)
        out->auth = strcmp(method, "client_secret_basic") == 0  ? WDN_OAUTH2_AUTH_BASIC
                    : strcmp(method, "client_secret_post") == 0 ? WDN_OAUTH2_AUTH_POST
                                                                : WDN_OAUTH2_AUTH_NONE;
    else
        out->auth = (enum wdn_oauth2_auth)wdn_oauth2_pick_auth(r->as->auth_methods, secret != NULL,
                                                               false, NULL);
    if ((int)out->auth < 0)
        out->auth = WDN_OAUTH2_AUTH_NONE;
    if (out->client_id == NULL || (secret != NULL && out->client_secret == NULL))
        rc = wdn_diag_set(d, WDN_ENOMEM, "out of memory");
out:
    if (b->data != NULL)
        OPENSSL_cleanse(b->data, b->len);
    json_decref(o);
    return rc;
}

int wdn_oauth2_register(const struct wdn_oauth2_reg_req *r, struct wdn_oauth2_registration *out,
                        struct wdn_diag *d)
{
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", NULL};
    json_t *body = NULL;
    char *text = NULL;
    struct wdn_buf ans;
    long status = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (r->as->registration_endpoint == NULL)
        return wdn_diag_set(d, WDN_EUNSUPPORTED,
                            "the authorization server offers no dynamic registration");
    if ((rc = wdn_oauth2_url_allowed(r->net, r->as->registration_endpoint, d)) != 0)
        return rc;
    body = request_body(r);
    text = body != NULL ? wdn_json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    wdn_buf_init(&ans, WDN_OAUTH2_MAX_TOKEN_RESPONSE);
    {
        struct wdn_fetch_request req = {
            .method = "POST",
            .url = r->as->registration_endpoint,
            .headers = headers,
            .body = text,
            .body_len = strlen(text),
            .timeout_ms = r->net->timeout_ms,
            .ca_file = r->net->ca_file,
            .max_response = WDN_OAUTH2_MAX_TOKEN_RESPONSE,
            .https_only = !r->net->loopback_http && !r->net->user_chosen,
            .public_only = r->net->public_only && !r->net->user_chosen,
        };
        struct wdn_fetch_callbacks cb = {NULL, on_body, &ans};
        rc = wdn_fetch_stream(&req, &cb, &status, d);
    }
    if (rc == 0)
        rc = read_answer(r, status, &ans, out, d);
    if (rc != 0)
        wdn_oauth2_registration_reset(out);
    if (ans.data != NULL)
        OPENSSL_cleanse(ans.data, ans.cap);
    wdn_buf_reset(&ans);
    free(text);
    return rc;
}

void wdn_oauth2_registration_reset(struct wdn_oauth2_registration *reg)
{
    free(reg->client_id);
    if (reg->client_secret != NULL) {
        OPENSSL_cleanse(reg->client_secret, strlen(reg->client_secret));
        free(reg->client_secret);
    }
    memset(reg, 0, sizeof(*reg));
}
