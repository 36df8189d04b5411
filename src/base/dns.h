/* DNS names: the one check, with the rule each caller needs named by a flag. */
#ifndef WDN_BASE_DNS_H
#define WDN_BASE_DNS_H

#include <stdbool.h>
#include <stddef.h>

/** Rules added to (or relaxed from) the base rule of wdn_dns_check. */
enum wdn_dns_rule {
    WDN_DNS_ONE_LABEL = 1 << 0,    /* a single label: no dots */
    WDN_DNS_LOWER = 1 << 1,        /* lower-case letters only (Kubernetes object names) */
    WDN_DNS_LONG_LABELS = 1 << 2,  /* labels may exceed 63 bytes (a Kubernetes DNS-1123
                                      subdomain has no per-label limit) */
    WDN_DNS_TRAILING_DOT = 1 << 3, /* one trailing dot (a fully qualified name) is fine */
    WDN_DNS_UNDERSCORE = 1 << 4,   /* '_' may appear in labels (host names found in URLs and
                                      resolvers in the wild, such as _service.example) */
};

/** What is wrong with a name, in the order the check looks. */
enum wdn_dns_problem {
    WDN_DNS_OK = 0,
    WDN_DNS_BAD_LENGTH, /* empty, or over 253 bytes (63 with WDN_DNS_ONE_LABEL) */
    WDN_DNS_BAD_CHAR,   /* a byte other than letters, digits, '-' ('.', '_' as allowed) */
    WDN_DNS_BAD_EDGE,   /* starts or ends with '-' or '.' */
    WDN_DNS_BAD_LABEL,  /* an empty label, a label starting or ending with '-', or one over 63 */
};

/**
 * Checks s[0..len) as a DNS name (RFC 1123 2.1, RFC 1035 2.3.4): dot-separated labels of 1 to 63
 * letters, digits and inner hyphens, 253 bytes at most, under the extra rules of the
 * wdn_dns_rule flags in rules. Bytes are checked first, then the edges, then each label.
 */
enum wdn_dns_problem wdn_dns_check(const char *s, size_t len, unsigned rules);

/** True when the NUL-terminated s passes wdn_dns_check with rules. */
bool wdn_dns_name_ok(const char *s, unsigned rules);

#endif
