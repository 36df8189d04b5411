/* Where audit records go: a file with size-based rotation (FILE, FILE.1 newest ... FILE.keep),
 * standard output, or syslog (LOG_AUTHPRIV). Only the writer thread calls these. A file's chain
 * continues across rotations and restarts: at open, the hash of the last record already written
 * becomes the next record's "prev". */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "audit/internal.h"
#include "base/error.h"
#include "base/limits.h"

/* Reads the last complete line of the file at fd (size bytes) into buf (cap bytes); *partial is
 * set when the file does not end with a newline. Returns the line's length, 0 when there is no
 * complete line, or -1 on a read error. */
static long last_line(int fd, uint64_t size, char *buf, size_t cap, bool *partial)
{
    size_t want = size < cap ? (size_t)size : cap;
    off_t at = (off_t)(size - want);
    size_t got = 0;

    *partial = false;
    while (got < want) {
        ssize_t r = pread(fd, buf + got, want - got, at + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    if (got == 0)
        return 0;
    size_t end = got;
    if (buf[end - 1] != '\n') {
        *partial = true;
        /* The complete lines end before the cut one. */
        while (end > 0 && buf[end - 1] != '\n')
            end--;
        if (end == 0)
            return 0;
    }
    end--; /* the newline */
    size_t start = end;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    if (start == 0 && at > 0)
        return 0; /* longer than a record may be: not a record */
    memmove(buf, buf + start, end - start);
    return (long)(end - start);
}

/* Where the chain stands in the file at path: the hash and seq of its last record. 0 when the
 * file has one (or is missing or empty: then *found is false). */
static int chain_tail(const char *path, char *prev_hex, uint64_t *last_seq, bool *found,
                      bool *partial, struct wdn_diag *d)
{
    /* Non-blocking: opening a FIFO to read would wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    char *buf = NULL;
    long n;
    int rc = 0;

    *found = *partial = false;
    if (fd < 0)
        return errno == ENOENT
                   ? 0
                   : wdn_diag_set(d, WDN_EIO, "cannot read %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        goto out; /* a pipe or a device has no chain to continue */
    buf = malloc(WDN_AUDIT_MAX_RECORD_BYTES + 2);
    if (buf == NULL) {
        rc = wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto out;
    }
    n = last_line(fd, (uint64_t)st.st_size, buf, WDN_AUDIT_MAX_RECORD_BYTES + 2, partial);
    if (n < 0) {
        rc = wdn_diag_set(d, WDN_EIO, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (n > 0) {
        json_t *o = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
        json_t *seq = json_object_get(o, "seq");
        /* A last line that is not a record still anchors the chain: verify will name it. */
        *last_seq = json_is_integer(seq) && json_integer_value(seq) > 0
                        ? (uint64_t)json_integer_value(seq)
                        : 0;
        json_decref(o);
        rc = wdn__audit_hash((struct wdn_str){buf, (size_t)n}, prev_hex);
        *found = rc == 0;
    }
out:
    free(buf);
    close(fd);
    return rc;
}

/* Creates the folders above path that are missing (0700: audit records are private). */
static int make_parents(const char *path)
{
    char buf[WDN_MAX_PATH];
    size_t n = strlen(path);

    if (n >= sizeof(buf))
        return WDN_ELIMIT;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return wdn_error_from_errno(errno);
        buf[i] = '/';
    }
    return 0;
}

static int open_file(struct wdn__audit_sink *s)
{
    struct stat st;

    s->fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (s->fd < 0)
        return wdn_error_from_errno(errno);
    s->size = fstat(s->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

int wdn__audit_sink_open(struct wdn__audit_sink *s, const struct wdn_audit_opts *o, char *prev_hex,
                         uint64_t *last_seq, struct wdn_diag *d)
{
    bool found = false, partial = false;
    int rc;

    memcpy(prev_hex, WDN__AUDIT_GENESIS, 65);
    *last_seq = 0;
    s->fd = -1;
    s->max_bytes = o->max_bytes ? o->max_bytes : WDN_AUDIT_ROTATE_DEFAULT_BYTES;
    s->keep = o->keep ? o->keep : WDN_AUDIT_KEEP_DEFAULT;
    s->fsync = o->fsync;
    if (strcmp(o->sink, "stdout") == 0) {
        s->type = WDN__AUDIT_STDOUT;
        s->fd = STDOUT_FILENO;
        return 0;
    }
    if (strcmp(o->sink, "syslog") == 0) {
        s->type = WDN__AUDIT_SYSLOG;
        openlog("warden-audit", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
        return 0;
    }
    s->type = WDN__AUDIT_FILE;
    s->path = strdup(o->sink);
    if (s->path == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    rc = chain_tail(s->path, prev_hex, last_seq, &found, &partial, d);
    if (rc == 0 && !found) {
        char rotated[WDN_MAX_PATH];
        bool p1 = false;
        if (snprintf(rotated, sizeof(rotated), "%s.1", s->path) < (int)sizeof(rotated))
            rc = chain_tail(rotated, prev_hex, last_seq, &found, &p1, d);
    }
    if (rc)
        return rc;
    rc = make_parents(s->path);
    if (rc == 0)
        rc = open_file(s);
    if (rc)
        return wdn_diag_set(d, WDN_EIO, "cannot open the audit log %s: %s", s->path,
                            wdn_strerror(rc));
    if (partial && write(s->fd, "\n", 1) == 1)
        s->size++;
    return 0;
}

/* FILE.(k-1) -> FILE.k down to FILE -> FILE.1, then a new FILE. */
static int rotate(struct wdn__audit_sink *s)
{
    size_t n = strlen(s->path) + 16;
    char *from = malloc(n), *to = malloc(n);
    int rc = 0;

    if (from == NULL || to == NULL) {
        rc = WDN_ENOMEM;
        goto out;
    }
    fdatasync(s->fd);
    for (unsigned k = s->keep; k >= 2; k--) {
        snprintf(from, n, "%s.%u", s->path, k - 1);
        snprintf(to, n, "%s.%u", s->path, k);
        if (rename(from, to) != 0 && errno != ENOENT) {
            rc = wdn_error_from_errno(errno);
            goto out;
        }
    }
    snprintf(to, n, "%s.1", s->path);
    if (rename(s->path, to) != 0) {
        rc = wdn_error_from_errno(errno);
        goto out;
    }
    close(s->fd);
    s->fd = -1;
    rc = open_file(s);
    if (rc == 0)
        s->rotations++;
out:
    free(from);
    free(to);
    return rc;
}

/* Starts the disk write of a batch just written (no wait). Left to the kernel, a log written
 * without pause is written back in bursts, the oldest dirty pages of the file some 30 s later
 * (vm.dirty_expire_centisecs), by the kernel's flusher threads on whatever core is free, on the
 * request threads' time; started here, it is the writer's own work, done while the log is
 * written, and the file never holds more than a few batches not yet on their way to the disk.
 * Nothing depends on it: a file system without it (or a FIFO) just says no. */
static void write_behind(struct wdn__audit_sink *s, size_t len)
{
    (void)sync_file_range(s->fd, (off_t)s->size, (off_t)len, SYNC_FILE_RANGE_WRITE);
}

int wdn__audit_sink_write(struct wdn__audit_sink *s, const char *line, size_t len)
{
    size_t done = 0;

    if (s->type == WDN__AUDIT_SYSLOG) {
        while (len > 0) {
            const char *nl = memchr(line, '\n', len);
            size_t n = nl ? (size_t)(nl - line) : len;
            syslog(LOG_INFO, "%.*s", (int)n, line);
            line += n + (nl ? 1 : 0);
            len -= n + (nl ? 1 : 0);
        }
        return 0;
    }
    if (s->type == WDN__AUDIT_FILE) {
        if (s->fd < 0) {
            /* A rotation failed half way: try to get a file again. */
            int rc = open_file(s);
            if (rc)
                return rc;
        }
        if (s->size > 0 && s->size + len > s->max_bytes) {
            int rc = rotate(s);
            if (rc && s->fd < 0)
                return rc;
        }
    }
    while (done < len) {
        ssize_t w = write(s->fd, line + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int rc = wdn_error_from_errno(w < 0 ? errno : EIO);
            /* Never leave part of a record behind: it would break the chain for good. */
            if (done > 0 && s->type == WDN__AUDIT_FILE && ftruncate(s->fd, (off_t)s->size) != 0)
                rc = WDN_EIO;
            return rc ? rc : WDN_EIO;
        }
        done += (size_t)w;
    }
    if (s->type == WDN__AUDIT_FILE)
        write_behind(s, len);
    s->size += len;
    return 0;
}

size_t wdn__audit_sink_room(const struct wdn__audit_sink *s)
{
    if (s->type != WDN__AUDIT_FILE)
        return SIZE_MAX;
    return s->size >= s->max_bytes ? 0 : (size_t)(s->max_bytes - s->size);
}

void wdn__audit_sink_sync(struct wdn__audit_sink *s)
{
    if (s->fsync && s->type == WDN__AUDIT_FILE && s->fd >= 0)
        fdatasync(s->fd);
}

void wdn__audit_sink_close(struct wdn__audit_sink *s)
{
    if (s->type == WDN__AUDIT_FILE && s->fd >= 0) {
        fdatasync(s->fd);
        close(s->fd);
    } else if (s->type == WDN__AUDIT_SYSLOG) {
        closelog();
    }
    s->fd = -1;
    free(s->path);
    s->path = NULL;
}
