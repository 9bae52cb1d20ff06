/* Pedestals, white noise, the per-channel low-frequency and the board-coherent noise, and the
 * channel defects (dead, noisy, sticky codes): the part of the simulation that touches every
 * sample, so it is written for speed. Every value is fixed point in 1/256 ADC count until the
 * final rounding; one 64-bit random draw feeds four samples through the 16-bit quantile table. */
#include <math.h>

#include "sim_internal.h"

#define Q_SHIFT 8 /* 1/256 ADC */
#define Q_ONE   (1 << Q_SHIFT)

/* Salts naming the random streams of a cell (any distinct constants). */
#define SALT_PEDESTAL 0x7065646573ULL
#define SALT_WHITE    0x7768697465ULL
#define SALT_COHERENT 0x636f686572ULL
#define SALT_TAIL     0x7461696c73ULL
#define SALT_LOWFREQ  0x6c6f7766ULL
#define SALT_DEFECT   0x646566656374ULL
#define SALT_STICKY   0x737469636bULL

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
/* A standard normal in table units from 16 random bits; the rare outermost bins are drawn
 * exactly from the tail with r2. */
static inline int32_t table_z(const int16_t *tab, uint16_t idx, struct lt_sim_rng *r2)
{
    int32_t z = tab[idx];
    if (__builtin_expect(z == LT_SIM_NORMAL_TAIL, 0)) z = lt_sim_normal_tail(r2);
    return z;
}

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
                 table_z(s->normal, (uint16_t)(lt_sim_rng_next(&r) >> 48), &r) * inv_one;
        for (uint32_t k = 0; k < LT_SAMPLES_PER_FRAME; k++) {
            double z = table_z(s->normal, (uint16_t)(lt_sim_rng_next(&r) >> 48), &r) * inv_one;
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
        double z = table_z(s->normal, (uint16_t)(bits >> (16 * (ch % 4))), &tail) * inv_one;
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
            uint16_t v = out[k + j];
            out[k + j] = (v & 63U) < 32U ? (uint16_t)(v & ~63U) : (uint16_t)(v | 63U);
        }
    }
}

static inline uint16_t to_adc(int32_t v, uint64_t *clamped)
{
    /* v is in 1/256 ADC with the rounding half already added; >> is arithmetic in gcc. */
    int32_t a = v >> Q_SHIFT;
    *clamped += (uint64_t)((a < 0) | (a > (int32_t)LT_WIBETH_ADC_MAX));
    a = a < 0 ? 0 : a;
    a = a > (int32_t)LT_WIBETH_ADC_MAX ? (int32_t)LT_WIBETH_ADC_MAX : a;
    return (uint16_t)a;
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
                    int32_t z = table_z(tab, (uint16_t)(b >> (16 * j)), &tail);
                    int32_t lf = lf0 + ((lfd * (int32_t)(k + j)) >> 6); /* / 64 samples */
                    int32_t v = base + coh[k + j] + lf + ((z * sg) >> LT_SIM_NORMAL_TABLE_SHIFT);
                    out[k + j] = to_adc(v, &clamped);
                }
            }
        } else {
            /* A channel with signal this period: same random draws, plus the rendered pulses,
             * and its signal row is cleared for the next period. */
            float *sig = s->sig[ch];
            for (uint32_t k = 0; k < LT_SAMPLES_PER_FRAME; k += 4) {
                uint64_t b = lt_sim_rng_next(&r);
                for (uint32_t j = 0; j < 4; j++) {
                    int32_t z = table_z(tab, (uint16_t)(b >> (16 * j)), &tail);
                    float sq = sig[k + j] * (float)Q_ONE;
                    /* Saturate the signal before conversion: a shower core may exceed the
                     * ADC range many times over, and float->int overflow is undefined. */
                    sq = sq > 1e8f ? 1e8f : (sq < -1e8f ? -1e8f : sq);
                    int32_t lf = lf0 + ((lfd * (int32_t)(k + j)) >> 6);
                    int32_t v = base + coh[k + j] + lf + ((z * sg) >> LT_SIM_NORMAL_TABLE_SHIFT) +
                                (int32_t)lrintf(sq);
                    out[k + j] = to_adc(v, &clamped);
                    sig[k + j] = 0.0f;
                }
            }
            s->touched[ch] = 0;
        }
        /* Defects after the draws, so a defect changes only its own channel. */
        if (__builtin_expect(s->ch_defect[ch] == LT_SIM_CH_DEAD, 0)) {
            uint16_t flat = to_adc(base, &clamped);
            for (uint32_t k = 0; k < LT_SAMPLES_PER_FRAME; k++) out[k] = flat;
        } else if (__builtin_expect(s->ch_defect[ch] == LT_SIM_CH_STICKY, 0)) {
            sticky_apply(s, out, &sticky);
        }
    }
    s->n_touched = 0;
    s->stats.samples_clamped += clamped;
}

/* ---- the fast background path: collection-wire column sums ------------------------------- */

#define SALT_XSUM 0x7873756d73ULL

/* The white-noise rms of a column sum of 2^d rounded samples, 1/256 ADC: the sum of n draws of
 * rms sigma, each rounded to an integer (uniform error, variance 1/12), has variance
 * n (sigma^2 + 1/12). */
static void xsum_sigmas(struct lt_sim_cell *s, uint32_t d)
{
    const uint32_t nx = s->n_wires[LT_PLANE_X], x0 = s->plane_first[LT_PLANE_X];
    for (uint32_t j = 0; j < nx; j++) {
        double sg = s->noise_ch_q[x0 + j] / (double)Q_ONE;
        s->xs_sigma_q[j] = (int32_t)lrint(sqrt((double)(1U << d) * (sg * sg + 1.0 / 12.0)) * Q_ONE);
    }
    s->xs_d = d;
}

void lt_sim_noise_render_x_sums(struct lt_sim_cell *s, uint64_t period_sample, uint32_t d,
                                uint32_t *sums, size_t stride)
{
    const uint64_t period_no = period_sample / LT_SAMPLES_PER_FRAME;
    const uint32_t nx = s->n_wires[LT_PLANE_X], x0 = s->plane_first[LT_PLANE_X];
    const uint32_t n = 1U << d, ncols = LT_SAMPLES_PER_FRAME >> d;
    if (s->xs_d != d || !s->xs_sigma_q[0]) xsum_sigmas(s, d);
    coherent_render(s, period_no);    /* per board and sample, as the full render */
    lowfreq_render(s, period_no, x0); /* collection channels only */
    /* Per board and column: the coherent noise summed (1/256 ADC). */
    int64_t coh_col[LT_FEMBS_PER_CELL][LT_SAMPLES_PER_FRAME];
    for (uint32_t f = 0; f < s->geom.n_fembs; f++)
        for (uint32_t c = 0; c < ncols; c++) {
            int64_t a = 0;
            for (uint32_t k = c * n; k < (c + 1) * n; k++) a += s->coh_q[f][k];
            coh_col[f][c] = a;
        }
    struct lt_sim_rng r, tail, sticky;
    lt_sim_rng_seed(&r, lt_sim_mix(s->cfg.seed, s->cell, SALT_XSUM, period_no));
    lt_sim_rng_seed(&tail, lt_sim_mix(s->cfg.seed, s->cell, SALT_XSUM ^ SALT_TAIL, period_no));
    lt_sim_rng_seed(&sticky, lt_sim_mix(s->cfg.seed, s->cell, SALT_XSUM ^ SALT_STICKY, period_no));
    const int16_t *tab = s->normal;
    const int64_t max_sum = (int64_t)n * LT_WIBETH_ADC_MAX;
    uint64_t clamped = 0;
    for (uint32_t j = 0; j < nx; j++) {
        const uint32_t ch = x0 + j;
        const int32_t base = s->ped_q[ch]; /* + 1/2 for rounding */
        const int32_t lf0 = s->lf_q[ch], lfd = s->lf_d[ch];
        const int32_t *coh = s->coh_q[s->ch_femb[ch]];
        const float *sig = s->touched[ch] ? s->sig[ch] : NULL;
        uint32_t *out = sums + j;
        if (__builtin_expect(s->ch_defect[ch] == LT_SIM_CH_DEAD, 0)) {
            uint32_t flat = to_adc(base, &clamped);
            for (uint32_t c = 0; c < ncols; c++) out[c * stride] = n * flat;
        } else if (__builtin_expect(s->ch_defect[ch] == LT_SIM_CH_STICKY, 0)) {
            /* Sticky codes act on single samples: the samples that stick (each with
             * sticky_probability, as sticky_apply decides) are rendered one by one, rounded and
             * snapped as in the full path; the others are summed like any column (one draw with
             * their summed variance). */
            const uint32_t pst = (uint32_t)(s->cfg.sticky_probability * 65536.0);
            const int32_t sg = s->noise_ch_q[ch];
            for (uint32_t c = 0; c < ncols; c++) {
                int64_t free_q = 0; /* unstuck samples, 1/256 ADC, before rounding */
                uint32_t n_free = 0, stuck_sum = 0;
                uint64_t sb = 0;
                for (uint32_t k = c * n; k < (c + 1) * n; k++) {
                    if ((k - c * n) % 4 == 0) sb = lt_sim_rng_next(&sticky);
                    int32_t x = coh[k] + lf0 + ((lfd * (int32_t)k) >> 6);
                    if (sig) {
                        float sq = sig[k] * (float)Q_ONE;
                        sq = sq > 1e8f ? 1e8f : (sq < -1e8f ? -1e8f : sq);
                        x += (int32_t)lrintf(sq);
                    }
                    if ((uint32_t)(uint16_t)(sb >> (16 * ((k - c * n) % 4))) >= pst) {
                        free_q += x + (base - Q_ONE / 2);
                        n_free++;
                        continue;
                    }
                    int32_t z = table_z(tab, (uint16_t)(lt_sim_rng_next(&r) >> 48), &tail);
                    uint16_t v =
                        to_adc(base + x + ((z * sg) >> LT_SIM_NORMAL_TABLE_SHIFT), &clamped);
                    stuck_sum += (v & 63U) < 32U ? (uint16_t)(v & ~63U) : (uint16_t)(v | 63U);
                }
                if (n_free) {
                    double sgf =
                        sqrt((double)n_free * ((double)sg * sg / (Q_ONE * Q_ONE) + 1.0 / 12.0));
                    int32_t z = table_z(tab, (uint16_t)(lt_sim_rng_next(&r) >> 48), &tail);
                    free_q += (int64_t)lrint(z * sgf * Q_ONE / LT_SIM_NORMAL_TABLE_ONE);
                }
                int64_t v = ((free_q + Q_ONE / 2) >> Q_SHIFT) + stuck_sum;
                out[c * stride] = (uint32_t)(v < 0 ? 0 : v > max_sum ? max_sum : v);
            }
        } else {
            const int32_t sgc = s->xs_sigma_q[j];
            uint64_t bits = 0;
            for (uint32_t c = 0; c < ncols; c++) {
                if (c % 4 == 0) bits = lt_sim_rng_next(&r);
                int32_t z = table_z(tab, (uint16_t)(bits >> (16 * (c % 4))), &tail);
                /* The low-frequency line lf0 + lfd k / 64 summed over the column's samples. */
                int64_t k0 = (int64_t)c * n;
                int64_t lf = (int64_t)lf0 * n + (((int64_t)lfd * (k0 * n + n * (n - 1) / 2)) >> 6);
                int64_t v = (int64_t)(base - Q_ONE / 2) * n + coh_col[s->ch_femb[ch]][c] + lf +
                            (((int64_t)z * sgc) >> LT_SIM_NORMAL_TABLE_SHIFT);
                if (sig) { /* the column's signal, summed by lt_sim_signal_render_x_sums */
                    float a = sig[c] * (float)Q_ONE;
                    a = a > 1e9f ? 1e9f : (a < -1e9f ? -1e9f : a);
                    v += (int64_t)lrintf(a);
                }
                v = (v + Q_ONE / 2) >> Q_SHIFT;
                if (v < 0 || v > max_sum) {
                    clamped++;
                    v = v < 0 ? 0 : max_sum;
                }
                out[c * stride] = (uint32_t)v;
            }
        }
    }
    /* The signal rows rendered this period are consumed: clear them for the next. */
    for (uint32_t i = 0; i < s->n_touched; i++) {
        uint32_t ch = s->touched_list[i];
        for (uint32_t k = 0; k < LT_SAMPLES_PER_FRAME; k++) s->sig[ch][k] = 0.0f;
        s->touched[ch] = 0;
    }
    s->n_touched = 0;
    s->stats.samples_clamped += clamped;
}
