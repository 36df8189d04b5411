/* A strict reader for WWW-Authenticate. The header comes from servers we do not control, so
 * every step is bounded by the header's length and malformed input is an error, never a guess.
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string ) */
#include "oauth2/challenge.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

struct cursor {
    const char *p, *end;
};

static void skip_ows(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static struct wdn_str take_token(struct cursor *c)
{
    struct wdn_str t = {c->p, 0};
    while (c->p < c->end && is_tchar((unsigned char)*c->p))
        c->p++;
    t.len = (size_t)(c->p - t.p);
    return t;
}

/* Reads a quoted-string at c (opening quote included) into out when out is not NULL. */
static int take_quoted(struct cursor *c, char *out, size_t cap, size_t *outlen)
{
    size_t n = 0;

    c->p++; /* opening quote */
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '\\') {
            if (++c->p == c->end)
                return WDN_EPARSE;
            ch = (unsigned char)*c->p;
        }
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return WDN_EPARSE;
        if (out) {
            if (n + 1 >= cap)
                return WDN_ELIMIT;
            out[n] = (char)ch;
        }
        n++;
        c->p++;
    }
    if (c->p == c->end)
        return WDN_EPARSE;
    c->p++; /* closing quote */
    if (outlen)
        *outlen = n;
    return 0;
}

static int is_t68char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

/* After an auth-scheme: skips a token68 credential if one stands there. A token68 is followed
 * by optional '=' padding and then a comma or the end; an auth-param has a value after '='. */
static void skip_token68(struct cursor *c)
{
    struct cursor t = *c;
    if (t.p == t.end || !is_t68char((unsigned char)*t.p))
        return;
    while (t.p < t.end && is_t68char((unsigned char)*t.p))
        t.p++;
    while (t.p < t.end && *t.p == '=')
        t.p++;
    skip_ows(&t);
    if (t.p == t.end || *t.p == ',')
        *c = t;
}

/* The walk behind both entry points: with param NULL it only says whether a challenge of
 * scheme is there (0) or not (WDN_ENOTFOUND), after checking the syntax up to it. */
static int find(struct wdn_str header, const char *scheme, const char *param, char *out, size_t cap)
{
    struct cursor c = {header.p, header.p + header.len};
    int in_wanted = 0, rc;

    if (cap == 0)
        return WDN_ELIMIT;
    for (;;) {
        skip_ows(&c);
        while (c.p < c.end && (*c.p == ',' || *c.p == ' ' || *c.p == '\t'))
            c.p++;
        if (c.p == c.end)
            break;
        struct wdn_str name = take_token(&c);
        if (name.len == 0)
            return WDN_EPARSE;
        skip_ows(&c);
        if (c.p < c.end && *c.p == '=') {
            /* auth-param = token BWS "=" BWS ( token / quoted-string ) */
            int want = in_wanted && param != NULL && wdn_str_eq_case_cstr(name, param);
            c.p++;
            skip_ows(&c);
            if (c.p < c.end && *c.p == '"') {
                size_t n = 0;
                rc = take_quoted(&c, want ? out : NULL, cap, &n);
                if (rc)
                    return rc;
                if (want) {
                    out[n] = '\0';
                    return 0;
                }
            } else {
                struct wdn_str v = take_token(&c);
                if (v.len == 0)
                    return WDN_EPARSE;
                if (want) {
                    if (v.len + 1 > cap)
                        return WDN_ELIMIT;
                    memcpy(out, v.p, v.len);
                    out[v.len] = '\0';
                    return 0;
                }
            }
            skip_ows(&c);
            if (c.p < c.end && *c.p != ',')
                return WDN_EPARSE;
            continue;
        }
        /* A token without '=' is an auth-scheme: a new challenge starts. */
        if (in_wanted)
            return WDN_ENOTFOUND;
        in_wanted = wdn_str_eq_case_cstr(name, scheme);
        if (in_wanted && param == NULL)
            return 0;
        skip_token68(&c);
        if (c.p < c.end && *c.p != ',' && !is_tchar((unsigned char)*c.p))
            return WDN_EPARSE;
    }
    return WDN_ENOTFOUND;
}

int wdn_challenge_param(struct wdn_str header, const char *scheme, const char *param, char *out,
                        size_t cap)
{
    if (param == NULL)
        return WDN_EINVAL;
    return find(header, scheme, param, out, cap);
}

/* One parameter into a fixed field: absent is fine, malformed or oversized is not. */
static int read_field(struct wdn_str header, const char *scheme, const char *param, char *out,
                      size_t cap)
{
    int rc = find(header, scheme, param, out, cap);

    if (rc == WDN_ENOTFOUND) {
        out[0] = '\0';
        return 0;
    }
    return rc;
}

int wdn_challenge_read(struct wdn_str header, struct wdn_challenge *ch)
{
    static const char *const schemes[] = {"Bearer", "DPoP"};
    size_t i;
    int rc = WDN_ENOTFOUND;

    memset(ch, 0, sizeof(*ch));
    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        char probe[1];
        rc = find(header, schemes[i], NULL, probe, sizeof(probe));
        if (rc == WDN_ENOTFOUND)
            continue;
        if (rc != 0)
            return rc;
        snprintf(ch->scheme, sizeof(ch->scheme), "%s", schemes[i]);
        if ((rc = read_field(header, schemes[i], "error", ch->error, sizeof(ch->error))) != 0 ||
            (rc = read_field(header, schemes[i], "error_description", ch->error_description,
                             sizeof(ch->error_description))) != 0 ||
            (rc = read_field(header, schemes[i], "scope", ch->scope, sizeof(ch->scope))) != 0 ||
            (rc = read_field(header, schemes[i], "resource_metadata", ch->resource_metadata,
                             sizeof(ch->resource_metadata))) != 0) {
            memset(ch, 0, sizeof(*ch));
            return rc;
        }
        return 0;
    }
    return rc;
}
