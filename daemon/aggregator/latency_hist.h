/* A fixed log-scale histogram of latencies in nanoseconds (4 bins per octave, ~19% wide), for
 * p50/p99 in status and benchmarks without storing samples or allocating. */
#ifndef TRIGD_LATENCY_HIST_H
#define TRIGD_LATENCY_HIST_H

#include <stdint.h>

#define TRIGD_HIST_BINS 256

struct trigd_hist {
    uint64_t n;
    uint64_t max_ns;
    uint64_t counts[TRIGD_HIST_BINS];
};

void trigd_hist_add(struct trigd_hist *h, uint64_t ns);
/* Upper edge of the bin holding quantile q (0..1); 0 when empty. */
uint64_t trigd_hist_quantile(const struct trigd_hist *h, double q);

#endif
