/* Edges of the pipeline core and the bearer's request path (issue 18), offline (inline keys):
 * a metadata URL that cannot be quoted is left out of the challenge, not sent broken; "aud"
 * forms the resource check meets (a number, non-strings, more entries than are examined); a
 * token without "sub"; the claims exported for the MCP policy (objects and nested arrays are
 * not, the count is bounded); two bearer handlers in one pipeline (their resource facts merged,
 * issuers and scopes once); handlers whose component has another version or an unsupported
 * type; metadata names too long or too far from any field for a suggestion, an item without a
 * name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "jose/jwt.h"
#include "pipeline/pipeline.h"
#include "../support/bearerdoc.h"

static struct wdn_jose_key *key;
static char *jwks;

static int setup(void **state)
{
    (void)state;
    jwks = bd_es256(&key);
    return jwks ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    wdn_jose_key_free(key);
    free(jwks);
    wdn_jose_thread_cleanup();
    return 0;
}

/* A set of documents (text used as given). */
static struct wdn_resources *load_doc(const char *doc)
{
    struct wdn_resources *set = wdn_resources_new();

    wdn_resources_load_buffer(set, "p.yaml", NULL, doc, strlen(doc));
    if (set->n_errors) {
        char buf[1200];
        for (size_t i = 0; i < set->n_msgs; i++)
            print_error("%s\n", wdn_resources_msg_format(&set->msgs[i], buf, sizeof(buf)));
        fail_msg("the loader refused the documents");
    }
    return set;
}

/* The bearer Component with inline keys, issuer https://as.test/ and the extra metadata. */
static struct wdn_resources *load(const char *extra)
{
    char *meta = NULL;
    struct wdn_resources *set;

    assert_true(asprintf(&meta,
                         "  - name: issuer\n    value: https://as.test/\n"
                         "  - name: jwks\n    value: '%s'\n%s",
                         jwks, extra) > 0);
    set = bd_load("p.yaml", meta);
    free(meta);
    return set;
}

static int build(struct wdn_resources *set, const char *app, struct wdn_pipeline **p,
                 struct wdn_diag *d)
{
    return bd_build(set, app, NULL, p, d);
}

static char *token(const char *claims_tail)
{
    char claims[16384];
    int64_t now = wdn_clock_unix();

    snprintf(claims, sizeof(claims), "{\"iss\":\"https://as.test/\",\"iat\":%lld,\"exp\":%lld%s}",
             (long long)now, (long long)now + 600, claims_tail);
    return bd_sign(key, claims);
}

#define run bd_run
#define hdr bd_header

/* ---- the bearer's answers ---------------------------------------------------------------- */

/* The sidecar's metadata URL goes into the challenge only when it can be quoted; a request
 * without a token and no required scopes gets just that parameter. */
static void test_challenge_metadata_url(void **state)
{
    struct wdn_resources *set = load("  - name: audience\n    value: api\n");
    static const char *const unquotable[] = {"http://127.0.0.1:3500/a\"b", "http://x/a b",
                                             "http://x/a\\b", "http://x/caf\xc3\xa9",
                                             "http://x/a\x7f"};
    struct wdn_pipeline_req rq = {.resource_metadata = "http://127.0.0.1:3500/.well-known/"
                                                       "oauth-protected-resource"};
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_out o;
    struct wdn_arena a;
    struct wdn_diag d;

    (void)state;
    wdn_arena_init(&a, 4096, 0);
    assert_int_equal(build(set, "app", &p, &d), 0);
    assert_int_equal(run(p, NULL, &rq, &a, &o), 401);
    assert_string_equal(hdr(&o, "WWW-Authenticate"),
                        "Bearer resource_metadata=\"http://127.0.0.1:3500/.well-known/"
                        "oauth-protected-resource\"");
    for (size_t i = 0; i < sizeof(unquotable) / sizeof(unquotable[0]); i++) {
        rq.resource_metadata = unquotable[i];
        assert_int_equal(run(p, NULL, &rq, &a, &o), 401);
        assert_string_equal(hdr(&o, "WWW-Authenticate"), "Bearer");
        assert_int_equal(run(p, "not-a-jwt", &rq, &a, &o), 401);
        assert_null(strstr(hdr(&o, "WWW-Authenticate"), "resource_metadata"));
    }
    wdn_pipeline_free(p);
    wdn_resources_free(set);
    wdn_arena_reset(&a);
}

/* requireResourceAudience: the resource must be a string of "aud"; a number, a non-string
 * entry or an entry past the WDN_JWT_MAX_AUDIENCES examined does not count. A token without
 * "sub" passes with no subject. */
static void test_resource_audience_forms(void **state)
{
    static const char res[] = "http://127.0.0.1:3500/v1.0/mcp/w";
    struct wdn_resources *set = load("  - name: requireResourceAudience\n    value: \"true\"\n");
    struct wdn_pipeline_req rq = {.resource = res};
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_out o;
    struct wdn_arena a;
    struct wdn_diag d;
    char tail[8192], *t;
    size_t k;

    (void)state;
    wdn_arena_init(&a, 4096, 0);
    assert_int_equal(build(set, "app", &p, &d), 0);

    t = token(",\"aud\":7");
    assert_int_equal(run(p, t, &rq, &a, &o), 401);
    assert_int_equal(o.jwt_reason, WDN_JWT_WRONG_AUDIENCE);
    free(t);
    t = token(",\"aud\":{\"x\":\"http://127.0.0.1:3500/v1.0/mcp/w\"}");
    assert_int_equal(run(p, t, &rq, &a, &o), 401);
    free(t);
    /* Non-string entries are skipped, a later string entry counts; no "sub": no subject. */
    t = token(",\"aud\":[5,null,\"http://127.0.0.1:3500/v1.0/mcp/w\"]");
    assert_int_equal(run(p, t, &rq, &a, &o), 0);
    assert_null(o.subject);
    free(t);
    /* The resource as entry 33 is past what is examined: refused. As entry 32 it is found. */
    for (int at = WDN_JWT_MAX_AUDIENCES; at <= WDN_JWT_MAX_AUDIENCES + 1; at++) {
        k = (size_t)snprintf(tail, sizeof(tail), ",\"sub\":\"u\",\"aud\":[");
        for (int i = 1; i < at; i++)
            k += (size_t)snprintf(tail + k, sizeof(tail) - k, "\"urn:other:%d\",", i);
        snprintf(tail + k, sizeof(tail) - k, "\"%s\"]", res);
        t = token(tail);
        assert_int_equal(run(p, t, &rq, &a, &o), at <= WDN_JWT_MAX_AUDIENCES ? 0 : 401);
        free(t);
    }
    wdn_pipeline_free(p);
    wdn_resources_free(set);
    wdn_arena_reset(&a);
}

/* The claims exported for the MCP tool policy: strings, numbers and booleans (each array
 * element on its own), not objects or nested arrays, and at most WDN_PIPELINE_MAX_CLAIMS. */
static void test_exported_claims(void **state)
{
    struct wdn_resources *set = load("  - name: audience\n    value: api\n");
    struct wdn_pipeline_req rq = {.want_auth = true};
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_out o;
    struct wdn_arena a;
    struct wdn_diag d;
    char tail[8192], *t;
    size_t k;
    int admin = 0, flags = 0, nested = 0, addr = 0;

    (void)state;
    wdn_arena_init(&a, 4096, 0);
    assert_int_equal(build(set, "app", &p, &d), 0);
    t = token(",\"aud\":\"api\",\"sub\":\"u\",\"admin\":true,\"flags\":[false,3.5,\"x\"],"
              "\"nested\":[[\"a\"],{\"b\":1}],\"address\":{\"city\":\"Oslo\"}");
    assert_int_equal(run(p, t, &rq, &a, &o), 0);
    free(t);
    for (size_t i = 0; i < o.n_claims; i++) {
        const char *n = o.claims[i].name, *v = o.claims[i].value;
        admin += strcmp(n, "admin") == 0 && strcmp(v, "true") == 0;
        flags += strcmp(n, "flags") == 0 &&
                 (strcmp(v, "false") == 0 || strcmp(v, "3.5") == 0 || strcmp(v, "x") == 0);
        nested += strcmp(n, "nested") == 0;
        addr += strcmp(n, "address") == 0;
    }
    assert_int_equal(admin, 1);
    assert_int_equal(flags, 3);
    assert_int_equal(nested, 0);
    assert_int_equal(addr, 0);

    /* 100 group values: the first 64 claims values are kept. */
    k = (size_t)snprintf(tail, sizeof(tail), ",\"aud\":\"api\",\"groups\":[");
    for (int i = 0; i < 100; i++)
        k += (size_t)snprintf(tail + k, sizeof(tail) - k, "%s\"g%d\"", i ? "," : "", i);
    snprintf(tail + k, sizeof(tail) - k, "]");
    t = token(tail);
    assert_int_equal(run(p, t, &rq, &a, &o), 0);
    free(t);
    assert_int_equal(o.n_claims, WDN_PIPELINE_MAX_CLAIMS);
    wdn_pipeline_free(p);
    wdn_resources_free(set);
    wdn_arena_reset(&a);
}

/* ---- the pipeline core -------------------------------------------------------------------- */

/* Two bearer handlers: a request must pass both; the resource facts are merged (the first
 * handler's resource and metadata URL, issuers and scopes once each, requireResourceAudience
 * when either asks). */
static void test_two_handlers_merged(void **state)
{
    char *doc = NULL, *t;
    struct wdn_resources *set;
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_resource res;
    struct wdn_pipeline_req rq = {.resource = "https://mcp.test/mcp"};
    struct wdn_pipeline_out o;
    struct wdn_arena a;
    struct wdn_diag d;

    (void)state;
    assert_true(
        asprintf(&doc,
                 "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: first}\n"
                 "spec:\n  type: middleware.http.bearer\n  version: v1\n  metadata:\n"
                 "  - {name: issuer, value: 'https://as.test/'}\n  - {name: audience, value: api}\n"
                 "  - {name: jwks, value: '%s'}\n  - {name: requiredScopes, value: 'read'}\n"
                 "  - {name: resource, value: 'https://mcp.test/mcp'}\n"
                 "  - {name: resourceMetadata, value: 'https://mcp.test/prm'}\n"
                 "---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: second}\n"
                 "spec:\n  type: middleware.http.bearer\n  version: v1\n  metadata:\n"
                 "  - {name: issuer, value: 'https://as.test/'}\n  - {name: audience, value: api}\n"
                 "  - {name: jwks, value: '%s'}\n  - {name: requiredScopes, value: 'read write'}\n"
                 "  - {name: resource, value: 'https://other.test/mcp'}\n"
                 "  - {name: requireResourceAudience, value: 'true'}\n"
                 "---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: cfg}\n"
                 "spec:\n  appHttpPipeline:\n    handlers:\n"
                 "    - {name: first, type: middleware.http.bearer}\n"
                 "    - {name: second, type: middleware.http.bearer, version: v1}\n",
                 jwks, jwks) > 0);
    set = load_doc(doc);
    free(doc);
    wdn_arena_init(&a, 4096, 0);
    /* No app ID: the components' scopes are not consulted. */
    assert_int_equal(build(set, NULL, &p, &d), 0);
    assert_int_equal(wdn_pipeline_count(p), 2);
    assert_true(wdn_pipeline_resource(p, &res));
    assert_string_equal(res.resource, "https://mcp.test/mcp");
    assert_string_equal(res.resource_metadata, "https://mcp.test/prm");
    assert_int_equal(res.n_issuers, 1);
    assert_string_equal(res.issuers[0], "https://as.test/");
    assert_int_equal(res.n_scopes, 2);
    assert_string_equal(res.scopes[0], "read");
    assert_string_equal(res.scopes[1], "write");
    assert_true(res.require_resource_audience);
    assert_false(res.introspects);

    /* The first passes a token with "read" only; the second refuses it (scope), and says so. */
    t = token(",\"aud\":[\"api\",\"https://other.test/mcp\"],\"sub\":\"u\",\"scope\":\"read\"");
    assert_int_equal(run(p, t, &rq, &a, &o), 403);
    assert_string_equal(o.handler, "second");
    free(t);
    /* The second binds the token to its own resource. */
    t = token(",\"aud\":[\"api\",\"https://mcp.test/mcp\"],\"sub\":\"u\",\"scope\":\"read write\"");
    assert_int_equal(run(p, t, &rq, &a, &o), 401);
    assert_string_equal(o.handler, "second");
    assert_int_equal(o.jwt_reason, WDN_JWT_WRONG_AUDIENCE);
    free(t);
    t = token(
        ",\"aud\":[\"api\",\"https://other.test/mcp\"],\"sub\":\"u\",\"scope\":\"read write\"");
    assert_int_equal(run(p, t, &rq, &a, &o), 0);
    assert_null(o.handler);
    free(t);
    wdn_pipeline_free(p);
    wdn_resources_free(set);
    wdn_arena_reset(&a);

    /* Nothing to build. */
    assert_false(wdn_pipeline_resource(NULL, &res));
    assert_int_equal(wdn_pipeline_build(NULL, NULL, "app", NULL, &p, &d), 0);
    assert_null(p);
    assert_string_equal(wdn_mw_reason_name((enum wdn_mw_reason) - 1), "internal");
}

/* A handler whose component has another version (the loader takes only v1 handlers, so a v2
 * component), or a type warden does not run: refused at the handler's line or the component's
 * type (never skipped, which would drop the check). */
static void test_handler_refusals(void **state)
{
    static const struct {
        const char *ctype, *cversion, *htype, *hversion, *want;
        unsigned line;
    } cases[] = {
        {"middleware.http.bearer", "v2", "middleware.http.bearer", NULL,
         "handler 'h' has type middleware.http.bearer/v1 but component 'h' is "
         "middleware.http.bearer/v2",
         15},
        {"middleware.http.oauth2", "v1", "middleware.http.oauth2", NULL,
         "component 'h': middleware type 'middleware.http.oauth2' is not supported by warden "
         "(supported: middleware.http.bearer)",
         6},
        {"bindings.kafka", "v1", "bindings.kafka", NULL,
         "component 'h': warden runs no component of type 'bindings.kafka' (only "
         "middleware.http.bearer); it is kept and not used",
         6},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[2048], hv[64] = "";
        struct wdn_resources *set;
        struct wdn_pipeline *p = NULL;
        struct wdn_diag d;

        if (cases[i].hversion)
            snprintf(hv, sizeof(hv), "\n      version: %s", cases[i].hversion);
        snprintf(doc, sizeof(doc),
                 "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: h\nspec:\n"
                 "  type: %s\n  version: %s\n"
                 "---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: cfg}\n"
                 "spec:\n  appHttpPipeline:\n    handlers:\n    - name: h\n      type: %s%s\n",
                 cases[i].ctype, cases[i].cversion, cases[i].htype, hv);
        set = load_doc(doc);
        assert_int_equal(build(set, "app", &p, &d), WDN_ECONFIG);
        assert_null(p);
        if (strcmp(d.msg, cases[i].want) != 0)
            fail_msg("case %zu: got '%s'", i, d.msg);
        assert_int_equal(d.line, cases[i].line);
        wdn_resources_free(set);
    }
}

/* Unknown metadata names: a suggestion only when one field is near; a name longer than any
 * field gets none. An item without a name (the loader never makes one) is refused too. */
static void test_metadata_names(void **state)
{
    static char long_name[80];
    struct wdn_res_meta_item items[2] = {
        {{"h.yaml", 9, 5}, "issuer", "https://as.test/", {{NULL, 0, 0}, NULL, NULL}},
        {{"h.yaml", 11, 5}, NULL, "x", {{NULL, 0, 0}, NULL, NULL}},
    };
    struct wdn_res_component c;
    struct wdn_resources *set;
    struct wdn_diag d;
    char extra[256];

    (void)state;
    set = load("  - name: zzzzzz\n    value: x\n");
    assert_int_equal(wdn_pipeline_check_component(set->components[0], &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "unknown metadata field zzzzzz (known: issuer, audience,"));
    wdn_resources_free(set);

    memset(long_name, 'a', 70);
    memcpy(long_name, "issuerissuer", 12);
    snprintf(extra, sizeof(extra), "  - name: %s\n    value: x\n", long_name);
    set = load(extra);
    assert_int_equal(wdn_pipeline_check_component(set->components[0], &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "unknown metadata field issuerissueraaaa"));
    assert_null(strstr(d.msg, "did you mean"));
    assert_non_null(strstr(d.msg, "(known: issuer,"));
    wdn_resources_free(set);

    memset(&c, 0, sizeof(c));
    c.pos = (struct wdn_res_pos){"h.yaml", 1, 1};
    c.metadata.name = "h";
    c.spec.pos = (struct wdn_res_pos){"h.yaml", 5, 3};
    c.spec.type = "middleware.http.bearer";
    c.spec.metadata = items;
    c.spec.n_metadata = 2;
    wdn_diag_clear(&d);
    assert_int_equal(wdn_pipeline_check_component(&c, &d), WDN_ECONFIG);
    assert_string_equal(d.msg,
                        "component 'h' (middleware.http.bearer): a metadata item without a name");
    assert_int_equal(d.line, 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge_metadata_url),
        cmocka_unit_test(test_resource_audience_forms),
        cmocka_unit_test(test_exported_claims),
        cmocka_unit_test(test_two_handlers_merged),
        cmocka_unit_test(test_handler_refusals),
        cmocka_unit_test(test_metadata_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
