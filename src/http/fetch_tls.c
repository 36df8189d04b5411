/* The blocking client's TLS client contexts (tls.h, the engine the server and the pools use),
 * cached per trust store (the system store plus an optional CA file). Building one costs tens of
 * milliseconds (OpenSSL parses the whole CA bundle), which the MCP client would otherwise pay on
 * every call. An entry is reused while its CA file is unchanged (same inode, size and mtime) and
 * SSL_CERT_FILE and SSL_CERT_DIR keep their values, so a rotated bundle is picked up on the next
 * request. */
#include "http/fetch_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>

#include "base/diag.h"
#include "http/tls.h"

#define CACHE_SLOTS 8

struct slot {
    struct wdn_tls_ctx *ctx; /* one reference held by the cache */
    char *ca_file;           /* NULL: the system store */
    char *env;               /* "SSL_CERT_FILE\nSSL_CERT_DIR" when it was built */
    struct stat st;          /* of the CA file (or the default one) when it was built */
    bool have_st;
    unsigned long used; /* last use, for eviction */
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot cache[CACHE_SLOTS];
static unsigned long cache_clock;

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The file whose changes invalidate an entry, and for the system store the environment that
 * chose it. env receives a copy (malloc'd, may be NULL on allocation failure). */
static const char *watched_file(const char *ca_file, char **env)
{
    const char *f = getenv("SSL_CERT_FILE"), *d = getenv("SSL_CERT_DIR");
    size_t n;

    n = (f ? strlen(f) : 0) + (d ? strlen(d) : 0) + 4;
    *env = malloc(n);
    if (*env != NULL)
        snprintf(*env, n, "%s\n%s", f ? f : "", d ? d : "");
    if (ca_file != NULL)
        return ca_file;
    return f != NULL && f[0] != '\0' ? f : X509_get_default_cert_file();
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void slot_clear(struct slot *s)
{
    wdn_tls_ctx_free(s->ctx);
    free(s->ca_file);
    free(s->env);
    memset(s, 0, sizeof(*s));
}

/* A client context that verifies servers against the system store plus ca_file: a ca_file
 * adds to the system store (WARDEN_CA_FILE holds a development CA, and a shell that exported
 * it must still reach public HTTPS servers); it never replaces it. */
static struct wdn_tls_ctx *build(const char *ca_file, char *why, size_t cap)
{
    struct wdn_tls_config cfg = {
        .server = false, .ca_file = ca_file, .system_ca = true, .verify = WDN_TLS_VERIFY_REQUIRED};
    struct wdn_diag d;
    struct wdn_tls_ctx *ctx = wdn_tls_ctx_new(&cfg, &d);

    if (ctx == NULL)
        snprintf(why, cap, "%s", d.msg);
    return ctx;
}

struct wdn_tls_ctx *wdn__fetch_tls_ctx(const char *ca_file, char *why, size_t cap)
{
    char *env = NULL;
    const char *file = watched_file(ca_file, &env);
    struct stat st;
    bool have_st = file != NULL && stat(file, &st) == 0;
    struct slot *s = NULL, *victim = &cache[0];
    struct wdn_tls_ctx *ctx = NULL;
    size_t i;

    if (!have_st)
        memset(&st, 0, sizeof(st));
    pthread_mutex_lock(&cache_mu);
    for (i = 0; i < CACHE_SLOTS; i++) {
        struct slot *c = &cache[i];
        if (c->ctx != NULL && same_str(c->ca_file, ca_file)) {
            s = c;
            break;
        }
        if (c->ctx == NULL || (victim->ctx != NULL && c->used < victim->used))
            victim = c;
    }
    if (s != NULL &&
        (s->have_st != have_st || (have_st && !same_stat(&s->st, &st)) || !same_str(s->env, env))) {
        slot_clear(s); /* changed since: build afresh */
        victim = s;
        s = NULL;
    }
    if (s == NULL) {
        char *dup;
        /* Built under the lock: concurrent first uses wait instead of each paying for it. */
        ctx = build(ca_file, why, cap);
        if (ctx == NULL)
            goto out;
        dup = ca_file != NULL ? strdup(ca_file) : NULL;
        if (ca_file != NULL && dup == NULL)
            goto out; /* out of memory: the caller uses it once, uncached */
        slot_clear(victim);
        victim->ctx = ctx;
        victim->ca_file = dup;
        victim->env = env;
        env = NULL;
        victim->st = st;
        victim->have_st = have_st;
        s = victim;
    }
    s->used = ++cache_clock;
    ctx = wdn_tls_ctx_ref(s->ctx);
out:
    pthread_mutex_unlock(&cache_mu);
    free(env);
    return ctx;
}
