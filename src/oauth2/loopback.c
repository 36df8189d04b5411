/* Loopback redirect listener. It binds only to a loopback address, answers only GET on the
 * redirect path, reads each request with the strict HTTP parser within a size and time limit,
 * and takes the first matching request: anything else on localhost gets 404 and cannot stall it.
 * The code in the query is only a capability together with the PKCE verifier, which never
 * leaves the client. */
#include "oauth2/loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/limits.h"
#include "http/parser.h"
#include "oauth2/metadata.h"

struct wdn_oauth2_loopback {
    int fd;
    char path[256];
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *query; /* the callback's query once it arrived */
    atomic_bool stop;
};

static const char page[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>warden</title></head><body>"
    "<p>Sign-in finished. You can close this window and go back to the terminal.</p>"
    "</body></html>";

bool wdn_oauth2_redirect_ok(const char *uri)
{
    struct wdn_oauth2_url u;

    if (uri == NULL || strncmp(uri, "http://", 7) != 0 || strchr(uri, '#') != NULL)
        return false;
    return wdn_oauth2_url_parse(uri, &u, NULL) == 0 && u.loopback && !u.https;
}

static void reply(int fd, int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                     "Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
                     status, status == 200 ? "OK" : "Not Found", strlen(body));

    (void)!send(fd, head, (size_t)n, MSG_NOSIGNAL);
    (void)!send(fd, body, strlen(body), MSG_NOSIGNAL);
}

/* Reads one request head within the limits; the query when it is a GET of our path. */
static char *serve_one(struct wdn_oauth2_loopback *l, int fd)
{
    char buf[WDN_OAUTH2_CALLBACK_MAX_BYTES];
    struct wdn_http_request req;
    size_t len = 0, head_len = 0;
    struct pollfd p = {fd, POLLIN, 0};
    int rc = WDN_EAGAIN, waited = 0;
    char *q = NULL;

    while (rc == WDN_EAGAIN && len < sizeof(buf) && waited < 5000 && !atomic_load(&l->stop)) {
        ssize_t n;
        if (poll(&p, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        n = recv(fd, buf + len, sizeof(buf) - len, 0);
        if (n <= 0)
            return NULL;
        len += (size_t)n;
        rc = wdn_http_parse_request(buf, len, &req, &head_len);
    }
    if (rc != 0)
        return NULL;
    if (!wdn_str_eq_cstr(req.method, "GET") || !wdn_str_eq_cstr(req.path, l->path)) {
        reply(fd, 404, "<!doctype html><p>Not found.</p>");
        return NULL;
    }
    q = malloc(req.query.len + 1);
    if (q != NULL) {
        memcpy(q, req.query.p, req.query.len);
        q[req.query.len] = '\0';
        reply(fd, 200, page);
    }
    return q;
}

static void *listen_main(void *arg)
{
    struct wdn_oauth2_loopback *l = arg;
    struct pollfd p = {l->fd, POLLIN, 0};

    while (!atomic_load(&l->stop)) {
        int c;
        char *q;
        if (poll(&p, 1, 100) <= 0)
            continue;
        c = accept(l->fd, NULL, NULL);
        if (c < 0)
            continue;
        q = serve_one(l, c);
        close(c);
        if (q != NULL) {
            pthread_mutex_lock(&l->lock);
            l->query = q;
            pthread_cond_broadcast(&l->cond);
            pthread_mutex_unlock(&l->lock);
            break;
        }
    }
    return NULL;
}

int wdn_oauth2_loopback_start(const char *redirect_uri, struct wdn_oauth2_loopback **out,
                              char *actual, size_t cap, struct wdn_diag *d)
{
    struct wdn_oauth2_url u;
    struct sockaddr_storage ss;
    socklen_t slen;
    const char *host_end, *hp;
    char host[64];
    unsigned port = 0;
    struct wdn_oauth2_loopback *l;
    int one = 1;

    *out = NULL;
    if (!wdn_oauth2_redirect_ok(redirect_uri) || wdn_oauth2_url_parse(redirect_uri, &u, d) != 0)
        return wdn_diag_set(d, WDN_EINVAL,
                            "redirect URI '%.200s' is not a loopback http URI (http://127.0.0.1"
                            "[:port]/path, http://[::1]..., http://localhost...)",
                            redirect_uri ? redirect_uri : "");
    /* host and port from "http://host[:port]" (the parser already validated them). */
    hp = redirect_uri + 7;
    host_end = hp + strcspn(hp, "/?#");
    if (hp[0] == '[') {
        const char *close = memchr(hp, ']', (size_t)(host_end - hp));
        snprintf(host, sizeof(host), "%.*s", (int)(close - hp - 1), hp + 1);
        if (close[1] == ':')
            port = (unsigned)strtoul(close + 2, NULL, 10);
    } else {
        const char *colon = memchr(hp, ':', (size_t)(host_end - hp));
        snprintf(host, sizeof(host), "%.*s", (int)((colon ? colon : host_end) - hp), hp);
        if (colon != NULL)
            port = (unsigned)strtoul(colon + 1, NULL, 10);
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    if (wdn_fmt(l->path, sizeof(l->path), "%s", u.path[0] ? u.path : "/") != 0) {
        free(l);
        return wdn_diag_set(d, WDN_ELIMIT, "redirect URI path too long");
    }
    memset(&ss, 0, sizeof(ss));
    if (strchr(host, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, host, &a6->sin6_addr);
        slen = sizeof(*a6);
    } else {
        /* "localhost" binds 127.0.0.1: the browser resolves it there first too. */
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        slen = sizeof(*a4);
    }
    l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->fd >= 0)
        setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&ss, slen) != 0 || listen(l->fd, 8) != 0 ||
        getsockname(l->fd, (struct sockaddr *)&ss, &slen) != 0) {
        int e = errno;
        if (l->fd >= 0)
            close(l->fd);
        free(l);
        return wdn_diag_set(d, WDN_EIO, "cannot listen on %s:%u for the redirect: %s", host, port,
                            strerror(e));
    }
    port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
    {
        const char *q = strchr(host_end, '?');
        bool v6 = strchr(host, ':') != NULL;
        if (wdn_fmt(actual, cap, "http://%s%s%s:%u%s%s", v6 ? "[" : "", host, v6 ? "]" : "", port,
                    l->path, q != NULL ? q : "") != 0) {
            close(l->fd);
            free(l);
            return wdn_diag_set(d, WDN_ELIMIT, "redirect URI too long");
        }
    }
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    atomic_init(&l->stop, false);
    if (pthread_create(&l->thread, NULL, listen_main, l) != 0) {
        close(l->fd);
        pthread_mutex_destroy(&l->lock);
        pthread_cond_destroy(&l->cond);
        free(l);
        return wdn_diag_set(d, WDN_ENOMEM, "cannot start the redirect listener");
    }
    *out = l;
    return 0;
}

int wdn_oauth2_loopback_wait(struct wdn_oauth2_loopback *l, long timeout_ms, char **query,
                             struct wdn_diag *d)
{
    struct timespec until;
    int rc = 0;

    *query = NULL;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->lock);
    while (l->query == NULL && rc == 0)
        rc = pthread_cond_timedwait(&l->cond, &l->lock, &until);
    if (l->query != NULL) {
        *query = l->query;
        l->query = NULL;
        rc = 0;
    }
    pthread_mutex_unlock(&l->lock);
    if (*query == NULL)
        return wdn_diag_set(d, WDN_ETIMEOUT,
                            "no answer from the browser in %ld s (the sign-in did not finish)",
                            timeout_ms / 1000);
    return 0;
}

void wdn_oauth2_loopback_free(struct wdn_oauth2_loopback *l)
{
    if (l == NULL)
        return;
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    close(l->fd);
    free(l->query);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    free(l);
}
