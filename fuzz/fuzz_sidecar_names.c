/* Fuzz target: the sidecar's name-resolution inputs (src/sidecar/resolve.c). The input is split
 * at its first two NUL bytes into a --peer-dns template, a namespace and an app ID: the
 * template is checked and, when accepted, expanded (the host must come back NUL-terminated
 * within its buffer, the port in range). The whole input is also loaded as a --peers file:
 * every accepted entry must hold a valid app ID, a non-empty host and a port in range. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/error.h"
#include "resources/resources.h"
#include "sidecar/internal.h"
#include "fuzz.h"

static void names(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 3);
    const char *tmpl, *ns, *app;
    char host[256];
    struct wdn_diag d;
    int port = 0;

    if (buf == NULL)
        return;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    tmpl = buf;
    ns = tmpl + strlen(tmpl) + 1;
    app = ns + strlen(ns) + 1;
    if (*ns == '\0')
        ns = "default";
    if (wdn__sc_dns_template_check(tmpl, ns, &d) == 0) {
        memset(host, 'x', sizeof(host));
        int rc = wdn__sc_dns_template_expand(tmpl, ns, app, host, sizeof(host), &port);
        CHECK(rc == 0 || rc == WDN_EINVAL || rc == WDN_ELIMIT);
        if (rc == 0) {
            CHECK(memchr(host, '\0', sizeof(host)) != NULL);
            CHECK(host[0] != '\0');
            CHECK(port >= 1 && port <= 65535);
        }
    }
    (void)wdn__sc_dns_label(app);
    free(buf);
}

static void peers_file(const uint8_t *data, size_t size)
{
    static char path[64];
    struct wdn_sidecar *sc = calloc(1, sizeof(*sc));
    struct wdn_diag d;
    FILE *f;

    if (sc == NULL)
        return;
    if (path[0] == '\0')
        snprintf(path, sizeof(path), "/tmp/wdn-fuzz-peers-%d", (int)getpid());
    f = fopen(path, "wb");
    if (f != NULL && fwrite(data, 1, size, f) == size && fclose(f) == 0) {
        int rc = wdn__sc_peers_load(sc, path, &d);
        CHECK(rc == 0 || rc == WDN_ECONFIG || rc == WDN_ELIMIT || rc == WDN_ENOMEM);
        CHECK(sc->n_static == sc->n_peers && sc->n_peers <= sc->cap_peers);
        for (size_t i = 0; i < sc->n_peers; i++) {
            CHECK(wdn_resources_valid_app_id(sc->peers[i].app_id));
            CHECK(sc->peers[i].host[0] != '\0');
            CHECK(sc->peers[i].port >= 1 && sc->peers[i].port <= 65535);
        }
    } else if (f != NULL) {
        fclose(f);
    }
    free(sc->peers);
    free(sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    names(data, size);
    peers_file(data, size);
    return 0;
}
