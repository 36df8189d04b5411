/* Fuzz target: the response-head parser. The first byte picks the request method the response
 * answers; the rest is the response. Checks slices, framing rules and prefix consistency. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "http/parser.h"
#include "fuzz.h"

static void check_slice(struct wdn_str s, const char *buf, size_t len)
{
    if (s.len)
        CHECK(s.p >= buf && s.p + s.len <= buf + len);
}

static void check_result(int rc, const struct wdn_http_response *r, struct wdn_str method,
                         const char *buf, size_t len, size_t head_len)
{
    switch (rc) {
    case 0:
        CHECK(head_len >= 4 && head_len <= len);
        CHECK(memcmp(buf + head_len - 4, "\r\n\r\n", 4) == 0);
        CHECK(r->status >= 100 && r->status <= 999);
        CHECK(r->version_minor == 0 || r->version_minor == 1);
        check_slice(r->reason, buf, head_len);
        CHECK(r->nheaders <= WDN_HTTP_MAX_HEADERS);
        for (size_t i = 0; i < r->nheaders; i++) {
            CHECK(r->headers[i].name.len > 0);
            check_slice(r->headers[i].name, buf, head_len);
            check_slice(r->headers[i].value, buf, head_len);
        }
        if (r->body != WDN_HTTP_BODY_LENGTH)
            CHECK(r->content_length == 0);
        if (r->body == WDN_HTTP_BODY_UNTIL_CLOSE)
            CHECK(!r->keep_alive);
        if (r->status < 200 || r->status == 204 || r->status == 304 ||
            wdn_str_eq(method, WDN_STR("HEAD")))
            CHECK(r->body == WDN_HTTP_BODY_NONE);
        break;
    case WDN_EAGAIN:
        CHECK(head_len == 0 && len < WDN_HTTP_MAX_HEAD_BYTES);
        break;
    case WDN_EPARSE:
    case WDN_ELIMIT:
        CHECK(r->error_reason != NULL && head_len == 0);
        break;
    default:
        CHECK(0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD", "CONNECT", "POST"};
    static struct wdn_http_response r;
    struct wdn_str method;
    const char *buf;
    size_t head_len = 1, k;
    int rc, prc;
    char *copy;

    if (size < 1)
        return 0;
    method = wdn_str_from_cstr(methods[data[0] & 3]);
    buf = (const char *)data + 1;
    size--;
    rc = wdn_http_parse_response(buf, size, method, &r, &head_len);
    check_result(rc, &r, method, buf, size, head_len);

    k = size ? (size_t)(data[0] >> 2) * size / 64 : 0;
    copy = malloc(k ? k : 1);
    CHECK(copy != NULL);
    memcpy(copy, buf, k);
    {
        size_t plen = 1;
        prc = wdn_http_parse_response(copy, k, method, &r, &plen);
        check_result(prc, &r, method, copy, k, plen);
        if (prc != WDN_EAGAIN) {
            CHECK(prc == rc);
            if (prc == 0)
                CHECK(plen == head_len);
        } else if (rc == 0) {
            CHECK(head_len > k);
        }
    }
    free(copy);
    return 0;
}
