/* A minimal HTTP receiver for the exporter's tests (see receiver.h). */
#include "receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads one request (head and Content-Length body) from fd into a malloc'd buffer. */
static char *read_request(struct receiver *r, int fd, size_t *head_len, size_t *total)
{
    size_t cap = 1 << 16, n = 0, need = 0;
    char *buf = malloc(cap + 1);

    while (buf) {
        struct pollfd p = {fd, POLLIN, 0};
        if (atomic_load(&r->stop))
            break;
        if (poll(&p, 1, 100) <= 0)
            continue;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t k = read(fd, buf + n, cap - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end && need == 0) {
            char *cl = strcasestr(buf, "\r\ncontent-length:");
            *head_len = (size_t)(end - buf) + 4;
            need = *head_len + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (need && n >= need) {
            *total = n;
            return buf;
        }
    }
    free(buf);
    return NULL;
}

static void header_value(const char *head, const char *name, char *out, size_t cap)
{
    const char *h = strcasestr(head, name);
    size_t k = 0;

    out[0] = '\0';
    if (h == NULL)
        return;
    h += strlen(name);
    while (*h == ' ')
        h++;
    while (h[k] && h[k] != '\r' && k + 1 < cap)
        k++;
    memcpy(out, h, k);
    out[k] = '\0';
}

static void *serve(void *arg)
{
    struct receiver *r = arg;

    while (!atomic_load(&r->stop)) {
        struct pollfd p = {r->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        size_t head_len = 0, total = 0;
        char *req = read_request(r, c, &head_len, &total);
        if (req) {
            pthread_mutex_lock(&r->mu);
            if (r->n < RECEIVER_MAX_BODIES) {
                r->bodies[r->n] = strdup(req + head_len);
                sscanf(req, "%*s %63s", r->paths[r->n]);
                header_value(req, "\r\ncontent-type:", r->ctypes[r->n], sizeof(r->ctypes[0]));
                header_value(req, "\r\ntraceparent:", r->tparents[r->n], sizeof(r->tparents[0]));
                header_value(req, "\r\ntracestate:", r->tstates[r->n], sizeof(r->tstates[0]));
                r->n++;
            }
            pthread_mutex_unlock(&r->mu);
            while (atomic_load(&r->hang) && !atomic_load(&r->stop))
                sleep_ms(20);
            char resp[512];
            const char *body = r->reply ? r->reply : "{}";
            int k = snprintf(resp, sizeof(resp),
                             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                             atomic_load(&r->status), strlen(body), body);
            ssize_t w = write(c, resp, (size_t)k);
            (void)w;
            free(req);
        }
        close(c);
    }
    return NULL;
}

int receiver_start(struct receiver *r)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);

    memset(r, 0, sizeof(*r));
    atomic_store(&r->status, 200);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(r->fd, 16) != 0 ||
        getsockname(r->fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    r->port = ntohs(a.sin_port);
    pthread_mutex_init(&r->mu, NULL);
    return pthread_create(&r->thread, NULL, serve, r) == 0 ? 0 : -1;
}

size_t receiver_count(struct receiver *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

bool receiver_wait(struct receiver *r, size_t n, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (receiver_count(r) >= n)
            return true;
        sleep_ms(10);
    }
    return receiver_count(r) >= n;
}

void receiver_stop(struct receiver *r)
{
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    close(r->fd);
    for (size_t i = 0; i < r->n; i++)
        free(r->bodies[i]);
    pthread_mutex_destroy(&r->mu);
}
