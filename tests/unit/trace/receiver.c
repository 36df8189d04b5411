/* A minimal HTTP receiver for the exporter's tests (see receiver.h). */
#include "receiver.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
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

/* ---- OTLP protobuf -> OTLP JSON (the tests' view of a body) ------------------------------- */

struct pb {
    const unsigned char *p, *end;
    char why[128];
};

static bool pb_fail(struct pb *d, const char *why)
{
    if (d->why[0] == '\0')
        snprintf(d->why, sizeof(d->why), "%s", why);
    return false;
}

static bool pb_varint(struct pb *d, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && d->p < d->end; shift += 7) {
        unsigned char b = *d->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return pb_fail(d, "a varint runs past the end");
}

/* The next field's number and wire type; false at the end or on an error (why set). */
static bool pb_field(struct pb *d, unsigned *field, unsigned *wt)
{
    uint64_t key;

    if (d->p >= d->end || !pb_varint(d, &key))
        return false;
    *field = (unsigned)(key >> 3);
    *wt = (unsigned)(key & 7);
    return true;
}

/* A length-delimited value as a sub-decoder. */
static bool pb_sub(struct pb *d, unsigned wt, struct pb *sub)
{
    uint64_t n;

    if (wt != 2)
        return pb_fail(d, "a message or string field is not length-delimited");
    if (!pb_varint(d, &n))
        return false;
    if (n > (uint64_t)(d->end - d->p))
        return pb_fail(d, "a length runs past the end");
    sub->p = d->p;
    sub->end = d->p + n;
    sub->why[0] = '\0';
    d->p += n;
    return true;
}

static bool pb_fixed(struct pb *d, unsigned wt, unsigned want_wt, int bytes, uint64_t *v)
{
    if (wt != want_wt)
        return pb_fail(d, "a fixed field has the wrong wire type");
    if (d->end - d->p < bytes)
        return pb_fail(d, "a fixed field runs past the end");
    *v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        *v = *v << 8 | d->p[i];
    d->p += bytes;
    return true;
}

static bool pb_uint(struct pb *d, unsigned wt, uint64_t *v)
{
    if (wt != 0)
        return pb_fail(d, "an integer field is not a varint");
    return pb_varint(d, v);
}

static json_t *pb_string(struct pb *d, unsigned wt)
{
    struct pb s;

    if (!pb_sub(d, wt, &s))
        return NULL;
    json_t *v = json_stringn((const char *)s.p, (size_t)(s.end - s.p));
    if (v == NULL)
        pb_fail(d, "a string is not UTF-8");
    return v;
}

static json_t *pb_hex(struct pb *d, unsigned wt, size_t want)
{
    static const char digits[] = "0123456789abcdef";
    struct pb s;
    char hex[33];

    if (!pb_sub(d, wt, &s))
        return NULL;
    if ((size_t)(s.end - s.p) != want || want > 16) {
        pb_fail(d, "an ID has the wrong length");
        return NULL;
    }
    for (size_t i = 0; i < want; i++) {
        hex[2 * i] = digits[s.p[i] >> 4];
        hex[2 * i + 1] = digits[s.p[i] & 15];
    }
    hex[2 * want] = '\0';
    return json_string(hex);
}

static json_t *u64_string(uint64_t v)
{
    char t[24];
    snprintf(t, sizeof(t), "%" PRIu64, v);
    return json_string(t);
}

static bool set(struct pb *d, json_t *o, const char *key, json_t *v)
{
    if (v == NULL)
        return pb_fail(d, "a value did not decode");
    if (json_object_get(o, key) != NULL) {
        json_decref(v);
        return pb_fail(d, "a field that is not repeated appears twice");
    }
    json_object_set_new(o, key, v);
    return true;
}

static bool append(struct pb *d, json_t *o, const char *key, json_t *v)
{
    if (v == NULL)
        return pb_fail(d, "a value did not decode");
    json_t *a = json_object_get(o, key);
    if (a == NULL)
        json_object_set_new(o, key, a = json_array());
    json_array_append_new(a, v);
    return true;
}

/* Decodes message m into a new object with decode_field for each field; NULL on an error. */
typedef bool (*pb_field_fn)(struct pb *d, json_t *o, unsigned field, unsigned wt);

static json_t *pb_message(struct pb *d, unsigned wt, pb_field_fn fn)
{
    struct pb m;
    unsigned field, fwt;

    if (!pb_sub(d, wt, &m))
        return NULL;
    json_t *o = json_object();
    while (pb_field(&m, &field, &fwt))
        if (!fn(&m, o, field, fwt))
            break;
    if (m.why[0] || m.p != m.end) {
        pb_fail(d, m.why[0] ? m.why : "a message ends inside a field");
        json_decref(o);
        return NULL;
    }
    return o;
}

static bool any_value(struct pb *d, json_t *o, unsigned field, unsigned wt)
{
    uint64_t v;

    switch (field) {
    case 1:
        return set(d, o, "stringValue", pb_string(d, wt));
    case 2:
        return pb_uint(d, wt, &v) && set(d, o, "boolValue", json_boolean(v != 0));
    case 3: {
        char t[24];
        if (!pb_uint(d, wt, &v))
            return false;
        snprintf(t, sizeof(t), "%" PRId64, (int64_t)v);
        return set(d, o, "intValue", json_string(t));
    }
    default:
        return pb_fail(d, "an AnyValue field these tests do not expect");
    }
}

static bool key_value(struct pb *d, json_t *o, unsigned field, unsigned wt)
{
    if (field == 1)
        return set(d, o, "key", pb_string(d, wt));
    if (field == 2)
        return set(d, o, "value", pb_message(d, wt, any_value));
    return pb_fail(d, "an unknown KeyValue field");
}

static bool status(struct pb *d, json_t *o, unsigned field, unsigned wt)
{
    uint64_t v;

    if (field == 2)
        return set(d, o, "message", pb_string(d, wt));
    if (field == 3)
        return pb_uint(d, wt, &v) && set(d, o, "code", json_integer((json_int_t)v));
    return pb_fail(d, "an unknown Status field");
}

static bool span(struct pb *d, json_t *o, unsigned field, unsigned wt)
{
    uint64_t v;

    switch (field) {
    case 1:
        return set(d, o, "traceId", pb_hex(d, wt, 16));
    case 2:
        return set(d, o, "spanId", pb_hex(d, wt, 8));
    case 3:
        return set(d, o, "traceState", pb_string(d, wt));
    case 4:
        return set(d, o, "parentSpanId", pb_hex(d, wt, 8));
    case 5:
        return set(d, o, "name", pb_string(d, wt));
    case 6:
        return pb_uint(d, wt, &v) && set(d, o, "kind", json_integer((json_int_t)v));
    case 7:
        return pb_fixed(d, wt, 1, 8, &v) && set(d, o, "startTimeUnixNano", u64_string(v));
    case 8:
        return pb_fixed(d, wt, 1, 8, &v) && set(d, o, "endTimeUnixNano", u64_string(v));
    case 9:
        return append(d, o, "attributes", pb_message(d, wt, key_value));
    case 15:
        return set(d, o, "status", pb_message(d, wt, status));
    case 16:
        return pb_fixed(d, wt, 5, 4, &v) && set(d, o, "flags", json_integer((json_int_t)v));
    default:
        return pb_fail(d, "an unknown Span field");
    }
}

static bool scope(struct pb *d, json_t *o, unsigned field, unsigned wt)
{
    if (field == 1)
        return set(d, o, "name", pb_string(d, wt));
    if (field == 2)
        return set(d, o, "version", pb_string(d, wt));
    return pb_fail(d, "an unknown InstrumentationScope field");
}

static bool scope_spans(struct pb *d, json_t *o, unsigned field, unsigned wt)
{
    if (field == 1)
        return set(d, o, "scope", pb_message(d, wt, scope));
    if (field == 2)
        return append(d, o, "spans", pb_message(d, wt, span));
    return pb_fail(d, "an unknown ScopeSpans field");
}

static bool resource(struct pb *d, json_t *o, unsigned field, unsigned wt)
{
    if (field == 1)
        return append(d, o, "attributes", pb_message(d, wt, key_value));
    return pb_fail(d, "an unknown Resource field");
}

static bool resource_spans(struct pb *d, json_t *o, unsigned field, unsigned wt)
{
    if (field == 1)
        return set(d, o, "resource", pb_message(d, wt, resource));
    if (field == 2)
        return append(d, o, "scopeSpans", pb_message(d, wt, scope_spans));
    return pb_fail(d, "an unknown ResourceSpans field");
}

static bool request(struct pb *d, json_t *o, unsigned field, unsigned wt)
{
    if (field == 1)
        return append(d, o, "resourceSpans", pb_message(d, wt, resource_spans));
    return pb_fail(d, "an unknown ExportTraceServiceRequest field");
}

char *otlp_pb_to_json(const unsigned char *p, size_t n)
{
    struct pb d = {.p = p, .end = p + n};
    unsigned field, wt;
    json_t *o = json_object();
    char *out;

    while (pb_field(&d, &field, &wt))
        if (!request(&d, o, field, wt))
            break;
    if (d.why[0]) {
        size_t k = strlen(d.why) + 16;
        out = malloc(k);
        snprintf(out, k, "PROTOBUF: %s", d.why);
    } else {
        out = json_dumps(o, JSON_COMPACT);
    }
    json_decref(o);
    return out;
}

/* Reads one request on c and answers it. false when none came (the client closed) or the
 * answer closes the connection. */
static bool serve_one(struct receiver *r, int c)
{
    size_t head_len = 0, total = 0;
    char *req = read_request(r, c, &head_len, &total);

    if (req == NULL)
        return false;
    pthread_mutex_lock(&r->mu);
    if (r->n < RECEIVER_MAX_BODIES) {
        sscanf(req, "%*s %63s", r->paths[r->n]);
        header_value(req, "\r\ncontent-type:", r->ctypes[r->n], sizeof(r->ctypes[0]));
        if (strcmp(r->ctypes[r->n], "application/x-protobuf") == 0)
            r->bodies[r->n] =
                otlp_pb_to_json((const unsigned char *)req + head_len, total - head_len);
        else
            r->bodies[r->n] = strdup(req + head_len);
        header_value(req, "\r\ntraceparent:", r->tparents[r->n], sizeof(r->tparents[0]));
        header_value(req, "\r\ntracestate:", r->tstates[r->n], sizeof(r->tstates[0]));
        r->n++;
    }
    pthread_mutex_unlock(&r->mu);
    while (atomic_load(&r->hang) && !atomic_load(&r->stop))
        sleep_ms(20);
    char resp[512];
    const char *body = r->reply ? r->reply : "{}";
    bool keep = atomic_load(&r->keep_alive);
    int k =
        snprintf(resp, sizeof(resp),
                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n%s\r\n%s",
                 atomic_load(&r->status), strlen(body), keep ? "" : "Connection: close\r\n", body);
    ssize_t w = write(c, resp, (size_t)k);
    (void)w;
    free(req);
    return keep;
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
        pthread_mutex_lock(&r->mu);
        r->conns++;
        pthread_mutex_unlock(&r->mu);
        while (serve_one(r, c)) {
            if (atomic_load(&r->close_kept)) {
                size_t head_len, total;
                free(read_request(r, c, &head_len, &total));
                break;
            }
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

size_t receiver_conns(struct receiver *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->conns;
    pthread_mutex_unlock(&r->mu);
    return n;
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
