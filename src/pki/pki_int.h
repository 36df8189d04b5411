/* Internal interfaces shared by the files of src/pki (not for other modules). */
#ifndef WDN_PKI_PKI_INT_H
#define WDN_PKI_PKI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/diag.h"
#include "base/str.h"
#include "pki/pki.h"

/** Checks a trust domain against the SPIFFE character rules. 0 or WDN_EPARSE with d. */
int wdn__pki_check_trust_domain(struct wdn_str td, struct wdn_diag *d);
/** Checks one SPIFFE path segment; what names it in the message. 0 or WDN_EPARSE with d. */
int wdn__pki_check_segment(struct wdn_str seg, const char *what, struct wdn_diag *d);
/**
 * Writes n bytes to path atomically with exactly mode: a temporary file beside it (created
 * with mode, fchmod'ed past the umask), fsync, rename, fsync of the folder. 0 or WDN_EIO/
 * WDN_EPERM with d.
 */
int wdn__pki_write_atomic(const char *path, const void *data, size_t n, mode_t mode,
                          struct wdn_diag *d);

#endif
