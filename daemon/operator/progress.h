/* Watchdog on real progress: the operator thread sends WATCHDOG=1 only while the threads that
 * carry the data make progress. Each watched thread bumps a loop counter every iteration of its
 * loop (a few ms apart); a thread that has finished its work (a source at its end) says so. At
 * every watchdog tick the counters are compared with the previous tick's: a counter that did
 * not move, of a thread not finished, is a stall, and systemd should notice it.
 * Owned and called by the operator thread only; no allocation. */
#ifndef TRIGD_PROGRESS_H
#define TRIGD_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define TRIGD_PROGRESS_MAX (TRIGD_MAX_CELLS + 1) /* every cell's data thread + the module */

struct trigd_progress {
    uint64_t last[TRIGD_PROGRESS_MAX];
    int primed; /* the previous tick's counters are in last[] */
};

/* counts[i]: loop counter of watched thread i (n <= TRIGD_PROGRESS_MAX); finished[i]: it has
 * ended its work (never a stall). Returns 1 when every thread moved (or the first call), else
 * 0 with the index of the first stalled one in *stalled. */
int trigd_progress_check(struct trigd_progress *p, const uint64_t *counts, const uint8_t *finished,
                         uint32_t n, uint32_t *stalled);

#endif
