/* Pedestals, white noise, the per-channel low-frequency and the board-coherent noise, and the
 * channel defects (dead, noisy, sticky codes): the part of the simulation that touches every
 * sample, so it is written for speed. Every value is fixed point in 1/256 ADC count until the
 * final rounding; one 64-bit random draw feeds four samples through the 16-bit quantile table. */
#include <math.h>

#include "sim_internal.h"

#define Q_SHIFT LT_SIM_Q_SHIFT /* 1/256 ADC */
#define Q_ONE   (1 << Q_SHIFT)

/* Salts naming the random streams of a cell (any distinct constants; sim_internal.h). */
#define SALT_PEDESTAL 0x7065646573ULL
#define SALT_WHITE    0x7768697465ULL
#define SALT_COHERENT 0x636f686572ULL
#define SALT_TAIL     LT_SIM_SALT_TAIL
#define SALT_LOWFREQ  0x6c6f7766ULL
#define SALT_DEFECT   0x646566656374ULL
#define SALT_STICKY   LT_SIM_SALT_STICKY

void lt_sim_noise_init(struct lt_sim_cell *s)
{
    const struct lt_sim_config *c = &s->cfg;
    struct lt_sim_rng r;
    lt_sim_rng_seed(&r, lt_sim_mix(c->seed, s->cell, SALT_PEDESTAL, 0));
    for (uint32_t ch = 0; ch < s->n_channels; ch++) {
        double mean =
            s->ch_plane[ch] == LT_PLANE_X ? c->pedestal_collection : c->pedestal_induction;
        double p = mean + c->pedestal_spread * lt_sim_normal(&r);
        if (p < 0.0) p = 0.0;
        if (p > LT_WIBETH_ADC_MAX) p = LT_WIBETH_ADC_MAX;
        s->ped[ch] = p;
        s->ped_q[ch] = (int32_t)lrint(p * Q_ONE) + Q_ONE / 2; /* + 1/2: floor becomes rounding */
    }
    /* Defects are drawn from their own stream, after the pedestals: turning them on or off
     * moves no pedestal and no noise draw. */
    struct lt_sim_rng d;
    lt_sim_rng_seed(&d, lt_sim_mix(c->seed, s->cell, SALT_DEFECT, 0));
    for (uint32_t ch = 0; ch < s->n_channels; ch++) {
        double u = lt_sim_uniform(&d);
        uint8_t defect = LT_SIM_CH_OK;
        if (u < c->dead_fraction)
            defect = LT_SIM_CH_DEAD;
        else if (u < c->dead_fraction + c->noisy_fraction)
            defect = LT_SIM_CH_NOISY;
        else if (u < c->dead_fraction + c->noisy_fraction + c->sticky_fraction)
            defect = LT_SIM_CH_STICKY;
        s->ch_defect[ch] = defect;
        double rms = s->ch_plane[ch] == LT_PLANE_X ? c->noise_collection : c->noise_induction;
        if (defect == LT_SIM_CH_NOISY) rms *= c->noisy_factor;
        s->noise_ch_q[ch] = (int32_t)lrint(rms * Q_ONE);
    }
    double dt_us = 1e6 / (double)LT_SAMPLE_RATE_HZ;
    s->coh_a = c->coherent_tau_us > 0.0 ? exp(-dt_us / c->coherent_tau_us) : 0.0;
    s->coh_b = c->coherent_noise * sqrt(1.0 - s->coh_a * s->coh_a);
    /* The low-frequency component steps once per frame period (its spectrum lies well below the
     * 30 kHz of a period); the samples in between are interpolated linearly. */
    double period_us = dt_us * LT_SAMPLES_PER_FRAME;
    s->lf_a = exp(-period_us / c->lowfreq_tau_us);
    s->lf_b = c->lowfreq_noise * sqrt(1.0 - s->lf_a * s->lf_a);
    s->normal = lt_sim_normal_table();
}

/* The board-common noise of one period: an AR(1) process per board whose stationary rms is
 * coherent_noise and whose correlation time is coherent_tau_us (low-frequency pickup). */

static void coherent_render(struct lt_sim_cell *s, uint64_t period_no)
{
    if (s->cfg.coherent_noise <= 0.0) return; /* coh_q stays all zero */
    struct lt_sim_rng r;
    lt_sim_rng_seed(&r, lt_sim_mix(s->cfg.seed, s->cell, SALT_COHERENT, period_no));
    const double inv_one = 1.0 / LT_SIM_NORMAL_TABLE_ONE;
    for (uint32_t f = 0; f < s->geom.n_fembs; f++) {
        double st = s->coh_state[f];
        if (!s->coh_started)
            st = s->cfg.coherent_noise *
                 lt_sim_table_z(s->normal, (uint16_t)(lt_sim_rng_next(&r) >> 48), &r) * inv_one;
        for (uint32_t k = 0; k < LT_SAMPLES_PER_FRAME; k++) {
            double z =
                lt_sim_table_z(s->normal, (uint16_t)(lt_sim_rng_next(&r) >> 48), &r) * inv_one;
            st = s->coh_a * st + s->coh_b * z;
            s->coh_q[f][k] = (int32_t)lrint(st * Q_ONE);
        }
        s->coh_state[f] = st;
    }
    s->coh_started = 1;
}

/* This period's low-frequency noise of every channel: lf_q[ch] at the period's first sample and
 * lf_d[ch] its change over the period (1/256 ADC), from the AR(1) state carried across periods. */
static void lowfreq_render(struct lt_sim_cell *s, uint64_t period_no, uint32_t first_ch)
{
    if (s->cfg.lowfreq_noise <= 0.0) return; /* lf_q, lf_d stay all zero */
    struct lt_sim_rng r, tail;
    lt_sim_rng_seed(&r, lt_sim_mix(s->cfg.seed, s->cell, SALT_LOWFREQ, period_no));
    lt_sim_rng_seed(&tail, lt_sim_mix(s->cfg.seed, s->cell, SALT_LOWFREQ ^ SALT_TAIL, period_no));
    const double inv_one = 1.0 / LT_SIM_NORMAL_TABLE_ONE;
    uint64_t bits = 0;
    for (uint32_t ch = first_ch; ch < s->n_channels; ch++) {
        if (ch % 4 == 0) bits = lt_sim_rng_next(&r);
        double z = lt_sim_table_z(s->normal, (uint16_t)(bits >> (16 * (ch % 4))), &tail) * inv_one;
        double prev = s->lf_started ? s->lf_state[ch] : s->cfg.lowfreq_noise * z;
        double next = s->lf_a * prev + s->lf_b * z;
        s->lf_state[ch] = next;
        s->lf_q[ch] = (int32_t)lrint(prev * Q_ONE);
        s->lf_d[ch] = (int32_t)lrint((next - prev) * Q_ONE);
    }
    s->lf_started = 1;
}

/* Sticky codes of the ADC (ProtoDUNE-SP): the 6 least significant bits stick at 000000 or
 * 111111, whichever is nearer, on a fraction of a sticky channel's samples. */
static void sticky_apply(struct lt_sim_cell *s, uint16_t *out, struct lt_sim_rng *r)
{
    uint32_t p = (uint32_t)(s->cfg.sticky_probability * 65536.0);
    for (uint32_t k = 0; k < LT_SAMPLES_PER_FRAME; k += 4) {
        uint64_t b = lt_sim_rng_next(r);
        for (uint32_t j = 0; j < 4; j++) {
            if ((uint32_t)(uint16_t)(b >> (16 * j)) >= p) continue;
            out[k + j] = lt_sim_sticky_snap(out[k + j]);
        }
    }
}

void lt_sim_noise_render(struct lt_sim_cell *s, uint64_t period_sample,
                         uint16_t (*adc)[LT_SAMPLES_PER_FRAME])
{
    uint64_t period_no = period_sample / LT_SAMPLES_PER_FRAME;
    coherent_render(s, period_no);
    lowfreq_render(s, period_no, 0);
    struct lt_sim_rng sticky; /* its own stream: sticky codes shift no other draw */
    lt_sim_rng_seed(&sticky, lt_sim_mix(s->cfg.seed, s->cell, SALT_STICKY, period_no));

    struct lt_sim_rng r;
    lt_sim_rng_seed(&r, lt_sim_mix(s->cfg.seed, s->cell, SALT_WHITE, period_no));
    struct lt_sim_rng tail; /* draws for the rare tail samples, so r's sequence never shifts */
    lt_sim_rng_seed(&tail, lt_sim_mix(s->cfg.seed, s->cell, SALT_TAIL, period_no));
    const int16_t *tab = s->normal;
    uint64_t clamped = 0;
    for (uint32_t ch = 0; ch < s->n_channels; ch++) {
        const int32_t base = s->ped_q[ch];
        const int32_t sg = s->noise_ch_q[ch];
        const int32_t *coh = s->coh_q[s->ch_femb[ch]];
        const int32_t lf0 = s->lf_q[ch], lfd = s->lf_d[ch];
        uint16_t *out = adc[ch];
        if (!s->touched[ch]) {
            for (uint32_t k = 0; k < LT_SAMPLES_PER_FRAME; k += 4) {
                uint64_t b = lt_sim_rng_next(&r);
                for (uint32_t j = 0; j < 4; j++) {
                    int32_t z = lt_sim_table_z(tab, (uint16_t)(b >> (16 * j)), &tail);
                    int32_t lf = lf0 + ((lfd * (int32_t)(k + j)) >> 6); /* / 64 samples */
                    int32_t v = base + coh[k + j] + lf + ((z * sg) >> LT_SIM_NORMAL_TABLE_SHIFT);
                    out[k + j] = lt_sim_to_adc(v, &clamped);
                }
            }
        } else {
            /* A channel with signal this period: same random draws, plus the rendered pulses,
             * and its signal row is cleared for the next period. */
            float *sig = s->sig[ch];
            for (uint32_t k = 0; k < LT_SAMPLES_PER_FRAME; k += 4) {
                uint64_t b = lt_sim_rng_next(&r);
                for (uint32_t j = 0; j < 4; j++) {
                    int32_t z = lt_sim_table_z(tab, (uint16_t)(b >> (16 * j)), &tail);
                    float sq = sig[k + j] * (float)Q_ONE;
                    /* Saturate the signal before conversion: a shower core may exceed the
                     * ADC range many times over, and float->int overflow is undefined. */
                    sq = sq > 1e8f ? 1e8f : (sq < -1e8f ? -1e8f : sq);
                    int32_t lf = lf0 + ((lfd * (int32_t)(k + j)) >> 6);
                    int32_t v = base + coh[k + j] + lf + ((z * sg) >> LT_SIM_NORMAL_TABLE_SHIFT) +
                                (int32_t)lrintf(sq);
                    out[k + j] = lt_sim_to_adc(v, &clamped);
                    sig[k + j] = 0.0f;
                }
            }
            s->touched[ch] = 0;
        }
        /* Defects after the draws, so a defect changes only its own channel. */
        if (__builtin_expect(s->ch_defect[ch] == LT_SIM_CH_DEAD, 0)) {
            uint16_t flat = lt_sim_to_adc(base, &clamped);
            for (uint32_t k = 0; k < LT_SAMPLES_PER_FRAME; k++) out[k] = flat;
        } else if (__builtin_expect(s->ch_defect[ch] == LT_SIM_CH_STICKY, 0)) {
            sticky_apply(s, out, &sticky);
        }
    }
    s->n_touched = 0;
    s->stats.samples_clamped += clamped;
}
