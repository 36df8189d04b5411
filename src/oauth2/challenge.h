/* WWW-Authenticate challenges (RFC 9110 section 11.6.1): reading the parameters of a Bearer
 * challenge from a 401, such as RFC 9728's resource_metadata and RFC 6750's error. */
#ifndef WDN_OAUTH2_CHALLENGE_H
#define WDN_OAUTH2_CHALLENGE_H

#include <stddef.h>

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

#endif
