/* libFuzzer target: arbitrary bytes from the network fed to a server-side TLS engine (the
 * sidecar's internal mTLS port and HTTPS listeners see exactly this). The input is fed in two
 * pieces split at a point derived from its length, so records that straddle reads are covered;
 * after each piece the engine is read until it stops, as the libuv read callback does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "http/tls.h"
#include "pki/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wdn_tls_ctx *server_ctx(void)
{
    static struct wdn_tls_ctx *ctx;
    struct wdn_pki_cert *ca, *srv;
    struct wdn_pki_workload_opts o = {.app_id = "fuzz-server"};

    if (ctx != NULL)
        return ctx;
    /* Created once per process; it lives until exit like any global of a fuzz target. */
    ca = wdn_pki_ca_create("fuzz", NULL);
    srv = ca ? wdn_pki_issue_workload(ca, &o, NULL) : NULL;
    if (srv != NULL) {
        /* OPTIONAL: client Certificate messages are parsed and verified, not refused outright. */
        struct wdn_tls_config c = {.server = true, .cert = srv->cert, .key = srv->key,
                                   .ca = ca->cert, .verify = WDN_TLS_VERIFY_OPTIONAL};
        ctx = wdn_tls_ctx_new(&c, NULL);
    }
    wdn_pki_cert_free(srv);
    wdn_pki_cert_free(ca);
    if (ctx == NULL)
        abort();
    return ctx;
}

static int drive(struct wdn_tls *t)
{
    char plain[4096];
    int r;

    do {
        r = wdn_tls_read(t, plain, sizeof(plain));
    } while (r > 0);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn_tls *t = wdn_tls_new_server(server_ctx());
    size_t split = size > 1 ? (size * 7 / 13) : size;
    char *out;
    size_t outlen;
    int r = WDN_EAGAIN;

    if (t == NULL)
        return 0;
    if (wdn_tls_feed(t, data, split) == 0)
        r = drive(t);
    if (r == WDN_EAGAIN && size > split && wdn_tls_feed(t, data + split, size - split) == 0)
        r = drive(t);
    if (wdn_tls_handshake_done(t)) {
        struct wdn_str id;
        (void)wdn_tls_peer_spiffe_id(t, &id);
        (void)wdn_tls_write(t, "HTTP/1.1 200 OK\r\n\r\n", 19);
        (void)wdn_tls_close(t);
    }
    if (wdn_tls_take_output(t, &out, &outlen) == 0)
        free(out);
    wdn_tls_free(t);
    return 0;
}
