/* The pre-verification "iss" scanner (peek.h). A recursive-descent reader over the bytes with
 * an explicit depth bound; it never builds anything, and copies only the one string it wants. */
#include "oidc/peek.h"

#include <stdbool.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "base/base64.h"

struct scan {
    const char *p, *end;
};

static void ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Reads a string at s->p (which is at the opening quote). With out non-NULL, decodes it into
 * out (cap bytes, room for a NUL kept) and sets *outlen. A string too long for out, or holding
 * a \u escape this reader does not decode (anything but printable ASCII), sets *odd and keeps
 * scanning: such a key cannot be "iss", and such an "iss" value is refused by the caller. */
static int string(struct scan *s, char *out, size_t cap, size_t *outlen, bool *odd)
{
    size_t n = 0;

    if (s->p >= s->end || *s->p != '"')
        return WDN_EPARSE;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p++;
        char dec;
        if (c == '"') {
            if (out) {
                out[n < cap ? n : cap - 1] = '\0';
                *outlen = n;
            }
            return 0;
        }
        if (c < 0x20)
            return WDN_EPARSE;
        if (c != '\\') {
            dec = (char)c;
        } else {
            if (s->p >= s->end)
                return WDN_EPARSE;
            c = (unsigned char)*s->p++;
            switch (c) {
            case '"':
            case '\\':
            case '/':
                dec = (char)c;
                break;
            case 'b':
                dec = '\b';
                break;
            case 'f':
                dec = '\f';
                break;
            case 'n':
                dec = '\n';
                break;
            case 'r':
                dec = '\r';
                break;
            case 't':
                dec = '\t';
                break;
            case 'u': {
                int v = 0;
                if (s->end - s->p < 4)
                    return WDN_EPARSE;
                for (int i = 0; i < 4; i++) {
                    int h = wdn_hex_value((unsigned char)s->p[i]);
                    if (h < 0)
                        return WDN_EPARSE;
                    v = v * 16 + h;
                }
                s->p += 4;
                /* Decoded only for printable ASCII; elsewhere (surrogates, other planes) the
                 * reader would have to agree with jansson's UTF-8 encoding: it does not try. */
                if (v < 0x20 || v > 0x7e)
                    *odd = true;
                dec = (char)v;
                break;
            }
            default:
                return WDN_EPARSE;
            }
        }
        if (out) {
            if (n + 1 < cap)
                out[n] = dec;
            else
                *odd = true;
            n++;
        }
    }
    return WDN_EPARSE;
}

static int value(struct scan *s, int depth);

/* A number or a literal: the bytes that may form one, at least one of them. */
static int scalar(struct scan *s)
{
    static const char *const lits[] = {"true", "false", "null"};
    const char *start = s->p;

    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(lits[i]);
        if ((size_t)(s->end - s->p) >= l && memcmp(s->p, lits[i], l) == 0) {
            s->p += l;
            return 0;
        }
    }
    while (s->p < s->end && strchr("0123456789+-.eE", *s->p) != NULL && *s->p != '\0')
        s->p++;
    return s->p > start ? 0 : WDN_EPARSE;
}

static int array(struct scan *s, int depth)
{
    int rc;

    s->p++; /* '[' */
    ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        if ((rc = value(s, depth + 1)) != 0)
            return rc;
        ws(s);
        if (s->p >= s->end)
            return WDN_EPARSE;
        if (*s->p == ']') {
            s->p++;
            return 0;
        }
        if (*s->p != ',')
            return WDN_EPARSE;
        s->p++;
        ws(s);
    }
}

/* An object. At depth 1 (the payload itself) the "iss" member is copied into iss. */
static int object(struct scan *s, int depth, char *iss, size_t cap, size_t *len, int *found,
                  bool *odd)
{
    int rc;

    s->p++; /* '{' */
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        char key[8];
        size_t klen = 0;
        bool key_odd = false;
        if ((rc = string(s, key, sizeof(key), &klen, &key_odd)) != 0)
            return rc;
        ws(s);
        if (s->p >= s->end || *s->p != ':')
            return WDN_EPARSE;
        s->p++;
        ws(s);
        if (depth == 1 && !key_odd && klen == 3 && memcmp(key, "iss", 3) == 0) {
            if (++*found > 1)
                return WDN_EPARSE; /* duplicate: jansson refuses, and so do we */
            if (s->p >= s->end || *s->p != '"')
                return WDN_EPARSE;
            if ((rc = string(s, iss, cap, len, odd)) != 0)
                return rc;
        } else if ((rc = value(s, depth + 1)) != 0) {
            return rc;
        }
        ws(s);
        if (s->p >= s->end)
            return WDN_EPARSE;
        if (*s->p == '}') {
            s->p++;
            return 0;
        }
        if (*s->p != ',')
            return WDN_EPARSE;
        s->p++;
        ws(s);
    }
}

static int value(struct scan *s, int depth)
{
    int found = 0;
    bool odd = false;

    if (depth > WDN_JSON_MAX_DEPTH)
        return WDN_EPARSE;
    ws(s);
    if (s->p >= s->end)
        return WDN_EPARSE;
    switch (*s->p) {
    case '{':
        return object(s, depth, NULL, 0, NULL, &found, &odd);
    case '[':
        return array(s, depth);
    case '"':
        return string(s, NULL, 0, NULL, &odd);
    default:
        return scalar(s);
    }
}

int wdn_oidc_scan_iss(const char *json, size_t n, char *buf, size_t cap, size_t *len)
{
    struct scan s = {json, json + n};
    bool odd = false;
    int found = 0, rc;

    if (cap == 0)
        return WDN_ELIMIT;
    buf[0] = '\0';
    *len = 0;
    ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return WDN_EPARSE;
    rc = object(&s, 1, buf, cap, len, &found, &odd);
    if (rc != 0)
        return rc;
    ws(&s);
    if (s.p != s.end)
        return WDN_EPARSE;
    if (found == 0)
        return WDN_ENOTFOUND;
    if (odd)
        return *len + 1 > cap ? WDN_ELIMIT : WDN_EPARSE;
    return 0;
}

int wdn_oidc_peek_issuer(struct wdn_str token, char *buf, size_t cap, size_t *len)
{
    unsigned char payload[WDN_JWT_MAX_TOKEN_BYTES / 4 * 3 + 3];
    long d1, d2;
    struct wdn_str rest, part;
    size_t plen = 0;

    if (token.len > WDN_JWT_MAX_TOKEN_BYTES || (d1 = wdn_str_index(token, '.')) < 0)
        return WDN_EPARSE;
    rest = (struct wdn_str){token.p + d1 + 1, token.len - (size_t)d1 - 1};
    if ((d2 = wdn_str_index(rest, '.')) < 0)
        return WDN_EPARSE;
    part = (struct wdn_str){rest.p, (size_t)d2};
    rest.p += d2 + 1;
    rest.len -= (size_t)d2 + 1;
    if (d1 == 0 || part.len == 0 || wdn_str_index(rest, '.') >= 0)
        return WDN_EPARSE;
    if (wdn_b64url_decode(part, payload, sizeof(payload), &plen) != 0)
        return WDN_EPARSE;
    return wdn_oidc_scan_iss((const char *)payload, plen, buf, cap, len);
}
