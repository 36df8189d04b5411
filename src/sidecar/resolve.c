/* Name resolution: which host:port an app ID's sidecar listens on for mTLS. A static map
 * (--peers FILE, "app-id host:port" per line) wins; in project mode the registry of running
 * sidecars (one file per app ID, written by each sidecar at start) is read and cached briefly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "project/store.h"
#include "sidecar/internal.h"

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
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535)
        return WDN_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

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
        char id[256], addr[256];
        char *hash = strchr(line, '#');
        int n;

        lineno++;
        if (hash)
            *hash = '\0';
        memset(&p, 0, sizeof(p));
        n = sscanf(line, "%255s %255s", id, addr);
        if (n <= 0)
            continue;
        if (n != 2 || !wdn_resources_valid_app_id(id) ||
            split_hostport(addr, p.host, sizeof(p.host), &p.port) != 0) {
            rc = wdn_diag_set_at(d, WDN_ECONFIG, file, lineno, 1,
                                 "expected 'app-id host:port' (a numeric address or localhost)");
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

int wdn__sc_resolve(struct wdn_sidecar *sc, const char *app_id, struct wdn__sc_peer *out)
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
    if (rc == 0 || sc->project == NULL)
        return rc;

    rc = wdn_store_get_sidecar(sc->project, app_id, &rec);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    if (split_hostport(rec.internal_addr, out->host, sizeof(out->host), &out->port) != 0)
        return WDN_ENOTFOUND;
    memcpy(out->app_id, app_id, strlen(app_id) + 1);
    out->expires_ms = now + WDN_SIDECAR_RESOLVE_TTL_MS;

    pthread_mutex_lock(&sc->peers_mu);
    {
        size_t i = sc->n_static;
        for (; i < sc->n_peers; i++)
            if (strcmp(sc->peers[i].app_id, app_id) == 0)
                break;
        if (i < sc->n_peers)
            sc->peers[i] = *out;
        else if (sc->n_peers - sc->n_static < WDN_SIDECAR_MAX_PEERS)
            add_peer(sc, out);
    }
    pthread_mutex_unlock(&sc->peers_mu);
    return 0;
}

void wdn__sc_resolve_forget(struct wdn_sidecar *sc, const char *app_id)
{
    pthread_mutex_lock(&sc->peers_mu);
    for (size_t i = sc->n_static; i < sc->n_peers; i++)
        if (strcmp(sc->peers[i].app_id, app_id) == 0)
            sc->peers[i].expires_ms = 0;
    pthread_mutex_unlock(&sc->peers_mu);
}
