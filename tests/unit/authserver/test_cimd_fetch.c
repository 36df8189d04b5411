/* Client ID Metadata Documents fetched for real, from an HTTPS server of the test's on
 * 127.0.0.1 (so the issuer runs with --allow-local-cimd and the test CA): a good document is
 * used and cached for its max-age; a redirect is not followed; an oversized document and one
 * that never arrives are refused within the limits; and without --allow-local-cimd the SSRF
 * guard refuses the loopback address before anything is sent (the server sees no request). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>
#include <stdatomic.h>

#include "../support/testnet.h"
#include "authserver/issuer.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/server.h"
#include "http/tls.h"
#include "oauth2/form.h"
#include "pki/pki.h"

static char dir[256], ca_file[512], base[64];
static struct wdn_tls_ctx *tls;
static struct wdn_http_server *srv;
static atomic_int hits;
static int silent_fd = -1, silent_port;

static int on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    const struct wdn_http_request *head = wdn_http_req_head(req);
    char body[512];

    atomic_fetch_add(&hits, 1);
    if (wdn_str_eq_cstr(head->path, "/good.json")) {
        snprintf(body, sizeof(body),
                 "{\"client_id\":\"%s/good.json\",\"client_name\":\"Fetched Client\","
                 "\"redirect_uris\":[\"http://127.0.0.1/cb\"]}",
                 base);
        struct wdn_http_header h[] = {{WDN_STR("Content-Type"), WDN_STR("application/json")},
                                      {WDN_STR("Cache-Control"), WDN_STR("max-age=600")}};
        wdn_http_respond(req, 200, h, 2, wdn_str_from_cstr(body));
    } else if (wdn_str_eq_cstr(head->path, "/redirect.json")) {
        snprintf(body, sizeof(body), "%s/good.json", base);
        struct wdn_http_header h[] = {{WDN_STR("Location"), wdn_str_from_cstr(body)}};
        wdn_http_respond(req, 302, h, 1, WDN_STR(""));
    } else if (wdn_str_eq_cstr(head->path, "/big.json")) {
        static char big[WDN_ISSUER_CIMD_MAX_BYTES + 100];
        memset(big, ' ', sizeof(big));
        big[0] = '{';
        big[sizeof(big) - 1] = '}';
        wdn_http_respond(req, 200, NULL, 0, (struct wdn_str){big, sizeof(big)});
    } else {
        wdn_http_respond(req, 404, NULL, 0, WDN_STR("no\n"));
    }
    return 0;
}

static struct wdn_http_handler handler = {.on_req = on_req};
static struct wdn_http_handler *chain[] = {&handler};

static int setup(void **state)
{
    struct wdn_diag d;
    char cadir[300];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);

    snprintf(dir, sizeof(dir), "/tmp/wdn-cimd-fetch-XXXXXX");
    if (mkdtemp(dir) == NULL || wdn_issuer_keys_ensure(dir, WDN_JOSE_ES256, 60, 0, NULL, &d))
        return -1;
    struct wdn_pki_cert *ca = wdn_pki_ca_create("cimd-test", &d);
    snprintf(cadir, sizeof(cadir), "%s/ca", dir);
    snprintf(ca_file, sizeof(ca_file), "%s/ca/ca.crt", dir);
    if (ca == NULL || wdn_pki_ca_save(ca, cadir, &d) != 0)
        return -1;
    struct wdn_pki_cert *leaf = wdn_pki_issue_server(ca, NULL, &d);
    struct wdn_tls_config tc = {
        .server = true, .cert = leaf->cert, .key = leaf->key, .verify = WDN_TLS_VERIFY_NONE};
    tls = wdn_tls_ctx_new(&tc, &d);
    wdn_pki_cert_free(leaf);
    wdn_pki_cert_free(ca);
    struct wdn_http_server_config sc = {
        .listen = "127.0.0.1:0", .workers = 1, .handlers = chain, .nhandlers = 1, .tls = tls};
    if (tls == NULL || wdn_http_server_start(&sc, &srv) != 0)
        return -1;
    snprintf(base, sizeof(base), "https://127.0.0.1:%d", wdn_http_server_port(srv));
    /* A server that accepts connections (the kernel's backlog does) and never says a word. */
    silent_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (silent_fd < 0 || bind(silent_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(silent_fd, 8) != 0 || getsockname(silent_fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    silent_port = ntohs(a.sin_port);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    wdn_http_server_free(srv);
    wdn_tls_ctx_free(tls);
    if (silent_fd >= 0)
        close(silent_fd);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct wdn_issuer *make(bool allow_local)
{
    static const char *const res[] = {"https://mcp.test/mcp"};
    struct wdn_issuer_config cfg = {.issuer = "https://issuer.test/",
                                    .state_dir = dir,
                                    .resources = res,
                                    .nresources = 1,
                                    .ca_file = ca_file,
                                    .allow_local_cimd = allow_local};
    struct wdn_diag d;
    struct wdn_issuer *i = wdn_issuer_new(&cfg, &d);
    if (i == NULL)
        fail_msg("issuer: %s", d.msg);
    return i;
}

/* GET /authorize for client_id url at now; the response in r. */
static void authorize(struct wdn_issuer *i, const char *url, int64_t now,
                      struct wdn_issuer_response *r)
{
    struct wdn_buf q;
    wdn_buf_init(&q, 8192);
    wdn_form_add(&q, "response_type", "code");
    wdn_form_add(&q, "client_id", url);
    wdn_form_add(&q, "redirect_uri", "http://127.0.0.1:5000/cb");
    wdn_form_add(&q, "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    wdn_form_add(&q, "code_challenge_method", "S256");
    struct wdn_issuer_request req = {.method = WDN_STR("GET"),
                                     .path = WDN_STR("/authorize"),
                                     .query = wdn_str_from_cstr(wdn_buf_cstr(&q))};
    assert_int_equal(wdn_issuer_handle(i, &req, now, r), 0);
    wdn_buf_reset(&q);
}

static void expect(struct wdn_issuer *i, const char *path, int status, const char *text)
{
    char url[128];
    struct wdn_issuer_response r;

    snprintf(url, sizeof(url), "%s%s", base, path);
    authorize(i, url, wdn_clock_unix(), &r);
    if (r.status != status || !strstr(r.body.data, text))
        fail_msg("%s: expected %d with '%s', got %d: %.*s", path, status, text, r.status,
                 (int)r.body.len, r.body.data);
    wdn_issuer_response_reset(&r);
}

static void test_good_document_cached(void **state)
{
    struct wdn_issuer *i = make(true);
    int before = atomic_load(&hits);

    expect(i, "/good.json", 200, "Fetched Client");
    expect(i, "/good.json", 200, "Fetched Client");
    assert_int_equal(atomic_load(&hits) - before, 1); /* max-age=600: cached */
    wdn_issuer_free(i);
}

static void test_redirect_not_followed(void **state)
{
    struct wdn_issuer *i = make(true);
    int before = atomic_load(&hits);

    expect(i, "/redirect.json", 400, "redirect (302), which is not followed");
    assert_int_equal(atomic_load(&hits) - before, 1); /* the target was never asked */
    wdn_issuer_free(i);
}

static void test_oversized_document(void **state)
{
    struct wdn_issuer *i = make(true);

    expect(i, "/big.json", 400, "could not be fetched");
    wdn_issuer_free(i);
}

static void test_slow_document(void **state)
{
    struct wdn_issuer *i = make(true);
    char url[128];
    struct wdn_issuer_response r;

    /* The server never answers: the fetch gives up at WDN_ISSUER_CIMD_TIMEOUT_MS. */
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/slow.json", silent_port);
    authorize(i, url, wdn_clock_unix(), &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body.data, "timed out"));
    wdn_issuer_response_reset(&r);
    wdn_issuer_free(i);
}

static void test_loopback_refused_without_allow_local(void **state)
{
    struct wdn_issuer *i = make(false);
    int before = atomic_load(&hits);

    expect(i, "/good.json", 400, "not public");
    assert_int_equal(atomic_load(&hits), before); /* nothing reached the server */
    wdn_issuer_free(i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_document_cached),
        cmocka_unit_test(test_redirect_not_followed),
        cmocka_unit_test(test_oversized_document),
        cmocka_unit_test(test_slow_document),
        cmocka_unit_test(test_loopback_refused_without_allow_local),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
