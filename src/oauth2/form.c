/* Form encoding and decoding. The decoder reads untrusted bodies at the issuer's token endpoint,
 * so it is strict and bounded (and fuzzed: fuzz/fuzz_oauth2_form.c). */
#include "oauth2/form.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/base64.h"
#include "base/error.h"
#include "base/str.h"

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int wdn_form_encode(struct wdn_buf *out, struct wdn_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    for (size_t i = 0; i < s.len && rc == 0; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (is_unreserved(c)) {
            rc = wdn_buf_append(out, &s.p[i], 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = wdn_buf_append(out, esc, 3);
        }
    }
    return rc;
}

int wdn_form_add(struct wdn_buf *out, const char *name, const char *value)
{
    int rc = 0;

    if (out->len > 0)
        rc = wdn_buf_append(out, "&", 1);
    if (rc == 0)
        rc = wdn_form_encode(out, wdn_str_from_cstr(name));
    if (rc == 0)
        rc = wdn_buf_append(out, "=", 1);
    if (rc == 0)
        rc = wdn_form_encode(out, wdn_str_from_cstr(value));
    return rc;
}

char *wdn_form_percent_decode(struct wdn_str s, int plus_is_space)
{
    char *out = malloc(s.len + 1);
    size_t o = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= s.len)
                goto bad;
            hi = wdn_hex_value((unsigned char)s.p[i + 1]);
            lo = wdn_hex_value((unsigned char)s.p[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                goto bad;
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

int wdn_form_decode(struct wdn_str body, struct wdn_form *form)
{
    size_t start = 0;
    int rc = 0;

    memset(form, 0, sizeof(*form));
    while (start <= body.len && body.len > 0) {
        size_t end = start;
        while (end < body.len && body.p[end] != '&')
            end++;
        struct wdn_str field = {body.p + start, end - start};
        long eq = wdn_str_index(field, '=');
        if (field.len == 0 || eq <= 0) {
            rc = WDN_EPARSE; /* "a&&b", "&", "novalue" or "=x" */
            goto out;
        }
        if (form->n == WDN_FORM_MAX_FIELDS) {
            rc = WDN_ELIMIT;
            goto out;
        }
        struct wdn_str name = {field.p, (size_t)eq};
        struct wdn_str value = {field.p + eq + 1, field.len - (size_t)eq - 1};
        char *n = wdn_form_percent_decode(name, 1);
        char *v = n ? wdn_form_percent_decode(value, 1) : NULL;
        if (n == NULL || v == NULL) {
            free(n);
            rc = WDN_EPARSE;
            goto out;
        }
        if (n[0] == '\0' || wdn_form_get(form, n) != NULL) {
            free(n);
            free(v);
            rc = WDN_EPARSE;
            goto out;
        }
        form->fields[form->n].name = n;
        form->fields[form->n].value = v;
        form->n++;
        if (end == body.len)
            break;
        start = end + 1;
        if (start == body.len) {
            rc = WDN_EPARSE; /* trailing '&' */
            goto out;
        }
    }
out:
    if (rc)
        wdn_form_reset(form);
    return rc;
}

const char *wdn_form_get(const struct wdn_form *form, const char *name)
{
    for (size_t i = 0; i < form->n; i++) {
        if (strcmp(form->fields[i].name, name) == 0)
            return form->fields[i].value;
    }
    return NULL;
}

void wdn_form_reset(struct wdn_form *form)
{
    for (size_t i = 0; i < form->n; i++) {
        free(form->fields[i].name);
        free(form->fields[i].value);
    }
    form->n = 0;
}

int wdn_form_basic_auth(struct wdn_buf *out, const char *client_id, const char *client_secret)
{
    struct wdn_buf raw;
    char *b64 = NULL;
    size_t b64len;
    int rc;

    wdn_buf_init(&raw, 8192);
    rc = wdn_form_encode(&raw, wdn_str_from_cstr(client_id));
    if (rc == 0)
        rc = wdn_buf_append(&raw, ":", 1);
    if (rc == 0)
        rc = wdn_form_encode(&raw, wdn_str_from_cstr(client_secret));
    if (rc)
        goto out;
    b64len = wdn_b64std_encoded_len(raw.len) + 1;
    b64 = malloc(b64len);
    if (b64 == NULL) {
        rc = WDN_ENOMEM;
        goto out;
    }
    rc = wdn_b64std_encode(raw.data, raw.len, b64, b64len, &b64len);
    if (rc == 0)
        rc = wdn_buf_printf(out, "Basic %s", b64);
out:
    if (raw.data)
        OPENSSL_cleanse(raw.data, raw.len);
    wdn_buf_reset(&raw);
    if (b64)
        OPENSSL_cleanse(b64, b64len);
    free(b64);
    return rc;
}
