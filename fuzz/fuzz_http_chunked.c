/* Fuzz target: the chunked body decoder. The first byte picks the body limit and the size of the
 * pieces the input is fed in; the result must not depend on the pieces, data slices must lie in
 * the input and the decoded data can never be more than the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "http/parser.h"
#include "fuzz.h"

struct run {
    int rc;
    size_t used;
    size_t ndata;
    int status;
};

/* Decodes in[0..len) in pieces of at most step bytes (0: all at once) into out. */
static void decode(const char *in, size_t len, size_t step, uint64_t max, char *out, struct run *o)
{
    struct wdn_http_chunked d;
    size_t off = 0;

    wdn_http_chunked_init(&d, max);
    o->rc = 0;
    o->ndata = 0;
    o->status = 0;
    while (off < len) {
        size_t n = step && len - off > step ? step : len - off;
        size_t pos = 0;
        char *piece = malloc(n);
        CHECK(piece != NULL);
        memcpy(piece, in + off, n);
        while (pos < n) {
            size_t used = (size_t)-1;
            struct wdn_str s = {NULL, 99};
            o->rc = wdn_http_chunked_decode(&d, piece + pos, n - pos, &used, &s);
            CHECK(used <= n - pos);
            CHECK(s.len <= used);
            if (s.len) {
                CHECK(s.p >= piece + pos && s.p + s.len <= piece + n);
                memcpy(out + o->ndata, s.p, s.len);
                o->ndata += s.len;
            }
            pos += used;
            if (o->rc != 0)
                break;
            CHECK(used > 0);
        }
        free(piece);
        off += pos;
        if (o->rc != 0)
            break;
    }
    o->used = off;
    CHECK(o->ndata <= len);
    CHECK(d.total == o->ndata && d.total <= max);
    if (o->rc < 0) {
        CHECK(o->rc == WDN_EPARSE || o->rc == WDN_ELIMIT);
        CHECK(d.error_reason != NULL);
        CHECK(d.error_status == 400 || (d.error_status == 413 && o->rc == WDN_ELIMIT));
        o->status = d.error_status;
    } else {
        CHECK(o->rc == 0 || o->rc == 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t limits[] = {
        0, 1, 16, 4096, 1u << 20, UINT64_MAX / 2, UINT64_MAX, WDN_HTTP_MAX_BODY_BYTES};
    struct run whole, pieces;
    const char *in;
    char *out1, *out2;
    uint64_t max;
    size_t step;

    if (size < 1)
        return 0;
    max = limits[data[0] & 7];
    step = (size_t)(data[0] >> 3) + 1;
    in = (const char *)data + 1;
    size--;
    out1 = malloc(size + 1);
    out2 = malloc(size + 1);
    CHECK(out1 != NULL && out2 != NULL);
    decode(in, size, 0, max, out1, &whole);
    decode(in, size, step, max, out2, &pieces);
    CHECK(whole.rc == pieces.rc && whole.status == pieces.status);
    CHECK(whole.ndata == pieces.ndata && memcmp(out1, out2, whole.ndata) == 0);
    if (whole.rc != 0)
        CHECK(whole.used == pieces.used);
    free(out1);
    free(out2);
    return 0;
}
