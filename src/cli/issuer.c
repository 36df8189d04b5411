/* `warden issuer`: the development OAuth 2.1 authorization server (src/authserver), its key
 * rotation, and the users and clients of its sign-in. Wiring only: flags become a
 * configuration, the daemon runs it, and the export lines the user pastes are printed here. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "authserver/issuer.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "base/log.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "http/fetch.h"
#include "project/project.h"

#define PATH_CAP 2048
#define MAX_FLAG_CLIENTS 32

static const char issuer_usage[] =
    "Usage: warden issuer [options]\n"
    "       warden issuer rotate [--state DIR | --project P] [--alg ALG] [--delay SECS | --now]\n"
    "                            [--overlap SECS]\n"
    "       warden issuer user add NAME [--password-stdin] [--replace] | user remove NAME |\n"
    "                          user list                  [--state DIR | --project P]\n"
    "       warden issuer client add ID --redirect-uri URI... [--public] [--name NAME]\n"
    "                          [--scope S] | client remove ID | client list\n"
    "                                                     [--state DIR | --project P]\n"
    "\n"
    "Runs a development OAuth 2.1 authorization server on 127.0.0.1 or --address (HTTPS with a\n"
    "certificate from the project's CA): client credentials for machines; authorization code\n"
    "with PKCE, a sign-in and consent page and refresh tokens for people using interactive MCP\n"
    "clients (registered with `client add`, by Client ID Metadata Document, or with --dcr);\n"
    "discovery and a JWKS. On start it prints the `export` lines to paste (the tutorial's\n"
    "AUTH0_* and WARDEN_CA_FILE, the CA warden's clients trust in addition to the system's). It\n"
    "logs to the project's logs/issuer.log (<state>/issuer.log without --project), serves until\n"
    "SIGTERM or SIGINT, and records its pid in <state>/issuer.pid for `warden project delete`.\n"
    "\n"
    "rotate publishes a new signing key at once and signs with it after --delay (default\n"
    "900 s, so validators have fetched it first); --now signs with it at once (a leaked key).\n"
    "user add reads the password from the terminal (twice), or one line from stdin.\n"
    "client add registers a client for the authorization code grant and prints its secret\n"
    "(none with --public: PKCE only).\n"
    "\n"
    "Options:\n"
    "  --port N              port to listen on (default 9443; 0 picks a free one)\n"
    "  --address ADDR        listen on this IPv4 address instead of 127.0.0.1 (0.0.0.0 in a\n"
    "                        container, so that other pods reach it)\n"
    "  --host NAME           the issuer URL's host (a DNS name or IPv4 address callers use,\n"
    "                        e.g. issuer.NAMESPACE.svc); the HTTPS certificate names it too\n"
    "                        (default 127.0.0.1)\n"
    "  --http                serve plain HTTP instead of HTTPS (tests)\n"
    "  --path PATH           give the issuer URL a path (e.g. /tenant); discovery is also\n"
    "                        served path-inserted (RFC 8414)\n"
    "  --client ID:SECRET    a client-credentials client (repeatable); without --client or\n"
    "                        --clients one with a random secret is kept in the state folder\n"
    "  --audience AUD        audience the flag clients may ask for (repeatable; the first is\n"
    "                        the default; default " WDN_ISSUER_DEFAULT_AUDIENCE ")\n"
    "  --resource URI        a resource (token audience) signed-in users may grant, e.g. an\n"
    "                        MCP server's URL (repeatable; default: the audiences)\n"
    "  --scope S             scopes the flag clients and signed-in users may ask for\n"
    "                        (space-separated, repeatable)\n"
    "  --clients FILE        client-credentials clients from a YAML file (docs/issuer.md)\n"
    "  --dcr                 allow Dynamic Client Registration (RFC 7591) at /register\n"
    "  --allow-local-cimd    let Client ID Metadata Document URLs resolve to loopback or\n"
    "                        private addresses (development only)\n"
    "  --state DIR           keys and state (default: the project's issuer/ folder with\n"
    "                        --project, else $WARDEN_HOME/issuer)\n"
    "  --project P           use project P's folder and CA\n"
    "  --alg ALG             RS256 (default), ES256 or EdDSA\n"
    "  --typ TYP             token header typ: at+jwt (default, RFC 9068) or JWT\n"
    "  --lifetime SECS       access token lifetime (default 3600)\n"
    "  --refresh-lifetime SECS  a refresh token's lifetime (default 1209600, 14 days)\n"
    "  --refresh-max SECS    the longest a sign-in's refresh tokens last (default 7776000)\n"
    "  --overlap SECS        how long a replaced key stays published (default 86400)\n"
    "  --log-stderr          log to stderr instead of the log file\n"
    "  -h, --help            this help\n";

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
    char home[PATH_CAP];

    if (flag != NULL)
        return wdn_fmt(buf, cap, "%s", flag);
    if (project != NULL) {
        if (!wdn_project_exists(project)) {
            wdn_cli_err("issuer",
                        "project '%s' does not exist (create it with `warden project "
                        "create %s`)",
                        project, project);
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
        printf("new signing key %s in %s signs now; previous keys stay published for %lld s\n", kid,
               dir, (long long)overlap);
    else
        printf("new key %s published in %s; it signs from %s (in %lld s), previous keys stay "
               "published %lld s after that\n",
               kid, dir, when, (long long)delay, (long long)overlap);
    return WDN_CLI_OK;
}

/* ---- user -------------------------------------------------------------------------------- */

/* A password from the terminal (echo off, asked twice) or one line of stdin. */
static int read_password(bool from_stdin, char *buf, size_t cap)
{
    char again[WDN_ISSUER_MAX_PASSWORD_BYTES + 2];
    struct termios old, quiet;
    bool tty = !from_stdin && isatty(STDIN_FILENO);
    int rc = -1;

    if (tty) {
        if (tcgetattr(STDIN_FILENO, &old) != 0)
            return -1;
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        fputs("Password: ", stderr);
    }
    if (fgets(buf, (int)cap, stdin) == NULL)
        goto out;
    buf[strcspn(buf, "\r\n")] = '\0';
    if (tty) {
        fputs("\nAgain: ", stderr);
        if (fgets(again, sizeof(again), stdin) == NULL)
            goto out;
        again[strcspn(again, "\r\n")] = '\0';
        if (strcmp(again, buf) != 0) {
            fputs("\n", stderr);
            wdn_cli_err("issuer", "the passwords differ");
            goto out;
        }
        fputs("\n", stderr);
    }
    rc = 0;
out:
    if (tty)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    OPENSSL_cleanse(again, sizeof(again));
    return rc;
}

static int print_name(const char *name, void *ud)
{
    printf("%s\n", name);
    return 0;
}

static int user_cmd(int argc, char **argv)
{
    const char *state = NULL, *project = NULL, *pos[3];
    bool help = false, from_stdin = false, replace = false;
    size_t npos = 0;
    const struct wdn_cli_opt opts[] = {
        {"state", 0, &state, NULL, NULL, NULL, 0},
        {"project", 'p', &project, NULL, NULL, NULL, 0},
        {"password-stdin", 0, NULL, &from_stdin, NULL, NULL, 0},
        {"replace", 0, NULL, &replace, NULL, NULL, 0},
        {0},
    };
    char dir[PATH_CAP], pw[WDN_ISSUER_MAX_PASSWORD_BYTES + 2];
    struct wdn_diag d;
    int rc;

    if (wdn_cli_parse(argc, argv, opts, pos, &npos, 2, &help) != 0)
        return WDN_CLI_USAGE;
    if (help) {
        fputs(issuer_usage, stdout);
        return WDN_CLI_OK;
    }
    bool add = npos == 2 && strcmp(pos[0], "add") == 0;
    bool remove = npos == 2 && strcmp(pos[0], "remove") == 0;
    bool list = npos == 1 && strcmp(pos[0], "list") == 0;
    if (!add && !remove && !list) {
        wdn_cli_err("issuer", "user: give `add NAME`, `remove NAME` or `list`");
        return WDN_CLI_USAGE;
    }
    if (state_dir(state, project, dir, sizeof(dir)) != 0)
        return WDN_CLI_FAIL;
    wdn_diag_clear(&d);
    if (list) {
        rc = wdn_issuer_user_list(dir, print_name, NULL, &d);
    } else if (remove) {
        rc = wdn_issuer_user_remove(dir, pos[1], &d);
        if (rc == 0)
            printf("user %s removed\n", pos[1]);
    } else {
        if (read_password(from_stdin, pw, sizeof(pw)) != 0) {
            wdn_cli_err("issuer", "user add: no password read");
            return WDN_CLI_FAIL;
        }
        rc = wdn_issuer_user_add(dir, pos[1], pw, replace, &d);
        OPENSSL_cleanse(pw, sizeof(pw));
        if (rc == 0)
            printf("user %s %s in %s\n", pos[1], replace ? "saved" : "added", dir);
    }
    if (rc != 0) {
        wdn_cli_err("issuer", "user: %s", d.msg[0] ? d.msg : wdn_strerror(rc));
        return rc == WDN_EINVAL ? WDN_CLI_USAGE : WDN_CLI_FAIL;
    }
    return WDN_CLI_OK;
}

/* ---- client ------------------------------------------------------------------------------ */

static int print_client(const char *id, bool public_client, const char *redirects,
                        const char *source, void *ud)
{
    printf("%s\t%s\t%s\t%s\n", id, public_client ? "public" : "confidential", source, redirects);
    return 0;
}

static int client_cmd(int argc, char **argv)
{
    const char *state = NULL, *project = NULL, *name = NULL, *scope = NULL, *pos[3];
    const char *uris[WDN_ISSUER_MAX_REDIRECTS];
    size_t nuris = 0, npos = 0;
    bool help = false, pub = false;
    const struct wdn_cli_opt opts[] = {
        {"state", 0, &state, NULL, NULL, NULL, 0},
        {"project", 'p', &project, NULL, NULL, NULL, 0},
        {"redirect-uri", 0, NULL, NULL, uris, &nuris, WDN_ISSUER_MAX_REDIRECTS},
        {"public", 0, NULL, &pub, NULL, NULL, 0},
        {"name", 0, &name, NULL, NULL, NULL, 0},
        {"scope", 0, &scope, NULL, NULL, NULL, 0},
        {0},
    };
    char dir[PATH_CAP], secret[128];
    struct wdn_diag d;
    int rc;

    if (wdn_cli_parse(argc, argv, opts, pos, &npos, 2, &help) != 0)
        return WDN_CLI_USAGE;
    if (help) {
        fputs(issuer_usage, stdout);
        return WDN_CLI_OK;
    }
    bool add = npos == 2 && strcmp(pos[0], "add") == 0;
    bool remove = npos == 2 && strcmp(pos[0], "remove") == 0;
    bool list = npos == 1 && strcmp(pos[0], "list") == 0;
    if (!add && !remove && !list) {
        wdn_cli_err("issuer", "client: give `add ID --redirect-uri URI`, `remove ID` or `list`");
        return WDN_CLI_USAGE;
    }
    if (add && nuris == 0) {
        wdn_cli_err("issuer", "client add: --redirect-uri is required (repeatable)");
        return WDN_CLI_USAGE;
    }
    if (state_dir(state, project, dir, sizeof(dir)) != 0)
        return WDN_CLI_FAIL;
    wdn_diag_clear(&d);
    if (list) {
        rc = wdn_issuer_client_list(dir, print_client, NULL, &d);
    } else if (remove) {
        rc = wdn_issuer_client_remove(dir, pos[1], &d);
        if (rc == 0)
            printf("client %s removed\n", pos[1]);
    } else {
        struct wdn_issuer_reg_client c = {.id = pos[1],
                                          .name = name,
                                          .redirect_uris = uris,
                                          .nredirect_uris = nuris,
                                          .public_client = pub,
                                          .scope = scope};
        rc = wdn_issuer_client_add(dir, &c, secret, sizeof(secret), &d);
        if (rc == 0 && pub)
            printf("public client %s registered in %s (PKCE, no secret)\n", pos[1], dir);
        else if (rc == 0)
            printf("client %s registered in %s\nclient_secret=%s\n", pos[1], dir, secret);
        OPENSSL_cleanse(secret, sizeof(secret));
    }
    if (rc != 0) {
        wdn_cli_err("issuer", "client: %s", d.msg[0] ? d.msg : wdn_strerror(rc));
        return rc == WDN_EINVAL ? WDN_CLI_USAGE : WDN_CLI_FAIL;
    }
    return WDN_CLI_OK;
}

/* ---- serve ------------------------------------------------------------------------------- */

struct serve_opts {
    const char *port, *clients_file, *state, *project, *alg, *typ, *lifetime, *overlap, *path;
    const char *address, *host;
    const char *refresh_lifetime, *refresh_max;
    bool http, log_stderr, dcr, allow_local_cimd;
    const char *client[MAX_FLAG_CLIENTS];
    size_t nclient;
    const char *audience[WDN_ISSUER_MAX_AUDIENCES];
    size_t naudience;
    const char *resource[WDN_ISSUER_MAX_AUDIENCES];
    size_t nresource;
    const char *scope[WDN_ISSUER_MAX_SCOPES];
    size_t nscope;
};

/* Everything one run holds, built step by step by serve() and released by serve_reset(). */
struct serve {
    struct serve_opts *o;
    struct wdn_issuer_daemon_config cfg;
    char dir[PATH_CAP], log_file[PATH_CAP];
    char gen_id[128], gen_secret[128];
    enum wdn_jose_alg alg;
    int64_t overlap;
    bool created;
    char *split_ids[MAX_FLAG_CLIENTS];
    char *scope_store[WDN_ISSUER_MAX_SCOPES];
    const char *scopes[WDN_ISSUER_MAX_SCOPES];
    size_t nscopes;
    struct wdn_issuer_client_cfg clients[WDN_ISSUER_MAX_CLIENTS];
    size_t nclients;
    struct wdn_issuer_clients *file_clients;
};

/* --address (an IPv4 address) or --host (that, or a DNS name): 0, or -1 with the message
 * printed. The value ends up in the issuer URL, so nothing else gets through. */
static int host_flag(const char *flag, const char *v, bool ip_only)
{
    struct in_addr ip;
    size_t n = v ? strlen(v) : 0;

    if (v == NULL || inet_pton(AF_INET, v, &ip) == 1)
        return 0;
    if (!ip_only && n > 0 && n <= 253 && v[0] != '-' && v[0] != '.' && v[n - 1] != '.' &&
        strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n)
        return 0;
    wdn_cli_err("issuer", "--%s wants %s, not '%s'", flag,
                ip_only ? "an IPv4 address" : "a DNS name or an IPv4 address", v);
    return -1;
}

/* The flags' values, checked into S->cfg. WDN_CLI_OK or WDN_CLI_USAGE (message printed). */
static int serve_flags(struct serve *S)
{
    const struct serve_opts *o = S->o;
    struct wdn_issuer_config *ic = &S->cfg.issuer;
    uint64_t port = 9443;

    S->overlap = WDN_ISSUER_DEFAULT_OVERLAP_S;
    if (parse_alg(o->alg, &S->alg) != 0 || parse_secs("lifetime", o->lifetime, &ic->lifetime_s) ||
        parse_secs("overlap", o->overlap, &S->overlap) ||
        parse_secs("refresh-lifetime", o->refresh_lifetime, &ic->refresh_lifetime_s) ||
        parse_secs("refresh-max", o->refresh_max, &ic->refresh_max_s))
        return WDN_CLI_USAGE;
    if (o->port && wdn_str_to_u64(wdn_str_from_cstr(o->port), 65535, &port) != 0) {
        wdn_cli_err("issuer", "--port wants a number 0..65535, not '%s'", o->port);
        return WDN_CLI_USAGE;
    }
    if (o->typ && strcmp(o->typ, "at+jwt") != 0 && strcmp(o->typ, "JWT") != 0) {
        wdn_cli_err("issuer", "--typ must be at+jwt or JWT");
        return WDN_CLI_USAGE;
    }
    if (o->path &&
        (o->path[0] != '/' || strlen(o->path) < 2 || o->path[strlen(o->path) - 1] == '/' ||
         strspn(o->path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789-._~/") != strlen(o->path))) {
        wdn_cli_err("issuer", "--path wants /NAME (letters, digits, - . _ ~ and inner /), not '%s'",
                    o->path);
        return WDN_CLI_USAGE;
    }
    if (host_flag("address", o->address, true) != 0 || host_flag("host", o->host, false) != 0)
        return WDN_CLI_USAGE;
    S->cfg.port = (int)port;
    S->cfg.address = o->address;
    S->cfg.host = o->host;
    S->cfg.http = o->http;
    S->cfg.path = o->path;
    S->cfg.project = o->project;
    ic->typ = o->typ;
    ic->dcr = o->dcr;
    ic->allow_local_cimd = o->allow_local_cimd;
    ic->ca_file = wdn_fetch_ca_file_from_env();
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
    S->cfg.issuer.scopes = S->scopes;
    S->cfg.issuer.nscopes = S->nscopes;
    return WDN_CLI_OK;
}

/* Clients: the file's, then the flags' (read before anything is written, so that a usage error
 * leaves no state behind and answers at once). */
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
        S->clients[S->nclients++] = (struct wdn_issuer_client_cfg){.id = S->split_ids[i],
                                                                   .secret = colon + 1,
                                                                   .audiences = o->audience,
                                                                   .naudiences = o->naudience,
                                                                   .scopes = S->scopes,
                                                                   .nscopes = S->nscopes};
    }
    return WDN_CLI_OK;
}

/* Without any client, the generated one kept in the state folder (made by then). */
static int finish_clients(struct serve *S)
{
    struct serve_opts *o = S->o;

    if (S->nclients == 0) {
        if (wdn_issuer_generated_client(S->dir, S->gen_id, S->gen_secret, sizeof(S->gen_id))) {
            wdn_cli_err("issuer", "cannot keep the generated client in %s", S->dir);
            return WDN_CLI_FAIL;
        }
        S->clients[S->nclients++] = (struct wdn_issuer_client_cfg){.id = S->gen_id,
                                                                   .secret = S->gen_secret,
                                                                   .audiences = o->audience,
                                                                   .naudiences = o->naudience,
                                                                   .scopes = S->scopes,
                                                                   .nscopes = S->nscopes};
    }
    S->cfg.issuer.clients = S->clients;
    S->cfg.issuer.nclients = S->nclients;
    S->cfg.issuer.resources = o->nresource ? o->resource : NULL;
    S->cfg.issuer.nresources = o->nresource;
    return WDN_CLI_OK;
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

/* The log file: the project's logs/issuer.log, else <state>/issuer.log. */
static int log_path(struct serve *S)
{
    if (S->o->project != NULL)
        return wdn_project_path(S->log_file, sizeof(S->log_file), S->o->project, "logs/issuer.log");
    return wdn_fmt(S->log_file, sizeof(S->log_file), "%s/issuer.log", S->dir);
}

/* From here on log lines go to the log file (unless --log-stderr), so an issuer started in the
 * background with `&` does not write into the user's prompt. */
static int redirect_logs(struct serve *S)
{
    int fd;

    if (S->o->log_stderr)
        return 0;
    fd = open(S->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
        wdn_cli_err("issuer", "cannot open the log file %s: %s", S->log_file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* What a user pastes, all of it: the tutorial's AUTH0_* and the CA warden's clients trust on
 * top of the system's. Nothing else, so pasting everything keeps the tutorial's "without a
 * token it fails" step failing (OAUTH2_* would be a fallback for the quickstart client), and
 * no SSL_CERT_FILE (it would replace the shell's whole trust store). Secrets are printed on
 * purpose: this is a development server and the client needs them in its environment. */
static int ready(void *ud, const char *url, int port, const char *ca_file)
{
    struct serve *S = ud;
    char id_q[2 * WDN_ISSUER_MAX_FIELD_BYTES], sec_q[4 * WDN_ISSUER_MAX_FIELD_BYTES + 8];
    char aud_q[4 * WDN_ISSUER_MAX_FIELD_BYTES + 8], ca_q[4 * PATH_CAP + 8];
    const struct wdn_issuer_client_cfg *c = &S->clients[0];

    shell_value(id_q, sizeof(id_q), c->id);
    shell_value(sec_q, sizeof(sec_q), c->secret);
    shell_value(aud_q, sizeof(aud_q), c->audiences[0]);
    printf("# warden issuer %s (keys in %s%s; log: %s)\n", url, S->dir,
           S->created ? ", new key" : "", S->o->log_stderr ? "stderr" : S->log_file);
    printf("export AUTH0_DOMAIN=%s:%d AUTH0_CLIENT_ID=%s AUTH0_CLIENT_SECRET=%s "
           "AUTH0_AUDIENCE=%s\n",
           S->o->host ? S->o->host : "127.0.0.1", port, id_q, sec_q, aud_q);
    if (ca_file[0]) {
        shell_value(ca_q, sizeof(ca_q), ca_file);
        printf("export WARDEN_CA_FILE=%s\n", ca_q);
    }
    fflush(stdout);
    if (redirect_logs(S) != 0)
        return WDN_EIO;
    wdn_log_info("event=start issuer=%s clients=%zu pid=%ld", url, S->nclients, (long)getpid());
    return 0;
}

static void log_request(const struct wdn_issuer_log_event *ev, void *ud)
{
    wdn_log_info("event=%s method=%s path=%s status=%d error=%s client_id=%s user=%s peer=%s",
                 ev->event, ev->method, ev->path, ev->status, ev->error[0] ? ev->error : "-",
                 ev->client_id[0] ? ev->client_id : "-", ev->user[0] ? ev->user : "-",
                 ev->peer[0] ? ev->peer : "-");
}

static void serve_reset(struct serve *S)
{
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
    wdn_diag_clear(&d);
    rc = serve_flags(&S);
    if (rc == WDN_CLI_OK)
        rc = split_scopes(&S);
    if (rc == WDN_CLI_OK)
        rc = collect_clients(&S);
    if (rc != WDN_CLI_OK)
        goto out;
    rc = WDN_CLI_FAIL;
    if (state_dir(o->state, o->project, S.dir, sizeof(S.dir)) != 0 || log_path(&S) != 0)
        goto out;
    /* Makes the state folder and its first key; a later --alg switches to that algorithm. */
    if (wdn_issuer_keys_ensure(S.dir, S.alg, S.overlap, wdn_clock_unix(), &S.created, &d) != 0) {
        wdn_cli_err("issuer", "keys in %s: %s", S.dir, d.msg);
        goto out;
    }
    rc = finish_clients(&S);
    if (rc != WDN_CLI_OK)
        goto out;
    S.cfg.issuer.state_dir = S.dir;
    S.cfg.log = log_request;
    S.cfg.ready = ready;
    S.cfg.ready_ud = &S;
    if (wdn_issuer_daemon_run(&S.cfg, &d) != 0) {
        wdn_cli_err("issuer", "%s", d.msg[0] ? d.msg : "cannot start");
        rc = WDN_CLI_FAIL;
        goto out;
    }
    wdn_log_info("event=stop");
    rc = WDN_CLI_OK;
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

    /* The subcommand's argv[0] names it in messages: `warden issuer rotate: ...`. */
    if (argc > 1 && strcmp(argv[1], "rotate") == 0) {
        argv[1] = (char *)"issuer rotate";
        return rotate_cmd(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "user") == 0) {
        argv[1] = (char *)"issuer user";
        return user_cmd(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "client") == 0) {
        argv[1] = (char *)"issuer client";
        return client_cmd(argc - 1, argv + 1);
    }
    const struct wdn_cli_opt opts[] = {
        {"port", 0, &o.port, NULL, NULL, NULL, 0},
        {"address", 0, &o.address, NULL, NULL, NULL, 0},
        {"host", 0, &o.host, NULL, NULL, NULL, 0},
        {"http", 0, NULL, &o.http, NULL, NULL, 0},
        {"path", 0, &o.path, NULL, NULL, NULL, 0},
        {"client", 0, NULL, NULL, o.client, &o.nclient, MAX_FLAG_CLIENTS},
        {"audience", 0, NULL, NULL, o.audience, &o.naudience, WDN_ISSUER_MAX_AUDIENCES - 1},
        {"resource", 0, NULL, NULL, o.resource, &o.nresource, WDN_ISSUER_MAX_AUDIENCES},
        {"scope", 0, NULL, NULL, o.scope, &o.nscope, WDN_ISSUER_MAX_SCOPES},
        {"clients", 0, &o.clients_file, NULL, NULL, NULL, 0},
        {"dcr", 0, NULL, &o.dcr, NULL, NULL, 0},
        {"allow-local-cimd", 0, NULL, &o.allow_local_cimd, NULL, NULL, 0},
        {"state", 0, &o.state, NULL, NULL, NULL, 0},
        {"project", 'p', &o.project, NULL, NULL, NULL, 0},
        {"alg", 0, &o.alg, NULL, NULL, NULL, 0},
        {"typ", 0, &o.typ, NULL, NULL, NULL, 0},
        {"lifetime", 0, &o.lifetime, NULL, NULL, NULL, 0},
        {"refresh-lifetime", 0, &o.refresh_lifetime, NULL, NULL, NULL, 0},
        {"refresh-max", 0, &o.refresh_max, NULL, NULL, NULL, 0},
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
