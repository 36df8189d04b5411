/* What a sidecar tells its project's registry about itself (project mode): where it listens
 * (name resolution), and what it runs: the configuration generation, its Configuration, the
 * state hash of the project files its last build read, and why the last reload was refused.
 * `warden status` shows it; `apply`, `appid update`, `configuration create|delete` and
 * `mcpserver access grant|revoke` wait for the state they wrote to show up here. */
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/str.h"
#include "project/store.h"
#include "sidecar/internal.h"

int wdn__sc_publish(struct wdn_sidecar *sc, const char *config, const struct wdn_diag *err)
{
    struct wdn_store_sidecar rec;

    if (sc->project == NULL)
        return 0;
    memset(&rec, 0, sizeof(rec));
    wdn_fmt(rec.app_id, sizeof(rec.app_id), "%s", sc->app_id);
    wdn_fmt(rec.internal_addr, sizeof(rec.internal_addr), "%s:%d",
            strcmp(sc->internal_address, "0.0.0.0") == 0 ? "127.0.0.1" : sc->internal_address,
            sc->bound_internal);
    rec.http_port = sc->bound_http;
    rec.app_port = sc->app_port;
    rec.metrics_port = sc->bound_metrics > 0 ? sc->bound_metrics : 0;
    rec.pid = (long)getpid();
    rec.generation = sc->generation;
    wdn_fmt(rec.config, sizeof(rec.config), "%s", config ? config : "");
    wdn_fmt(rec.state, sizeof(rec.state), "%s", sc->state);
    if (err) {
        char line[sizeof(rec.last_error)];
        wdn_fmt(rec.last_error, sizeof(rec.last_error), "%s",
                err->code ? wdn_diag_format(err, line, sizeof(line)) : "refused");
    }
    return wdn_store_put_sidecar(sc->project, &rec);
}
