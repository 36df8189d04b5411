/* What a person does between the authorization request and the code: sign in (a form with
 * user name, password and the session's CSRF token; throttled per user and per address; the
 * session id renewed on success), consent (remembered per user, client, resource and scopes),
 * sign out. Every form must carry the CSRF token of the session that showed it and, when the
 * browser sends an Origin, come from the issuer's own origin. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "oauth2/form.h"

/* The form the request carries, checked for its origin. 0, or WDN__AS_DONE with a page. */
static int read_form(struct wdn_issuer *iss, const struct wdn_issuer_request *req,
                     struct wdn_form *f, struct wdn_issuer_response *resp)
{
    const char *msg = NULL;
    int status = 400;

    if (req->origin.len > 0 && !wdn_str_eq_cstr(req->origin, iss->origin)) {
        status = 403;
        msg = "This form was sent from another site.";
    } else if (req->body_too_large) {
        status = 413;
        msg = "The form is too large.";
    } else if (!wdn__as_media_type_is(req->content_type, "application/x-www-form-urlencoded") ||
               wdn_form_decode(req->body, f) != 0) {
        msg = "The form is malformed.";
    }
    if (msg == NULL)
        return 0;
    resp->error = "invalid_request";
    return wdn__as_done(wdn__as_page_message(iss, status,
                                             &(struct wdn__as_page){.title = "Something went wrong",
                                                                    .message = msg,
                                                                    .message_is_error = true},
                                             resp));
}

/* The session of the request and its CSRF token checked against the form's. With mutex.
 * 0, or WDN__AS_DONE with a 403 page. */
static int check_csrf(struct wdn_issuer *iss, const struct wdn_issuer_request *req,
                      const struct wdn_form *f, int64_t now, struct wdn__as_session_view *s,
                      struct wdn_issuer_response *resp)
{
    const char *token = wdn_form_get(f, "csrf");

    wdn__as_session_find(iss, req->cookie, now, s);
    if (s->found && token != NULL && wdn_ct_equal(token, strlen(token), s->csrf, strlen(s->csrf)))
        return 0;
    resp->error = "csrf";
    return wdn__as_done(wdn__as_page_message(
        iss, 403,
        &(struct wdn__as_page){.title = "This form has expired",
                               .message = "The form was not sent by the page this server showed "
                                          "in this browser, or your session ended. Start again "
                                          "from the application.",
                               .message_is_error = true},
        resp));
}

static int expired(struct wdn_issuer *iss, struct wdn_issuer_response *resp)
{
    resp->error = "expired";
    return wdn__as_page_message(
        iss, 400,
        &(struct wdn__as_page){.title = "This sign-in has expired",
                               .message = "The request this page belonged to is no longer "
                                          "waiting. Start again from the application.",
                               .message_is_error = true},
        resp);
}

static void page_origin(const struct wdn__as_authz *a, char *out, size_t cap)
{
    if (wdn__as_uri_origin(a->redirect_uri, out, cap) != 0)
        out[0] = '\0';
}

int wdn__as_proceed(struct wdn_issuer *iss, const struct wdn__as_authz *a,
                    const struct wdn__as_session_view *s, const char *rid, int64_t now, int status,
                    struct wdn_issuer_response *resp)
{
    char origin[WDN_ISSUER_MAX_URI_BYTES], code[WDN__AS_RANDOM_CHARS + 1];
    struct wdn__as_authz gone;
    struct wdn__as_page p = {
        .csrf = s->csrf, .rid = rid, .user = s->user, .authz = a, .form_action_origin = origin};
    int rc;

    page_origin(a, origin, sizeof(origin));
    wdn_fmt(resp->user, sizeof(resp->user), "%s", s->user);
    if (s->user[0] == '\0' || a->prompt_login) {
        if (a->prompt_none)
            goto redirect_error;
        p.title = "Sign in";
        p.user = "";
        return wdn__as_page_signin(iss, 200, &p, resp);
    }
    if (!a->prompt_consent &&
        wdn__as_consent_has(iss, s->user, a->client_id, a->resource, a->scope)) {
        wdn__as_pending_get(iss, rid, s->hash, now, true, &gone);
        wdn__as_authz_reset(&gone);
        rc = wdn__as_code_issue(iss, a, s->user, now, code, sizeof(code));
        if (rc == 0)
            rc = wdn__as_authz_redirect(iss, a, code, NULL, NULL, status, resp);
        OPENSSL_cleanse(code, sizeof(code));
        return rc;
    }
    if (a->prompt_none)
        goto redirect_error;
    p.title = "Allow access?";
    return wdn__as_page_consent(iss, &p, resp);
redirect_error:
    wdn__as_pending_get(iss, rid, s->hash, now, true, &gone);
    wdn__as_authz_reset(&gone);
    return wdn__as_authz_redirect(iss, a, NULL, s->user[0] ? "consent_required" : "login_required",
                                  s->user[0] ? "the user has not consented to this client"
                                             : "nobody is signed in",
                                  status, resp);
}

/* A failed or throttled sign-in shows the form again with a message. With mutex. */
static int signin_again(struct wdn_issuer *iss, const struct wdn__as_authz *a,
                        const struct wdn__as_session_view *s, const char *rid, const char *user,
                        int status, const char *msg, struct wdn_issuer_response *resp)
{
    char origin[WDN_ISSUER_MAX_URI_BYTES];

    page_origin(a, origin, sizeof(origin));
    return wdn__as_page_signin(iss, status,
                               &(struct wdn__as_page){.title = "Sign in",
                                                      .message = msg,
                                                      .message_is_error = true,
                                                      .csrf = s->csrf,
                                                      .rid = rid,
                                                      .user = user,
                                                      .authz = a,
                                                      .form_action_origin = origin},
                               resp);
}

int wdn__as_signin(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                   struct wdn_issuer_response *resp)
{
    struct wdn_form f = {0};
    struct wdn__as_session_view s, fresh;
    struct wdn__as_authz a = {0};
    const char *rid, *user, *password, *peer = req->peer ? req->peer : "-";
    char msg[160];
    int64_t wait = 0;
    bool ok = false, locked = false;
    int rc = read_form(iss, req, &f, resp);

    if (rc != 0)
        goto out;
    rid = wdn_form_get(&f, "rid");
    user = wdn_form_get(&f, "username");
    password = wdn_form_get(&f, "password");
    pthread_mutex_lock(&iss->mu);
    locked = true;
    rc = check_csrf(iss, req, &f, now, &s, resp);
    if (rc != 0)
        goto out;
    if (wdn__as_pending_get(iss, rid, s.hash, now, false, &a) != 0) {
        rc = expired(iss, resp);
        goto out;
    }
    wdn_fmt(resp->client_id, sizeof(resp->client_id), "%s", a.client_id);
    if (user == NULL || password == NULL || !wdn__as_user_name_ok(user) ||
        strlen(password) > WDN_ISSUER_MAX_PASSWORD_BYTES) {
        resp->error = "bad_form";
        rc = signin_again(iss, &a, &s, rid, "", 400, "Enter your user name and password.", resp);
        goto out;
    }
    wdn_fmt(resp->user, sizeof(resp->user), "%s", user);
    if (!wdn__as_throttle_allows(iss, user, peer, now, &wait)) {
        resp->error = "throttled";
        wdn_fmt(msg, sizeof(msg),
                "Too many failed sign-ins. Wait %lld seconds before you try again.",
                (long long)wait);
        rc = signin_again(iss, &a, &s, rid, user, 429, msg, resp);
        if (rc == 0) {
            wdn_fmt(msg, sizeof(msg), "%lld", (long long)wait);
            rc = wdn__as_add_header(resp, "Retry-After", msg);
        }
        goto out;
    }
    pthread_mutex_unlock(&iss->mu);
    locked = false;
    rc = wdn__as_password_check(iss, user, password, &ok);
    if (rc != 0)
        goto out;
    pthread_mutex_lock(&iss->mu);
    locked = true;
    wdn__as_throttle_record(iss, user, peer, now, ok);
    if (!ok) {
        resp->error = "access_denied";
        rc = signin_again(iss, &a, &s, rid, user, 401, "Wrong user name or password.", resp);
        goto out;
    }
    /* A new session id at sign-in: an id planted before (session fixation) is worth nothing. */
    wdn__as_session_end(iss, s.hash);
    rc = wdn__as_session_start(iss, user, now, &fresh, resp);
    if (rc != 0)
        goto out;
    wdn__as_pending_rebind(iss, s.hash, fresh.hash);
    a.prompt_login = false;
    rc = wdn__as_proceed(iss, &a, &fresh, rid, now, 303, resp);
    OPENSSL_cleanse(&fresh, sizeof(fresh));
out:
    if (locked)
        pthread_mutex_unlock(&iss->mu);
    wdn__as_authz_reset(&a);
    wdn__as_form_wipe(&f);
    OPENSSL_cleanse(&s, sizeof(s));
    return rc == WDN__AS_DONE ? 0 : rc;
}

int wdn__as_consent(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                    struct wdn_issuer_response *resp)
{
    struct wdn_form f = {0};
    struct wdn__as_session_view s;
    struct wdn__as_authz a = {0};
    char code[WDN__AS_RANDOM_CHARS + 1];
    const char *decision;
    int rc = read_form(iss, req, &f, resp);

    if (rc != 0)
        goto done;
    decision = wdn_form_get(&f, "decision");
    pthread_mutex_lock(&iss->mu);
    rc = check_csrf(iss, req, &f, now, &s, resp);
    if (rc != 0)
        goto out;
    if (s.user[0] == '\0' ||
        wdn__as_pending_get(iss, wdn_form_get(&f, "rid"), s.hash, now, true, &a) != 0) {
        rc = expired(iss, resp);
        goto out;
    }
    wdn_fmt(resp->user, sizeof(resp->user), "%s", s.user);
    if (decision == NULL || strcmp(decision, "allow") != 0) {
        rc = wdn__as_authz_redirect(iss, &a, NULL, "access_denied", "the user did not allow access",
                                    303, resp);
        goto out;
    }
    rc = wdn__as_consent_put(iss, s.user, a.client_id, a.resource, a.scope, now);
    if (rc == 0)
        rc = wdn__as_code_issue(iss, &a, s.user, now, code, sizeof(code));
    if (rc == 0)
        rc = wdn__as_authz_redirect(iss, &a, code, NULL, NULL, 303, resp);
    OPENSSL_cleanse(code, sizeof(code));
out:
    pthread_mutex_unlock(&iss->mu);
done:
    wdn__as_authz_reset(&a);
    wdn__as_form_wipe(&f);
    OPENSSL_cleanse(&s, sizeof(s));
    return rc == WDN__AS_DONE ? 0 : rc;
}

int wdn__as_signout(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                    struct wdn_issuer_response *resp)
{
    struct wdn_form f = {0};
    struct wdn__as_session_view s, fresh;
    struct wdn__as_authz a = {0};
    const char *rid;
    int rc = read_form(iss, req, &f, resp);

    if (rc != 0)
        goto done;
    rid = wdn_form_get(&f, "rid");
    pthread_mutex_lock(&iss->mu);
    rc = check_csrf(iss, req, &f, now, &s, resp);
    if (rc != 0)
        goto out;
    /* Signed out in the middle of a sign-in: the request stays, for someone else to sign in. */
    if (rid != NULL && wdn__as_pending_get(iss, rid, s.hash, now, false, &a) == 0) {
        wdn__as_session_end(iss, s.hash);
        rc = wdn__as_session_start(iss, "", now, &fresh, resp);
        if (rc == 0) {
            wdn__as_pending_rebind(iss, s.hash, fresh.hash);
            rc = wdn__as_proceed(iss, &a, &fresh, rid, now, 303, resp);
        }
        goto out;
    }
    wdn__as_session_end(iss, s.hash);
    rc = wdn__as_session_clear_cookie(iss, resp);
    if (rc == 0)
        rc = wdn__as_page_message(
            iss, 200,
            &(struct wdn__as_page){.title = "Signed out", .message = "You are signed out."}, resp);
out:
    pthread_mutex_unlock(&iss->mu);
done:
    wdn__as_authz_reset(&a);
    wdn__as_form_wipe(&f);
    return rc == WDN__AS_DONE ? 0 : rc;
}
