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

/* One latency as operators see it: percentiles over a stated recent window (the last
 * TRIGD_LAT_WINDOW_S seconds, kept as TRIGD_LAT_SLOTS slots so it moves in steps of
 * TRIGD_LAT_WINDOW_S / TRIGD_LAT_SLOTS: it covers the last 50 to 60 s), and for Prometheus the
 * since-start count, sum and fixed buckets. Owned by one thread (the aggregator's); ~14 KB,
 * no allocation. */
#define TRIGD_LAT_WINDOW_S 60
#define TRIGD_LAT_SLOTS    6
#define TRIGD_LAT_BUCKETS  19
/* Bucket upper edges (ns): 1-2.5-5 steps from 1 us to 1 s. */
extern const uint64_t trigd_lat_bucket_le_ns[TRIGD_LAT_BUCKETS];

struct trigd_latency {
    struct trigd_hist slot[TRIGD_LAT_SLOTS];
    uint64_t slot_start_ns; /* start of slot[cur]; 0 = no sample yet */
    unsigned cur;
    uint64_t count, sum_ns;
    uint64_t in_bucket[TRIGD_LAT_BUCKETS]; /* samples in (le[b-1], le[b]] */
};

struct trigd_latency_summary {
    uint64_t window_n;              /* samples in the window; 0 = the percentiles mean nothing */
    uint64_t p50_ns, p99_ns;        /* over the window */
    uint64_t count, sum_ns;         /* since start */
    uint64_t le[TRIGD_LAT_BUCKETS]; /* cumulative: samples <= trigd_lat_bucket_le_ns[b] */
};

/* A sample of ns taken at monotonic time now_ns. */
void trigd_latency_add(struct trigd_latency *l, uint64_t now_ns, uint64_t ns);
void trigd_latency_summarize(const struct trigd_latency *l, uint64_t now_ns,
                             struct trigd_latency_summary *out);

#endif
