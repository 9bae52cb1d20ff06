/* The per-cell kernel top: time bookkeeping around the three stages. */
#include "kernel_top.h"

#include <string.h>

#include "lt_error.h"
#include "ticks.h"

int lt_kernel_cell_init(struct lt_kernel_cell *k, uint32_t cell_id, const struct lt_cell_geom *g,
                        const struct lt_cand_params *params, char *err, size_t errlen)
{
    int rc = lt_pre_map_build(&k->map, g, err, errlen);
    if (rc < 0) return rc;
    k->cell_id = cell_id;
    k->params = *params;
    k->running = 0;
    k->time_gaps = k->ts_mismatch = k->periods = 0;
    k->cand.evicted = k->cand.dropped = 0;
    k->cand.n_open = 0;
    k->cand.next_u = 0;
#ifndef __SYNTHESIS__
    k->use_tp = 0;
    k->tp.n_hits = k->tp.hits.split = 0;
    k->tp.clus.evicted = k->tp.clus.dropped = k->tp.clus.below_cut = 0;
    k->tp.clus.n_open = 0;
#endif
    return 0;
}

void lt_kernel_cell_restart(struct lt_kernel_cell *k)
{
    k->running = 0;
    k->cand.n_open = 0;
}

/* The TP/TA baseline instead of the network (docs/kernel.md "TP/TA baseline"): cpu backend only,
 * so the card's kernel leaves it out (each helper says whether it handled the cell). Its dropped
 * and evicted clusters are added to k->cand's counters, which the backends read. */
#ifndef __SYNTHESIS__
void lt_kernel_cell_set_tp(struct lt_kernel_cell *k, const struct lt_tp_params *p)
{
    k->use_tp = p != NULL;
    if (p) k->tp_params = *p;
    lt_kernel_cell_restart(k);
}

static int tp_start_run(struct lt_kernel_cell *k, uint64_t t0)
{
    if (!k->use_tp) return 0;
    /* int16 columns whatever the network's activations: hits see the whole ADC range */
    lt_pre_reset(&k->pre, k->tp_params.d, LT_TP_IN_SHIFT, INT16_MAX);
    lt_tp_chain_reset(&k->tp, &k->tp_params, k->cell_id, k->map.n_wires, t0);
    return 1;
}

static void tp_count(struct lt_kernel_cell *k, uint64_t dropped, uint64_t evicted)
{
    k->cand.dropped += k->tp.clus.dropped - dropped;
    k->cand.evicted += k->tp.clus.evicted - evicted;
}

static int tp_columns(struct lt_kernel_cell *k, uint32_t ncols, struct lt_cand_sink *sink)
{
    if (!k->use_tp) return 0;
    const uint64_t dropped = k->tp.clus.dropped, evicted = k->tp.clus.evicted;
    lt_tp_chain_columns(&k->tp, k->xcols, ncols, sink);
    tp_count(k, dropped, evicted);
    return 1;
}

static int tp_flush(struct lt_kernel_cell *k, struct lt_cand_sink *sink)
{
    if (!k->use_tp) return 0;
    const uint64_t dropped = k->tp.clus.dropped, evicted = k->tp.clus.evicted;
    lt_tp_chain_flush(&k->tp, sink);
    tp_count(k, dropped, evicted);
    return 1;
}

static int tp_watermark(const struct lt_kernel_cell *k, uint64_t *wm)
{
    if (!k->use_tp) return 0;
    *wm = lt_tp_chain_watermark(&k->tp);
    return 1;
}
#else
static int tp_start_run(struct lt_kernel_cell *k, uint64_t t0)
{
    (void)k, (void)t0;
    return 0;
}
static int tp_columns(struct lt_kernel_cell *k, uint32_t ncols, struct lt_cand_sink *sink)
{
    (void)k, (void)ncols, (void)sink;
    return 0;
}
static int tp_flush(struct lt_kernel_cell *k, struct lt_cand_sink *sink)
{
    (void)k, (void)sink;
    return 0;
}
static int tp_watermark(const struct lt_kernel_cell *k, uint64_t *wm)
{
    (void)k, (void)wm;
    return 0;
}
#endif

static uint64_t frame_ts(const lt_wibeth_frame *f)
{
    return f->daq_header[1];
}

/* Start a run at tick t0: every stage from scratch. */
static void start_run(struct lt_kernel_cell *k, const struct lt_kernel_net *net, uint64_t t0)
{
    k->hist.n_cols = 0;
    k->running = 1;
    k->next_tick = t0;
    if (tp_start_run(k, t0)) return;
    lt_pre_reset(&k->pre, net->d, net->in_shift, lt_kernel_in_max(net));
    lt_cnn_reset(&k->cnn, net, k->map.n_wires);
    /* Columns go straight into the history when a period's worth written ahead cannot overwrite
     * a column the candidate stage still reads (delay + prod(pt) back): every practical network;
     * else through xcols and a copy. The ring is only as long as that needs (a power of two, so
     * a multiple of the period's 64 / D columns). */
    const uint32_t need =
        lt_kernel_delay(net) + lt_kernel_pool_t(net) + (LT_WIBETH_SAMPLES >> net->d);
    k->hist_direct = need <= LT_KERNEL_HIST_COLS;
    k->hist.ring = LT_KERNEL_HIST_COLS;
    for (uint32_t r = LT_KERNEL_HIST_COLS; r >= need && r >= 1U; r >>= 1) k->hist.ring = r;
    struct lt_cand_geom cg;
    cg.cell = k->cell_id;
    cg.n_groups = k->cnn.w_score;
    cg.group_wires = lt_kernel_pool_w(net);
    cg.cols_per_score = lt_kernel_pool_t(net);
    cg.delay = lt_kernel_delay(net);
    cg.ticks_per_col = LT_TICKS_PER_SAMPLE << net->d;
    cg.first_tick = t0;
    lt_cand_reset(&k->cand, &k->params, &cg);
}

/* End of a run: emit what is open. */
static void flush_run(struct lt_kernel_cell *k, struct lt_cand_sink *sink)
{
    if (!tp_flush(k, sink)) lt_cand_flush(&k->cand, sink);
}

/* Where the current period's input columns go: the network's straight into the input history
 * when it can (hist_direct; the candidate stage's ADC sums read them there; a period's 64 / D
 * columns start at a multiple of 64 / D, which divides the ring, so they never wrap),
 * else and for the TP chain into xcols. */
static int16_t (*period_columns(struct lt_kernel_cell *k))[LT_KERNEL_MAX_WIRES]
{
#ifndef __SYNTHESIS__
    if (k->use_tp) return k->xcols;
#endif
    return k->hist_direct ? &k->hist.x[k->hist.n_cols & (k->hist.ring - 1U)] : k->xcols;
}

/* One frame period starting at tick t, from its frames (pf, all streams) or, when pf is NULL,
 * from its column sums (wsum): time bookkeeping, preprocessing, then the network and the
 * candidate stage (or the TP/TA chain) column by column. Returns the score columns written to
 * `scores` so far. */
static uint64_t run_period(struct lt_kernel_cell *k, const struct lt_kernel_net *net, uint64_t t,
                           const lt_wibeth_frame *pf,
                           uint32_t wsum[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES],
                           struct lt_cand_sink *sink, int16_t *scores, uint64_t scores_cap_cols,
                           uint64_t ncol_out)
{
    if (k->running && t != k->next_tick) {
        /* Data are not contiguous: what is open belongs to the old run. */
        flush_run(k, sink);
        k->time_gaps++;
        k->running = 0;
    }
    if (!k->running) start_run(k, net, t);
    k->next_tick = t + LT_TICKS_PER_FRAME;
    k->periods++;

    int16_t(*x)[LT_KERNEL_MAX_WIRES] = period_columns(k);
    const uint32_t ncols =
        pf ? lt_pre_period(&k->pre, &k->map, pf, x) : lt_pre_columns(&k->pre, &k->map, wsum, x);
    if (tp_columns(k, ncols, sink)) return ncol_out;
    for (uint32_t c = 0; c < LT_PRE_COLS_MAX; c++) {
        if (c >= ncols) break;
        if (!k->hist_direct)
            memcpy(k->hist.x[k->hist.n_cols & (k->hist.ring - 1U)], x[c],
                   k->map.n_wires * sizeof(int16_t));
        k->hist.n_cols++;
        if (!lt_cnn_push(&k->cnn, net, x[c], k->score)) continue;
        if (scores && ncol_out < scores_cap_cols)
            memcpy(scores + ncol_out * k->cnn.w_score, k->score, k->cnn.w_score * sizeof(int16_t));
        ncol_out++;
        lt_cand_push(&k->cand, k->score, &k->hist, sink);
    }
    return ncol_out;
}

/* What a call produced, and the watermark after it. */
static void block_result(const struct lt_kernel_cell *k, const struct lt_cand_sink *sink,
                         uint64_t ncol_out, struct lt_kernel_block *res)
{
    res->n_candidates = sink->n;
    res->score_columns = ncol_out;
    res->watermark = 0;
    if (k->running && !tp_watermark(k, &res->watermark))
        res->watermark = lt_cand_watermark(&k->cand);
}

void lt_kernel_process(struct lt_kernel_cell *k, const struct lt_kernel_net *net,
                       const lt_wibeth_frame *frames, uint32_t n_periods, struct lt_candidate *out,
                       uint32_t max_out, struct lt_kernel_block *res, int16_t *scores,
                       uint64_t scores_cap_cols)
{
    struct lt_cand_sink sink = {out, max_out, 0};
    const uint32_t n_streams = k->map.n_streams;
    uint64_t ncol_out = 0;
    for (uint32_t p = 0; p < LT_KERNEL_MAX_PERIODS; p++) {
        if (p >= n_periods) break;
        const lt_wibeth_frame *pf = &frames[(size_t)p * n_streams];
        uint64_t t = frame_ts(&pf[k->map.used_stream[0]]);
        for (uint32_t s = 0; s < LT_KERNEL_MAX_STREAMS; s++)
            if (s < n_streams && frame_ts(&pf[s]) != t) k->ts_mismatch++;
        ncol_out = run_period(k, net, t, pf, NULL, &sink, scores, scores_cap_cols, ncol_out);
    }
    block_result(k, &sink, ncol_out, res);
}

void lt_kernel_process_sums(struct lt_kernel_cell *k, const struct lt_kernel_net *net, uint64_t t,
                            uint32_t wsum[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES],
                            struct lt_candidate *out, uint32_t max_out, struct lt_kernel_block *res)
{
    struct lt_cand_sink sink = {out, max_out, 0};
    block_result(k, &sink, run_period(k, net, t, NULL, wsum, &sink, NULL, 0, 0), res);
}

uint32_t lt_kernel_cell_flush(struct lt_kernel_cell *k, struct lt_candidate *out, uint32_t max_out)
{
    struct lt_cand_sink sink = {out, max_out, 0};
    flush_run(k, &sink);
    return sink.n;
}
