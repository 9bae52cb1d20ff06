/* A simulated cell: configuration, construction (everything allocated here, nothing later), the
 * per-period render, injection and the truth queue. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lt_error.h"
#include "sim_internal.h"

#define SALT_KIND 0x6b696e64ULL

void lt_sim_config_default(struct lt_sim_config *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->n_fembs = LT_FEMBS_PER_CELL;
    c->start_ticks = 0;
    c->pedestal_collection = 900.0;
    c->pedestal_induction = 2350.0;
    c->pedestal_spread = 20.0;
    c->gain_e_per_adc = 200.0;
    c->noise_collection = 3.0; /* ENC 600 e at 200 e/ADC */
    c->noise_induction = 3.5;  /* ENC 700 e: longer wires, more capacitance */
    c->coherent_noise = 1.0;
    c->coherent_tau_us = 20.0;
    c->shaping_sigma_us = 1.0;
    c->induction_ratio = 0.4;
    c->lowfreq_noise = 1.0;        /* docs/simulation.md: below the white noise, as in ProtoDUNE */
    c->lowfreq_tau_us = 100.0;     /* a ~1.6 kHz corner: the low-frequency rise of the spectrum */
    c->undershoot_tau_us = 1000.0; /* the 1 ms RC coupling of the cold-electronics chain */
    c->undershoot_fraction = 1.0;  /* a CR high-pass returns the whole pulse area */
    c->dead_fraction = 0.003;      /* ProtoDUNE-SP: 15 318 of 15 360 channels working */
    c->noisy_fraction = 0.01;
    c->noisy_factor = 3.0;
    c->sticky_fraction = 0.05;
    c->sticky_probability = 0.1;
    c->electron_lifetime_us = 10000.0;
    c->diffusion_long_cm2_s = 4.0;
    c->diffusion_trans_cm2_s = 8.8;
    c->recombination = 0.7;
    c->w_ion_ev = 23.6;
    c->ar39_bq_per_kg = 1.01;
    c->le_rate_hz = 5.0;
    c->le_min_mev = 5.0;
    c->le_max_mev = 50.0;
    c->he_rate_hz = 1.0;
    c->he_min_mev = 100.0;
    c->he_max_mev = 10000.0;
    c->cosmic_rate_hz = 0.2;
    c->ar42_bq_per_kg = 92e-6;      /* DUNE radiological model: 1.284e-7 Bq/cc / 1.396 g/cc */
    c->k42_in_argon_fraction = 0.2; /* same model: 80% of the 42K ions drift to the cathode */
    c->kr85_bq_per_kg = 0.115;      /* same model (WArP): 1.6e-4 Bq/cc */
    c->rn222_bq_per_kg = 1.0e-3;    /* same model: 1.395e-6 Bq/cc */
    c->alpha_charge_ratio = 0.05; /* alphas keep ~5% of an electron's charge per MeV at 0.5 kV/cm */
    c->ncapture_rate_hz = 0.0066; /* DUNE model's cavern neutron flux into the LAr, per APA */
    c->max_pulses = 1U << 18;
    c->truth_capacity = 1U << 17;
}

static int in_range(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi;
}

int lt_sim_config_validate(const struct lt_sim_config *c, char *err, size_t errlen)
{
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            lt_seterr(err, errlen, __VA_ARGS__);                                                   \
            return LT_EINVAL;                                                                      \
        }                                                                                          \
    } while (0)
    CHECK(c->n_fembs >= 1 && c->n_fembs <= LT_FEMBS_PER_CELL,
          "sim: n_fembs %u out of range 1..%u (channels must be a multiple of %u up to %u)",
          c->n_fembs, LT_FEMBS_PER_CELL, LT_CHANNELS_PER_FEMB, LT_CHANNELS_PER_CELL);
    CHECK(c->start_ticks % LT_TICKS_PER_SAMPLE == 0,
          "sim: start_ticks %llu is not a multiple of %u ticks (one sample)",
          (unsigned long long)c->start_ticks, LT_TICKS_PER_SAMPLE);
    int rc = lt_sim_knobs_validate(c, err, errlen);
    if (rc) return rc;
    CHECK(c->le_max_mev >= c->le_min_mev,
          "sim: low-energy range must satisfy 0.01 <= min <= max <= 1e5 MeV");
    CHECK(c->he_max_mev >= c->he_min_mev,
          "sim: high-energy range must satisfy 1 <= min <= max <= 1e6 MeV");
    CHECK(c->dead_fraction + c->noisy_fraction + c->sticky_fraction <= 1.0,
          "sim: dead_fraction + noisy_fraction + sticky_fraction must not exceed 1");
    CHECK(c->max_pulses >= 1024 && c->max_pulses <= (1U << 26),
          "sim: max_pulses out of 1024..2^26");
    CHECK(c->truth_capacity == 0 || (c->truth_capacity >= 16 && c->truth_capacity <= (1U << 26)),
          "sim: truth_capacity must be 0 (keep no truth) or 16..2^26");
#undef CHECK
    return 0;
}

void lt_sim_cell_destroy(struct lt_sim_cell *s)
{
    if (!s) return;
    free(s->ped_q);
    free(s->ped);
    free(s->noise_ch_q);
    free(s->ch_defect);
    free(s->lf_state);
    free(s->lf_q);
    free(s->lf_d);
    free(s->ch_plane);
    free(s->ch_femb);
    free(s->stream_offline);
    free(s->stream_crate);
    free(s->stream_slot);
    free(s->stream_eth);
    free(s->coh_state);
    free(s->coh_q);
    free(s->inject);
    free(s->steps);
    free(s->pool);
    free(s->active);
    free(s->sig);
    free(s->touched);
    free(s->touched_list);
    free(s->truth);
    lt_sim_xs_destroy(s);
    free(s);
}

/* Channel map tables: which offline channel each stream channel carries, checked to be a
 * bijection in the plane-ordered numbering the renderer uses. */
static int build_channel_tables(struct lt_sim_cell *s, char *err, size_t errlen)
{
    uint8_t *seen = calloc(s->n_channels, 1);
    if (!seen) return LT_ENOMEM;
    int rc = 0;
    for (uint32_t st = 0; st < s->n_streams && !rc; st++) {
        lt_chmap_stream_address(s->cell, st, &s->stream_crate[st], &s->stream_slot[st],
                                &s->stream_eth[st]);
        for (uint32_t ch = 0; ch < LT_WIBETH_CHANNELS; ch++) {
            struct lt_chan_info info;
            int r = lt_chmap_lookup(&s->geom, st, ch, &info);
            uint32_t off = info.offline_channel;
            if (r || off >= s->n_channels || seen[off] || info.plane > LT_PLANE_X ||
                off != s->plane_first[info.plane] + info.wire) {
                lt_seterr(err, errlen,
                          "sim: channel map gives stream %u channel %u -> offline %u (%s wire %u): "
                          "not a plane-ordered bijection",
                          st, ch, off, r ? "?" : lt_plane_name(info.plane), info.wire);
                rc = LT_EFORMAT;
                break;
            }
            seen[off] = 1;
            s->stream_offline[st * LT_WIBETH_CHANNELS + ch] = (uint16_t)off;
            s->ch_plane[off] = (uint8_t)info.plane;
            s->ch_femb[off] = info.femb;
        }
    }
    free(seen);
    return rc;
}

int lt_sim_cell_create(const struct lt_sim_config *c, uint32_t cell, struct lt_sim_cell **out,
                       char *err, size_t errlen)
{
    *out = NULL;
    int rc = lt_sim_config_validate(c, err, errlen);
    if (rc) return rc;
    if (cell >= LT_MAX_CELLS) {
        lt_seterr(err, errlen, "sim: cell %u out of range 0..%u", cell, LT_MAX_CELLS - 1);
        return LT_EINVAL;
    }
    struct lt_sim_cell *s = calloc(1, sizeof *s);
    if (!s) goto nomem;
    s->cfg = *c;
    s->cell = cell;
    s->geom.n_fembs = c->n_fembs;
    s->n_channels = lt_geom_channels(&s->geom);
    s->n_streams = lt_geom_streams(&s->geom);
    for (int p = 0; p < 3; p++) s->n_wires[p] = lt_geom_wires(&s->geom, (enum lt_plane)p);
    s->plane_first[LT_PLANE_U] = 0;
    s->plane_first[LT_PLANE_V] = s->n_wires[LT_PLANE_U];
    s->plane_first[LT_PLANE_X] = s->n_wires[LT_PLANE_U] + s->n_wires[LT_PLANE_V];
    s->width_mm = lt_sim_cell_width_mm(&s->geom);
    s->mass_kg = lt_sim_cell_mass_kg(&s->geom);

    uint32_t n = s->n_channels;
    s->ped_q = calloc(n, sizeof *s->ped_q);
    s->ped = calloc(n, sizeof *s->ped);
    s->noise_ch_q = calloc(n, sizeof *s->noise_ch_q);
    s->ch_defect = calloc(n, 1);
    s->lf_state = calloc(n, sizeof *s->lf_state);
    s->lf_q = calloc(n, sizeof *s->lf_q);
    s->lf_d = calloc(n, sizeof *s->lf_d);
    s->ch_plane = calloc(n, 1);
    s->ch_femb = calloc(n, 1);
    s->stream_offline = calloc((size_t)s->n_streams * LT_WIBETH_CHANNELS, sizeof(uint16_t));
    s->stream_crate = calloc(s->n_streams, sizeof(uint16_t));
    s->stream_slot = calloc(s->n_streams, 1);
    s->stream_eth = calloc(s->n_streams, 1);
    s->coh_state = calloc(c->n_fembs, sizeof *s->coh_state);
    s->coh_q = calloc(c->n_fembs, sizeof *s->coh_q);
    s->inject = calloc(LT_SIM_MAX_INJECT, sizeof *s->inject);
    s->steps = calloc(LT_SIM_MAX_STEPS, sizeof *s->steps);
    s->pool = calloc(c->max_pulses, sizeof *s->pool);
    s->active = calloc(c->max_pulses, sizeof *s->active);
    s->sig = calloc(n, sizeof *s->sig);
    s->touched = calloc(n, 1);
    s->touched_list = calloc(n, sizeof *s->touched_list);
    s->truth = calloc(c->truth_capacity ? c->truth_capacity : 1, sizeof *s->truth);
    if (!s->ped_q || !s->ped || !s->noise_ch_q || !s->ch_defect || !s->lf_state || !s->lf_q ||
        !s->lf_d || !s->ch_plane || !s->ch_femb || !s->stream_offline || !s->stream_crate ||
        !s->stream_slot || !s->stream_eth || !s->coh_state || !s->coh_q || !s->inject ||
        !s->steps || !s->pool || !s->active || !s->sig || !s->touched || !s->touched_list ||
        !s->truth)
        goto nomem;
    s->pool_cap = c->max_pulses;

    rc = build_channel_tables(s, err, errlen);
    if (rc) {
        lt_sim_cell_destroy(s);
        return rc;
    }
    lt_sim_noise_init(s);
    if (lt_sim_xs_create(s)) goto nomem;
    lt_sim_pulses_reset(s);

    s->start_sample = c->start_ticks / LT_TICKS_PER_SAMPLE;
    s->next_sample = s->start_sample;
    s->period_sample = s->start_sample;
    s->electrons_per_mev = 1e6 / c->w_ion_ev * c->recombination;
    s->sigma_e_samples = c->shaping_sigma_us * (double)LT_SAMPLE_RATE_HZ * 1e-6;
    s->ar39_pmax = lt_sim_ar39_pmax();
    lt_sim_beta_init(s);

    const double rates[LT_TRUTH_KIND_COUNT] = {
        [LT_TRUTH_AR39] = c->ar39_bq_per_kg * s->mass_kg,
        [LT_TRUTH_LOW_ENERGY] = c->le_rate_hz,
        [LT_TRUTH_HIGH_ENERGY] = c->he_rate_hz,
        [LT_TRUTH_COSMIC] = c->cosmic_rate_hz,
        [LT_TRUTH_AR42] = lt_sim_radiological_rate(c, LT_TRUTH_AR42, s->mass_kg),
        [LT_TRUTH_KR85] = lt_sim_radiological_rate(c, LT_TRUTH_KR85, s->mass_kg),
        [LT_TRUTH_RN222] = lt_sim_radiological_rate(c, LT_TRUTH_RN222, s->mass_kg),
        [LT_TRUTH_NCAPTURE] = c->ncapture_rate_hz,
    };
    for (uint32_t k = 0; k < LT_TRUTH_KIND_COUNT; k++) {
        struct lt_sim_kind_stream *ks = &s->kinds[k];
        lt_sim_rng_seed(&ks->rng, lt_sim_mix(c->seed, cell, SALT_KIND, k));
        ks->mean_gap_ticks = rates[k] > 0.0 ? (double)LT_CLOCK_HZ / rates[k] : 0.0;
        ks->next_ticks = ks->mean_gap_ticks * lt_sim_exponential(&ks->rng);
    }
    *out = s;
    return 0;
nomem:
    lt_sim_cell_destroy(s);
    lt_seterr(err, errlen, "sim: out of memory creating cell %u", cell);
    return LT_ENOMEM;
}

uint32_t lt_sim_cell_channels(const struct lt_sim_cell *s)
{
    return s->n_channels;
}
uint32_t lt_sim_cell_streams(const struct lt_sim_cell *s)
{
    return s->n_streams;
}
lt_ticks lt_sim_cell_next_time(const struct lt_sim_cell *s)
{
    return s->next_sample * LT_TICKS_PER_SAMPLE;
}
void lt_sim_cell_stats(const struct lt_sim_cell *s, struct lt_sim_stats *out)
{
    *out = s->stats;
    out->pulses_dropped +=
        s->steps_dropped; /* deposits beyond an event's step budget: lost charge */
}
double lt_sim_cell_pedestal(const struct lt_sim_cell *s, uint32_t ch)
{
    return ch < s->n_channels ? s->ped[ch] : 0.0;
}

void lt_sim_cell_render(struct lt_sim_cell *s, uint16_t (*adc)[LT_SAMPLES_PER_FRAME])
{
    if (s->x_only) { /* rendered the fast way so far: not a full cell (sim.h) */
        memset(adc, 0, (size_t)s->n_channels * sizeof *adc);
        return;
    }
    uint64_t p = s->next_sample;
    lt_sim_events_until(s, p + LT_SAMPLES_PER_FRAME + LT_SIM_LOOKAHEAD);
    lt_sim_signal_render(s, p);
    lt_sim_noise_render(s, p, adc);
    s->period_sample = p;
    s->period_index = s->stats.frames;
    s->stats.frames++;
    s->next_sample = p + LT_SAMPLES_PER_FRAME;
}

int lt_sim_cell_render_x_sums(struct lt_sim_cell *s, uint32_t d, uint32_t *sums, size_t stride)
{
    if (d > 6 || stride < s->n_wires[LT_PLANE_X]) return LT_EINVAL;
    /* A cell renders one way: switching after the first period would leave induction pulses
     * queued (full -> fast) or missing (fast -> full). */
    if (!s->x_only && s->stats.frames) return LT_EINVAL;
    s->x_only = 1;
    uint64_t p = s->next_sample;
    lt_sim_events_until(s, p + LT_SAMPLES_PER_FRAME + LT_SIM_LOOKAHEAD);
    lt_sim_signal_render_x_sums(s, p, d);
    lt_sim_xs_render(s, p, d, sums, stride);
    s->period_sample = p;
    s->period_index = s->stats.frames;
    s->stats.frames++;
    s->next_sample = p + LT_SAMPLES_PER_FRAME;
    return 0;
}

int lt_sim_cell_inject(struct lt_sim_cell *s, const struct lt_sim_event *ev, char *err,
                       size_t errlen)
{
    if (ev->kind >= LT_TRUTH_KIND_COUNT || ev->topology > LT_SIM_TOPO_POINT) {
        lt_seterr(err, errlen, "sim inject: kind %u / topology %u unknown", ev->kind, ev->topology);
        return LT_EINVAL;
    }
    if (!in_range(ev->energy_mev, 0, 1e6)) {
        lt_seterr(err, errlen, "sim inject: energy %g MeV out of 0..1e6", ev->energy_mev);
        return LT_EINVAL;
    }
    if (ev->time < lt_sim_cell_next_time(s)) {
        lt_seterr(err, errlen, "sim inject: time %llu precedes the next frame period (%llu)",
                  (unsigned long long)ev->time, (unsigned long long)lt_sim_cell_next_time(s));
        return LT_ERANGE;
    }
    if (s->n_inject >= LT_SIM_MAX_INJECT) {
        lt_seterr(err, errlen, "sim inject: %u events already waiting", LT_SIM_MAX_INJECT);
        return LT_EFULL;
    }
    uint32_t i = s->n_inject;
    while (i > 0 && s->inject[i - 1].time > ev->time) {
        s->inject[i] = s->inject[i - 1];
        i--;
    }
    s->inject[i] = *ev;
    s->n_inject++;
    return 0;
}

size_t lt_sim_cell_take_truth(struct lt_sim_cell *s, struct lt_truth *out, size_t max)
{
    size_t n = 0;
    while (n < max && s->truth_count) {
        out[n++] = s->truth[s->truth_head];
        s->truth_head = (s->truth_head + 1) % s->cfg.truth_capacity;
        s->truth_count--;
    }
    return n;
}
