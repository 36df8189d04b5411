/* Reading a Component's spec.metadata through its middleware type's field table
 * (struct wdn__mw_field): the one place metadata names are matched and values handed to the
 * type's parsers, so that the sidecar building a middleware and `warden check`/`apply`
 * checking it without building it run the same code and say the same thing. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "pipeline/internal.h"

static bool field_is(const struct wdn__mw_field *f, const char *name)
{
    return strcmp(f->name, name) == 0 || (f->alias && strcmp(f->alias, name) == 0);
}

int wdn__mw_err(struct wdn_diag *d, const struct wdn_res_component *c,
                const struct wdn_res_meta_item *it, const char *msg)
{
    const struct wdn_res_pos *p = it ? &it->pos : &c->spec.pos;
    return wdn_diag_set_at(d, WDN_ECONFIG, p->file, p->line, p->col, "component '%s' (%s): %s",
                           c->metadata.name, c->spec.type, msg);
}

const struct wdn_res_meta_item *wdn__mw_item(const struct wdn__mw_type *vt,
                                             const struct wdn_res_component *c, const char *field)
{
    const struct wdn__mw_field *f = vt->fields;

    while (f && f->name && strcmp(f->name, field) != 0)
        f++;
    if (f == NULL || f->name == NULL)
        return NULL;
    for (size_t i = c->spec.n_metadata; i-- > 0;) {
        const struct wdn_res_meta_item *it = &c->spec.metadata[i];
        if (it->name && field_is(f, it->name))
            return it;
    }
    return NULL;
}

/* Edit distance (insertions, deletions, substitutions, case-insensitive), capped: enough to
 * tell a misspelling ("audiance") from an unrelated word. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];

    if (la > 64 || lb > 64)
        return 64;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t sub = diag + (((a[i - 1] | 0x20) == (b[j - 1] | 0x20)) ? 0 : 1);
            size_t best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    return row[lb];
}

/* "unknown metadata field NAME (did you mean X? known: a, b, ...)", from the table. */
static int unknown(const struct wdn__mw_type *vt, const struct wdn_res_component *c,
                   const struct wdn_res_meta_item *it, struct wdn_diag *d)
{
    const char *near = NULL;
    size_t best = 3; /* at most two edits away */
    char msg[sizeof(d->msg)];
    size_t n;

    for (const struct wdn__mw_field *f = vt->fields; f && f->name; f++) {
        size_t dist = distance(it->name, f->name);
        if (dist < best) {
            best = dist;
            near = f->name;
        }
    }
    n = (size_t)snprintf(msg, sizeof(msg), "unknown metadata field %.64s (%s%s%sknown:", it->name,
                         near ? "did you mean " : "", near ? near : "", near ? "? " : "");
    for (const struct wdn__mw_field *f = vt->fields; f && f->name && n < sizeof(msg); f++)
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s %s", f == vt->fields ? "" : ",",
                              f->name);
    if (n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - n, ")");
    return wdn__mw_err(d, c, it, msg);
}

int wdn__mw_configure(const struct wdn__mw_type *vt, void *conf, const struct wdn_res_component *c,
                      struct wdn_diag *d)
{
    char why[400], msg[480];

    for (size_t i = 0; i < c->spec.n_metadata; i++) {
        const struct wdn_res_meta_item *it = &c->spec.metadata[i];
        const struct wdn__mw_field *f = vt->fields;
        int rc;

        if (it->name == NULL)
            return wdn__mw_err(d, c, it, "a metadata item without a name");
        while (f && f->name && !field_is(f, it->name))
            f++;
        if (f == NULL || f->name == NULL)
            return unknown(vt, c, it, d);
        if (it->value == NULL) {
            snprintf(msg, sizeof(msg),
                     "secretKeyRef is not supported for %.64s (warden has no secret stores; put "
                     "the value in the file)",
                     it->name);
            return wdn__mw_err(d, c, it, msg);
        }
        why[0] = '\0';
        rc = f->set(conf, it->value, why, sizeof(why));
        if (rc == WDN_ENOMEM)
            return wdn_diag_set(d, rc, "out of memory");
        if (rc) {
            if (why[0])
                snprintf(msg, sizeof(msg), "%s", why);
            else
                snprintf(msg, sizeof(msg), "invalid value for %.64s", it->name);
            return wdn__mw_err(d, c, it, msg);
        }
    }
    return vt->finish ? vt->finish(conf, c, d) : 0;
}
