/* Plumbing shared by the quickstart apps: port selection, JSON answers, serving until a signal. */
#include "app.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/str.h"

static int parse_port(const char *s)
{
    uint64_t v;

    if (s == NULL || wdn_str_to_u64(wdn_str_from_cstr(s), 65535, &v) != 0)
        return -1;
    return (int)v;
}

int app_port(int argc, char **argv, int def)
{
    const char *env = getenv("APP_PORT");
    int i;

    for (i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--port") == 0 || strcmp(argv[i], "-p") == 0) && i + 1 < argc)
            return parse_port(argv[i + 1]);
        if (strncmp(argv[i], "--port=", 7) == 0)
            return parse_port(argv[i] + 7);
    }
    if (env != NULL && env[0] != '\0')
        return parse_port(env);
    return def;
}

const char *app_env(const char *name, const char *def)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : def;
}

int app_respond_json(struct wdn_http_req *req, int status, const json_t *doc)
{
    struct wdn_http_header h[] = {{WDN_STR("Content-Type"), WDN_STR("application/json")}};
    char *s = json_dumps(doc, JSON_COMPACT);
    int rc;

    if (s == NULL)
        return wdn_http_respond(req, 500, NULL, 0, WDN_STR(""));
    rc = wdn_http_respond(req, status, h, 1, wdn_str_from_cstr(s));
    free(s);
    return rc;
}

/* The first handler of every app: one access-log line per request (method and path, never
 * headers or bodies), so a test can see whether a request reached the app at all. */
struct access_log {
    struct wdn_http_handler base;
    const char *name;
};

static int log_request(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    const struct access_log *l = (const struct access_log *)self;
    const struct wdn_http_request *h = wdn_http_req_head(req);

    fprintf(stderr, "%s: %.*s %.*s\n", l->name, WDN_STR_FMT(h->method), WDN_STR_FMT(h->path));
    return WDN_HTTP_DECLINED;
}

int app_serve(const char *name, struct wdn_http_handler *const *handlers, size_t n, int port,
              int workers)
{
    struct access_log log = {{.on_req = log_request}, name};
    struct wdn_http_handler *chain[16];
    struct wdn_http_server_config cfg;
    struct wdn_http_server *srv = NULL;
    char listen[64];
    sigset_t set;
    int sig = 0, rc;

    if (port < 0) {
        fprintf(stderr, "%s: invalid port (use --port N or APP_PORT)\n", name);
        return 2;
    }
    /* Block the signals before any thread starts, so that only sigwait below sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = listen;
    cfg.workers = workers;
    if (n + 1 > sizeof(chain) / sizeof(chain[0]))
        return 2;
    chain[0] = &log.base;
    memcpy(chain + 1, handlers, n * sizeof(*handlers));
    cfg.handlers = chain;
    cfg.nhandlers = n + 1;
    cfg.shutdown_grace_ms = 2000;
    rc = wdn_http_server_start(&cfg, &srv);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot listen on %s: %s\n", name, listen, wdn_strerror(rc));
        return 1;
    }
    fprintf(stderr, "%s listening on http://127.0.0.1:%d\n", name, wdn_http_server_port(srv));
    sigwait(&set, &sig);
    fprintf(stderr, "%s: shutting down\n", name);
    wdn_http_server_stop(srv);
    wdn_http_server_free(srv);
    return 0;
}
