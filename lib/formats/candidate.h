/* A trigger candidate: what a cell's kernel found in its data, in detector units. Produced by the
 * cell (kernel candidates stage + time conversion), carried in lt_msg messages, merged by the
 * aggregator and stored in the TriggerCandidate fragment of a record. */
#ifndef LARTRIG_CANDIDATE_H
#define LARTRIG_CANDIDATE_H

#include <stdint.h>

/* Which per-cell chain produced a candidate (kernel.algorithm, docs/kernel.md). */
enum lt_cand_algo {
    LT_CAND_ALGO_CNN = 0, /* the CNN (or any network in a weights file, e.g. the charge sum) */
    LT_CAND_ALGO_TP = 1,  /* the TP/TA baseline: hit finding and adjacency clustering */
};

struct lt_candidate {
    uint64_t time_start; /* ticks */
    uint64_t time_end;   /* ticks, inclusive */
    uint64_t time_peak;  /* ticks */
    uint32_t cell;
    uint16_t channel_start; /* collection-plane wire range, inclusive */
    uint16_t channel_end;
    int32_t peak_score; /* kernel output units (int16 range) */
    uint32_t adc_sum;   /* pedestal-subtracted ADC sum over the candidate's pixels (saturating) */
    uint32_t n_pixels;  /* score-map pixels above threshold */
    uint32_t algorithm; /* the kernel chain that found it: enum lt_cand_algo */
};

#endif
