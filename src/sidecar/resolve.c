/* Name resolution: which host:port an app ID's sidecar listens on for mTLS. A static map
 * (--peers FILE, "app-id host:port" per line, host a numeric address or a DNS name) wins; in
 * project mode the registry of running sidecars (one file per app ID, written by each sidecar
 * at start) is read and cached briefly; last, a DNS name template (--peer-dns, Kubernetes
 * style: "{app-id}-warden.{namespace}.svc.cluster.local:50002") names any other app ID.
 *
 * Host names are never resolved on the calling (worker) thread. Their addresses are looked up
 * on the main loop (uv_getaddrinfo runs in libuv's thread pool) and cached for a short TTL,
 * because getaddrinfo gives no TTL and Kubernetes pod addresses change. Until a lookup has
 * answered, the name itself goes to the connection pool, which resolves it off the loop too.
 *
 * Failover: one address of a name is in use (the current one) until a connection to it fails;
 * the failure names the address, so that many requests failing on it at once move on once,
 * to the next address that has not failed recently (WDN_SIDECAR_DNS_FAIL_MS). A lookup that
 * still lists the current address keeps it, and failures are remembered across lookups, so a
 * crashed pod that DNS still names is not tried again at every refresh. Once every address has
 * failed recently, the one that failed longest ago is used and the name is looked up again. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/dns.h"
#include "base/error.h"
#include "base/log.h"
#include "project/store.h"
#include "sidecar/internal.h"

struct wdn__sc_dns {
    struct wdn_sidecar *sc;
    char host[WDN_SIDECAR_MAX_HOST_BYTES + 1];
    int port;
    char addrs[WDN_SIDECAR_DNS_MAX_ADDRS][INET6_ADDRSTRLEN];
    uint64_t failed_ms[WDN_SIDECAR_DNS_MAX_ADDRS]; /* last connection failure (0: none) */
    size_t naddrs, cur;
    uint64_t expires_ms;  /* the addresses are used until then */
    uint64_t next_try_ms; /* no new lookup before then */
    uint64_t used_ms;     /* last asked for (eviction picks the oldest) */
    bool wanted, in_flight;
    uv_getaddrinfo_t gai;
};

static bool is_numeric(const char *h)
{
    unsigned char b[16];

    return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

bool wdn__sc_dns_label(const char *s)
{
    return wdn_dns_name_ok(s, WDN_DNS_ONE_LABEL);
}

/* Splits "host:port" or "[v6]:port" into host (without brackets) and port. */
static int split_hostport(const char *s, char *host, size_t hcap, int *port)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hlen;
    char *end;
    long p;

    if (colon == NULL)
        return WDN_EINVAL;
    hlen = (size_t)(colon - s);
    if (hlen >= 2 && s[0] == '[' && colon[-1] == ']') {
        h = s + 1;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= hcap)
        return WDN_EINVAL;
    if (colon[1] < '0' || colon[1] > '9')
        return WDN_EINVAL;
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535)
        return WDN_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

/* ---- The --peer-dns template ------------------------------------------------------------- */

/* Expands tmpl; *why (static) says what is wrong when it returns WDN_EINVAL. */
static int expand(const char *tmpl, const char *ns, const char *app_id, char *host, size_t cap,
                  int *port, const char **why)
{
    const char *colon = strrchr(tmpl, ':');
    size_t k = 0, n_app = 0;
    char *end;
    long p;

    *why = NULL;
    if (strlen(tmpl) > WDN_SIDECAR_MAX_PEER_DNS_BYTES) {
        *why = "it is too long";
        return WDN_ELIMIT;
    }
    if (colon == NULL || colon[1] < '0' || colon[1] > '9') {
        *why = "it must end with :PORT";
        return WDN_EINVAL;
    }
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) {
        *why = "the port must be a number 1..65535";
        return WDN_EINVAL;
    }
    for (const char *s = tmpl; s < colon;) {
        const char *val = NULL;
        size_t vlen;
        if (*s == '{') {
            if (strncmp(s, "{app-id}", 8) == 0) {
                val = app_id;
                s += 8;
                n_app++;
            } else if (strncmp(s, "{namespace}", 11) == 0) {
                val = ns;
                s += 11;
            } else {
                *why = "unknown placeholder (there are {app-id} and {namespace})";
                return WDN_EINVAL;
            }
            vlen = strlen(val);
        } else {
            val = s++;
            vlen = 1;
        }
        if (k + vlen >= cap) {
            *why = "the host name would be longer than 253 bytes";
            return WDN_ELIMIT;
        }
        memcpy(host + k, val, vlen);
        k += vlen;
    }
    host[k] = '\0';
    if (n_app == 0) {
        *why = "it must contain {app-id}";
        return WDN_EINVAL;
    }
    if (!wdn_dns_name_ok(host, WDN_DNS_TRAILING_DOT)) {
        *why = "the host is not a DNS name (dot-separated labels of letters, digits and inner "
               "hyphens)";
        return WDN_EINVAL;
    }
    *port = (int)p;
    return 0;
}

int wdn__sc_dns_template_check(const char *tmpl, const char *ns, struct wdn_diag *d)
{
    char host[WDN_SIDECAR_MAX_HOST_BYTES + 1];
    const char *why = NULL;
    int port, rc;

    if (strstr(tmpl, "{namespace}") && !wdn__sc_dns_label(ns))
        return wdn_diag_set(d, WDN_EINVAL,
                            "--peer-dns uses {namespace}, but the namespace '%s' (--namespace, "
                            "env NAMESPACE) is not a DNS label",
                            ns);
    rc = expand(tmpl, ns, "a", host, sizeof(host), &port, &why);
    if (rc)
        return wdn_diag_set(d, WDN_EINVAL,
                            "--peer-dns '%s': %s (example: "
                            "'{app-id}-warden.{namespace}.svc.cluster.local:50002')",
                            tmpl, why ? why : "invalid");
    return 0;
}

int wdn__sc_dns_template_expand(const char *tmpl, const char *ns, const char *app_id, char *host,
                                size_t cap, int *port)
{
    const char *why;

    if (!wdn__sc_dns_label(app_id))
        return WDN_EINVAL;
    return expand(tmpl, ns, app_id, host, cap, port, &why);
}

const char *wdn__sc_resolve_strerror(int rc)
{
    switch (rc) {
    case WDN_ESTATE:
        return "its sidecar is not running";
    case WDN_EINVAL:
        return "the app ID is not a DNS label (letters, digits and inner hyphens, at most 63), "
               "so the --peer-dns template cannot name it";
    default:
        return "no sidecar found for this app ID";
    }
}

/* ---- The --peers file -------------------------------------------------------------------- */

static int add_peer(struct wdn_sidecar *sc, const struct wdn__sc_peer *p)
{
    if (sc->n_peers == sc->cap_peers) {
        size_t cap = sc->cap_peers ? sc->cap_peers * 2 : 16;
        struct wdn__sc_peer *v;
        if (cap > WDN_SIDECAR_MAX_PEERS * 2)
            return WDN_ELIMIT;
        v = realloc(sc->peers, cap * sizeof(*v));
        if (v == NULL)
            return WDN_ENOMEM;
        sc->peers = v;
        sc->cap_peers = cap;
    }
    sc->peers[sc->n_peers++] = *p;
    return 0;
}

int wdn__sc_peers_load(struct wdn_sidecar *sc, const char *file, struct wdn_diag *d)
{
    FILE *f = fopen(file, "r");
    char line[1024];
    unsigned lineno = 0;
    int rc = 0;

    if (f == NULL)
        return wdn_diag_set(d, WDN_EIO, "cannot open peers file %s", file);
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        struct wdn__sc_peer p;
        char id[256], addr[300];
        char *hash = strchr(line, '#');
        int n;

        lineno++;
        if (hash)
            *hash = '\0';
        memset(&p, 0, sizeof(p));
        n = sscanf(line, "%255s %299s", id, addr);
        if (n <= 0)
            continue;
        if (n != 2 || !wdn_resources_valid_app_id(id) ||
            split_hostport(addr, p.host, sizeof(p.host), &p.port) != 0 ||
            !(is_numeric(p.host) || wdn_dns_name_ok(p.host, WDN_DNS_TRAILING_DOT))) {
            rc = wdn_diag_set_at(d, WDN_ECONFIG, file, lineno, 1,
                                 "expected 'app-id host:port' (host: an IPv4 or [IPv6] address "
                                 "or a DNS name; port 1..65535)");
            break;
        }
        if (sc->n_static >= WDN_SIDECAR_MAX_PEERS) {
            rc = wdn_diag_set_at(d, WDN_ELIMIT, file, lineno, 1, "too many peers");
            break;
        }
        memcpy(p.app_id, id, strlen(id) + 1);
        rc = add_peer(sc, &p);
        if (rc == 0)
            sc->n_static++;
    }
    fclose(f);
    return rc;
}

/* ---- Resolving ---------------------------------------------------------------------------- */

/* The static map, the registry cache, the registry, then the template. */
static int find_target(struct wdn_sidecar *sc, const char *app_id, struct wdn__sc_peer *out)
{
    struct wdn_store_sidecar rec;
    uint64_t now = wdn_clock_mono_ms();
    int rc = WDN_ENOTFOUND;

    pthread_mutex_lock(&sc->peers_mu);
    for (size_t i = 0; i < sc->n_peers; i++) {
        struct wdn__sc_peer *p = &sc->peers[i];
        if (strcmp(p->app_id, app_id) != 0)
            continue;
        if (i < sc->n_static || p->expires_ms > now) {
            *out = *p;
            rc = 0;
        }
        break;
    }
    pthread_mutex_unlock(&sc->peers_mu);
    if (rc == 0)
        return 0;

    if (sc->project != NULL) {
        rc = wdn_store_get_sidecar(sc->project, app_id, &rec);
        if (rc == 0) {
            memset(out, 0, sizeof(*out));
            if (split_hostport(rec.internal_addr, out->host, sizeof(out->host), &out->port) != 0)
                rc = WDN_ENOTFOUND;
        }
        if (rc == 0) {
            memcpy(out->app_id, app_id, strlen(app_id) + 1);
            out->expires_ms = now + WDN_SIDECAR_RESOLVE_TTL_MS;
            pthread_mutex_lock(&sc->peers_mu);
            size_t i = sc->n_static;
            for (; i < sc->n_peers; i++)
                if (strcmp(sc->peers[i].app_id, app_id) == 0)
                    break;
            if (i < sc->n_peers)
                sc->peers[i] = *out;
            else if (sc->n_peers - sc->n_static < WDN_SIDECAR_MAX_PEERS)
                add_peer(sc, out);
            pthread_mutex_unlock(&sc->peers_mu);
            return 0;
        }
    }
    if (sc->peer_dns == NULL)
        return rc;
    memset(out, 0, sizeof(*out));
    rc = wdn__sc_dns_template_expand(sc->peer_dns, sc->ns, app_id, out->host, sizeof(out->host),
                                     &out->port);
    if (rc == WDN_EINVAL)
        wdn_log_info("cannot resolve app_id=%s: not a DNS label (letters, digits and inner "
                     "hyphens, at most 63), so --peer-dns cannot name it; map it in --peers",
                     app_id);
    else if (rc)
        wdn_log_info("cannot resolve app_id=%s: --peer-dns gives a name that is too long", app_id);
    if (rc == 0)
        memcpy(out->app_id, app_id, strlen(app_id) + 1);
    return rc;
}

static struct wdn__sc_dns *dns_find(struct wdn_sidecar *sc, const char *host, int port)
{
    for (size_t i = 0; i < sc->n_dns; i++)
        if (sc->dns[i]->port == port && strcmp(sc->dns[i]->host, host) == 0)
            return sc->dns[i];
    return NULL;
}

/* A cache slot for host:port (peers_mu held): a new one while there is room, else the least
 * recently used one without a lookup in flight; NULL when every slot is busy. */
static struct wdn__sc_dns *dns_slot(struct wdn_sidecar *sc, const char *host, int port)
{
    struct wdn__sc_dns *e = NULL;

    if (sc->n_dns < WDN_SIDECAR_DNS_MAX_NAMES) {
        e = calloc(1, sizeof(*e));
        if (e == NULL)
            return NULL;
        sc->dns[sc->n_dns++] = e;
    } else {
        for (size_t i = 0; i < sc->n_dns; i++)
            if (!sc->dns[i]->in_flight && (e == NULL || sc->dns[i]->used_ms < e->used_ms))
                e = sc->dns[i];
        if (e == NULL)
            return NULL;
        memset(e, 0, sizeof(*e));
    }
    e->sc = sc;
    memcpy(e->host, host, strlen(host) + 1);
    e->port = port;
    e->gai.data = e;
    return e;
}

/* True when a connection to address i failed less than WDN_SIDECAR_DNS_FAIL_MS ago. */
static bool failed_recently(const struct wdn__sc_dns *e, size_t i, uint64_t now)
{
    return e->failed_ms[i] != 0 && now - e->failed_ms[i] < WDN_SIDECAR_DNS_FAIL_MS;
}

/* The address to use from index start on (wrapping): the first that has not failed recently,
 * else (every one has) the one whose failure is oldest. */
static size_t usable_from(const struct wdn__sc_dns *e, size_t start, uint64_t now)
{
    size_t oldest = start % e->naddrs;

    for (size_t k = 0; k < e->naddrs; k++) {
        size_t i = (start + k) % e->naddrs;
        if (!failed_recently(e, i, now))
            return i;
        if (e->failed_ms[i] < e->failed_ms[oldest])
            oldest = i;
    }
    return oldest;
}

/* Installs a lookup's addresses (peers_mu held). The failures of addresses still listed are
 * kept; the current address stays current while it is listed and has not failed recently (a
 * refresh must not send traffic back to a dead first address), else the first usable one. */
static void dns_store(struct wdn__sc_dns *e, const char (*addrs)[INET6_ADDRSTRLEN], size_t n,
                      uint64_t now)
{
    char cur[INET6_ADDRSTRLEN] = "";
    uint64_t failed[WDN_SIDECAR_DNS_MAX_ADDRS];
    size_t keep = n;

    if (e->naddrs > 0)
        memcpy(cur, e->addrs[e->cur], sizeof(cur));
    for (size_t i = 0; i < n; i++) {
        failed[i] = 0;
        for (size_t j = 0; j < e->naddrs; j++)
            if (strcmp(addrs[i], e->addrs[j]) == 0)
                failed[i] = e->failed_ms[j];
        if (strcmp(addrs[i], cur) == 0)
            keep = i;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(e->addrs[i], addrs[i], strlen(addrs[i]) + 1);
    memcpy(e->failed_ms, failed, n * sizeof(failed[0]));
    e->naddrs = n;
    e->cur = keep < n && !failed_recently(e, keep, now) ? keep : usable_from(e, 0, now);
    e->expires_ms = now + WDN_DNS_TTL_MS;
}

/* Replaces out->host by a cached address, or keeps the name; asks the main loop for a lookup
 * when the addresses are older than the TTL. Addresses past the TTL are still used while the
 * new lookup runs (pods that went away fail over to the next address); after every address
 * failed, or when a lookup found none, the name goes to the pool, which resolves it itself. */
static void pick_address(struct wdn_sidecar *sc, struct wdn__sc_peer *out)
{
    uint64_t now = wdn_clock_mono_ms();
    struct wdn__sc_dns *e;

    /* The caller checks the callee's certificate against the app ID when it is a DNS label,
     * else against the host: then the host must stay the name the certificate carries. */
    if (is_numeric(out->host) || !wdn__sc_dns_label(out->app_id))
        return;
    pthread_mutex_lock(&sc->peers_mu);
    e = dns_find(sc, out->host, out->port);
    if (e == NULL)
        e = dns_slot(sc, out->host, out->port);
    if (e != NULL) {
        e->used_ms = now;
        if (e->naddrs > 0) {
            memcpy(out->host, e->addrs[e->cur], strlen(e->addrs[e->cur]) + 1);
            out->suspect = failed_recently(e, e->cur, now);
        }
        if (e->expires_ms <= now && !e->in_flight && !e->wanted && now >= e->next_try_ms &&
            sc->dns_ready) {
            e->wanted = true;
            uv_async_send(&sc->dns_async);
        }
    }
    pthread_mutex_unlock(&sc->peers_mu);
}

int wdn__sc_resolve(struct wdn_sidecar *sc, const char *app_id, struct wdn__sc_peer *out)
{
    int rc = find_target(sc, app_id, out);

    if (rc == 0)
        pick_address(sc, out);
    return rc;
}

void wdn__sc_resolve_forget(struct wdn_sidecar *sc, const struct wdn__sc_peer *failed)
{
    const char *app_id = failed->app_id;
    char host[WDN_SIDECAR_MAX_HOST_BYTES + 1];
    uint64_t now = wdn_clock_mono_ms();
    int port = 0;
    bool named = false;

    pthread_mutex_lock(&sc->peers_mu);
    for (size_t i = 0; i < sc->n_peers; i++) {
        if (strcmp(sc->peers[i].app_id, app_id) != 0)
            continue;
        if (i >= sc->n_static) {
            sc->peers[i].expires_ms = 0;
        } else {
            memcpy(host, sc->peers[i].host, sizeof(host));
            port = sc->peers[i].port;
            named = true;
        }
    }
    if (!named && sc->peer_dns != NULL)
        named = wdn__sc_dns_template_expand(sc->peer_dns, sc->ns, app_id, host, sizeof(host),
                                            &port) == 0;
    if (named && port == failed->port) {
        struct wdn__sc_dns *e = dns_find(sc, host, port);
        size_t i = 0;
        while (e != NULL && i < e->naddrs && strcmp(e->addrs[i], failed->host) != 0)
            i++;
        if (e != NULL && i < e->naddrs) {
            e->failed_ms[i] = now ? now : 1;
            /* Only the first of the requests that failed on the current address moves on. */
            if (e->cur == i)
                e->cur = usable_from(e, i + 1, now);
            if (failed_recently(e, e->cur, now)) {
                /* Every address failed: look the name up again at the next request. */
                e->expires_ms = 0;
                e->next_try_ms = 0;
            }
        }
    }
    pthread_mutex_unlock(&sc->peers_mu);
}

int wdn__sc_dns_put(struct wdn_sidecar *sc, const char *host, int port, const char *const *addrs,
                    size_t n)
{
    struct wdn__sc_dns *e;
    int rc = 0;

    if (n > WDN_SIDECAR_DNS_MAX_ADDRS)
        n = WDN_SIDECAR_DNS_MAX_ADDRS;
    if (strlen(host) > WDN_SIDECAR_MAX_HOST_BYTES)
        return WDN_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!is_numeric(addrs[i]) || strlen(addrs[i]) >= INET6_ADDRSTRLEN)
            return WDN_EINVAL;
    pthread_mutex_lock(&sc->peers_mu);
    e = dns_find(sc, host, port);
    if (e == NULL)
        e = dns_slot(sc, host, port);
    if (e == NULL) {
        rc = WDN_EBUSY;
    } else {
        char v[WDN_SIDECAR_DNS_MAX_ADDRS][INET6_ADDRSTRLEN];
        for (size_t i = 0; i < n; i++)
            memcpy(v[i], addrs[i], strlen(addrs[i]) + 1);
        if (n > 0)
            dns_store(e, (const char(*)[INET6_ADDRSTRLEN])v, n, wdn_clock_mono_ms());
        e->next_try_ms = 0;
    }
    pthread_mutex_unlock(&sc->peers_mu);
    return rc;
}

/* ---- Lookups on the main loop ------------------------------------------------------------- */

static void on_dns_done(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct wdn__sc_dns *e = req->data;
    struct wdn_sidecar *sc = e->sc;
    char addrs[WDN_SIDECAR_DNS_MAX_ADDRS][INET6_ADDRSTRLEN];
    size_t n = 0;
    uint64_t now = wdn_clock_mono_ms();

    /* IPv4 first, as the connection pool does; duplicates (one per socket type) dropped. */
    for (int fam = 0; fam < 2; fam++) {
        for (struct addrinfo *ai = status == 0 ? res : NULL; ai; ai = ai->ai_next) {
            char buf[INET6_ADDRSTRLEN];
            const void *a;
            bool dup = false;
            if (n == WDN_SIDECAR_DNS_MAX_ADDRS)
                break;
            if (fam == 0 && ai->ai_family == AF_INET)
                a = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
            else if (fam == 1 && ai->ai_family == AF_INET6)
                a = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
            else
                continue;
            if (inet_ntop(ai->ai_family, a, buf, sizeof(buf)) == NULL)
                continue;
            for (size_t i = 0; i < n && !dup; i++)
                dup = strcmp(addrs[i], buf) == 0;
            if (!dup)
                memcpy(addrs[n++], buf, sizeof(buf));
        }
    }
    if (res)
        uv_freeaddrinfo(res);
    pthread_mutex_lock(&sc->peers_mu);
    e->in_flight = false;
    e->next_try_ms = now + WDN_SIDECAR_DNS_RETRY_MS;
    /* A failed lookup keeps the addresses it had (a DNS hiccup should not stop traffic to
     * pods that are fine); connection failures still walk through them. */
    if (n > 0) {
        dns_store(e, (const char(*)[INET6_ADDRSTRLEN])addrs, n, now);
        wdn_log_debug("resolved host=%s addresses=%zu using=%s", e->host, n, e->addrs[e->cur]);
    } else
        wdn_log_info("cannot resolve host=%s: %s", e->host,
                     status ? uv_strerror(status) : "no address");
    pthread_mutex_unlock(&sc->peers_mu);
}

static void on_dns_async(uv_async_t *a)
{
    struct wdn_sidecar *sc = a->data;
    struct addrinfo hints;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    pthread_mutex_lock(&sc->peers_mu);
    for (size_t i = 0; i < sc->n_dns; i++) {
        struct wdn__sc_dns *e = sc->dns[i];
        char port[8];
        if (!e->wanted || e->in_flight || !sc->dns_ready)
            continue;
        e->wanted = false;
        e->in_flight = true;
        snprintf(port, sizeof(port), "%d", e->port);
        if (uv_getaddrinfo(&sc->loop, &e->gai, on_dns_done, e->host, port, &hints) != 0) {
            e->in_flight = false;
            e->next_try_ms = wdn_clock_mono_ms() + WDN_SIDECAR_DNS_RETRY_MS;
        }
    }
    pthread_mutex_unlock(&sc->peers_mu);
}

int wdn__sc_dns_start(struct wdn_sidecar *sc)
{
    int rc = uv_async_init(&sc->loop, &sc->dns_async, on_dns_async);

    if (rc)
        return wdn_error_from_errno(rc);
    sc->dns_async.data = sc;
    pthread_mutex_lock(&sc->peers_mu);
    sc->dns_ready = true;
    pthread_mutex_unlock(&sc->peers_mu);
    return 0;
}

static void on_dns_closed(uv_handle_t *h)
{
    (void)h;
}

void wdn__sc_dns_stop(struct wdn_sidecar *sc)
{
    bool was;

    pthread_mutex_lock(&sc->peers_mu);
    was = sc->dns_ready;
    sc->dns_ready = false;
    pthread_mutex_unlock(&sc->peers_mu);
    if (was)
        uv_close((uv_handle_t *)&sc->dns_async, on_dns_closed);
}

void wdn__sc_dns_free(struct wdn_sidecar *sc)
{
    for (size_t i = 0; i < sc->n_dns; i++)
        free(sc->dns[i]);
    sc->n_dns = 0;
    free(sc->peer_dns);
    sc->peer_dns = NULL;
}
