/* A bump allocator over a chain of malloc'd blocks; large requests get a block of their own. */
#include "base/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/fault.h"

struct wdn_arena_block {
    struct wdn_arena_block *next;
    size_t used;
    size_t cap;
    alignas(max_align_t) unsigned char data[];
};

void wdn_arena_init(struct wdn_arena *a, size_t block_size, size_t max_total)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 4096;
    a->total = 0;
    a->max_total = max_total;
}

void wdn_arena_reset(struct wdn_arena *a)
{
    struct wdn_arena_block *b = a->head;
    while (b) {
        struct wdn_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
}

void *wdn_arena_alloc(struct wdn_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    struct wdn_arena_block *b = a->head;
    size_t need = (n + align - 1) & ~(align - 1);

    if (need < n || WDN_FAULT(WDN_FAULT_ARENA))
        return NULL;
    if (a->max_total && (need > a->max_total || a->total > a->max_total - need))
        return NULL;
    if (b == NULL || b->cap - b->used < need) {
        size_t cap = need > a->block_size ? need : a->block_size;
        if (cap > SIZE_MAX - sizeof(*b))
            return NULL;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL)
            return NULL;
        b->used = 0;
        b->cap = cap;
        /* An oversized block goes behind the current one, so the current one keeps serving. */
        if (a->head && need > a->block_size) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += need;
    a->total += need;
    return p;
}

void *wdn_arena_calloc(struct wdn_arena *a, size_t n)
{
    void *p = wdn_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *wdn_arena_strdup(struct wdn_arena *a, struct wdn_str s)
{
    char *p = wdn_arena_alloc(a, s.len + 1);
    if (p == NULL)
        return NULL;
    if (s.len)
        memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    return p;
}
