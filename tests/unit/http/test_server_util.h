/* Helpers shared by the server, client and proxy tests: raw-socket exchanges with timeouts and
 * small response checks. Header-only (static) because each test_*.c is its own program. */
#ifndef WDN_TEST_SERVER_UTIL_H
#define WDN_TEST_SERVER_UTIL_H

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../support/testnet.h"

#define TU_UNUSED __attribute__((unused))

TU_UNUSED static void tu_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

TU_UNUSED static long tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Occurrences of needle in hay. */
TU_UNUSED static int tu_count(const char *hay, const char *needle)
{
    int n = 0;
    size_t nl = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + nl, needle))
        n++;
    return n;
}

/*
 * Reads until buf holds count occurrences of needle, the peer closes or timeout_ms passes.
 * Returns bytes read (buf NUL-terminated); *closed = 1 when the peer closed.
 */
TU_UNUSED static size_t tu_recv_until(int fd, char *buf, size_t cap, const char *needle, int count,
                                      int timeout_ms, int *closed)
{
    size_t got = 0;
    long deadline = tu_now_ms() + timeout_ms;

    *closed = 0;
    buf[0] = '\0';
    while (got + 1 < cap) {
        struct pollfd pfd = {fd, POLLIN, 0};
        long left = deadline - tu_now_ms();
        ssize_t n;
        if (needle && tu_count(buf, needle) >= count)
            break;
        if (left <= 0)
            break;
        if (poll(&pfd, 1, (int)left) <= 0)
            break;
        n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *closed = 1;
            break;
        }
        got += (size_t)n;
        buf[got] = '\0';
    }
    return got;
}

/* Waits up to timeout_ms for the peer to close: 1 closed, 0 not (data may be discarded). */
TU_UNUSED static int tu_wait_closed(int fd, int timeout_ms)
{
    char tmp[4096];
    long deadline = tu_now_ms() + timeout_ms;
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        long left = deadline - tu_now_ms();
        ssize_t n;
        if (left <= 0)
            return 0;
        if (poll(&pfd, 1, (int)left) <= 0)
            return 0;
        n = recv(fd, tmp, sizeof(tmp), 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return 1;
    }
}

/* The status code of the first response in buf, or -1. */
TU_UNUSED static int tu_status(const char *buf)
{
    int st = -1;
    if (strncmp(buf, "HTTP/1.1 ", 9) != 0 && strncmp(buf, "HTTP/1.0 ", 9) != 0)
        return -1;
    if (sscanf(buf + 9, "%3d", &st) != 1)
        return -1;
    return st;
}

/* One request on a new connection; reads until the server closes. Returns the status. */
TU_UNUSED static int tu_raw(int port, const char *req, size_t len, char *out, size_t cap,
                            int *closed)
{
    int fd = testnet_connect(port, 3000);
    if (fd < 0)
        return -1;
    if (testnet_send_all(fd, req, len) != 0) {
        close(fd);
        return -1;
    }
    tu_recv_until(fd, out, cap, NULL, 0, 3000, closed);
    close(fd);
    return tu_status(out);
}

#endif
