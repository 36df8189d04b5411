/* Browser state, all in memory: sessions (an HttpOnly, Secure, SameSite=Lax cookie naming a
 * random id; only its SHA-256 is kept; a fresh id at every sign-in), the CSRF token of each
 * session, authorization requests waiting for a person to sign in and consent (bound to the
 * session that started them), and the throttle on failed sign-ins per user and per address
 * (a few free failures, then waits that double up to a bound). Every function here runs with
 * the issuer's mutex held. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "authserver/as_int.h"
#include "base/error.h"

struct session {
    bool used;
    unsigned char hash[WDN__AS_HASH_LEN];
    char user[WDN__AS_USER_MAX + 1];
    char csrf[WDN__AS_RANDOM_CHARS + 1];
    int64_t started, expires;
};

struct wdn__as_sessions {
    struct session v[WDN_ISSUER_MAX_SESSIONS];
    struct throttle {
        bool used;
        char key[WDN__AS_USER_MAX + 64];
        unsigned failures;
        int64_t last_failure, locked_until;
    } t[WDN_ISSUER_MAX_THROTTLE];
};

struct wdn__as_sessions *wdn__as_sessions_new(void)
{
    return calloc(1, sizeof(struct wdn__as_sessions));
}

void wdn__as_sessions_free(struct wdn__as_sessions *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

const char *wdn__as_cookie_name(const struct wdn_issuer *iss)
{
    /* The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and
     * for the whole origin, so no other site or path can plant or shadow it. It needs https. */
    return iss->https ? "__Host-warden-session" : "warden-session";
}

/* The value of cookie name in a Cookie header ("a=1; b=2"), or an empty slice. The first
 * occurrence whose value is a session id's shape wins. */
static struct wdn_str cookie_value(struct wdn_str header, const char *name)
{
    size_t nl = strlen(name);

    for (size_t i = 0; i < header.len;) {
        while (i < header.len && (header.p[i] == ' ' || header.p[i] == ';'))
            i++;
        size_t start = i;
        while (i < header.len && header.p[i] != ';')
            i++;
        struct wdn_str pair = {header.p + start, i - start};
        if (pair.len > nl && memcmp(pair.p, name, nl) == 0 && pair.p[nl] == '=') {
            struct wdn_str v = {pair.p + nl + 1, pair.len - nl - 1};
            if (v.len == WDN__AS_RANDOM_CHARS)
                return v;
        }
    }
    return (struct wdn_str){NULL, 0};
}

void wdn__as_session_find(struct wdn_issuer *iss, struct wdn_str cookie, int64_t now,
                          struct wdn__as_session_view *out)
{
    struct wdn_str v = cookie_value(cookie, wdn__as_cookie_name(iss));
    unsigned char h[WDN__AS_HASH_LEN];

    memset(out, 0, sizeof(*out));
    if (v.len == 0)
        return;
    wdn__as_sha256(v.p, v.len, h);
    for (size_t i = 0; i < WDN_ISSUER_MAX_SESSIONS; i++) {
        struct session *s = &iss->sessions->v[i];
        if (!s->used || memcmp(s->hash, h, sizeof(h)) != 0)
            continue;
        if (s->expires <= now) {
            memset(s, 0, sizeof(*s));
            return;
        }
        out->found = true;
        memcpy(out->hash, h, sizeof(h));
        memcpy(out->user, s->user, sizeof(out->user));
        memcpy(out->csrf, s->csrf, sizeof(out->csrf));
        return;
    }
}

/* A free slot: an unused or expired one, else the oldest anonymous session, else the oldest. */
static struct session *session_slot(struct wdn__as_sessions *ss, int64_t now)
{
    struct session *anon = NULL, *old = NULL;

    for (size_t i = 0; i < WDN_ISSUER_MAX_SESSIONS; i++) {
        struct session *s = &ss->v[i];
        if (!s->used || s->expires <= now)
            return s;
        if (s->user[0] == '\0' && (anon == NULL || s->started < anon->started))
            anon = s;
        if (old == NULL || s->started < old->started)
            old = s;
    }
    return anon ? anon : old;
}

int wdn__as_session_start(struct wdn_issuer *iss, const char *user, int64_t now,
                          struct wdn__as_session_view *out, struct wdn_issuer_response *resp)
{
    char sid[WDN__AS_RANDOM_CHARS + 1], cookie[256];
    struct session *s = session_slot(iss->sessions, now);
    int rc;

    memset(out, 0, sizeof(*out));
    memset(s, 0, sizeof(*s));
    rc = wdn__as_random(sid, sizeof(sid), 32);
    if (rc == 0)
        rc = wdn__as_random(s->csrf, sizeof(s->csrf), 32);
    if (rc == 0)
        rc = wdn_fmt(s->user, sizeof(s->user), "%s", user);
    if (rc != 0)
        return rc;
    wdn__as_sha256(sid, strlen(sid), s->hash);
    s->used = true;
    s->started = now;
    s->expires = now + WDN_ISSUER_SESSION_LIFETIME_S;
    out->found = true;
    memcpy(out->hash, s->hash, sizeof(out->hash));
    memcpy(out->user, s->user, sizeof(out->user));
    memcpy(out->csrf, s->csrf, sizeof(out->csrf));
    rc =
        wdn_fmt(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=%d; HttpOnly; Secure; SameSite=Lax",
                wdn__as_cookie_name(iss), sid, WDN_ISSUER_SESSION_LIFETIME_S);
    if (rc == 0)
        rc = wdn__as_add_header(resp, "Set-Cookie", cookie);
    OPENSSL_cleanse(sid, sizeof(sid));
    OPENSSL_cleanse(cookie, sizeof(cookie));
    return rc;
}

void wdn__as_session_end(struct wdn_issuer *iss, const unsigned char hash[WDN__AS_HASH_LEN])
{
    for (size_t i = 0; i < WDN_ISSUER_MAX_SESSIONS; i++) {
        struct session *s = &iss->sessions->v[i];
        if (s->used && memcmp(s->hash, hash, WDN__AS_HASH_LEN) == 0)
            memset(s, 0, sizeof(*s));
    }
}

int wdn__as_session_clear_cookie(struct wdn_issuer *iss, struct wdn_issuer_response *resp)
{
    char cookie[160];

    wdn_fmt(cookie, sizeof(cookie), "%s=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
            wdn__as_cookie_name(iss));
    return wdn__as_add_header(resp, "Set-Cookie", cookie);
}

/* ---- Pending authorization requests ------------------------------------------------------- */

struct pending {
    bool used;
    char rid[WDN__AS_RANDOM_CHARS + 1];
    unsigned char session[WDN__AS_HASH_LEN];
    struct wdn__as_authz a;
    int64_t expires;
};

struct wdn__as_pending {
    struct pending v[WDN_ISSUER_MAX_PENDING];
};

struct wdn__as_pending *wdn__as_pending_new(void)
{
    return calloc(1, sizeof(struct wdn__as_pending));
}

void wdn__as_pending_free(struct wdn__as_pending *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < WDN_ISSUER_MAX_PENDING; i++)
        wdn__as_authz_reset(&p->v[i].a);
    free(p);
}

static void pending_drop(struct pending *p)
{
    wdn__as_authz_reset(&p->a);
    memset(p, 0, sizeof(*p));
}

int wdn__as_pending_put(struct wdn_issuer *iss, const struct wdn__as_authz *a,
                        const unsigned char session[WDN__AS_HASH_LEN], int64_t now, char *rid,
                        size_t cap)
{
    struct pending *slot = NULL;
    int rc;

    for (size_t i = 0; i < WDN_ISSUER_MAX_PENDING; i++) {
        struct pending *p = &iss->pending->v[i];
        if (!p->used || p->expires <= now) {
            slot = p;
            break;
        }
        if (slot == NULL || p->expires < slot->expires)
            slot = p; /* full: the one closest to expiring goes */
    }
    pending_drop(slot);
    rc = wdn__as_random(slot->rid, sizeof(slot->rid), 32);
    if (rc == 0)
        rc = wdn__as_authz_copy(&slot->a, a);
    if (rc == 0)
        rc = wdn_fmt(rid, cap, "%s", slot->rid);
    if (rc != 0) {
        pending_drop(slot);
        return rc;
    }
    slot->used = true;
    memcpy(slot->session, session, WDN__AS_HASH_LEN);
    slot->expires = now + WDN_ISSUER_PENDING_LIFETIME_S;
    return 0;
}

int wdn__as_pending_get(struct wdn_issuer *iss, const char *rid,
                        const unsigned char session[WDN__AS_HASH_LEN], int64_t now, bool take,
                        struct wdn__as_authz *out)
{
    memset(out, 0, sizeof(*out));
    if (rid == NULL || strlen(rid) != WDN__AS_RANDOM_CHARS)
        return WDN_ENOTFOUND;
    for (size_t i = 0; i < WDN_ISSUER_MAX_PENDING; i++) {
        struct pending *p = &iss->pending->v[i];
        if (!p->used || !wdn_ct_equal(p->rid, WDN__AS_RANDOM_CHARS, rid, WDN__AS_RANDOM_CHARS))
            continue;
        if (p->expires <= now || memcmp(p->session, session, WDN__AS_HASH_LEN) != 0)
            return WDN_ENOTFOUND;
        int rc = wdn__as_authz_copy(out, &p->a);
        if (take)
            pending_drop(p);
        return rc;
    }
    return WDN_ENOTFOUND;
}

void wdn__as_pending_rebind(struct wdn_issuer *iss, const unsigned char old[WDN__AS_HASH_LEN],
                            const unsigned char fresh[WDN__AS_HASH_LEN])
{
    for (size_t i = 0; i < WDN_ISSUER_MAX_PENDING; i++) {
        struct pending *p = &iss->pending->v[i];
        if (p->used && memcmp(p->session, old, WDN__AS_HASH_LEN) == 0)
            memcpy(p->session, fresh, WDN__AS_HASH_LEN);
    }
}

/* ---- Throttling failed sign-ins ----------------------------------------------------------- */

static struct throttle *throttle_entry(struct wdn__as_sessions *ss, const char *kind,
                                       const char *what, int64_t now, bool create)
{
    char key[sizeof(ss->t[0].key)];
    struct throttle *free_slot = NULL, *oldest = NULL;

    wdn_fmt(key, sizeof(key), "%s:%s", kind, what ? what : "-");
    for (size_t i = 0; i < WDN_ISSUER_MAX_THROTTLE; i++) {
        struct throttle *t = &ss->t[i];
        if (t->used && now - t->last_failure > WDN_ISSUER_THROTTLE_FORGET_S &&
            t->locked_until <= now)
            memset(t, 0, sizeof(*t)); /* forgotten */
        if (t->used && strcmp(t->key, key) == 0)
            return t;
        if (!t->used && free_slot == NULL)
            free_slot = t;
        if (t->used && (oldest == NULL || t->last_failure < oldest->last_failure))
            oldest = t;
    }
    if (!create)
        return NULL;
    if (free_slot == NULL)
        free_slot = oldest;
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = true;
    memcpy(free_slot->key, key, sizeof(key));
    return free_slot;
}

bool wdn__as_throttle_allows(struct wdn_issuer *iss, const char *user, const char *peer,
                             int64_t now, int64_t *wait_s)
{
    const struct throttle *u = throttle_entry(iss->sessions, "u", user, now, false);
    const struct throttle *a = throttle_entry(iss->sessions, "a", peer, now, false);
    int64_t until = 0;

    if (u && u->locked_until > until)
        until = u->locked_until;
    if (a && a->locked_until > until)
        until = a->locked_until;
    *wait_s = until > now ? until - now : 0;
    return until <= now;
}

static void note_failure(struct throttle *t, unsigned free_failures, int64_t now)
{
    int64_t wait = 1;

    t->failures++;
    t->last_failure = now;
    if (t->failures <= free_failures)
        return;
    for (unsigned i = free_failures + 1; i < t->failures && wait < WDN_ISSUER_THROTTLE_MAX_WAIT_S;
         i++)
        wait *= 2;
    if (wait > WDN_ISSUER_THROTTLE_MAX_WAIT_S)
        wait = WDN_ISSUER_THROTTLE_MAX_WAIT_S;
    t->locked_until = now + wait;
}

void wdn__as_throttle_record(struct wdn_issuer *iss, const char *user, const char *peer,
                             int64_t now, bool ok)
{
    struct throttle *u = throttle_entry(iss->sessions, "u", user, now, !ok);

    if (ok) {
        /* A success clears the user's count, not the address's: one valid account must not
         * reset the guessing budget of a whole address. */
        if (u != NULL)
            memset(u, 0, sizeof(*u));
        return;
    }
    note_failure(u, WDN_ISSUER_THROTTLE_FREE_USER, now);
    note_failure(throttle_entry(iss->sessions, "a", peer, now, true), WDN_ISSUER_THROTTLE_FREE_ADDR,
                 now);
}
