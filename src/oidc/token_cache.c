/* Verified-token cache. Sixteen shards, each a fixed array of entries with a chained hash
 * index and an LRU list, all preallocated: a hit takes one uncontended lock, touches a few
 * cache lines and allocates nothing. The key is a SHA-256, uniformly distributed, so its
 * bytes serve directly as shard and bucket numbers. */
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
};

struct shard {
    pthread_mutex_t mu;
    struct entry *e;
    int32_t *bucket;
    uint32_t mask;
    int32_t cap, used, free_head, head, tail;
    uint64_t hits, misses, evictions;
} __attribute__((aligned(64)));

struct wdn_token_cache {
    struct shard s[SHARDS];
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

struct wdn_token_cache *wdn_token_cache_new(size_t capacity)
{
    struct wdn_token_cache *c;
    size_t per;

    if (capacity > WDN_TOKEN_CACHE_MAX_ENTRIES)
        capacity = WDN_TOKEN_CACHE_MAX_ENTRIES;
    if (capacity < SHARDS)
        capacity = SHARDS;
    per = (capacity + SHARDS - 1) / SHARDS;
    c = aligned_alloc(64, sizeof(*c));
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->s[i];
        uint32_t nb = 1;
        while (nb < 2 * per)
            nb <<= 1;
        pthread_mutex_init(&s->mu, NULL);
        s->e = calloc(per, sizeof(struct entry));
        s->bucket = malloc(nb * sizeof(int32_t));
        s->mask = nb - 1;
        s->cap = (int32_t)per;
        if (s->e == NULL || s->bucket == NULL) {
            wdn_token_cache_free(c);
            return NULL;
        }
        for (uint32_t b = 0; b < nb; b++)
            s->bucket[b] = NIL;
        for (int32_t k = 0; k < s->cap; k++)
            s->e[k].hnext = k + 1 < s->cap ? k + 1 : NIL;
        s->free_head = 0;
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
        for (int32_t k = 0; s->e && k < s->cap; k++)
            wdn_jwt_release(s->e[k].jwt);
        free(s->e);
        free(s->bucket);
        pthread_mutex_destroy(&s->mu);
    }
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
}

struct wdn_jwt *wdn_token_cache_get(struct wdn_token_cache *c, const unsigned char key[32],
                                    int64_t now)
{
    struct shard *s = shard_of(c, key);
    struct wdn_jwt *hit = NULL, *drop = NULL;
    int32_t i;

    pthread_mutex_lock(&s->mu);
    i = find(s, key, NULL);
    if (i != NIL && now < s->e[i].expires_at) {
        hit = wdn_jwt_ref(s->e[i].jwt);
        if (s->head != i) {
            lru_unlink(s, i);
            lru_push_front(s, i);
        }
        s->hits++;
    } else {
        if (i != NIL) {
            remove_entry(s, i, &drop);
            s->evictions++;
        }
        s->misses++;
    }
    pthread_mutex_unlock(&s->mu);
    wdn_jwt_release(drop);
    return hit;
}

void wdn_token_cache_put(struct wdn_token_cache *c, const unsigned char key[32], struct wdn_jwt *j,
                         int64_t expires_at)
{
    struct shard *s = shard_of(c, key);
    struct wdn_jwt *drop = NULL;
    uint32_t b;
    int32_t i;

    wdn_jwt_ref(j);
    pthread_mutex_lock(&s->mu);
    i = find(s, key, NULL);
    if (i != NIL) {
        drop = s->e[i].jwt;
        s->e[i].jwt = j;
        s->e[i].expires_at = expires_at;
        goto out;
    }
    if (s->free_head == NIL) {
        remove_entry(s, s->tail, &drop);
        s->evictions++;
    }
    i = s->free_head;
    s->free_head = s->e[i].hnext;
    memcpy(s->e[i].key, key, 32);
    s->e[i].jwt = j;
    s->e[i].expires_at = expires_at;
    b = bucket_of(s, key);
    s->e[i].hnext = s->bucket[b];
    s->bucket[b] = i;
    lru_push_front(s, i);
    s->used++;
out:
    pthread_mutex_unlock(&s->mu);
    wdn_jwt_release(drop);
}

size_t wdn_token_cache_retain_keys(struct wdn_token_cache *c, const struct wdn_jwks *keys)
{
    size_t removed = 0;

    for (int n = 0; n < SHARDS; n++) {
        struct shard *s = &c->s[n];
        pthread_mutex_lock(&s->mu);
        for (int32_t i = s->head; i != NIL;) {
            int32_t next = s->e[i].next;
            if (!wdn_jwks_has_thumbprint(keys, wdn_jwt_key_thumbprint(s->e[i].jwt))) {
                struct wdn_jwt *drop = NULL;
                remove_entry(s, i, &drop);
                /* Releasing under the lock is fine here: this is the rare swap path. */
                wdn_jwt_release(drop);
                s->evictions++;
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
        out->evictions += s->evictions;
        out->entries += (uint64_t)s->used;
        pthread_mutex_unlock(&s->mu);
    }
}
