/* Event scheduling: each kind is a Poisson process drawn from its own random stream, made
 * LT_SIM_LOOKAHEAD samples ahead of the period being rendered; injected events are taken from a
 * time-ordered queue. An event's steps are drifted into pulses and summarised in a truth row. */
#include <math.h>
#include <string.h>

#include "log.h"
#include "sim_internal.h"

#define SALT_INJECT 0x696e6a656374ULL

static void truth_push(struct lt_sim_cell *s, const struct lt_truth *t)
{
    if (s->cfg.truth_capacity == 0) return; /* the caller asked for no truth (a live source) */
    if (s->truth_count >= s->cfg.truth_capacity) {
        s->stats.truth_dropped++;
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                           "sim cell %u: truth queue full (%u rows not taken), row dropped",
                           s->cell, s->cfg.truth_capacity);
        return;
    }
    uint32_t i = (s->truth_head + s->truth_count) % s->cfg.truth_capacity;
    s->truth[i] = *t;
    s->truth_count++;
}

void lt_sim_event_emit(struct lt_sim_cell *s, uint32_t kind, lt_ticks time)
{
    struct lt_truth t = {.time = time, .time_end = time, .cell = s->cell, .kind = kind};
    double xmin = INFINITY, xmax = -INFINITY, energy = 0.0;
    int32_t wmin = INT32_MAX, wmax = -1;
    for (uint32_t i = 0; i < s->n_steps; i++) {
        const struct lt_sim_step *st = &s->steps[i];
        if (st->x < xmin) xmin = st->x;
        if (st->x > xmax) xmax = st->x;
        energy += st->e_mev;
        int32_t w = lt_sim_wire_of(&s->geom, LT_PLANE_X, st->y, st->z);
        if (w >= 0 && w < wmin) wmin = w;
        if (w > wmax) wmax = w;
    }
    /* The charge closest to the wires arrives at `time`; the rest later by its extra drift. */
    const double ticks_per_mm = (double)LT_CLOCK_HZ * 1e-6 / LT_SIM_DRIFT_MM_PER_US;
    const lt_ticks t0 = s->start_sample * LT_TICKS_PER_SAMPLE; /* time <= t0 never happens */
    for (uint32_t i = 0; i < s->n_steps; i++)
        lt_sim_drift_deposit(s, &s->steps[i],
                             (double)(time - t0) + (s->steps[i].x - xmin) * ticks_per_mm);
    if (s->n_steps) {
        t.time_end = time + (lt_ticks)llround((xmax - xmin) * ticks_per_mm);
        if (wmax >= 0) {
            t.channel_start = (uint16_t)wmin;
            t.channel_end = (uint16_t)wmax;
        }
    }
    t.energy_mev = (float)energy;
    s->stats.events[kind]++;
    truth_push(s, &t);
}

static double kind_energy(struct lt_sim_cell *s, uint32_t kind, struct lt_sim_rng *r)
{
    const struct lt_sim_config *c = &s->cfg;
    switch (kind) {
    case LT_TRUTH_AR39:
        return lt_sim_ar39_energy(s, r);
    case LT_TRUTH_LOW_ENERGY:
        return c->le_min_mev + (c->le_max_mev - c->le_min_mev) * lt_sim_uniform(r);
    case LT_TRUTH_HIGH_ENERGY: /* log-uniform: as many 100 MeV as 10 GeV events per decade */
        return c->he_min_mev * exp(log(c->he_max_mev / c->he_min_mev) * lt_sim_uniform(r));
    default:
        return 0.0; /* cosmic: the track length in the box decides */
    }
}

void lt_sim_events_until(struct lt_sim_cell *s, uint64_t horizon_sample)
{
    const double horizon = (double)(horizon_sample - s->start_sample) * LT_TICKS_PER_SAMPLE;
    const lt_ticks t0 = s->start_sample * LT_TICKS_PER_SAMPLE;
    for (uint32_t k = 0; k < LT_TRUTH_KIND_COUNT; k++) {
        struct lt_sim_kind_stream *ks = &s->kinds[k];
        if (ks->mean_gap_ticks <= 0.0) continue;
        while (ks->next_ticks < horizon) {
            struct lt_sim_event ev = {.kind = k, .topology = LT_SIM_TOPO_AUTO};
            ev.energy_mev = kind_energy(s, k, &ks->rng);
            ev.time = t0 + (lt_ticks)llround(ks->next_ticks);
            lt_sim_physics_generate(s, &ks->rng, &ev);
            lt_sim_event_emit(s, k, ev.time);
            ks->next_ticks += ks->mean_gap_ticks * lt_sim_exponential(&ks->rng);
        }
    }
    const lt_ticks horizon_ticks = horizon_sample * LT_TICKS_PER_SAMPLE;
    uint32_t done = 0;
    while (done < s->n_inject && s->inject[done].time < horizon_ticks) {
        const struct lt_sim_event *ev = &s->inject[done];
        /* The injected event's random stream depends only on what was asked for. */
        uint64_t ebits;
        memcpy(&ebits, &ev->energy_mev, sizeof ebits);
        struct lt_sim_rng r;
        lt_sim_rng_seed(
            &r, lt_sim_mix(s->cfg.seed ^ SALT_INJECT, s->cell,
                           ev->time ^ ((uint64_t)ev->kind << 56) ^ ((uint64_t)ev->topology << 48),
                           ebits));
        lt_sim_physics_generate(s, &r, ev);
        lt_sim_event_emit(s, ev->kind, ev->time);
        done++;
    }
    if (done) {
        memmove(s->inject, s->inject + done, (s->n_inject - done) * sizeof *s->inject);
        s->n_inject -= done;
    }
}
