/* `warden sidecar`: runs the daemon beside one app (src/sidecar). Flags follow daprd's names
 * where one exists (--app-id, --app-port, --dapr-http-port, --resources-path, --config ...),
 * and the environment variables daprd reads (DAPR_API_TOKEN, APP_API_TOKEN, DAPR_HTTP_PORT). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "jose/crypto.h"
#include "sidecar/sidecar.h"

static const char usage[] =
    "Usage: warden sidecar --app-id ID [--app-port N] [options]\n"
    "\n"
    "Runs the sidecar beside one app: the Dapr HTTP API, service invocation over mTLS,\n"
    "access control and middleware pipelines (see docs/sidecar.md).\n"
    "\n"
    "  --app-id ID                 the app's ID (env APP_ID)\n"
    "  --app-port N                the app's HTTP port (env APP_PORT); none: no app channel\n"
    "  --app-protocol http         only http is supported\n"
    "  --app-channel-address HOST  where the app listens (default 127.0.0.1)\n"
    "  --http-port N               Dapr API port (alias --dapr-http-port; env DAPR_HTTP_PORT;\n"
    "                              default 3500; 0 = a free port)\n"
    "  --listen-address HOST       API and metrics listen address (default 127.0.0.1)\n"
    "  --internal-port N           sidecar-to-sidecar mTLS port (alias\n"
    "                              --dapr-internal-grpc-port; default 0 = a free port)\n"
    "  --internal-address HOST     mTLS listen address (default 127.0.0.1)\n"
    "  --metrics-port N            Prometheus /metrics (env DAPR_METRICS_PORT; 0 = a free\n"
    "                              port; default off)\n"
    "  --resources-path DIR|FILE   resources to load (repeatable; alias --components-path)\n"
    "  --config NAME|FILE          the Configuration to apply, by name or file\n"
    "  --project P                 project mode: resources, the app ID's bound Configuration,\n"
    "                              the project CA and the registry of sidecars\n"
    "  --peers FILE                static name resolution: 'app-id host:port' per line\n"
    "                              (host: an address or a DNS name)\n"
    "  --peer-dns TEMPLATE         DNS name of any other app's sidecar (env WARDEN_PEER_DNS),\n"
    "                              e.g. '{app-id}-warden.{namespace}.svc.cluster.local:50002'\n"
    "  --namespace NS              this app's namespace (env NAMESPACE; default 'default')\n"
    "  --trust-domain TD           SPIFFE trust domain (default 'public')\n"
    "  --ca-dir DIR                files mode: the CA folder (default $WARDEN_HOME/ca)\n"
    "  --cert-dir DIR              certificates issued elsewhere: tls.crt, tls.key, ca.crt\n"
    "                              (a Kubernetes TLS Secret); no CA key; exclusive with\n"
    "                              --ca-dir\n"
    "  --audit-log FILE|stdout|syslog\n"
    "                              an audit record per access decision and tool call\n"
    "                              (hash-chained JSON lines; see docs/audit.md)\n"
    "  --audit-max-size BYTES      rotate the audit file at this size (k, M, G suffixes;\n"
    "                              default 100M)\n"
    "  --audit-keep N              rotated audit files kept (default 5)\n"
    "  --audit-queue N             records waiting to be written before more are dropped\n"
    "                              (default 8192)\n"
    "  --audit-args                put tool arguments in audit records (default: their\n"
    "                              SHA-256 only)\n"
    "  --audit-fsync               fdatasync the audit file after each batch of records\n"
    "  --workers N                 worker threads per listener (default: cores)\n"
    "  --log-level LEVEL           error, warn, info (default), debug\n"
    "  --log-as-json               one JSON object per log line\n"
    "  -h, --help                  this help\n"
    "\n"
    "Environment: DAPR_API_TOKEN (callers must send it as dapr-api-token), APP_API_TOKEN\n"
    "(sent to the app as dapr-api-token), WARDEN_CA_FILE (CA bundle for the JWKS fetch).\n";

/* "4096", "64k", "100M", "1G": bytes. */
static int parse_size(const char *flag, const char *v, uint64_t *out)
{
    char *end;
    unsigned long long n;

    if (v == NULL)
        return 0;
    n = strtoull(v, &end, 10);
    if (*end == 'k' || *end == 'K')
        n <<= 10, end++;
    else if (*end == 'M')
        n <<= 20, end++;
    else if (*end == 'G')
        n <<= 30, end++;
    if (*v < '0' || *v > '9' || *end != '\0' || n > (1ull << 40)) {
        wdn_cli_err("sidecar", "%s must be a size in bytes (k, M, G suffixes), got '%s'", flag, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int parse_port(const char *flag, const char *v, int *out)
{
    char *end;
    long p;

    if (v == NULL)
        return 0;
    p = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || p < 0 || p > 65535) {
        wdn_cli_err("sidecar", "%s must be a port number 0..65535, got '%s'", flag, v);
        return -1;
    }
    *out = (int)p;
    return 0;
}

int wdn_cli_sidecar(int argc, char **argv)
{
    const char *app_id = NULL, *app_port = NULL, *proto = NULL, *chan = NULL, *http = NULL,
               *dhttp = NULL, *internal = NULL, *dinternal = NULL, *metrics = NULL, *config = NULL,
               *project = NULL, *peers = NULL, *ca_dir = NULL, *workers = NULL, *level = NULL,
               *listen = NULL, *iaddr = NULL, *cert_dir = NULL, *peer_dns = NULL, *ns = NULL,
               *td = NULL, *audit_log = NULL, *audit_size = NULL, *audit_keep = NULL,
               *audit_queue = NULL;
    const char *paths[WDN_SIDECAR_MAX_RESOURCE_PATHS];
    const char *cpaths[WDN_SIDECAR_MAX_RESOURCE_PATHS];
    size_t npaths = 0, ncpaths = 0, npos = 0;
    const char *pos[1];
    bool help = false, json = false, audit_args = false, audit_fsync = false;
    struct wdn_sidecar_opts o;
    struct wdn_sidecar *sc = NULL;
    struct wdn_diag d;
    char buf[1024];
    int lvl, rc;
    const struct wdn_cli_opt opts[] = {
        {"app-id", 0, &app_id, NULL, NULL, NULL, 0},
        {"app-port", 0, &app_port, NULL, NULL, NULL, 0},
        {"app-protocol", 0, &proto, NULL, NULL, NULL, 0},
        {"app-channel-address", 0, &chan, NULL, NULL, NULL, 0},
        {"http-port", 0, &http, NULL, NULL, NULL, 0},
        {"dapr-http-port", 0, &dhttp, NULL, NULL, NULL, 0},
        {"listen-address", 0, &listen, NULL, NULL, NULL, 0},
        {"internal-port", 0, &internal, NULL, NULL, NULL, 0},
        {"dapr-internal-grpc-port", 0, &dinternal, NULL, NULL, NULL, 0},
        {"internal-address", 0, &iaddr, NULL, NULL, NULL, 0},
        {"metrics-port", 0, &metrics, NULL, NULL, NULL, 0},
        {"resources-path", 0, NULL, NULL, paths, &npaths, WDN_SIDECAR_MAX_RESOURCE_PATHS},
        {"components-path", 0, NULL, NULL, cpaths, &ncpaths, WDN_SIDECAR_MAX_RESOURCE_PATHS},
        {"config", 0, &config, NULL, NULL, NULL, 0},
        {"project", 0, &project, NULL, NULL, NULL, 0},
        {"peers", 0, &peers, NULL, NULL, NULL, 0},
        {"ca-dir", 0, &ca_dir, NULL, NULL, NULL, 0},
        {"cert-dir", 0, &cert_dir, NULL, NULL, NULL, 0},
        {"peer-dns", 0, &peer_dns, NULL, NULL, NULL, 0},
        {"namespace", 0, &ns, NULL, NULL, NULL, 0},
        {"trust-domain", 0, &td, NULL, NULL, NULL, 0},
        {"workers", 0, &workers, NULL, NULL, NULL, 0},
        {"log-level", 0, &level, NULL, NULL, NULL, 0},
        {"log-as-json", 0, NULL, &json, NULL, NULL, 0},
        {"audit-log", 0, &audit_log, NULL, NULL, NULL, 0},
        {"audit-max-size", 0, &audit_size, NULL, NULL, NULL, 0},
        {"audit-keep", 0, &audit_keep, NULL, NULL, NULL, 0},
        {"audit-queue", 0, &audit_queue, NULL, NULL, NULL, 0},
        {"audit-args", 0, NULL, &audit_args, NULL, NULL, 0},
        {"audit-fsync", 0, NULL, &audit_fsync, NULL, NULL, 0},
        {0},
    };

    rc = wdn_cli_parse(argc, argv, opts, pos, &npos, 0, &help);
    if (rc)
        return WDN_CLI_USAGE;
    if (help) {
        fputs(usage, stdout);
        return WDN_CLI_OK;
    }
    memset(&o, 0, sizeof(o));
    /* Run files may say fatal or panic (daprd's levels): both mean errors only here. */
    if (level && (strcmp(level, "fatal") == 0 || strcmp(level, "panic") == 0))
        level = "error";
    lvl = level ? wdn_log_level_parse(level) : WDN_LOG_INFO;
    if (lvl < 0) {
        wdn_cli_err("sidecar", "--log-level must be error, warn, info or debug");
        return WDN_CLI_USAGE;
    }
    wdn_log_init("warden-sidecar", (enum wdn_log_level)lvl, json);
    o.app_id = app_id ? app_id : getenv("APP_ID");
    if (o.app_id == NULL) {
        wdn_cli_err("sidecar", "--app-id is required (see warden sidecar --help)");
        return WDN_CLI_USAGE;
    }
    if (!app_port)
        app_port = getenv("APP_PORT");
    if (!http)
        http = dhttp ? dhttp : getenv("DAPR_HTTP_PORT");
    if (!internal)
        internal = dinternal;
    if (!metrics)
        metrics = getenv("DAPR_METRICS_PORT");
    o.http_port = 3500;
    o.metrics_port = -1;
    if (parse_port("--app-port", app_port, &o.app_port) ||
        parse_port("--http-port", http, &o.http_port) ||
        parse_port("--internal-port", internal, &o.internal_port) ||
        parse_port("--metrics-port", metrics, &o.metrics_port))
        return WDN_CLI_USAGE;
    if (workers) {
        char *end;
        long w = strtol(workers, &end, 10);
        if (*end || w < 0 || w > 64) {
            wdn_cli_err("sidecar", "--workers must be 0..64");
            return WDN_CLI_USAGE;
        }
        o.workers = (int)w;
    }
    for (size_t i = 0; i < npaths; i++)
        o.resources_paths[o.n_resources_paths++] = paths[i];
    for (size_t i = 0; i < ncpaths && o.n_resources_paths < WDN_SIDECAR_MAX_RESOURCE_PATHS; i++)
        o.resources_paths[o.n_resources_paths++] = cpaths[i];
    o.app_protocol = proto;
    o.app_address = chan ? chan : getenv("APP_CHANNEL_ADDRESS");
    o.listen_address = listen;
    o.internal_address = iaddr;
    o.config = config;
    o.project = project;
    o.peers_file = peers;
    o.ca_dir = ca_dir;
    o.cert_dir = cert_dir;
    o.peer_dns = peer_dns ? peer_dns : getenv("WARDEN_PEER_DNS");
    if (o.peer_dns && *o.peer_dns == '\0')
        o.peer_dns = NULL;
    o.ns = ns ? ns : getenv("NAMESPACE");
    if (o.ns && *o.ns == '\0')
        o.ns = NULL;
    o.trust_domain = td;
    o.api_token = getenv("DAPR_API_TOKEN");
    o.app_api_token = getenv("APP_API_TOKEN");
    o.handle_signals = true;
    o.audit_log = audit_log && *audit_log ? audit_log : NULL;
    o.audit_args = audit_args;
    o.audit_fsync = audit_fsync;
    if (parse_size("--audit-max-size", audit_size, &o.audit_max_bytes))
        return WDN_CLI_USAGE;
    if (audit_keep) {
        char *end;
        unsigned long k = strtoul(audit_keep, &end, 10);
        if (*audit_keep < '0' || *audit_keep > '9' || *end || k < 1 || k > WDN_AUDIT_KEEP_MAX) {
            wdn_cli_err("sidecar", "--audit-keep must be 1..%u", WDN_AUDIT_KEEP_MAX);
            return WDN_CLI_USAGE;
        }
        o.audit_keep = (unsigned)k;
    }
    if (audit_queue) {
        char *end;
        unsigned long q = strtoul(audit_queue, &end, 10);
        if (*audit_queue < '0' || *audit_queue > '9' || *end || q < 1 || q > WDN_AUDIT_QUEUE_MAX) {
            wdn_cli_err("sidecar", "--audit-queue must be 1..%u", WDN_AUDIT_QUEUE_MAX);
            return WDN_CLI_USAGE;
        }
        o.audit_queue = q;
    }
    if ((audit_size || audit_keep || audit_queue || audit_args || audit_fsync) &&
        o.audit_log == NULL) {
        wdn_cli_err("sidecar", "--audit-max-size, --audit-keep, --audit-queue, --audit-args and "
                               "--audit-fsync need --audit-log");
        return WDN_CLI_USAGE;
    }

    signal(SIGPIPE, SIG_IGN);
    rc = wdn_sidecar_new(&o, &sc, &d);
    if (rc == 0)
        rc = wdn_sidecar_run(sc, &d);
    if (rc)
        wdn_cli_err("sidecar", "%s", wdn_diag_format(&d, buf, sizeof(buf)));
    wdn_sidecar_free(sc);
    wdn_jose_thread_cleanup();
    return rc ? WDN_CLI_FAIL : WDN_CLI_OK;
}
