/* `warden issuer`: the development OAuth2 authorization server (HTTPS on 127.0.0.1 with a
 * certificate from the project CA), and `warden issuer rotate` for its signing keys. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <uv.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "base/log.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "http/server.h"
#include "http/tls.h"
#include "jose/b64url.h"
#include "oauth2/issuer.h"
#include "pki/pki.h"
#include "project/project.h"

#define PATH_CAP 2048
#define MAX_FLAG_CLIENTS 32

static const char issuer_usage[] =
    "Usage: warden issuer [options]\n"
    "       warden issuer rotate [--state DIR | --project P] [--alg ALG] [--delay SECS | --now]\n"
    "                            [--overlap SECS]\n"
    "\n"
    "Runs a development OAuth2 authorization server on 127.0.0.1: the client credentials\n"
    "grant at /oauth/token, /.well-known/openid-configuration,\n"
    "/.well-known/oauth-authorization-server and the JWKS at /.well-known/jwks.json. On start\n"
    "it prints the `export` lines to paste (the tutorial's AUTH0_* and WARDEN_CA_FILE, the CA\n"
    "warden's clients trust in addition to the system's). It logs to the project's\n"
    "logs/issuer.log (<state>/issuer.log without --project), serves until SIGTERM or SIGINT,\n"
    "and records its pid in <state>/issuer.pid for `warden project delete`.\n"
    "\n"
    "rotate publishes a new signing key at once and signs with it after --delay (default\n"
    "900 s, so validators have fetched it first); --now signs with it at once (a leaked key).\n"
    "\n"
    "Options:\n"
    "  --port N            port on 127.0.0.1 (default 9443; 0 picks a free one)\n"
    "  --http              serve plain HTTP instead of HTTPS (tests)\n"
    "  --client ID:SECRET  a client (repeatable); without --client or --clients a client\n"
    "                      with a random secret is generated and kept in the state folder\n"
    "  --audience AUD      audience the flag clients may ask for (repeatable; the first is\n"
    "                      the default; default " WDN_ISSUER_DEFAULT_AUDIENCE ")\n"
    "  --scope S           scopes the flag clients may ask for (space-separated, repeatable)\n"
    "  --clients FILE      clients from a YAML file (see docs/issuer.md)\n"
    "  --state DIR         keys and state (default: the project's issuer/ folder with\n"
    "                      --project, else $WARDEN_HOME/issuer)\n"
    "  --project P         use project P's folder and CA\n"
    "  --alg ALG           RS256 (default), ES256 or EdDSA\n"
    "  --typ TYP           token header typ: at+jwt (default, RFC 9068) or JWT\n"
    "  --lifetime SECS     access token lifetime (default 3600)\n"
    "  --overlap SECS      how long a replaced key stays published (default 86400)\n"
    "  --log-stderr        log to stderr instead of the log file\n"
    "  -h, --help          this help\n";

static int parse_secs(const char *flag, const char *v, int64_t *out)
{
    uint64_t n;

    if (v == NULL)
        return 0;
    if (wdn_str_to_u64(wdn_str_from_cstr(v), 10ull * 365 * 24 * 3600, &n) != 0 || n == 0) {
        wdn_cli_err("issuer", "--%s wants a positive number of seconds, not '%s'", flag, v);
        return -1;
    }
    *out = (int64_t)n;
    return 0;
}

static int parse_alg(const char *v, enum wdn_jose_alg *alg)
{
    *alg = WDN_JOSE_ALG_UNKNOWN;
    if (v == NULL)
        return 0;
    *alg = wdn_jose_alg_parse(wdn_str_from_cstr(v));
    if (*alg != WDN_JOSE_RS256 && *alg != WDN_JOSE_ES256 && *alg != WDN_JOSE_EDDSA) {
        wdn_cli_err("issuer", "--alg must be RS256, ES256 or EdDSA, not '%s'", v);
        return -1;
    }
    return 0;
}

/* The state folder: --state, else the project's issuer/ folder, else $WARDEN_HOME/issuer. */
static int state_dir(const char *flag, const char *project, char *buf, size_t cap)
{
    struct wdn_diag d;
    char home[PATH_CAP];

    if (flag != NULL)
        return wdn_fmt(buf, cap, "%s", flag);
    if (project != NULL) {
        if (!wdn_project_exists(project)) {
            wdn_diag_set(&d, WDN_ENOTFOUND, "project '%s' does not exist", project);
            wdn_cli_err("issuer", "%s (create it with `warden project create %s`)", d.msg,
                        project);
            return WDN_ENOTFOUND;
        }
        return wdn_project_path(buf, cap, project, "issuer");
    }
    if (wdn_project_home(home, sizeof(home)) != 0)
        return WDN_EINVAL;
    return wdn_fmt(buf, cap, "%s/issuer", home);
}

/* ---- rotate ------------------------------------------------------------------------------ */

/* "2026-11-01T04:05:06Z" */
static void utc_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        wdn_fmt(buf, cap, "%lld", (long long)t);
}

static int rotate_cmd(int argc, char **argv)
{
    const char *state = NULL, *project = NULL, *alg_s = NULL, *overlap_s = NULL;
    const char *delay_s = NULL;
    bool help = false, now_flag = false;
    size_t npos = 0;
    const char *pos[1];
    const struct wdn_cli_opt opts[] = {
        {"state", 0, &state, NULL, NULL, NULL, 0},
        {"project", 'p', &project, NULL, NULL, NULL, 0},
        {"alg", 0, &alg_s, NULL, NULL, NULL, 0},
        {"overlap", 0, &overlap_s, NULL, NULL, NULL, 0},
        {"delay", 0, &delay_s, NULL, NULL, NULL, 0},
        {"now", 0, NULL, &now_flag, NULL, NULL, 0},
        {0},
    };
    char dir[PATH_CAP], kid[256], when[64];
    enum wdn_jose_alg alg;
    int64_t overlap = WDN_ISSUER_DEFAULT_OVERLAP_S, now = wdn_clock_unix();
    int64_t delay = WDN_ISSUER_DEFAULT_ROTATE_DELAY_S;
    struct wdn_diag d;

    if (wdn_cli_parse(argc, argv, opts, pos, &npos, 0, &help) != 0)
        return WDN_CLI_USAGE;
    if (help) {
        fputs(issuer_usage, stdout);
        return WDN_CLI_OK;
    }
    if (now_flag && delay_s != NULL) {
        wdn_cli_err("issuer", "rotate: give --delay or --now, not both");
        return WDN_CLI_USAGE;
    }
    if (parse_alg(alg_s, &alg) != 0 || parse_secs("overlap", overlap_s, &overlap) != 0 ||
        parse_secs("delay", delay_s, &delay) != 0)
        return WDN_CLI_USAGE;
    if (now_flag)
        delay = 0;
    if (state_dir(state, project, dir, sizeof(dir)) != 0)
        return WDN_CLI_FAIL;
    if (wdn_issuer_keys_rotate(dir, alg, delay, overlap, now, kid, sizeof(kid), &d) != 0) {
        wdn_cli_err("issuer", "rotate: %s", d.msg);
        return WDN_CLI_FAIL;
    }
    utc_time(now + delay, when, sizeof(when));
    if (delay == 0)
        printf("new signing key %s in %s signs now; previous keys stay published for %lld s\n",
               kid, dir, (long long)overlap);
    else
        printf("new key %s published in %s; it signs from %s (in %lld s), previous keys stay "
               "published %lld s after that\n",
               kid, dir, when, (long long)delay, (long long)overlap);
    return WDN_CLI_OK;
}

/* ---- serve ------------------------------------------------------------------------------- */

/* A random identifier of base64url characters (no shell quoting needed). */
static int random_id(char *buf, size_t cap, size_t bytes)
{
    unsigned char r[48];
    size_t n;

    if (bytes > sizeof(r) || RAND_bytes(r, (int)bytes) != 1)
        return WDN_ECRYPTO;
    return wdn_b64url_encode(r, bytes, buf, cap, &n);
}

/* The generated client lives in <state>/client.json (0600) so that a restart keeps the
 * credentials a user already exported. */
static int generated_client(const char *dir, char *id, char *secret, size_t cap)
{
    char path[PATH_CAP];
    struct wdn_buf b;
    json_t *j = NULL;
    int rc = wdn_fmt(path, sizeof(path), "%s/client.json", dir);

    wdn_buf_init(&b, WDN_ISSUER_MAX_STATE_BYTES);
    if (rc == 0 && wdn_project_read_file(path, WDN_ISSUER_MAX_STATE_BYTES, &b) == 0) {
        j = json_loadb(b.data, b.len, 0, NULL);
        const char *i = json_string_value(json_object_get(j, "client_id"));
        const char *s = json_string_value(json_object_get(j, "client_secret"));
        if (i && s && wdn_fmt(id, cap, "%s", i) == 0 && wdn_fmt(secret, cap, "%s", s) == 0)
            goto out;
        json_decref(j);
        j = NULL;
    }
    rc = random_id(id, cap, 12);
    if (rc == 0)
        rc = random_id(secret, cap, 32);
    if (rc != 0)
        goto out;
    j = json_pack("{ssss}", "client_id", id, "client_secret", secret);
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    rc = text ? wdn_project_write_atomic(path, text, strlen(text), 0600) : WDN_ENOMEM;
    if (text)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
out:
    if (b.data)
        OPENSSL_cleanse(b.data, b.len);
    wdn_buf_reset(&b);
    json_decref(j);
    return rc;
}

/* The CA that signs the HTTPS certificate: the project's (ca/ in its folder), else one kept in
 * the state folder; created on first use. Fills ca_file with the path of ca.crt. */
static struct wdn_pki_cert *load_or_create_ca(const char *project, const char *state,
                                              char *ca_file, size_t cap, struct wdn_diag *d)
{
    char dir[PATH_CAP];
    struct wdn_pki_cert *ca = NULL;
    int lock = -1;

    if (project != NULL) {
        if (wdn_project_path(dir, sizeof(dir), project, "ca") != 0 ||
            wdn_project_lock(project, &lock) != 0) {
            wdn_diag_set(d, WDN_EIO, "cannot lock project '%s'", project);
            return NULL;
        }
    } else if (wdn_fmt(dir, sizeof(dir), "%s/ca", state) != 0) {
        wdn_diag_set(d, WDN_ELIMIT, "path too long");
        return NULL;
    }
    if (wdn_fmt(ca_file, cap, "%s/" WDN_PKI_CA_CERT_FILE, dir) != 0)
        goto out;
    if (access(ca_file, F_OK) == 0) {
        ca = wdn_pki_ca_load(dir, d);
        goto out;
    }
    ca = wdn_pki_ca_create(project ? project : "issuer", d);
    if (ca != NULL && wdn_pki_ca_save(ca, dir, d) != 0) {
        wdn_pki_cert_free(ca);
        ca = NULL;
    }
out:
    if (lock >= 0)
        wdn_project_unlock(lock);
    return ca;
}

/* Shell-quotes v when it holds anything but safe characters (user-given secrets may). */
static void shell_value(char *out, size_t cap, const char *v)
{
    size_t n = 0, safe = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_.:/@%+=,");

    if (v[safe] == '\0' && *v) {
        wdn_fmt(out, cap, "%s", v);
        return;
    }
    out[n++] = '\'';
    for (const char *p = v; *p && n + 5 < cap; p++) {
        if (*p == '\'') {
            memcpy(out + n, "'\\''", 4);
            n += 4;
        } else {
            out[n++] = *p;
        }
    }
    out[n++] = '\'';
    out[n] = '\0';
}

static void log_request(const char *method, const char *path, int status, const char *error,
                        const char *client_id, void *ud)
{
    wdn_log_info("event=token method=%s path=%s status=%d error=%s client_id=%s", method, path,
                 status, error[0] ? error : "-", client_id[0] ? client_id : "-");
}

static struct wdn_http_server *g_srv;

static void on_signal(uv_signal_t *s, int signum)
{
    wdn_log_info("event=stop signal=%s", signum == SIGINT ? "SIGINT" : "SIGTERM");
    wdn_http_server_stop(g_srv);
    uv_stop(s->loop);
}

/* A free port on 127.0.0.1 for --port 0. The server binds it right after; the tiny window in
 * which another process could take it is covered by retrying. */
static int pick_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

struct serve_opts {
    const char *port, *clients_file, *state, *project, *alg, *typ, *lifetime, *overlap;
    bool http, log_stderr;
    const char *client[MAX_FLAG_CLIENTS];
    size_t nclient;
    const char *audience[WDN_ISSUER_MAX_AUDIENCES];
    size_t naudience;
    const char *scope[WDN_ISSUER_MAX_SCOPES];
    size_t nscope;
};

/* Everything one run of the server holds, built step by step by serve() and released by
 * serve_reset(). */
struct serve {
    struct serve_opts *o;
    char dir[PATH_CAP], ca_file[PATH_CAP], log_file[PATH_CAP], pid_file[PATH_CAP];
    char issuer_url[128];
    char gen_id[128], gen_secret[128];
    enum wdn_jose_alg alg;
    int64_t lifetime, overlap;
    uint64_t port;
    bool created;
    char *split_ids[MAX_FLAG_CLIENTS];
    char *scope_store[WDN_ISSUER_MAX_SCOPES];
    const char *scopes[WDN_ISSUER_MAX_SCOPES];
    size_t nscopes;
    struct wdn_issuer_client_cfg clients[WDN_ISSUER_MAX_CLIENTS];
    size_t nclients;
    struct wdn_issuer_clients *file_clients;
    struct wdn_issuer *iss;
    struct wdn_http_handler *handler;
    struct wdn_http_handler *chain[1]; /* borrowed by the running server */
    char listen[64];
    struct wdn_pki_cert *ca, *leaf;
    struct wdn_tls_ctx *tls;
    struct wdn_http_server *srv;
    int lock_fd;
    bool pid_written;
};

/* The flags' values, checked. WDN_CLI_OK or WDN_CLI_USAGE (message printed). */
static int serve_flags(struct serve *S)
{
    const struct serve_opts *o = S->o;

    S->lifetime = WDN_ISSUER_DEFAULT_LIFETIME_S;
    S->overlap = WDN_ISSUER_DEFAULT_OVERLAP_S;
    S->port = 9443;
    if (parse_alg(o->alg, &S->alg) != 0 || parse_secs("lifetime", o->lifetime, &S->lifetime) != 0 ||
        parse_secs("overlap", o->overlap, &S->overlap) != 0)
        return WDN_CLI_USAGE;
    if (o->port && wdn_str_to_u64(wdn_str_from_cstr(o->port), 65535, &S->port) != 0) {
        wdn_cli_err("issuer", "--port wants a number 0..65535, not '%s'", o->port);
        return WDN_CLI_USAGE;
    }
    if (o->typ && strcmp(o->typ, "at+jwt") != 0 && strcmp(o->typ, "JWT") != 0) {
        wdn_cli_err("issuer", "--typ must be at+jwt or JWT");
        return WDN_CLI_USAGE;
    }
    return WDN_CLI_OK;
}

/* The --scope values split at spaces into S->scopes. */
static int split_scopes(struct serve *S)
{
    for (size_t i = 0; i < S->o->nscope; i++) {
        for (const char *p = S->o->scope[i]; *p;) {
            size_t len = strcspn(p, " ");
            if (len > 0) {
                if (S->nscopes == WDN_ISSUER_MAX_SCOPES) {
                    wdn_cli_err("issuer", "too many scopes");
                    return WDN_CLI_USAGE;
                }
                if ((S->scope_store[S->nscopes] = strndup(p, len)) == NULL)
                    return WDN_CLI_FAIL;
                S->scopes[S->nscopes] = S->scope_store[S->nscopes];
                S->nscopes++;
            }
            p += len;
            p += *p == ' ';
        }
    }
    return WDN_CLI_OK;
}

/* Clients: the file's, then the flags', else the generated one kept in the state folder. */
static int collect_clients(struct serve *S)
{
    struct serve_opts *o = S->o;
    struct wdn_diag d;

    wdn_diag_clear(&d);
    if (o->clients_file) {
        size_t n;
        S->file_clients = wdn_issuer_clients_load(o->clients_file, &d);
        if (S->file_clients == NULL) {
            char msg[1024];
            wdn_cli_err("issuer", "%s", wdn_diag_format(&d, msg, sizeof(msg)));
            return WDN_CLI_FAIL;
        }
        const struct wdn_issuer_client_cfg *items = wdn_issuer_clients_items(S->file_clients, &n);
        memcpy(S->clients, items, n * sizeof(*items));
        S->nclients = n;
    }
    if (o->naudience == 0)
        o->audience[o->naudience++] = WDN_ISSUER_DEFAULT_AUDIENCE;
    for (size_t i = 0; i < o->nclient; i++) {
        const char *colon = strchr(o->client[i], ':');
        if (colon == NULL || colon == o->client[i] || colon[1] == '\0') {
            wdn_cli_err("issuer", "--client wants ID:SECRET");
            return WDN_CLI_USAGE;
        }
        if (S->nclients == WDN_ISSUER_MAX_CLIENTS) {
            wdn_cli_err("issuer", "at most %d clients", WDN_ISSUER_MAX_CLIENTS);
            return WDN_CLI_USAGE;
        }
        S->split_ids[i] = strndup(o->client[i], (size_t)(colon - o->client[i]));
        if (S->split_ids[i] == NULL)
            return WDN_CLI_FAIL;
        S->clients[S->nclients++] = (struct wdn_issuer_client_cfg){
            .id = S->split_ids[i], .secret = colon + 1, .audiences = o->audience,
            .naudiences = o->naudience, .scopes = S->scopes, .nscopes = S->nscopes};
    }
    if (S->nclients == 0) {
        if (generated_client(S->dir, S->gen_id, S->gen_secret, sizeof(S->gen_id)) != 0) {
            wdn_cli_err("issuer", "cannot keep the generated client in %s", S->dir);
            return WDN_CLI_FAIL;
        }
        S->clients[S->nclients++] = (struct wdn_issuer_client_cfg){
            .id = S->gen_id, .secret = S->gen_secret, .audiences = o->audience,
            .naudiences = o->naudience, .scopes = S->scopes, .nscopes = S->nscopes};
    }
    return WDN_CLI_OK;
}

/* One issuer per state folder: an flock on <state>/issuer.lock held while it runs, which is
 * also how `warden project delete` tells a running issuer from a stale issuer.pid. */
static int take_instance_lock(struct serve *S)
{
    char path[PATH_CAP];
    struct wdn_buf b;
    long other = 0;

    if (wdn_fmt(path, sizeof(path), "%s/issuer.lock", S->dir) != 0 ||
        wdn_fmt(S->pid_file, sizeof(S->pid_file), "%s/issuer.pid", S->dir) != 0)
        return WDN_CLI_FAIL;
    S->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (S->lock_fd < 0) {
        wdn_cli_err("issuer", "cannot open %s: %s", path, strerror(errno));
        return WDN_CLI_FAIL;
    }
    if (flock(S->lock_fd, LOCK_EX | LOCK_NB) == 0)
        return WDN_CLI_OK;
    if (wdn_project_read_file(S->pid_file, 64, &b) == 0) {
        other = strtol(b.data, NULL, 10);
        wdn_buf_reset(&b);
    }
    wdn_cli_err("issuer", "another warden issuer is running on %s (pid %ld); stop it first",
                S->dir, other);
    return WDN_CLI_FAIL;
}

/* HTTPS: a server certificate from the project's CA (or the state folder's), made fresh. */
static int setup_tls(struct serve *S)
{
    struct wdn_diag d;

    wdn_diag_clear(&d);
    if (S->o->http)
        return WDN_CLI_OK;
    S->ca = load_or_create_ca(S->o->project, S->dir, S->ca_file, sizeof(S->ca_file), &d);
    S->leaf = S->ca ? wdn_pki_issue_server(S->ca, NULL, &d) : NULL;
    struct wdn_tls_config tc = {.server = true, .cert = S->leaf ? S->leaf->cert : NULL,
                                .key = S->leaf ? S->leaf->key : NULL,
                                .verify = WDN_TLS_VERIFY_NONE};
    S->tls = S->leaf ? wdn_tls_ctx_new(&tc, &d) : NULL;
    if (S->tls == NULL) {
        wdn_cli_err("issuer", "HTTPS set-up: %s", d.msg);
        return WDN_CLI_FAIL;
    }
    return WDN_CLI_OK;
}

/* Builds the issuer for port p (its URL names the port) and starts the server on it. Returns
 * 0, or the server's error code (WDN_EEXISTS: the port is taken), or -1 with a message. */
static int start_on(struct serve *S, int p)
{
    struct wdn_diag d;

    if (wdn_fmt(S->issuer_url, sizeof(S->issuer_url), "%s://127.0.0.1:%d/",
                S->o->http ? "http" : "https", p) != 0 ||
        wdn_fmt(S->listen, sizeof(S->listen), "127.0.0.1:%d", p) != 0)
        return -1;
    wdn_issuer_http_handler_free(S->handler);
    S->handler = NULL;
    wdn_issuer_free(S->iss);
    S->iss = wdn_issuer_new(&(struct wdn_issuer_config){.issuer = S->issuer_url,
                                                        .state_dir = S->dir, .typ = S->o->typ,
                                                        .lifetime_s = S->lifetime,
                                                        .clients = S->clients,
                                                        .nclients = S->nclients},
                            &d);
    if (S->iss == NULL) {
        wdn_cli_err("issuer", "%s", d.msg);
        return -1;
    }
    S->handler = wdn_issuer_http_handler_new(S->iss, log_request, NULL);
    if (S->handler == NULL)
        return -1;
    S->chain[0] = S->handler;
    struct wdn_http_server_config sc = {.listen = S->listen, .workers = 1, .handlers = S->chain,
                                        .nhandlers = 1, .tls = S->tls,
                                        /* The handler caps token requests itself and
                                         * answers with an OAuth2 error. */
                                        .max_body_bytes = 4 * WDN_ISSUER_MAX_BODY_BYTES,
                                        .shutdown_grace_ms = 2000,
                                        .server_name = "warden-issuer"};
    int rc = wdn_http_server_start(&sc, &S->srv);
    if (rc != 0 && (rc != WDN_EEXISTS || S->port != 0))
        wdn_cli_err("issuer", "cannot listen on %s: %s", S->listen, wdn_strerror(rc));
    return rc;
}

/* Starts on --port, or with --port 0 on a free port chosen first, so that the issuer URL is
 * known before the first request can arrive (retried if another process takes it). */
static int start_server(struct serve *S)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int p = S->port ? (int)S->port : pick_port();
        if (p <= 0)
            break;
        int rc = start_on(S, p);
        if (rc == 0)
            return WDN_CLI_OK;
        if (rc != WDN_EEXISTS || S->port != 0)
            return WDN_CLI_FAIL;
    }
    wdn_cli_err("issuer", "no free port found");
    return WDN_CLI_FAIL;
}

/* What a user pastes, all of it: the tutorial's AUTH0_* and the CA warden's clients trust on
 * top of the system's. Nothing else, so pasting everything keeps the tutorial's "without a
 * token it fails" step failing (OAUTH2_* would be a fallback for the quickstart client), and
 * no SSL_CERT_FILE (it would replace the shell's whole trust store). Secrets are printed on
 * purpose: this is a development server and the client needs them in its environment. */
static void print_exports(struct serve *S)
{
    char id_q[2 * WDN_ISSUER_MAX_FIELD_BYTES], sec_q[4 * WDN_ISSUER_MAX_FIELD_BYTES + 8];
    char aud_q[4 * WDN_ISSUER_MAX_FIELD_BYTES + 8], ca_q[4 * PATH_CAP + 8];
    const struct wdn_issuer_client_cfg *c = &S->clients[0];

    shell_value(id_q, sizeof(id_q), c->id);
    shell_value(sec_q, sizeof(sec_q), c->secret);
    shell_value(aud_q, sizeof(aud_q), c->audiences[0]);
    printf("# warden issuer %s (keys in %s%s; log: %s)\n", S->issuer_url, S->dir,
           S->created ? ", new key" : "", S->o->log_stderr ? "stderr" : S->log_file);
    printf("export AUTH0_DOMAIN=127.0.0.1:%d AUTH0_CLIENT_ID=%s AUTH0_CLIENT_SECRET=%s "
           "AUTH0_AUDIENCE=%s\n",
           wdn_http_server_port(S->srv), id_q, sec_q, aud_q);
    if (!S->o->http) {
        shell_value(ca_q, sizeof(ca_q), S->ca_file);
        printf("export WARDEN_CA_FILE=%s\n", ca_q);
    }
    fflush(stdout);
}

/* The log file: the project's logs/issuer.log, else <state>/issuer.log. */
static int log_path(struct serve *S)
{
    if (S->o->project != NULL)
        return wdn_project_path(S->log_file, sizeof(S->log_file), S->o->project,
                                "logs/issuer.log");
    return wdn_fmt(S->log_file, sizeof(S->log_file), "%s/issuer.log", S->dir);
}

/* From here on log lines go to the log file (unless --log-stderr), so an issuer started in the
 * background with `&` does not write into the user's prompt. */
static int redirect_logs(struct serve *S)
{
    int fd;

    if (S->o->log_stderr)
        return WDN_CLI_OK;
    fd = open(S->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
        wdn_cli_err("issuer", "cannot open the log file %s: %s", S->log_file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return WDN_CLI_FAIL;
    }
    close(fd);
    return WDN_CLI_OK;
}

/* Serves until SIGINT or SIGTERM. Signals are handled before the export lines go out: whoever
 * waits for them may stop us at once, and that must be a clean stop. */
static int run_until_signal(struct serve *S)
{
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    char pid[32];
    int rc = WDN_CLI_FAIL;

    if (uv_loop_init(&loop) != 0)
        return WDN_CLI_FAIL;
    g_srv = S->srv;
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    wdn_fmt(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (wdn_project_write_atomic(S->pid_file, pid, strlen(pid), 0600) != 0) {
        wdn_cli_err("issuer", "cannot write %s", S->pid_file);
        goto out;
    }
    S->pid_written = true;
    print_exports(S);
    if (redirect_logs(S) != WDN_CLI_OK)
        goto out;
    wdn_log_info("event=start issuer=%s clients=%zu pid=%ld", S->issuer_url, S->nclients,
                 (long)getpid());
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = WDN_CLI_OK;
out:
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc;
}

static void serve_reset(struct serve *S)
{
    wdn_http_server_free(S->srv);
    if (S->pid_written)
        unlink(S->pid_file);
    if (S->lock_fd >= 0)
        close(S->lock_fd); /* releases the flock */
    wdn_issuer_http_handler_free(S->handler);
    wdn_issuer_free(S->iss);
    wdn_tls_ctx_free(S->tls);
    wdn_pki_cert_free(S->leaf);
    wdn_pki_cert_free(S->ca);
    wdn_issuer_clients_free(S->file_clients);
    for (size_t i = 0; i < MAX_FLAG_CLIENTS; i++)
        free(S->split_ids[i]);
    for (size_t i = 0; i < WDN_ISSUER_MAX_SCOPES; i++)
        free(S->scope_store[i]);
    OPENSSL_cleanse(S->gen_secret, sizeof(S->gen_secret));
}

static int serve(struct serve_opts *o)
{
    static struct serve S; /* large; one per process */
    struct wdn_diag d;
    int rc;

    memset(&S, 0, sizeof(S));
    S.o = o;
    S.lock_fd = -1;
    wdn_diag_clear(&d);
    rc = serve_flags(&S);
    if (rc == WDN_CLI_OK)
        rc = split_scopes(&S);
    if (rc != WDN_CLI_OK)
        goto out;
    rc = WDN_CLI_FAIL;
    if (state_dir(o->state, o->project, S.dir, sizeof(S.dir)) != 0 || log_path(&S) != 0)
        goto out;
    /* Makes the state folder and its first key; a later --alg rotates to that algorithm. */
    if (wdn_issuer_keys_ensure(S.dir, S.alg, S.overlap, wdn_clock_unix(), &S.created, &d) != 0) {
        wdn_cli_err("issuer", "keys in %s: %s", S.dir, d.msg);
        goto out;
    }
    rc = take_instance_lock(&S);
    if (rc == WDN_CLI_OK)
        rc = collect_clients(&S);
    if (rc == WDN_CLI_OK)
        rc = setup_tls(&S);
    if (rc == WDN_CLI_OK)
        rc = start_server(&S);
    if (rc == WDN_CLI_OK)
        rc = run_until_signal(&S);
out:
    serve_reset(&S);
    return rc;
}

int wdn_cli_issuer(int argc, char **argv)
{
    struct serve_opts o = {0};
    bool help = false;
    size_t npos = 0;
    const char *pos[1];

    if (argc > 1 && strcmp(argv[1], "rotate") == 0)
        return rotate_cmd(argc - 1, argv + 1);
    const struct wdn_cli_opt opts[] = {
        {"port", 0, &o.port, NULL, NULL, NULL, 0},
        {"http", 0, NULL, &o.http, NULL, NULL, 0},
        {"client", 0, NULL, NULL, o.client, &o.nclient, MAX_FLAG_CLIENTS},
        {"audience", 0, NULL, NULL, o.audience, &o.naudience, WDN_ISSUER_MAX_AUDIENCES - 1},
        {"scope", 0, NULL, NULL, o.scope, &o.nscope, WDN_ISSUER_MAX_SCOPES},
        {"clients", 0, &o.clients_file, NULL, NULL, NULL, 0},
        {"state", 0, &o.state, NULL, NULL, NULL, 0},
        {"project", 'p', &o.project, NULL, NULL, NULL, 0},
        {"alg", 0, &o.alg, NULL, NULL, NULL, 0},
        {"typ", 0, &o.typ, NULL, NULL, NULL, 0},
        {"lifetime", 0, &o.lifetime, NULL, NULL, NULL, 0},
        {"overlap", 0, &o.overlap, NULL, NULL, NULL, 0},
        {"log-stderr", 0, NULL, &o.log_stderr, NULL, NULL, 0},
        {0},
    };

    if (wdn_cli_parse(argc, argv, opts, pos, &npos, 0, &help) != 0)
        return WDN_CLI_USAGE;
    if (help) {
        fputs(issuer_usage, stdout);
        return WDN_CLI_OK;
    }
    wdn_log_init("warden issuer", WDN_LOG_INFO, false);
    signal(SIGPIPE, SIG_IGN);
    return serve(&o);
}
