/* The project CA: keys and certificates for sidecar mTLS (SPIFFE IDs) and HTTPS listeners.
 *
 * Every project has one CA (EC P-256, self-signed, 10 years) kept in the project's folder as
 * ca.crt (0644) and ca.key (0600). It issues short-lived workload certificates (X.509-SVIDs)
 * whose only URI SAN is spiffe://<trust-domain>/ns/<namespace>/<app-id>, and server
 * certificates for HTTPS listeners such as `warden issuer`. Files are written atomically
 * (temporary file, fsync, rename) so a sidecar that watches the folder never reads half a key.
 *
 * Objects are plain structs holding OpenSSL objects; each function documents who owns what.
 * Errors fill a struct wdn_diag saying what to fix.
 */
#ifndef WDN_PKI_PKI_H
#define WDN_PKI_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/diag.h"
#include "base/str.h"

#define WDN_PKI_DEFAULT_TRUST_DOMAIN "public"
#define WDN_PKI_DEFAULT_NAMESPACE "default"
#define WDN_PKI_CA_VALIDITY_SECS (10LL * 365 * 24 * 3600)
#define WDN_PKI_WORKLOAD_VALIDITY_SECS (24LL * 3600)
#define WDN_PKI_SERVER_VALIDITY_SECS (90LL * 24 * 3600)
#define WDN_PKI_BACKDATE_SECS 300 /* notBefore lies this far in the past (clock skew) */
#define WDN_PKI_CA_CERT_FILE "ca.crt"
#define WDN_PKI_CA_KEY_FILE "ca.key"

/** A certificate with its private key. Owns one reference to each (freed by
 * wdn_pki_cert_free). Used for the CA, workload and server certificates alike. */
struct wdn_pki_cert {
    X509 *cert;
    EVP_PKEY *key;
};

/** Frees both objects and the struct. NULL is ok. */
void wdn_pki_cert_free(struct wdn_pki_cert *c);

/**
 * Creates a new project CA for project (borrowed; [A-Za-z0-9._-], 1..46 bytes) with subject
 * "CN=warden project CA <project>, O=warden". Returns an owned CA, or NULL and fills d.
 */
struct wdn_pki_cert *wdn_pki_ca_create(const char *project, struct wdn_diag *d);
/**
 * Writes ca.crt (0644) and ca.key (0600) into dir (created 0700 when missing), each
 * atomically. ca is borrowed. 0, or a WDN_E* code with d filled.
 */
int wdn_pki_ca_save(const struct wdn_pki_cert *ca, const char *dir, struct wdn_diag *d);
/**
 * Loads ca.crt and ca.key from dir and checks that they match and that the certificate is a
 * CA. Returns an owned CA, or NULL and fills d.
 */
struct wdn_pki_cert *wdn_pki_ca_load(const char *dir, struct wdn_diag *d);

/** What a workload certificate is for. Unset fields take the documented defaults. */
struct wdn_pki_workload_opts {
    const char *app_id;         /* required: SPIFFE path segment characters [A-Za-z0-9._-] */
    const char *trust_domain;   /* NULL: "public"; [a-z0-9._-] */
    const char *ns;             /* NULL: "default" */
    int64_t validity_secs;      /* 0: 24 hours */
};

/**
 * Issues a workload certificate (X.509-SVID) signed by ca (borrowed): a fresh EC P-256 key,
 * URI SAN spiffe://<td>/ns/<ns>/<app-id>, DNS SANs <app-id> (when it is a valid DNS label)
 * and localhost, IP SAN 127.0.0.1, extendedKeyUsage serverAuth+clientAuth, a random 128-bit
 * serial, valid from 5 minutes ago for validity_secs (never past the CA's own expiry).
 * Returns an owned certificate, or NULL and fills d.
 */
struct wdn_pki_cert *wdn_pki_issue_workload(const struct wdn_pki_cert *ca,
                                            const struct wdn_pki_workload_opts *opts,
                                            struct wdn_diag *d);

/** What a server certificate is for. Arrays are borrowed; all may be empty. */
struct wdn_pki_server_opts {
    const char *const *dns; /* extra DNS names besides "localhost" */
    size_t ndns;
    const char *const *ips; /* extra IP addresses (v4 or v6 text) besides 127.0.0.1 */
    size_t nips;
    int64_t validity_secs;  /* 0: 90 days */
};

/**
 * Issues a server certificate for an HTTPS listener signed by ca (borrowed): fresh EC P-256
 * key, DNS localhost + dns[], IP 127.0.0.1 + ips[], extendedKeyUsage serverAuth. opts may be
 * NULL. Returns an owned certificate, or NULL and fills d.
 */
struct wdn_pki_cert *wdn_pki_issue_server(const struct wdn_pki_cert *ca,
                                          const struct wdn_pki_server_opts *opts,
                                          struct wdn_diag *d);

/**
 * Writes c's certificate to cert_path (0644) and its key to key_path (0600), each atomically.
 * c and the paths are borrowed. 0 or a WDN_E* code with d filled.
 */
int wdn_pki_cert_save(const struct wdn_pki_cert *c, const char *cert_path, const char *key_path,
                      struct wdn_diag *d);
/**
 * Reads a PEM certificate and its PEM private key and checks that they match. Returns an
 * owned certificate, or NULL and fills d.
 */
struct wdn_pki_cert *wdn_pki_cert_load(const char *cert_path, const char *key_path,
                                       struct wdn_diag *d);

/** The parts of spiffe://<trust_domain>/ns/<ns>/<app_id>; slices borrow the parsed input. */
struct wdn_pki_spiffe_id {
    struct wdn_str trust_domain;
    struct wdn_str ns;
    struct wdn_str app_id;
};

/**
 * Parses and validates a SPIFFE ID of the form spiffe://<td>/ns/<ns>/<app-id> under the SPIFFE
 * ID rules: lowercase scheme, trust domain of [a-z0-9._-] (no port, no userinfo, at most 255
 * bytes), path segments of [A-Za-z0-9._-] that are neither empty nor "." or "..", no query,
 * fragment or percent-encoding, at most 2048 bytes. Anything else is WDN_EPARSE with d saying
 * which rule failed. out borrows id.
 */
int wdn_pki_spiffe_parse(struct wdn_str id, struct wdn_pki_spiffe_id *out, struct wdn_diag *d);
/**
 * Formats spiffe://<td>/ns/<ns>/<app_id> into buf (cap bytes, NUL-terminated) after checking
 * each part. td and ns may be NULL for the defaults. 0, WDN_EINVAL (a bad part, d says which)
 * or WDN_ELIMIT.
 */
int wdn_pki_spiffe_format(char *buf, size_t cap, const char *td, const char *ns,
                          const char *app_id, struct wdn_diag *d);

#endif
