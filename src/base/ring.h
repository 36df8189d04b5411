/* A bounded queue of variable-size entries in memory allocated once (the audit log's records, the
 * span exporter's spans): producers copy an entry in under their owner's lock, one consumer takes
 * a run of entries, reads them without the lock and then gives their bytes back. Nothing is
 * allocated after wdn_ring_init; a full ring refuses an entry (the caller counts the drop). */
#ifndef WDN_BASE_RING_H
#define WDN_BASE_RING_H

#include <stddef.h>

/** Caller-allocated; mem is owned (wdn_ring_free). Fields are read under the owner's lock. */
struct wdn_ring {
    char *mem;
    size_t bytes;      /* capacity, a multiple of 8 */
    size_t head, tail; /* offsets: the oldest entry, and where the next one goes */
    size_t used;       /* bytes taken, the gap a wrap leaves at the end included */
    size_t count;      /* entries held */
    size_t max_count;  /* entries it may hold */
};

/** The entries a consumer took (wdn_ring_take), read one by one with wdn_ring_next. */
struct wdn_ring_run {
    size_t off;   /* where the next entry is */
    size_t left;  /* entries not read yet */
    size_t n;     /* entries in the run */
    size_t bytes; /* bytes read so far, wrap gaps included */
};

/** Allocates room for max_count entries and bytes bytes of them (headers included). 0 or
 * WDN_ENOMEM. Pages are touched only as entries fill them. */
int wdn_ring_init(struct wdn_ring *r, size_t max_count, size_t bytes);
/** Frees the memory; the ring is empty and unusable until initialised again. */
void wdn_ring_free(struct wdn_ring *r);

/** The bytes an entry of size bytes takes in the ring (its header, rounded up to 8). */
size_t wdn_ring_cost(size_t size);

/**
 * Room for an entry of size bytes (8-aligned), to be filled before the owner's lock is let go;
 * NULL when the ring holds max_count entries or has no room for it. Under the owner's lock.
 */
void *wdn_ring_push(struct wdn_ring *r, size_t size);

/** Takes every entry held now (under the owner's lock); they stay until wdn_ring_release. */
void wdn_ring_take(const struct wdn_ring *r, struct wdn_ring_run *run);

/** The next entry of the run and its size, or NULL at its end. No lock needed: producers only
 * write past the entries taken. */
const void *wdn_ring_next(const struct wdn_ring *r, struct wdn_ring_run *run, size_t *size);

/** Gives back the bytes of the entries of run read so far (under the owner's lock). */
void wdn_ring_release(struct wdn_ring *r, const struct wdn_ring_run *run);

#endif
