/* Whole files, the one way warden reads and writes them: read with a limit, replaced
 * atomically. */
#ifndef WDN_BASE_FILE_H
#define WDN_BASE_FILE_H

#include <stddef.h>

#include "base/buf.h"

/**
 * Reads the whole regular file at path into out, which the call initialises with the maximum
 * max (the contents are NUL-terminated: wdn_buf_cstr and out->data work at once). A directory,
 * FIFO or device is refused (it could block or never end). Returns 0, WDN_ENOTFOUND (no such
 * file), WDN_EPERM, WDN_EINVAL (not a regular file), WDN_ELIMIT (larger than max), WDN_EIO,
 * WDN_ENOMEM; on error out is empty.
 */
int wdn_file_read(const char *path, size_t max, struct wdn_buf *out);

/**
 * Replaces the file at path with len bytes of data, atomically: written to a new file beside
 * it (created 0600, set to mode just before it takes the name, whatever the umask), fsync'ed,
 * renamed over path, then the folder is fsync'ed, so a reader sees the old or the new
 * content, never a mix, and a crash keeps one of them. Missing parent folders are created
 * (0700). Returns 0 or the WDN_E* nearest the system error (WDN_ELIMIT for a path too long).
 */
int wdn_file_write_atomic(const char *path, const void *data, size_t len, int mode);

/** Creates the folder path and its missing parents with mode. 0 or a WDN_E* code. */
int wdn_file_mkdirs(const char *path, int mode);

#endif
