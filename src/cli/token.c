/* `warden token`: fetch an access token with the client credentials grant and print it, for
 * debugging a provider set-up and for scripts (`curl -H "Authorization: Bearer $(warden token)"`). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/base64.h"
#include "base/diag.h"
#include "base/error.h"
#include "base/json_dump.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "http/fetch.h"
#include "oauth2/client.h"

static const char token_usage[] =
    "Usage: warden token [options]\n"
    "\n"
    "Fetches an access token with the OAuth2 client credentials grant and prints it alone on\n"
    "stdout. Without --token-url the client is configured from the environment:\n"
    "AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, AUTH0_AUDIENCE (Auth0 style), or\n"
    "OAUTH2_TOKEN_URL, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET [OAUTH2_AUDIENCE, OAUTH2_RESOURCE,\n"
    "OAUTH2_SCOPE, OAUTH2_AUTH_METHOD]. The CA bundle is WARDEN_CA_FILE, CURL_CA_BUNDLE or\n"
    "SSL_CERT_FILE.\n"
    "\n"
    "Options:\n"
    "  --token-url URL        token endpoint\n"
    "  --client-id ID         client ID\n"
    "  --client-secret S      client secret (prefer OAUTH2_CLIENT_SECRET: argv is visible to\n"
    "                         other users of the machine)\n"
    "  --audience A           audience to ask for (Auth0's `audience`)\n"
    "  --resource R           RFC 8707 resource indicator\n"
    "  --scope S              space-separated scopes\n"
    "  --auth-method M        client_secret_basic (default), client_secret_post or json\n"
    "  --ca-file FILE         trust the CAs in FILE (PEM)\n"
    "  --decode               also print the token's JOSE header and claims (not verified),\n"
    "                         as JSON, after the token\n"
    "  -h, --help             this help\n";

/* Prints one base64url part of a JWS as indented JSON. */
static int print_part(struct wdn_str part)
{
    unsigned char buf[WDN_JWT_MAX_TOKEN_BYTES];
    size_t n;
    json_error_t jerr;
    json_t *j;

    if (wdn_b64url_decode(part, buf, sizeof(buf), &n) != 0)
        return -1;
    j = json_loadb((const char *)buf, n, 0, &jerr);
    if (j == NULL)
        return -1;
    char *s = wdn_json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (s == NULL)
        return -1;
    printf("%s\n", s);
    free(s);
    return 0;
}

/* --decode: the header and the claims, for debugging a provider's tokens. Not a verification. */
static int print_decoded(const char *token)
{
    struct wdn_str t = wdn_str_from_cstr(token);
    long d1 = wdn_str_index(t, '.');
    if (d1 <= 0)
        return -1;
    struct wdn_str rest = {t.p + d1 + 1, t.len - (size_t)d1 - 1};
    long d2 = wdn_str_index(rest, '.');
    if (d2 <= 0)
        return -1;
    if (print_part((struct wdn_str){t.p, (size_t)d1}) != 0)
        return -1;
    return print_part((struct wdn_str){rest.p, (size_t)d2});
}

int wdn_cli_token(int argc, char **argv)
{
    static const struct option opts[] = {
        {"token-url", required_argument, NULL, 'u'}, {"client-id", required_argument, NULL, 'i'},
        {"client-secret", required_argument, NULL, 's'}, {"audience", required_argument, NULL, 'a'},
        {"resource", required_argument, NULL, 'r'}, {"scope", required_argument, NULL, 'o'},
        {"auth-method", required_argument, NULL, 'm'}, {"ca-file", required_argument, NULL, 'c'},
        {"decode", no_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct wdn_oauth2_config cfg = {0};
    struct wdn_oauth2_client *client = NULL;
    struct wdn_diag diag;
    const char *method = NULL;
    char url[1024], token[WDN_JWT_MAX_TOKEN_BYTES + 1], msg[1024];
    int c, decode = 0, rc = WDN_CLI_FAIL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'u': cfg.token_url = optarg; break;
        case 'i': cfg.client_id = optarg; break;
        case 's': cfg.client_secret = optarg; break;
        case 'a': cfg.audience = optarg; break;
        case 'r': cfg.resource = optarg; break;
        case 'o': cfg.scope = optarg; break;
        case 'm': method = optarg; break;
        case 'c': cfg.ca_file = optarg; break;
        case 'd': decode = 1; break;
        case 'h': fputs(token_usage, stdout); return WDN_CLI_OK;
        default: fputs(token_usage, stderr); return WDN_CLI_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "warden token: unexpected argument '%s'\n", argv[optind]);
        return WDN_CLI_USAGE;
    }
    if (cfg.token_url == NULL) {
        struct wdn_oauth2_config env;
        if (wdn_oauth2_config_from_env(&env, url, sizeof(url), &diag) != 0) {
            fprintf(stderr, "warden token: %s (or pass --token-url)\n", diag.msg);
            return WDN_CLI_USAGE;
        }
        /* Flags given alongside the environment still win. */
        env.audience = cfg.audience ? cfg.audience : env.audience;
        env.resource = cfg.resource ? cfg.resource : env.resource;
        env.scope = cfg.scope ? cfg.scope : env.scope;
        env.ca_file = cfg.ca_file ? cfg.ca_file : env.ca_file;
        cfg = env;
    } else {
        if (cfg.client_id == NULL)
            cfg.client_id = getenv("OAUTH2_CLIENT_ID");
        if (cfg.client_secret == NULL)
            cfg.client_secret = getenv("OAUTH2_CLIENT_SECRET");
        if (cfg.client_id == NULL || cfg.client_secret == NULL) {
            fprintf(stderr, "warden token: --client-id and --client-secret are required with "
                            "--token-url\n");
            return WDN_CLI_USAGE;
        }
        if (cfg.ca_file == NULL)
            cfg.ca_file = wdn_fetch_ca_file_from_env();
    }
    if (method) {
        if (strcmp(method, "client_secret_basic") == 0 || strcmp(method, "basic") == 0)
            cfg.auth = WDN_OAUTH2_AUTH_BASIC;
        else if (strcmp(method, "client_secret_post") == 0 || strcmp(method, "post") == 0)
            cfg.auth = WDN_OAUTH2_AUTH_POST;
        else if (strcmp(method, "json") == 0)
            cfg.auth = WDN_OAUTH2_AUTH_JSON;
        else {
            fprintf(stderr, "warden token: --auth-method must be client_secret_basic, "
                            "client_secret_post or json\n");
            return WDN_CLI_USAGE;
        }
    }
    client = wdn_oauth2_client_new(&cfg, &diag);
    if (client == NULL ||
        wdn_oauth2_client_token(client, token, sizeof(token), &diag) != 0) {
        fprintf(stderr, "warden token: %s\n", wdn_diag_format(&diag, msg, sizeof(msg)));
        goto out;
    }
    printf("%s\n", token);
    rc = WDN_CLI_OK;
    if (decode && print_decoded(token) != 0) {
        fprintf(stderr, "warden token: the token is not a compact JWS (three base64url parts)\n");
        rc = WDN_CLI_FAIL;
    }
out:
    wdn_oauth2_client_free(client);
    return rc;
}
