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

#define SLOT_NS ((uint64_t)TRIGD_LAT_WINDOW_S * 1000000000ULL / TRIGD_LAT_SLOTS)

const uint64_t trigd_lat_bucket_le_ns[TRIGD_LAT_BUCKETS] = {
    1000,     2500,      5000,      10000,     25000,     50000,    100000,
    250000,   500000,    1000000,   2500000,   5000000,   10000000, 25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000};

/* Move slot[cur] forward to the slot holding now_ns, emptying the slots passed over. */
static void advance(struct trigd_latency *l, uint64_t now_ns)
{
    if (!l->slot_start_ns || now_ns - l->slot_start_ns >= (uint64_t)TRIGD_LAT_SLOTS * SLOT_NS) {
        for (unsigned i = 0; i < TRIGD_LAT_SLOTS; i++) l->slot[i] = (struct trigd_hist){0};
        l->slot_start_ns = now_ns;
        return;
    }
    while (now_ns - l->slot_start_ns >= SLOT_NS) {
        l->cur = (l->cur + 1) % TRIGD_LAT_SLOTS;
        l->slot[l->cur] = (struct trigd_hist){0};
        l->slot_start_ns += SLOT_NS;
    }
}

void trigd_latency_add(struct trigd_latency *l, uint64_t now_ns, uint64_t ns)
{
    if (now_ns < l->slot_start_ns) now_ns = l->slot_start_ns; /* a clock never goes back */
    advance(l, now_ns);
    trigd_hist_add(&l->slot[l->cur], ns);
    l->count++;
    l->sum_ns += ns;
    unsigned b = 0;
    while (b < TRIGD_LAT_BUCKETS && ns > trigd_lat_bucket_le_ns[b]) b++;
    if (b < TRIGD_LAT_BUCKETS) l->in_bucket[b]++; /* above the last edge: only in +Inf */
}

void trigd_latency_summarize(const struct trigd_latency *l, uint64_t now_ns,
                             struct trigd_latency_summary *out)
{
    *out = (struct trigd_latency_summary){.count = l->count, .sum_ns = l->sum_ns};
    uint64_t cum = 0;
    for (unsigned b = 0; b < TRIGD_LAT_BUCKETS; b++) out->le[b] = cum += l->in_bucket[b];
    if (!l->slot_start_ns) return;
    /* Slot cur-j began j slots before slot_start; it is in the window while it ended less than
     * TRIGD_LAT_WINDOW_S ago. Without a new sample the window empties as time passes. */
    uint64_t passed = now_ns > l->slot_start_ns ? (now_ns - l->slot_start_ns) / SLOT_NS : 0;
    struct trigd_hist merged = {0};
    for (unsigned j = 0; j + passed < TRIGD_LAT_SLOTS; j++) {
        const struct trigd_hist *h = &l->slot[(l->cur + TRIGD_LAT_SLOTS - j) % TRIGD_LAT_SLOTS];
        merged.n += h->n;
        if (h->max_ns > merged.max_ns) merged.max_ns = h->max_ns;
        for (unsigned b = 0; b < TRIGD_HIST_BINS; b++) merged.counts[b] += h->counts[b];
    }
    out->window_n = merged.n;
    out->p50_ns = trigd_hist_quantile(&merged, 0.50);
    out->p99_ns = trigd_hist_quantile(&merged, 0.99);
}
