/* The TP/TA baseline, stage 2: trigger activity (docs/kernel.md "TP/TA baseline"). Trigger
 * primitives (tp_hits.h) that are adjacent in wire (at most adj_wires apart, DUNE's
 * adj_tolerance) and in time (their intervals closer than adj_cols columns) are clustered, as
 * DUNE's channel-adjacency TA makers do; a cluster carries its time window, wire range, peak hit,
 * ADC sum and hit count and leaves as a struct lt_candidate whose score is its ADC sum in
 * score_unit steps (saturating to int16), so the aggregator's min_score cuts work unchanged.
 *
 * A bounded list of open clusters (LT_TP_MAX_CLUSTERS); a cluster closes once no hit can join it
 * any more (no closed hit within adj_cols columns and no open hit that started in time to touch
 * it) or once it spans LT_TP_MAX_CLUSTER_TICKS. Fixed-size state, no allocation. */
#ifndef LARTRIG_KERNEL_TP_CLUSTER_H
#define LARTRIG_KERNEL_TP_CLUSTER_H

#include <stdint.h>

#include "candidate.h"
#include "candidates.h"
#include "tp_hits.h"

#define LT_TP_MAX_CLUSTERS 128U
/* Open groups of the second stage (below); when full, the group that ended earliest is emitted
 * (counted in `evicted`). */
#define LT_TP_MAX_GROUPS 64U
/* 2 ms of data: a cluster longer than this is closed (a track along the drift takes 2.25 ms
 * across a whole drift volume; the aggregator waits watermark_slack_us = 2.5 ms for late
 * candidates, so a longer one would arrive late). */
#define LT_TP_MAX_CLUSTER_TICKS 125000U

struct lt_tp_cluster_params {
    uint32_t adj_wires;  /* hits at most this many wires apart are adjacent */
    uint32_t adj_cols;   /* hit intervals at most this many columns apart are adjacent */
    uint32_t min_hits;   /* smaller clusters are not emitted */
    int32_t min_score;   /* clusters below this score are not emitted */
    uint32_t score_unit; /* ADC x samples per score unit (>= 1) */
    /* Second stage, the pieces of one low-energy shower (0 group_wires = off): an electron of a
     * few MeV leaves its track and, ~10-20 cm away, the blips of its bremsstrahlung photons;
     * stage 1 (DUNE's adjacency) makes each a cluster of its own, and none of them alone
     * stands out of the 214Bi spectrum. A closed cluster scoring >= piece_min is a piece; pieces
     * whose boxes (wire range x column range) come within group_wires wires and group_cols
     * columns of a group join it, and a group is what leaves as the candidate (score = summed
     * ADC of its pieces; min_hits and min_score then apply to the group). Clusters below
     * piece_min (39Ar, noise) are dropped, so they can neither join nor chain groups; widening
     * the stage-1 adjacency instead chains noise hits across the plane. */
    uint32_t group_wires;
    uint32_t group_cols;
    int32_t piece_min;
};

/* How columns map to time and charge. */
struct lt_tp_cluster_geom {
    uint32_t cell;
    uint32_t d;             /* columns are D = 2^d samples */
    uint32_t ticks_per_col; /* D * 32 */
    uint64_t first_tick;    /* tick of column 0 */
};

struct lt_tp_cluster {
    uint32_t w0, w1; /* wire range */
    uint64_t c0, c1; /* first column, last column (inclusive) */
    uint64_t c_peak; /* peak column of the highest hit */
    int32_t peak;    /* highest hit peak, 1/4 ADC */
    uint64_t sum;    /* sum of hit integrals, 1/4 ADC x columns */
    uint32_t n_hits;
};

struct lt_tp_cluster_state {
    struct lt_tp_cluster_params p;
    struct lt_tp_cluster_geom g;
    uint64_t max_cols; /* LT_TP_MAX_CLUSTER_TICKS in columns */
    struct lt_tp_cluster open[LT_TP_MAX_CLUSTERS];
    uint32_t n_open;
    struct lt_tp_cluster group[LT_TP_MAX_GROUPS]; /* second stage, when group_wires > 0 */
    uint32_t n_group;
    /* cumulative counters */
    uint64_t evicted;   /* closed early: the open list was full */
    uint64_t dropped;   /* emitted with no room in the output */
    uint64_t below_cut; /* closed but not emitted (min_hits / min_score; piece_min) */
};

void lt_tp_cluster_reset(struct lt_tp_cluster_state *st, const struct lt_tp_cluster_params *p,
                         const struct lt_tp_cluster_geom *g);

/* Add one closed hit. */
void lt_tp_cluster_add(struct lt_tp_cluster_state *st, const struct lt_tp_hit *h,
                       struct lt_cand_sink *sink);

/* After column `col` (every hit that closed in it added): close the clusters no later hit can
 * join. any_active: some hit is still open, the earliest started at min_active_start. */
void lt_tp_cluster_end_column(struct lt_tp_cluster_state *st, uint64_t col, int any_active,
                              uint64_t min_active_start, struct lt_cand_sink *sink);

/* Emit every open cluster (end of a run), in opening order. */
void lt_tp_cluster_flush(struct lt_tp_cluster_state *st, struct lt_cand_sink *sink);

/* The earliest first column of the open clusters and groups, or UINT64_MAX when none is open. */
uint64_t lt_tp_cluster_min_start(const struct lt_tp_cluster_state *st);

/* A cluster's score: ADC sum (ADC x samples) / score_unit, saturating at INT16_MAX. */
int32_t lt_tp_score(uint32_t adc_sum, uint32_t score_unit);

#endif
