/* Trigger algorithms: see trigger_algos.h. Windowed algorithms keep their window as a bounded
 * ring of candidates; nothing allocates after create. */
#include "trigger_algos.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chmap.h"
#include "log.h"
#include "lt_error.h"
#include "ticks.h"

#define WINDOW_CAP 4096U /* candidates a window may hold; more are counted as overflow */

/* A ring of the candidates inside a sliding time window. */
struct window {
    struct lt_candidate *c;
    uint32_t head, n; /* oldest at head */
};

static const struct lt_candidate *win_at(const struct window *w, uint32_t i)
{
    return &w->c[(w->head + i) % WINDOW_CAP];
}

struct trigd_algos {
    struct trigd_trigger_config cfg;
    struct window coinc, summed;
    uint16_t *cell_count; /* coincidence: candidates per cell in the window */
    uint32_t distinct;    /* coincidence: cells with count > 0 */
    int64_t sum;          /* summed: peak-score sum over the window */
    uint64_t next_periodic, next_random;
    int timers_started;
    uint64_t rng;
    uint64_t overflows;
    uint64_t skipped[LT_ALGO_COUNT]; /* timer slots passed over after a gap */
    struct lt_candidate *scratch;    /* contiguous copy of a window for a proposal */
};

int trigd_algos_create(const struct trigd_trigger_config *cfg, struct trigd_algos **out, char *err,
                       size_t errlen)
{
    struct trigd_algos *a = calloc(1, sizeof *a);
    if (!a) goto nomem;
    a->cfg = *cfg;
    a->coinc.c = calloc(WINDOW_CAP, sizeof(struct lt_candidate));
    a->summed.c = calloc(WINDOW_CAP, sizeof(struct lt_candidate));
    a->scratch = calloc(WINDOW_CAP, sizeof(struct lt_candidate));
    a->cell_count = calloc(LT_MAX_CELLS, sizeof(uint16_t));
    if (!a->coinc.c || !a->summed.c || !a->scratch || !a->cell_count) {
        trigd_algos_destroy(a);
        goto nomem;
    }
    a->rng = cfg->random.seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    *out = a;
    return 0;
nomem:
    lt_seterr(err, errlen, "trigger algorithms: out of memory");
    return LT_ENOMEM;
}

void trigd_algos_destroy(struct trigd_algos *a)
{
    if (!a) return;
    free(a->coinc.c);
    free(a->summed.c);
    free(a->scratch);
    free(a->cell_count);
    free(a);
}

uint64_t trigd_algos_lookback(const struct trigd_algos *a)
{
    uint64_t l = 0;
    if (a->cfg.coincidence.enabled) l = a->cfg.coincidence.window_ticks;
    if (a->cfg.summed.enabled && a->cfg.summed.window_ticks > l) l = a->cfg.summed.window_ticks;
    return l;
}

void trigd_algos_set_thresholds(struct trigd_algos *a, const struct trigd_trigger_config *cfg)
{
    a->cfg.single.min_score = cfg->single.min_score;
    a->cfg.single.min_adc_sum = cfg->single.min_adc_sum;
    a->cfg.coincidence.min_cells = cfg->coincidence.min_cells;
    a->cfg.coincidence.min_score = cfg->coincidence.min_score;
    a->cfg.summed.threshold = cfg->summed.threshold;
    if (cfg->random.rate_hz > 0) a->cfg.random.rate_hz = cfg->random.rate_hz;
}

uint64_t trigd_algos_window_overflows(const struct trigd_algos *a)
{
    return a->overflows;
}

uint64_t trigd_algos_timer_skipped(const struct trigd_algos *a, enum lt_algo algo)
{
    return algo < LT_ALGO_COUNT ? a->skipped[algo] : 0;
}

/* splitmix64: a tiny reproducible generator for the random trigger. */
static double next_uniform(struct trigd_algos *a)
{
    uint64_t z = (a->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

static uint64_t random_gap(struct trigd_algos *a)
{
    double s = -log(next_uniform(a)) / a->cfg.random.rate_hz;
    uint64_t t = lt_seconds_to_ticks(s);
    return t ? t : 1;
}

/* A horizon step over more due slots than this is a gap in data time (a clock jump, a module that
 * decided nothing for a while): each algorithm then fires once. Smaller steps fire every slot,
 * as a steady run does (its steps are one kernel block, far shorter than a period). */
#define TIMER_CATCHUP_MAX 16U

/* Fire the unbiased triggers due before `t` (exclusive). Their first times are laid out from the
 * first time seen, so a run's periodic triggers sit on multiples of the period. Bounded by work,
 * never by data values: after a gap the slots passed over are counted, not iterated (an hour of
 * 5 ms periods would otherwise be 720,000 proposals). */
static void fire_timers(struct trigd_algos *a, uint64_t t, trigd_fire_fn fire, void *user)
{
    if (!a->timers_started) {
        a->timers_started = 1;
        uint64_t p = a->cfg.periodic.period_ticks;
        if (p) a->next_periodic = (t / p + 1) * p;
        a->next_random = t + random_gap(a);
    }
    uint64_t p = a->cfg.periodic.period_ticks;
    if (a->cfg.periodic.enabled && p && a->next_periodic < t) {
        uint64_t due = (t - 1 - a->next_periodic) / p + 1;
        if (due > TIMER_CATCHUP_MAX) {
            /* Fire the newest slot only: its data is the likeliest to be in the cells' rings. */
            a->next_periodic += (due - 1) * p;
            a->skipped[LT_ALGO_PERIODIC] += due - 1;
            LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                               "periodic trigger: data time jumped over %llu periods; firing once "
                               "at %llu (%llu skipped so far)",
                               (unsigned long long)due, (unsigned long long)a->next_periodic,
                               (unsigned long long)a->skipped[LT_ALGO_PERIODIC]);
            due = 1;
        }
        for (; due > 0; due--) {
            fire(user, LT_ALGO_PERIODIC, a->next_periodic, NULL, 0);
            a->next_periodic =
                a->next_periodic <= UINT64_MAX - p ? a->next_periodic + p : UINT64_MAX;
        }
    }
    if (a->cfg.random.enabled && a->next_random < t) {
        double span_s = lt_ticks_to_seconds(t - a->next_random);
        double expected = span_s * a->cfg.random.rate_hz;
        if (expected > TIMER_CATCHUP_MAX) {
            /* A gap: fire once, a random gap before t (the process is memoryless), and count the
             * expected number over the span instead of drawing them. */
            uint64_t back = random_gap(a);
            uint64_t at = t - a->next_random > back ? t - back : a->next_random;
            uint64_t n = expected < 1e18 ? (uint64_t)expected : 1000000000000000000ULL;
            a->skipped[LT_ALGO_RANDOM] += n;
            LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                               "random trigger: data time jumped %.3f s; firing once at %llu, "
                               "about %llu triggers skipped",
                               span_s, (unsigned long long)at, (unsigned long long)n);
            fire(user, LT_ALGO_RANDOM, at, NULL, 0);
            uint64_t gap = random_gap(a);
            a->next_random = at <= UINT64_MAX - gap && at + gap > t ? at + gap : t;
        }
        /* Bounded: beyond the gap case the draws average fewer than TIMER_CATCHUP_MAX. */
        for (unsigned k = 0; a->next_random < t && k < 4 * TIMER_CATCHUP_MAX; k++) {
            fire(user, LT_ALGO_RANDOM, a->next_random, NULL, 0);
            uint64_t gap = random_gap(a);
            a->next_random = a->next_random <= UINT64_MAX - gap ? a->next_random + gap : UINT64_MAX;
        }
        if (a->next_random < t) a->next_random = t; /* rare: the rest of the span skipped */
    }
}

static void win_push(struct trigd_algos *a, struct window *w, const struct lt_candidate *c,
                     void (*on_evict)(struct trigd_algos *, const struct lt_candidate *))
{
    if (w->n == WINDOW_CAP) {
        on_evict(a, win_at(w, 0));
        w->head = (w->head + 1) % WINDOW_CAP;
        w->n--;
        a->overflows++;
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                           "trigger window full (%u candidates): oldest dropped from the window",
                           WINDOW_CAP);
    }
    w->c[(w->head + w->n) % WINDOW_CAP] = *c;
    w->n++;
}

/* Drop candidates older than t - width from the front. */
static void win_expire(struct trigd_algos *a, struct window *w, uint64_t t, uint64_t width,
                       void (*on_evict)(struct trigd_algos *, const struct lt_candidate *))
{
    while (w->n && win_at(w, 0)->time_start + width < t) {
        on_evict(a, win_at(w, 0));
        w->head = (w->head + 1) % WINDOW_CAP;
        w->n--;
    }
}

static uint32_t win_copy(struct trigd_algos *a, const struct window *w)
{
    for (uint32_t i = 0; i < w->n; i++) a->scratch[i] = *win_at(w, i);
    return w->n;
}

static void coinc_evict(struct trigd_algos *a, const struct lt_candidate *c)
{
    uint32_t cell = c->cell % LT_MAX_CELLS;
    if (--a->cell_count[cell] == 0) a->distinct--;
}

static void summed_evict(struct trigd_algos *a, const struct lt_candidate *c)
{
    a->sum -= c->peak_score;
}

static void win_clear(struct trigd_algos *a, struct window *w,
                      void (*on_evict)(struct trigd_algos *, const struct lt_candidate *))
{
    while (w->n) {
        on_evict(a, win_at(w, 0));
        w->head = (w->head + 1) % WINDOW_CAP;
        w->n--;
    }
}

void trigd_algos_late_candidate(struct trigd_algos *a, const struct lt_candidate *c,
                                trigd_fire_fn fire, void *user)
{
    const struct trigd_trigger_config *cfg = &a->cfg;
    if (cfg->single.enabled && c->peak_score >= cfg->single.min_score &&
        c->adc_sum >= cfg->single.min_adc_sum)
        fire(user, LT_ALGO_SINGLE, c->time_start, c, 1);
}

void trigd_algos_candidate(struct trigd_algos *a, const struct lt_candidate *c, trigd_fire_fn fire,
                           void *user)
{
    const struct trigd_trigger_config *cfg = &a->cfg;
    uint64_t t = c->time_start;
    fire_timers(a, t + 1, fire, user);

    if (cfg->single.enabled && c->peak_score >= cfg->single.min_score &&
        c->adc_sum >= cfg->single.min_adc_sum)
        fire(user, LT_ALGO_SINGLE, t, c, 1);

    if (cfg->coincidence.enabled && c->peak_score >= cfg->coincidence.min_score) {
        win_expire(a, &a->coinc, t, cfg->coincidence.window_ticks, coinc_evict);
        win_push(a, &a->coinc, c, coinc_evict);
        uint32_t cell = c->cell % LT_MAX_CELLS;
        if (a->cell_count[cell]++ == 0) a->distinct++;
        if (a->distinct >= cfg->coincidence.min_cells) {
            uint32_t n = win_copy(a, &a->coinc);
            fire(user, LT_ALGO_COINCIDENCE, a->scratch[0].time_start, a->scratch, n);
            win_clear(a, &a->coinc, coinc_evict);
        }
    }

    if (cfg->summed.enabled) {
        win_expire(a, &a->summed, t, cfg->summed.window_ticks, summed_evict);
        win_push(a, &a->summed, c, summed_evict);
        a->sum += c->peak_score;
        if (a->sum >= cfg->summed.threshold) {
            uint32_t n = win_copy(a, &a->summed);
            fire(user, LT_ALGO_SUMMED, a->scratch[0].time_start, a->scratch, n);
            win_clear(a, &a->summed, summed_evict);
        }
    }
}

void trigd_algos_advance(struct trigd_algos *a, uint64_t horizon, trigd_fire_fn fire, void *user)
{
    if (horizon) fire_timers(a, horizon, fire, user);
}
