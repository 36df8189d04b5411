/* `warden dev run -f RUNFILE`: Dapr's multi-app run. Starts a sidecar per app, waits until each
 * is healthy, then starts the apps with the Dapr environment (APP_ID, APP_PORT, DAPR_HTTP_PORT,
 * DAPR_HTTP_ENDPOINT, DAPR_API_TOKEN); prefixes their output; on Ctrl+C stops the apps, then
 * the sidecars, and leaves no process or registry entry behind. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <uv.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/file.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/devrun_proc.h"
#include "project/project.h"
#include "project/store.h"
#include "resources/resources.h"

extern char **environ;

#define SIDECAR_START_MS 30000
#define STOP_GRACE_MS 5000
#define MAX_ENV 1024

static const char devrun_usage[] =
    "Usage: warden dev run -f RUNFILE [--project P]\n"
    "\n"
    "Runs every app of a Dapr multi-app run file, each beside its own sidecar, on this\n"
    "machine. Sidecars start first (ports chosen free unless daprHTTPPort is given); once each\n"
    "is healthy its app starts with APP_ID, APP_PORT, DAPR_HTTP_PORT, DAPR_HTTP_ENDPOINT,\n"
    "DAPR_API_TOKEN (a per-app token its sidecar checks), each once, and the file's env\n"
    "(for those five names, dev run's values win, with a note). Output is\n"
    "prefixed '== APP - <id> ==' and '== SIDECAR - <id> ==' (per appLogDestination and\n"
    "daprdLogDestination; logs also go to $WARDEN_HOME/projects/<p>/logs/). Ctrl+C stops the\n"
    "apps, then the sidecars. Configuration changes made with the CLI meanwhile apply live;\n"
    "each sidecar's reloads are reported here ('applied configuration generation N', or why\n"
    "it refused a change and keeps running the generation it had).\n"
    "\n"
    "  -f, --file RUNFILE   the run file (version: 1, common:, apps:)\n"
    "  -p, --project P      project (default: WARDEN_PROJECT, then 'warden project use');\n"
    "                       created when it does not exist\n";

struct app {
    const struct wdn_res_run_app *spec;
    unsigned long long seen_gen; /* what its registry entry said last (reload reports) */
    char seen_err[512];
    char id[128];
    int app_port, http_port;
    char token[65];
    struct wdn_proc *sidecar, *proc;
    bool healthy, sidecar_done, app_done, started;
    int app_status;
};

enum phase { PH_SIDECARS, PH_RUNNING, PH_STOPPING };

struct devrun {
    uv_loop_t *loop;
    uv_signal_t sigint, sigterm;
    uv_timer_t tick;
    struct app *apps;
    size_t n;
    char project[128];
    char self[1024];
    enum phase phase;
    uint64_t deadline;
    int exit_code;
    bool sidecars_stopping;
    unsigned ticks;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    char line[1024];
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    printf("== warden == %s\n", line);
    fflush(stdout);
}

/* Picks a free port on 127.0.0.1 (0 on failure). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;

    if (fd < 0)
        return 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* True when something already listens on 127.0.0.1:port (or the port cannot be bound). */
static bool port_taken(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    bool taken;

    if (fd < 0)
        return true;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    taken = bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0;
    close(fd);
    return taken;
}

/* GET /v1.0/healthz on the sidecar; true on a 204. Short timeouts: it runs on the loop. */
static bool sidecar_healthy(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    static const char req[] = "GET /v1.0/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Connection: close\r\n\r\n";
    char buf[64] = "";
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = false;

    if (fd < 0)
        return false;
    struct timeval tv = {0, 300000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(req) - 1) &&
        recv(fd, buf, sizeof(buf) - 1, 0) > 12)
        ok = strncmp(buf, "HTTP/1.1 204", 12) == 0;
    close(fd);
    return ok;
}

static void random_token(char out[65])
{
    unsigned char r[32];
    static const char hex[] = "0123456789abcdef";
    RAND_bytes(r, sizeof(r));
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[64] = '\0';
}

static bool dest_console(const char *dest, const char *dflt)
{
    const char *d = dest ? dest : dflt;
    return strcmp(d, "console") == 0 || strcmp(d, "fileAndConsole") == 0;
}

static bool dest_file(const char *dest, const char *dflt)
{
    const char *d = dest ? dest : dflt;
    return strcmp(d, "file") == 0 || strcmp(d, "fileAndConsole") == 0;
}

static void all_stopped_check(struct devrun *r);

static void on_sidecar_exit(struct wdn_proc *p, int status, void *ud)
{
    struct devrun *r = ud;
    for (size_t i = 0; i < r->n; i++) {
        struct app *a = &r->apps[i];
        if (a->sidecar != p)
            continue;
        a->sidecar_done = true;
        wdn_store_remove_sidecar(r->project, a->id, 0);
        if (r->phase != PH_STOPPING) {
            fprintf(stderr, "warden dev run: the sidecar of app '%s' exited with status %d%s\n%s",
                    a->id, status, a->healthy ? "" : " before it became healthy", wdn_proc_tail(p));
            r->exit_code = WDN_CLI_FAIL;
            r->phase = PH_STOPPING;
        }
    }
    all_stopped_check(r);
}

static void on_app_exit(struct wdn_proc *p, int status, void *ud)
{
    struct devrun *r = ud;
    bool all_done = true;

    for (size_t i = 0; i < r->n; i++) {
        struct app *a = &r->apps[i];
        if (a->proc == p) {
            a->app_done = true;
            a->app_status = status;
            if (r->phase != PH_STOPPING) {
                say("app '%s' exited with status %d", a->id, status);
                if (status != 0)
                    r->exit_code = WDN_CLI_FAIL;
            }
        }
        if (a->proc && !a->app_done)
            all_done = false;
    }
    if (all_done && r->phase == PH_RUNNING) {
        say("every app has exited; stopping the sidecars");
        r->phase = PH_STOPPING;
    }
    all_stopped_check(r);
}

/* An environment under construction: entries borrowed from ours, or malloc'd (owned). */
struct envb {
    char *v[MAX_ENV + 1];
    size_t n;
    char *owned[MAX_ENV];
    size_t nowned;
};

static int env_add(struct envb *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int env_add(struct envb *e, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int rc;

    if (e->n >= MAX_ENV)
        return WDN_ELIMIT;
    va_start(ap, fmt);
    rc = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return WDN_ENOMEM;
    e->owned[e->nowned++] = s;
    e->v[e->n++] = s;
    e->v[e->n] = NULL;
    return 0;
}

static void env_free(struct envb *e)
{
    for (size_t i = 0; i < e->nowned; i++)
        free(e->owned[i]);
    e->nowned = e->n = 0;
}

/* Builds the app's environment: ours, then the run file's env, then the Dapr variables. The
 * folder of the warden executable goes first on PATH (the file's PATH, else ours), so a run
 * file can name the apps built beside it (the quickstart's mcp_server, ...) without a path. */
static int build_env(const struct app *a, const char *bin_dir, struct envb *e)
{
    const struct wdn_res_map *fenv = &a->spec->sh.env;
    static const char *const ours[] = {
        "APP_ID=",         "APP_PORT=", "DAPR_HTTP_PORT=", "DAPR_HTTP_ENDPOINT=", "DAPR_API_TOKEN=",
        "DAPR_GRPC_PORT=", "PATH="};
    const char *path = getenv("PATH");
    int rc = 0;

    for (char **v = environ; *v && rc == 0; v++) {
        bool overridden = false;
        for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
            overridden |= strncmp(*v, ours[i], strlen(ours[i])) == 0;
        for (size_t i = 0; i < fenv->n && !overridden; i++) {
            size_t l = strlen(fenv->v[i].name);
            overridden = strncmp(*v, fenv->v[i].name, l) == 0 && (*v)[l] == '=';
        }
        if (overridden)
            continue;
        if (e->n >= MAX_ENV)
            rc = WDN_ELIMIT;
        else
            e->v[e->n++] = *v;
    }
    /* The variables dev run sets (below) come once: the run file's copy is dropped, as Dapr's
     * later value wins there (APP_PORT stays the file's when the app has no appPort). */
    static const char *const sets[] = {"APP_ID", "APP_PORT", "DAPR_HTTP_PORT", "DAPR_HTTP_ENDPOINT",
                                       "DAPR_API_TOKEN"};
    for (size_t i = 0; i < fenv->n && rc == 0; i++) {
        const char *name = fenv->v[i].name, *value = fenv->v[i].value;
        bool ours_too = false;
        for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++)
            ours_too |= strcmp(name, sets[k]) == 0;
        if (strcmp(name, "APP_PORT") == 0 && a->app_port == 0)
            ours_too = false;
        if (strcmp(name, "PATH") == 0)
            path = value;
        else if (!ours_too)
            rc = env_add(e, "%s=%s", name, value);
        else if (!(strcmp(name, "APP_PORT") == 0 && strtol(value, NULL, 10) == a->app_port))
            say("app '%s': env %s from the run file is replaced by the value dev run sets", a->id,
                name);
    }
    if (rc == 0)
        rc = env_add(e, "PATH=%s%s%s", bin_dir, path ? ":" : "", path ? path : "");
    if (rc == 0)
        rc = env_add(e, "APP_ID=%s", a->id);
    if (rc == 0 && a->app_port > 0)
        rc = env_add(e, "APP_PORT=%d", a->app_port);
    if (rc == 0)
        rc = env_add(e, "DAPR_HTTP_PORT=%d", a->http_port);
    if (rc == 0)
        rc = env_add(e, "DAPR_HTTP_ENDPOINT=http://127.0.0.1:%d", a->http_port);
    if (rc == 0)
        rc = env_add(e, "DAPR_API_TOKEN=%s", a->token);
    e->v[e->n] = NULL;
    return rc;
}

static int start_app(struct devrun *r, struct app *a)
{
    struct envb *env = NULL;
    char prefix[200], logf[WDN_MAX_PATH], rel[300];
    const char *dest = a->spec->sh.app_log_destination;
    int rc;

    if (a->spec->command.n == 0) {
        say("app '%s' has no command: running its sidecar only", a->id);
        return 0;
    }
    char bin_dir[1024];
    snprintf(bin_dir, sizeof(bin_dir), "%s", r->self);
    char *slash = strrchr(bin_dir, '/');
    if (slash)
        *slash = '\0';
    /* The run file's command list is not NULL-terminated; exec needs it to be. */
    const char *cmd[64];
    if (a->spec->command.n >= sizeof(cmd) / sizeof(cmd[0])) {
        fprintf(stderr, "warden dev run: the command of app '%s' has more than %zu words\n", a->id,
                sizeof(cmd) / sizeof(cmd[0]) - 1);
        return WDN_CLI_FAIL;
    }
    memcpy(cmd, a->spec->command.v, a->spec->command.n * sizeof(cmd[0]));
    cmd[a->spec->command.n] = NULL;
    env = calloc(1, sizeof(*env));
    rc = env ? build_env(a, bin_dir, env) : WDN_ENOMEM;
    if (rc) {
        fprintf(stderr, "warden dev run: cannot build the environment of app '%s': %s\n", a->id,
                wdn_strerror(rc));
        if (env)
            env_free(env);
        free(env);
        return WDN_CLI_FAIL;
    }
    snprintf(prefix, sizeof(prefix), "== APP - %s ==", a->id);
    snprintf(rel, sizeof(rel), "logs/%s-app.log", a->id);
    wdn_project_path(logf, sizeof(logf), r->project, rel);
    struct wdn_proc_spec spec = {
        .argv = cmd,
        .env = (const char *const *)env->v,
        .cwd = a->spec->app_dir,
        .prefix = prefix,
        .color = "\033[36m",
        .to_console = dest_console(dest, "fileAndConsole"),
        .log_file = dest_file(dest, "fileAndConsole") ? logf : NULL,
    };
    rc = wdn_proc_start(r->loop, &spec, on_app_exit, r, &a->proc);
    env_free(env); /* exec has copied it */
    free(env);
    if (rc) {
        fprintf(stderr, "warden dev run: cannot start app '%s' (%s in %s): %s\n", a->id,
                a->spec->command.v[0], a->spec->app_dir ? a->spec->app_dir : ".", uv_strerror(rc));
        return WDN_CLI_FAIL;
    }
    say("app '%s' started (pid %d)%s", a->id, wdn_proc_pid(a->proc), a->app_port > 0 ? "" : "");
    return 0;
}

static int start_sidecar(struct devrun *r, struct app *a)
{
    char prefix[200], logf[WDN_MAX_PATH], rel[300], port_s[16], app_port_s[16], tok[128];
    const char *argv[64];
    char *env[MAX_ENV];
    size_t n = 0, e = 0;
    const char *dest = a->spec->sh.daprd_log_destination;

    argv[n++] = r->self;
    argv[n++] = "sidecar";
    argv[n++] = "--app-id";
    argv[n++] = a->id;
    snprintf(port_s, sizeof(port_s), "%d", a->http_port);
    argv[n++] = "--http-port";
    argv[n++] = port_s;
    if (a->app_port > 0) {
        snprintf(app_port_s, sizeof(app_port_s), "%d", a->app_port);
        argv[n++] = "--app-port";
        argv[n++] = app_port_s;
    }
    argv[n++] = "--project";
    argv[n++] = r->project;
    if (a->spec->sh.app_protocol) {
        argv[n++] = "--app-protocol";
        argv[n++] = a->spec->sh.app_protocol;
    }
    if (a->spec->sh.log_level) {
        argv[n++] = "--log-level";
        argv[n++] = a->spec->sh.log_level;
    }
    if (a->spec->config_file) {
        argv[n++] = "--config";
        argv[n++] = a->spec->config_file;
    }
    if (a->spec->audit_log) {
        argv[n++] = "--audit-log";
        argv[n++] = a->spec->audit_log;
    }
    /* The run file's resources folders come on top of the project's stored resources. */
    for (size_t i = 0; i < a->spec->resources.n && n + 3 < sizeof(argv) / sizeof(argv[0]); i++) {
        argv[n++] = "--resources-path";
        argv[n++] = a->spec->resources.v[i];
    }
    argv[n] = NULL;
    for (char **ev = environ; *ev && e < MAX_ENV - 2; ev++) {
        if (strncmp(*ev, "DAPR_API_TOKEN=", 15) != 0)
            env[e++] = *ev;
    }
    snprintf(tok, sizeof(tok), "DAPR_API_TOKEN=%s", a->token);
    env[e++] = tok;
    env[e] = NULL;
    snprintf(prefix, sizeof(prefix), "== SIDECAR - %s ==", a->id);
    snprintf(rel, sizeof(rel), "logs/%s-sidecar.log", a->id);
    wdn_project_path(logf, sizeof(logf), r->project, rel);
    struct wdn_proc_spec spec = {
        .argv = argv,
        .env = (const char *const *)env,
        .prefix = prefix,
        .color = "\033[33m",
        .to_console = dest_console(dest, "file"),
        .log_file = dest_file(dest, "file") ? logf : NULL,
    };
    int rc = wdn_proc_start(r->loop, &spec, on_sidecar_exit, r, &a->sidecar);
    if (rc) {
        fprintf(stderr, "warden dev run: cannot start the sidecar of '%s': %s\n", a->id,
                uv_strerror(rc));
        return WDN_CLI_FAIL;
    }
    return 0;
}

static void close_all(struct devrun *r)
{
    for (size_t i = 0; i < r->n; i++) {
        wdn_proc_close(r->apps[i].proc);
        wdn_proc_close(r->apps[i].sidecar);
    }
    uv_close((uv_handle_t *)&r->sigint, NULL);
    uv_close((uv_handle_t *)&r->sigterm, NULL);
    uv_close((uv_handle_t *)&r->tick, NULL);
}

/* Stopping is ordered: apps first, then (once every app is gone) the sidecars. */
static void all_stopped_check(struct devrun *r)
{
    bool apps_running = false, sidecars_running = false;

    if (r->phase != PH_STOPPING)
        return;
    for (size_t i = 0; i < r->n; i++) {
        apps_running |= wdn_proc_running(r->apps[i].proc);
        sidecars_running |= wdn_proc_running(r->apps[i].sidecar);
    }
    for (size_t i = 0; i < r->n; i++)
        wdn_proc_stop(r->apps[i].proc, STOP_GRACE_MS);
    if (apps_running)
        return;
    if (!r->sidecars_stopping) {
        r->sidecars_stopping = true;
        for (size_t i = 0; i < r->n; i++)
            wdn_proc_stop(r->apps[i].sidecar, STOP_GRACE_MS);
    }
    if (!sidecars_running) {
        for (size_t i = 0; i < r->n; i++)
            wdn_store_remove_sidecar(r->project, r->apps[i].id, 0);
        close_all(r);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct devrun *r = s->data;
    if (r->phase == PH_STOPPING) {
        say("stopping now");
        for (size_t i = 0; i < r->n; i++) {
            wdn_proc_stop(r->apps[i].proc, 0);
            wdn_proc_stop(r->apps[i].sidecar, 0);
        }
        return;
    }
    say("received %s: stopping apps, then sidecars", signum == SIGINT ? "SIGINT" : "SIGTERM");
    r->phase = PH_STOPPING;
    all_stopped_check(r);
}

/* Says in this terminal what each sidecar's reloads came to (its registry entry, which it
 * rewrites after each reload): a new generation applied, or a change refused (the sidecar keeps
 * running the generation it had; without this the reason is only in its log file). */
static void report_reloads(struct devrun *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct app *a = &r->apps[i];
        struct wdn_store_sidecar s;
        if (!a->healthy || wdn_store_get_sidecar(r->project, a->id, &s) != 0)
            continue;
        if (a->seen_gen == 0) /* a sidecar starts at generation 1, without error */
            a->seen_gen = 1;
        if (s.last_error[0] && strcmp(s.last_error, a->seen_err) != 0)
            say("sidecar of '%s' refused a configuration change: %s (it keeps running generation "
                "%llu)",
                a->id, s.last_error, s.generation);
        else if (s.generation != a->seen_gen)
            say("sidecar of '%s' applied configuration generation %llu (%s%s%s)", a->id,
                s.generation, s.config[0] ? "configuration '" : "no configuration", s.config,
                s.config[0] ? "'" : "");
        a->seen_gen = s.generation;
        snprintf(a->seen_err, sizeof(a->seen_err), "%s", s.last_error);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct devrun *r = t->data;
    bool all_healthy = true;

    if (r->phase == PH_STOPPING) {
        all_stopped_check(r);
        return;
    }
    if (r->phase == PH_RUNNING && ++r->ticks % 3 == 0)
        report_reloads(r);
    if (r->phase != PH_SIDECARS)
        return;
    for (size_t i = 0; i < r->n; i++) {
        struct app *a = &r->apps[i];
        if (!a->healthy && sidecar_healthy(a->http_port)) {
            a->healthy = true;
            say("sidecar of '%s' is healthy (Dapr API on 127.0.0.1:%d)", a->id, a->http_port);
        }
        all_healthy &= a->healthy;
    }
    if (!all_healthy) {
        if (wdn_clock_mono_ms() > r->deadline) {
            for (size_t i = 0; i < r->n; i++) {
                if (!r->apps[i].healthy)
                    fprintf(stderr,
                            "warden dev run: the sidecar of '%s' did not become healthy within "
                            "%d s\n%s",
                            r->apps[i].id, SIDECAR_START_MS / 1000,
                            wdn_proc_tail(r->apps[i].sidecar));
            }
            r->exit_code = WDN_CLI_FAIL;
            r->phase = PH_STOPPING;
            all_stopped_check(r);
        }
        return;
    }
    r->phase = PH_RUNNING;
    for (size_t i = 0; i < r->n; i++) {
        if (start_app(r, &r->apps[i]) != 0) {
            r->exit_code = WDN_CLI_FAIL;
            r->phase = PH_STOPPING;
            all_stopped_check(r);
            return;
        }
    }
    say("all apps started; press Ctrl+C to stop");
}

/* Checks ports and fills in the ones to choose. Returns 0 or prints what is wrong. */
/* True when port is one the run file names (an appPort or daprHTTPPort) or one chosen already:
 * a port picked for a sidecar must not be one an app is about to listen on. */
static bool port_spoken_for(const struct devrun *r, size_t upto, int port)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct wdn_res_run_app *s = r->apps[i].spec;
        if (s->app_port == port || s->dapr_http_port == port ||
            (i < upto && r->apps[i].http_port == port))
            return true;
    }
    return false;
}

static int plan_ports(struct devrun *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct app *a = &r->apps[i];
        const struct wdn_res_run_app *s = a->spec;
        a->app_port = s->app_port > 0 ? (int)s->app_port : 0;
        if (a->app_port && port_taken(a->app_port)) {
            fprintf(stderr, "warden dev run: port %d of app '%s' (appPort) is already in use\n",
                    a->app_port, a->id);
            return WDN_CLI_FAIL;
        }
        a->http_port = s->dapr_http_port > 0 ? (int)s->dapr_http_port : 0;
        for (int tries = 0; a->http_port == 0 && tries < 64; tries++) {
            int p = free_port();
            if (p > 0 && !port_spoken_for(r, i, p))
                a->http_port = p;
        }
        if (s->dapr_http_port > 0 && port_taken(a->http_port)) {
            fprintf(stderr,
                    "warden dev run: port %d of app '%s' (daprHTTPPort) is already in use\n",
                    a->http_port, a->id);
            return WDN_CLI_FAIL;
        }
        if (a->http_port == 0)
            return WDN_CLI_FAIL;
        random_token(a->token);
    }
    return 0;
}

/* One dev run per project: an flock held while we run; run.pid for `project delete`. */
static int take_run_lock(const char *project, int *fd)
{
    char path[WDN_MAX_PATH], pid[32];
    struct wdn_buf b;

    wdn_project_path(path, sizeof(path), project, "run.lock");
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0 || flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        wdn_project_path(path, sizeof(path), project, "run.pid");
        long other = 0;
        if (wdn_file_read(path, 64, &b) == 0) {
            other = strtol(b.data, NULL, 10);
            wdn_buf_reset(&b);
        }
        fprintf(stderr,
                "warden dev run: project '%s' is already running (pid %ld); stop it first\n",
                project, other);
        return WDN_CLI_FAIL;
    }
    snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    wdn_project_path(path, sizeof(path), project, "run.pid");
    wdn_file_write_atomic(path, pid, strlen(pid), 0600);
    return 0;
}

static void ensure_appids(struct devrun *r)
{
    int fd;
    if (wdn_project_lock(r->project, &fd) != 0)
        return;
    for (size_t i = 0; i < r->n; i++) {
        struct wdn_store_appid a;
        if (wdn_store_get_appid(r->project, r->apps[i].id, &a) == WDN_ENOTFOUND) {
            memset(&a, 0, sizeof(a));
            snprintf(a.app_id, sizeof(a.app_id), "%s", r->apps[i].id);
            wdn_store_put_appid(r->project, &a, NULL);
            say("app ID '%s' created in project '%s'", a.app_id, r->project);
        }
    }
    wdn_project_unlock(fd);
}

static int run(struct devrun *r)
{
    uv_loop_t loop;

    uv_loop_init(&loop);
    r->loop = &loop;
    uv_signal_init(&loop, &r->sigint);
    uv_signal_init(&loop, &r->sigterm);
    uv_timer_init(&loop, &r->tick);
    r->sigint.data = r->sigterm.data = r->tick.data = r;
    uv_signal_start(&r->sigint, on_signal, SIGINT);
    uv_signal_start(&r->sigterm, on_signal, SIGTERM);
    r->phase = PH_SIDECARS;
    r->deadline = wdn_clock_mono_ms() + SIDECAR_START_MS;
    for (size_t i = 0; i < r->n; i++) {
        if (start_sidecar(r, &r->apps[i]) != 0) {
            r->exit_code = WDN_CLI_FAIL;
            r->phase = PH_STOPPING;
            break;
        }
    }
    uv_timer_start(&r->tick, on_tick, 50, 100);
    if (r->phase == PH_STOPPING)
        all_stopped_check(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return r->exit_code;
}

int wdn_cli_devrun(int argc, char **argv)
{
    const char *pos[2], *file = NULL, *proj = NULL;
    size_t npos;
    bool help;
    char msg[1200];
    struct devrun r;
    struct wdn_diag d;
    struct wdn_resources *set = NULL;
    const struct wdn_cli_opt opts[] = {
        {"file", 'f', &file, NULL, NULL, NULL, 0},
        {"project", 'p', &proj, NULL, NULL, NULL, 0},
        {0},
    };
    int lock_fd = -1, rc;

    /* `warden dev run ...`: argv[0] is "dev", argv[1] must be "run". */
    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        if (argc >= 2 && wdn_cli_is_help(argv[1])) {
            fputs(devrun_usage, stdout);
            return WDN_CLI_OK;
        }
        if (argc < 2)
            wdn_cli_err("dev", "missing subcommand: run (see 'warden dev --help')");
        else
            wdn_cli_err("dev", "unknown subcommand '%s': use run (see 'warden dev --help')",
                        argv[1]);
        return WDN_CLI_USAGE;
    }
    /* Messages name the command as the user typed it: "warden dev run: ...". */
    argv[1] = (char *)"dev run";
    rc = wdn_cli_parse(argc - 1, argv + 1, opts, pos, &npos, 0, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(devrun_usage, stdout);
        return WDN_CLI_OK;
    }
    if (file == NULL) {
        wdn_cli_err("dev run", "-f RUNFILE is required (see 'warden dev run --help')");
        return WDN_CLI_USAGE;
    }
    memset(&r, 0, sizeof(r));
    ssize_t sl = readlink("/proc/self/exe", r.self, sizeof(r.self) - 1);
    if (sl <= 0) {
        fprintf(stderr, "warden dev run: cannot find the warden executable\n");
        return WDN_CLI_FAIL;
    }
    r.self[sl] = '\0';
    set = wdn_resources_new();
    rc = set ? wdn_resources_load_path(set, file) : WDN_ENOMEM;
    for (size_t i = 0; set && i < set->n_msgs; i++)
        fprintf(stderr, "%s\n", wdn_resources_msg_format(&set->msgs[i], msg, sizeof(msg)));
    if (rc || set->n_errors || set->n_runfiles != 1 || set->runfiles[0]->n_apps == 0) {
        if (set && set->n_errors == 0)
            fprintf(stderr,
                    "warden dev run: %s is not a run file with apps (version: 1, apps: "
                    "[...])\n",
                    file);
        rc = WDN_CLI_FAIL;
        goto out;
    }
    if (proj && *proj && !wdn_project_exists(proj)) {
        if (wdn_project_create(proj, &d) != 0) {
            fprintf(stderr, "warden dev run: %s\n", d.msg);
            rc = WDN_CLI_FAIL;
            goto out;
        }
        say("project '%s' created", proj);
    }
    if (wdn_project_resolve(proj, r.project, sizeof(r.project), &d) != 0) {
        fprintf(stderr, "warden dev run: %s\n", d.msg);
        rc = WDN_CLI_FAIL;
        goto out;
    }
    const struct wdn_res_runfile *rf = set->runfiles[0];
    r.n = rf->n_apps;
    r.apps = calloc(r.n, sizeof(*r.apps));
    if (r.apps == NULL) {
        rc = WDN_CLI_FAIL;
        goto out;
    }
    for (size_t i = 0; i < r.n; i++) {
        r.apps[i].spec = &rf->apps[i];
        snprintf(r.apps[i].id, sizeof(r.apps[i].id), "%s", rf->apps[i].app_id);
    }
    rc = take_run_lock(r.project, &lock_fd);
    if (rc == 0)
        rc = plan_ports(&r);
    if (rc)
        goto out;
    ensure_appids(&r);
    rc = run(&r);
    say("stopped");
out:
    if (lock_fd >= 0) {
        char path[WDN_MAX_PATH];
        wdn_project_path(path, sizeof(path), r.project, "run.pid");
        unlink(path);
        close(lock_fd);
    }
    free(r.apps);
    wdn_resources_free(set);
    return rc;
}
