/* Fuzz target: ACL path normalisation and evaluation. The first line of the input is the
 * operation (raw, percent-encoded), the rest a Configuration. Invariants: a normalised path
 * starts with '/', has no empty, "." or ".." segment and no byte the decoder must refuse; an
 * operation that does not normalise is always denied; evaluation is deterministic. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "policy/policy.h"
#include "resources/resources.h"
#include "fuzz.h"

static void check_normal(const char *p)
{
    size_t n = strlen(p);

    CHECK(n >= 1 && p[0] == '/');
    CHECK(n == 1 || p[n - 1] != '/');
    CHECK(strstr(p, "//") == NULL);
    for (const char *s = p; *s; s++) {
        unsigned char c = (unsigned char)*s;
        CHECK(c >= 0x20 && c != 0x7f && c != '?' && c != '#' && c != '\\');
        if (c == '/') {
            CHECK(strncmp(s, "/./", 3) != 0 && strcmp(s, "/.") != 0);
            CHECK(strncmp(s, "/../", 4) != 0 && strcmp(s, "/..") != 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t oplen = nl ? (size_t)(nl - in) : size;
    char norm[WDN_POLICY_MAX_OP_BYTES + 2];
    struct wdn_resources *set;
    struct wdn_diag d;

    int nrc = wdn_acl_normalize(in, oplen, norm, sizeof(norm));
    if (nrc == 0)
        check_normal(norm);
    if (nl == NULL)
        return 0;
    set = wdn_resources_new();
    if (set == NULL)
        return 0;
    wdn_resources_load_buffer(set, "acl.yaml", NULL, nl + 1, size - oplen - 1);
    for (size_t i = 0; i < set->n_configurations; i++) {
        const struct wdn_res_access_control *ac = &set->configurations[i]->spec.access_control;
        struct wdn_acl *acl = NULL;
        if (wdn_acl_compile(ac, true, &acl, &d) != 0 || acl == NULL)
            continue;
        for (size_t p = 0; p <= ac->n_policies; p++) {
            struct wdn_acl_caller c = {"public", "default", "caller"};
            struct wdn_acl_decision a, b;
            if (p < ac->n_policies) {
                c.trust_domain = ac->policies[p].trust_domain;
                c.ns = ac->policies[p].ns;
                c.app_id = ac->policies[p].app_id;
            }
            CHECK(wdn_acl_eval(acl, &c, "GET", in, oplen, &a) == 0);
            CHECK(wdn_acl_eval(acl, &c, "GET", in, oplen, &b) == 0);
            CHECK(a.allowed == b.allowed && a.by == b.by);
            if (nrc != 0)
                CHECK(!a.allowed && a.by == WDN_ACL_BY_INVALID);
        }
        wdn_acl_free(acl);
    }
    wdn_resources_free(set);
    return 0;
}
