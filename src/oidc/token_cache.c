/* Verified-token cache. Sixteen shards, each a fixed array of entries with a chained hash
 * index and an LRU list, all preallocated: a hit takes one uncontended lock, touches a few
 * cache lines and allocates nothing. The key is a SHA-256, uniformly distributed, so its
 * bytes serve directly as shard and bucket numbers.
 *
 * Memory. The budget covers the index (sized at one slot per WDN_TOKEN_CACHE_ENTRY_BYTES of
 * budget) and the claims the entries hold, as wdn_jwt_mem_cost estimates them; each shard
 * gets a sixteenth of what the index leaves. A put evicts from the shard's LRU tail until the
 * new entry fits in both the slots and the bytes. */
#include "oidc/token_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/str.h"

#define SHARDS 16
#define NIL (-1)

struct entry {
    unsigned char key[32];
    int64_t expires_at;
    struct wdn_jwt *jwt; /* NULL: free */
    int32_t hnext;       /* bucket chain, or free list */
    int32_t prev, next;  /* LRU: head is most recent */
    uint32_t cost;       /* wdn_jwt_mem_cost of jwt, charged to the shard */
    uint16_t group;
};

struct shard {
    pthread_mutex_t mu;
    struct entry *e;
    int32_t *bucket;
    uint32_t mask;
    int32_t cap, used, free_head, head, tail;
    int32_t fresh; /* entries [fresh, cap) were never used: not on the free list, not touched */
    size_t bytes, budget; /* claims held, and the most they may be */
    uint64_t hits, misses, ev_size, ev_exp, ev_key, too_large;
} __attribute__((aligned(64)));

struct wdn_token_cache {
    struct shard s[SHARDS];
    struct entry *entries; /* every shard's entries, one allocation */
    size_t index_bytes, max_bytes;
};

static uint32_t bucket_of(const struct shard *s, const unsigned char *k)
{
    uint32_t h;
    memcpy(&h, k, sizeof(h));
    return h & s->mask;
}

static struct shard *shard_of(struct wdn_token_cache *c, const unsigned char *k)
{
    return &c->s[k[31] % SHARDS];
}

struct wdn_token_cache *wdn_token_cache_new(size_t max_bytes)
{
    struct wdn_token_cache *c;
    size_t capacity, per, claims;
    uint32_t nb = 1;

    if (max_bytes < WDN_TOKEN_CACHE_MIN_BYTES)
        max_bytes = WDN_TOKEN_CACHE_MIN_BYTES;
    if (max_bytes > WDN_TOKEN_CACHE_MAX_BYTES)
        max_bytes = WDN_TOKEN_CACHE_MAX_BYTES;
    capacity = max_bytes / WDN_TOKEN_CACHE_ENTRY_BYTES;
    if (capacity > WDN_TOKEN_CACHE_MAX_ENTRIES)
        capacity = WDN_TOKEN_CACHE_MAX_ENTRIES;
    per = (capacity + SHARDS - 1) / SHARDS;
    while (nb < 2 * per)
        nb <<= 1;
    c = aligned_alloc(64, sizeof(*c));
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->max_bytes = max_bytes;
    c->index_bytes = sizeof(*c) + SHARDS * (per * sizeof(struct entry) + nb * sizeof(int32_t));
    claims = max_bytes > c->index_bytes ? max_bytes - c->index_bytes : 0;
    /* One zeroed allocation for all shards: large enough that malloc maps it from the kernel,
     * so the pages of entries never used are never touched and stay out of the RSS (an idle
     * or one-token sidecar would otherwise carry the whole index, about 1.2 MB by default). */
    c->entries = calloc(per * SHARDS, sizeof(struct entry));
    if (c->entries == NULL) {
        free(c);
        return NULL;
    }
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->s[i];
        s->budget = claims / SHARDS;
        pthread_mutex_init(&s->mu, NULL);
        s->e = c->entries + (size_t)i * per;
        s->bucket = malloc(nb * sizeof(int32_t));
        s->mask = nb - 1;
        s->cap = (int32_t)per;
        if (s->bucket == NULL) {
            wdn_token_cache_free(c);
            return NULL;
        }
        for (uint32_t b = 0; b < nb; b++)
            s->bucket[b] = NIL;
        s->free_head = NIL;
        s->fresh = 0;
        s->head = s->tail = NIL;
    }
    return c;
}

void wdn_token_cache_free(struct wdn_token_cache *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->s[i];
        for (int32_t k = 0; s->e && k < s->fresh; k++)
            wdn_jwt_release(s->e[k].jwt);
        free(s->bucket);
        pthread_mutex_destroy(&s->mu);
    }
    free(c->entries);
    free(c);
}

static void lru_unlink(struct shard *s, int32_t i)
{
    struct entry *e = &s->e[i];
    if (e->prev != NIL)
        s->e[e->prev].next = e->next;
    else
        s->head = e->next;
    if (e->next != NIL)
        s->e[e->next].prev = e->prev;
    else
        s->tail = e->prev;
}

static void lru_push_front(struct shard *s, int32_t i)
{
    struct entry *e = &s->e[i];
    e->prev = NIL;
    e->next = s->head;
    if (s->head != NIL)
        s->e[s->head].prev = i;
    s->head = i;
    if (s->tail == NIL)
        s->tail = i;
}

static int32_t find(struct shard *s, const unsigned char *k, int32_t **link)
{
    int32_t *l = &s->bucket[bucket_of(s, k)];
    while (*l != NIL) {
        /* Constant-time: the stored keys are hashes of valid tokens. */
        if (wdn_ct_equal(s->e[*l].key, 32, k, 32)) {
            if (link)
                *link = l;
            return *l;
        }
        l = &s->e[*l].hnext;
    }
    return NIL;
}

/* Removes entry i; its reference is handed to *drop for release outside the lock. */
static void remove_entry(struct shard *s, int32_t i, struct wdn_jwt **drop)
{
    int32_t *l = NULL;
    struct entry *e = &s->e[i];

    find(s, e->key, &l);
    if (l != NULL)
        *l = e->hnext;
    lru_unlink(s, i);
    *drop = e->jwt;
    e->jwt = NULL;
    e->hnext = s->free_head;
    s->free_head = i;
    s->used--;
    s->bytes -= e->cost;
}

/* A cost that fits the entry's field; anything that large exceeds every shard budget. */
static uint32_t cost_of(const struct wdn_jwt *j)
{
    size_t m = wdn_jwt_mem_cost(j);
    return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

struct wdn_jwt *wdn_token_cache_get(struct wdn_token_cache *c, const unsigned char key[32],
                                    int64_t now, unsigned *group)
{
    struct shard *s = shard_of(c, key);
    struct wdn_jwt *hit = NULL, *drop = NULL;
    int32_t i;

    pthread_mutex_lock(&s->mu);
    i = find(s, key, NULL);
    if (i != NIL && now < s->e[i].expires_at) {
        hit = wdn_jwt_ref(s->e[i].jwt);
        if (group)
            *group = s->e[i].group;
        if (s->head != i) {
            lru_unlink(s, i);
            lru_push_front(s, i);
        }
        s->hits++;
    } else {
        if (i != NIL) {
            remove_entry(s, i, &drop);
            s->ev_exp++;
        }
        s->misses++;
    }
    pthread_mutex_unlock(&s->mu);
    wdn_jwt_release(drop);
    return hit;
}

void wdn_token_cache_put(struct wdn_token_cache *c, const unsigned char key[32], struct wdn_jwt *j,
                         int64_t expires_at, unsigned group)
{
    struct shard *s = shard_of(c, key);
    struct wdn_jwt *drop[8] = {NULL};
    size_t ndrop = 0;
    uint32_t cost = cost_of(j);
    uint32_t b;
    int32_t i;

    pthread_mutex_lock(&s->mu);
    i = find(s, key, NULL);
    if (i != NIL) {
        /* The same token verified again (two requests raced): keep the stored claims. */
        s->e[i].expires_at = expires_at;
        goto out;
    }
    if (cost > s->budget) {
        s->too_large++;
        goto out;
    }
    /* Evict from the tail until the entry fits. Releasing a claims tree can take a while, so
     * up to eight references are dropped after the lock; beyond that, under it. */
    while ((s->free_head == NIL && s->fresh == s->cap) || s->bytes + cost > s->budget) {
        struct wdn_jwt *d = NULL;
        remove_entry(s, s->tail, &d);
        s->ev_size++;
        if (ndrop < sizeof(drop) / sizeof(drop[0]))
            drop[ndrop++] = d;
        else
            wdn_jwt_release(d);
    }
    if (s->free_head != NIL) {
        i = s->free_head;
        s->free_head = s->e[i].hnext;
    } else {
        i = s->fresh++;
    }
    memcpy(s->e[i].key, key, 32);
    s->e[i].jwt = wdn_jwt_ref(j);
    s->e[i].expires_at = expires_at;
    s->e[i].cost = cost;
    s->e[i].group = (uint16_t)group;
    b = bucket_of(s, key);
    s->e[i].hnext = s->bucket[b];
    s->bucket[b] = i;
    lru_push_front(s, i);
    s->used++;
    s->bytes += cost;
out:
    pthread_mutex_unlock(&s->mu);
    for (size_t k = 0; k < ndrop; k++)
        wdn_jwt_release(drop[k]);
}

size_t wdn_token_cache_retain_keys(struct wdn_token_cache *c, const struct wdn_jwks *keys,
                                   unsigned group)
{
    size_t removed = 0;

    for (int n = 0; n < SHARDS; n++) {
        struct shard *s = &c->s[n];
        pthread_mutex_lock(&s->mu);
        for (int32_t i = s->head; i != NIL;) {
            int32_t next = s->e[i].next;
            if (s->e[i].group == (uint16_t)group &&
                !wdn_jwks_has_thumbprint(keys, wdn_jwt_key_thumbprint(s->e[i].jwt))) {
                struct wdn_jwt *drop = NULL;
                remove_entry(s, i, &drop);
                /* Releasing under the lock is fine here: this is the rare swap path. */
                wdn_jwt_release(drop);
                s->ev_key++;
                removed++;
            }
            i = next;
        }
        pthread_mutex_unlock(&s->mu);
    }
    return removed;
}

void wdn_token_cache_stats(struct wdn_token_cache *c, struct wdn_token_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (int n = 0; n < SHARDS; n++) {
        struct shard *s = &c->s[n];
        pthread_mutex_lock(&s->mu);
        out->hits += s->hits;
        out->misses += s->misses;
        out->evicted_size += s->ev_size;
        out->evicted_exp += s->ev_exp;
        out->evicted_key += s->ev_key;
        out->too_large += s->too_large;
        out->entries += (uint64_t)s->used;
        out->bytes += s->bytes;
        pthread_mutex_unlock(&s->mu);
    }
    out->evictions = out->evicted_size + out->evicted_exp + out->evicted_key;
    out->bytes += c->index_bytes;
    out->max_bytes = c->max_bytes;
}
