/* Diagnostics for errors that a user must be able to act on. */
#include "base/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Messages often quote what a peer sent (an error_description, a file's text): control bytes
 * become '?' so a message can be printed or logged safely. */
static void scrub(char *m)
{
    for (unsigned char *p = (unsigned char *)m; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
}

void wdn_diag_clear(struct wdn_diag *d)
{
    if (d)
        memset(d, 0, sizeof(*d));
}

int wdn_diag_set(struct wdn_diag *d, int code, const char *fmt, ...)
{
    va_list ap;

    if (d == NULL)
        return code;
    memset(d, 0, sizeof(*d));
    d->code = code;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
    scrub(d->msg);
    return code;
}

int wdn_diag_set_at(struct wdn_diag *d, int code, const char *file, unsigned line, unsigned col,
                    const char *fmt, ...)
{
    va_list ap;

    if (d == NULL)
        return code;
    memset(d, 0, sizeof(*d));
    d->code = code;
    snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
    d->line = line;
    d->col = col;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
    scrub(d->msg);
    return code;
}

const char *wdn_diag_format(const struct wdn_diag *d, char *buf, size_t cap)
{
    if (d->file[0] && d->line && d->col)
        snprintf(buf, cap, "%s:%u:%u: %s", d->file, d->line, d->col, d->msg);
    else if (d->file[0] && d->line)
        snprintf(buf, cap, "%s:%u: %s", d->file, d->line, d->msg);
    else if (d->file[0])
        snprintf(buf, cap, "%s: %s", d->file, d->msg);
    else
        snprintf(buf, cap, "%s", d->msg);
    return buf;
}
