/* `warden issuer`: the development OAuth2 authorization server (HTTPS on 127.0.0.1 with a
 * certificate from the project CA), and `warden issuer rotate` for its signing keys. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    "       warden issuer rotate [--state DIR | --project P] [--alg ALG] [--overlap SECS]\n"
    "\n"
    "Runs a development OAuth2 authorization server on 127.0.0.1: the client credentials\n"
    "grant at /oauth/token, /.well-known/openid-configuration,\n"
    "/.well-known/oauth-authorization-server and the JWKS at /.well-known/jwks.json. On start\n"
    "it prints the `export` lines to paste (AUTH0_DOMAIN, AUTH0_CLIENT_ID, ...). It serves\n"
    "until SIGTERM or SIGINT.\n"
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

static int rotate_cmd(int argc, char **argv)
{
    const char *state = NULL, *project = NULL, *alg_s = NULL, *overlap_s = NULL;
    bool help = false;
    size_t npos = 0;
    const char *pos[1];
    const struct wdn_cli_opt opts[] = {
        {"state", 0, &state, NULL, NULL, NULL, 0},
        {"project", 'p', &project, NULL, NULL, NULL, 0},
        {"alg", 0, &alg_s, NULL, NULL, NULL, 0},
        {"overlap", 0, &overlap_s, NULL, NULL, NULL, 0},
        {0},
    };
    char dir[PATH_CAP], kid[256];
    enum wdn_jose_alg alg;
    int64_t overlap = WDN_ISSUER_DEFAULT_OVERLAP_S, now = wdn_clock_unix();
    struct wdn_diag d;

    if (wdn_cli_parse(argc, argv, opts, pos, &npos, 0, &help) != 0)
        return WDN_CLI_USAGE;
    if (help) {
        fputs(issuer_usage, stdout);
        return WDN_CLI_OK;
    }
    if (parse_alg(alg_s, &alg) != 0 || parse_secs("overlap", overlap_s, &overlap) != 0)
        return WDN_CLI_USAGE;
    if (state_dir(state, project, dir, sizeof(dir)) != 0)
        return WDN_CLI_FAIL;
    if (wdn_issuer_keys_rotate(dir, alg, overlap, now, kid, sizeof(kid), &d) != 0) {
        wdn_cli_err("issuer", "rotate: %s", d.msg);
        return WDN_CLI_FAIL;
    }
    printf("new signing key %s in %s; previous keys stay published for %lld s\n", kid, dir,
           (long long)overlap);
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
    bool http;
    const char *client[MAX_FLAG_CLIENTS];
    size_t nclient;
    const char *audience[WDN_ISSUER_MAX_AUDIENCES];
    size_t naudience;
    const char *scope[WDN_ISSUER_MAX_SCOPES];
    size_t nscope;
};

static int serve(struct serve_opts *o)
{
    char dir[PATH_CAP], ca_file[PATH_CAP], issuer_url[128], listen[64];
    char gen_id[128], gen_secret[128];
    char *split_ids[MAX_FLAG_CLIENTS] = {0};
    char *scope_store[WDN_ISSUER_MAX_SCOPES] = {0};
    const char *scopes[WDN_ISSUER_MAX_SCOPES];
    size_t nscopes = 0;
    struct wdn_issuer_client_cfg clients[WDN_ISSUER_MAX_CLIENTS];
    size_t nclients = 0;
    struct wdn_issuer_clients *file_clients = NULL;
    struct wdn_issuer *iss = NULL;
    struct wdn_http_handler *handler = NULL, *chain[1];
    struct wdn_pki_cert *ca = NULL, *leaf = NULL;
    struct wdn_tls_ctx *tls = NULL;
    struct wdn_http_server *srv = NULL;
    enum wdn_jose_alg alg;
    int64_t lifetime = WDN_ISSUER_DEFAULT_LIFETIME_S, overlap = WDN_ISSUER_DEFAULT_OVERLAP_S;
    uint64_t port = 9443;
    bool created = false;
    struct wdn_diag d;
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    int rc = WDN_CLI_USAGE, loop_ok = 0;

    wdn_diag_clear(&d);
    if (parse_alg(o->alg, &alg) != 0 || parse_secs("lifetime", o->lifetime, &lifetime) != 0 ||
        parse_secs("overlap", o->overlap, &overlap) != 0)
        goto out;
    if (o->port && wdn_str_to_u64(wdn_str_from_cstr(o->port), 65535, &port) != 0) {
        wdn_cli_err("issuer", "--port wants a number 0..65535, not '%s'", o->port);
        goto out;
    }
    if (o->typ && strcmp(o->typ, "at+jwt") != 0 && strcmp(o->typ, "JWT") != 0) {
        wdn_cli_err("issuer", "--typ must be at+jwt or JWT");
        goto out;
    }
    rc = WDN_CLI_FAIL;
    if (state_dir(o->state, o->project, dir, sizeof(dir)) != 0)
        goto out;

    /* Clients: the file's, then the flags', else a generated one. */
    if (o->clients_file) {
        file_clients = wdn_issuer_clients_load(o->clients_file, &d);
        if (file_clients == NULL) {
            char msg[1024];
            wdn_cli_err("issuer", "%s", wdn_diag_format(&d, msg, sizeof(msg)));
            goto out;
        }
        size_t n;
        const struct wdn_issuer_client_cfg *items = wdn_issuer_clients_items(file_clients, &n);
        memcpy(clients, items, n * sizeof(*items));
        nclients = n;
    }
    if (o->naudience == 0)
        o->audience[o->naudience++] = WDN_ISSUER_DEFAULT_AUDIENCE;
    for (size_t i = 0; i < o->nscope; i++) {
        for (const char *p = o->scope[i]; *p;) {
            size_t len = strcspn(p, " ");
            if (len > 0) {
                if (nscopes == WDN_ISSUER_MAX_SCOPES) {
                    wdn_cli_err("issuer", "too many scopes");
                    goto out;
                }
                if ((scope_store[nscopes] = strndup(p, len)) == NULL)
                    goto out;
                scopes[nscopes] = scope_store[nscopes];
                nscopes++;
            }
            p += len;
            p += *p == ' ';
        }
    }
    for (size_t i = 0; i < o->nclient; i++) {
        const char *colon = strchr(o->client[i], ':');
        if (colon == NULL || colon == o->client[i] || colon[1] == '\0') {
            wdn_cli_err("issuer", "--client wants ID:SECRET");
            rc = WDN_CLI_USAGE;
            goto out;
        }
        if (nclients == WDN_ISSUER_MAX_CLIENTS)
            goto out;
        split_ids[i] = strndup(o->client[i], (size_t)(colon - o->client[i]));
        if (split_ids[i] == NULL)
            goto out;
        clients[nclients++] = (struct wdn_issuer_client_cfg){
            .id = split_ids[i], .secret = colon + 1, .audiences = o->audience,
            .naudiences = o->naudience, .scopes = scopes, .nscopes = nscopes};
    }
    if (nclients == 0) {
        if (wdn_issuer_keys_ensure(dir, alg, overlap, wdn_clock_unix(), &created, &d) != 0 ||
            generated_client(dir, gen_id, gen_secret, sizeof(gen_id)) != 0) {
            wdn_cli_err("issuer", "cannot set up %s: %s", dir, d.msg[0] ? d.msg : "I/O error");
            goto out;
        }
        clients[nclients++] = (struct wdn_issuer_client_cfg){
            .id = gen_id, .secret = gen_secret, .audiences = o->audience,
            .naudiences = o->naudience, .scopes = scopes, .nscopes = nscopes};
    }

    if (wdn_issuer_keys_ensure(dir, alg, overlap, wdn_clock_unix(), &created, &d) != 0) {
        wdn_cli_err("issuer", "keys in %s: %s", dir, d.msg);
        goto out;
    }
    if (!o->http) {
        ca = load_or_create_ca(o->project, dir, ca_file, sizeof(ca_file), &d);
        leaf = ca ? wdn_pki_issue_server(ca, NULL, &d) : NULL;
        struct wdn_tls_config tc = {.server = true, .cert = leaf ? leaf->cert : NULL,
                                    .key = leaf ? leaf->key : NULL,
                                    .verify = WDN_TLS_VERIFY_NONE};
        tls = leaf ? wdn_tls_ctx_new(&tc, &d) : NULL;
        if (tls == NULL) {
            wdn_cli_err("issuer", "HTTPS set-up: %s", d.msg);
            goto out;
        }
    }

    /* Start on the port, then build the issuer whose URL names it. With --port 0 a free port
     * is chosen first so the issuer URL is known before the first request can arrive. */
    for (int attempt = 0; attempt < 5; attempt++) {
        int p = port ? (int)port : pick_port();
        if (p <= 0)
            break;
        if (wdn_fmt(issuer_url, sizeof(issuer_url), "%s://127.0.0.1:%d/",
                    o->http ? "http" : "https", p) != 0 ||
            wdn_fmt(listen, sizeof(listen), "127.0.0.1:%d", p) != 0)
            goto out;
        {
            wdn_issuer_free(iss);
            iss = wdn_issuer_new(&(struct wdn_issuer_config){.issuer = issuer_url,
                                                             .state_dir = dir, .typ = o->typ,
                                                             .lifetime_s = lifetime,
                                                             .clients = clients,
                                                             .nclients = nclients},
                                 &d);
            if (iss == NULL) {
                wdn_cli_err("issuer", "%s", d.msg);
                goto out;
            }
            wdn_issuer_http_handler_free(handler);
            handler = wdn_issuer_http_handler_new(iss, log_request, NULL);
            if (handler == NULL)
                goto out;
        }
        chain[0] = handler;
        struct wdn_http_server_config sc = {.listen = listen, .workers = 1, .handlers = chain,
                                            .nhandlers = 1, .tls = tls,
                                            /* The handler caps token requests itself
                                             * and answers with an OAuth2 error. */
                                            .max_body_bytes = 4 * WDN_ISSUER_MAX_BODY_BYTES,
                                            .shutdown_grace_ms = 2000,
                                            .server_name = "warden-issuer"};
        int src = wdn_http_server_start(&sc, &srv);
        if (src == 0)
            break;
        if (src != WDN_EEXISTS || port != 0) {
            wdn_cli_err("issuer", "cannot listen on %s: %s", listen, wdn_strerror(src));
            goto out;
        }
    }
    if (srv == NULL) {
        wdn_cli_err("issuer", "no free port found");
        goto out;
    }

    /* Signals are handled before the export lines go out: whoever waits for them may stop us
     * at once, and that must be a clean stop. */
    if (uv_loop_init(&loop) != 0)
        goto out;
    loop_ok = 1;
    g_srv = srv;
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);

    /* What a user pastes. Secrets are printed on purpose: this is a development server and
     * the user needs them in the environment of the client. */
    {
        char id_q[2 * WDN_ISSUER_MAX_FIELD_BYTES], sec_q[4 * WDN_ISSUER_MAX_FIELD_BYTES + 8];
        char aud_q[4 * WDN_ISSUER_MAX_FIELD_BYTES + 8];
        int bound = wdn_http_server_port(srv);
        shell_value(id_q, sizeof(id_q), clients[0].id);
        shell_value(sec_q, sizeof(sec_q), clients[0].secret);
        shell_value(aud_q, sizeof(aud_q), clients[0].audiences[0]);
        printf("# warden issuer %s (keys in %s%s)\n", issuer_url, dir,
               created ? ", new key" : "");
        printf("export AUTH0_DOMAIN=127.0.0.1:%d AUTH0_CLIENT_ID=%s AUTH0_CLIENT_SECRET=%s "
               "AUTH0_AUDIENCE=%s\n", bound, id_q, sec_q, aud_q);
        printf("export OAUTH2_TOKEN_URL=%soauth/token OAUTH2_CLIENT_ID=%s "
               "OAUTH2_CLIENT_SECRET=%s OAUTH2_AUDIENCE=%s\n", issuer_url, id_q, sec_q, aud_q);
        if (!o->http)
            printf("export WARDEN_CA_FILE=%s SSL_CERT_FILE=%s\n", ca_file, ca_file);
        fflush(stdout);
    }
    wdn_log_info("event=start issuer=%s clients=%zu", issuer_url, nclients);

    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = WDN_CLI_OK;
out:
    wdn_http_server_free(srv);
    if (loop_ok)
        uv_loop_close(&loop);
    wdn_issuer_http_handler_free(handler);
    wdn_issuer_free(iss);
    wdn_tls_ctx_free(tls);
    wdn_pki_cert_free(leaf);
    wdn_pki_cert_free(ca);
    wdn_issuer_clients_free(file_clients);
    for (size_t i = 0; i < MAX_FLAG_CLIENTS; i++)
        free(split_ids[i]);
    for (size_t i = 0; i < WDN_ISSUER_MAX_SCOPES; i++)
        free(scope_store[i]);
    OPENSSL_cleanse(gen_secret, sizeof(gen_secret));
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
