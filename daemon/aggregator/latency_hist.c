#include "latency_hist.h"

/* Bin b covers [edge(b), edge(b+1)): b = 4 * floor(log2 ns) + the next two bits below the top. */
static unsigned bin_of(uint64_t ns)
{
    if (ns < 4) return (unsigned)ns;
    unsigned lg = 63U - (unsigned)__builtin_clzll(ns);
    unsigned sub = (unsigned)((ns >> (lg - 2)) & 3U);
    unsigned b = 4U * lg + sub;
    return b < TRIGD_HIST_BINS ? b : TRIGD_HIST_BINS - 1;
}

static uint64_t upper_edge(unsigned b)
{
    if (b < 4) return b + 1;
    unsigned lg = b / 4, sub = b % 4;
    return ((uint64_t)(4 + sub + 1)) << (lg - 2);
}

void trigd_hist_add(struct trigd_hist *h, uint64_t ns)
{
    h->counts[bin_of(ns)]++;
    h->n++;
    if (ns > h->max_ns) h->max_ns = ns;
}

uint64_t trigd_hist_quantile(const struct trigd_hist *h, double q)
{
    if (!h->n) return 0;
    uint64_t rank = (uint64_t)(q * (double)h->n);
    if (rank >= h->n) rank = h->n - 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < TRIGD_HIST_BINS; b++) {
        seen += h->counts[b];
        if (seen > rank) {
            uint64_t e = upper_edge(b);
            return e < h->max_ns ? e : h->max_ns;
        }
    }
    return h->max_ns;
}
