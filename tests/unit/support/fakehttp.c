/* A scripted HTTP/1.1 server for client tests (see fakehttp.h). Deliberately simple: one request
 * per connection, Content-Length bodies only, answers closed after writing. */
#include "fakehttp.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define FAKE_MAX_CONNS 256
#define FAKE_MAX_REQ (256 * 1024)

struct fakehttp {
    int lfd, port;
    fakehttp_fn fn;
    void *ud;
    pthread_t acceptor;
    pthread_mutex_t lock;
    pthread_t conns[FAKE_MAX_CONNS];
    int nconns;
};

struct conn {
    struct fakehttp *f;
    int fd;
};

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct fakehttp_req req;
    char *buf = malloc(FAKE_MAX_REQ + 1), *eoh = NULL, *cl;
    size_t len = 0, want = 0;
    ssize_t n;

    memset(&req, 0, sizeof(req));
    while (buf != NULL && len < FAKE_MAX_REQ) {
        n = recv(c->fd, buf + len, FAKE_MAX_REQ - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (eoh == NULL && (eoh = strstr(buf, "\r\n\r\n")) != NULL) {
            cl = strcasestr(buf, "\r\nContent-Length:");
            want =
                (size_t)(eoh - buf) + 4 + (cl != NULL && cl < eoh ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (eoh != NULL && len >= want)
            break;
    }
    if (buf != NULL && eoh != NULL && len >= want) {
        char *line_end = strstr(buf, "\r\n");
        *eoh = '\0';
        sscanf(buf, "%15s %2047s", req.method, req.target);
        req.head = line_end + 2;
        req.body = eoh + 4;
        req.body_len = len - (size_t)(eoh + 4 - buf);
        req.fd = c->fd;
        c->f->fn(c->f->ud, &req);
    }
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    free(buf);
    free(c);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct fakehttp *f = arg;
    struct timeval tv = {10, 0};

    for (;;) {
        int fd = accept(f->lfd, NULL, NULL);
        struct conn *c;
        if (fd < 0)
            break;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        c = malloc(sizeof(*c));
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->f = f;
        c->fd = fd;
        pthread_mutex_lock(&f->lock);
        if (f->nconns < FAKE_MAX_CONNS &&
            pthread_create(&f->conns[f->nconns], NULL, conn_main, c) == 0) {
            f->nconns++;
        } else {
            close(fd);
            free(c);
        }
        pthread_mutex_unlock(&f->lock);
    }
    return NULL;
}

struct fakehttp *fakehttp_start(fakehttp_fn fn, void *ud)
{
    struct fakehttp *f = calloc(1, sizeof(*f));
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1;

    if (f == NULL)
        return NULL;
    f->fn = fn;
    f->ud = ud;
    pthread_mutex_init(&f->lock, NULL);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(f->lfd, 64) != 0 || getsockname(f->lfd, (struct sockaddr *)&a, &alen) != 0 ||
        pthread_create(&f->acceptor, NULL, accept_main, f) != 0) {
        if (f->lfd >= 0)
            close(f->lfd);
        free(f);
        return NULL;
    }
    f->port = ntohs(a.sin_port);
    return f;
}

int fakehttp_port(const struct fakehttp *f)
{
    return f->port;
}

void fakehttp_url(const struct fakehttp *f, const char *path, char *buf, size_t cap)
{
    snprintf(buf, cap, "http://127.0.0.1:%d%s", f->port, path);
}

void fakehttp_stop(struct fakehttp *f)
{
    int i;

    if (f == NULL)
        return;
    shutdown(f->lfd, SHUT_RDWR);
    pthread_join(f->acceptor, NULL);
    close(f->lfd);
    for (i = 0; i < f->nconns; i++)
        pthread_join(f->conns[i], NULL);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const char *fakehttp_header(const struct fakehttp_req *req, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    const char *p = req->head;

    while (p != NULL && *p != '\0') {
        const char *end = strstr(p, "\r\n");
        size_t llen = end != NULL ? (size_t)(end - p) : strlen(p);
        if (llen > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            size_t vlen;
            while (*v == ' ')
                v++;
            vlen = (size_t)(p + llen - v);
            if (vlen >= cap)
                vlen = cap - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return out;
        }
        p = end != NULL ? end + 2 : NULL;
    }
    return NULL;
}

/* Finds name=value in an &-separated list and percent-decodes the value ('+' is a space). */
static const char *find_param(const char *list, size_t list_len, const char *name, char *out,
                              size_t cap)
{
    size_t nlen = strlen(name), i = 0;

    while (i < list_len) {
        size_t end = i;
        while (end < list_len && list[end] != '&')
            end++;
        if (end - i > nlen && strncmp(list + i, name, nlen) == 0 && list[i + nlen] == '=') {
            size_t o = 0, k;
            for (k = i + nlen + 1; k < end && o + 1 < cap; k++) {
                if (list[k] == '%' && k + 2 < end) {
                    unsigned v;
                    sscanf(list + k + 1, "%2x", &v);
                    out[o++] = (char)v;
                    k += 2;
                } else {
                    out[o++] = list[k] == '+' ? ' ' : list[k];
                }
            }
            out[o] = '\0';
            return out;
        }
        i = end + 1;
    }
    return NULL;
}

const char *fakehttp_query(const char *target, const char *name, char *out, size_t cap)
{
    const char *q = strchr(target, '?');

    return q != NULL ? find_param(q + 1, strlen(q + 1), name, out, cap) : NULL;
}

const char *fakehttp_form(const char *body, const char *name, char *out, size_t cap)
{
    return find_param(body, strlen(body), name, out, cap);
}

void fakehttp_respond(const struct fakehttp_req *req, int status, const char *headers,
                      const char *body)
{
    char head[4096];
    size_t blen = body != NULL ? strlen(body) : 0;
    int n;

    n = snprintf(
        head, sizeof(head), "HTTP/1.1 %d X\r\n%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
        status, headers != NULL ? headers : "",
        blen > 0 && (body[0] == '{' || body[0] == '[') ? "Content-Type: application/json\r\n" : "",
        blen);
    if (n > 0)
        (void)!send(req->fd, head, (size_t)n, MSG_NOSIGNAL);
    if (blen > 0)
        (void)!send(req->fd, body, blen, MSG_NOSIGNAL);
}

/* GETs an http URL; the Location of the answer into location when asked. */
static int http_get(const char *url, char *location, size_t cap)
{
    char host[256], port[8] = "80", req[8192], buf[16384];
    const char *p, *path, *l;
    struct addrinfo hints, *res = NULL;
    struct timeval tv = {10, 0};
    size_t len = 0;
    ssize_t n;
    int fd = -1, rc = -1;

    if (strncmp(url, "http://", 7) != 0)
        return -1;
    p = url + 7;
    path = p + strcspn(p, "/?");
    snprintf(host, sizeof(host), "%.*s", (int)(path - p), p);
    if (strrchr(host, ':') != NULL && host[0] != '[') {
        snprintf(port, sizeof(port), "%s", strrchr(host, ':') + 1);
        *strrchr(host, ':') = '\0';
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0)
        goto out;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    snprintf(req, sizeof(req), "GET %s%s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n",
             path[0] == '/' ? "" : "/", path, host, port);
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
        goto out;
    while (len + 1 < sizeof(buf) && (n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    rc = 0;
    if (location != NULL) {
        l = strcasestr(buf, "\r\nLocation: ");
        if (l == NULL) {
            rc = -1;
            goto out;
        }
        l += 12;
        snprintf(location, cap, "%.*s", (int)strcspn(l, "\r\n"), l);
    }
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return rc;
}

int fakehttp_browse(const char *url, char *location, size_t cap)
{
    char loc[8192];

    if (http_get(url, loc, sizeof(loc)) != 0)
        return -1;
    if (location != NULL)
        snprintf(location, cap, "%s", loc);
    return http_get(loc, NULL, 0);
}
