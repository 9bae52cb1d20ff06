/* One cell's whole kernel: preprocess -> streaming CNN -> candidates, with all state in one
 * fixed-size struct (pedestals, line buffers, input history, open candidates). The cpu backend
 * runs it per cell on worker threads; the FPGA build synthesises the same functions. */
#ifndef LARTRIG_KERNEL_TOP_H
#define LARTRIG_KERNEL_TOP_H

#include <stddef.h>
#include <stdint.h>

#include "candidates.h"
#include "cnn.h"
#include "preprocess.h"
#ifndef __SYNTHESIS__
#include "tp_chain.h"
#endif

struct lt_kernel_cell {
    uint32_t cell_id;
    struct lt_pre_map map;
    struct lt_pre_state pre;
    struct lt_cnn_state cnn;
    struct lt_cand_state cand;
    struct lt_cand_params params;
    struct lt_xhist hist;
    int16_t xcols[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES]; /* one period's input columns */
    int16_t score[LT_KERNEL_MAX_WIRES];
#ifndef __SYNTHESIS__
    /* kernel.algorithm: 0 = the network (cnn, cand), 1 = the TP/TA chain (tp) instead. Software
     * only (DUNE runs TP generation in software): the card's kernel has neither the members nor
     * the code, so its state is what it was. */
    uint8_t use_tp;
    struct lt_tp_params tp_params;
    struct lt_tp_chain tp;
#endif
    uint8_t running;     /* a period has been seen since the last restart */
    uint8_t hist_direct; /* preprocess writes the network's input into hist (kernel_top.c) */
    uint64_t next_tick;  /* expected timestamp of the next period */
    /* Cumulative counters (docs/kernel.md) */
    uint64_t time_gaps;
    uint64_t ts_mismatch;
    uint64_t periods;
};

/* What one call produced. */
struct lt_kernel_block {
    uint32_t n_candidates; /* written to the output array */
    uint64_t score_columns;
    uint64_t watermark; /* ticks; see docs/kernel.md */
};

/* Set up a cell: channel map, candidate parameters; the state starts afresh with the next period.
 * 0 or a negative lt_error. */
int lt_kernel_cell_init(struct lt_kernel_cell *k, uint32_t cell_id, const struct lt_cell_geom *g,
                        const struct lt_cand_params *params, char *err, size_t errlen);

#ifndef __SYNTHESIS__
/* Run the TP/TA baseline (tp_chain.h) instead of the network from the next period on, or the
 * network again when p is NULL; restarts the cell (open candidates are discarded). p must have
 * passed lt_tp_params_check. Not on the card. */
void lt_kernel_cell_set_tp(struct lt_kernel_cell *k, const struct lt_tp_params *p);
#endif

/* Forget the run (new weights or parameters): open candidates are discarded, so call
 * lt_kernel_cell_flush first when they matter. */
void lt_kernel_cell_restart(struct lt_kernel_cell *k);

/* Process n_periods (<= LT_KERNEL_MAX_PERIODS) frame periods, frames[period * n_streams +
 * stream]. Candidates go to out[0 .. max_out-1] (more are counted in k->cand.dropped). When
 * scores is not NULL, score columns are also copied to scores[col * w_score ...] for up to
 * scores_cap_cols columns. */
void lt_kernel_process(struct lt_kernel_cell *k, const struct lt_kernel_net *net,
                       const lt_wibeth_frame *frames, uint32_t n_periods, struct lt_candidate *out,
                       uint32_t max_out, struct lt_kernel_block *res, int16_t *scores,
                       uint64_t scores_cap_cols);

/* One frame period starting at tick t given as its collection-wire column sums wsum[c][wire]
 * (what lt_pre_period unpacks from the frames: sum of the D samples of column c) instead of
 * frames: the rest of the kernel (pedestals, network, candidates) as lt_kernel_process. For the
 * fast background path of bench/bench_fakerate.c, which renders those sums directly. */
void lt_kernel_process_sums(struct lt_kernel_cell *k, const struct lt_kernel_net *net, uint64_t t,
                            uint32_t wsum[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES],
                            struct lt_candidate *out, uint32_t max_out,
                            struct lt_kernel_block *res);

/* Emit every open candidate now (end of data). */
uint32_t lt_kernel_cell_flush(struct lt_kernel_cell *k, struct lt_candidate *out, uint32_t max_out);

#endif
