/* Whole files: read with a limit (regular files only), replaced atomically (temporary file,
 * fsync, rename, fsync of the folder), folders made with their parents. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/limits.h"
#include "base/str.h"

int wdn_file_read(const char *path, size_t max, struct wdn_buf *out)
{
    char chunk[8192];
    struct stat st;
    int fd, rc = 0;

    wdn_buf_init(out, max);
    /* O_NONBLOCK: opening a FIFO to read would otherwise wait for a writer. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? WDN_ENOTFOUND : wdn_error_from_errno(errno);
    if (fstat(fd, &st) != 0) {
        rc = wdn_error_from_errno(errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = WDN_EINVAL;
        goto out;
    }
    if ((unsigned long long)st.st_size > (unsigned long long)max) {
        rc = WDN_ELIMIT;
        goto out;
    }
    /* One allocation of the right size: no smaller copy of the bytes (a key) is left behind in
     * freed memory by a growing buffer. */
    rc = wdn_buf_reserve(out, (size_t)st.st_size);
    if (rc)
        goto out;
    /* The size can change under us: read to the end, never past max. */
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = wdn_error_from_errno(errno);
            break;
        }
        if (n == 0)
            break;
        rc = wdn_buf_append(out, chunk, (size_t)n);
        if (rc)
            break;
    }
    if (rc == 0 && wdn_buf_cstr(out) == NULL)
        rc = WDN_ENOMEM;
out:
    close(fd);
    if (rc)
        wdn_buf_reset(out);
    return rc;
}

int wdn_file_mkdirs(const char *path, int mode)
{
    char tmp[WDN_MAX_PATH];

    if (wdn_fmt(tmp, sizeof(tmp), "%s", path))
        return WDN_ELIMIT;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
            return wdn_error_from_errno(errno);
        *p = '/';
    }
    if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST)
        return wdn_error_from_errno(errno);
    return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? wdn_error_from_errno(errno) : WDN_EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int wdn_file_write_atomic(const char *path, const void *data, size_t len, int mode)
{
    char tmp[WDN_MAX_PATH + 16], dir[WDN_MAX_PATH];
    char *slash;
    int fd = -1, dfd, rc;

    if (wdn_fmt(dir, sizeof(dir), "%s", path) || wdn_fmt(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path))
        return WDN_ELIMIT;
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        memcpy(dir, ".", 2);
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
        rc = wdn_file_mkdirs(dir, 0700);
        if (rc)
            return rc;
    }
    /* mkstemp: a name nobody else uses (two writers of one path never share a temporary
     * file), created 0600 so nobody may read it before its mode is set. */
    fd = mkstemp(tmp);
    if (fd < 0)
        return wdn_error_from_errno(errno);
    rc = write_all(fd, data, len);
    if (rc == 0 && (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0))
        rc = wdn_error_from_errno(errno);
    if (close(fd) != 0 && rc == 0)
        rc = wdn_error_from_errno(errno);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = wdn_error_from_errno(errno);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    /* The rename is durable once the folder itself is synced. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}
