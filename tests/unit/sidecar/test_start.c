/* What `warden sidecar` refuses at start (sidecar.c's options, config.c's choice and
 * compilation of the configuration, listen.c's addresses): each refusal returns its error code,
 * says what to fix in the diagnostic (with file:line when a resource is at fault), logs the
 * configuration errors, and leaves no sidecar behind. Also the MCPServer endpoint path the
 * guard protects, as compiled from the endpoint URL. Issue 18. */
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
#include "project/project.h"
#include "project/store.h"
#include "sidecar/internal.h"
#include "../support/logcap.h"
#include "../support/testdir.h"
#include "../support/testnet.h"
#include "../support/testsc.h"

static int setup(void **state)
{
    (void)state;
    if (testdir_make("sc-start") == NULL)
        return -1;
    wdn_log_init("test", WDN_LOG_INFO, false);
    return logcap_begin();
}

static int teardown(void **state)
{
    (void)state;
    logcap_end(true); /* shown by ctest only when a test failed */
    if (testdir_remove() != 0)
        return -1;
    wdn_jose_thread_cleanup();
    return 0;
}

/* wdn_sidecar_new must fail with rc and a message holding msg, and leave nothing. */
static void refused(const struct wdn_sidecar_opts *o, int rc, const char *msg)
{
    struct wdn_sidecar *sc = (struct wdn_sidecar *)&sc; /* overwritten with NULL */
    struct wdn_diag d;

    if (wdn_sidecar_new(o, &sc, &d) != rc)
        fail_msg("expected %s, got %s: %s", wdn_errname(rc), wdn_errname(d.code), d.msg);
    assert_null(sc);
    assert_int_equal(d.code, rc);
    if (strstr(d.msg, msg) == NULL)
        fail_msg("message \"%s\" does not hold \"%s\"", d.msg, msg);
}

/* ---- Options ------------------------------------------------------------------------------- */

static void test_option_refusals(void **state)
{
    char ca[512], certs[512], token[WDN_SIDECAR_MAX_API_TOKEN + 2];

    (void)state;
    testdir_path("ca", ca, sizeof(ca));
    testdir_path("certs", certs, sizeof(certs));
    struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1, .ca_dir = ca};

    o.app_protocol = "grpc";
    refused(&o, WDN_EUNSUPPORTED, "--app-protocol grpc is not supported (http only)");
    o.app_protocol = "http"; /* the one protocol: accepted further down */
    o.trust_domain = "Not A Domain";
    refused(&o, WDN_EINVAL, "--trust-domain/--namespace: ");
    o.trust_domain = NULL;
    o.ns = "bad/namespace";
    refused(&o, WDN_EINVAL, "--trust-domain/--namespace: ");
    o.ns = NULL;
    memset(token, 't', sizeof(token) - 1);
    token[sizeof(token) - 1] = '\0';
    o.api_token = token;
    refused(&o, WDN_ELIMIT, "DAPR_API_TOKEN is too long");
    token[WDN_SIDECAR_MAX_API_TOKEN] = '\0'; /* the longest accepted (checked below) */
    o.cert_dir = certs;
    refused(&o, WDN_EINVAL, "--cert-dir and --ca-dir cannot be used together");
    o.cert_dir = NULL;
    o.project = "nowhere";
    refused(&o, WDN_ENOTFOUND, "project 'nowhere' does not exist (warden project create)");
    o.project = NULL;
    o.peers_file = "/nonexistent/peers";
    refused(&o, WDN_EIO, "cannot open peers file /nonexistent/peers");
    {
        /* One entry more than WDN_SIDECAR_MAX_PEERS: refused at that line. */
        char path[600];
        FILE *fp;
        testdir_path("many-peers", path, sizeof(path));
        fp = fopen(path, "w");
        assert_non_null(fp);
        for (int i = 0; i <= WDN_SIDECAR_MAX_PEERS; i++)
            fprintf(fp, "app-%d 127.0.0.1:%d\n", i, 1000 + i);
        fclose(fp);
        o.peers_file = path;
        refused(&o, WDN_ELIMIT, "too many peers");
    }
    o.peers_file = NULL;

    /* The same options, each fixed: the sidecar is made. */
    struct wdn_sidecar *sc = NULL;
    struct wdn_diag d;
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), 0);
    assert_non_null(sc);
    assert_int_equal(strlen(sc->api_token), WDN_SIDECAR_MAX_API_TOKEN);
    wdn_sidecar_free(sc);
}

/* ---- The configuration --------------------------------------------------------------------- */

static const char mcp_only_yaml[] = "apiVersion: warden.dev/v1alpha1\n"
                                    "kind: MCPServer\n"
                                    "metadata: {name: not-a-configuration}\n"
                                    "spec:\n"
                                    "  appId: other\n"
                                    "  rules:\n"
                                    "  - {callers: ['*'], tools: [add], action: allow}\n";

/* --config naming a file: the Configuration that file defines, or a refusal at that file. */
static void test_config_file_without_configuration(void **state)
{
    char res[512], file[600];
    struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1};
    struct wdn_sidecar *sc = NULL;
    struct wdn_diag d;

    (void)state;
    testdir_mkdir("cfgfile", res, sizeof(res));
    testdir_write("cfgfile/mcp.yaml", mcp_only_yaml);
    snprintf(file, sizeof(file), "%s/mcp.yaml", res);
    o.config = file;
    logcap_mark();
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), WDN_ECONFIG);
    assert_null(sc);
    assert_string_equal(d.file, file);
    assert_string_equal(d.msg, "no Configuration in this file");
    assert_true(logcap_wait("configuration: ", 5000));
    assert_true(logcap_wait("no Configuration in this file", 5000));

    /* The same file with a Configuration in it is taken, by its name. */
    testdir_write("cfgfile/config.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Configuration\n"
                                         "metadata: {name: from-file}\nspec: {}\n");
    snprintf(file, sizeof(file), "%s/config.yaml", res);
    o.config = file;
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), 0);
    struct wdn__sc_cfg *c = wdn__sc_cfg_get(sc);
    assert_string_equal(c->config_name, "from-file");
    wdn__sc_cfg_release(c);
    wdn_sidecar_free(sc);

    /* The same file also inside --resources-path (the folder spelled another way) is read
     * once: not refused as "a second Configuration named from-file" at its own line. */
    char spelled[700];
    snprintf(spelled, sizeof(spelled), "%s/./", res);
    o.resources_paths[0] = spelled;
    o.n_resources_paths = 1;
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), 0);
    c = wdn__sc_cfg_get(sc);
    assert_string_equal(c->config_name, "from-file");
    wdn__sc_cfg_release(c);
    wdn_sidecar_free(sc);

    /* A --config file outside a folder that holds another Configuration: the file's own is the
     * one applied (not the folder's, though both are loaded). */
    char other[512], outside[600];
    testdir_mkdir("cfgother", other, sizeof(other));
    testdir_write("cfgother/folder.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Configuration\n"
                                          "metadata: {name: from-folder}\nspec: {}\n");
    testdir_write("outside.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Configuration\n"
                                  "metadata: {name: from-outside}\nspec: {}\n");
    snprintf(outside, sizeof(outside), "%s/../outside.yaml", other);
    o.resources_paths[0] = other;
    o.config = outside;
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), 0);
    c = wdn__sc_cfg_get(sc);
    assert_string_equal(c->config_name, "from-outside");
    wdn__sc_cfg_release(c);
    wdn_sidecar_free(sc);
    o.n_resources_paths = 0;
}

static const char mcp_yaml[] = "apiVersion: warden.dev/v1alpha1\n"
                               "kind: MCPServer\n"
                               "metadata: {name: %s}\n"
                               "spec:\n"
                               "  appId: %s\n"
                               "  endpoint: {streamableHTTP: {url: '%s'}}\n"
                               "  rules:\n"
                               "  - {callers: ['*'], tools: [add], action: allow}\n";

/* One app, one guard: a second MCPServer for the same app is refused at its own file:line
 * (wdn_resources_check_unique, before the sidecar compiles anything). */
static void test_two_mcpservers_for_one_app(void **state)
{
    char res[512], text[1024];
    struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1};
    struct wdn_sidecar *sc = NULL;
    struct wdn_diag d;

    (void)state;
    testdir_mkdir("twomcp", res, sizeof(res));
    snprintf(text, sizeof(text), mcp_yaml, "first", "app", "http://127.0.0.1:1/mcp");
    testdir_write("twomcp/a.yaml", text);
    snprintf(text, sizeof(text), mcp_yaml, "second", "app", "http://127.0.0.1:1/other");
    testdir_write("twomcp/b.yaml", text);
    o.resources_paths[0] = res;
    o.n_resources_paths = 1;
    logcap_mark();
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), WDN_ECONFIG);
    assert_null(sc);
    assert_non_null(strstr(d.file, "twomcp/b.yaml"));
    assert_int_equal(d.line, 1);
    assert_non_null(strstr(d.msg, "a second MCPServer for app \"app\" (first at "));
    assert_true(logcap_wait("twomcp/b.yaml:1:1: a second MCPServer for app \"app\"", 5000));

    /* The ambiguity is refused by every sidecar reading the folder, not only the guarded
     * app's: the /v1.0/mcp/<name> routes of the others would be ambiguous too. */
    o.app_id = "other";
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), WDN_ECONFIG);
    assert_null(sc);
    /* One MCPServer left: taken. */
    snprintf(text, sizeof(text), mcp_yaml, "second", "caller", "http://127.0.0.1:1/other");
    testdir_write("twomcp/b.yaml", text);
    o.app_id = "app";
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), 0);
    struct wdn__sc_cfg *c = wdn__sc_cfg_get(sc);
    assert_string_equal(c->mcp_name, "first");
    assert_int_equal(c->n_mcp_routes, 2);
    wdn__sc_cfg_release(c);
    wdn_sidecar_free(sc);
}

/* The guarded path is the endpoint URL's path without its query and trailing slashes; "/mcp"
 * when the URL has none. */
static void test_mcp_endpoint_path(void **state)
{
    static const struct {
        const char *url, *path;
    } cases[] = {
        {"http://127.0.0.1:8000/api/mcp/?session=1", "/api/mcp"},
        {"http://127.0.0.1:8000/tools//", "/tools"},
        {"http://127.0.0.1:8000", "/mcp"},
        {"http://127.0.0.1:8000/", "/mcp"},
    };
    char res[512], name[64], text[1024];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1};
        struct wdn_sidecar *sc = NULL;
        struct wdn_diag d;

        snprintf(name, sizeof(name), "ep%zu", i);
        testdir_mkdir(name, res, sizeof(res));
        snprintf(text, sizeof(text), mcp_yaml, "guard", "app", cases[i].url);
        snprintf(name, sizeof(name), "ep%zu/m.yaml", i);
        testdir_write(name, text);
        o.resources_paths[0] = res;
        o.n_resources_paths = 1;
        if (wdn_sidecar_new(&o, &sc, &d) != 0)
            fail_msg("url %s: %s", cases[i].url, d.msg);
        struct wdn__sc_cfg *c = wdn__sc_cfg_get(sc);
        assert_string_equal(c->mcp_name, "guard");
        if (strcmp(c->mcp_path, cases[i].path) != 0)
            fail_msg("url %s: guards %s, expected %s", cases[i].url, c->mcp_path, cases[i].path);
        assert_int_equal(c->n_mcp_routes, 1);
        assert_string_equal(c->mcp_routes[0].path, cases[i].path);
        assert_string_equal(c->mcp_routes[0].app_id, "app");
        wdn__sc_cfg_release(c);
        wdn_sidecar_free(sc);
    }
}

/* What `warden check` refuses too (validate.c), refused by the sidecar at start with the
 * resource's file:line: a pipeline handler of a middleware type warden does not run (it cannot
 * be skipped: it might be the one that authenticates), an OTLP endpoint with user or query, an
 * access control list naming one app twice, an MCP deny rule with requireScopes. */
static void test_configuration_checks(void **state)
{
    static const struct {
        const char *yaml, *msg;
        unsigned line;
    } cases[] = {
        {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: limiter}\n"
         "spec: {type: middleware.http.ratelimit, version: v1}\n---\n"
         "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: cfg}\nspec:\n"
         "  httpPipeline:\n    handlers:\n    - {name: limiter, type: middleware.http.ratelimit}\n",
         "Configuration \"cfg\" httpPipeline.handlers[0]: middleware type "
         "\"middleware.http.ratelimit\" is not supported by warden",
         12},
        {"apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: cfg}\nspec:\n"
         "  tracing:\n    samplingRate: '1'\n    otel:\n"
         "      endpointAddress: 'http://user@collector:4318/v1/traces'\n",
         "tracing.otel.endpointAddress \"http://user@collector:4318/v1/traces\" is not host:port",
         0},
        {"apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: cfg}\nspec:\n"
         "  accessControl:\n    defaultAction: deny\n    trustDomain: public\n    policies:\n"
         "    - {appId: a, defaultAction: allow, trustDomain: public, namespace: default}\n"
         "    - {appId: a, defaultAction: deny, trustDomain: public, namespace: default}\n",
         "a second policy for app \"a\" in namespace \"default\"", 10},
        {"apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: cfg}\nspec: {}\n"
         "---\napiVersion: warden.dev/v1alpha1\nkind: MCPServer\nmetadata: {name: m}\nspec:\n"
         "  appId: app\n  rules:\n"
         "  - {callers: ['*'], tools: [rm], action: deny, requireScopes: [admin]}\n",
         "requireScopes and requireClaims apply to allow rules only", 12},
    };
    char res[512], name[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1, .config = "cfg"};
        struct wdn_sidecar *sc = NULL;
        struct wdn_diag d;

        snprintf(name, sizeof(name), "check%zu", i);
        testdir_mkdir(name, res, sizeof(res));
        snprintf(name, sizeof(name), "check%zu/r.yaml", i);
        testdir_write(name, cases[i].yaml);
        o.resources_paths[0] = res;
        o.n_resources_paths = 1;
        logcap_mark();
        assert_int_equal(wdn_sidecar_new(&o, &sc, &d), WDN_ECONFIG);
        assert_null(sc);
        if (strstr(d.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: \"%s\" does not hold \"%s\"", i, d.msg, cases[i].msg);
        assert_non_null(strstr(d.file, name));
        if (cases[i].line && d.line != cases[i].line)
            fail_msg("case %zu: line %u, expected %u", i, d.line, cases[i].line);
        assert_true(logcap_wait(cases[i].msg, 5000));
    }
}

/* A hostile or broken folder cannot flood the log: past WDN_RES_MAX_ERRORS messages the rest
 * are counted and one line says so; the first error is the one reported. */
static void test_too_many_errors(void **state)
{
    char res[512], name[64];
    struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1};
    struct wdn_sidecar *sc = NULL;
    struct wdn_diag d;

    (void)state;
    testdir_mkdir("many", res, sizeof(res));
    for (int i = 0; i < WDN_RES_MAX_ERRORS + 5; i++) {
        snprintf(name, sizeof(name), "many/c%03d.yaml", i);
        testdir_write(name, "apiVersion: dapr.io/v1alpha1\nkind: Component\n"
                            "metadata: {name: 'Not_A_Name'}\nspec: {}\n");
    }
    o.resources_paths[0] = res;
    o.n_resources_paths = 1;
    logcap_mark();
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), WDN_ECONFIG);
    assert_null(sc);
    assert_non_null(strstr(d.file, "many/c000.yaml"));
    assert_true(logcap_wait("configuration: more errors were found and not shown", 5000));
    assert_int_equal(logcap_count("configuration: more errors were found"), 1);
    assert_true(logcap_count("c000.yaml") >= 1);
    assert_int_equal(logcap_count("c104.yaml"), 0); /* past the cap: counted, not shown */
}

/* Project mode: the app ID's binding names the Configuration; a binding naming one that does
 * not exist is refused, saying which and in which project. No binding: no Configuration. */
static void test_project_binding(void **state)
{
    struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1, .project = "bind"};
    struct wdn_store_appid a = {.app_id = "app", .app_config = "missing"};
    enum wdn_store_change ch;
    struct wdn_sidecar *sc = NULL;
    struct wdn_diag d;

    (void)state;
    assert_int_equal(wdn_project_create("bind", &d), 0);
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), 0); /* no binding yet */
    struct wdn__sc_cfg *c = wdn__sc_cfg_get(sc);
    assert_string_equal(c->config_name, "");
    assert_null(c->acl);
    wdn__sc_cfg_release(c);
    wdn_sidecar_free(sc);

    assert_int_equal(wdn_store_put_appid("bind", &a, &ch), 0);
    logcap_mark();
    refused(&o, WDN_ECONFIG, "configuration 'missing' not found in project bind");
    assert_true(logcap_wait("configuration 'missing' not found in project bind", 5000));

    /* A binding that cannot be read is refused too, never taken as "no Configuration". */
    char path[600];
    FILE *fp;
    assert_int_equal(wdn_store_appid_path("bind", "app", path, sizeof(path)), 0);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{not json", fp);
    fclose(fp);
    struct wdn_sidecar *bad = NULL;
    assert_int_not_equal(wdn_sidecar_new(&o, &bad, &d), 0);
    assert_null(bad);
    assert_non_null(strstr(d.msg, "reading the binding of app ID 'app': "));
}

/* A resources path that does not exist is refused at start (a typo must not start a sidecar
 * without the policies it was meant to load). */
static void test_missing_resources_path(void **state)
{
    struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1};
    struct wdn_sidecar *sc = NULL;
    struct wdn_diag d;
    char res[600];

    (void)state;
    testdir_path("no-such-folder", res, sizeof(res));
    o.resources_paths[0] = res;
    o.n_resources_paths = 1;
    assert_int_not_equal(wdn_sidecar_new(&o, &sc, &d), 0);
    assert_null(sc);
    assert_string_equal(d.file, res);
    assert_non_null(strstr(d.msg, "cannot read: No such file or directory"));
}

/* Reload watches: a folder named twice is watched once, a --config file through its folder
 * (atomic writers replace it by a rename), one named without a folder through the working
 * directory; a change reloads. */
static void test_watched_config_files(void **state)
{
    struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1, .workers = 1};
    char cwd[600], ca[600], why[300], path[600];
    struct testsc r1, r2;
    FILE *fp;

    (void)state;
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    testdir_path("watch", path, sizeof(path));
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(chdir(path), 0);
    assert_int_equal(mkdir("res", 0700), 0);
    assert_int_equal(mkdir("empty", 0700), 0);
    fp = fopen("res/cfg.yaml", "w");
    assert_non_null(fp);
    fputs("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: one}\nspec: {}\n",
          fp);
    fclose(fp);
    fp = fopen("top.yaml", "w");
    assert_non_null(fp);
    fputs("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: top}\nspec: {}\n",
          fp);
    fclose(fp);
    testdir_path("watch-ca", ca, sizeof(ca));
    o.ca_dir = ca;
    o.resources_paths[0] = "empty";
    o.resources_paths[1] = "empty";
    o.n_resources_paths = 2;
    o.config = "res/cfg.yaml";
    logcap_mark();
    wdn_log_level = WDN_LOG_DEBUG; /* each folder watched once, the file's by its folder */
    if (testsc_start(&r1, &o, why, sizeof(why)) != 0)
        fail_msg("%s", why);
    wdn_log_level = WDN_LOG_INFO;
    assert_int_equal(logcap_count("watching empty"), 1);
    assert_int_equal(logcap_count("watching res"), 1);
    o.n_resources_paths = 0;
    o.config = "top.yaml";
    o.metrics_port = 0;
    if (testsc_start(&r2, &o, why, sizeof(why)) != 0)
        fail_msg("%s", why);
    {
        /* The metrics port serves /metrics only. */
        char raw[2048];
        int fd = testnet_connect(wdn_sidecar_metrics_port(r2.sc), 20000), closed;
        const char *req = "GET /secrets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        assert_true(fd >= 0);
        assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
        testnet_recv_until_close(fd, raw, sizeof(raw), &closed);
        close(fd);
        assert_non_null(strstr(raw, "HTTP/1.1 404 "));
        assert_non_null(strstr(raw, "\r\n\r\nNot Found\n"));
    }
    logcap_mark();
    fp = fopen("res/cfg.yaml", "w");
    assert_non_null(fp);
    fputs("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: two}\nspec: {}\n",
          fp);
    fclose(fp);
    fp = fopen("top.yaml.tmp", "w");
    assert_non_null(fp);
    fputs("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: top2}\nspec: {}\n",
          fp);
    fclose(fp);
    assert_int_equal(rename("top.yaml.tmp", "top.yaml"), 0); /* an atomic writer */
    if (!logcap_wait("configuration reloaded generation=2 config=two", 60000))
        fail_msg("no reload of res/cfg.yaml");
    if (!logcap_wait("configuration reloaded generation=2 config=top2", 60000))
        fail_msg("no reload of top.yaml");
    assert_int_equal(testsc_stop(&r2), 0);
    assert_int_equal(testsc_stop(&r1), 0);
    assert_int_equal(chdir(cwd), 0);
}

/* The listeners: an address this machine does not have refuses the run, saying which port and
 * why; on IPv6 loopback the sidecar serves, and the origin its resource URIs are derived from
 * (never the Host header) is the bracketed address. */
static void test_listen_addresses(void **state)
{
    struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1, .workers = 1};
    struct wdn_sidecar *sc = NULL;
    struct testsc r;
    struct wdn_diag d;
    char ca[512], why[300], want[128];

    (void)state;
    testdir_path("listen-ca", ca, sizeof(ca));
    o.ca_dir = ca;
    o.listen_address = "192.0.2.1"; /* TEST-NET-1: on no interface here */
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), 0);
    assert_int_not_equal(wdn_sidecar_run(sc, &d), 0);
    if (strstr(d.msg, "cannot listen on 192.0.2.1:0 for the API (--http-port) port: ") == NULL)
        fail_msg("%s", d.msg);
    assert_false(wdn_sidecar_ready(sc));
    wdn_sidecar_free(sc);

    /* A wildcard address stands for its family's loopback in the origin. */
    static const char *const wild[][2] = {{"0.0.0.0", "http://127.0.0.1"}, {"::", "http://[::1]"}};
    for (int i = 0; i < 2; i++) {
        o.listen_address = wild[i][0];
        if (testsc_start(&r, &o, why, sizeof(why)) != 0)
            fail_msg("%s", why);
        snprintf(want, sizeof(want), "%s:%d", wild[i][1], wdn_sidecar_http_port(r.sc));
        assert_string_equal(r.sc->api_origin, want);
        assert_int_equal(testsc_stop(&r), 0);
    }

    o.listen_address = "::1";
    o.internal_address = "::1";
    if (testsc_start(&r, &o, why, sizeof(why)) != 0)
        fail_msg("%s", why);
    snprintf(want, sizeof(want), "http://[::1]:%d", wdn_sidecar_http_port(r.sc));
    assert_string_equal(r.sc->api_origin, want);
    assert_true(wdn_sidecar_internal_port(r.sc) > 0);
    assert_int_equal(testsc_stop(&r), 0);
}

/* The CA folder: by default $WARDEN_HOME/ca, made at the first start; a folder that cannot be
 * made, a lock that cannot be taken and a new CA that cannot be saved each refuse the start,
 * saying where. Also the rotation period from WARDEN_SIDECAR_ROTATE_MS, below 100 ms ignored. */
static void test_ca_folder(void **state)
{
    char dir[700], want[800], crt[800];
    struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1};
    struct wdn_sidecar *sc;
    struct wdn_diag d;

    (void)state;
    logcap_mark();
    setenv("WARDEN_SIDECAR_ROTATE_MS", "50", 1);
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), 0);
    unsetenv("WARDEN_SIDECAR_ROTATE_MS");
    assert_int_equal(sc->rotate_ms, 12ull * 3600 * 1000);
    wdn_sidecar_free(sc);
    testdir_path("home/ca", dir, sizeof(dir));
    snprintf(want, sizeof(want), "created the CA in %s", dir);
    assert_true(logcap_wait(want, 1000));
    snprintf(crt, sizeof(crt), "%s/ca.crt", dir);
    assert_int_equal(access(crt, R_OK), 0);

    testdir_write("blocker", "a file\n");
    testdir_path("blocker/ca", dir, sizeof(dir));
    o.ca_dir = dir;
    snprintf(want, sizeof(want), "cannot create the CA folder %s", dir);
    refused(&o, WDN_ESYS, want);

    testdir_mkdir("lockca", dir, sizeof(dir));
    testdir_mkdir("lockca/.lock", crt, sizeof(crt));
    snprintf(want, sizeof(want), "cannot lock %s/.lock: Is a directory", dir);
    refused(&o, WDN_EIO, want);

    testdir_mkdir("saveca", dir, sizeof(dir));
    testdir_mkdir("saveca/ca.key", crt, sizeof(crt));
    snprintf(want, sizeof(want), "PKI: cannot write %s/ca.key", dir);
    refused(&o, WDN_ESYS, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_option_refusals),
        cmocka_unit_test(test_ca_folder),
        cmocka_unit_test(test_config_file_without_configuration),
        cmocka_unit_test(test_two_mcpservers_for_one_app),
        cmocka_unit_test(test_mcp_endpoint_path),
        cmocka_unit_test(test_configuration_checks),
        cmocka_unit_test(test_too_many_errors),
        cmocka_unit_test(test_project_binding),
        cmocka_unit_test(test_listen_addresses),
        cmocka_unit_test(test_missing_resources_path),
        cmocka_unit_test(test_watched_config_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
