/* The trigger algorithms of the module-level trigger. They see one time-ordered stream of
 * candidates (merged over all cells by the aggregator) plus the decided-up-to horizon, and
 * "fire" proposals; the aggregator merges overlapping proposals into decisions.
 *
 *   single      one candidate with peak score (and ADC sum) above a high threshold
 *   coincidence >= K different cells with a candidate (score >= min) within a window W
 *   summed      the summed peak score of all candidates within a sliding window W >= threshold
 *   periodic    every P ticks of data time (unbiased data)
 *   random      Poisson times at a mean rate in data time, seeded (unbiased data)
 *
 * A windowed algorithm that fires starts a new window after the candidate that made it fire, so
 * one burst of activity yields one proposal per algorithm, not one per candidate. */
#ifndef TRIGD_TRIGGER_ALGOS_H
#define TRIGD_TRIGGER_ALGOS_H

#include <stddef.h>
#include <stdint.h>

#include "candidate.h"
#include "trigger_candidate.h"

/* The algorithms (enum lt_algo, their names) are numbered by the record format: they are bits of
 * the TriggerCandidate payload (lib/formats/trigger_candidate.h). */

/* One proposal: the algorithm, the trigger time and the candidates behind it (may be none). */
typedef void (*trigd_fire_fn)(void *user, enum lt_algo algo, uint64_t time,
                              const struct lt_candidate *cands, uint32_t n);

/* The algorithms' configuration slice (the `trigger` group of the configuration file,
 * docs/config.md; daemon/config fills it). */
struct trigd_coincidence_config {
    int enabled;
    uint32_t min_cells;
    uint64_t window_ticks;
    int32_t min_score;
};

struct trigd_summed_config {
    int enabled;
    uint64_t window_ticks;
    int64_t threshold; /* sum of peak scores */
};

struct trigd_single_config {
    int enabled;
    int32_t min_score;
    uint32_t min_adc_sum;
};

struct trigd_periodic_config {
    int enabled;
    uint64_t period_ticks;
};

struct trigd_random_config {
    int enabled;
    double rate_hz; /* mean rate in data time */
    uint64_t seed;
};

struct trigd_trigger_config {
    uint64_t watermark_slack_ticks; /* decide only up to min(watermark) - slack */
    uint32_t cell_timeout_ms;       /* silent longer -> cell missing */
    uint32_t max_candidates_per_decision;
    /* Data-plane bounds, the candidate gate's (docs/security.md): a watermark or candidate further
     * ahead of the other cells (or the cell's own last watermark) than this is refused as a clock
     * fault; a sequence number further ahead of the last accepted one than max_sequence_gap is
     * refused. */
    uint64_t max_time_lead_ticks;
    uint64_t max_sequence_gap;
    /* When the readout or writer cannot take a decision: 0 = inhibit it (dead time, counted:
     * a live detector cannot wait); 1 = hold it, in time order, until they can (an offline
     * replay, whose sources then wait through the ring gate: nothing is lost to dead time). */
    int wait_when_busy;
    struct trigd_coincidence_config coincidence;
    struct trigd_summed_config summed;
    struct trigd_single_config single;
    struct trigd_periodic_config periodic;
    struct trigd_random_config random;
};

struct trigd_algos;

int trigd_algos_create(const struct trigd_trigger_config *cfg, struct trigd_algos **out, char *err,
                       size_t errlen);
void trigd_algos_destroy(struct trigd_algos *a);

/* Feed the next candidate in time order (time_start non-decreasing). Periodic/random proposals
 * due at or before its time fire first, so proposals come out in time order per algorithm. */
void trigd_algos_candidate(struct trigd_algos *a, const struct lt_candidate *c, trigd_fire_fn fire,
                           void *user);
/* A candidate that arrived after the aggregator had decided past its time. Only the
 * single-candidate algorithm, which needs no time order, still looks at it: a big deposit is
 * never lost to lateness (its decision may then overlap an earlier one). */
void trigd_algos_late_candidate(struct trigd_algos *a, const struct lt_candidate *c,
                                trigd_fire_fn fire, void *user);
/* Every candidate before `horizon` has been fed: fire the periodic/random proposals before it. */
void trigd_algos_advance(struct trigd_algos *a, uint64_t horizon, trigd_fire_fn fire, void *user);

/* How far before the newest candidate a proposal's time can lie (the longest window). */
uint64_t trigd_algos_lookback(const struct trigd_algos *a);
/* Run-time change of the thresholds (config reload): single.min_score/min_adc_sum,
 * coincidence.min_cells/min_score, summed.threshold, random.rate_hz. Windows, periods and enabled
 * flags stay as created (they shape the aggregator's look-back). Candidates already in a window
 * keep counting until they leave it. */
void trigd_algos_set_thresholds(struct trigd_algos *a, const struct trigd_trigger_config *cfg);
/* Candidates that fell out of a full window buffer (counted, never silent). */
uint64_t trigd_algos_window_overflows(const struct trigd_algos *a);
/* Periodic/random slots passed over after a gap in data time: each algorithm fires at most once
 * per step of the horizon, whatever the step's size (the rest are counted here). */
uint64_t trigd_algos_timer_skipped(const struct trigd_algos *a, enum lt_algo algo);

#endif
