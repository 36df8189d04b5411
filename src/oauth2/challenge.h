/* WWW-Authenticate challenges (RFC 9110 section 11.6.1): reading the parameters of a Bearer
 * challenge from a 401, such as RFC 9728's resource_metadata and RFC 6750's error. */
#ifndef WDN_OAUTH2_CHALLENGE_H
#define WDN_OAUTH2_CHALLENGE_H

#include <stddef.h>

#include "base/limits.h"
#include "base/str.h"

/**
 * Finds the auth-param `param` of the first challenge with scheme `scheme` (case-insensitive)
 * in a WWW-Authenticate value, which may hold several challenges. The value (unquoted and
 * unescaped when it was a quoted-string) is written NUL-terminated to out. Returns 0,
 * WDN_ENOTFOUND (no such challenge or parameter), WDN_EPARSE (malformed header) or
 * WDN_ELIMIT (value longer than cap - 1).
 */
int wdn_challenge_param(struct wdn_str header, const char *scheme, const char *param, char *out,
                        size_t cap);

/** The parameters of a Bearer (or DPoP, RFC 9449) challenge an OAuth client acts on. */
struct wdn_challenge {
    char scheme[8]; /* "Bearer" or "DPoP" */
    char error[64]; /* RFC 6750: invalid_token, insufficient_scope, ...; "" none */
    char error_description[256];
    char scope[WDN_OAUTH2_MAX_SCOPE];           /* scopes the resource wants, "" none */
    char resource_metadata[WDN_OAUTH2_MAX_URL]; /* RFC 9728 metadata URL, "" none */
};

/**
 * Reads the first Bearer challenge of a WWW-Authenticate value, else the first DPoP one, into
 * ch (absent parameters are ""). 0, WDN_ENOTFOUND (neither scheme), WDN_EPARSE (malformed) or
 * WDN_ELIMIT (a parameter longer than its field); ch is zeroed on failure.
 */
int wdn_challenge_read(struct wdn_str header, struct wdn_challenge *ch);

#endif
