/* Captures stderr in a temporary file; see logcap.h. */
#include "logcap.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int saved_fd = -1, cap_fd = -1;
static char cap_path[] = "/tmp/wdn-logcap-XXXXXX";
static char path_buf[sizeof(cap_path)];
static off_t mark;

int logcap_begin(void)
{
    memcpy(path_buf, cap_path, sizeof(cap_path));
    cap_fd = mkstemp(path_buf);
    if (cap_fd < 0)
        return -1;
    fflush(stderr);
    saved_fd = dup(2);
    if (saved_fd < 0 || dup2(cap_fd, 2) < 0)
        return -1;
    mark = 0;
    return 0;
}

/* The captured text after the mark, NUL-terminated (caller frees), or NULL. */
static char *read_capture(void)
{
    struct stat st;
    char *buf;
    ssize_t n;

    if (cap_fd < 0 || fstat(cap_fd, &st) != 0 || st.st_size < mark)
        return NULL;
    buf = malloc((size_t)(st.st_size - mark) + 1);
    if (buf == NULL)
        return NULL;
    n = pread(cap_fd, buf, (size_t)(st.st_size - mark), mark);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

bool logcap_wait(const char *needle, int timeout_ms)
{
    for (int waited = 0;; waited += 10) {
        char *text = read_capture();
        bool found = text != NULL && strstr(text, needle) != NULL;
        free(text);
        if (found)
            return true;
        if (waited >= timeout_ms)
            return false;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
}

int logcap_count(const char *needle)
{
    char *text = read_capture();
    int n = 0;

    for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(text);
    return n;
}

void logcap_mark(void)
{
    struct stat st;
    if (cap_fd >= 0 && fstat(cap_fd, &st) == 0)
        mark = st.st_size;
}

void logcap_end(bool dump)
{
    if (cap_fd < 0)
        return;
    mark = 0;
    if (dump) {
        char *text = read_capture();
        printf("---- captured log ----\n%s---- end of log ----\n", text ? text : "");
        free(text);
    }
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    close(cap_fd);
    unlink(path_buf);
    saved_fd = cap_fd = -1;
}
