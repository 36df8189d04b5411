/* This sidecar's workload identity: its SPIFFE ID in an X.509 certificate and the mTLS
 * contexts built on it. Two sources: the project CA (created on first use, in the project or
 * --ca-dir), which issues a short-lived certificate renewed every rotate_ms; or a set provisioned
 * from outside in --cert-dir (the Kubernetes TLS Secret layout: tls.crt, tls.key, ca.crt, as
 * cert-manager or its csi-driver-spiffe write it), where the sidecar holds no CA key and issues
 * nothing: it checks that the certificate is its own (the SPIFFE ID), chains to the trust
 * bundle and is valid now, and reloads the set when the files change, keeping the current one
 * when a new set fails a check. New contexts are installed by listen.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/error.h"
#include "base/fault.h"
#include "base/file.h"
#include "base/log.h"
#include "base/str.h"
#include "http/tls.h"
#include "pki/pki.h"
#include "project/project.h"
#include "sidecar/internal.h"

/* ---- Issued by the project CA ----------------------------------------------------------- */

/* The CA folder and an exclusive lock around "load, or create and save" so that two sidecars
 * starting together end up with one CA. Project mode: <project>/ca under the project lock.
 * Files mode: --ca-dir, else $WARDEN_HOME/ca, locked with <dir>/.lock. */
static int load_or_create_ca(struct wdn_sidecar *sc, const char *ca_dir, struct wdn_pki_cert **out,
                             struct wdn_diag *d)
{
    char dir[WDN_MAX_PATH], crt[WDN_MAX_PATH + 16], lockp[WDN_MAX_PATH + 16];
    int lockfd = -1, rc;

    *out = NULL;
    if (sc->project) {
        rc = wdn_project_path(dir, sizeof(dir), sc->project, "ca");
        if (rc == 0)
            rc = wdn_project_lock(sc->project, &lockfd);
        if (rc)
            return wdn_diag_set(d, rc, "cannot lock project %s: %s", sc->project, wdn_strerror(rc));
    } else {
        if (ca_dir)
            rc = wdn_fmt(dir, sizeof(dir), "%s", ca_dir);
        else if ((rc = wdn_project_home(dir, sizeof(dir) - 4)) == 0)
            memcpy(dir + strlen(dir), "/ca", 4); /* room kept: sizeof(dir) - 4 */
        if (rc == 0)
            rc = wdn_file_mkdirs(dir, 0700);
        if (rc == 0)
            rc = wdn_fmt(lockp, sizeof(lockp), "%s/.lock", dir);
        if (rc)
            return wdn_diag_set(d, rc, "cannot create the CA folder %s", dir);
        lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lockfd < 0 || flock(lockfd, LOCK_EX) != 0) {
            if (lockfd >= 0)
                close(lockfd);
            return wdn_diag_set(d, WDN_EIO, "cannot lock %s: %s", lockp, strerror(errno));
        }
    }
    wdn_fmt(crt, sizeof(crt), "%s/" WDN_PKI_CA_CERT_FILE, dir);
    if (access(crt, F_OK) == 0) {
        *out = wdn_pki_ca_load(dir, d);
    } else {
        *out = wdn_pki_ca_create(sc->project ? sc->project : "local", d);
        if (*out && wdn_pki_ca_save(*out, dir, d) != 0) {
            wdn_pki_cert_free(*out);
            *out = NULL;
        }
        if (*out)
            wdn_log_info("created the CA in %s", dir);
    }
    if (sc->project)
        wdn_project_unlock(lockfd);
    else
        close(lockfd);
    return *out ? 0 : (d && d->code ? d->code : WDN_ECONFIG);
}

/* A fresh workload certificate from the CA (read from disk each time, so the CA key is not
 * kept in memory) and the server and client contexts built on it. */
static int make_tls(struct wdn_sidecar *sc, struct wdn_tls_ctx **srv, struct wdn_tls_ctx **cli,
                    struct wdn_diag *d)
{
    struct wdn_pki_cert *ca = NULL, *wl = NULL;
    struct wdn_pki_workload_opts wo = {
        .app_id = sc->app_id, .trust_domain = sc->trust_domain, .ns = sc->ns};
    int rc;

    *srv = *cli = NULL;
    rc = load_or_create_ca(sc, sc->ca_dir, &ca, d);
    if (rc)
        goto out;
    wl = wdn_pki_issue_workload(ca, &wo, d);
    if (wl == NULL) {
        rc = WDN_ECONFIG;
        goto out;
    }
    struct wdn_tls_config sconf = {.server = true,
                                   .cert = wl->cert,
                                   .key = wl->key,
                                   .ca = ca->cert,
                                   .verify = WDN_TLS_VERIFY_REQUIRED};
    struct wdn_tls_config cconf = {.server = false,
                                   .cert = wl->cert,
                                   .key = wl->key,
                                   .ca = ca->cert,
                                   .verify = WDN_TLS_VERIFY_REQUIRED};
    *srv = wdn_tls_ctx_new(&sconf, d);
    *cli = *srv ? wdn_tls_ctx_new(&cconf, d) : NULL;
    rc = *cli ? 0 : WDN_ETLS;
    if (rc) {
        wdn_tls_ctx_free(*srv);
        *srv = NULL;
    }
out:
    wdn_pki_cert_free(wl);
    wdn_pki_cert_free(ca);
    return rc;
}

/* Rotates the issued workload certificate (--ca-dir and project mode). On failure the current
 * certificate stays (and is retried at the next tick). */
static void on_rotate(uv_timer_t *t)
{
    struct wdn_sidecar *sc = t->data;
    struct wdn_tls_ctx *srv_ctx = NULL, *cli_ctx = NULL;
    struct wdn_diag d;
    char buf[1024];

    if (make_tls(sc, &srv_ctx, &cli_ctx, &d) != 0) {
        wdn_log_error("certificate rotation failed: %s", wdn_diag_format(&d, buf, sizeof(buf)));
        return;
    }
    wdn__sc_tls_install(sc, srv_ctx, cli_ctx, "certificate rotation");
}

/* ---- Provisioned in --cert-dir --------------------------------------------------------- */

/* The files as read, so the checks, the digest and the contexts all see the same bytes. */
struct cert_files {
    struct wdn_buf crt, key, ca;
};

static int read_file(const char *dir, const char *name, struct wdn_buf *out, struct wdn_diag *d)
{
    char path[WDN_MAX_PATH + 16];
    int rc;

    if (wdn_fmt(path, sizeof(path), "%s/%s", dir, name) != 0)
        /* The reason first: a path this long fills the message. */
        return wdn_diag_set(d, WDN_ELIMIT, "--cert-dir: path longer than %u bytes: %s/%s",
                            (unsigned)WDN_MAX_PATH, dir, name);
    rc = wdn_file_read(path, WDN_SIDECAR_MAX_CERT_FILE_BYTES, out);
    if (rc == WDN_ELIMIT)
        return wdn_diag_set(d, rc, "--cert-dir: %s is larger than %u bytes", path,
                            WDN_SIDECAR_MAX_CERT_FILE_BYTES);
    if (rc)
        return wdn_diag_set(d, WDN_EIO, "--cert-dir: cannot read %s: %s", path, wdn_strerror(rc));
    return 0;
}

/* OpenSSL would prompt on the terminal for an encrypted key: refuse instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

static BIO *bio_of(const struct wdn_buf *b)
{
    struct wdn_str s = wdn_buf_str(b);
    return WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, BIO_new_mem_buf(s.p, (int)s.len));
}

/* Every PEM certificate in b, in order. At least one, at most max; else NULL. */
static STACK_OF(X509) * read_certs(const struct wdn_buf *b, size_t max)
{
    STACK_OF(X509) *sk = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, sk_X509_new_null());
    BIO *bio = bio_of(b);
    X509 *x;

    if (sk == NULL || bio == NULL)
        goto fail;
    while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        if ((size_t)sk_X509_num(sk) >= max || sk_X509_push(sk, x) <= 0) {
            X509_free(x);
            goto fail;
        }
    }
    ERR_clear_error(); /* the end of the input reads as an error */
    if (sk_X509_num(sk) == 0)
        goto fail;
    BIO_free(bio);
    return sk;
fail:
    ERR_clear_error();
    BIO_free(bio);
    sk_X509_pop_free(sk, X509_free);
    return NULL;
}

/* The SHA-256 of the three files (what a reload compares); 0, or -1 when OpenSSL failed. */
static int digest_of(const struct cert_files *f, unsigned char out[32])
{
    EVP_MD_CTX *c = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, EVP_MD_CTX_new());
    const struct wdn_buf *parts[3] = {&f->crt, &f->key, &f->ca};
    unsigned len = 32;
    int rc = -1;

    if (c == NULL ||
        WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_DigestInit_ex(c, EVP_sha256(), NULL)) != 1)
        goto out;
    for (int i = 0; i < 3; i++) {
        struct wdn_str s = wdn_buf_str(parts[i]);
        uint64_t n = s.len;
        /* Lengths first, so bytes cannot move from one file to the next unnoticed. */
        if (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_DigestUpdate(c, &n, sizeof(n))) != 1 ||
            EVP_DigestUpdate(c, s.p, s.len) != 1)
            goto out;
    }
    if (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_DigestFinal_ex(c, out, &len)) == 1)
        rc = 0;
out:
    EVP_MD_CTX_free(c);
    return rc;
}

static void serial_hex(X509 *x, char *buf, size_t cap)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;

    wdn_fmt(buf, cap, "%s", hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
}

/* The checks a certificate set must pass, on parsed objects. */
static int check_set(struct wdn_sidecar *sc, X509 *leaf, STACK_OF(X509) * chain, EVP_PKEY *key,
                     X509_STORE *store, struct wdn_diag *d)
{
    X509_STORE_CTX *vc = NULL;
    char id[WDN_SPIFFE_MAX_ID_BYTES + 1];
    size_t idlen = 0;
    int rc = WDN_ECONFIG;

    if (X509_check_private_key(leaf, key) != 1) {
        wdn_diag_set(d, rc, "--cert-dir: tls.key does not match the certificate in tls.crt");
        goto out;
    }
    if (wdn_tls_x509_spiffe_id(leaf, id, sizeof(id), &idlen) != 0) {
        wdn_diag_set(d, rc,
                     "--cert-dir: tls.crt names no SPIFFE ID (it needs exactly one URI SAN "
                     "spiffe://... and must not be a CA); expected %s",
                     sc->spiffe_id);
        goto out;
    }
    if (!wdn_ct_equal(id, idlen, sc->spiffe_id, strlen(sc->spiffe_id))) {
        wdn_diag_set(d, rc,
                     "--cert-dir: tls.crt names %s, but this sidecar is %s (from --app-id, "
                     "--namespace and --trust-domain)",
                     id, sc->spiffe_id);
        goto out;
    }
    if (X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0) != 1 ||
        X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) != 1) {
        wdn_diag_set(d, rc,
                     "--cert-dir: tls.crt cannot serve as both TLS server and client certificate "
                     "(its extendedKeyUsage needs serverAuth and clientAuth)");
        goto out;
    }
    vc = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, X509_STORE_CTX_new());
    if (vc == NULL ||
        WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, X509_STORE_CTX_init(vc, store, leaf, chain)) != 1) {
        rc = wdn_diag_set(d, WDN_ENOMEM, "--cert-dir: out of memory");
        goto out;
    }
    if (X509_verify_cert(vc) != 1) {
        int err = X509_STORE_CTX_get_error(vc);
        wdn_diag_set(d, rc, "--cert-dir: tls.crt does not verify against ca.crt: %s",
                     X509_verify_cert_error_string(err));
        goto out;
    }
    rc = 0;
out:
    X509_STORE_CTX_free(vc);
    ERR_clear_error();
    return rc;
}

/* Loads the set; 1 (nothing built) when its digest equals unchanged (may be NULL). */
static int load_set(struct wdn_sidecar *sc, const unsigned char *unchanged,
                    struct wdn_tls_ctx **srv, struct wdn_tls_ctx **cli, unsigned char digest[32],
                    int64_t *not_after, struct wdn_diag *d)
{
    struct cert_files f;
    STACK_OF(X509) *crts = NULL, *cas = NULL, *chain = NULL;
    X509_STORE *store = NULL;
    EVP_PKEY *key = NULL;
    BIO *kb = NULL;
    X509 *leaf;
    int rc;

    *srv = *cli = NULL;
    memset(digest, 0, 32);
    wdn_buf_init(&f.crt, WDN_SIDECAR_MAX_CERT_FILE_BYTES);
    wdn_buf_init(&f.key, WDN_SIDECAR_MAX_CERT_FILE_BYTES);
    wdn_buf_init(&f.ca, WDN_SIDECAR_MAX_CERT_FILE_BYTES);
    rc = read_file(sc->cert_dir, "tls.crt", &f.crt, d);
    if (rc == 0)
        rc = read_file(sc->cert_dir, "tls.key", &f.key, d);
    if (rc == 0)
        rc = read_file(sc->cert_dir, "ca.crt", &f.ca, d);
    if (rc)
        goto out;
    if (digest_of(&f, digest) != 0) {
        rc = wdn_diag_set(d, WDN_ENOMEM, "--cert-dir: out of memory");
        goto out;
    }
    if (unchanged != NULL && memcmp(digest, unchanged, 32) == 0) {
        rc = 1;
        goto out;
    }
    rc = WDN_ECONFIG;
    crts = read_certs(&f.crt, 1 + WDN_SIDECAR_MAX_CERT_CHAIN);
    if (crts == NULL) {
        wdn_diag_set(d, rc,
                     "--cert-dir: tls.crt holds no PEM certificate (or more than %d after the "
                     "leaf)",
                     WDN_SIDECAR_MAX_CERT_CHAIN);
        goto out;
    }
    cas = read_certs(&f.ca, WDN_SIDECAR_MAX_TRUST_CERTS);
    if (cas == NULL) {
        wdn_diag_set(d, rc, "--cert-dir: ca.crt holds no PEM certificate (or more than %d)",
                     WDN_SIDECAR_MAX_TRUST_CERTS);
        goto out;
    }
    kb = bio_of(&f.key);
    key = kb ? PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, NULL) : NULL;
    ERR_clear_error();
    if (key == NULL) {
        wdn_diag_set(d, rc, "--cert-dir: tls.key holds no unencrypted PEM private key");
        goto out;
    }
    leaf = sk_X509_value(crts, 0);
    chain = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, sk_X509_new_null());
    store = WDN_FAULT_OR(WDN_FAULT_CRYPTO, NULL, X509_STORE_new());
    if (chain == NULL || store == NULL) {
        rc = wdn_diag_set(d, WDN_ENOMEM, "--cert-dir: out of memory");
        goto out;
    }
    for (int i = 1; i < sk_X509_num(crts); i++)
        if (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, sk_X509_push(chain, sk_X509_value(crts, i))) <= 0) {
            rc = wdn_diag_set(d, WDN_ENOMEM, "--cert-dir: out of memory");
            goto out;
        }
    for (int i = 0; i < sk_X509_num(cas); i++)
        if (X509_STORE_add_cert(store, sk_X509_value(cas, i)) != 1) {
            ERR_clear_error(); /* a duplicate in the bundle is harmless */
        }
    rc = check_set(sc, leaf, chain, key, store, d);
    if (rc)
        goto out;

    /* The contexts trust the first bundle certificate through the config and the others
     * through the context's store, so nothing is read from disk again. */
    for (int side = 0; side < 2 && rc == 0; side++) {
        struct wdn_tls_config c = {.server = side == 0,
                                   .cert = leaf,
                                   .chain = sk_X509_num(chain) > 0 ? chain : NULL,
                                   .key = key,
                                   .ca = sk_X509_value(cas, 0),
                                   .verify = WDN_TLS_VERIFY_REQUIRED};
        struct wdn_tls_ctx *ctx = wdn_tls_ctx_new(&c, d);
        if (ctx == NULL) {
            rc = WDN_ETLS;
            break;
        }
        X509_STORE *cs = SSL_CTX_get_cert_store(wdn_tls_ctx_ssl_ctx(ctx));
        for (int i = 1; i < sk_X509_num(cas); i++)
            if (X509_STORE_add_cert(cs, sk_X509_value(cas, i)) != 1)
                ERR_clear_error();
        *(side == 0 ? srv : cli) = ctx;
    }
    if (rc) {
        wdn_tls_ctx_free(*srv);
        wdn_tls_ctx_free(*cli);
        *srv = *cli = NULL;
    } else {
        char serial[80];
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        *not_after = ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) == 1 ? (int64_t)timegm(&tm) : 0;
        serial_hex(leaf, serial, sizeof(serial));
        wdn_log_info("workload certificate loaded from %s spiffe_id=%s serial=%s chain=%d "
                     "trusted=%d",
                     sc->cert_dir, sc->spiffe_id, serial, sk_X509_num(chain), sk_X509_num(cas));
    }
out:
    ERR_clear_error();
    BIO_free(kb);
    EVP_PKEY_free(key);
    X509_STORE_free(store);
    sk_X509_free(chain); /* borrowed from crts */
    sk_X509_pop_free(crts, X509_free);
    sk_X509_pop_free(cas, X509_free);
    wdn_buf_reset(&f.crt);
    wdn_buf_reset(&f.key);
    wdn_buf_reset(&f.ca);
    return rc;
}

/* ---- Watching --cert-dir
 * ----------------------------------------------------------------------------- */

/* Reads the folder again; installs the set when it differs from the current one and passes
 * every check. A set refused once is not reported again until it changes. */
static void reload(struct wdn_sidecar *sc)
{
    struct wdn_tls_ctx *srv = NULL, *cli = NULL;
    unsigned char digest[32];
    struct wdn_diag d;
    int64_t not_after = 0;
    char buf[1024];
    int rc;

    wdn_diag_clear(&d);
    rc = load_set(sc, sc->cert_digest, &srv, &cli, digest, &not_after, &d);
    if (rc == 1)
        return; /* the same bytes (a touch, or an event for another file) */
    if (rc) {
        /* A half-written set (the files are replaced one by one) is refused here too; the
         * event of the last file brings the complete set. */
        if (rc != WDN_EIO && memcmp(digest, sc->cert_bad_digest, 32) != 0) {
            memcpy(sc->cert_bad_digest, digest, 32);
            wdn_log_error("certificate reload refused (the current certificate stays): %s",
                          wdn_diag_format(&d, buf, sizeof(buf)));
        } else if (rc == WDN_EIO) {
            wdn_log_warn("certificate reload postponed: %s", wdn_diag_format(&d, buf, sizeof(buf)));
        }
        return;
    }
    if (wdn__sc_tls_install(sc, srv, cli, "certificate reload from --cert-dir") == 0) {
        memcpy(sc->cert_digest, digest, 32);
        sc->cert_not_after = not_after;
        sc->cert_expiry_warned = 0;
    }
}

/* Nobody renewed the certificate: say so before peers start refusing it, and when they do. */
static void check_expiry(struct wdn_sidecar *sc)
{
    int64_t now = (int64_t)time(NULL), left = sc->cert_not_after - now;

    if (sc->cert_not_after == 0)
        return;
    if (left <= 0 && sc->cert_expiry_warned < 2) {
        sc->cert_expiry_warned = 2;
        wdn_log_error("the workload certificate in %s has expired: peers refuse it until the "
                      "files are renewed",
                      sc->cert_dir);
    } else if (left > 0 && left < WDN_SIDECAR_CERT_EXPIRY_WARN_SECS && sc->cert_expiry_warned < 1) {
        sc->cert_expiry_warned = 1;
        wdn_log_warn("the workload certificate in %s expires in %lld s and has not been renewed",
                     sc->cert_dir, (long long)left);
    }
}

static void on_cert_debounce(uv_timer_t *t)
{
    reload(t->data);
}

static void on_cert_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct wdn_sidecar *sc = h->data;

    (void)filename;
    (void)events;
    (void)status;
    /* Kubernetes replaces a mounted Secret by swapping a symlink; editors and cp write in
     * several steps: wait for quiet before reading. */
    uv_timer_start(&sc->cert_debounce, on_cert_debounce, WDN_SIDECAR_RELOAD_DEBOUNCE_MS * 2, 0);
}

static void on_cert_poll(uv_timer_t *t)
{
    reload(t->data);
    check_expiry(t->data);
}

static void certs_watch_start(struct wdn_sidecar *sc)
{
    int rc;

    uv_timer_init(&sc->loop, &sc->cert_debounce);
    uv_timer_init(&sc->loop, &sc->cert_poll);
    uv_fs_event_init(&sc->loop, &sc->cert_event);
    sc->cert_debounce.data = sc->cert_poll.data = sc->cert_event.data = sc;
    rc = uv_fs_event_start(&sc->cert_event, on_cert_event, sc->cert_dir, 0);
    if (rc)
        wdn_log_warn("cannot watch %s (%s): it is re-read every %d s", sc->cert_dir,
                     uv_strerror(rc), WDN_SIDECAR_CERT_POLL_MS / 1000);
    /* inotify misses a folder that is itself replaced (a remount): poll as well. */
    uv_timer_start(&sc->cert_poll, on_cert_poll, WDN_SIDECAR_CERT_POLL_MS,
                   WDN_SIDECAR_CERT_POLL_MS);
}

/* ---- Start and stop ----------------------------------------------------------------------- */

int wdn__sc_identity_load(struct wdn_sidecar *sc, struct wdn_diag *d)
{
    if (sc->cert_dir)
        return load_set(sc, NULL, &sc->tls_server, &sc->tls_client, sc->cert_digest,
                        &sc->cert_not_after, d);
    return make_tls(sc, &sc->tls_server, &sc->tls_client, d);
}

void wdn__sc_identity_start(struct wdn_sidecar *sc)
{
    if (sc->identity_running)
        return;
    sc->identity_running = true;
    if (sc->cert_dir) {
        certs_watch_start(sc);
        return;
    }
    uv_timer_init(&sc->loop, &sc->rotate);
    sc->rotate.data = sc;
    uv_timer_start(&sc->rotate, on_rotate, sc->rotate_ms, sc->rotate_ms);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

void wdn__sc_identity_stop(struct wdn_sidecar *sc)
{
    if (!sc->identity_running)
        return;
    sc->identity_running = false;
    if (sc->cert_dir) {
        uv_close((uv_handle_t *)&sc->cert_event, on_closed);
        uv_close((uv_handle_t *)&sc->cert_debounce, on_closed);
        uv_close((uv_handle_t *)&sc->cert_poll, on_closed);
    } else {
        uv_close((uv_handle_t *)&sc->rotate, on_closed);
    }
}
