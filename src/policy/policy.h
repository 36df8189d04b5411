/* Authorization, compiled at load time and evaluated in a plain loop: Dapr's service-invocation
 * access control (spec.accessControl) and warden's per-tool MCP policy (kind MCPServer). */
#ifndef WDN_POLICY_POLICY_H
#define WDN_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"
#include "resources/resources.h"

/* ---- Service invocation access control (Dapr semantics, pkg/acl) --------------------- */

/** A compiled accessControl; owns copies of everything it needs (the set may be freed). */
struct wdn_acl;

/** Who calls, from the mTLS peer's SPIFFE ID (parsed by src/pki). Borrowed strings. */
struct wdn_acl_caller {
    const char *trust_domain;
    const char *ns;
    const char *app_id;
};

/** What decided. */
enum wdn_acl_by {
    WDN_ACL_BY_NONE = 0,  /* no access control configured: allowed */
    WDN_ACL_BY_GLOBAL,    /* accessControl.defaultAction */
    WDN_ACL_BY_APP,       /* the caller's policy defaultAction */
    WDN_ACL_BY_OPERATION, /* an operation's action for this verb (or gRPC) */
    WDN_ACL_BY_INVALID,   /* the operation was refused before matching (.., %2F, NUL ...) */
};

/** The result of one evaluation. Pointers are borrowed from the acl (or static). */
struct wdn_acl_decision {
    bool allowed;
    enum wdn_acl_by by;
    const char *policy_app_id; /* the matching policy's appId, or NULL */
    const char *operation;     /* the matching operation's name as configured, or NULL */
    const char *reason;        /* short, static, for logs */
};

/**
 * Compiles spec (may be NULL or absent). http selects Dapr's HTTP behaviour (operation names
 * and paths compared lower-cased, verbs consulted) versus gRPC (case-sensitive, the
 * operation's action). *out is NULL when no access control is configured (Dapr: everything
 * allowed) -- wdn_acl_eval treats a NULL acl that way. Returns 0, WDN_ENOMEM, or WDN_ECONFIG
 * with diag filled for a spec the loader should have refused.
 */
int wdn_acl_compile(const struct wdn_res_access_control *spec, bool http, struct wdn_acl **out,
                    struct wdn_diag *diag);
/** Frees a compiled acl; NULL is fine. */
void wdn_acl_free(struct wdn_acl *acl);

/**
 * Decides one invocation. caller NULL (or an empty app ID) means no verified identity: the
 * global default applies, as in Dapr. verb is the HTTP method (NULL or "" for none / gRPC);
 * operation is the raw `<method...>` part of the invoke URL, still percent-encoded, len bytes.
 * The operation is normalised first (wdn_acl_normalize); one that cannot be normalised safely
 * is denied. Fills *out; returns 0 (WDN_EINVAL for a NULL out).
 */
int wdn_acl_eval(const struct wdn_acl *acl, const struct wdn_acl_caller *caller, const char *verb,
                 const char *operation, size_t len, struct wdn_acl_decision *out);

/**
 * Normalises an invoke method path as the ACL sees it: percent-decoded, a leading '/', empty
 * and "." segments dropped. Refused (WDN_EPERM) when ambiguous: a ".." segment, an encoded
 * '/' or '\\', a NUL or control byte, '?', '#', a bad escape, more than
 * WDN_POLICY_MAX_SEGMENTS segments; WDN_ELIMIT when it does not fit cap. No case change.
 */
int wdn_acl_normalize(const char *op, size_t len, char *out, size_t cap);

/** Dapr's deny message: "access control policy has denied access to id: spiffe://... operation:
 * OP verb: VERB" (into buf). Returns buf. */
const char *wdn_acl_deny_message(const struct wdn_acl_caller *caller, const char *operation,
                                 const char *verb, char *buf, size_t cap);

/* ---- MCP tool policy (kind MCPServer, docs/resources.md) ------------------------------- */

struct wdn_tool_policy;

/** One claim of the verified token, as text (an array claim gives one entry per element). */
struct wdn_tool_claim {
    const char *name;
    const char *value;
};

/** What the caller's token carries (all borrowed; may be all empty without a token). */
struct wdn_tool_auth {
    const char *const *scopes;
    size_t n_scopes;
    const struct wdn_tool_claim *claims;
    size_t n_claims;
};

struct wdn_tool_decision {
    bool allowed;
    int rule;           /* index in spec.rules, or -1 for the defaultAction */
    const char *reason; /* static, for logs */
};

/** Compiles an MCPServer's rules (copies what it keeps). 0, WDN_ENOMEM or WDN_ECONFIG. */
int wdn_tool_policy_compile(const struct wdn_res_mcpserver *srv, struct wdn_tool_policy **out,
                            struct wdn_diag *diag);
void wdn_tool_policy_free(struct wdn_tool_policy *p);

/** The MCP server's app ID the policy guards (borrowed from p). */
const char *wdn_tool_policy_app_id(const struct wdn_tool_policy *p);

/**
 * Decides a tools/call: a matching deny rule wins; else a matching allow rule whose
 * requireScopes and requireClaims the token satisfies; else the defaultAction (deny unless
 * configured otherwise). caller NULL matches no rule. auth may be NULL.
 */
int wdn_tool_policy_eval(const struct wdn_tool_policy *p, const char *caller, const char *tool,
                         const struct wdn_tool_auth *auth, struct wdn_tool_decision *out);

/**
 * True when the caller could be granted at least one tool (an allow rule naming the caller
 * whose conditions the token meets, or defaultAction allow). A caller with no grant at all
 * is answered like an unknown endpoint by the proxy.
 */
bool wdn_tool_policy_has_grant(const struct wdn_tool_policy *p, const char *caller,
                               const struct wdn_tool_auth *auth);

/**
 * Filters a tools/list: keep[i] = whether tools[i] is allowed for caller. Returns the number
 * kept.
 */
size_t wdn_tool_policy_filter(const struct wdn_tool_policy *p, const char *caller,
                              const struct wdn_tool_auth *auth, const char *const *tools, size_t n,
                              bool *keep);

/**
 * Step-up (RFC 6750 insufficient_scope): the scopes that would let caller use tool (NULL: any
 * tool, for a caller without any grant), that is the requireScopes of the first allow rule
 * naming caller (and tool) whose claims the token meets but whose scopes it lacks, unless a
 * deny rule matches caller and tool or a rule grants it already. Writes pointers into p (alive
 * while p is) to out, at most cap; returns how many (0: more scopes would not help).
 */
size_t wdn_tool_policy_scopes_needed(const struct wdn_tool_policy *p, const char *caller,
                                     const char *tool, const struct wdn_tool_auth *auth,
                                     const char **out, size_t cap);

/** Every scope a rule of p requires, once each (pointers into p), at most cap; returns how
 * many. For the metadata document's scopes_supported. */
size_t wdn_tool_policy_scopes(const struct wdn_tool_policy *p, const char **out, size_t cap);

/** '*'-glob match of a whole string (used for tool names). */
bool wdn_policy_glob(const char *pattern, const char *s);

#endif
