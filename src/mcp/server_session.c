/* Sessions, their GET streams and resumable SSE streams, and server notifications to them
 * (the caller of the wdn__ functions holds srv->mu). */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/json_dump.h"
#include "base/limits.h"
#include "mcp/server_int.h"

/* ---------------------------------------------------------------------------------------- */
/* Resumable streams (the caller holds srv->mu)                                               */

void wdn__mcp_stream_unlink(struct wdn_mcp_server *srv, struct wdn_mcp_stream *st)
{
    struct wdn_mcp_stream **pp;

    for (pp = &srv->streams; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    }
}

/*
 * Lets go of the connection a stream is attached to. A GET connection is ended (the client
 * sees its stream end and may resume) and its handle freed; a POST's connection is ended when
 * end_post is set (polling, or a client that resumed elsewhere), else just forgotten.
 */
void wdn__mcp_rs_detach(struct wdn_mcp_server *srv, struct rstream *rs, bool end_post)
{
    if (rs->handle != NULL) {
        struct wdn_mcp_stream *h = rs->handle;
        wdn__mcp_stream_unlink(srv, h);
        if (h->out.end != NULL)
            h->out.end(h->out.ud);
        free(h);
    } else if (rs->live.body != NULL && end_post && rs->live.end != NULL) {
        rs->live.end(rs->live.ud);
    }
    rs->handle = NULL;
    memset(&rs->live, 0, sizeof(rs->live));
    rs->idle_since_ms = wdn_clock_mono_ms();
}

static void rs_drop_head(struct wdn_mcp_server *srv, struct rstream *rs)
{
    struct revent *ev = rs->head;

    rs->head = ev->next;
    if (rs->head == NULL)
        rs->tail = NULL;
    rs->nevents--;
    rs->nbytes -= ev->len;
    srv->resume_bytes -= ev->len;
    rs->first_seq = ev->seq + 1;
    free(ev);
}

void wdn__mcp_rs_release(struct wdn_mcp_server *srv, struct rstream *rs)
{
    if (--rs->refs > 0)
        return;
    while (rs->head != NULL)
        rs_drop_head(srv, rs);
    free(rs);
}

/* Takes a stream out of its session: no more events, its connection ended. */
void wdn__mcp_rs_unlink(struct wdn_mcp_server *srv, struct session *s, struct rstream *rs)
{
    struct rstream **pp;

    for (pp = &s->rs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == rs) {
            *pp = rs->next;
            s->nrs--;
            break;
        }
    }
    rs->unlinked = true;
    rs->ended = true;
    wdn__mcp_rs_detach(srv, rs, true);
    wdn__mcp_rs_release(srv, rs);
}

/* Drops the streams nobody used for WDN_MCP_RESUME_TTL_MS (a running request keeps its own). */
void wdn__mcp_rs_sweep(struct wdn_mcp_server *srv, struct session *s, uint64_t now)
{
    struct rstream *rs = s->rs, *next;

    for (; rs != NULL; rs = next) {
        next = rs->next;
        if (rs->refs == 1 && rs->idle_since_ms != 0 &&
            now - rs->idle_since_ms > WDN_MCP_RESUME_TTL_MS)
            wdn__mcp_rs_unlink(srv, s, rs);
    }
}

/*
 * A new resumable stream in session s, holding two references (the session's and the
 * caller's), or NULL when the session already keeps WDN_MCP_RESUME_MAX_STREAMS streams that
 * are all in use (the answer is then an SSE stream without ids) or memory ran out.
 */
struct rstream *wdn__mcp_rs_new(struct wdn_mcp_server *srv, struct session *s, bool is_get)
{
    struct rstream *rs, *victim = NULL;

    wdn__mcp_rs_sweep(srv, s, wdn_clock_mono_ms());
    if (s->nrs >= WDN_MCP_RESUME_MAX_STREAMS) {
        /* The oldest stream that no connection or request uses makes room. */
        for (rs = s->rs; rs != NULL; rs = rs->next)
            if (rs->refs == 1 && rs->live.body == NULL)
                victim = rs;
        if (victim == NULL)
            return NULL;
        wdn__mcp_rs_unlink(srv, s, victim);
    }
    rs = calloc(1, sizeof(*rs));
    if (rs == NULL)
        return NULL;
    rs->id = ++srv->next_stream_id;
    rs->is_get = is_get;
    rs->next_seq = 1;
    rs->first_seq = 1;
    rs->refs = 2;
    rs->next = s->rs;
    s->rs = rs;
    s->nrs++;
    return rs;
}

/* The priming event: an id and empty data, with the polling interval when there is one. */
int wdn__mcp_rs_priming(const struct wdn_mcp_server *srv, const struct rstream *rs, char *buf,
                        size_t cap)
{
    int n = srv->poll_ms > 0
                ? snprintf(buf, cap, "id: %llu-0\nretry: %ld\ndata: \n\n",
                           (unsigned long long)rs->id, srv->poll_ms)
                : snprintf(buf, cap, "id: %llu-0\ndata: \n\n", (unsigned long long)rs->id);

    return n > 0 && (size_t)n < cap ? n : 0;
}

/*
 * Sends one message on a resumable stream: numbered, kept for replay (the oldest events go
 * when a limit is reached), and written to the attached connection, if any. A connection that
 * cannot take it (gone, or too slow: its buffer is full) is ended cleanly; the client resumes
 * from what it got, or learns with a 400 that the events it missed were dropped.
 */
void wdn__mcp_rs_emit(struct wdn_mcp_server *srv, struct rstream *rs, const json_t *msg)
{
    char *js = NULL;
    struct revent *ev = NULL;
    size_t cap;
    int n;

    if (rs->ended)
        return;
    js = wdn_json_dumps(msg, JSON_COMPACT);
    if (js == NULL)
        return;
    cap = strlen(js) + 80;
    ev = malloc(sizeof(*ev) + cap);
    if (ev == NULL)
        goto out;
    n = snprintf(ev->data, cap, "id: %llu-%llu\nevent: message\ndata: %s\n\n",
                 (unsigned long long)rs->id, (unsigned long long)rs->next_seq, js);
    if (n <= 0 || (size_t)n >= cap)
        goto out;
    ev->len = (size_t)n;
    ev->seq = rs->next_seq++;
    ev->next = NULL;
    if (rs->live.body != NULL && rs->live.body(rs->live.ud, ev->data, ev->len) != 0)
        wdn__mcp_rs_detach(srv, rs, true);
    while (rs->head != NULL && (rs->nevents + 1 > WDN_MCP_RESUME_MAX_EVENTS ||
                                rs->nbytes + ev->len > WDN_MCP_RESUME_MAX_BYTES ||
                                srv->resume_bytes + ev->len > WDN_MCP_RESUME_MAX_TOTAL_BYTES))
        rs_drop_head(srv, rs);
    if (ev->len > WDN_MCP_RESUME_MAX_BYTES ||
        srv->resume_bytes + ev->len > WDN_MCP_RESUME_MAX_TOTAL_BYTES) {
        /* Too big to keep: a resume from before it can no longer be complete. */
        rs->first_seq = ev->seq + 1;
        goto out;
    }
    if (rs->tail != NULL)
        rs->tail->next = ev;
    else
        rs->head = ev;
    rs->tail = ev;
    rs->nevents++;
    rs->nbytes += ev->len;
    srv->resume_bytes += ev->len;
    ev = NULL;
out:
    free(ev);
    free(js);
}

/* Reads "<stream>-<seq>", two decimal numbers without sign or leading spaces. */
bool wdn__mcp_event_id_parse(struct wdn_str v, uint64_t *stream, uint64_t *seq)
{
    uint64_t *cur = stream;
    size_t i, digits = 0;

    *stream = *seq = 0;
    if (v.len == 0 || v.len > 41)
        return false;
    for (i = 0; i < v.len; i++) {
        char c = v.p[i];
        if (c == '-' && cur == stream && digits > 0) {
            cur = seq;
            digits = 0;
            continue;
        }
        if (c < '0' || c > '9' || digits >= 20 || *cur > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
            return false;
        *cur = *cur * 10 + (uint64_t)(c - '0');
        digits++;
    }
    return cur == seq && digits > 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Sessions (the caller holds srv->mu)                                                        */

struct session *wdn__mcp_session_find(struct wdn_mcp_server *srv, struct wdn_str id)
{
    struct session *s;

    for (s = srv->sessions; s != NULL; s = s->next)
        if (wdn_ct_equal(s->id, strlen(s->id), id.p, id.len))
            return s;
    return NULL;
}

static bool session_has_stream(const struct wdn_mcp_server *srv, const struct session *s)
{
    const struct wdn_mcp_stream *st;

    for (st = srv->streams; st != NULL; st = st->next)
        if (strcmp(st->session, s->id) == 0)
            return true;
    return false;
}

static void session_sweep(struct wdn_mcp_server *srv, uint64_t now)
{
    struct session **pp = &srv->sessions;

    while (*pp != NULL) {
        struct session *s = *pp;
        /* A session whose client listens on a GET stream is in use, however quiet. */
        if (now - s->last_used_ms > WDN_MCP_SESSION_IDLE_MS && !session_has_stream(srv, s)) {
            wdn__mcp_session_destroy(srv, s);
        } else {
            pp = &s->next;
        }
    }
}

int wdn__mcp_session_create(struct wdn_mcp_server *srv, const char *version, char *id_out)
{
    unsigned char raw[SESSION_ID_BYTES];
    struct session *s;
    uint64_t now = wdn_clock_mono_ms();
    size_t i;

    session_sweep(srv, now);
    if (srv->nsessions >= WDN_MCP_MAX_SESSIONS)
        return WDN_ELIMIT;
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return WDN_ECRYPTO;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return WDN_ENOMEM;
    for (i = 0; i < sizeof(raw); i++)
        snprintf(s->id + 2 * i, 3, "%02x", raw[i]);
    snprintf(s->version, sizeof(s->version), "%s", version);
    s->log_level = -1;
    s->last_used_ms = now;
    s->next = srv->sessions;
    srv->sessions = s;
    srv->nsessions++;
    memcpy(id_out, s->id, SESSION_ID_LEN + 1);
    return 0;
}

/* Unlinks a session and frees it: its connections are ended, its resumable streams dropped. */
void wdn__mcp_session_destroy(struct wdn_mcp_server *srv, struct session *victim)
{
    struct session **pp;
    struct wdn_mcp_stream **sp = &srv->streams;

    for (pp = &srv->sessions; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == victim) {
            *pp = victim->next;
            srv->nsessions--;
            break;
        }
    }
    while (victim->rs != NULL)
        wdn__mcp_rs_unlink(srv, victim, victim->rs);
    while (*sp != NULL) {
        struct wdn_mcp_stream *st = *sp;
        if (strcmp(st->session, victim->id) == 0) {
            *sp = st->next;
            if (st->out.end != NULL)
                st->out.end(st->out.ud);
            free(st);
        } else {
            sp = &st->next;
        }
    }
    json_decref(victim->subs);
    json_decref(victim->caps);
    free(victim);
}

bool wdn__mcp_session_resumable(const struct wdn_mcp_server *srv, const struct session *s)
{
    /* Priming events carry empty data, which clients before 2025-11-25 may not expect. */
    return srv->resumable && strcmp(s->version, WDN_MCP_V2025_11_25) >= 0;
}

void wdn_mcp_server_stream_close(struct wdn_mcp_server *srv, struct wdn_mcp_stream *stream,
                                 const void *ud)
{
    struct wdn_mcp_stream **pp;

    if (stream == NULL)
        return;
    pthread_mutex_lock(&srv->mu);
    for (pp = &srv->streams; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == stream && stream->out.ud == ud) {
            *pp = stream->next;
            if (stream->rs != NULL && stream->rs->handle == stream) {
                /* The client went away; the stream waits for it to come back. */
                stream->rs->handle = NULL;
                memset(&stream->rs->live, 0, sizeof(stream->rs->live));
                stream->rs->idle_since_ms = wdn_clock_mono_ms();
            }
            free(stream);
            break;
        }
    }
    pthread_mutex_unlock(&srv->mu);
}

/* Sends notification n (taken; NULL means out of memory) on the open GET streams of every
 * session, or only of the sessions subscribed to uri when uri is not NULL. A resumable GET
 * stream keeps the message even while its client is reconnecting. Returns the number of
 * streams reached, or WDN_ENOMEM. */
static int notify(struct wdn_mcp_server *srv, json_t *n, const char *uri)
{
    struct wdn_mcp_stream *st;
    struct session *s;
    struct rstream *rs;
    struct wdn_buf b;
    int count = 0;

    if (n == NULL)
        return WDN_ENOMEM;
    wdn_buf_init(&b, WDN_SSE_MAX_EVENT_BYTES);
    if (wdn__mcp_sse_frame(&b, n) != 0) {
        json_decref(n);
        wdn_buf_reset(&b);
        return WDN_ENOMEM;
    }
    pthread_mutex_lock(&srv->mu);
    for (st = srv->streams; st != NULL; st = st->next) {
        if (st->rs != NULL || !st->standalone)
            continue;
        if (uri != NULL) {
            s = wdn__mcp_session_find(srv, wdn_str_from_cstr(st->session));
            if (s == NULL || json_object_get(s->subs, uri) == NULL)
                continue;
        }
        if (st->out.body(st->out.ud, b.data, b.len) == 0)
            count++;
    }
    for (s = srv->sessions; s != NULL; s = s->next) {
        if (uri != NULL && json_object_get(s->subs, uri) == NULL)
            continue;
        for (rs = s->rs; rs != NULL; rs = rs->next) {
            if (rs->is_get && !rs->ended) {
                wdn__mcp_rs_emit(srv, rs, n);
                count++;
            }
        }
    }
    pthread_mutex_unlock(&srv->mu);
    wdn_buf_reset(&b);
    json_decref(n);
    return count;
}

int wdn_mcp_server_broadcast(struct wdn_mcp_server *srv, const char *method, json_t *params)
{
    return notify(srv, wdn_jsonrpc_make_request(NULL, method, params), NULL);
}

int wdn_mcp_server_resource_updated(struct wdn_mcp_server *srv, const char *uri)
{
    return notify(srv,
                  wdn_jsonrpc_make_request(NULL, "notifications/resources/updated",
                                           json_pack("{s:s}", "uri", uri)),
                  uri);
}
