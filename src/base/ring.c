/* A bounded queue of variable-size entries in one allocation (see ring.h). Each entry is an
 * 8-byte header (its size, header included) and its bytes, 8-aligned. An entry never wraps: when
 * the end of the memory is too short for it, it goes to the front and the gap left at the end is
 * marked (a header of size 0, when the gap can hold one) and counted as used until the consumer
 * passes it. */
#include "base/ring.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

struct head {
    uint32_t size; /* header included; 0 marks the gap before a wrap */
    uint32_t pad;
};

int wdn_ring_init(struct wdn_ring *r, size_t max_count, size_t bytes)
{
    memset(r, 0, sizeof(*r));
    r->bytes = (bytes + 7) & ~(size_t)7;
    r->max_count = max_count;
    r->mem = malloc(r->bytes ? r->bytes : 8);
    return r->mem ? 0 : WDN_ENOMEM;
}

void wdn_ring_free(struct wdn_ring *r)
{
    free(r->mem);
    memset(r, 0, sizeof(*r));
}

size_t wdn_ring_cost(size_t size)
{
    return (sizeof(struct head) + size + 7) & ~(size_t)7;
}

void *wdn_ring_push(struct wdn_ring *r, size_t size)
{
    size_t need = wdn_ring_cost(size), at = r->tail, gap = 0;
    struct head *h;

    if (r->count >= r->max_count || need > UINT32_MAX)
        return NULL;
    if (r->count == 0) {
        /* Empty: start again at the front, so a quiet ring has no gaps. */
        r->head = r->tail = at = 0;
        r->used = 0;
    }
    if (at + need > r->bytes) {
        gap = r->bytes - at;
        at = 0;
    }
    if (r->used + gap + need > r->bytes)
        return NULL;
    if (gap >= sizeof(struct head))
        memset(r->mem + r->tail, 0, sizeof(struct head));
    h = (struct head *)(r->mem + at);
    h->size = (uint32_t)need;
    h->pad = 0;
    r->tail = at + need;
    r->used += gap + need;
    r->count++;
    return h + 1;
}

void wdn_ring_take(const struct wdn_ring *r, struct wdn_ring_run *run)
{
    run->off = r->head;
    run->left = run->n = r->count;
    run->bytes = 0;
}

const void *wdn_ring_next(const struct wdn_ring *r, struct wdn_ring_run *run, size_t *size)
{
    const struct head *h;
    size_t at = run->off;

    if (run->left == 0)
        return NULL;
    if (at + sizeof(struct head) > r->bytes || ((const struct head *)(r->mem + at))->size == 0)
        at = 0; /* the gap before a wrap */
    h = (const struct head *)(r->mem + at);
    run->bytes += (at == run->off ? 0 : r->bytes - run->off) + h->size;
    run->off = at + h->size;
    run->left--;
    *size = h->size - sizeof(*h);
    return h + 1;
}

void wdn_ring_release(struct wdn_ring *r, const struct wdn_ring_run *run)
{
    size_t k = run->n - run->left;

    r->head = run->off;
    r->used -= run->bytes;
    r->count -= k;
}
