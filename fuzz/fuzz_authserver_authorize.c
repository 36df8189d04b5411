/* Fuzz target: the authorization server's browser-facing endpoints on arbitrary input: the
 * authorization request (GET /authorize query: client lookup, redirect URI matching, PKCE,
 * scope, resource, prompt), the sign-in, consent and sign-out forms (POST bodies, the session
 * cookie parser) and dynamic registration (JSON). Input: byte 0 picks the endpoint, then the
 * Cookie header up to the first '\n', then the query or body. A real session cookie and CSRF
 * token can be spliced in with the markers @COOKIE@ and @CSRF@, so the fuzzer reaches past the
 * CSRF check. Invariants: every answer has a sane status; pages carry the framing headers and
 * never a Location; a redirect only ever goes to the registered redirect URI with the issuer's
 * iss; a code is only issued to a signed-in user (nobody is, unless the fuzzer guesses a
 * password); nothing crashes or leaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authserver/issuer.h"
#include "base/error.h"
#include "fuzz.h"

static struct wdn_issuer *iss;
static char dir[64];
static char cookie[128], csrf[64];

static int fake_fetch(void *ud, const char *url, struct wdn_issuer_cimd_doc *doc,
                      struct wdn_diag *d)
{
    doc->status = 200;
    return wdn_buf_printf(&doc->body,
                          "{\"client_id\":\"%s\",\"client_name\":\"fz\",\"redirect_uris\":"
                          "[\"http://127.0.0.1/cb\"]}",
                          url);
}

static void cleanup(void)
{
    char cmd[128];
    wdn_issuer_free(iss);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static void init(void)
{
    static const char *const res[] = {"https://mcp.test/mcp"};
    static const char *const scopes[] = {"mcp:tools", "mcp:read"};
    const char *uris[] = {"http://127.0.0.1/cb", "https://app.test/cb"};
    struct wdn_issuer_reg_client c = {
        .id = "app", .redirect_uris = uris, .nredirect_uris = 2, .public_client = true};
    struct wdn_issuer_config cfg = {.issuer = "https://fuzz.test/",
                                    .state_dir = dir,
                                    .resources = res,
                                    .nresources = 1,
                                    .scopes = scopes,
                                    .nscopes = 2,
                                    .dcr = true,
                                    .cimd_fetch = fake_fetch};
    struct wdn_issuer_response r;
    struct wdn_issuer_request req = {
        .method = WDN_STR("GET"),
        .path = WDN_STR("/authorize"),
        .query = WDN_STR("response_type=code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1"
                         "%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&"
                         "code_challenge_method=S256")};

    snprintf(dir, sizeof(dir), "/tmp/wdn-fuzz-authz-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    CHECK(wdn_issuer_keys_ensure(dir, WDN_JOSE_ES256, 60, 0, NULL, NULL) == 0);
    CHECK(wdn_issuer_client_add(dir, &c, NULL, 0, NULL) == 0);
    iss = wdn_issuer_new(&cfg, NULL);
    CHECK(iss != NULL);
    atexit(cleanup);
    /* One anonymous session whose cookie and CSRF token inputs may use. */
    CHECK(wdn_issuer_handle(iss, &req, 1800000000, &r) == 0);
    const char *set = wdn_issuer_response_header(&r, "Set-Cookie");
    CHECK(set != NULL);
    snprintf(cookie, sizeof(cookie), "%.*s", (int)strcspn(set, ";"), set);
    const char *p = strstr(r.body.data, "name=\"csrf\" value=\"");
    CHECK(p != NULL);
    p += strlen("name=\"csrf\" value=\"");
    snprintf(csrf, sizeof(csrf), "%.*s", (int)strcspn(p, "\""), p);
    wdn_issuer_response_reset(&r);
}

/* A registered redirect URI (any port on 127.0.0.1 for the loopback one) and then '?'. */
static int to_registered(const char *loc)
{
    if (strncmp(loc, "https://app.test/cb?", 20) == 0 ||
        strncmp(loc, "http://127.0.0.1/cb?", 20) == 0)
        return 1;
    if (strncmp(loc, "http://127.0.0.1:", 17) != 0)
        return 0;
    loc += 17;
    loc += strspn(loc, "0123456789");
    return strncmp(loc, "/cb?", 4) == 0;
}

/* Copies in to out replacing the markers. */
static char *splice(const char *in, size_t n)
{
    size_t cap = n * 2 + 256, o = 0;
    char *out = malloc(cap);
    CHECK(out != NULL);
    for (size_t i = 0; i < n;) {
        const char *rep = NULL;
        size_t skip = 1;
        if (n - i >= 8 && memcmp(in + i, "@COOKIE@", 8) == 0)
            rep = cookie, skip = 8;
        else if (n - i >= 6 && memcmp(in + i, "@CSRF@", 6) == 0)
            rep = csrf, skip = 6;
        size_t add = rep ? strlen(rep) : 1;
        if (o + add + 1 > cap) {
            cap = (o + add + 1) * 2;
            out = realloc(out, cap);
            CHECK(out != NULL);
        }
        memcpy(out + o, rep ? rep : in + i, add);
        o += add;
        i += skip;
    }
    out[o] = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {"/authorize", "/authorize/sign-in", "/authorize/consent",
                                        "/authorize/sign-out", "/register"};
    struct wdn_issuer_request req = {.peer = "192.0.2.1"};
    struct wdn_issuer_response r;
    const uint8_t *nl;
    char *ck, *payload;

    if (iss == NULL)
        init();
    if (size < 1)
        return 0;
    unsigned which = data[0] % 5;
    data++, size--;
    nl = memchr(data, '\n', size);
    size_t cl = nl ? (size_t)(nl - data) : 0;
    ck = splice((const char *)data, cl);
    data += nl ? cl + 1 : 0;
    size -= nl ? cl + 1 : 0;
    payload = splice((const char *)data, size);
    req.path = wdn_str_from_cstr(paths[which]);
    req.cookie = wdn_str_from_cstr(ck);
    if (which == 0) {
        req.method = WDN_STR("GET");
        req.query = wdn_str_from_cstr(payload);
    } else {
        req.method = WDN_STR("POST");
        req.content_type =
            which == 4 ? WDN_STR("application/json") : WDN_STR("application/x-www-form-urlencoded");
        req.body = wdn_str_from_cstr(payload);
    }
    CHECK(wdn_issuer_handle(iss, &req, 1800000000, &r) == 0);
    const char *loc = wdn_issuer_response_header(&r, "Location");
    if (strncmp(r.content_type, "text/html", 9) == 0) {
        CHECK(loc == NULL);
        const char *csp = wdn_issuer_response_header(&r, "Content-Security-Policy");
        CHECK(csp != NULL && strstr(csp, "frame-ancestors 'none'") != NULL);
        CHECK(strcmp(r.cache_control, "no-store") == 0);
    }
    if (loc != NULL) {
        CHECK(r.status == 302 || r.status == 303);
        CHECK(to_registered(loc));
        CHECK(strstr(loc, "iss=https%3A%2F%2Ffuzz.test%2F") != NULL);
        CHECK(strstr(loc, "?code=") == NULL); /* nobody signed in */
    }
    CHECK(r.status == 200 || r.status == 201 || r.status == 302 || r.status == 303 ||
          (r.status >= 400 && r.status < 500));
    wdn_issuer_response_reset(&r);
    free(ck);
    free(payload);
    return 0;
}
