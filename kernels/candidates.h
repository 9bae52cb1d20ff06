/* Stage 3 of the per-cell kernel: threshold the score map and group hits into trigger candidates
 * (docs/kernel.md "Candidates"). Works one score column at a time with a bounded list of open
 * candidates; a candidate is emitted when it has not grown for more than gap_t columns. Times
 * come out in absolute ticks with the network's latency removed. */
#ifndef LARTRIG_KERNEL_CANDIDATES_H
#define LARTRIG_KERNEL_CANDIDATES_H

#include <stdint.h>

#include "candidate.h"
#include "kernel_arch.h"

#define LT_KERNEL_MAX_OPEN 64U
/* Input-column history kept for the ADC sums: must cover delay + prod(pt) columns. */
#define LT_KERNEL_HIST_COLS 256U
_Static_assert(LT_KERNEL_HIST_COLS >= LT_KERNEL_MAX_DELAY + LT_KERNEL_MAX_POOL_T,
               "history must reach back over the receptive field");
_Static_assert((LT_KERNEL_HIST_COLS & (LT_KERNEL_HIST_COLS - 1U)) == 0, "a power of two");

/* The last LT_KERNEL_HIST_COLS input columns x (preprocess output), a ring indexed by column. */
struct lt_xhist {
    int16_t x[LT_KERNEL_HIST_COLS][LT_KERNEL_MAX_WIRES];
    uint64_t n_cols; /* columns written since the run started */
    /* Columns the ring uses: a power of two <= LT_KERNEL_HIST_COLS covering what the candidate
     * stage reads back (kernel_top.c: a network's few columns stay in cache instead of cycling
     * through 480 KB); 0 means LT_KERNEL_HIST_COLS. Column c is at x[c & (ring - 1)]. */
    uint32_t ring;
};

struct lt_cand_params {
    int16_t threshold; /* hit: score > threshold */
    uint32_t gap_w;    /* wire groups bridged inside a column and between columns */
    uint32_t gap_t;    /* score columns a candidate may go without a hit */
};

/* How score pixels map to wires and time, from the network and the cell. */
struct lt_cand_geom {
    uint32_t cell;
    uint32_t n_groups;       /* score values per column */
    uint32_t group_wires;    /* P = prod(pw) */
    uint32_t cols_per_score; /* Q = prod(pt) */
    uint32_t delay;          /* receptive-field delay, input columns */
    uint32_t ticks_per_col;  /* D * 32 */
    uint64_t first_tick;     /* tick of input column 0 */
};

struct lt_cand_open {
    uint32_t g0, g1; /* wire-group range */
    uint64_t u_first, u_last, u_peak;
    uint32_t g_peak;
    int32_t peak;
    uint32_t adc_sum;
    uint32_t n_pixels;
};

struct lt_cand_state {
    struct lt_cand_params p;
    struct lt_cand_geom g;
    struct lt_cand_open open[LT_KERNEL_MAX_OPEN];
    uint32_t n_open;
    uint64_t next_u;  /* score columns seen */
    uint64_t evicted; /* cumulative: closed early because the open list was full */
    uint64_t dropped; /* cumulative: emitted with no room in the output buffer */
};

void lt_cand_reset(struct lt_cand_state *st, const struct lt_cand_params *p,
                   const struct lt_cand_geom *g);

/* Where emitted candidates go: out[*n .. max-1]; beyond max they are counted in st->dropped. */
struct lt_cand_sink {
    struct lt_candidate *out;
    uint32_t max;
    uint32_t n;
};

/* Process score column st->next_u. h holds the input columns (for ADC sums). */
void lt_cand_push(struct lt_cand_state *st, const int16_t *score, const struct lt_xhist *h,
                  struct lt_cand_sink *sink);
/* Emit every open candidate (end of a run). */
void lt_cand_flush(struct lt_cand_state *st, struct lt_cand_sink *sink);
/* No candidate emitted later can start before this tick. */
uint64_t lt_cand_watermark(const struct lt_cand_state *st);

#endif
