/* Service-invocation access control with Dapr's semantics (dapr/dapr pkg/acl/acl.go and
 * pkg/config/acl_trie.go): compiled into one operation trie per caller policy at load time,
 * evaluated per request with no allocation. Stricter than Dapr where a path is ambiguous. */
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/str.h"
#include "base/limits.h"

/* Dapr's HTTPExtension verbs, plus "*" (any verb) at the end. */
static const char *const verbs[] = {"GET",     "HEAD",    "POST",  "PUT",   "DELETE",
                                    "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))
#define ANY_VERB (NVERBS - 1)

enum { NONE = -1, DENY = 0, ALLOW = 1 };

struct acl_op {
    const char *name;                /* as configured, for decisions and logs */
    signed char verb_action[NVERBS]; /* NONE, DENY or ALLOW per verb */
    signed char action;              /* the operation's action (gRPC) */
};

struct trie_node {
    const char *seg; /* "/" + segment, as Dapr stores it */
    struct acl_op *data;
    struct trie_node **kids;
    size_t n, cap;
};

struct acl_policy {
    const char *app_id;
    const char *ns;
    const char *trust_domain;
    signed char default_action; /* NONE when the policy has none */
    struct trie_node root;
};

struct wdn_acl {
    struct wdn_arena arena;
    bool http;
    signed char default_action;
    const char *trust_domain;
    struct acl_policy *policies;
    size_t n_policies;
};

static signed char action_of(const char *s)
{
    if (s == NULL)
        return NONE;
    /* Dapr: allowed iff strings.EqualFold(action, "allow"); anything else denies. */
    return wdn_str_eq_case_cstr(wdn_str_from_cstr(s), "allow") ? ALLOW : DENY;
}

static int verb_index(const char *v)
{
    for (size_t i = 0; v && i < NVERBS; i++) {
        if (strcmp(v, verbs[i]) == 0)
            return (int)i;
    }
    return -1;
}

/* ---- the trie (Dapr's acl_trie.go, same matching order and quirks) --------------------- */

/* '*' matches any run of bytes, possibly empty; everything else matches itself. */
bool wdn_policy_glob(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static struct trie_node *find_exact(const struct trie_node *node, const char *seg, size_t len)
{
    for (size_t i = 0; i < node->n; i++) {
        const char *k = node->kids[i]->seg;
        if (strlen(k) == len && memcmp(k, seg, len) == 0)
            return node->kids[i];
    }
    return NULL;
}

/* Dapr's findNodeWithWildcard: the first child, in insertion order, that matches. */
static struct trie_node *find_wild(const struct trie_node *node, const char *seg, bool is_end)
{
    for (size_t i = 0; i < node->n; i++) {
        struct trie_node *k = node->kids[i];
        if (strcmp(k->seg, seg) == 0)
            return k;
        if (strcmp(k->seg, "/*") == 0) {
            if (is_end)
                return k;
            continue;
        }
        if (strcmp(k->seg, "/**") == 0)
            return k;
        if (wdn_policy_glob(k->seg, seg))
            return k;
    }
    return NULL;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

static int add_kid(struct wdn_arena *a, struct trie_node *node, struct trie_node *kid)
{
    if (node->n == node->cap) {
        size_t cap = node->cap ? node->cap * 2 : 4;
        struct trie_node **v = wdn_arena_alloc(a, cap * sizeof(*v));
        if (v == NULL)
            return WDN_ENOMEM;
        if (node->n)
            memcpy(v, node->kids, node->n * sizeof(*v));
        node->kids = v;
        node->cap = cap;
    }
    node->kids[node->n++] = kid;
    return 0;
}

/* name starts with '/'. Dapr's PutOperationAction: the first operation stored at a node wins. */
static int trie_put(struct wdn_arena *a, struct trie_node *root, const char *name,
                    struct acl_op *data)
{
    struct trie_node *node = root;
    const char *p = name + 1;

    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        bool last = end == NULL;
        char *seg = wdn_arena_alloc(a, len + 2);
        struct trie_node *sub;

        if (seg == NULL)
            return WDN_ENOMEM;
        seg[0] = '/';
        memcpy(seg + 1, p, len);
        seg[len + 1] = '\0';
        sub = find_exact(node, seg, len + 1);
        if (sub == NULL) {
            sub = wdn_arena_calloc(a, sizeof(*sub));
            if (sub == NULL || add_kid(a, node, sub) != 0)
                return WDN_ENOMEM;
            sub->seg = seg;
            if (last)
                sub->data = data;
            node = sub;
        } else if (last) {
            if (sub->data == NULL)
                sub->data = data;
        } else {
            node = sub;
        }
        if (last)
            return 0;
        p = end + 1;
    }
}

/* Dapr's Trie.Search over a normalised operation ("/a/b"), segments written into seg. */
static const struct acl_op *trie_search(const struct trie_node *root, const char *op)
{
    const struct trie_node *node = root;
    const char *p = op + 1;
    char seg[WDN_POLICY_MAX_OP_BYTES + 2];

    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        bool is_end = end == NULL;

        seg[0] = '/';
        memcpy(seg + 1, p, len);
        seg[len + 1] = '\0';
        node = find_wild(node, seg, is_end);
        if (node == NULL)
            return NULL;
        if (node->data) {
            /* A single-star wildcard node short of the end is a one-segment wildcard: keep
             * descending. */
            if (!is_end && has_suffix(node->seg, "/*") && !has_suffix(node->seg, "/**")) {
                p = end + 1;
                continue;
            }
            return node->data;
        } else if (is_end) {
            const struct trie_node *w = find_wild(node, "/*", true);
            return w && w->data ? w->data : NULL;
        }
        p = end + 1;
    }
}

/* ---- compile ------------------------------------------------------------------------------ */

static char *dup_lower(struct wdn_arena *a, const char *s, bool prefix_slash, bool lower)
{
    size_t n = strlen(s);
    bool add = prefix_slash && s[0] != '/';
    char *d = wdn_arena_alloc(a, n + 2);

    if (d == NULL)
        return NULL;
    size_t j = 0;
    if (add)
        d[j++] = '/';
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        d[j++] = (lower && c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    d[j] = '\0';
    return d;
}

int wdn_acl_compile(const struct wdn_res_access_control *spec, bool http, struct wdn_acl **out,
                    struct wdn_diag *diag)
{
    struct wdn_acl *acl = NULL;
    int rc = WDN_ENOMEM;

    *out = NULL;
    /* Dapr: no trustDomain, no defaultAction and no policies = no access control at all. */
    if (spec == NULL ||
        (spec->trust_domain == NULL && spec->default_action == NULL && spec->n_policies == 0))
        return 0;
    if (spec->n_policies > WDN_POLICY_MAX_RULES)
        return wdn_diag_set(diag, WDN_ECONFIG, "more than %u access control policies",
                            WDN_POLICY_MAX_RULES);
    acl = calloc(1, sizeof(*acl));
    if (acl == NULL)
        goto out;
    wdn_arena_init(&acl->arena, 8192, 0);
    acl->http = http;
    acl->trust_domain = spec->trust_domain
                            ? wdn_arena_strdup(&acl->arena, wdn_str_from_cstr(spec->trust_domain))
                            : "public";
    if (acl->trust_domain == NULL)
        goto out;
    if (spec->default_action)
        acl->default_action = action_of(spec->default_action);
    else
        /* Dapr: policies given (or the policies key absent) without a default: deny. Only an
         * explicitly empty policies list leaves the default at allow. */
        acl->default_action = (spec->policies == NULL || spec->n_policies > 0) ? DENY : ALLOW;

    acl->policies = wdn_arena_calloc(&acl->arena, (spec->n_policies + 1) * sizeof(*acl->policies));
    if (acl->policies == NULL)
        goto out;
    for (size_t i = 0; i < spec->n_policies; i++) {
        const struct wdn_res_acl_policy *ps = &spec->policies[i];
        struct acl_policy *pol = &acl->policies[acl->n_policies];

        if (ps->app_id == NULL || ps->trust_domain == NULL || ps->ns == NULL) {
            rc = wdn_diag_set_at(diag, WDN_ECONFIG, ps->pos.file, ps->pos.line, ps->pos.col,
                                 "invalid access control spec: a policy needs appId, "
                                 "trustDomain and namespace");
            goto out;
        }
        for (size_t j = 0; j < acl->n_policies; j++) {
            if (strcmp(acl->policies[j].app_id, ps->app_id) == 0 &&
                strcmp(acl->policies[j].ns, ps->ns) == 0) {
                rc = wdn_diag_set_at(diag, WDN_ECONFIG, ps->pos.file, ps->pos.line, ps->pos.col,
                                     "a second policy for app \"%s\" in namespace \"%s\"",
                                     ps->app_id, ps->ns);
                goto out;
            }
        }
        pol->app_id = wdn_arena_strdup(&acl->arena, wdn_str_from_cstr(ps->app_id));
        pol->ns = wdn_arena_strdup(&acl->arena, wdn_str_from_cstr(ps->ns));
        pol->trust_domain = wdn_arena_strdup(&acl->arena, wdn_str_from_cstr(ps->trust_domain));
        if (pol->app_id == NULL || pol->ns == NULL || pol->trust_domain == NULL)
            goto out;
        pol->default_action = action_of(ps->default_action);
        pol->root.seg = "/";
        for (size_t k = 0; k < ps->n_operations; k++) {
            const struct wdn_res_acl_operation *os = &ps->operations[k];
            struct acl_op *op;
            char *name;

            if (os->name == NULL || strlen(os->name) > WDN_POLICY_MAX_OP_BYTES) {
                rc = wdn_diag_set_at(diag, WDN_ECONFIG, os->pos.file, os->pos.line, os->pos.col,
                                     "operation without a usable name");
                goto out;
            }
            op = wdn_arena_calloc(&acl->arena, sizeof(*op));
            name = dup_lower(&acl->arena, os->name, true, http);
            if (op == NULL || name == NULL)
                goto out;
            op->name = wdn_arena_strdup(&acl->arena, wdn_str_from_cstr(os->name));
            if (op->name == NULL)
                goto out;
            memset(op->verb_action, NONE, sizeof(op->verb_action));
            op->action = action_of(os->action);
            for (size_t v = 0; v < os->verbs.n; v++) {
                int vi = verb_index(os->verbs.v[v]);
                if (vi < 0) {
                    rc = wdn_diag_set_at(diag, WDN_ECONFIG, os->pos.file, os->pos.line, os->pos.col,
                                         "unknown httpVerb \"%s\"", os->verbs.v[v]);
                    goto out;
                }
                op->verb_action[vi] = op->action;
            }
            if (trie_put(&acl->arena, &pol->root, name, op) != 0)
                goto out;
        }
        acl->n_policies++;
    }
    *out = acl;
    acl = NULL;
    rc = 0;
out:
    if (acl) {
        wdn_arena_reset(&acl->arena);
        free(acl);
    }
    if (rc == WDN_ENOMEM)
        wdn_diag_set(diag, rc, "out of memory compiling access control");
    return rc;
}

void wdn_acl_free(struct wdn_acl *acl)
{
    if (acl == NULL)
        return;
    wdn_arena_reset(&acl->arena);
    free(acl);
}

/* ---- normalisation and evaluation -------------------------------------------------------- */

int wdn_acl_normalize(const char *op, size_t len, char *out, size_t cap)
{
    size_t o = 0, seg_start, nseg = 0;
    size_t i = 0;

    if (cap < 2)
        return WDN_ELIMIT;
    if (len > WDN_POLICY_MAX_OP_BYTES)
        return WDN_EPERM;
    for (;;) {
        /* One segment: decoded into out after a '/', then judged as a whole. */
        if (o + 1 >= cap)
            return WDN_ELIMIT;
        out[o++] = '/';
        seg_start = o;
        while (i < len && op[i] != '/') {
            unsigned char c = (unsigned char)op[i];
            if (c == '%') {
                int hi = i + 2 < len ? wdn_hex_value((unsigned char)op[i + 1]) : -1;
                int lo = i + 2 < len ? wdn_hex_value((unsigned char)op[i + 2]) : -1;
                if (hi < 0 || lo < 0)
                    return WDN_EPERM;
                c = (unsigned char)(hi * 16 + lo);
                /* An encoded separator would make the app see a different path than we did. */
                if (c == '/' || c == '\\')
                    return WDN_EPERM;
                i += 3;
            } else {
                i++;
            }
            if (c < 0x20 || c == 0x7f || c == '?' || c == '#' || c == '\\')
                return WDN_EPERM;
            if (o + 1 >= cap)
                return WDN_ELIMIT;
            out[o++] = (char)c;
        }
        size_t seg_len = o - seg_start;
        if (seg_len == 0 || (seg_len == 1 && out[seg_start] == '.')) {
            o = seg_start - 1; /* drop an empty or "." segment with its '/' */
        } else if (seg_len == 2 && out[seg_start] == '.' && out[seg_start + 1] == '.') {
            /* Dapr resolves ".." (path.Clean); the app might not: refuse. */
            return WDN_EPERM;
        } else if (++nseg > WDN_POLICY_MAX_SEGMENTS) {
            return WDN_EPERM;
        }
        if (i >= len)
            break;
        i++; /* the '/' */
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return 0;
}

int wdn_acl_eval(const struct wdn_acl *acl, const struct wdn_acl_caller *caller, const char *verb,
                 const char *operation, size_t len, struct wdn_acl_decision *out)
{
    char op[WDN_POLICY_MAX_OP_BYTES + 2];
    const struct acl_policy *pol = NULL;
    const struct acl_op *match;
    signed char action;

    if (out == NULL)
        return WDN_EINVAL;
    memset(out, 0, sizeof(*out));
    if (acl == NULL) {
        out->allowed = true;
        out->by = WDN_ACL_BY_NONE;
        out->reason = "no access control configured";
        return 0;
    }
    if (operation == NULL || wdn_acl_normalize(operation, len, op, sizeof(op)) != 0) {
        out->allowed = false;
        out->by = WDN_ACL_BY_INVALID;
        out->reason = "operation refused by normalisation";
        return 0;
    }
    action = acl->default_action;
    out->by = WDN_ACL_BY_GLOBAL;
    out->reason = "global default action";
    if (caller == NULL || caller->app_id == NULL || caller->app_id[0] == '\0' ||
        caller->ns == NULL || caller->trust_domain == NULL) {
        out->reason = "no caller identity: global default action";
        goto done;
    }
    for (size_t i = 0; i < acl->n_policies && pol == NULL; i++) {
        if (strcmp(acl->policies[i].app_id, caller->app_id) == 0 &&
            strcmp(acl->policies[i].ns, caller->ns) == 0)
            pol = &acl->policies[i];
    }
    if (pol == NULL) {
        out->reason = "no policy for the caller: global default action";
        goto done;
    }
    if (strcmp(pol->trust_domain, caller->trust_domain) != 0) {
        out->reason = "trust domain differs from the caller's policy: global default action";
        goto done;
    }
    out->policy_app_id = pol->app_id;
    if (pol->default_action != NONE) {
        action = pol->default_action;
        out->by = WDN_ACL_BY_APP;
        out->reason = "caller's policy default action";
    }
    if (acl->http) {
        for (char *c = op; *c; c++) {
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        }
    }
    match = trie_search(&pol->root, op);
    if (match) {
        out->operation = match->name;
        if (acl->http) {
            if (verb && verb[0]) {
                int vi = verb_index(verb);
                if (vi >= 0 && vi != (int)ANY_VERB && match->verb_action[vi] != NONE) {
                    action = match->verb_action[vi];
                    out->by = WDN_ACL_BY_OPERATION;
                    out->reason = "operation action for the verb";
                } else if (match->verb_action[ANY_VERB] != NONE) {
                    action = match->verb_action[ANY_VERB];
                    out->by = WDN_ACL_BY_OPERATION;
                    out->reason = "operation action for any verb (*)";
                } else {
                    out->reason = "operation matched, verb not listed: default action";
                }
            } else {
                /* Dapr: an HTTP call with no verb falls to the app's default, even empty. */
                action = pol->default_action;
                out->by = WDN_ACL_BY_APP;
                out->reason = "operation matched without a verb: caller's policy default";
            }
        } else {
            action = match->action;
            out->by = WDN_ACL_BY_OPERATION;
            out->reason = "operation action";
        }
    }
done:
    out->allowed = action == ALLOW;
    return 0;
}

const char *wdn_acl_deny_message(const struct wdn_acl_caller *caller, const char *operation,
                                 const char *verb, char *buf, size_t cap)
{
    if (caller && caller->app_id)
        snprintf(buf, cap,
                 "access control policy has denied access to id: spiffe://%s/ns/%s/%s "
                 "operation: %s verb: %s",
                 caller->trust_domain ? caller->trust_domain : "", caller->ns ? caller->ns : "",
                 caller->app_id, operation ? operation : "", verb && verb[0] ? verb : "NONE");
    else
        snprintf(buf, cap, "access control policy has denied access to id:  operation: %s verb: %s",
                 operation ? operation : "", verb && verb[0] ? verb : "NONE");
    return buf;
}
