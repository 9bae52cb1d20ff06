/* The TP/TA chain: see tp_chain.h and docs/kernel.md "TP/TA baseline". */
#include "tp_chain.h"

#include "lt_error.h"
#include "ticks.h"

int lt_tp_params_check(const struct lt_tp_params *p, char *err, size_t errlen)
{
    if (p->d > LT_KERNEL_MAX_D_LOG2) {
        lt_seterr(err, errlen, "kernel.tp.downsample %u out of range 0..%u", p->d,
                  LT_KERNEL_MAX_D_LOG2);
        return LT_ERANGE;
    }
    if (p->threshold_x < 1 || p->threshold_x > 32766) {
        lt_seterr(err, errlen, "kernel.tp.threshold_adc %.2f out of range 0.25..8191.5",
                  p->threshold_x / (double)LT_TP_X_PER_ADC);
        return LT_ERANGE;
    }
    if (p->adj_wires > LT_KERNEL_MAX_WIRES || p->min_hits > LT_KERNEL_MAX_WIRES * 64U) {
        lt_seterr(err, errlen, "kernel.tp.adj_wires %u or min_hits %u out of range", p->adj_wires,
                  p->min_hits);
        return LT_ERANGE;
    }
    if (p->adj_ticks > LT_TP_MAX_CLUSTER_TICKS) {
        lt_seterr(err, errlen, "kernel.tp.adj_time_us: %u ticks is longer than a cluster may be",
                  p->adj_ticks);
        return LT_ERANGE;
    }
    if (p->settle_ticks > LT_TP_MAX_SETTLE_TICKS) {
        lt_seterr(err, errlen, "kernel.tp.settle_us: %u ticks is longer than %u (100 ms)",
                  p->settle_ticks, LT_TP_MAX_SETTLE_TICKS);
        return LT_ERANGE;
    }
    if (p->group_wires > LT_KERNEL_MAX_WIRES || p->group_ticks > LT_TP_MAX_CLUSTER_TICKS ||
        p->piece_min < 0 || p->piece_min > INT16_MAX) {
        lt_seterr(err, errlen,
                  "kernel.tp.group_wires %u (0..%u), group_time_us (%u ticks, at most %u) or "
                  "group_min_piece %d (0..32767) out of range",
                  p->group_wires, LT_KERNEL_MAX_WIRES, p->group_ticks, LT_TP_MAX_CLUSTER_TICKS,
                  p->piece_min);
        return LT_ERANGE;
    }
    if (p->min_score < 0 || p->min_score > INT16_MAX || p->score_unit < 1) {
        lt_seterr(err, errlen, "kernel.tp.min_score %d (0..32767) or score_unit %u (>= 1) invalid",
                  p->min_score, p->score_unit);
        return LT_ERANGE;
    }
    return 0;
}

void lt_tp_chain_reset(struct lt_tp_chain *t, const struct lt_tp_params *p, uint32_t cell,
                       uint32_t n_wires, uint64_t first_tick)
{
    t->p = *p;
    t->ticks_per_col = LT_TICKS_PER_SAMPLE << p->d;
    t->first_tick = first_tick;
    t->settle_cols = (p->settle_ticks + t->ticks_per_col - 1) / t->ticks_per_col;
    lt_tp_hits_reset(&t->hits, n_wires, (int16_t)p->threshold_x,
                     LT_TP_MAX_HIT_TICKS / t->ticks_per_col);
    struct lt_tp_cluster_params cp = {
        .adj_wires = p->adj_wires,
        /* the largest gap in whole columns: a gap shorter than a column cannot be seen */
        .adj_cols = p->adj_ticks / t->ticks_per_col,
        .min_hits = p->min_hits,
        .min_score = p->min_score,
        .score_unit = p->score_unit,
        .group_wires = p->group_wires,
        .group_cols = p->group_ticks / t->ticks_per_col,
        .piece_min = p->piece_min,
    };
    struct lt_tp_cluster_geom g = {
        .cell = cell, .d = p->d, .ticks_per_col = t->ticks_per_col, .first_tick = first_tick};
    lt_tp_cluster_reset(&t->clus, &cp, &g);
}

/* What hit finding sees while the pedestal settles: nothing above threshold, so no hit opens and
 * the watermark still moves on. */
static const int16_t settling_column[LT_KERNEL_MAX_WIRES];

void lt_tp_chain_columns(struct lt_tp_chain *t,
                         const int16_t x[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES], uint32_t ncols,
                         struct lt_cand_sink *sink)
{
    for (uint32_t c = 0; c < LT_PRE_COLS_MAX; c++) {
        if (c >= ncols) break;
        uint64_t col = t->hits.next_col;
        const int16_t *xc = col < t->settle_cols ? settling_column : x[c];
        uint32_t n = lt_tp_hits_column(&t->hits, xc, t->closed);
        t->n_hits += n;
        for (uint32_t i = 0; i < LT_KERNEL_MAX_WIRES; i++) {
            if (i >= n) break;
            lt_tp_cluster_add(&t->clus, &t->closed[i], sink);
        }
        lt_tp_cluster_end_column(&t->clus, col, t->hits.n_active > 0, t->hits.min_active_start,
                                 sink);
    }
}

void lt_tp_chain_flush(struct lt_tp_chain *t, struct lt_cand_sink *sink)
{
    uint32_t n = lt_tp_hits_flush(&t->hits, t->closed);
    t->n_hits += n;
    for (uint32_t i = 0; i < LT_KERNEL_MAX_WIRES; i++) {
        if (i >= n) break;
        lt_tp_cluster_add(&t->clus, &t->closed[i], sink);
    }
    lt_tp_cluster_flush(&t->clus, sink);
}

uint64_t lt_tp_chain_watermark(const struct lt_tp_chain *t)
{
    uint64_t c = t->hits.next_col;
    if (t->hits.n_active > 0 && t->hits.min_active_start < c) c = t->hits.min_active_start;
    uint64_t m = lt_tp_cluster_min_start(&t->clus);
    if (m < c) c = m;
    return t->first_tick + c * t->ticks_per_col;
}
