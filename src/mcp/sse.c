/* Incremental server-sent events parser: lines end in CRLF, LF or CR; a blank line dispatches. */
#include "mcp/sse.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"

void wdn__sse_init(struct wdn__sse_parser *p, size_t max_event)
{
    memset(p, 0, sizeof(*p));
    wdn_buf_init(&p->line, max_event);
    wdn_buf_init(&p->data, max_event);
    p->retry_ms = -1;
}

void wdn__sse_reset(struct wdn__sse_parser *p)
{
    wdn_buf_reset(&p->line);
    wdn_buf_reset(&p->data);
}

static int dispatch(struct wdn__sse_parser *p, wdn__sse_event_fn fn, void *ud)
{
    int rc = 0;
    char *data;

    if (p->data_seen) {
        /* The last data line's newline is not part of the data. */
        if (p->data.len > 0 && p->data.data[p->data.len - 1] == '\n')
            p->data.len--;
        data = wdn_buf_cstr(&p->data);
        if (data == NULL)
            data = (char *)"";
        rc = fn(ud, p->event[0] ? p->event : "message", data, p->data.len, p->id);
    }
    p->data.len = 0;
    p->data_seen = false;
    p->event[0] = '\0';
    return rc;
}

static int process_line(struct wdn__sse_parser *p, const char *line, size_t len,
                        wdn__sse_event_fn fn, void *ud)
{
    const char *colon;
    size_t flen;
    const char *val;
    size_t vlen;
    int rc;

    if (len == 0)
        return dispatch(p, fn, ud);
    if (line[0] == ':')
        return 0; /* comment */
    colon = memchr(line, ':', len);
    flen = colon ? (size_t)(colon - line) : len;
    val = colon ? colon + 1 : line + len;
    vlen = colon ? len - flen - 1 : 0;
    if (vlen > 0 && val[0] == ' ') {
        val++;
        vlen--;
    }
    if (flen == 4 && memcmp(line, "data", 4) == 0) {
        if ((rc = wdn_buf_append(&p->data, val, vlen)) != 0 ||
            (rc = wdn_buf_append(&p->data, "\n", 1)) != 0)
            return rc;
        p->data_seen = true;
    } else if (flen == 5 && memcmp(line, "event", 5) == 0) {
        if (vlen >= sizeof(p->event))
            vlen = sizeof(p->event) - 1;
        memcpy(p->event, val, vlen);
        p->event[vlen] = '\0';
    } else if (flen == 2 && memcmp(line, "id", 2) == 0) {
        /* An id containing NUL is ignored, as the format says. */
        if (memchr(val, '\0', vlen) == NULL && vlen < sizeof(p->id)) {
            memcpy(p->id, val, vlen);
            p->id[vlen] = '\0';
        }
    } else if (flen == 5 && memcmp(line, "retry", 5) == 0) {
        /* Only ASCII digits count, as the format says; anything longer than nine digits
         * (over a week) is ignored rather than overflowing. */
        long v = 0;
        size_t i;
        for (i = 0; i < vlen && i < 10 && val[i] >= '0' && val[i] <= '9'; i++)
            v = v * 10 + (val[i] - '0');
        if (vlen > 0 && vlen < 10 && i == vlen)
            p->retry_ms = v;
    }
    /* Unknown fields are ignored. */
    return 0;
}

int wdn__sse_feed(struct wdn__sse_parser *p, const char *buf, size_t n, wdn__sse_event_fn fn,
                  void *ud)
{
    size_t i = 0, start;
    int rc;

    /* A UTF-8 BOM at the very start is skipped, also when the first reads cut it. Bytes that
     * began like one but were not are the start of the first line. */
    while (!p->bom_done && i < n) {
        static const char bom[] = "\xEF\xBB\xBF";
        if (buf[i] != bom[p->bom_seen]) {
            p->bom_done = true;
            if (p->bom_seen > 0 && (rc = wdn_buf_append(&p->line, bom, p->bom_seen)) != 0)
                return rc;
            break;
        }
        i++;
        p->bom_done = ++p->bom_seen == 3;
    }
    if (p->last_cr && i < n && buf[i] == '\n')
        i++;
    p->last_cr = false;
    while (i < n) {
        start = i;
        while (i < n && buf[i] != '\n' && buf[i] != '\r')
            i++;
        if (i == n) {
            /* An unfinished line waits for the next chunk. */
            return wdn_buf_append(&p->line, buf + start, i - start);
        }
        if (p->line.len > 0) {
            if ((rc = wdn_buf_append(&p->line, buf + start, i - start)) != 0)
                return rc;
            rc = process_line(p, p->line.data, p->line.len, fn, ud);
            p->line.len = 0;
        } else {
            rc = process_line(p, buf + start, i - start, fn, ud);
        }
        if (buf[i] == '\r') {
            if (i + 1 < n && buf[i + 1] == '\n')
                i++;
            else if (i + 1 == n)
                p->last_cr = true;
        }
        i++;
        if (rc != 0)
            return rc;
    }
    return 0;
}
