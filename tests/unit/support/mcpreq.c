/* One HTTP exchange with the MCP server core, captured (mcpreq.h). */
#include "mcpreq.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pthread.h>
#include <stdatomic.h>

#include "base/buf.h"

struct cap {
    struct mr_answer *a;
    struct wdn_buf body;
    pthread_mutex_t mu;
};

static int cap_head(void *ud, int status, const struct wdn_mcp_out_header *h, size_t n)
{
    struct cap *c = ud;
    size_t i;

    c->a->status = status;
    c->a->heads++;
    for (i = 0; i < n && i < MR_MAX_HEADERS; i++) {
        snprintf(c->a->hname[i], sizeof(c->a->hname[i]), "%s", h[i].name);
        snprintf(c->a->hval[i], sizeof(c->a->hval[i]), "%s", h[i].value);
    }
    c->a->nh = i;
    return 0;
}

static int cap_body(void *ud, const char *p, size_t n)
{
    struct cap *c = ud;
    int rc;

    pthread_mutex_lock(&c->mu);
    rc = wdn_buf_append(&c->body, p, n);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* The JSON body, or the data of the last SSE event. */
static json_t *body_json(const char *s)
{
    const char *last, *p;

    if (s == NULL || s[0] == '\0')
        return NULL;
    if ((last = strstr(s, "data: ")) != NULL) {
        while ((p = strstr(last + 1, "data: ")) != NULL)
            last = p;
        return json_loads(last + 6, JSON_DISABLE_EOF_CHECK, NULL);
    }
    return json_loads(s, 0, NULL);
}

/* Fills r with the request: the "Name: value" lines (NULL-terminated, at most MR_MAX_HEADERS)
 * parsed into h, which must outlive r. */
static void make_request(struct wdn_mcp_http_request *r, struct wdn_mcp_hdr *h, const char *method,
                         const char *target, const char *const *headers, const char *body,
                         size_t body_len)
{
    size_t n = 0;

    for (; headers != NULL && headers[n] != NULL && n < MR_MAX_HEADERS; n++) {
        const char *colon = strchr(headers[n], ':');
        h[n].name = headers[n];
        h[n].name_len = colon != NULL ? (size_t)(colon - headers[n]) : strlen(headers[n]);
        h[n].value = colon != NULL ? colon + 1 : "";
        h[n].value_len = strlen(h[n].value);
    }
    memset(r, 0, sizeof(*r));
    r->method = method;
    r->target = target;
    r->headers = h;
    r->nheaders = n;
    r->body = body;
    r->body_len = body_len;
}

void mr_send(struct wdn_mcp_server *srv, const char *method, const char *target,
             const char *const *headers, const char *body, size_t body_len, struct mr_answer *a)
{
    struct wdn_mcp_hdr h[MR_MAX_HEADERS];
    struct wdn_mcp_http_request r;
    struct cap c;
    struct wdn_mcp_http_out out = {cap_head, cap_body, NULL, &c};
    struct wdn_mcp_stream *st = NULL;
    const char *s;

    memset(a, 0, sizeof(*a));
    make_request(&r, h, method, target, headers, body, body_len);
    c.a = a;
    wdn_buf_init(&c.body, 1 << 20);
    pthread_mutex_init(&c.mu, NULL);
    a->rc = wdn_mcp_server_handle(srv, &r, &out, &st);
    pthread_mutex_lock(&c.mu);
    s = wdn_buf_cstr(&c.body);
    a->body = strdup(s != NULL ? s : "");
    pthread_mutex_unlock(&c.mu);
    /* An open stream would write to this capture later: the exchange ends here. */
    if (st != NULL) {
        a->streamed = true;
        wdn_mcp_server_stream_close(srv, st, &c);
    }
    a->msg = body_json(a->body);
    wdn_buf_reset(&c.body);
    pthread_mutex_destroy(&c.mu);
}

void mr_post(struct wdn_mcp_server *srv, const char *const *headers, const char *body,
             struct mr_answer *a)
{
    mr_send(srv, "POST", "/mcp", headers, body, body != NULL ? strlen(body) : 0, a);
}

const char *mr_header(const struct mr_answer *a, const char *name)
{
    size_t i;

    for (i = 0; i < a->nh; i++)
        if (strcasecmp(a->hname[i], name) == 0)
            return a->hval[i];
    return NULL;
}

long mr_error_code(const struct mr_answer *a)
{
    return (long)json_integer_value(json_object_get(json_object_get(a->msg, "error"), "code"));
}

const char *mr_error_message(const struct mr_answer *a)
{
    return json_string_value(json_object_get(json_object_get(a->msg, "error"), "message"));
}

void mr_free(struct mr_answer *a)
{
    free(a->body);
    json_decref(a->msg);
    memset(a, 0, sizeof(*a));
}

struct mr_stream {
    struct cap c;
    struct mr_answer a;
    struct wdn_mcp_stream *st;
    atomic_int ends;
};

static void stream_end(void *ud)
{
    struct mr_stream *s = (struct mr_stream *)((char *)ud - offsetof(struct mr_stream, c));

    atomic_fetch_add(&s->ends, 1);
}

struct mr_stream *mr_open(struct wdn_mcp_server *srv, const char *const *headers,
                          struct mr_answer *a)
{
    struct mr_stream *s = calloc(1, sizeof(*s));
    struct wdn_mcp_hdr h[MR_MAX_HEADERS];
    struct wdn_mcp_http_request r;
    struct wdn_mcp_http_out out;

    memset(a, 0, sizeof(*a));
    if (s == NULL)
        return NULL;
    make_request(&r, h, "GET", "/mcp", headers, NULL, 0);
    s->c.a = &s->a;
    wdn_buf_init(&s->c.body, 1 << 20);
    pthread_mutex_init(&s->c.mu, NULL);
    out = (struct wdn_mcp_http_out){cap_head, cap_body, stream_end, &s->c};
    s->a.rc = wdn_mcp_server_handle(srv, &r, &out, &s->st);
    *a = s->a;
    a->body = NULL;
    a->msg = NULL;
    if (s->st == NULL) {
        const char *b = wdn_buf_cstr(&s->c.body);
        a->body = strdup(b != NULL ? b : "");
        a->msg = body_json(a->body);
        mr_stream_close(NULL, s);
        return NULL;
    }
    a->streamed = true;
    a->body = strdup("");
    return s;
}

bool mr_stream_has(struct mr_stream *s, const char *needle)
{
    const char *b;
    bool has;

    pthread_mutex_lock(&s->c.mu);
    b = wdn_buf_cstr(&s->c.body);
    has = b != NULL && strstr(b, needle) != NULL;
    pthread_mutex_unlock(&s->c.mu);
    return has;
}

bool mr_stream_ended(struct mr_stream *s)
{
    return atomic_load(&s->ends) > 0;
}

int mr_stream_end_count(struct mr_stream *s)
{
    return atomic_load(&s->ends);
}

void mr_stream_close(struct wdn_mcp_server *srv, struct mr_stream *s)
{
    if (s == NULL)
        return;
    if (srv != NULL && s->st != NULL)
        wdn_mcp_server_stream_close(srv, s->st, &s->c);
    wdn_buf_reset(&s->c.body);
    pthread_mutex_destroy(&s->c.mu);
    free(s);
}
