/* Chunked transfer coding (RFC 9112 7.1): a byte-at-a-time decoder with limits on the size
 * line, its extensions and the trailer section, so a body can be decoded as it arrives. */
#include <string.h>

#include "base/error.h"
#include "http/parser_int.h"

/* Chunked decoder states; the order matters only for the extension range check. */
enum {
    CH_SIZE_START = 0,
    CH_SIZE,
    CH_EXT_WS,      /* BWS after the size or a value, before ';' */
    CH_EXT_NAME_WS, /* after ';', before the extension name */
    CH_EXT_NAME,
    CH_EXT_AFTER_NAME, /* BWS after a name: '=' or ';' follows */
    CH_EXT_VAL_WS,     /* after '=' */
    CH_EXT_VAL_TOKEN,
    CH_EXT_QUOTED,
    CH_EXT_QUOTED_PAIR,
    CH_EXT_AFTER_VAL, /* after a closing quote */
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER_START,
    CH_TRAILER_NAME,
    CH_TRAILER_VALUE,
    CH_TRAILER_LF,
    CH_FINAL_LF,
    CH_DONE,
    CH_ERROR_PARSE,
    CH_ERROR_LIMIT,
};

void wdn_http_chunked_init(struct wdn_http_chunked *d, uint64_t max_total)
{
    d->state = CH_SIZE_START;
    d->remaining = 0;
    d->line_bytes = 0;
    d->trailer_bytes = 0;
    d->total = 0;
    d->max_total = max_total;
    d->error_status = 0;
    d->error_reason = NULL;
}

static int chunked_fail(struct wdn_http_chunked *d, int rc, int status, const char *reason)
{
    d->state = rc == WDN_ELIMIT ? CH_ERROR_LIMIT : CH_ERROR_PARSE;
    d->error_status = status;
    d->error_reason = reason;
    return rc;
}

static unsigned hex_value(unsigned char c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/* The chunk-size line and the CRLF after a chunk's data. */
static int size_step(struct wdn_http_chunked *d, unsigned char c)
{
    switch (d->state) {
    case CH_SIZE_START:
        if (!IS(c, C_HEX))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk size");
        d->remaining = hex_value(c);
        d->line_bytes = 1;
        d->state = CH_SIZE;
        return 0;
    case CH_SIZE:
        if (IS(c, C_HEX)) {
            /* 16 hex digits fill 64 bits; more could only be leading zeros or overflow. */
            if (++d->line_bytes > 16)
                return chunked_fail(d, WDN_EPARSE, 400, "chunk size too long");
            d->remaining = (d->remaining << 4) | hex_value(c);
            return 0;
        }
        if (d->remaining > d->max_total - d->total)
            return chunked_fail(d, WDN_ELIMIT, 413, "chunked body too large");
        d->line_bytes = 1;
        if (c == '\r')
            d->state = CH_SIZE_LF;
        else if (c == ';')
            d->state = CH_EXT_NAME_WS;
        else if (IS_WS(c))
            d->state = CH_EXT_WS;
        else
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk size");
        return 0;
    case CH_SIZE_LF:
        if (c != '\n')
            return chunked_fail(d, WDN_EPARSE, 400, "chunk size line without CRLF");
        if (d->remaining == 0) {
            d->state = CH_TRAILER_START;
            d->line_bytes = 0;
            d->trailer_bytes = 0;
        } else {
            d->state = CH_DATA;
        }
        return 0;
    case CH_DATA_CR:
        if (c != '\r')
            return chunked_fail(d, WDN_EPARSE, 400, "chunk data not followed by CRLF");
        d->state = CH_DATA_LF;
        return 0;
    case CH_DATA_LF:
        if (c != '\n')
            return chunked_fail(d, WDN_EPARSE, 400, "chunk data not followed by CRLF");
        d->state = CH_SIZE_START;
        return 0;
    default:
        return chunked_fail(d, WDN_EPARSE, 400, "chunked decoder in a bad state");
    }
}

/* Chunk extensions: ; name [ = token / quoted-string ], with BWS around. */
static int ext_step(struct wdn_http_chunked *d, unsigned char c)
{
    switch (d->state) {
    case CH_EXT_WS:
        if (c == ';')
            d->state = CH_EXT_NAME_WS;
        else if (!IS_WS(c))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension");
        return 0;
    case CH_EXT_NAME_WS:
        if (IS(c, C_TCHAR))
            d->state = CH_EXT_NAME;
        else if (!IS_WS(c))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension");
        return 0;
    case CH_EXT_NAME:
    case CH_EXT_VAL_TOKEN:
        if (IS(c, C_TCHAR))
            return 0;
        if (c == ';')
            d->state = CH_EXT_NAME_WS;
        else if (c == '\r')
            d->state = CH_SIZE_LF;
        else if (c == '=' && d->state == CH_EXT_NAME)
            d->state = CH_EXT_VAL_WS;
        else if (IS_WS(c))
            d->state = d->state == CH_EXT_NAME ? CH_EXT_AFTER_NAME : CH_EXT_WS;
        else
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension");
        return 0;
    case CH_EXT_AFTER_NAME:
        if (c == '=')
            d->state = CH_EXT_VAL_WS;
        else if (c == ';')
            d->state = CH_EXT_NAME_WS;
        else if (!IS_WS(c))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension");
        return 0;
    case CH_EXT_VAL_WS:
        if (c == '"')
            d->state = CH_EXT_QUOTED;
        else if (IS(c, C_TCHAR))
            d->state = CH_EXT_VAL_TOKEN;
        else if (!IS_WS(c))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension value");
        return 0;
    case CH_EXT_QUOTED:
        if (c == '"')
            d->state = CH_EXT_AFTER_VAL;
        else if (c == '\\')
            d->state = CH_EXT_QUOTED_PAIR;
        else if (!IS(c, C_QDTEXT))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension value");
        return 0;
    case CH_EXT_QUOTED_PAIR:
        if (!IS(c, C_VALUE))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension value");
        d->state = CH_EXT_QUOTED;
        return 0;
    case CH_EXT_AFTER_VAL:
        if (c == ';')
            d->state = CH_EXT_NAME_WS;
        else if (c == '\r')
            d->state = CH_SIZE_LF;
        else if (IS_WS(c))
            d->state = CH_EXT_WS;
        else
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension");
        return 0;
    default:
        return chunked_fail(d, WDN_EPARSE, 400, "chunked decoder in a bad state");
    }
}

/* The trailer section: field lines, then the final CRLF (1 when the body ends). */
static int trailer_step(struct wdn_http_chunked *d, unsigned char c)
{
    switch (d->state) {
    case CH_TRAILER_START:
        if (c == '\r')
            d->state = CH_FINAL_LF;
        else if (IS(c, C_TCHAR))
            d->state = CH_TRAILER_NAME;
        else
            return chunked_fail(d, WDN_EPARSE, 400, "invalid trailer field");
        return 0;
    case CH_TRAILER_NAME:
        if (c == ':')
            d->state = CH_TRAILER_VALUE;
        else if (!IS(c, C_TCHAR))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid trailer field name");
        return 0;
    case CH_TRAILER_VALUE:
        if (c == '\r')
            d->state = CH_TRAILER_LF;
        else if (!IS(c, C_VALUE))
            return chunked_fail(d, WDN_EPARSE, 400, "control character in a trailer field");
        return 0;
    case CH_TRAILER_LF:
        if (c != '\n')
            return chunked_fail(d, WDN_EPARSE, 400, "trailer line without CRLF");
        d->state = CH_TRAILER_START;
        d->line_bytes = 0;
        return 0;
    case CH_FINAL_LF:
        if (c != '\n')
            return chunked_fail(d, WDN_EPARSE, 400, "chunked body without final CRLF");
        d->state = CH_DONE;
        return 1;
    default:
        return chunked_fail(d, WDN_EPARSE, 400, "chunked decoder in a bad state");
    }
}

/* One byte of everything but chunk data: the size line, its extensions and the trailer
 * section, within their limits. */
static int chunked_step(struct wdn_http_chunked *d, unsigned char c)
{
    bool in_ext = d->state >= CH_EXT_WS && d->state <= CH_EXT_AFTER_VAL;
    bool in_trailer = d->state >= CH_TRAILER_START && d->state <= CH_FINAL_LF;

    if (in_ext && c != '\r' && ++d->line_bytes > WDN_HTTP_MAX_CHUNK_EXT_BYTES)
        return chunked_fail(d, WDN_ELIMIT, 400, "chunk extensions too long");
    if (in_trailer) {
        if (++d->trailer_bytes > WDN_HTTP_MAX_TRAILER_BYTES)
            return chunked_fail(d, WDN_ELIMIT, 400, "trailer section too large");
        if (++d->line_bytes > WDN_HTTP_MAX_LINE_BYTES + 2)
            return chunked_fail(d, WDN_ELIMIT, 400, "trailer line too long");
    }
    if (in_ext)
        return ext_step(d, c);
    if (in_trailer)
        return trailer_step(d, c);
    return size_step(d, c);
}

int wdn_http_chunked_decode(struct wdn_http_chunked *d, const char *in, size_t len,
                            size_t *consumed, struct wdn_str *data)
{
    size_t i = 0;
    int rc = 0;

    data->p = in;
    data->len = 0;
    if (d->state == CH_DONE) {
        rc = 1;
        goto out;
    }
    if (d->state == CH_ERROR_PARSE || d->state == CH_ERROR_LIMIT) {
        rc = d->state == CH_ERROR_LIMIT ? WDN_ELIMIT : WDN_EPARSE;
        goto out;
    }
    while (i < len) {
        if (d->state == CH_DATA) {
            /* Data is handed out in place, one slice per call. */
            size_t n = len - i;
            if (n > d->remaining)
                n = (size_t)d->remaining;
            data->p = in + i;
            data->len = n;
            d->remaining -= n;
            d->total += n;
            i += n;
            if (d->remaining == 0)
                d->state = CH_DATA_CR;
            goto out;
        }
        rc = chunked_step(d, (unsigned char)in[i]);
        if (rc < 0)
            goto out;
        i++;
        if (rc == 1)
            goto out;
    }
out:
    *consumed = i;
    return rc;
}
