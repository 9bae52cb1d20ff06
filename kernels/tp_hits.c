/* Trigger-primitive hit finding: see tp_hits.h and docs/kernel.md "TP/TA baseline". */
#include "tp_hits.h"

void lt_tp_hits_reset(struct lt_tp_hits_state *st, uint32_t n_wires, int16_t thr_x,
                      uint32_t max_tot)
{
    st->thr_x = thr_x;
    st->max_tot = max_tot ? max_tot : 1U;
    st->n_wires = n_wires;
    st->next_col = 0;
    st->n_active = 0;
    st->min_active_start = 0;
    for (uint32_t j = 0; j < LT_KERNEL_MAX_WIRES; j++) st->active[j] = 0;
}

static void close_hit(struct lt_tp_hits_state *st, uint32_t j, uint64_t end_col,
                      struct lt_tp_hit *h)
{
    h->col_start = st->start[j];
    h->col_peak = st->at_peak[j];
    h->tot = (uint32_t)(end_col - st->start[j]);
    h->wire = (uint16_t)j;
    h->peak = st->peak[j];
    h->integral = st->integral[j];
    st->active[j] = 0;
    st->n_active--;
}

/* One wire's step (the per-sample logic of DUNE's hit finder, per column). */
static inline void wire_step(struct lt_tp_hits_state *st, uint32_t j, int16_t v, uint64_t c,
                             struct lt_tp_hit *out, uint32_t *n, uint64_t *min_start)
{
    if (v > st->thr_x) {
        if (st->active[j] && c - st->start[j] >= st->max_tot) {
            /* Stuck above threshold: close what we have so the watermark moves on. */
            close_hit(st, j, c, &out[(*n)++]);
            st->split++;
        }
        if (!st->active[j]) {
            st->active[j] = 1;
            st->n_active++;
            st->start[j] = c;
            st->at_peak[j] = c;
            st->peak[j] = v;
            st->integral[j] = (uint32_t)v;
        } else {
            if (v > st->peak[j]) {
                st->peak[j] = v;
                st->at_peak[j] = c;
            }
            uint32_t s = st->integral[j] + (uint32_t)v;
            st->integral[j] = s < st->integral[j] ? UINT32_MAX : s;
        }
        if (st->start[j] < *min_start) *min_start = st->start[j];
    } else if (st->active[j]) {
        close_hit(st, j, c, &out[(*n)++]);
    }
}

uint32_t lt_tp_hits_column(struct lt_tp_hits_state *st, const int16_t *x, struct lt_tp_hit *out)
{
    const uint64_t c = st->next_col;
    const int16_t thr = st->thr_x;
    uint32_t n = 0;
    uint64_t min_start = UINT64_MAX;
    /* Almost every wire is quiet in almost every column: a branch-free test of a block of
     * LT_TP_BLOCK wires (which the compiler vectorises) skips the blocks with nothing to do. */
    for (uint32_t b = 0; b < LT_KERNEL_MAX_WIRES / LT_TP_BLOCK; b++) {
        const uint32_t j0 = b * LT_TP_BLOCK;
        if (j0 >= st->n_wires) break;
        int work = 0;
        for (uint32_t k = 0; k < LT_TP_BLOCK; k++) work |= (x[j0 + k] > thr) | st->active[j0 + k];
        if (!work) continue;
        for (uint32_t k = 0; k < LT_TP_BLOCK; k++)
            wire_step(st, j0 + k, x[j0 + k], c, out, &n, &min_start);
    }
    st->min_active_start = min_start;
    st->next_col = c + 1U;
    return n;
}

uint32_t lt_tp_hits_flush(struct lt_tp_hits_state *st, struct lt_tp_hit *out)
{
    uint32_t n = 0;
    for (uint32_t j = 0; j < LT_KERNEL_MAX_WIRES; j++) {
        if (j >= st->n_wires) break;
        if (st->active[j]) close_hit(st, j, st->next_col, &out[n++]);
    }
    return n;
}
