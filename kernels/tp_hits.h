/* The TP/TA baseline, stage 1: trigger primitives (docs/kernel.md "TP/TA baseline"). Per
 * collection wire, hit finding on the preprocessed image (kernels/preprocess.h: column means over
 * D = 2^d samples, pedestal tracked by the frugal median and subtracted): a hit opens at the first
 * column above the threshold and closes at the first column at or below it, as DUNE's trigger
 * primitive generation does per sample. A hit carries start, time over threshold, peak time, peak
 * and integral, the fields of DUNE's TriggerPrimitive.
 *
 * One column at a time, every wire in one pass; closed hits go straight to a callback-free sink
 * (an array the caller drains after each column). Fixed-size state, no allocation: the same C
 * subset as the rest of kernels/. Single-threaded per cell (the cell's worker). */
#ifndef LARTRIG_KERNEL_TP_HITS_H
#define LARTRIG_KERNEL_TP_HITS_H

#include <stdint.h>

#include "kernel_arch.h"

/* Preprocess input shift for the TP chain: x in 1/4 ADC, so +-8191 ADC (all of 14 bits) fits
 * int16 and the threshold has a quarter-ADC resolution. */
#define LT_TP_IN_SHIFT  2U
#define LT_TP_X_PER_ADC 4
/* Wires tested together for a quiet block: divides 48 (a FEMB's collection wires), so n_wires is
 * always a whole number of blocks. */
#define LT_TP_BLOCK 16U
_Static_assert(LT_KERNEL_MAX_WIRES % LT_TP_BLOCK == 0 && 48 % LT_TP_BLOCK == 0, "whole blocks");

/* One trigger primitive, in input columns of the run (column c starts at tick first_tick +
 * c * D * 32) and quarter-ADC units of the column means. */
struct lt_tp_hit {
    uint64_t col_start; /* first column above threshold */
    uint64_t col_peak;  /* first column of the maximum */
    uint32_t tot;       /* columns above threshold (>= 1) */
    uint16_t wire;      /* collection wire of the cell */
    int16_t peak;       /* 1/4 ADC above pedestal */
    uint32_t integral;  /* sum of x over the hit's columns, 1/4 ADC x columns (saturating) */
};

struct lt_tp_hits_state {
    int16_t thr_x;    /* hit while x > thr_x (1/4 ADC) */
    uint32_t max_tot; /* a hit this long is closed and a new one starts (stuck channels) */
    uint32_t n_wires;
    uint64_t next_col; /* columns processed since the run started */
    uint32_t n_active;
    uint64_t min_active_start; /* smallest col_start of the active hits (valid when n_active) */
    uint8_t active[LT_KERNEL_MAX_WIRES];
    uint64_t start[LT_KERNEL_MAX_WIRES];
    uint64_t at_peak[LT_KERNEL_MAX_WIRES];
    int16_t peak[LT_KERNEL_MAX_WIRES];
    uint32_t integral[LT_KERNEL_MAX_WIRES];
    uint64_t split; /* cumulative: hits closed at max_tot */
};

/* Start a run: no hit open. n_wires a multiple of LT_TP_BLOCK (a cell's 48 x n_fembs always is;
 * columns are read in whole blocks), thr_x in 1/4 ADC (> 0), max_tot >= 1 columns. */
void lt_tp_hits_reset(struct lt_tp_hits_state *st, uint32_t n_wires, int16_t thr_x,
                      uint32_t max_tot);

/* Process column st->next_col (x[0 .. n_wires-1]). Hits that close in this column are written to
 * out[0 ..] (at most n_wires of them: one per wire) in wire order; returns their number. */
uint32_t lt_tp_hits_column(struct lt_tp_hits_state *st, const int16_t *x, struct lt_tp_hit *out);

/* Close every open hit (end of a run) into out (room for n_wires); returns their number. */
uint32_t lt_tp_hits_flush(struct lt_tp_hits_state *st, struct lt_tp_hit *out);

#endif
