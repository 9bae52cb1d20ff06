/* Trigger-activity clustering of trigger primitives: see tp_cluster.h and docs/kernel.md
 * "TP/TA baseline". */
#include "tp_cluster.h"

#include <string.h>

void lt_tp_cluster_reset(struct lt_tp_cluster_state *st, const struct lt_tp_cluster_params *p,
                         const struct lt_tp_cluster_geom *g)
{
    st->p = *p;
    if (st->p.score_unit < 1) st->p.score_unit = 1;
    st->g = *g;
    st->max_cols = LT_TP_MAX_CLUSTER_TICKS / g->ticks_per_col;
    st->n_open = 0;
    st->n_group = 0;
}

int32_t lt_tp_score(uint32_t adc_sum, uint32_t score_unit)
{
    uint32_t s = adc_sum / (score_unit ? score_unit : 1U);
    return s > INT16_MAX ? INT16_MAX : (int32_t)s;
}

static uint64_t col_tick(const struct lt_tp_cluster_state *st, uint64_t c)
{
    return st->g.first_tick + c * st->g.ticks_per_col;
}

/* 1/4 ADC x columns -> ADC x samples: x D / 4 */
static uint32_t adc_of(const struct lt_tp_cluster_state *st, const struct lt_tp_cluster *o)
{
    uint64_t adc = (o->sum << st->g.d) / LT_TP_X_PER_ADC;
    return adc > UINT32_MAX ? UINT32_MAX : (uint32_t)adc;
}

/* A finished cluster (stage 1 without grouping) or group leaves as a candidate, if it passes. */
static void emit_candidate(struct lt_tp_cluster_state *st, const struct lt_tp_cluster *o,
                           struct lt_cand_sink *sink)
{
    uint32_t adc_sum = adc_of(st, o);
    int32_t score = lt_tp_score(adc_sum, st->p.score_unit);
    if (o->n_hits < st->p.min_hits || score < st->p.min_score) {
        st->below_cut++;
        return;
    }
    if (sink->n >= sink->max) {
        st->dropped++;
        return;
    }
    struct lt_candidate *c = &sink->out[sink->n++];
    memset(c, 0, sizeof(*c));
    c->time_start = col_tick(st, o->c0);
    c->time_end = col_tick(st, o->c1 + 1U) - 1U;
    c->time_peak = col_tick(st, o->c_peak);
    c->cell = st->g.cell;
    c->channel_start = (uint16_t)o->w0;
    c->channel_end = (uint16_t)o->w1;
    c->peak_score = score;
    c->adc_sum = adc_sum;
    c->n_pixels = o->n_hits;
    c->algorithm = LT_CAND_ALGO_TP;
}

/* Remove list[i] of *n, keeping opening order (fixed-bound loop, as HLS wants). */
static void remove_from(struct lt_tp_cluster *list, uint32_t *n, uint32_t cap, uint32_t i)
{
    uint32_t w = 0;
    for (uint32_t k = 0; k < cap; k++) {
        if (k >= *n) break;
        if (k != i) list[w++] = list[k];
    }
    *n = w;
}

static void remove_at(struct lt_tp_cluster_state *st, uint32_t i)
{
    remove_from(st->open, &st->n_open, LT_TP_MAX_CLUSTERS, i);
}

static void remove_group(struct lt_tp_cluster_state *st, uint32_t i)
{
    remove_from(st->group, &st->n_group, LT_TP_MAX_GROUPS, i);
}

static int touches(const struct lt_tp_cluster_state *st, const struct lt_tp_cluster *o,
                   uint32_t wire, uint64_t s, uint64_t e)
{
    const uint32_t aw = st->p.adj_wires;
    const uint64_t at = st->p.adj_cols;
    return wire + aw >= o->w0 && wire <= o->w1 + aw && s <= o->c1 + at + 1U && e + at + 1U >= o->c0;
}

/* b joins a: ranges, peak (the earlier on a tie), sums. */
static void merge(struct lt_tp_cluster *a, const struct lt_tp_cluster *b)
{
    if (b->w0 < a->w0) a->w0 = b->w0;
    if (b->w1 > a->w1) a->w1 = b->w1;
    if (b->c0 < a->c0) a->c0 = b->c0;
    if (b->c1 > a->c1) a->c1 = b->c1;
    if (b->peak > a->peak || (b->peak == a->peak && b->c_peak < a->c_peak)) {
        a->peak = b->peak;
        a->c_peak = b->c_peak;
    }
    a->sum += b->sum;
    a->n_hits += b->n_hits;
}

/* Boxes within the group distance (wire ranges and column ranges closer than the limits). */
static int near_group(const struct lt_tp_cluster_state *st, const struct lt_tp_cluster *g,
                      const struct lt_tp_cluster *p)
{
    const uint32_t gw = st->p.group_wires;
    const uint64_t gc = st->p.group_cols;
    return p->w0 <= g->w1 + gw && p->w1 + gw >= g->w0 && p->c0 <= g->c1 + gc && p->c1 + gc >= g->c0;
}

/* Stage 2: a closed piece joins every group it is near (bridged groups become one) or opens
 * its own. */
static void group_add(struct lt_tp_cluster_state *st, const struct lt_tp_cluster *piece,
                      struct lt_cand_sink *sink)
{
    int into = -1;
    for (uint32_t i = 0; i < LT_TP_MAX_GROUPS; i++) {
        if (i >= st->n_group) break;
        if (!near_group(st, &st->group[i], piece)) continue;
        if (into < 0) {
            into = (int)i;
            merge(&st->group[i], piece);
        } else {
            merge(&st->group[into], &st->group[i]);
            remove_group(st, i);
            i--;
        }
    }
    if (into >= 0) return;
    if (st->n_group == LT_TP_MAX_GROUPS) {
        uint32_t old = 0;
        for (uint32_t i = 1; i < LT_TP_MAX_GROUPS; i++)
            if (st->group[i].c1 < st->group[old].c1) old = i;
        emit_candidate(st, &st->group[old], sink);
        remove_group(st, old);
        st->evicted++;
    }
    st->group[st->n_group++] = *piece;
}

/* A stage-1 cluster is finished: a candidate, or (grouping on) a piece of a group. */
static void emit(struct lt_tp_cluster_state *st, const struct lt_tp_cluster *o,
                 struct lt_cand_sink *sink)
{
    if (!st->p.group_wires) {
        emit_candidate(st, o, sink);
        return;
    }
    if (lt_tp_score(adc_of(st, o), st->p.score_unit) < st->p.piece_min) {
        st->below_cut++;
        return;
    }
    group_add(st, o, sink);
}

void lt_tp_cluster_add(struct lt_tp_cluster_state *st, const struct lt_tp_hit *h,
                       struct lt_cand_sink *sink)
{
    const uint64_t s = h->col_start, e = h->col_start + h->tot - 1U;
    struct lt_tp_cluster one = {h->wire, h->wire, s, e, h->col_peak, h->peak, h->integral, 1};
    int into = -1;
    for (uint32_t i = 0; i < LT_TP_MAX_CLUSTERS; i++) {
        if (i >= st->n_open) break;
        if (!touches(st, &st->open[i], h->wire, s, e)) continue;
        if (into < 0) {
            into = (int)i;
            merge(&st->open[i], &one);
        } else {
            /* The hit bridges two clusters: they are one activity. */
            merge(&st->open[into], &st->open[i]);
            remove_at(st, i);
            i--;
        }
    }
    if (into >= 0) return;
    if (st->n_open == LT_TP_MAX_CLUSTERS) {
        /* Full: the cluster that ended earliest goes now (first in opening order on a tie). */
        uint32_t old = 0;
        for (uint32_t i = 1; i < LT_TP_MAX_CLUSTERS; i++)
            if (st->open[i].c1 < st->open[old].c1) old = i;
        emit(st, &st->open[old], sink);
        remove_at(st, old);
        st->evicted++;
    }
    st->open[st->n_open++] = one;
}

void lt_tp_cluster_end_column(struct lt_tp_cluster_state *st, uint64_t col, int any_active,
                              uint64_t min_active_start, struct lt_cand_sink *sink)
{
    const uint64_t at = st->p.adj_cols;
    for (uint32_t i = 0; i < LT_TP_MAX_CLUSTERS; i++) {
        if (i >= st->n_open) break;
        const struct lt_tp_cluster *o = &st->open[i];
        /* A hit that closes after `col` is either open now or starts after col; it touches o
         * only if it starts by o->c1 + at + 1. */
        int reachable = col <= o->c1 + at || (any_active && min_active_start <= o->c1 + at + 1U);
        int too_long = col + 1U - o->c0 >= st->max_cols;
        if (reachable && !too_long) continue;
        emit(st, o, sink);
        remove_at(st, i);
        i--;
    }
    if (!st->p.group_wires) return;
    /* A later piece starts no earlier than the open clusters, the open hits and the next
     * column; a group it cannot come near is finished. */
    uint64_t first = col + 1U;
    if (any_active && min_active_start < first) first = min_active_start;
    for (uint32_t i = 0; i < LT_TP_MAX_CLUSTERS; i++) {
        if (i >= st->n_open) break;
        if (st->open[i].c0 < first) first = st->open[i].c0;
    }
    for (uint32_t i = 0; i < LT_TP_MAX_GROUPS; i++) {
        if (i >= st->n_group) break;
        const struct lt_tp_cluster *g = &st->group[i];
        int reachable = first <= g->c1 + st->p.group_cols;
        int too_long = col + 1U - g->c0 >= st->max_cols;
        if (reachable && !too_long) continue;
        emit_candidate(st, g, sink);
        remove_group(st, i);
        i--;
    }
}

void lt_tp_cluster_flush(struct lt_tp_cluster_state *st, struct lt_cand_sink *sink)
{
    for (uint32_t i = 0; i < LT_TP_MAX_CLUSTERS; i++) {
        if (i >= st->n_open) break;
        emit(st, &st->open[i], sink);
    }
    st->n_open = 0;
    for (uint32_t i = 0; i < LT_TP_MAX_GROUPS; i++) {
        if (i >= st->n_group) break;
        emit_candidate(st, &st->group[i], sink);
    }
    st->n_group = 0;
}

uint64_t lt_tp_cluster_min_start(const struct lt_tp_cluster_state *st)
{
    uint64_t m = UINT64_MAX;
    for (uint32_t i = 0; i < LT_TP_MAX_CLUSTERS; i++) {
        if (i >= st->n_open) break;
        if (st->open[i].c0 < m) m = st->open[i].c0;
    }
    for (uint32_t i = 0; i < LT_TP_MAX_GROUPS; i++) {
        if (i >= st->n_group) break;
        if (st->group[i].c0 < m) m = st->group[i].c0;
    }
    return m;
}
