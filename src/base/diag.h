/* Diagnostics: an error code with a message and where it happened (file:line:col, or a field). */
#ifndef WDN_BASE_DIAG_H
#define WDN_BASE_DIAG_H

#include <stddef.h>

/** Caller-allocated. Functions that take one fill it on failure; NULL means "don't care". */
struct wdn_diag {
    int code;          /* WDN_E* */
    char file[256];    /* source file for configuration errors, else "" */
    unsigned line;     /* 1-based; 0 = unknown */
    unsigned col;      /* 1-based; 0 = unknown */
    char msg[512];     /* what is wrong and, where possible, what to do */
};

/** Clears d (d may be NULL). */
void wdn_diag_clear(struct wdn_diag *d);
/** Fills d (may be NULL) with code and a printf message; returns code for `return wdn_diag_set(...)`. */
int wdn_diag_set(struct wdn_diag *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Same with a location. */
int wdn_diag_set_at(struct wdn_diag *d, int code, const char *file, unsigned line, unsigned col,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/** Formats "file:line:col: msg" (or just msg) into buf. */
const char *wdn_diag_format(const struct wdn_diag *d, char *buf, size_t cap);

#endif
