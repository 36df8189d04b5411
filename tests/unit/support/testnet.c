/* Raw sockets for tests that must see exact bytes and whether the server closed. */
#include "testnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Whether port on 127.0.0.1 can be bound now (0: any; *got: the port bound). */
static bool can_bind(int port, int *got)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok;

    if (fd < 0)
        return false;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
         getsockname(fd, (struct sockaddr *)&a, &alen) == 0;
    if (ok)
        *got = ntohs(a.sin_port);
    close(fd);
    return ok;
}

/* A port that is free now, drawn at random below the kernel's ephemeral range (32768 and up by
 * default; net.ipv4.ip_local_port_range): the kernel gives port-0 binds and outgoing
 * connections ports from that range only, so the processes of a parallel test run cannot take
 * this one before the test binds it (a port-0 pick, released and bound again, can be taken).
 * tests/e2e/free-port.js does the same for the shell tests. */
int testnet_free_port(void)
{
    static uint64_t x;
    int first = 32768, port = 0;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    struct timespec ts;

    if (f != NULL) {
        if (fscanf(f, "%d", &first) != 1)
            first = 32768;
        fclose(f);
    }
    if (x == 0) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ 0x9e3779b97f4a7c15ULL;
    }
    for (int tries = 0; first - 1 - 20000 >= 1000 && tries < 50; tries++) {
        x ^= x << 13; /* xorshift64: spread, not secrecy */
        x ^= x >> 7;
        x ^= x << 17;
        int p = 20000 + (int)(x % (uint64_t)(first - 20000));
        if (can_bind(p, &port))
            return port;
    }
    return can_bind(0, &port) ? port : 0;
}

int testnet_connect(int port, int timeout_ms)
{
    struct sockaddr_in a;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int testnet_send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t testnet_recv_until_close(int fd, char *buf, size_t cap, int *closed)
{
    size_t got = 0;
    *closed = 0;
    while (got + 1 < cap) {
        ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            *closed = 1;
            break;
        }
        if (n < 0) {
            if (errno == ECONNRESET)
                *closed = 1;
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

int testnet_wait_port(int port, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        int fd = testnet_connect(port, 1000);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}
