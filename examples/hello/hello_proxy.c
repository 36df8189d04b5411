/* hello-proxy: forwards every request to one upstream over pooled keep-alive connections. The
 * proxy building block with nothing else around it, for tests and benchmarks:
 *   hello-proxy --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT [--workers N]
 * Stops gracefully on SIGINT or SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/error.h"
#include "http/proxy.h"
#include "http/server.h"

static void usage(void)
{
    fprintf(stderr, "usage: hello-proxy --listen HOST:PORT --upstream HOST:PORT [--workers N]\n");
}

static void on_signal(uv_signal_t *s, int signum)
{
    uv_stop(s->loop);
}

/* Splits "host:port" (or "[v6]:port") into host (NUL-terminated in buf) and port. */
static int split_hostport(const char *s, char *buf, size_t cap, int *port)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hlen;
    char *end;
    long p;

    if (colon == NULL)
        return -1;
    hlen = (size_t)(colon - s);
    if (s[0] == '[' && hlen >= 2 && s[hlen - 1] == ']') {
        h = s + 1;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= cap)
        return -1;
    memcpy(buf, h, hlen);
    buf[hlen] = '\0';
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

int main(int argc, char **argv)
{
    struct wdn_http_server_config cfg = {0};
    struct wdn_http_proxy_config pcfg = {0};
    struct wdn_http_server *srv = NULL;
    struct wdn_http_proxy *proxy = NULL;
    struct wdn_http_handler *chain[1];
    const char *upstream = NULL;
    char host[256];
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            cfg.listen = argv[++i];
        } else if (strcmp(argv[i], "--upstream") == 0 && i + 1 < argc) {
            upstream = argv[++i];
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            cfg.workers = (int)strtol(argv[++i], NULL, 10);
        } else {
            usage();
            return 2;
        }
    }
    if (cfg.listen == NULL || upstream == NULL ||
        split_hostport(upstream, host, sizeof(host), &pcfg.upstream.port) != 0) {
        usage();
        return 2;
    }
    pcfg.upstream.host = host;
    rc = wdn_http_proxy_new(&pcfg, &proxy);
    if (rc) {
        fprintf(stderr, "hello-proxy: bad upstream %s: %s\n", upstream, wdn_strerror(rc));
        return 2;
    }
    chain[0] = wdn_http_proxy_handler(proxy);
    cfg.handlers = chain;
    cfg.nhandlers = 1;
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    rc = wdn_http_server_start(&cfg, &srv);
    if (rc) {
        fprintf(stderr, "hello-proxy: cannot listen on %s: %s\n", cfg.listen, wdn_strerror(rc));
        wdn_http_proxy_free(proxy);
        return 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    wdn_http_server_free(srv);
    wdn_http_proxy_free(proxy);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}
