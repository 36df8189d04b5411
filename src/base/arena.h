/* Arenas: many small allocations freed at once (one per request, one per parsed document). */
#ifndef WDN_BASE_ARENA_H
#define WDN_BASE_ARENA_H

#include <stddef.h>

#include "base/str.h"

struct wdn_arena_block;

/** Caller-allocated; blocks are owned by the arena. */
struct wdn_arena {
    struct wdn_arena_block *head;
    size_t block_size;
    size_t total;     /* bytes handed out */
    size_t max_total; /* 0: unlimited */
};

/** Prepares an empty arena; the first block is allocated on first use. max_total 0 = none. */
void wdn_arena_init(struct wdn_arena *a, size_t block_size, size_t max_total);
/** Frees every block; the arena can be used again. */
void wdn_arena_reset(struct wdn_arena *a);
/** n bytes aligned for any type, or NULL (out of memory, or max_total reached). */
void *wdn_arena_alloc(struct wdn_arena *a, size_t n);
/** Zeroed n bytes. */
void *wdn_arena_calloc(struct wdn_arena *a, size_t n);
/** A NUL-terminated copy of s in the arena. */
char *wdn_arena_strdup(struct wdn_arena *a, struct wdn_str s);

#endif
