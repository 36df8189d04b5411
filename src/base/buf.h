/* Growable byte buffers with a hard maximum: every buffer that grows from input has a limit. */
#ifndef WDN_BASE_BUF_H
#define WDN_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

/**
 * Owns data (malloc'd). len bytes are used of cap; growing past max fails with WDN_ELIMIT.
 * Once anything was appended, data[len] is always a NUL (room for it is always reserved).
 */
struct wdn_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

/** Prepares an empty buffer that may grow up to max bytes; allocates nothing yet. */
void wdn_buf_init(struct wdn_buf *b, size_t max);
/** Frees the bytes and leaves an empty buffer with the same max. */
void wdn_buf_reset(struct wdn_buf *b);
/** Ensures room for n more bytes. 0, WDN_ENOMEM or WDN_ELIMIT. */
int wdn_buf_reserve(struct wdn_buf *b, size_t n);
/** Appends n bytes. 0, WDN_ENOMEM or WDN_ELIMIT (then nothing is appended). */
int wdn_buf_append(struct wdn_buf *b, const void *p, size_t n);
/** Appends a NUL-terminated string. */
int wdn_buf_append_cstr(struct wdn_buf *b, const char *s);
/** Appends printf output. */
int wdn_buf_printf(struct wdn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Appends v in decimal (no printf: for formatting on hot paths). 0 or as append. */
int wdn_buf_append_u64(struct wdn_buf *b, uint64_t v);
/**
 * Appends s as a quoted JSON string: '"' and '\\' escaped, control bytes as \u00XX, and every
 * byte that is not part of valid UTF-8 as \ufffd, so the result always parses. 0 or as append.
 */
int wdn_buf_append_json_str(struct wdn_buf *b, struct wdn_str s);
/** The most bytes wdn_json_str_write writes for n bytes of input. */
#define WDN_JSON_STR_MAX(n) (6 * (size_t)(n) + 2)
/** wdn_buf_append_json_str into memory the caller reserved (WDN_JSON_STR_MAX bytes); returns
 * the end of what was written. For encoders that reserve once and write many fields. */
char *wdn_json_str_write(char *w, struct wdn_str s);
/** The exact number of bytes wdn_json_str_write writes for s. */
size_t wdn_json_str_len(struct wdn_str s);
/** The length of the valid UTF-8 sequence at p (n >= 1 bytes there), or 0 when it is not one:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
size_t wdn_utf8_seq_len(const unsigned char *p, size_t n);
/** Drops the first n bytes (n <= len), moving the rest to the front. */
void wdn_buf_consume(struct wdn_buf *b, size_t n);
/** NUL-terminates the contents without counting the NUL in len; returns data. NULL on error. */
char *wdn_buf_cstr(struct wdn_buf *b);
/** The contents as a slice (borrowed until the buffer changes). */
struct wdn_str wdn_buf_str(const struct wdn_buf *b);

#endif
