/* wdn-fixedrate: an open-loop HTTP/1.1 load generator at a fixed request rate, for latency
 * percentiles that do not suffer from coordinated omission (wrk2 is not packaged in Debian).
 *
 *   wdn-fixedrate -u http://127.0.0.1:PORT/path -r 1000 -c 16 -d 20 [-H 'Name: value']...
 *
 * Each of c connections (one thread each, keep-alive) sends at r/c requests per second on a
 * fixed schedule; a request's latency runs from its scheduled send time to the end of its
 * response, so a stall counts against every request it delays. Prints the achieved rate, errors
 * and p50/p90/p99/p99.9/max in milliseconds. Responses must carry Content-Length or be chunked. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HDRS 16
#define MAX_CONNS 256

static char host[64] = "127.0.0.1";
static int port;
static char path[1024] = "/";
static double rate = 1000;
static int conns = 16;
static double secs = 10;
static const char *hdrs[MAX_HDRS];
static int nhdrs;
static uint64_t start_ns;

struct worker {
    pthread_t t;
    int id;
    double *lat; /* ms */
    size_t n, cap;
    size_t errors;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static int dial(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    inet_pton(AF_INET, host, &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Reads one response; 0 when complete with a 2xx status. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    char *end = NULL;
    long status = 0, clen = -1;
    int chunked = 0;

    while (end == NULL) {
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end == NULL && len >= cap - 1)
            return -1;
    }
    status = strtol(buf + 9, NULL, 10);
    for (char *p = buf; p < end; p++) {
        if (strncasecmp(p, "\r\ncontent-length:", 17) == 0)
            clen = strtol(p + 17, NULL, 10);
        if (strncasecmp(p, "\r\ntransfer-encoding: chunked", 28) == 0)
            chunked = 1;
    }
    size_t have = len - (size_t)(end + 4 - buf);
    if (chunked) {
        /* Good enough for small bodies: read until the last-chunk marker arrives. */
        while (strstr(end + 4, "\r\n0\r\n\r\n") == NULL && strncmp(end + 4, "0\r\n\r\n", 5)) {
            ssize_t r;
            if (len >= cap - 1)
                return -1;
            r = read(fd, buf + len, cap - len - 1);
            if (r <= 0)
                return -1;
            len += (size_t)r;
            buf[len] = '\0';
        }
    } else if (clen >= 0) {
        while ((long)have < clen) {
            char tmp[65536];
            ssize_t r = read(fd, tmp, sizeof(tmp));
            if (r <= 0)
                return -1;
            have += (size_t)r;
        }
    }
    return status >= 200 && status < 300 ? 0 : -2;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    char req[8192], buf[65536];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n", path, host, port);
    double interval_ns = 1e9 * conns / rate;
    uint64_t next = start_ns + (uint64_t)(interval_ns * w->id / conns);
    uint64_t end = start_ns + (uint64_t)(secs * 1e9);
    int fd = dial();

    for (int i = 0; i < nhdrs; i++)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\r\n", hdrs[i]);
    n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    while (next < end) {
        sleep_until(next);
        if (fd < 0)
            fd = dial();
        if (fd < 0 || write(fd, req, (size_t)n) != n || read_response(fd, buf, sizeof(buf)) != 0) {
            w->errors++;
            if (fd >= 0)
                close(fd);
            fd = -1;
        } else {
            if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 4096;
                w->lat = realloc(w->lat, w->cap * sizeof(double));
            }
            w->lat[w->n++] = (double)(now_ns() - next) / 1e6;
        }
        next += (uint64_t)interval_ns;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static struct worker ws[MAX_CONNS];
    double *all;
    size_t total = 0, errors = 0, k = 0;
    int opt;

    while ((opt = getopt(argc, argv, "u:r:c:d:H:")) != -1) {
        switch (opt) {
        case 'u':
            if (sscanf(optarg, "http://%63[^:]:%d%1023s", host, &port, path) < 2) {
                fprintf(stderr, "bad url\n");
                return 2;
            }
            break;
        case 'r':
            rate = atof(optarg);
            break;
        case 'c':
            conns = atoi(optarg);
            break;
        case 'd':
            secs = atof(optarg);
            break;
        case 'H':
            if (nhdrs < MAX_HDRS)
                hdrs[nhdrs++] = optarg;
            break;
        default:
            fprintf(stderr, "usage: wdn-fixedrate -u URL -r RATE -c CONNS -d SECS [-H HDR]...\n");
            return 2;
        }
    }
    if (port <= 0 || conns < 1 || conns > MAX_CONNS || rate <= 0) {
        fprintf(stderr, "usage: wdn-fixedrate -u URL -r RATE -c CONNS -d SECS [-H HDR]...\n");
        return 2;
    }
    start_ns = now_ns() + 50000000u;
    for (int i = 0; i < conns; i++) {
        ws[i].id = i;
        pthread_create(&ws[i].t, NULL, run, &ws[i]);
    }
    for (int i = 0; i < conns; i++) {
        pthread_join(ws[i].t, NULL);
        total += ws[i].n;
        errors += ws[i].errors;
    }
    all = malloc((total + 1) * sizeof(double));
    for (int i = 0; i < conns; i++) {
        memcpy(all + k, ws[i].lat, ws[i].n * sizeof(double));
        k += ws[i].n;
        free(ws[i].lat);
    }
    qsort(all, total, sizeof(double), cmp);
#define PCT(p)                                                                                     \
    (total ? all[(size_t)fmin((double)total - 1, floor((p) / 100.0 * (double)total))] : 0)
    printf("requests=%zu rate=%.0f/s errors=%zu p50=%.3fms p90=%.3fms p99=%.3fms p99.9=%.3fms "
           "max=%.3fms\n",
           total, (double)total / secs, errors, PCT(50), PCT(90), PCT(99), PCT(99.9),
           total ? all[total - 1] : 0);
    free(all);
    return errors ? 1 : 0;
}
