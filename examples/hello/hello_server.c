/* hello-server: answers every request with a small JSON body. The smallest program on the
 * HTTP core, for tests and benchmarks:
 *   hello-server --listen 127.0.0.1:PORT [--workers N]
 * Stops gracefully on SIGINT or SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/error.h"
#include "http/server.h"

static int hello_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    static const struct wdn_http_header hdrs[] = {
        {{"Content-Type", 12}, {"application/json", 16}},
    };
    wdn_http_respond(req, 200, hdrs, 1, WDN_STR("{\"message\":\"hello\"}\n"));
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: hello-server --listen HOST:PORT [--workers N]\n");
}

static void on_signal(uv_signal_t *s, int signum)
{
    uv_stop(s->loop);
}

int main(int argc, char **argv)
{
    struct wdn_http_handler hello = {.on_req = hello_on_req};
    struct wdn_http_handler *chain[] = {&hello};
    struct wdn_http_server_config cfg = {.handlers = chain, .nhandlers = 1};
    struct wdn_http_server *srv = NULL;
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            cfg.listen = argv[++i];
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            cfg.workers = (int)strtol(argv[++i], NULL, 10);
        } else {
            usage();
            return 2;
        }
    }
    if (cfg.listen == NULL) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    rc = wdn_http_server_start(&cfg, &srv);
    if (rc) {
        fprintf(stderr, "hello-server: cannot listen on %s: %s\n", cfg.listen, wdn_strerror(rc));
        return 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    wdn_http_server_free(srv);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}
