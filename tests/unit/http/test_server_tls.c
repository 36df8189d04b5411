/* TLS on the server and the client: an HTTPS server that requires client certificates and
 * shows the handler the verified peer's SPIFFE ID, a client that verifies the server's IP SAN,
 * keep-alive over TLS, failures (no client certificate, wrong server name), and the proxy
 * forwarding to a TLS upstream. Certificates are made in memory for each run. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/str.h"
#include "http/client.h"
#include "http/proxy.h"
#include "http/server.h"
#include "http/tls.h"
#include "test_server_util.h"
#include "../support/testnet.h"

#define SPIFFE_CALLER "spiffe://public/ns/default/caller"

/* ---- Certificates ------------------------------------------------------------------------- */

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       const char *san)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *name;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    add_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (issuer == NULL) {
        add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, issuer, NID_authority_key_identifier, "keyid");
        add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
        add_ext(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
        add_ext(x, issuer, NID_subject_alt_name, san);
    }
    assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

struct pki {
    EVP_PKEY *ca_key, *srv_key, *cli_key;
    X509 *ca, *srv, *cli;
};

static void pki_make(struct pki *p)
{
    p->ca_key = EVP_EC_gen("P-256");
    p->srv_key = EVP_EC_gen("P-256");
    p->cli_key = EVP_EC_gen("P-256");
    p->ca = make_cert(p->ca_key, "test CA", NULL, NULL, NULL);
    p->srv = make_cert(p->srv_key, "server", p->ca, p->ca_key, "IP:127.0.0.1");
    p->cli = make_cert(p->cli_key, "caller", p->ca, p->ca_key, "URI:" SPIFFE_CALLER);
}

static void pki_free(struct pki *p)
{
    X509_free(p->ca);
    X509_free(p->srv);
    X509_free(p->cli);
    EVP_PKEY_free(p->ca_key);
    EVP_PKEY_free(p->srv_key);
    EVP_PKEY_free(p->cli_key);
}

/* ---- The HTTPS server: answers with the caller's verified SPIFFE ID ----------------------- */

static const struct wdn_http_header text = {{"Content-Type", 12}, {"text/plain", 10}};

static int whoami(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct wdn_tls *t = wdn_http_req_tls(req);
    struct wdn_str id = {NULL, 0};

    if (!wdn_http_req_is_tls(req) || t == NULL || wdn_tls_peer_spiffe_id(t, &id) != 0) {
        wdn_http_respond(req, 403, &text, 1, WDN_STR("no identity\n"));
        return 0;
    }
    wdn_http_respond(req, 200, &text, 1, id);
    return 0;
}

/* GET /size/N: a streamed response of N bytes (resp_start + a borrowed resp_write), the way
 * the proxy answers with an upstream's response: the head and the body are two pieces of one
 * write. Any other path: whoami. */
static char pattern[70000];

static void sized_written(struct wdn_http_req *req, int status, void *ud)
{
    wdn_http_resp_end(req);
}

static int sized_or_whoami(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct wdn_str path = wdn_http_req_head(req)->path;
    size_t n = 0;

    if (!wdn_str_has_prefix(path, WDN_STR("/size/")))
        return whoami(self, req);
    for (size_t i = 6; i < path.len; i++)
        n = n * 10 + (size_t)(path.p[i] - '0');
    if (n > sizeof(pattern))
        n = sizeof(pattern);
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (char)('a' + i % 26);
    wdn_http_resp_start(req, 200, &text, 1, n);
    if (n == 0 || wdn_http_resp_write(req, (struct wdn_str){pattern, n}, sized_written, NULL) != 0)
        wdn_http_resp_end(req);
    return 0;
}

static struct wdn_http_handler who = {.on_req = sized_or_whoami};
static struct wdn_http_handler *chain[] = {&who};

struct fixture {
    struct pki pki;
    struct wdn_tls_ctx *srv_ctx;
    struct wdn_tls_ctx *cli_ctx;
    struct wdn_tls_ctx *anon_ctx; /* trusts the CA but has no client certificate */
    struct wdn_http_server *srv;
    int port;
    uv_loop_t loop;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct wdn_diag d;

    pki_make(&f->pki);
    struct wdn_tls_config sc = {.server = true,
                                .cert = f->pki.srv,
                                .key = f->pki.srv_key,
                                .ca = f->pki.ca,
                                .verify = WDN_TLS_VERIFY_REQUIRED};
    struct wdn_tls_config cc = {.server = false,
                                .cert = f->pki.cli,
                                .key = f->pki.cli_key,
                                .ca = f->pki.ca,
                                .verify = WDN_TLS_VERIFY_REQUIRED};
    struct wdn_tls_config ac = {
        .server = false, .ca = f->pki.ca, .verify = WDN_TLS_VERIFY_REQUIRED};
    f->srv_ctx = wdn_tls_ctx_new(&sc, &d);
    f->cli_ctx = wdn_tls_ctx_new(&cc, &d);
    f->anon_ctx = wdn_tls_ctx_new(&ac, &d);
    if (f->srv_ctx == NULL || f->cli_ctx == NULL || f->anon_ctx == NULL)
        return -1;
    struct wdn_http_server_config cfg = {.listen = "127.0.0.1:0",
                                         .workers = 1,
                                         .handlers = chain,
                                         .nhandlers = 1,
                                         .tls = f->srv_ctx};
    if (wdn_http_server_start(&cfg, &f->srv) != 0)
        return -1;
    f->port = wdn_http_server_port(f->srv);
    uv_loop_init(&f->loop);
    *state = f;
    return 0;
}

static void tick(uv_timer_t *t)
{
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    uv_timer_t guard;

    uv_timer_init(&f->loop, &guard);
    uv_timer_start(&guard, tick, 10, 10);
    for (int i = 0; i < 20; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    wdn_http_server_free(f->srv);
    wdn_tls_ctx_free(f->srv_ctx);
    wdn_tls_ctx_free(f->cli_ctx);
    wdn_tls_ctx_free(f->anon_ctx);
    pki_free(&f->pki);
    free(f);
    return 0;
}

/* ---- Client harness ----------------------------------------------------------------------- */

struct result {
    bool done;
    int status;
    int http_status;
    struct wdn_buf body;
};

static void on_head(struct wdn_http_exchange *x, const struct wdn_http_response *res, void *ud)
{
    ((struct result *)ud)->http_status = res->status;
}

static void on_body(struct wdn_http_exchange *x, struct wdn_str data, void *ud)
{
    wdn_buf_append(&((struct result *)ud)->body, data.p, data.len);
}

static void on_done(struct wdn_http_exchange *x, int status, void *ud)
{
    struct result *r = ud;
    r->done = true;
    r->status = status;
}

static const struct wdn_http_exchange_cbs cbs = {on_head, on_body, on_done};

static void request(struct fixture *f, struct wdn_http_pool *pool, struct result *r)
{
    struct wdn_http_client_request rq = {WDN_STR("GET"), WDN_STR("/whoami"), NULL, 0, 0};
    struct wdn_http_exchange *x;
    uv_timer_t guard;
    long deadline = tu_now_ms() + 5000;

    memset(r, 0, sizeof(*r));
    wdn_buf_init(&r->body, 1 << 16);
    assert_int_equal(wdn_http_exchange_start(pool, &rq, &cbs, r, &x), 0);
    uv_timer_init(&f->loop, &guard);
    uv_timer_start(&guard, tick, 20, 20);
    while (!r->done && tu_now_ms() < deadline)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_true(r->done);
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void test_mtls_peer_identity_and_reuse(void **state)
{
    struct fixture *f = *state;
    struct wdn_http_pool_config pc = {.host = "127.0.0.1", .port = f->port, .tls = f->cli_ctx};
    struct wdn_http_pool *pool;
    struct result r;

    assert_int_equal(wdn_http_pool_new(&f->loop, &pc, &pool), 0);
    for (int i = 0; i < 3; i++) {
        request(f, pool, &r);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.http_status, 200);
        assert_true(wdn_str_eq_cstr(wdn_buf_str(&r.body), SPIFFE_CALLER));
        wdn_buf_reset(&r.body);
    }
    assert_int_equal(wdn_http_pool_connects(pool), 1);
    wdn_http_pool_free(pool);
}

static void test_no_client_cert_refused(void **state)
{
    struct fixture *f = *state;
    struct wdn_http_pool_config pc = {.host = "127.0.0.1", .port = f->port, .tls = f->anon_ctx};
    struct wdn_http_pool *pool;
    struct result r;

    assert_int_equal(wdn_http_pool_new(&f->loop, &pc, &pool), 0);
    request(f, pool, &r);
    /* TLS 1.3: the client learns of the refusal from the server's alert (ETLS) or the close. */
    assert_true(r.status < 0);
    assert_int_equal(r.http_status, 0);
    wdn_buf_reset(&r.body);
    wdn_http_pool_free(pool);
}

static void test_wrong_server_name_refused(void **state)
{
    struct fixture *f = *state;
    struct wdn_http_pool_config pc = {
        .host = "127.0.0.1", .port = f->port, .tls = f->cli_ctx, .server_name = "other.example"};
    struct wdn_http_pool *pool;
    struct result r;

    assert_int_equal(wdn_http_pool_new(&f->loop, &pc, &pool), 0);
    request(f, pool, &r);
    assert_int_equal(r.status, WDN_ETLS);
    assert_int_equal(r.http_status, 0);
    wdn_buf_reset(&r.body);
    wdn_http_pool_free(pool);
}

static void test_plain_client_on_tls_port(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    int closed = 0;
    const char *r = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

    /* Plain HTTP to the TLS port gets no HTTP answer, just a close. */
    assert_int_equal(tu_raw(f->port, r, strlen(r), out, sizeof(out), &closed), -1);
    assert_true(closed);
}

static void test_proxy_to_tls_upstream(void **state)
{
    struct fixture *f = *state;
    struct wdn_http_proxy_config pcfg = {
        .upstream = {.host = "127.0.0.1", .port = f->port, .tls = f->cli_ctx}};
    struct wdn_http_proxy *proxy;
    struct wdn_http_server *px;
    struct wdn_http_handler *pchain[1];
    char out[4096];
    int closed = 0;
    const char *r = "GET /whoami HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

    assert_int_equal(wdn_http_proxy_new(&pcfg, &proxy), 0);
    pchain[0] = wdn_http_proxy_handler(proxy);
    struct wdn_http_server_config cfg = {
        .listen = "127.0.0.1:0", .workers = 1, .handlers = pchain, .nhandlers = 1};
    assert_int_equal(wdn_http_server_start(&cfg, &px), 0);
    assert_int_equal(tu_raw(wdn_http_server_port(px), r, strlen(r), out, sizeof(out), &closed),
                     200);
    assert_non_null(strstr(out, "\r\n\r\n" SPIFFE_CALLER));
    wdn_http_server_free(px);
    wdn_http_proxy_free(proxy);
}

/* ---- Certificate rotation without a lost request ------------------------------------------ */

/* The server's context is replaced under a keep-alive connection: the connection (accepted on
 * the old context) still answers its next request, told that it closes; new connections get
 * the new context, here one that trusts another CA, so the old client identity is refused and
 * the new one accepted. A plain server cannot become TLS. */
static void test_set_tls_retires_old_connections(void **state)
{
    struct fixture *f = *state;
    struct wdn_http_pool_config pc = {.host = "127.0.0.1", .port = f->port, .tls = f->cli_ctx};
    struct wdn_http_pool *pool, *pool2;
    struct wdn_tls_ctx *srv2, *cli2;
    struct wdn_diag d;
    struct pki p2;
    struct result r;

    pki_make(&p2);
    struct wdn_tls_config sc = {.server = true,
                                .cert = p2.srv,
                                .key = p2.srv_key,
                                .ca = p2.ca,
                                .verify = WDN_TLS_VERIFY_REQUIRED};
    struct wdn_tls_config cc = {.server = false,
                                .cert = p2.cli,
                                .key = p2.cli_key,
                                .ca = p2.ca,
                                .verify = WDN_TLS_VERIFY_REQUIRED};
    srv2 = wdn_tls_ctx_new(&sc, &d);
    cli2 = wdn_tls_ctx_new(&cc, &d);
    assert_non_null(srv2);
    assert_non_null(cli2);

    assert_int_equal(wdn_http_pool_new(&f->loop, &pc, &pool), 0);
    request(f, pool, &r);
    assert_int_equal(r.http_status, 200);
    wdn_buf_reset(&r.body);
    assert_int_equal(wdn_http_pool_idle(pool), 1);

    assert_int_equal(wdn_http_server_set_tls(f->srv, srv2), 0);
    wdn_tls_ctx_free(srv2); /* the server keeps its own reference */
    /* The kept connection serves once more, then closes (not returned to the pool). */
    request(f, pool, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http_status, 200);
    assert_true(wdn_str_eq_cstr(wdn_buf_str(&r.body), SPIFFE_CALLER));
    wdn_buf_reset(&r.body);
    assert_int_equal(wdn_http_pool_connects(pool), 1);
    assert_int_equal(wdn_http_pool_idle(pool), 0);
    /* A new connection meets the new context: the first CA's client is refused... */
    request(f, pool, &r);
    assert_true(r.status < 0);
    assert_int_equal(r.http_status, 0);
    wdn_buf_reset(&r.body);
    wdn_http_pool_free(pool);
    /* ...and the second CA's is served. */
    struct wdn_http_pool_config pc2 = {.host = "127.0.0.1", .port = f->port, .tls = cli2};
    assert_int_equal(wdn_http_pool_new(&f->loop, &pc2, &pool2), 0);
    request(f, pool2, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http_status, 200);
    wdn_buf_reset(&r.body);
    wdn_http_pool_free(pool2);
    wdn_tls_ctx_free(cli2);
    pki_free(&p2);

    struct wdn_http_server *plain;
    struct wdn_http_server_config pcfg = {
        .listen = "127.0.0.1:0", .workers = 1, .handlers = chain, .nhandlers = 1};
    assert_int_equal(wdn_http_server_start(&pcfg, &plain), 0);
    assert_int_equal(wdn_http_server_set_tls(plain, f->srv_ctx), WDN_EINVAL);
    wdn_http_server_free(plain);
}

/* In front of the server: resets the first connection as soon as its ClientHello arrives (a
 * server retiring a connection mid-handshake), then relays the next one to the server. */
struct cutter {
    int lfd;
    int port;
    int target;
    pthread_t thread;
};

static void relay(int a, int b)
{
    char buf[16384];
    long deadline = tu_now_ms() + 5000;

    while (tu_now_ms() < deadline) {
        struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
        if (poll(p, 2, 100) < 0)
            return;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = recv(p[i].fd, buf, sizeof(buf), 0);
            if (n <= 0 || testnet_send_all(i ? a : b, buf, (size_t)n) != 0)
                return;
        }
    }
}

static void *cutter_main(void *arg)
{
    struct cutter *c = arg;
    struct linger lg = {1, 0};
    char hello[4096];
    int fd = accept(c->lfd, NULL, NULL), up;

    if (fd < 0)
        return NULL;
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)recv(fd, hello, sizeof(hello), 0);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    fd = accept(c->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    up = testnet_connect(c->target, 3000);
    if (up >= 0) {
        relay(fd, up);
        close(up);
    }
    close(fd);
    return NULL;
}

static void cutter_start(struct cutter *c, int target)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);

    c->target = target;
    c->lfd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(c->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(c->lfd, 8), 0);
    getsockname(c->lfd, (struct sockaddr *)&a, &alen);
    c->port = ntohs(a.sin_port);
    pthread_create(&c->thread, NULL, cutter_main, c);
}

static void cutter_stop(struct cutter *c)
{
    shutdown(c->lfd, SHUT_RDWR);
    pthread_join(c->thread, NULL);
    close(c->lfd);
}

/* A new connection reset before a byte of the request left the client (the handshake was cut):
 * nothing was sent, so the request goes out again on another connection and succeeds. */
static void test_reset_in_handshake_retried(void **state)
{
    struct fixture *f = *state;
    struct cutter c;
    struct wdn_http_pool *pool;
    struct result r;

    cutter_start(&c, f->port);
    struct wdn_http_pool_config pc = {
        .host = "127.0.0.1", .port = c.port, .tls = f->cli_ctx, .server_name = "127.0.0.1"};
    assert_int_equal(wdn_http_pool_new(&f->loop, &pc, &pool), 0);
    request(f, pool, &r);
    if (r.status != 0)
        print_error("status %d (%s)\n", r.status, wdn_errname(r.status));
    assert_int_equal(r.status, 0);
    assert_int_equal(r.http_status, 200);
    assert_true(wdn_str_eq_cstr(wdn_buf_str(&r.body), SPIFFE_CALLER));
    assert_int_equal(wdn_http_pool_connects(pool), 2);
    wdn_buf_reset(&r.body);
    wdn_http_pool_free(pool);
    cutter_stop(&c);
}

/* ---- One record for a head and a small body ----------------------------------------------- */

static int records_in;

static void count_records(int write_p, int version, int content_type, const void *buf, size_t len,
                          SSL *ssl, void *arg)
{
    if (!write_p && content_type == SSL3_RT_HEADER)
        records_in++;
}

/* Sends GET /size/n on ssl and reads the whole response; returns the body's length, checks its
 * bytes against the pattern. */
static size_t sized_exchange(SSL *ssl, size_t n)
{
    static char buf[80000];
    char req[64];
    size_t got = 0, body_at = 0, want = 0;
    long deadline = tu_now_ms() + 10000;

    snprintf(req, sizeof(req), "GET /size/%zu HTTP/1.1\r\nHost: a\r\n\r\n", n);
    assert_true(SSL_write(ssl, req, (int)strlen(req)) > 0);
    while (tu_now_ms() < deadline) {
        int k = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got));
        assert_true(k > 0);
        got += (size_t)k;
        buf[got] = '\0';
        if (body_at == 0) {
            char *end = strstr(buf, "\r\n\r\n"), *cl = strstr(buf, "Content-Length: ");
            if (end == NULL)
                continue;
            assert_non_null(cl);
            body_at = (size_t)(end + 4 - buf);
            want = strtoul(cl + 16, NULL, 10);
        }
        if (got - body_at >= want)
            break;
    }
    assert_int_equal(got - body_at, want);
    assert_memory_equal(buf + body_at, pattern, want);
    return want;
}

/* A streamed response's head and a body that fit in one TLS record go out as one record (each
 * record costs a seal here and an open at the client); larger ones arrive whole in several. */
static void test_head_and_small_body_one_record(void **state)
{
    struct fixture *f = *state;
    static const size_t sizes[] = {1, 20, 4000, 16000, 16384, 16385, 40000, 70000};
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl;
    int fd;

    assert_non_null(ctx);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), f->pki.ca);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    assert_int_equal(SSL_CTX_use_certificate(ctx, f->pki.cli), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, f->pki.cli_key), 1);
    fd = testnet_connect(f->port, 10000);
    assert_true(fd >= 0);
    ssl = SSL_new(ctx);
    assert_int_equal(SSL_set_fd(ssl, fd), 1);
    assert_int_equal(SSL_connect(ssl), 1);
    /* The first exchange also carries the server's session ticket: not counted. */
    assert_int_equal(sized_exchange(ssl, 1), 1);
    SSL_set_msg_callback(ssl, count_records);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        records_in = 0;
        assert_int_equal(sized_exchange(ssl, sizes[i]), sizes[i]);
        if (sizes[i] <= 16000)
            assert_int_equal(records_in, 1);
        else
            assert_true(records_in >= 2);
    }
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mtls_peer_identity_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_client_cert_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_server_name_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_client_on_tls_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_to_tls_upstream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_tls_retires_old_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_in_handshake_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_and_small_body_one_record, setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
