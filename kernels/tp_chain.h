/* The TP/TA baseline as one per-cell chain (docs/kernel.md "TP/TA baseline"): the preprocessed
 * columns (kernels/preprocess.h at the chain's own d, in 1/4 ADC) -> trigger primitives
 * (tp_hits.h) -> trigger activities (tp_cluster.h) -> struct lt_candidate. kernel_top.c runs it
 * instead of the CNN when a cell is set to it (kernel.algorithm = "tp"); the cpu backend only
 * (DUNE runs TP generation in software; the xrt backend refuses it). Fixed-size state, no
 * allocation, one thread per cell. */
#ifndef LARTRIG_KERNEL_TP_CHAIN_H
#define LARTRIG_KERNEL_TP_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "candidates.h"
#include "preprocess.h"
#include "tp_cluster.h"
#include "tp_hits.h"

/* The chain's parameters (configuration keys kernel.tp.*, docs/config.md). */
struct lt_tp_params {
    uint32_t d;          /* columns of D = 2^d samples (0..LT_KERNEL_MAX_D_LOG2) */
    int32_t threshold_x; /* hit: column mean above pedestal > this, in 1/4 ADC (1..32766) */
    uint32_t adj_wires;  /* wire adjacency (0..LT_KERNEL_MAX_WIRES) */
    uint32_t adj_ticks;  /* time adjacency: largest gap between hits, ticks */
    uint32_t min_hits;   /* clusters with fewer hits are not emitted */
    int32_t min_score;   /* clusters with a lower score are not emitted (0..32767) */
    uint32_t score_unit; /* ADC x samples per score unit (>= 1) */
    /* No hits for this long after a (re)start: the pedestal is learnt from the first column and
     * then moves by at most 1/16 ADC per column, so a first column off by noise (a noisy
     * channel, an undershoot, a low-frequency swing) reads as a hit until the tracker has
     * caught up. Ticks (0..LT_TP_MAX_SETTLE_TICKS). */
    uint32_t settle_ticks;
    /* Stage 2 (tp_cluster.h): pieces (clusters scoring >= piece_min) within group_wires wires
     * and group_ticks of each other are summed into one candidate; group_wires 0 = off. */
    uint32_t group_wires; /* 0..LT_KERNEL_MAX_WIRES */
    uint32_t group_ticks; /* 0..LT_TP_MAX_CLUSTER_TICKS */
    int32_t piece_min;    /* score units, 0..32767 */
};
#define LT_TP_MAX_SETTLE_TICKS 6250000U /* 100 ms */

/* 0, or LT_ERANGE with a message naming the parameter. */
int lt_tp_params_check(const struct lt_tp_params *p, char *err, size_t errlen);

/* A hit longer than this is split (a stuck or saturated channel must not hold the watermark). */
#define LT_TP_MAX_HIT_TICKS 62500U /* 1 ms */

struct lt_tp_chain {
    struct lt_tp_params p;
    struct lt_tp_hits_state hits;
    struct lt_tp_cluster_state clus;
    struct lt_tp_hit closed[LT_KERNEL_MAX_WIRES]; /* one column's closed hits */
    uint32_t ticks_per_col;
    uint64_t settle_cols; /* columns 0 .. settle_cols-1 make no hits (lt_tp_params.settle_ticks) */
    uint64_t first_tick;
    uint64_t n_hits; /* cumulative trigger primitives */
};

/* Start a run of a cell with n_wires collection wires at tick first_tick (column 0). */
void lt_tp_chain_reset(struct lt_tp_chain *t, const struct lt_tp_params *p, uint32_t cell,
                       uint32_t n_wires, uint64_t first_tick);

/* ncols preprocessed columns of one frame period. */
void lt_tp_chain_columns(struct lt_tp_chain *t,
                         const int16_t x[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES], uint32_t ncols,
                         struct lt_cand_sink *sink);

/* End of a run: close every hit and cluster. */
void lt_tp_chain_flush(struct lt_tp_chain *t, struct lt_cand_sink *sink);

/* No candidate emitted later can start before this tick. */
uint64_t lt_tp_chain_watermark(const struct lt_tp_chain *t);

#endif
