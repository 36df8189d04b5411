/* The whole server `warden issuer` runs: one issuer per state folder (an flock on issuer.lock,
 * its pid in issuer.pid for `warden project delete`), HTTPS with a server certificate issued
 * fresh at each start by the project's CA (or one kept in the state folder), the listener on
 * 127.0.0.1 (or the configured address, for a container), signals, and a clean stop that lets
 * in-flight requests finish. The CLI only turns flags into a configuration and prints what the
 * user pastes (the ready callback). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "authserver/as_int.h"
#include "authserver/issuer.h"
#include "base/error.h"
#include "base/file.h"
#include "http/server.h"
#include "http/tls.h"
#include "pki/pki.h"
#include "project/project.h"

struct daemon {
    const struct wdn_issuer_daemon_config *cfg;
    const char *dir;
    char lock_path[WDN_MAX_PATH], pid_path[WDN_MAX_PATH];
    char ca_file[WDN_MAX_PATH];
    char url[WDN_ISSUER_MAX_URI_BYTES], listen[64];
    int lock_fd;
    bool pid_written;
    struct wdn_pki_cert *ca, *leaf;
    struct wdn_tls_ctx *tls;
    struct wdn_issuer *iss;
    struct wdn_http_handler *handler;
    struct wdn_http_handler *chain[1]; /* borrowed by the running server */
    struct wdn_http_server *srv;
};

/* One issuer per state folder; the lock is also how `project delete` tells a running issuer
 * from a stale pid file. */
static int take_lock(struct daemon *D, struct wdn_diag *d)
{
    struct wdn_buf b;
    long other = 0;

    if (wdn_fmt(D->lock_path, sizeof(D->lock_path), "%s/issuer.lock", D->dir) != 0 ||
        wdn_fmt(D->pid_path, sizeof(D->pid_path), "%s/issuer.pid", D->dir) != 0)
        return wdn_diag_set(d, WDN_ELIMIT, "state folder path too long");
    D->lock_fd = open(D->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (D->lock_fd < 0)
        return wdn_diag_set(d, WDN_EIO, "cannot open %s: %s", D->lock_path, strerror(errno));
    if (flock(D->lock_fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    if (wdn_file_read(D->pid_path, 64, &b) == 0) {
        other = strtol(b.data, NULL, 10);
        wdn_buf_reset(&b);
    }
    return wdn_diag_set(d, WDN_EBUSY,
                        "another warden issuer is running on %s (pid %ld); stop it "
                        "first",
                        D->dir, other);
}

/* The CA that signs the HTTPS certificate: the project's (ca/ in its folder), else one kept in
 * the state folder; created on first use. */
static int load_or_create_ca(struct daemon *D, struct wdn_diag *d)
{
    const char *project = D->cfg->project;
    char dir[WDN_MAX_PATH];
    int lock = -1;

    if (project != NULL) {
        if (wdn_project_path(dir, sizeof(dir), project, "ca") != 0 ||
            wdn_project_lock(project, &lock) != 0)
            return wdn_diag_set(d, WDN_EIO, "cannot lock project '%s'", project);
    } else if (wdn_fmt(dir, sizeof(dir), "%s/ca", D->dir) != 0) {
        return wdn_diag_set(d, WDN_ELIMIT, "path too long");
    }
    if (wdn_fmt(D->ca_file, sizeof(D->ca_file), "%s/" WDN_PKI_CA_CERT_FILE, dir) != 0)
        goto out;
    if (access(D->ca_file, F_OK) == 0) {
        D->ca = wdn_pki_ca_load(dir, d);
        goto out;
    }
    D->ca = wdn_pki_ca_create(project ? project : "issuer", d);
    if (D->ca != NULL && wdn_pki_ca_save(D->ca, dir, d) != 0) {
        wdn_pki_cert_free(D->ca);
        D->ca = NULL;
    }
out:
    if (lock >= 0)
        wdn_project_unlock(lock);
    return D->ca ? 0
                 : wdn_diag_set(d, d && d->code ? d->code : WDN_EIO, "%s",
                                d && d->msg[0] ? d->msg : "cannot set up the CA");
}

static int setup_tls(struct daemon *D, struct wdn_diag *d)
{
    if (D->cfg->http)
        return 0;
    if (load_or_create_ca(D, d) != 0)
        return WDN_ETLS;
    /* The certificate names the issuer URL's host too when it is not loopback. */
    const char *host = D->cfg->host;
    struct in_addr ip;
    struct wdn_pki_server_opts so = {0};
    if (host != NULL && strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0) {
        if (inet_pton(AF_INET, host, &ip) == 1)
            so.ips = &host, so.nips = 1;
        else
            so.dns = &host, so.ndns = 1;
    }
    D->leaf = wdn_pki_issue_server(D->ca, &so, d);
    if (D->leaf == NULL)
        return WDN_ETLS;
    struct wdn_tls_config tc = {
        .server = true, .cert = D->leaf->cert, .key = D->leaf->key, .verify = WDN_TLS_VERIFY_NONE};
    D->tls = wdn_tls_ctx_new(&tc, d);
    return D->tls ? 0 : WDN_ETLS;
}

/* A free port on 127.0.0.1 for port 0, chosen before the server starts so that the issuer URL
 * (which names the port) is known before the first request; the tiny window in which another
 * process could take it is covered by retrying. */
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

/* Builds the issuer for port p and starts the server on it. 0, the server's code (WDN_EEXISTS:
 * the port is taken), or WDN_E* with d. */
static int start_on(struct daemon *D, int p, struct wdn_diag *d)
{
    const struct wdn_issuer_daemon_config *cfg = D->cfg;
    struct wdn_issuer_config ic = cfg->issuer;
    const char *path = cfg->path ? cfg->path : "";
    int rc;

    if (wdn_fmt(D->url, sizeof(D->url), "%s://%s:%d%s%s", cfg->http ? "http" : "https",
                cfg->host ? cfg->host : "127.0.0.1", p, path, *path ? "" : "/") != 0 ||
        wdn_fmt(D->listen, sizeof(D->listen), "%s:%d", cfg->address ? cfg->address : "127.0.0.1",
                p) != 0)
        return wdn_diag_set(d, WDN_ELIMIT, "the issuer host or path is too long");
    wdn_issuer_http_handler_free(D->handler);
    D->handler = NULL;
    wdn_issuer_free(D->iss);
    ic.issuer = D->url;
    ic.state_dir = D->dir;
    D->iss = wdn_issuer_new(&ic, d);
    if (D->iss == NULL)
        return d && d->code ? d->code : WDN_EINVAL;
    D->handler = wdn_issuer_http_handler_new(D->iss, cfg->log, cfg->log_ud);
    if (D->handler == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    D->chain[0] = D->handler;
    struct wdn_http_server_config sc = {.listen = D->listen,
                                        .workers = 1,
                                        .handlers = D->chain,
                                        .nhandlers = 1,
                                        .tls = D->tls,
                                        /* The handler caps bodies itself and answers with an
                                         * OAuth2 error or a page. */
                                        .max_body_bytes = 4 * WDN_ISSUER_MAX_BODY_BYTES,
                                        .shutdown_grace_ms = 2000,
                                        .server_name = "warden-issuer"};
    rc = wdn_http_server_start(&sc, &D->srv);
    if (rc == WDN_EEXISTS && cfg->port != 0)
        wdn_diag_set(d, rc, "cannot listen on %s: port %d is in use by another process", D->listen,
                     p);
    else if (rc != 0 && rc != WDN_EEXISTS)
        wdn_diag_set(d, rc, "cannot listen on %s: %s", D->listen, wdn_strerror(rc));
    return rc;
}

static int start_server(struct daemon *D, struct wdn_diag *d)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int p = D->cfg->port ? D->cfg->port : pick_port();
        if (p <= 0)
            break;
        int rc = start_on(D, p, d);
        if (rc == 0)
            return 0;
        if (rc != WDN_EEXISTS || D->cfg->port != 0)
            return rc;
    }
    return wdn_diag_set(d, WDN_EEXISTS, "no free port found");
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct daemon *D = s->data;

    wdn_http_server_stop(D->srv);
    uv_stop(s->loop);
}

/* Serves until SIGINT or SIGTERM. The signals are handled before ready() runs: whoever waits
 * for what it prints may stop us at once, and that must be a clean stop. */
static int serve(struct daemon *D, struct wdn_diag *d)
{
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    char pid[32];
    int rc;

    if (uv_loop_init(&loop) != 0)
        return wdn_diag_set(d, WDN_ESYS, "cannot create the event loop");
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    sigint.data = sigterm.data = D;
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    wdn_fmt(pid, sizeof(pid), "%ld\n", (long)getpid());
    rc = wdn_file_write_atomic(D->pid_path, pid, strlen(pid), 0600);
    if (rc != 0) {
        wdn_diag_set(d, rc, "cannot write %s", D->pid_path);
        goto out;
    }
    D->pid_written = true;
    if (D->cfg->ready != NULL) {
        rc = D->cfg->ready(D->cfg->ready_ud, D->url, wdn_http_server_port(D->srv),
                           D->cfg->http ? "" : D->ca_file);
        if (rc != 0)
            goto out;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
out:
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc;
}

int wdn_issuer_daemon_run(const struct wdn_issuer_daemon_config *cfg, struct wdn_diag *d)
{
    static struct daemon D; /* one per process */
    int rc;

    memset(&D, 0, sizeof(D));
    D.cfg = cfg;
    D.dir = cfg->issuer.state_dir;
    D.lock_fd = -1;
    wdn_diag_clear(d);
    rc = take_lock(&D, d);
    if (rc == 0)
        rc = setup_tls(&D, d);
    if (rc == 0)
        rc = start_server(&D, d);
    if (rc == 0)
        rc = serve(&D, d);
    wdn_http_server_free(D.srv);
    if (D.pid_written)
        unlink(D.pid_path);
    if (D.lock_fd >= 0)
        close(D.lock_fd); /* releases the flock */
    wdn_issuer_http_handler_free(D.handler);
    wdn_issuer_free(D.iss);
    wdn_tls_ctx_free(D.tls);
    wdn_pki_cert_free(D.leaf);
    wdn_pki_cert_free(D.ca);
    return rc;
}
