/* Internal to src/resources: the schema tables that drive the YAML decoder, and its context. */
#ifndef WDN_RESOURCES_INTERNAL_H
#define WDN_RESOURCES_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <yaml.h>

#include "base/arena.h"
#include "resources/resources.h"

/* How a field's value is decoded and where it is stored (at off in the object). */
enum wdn__res_type {
    WDN__RES_STR,     /* const char *: any scalar, kept as its text */
    WDN__RES_ENUM,    /* const char *: one of enums[] (canonical spelling stored) */
    WDN__RES_BOOL,    /* int: plain true/false; WDN_RES_UNSET when absent */
    WDN__RES_INT,     /* int64_t: plain decimal within [min, max]; WDN_RES_INT_UNSET */
    WDN__RES_STRLIST, /* struct wdn_res_strlist: a sequence of scalars */
    WDN__RES_MAP,     /* struct wdn_res_map: a mapping of scalar to scalar */
    WDN__RES_OBJ,     /* an inline struct described by sub */
    WDN__RES_OBJLIST, /* T *at off, size_t at count_off: a sequence of sub objects */
    WDN__RES_ANY,     /* accepted and not decoded (known Dapr keys warden does not use) */
    WDN__RES_INLINE,  /* sub's fields are keys of this mapping too (Go's yaml:",inline") */
};

#define WDN__RES_F_REQUIRED 0x01u /* missing -> error */
#define WDN__RES_F_WARN 0x02u     /* accepted with a warning: known, not supported by warden */
#define WDN__RES_F_NONEMPTY 0x04u /* empty string or empty list -> error */
#define WDN__RES_F_CI 0x08u       /* enum compared ignoring ASCII case */

struct wdn__res_ctx;
struct wdn__res_schema;

/** Validates one string value; returns NULL when fine, else a static reason. */
typedef const char *(*wdn__res_strcheck)(const char *s);

struct wdn__res_field {
    const char *name;
    enum wdn__res_type type;
    unsigned flags;
    size_t off;
    size_t count_off;                  /* OBJLIST only */
    const struct wdn__res_schema *sub; /* OBJ, OBJLIST, INLINE */
    const char *const *enums;          /* ENUM: NULL-terminated */
    int64_t min, max;                  /* INT */
    wdn__res_strcheck check;           /* STR, STRLIST items, MAP keys: extra validation */
    const char *note;                  /* WARN: why it is ignored */
};

struct wdn__res_schema {
    const char *what;                    /* for messages: "Component", "handler" ... */
    size_t size;                         /* sizeof the struct (OBJLIST items) */
    const struct wdn__res_field *fields; /* terminated by name == NULL */
    /* Runs after the fields were decoded (and only when the node was a mapping). */
    void (*check)(struct wdn__res_ctx *ctx, void *obj, const yaml_node_t *node);
};

/** One document being decoded. */
struct wdn__res_ctx {
    struct wdn_resources *set;
    struct wdn_arena *arena;
    yaml_document_t *doc;
    const char *file; /* owned by the set's arena */
    char path[512];   /* field path for messages, e.g. spec.metadata[0] */
    size_t path_len;
    unsigned depth;
    bool failed; /* an error was added while decoding this document */
};

/* The set's private part. */
/* A file read into the set, by device and inode (the same file under any path). */
struct wdn__res_file_id {
    dev_t dev;
    ino_t ino;
};

struct wdn__res_priv {
    struct wdn_arena arena;
    size_t cap_components, cap_configurations, cap_mcpservers, cap_runfiles, cap_msgs;
    size_t n_resources;
    struct wdn__res_file_id *files; /* every file read, so that none is read twice */
    size_t n_files, cap_files;
};

/* Messages (errors go through these so that the cap and the counters stay right). */
void wdn__res_msg(struct wdn_resources *set, bool warning, const char *file, unsigned line,
                  unsigned col, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void wdn__res_vmsg(struct wdn_resources *set, bool warning, const char *file, unsigned line,
                   unsigned col, const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
/* An error at node (1-based position), prefixed with the current field path. */
void wdn__res_err(struct wdn__res_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wdn__res_warn(struct wdn__res_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same at a stored position. */
void wdn__res_err_at(struct wdn__res_ctx *ctx, const struct wdn_res_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Decodes mapping node into obj (zeroed, schema->size bytes). */
void wdn__res_decode(struct wdn__res_ctx *ctx, const struct wdn__res_schema *schema, void *obj,
                     const yaml_node_t *node);

/* Path helpers: push returns the previous length for pop. */
size_t wdn__res_path_push(struct wdn__res_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void wdn__res_path_pop(struct wdn__res_ctx *ctx, size_t len);

/* A node's text when it is a scalar (NUL-terminated in libyaml's buffer), else NULL. */
const char *wdn__res_scalar(const yaml_node_t *node);
/* The value node of key in a mapping node, or NULL. */
const yaml_node_t *wdn__res_map_get(yaml_document_t *doc, const yaml_node_t *map, const char *key);

/* Validators shared by the kinds. */
const char *wdn__res_check_dns_subdomain(const char *s);
const char *wdn__res_check_dns_label(const char *s);
const char *wdn__res_check_app_id(const char *s);

/* The kinds (kinds.c). */
extern const struct wdn__res_schema wdn__res_component_schema;
extern const struct wdn__res_schema wdn__res_configuration_schema;
extern const struct wdn__res_schema wdn__res_mcpserver_schema;
extern const struct wdn__res_schema wdn__res_runfile_schema;

/* After decoding a run file: merge common into apps, defaults, app IDs, paths (runfile.c). */
void wdn__res_runfile_finish(struct wdn__res_ctx *ctx, struct wdn_res_runfile *rf,
                             const char *base_dir);

/* Arena helpers. */
char *wdn__res_strdup(struct wdn__res_ctx *ctx, const char *s);

#endif
