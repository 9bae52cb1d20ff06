/* Trigger-level truth (truth_match.h): candidates of every decision indexed by (cell, start
 * time), each deposit looks up the candidates that can reach it. O((C + D) log C). */
#include "truth_match.h"

#include <stdlib.h>

#include "lt_error.h"

struct cand_ref {
    const struct lt_candidate *c;
    size_t trig;
};

static uint64_t deposit_end(const struct lt_truth *d)
{
    return d->time_end > d->time ? d->time_end : d->time;
}

int lt_candidate_matches(const struct lt_candidate *c, const struct lt_truth *d)
{
    if (c->cell != d->cell) return 0;
    /* Ranges are inclusive; widen the candidate by the tolerance on both sides. */
    if ((uint32_t)c->channel_start > (uint32_t)d->channel_end + LT_MATCH_WIRE_TOL ||
        (uint32_t)c->channel_end + LT_MATCH_WIRE_TOL < (uint32_t)d->channel_start)
        return 0;
    uint64_t c_end = c->time_end > c->time_start ? c->time_end : c->time_start;
    return c->time_start <= deposit_end(d) + LT_MATCH_TIME_TOL &&
           c_end + LT_MATCH_TIME_TOL >= d->time;
}

static int ref_cmp(const void *a, const void *b)
{
    const struct cand_ref *x = a, *y = b;
    if (x->c->cell != y->c->cell) return x->c->cell < y->c->cell ? -1 : 1;
    if (x->c->time_start != y->c->time_start) return x->c->time_start < y->c->time_start ? -1 : 1;
    return (x->trig > y->trig) - (x->trig < y->trig);
}

/* First index whose (cell, time_start) is not below (cell, t). */
static size_t lower_bound(const struct cand_ref *r, size_t n, uint32_t cell, uint64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct lt_candidate *c = r[mid].c;
        if (c->cell < cell || (c->cell == cell && c->time_start < t))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int lt_match_triggers(const struct lt_truth *truth, size_t n_truth,
                      const struct lt_match_trigger *trig, size_t n_trig, uint8_t *outcome,
                      uint8_t *cause)
{
    size_t n = 0;
    for (size_t k = 0; k < n_trig; k++) n += trig[k].n_cand;
    struct cand_ref *ref = malloc((n ? n : 1) * sizeof *ref);
    if (!ref) return LT_ENOMEM;
    uint64_t longest = 0; /* the longest candidate bounds how early a reaching one starts */
    size_t m = 0;
    for (size_t k = 0; k < n_trig; k++)
        for (uint32_t i = 0; i < trig[k].n_cand; i++) {
            const struct lt_candidate *c = &trig[k].cand[i];
            if (c->time_end > c->time_start && c->time_end - c->time_start > longest)
                longest = c->time_end - c->time_start;
            ref[m++] = (struct cand_ref){c, k};
        }
    qsort(ref, m, sizeof *ref, ref_cmp);
    if (cause)
        for (size_t k = 0; k < n_trig; k++) cause[k] = LT_TRIGGER_NOISE;
    for (size_t i = 0; i < n_truth; i++) {
        const struct lt_truth *d = &truth[i];
        int signal = lt_truth_kind_is_signal(d->kind);
        uint8_t out = LT_DEPOSIT_MISSED;
        uint64_t reach = LT_MATCH_TIME_TOL + longest;
        uint64_t from = d->time > reach ? d->time - reach : 0;
        uint64_t to = deposit_end(d) + LT_MATCH_TIME_TOL;
        for (size_t j = lower_bound(ref, m, d->cell, from);
             j < m && ref[j].c->cell == d->cell && ref[j].c->time_start <= to; j++) {
            if (!lt_candidate_matches(ref[j].c, d)) continue;
            const struct lt_match_trigger *t = &trig[ref[j].trig];
            if (!t->inhibited)
                out = LT_DEPOSIT_FOUND;
            else if (out == LT_DEPOSIT_MISSED)
                out = LT_DEPOSIT_INHIBITED;
            uint8_t why = signal ? LT_TRIGGER_SIGNAL : LT_TRIGGER_BACKGROUND;
            if (cause && cause[ref[j].trig] < why) cause[ref[j].trig] = why;
        }
        if (outcome) outcome[i] = out;
    }
    free(ref);
    return 0;
}
