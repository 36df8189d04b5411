/* Fuzz target: the request-head parser. Checks that every slice stays inside the head, that the
 * verdict is one of the documented ones, and that a prefix never disagrees with the whole. */
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

static void check_result(int rc, const struct wdn_http_request *r, const char *buf, size_t len,
                         size_t head_len)
{
    switch (rc) {
    case 0:
        CHECK(head_len >= 4 && head_len <= len);
        CHECK(memcmp(buf + head_len - 4, "\r\n\r\n", 4) == 0);
        CHECK(r->error_status == 0);
        CHECK(r->version_minor == 0 || r->version_minor == 1);
        CHECK(r->method.len > 0 && r->method.len <= WDN_HTTP_MAX_METHOD_BYTES);
        CHECK(r->target.len > 0);
        check_slice(r->method, buf, head_len);
        check_slice(r->target, buf, head_len);
        check_slice(r->path, buf, head_len);
        check_slice(r->query, buf, head_len);
        check_slice(r->host, buf, head_len);
        CHECK(r->path.len + r->query.len <= r->target.len);
        CHECK(r->nheaders <= WDN_HTTP_MAX_HEADERS);
        for (size_t i = 0; i < r->nheaders; i++) {
            CHECK(r->headers[i].name.len > 0);
            check_slice(r->headers[i].name, buf, head_len);
            check_slice(r->headers[i].value, buf, head_len);
        }
        if (r->version_minor == 1)
            CHECK(r->host.len > 0);
        CHECK(r->body == WDN_HTTP_BODY_NONE || r->body == WDN_HTTP_BODY_LENGTH ||
              r->body == WDN_HTTP_BODY_CHUNKED);
        if (r->body != WDN_HTTP_BODY_LENGTH)
            CHECK(r->content_length == 0);
        CHECK(r->content_length <= INT64_MAX);
        if (r->body == WDN_HTTP_BODY_CHUNKED)
            CHECK(r->version_minor == 1);
        break;
    case WDN_EAGAIN:
        CHECK(head_len == 0);
        CHECK(len < WDN_HTTP_MAX_HEAD_BYTES);
        break;
    case WDN_EPARSE:
        CHECK(r->error_status == 400 || r->error_status == 501 || r->error_status == 505);
        CHECK(r->error_reason != NULL && head_len == 0);
        break;
    case WDN_ELIMIT:
        CHECK(r->error_status == 414 || r->error_status == 431);
        CHECK(r->error_reason != NULL && head_len == 0);
        break;
    default:
        CHECK(0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct wdn_http_request r;
    const char *buf = (const char *)data;
    size_t head_len = 1, k;
    int rc, status, prc;
    char *copy;

    rc = wdn_http_parse_request(buf, size, &r, &head_len);
    status = r.error_status;
    check_result(rc, &r, buf, size, head_len);

    /* A prefix (its own exact-size allocation) is incomplete or reaches the same verdict. */
    k = size ? (size_t)data[0] * size / 256 : 0;
    copy = malloc(k ? k : 1);
    CHECK(copy != NULL);
    memcpy(copy, buf, k);
    {
        size_t plen = 1;
        prc = wdn_http_parse_request(copy, k, &r, &plen);
        check_result(prc, &r, copy, k, plen);
        if (prc != WDN_EAGAIN) {
            CHECK(prc == rc);
            if (prc == 0)
                CHECK(plen == head_len);
            else
                CHECK(r.error_status == status);
        } else if (rc == 0) {
            CHECK(head_len > k);
        }
    }
    free(copy);

    /* The head on its own parses the same. */
    if (rc == 0) {
        size_t again = 0;
        copy = malloc(head_len);
        CHECK(copy != NULL);
        memcpy(copy, buf, head_len);
        CHECK(wdn_http_parse_request(copy, head_len, &r, &again) == 0 && again == head_len);
        free(copy);
    }
    return 0;
}
