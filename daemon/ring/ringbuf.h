/* The latency ring buffer of one cell: the last N frame periods (all streams of one 2048-tick
 * period each) exactly as the source produced them, so a trigger decision that arrives later can
 * still read [t - pre, t + post] from every stream. Like DUNE readout's latency buffer it is
 * preallocated once (and mlock'ed when the process may), overwritten in place, and it answers a
 * time-window request with the frames that overlap it plus what was wrong with the request.
 *
 * Threads: one producer (the cell's source thread) calls lt_ringbuf_slot/commit; any number of
 * readers call lt_ringbuf_read concurrently. The producer never waits for readers: a reader
 * copies, then checks whether the producer lapped the slots it copied and discards those (a
 * seqlock-style validation), so a slow request can never stall the data path. */
#ifndef LARTRIG_RINGBUF_H
#define LARTRIG_RINGBUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "wibeth.h"

struct lt_ringbuf;

struct lt_ringbuf_config {
    uint32_t n_streams; /* frames per period */
    uint32_t capacity;  /* periods held (>= 2) */
    int lock_memory;    /* try mlock(); failure is logged, not fatal */
};

/* Result flags of a read (0 = the whole window was served). */
enum lt_ringbuf_flags {
    LT_RB_BEGIN_GONE = 1U << 0,  /* the start of the window was already overwritten */
    LT_RB_END_MISSING = 1U << 1, /* the end of the window has not arrived yet */
    LT_RB_GAP = 1U << 2,         /* periods inside the window are missing (source gap) */
    LT_RB_NOT_FOUND = 1U << 3,   /* no frame of the window is in the buffer */
};

struct lt_ringbuf_stats {
    uint64_t periods_written;
    uint64_t frames_overwritten; /* frames dropped off the old end to make room */
    uint64_t reads;
    uint64_t reads_not_found;  /* answered with nothing (kDataNotFound) */
    uint64_t reads_incomplete; /* answered partly (kIncomplete) */
    uint64_t read_races;       /* periods discarded because the producer lapped the copy */
    uint32_t fill;             /* periods currently held */
    uint32_t capacity;
    int memory_locked;
};

int lt_ringbuf_create(const struct lt_ringbuf_config *cfg, struct lt_ringbuf **out, char *err,
                      size_t errlen);
void lt_ringbuf_destroy(struct lt_ringbuf *rb);

uint32_t lt_ringbuf_streams(const struct lt_ringbuf *rb);
uint32_t lt_ringbuf_capacity(const struct lt_ringbuf *rb);

/* Producer: the n_streams frames to fill for the next period (frames[stream]); valid until
 * commit. commit publishes the period with its timestamp (ticks; must increase). Returns
 * LT_ERANGE (and publishes nothing) for a timestamp that does not increase. */
lt_wibeth_frame *lt_ringbuf_slot(struct lt_ringbuf *rb);
int lt_ringbuf_commit(struct lt_ringbuf *rb, uint64_t timestamp);

/* Oldest and newest-end tick held (end exclusive: newest period start + 2048). 0/0 when empty. */
void lt_ringbuf_span(const struct lt_ringbuf *rb, uint64_t *oldest, uint64_t *newest_end);

/* Periods held right now that overlap [begin, end) (a read a moment later may return fewer when
 * the producer laps the oldest, or more when new ones arrive). A reader that lays out its
 * destination before reading (a reply built in place) sizes it with this. */
uint32_t lt_ringbuf_count(const struct lt_ringbuf *rb, uint64_t begin, uint64_t end);

/* Number of periods overlapping [begin, end): the most a read of that window can return. */
uint32_t lt_ringbuf_window_periods(uint64_t begin, uint64_t end);

/* Copy every frame overlapping [begin, end) (a frame at t covers [t, t + 2048)) into
 * dst[stream][0 .. *n_periods), streams in order, periods in time order. max_periods bounds the
 * copy (frames past it are reported as LT_RB_END_MISSING). Returns the lt_ringbuf_flags. */
unsigned lt_ringbuf_read(struct lt_ringbuf *rb, uint64_t begin, uint64_t end,
                         lt_wibeth_frame *const *dst, uint32_t max_periods, uint32_t *n_periods);

void lt_ringbuf_get_stats(const struct lt_ringbuf *rb, struct lt_ringbuf_stats *st);

#endif
