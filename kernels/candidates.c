/* Candidate extraction from the score map. docs/kernel.md "Candidates". */
#include "candidates.h"

#include <string.h>

void lt_cand_reset(struct lt_cand_state *st, const struct lt_cand_params *p,
                   const struct lt_cand_geom *g)
{
    st->p = *p;
    st->g = *g;
    st->n_open = 0;
    st->next_u = 0;
}

/* First input column of score column u, clipped at the start of the run. */
static uint64_t first_col(const struct lt_cand_state *st, uint64_t u)
{
    uint64_t c = u * st->g.cols_per_score;
    return c > st->g.delay ? c - st->g.delay : 0;
}

static uint64_t col_tick(const struct lt_cand_state *st, uint64_t c)
{
    return st->g.first_tick + c * st->g.ticks_per_col;
}

static void emit(struct lt_cand_state *st, const struct lt_cand_open *o, struct lt_cand_sink *sink)
{
    if (sink->n >= sink->max) {
        st->dropped++;
        return;
    }
    struct lt_candidate *c = &sink->out[sink->n++];
    const uint32_t P = st->g.group_wires;
    /* End (exclusive) of the last score column's input columns; clipped at the run start, a
     * candidate still spans at least one column. */
    uint64_t c_end = (o->u_last + 1U) * st->g.cols_per_score;
    c_end = c_end > st->g.delay ? c_end - st->g.delay : 0;
    if (c_end < 1) c_end = 1;
    memset(c, 0, sizeof(*c));
    c->time_start = col_tick(st, first_col(st, o->u_first));
    c->time_end = col_tick(st, c_end) - 1U;
    c->time_peak = col_tick(st, first_col(st, o->u_peak));
    c->cell = st->g.cell;
    c->channel_start = (uint16_t)(o->g0 * P);
    c->channel_end = (uint16_t)(o->g1 * P + P - 1U);
    c->peak_score = o->peak;
    c->adc_sum = o->adc_sum;
    c->n_pixels = o->n_pixels;
    c->algorithm = 0;
}

/* The open list is kept in opening order. Removals compact it in one pass with a write index, a
 * loop with a fixed bound (LT_KERNEL_MAX_OPEN) as HLS wants. */
static void remove_at(struct lt_cand_state *st, uint32_t i)
{
    uint32_t w = 0;
    for (uint32_t k = 0; k < LT_KERNEL_MAX_OPEN; k++) {
        if (k >= st->n_open) break;
        if (k != i) st->open[w++] = st->open[k];
    }
    st->n_open = w;
}

static uint32_t sat_add(uint32_t a, uint32_t b)
{
    return a + b < a ? UINT32_MAX : a + b;
}

/* Peak order: larger score wins; on a tie the earlier column, then the lower group. */
static int better_peak(int32_t s1, uint64_t u1, uint32_t g1, int32_t s2, uint64_t u2, uint32_t g2)
{
    if (s1 != s2) return s1 > s2;
    if (u1 != u2) return u1 < u2;
    return g1 < g2;
}

static void merge_into(struct lt_cand_open *t, const struct lt_cand_open *o)
{
    if (o->g0 < t->g0) t->g0 = o->g0;
    if (o->g1 > t->g1) t->g1 = o->g1;
    if (o->u_first < t->u_first) t->u_first = o->u_first;
    if (o->u_last > t->u_last) t->u_last = o->u_last;
    if (better_peak(o->peak, o->u_peak, o->g_peak, t->peak, t->u_peak, t->g_peak)) {
        t->peak = o->peak;
        t->u_peak = o->u_peak;
        t->g_peak = o->g_peak;
    }
    t->adc_sum = sat_add(t->adc_sum, o->adc_sum);
    t->n_pixels += o->n_pixels;
}

/* Sum of max(x, 0) over the input pixels score pixel (u, g) covers. */
static uint32_t pixel_adc(const struct lt_cand_state *st, const struct lt_xhist *h, uint64_t u,
                          uint32_t g)
{
    const uint32_t P = st->g.group_wires, Q = st->g.cols_per_score;
    uint64_t c_lo = u * Q, c_hi = c_lo + Q; /* before the delay shift */
    c_lo = c_lo > st->g.delay ? c_lo - st->g.delay : 0;
    c_hi = c_hi > st->g.delay ? c_hi - st->g.delay : 0;
    uint32_t s = 0;
    for (uint32_t q = 0; q < LT_KERNEL_MAX_POOL_T; q++) {
        uint64_t c = c_lo + q;
        if (c >= c_hi || c >= h->n_cols) break;
        const int16_t *row = h->x[c & ((h->ring ? h->ring : LT_KERNEL_HIST_COLS) - 1U)];
        for (uint32_t k = 0; k < LT_KERNEL_MAX_POOL_W; k++) {
            if (k >= P) break;
            int16_t v = row[g * P + k];
            if (v > 0) s += (uint32_t)v; /* at most 8 x 16 x 32767: no overflow */
        }
    }
    return s;
}

static void add_run(struct lt_cand_state *st, const struct lt_cand_open *run,
                    struct lt_cand_sink *sink)
{
    const uint64_t u = run->u_last;
    const uint32_t gw = st->p.gap_w;
    /* One pass: the first touching candidate takes the run, later touching ones are merged into
     * it and dropped from the list (compaction keeps the opening order). */
    int32_t target = -1;
    uint32_t w = 0;
    for (uint32_t i = 0; i < LT_KERNEL_MAX_OPEN; i++) {
        if (i >= st->n_open) break;
        struct lt_cand_open o = st->open[i];
        int touches = run->g0 <= o.g1 + gw + 1U && o.g0 <= run->g1 + gw + 1U &&
                      u - o.u_last <= (uint64_t)st->p.gap_t + 1U;
        if (touches && target >= 0) {
            merge_into(&st->open[target], &o);
            continue;
        }
        if (touches) {
            merge_into(&o, run);
            target = (int32_t)w;
        }
        st->open[w++] = o;
    }
    st->n_open = w;
    if (target >= 0) return;
    if (st->n_open == LT_KERNEL_MAX_OPEN) {
        uint32_t oldest = 0;
        for (uint32_t i = 1; i < LT_KERNEL_MAX_OPEN; i++)
            if (st->open[i].u_last < st->open[oldest].u_last) oldest = i;
        emit(st, &st->open[oldest], sink);
        remove_at(st, oldest);
        st->evicted++;
    }
    st->open[st->n_open++] = *run;
}

void lt_cand_push(struct lt_cand_state *st, const int16_t *score, const struct lt_xhist *h,
                  struct lt_cand_sink *sink)
{
    const uint64_t u = st->next_u++;
    const int32_t thr = st->p.threshold;
    struct lt_cand_open run;
    int in_run = 0;
    for (uint32_t g = 0; g < LT_KERNEL_MAX_WIRES; g++) {
        if (g >= st->g.n_groups) break;
        int32_t s = score[g];
        if (s <= thr) continue;
        if (in_run && g - run.g1 - 1U > st->p.gap_w) {
            add_run(st, &run, sink);
            in_run = 0;
        }
        uint32_t adc = pixel_adc(st, h, u, g);
        if (!in_run) {
            run.g0 = run.g1 = g;
            run.u_first = run.u_last = run.u_peak = u;
            run.g_peak = g;
            run.peak = s;
            run.adc_sum = adc;
            run.n_pixels = 1;
            in_run = 1;
        } else {
            run.g1 = g;
            if (s > run.peak) {
                run.peak = s;
                run.g_peak = g;
            }
            run.adc_sum = sat_add(run.adc_sum, adc);
            run.n_pixels++;
        }
    }
    if (in_run) add_run(st, &run, sink);
    /* Close what can no longer grow (in list order), compacting the rest. */
    uint32_t w = 0;
    for (uint32_t i = 0; i < LT_KERNEL_MAX_OPEN; i++) {
        if (i >= st->n_open) break;
        if (u - st->open[i].u_last > st->p.gap_t)
            emit(st, &st->open[i], sink);
        else
            st->open[w++] = st->open[i];
    }
    st->n_open = w;
}

void lt_cand_flush(struct lt_cand_state *st, struct lt_cand_sink *sink)
{
    for (uint32_t i = 0; i < LT_KERNEL_MAX_OPEN; i++)
        if (i < st->n_open) emit(st, &st->open[i], sink);
    st->n_open = 0;
}

uint64_t lt_cand_watermark(const struct lt_cand_state *st)
{
    uint64_t wm = col_tick(st, first_col(st, st->next_u));
    for (uint32_t i = 0; i < LT_KERNEL_MAX_OPEN; i++) {
        if (i >= st->n_open) break;
        uint64_t t = col_tick(st, first_col(st, st->open[i].u_first));
        if (t < wm) wm = t;
    }
    return wm;
}
