/* The client-credentials clients: the --clients YAML file, a flat list read with libyaml's
 * document API so every error names file:line:col, and the client generated when none is
 * configured, kept in <state>/client.json so a restart prints the same credentials. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <yaml.h>

#include "authserver/as_int.h"
#include "authserver/issuer.h"
#include "base/error.h"
#include "base/file.h"
#include "base/limits.h"
#include "project/project.h"

struct entry {
    char *id, *secret;
    char *auds[WDN_ISSUER_MAX_AUDIENCES];
    size_t naud;
    char *scopes[WDN_ISSUER_MAX_SCOPES];
    size_t nscopes;
};

struct wdn_issuer_clients {
    size_t n;
    struct entry *e;                   /* owns the strings */
    struct wdn_issuer_client_cfg *cfg; /* points into e */
};

void wdn_issuer_clients_free(struct wdn_issuer_clients *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; l->e && i < l->n; i++) {
        struct entry *e = &l->e[i];
        if (e->secret)
            OPENSSL_cleanse(e->secret, strlen(e->secret));
        free(e->id);
        free(e->secret);
        for (size_t j = 0; j < e->naud; j++)
            free(e->auds[j]);
        for (size_t j = 0; j < e->nscopes; j++)
            free(e->scopes[j]);
    }
    free(l->e);
    free(l->cfg);
    free(l);
}

const struct wdn_issuer_client_cfg *wdn_issuer_clients_items(const struct wdn_issuer_clients *l,
                                                             size_t *n)
{
    *n = l->n;
    return l->cfg;
}

struct ctx {
    yaml_document_t *doc;
    const char *name;
    struct wdn_diag *d;
};

static int err_at(struct ctx *c, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int err_at(struct ctx *c, const yaml_node_t *node, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return wdn_diag_set_at(c->d, WDN_ECONFIG, c->name, (unsigned)node->start_mark.line + 1,
                           (unsigned)node->start_mark.column + 1, "%s", msg);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A list of strings from a sequence of scalars, or one scalar split on spaces when split. */
static int strings(struct ctx *c, yaml_node_t *n, char **out, size_t *nout, size_t max, int split,
                   const char *what)
{
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = scalar(n);
        if (!split) {
            if (*nout >= max)
                return err_at(c, n, "too many %s", what);
            return (out[(*nout)++] = strdup(s)) ? 0 : WDN_ENOMEM;
        }
        for (const char *p = s; *p;) {
            size_t len = strcspn(p, " ");
            if (len > 0) {
                if (*nout >= max)
                    return err_at(c, n, "too many %s", what);
                if ((out[(*nout)++] = strndup(p, len)) == NULL)
                    return WDN_ENOMEM;
            }
            p += len;
            p += *p == ' ';
        }
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE)
        return err_at(c, n, "%s must be a list of strings", what);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *v = yaml_document_get_node(c->doc, *it);
        if (scalar(v) == NULL)
            return err_at(c, v ? v : n, "%s must be a list of strings", what);
        if (*nout >= max)
            return err_at(c, v, "too many %s", what);
        if ((out[(*nout)++] = strdup(scalar(v))) == NULL)
            return WDN_ENOMEM;
    }
    return 0;
}

static int one_client(struct ctx *c, yaml_node_t *n, struct entry *e)
{
    int rc;

    if (n->type != YAML_MAPPING_NODE)
        return err_at(c, n, "a client must be a mapping with id, secret, audiences, scopes");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *key = scalar(k);

        if (key == NULL || v == NULL)
            return err_at(c, k ? k : n, "keys must be strings");
        if (strcmp(key, "id") == 0 || strcmp(key, "secret") == 0) {
            char **slot = key[0] == 'i' ? &e->id : &e->secret;
            if (scalar(v) == NULL || *slot != NULL)
                return err_at(c, v, "'%s' must be given once, as a string", key);
            if ((*slot = strdup(scalar(v))) == NULL)
                return WDN_ENOMEM;
        } else if (strcmp(key, "audiences") == 0 || strcmp(key, "audience") == 0) {
            rc = strings(c, v, e->auds, &e->naud, WDN_ISSUER_MAX_AUDIENCES, 0, "audiences");
            if (rc != 0)
                return rc;
        } else if (strcmp(key, "scopes") == 0 || strcmp(key, "scope") == 0) {
            rc = strings(c, v, e->scopes, &e->nscopes, WDN_ISSUER_MAX_SCOPES, 1, "scopes");
            if (rc != 0)
                return rc;
        } else {
            return err_at(c, k, "unknown key '%s' (expected id, secret, audiences, scopes)", key);
        }
    }
    if (e->id == NULL || e->secret == NULL || e->naud == 0)
        return err_at(c, n, "a client needs id, secret and at least one audience");
    return 0;
}

struct wdn_issuer_clients *wdn_issuer_clients_parse(struct wdn_str yaml, const char *name,
                                                    struct wdn_diag *d)
{
    struct wdn_issuer_clients *l = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root, *list = NULL;
    struct ctx c = {&doc, name, d};
    int rc = WDN_ECONFIG, have_doc = 0;

    if (!yaml_parser_initialize(&parser))
        return NULL;
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml.p, yaml.len);
    if (!yaml_parser_load(&parser, &doc)) {
        wdn_diag_set_at(d, rc, name, (unsigned)parser.problem_mark.line + 1,
                        (unsigned)parser.problem_mark.column + 1, "%s",
                        parser.problem ? parser.problem : "malformed YAML");
        goto out;
    }
    have_doc = 1;
    root = yaml_document_get_root_node(&doc);
    if (root == NULL || root->type != YAML_MAPPING_NODE) {
        wdn_diag_set_at(d, rc, name, 1, 1, "the file must be a mapping with a 'clients' list");
        goto out;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key);
        if (scalar(k) == NULL || strcmp(scalar(k), "clients") != 0) {
            err_at(&c, k ? k : root, "unknown key '%s' (expected clients)",
                   scalar(k) ? scalar(k) : "");
            goto out;
        }
        list = yaml_document_get_node(&doc, p->value);
    }
    if (list == NULL || list->type != YAML_SEQUENCE_NODE ||
        list->data.sequence.items.top == list->data.sequence.items.start) {
        err_at(&c, list ? list : root, "'clients' must be a non-empty list");
        goto out;
    }
    size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (n > WDN_ISSUER_MAX_CLIENTS) {
        err_at(&c, list, "too many clients");
        goto out;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL || (l->e = calloc(n, sizeof(*l->e))) == NULL ||
        (l->cfg = calloc(n, sizeof(*l->cfg))) == NULL) {
        rc = wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(&doc, list->data.sequence.items.start[i]);
        l->n = i + 1;
        rc = item ? one_client(&c, item, &l->e[i]) : WDN_ECONFIG;
        if (rc != 0)
            goto out;
        l->cfg[i] = (struct wdn_issuer_client_cfg){.id = l->e[i].id,
                                                   .secret = l->e[i].secret,
                                                   .audiences = (const char *const *)l->e[i].auds,
                                                   .naudiences = l->e[i].naud,
                                                   .scopes = (const char *const *)l->e[i].scopes,
                                                   .nscopes = l->e[i].nscopes};
    }
    rc = 0;
out:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc != 0) {
        if (rc == WDN_ENOMEM)
            wdn_diag_set(d, rc, "out of memory");
        wdn_issuer_clients_free(l);
        l = NULL;
    }
    return l;
}

struct wdn_issuer_clients *wdn_issuer_clients_load(const char *path, struct wdn_diag *d)
{
    struct wdn_issuer_clients *l = NULL;
    struct wdn_buf b;
    int rc;

    wdn_buf_init(&b, WDN_ISSUER_MAX_CLIENTS_FILE_BYTES);
    rc = wdn_file_read(path, WDN_ISSUER_MAX_CLIENTS_FILE_BYTES, &b);
    if (rc != 0)
        wdn_diag_set(d, rc, "cannot read %s: %s", path, wdn_strerror(rc));
    else
        l = wdn_issuer_clients_parse(wdn_buf_str(&b), path, d);
    if (b.data)
        OPENSSL_cleanse(b.data, b.len);
    wdn_buf_reset(&b);
    return l;
}

int wdn_issuer_generated_client(const char *state_dir, char *id, char *secret, size_t cap)
{
    json_t *j = NULL;
    int fd = -1, rc = wdn__as_lock(state_dir, &fd, NULL);

    if (rc != 0)
        return rc;
    if (wdn__as_read_json(state_dir, "client.json", WDN_ISSUER_MAX_STATE_BYTES, &j, NULL, NULL) ==
            0 &&
        j != NULL) {
        const char *i = json_string_value(json_object_get(j, "client_id"));
        const char *s = json_string_value(json_object_get(j, "client_secret"));
        if (i && s && wdn_fmt(id, cap, "%s", i) == 0 && wdn_fmt(secret, cap, "%s", s) == 0)
            goto out;
    }
    json_decref(j);
    j = NULL;
    rc = wdn__as_random(id, cap, 12);
    if (rc == 0)
        rc = wdn__as_random(secret, cap, 32);
    if (rc != 0)
        goto out;
    j = json_pack("{ssss}", "client_id", id, "client_secret", secret);
    rc = j ? wdn__as_write_json(state_dir, "client.json", j, NULL) : WDN_ENOMEM;
out:
    json_decref(j);
    wdn__as_unlock(fd);
    return rc;
}
