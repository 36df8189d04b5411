/* application/x-www-form-urlencoded: encoding for token requests, strict decoding for the
 * issuer's token endpoint, and HTTP Basic credentials as RFC 6749 section 2.3.1 wants them. */
#ifndef WDN_OAUTH2_FORM_H
#define WDN_OAUTH2_FORM_H

#include <stddef.h>

#include "base/buf.h"
#include "base/str.h"

/** Appends s percent-encoded (unreserved bytes kept, space as %20) to out. */
int wdn_form_encode(struct wdn_buf *out, struct wdn_str s);

/** Appends "name=value" (both encoded), preceded by '&' when out is not empty. */
int wdn_form_add(struct wdn_buf *out, const char *name, const char *value);

/** One decoded field; name and value are NUL-terminated and owned by the form. */
struct wdn_form_field {
    char *name;
    char *value;
};

#define WDN_FORM_MAX_FIELDS 32

/** A decoded form. Caller-allocated; wdn_form_reset frees what decoding allocated. */
struct wdn_form {
    size_t n;
    struct wdn_form_field fields[WDN_FORM_MAX_FIELDS];
};

/**
 * Decodes body into form. '+' is a space; %XX must be two hex digits; a decoded NUL, a field
 * without '=', an empty name, a repeated name (RFC 6749 3.2: parameters must not repeat) and
 * more than WDN_FORM_MAX_FIELDS fields are errors. Returns 0, WDN_EPARSE, WDN_ELIMIT or
 * WDN_ENOMEM; on error the form is left empty.
 */
int wdn_form_decode(struct wdn_str body, struct wdn_form *form);

/** The value of field name, or NULL. Borrowed from form. */
const char *wdn_form_get(const struct wdn_form *form, const char *name);

/** Frees every field. */
void wdn_form_reset(struct wdn_form *form);

/**
 * Percent-decodes s (no '+' rule) into a malloc'd NUL-terminated string; NULL when malformed
 * or when it decodes to a NUL byte.
 */
char *wdn_form_percent_decode(struct wdn_str s, int plus_is_space);

/**
 * The value of an Authorization header for HTTP Basic with RFC 6749 2.3.1 encoding (client id
 * and secret each form-encoded, then base64 of "id:secret"): "Basic <b64>" into out.
 */
int wdn_form_basic_auth(struct wdn_buf *out, const char *client_id, const char *client_secret);

#endif
