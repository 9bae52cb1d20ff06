/* Aggregator core: see aggregator.h.
 *
 * Per cell a bounded queue of candidates sorted by time_start. The horizon H is the minimum
 * watermark over live cells minus a slack (a candidate is sent when the kernel closes it, a
 * little after it started). Each time H advances, the queued candidates before H are merged
 * across cells through a min-heap keyed by each queue's head and fed to the algorithms in time
 * order. Proposals go into a short list of pending decisions; a proposal whose time falls inside
 * a pending decision's readout window joins it. A pending decision is issued once H is far enough
 * past its window that no later proposal can still join it. */
#include "aggregator.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "latency_hist.h"
#include "log.h"
#include "lt_clock.h"
#include "lt_error.h"

#define PENDING_MAX 16U

struct agg_cell {
    uint32_t id;
    int missing;
    int heard;
    uint64_t watermark;
    uint64_t last_heard_ns;
    struct lt_candidate *q; /* ring, capacity a->qcap, sorted by time_start from head */
    uint32_t head, n;
    uint64_t candidates, late, overflow, heartbeats, missing_events;
};

struct heap_entry {
    uint64_t t;
    uint32_t idx;
};

struct trigd_agg {
    struct lt_aggregator_config cfg; /* its own slice, copied */
    struct trigd_agg_callbacks cb;
    void (*inhibited_fn)(void *user, const struct trigd_decision *d); /* observer, may be NULL */
    void *inhibited_user;
    struct trigd_algos *algos;
    uint32_t n_cells;
    struct agg_cell *cells;
    int16_t index_of[LT_MAX_CELLS]; /* cell id -> index, -1 = not configured */
    uint32_t qcap, qmask;
    struct heap_entry *heap; /* cells with queued candidates before the horizon, keyed by the
                              * time of their queue head (kept in the entry: no pointer chase) */
    uint64_t horizon;        /* decided up to here (exclusive) */
    uint64_t max_watermark;
    uint64_t next_trigger;
    int any_heard;
    uint64_t now_ns;                /* arrival time of the message being processed */
    struct trigd_decision *pending; /* sorted by time */
    uint32_t n_pending;
    struct trigd_hist latency;           /* since start (benchmarks, the exit log line) */
    struct trigd_latency latency_recent; /* window and buckets (status) */
    struct trigd_agg_stats st;
    int paused;
};

static void on_fire(void *user, enum lt_algo algo, uint64_t t, const struct lt_candidate *c,
                    uint32_t n);

static const struct lt_candidate *q_at(const struct trigd_agg *a, const struct agg_cell *c,
                                       uint32_t i)
{
    return &c->q[(c->head + i) & a->qmask];
}

int trigd_agg_create(const struct lt_aggregator_config *cfg, const struct trigd_agg_callbacks *cb,
                     uint64_t now_ns, struct trigd_agg **out, char *err, size_t errlen)
{
    *out = NULL;
    struct trigd_agg *a = calloc(1, sizeof *a);
    if (!a) goto nomem;
    a->cfg = *cfg;
    a->cb = *cb;
    a->n_cells = cfg->cells.n;
    /* A power of two, so ring indices are a mask, not a division, on the per-candidate path. */
    a->qcap = 16;
    while (a->qcap < cfg->candidate_queue) a->qcap <<= 1;
    a->qmask = a->qcap - 1;
    a->next_trigger = 1;
    memset(a->index_of, 0xff, sizeof a->index_of);
    a->cells = calloc(a->n_cells, sizeof *a->cells);
    a->heap = calloc(a->n_cells, sizeof *a->heap);
    a->pending = calloc(PENDING_MAX, sizeof *a->pending);
    if (!a->cells || !a->heap || !a->pending) goto fail;
    for (uint32_t i = 0; i < a->n_cells; i++) {
        struct agg_cell *c = &a->cells[i];
        c->id = cfg->cells.id[i];
        c->last_heard_ns = now_ns; /* a cell never heard from gets one timeout to show up */
        c->q = calloc(a->qcap, sizeof *c->q);
        if (!c->q) goto fail;
        a->index_of[c->id] = (int16_t)i;
    }
    int rc = trigd_algos_create(&cfg->trigger, &a->algos, err, errlen);
    if (rc) {
        trigd_agg_destroy(a);
        return rc;
    }
    a->st.cells_total = a->n_cells;
    *out = a;
    return 0;
fail:
    trigd_agg_destroy(a);
nomem:
    lt_seterr(err, errlen, "aggregator: out of memory");
    return LT_ENOMEM;
}

void trigd_agg_destroy(struct trigd_agg *a)
{
    if (!a) return;
    if (a->cells)
        for (uint32_t i = 0; i < a->n_cells; i++) free(a->cells[i].q);
    free(a->cells);
    free(a->heap);
    free(a->pending);
    trigd_algos_destroy(a->algos);
    free(a);
}

static struct agg_cell *cell_of(struct trigd_agg *a, uint32_t id)
{
    if (id >= LT_MAX_CELLS || a->index_of[id] < 0) return NULL;
    return &a->cells[a->index_of[id]];
}

static void heard(struct trigd_agg *a, struct agg_cell *c, uint64_t now_ns)
{
    if (!a->any_heard) {
        /* The run starts with the first cell that speaks: the others get a full timeout from
         * here, not from when the module came up (cell processes may start much later). */
        a->any_heard = 1;
        for (uint32_t i = 0; i < a->n_cells; i++) a->cells[i].last_heard_ns = now_ns;
    }
    c->last_heard_ns = now_ns;
    c->heard = 1;
    if (c->missing) {
        c->missing = 0;
        a->st.rejoin_events++;
        a->st.cells_missing--;
        LT_INFO("cell %u rejoined (watermark %llu, decided up to %llu)", c->id,
                (unsigned long long)c->watermark, (unsigned long long)a->horizon);
    }
}

void trigd_agg_set_inhibited_observer(struct trigd_agg *a,
                                      void (*fn)(void *user, const struct trigd_decision *d),
                                      void *user)
{
    a->inhibited_fn = fn;
    a->inhibited_user = user;
}

int trigd_agg_candidates(struct trigd_agg *a, uint32_t cell, const struct lt_candidate *cand,
                         uint32_t n, uint64_t now_ns)
{
    struct agg_cell *c = cell_of(a, cell);
    if (!c) {
        a->st.unknown_cell += n;
        return LT_ERANGE;
    }
    heard(a, c, now_ns);
    for (uint32_t k = 0; k < n; k++) {
        const struct lt_candidate *x = &cand[k];
        if (x->time_start < a->horizon) {
            c->late++;
            a->st.late++;
            LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                               "cell %u: candidate at %llu arrived after the aggregator decided up "
                               "to %llu (late): only the single-candidate trigger sees it",
                               cell, (unsigned long long)x->time_start,
                               (unsigned long long)a->horizon);
            trigd_algos_late_candidate(a->algos, x, on_fire, a);
            continue;
        }
        if (c->n == a->qcap) {
            c->overflow++;
            a->st.overflow++;
            LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                               "cell %u: candidate queue full (%u): candidate dropped", cell,
                               a->qcap);
            continue;
        }
        /* Insert keeping time order; candidates nearly always arrive in order, so this is an
         * append and the shift loop rarely runs. */
        uint32_t pos = c->n;
        while (pos > 0 && q_at(a, c, pos - 1)->time_start > x->time_start) {
            c->q[(c->head + pos) & a->qmask] = *q_at(a, c, pos - 1);
            pos--;
        }
        c->q[(c->head + pos) & a->qmask] = *x;
        c->n++;
        c->candidates++;
        a->st.candidates++;
    }
    return 0;
}

/* ---- proposals -> pending decisions -> issued decisions ---- */

static void add_candidates(struct trigd_agg *a, struct trigd_decision *d,
                           const struct lt_candidate *c, uint32_t n)
{
    uint32_t max = a->cfg.trigger.max_candidates_per_decision;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t cell = c[i].cell % LT_MAX_CELLS;
        if (!((d->cells[cell / 64] >> (cell % 64)) & 1U)) {
            d->cells[cell / 64] |= 1ULL << (cell % 64);
            d->n_cells++;
        }
        if (d->n_candidates < max)
            d->candidates[d->n_candidates++] = c[i];
        else
            d->candidates_dropped++;
    }
}

/* Issue (or drop: paused, inhibited) decision d; 0 when it is held instead because the readout
 * or writer is busy and trigger.wait_when_busy asks to wait (force: never hold). */
static int issue(struct trigd_agg *a, struct trigd_decision *d, int force)
{
    if (a->paused && !(d->algorithms & (1U << LT_ALGO_MANUAL))) {
        a->st.paused++;
        return 1;
    }
    if (a->cb.accept && !a->cb.accept(a->cb.user)) {
        if (a->cfg.trigger.wait_when_busy && !force) {
            a->st.held_busy++;
            return 0;
        }
        a->st.inhibited++;
        for (unsigned k = 0; k < LT_ALGO_COUNT; k++)
            if (d->algorithms & (1U << k)) a->st.inhibited_by[k]++;
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                           "trigger at %llu inhibited: readout/writer queue full (%llu inhibited "
                           "so far)",
                           (unsigned long long)d->time, (unsigned long long)a->st.inhibited);
        d->trigger_number = 0;
        if (a->inhibited_fn) a->inhibited_fn(a->inhibited_user, d);
        return 1;
    }
    d->trigger_number = a->next_trigger++;
    d->horizon_ns = a->now_ns;
    d->decided_ns = lt_mono_ns();
    if (d->decided_ns >= d->horizon_ns && d->horizon_ns) {
        trigd_hist_add(&a->latency, d->decided_ns - d->horizon_ns);
        trigd_latency_add(&a->latency_recent, d->decided_ns, d->decided_ns - d->horizon_ns);
    }
    a->st.decisions++;
    for (unsigned k = 0; k < LT_ALGO_COUNT; k++)
        if (d->algorithms & (1U << k)) a->st.triggers[k]++;
    if (a->cb.emit) a->cb.emit(a->cb.user, d);
    return 1;
}

/* Issue the oldest pending decision and remove it; 0 (nothing removed) when it is held. */
static int pop_pending(struct trigd_agg *a, int force)
{
    if (!issue(a, &a->pending[0], force)) return 0;
    a->n_pending--;
    /* Rotate the struct storage rather than copying 48 KB decisions around. */
    for (uint32_t i = 0; i < a->n_pending; i++) {
        struct trigd_decision *dst = &a->pending[i], *src = &a->pending[i + 1];
        size_t head = offsetof(struct trigd_decision, candidates);
        memcpy(dst, src, head);
        memcpy(dst->candidates, src->candidates, src->n_candidates * sizeof(struct lt_candidate));
    }
    return 1;
}

static void on_fire(void *user, enum lt_algo algo, uint64_t t, const struct lt_candidate *c,
                    uint32_t n)
{
    struct trigd_agg *a = user;
    const struct lt_aggregator_config *ro = &a->cfg;
    a->st.proposals[algo]++;
    /* Join a pending decision whose readout window holds this time. */
    for (uint32_t i = 0; i < a->n_pending; i++) {
        struct trigd_decision *d = &a->pending[i];
        if (t + ro->pre_ticks >= d->time && t <= d->time + ro->post_ticks) {
            d->algorithms |= 1U << algo;
            add_candidates(a, d, c, n);
            a->st.merged++;
            return;
        }
    }
    if (a->n_pending == PENDING_MAX) {
        a->st.pending_overflow++;
        pop_pending(a, 1); /* room is needed now: held or not, the oldest goes */
    }
    uint32_t pos = a->n_pending;
    while (pos > 0 && a->pending[pos - 1].time > t) pos--;
    for (uint32_t i = a->n_pending; i > pos; i--) {
        struct trigd_decision *dst = &a->pending[i], *src = &a->pending[i - 1];
        memcpy(dst, src, offsetof(struct trigd_decision, candidates));
        memcpy(dst->candidates, src->candidates, src->n_candidates * sizeof(struct lt_candidate));
    }
    struct trigd_decision *d = &a->pending[pos];
    memset(d, 0, offsetof(struct trigd_decision, candidates));
    d->time = t;
    d->window_begin = t > ro->pre_ticks ? t - ro->pre_ticks : 0;
    d->window_end = t + ro->post_ticks;
    d->algorithms = 1U << algo;
    add_candidates(a, d, c, n);
    a->n_pending++;
}

/* Issue pending decisions no later proposal can join: a proposal's time is at least
 * horizon - lookback, and it joins a decision only up to decision time + post. */
static void issue_ready_upto(struct trigd_agg *a, uint64_t upto, int all)
{
    uint64_t reach = a->cfg.post_ticks + trigd_algos_lookback(a->algos);
    while (a->n_pending && (all || a->pending[0].time + reach < upto))
        if (!pop_pending(a, 0)) break; /* held (wait_when_busy): later ones wait behind it */
}

static void issue_ready(struct trigd_agg *a, int all)
{
    issue_ready_upto(a, a->horizon, all);
}

/* ---- the time-ordered merge ---- */

static uint64_t head_time(const struct trigd_agg *a, uint32_t idx)
{
    const struct agg_cell *c = &a->cells[idx];
    return c->q[c->head].time_start;
}

static void heap_sift_down(struct heap_entry *h, uint32_t n, uint32_t i)
{
    struct heap_entry x = h[i];
    for (;;) {
        uint32_t l = 2 * i + 1, m = l;
        if (l >= n) break;
        if (l + 1 < n && h[l + 1].t < h[l].t) m = l + 1;
        if (h[m].t >= x.t) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = x;
}

static void merge_until(struct trigd_agg *a, uint64_t h)
{
    struct heap_entry *heap = a->heap;
    uint32_t n = 0;
    for (uint32_t i = 0; i < a->n_cells; i++)
        if (a->cells[i].n && head_time(a, i) < h)
            heap[n++] = (struct heap_entry){head_time(a, i), i};
    for (uint32_t i = n / 2; i-- > 0;) heap_sift_down(heap, n, i);
    while (n) {
        uint32_t idx = heap[0].idx;
        struct agg_cell *c = &a->cells[idx];
        /* Take the run of this cell's candidates that precede every other cell's head: in a
         * busy module one cell often holds several candidates in a row. */
        uint64_t next_other = n > 1 ? heap[1].t : UINT64_MAX;
        if (n > 2 && heap[2].t < next_other) next_other = heap[2].t;
        if (next_other > h) next_other = h;
        do {
            struct lt_candidate cand = c->q[c->head];
            c->head = (c->head + 1) & a->qmask;
            c->n--;
            trigd_algos_candidate(a->algos, &cand, on_fire, a);
            /* Everything before this candidate has been seen: a decision whose window (and
             * look-back) ends before it is final now, not only at the end of the merge. */
            if (a->n_pending && a->pending[0].time < cand.time_start)
                issue_ready_upto(a, cand.time_start, 0);
        } while (c->n && head_time(a, idx) <= next_other && head_time(a, idx) < h);
        if (c->n && head_time(a, idx) < h)
            heap[0].t = head_time(a, idx);
        else
            heap[0] = heap[--n];
        if (n) heap_sift_down(heap, n, 0);
    }
    trigd_algos_advance(a->algos, h, on_fire, a);
    a->horizon = h;
    a->st.window_overflows = trigd_algos_window_overflows(a->algos);
}

/* The decidable horizon: min watermark over live cells minus the slack; 0 = none. */
static uint64_t compute_horizon(const struct trigd_agg *a)
{
    uint64_t m = UINT64_MAX;
    int live = 0;
    for (uint32_t i = 0; i < a->n_cells; i++) {
        const struct agg_cell *c = &a->cells[i];
        if (c->missing) continue;
        live = 1;
        if (c->watermark < m) m = c->watermark;
    }
    if (!live) return 0;
    uint64_t slack = a->cfg.trigger.watermark_slack_ticks;
    return m > slack ? m - slack : 0;
}

static void decide(struct trigd_agg *a)
{
    uint64_t h = compute_horizon(a);
    if (h <= a->horizon) return;
    merge_until(a, h);
    issue_ready(a, 0);
}

int trigd_agg_watermark(struct trigd_agg *a, uint32_t cell, uint64_t wm, uint64_t now_ns)
{
    struct agg_cell *c = cell_of(a, cell);
    if (!c) {
        a->st.unknown_cell++;
        return LT_ERANGE;
    }
    heard(a, c, now_ns);
    c->heartbeats++;
    a->st.heartbeats++;
    if (wm > c->watermark) c->watermark = wm;
    if (wm > a->max_watermark) a->max_watermark = wm;
    a->now_ns = now_ns;
    decide(a);
    return 0;
}

void trigd_agg_cell_resync(struct trigd_agg *a, uint32_t cell, uint64_t watermark)
{
    struct agg_cell *c = cell_of(a, cell);
    if (c) c->watermark = watermark;
}

void trigd_agg_poll(struct trigd_agg *a, uint64_t now_ns)
{
    uint64_t timeout = (uint64_t)a->cfg.trigger.cell_timeout_ms * 1000000ULL;
    int changed = 0;
    if (!a->any_heard) return; /* nobody has spoken yet: nothing can be missing */
    for (uint32_t i = 0; i < a->n_cells; i++) {
        struct agg_cell *c = &a->cells[i];
        if (c->missing || now_ns < c->last_heard_ns || now_ns - c->last_heard_ns <= timeout)
            continue;
        c->missing = 1;
        c->missing_events++;
        a->st.missing_events++;
        a->st.cells_missing++;
        changed = 1;
        LT_WARN("cell %u missing: silent for %u ms (watermark %llu); deciding without it", c->id,
                a->cfg.trigger.cell_timeout_ms, (unsigned long long)c->watermark);
    }
    if (changed) {
        a->now_ns = now_ns;
        decide(a);
    }
}

void trigd_agg_manual(struct trigd_agg *a, uint64_t t)
{
    on_fire(a, LT_ALGO_MANUAL, t, NULL, 0);
}

void trigd_agg_set_paused(struct trigd_agg *a, int paused)
{
    a->paused = paused;
}

void trigd_agg_set_thresholds(struct trigd_agg *a, const struct trigd_trigger_config *cfg)
{
    trigd_algos_set_thresholds(a->algos, cfg);
}

void trigd_agg_flush(struct trigd_agg *a, uint64_t now_ns)
{
    /* The end of the run: every cell's last message is in, so the slack (there for candidates
     * still on their way) is no longer needed; decide up to the lowest final watermark of the
     * live cells. Beyond it some cell has no data, so nothing is decided there. */
    a->now_ns = now_ns;
    uint64_t h = compute_horizon(a) + a->cfg.trigger.watermark_slack_ticks;
    if (h > a->max_watermark) h = a->max_watermark;
    if (h > a->horizon) merge_until(a, h);
    issue_ready(a, 1);
}

uint32_t trigd_agg_retry_held(struct trigd_agg *a, int all, int force)
{
    /* Without wait_when_busy nothing is ever held: every ready decision went out (or was
     * inhibited) when it became ready, so the module loop's call has nothing to do. */
    if (!all && !a->cfg.trigger.wait_when_busy) return a->n_pending;
    if (all) {
        while (a->n_pending)
            if (!pop_pending(a, force)) break;
    } else {
        issue_ready(a, 0);
    }
    return a->n_pending;
}

void trigd_agg_get_stats(const struct trigd_agg *a, struct trigd_agg_stats *st)
{
    *st = a->st;
    st->horizon = a->horizon;
    for (unsigned k = 0; k < LT_ALGO_COUNT; k++)
        st->timer_skipped[k] = trigd_algos_timer_skipped(a->algos, (enum lt_algo)k);
    st->latency_p50_ns = trigd_hist_quantile(&a->latency, 0.50);
    st->latency_p99_ns = trigd_hist_quantile(&a->latency, 0.99);
    st->latency_max_ns = a->latency.max_ns;
    trigd_latency_summarize(&a->latency_recent, lt_mono_ns(), &st->latency);
}

uint64_t trigd_agg_undecided_from(const struct trigd_agg *a)
{
    uint64_t back = trigd_algos_lookback(a->algos);
    uint64_t t = a->horizon > back ? a->horizon - back : 0;
    if (a->n_pending && a->pending[0].time < t) t = a->pending[0].time;
    return t;
}

uint32_t trigd_agg_n_cells(const struct trigd_agg *a)
{
    return a->n_cells;
}

void trigd_agg_get_cell_stats(const struct trigd_agg *a, uint32_t index,
                              struct trigd_agg_cell_stats *st)
{
    const struct agg_cell *c = &a->cells[index];
    st->id = c->id;
    st->missing = c->missing;
    st->heard = c->heard;
    st->watermark = c->watermark;
    st->candidates = c->candidates;
    st->late = c->late;
    st->overflow = c->overflow;
    st->heartbeats = c->heartbeats;
    st->queued = c->n;
    st->missing_events = c->missing_events;
}

int trigd_agg_cell_missing(const struct trigd_agg *a, uint32_t cell_id)
{
    if (cell_id >= LT_MAX_CELLS || a->index_of[cell_id] < 0) return 0;
    return a->cells[a->index_of[cell_id]].missing;
}
