/* String slices: a pointer and a length into someone else's bytes (never NUL-terminated). */
#ifndef WDN_BASE_STR_H
#define WDN_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A borrowed view of len bytes at p; p may be NULL when len is 0. */
struct wdn_str {
    const char *p;
    size_t len;
};

/** A slice of a string literal. */
#define WDN_STR(lit) ((struct wdn_str){(lit), sizeof(lit) - 1})
/** printf helper: printf("%.*s", WDN_STR_FMT(s)). */
#define WDN_STR_FMT(s) (int)(s).len, (s).p

/** A slice of a NUL-terminated string (NULL gives the empty slice). */
struct wdn_str wdn_str_from_cstr(const char *s);
/** Byte-wise equality. */
bool wdn_str_eq(struct wdn_str a, struct wdn_str b);
/** Equality ignoring ASCII case (for header names and tokens). */
bool wdn_str_eq_case(struct wdn_str a, struct wdn_str b);
/** Equality with a NUL-terminated string. */
bool wdn_str_eq_cstr(struct wdn_str a, const char *b);
/** ASCII case-insensitive equality with a NUL-terminated string. */
bool wdn_str_eq_case_cstr(struct wdn_str a, const char *b);
/** True when s starts with prefix. */
bool wdn_str_has_prefix(struct wdn_str s, struct wdn_str prefix);
/** s without leading and trailing spaces and horizontal tabs (OWS). */
struct wdn_str wdn_str_trim_ows(struct wdn_str s);
/** Index of the first c in s, or -1. */
long wdn_str_index(struct wdn_str s, char c);
/**
 * Parses s as a non-empty run of decimal digits with no sign, space or other byte and a value
 * at most max. Returns 0 and sets *out, WDN_EPARSE for a bad byte, WDN_ERANGE for overflow.
 */
int wdn_str_to_u64(struct wdn_str s, uint64_t max, uint64_t *out);
/** The value of one hexadecimal digit (0-9, a-f, A-F), or -1 for any other byte. */
int wdn_hex_value(unsigned char c);
/** Writes n bytes as 2n lowercase hexadecimal digits and a NUL into out (2n + 1 bytes). */
void wdn_hex_encode(const void *p, size_t n, char *out);
/** Writes v in decimal (no NUL) at w, at most 20 bytes; returns the end. */
char *wdn_u64_write(char *w, uint64_t v);
/** A malloc'd NUL-terminated copy (caller frees), or NULL when out of memory. */
char *wdn_str_dup(struct wdn_str s);

/**
 * Constant-time equality for secrets. The lengths are compared first (a length is not a
 * secret); then every byte is examined whatever the differences.
 */
bool wdn_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/** snprintf into a fixed buffer; returns WDN_ELIMIT when the result would be truncated. */
int wdn_fmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
