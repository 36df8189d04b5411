/* The sidecar's refusals, each as the caller meets it: the internal (mTLS) port refusing a
 * certificate without a usable SPIFFE ID, one from another CA, an expired one, and a request for
 * an app this sidecar does not serve; the API port's httpPipeline refusing a request before any
 * routing; method paths that cannot be normalised safely; app IDs whose percent-encoding is
 * broken. Each test checks the status and body the caller gets, that the app never saw the
 * request, the log line of the decision and the metric it counts. Issue 18. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/log.h"
#include "jose/crypto.h"
#include "pki/pki.h"
#include "sidecar/internal.h"
#include "../support/certs.h"
#include "../support/logcap.h"
#include "../support/testapp.h"
#include "../support/testdir.h"
#include "../support/testapp.h"
#include "../support/testdir.h"
#include "../support/testnet.h"
#include "../support/testsc.h"
#include "../support/tlsclient.h"

/* ---- Sidecars ------------------------------------------------------------------------------ */

/* "app": access control (allow by default) and an MCP tool policy on its /mcp path. */
static const char app_res[] = "apiVersion: dapr.io/v1alpha1\n"
                              "kind: Configuration\n"
                              "metadata: {name: acl}\n"
                              "spec:\n"
                              "  accessControl:\n"
                              "    defaultAction: allow\n"
                              "    trustDomain: public\n"
                              "---\n"
                              "apiVersion: warden.dev/v1alpha1\n"
                              "kind: MCPServer\n"
                              "metadata: {name: tools}\n"
                              "spec:\n"
                              "  appId: app\n"
                              "  rules:\n"
                              "  - {callers: ['*'], tools: [add], action: allow}\n"
                              "---\n"
                              "apiVersion: warden.dev/v1alpha1\n"
                              "kind: MCPServer\n"
                              "metadata: {name: elsewhere}\n"
                              "spec:\n"
                              "  appId: elsewhere\n"
                              "  rules:\n"
                              "  - {callers: ['*'], tools: [add], action: allow}\n";

/* "front": a bearer in its httpPipeline (API ingress), before any routing. */
static const char front_res[] =
    "apiVersion: dapr.io/v1alpha1\n"
    "kind: Component\n"
    "metadata: {name: bearer}\n"
    "spec:\n"
    "  type: middleware.http.bearer\n"
    "  version: v1\n"
    "  metadata:\n"
    "  - {name: issuer, value: 'https://issuer.test/'}\n"
    "  - {name: audience, value: front}\n"
    "  - name: jwks\n"
    "    value: '{\"keys\":[{\"kty\":\"EC\",\"x\":\"ktgd6T4o66SwTzvqi_NM3cSiNljzX9jxa3XdKwN2gp8\","
    "\"y\":\"7tDNAcrqPrIvAkoAi__Jd1nbc9n85tOWTXhvXoLg0dc\",\"crv\":\"P-256\",\"kid\":\"fz\","
    "\"alg\":\"ES256\"}]}'\n"
    "---\n"
    "apiVersion: dapr.io/v1alpha1\n"
    "kind: Configuration\n"
    "metadata: {name: ingress}\n"
    "spec:\n"
    "  httpPipeline:\n"
    "    handlers:\n"
    "    - {name: bearer, type: middleware.http.bearer}\n";

struct fx {
    struct testsc app_sc, front;
    int api, internal, front_api;
    struct wdn_pki_cert *ca; /* the CA both sidecars trust (dir/ca) */
};

static struct fx f;

static int setup(void **state)
{
    char res[600], fres[600], ca[600], peers[600], text[128];
    struct wdn_diag d;

    if (testdir_make("sc-refuse") == NULL)
        return -1;
    wdn_log_init("test", WDN_LOG_INFO, false);
    if (logcap_begin() != 0 || testapp_start(NULL, 1 << 20) != 0)
        return -1;
    testdir_path("res", res, sizeof(res));
    testdir_path("fres", fres, sizeof(fres));
    testdir_path("ca", ca, sizeof(ca));
    testdir_path("peers", peers, sizeof(peers));
    mkdir(res, 0700);
    mkdir(fres, 0700);
    testdir_write("res/app.yaml", app_res);
    testdir_write("fres/front.yaml", front_res);
    f.internal = testnet_free_port();
    snprintf(text, sizeof(text), "app 127.0.0.1:%d\n", f.internal);
    testdir_write("peers", text);

    struct wdn_sidecar_opts o = {.app_id = "app",
                                 .app_port = testapp_port(),
                                 .internal_port = f.internal,
                                 .metrics_port = -1,
                                 .workers = 1,
                                 .ca_dir = ca,
                                 .config = "acl",
                                 .resources_paths = {res},
                                 .n_resources_paths = 1};
    testsc_up(&f.app_sc, &o);
    struct wdn_sidecar_opts of = {.app_id = "front",
                                  .metrics_port = -1,
                                  .workers = 1,
                                  .ca_dir = ca,
                                  .config = "ingress",
                                  .peers_file = peers,
                                  .resources_paths = {fres},
                                  .n_resources_paths = 1};
    testsc_up(&f.front, &of);
    f.api = wdn_sidecar_http_port(f.app_sc.sc);
    f.front_api = wdn_sidecar_http_port(f.front.sc);
    f.ca = wdn_pki_ca_load(ca, &d);
    if (f.ca == NULL)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testsc_stop(&f.front);
    testsc_stop(&f.app_sc);
    testapp_stop();
    wdn_pki_cert_free(f.ca);
    logcap_end(true); /* shown by ctest only when a test failed; holds cmocka's messages too */
    if (testdir_remove() != 0)
        return -1;
    wdn_jose_thread_cleanup();
    return 0;
}

/* ---- Plain HTTP to the API ports ----------------------------------------------------------- */

static uint64_t requests(struct testsc *r, int port, int status)
{
    return atomic_load(&r->sc->m.requests[port][status]);
}

/* ---- The internal port --------------------------------------------------------------------- */

/* A client certificate signed by the project CA (or another issuer) with the given SAN. */
static X509 *client_cert(EVP_PKEY *key, const char *san, long not_after, X509 *issuer,
                         EVP_PKEY *issuer_key)
{
    struct certs_spec s = {.cn = "client",
                           .san = san,
                           .eku = "serverAuth,clientAuth",
                           .not_before_secs = -600,
                           .not_after_secs = not_after};
    X509 *x =
        certs_make(key, &s, issuer ? issuer : f.ca->cert, issuer_key ? issuer_key : f.ca->key);
    assert_non_null(x);
    return x;
}

/* One request on the internal port with cert/key; the answer parsed into r, or -1 when the TLS
 * layer refused the certificate (no HTTP answer at all). */
static long internal_req(X509 *cert, EVP_PKEY *key, const char *target, struct testresp *r)
{
    char req[1024];
    long n;

    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n", target);
    n = tlsclient_request(f.internal, f.ca->cert, cert, key, req, r->raw, sizeof(r->raw), 20000);
    if (n > 0)
        testapp_parse(r);
    return n;
}

/* A certificate from the project's own CA whose SAN is not one valid SPIFFE ID: refused with
 * 403 before access control and routing, never forwarded. */
static void test_internal_no_spiffe_identity(void **state)
{
    const char *sans[] = {"URI:spiffe://public/ns/default", /* no app */
                          "DNS:front",                      /* no URI */
                          "URI:spiffe://public/ns/default/a,URI:spiffe://public/ns/default/b",
                          "URI:https://public/ns/default/front",     /* not spiffe */
                          "URI:spiffe://public/ns/default/fr%6Ent"}; /* encoded */
    EVP_PKEY *key = certs_key();
    int before = testapp_count();
    uint64_t denied = requests(&f.app_sc, WDN__SC_PORT_INTERNAL, 403);
    struct testresp r;

    (void)state;
    for (size_t i = 0; i < sizeof(sans) / sizeof(sans[0]); i++) {
        X509 *cert = client_cert(key, sans[i], 3600, NULL, NULL);
        logcap_mark();
        if (internal_req(cert, key, "/v1.0/invoke/app/method/hello", &r) <= 0)
            fail_msg("SAN %s: no HTTP answer: %s", sans[i], r.raw);
        if (r.status != 403)
            fail_msg("SAN %s: status %d, expected 403", sans[i], r.status);
        assert_string_equal(r.body, "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"the caller "
                                    "did not present a valid workload identity\"}");
        assert_true(logcap_wait("reason=no_spiffe_identity status=403", 10000));
        X509_free(cert);
    }
    assert_int_equal(testapp_count(), before);
    assert_int_equal(requests(&f.app_sc, WDN__SC_PORT_INTERNAL, 403),
                     denied + sizeof(sans) / sizeof(sans[0]));
    EVP_PKEY_free(key);
}

/* Certificates the TLS layer refuses: another CA's (whatever SPIFFE ID it names), an expired
 * one from the project CA, none at all. No HTTP answer, nothing forwarded. */
static void test_internal_untrusted_certificates(void **state)
{
    struct certs_spec cs = {
        .cn = "other CA", .ca = 1, .not_before_secs = -600, .not_after_secs = 86400};
    EVP_PKEY *key = certs_key(), *other_key = certs_key();
    X509 *other = certs_make(other_key, &cs, NULL, NULL);
    X509 *foreign =
        client_cert(key, "URI:spiffe://public/ns/default/front", 3600, other, other_key);
    X509 *expired = client_cert(key, "URI:spiffe://public/ns/default/front", -60, NULL, NULL);
    int before = testapp_count();
    struct testresp r;

    (void)state;
    assert_non_null(other);
    assert_int_equal(internal_req(foreign, key, "/v1.0/invoke/app/method/hello", &r), -1);
    assert_int_equal(internal_req(expired, key, "/v1.0/invoke/app/method/hello", &r), -1);
    assert_int_equal(internal_req(NULL, NULL, "/v1.0/invoke/app/method/hello", &r), -1);
    assert_int_equal(testapp_count(), before);
    X509_free(other);
    X509_free(foreign);
    X509_free(expired);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other_key);
}

/* A valid peer asking for an app this sidecar does not serve: 404 in Dapr's shape (the metadata
 * path a plain 404), while the same certificate reaches the app on its own app ID. */
static void test_internal_wrong_app_id(void **state)
{
    EVP_PKEY *key = certs_key();
    X509 *cert = client_cert(key, "URI:spiffe://public/ns/default/front", 3600, NULL, NULL);
    int before = testapp_count();
    struct testresp r;

    (void)state;
    assert_true(internal_req(cert, key, "/v1.0/invoke/other/method/hello", &r) > 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"this sidecar "
                                "does not serve the requested app ID\"}");
    assert_true(internal_req(cert, key, "/v1.0/invoke/app/hello", &r) > 0);
    assert_int_equal(r.status, 404);
    assert_true(internal_req(cert, key, "/hello", &r) > 0);
    assert_int_equal(r.status, 404);
    assert_true(internal_req(cert, key,
                             "/.well-known/oauth-protected-resource/v1.0/invoke/other/method/mcp",
                             &r) > 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "404 page not found\n");
    assert_int_equal(testapp_count(), before);
    /* The same certificate, the right app ID: through to the app. */
    assert_true(internal_req(cert, key, "/v1.0/invoke/app/method/hello", &r) > 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "app says hi");
    assert_int_equal(testapp_count(), before + 1);
    X509_free(cert);
    EVP_PKEY_free(key);
}

/* The decision lines follow the log level: at debug an allowed peer leaves its access decision;
 * at warn a refusal leaves no line (info) while its metric still counts it, and back at info the
 * same refusal is logged again. */
static void test_log_levels(void **state)
{
    EVP_PKEY *key = certs_key();
    X509 *cert = client_cert(key, "URI:spiffe://public/ns/default/front", 3600, NULL, NULL);
    X509 *nameless = client_cert(key, "DNS:front", 3600, NULL, NULL);
    uint64_t denied = requests(&f.app_sc, WDN__SC_PORT_INTERNAL, 403);
    uint64_t missing = atomic_load(&f.front.sc->m.auth_failures[WDN_MW_MISSING_TOKEN]);
    const char *rm = "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: application/json\r\n";
    const char *rm_body =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"rm\"}}";
    struct testresp r;

    (void)state;
    logcap_mark();
    wdn_log_level = WDN_LOG_DEBUG;
    assert_true(internal_req(cert, key, "/v1.0/invoke/app/method/hello", &r) > 0);
    assert_int_equal(r.status, 200);
    assert_true(logcap_wait("decision=allow acl=\"", 10000));
    assert_true(logcap_wait(" caller=front verb=GET", 10000));

    logcap_mark();
    wdn_log_level = WDN_LOG_WARN;
    assert_true(internal_req(nameless, key, "/v1.0/invoke/app/method/hello", &r) > 0);
    assert_int_equal(r.status, 403);
    testapp_http(f.front_api, "GET /v1.0/invoke/app/method/hello HTTP/1.1\r\nHost: x\r\n", NULL,
                 &r);
    assert_int_equal(r.status, 401);
    testapp_http(f.api, rm, rm_body, &r);
    assert_int_equal(r.status, 403);
    wdn_log_level = WDN_LOG_INFO;
    assert_int_equal(requests(&f.app_sc, WDN__SC_PORT_INTERNAL, 403), denied + 1);
    assert_int_equal(atomic_load(&f.front.sc->m.auth_failures[WDN_MW_MISSING_TOKEN]), missing + 1);
    /* The same three at info: each logged (and only these, not the ones at warn). */
    assert_true(internal_req(nameless, key, "/v1.0/invoke/app/method/hello", &r) > 0);
    testapp_http(f.front_api, "GET /v1.0/invoke/app/method/hello HTTP/1.1\r\nHost: x\r\n", NULL,
                 &r);
    testapp_http(f.api, rm, rm_body, &r);
    assert_true(logcap_wait("reason=no_spiffe_identity status=403", 10000));
    assert_true(logcap_wait("handler=bearer reason=missing_token status=401", 10000));
    assert_true(logcap_wait("tool=\"rm\" reason=", 10000));
    assert_int_equal(logcap_count("reason=no_spiffe_identity status=403"), 1);
    assert_int_equal(logcap_count("handler=bearer reason=missing_token status=401"), 1);
    assert_int_equal(logcap_count("tool=\"rm\" reason="), 1);
    assert_int_equal(logcap_count("decision=allow"), 0);
    X509_free(cert);
    X509_free(nameless);
    EVP_PKEY_free(key);
}

/* ---- The API port -------------------------------------------------------------------------- */

/* The httpPipeline runs before routing: a request without a usable token never reaches the
 * invocation, whichever app it names. */
static void test_http_pipeline_refusal(void **state)
{
    int before = testapp_count();
    uint64_t missing = atomic_load(&f.front.sc->m.auth_failures[WDN_MW_MISSING_TOKEN]);
    uint64_t invalid = atomic_load(&f.front.sc->m.auth_failures[WDN_MW_INVALID_TOKEN]);
    struct testresp r;

    (void)state;
    logcap_mark();
    testapp_http(f.front_api,
                 "POST /v1.0/invoke/app/method/hello HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: 0\r\n",
                 NULL, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.raw, "WWW-Authenticate: Bearer"));
    assert_null(strstr(r.raw, "invalid_token"));
    assert_true(logcap_wait("pipeline=httpPipeline handler=bearer reason=missing_token status=401 "
                            "method=POST path=/v1.0/invoke/app/method/hello",
                            10000));
    testapp_http(f.front_api,
                 "GET /v1.0/invoke/app/method/hello HTTP/1.1\r\nHost: x\r\n"
                 "Authorization: Bearer not.a.jwt\r\n",
                 NULL, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.raw, "WWW-Authenticate: Bearer error=\"invalid_token\""));
    assert_true(
        logcap_wait("pipeline=httpPipeline handler=bearer reason=invalid_token check=", 10000));
    /* Even a request for the sidecar's own metadata goes through the pipeline. */
    testapp_http(f.front_api, "GET /v1.0/metadata HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 401);
    assert_int_equal(testapp_count(), before);
    assert_int_equal(atomic_load(&f.front.sc->m.auth_failures[WDN_MW_MISSING_TOKEN]), missing + 2);
    assert_int_equal(atomic_load(&f.front.sc->m.auth_failures[WDN_MW_INVALID_TOKEN]), invalid + 1);
    assert_true(requests(&f.front, WDN__SC_PORT_API, 401) >= 3);
}

/* A method path the MCP guard cannot normalise safely (it might or might not be the guarded
 * /mcp once the app resolves it) is refused with 400 before anything is forwarded. */
static void test_method_path_not_normalisable(void **state)
{
    const char *paths[] = {"x/../mcp", "%2Fmcp", "mc%2fp", "a%5Cmcp", "m%zzcp", "mcp%0A", "%"};
    int before = testapp_count();
    char head[256];
    struct testresp r;

    (void)state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        snprintf(head, sizeof(head),
                 "POST /v1.0/invoke/app/method/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n",
                 paths[i]);
        testapp_http(f.api, head, NULL, &r);
        if (r.status != 400)
            fail_msg("method %s: status %d, expected 400", paths[i], r.status);
        assert_string_equal(r.body, "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"the method "
                                    "path cannot be normalised safely\"}");
    }
    assert_int_equal(testapp_count(), before);
    /* A path that normalises is forwarded (a plain one is not MCP at all). */
    testapp_http(f.api, "GET /v1.0/invoke/app/method/./hello HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(testapp_count(), before + 1);
}

/* Through a peer: the callee's access control cannot evaluate such a path either, and refuses
 * it (403, the ACL's "invalid operation" counted). */
static void test_acl_refuses_unnormalisable_path(void **state)
{
    EVP_PKEY *key = certs_key();
    X509 *cert = client_cert(key, "URI:spiffe://public/ns/default/front", 3600, NULL, NULL);
    uint64_t invalid = atomic_load(&f.app_sc.sc->m.acl[0][WDN_ACL_BY_INVALID]);
    int before = testapp_count();
    struct testresp r;

    (void)state;
    logcap_mark();
    assert_true(internal_req(cert, key, "/v1.0/invoke/app/method/a/../secret", &r) > 0);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "PermissionDenied"));
    assert_true(logcap_wait("acl=\"operation refused by normalisation\"", 10000));
    assert_int_equal(atomic_load(&f.app_sc.sc->m.acl[0][WDN_ACL_BY_INVALID]), invalid + 1);
    assert_int_equal(testapp_count(), before);
    X509_free(cert);
    EVP_PKEY_free(key);
}

/* App IDs in the path are percent-decoded once, strictly: broken escapes and names that are not
 * app IDs after decoding are 400, a valid escape reaches the app. */
static void test_app_id_percent_decoding(void **state)
{
    const char *bad[] = {"ap%zz", "ap%7", "ap%", "%", "a%2Fb", "ap%00p", "app.", ".default"};
    int before = testapp_count();
    char head[512], longid[300];
    struct testresp r;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(head, sizeof(head), "GET /v1.0/invoke/%s/method/x HTTP/1.1\r\nHost: x\r\n",
                 bad[i]);
        testapp_http(f.api, head, NULL, &r);
        if (r.status != 400)
            fail_msg("app id %s: status %d, expected 400", bad[i], r.status);
        assert_string_equal(r.body,
                            "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"invalid app id\"}");
    }
    /* Longer than any app ID and namespace can be. */
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    snprintf(head, sizeof(head), "GET /v1.0/invoke/%s/method/x HTTP/1.1\r\nHost: x\r\n", longid);
    testapp_http(f.api, head, NULL, &r);
    assert_int_equal(r.status, 400);
    /* The same checks on the dapr-app-id header form. */
    testapp_http(f.api, "GET /x HTTP/1.1\r\nHost: x\r\ndapr-app-id: ap%zz\r\n", NULL, &r);
    assert_int_equal(r.status, 400);
    assert_int_equal(testapp_count(), before);
    /* A valid escape decodes to the app's own ID. */
    testapp_http(f.api, "GET /v1.0/invoke/%61pp/method/x HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    testapp_http(f.api, "GET /v1.0/invoke/app%2Edefault/method/x HTTP/1.1\r\nHost: x\r\n", NULL,
                 &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(testapp_count(), before + 2);
}

/* What the API port answers for routes it does not serve: an MCP server name it does not know
 * (echoed only when it could be a resource name, so no caller-chosen text comes back), an
 * invocation without an app ID, another namespace, the metadata endpoint with another method.
 * None reaches the app; the header form with a rooted path does. */
static void test_api_route_refusals(void **state)
{
    static const struct {
        const char *head;
        int status;
        const char *body;
    } cases[] = {
        {"GET /v1.0/mcp/nosuch HTTP/1.1\r\n", 404,
         "{\"errorCode\":\"ERR_MCP_SERVER_NOT_FOUND\",\"message\":\"no MCP server named "
         "'nosuch'\"}"},
        {"GET /v1.0/mcp/Evil%3Cb%3E HTTP/1.1\r\n", 404,
         "{\"errorCode\":\"ERR_MCP_SERVER_NOT_FOUND\",\"message\":\"no MCP server with that "
         "name\"}"},
        {"GET /v1.0/mcp/ HTTP/1.1\r\n", 404,
         "{\"errorCode\":\"ERR_MCP_SERVER_NOT_FOUND\",\"message\":\"no MCP server with that "
         "name\"}"},
        {"GET /v1.0/invoke HTTP/1.1\r\n", 404,
         "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"failed getting app id either "
         "from the URL path or the header dapr-app-id\"}"},
        {"GET /v1.0/state/x HTTP/1.1\r\n", 404, "404 page not found\n"},
        {"GET /v1.0/invoke/app.prod/method/x HTTP/1.1\r\n", 400,
         "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"invalid app id: invoking an app "
         "in another namespace is not supported\"}"},
        {"POST /v1.0/metadata HTTP/1.1\r\nContent-Length: 0\r\n", 405, "Method Not Allowed"},
        {"PUT /v1.0/healthz HTTP/1.1\r\nContent-Length: 0\r\n", 405, "Method Not Allowed"},
    };
    int before = testapp_count();
    char head[512];
    struct testresp r;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(head, sizeof(head), "%sHost: x\r\n", cases[i].head);
        testapp_http(f.api, head, NULL, &r);
        if (r.status != cases[i].status || strcmp(r.body, cases[i].body) != 0)
            fail_msg("%s: %d %s", cases[i].head, r.status, r.body);
    }
    assert_int_equal(testapp_count(), before);
    /* The header form: the whole path is the method, leading slashes dropped. */
    testapp_http(f.api, "GET //hello HTTP/1.1\r\nHost: x\r\ndapr-app-id: app\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "app says hi");
    assert_int_equal(testapp_count(), before + 1);
}

/* ---- The MCP guard's request body ---------------------------------------------------------- */

/* The guard reads the whole JSON-RPC body before deciding: one larger than a JSON-RPC message
 * may be is refused with 413 from its Content-Length alone, a broken chunked body with 400, and
 * neither reaches the app. */
static void test_mcp_body_refusals(void **state)
{
    int before = testapp_count();
    char head[512];
    struct testresp r;

    (void)state;
    snprintf(head, sizeof(head),
             "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/json\r\nContent-Length: %u\r\n",
             WDN_JSONRPC_MAX_BYTES + 1);
    testapp_http(f.api, head, NULL, &r);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"request body "
                                "too large\"}");
    testapp_http(f.api,
                 "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n"
                 "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "zz\r\n{}\r\n0\r\n",
                 NULL, &r);
    assert_int_equal(r.status, 400);
    assert_int_equal(testapp_count(), before);
    /* The same path with a message the policy allows reaches the app. */
    testapp_http(
        f.api,
        "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 70\r\n\r\n"
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"add\"}}",
        NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(testapp_count(), before + 1);
}

/* The tools/list answer is filtered to the caller's grants; an answer the filter cannot read
 * (here the app's plain text) is refused, never passed on unfiltered, and logged. */
static void test_unreadable_tools_list_refused(void **state)
{
    struct testresp r;

    (void)state;
    logcap_mark();
    testapp_http(f.api,
                 "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n"
                 "Content-Type: application/json\r\nContent-Length: 46\r\n\r\n"
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}",
                 NULL, &r);
    assert_int_equal(r.status, 502);
    /* (the body is followed by the answer to the helper's trailing "Connection: close" line) */
    assert_non_null(strstr(r.body, "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"failed to "
                                   "invoke, id: app, err: app channel: protocol violation\"}"));
    assert_null(strstr(r.raw, "app says hi"));
    assert_true(logcap_wait("mcpserver=tools the tools/list answer could not be read (", 10000));
}

/* ---- Protected resource metadata (RFC 9728) ------------------------------------------------ */

#define PRM "/.well-known/oauth-protected-resource"

/* The root form answers for the whole port only when it is unambiguous: the ingress bearer
 * guards every route (front), or the sidecar knows exactly one MCP server. "app" knows two
 * (tools, elsewhere) and no bearer guards its port: 404, not a guess. */
static void test_metadata_root_form(void **state)
{
    char want[512];
    struct testresp r;

    (void)state;
    testapp_http(f.front_api, "GET " PRM " HTTP/1.1\r\nHost: front.test\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    /* The resource is the port's own origin, never taken from the Host header. */
    snprintf(want, sizeof(want),
             "{\"resource\":\"http://127.0.0.1:%d\",\"authorization_servers\":"
             "[\"https://issuer.test/\"],\"bearer_methods_supported\":[\"header\"]}",
             f.front_api);
    assert_string_equal(r.body, want);
    assert_non_null(strstr(r.raw, "Access-Control-Allow-Origin: *"));
    testapp_http(f.api, "GET " PRM " HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "404 page not found\n");
    testapp_http(f.api, "GET " PRM "/ HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    /* Only GET, HEAD and the CORS preflight. */
    testapp_http(f.front_api, "DELETE " PRM " HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.raw, "Allow: GET, HEAD, OPTIONS"));
}

/* A peer asks the app's sidecar for the document of a route over the internal port: only GET
 * or HEAD (405 otherwise), and a method path that cannot be normalised has no document (404). */
static void test_metadata_for_peer_refusals(void **state)
{
    EVP_PKEY *key = certs_key();
    X509 *cert = client_cert(key, "URI:spiffe://public/ns/default/front", 3600, NULL, NULL);
    char req[512];
    struct testresp r;
    long n;

    (void)state;
    snprintf(req, sizeof(req),
             "POST " PRM "/v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: app\r\n"
             "Content-Length: 0\r\nConnection: close\r\n\r\n");
    n = tlsclient_request(f.internal, f.ca->cert, cert, key, req, r.raw, sizeof(r.raw), 20000);
    assert_true(n > 0);
    testapp_parse(&r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.body, "Method Not Allowed");
    assert_true(internal_req(cert, key, PRM "/v1.0/invoke/app/method/a/../mcp", &r) > 0);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "404 page not found\n");
    X509_free(cert);
    EVP_PKEY_free(key);
}

/* HEAD answers as GET does, without the body; a route to another app behind this port's own
 * bearer is answered here (the ingress guards it) rather than asked of the app's sidecar. */
static void test_metadata_head_and_ingress_route(void **state)
{
    char want[512];
    struct testresp r;

    (void)state;
    testapp_http(f.front_api, "HEAD " PRM " HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "");
    assert_non_null(strstr(r.raw, "Access-Control-Allow-Origin: *"));
    testapp_http(f.front_api, "GET " PRM "/v1.0/invoke/app/method/x HTTP/1.1\r\nHost: x\r\n", NULL,
                 &r);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want),
             "{\"resource\":\"http://127.0.0.1:%d/v1.0/invoke/app/method/x\","
             "\"authorization_servers\":[\"https://issuer.test/\"]",
             f.front_api);
    if (strncmp(r.body, want, strlen(want)) != 0)
        fail_msg("expected %s... got %s", want, r.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_internal_no_spiffe_identity),
        cmocka_unit_test(test_internal_untrusted_certificates),
        cmocka_unit_test(test_internal_wrong_app_id),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_http_pipeline_refusal),
        cmocka_unit_test(test_method_path_not_normalisable),
        cmocka_unit_test(test_acl_refuses_unnormalisable_path),
        cmocka_unit_test(test_app_id_percent_decoding),
        cmocka_unit_test(test_api_route_refusals),
        cmocka_unit_test(test_mcp_body_refusals),
        cmocka_unit_test(test_unreadable_tools_list_refused),
        cmocka_unit_test(test_metadata_root_form),
        cmocka_unit_test(test_metadata_head_and_ingress_route),
        cmocka_unit_test(test_metadata_for_peer_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
