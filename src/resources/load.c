/* Reading YAML into the set: files, folders and buffers; libyaml documents checked against
 * our limits (size, nodes, depth, no aliases) before any schema sees them. */
#include "resources/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/buf.h"
#include "base/file.h"
#include "base/limits.h"

struct wdn_resources *wdn_resources_new(void)
{
    struct wdn_resources *set = calloc(1, sizeof(*set));
    struct wdn__res_priv *priv = calloc(1, sizeof(*priv));

    if (set == NULL || priv == NULL) {
        free(set);
        free(priv);
        return NULL;
    }
    wdn_arena_init(&priv->arena, 16384, WDN_RES_ARENA_MAX);
    set->priv = priv;
    return set;
}

void wdn_resources_free(struct wdn_resources *set)
{
    struct wdn__res_priv *priv;

    if (set == NULL)
        return;
    priv = set->priv;
    wdn_arena_reset(&priv->arena);
    free(set->components);
    free(set->configurations);
    free(set->mcpservers);
    free(set->runfiles);
    free(set->msgs);
    free(priv->files);
    free(priv);
    free(set);
}

const char *wdn_resources_msg_format(const struct wdn_res_msg *m, char *buf, size_t cap)
{
    char text[sizeof(m->d.msg) + 16];

    snprintf(text, sizeof(text), "%s%s", m->warning ? "warning: " : "", m->d.msg);
    if (m->d.file[0] && m->d.line)
        snprintf(buf, cap, "%s:%u:%u: %s", m->d.file, m->d.line, m->d.col, text);
    else if (m->d.file[0])
        snprintf(buf, cap, "%s: %s", m->d.file, text);
    else
        snprintf(buf, cap, "%s", text);
    return buf;
}

/* Appends p to a growable array of pointers owned by the set. */
static int push_ptr(void ***arr, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        void **v = realloc(*arr, ncap * sizeof(*v));
        if (v == NULL)
            return WDN_ENOMEM;
        *arr = v;
        *cap = ncap;
    }
    (*arr)[(*n)++] = p;
    return 0;
}

/* ---- structural checks on a libyaml document ------------------------------------------ */

/*
 * libyaml's document API resolves an alias by pointing at the anchored node again, so a
 * document with aliases is a graph, not a tree: "billion laughs" expands on every walk, and an
 * anchor used inside itself makes a cycle. Resources never need aliases; every node must have
 * exactly one parent. Returns false after reporting.
 */
static bool check_tree(struct wdn__res_ctx *ctx)
{
    yaml_document_t *doc = ctx->doc;
    size_t n = (size_t)(doc->nodes.top - doc->nodes.start);
    unsigned char *refs;
    bool ok = true;

    if (n > WDN_YAML_MAX_NODES) {
        wdn__res_err(ctx, yaml_document_get_root_node(doc), "document has more than %u nodes",
                     WDN_YAML_MAX_NODES);
        return false;
    }
    refs = calloc(n + 1, 1);
    if (refs == NULL) {
        wdn__res_err(ctx, NULL, "out of memory");
        return false;
    }
    refs[1] = 1; /* the root (node ids are 1-based) */
    for (size_t i = 0; i < n && ok; i++) {
        yaml_node_t *node = &doc->nodes.start[i];
        yaml_node_item_t *items = NULL, *end = NULL;
        if (node->type == YAML_SEQUENCE_NODE) {
            items = node->data.sequence.items.start;
            end = node->data.sequence.items.top;
            for (; items < end && ok; items++) {
                if (*items < 1 || (size_t)*items > n || refs[*items]++) {
                    wdn__res_err(ctx, yaml_document_get_node(doc, *items),
                                 "this node is used again through a YAML alias; aliases "
                                 "are not allowed in resources");
                    ok = false;
                }
            }
        } else if (node->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
                 p < node->data.mapping.pairs.top && ok; p++) {
                int ids[2] = {p->key, p->value};
                for (int k = 0; k < 2 && ok; k++) {
                    if (ids[k] < 1 || (size_t)ids[k] > n || refs[ids[k]]++) {
                        wdn__res_err(ctx, yaml_document_get_node(doc, ids[k]),
                                     "this node is used again through a YAML alias; aliases "
                                     "are not allowed in resources");
                        ok = false;
                    }
                }
            }
        }
    }
    free(refs);
    return ok;
}

/* With aliases refused the document is a tree, so this recursion ends; depth bounds it. */
static bool check_depth(struct wdn__res_ctx *ctx, yaml_node_t *node, unsigned depth)
{
    if (depth > WDN_YAML_MAX_DEPTH) {
        wdn__res_err(ctx, node, "nested deeper than %u levels", WDN_YAML_MAX_DEPTH);
        return false;
    }
    if (node->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *i = node->data.sequence.items.start;
             i < node->data.sequence.items.top; i++) {
            if (!check_depth(ctx, yaml_document_get_node(ctx->doc, *i), depth + 1))
                return false;
        }
    } else if (node->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
             p++) {
            if (!check_depth(ctx, yaml_document_get_node(ctx->doc, p->key), depth + 1) ||
                !check_depth(ctx, yaml_document_get_node(ctx->doc, p->value), depth + 1))
                return false;
        }
    }
    return true;
}

/* ---- one document -> one resource ------------------------------------------------------ */

static void *new_resource(struct wdn__res_ctx *ctx, const struct wdn__res_schema *schema,
                          const yaml_node_t *root)
{
    struct wdn__res_priv *priv = ctx->set->priv;
    void *obj;

    if (priv->n_resources >= WDN_RES_MAX_RESOURCES) {
        wdn__res_err(ctx, root, "more than %u resources", WDN_RES_MAX_RESOURCES);
        return NULL;
    }
    obj = wdn_arena_calloc(ctx->arena, schema->size);
    if (obj == NULL) {
        wdn__res_err(ctx, root, "out of memory");
        return NULL;
    }
    priv->n_resources++;
    wdn__res_decode(ctx, schema, obj, root);
    return obj;
}

static void load_document(struct wdn__res_ctx *ctx, const char *base_dir)
{
    struct wdn_resources *set = ctx->set;
    struct wdn__res_priv *priv = set->priv;
    yaml_node_t *root = yaml_document_get_root_node(ctx->doc);
    const yaml_node_t *kind_node, *api_node;
    const char *kind, *api;
    int rc = 0;

    if (root->type != YAML_MAPPING_NODE) {
        wdn__res_err(ctx, root, "a resource must be a mapping with apiVersion and kind");
        return;
    }
    kind_node = wdn__res_map_get(ctx->doc, root, "kind");
    api_node = wdn__res_map_get(ctx->doc, root, "apiVersion");
    kind = wdn__res_scalar(kind_node);
    api = wdn__res_scalar(api_node);

    if (kind_node == NULL) {
        /* The multi-app run file has no kind; it is known by its version and apps. */
        if (wdn__res_map_get(ctx->doc, root, "apps") ||
            wdn__res_map_get(ctx->doc, root, "version")) {
            struct wdn_res_runfile *rf = new_resource(ctx, &wdn__res_runfile_schema, root);
            if (rf == NULL)
                return;
            wdn__res_runfile_finish(ctx, rf, base_dir);
            rc = push_ptr((void ***)&set->runfiles, &set->n_runfiles, &priv->cap_runfiles, rf);
        } else {
            wdn__res_err(ctx, root,
                         "missing \"kind\" (Component, Configuration, MCPServer), "
                         "and not a run file (version, apps)");
        }
        goto out;
    }
    if (kind == NULL) {
        wdn__res_err(ctx, kind_node, "\"kind\" must be a string");
        return;
    }
    if (strcmp(kind, "Component") == 0 || strcmp(kind, "Configuration") == 0) {
        if (api && strcmp(api, "dapr.io/v1alpha1") != 0)
            wdn__res_err(ctx, api_node,
                         "apiVersion of a %s must be dapr.io/v1alpha1, not \"%.64s\"", kind, api);
        if (strcmp(kind, "Component") == 0) {
            struct wdn_res_component *c = new_resource(ctx, &wdn__res_component_schema, root);
            if (c)
                c->invalid = ctx->failed;
            if (c)
                rc = push_ptr((void ***)&set->components, &set->n_components, &priv->cap_components,
                              c);
        } else {
            struct wdn_res_configuration *c =
                new_resource(ctx, &wdn__res_configuration_schema, root);
            if (c)
                c->invalid = ctx->failed;
            if (c)
                rc = push_ptr((void ***)&set->configurations, &set->n_configurations,
                              &priv->cap_configurations, c);
        }
    } else if (strcmp(kind, "MCPServer") == 0) {
        if (api && strcmp(api, "warden.dev/v1alpha1") != 0) {
            wdn__res_err(ctx, api_node,
                         "apiVersion of an MCPServer must be warden.dev/v1alpha1 (warden's "
                         "per-tool access policy), not \"%.64s\"",
                         api);
            return;
        }
        struct wdn_res_mcpserver *m = new_resource(ctx, &wdn__res_mcpserver_schema, root);
        if (m)
            m->invalid = ctx->failed;
        if (m)
            rc = push_ptr((void ***)&set->mcpservers, &set->n_mcpservers, &priv->cap_mcpservers, m);
    } else if (strcmp(kind, "Subscription") == 0 || strcmp(kind, "Resiliency") == 0 ||
               strcmp(kind, "HTTPEndpoint") == 0) {
        /* Dapr kinds with no bearing on authentication or authorization: skipping one cannot
         * open access, so it is a warning, not an error. */
        wdn__res_warn(ctx, kind_node, "kind %s is not supported by warden; skipped", kind);
    } else {
        wdn__res_err(ctx, kind_node,
                     "unknown kind \"%.64s\" (Component, Configuration or MCPServer)", kind);
    }
out:
    if (rc)
        wdn__res_err(ctx, root, "out of memory");
}

/*
 * libyaml re-checks every open flow collection for each token, so "[[[[..." a few megabytes
 * deep costs quadratic time before any of our limits sees a node. Bound the flow nesting on the
 * raw bytes first. Brackets inside quoted or block scalars count too: a resource never holds
 * that many unclosed ones, and a scanner that tried to skip quotes could be fooled.
 */
static bool flow_depth_ok(struct wdn_resources *set, const char *file, const char *data, size_t len)
{
    unsigned depth = 0, line = 1, col = 1;

    for (size_t i = 0; i < len; i++, col++) {
        char c = data[i];
        if (c == '\n') {
            line++;
            col = 0;
        } else if (c == '[' || c == '{') {
            if (++depth > WDN_YAML_MAX_FLOW_DEPTH) {
                wdn__res_msg(set, false, file, line, col,
                             "more than %u unclosed '[' or '{' (flow nesting limit)",
                             WDN_YAML_MAX_FLOW_DEPTH);
                return false;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

/*
 * libyaml's loader builds the whole node graph before we can count it, about a hundred bytes
 * per node: a 4 MiB file of "[1,1,1,..." would cost hundreds of megabytes. A first pass over
 * the event stream (constant memory) counts nodes per document and stops at the limit. A syntax
 * error here is left for the loading pass, which reports it with its place.
 */
static bool node_count_ok(struct wdn_resources *set, const char *file, const char *data, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    size_t nodes = 0;
    bool ok = true, done = false;

    if (!yaml_parser_initialize(&parser))
        return true; /* the loading pass fails the same way and says so */
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    while (!done && ok) {
        if (!yaml_parser_parse(&parser, &ev))
            break;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            nodes = 0;
            break;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
        case YAML_ALIAS_EVENT:
            if (++nodes > WDN_YAML_MAX_NODES) {
                wdn__res_msg(set, false, file, (unsigned)ev.start_mark.line + 1,
                             (unsigned)ev.start_mark.column + 1, "document has more than %u nodes",
                             WDN_YAML_MAX_NODES);
                ok = false;
            }
            break;
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return ok;
}

/* Parses every document of one stream. */
static int load_stream(struct wdn_resources *set, const char *file, const char *base_dir,
                       const char *data, size_t len)
{
    struct wdn__res_priv *priv = set->priv;
    struct wdn__res_ctx ctx;
    yaml_parser_t parser;
    size_t before = set->n_errors;
    unsigned ndocs = 0;

    memset(&ctx, 0, sizeof(ctx));
    ctx.set = set;
    ctx.arena = &priv->arena;
    ctx.file = wdn_arena_strdup(&priv->arena, wdn_str_from_cstr(file));
    if (ctx.file == NULL)
        return WDN_ENOMEM;
    if (len > WDN_YAML_MAX_BYTES) {
        wdn__res_msg(set, false, ctx.file, 0, 0, "file is larger than %u bytes",
                     WDN_YAML_MAX_BYTES);
        return WDN_ECONFIG;
    }
    if (!flow_depth_ok(set, ctx.file, data, len) || !node_count_ok(set, ctx.file, data, len))
        return WDN_ECONFIG;
    if (!yaml_parser_initialize(&parser))
        return WDN_ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    for (;;) {
        yaml_document_t doc;
        yaml_node_t *root;

        if (!yaml_parser_load(&parser, &doc)) {
            wdn__res_msg(set, false, ctx.file, (unsigned)parser.problem_mark.line + 1,
                         (unsigned)parser.problem_mark.column + 1, "YAML syntax error: %s%s%s",
                         parser.problem ? parser.problem : "unknown problem",
                         parser.context ? " " : "", parser.context ? parser.context : "");
            break;
        }
        root = yaml_document_get_root_node(&doc);
        if (root == NULL) {
            yaml_document_delete(&doc);
            break;
        }
        if (++ndocs > WDN_YAML_MAX_DOCS) {
            wdn__res_msg(set, false, ctx.file, (unsigned)root->start_mark.line + 1,
                         (unsigned)root->start_mark.column + 1, "more than %u documents",
                         WDN_YAML_MAX_DOCS);
            yaml_document_delete(&doc);
            break;
        }
        ctx.doc = &doc;
        ctx.path_len = 0;
        ctx.path[0] = '\0';
        ctx.depth = 0;
        ctx.failed = false;
        /* An empty document ("---" with nothing after it) is allowed and ignored. */
        bool empty = root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0 &&
                     root->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (!empty && check_tree(&ctx) && check_depth(&ctx, root, 1))
            load_document(&ctx, base_dir);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return set->n_errors > before ? WDN_ECONFIG : 0;
}

int wdn_resources_load_buffer(struct wdn_resources *set, const char *name, const char *base_dir,
                              const char *data, size_t len)
{
    /* libyaml asserts on a NULL input even when it is empty. */
    if (data == NULL) {
        data = "";
        len = 0;
    }
    return load_stream(set, name ? name : "-", base_dir ? base_dir : ".", data, len);
}

/* Reads a whole regular file of at most WDN_YAML_MAX_BYTES into b, saying why not. */
static int read_file(struct wdn_resources *set, const char *path, struct wdn_buf *b)
{
    int rc = wdn_file_read(path, WDN_YAML_MAX_BYTES, b);

    if (rc == WDN_ELIMIT)
        wdn__res_msg(set, false, path, 0, 0, "file is larger than %u bytes", WDN_YAML_MAX_BYTES);
    else if (rc == WDN_EINVAL)
        wdn__res_msg(set, false, path, 0, 0, "not a regular file");
    else if (rc == WDN_ENOMEM)
        return rc;
    else if (rc)
        wdn__res_msg(set, false, path, 0, 0, "cannot open: %s", wdn_strerror(rc));
    return rc ? WDN_ECONFIG : 0;
}

/* Whether the file at path was read into the set already (a folder named twice, a --config
 * file inside a --resources-path folder, "./res" and "res"); if not, remembers it. A file is
 * read once: its resources would otherwise be refused as second ones of the same name. */
static int seen_before(struct wdn_resources *set, const char *path, bool *seen)
{
    struct wdn__res_priv *priv = set->priv;
    struct stat st;

    *seen = false;
    if (stat(path, &st) != 0)
        return 0; /* read_file says why */
    for (size_t i = 0; i < priv->n_files; i++)
        if (priv->files[i].dev == st.st_dev && priv->files[i].ino == st.st_ino) {
            *seen = true;
            return 0;
        }
    if (priv->n_files == priv->cap_files) {
        size_t cap = priv->cap_files ? priv->cap_files * 2 : 16;
        struct wdn__res_file_id *f = realloc(priv->files, cap * sizeof(*f));
        if (f == NULL)
            return WDN_ENOMEM;
        priv->files = f;
        priv->cap_files = cap;
    }
    priv->files[priv->n_files].dev = st.st_dev;
    priv->files[priv->n_files].ino = st.st_ino;
    priv->n_files++;
    return 0;
}

static int load_file(struct wdn_resources *set, const char *path)
{
    char *dircopy = NULL, *abs = NULL;
    struct wdn_buf data;
    const char *base;
    bool seen;
    int rc;

    rc = seen_before(set, path, &seen);
    if (rc || seen)
        return rc;
    rc = read_file(set, path, &data);
    if (rc)
        return rc;
    dircopy = strdup(path);
    if (dircopy == NULL) {
        wdn_buf_reset(&data);
        return WDN_ENOMEM;
    }
    /* Relative paths in a run file start at the run file's folder, made absolute. */
    base = dirname(dircopy);
    abs = realpath(base, NULL);
    rc = load_stream(set, path, abs ? abs : base, data.data, data.len);
    free(abs);
    free(dircopy);
    wdn_buf_reset(&data);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool yaml_name(const char *name)
{
    size_t n = strlen(name);

    if (name[0] == '.')
        return false;
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

static int load_dir(struct wdn_resources *set, const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    int rc = 0, one;

    if (d == NULL) {
        wdn__res_msg(set, false, path, 0, 0, "cannot open folder: %s", strerror(errno));
        return WDN_ECONFIG;
    }
    names = calloc(WDN_RES_MAX_FILES, sizeof(*names));
    if (names == NULL) {
        closedir(d);
        return WDN_ENOMEM;
    }
    while ((e = readdir(d)) != NULL) {
        char full[WDN_MAX_PATH];
        struct stat st;

        if (!yaml_name(e->d_name))
            continue;
        if (snprintf(full, sizeof(full), "%s/%s", path, e->d_name) >= (int)sizeof(full)) {
            wdn__res_msg(set, false, path, 0, 0, "path too long: %s", e->d_name);
            rc = WDN_ECONFIG;
            continue;
        }
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == WDN_RES_MAX_FILES) {
            wdn__res_msg(set, false, path, 0, 0, "more than %u YAML files", WDN_RES_MAX_FILES);
            rc = WDN_ECONFIG;
            break;
        }
        names[n] = strdup(full);
        if (names[n] == NULL) {
            rc = WDN_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n && rc != WDN_ENOMEM; i++) {
        one = load_file(set, names[i]);
        if (one == WDN_ENOMEM)
            rc = one;
        else if (one && rc == 0)
            rc = one;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int wdn_resources_load_path(struct wdn_resources *set, const char *path)
{
    struct stat st;

    if (set == NULL || path == NULL)
        return WDN_EINVAL;
    if (stat(path, &st) != 0) {
        wdn__res_msg(set, false, path, 0, 0, "cannot read: %s", strerror(errno));
        return WDN_ECONFIG;
    }
    if (S_ISDIR(st.st_mode))
        return load_dir(set, path);
    return load_file(set, path);
}
