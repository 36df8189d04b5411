/* Plumbing shared by the example apps, on libwarden's public API only (include/warden): the
 * port, the environment, an access log, serving until SIGINT or SIGTERM. */
#include "app.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s)
{
    char *end;
    long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    return errno == 0 && *end == '\0' && v <= 65535 ? (int)v : -1;
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

/* One access-log line per request (method and path, never headers or bodies). */
static void log_request(void *ud, const char *method, const char *path)
{
    fprintf(stderr, "%s: %s %s\n", (const char *)ud, method, path);
}

struct wdn_app *app_new(const char *name, int port)
{
    struct wdn_app_config cfg = {.port = port, .on_request = log_request, .ud = (void *)name};
    const char *workers = app_env("APP_WORKERS", NULL);
    const char *access_log = app_env("APP_ACCESS_LOG", "1");
    struct wdn_app *app;

    /* APP_ACCESS_LOG=0: no line per request (each is a write to stderr; bench/mcp compares with a
     * TypeScript server that logs nothing). */
    if (strcmp(access_log, "0") == 0)
        cfg.on_request = NULL;
    else if (strcmp(access_log, "1") != 0) {
        fprintf(stderr, "%s: APP_ACCESS_LOG must be 0 or 1\n", name);
        return NULL;
    }

    /* APP_WORKERS: HTTP worker threads (loops), 1 by default, at most 16. */
    if (workers != NULL) {
        cfg.workers = parse_port(workers);
        if (cfg.workers < 1 || cfg.workers > 16) {
            fprintf(stderr, "%s: APP_WORKERS must be 1..16\n", name);
            return NULL;
        }
    }
    if (port < 0) {
        fprintf(stderr, "%s: invalid port (use --port N or APP_PORT)\n", name);
        return NULL;
    }
    app = wdn_app_new(&cfg);
    if (app == NULL)
        fprintf(stderr, "%s: out of memory\n", name);
    return app;
}

int app_run(const char *name, struct wdn_app *app)
{
    sigset_t set;
    int sig = 0, rc;

    /* Block the signals before any thread starts, so that only sigwait below sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = wdn_app_start(app);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot listen: %s\n", name, wdn_strerror(rc));
        wdn_app_free(app);
        return 1;
    }
    fprintf(stderr, "%s listening on http://127.0.0.1:%d\n", name, wdn_app_port(app));
    sigwait(&set, &sig);
    fprintf(stderr, "%s: shutting down\n", name);
    wdn_app_stop(app);
    wdn_app_free(app);
    return 0;
}
