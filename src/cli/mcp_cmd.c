/* `warden mcp`: the C MCP client on the command line. Lists and calls tools, reads resources,
 * gets prompts and pings any MCP server; signs in the way the server asks (MCP authorization:
 * a bearer token, client credentials, or the authorization code in the browser with --login),
 * keeping tokens under $WARDEN_HOME/mcp (0600, per issuer and resource). Exit codes: 0 success,
 * 1 the server or the call failed (a tool's isError included), 2 usage. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/error.h"
#include "base/json_dump.h"
#include "base/limits.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "oauth2/store.h"
#include "project/project.h"
#include "warden/mcp.h"
#include "warden/mcp_auth.h"

extern char **environ;

#define MAX_ARGS 64
#define MAX_HEADERS 16

static const char usage_text[] =
    "Usage: warden mcp <command> URL [arguments] [options]\n"
    "\n"
    "Talks to an MCP server (Streamable HTTP) with warden's C MCP client.\n"
    "\n"
    "Commands:\n"
    "  tools list URL                  the server's tools\n"
    "  tools call URL NAME             call a tool; arguments from --arg and --json\n"
    "  resources list URL              the server's resources\n"
    "  resources read URL URI          a resource's contents\n"
    "  prompts list URL                the server's prompts\n"
    "  prompts get URL NAME            a prompt's messages; arguments from --arg\n"
    "  ping URL                        check the server answers\n"
    "  logout URL                      forget the tokens kept for URL\n"
    "\n"
    "Arguments:\n"
    "  --arg KEY=VALUE                 one argument (repeatable); VALUE is read as the tool's\n"
    "                                  schema says (number, boolean, object...), else as text\n"
    "  --json '{...}'                  all arguments as one JSON object (--arg adds to it)\n"
    "\n"
    "Signing in (the server says when it needs it, with a 401):\n"
    "  --token TOKEN                   a bearer token to send as is (or WARDEN_MCP_TOKEN)\n"
    "  --client-id ID                  an OAuth client: with --client-secret, client credentials\n"
    "                                  (machine to machine); with --login, a pre-registered "
    "client\n"
    "  --client-secret SECRET          its secret (prefer WARDEN_MCP_CLIENT_SECRET: argv is\n"
    "                                  visible to other users of the machine)\n"
    "  --issuer URL                    the authorization server the credentials belong to; they\n"
    "                                  are never sent to another (default: the first one used)\n"
    "  --login                         sign in with the browser (authorization code + PKCE); the\n"
    "                                  URL is printed, and opened with $WARDEN_BROWSER or\n"
    "                                  xdg-open when there is one\n"
    "  --scope SCOPES                  scopes to ask for (default: what the server asks for)\n"
    "  --redirect-uri URI              loopback redirect URI (default http://127.0.0.1/callback\n"
    "                                  on a free port)\n"
    "  --client-metadata-url URL       this client's metadata document (https), used as its\n"
    "                                  client_id where the server supports it\n"
    "  --no-cache                      keep no tokens on disk\n"
    "\n"
    "Other options:\n"
    "  -o, --output json               print the server's JSON answer\n"
    "  --protocol-version V            2026-07-28 (default; older servers are detected),\n"
    "                                  2025-11-25, 2025-06-18 or 2025-03-26\n"
    "  -H, --header 'Name: value'      an extra request header (repeatable)\n"
    "  --ca-file FILE                  trust the CAs in FILE (PEM), besides the system's\n"
    "  --timeout SECONDS               per request (default 60)\n"
    "  -h, --help                      this help\n"
    "\n"
    "Progress and log messages of a long call go to stderr; Ctrl+C cancels the call (the server\n"
    "gets notifications/cancelled, or tasks/cancel for a tool the server runs as a task: warden\n"
    "mcp declares the tasks extension and waits for a task's result). Exit status: 0 success,\n"
    "1 failure (a tool that reports an error included), 2 usage.\n";

static struct wdn_mcp_client *current;

static void on_sigint(int sig)
{
    (void)sig;
    if (current != NULL)
        wdn_mcp_client_cancel(current);
    signal(SIGINT, SIG_DFL); /* a second Ctrl+C ends the program at once */
}

/* Progress and log notifications of the call in flight, on stderr. */
static void on_notify(void *ud, const char *method, json_t *params)
{
    (void)ud;
    if (strcmp(method, "notifications/progress") == 0) {
        json_t *total = json_object_get(params, "total");
        const char *msg = json_string_value(json_object_get(params, "message"));
        fprintf(stderr, "progress: %g", json_number_value(json_object_get(params, "progress")));
        if (json_is_number(total))
            fprintf(stderr, "/%g", json_number_value(total));
        fprintf(stderr, "%s%s\n", msg != NULL ? " " : "", msg != NULL ? msg : "");
    } else if (strcmp(method, "notifications/message") == 0) {
        json_t *data = json_object_get(params, "data");
        char *text = json_is_string(data) ? NULL : wdn_json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
        fprintf(stderr, "%s: %s\n",
                json_string_value(json_object_get(params, "level"))
                    ? json_string_value(json_object_get(params, "level"))
                    : "log",
                json_is_string(data) ? json_string_value(data) : (text ? text : ""));
        free(text);
    }
}

/* The browser for --login: $WARDEN_BROWSER URL, else xdg-open URL when there is a display;
 * the URL is printed either way, so a remote shell can copy it. */
static int open_browser(void *ud, const char *url)
{
    const char *cmd = getenv("WARDEN_BROWSER");
    char *argv[3];
    pid_t pid;
    int status;

    (void)ud;
    fprintf(stderr, "Sign in at:\n\n  %s\n\n", url);
    if (cmd == NULL || cmd[0] == '\0') {
        if (getenv("DISPLAY") == NULL && getenv("WAYLAND_DISPLAY") == NULL)
            return 0;
        cmd = "xdg-open";
    }
    argv[0] = (char *)cmd;
    argv[1] = (char *)url;
    argv[2] = NULL;
    if (posix_spawnp(&pid, cmd, NULL, NULL, argv, environ) != 0)
        return 0; /* no browser: the printed URL is enough */
    /* xdg-open returns at once; a $WARDEN_BROWSER script (headless sign-in) is waited for. */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

/* Without --login, a server that wants a sign-in gets a clear message instead of a browser. */
static int no_browser(void *ud, const char *url)
{
    (void)ud;
    (void)url;
    fprintf(stderr, "warden mcp: the server needs you to sign in: run again with --login "
                    "(or give --client-id and --client-secret, or --token)\n");
    return WDN_EAUTH;
}

/* The JSON Schema type of property key of a tool, or NULL. */
static const char *prop_type(json_t *tool, const char *key)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(tool, "inputSchema"), "properties"), key),
        "type"));
}

/* --arg KEY=VALUE into args, typed by the schema when it says, else JSON, else text. */
static int add_arg(json_t *args, json_t *tool, const char *kv)
{
    const char *eq = strchr(kv, '=');
    char key[256];
    const char *v, *type;
    json_t *val = NULL;

    if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
        wdn_cli_err("mcp", "--arg wants KEY=VALUE, not '%s'", kv);
        return WDN_CLI_USAGE;
    }
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    v = eq + 1;
    type = prop_type(tool, key);
    if (type != NULL && strcmp(type, "string") == 0) {
        val = json_string(v);
    } else {
        val = json_loads(v, JSON_DECODE_ANY, NULL);
        if (val == NULL ||
            (type != NULL && ((strcmp(type, "number") == 0 && !json_is_number(val)) ||
                              (strcmp(type, "integer") == 0 && !json_is_integer(val)) ||
                              (strcmp(type, "boolean") == 0 && !json_is_boolean(val))))) {
            if (type != NULL && strcmp(type, "string") != 0 && strcmp(type, "object") != 0 &&
                strcmp(type, "array") != 0) {
                json_decref(val);
                wdn_cli_err("mcp", "--arg %s wants %s %s, not '%s'", key,
                            strcmp(type, "integer") == 0 ? "an" : "a", type, v);
                return WDN_CLI_USAGE;
            }
            json_decref(val);
            val = json_string(v);
        }
    }
    json_object_set_new(args, key, val);
    return 0;
}

static void print_json(json_t *j)
{
    char *s = wdn_json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

    if (s != NULL)
        printf("%s\n", s);
    free(s);
}

/* The first line of s, at most width characters, for tables. */
static json_t *first_line(const char *s, size_t width)
{
    size_t n;

    if (s == NULL)
        return json_string("");
    n = strcspn(s, "\r\n");
    if (n > width)
        n = width;
    return json_stringn(s, n);
}

static void print_list(json_t *items, const char *name_key, const char *second)
{
    static const char *const cols[] = {"a", "b"};
    const char *headers[2] = {strcmp(name_key, "uri") == 0 ? "URI" : "NAME",
                              strcmp(second, "name") == 0 ? "NAME" : "DESCRIPTION"};
    json_t *rows = json_array(), *it;
    size_t i;

    json_array_foreach (items, i, it) {
        json_array_append_new(
            rows, json_pack("{s:O?, s:o}", "a", json_object_get(it, name_key), "b",
                            first_line(json_string_value(json_object_get(it, second)), 72)));
    }
    wdn_cli_print_records(rows, WDN_CLI_OUT_TABLE, cols, (const char *const *)headers, 2, 0);
    json_decref(rows);
}

/* The text of content blocks; other kinds as a short note. Returns how many were printed. */
static void print_content(json_t *blocks)
{
    json_t *b;
    size_t i;

    json_array_foreach (blocks, i, b) {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (type != NULL && strcmp(type, "text") == 0) {
            printf("%s\n", json_string_value(json_object_get(b, "text")));
        } else if (type != NULL && strcmp(type, "resource") == 0 &&
                   json_string_value(json_object_get(json_object_get(b, "resource"), "text"))) {
            printf("%s\n",
                   json_string_value(json_object_get(json_object_get(b, "resource"), "text")));
        } else {
            printf("[%s%s%s]\n", type ? type : "content",
                   json_string_value(json_object_get(b, "mimeType")) ? " " : "",
                   json_string_value(json_object_get(b, "mimeType"))
                       ? json_string_value(json_object_get(b, "mimeType"))
                       : "");
        }
    }
}

struct opts {
    const char *token, *client_id, *client_secret, *issuer, *scope, *redirect, *cimd, *output;
    const char *version, *ca_file, *timeout, *json;
    const char *args[MAX_ARGS], *headers[MAX_HEADERS + 1];
    size_t nargs, nheaders;
    bool login, no_cache, help;
};

static int fail_call(const char *what, const struct wdn_mcp_error *e)
{
    if (e->code == WDN_ECANCELED)
        wdn_cli_err("mcp", "%s: canceled", what);
    else
        wdn_cli_err("mcp", "%s: %s", what, e->message[0] ? e->message : wdn_strerror(e->code));
    return WDN_CLI_FAIL;
}

/* Finds a tool by name in the server's list (for typing --arg values); NULL when absent. */
static json_t *find_tool(json_t *tools, const char *name)
{
    json_t *t;
    size_t i;

    json_array_foreach (tools, i, t) {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (n != NULL && strcmp(n, name) == 0)
            return t;
    }
    return NULL;
}

static int build_args(const struct opts *o, json_t *tool, json_t **out)
{
    json_t *args;
    size_t i;
    int rc;

    args = o->json != NULL ? json_loads(o->json, JSON_REJECT_DUPLICATES, NULL) : json_object();
    if (!json_is_object(args)) {
        json_decref(args);
        wdn_cli_err("mcp", "--json wants a JSON object");
        return WDN_CLI_USAGE;
    }
    for (i = 0; i < o->nargs; i++)
        if ((rc = add_arg(args, tool, o->args[i])) != 0) {
            json_decref(args);
            return rc;
        }
    *out = args;
    return 0;
}

static int run_verb(struct wdn_mcp_client *c, const struct opts *o, const char *group,
                    const char *verb, const char *const *pos, size_t npos)
{
    bool json_out = o->output != NULL;
    struct wdn_mcp_error e;
    json_t *items = NULL, *res = NULL, *args = NULL;
    int rc = WDN_CLI_OK;

    if (strcmp(group, "ping") == 0) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        /* 2026-07-28 has no ping: server/discover (connect) already proved the server answers. */
        if (wdn_mcp_version_is_modern(wdn_mcp_client_version(c)))
            res = json_object();
        else if (wdn_mcp_client_request(c, "ping", NULL, &res, &e) != 0)
            return fail_call("ping", &e);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (json_out)
            print_json(res);
        else
            printf("ok (%s, %ld ms)\n", wdn_mcp_client_version(c),
                   (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
        json_decref(res);
        return WDN_CLI_OK;
    }
    if (strcmp(group, "tools") == 0) {
        if (wdn_mcp_client_list_tools(c, &items, &e) != 0)
            return fail_call("tools/list", &e);
        if (strcmp(verb, "list") == 0) {
            if (json_out)
                print_json(items);
            else
                print_list(items, "name", "description");
        } else {
            rc = build_args(o, find_tool(items, pos[0]), &args);
            if (rc == 0) {
                json_t *a = args;
                args = NULL; /* the call takes it */
                if (wdn_mcp_client_call_tool(c, pos[0], a, &res, &e) != 0)
                    rc = fail_call(pos[0], &e);
            }
            if (rc == 0 && json_out)
                print_json(res);
            else if (rc == 0)
                print_content(json_object_get(res, "content"));
            if (rc == 0 && json_is_true(json_object_get(res, "isError")))
                rc = WDN_CLI_FAIL; /* the tool itself reported a failure */
        }
    } else if (strcmp(group, "resources") == 0) {
        if (strcmp(verb, "list") == 0) {
            if (wdn_mcp_client_list(c, "resources/list", "resources", &items, &e) != 0)
                return fail_call("resources/list", &e);
            if (json_out)
                print_json(items);
            else
                print_list(items, "uri", "name");
        } else {
            json_t *content;
            size_t i;
            if (wdn_mcp_client_request(c, "resources/read", json_pack("{s:s}", "uri", pos[0]), &res,
                                       &e) != 0)
                return fail_call(pos[0], &e);
            if (json_out)
                print_json(res);
            json_array_foreach (json_object_get(res, "contents"), i, content) {
                if (json_out)
                    break;
                if (json_is_string(json_object_get(content, "text")))
                    printf("%s\n", json_string_value(json_object_get(content, "text")));
                else
                    printf("[binary, %s; use -o json]\n",
                           json_string_value(json_object_get(content, "mimeType"))
                               ? json_string_value(json_object_get(content, "mimeType"))
                               : "no type");
            }
        }
    } else if (strcmp(group, "prompts") == 0) {
        if (strcmp(verb, "list") == 0) {
            if (wdn_mcp_client_list(c, "prompts/list", "prompts", &items, &e) != 0)
                return fail_call("prompts/list", &e);
            if (json_out)
                print_json(items);
            else
                print_list(items, "name", "description");
        } else {
            json_t *m;
            size_t i;
            const char *key;
            json_t *v;
            rc = build_args(o, NULL, &args);
            /* Prompt arguments are strings (MCP): numbers given on the command line too. */
            json_object_foreach (args, key, v) {
                if (!json_is_string(v)) {
                    char *s = wdn_json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                    json_object_set_new(args, key, json_string(s ? s : ""));
                    free(s);
                }
            }
            if (rc == 0 &&
                wdn_mcp_client_request(c, "prompts/get",
                                       json_pack("{s:s, s:O}", "name", pos[0], "arguments", args),
                                       &res, &e) != 0)
                rc = fail_call(pos[0], &e);
            else if (rc == 0 && json_out)
                print_json(res);
            else if (rc == 0) {
                json_array_foreach (json_object_get(res, "messages"), i, m) {
                    printf("%s: ", json_string_value(json_object_get(m, "role"))
                                       ? json_string_value(json_object_get(m, "role"))
                                       : "?");
                    json_t *one = json_pack("[O]", json_object_get(m, "content"));
                    print_content(one);
                    json_decref(one);
                }
            }
        }
    }
    json_decref(args);
    json_decref(items);
    json_decref(res);
    return rc;
}

int wdn_cli_mcp(int argc, char **argv)
{
    static const struct wdn_cli_verb verbs[] = {
        {"tools", 2, 3, "list URL or call URL NAME"},
        {"resources", 2, 3, "list URL or read URL URI"},
        {"prompts", 2, 3, "list URL or get URL NAME"},
        {"ping", 1, 1, "URL"},
        {"logout", 1, 1, "URL"},
        {NULL, 0, 0, NULL},
    };
    struct opts o;
    const char *pos[8];
    size_t npos = 0;
    char home[4096], cache[4200], err[300] = "";
    struct wdn_mcp_oauth *oauth = NULL;
    struct wdn_mcp_client *c = NULL;
    struct wdn_mcp_error e;
    const char *group, *verb = "", *url;
    const char *const *rest;
    size_t nrest;
    long timeout = 60;
    int rc, v;

    memset(&o, 0, sizeof(o));
    const struct wdn_cli_opt opts[] = {
        {"token", 0, &o.token, NULL, NULL, NULL, 0},
        {"client-id", 0, &o.client_id, NULL, NULL, NULL, 0},
        {"client-secret", 0, &o.client_secret, NULL, NULL, NULL, 0},
        {"issuer", 0, &o.issuer, NULL, NULL, NULL, 0},
        {"scope", 0, &o.scope, NULL, NULL, NULL, 0},
        {"redirect-uri", 0, &o.redirect, NULL, NULL, NULL, 0},
        {"client-metadata-url", 0, &o.cimd, NULL, NULL, NULL, 0},
        {"output", 'o', &o.output, NULL, NULL, NULL, 0},
        {"protocol-version", 0, &o.version, NULL, NULL, NULL, 0},
        {"ca-file", 0, &o.ca_file, NULL, NULL, NULL, 0},
        {"timeout", 0, &o.timeout, NULL, NULL, NULL, 0},
        {"json", 0, &o.json, NULL, NULL, NULL, 0},
        {"arg", 0, NULL, NULL, o.args, &o.nargs, MAX_ARGS},
        {"header", 'H', NULL, NULL, o.headers, &o.nheaders, MAX_HEADERS},
        {"login", 0, NULL, &o.login, NULL, NULL, 0},
        {"no-cache", 0, NULL, &o.no_cache, NULL, NULL, 0},
        {NULL, 0, NULL, NULL, NULL, NULL, 0},
    };

    rc = wdn_cli_parse(argc, argv, opts, pos, &npos, sizeof(pos) / sizeof(pos[0]), &o.help);
    if (rc != 0)
        return rc;
    if (o.help) {
        fputs(usage_text, stdout);
        return WDN_CLI_OK;
    }
    if (npos == 0) {
        fputs(usage_text, stderr);
        return WDN_CLI_USAGE;
    }
    if ((v = wdn_cli_verb("mcp", verbs, pos, npos)) < 0)
        return WDN_CLI_USAGE;
    group = pos[0];
    if (v <= 2) {
        static const char *const second[3][2] = {
            {"list", "call"}, {"list", "read"}, {"list", "get"}};
        verb = pos[1];
        if (strcmp(verb, second[v][0]) != 0 && strcmp(verb, second[v][1]) != 0) {
            wdn_cli_err("mcp", "unknown subcommand '%s %s': use %s %s or %s %s", group, verb, group,
                        second[v][0], group, second[v][1]);
            return WDN_CLI_USAGE;
        }
        if ((strcmp(verb, "list") == 0) != (npos == 3)) {
            wdn_cli_err("mcp", "%s %s needs %s", group, verb,
                        strcmp(verb, "list") == 0     ? "a URL only"
                        : strcmp(group, "resources") == 0 ? "a URL and a URI"
                                                          : "a URL and a name");
            return WDN_CLI_USAGE;
        }
        url = pos[2];
        rest = pos + 3;
        nrest = npos - 3;
    } else {
        url = pos[1];
        rest = pos + 2;
        nrest = npos - 2;
    }
    (void)nrest;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        wdn_cli_err("mcp", "'%s' is not an http(s) URL of an MCP endpoint", url);
        return WDN_CLI_USAGE;
    }
    if (o.output != NULL && strcmp(o.output, "json") != 0) {
        wdn_cli_err("mcp", "-o takes json");
        return WDN_CLI_USAGE;
    }
    if (o.timeout != NULL) {
        char *end;
        timeout = strtol(o.timeout, &end, 10);
        if (*end != '\0' || timeout < 1 || timeout > 86400) {
            wdn_cli_err("mcp", "--timeout wants seconds (1-86400)");
            return WDN_CLI_USAGE;
        }
    }
    if (o.token == NULL && getenv("WARDEN_MCP_TOKEN") != NULL && getenv("WARDEN_MCP_TOKEN")[0])
        o.token = getenv("WARDEN_MCP_TOKEN");
    if (o.client_secret == NULL && getenv("WARDEN_MCP_CLIENT_SECRET") != NULL &&
        getenv("WARDEN_MCP_CLIENT_SECRET")[0])
        o.client_secret = getenv("WARDEN_MCP_CLIENT_SECRET");
    if (o.token != NULL && (o.client_id != NULL || o.login)) {
        wdn_cli_err("mcp", "--token cannot be combined with --client-id or --login");
        return WDN_CLI_USAGE;
    }
    if (o.client_secret != NULL && o.client_id == NULL) {
        wdn_cli_err("mcp", "--client-secret needs --client-id");
        return WDN_CLI_USAGE;
    }
    cache[0] = '\0';
    if (!o.no_cache && wdn_project_home(home, sizeof(home)) == 0)
        snprintf(cache, sizeof(cache), "%s/mcp", home);
    if (strcmp(group, "logout") == 0) {
        if (cache[0] != '\0')
            wdn_oauth2_store_drop(cache, "token", url);
        printf("forgot the tokens kept for %s\n", url);
        return WDN_CLI_OK;
    }
    if (o.token == NULL) {
        struct wdn_mcp_oauth_config oc = {
            .server_url = url,
            .grant = o.client_secret != NULL && !o.login ? WDN_MCP_OAUTH_CLIENT_CREDENTIALS
                                                         : WDN_MCP_OAUTH_AUTHORIZATION_CODE,
            .client_id = o.client_id,
            .client_secret = o.client_secret,
            .client_issuer = o.issuer,
            .client_metadata_url = o.cimd,
            .client_name = "warden mcp",
            .redirect_uri = o.redirect,
            .browser = o.login ? open_browser : no_browser,
            .scope = o.scope,
            .cache_dir = cache[0] != '\0' ? cache : NULL,
            .ca_file = o.ca_file,
            .timeout_ms = timeout * 1000,
        };
        oauth = wdn_mcp_oauth_new(&oc, err, sizeof(err));
        if (oauth == NULL) {
            wdn_cli_err("mcp", "%s", err);
            return WDN_CLI_USAGE;
        }
    }
    o.headers[o.nheaders] = NULL;
    {
        struct wdn_mcp_client_config cfg = {
            .url = url,
            .protocol_version = o.version != NULL ? o.version : WDN_MCP_V2026_07_28,
            .client_name = "warden-mcp",
            .bearer_token = o.token,
            .extra_headers = o.headers,
            .timeout_ms = timeout * 1000,
            .on_notify = on_notify,
            .auth = oauth != NULL ? wdn_mcp_oauth_provider(oauth) : NULL,
            .progress = true,
            /* Tools a server runs as tasks (SEP-2663) work from the command line too. */
            .capabilities = "{\"extensions\":{\"" WDN_MCP_EXT_TASKS "\":{}}}",
        };
        c = wdn_mcp_client_new(&cfg, &e);
    }
    if (c == NULL) {
        wdn_cli_err("mcp", "%s", e.message);
        wdn_mcp_oauth_free(oauth);
        return WDN_CLI_USAGE;
    }
    current = c;
    signal(SIGINT, on_sigint);
    if (wdn_mcp_client_connect(c, &e) != 0) {
        rc = fail_call(url, &e);
        if (e.code == WDN_EAUTH && oauth == NULL)
            fprintf(stderr, "  (the token was refused; without --token warden signs in itself)\n");
    } else {
        rc = run_verb(c, &o, group, verb, rest, nrest);
    }
    signal(SIGINT, SIG_DFL);
    current = NULL;
    wdn_mcp_client_free(c);
    wdn_mcp_oauth_free(oauth);
    return rc;
}
