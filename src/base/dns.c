/* DNS names: one check for every place that takes one (pools, URLs, certificates, Kubernetes
 * names in resources, peer names in the sidecar), each naming the rule it needs. */
#include "base/dns.h"

#include <string.h>

static bool allowed(char c, unsigned rules)
{
    if (c >= 'a' && c <= 'z')
        return true;
    if (c >= 'A' && c <= 'Z')
        return !(rules & WDN_DNS_LOWER);
    if ((c >= '0' && c <= '9') || c == '-')
        return true;
    if (c == '.')
        return !(rules & WDN_DNS_ONE_LABEL);
    return c == '_' && (rules & WDN_DNS_UNDERSCORE);
}

enum wdn_dns_problem wdn_dns_check(const char *s, size_t len, unsigned rules)
{
    size_t start = 0;

    if (s == NULL)
        return WDN_DNS_BAD_LENGTH;
    if ((rules & WDN_DNS_TRAILING_DOT) && len > 1 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > ((rules & WDN_DNS_ONE_LABEL) ? 63u : 253u))
        return WDN_DNS_BAD_LENGTH;
    for (size_t i = 0; i < len; i++) {
        if (!allowed(s[i], rules))
            return WDN_DNS_BAD_CHAR;
    }
    if (s[0] == '-' || s[0] == '.' || s[len - 1] == '-' || s[len - 1] == '.')
        return WDN_DNS_BAD_EDGE;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        /* The label s[start..i): never empty, no hyphen at its edges, 63 bytes at most. */
        if (i == start || s[start] == '-' || s[i - 1] == '-' ||
            (i - start > 63 && !(rules & WDN_DNS_LONG_LABELS)))
            return WDN_DNS_BAD_LABEL;
        start = i + 1;
    }
    return WDN_DNS_OK;
}

bool wdn_dns_name_ok(const char *s, unsigned rules)
{
    return s != NULL && wdn_dns_check(s, strlen(s), rules) == WDN_DNS_OK;
}
