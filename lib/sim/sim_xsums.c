/* The fast background path (lt_sim_cell_render_x_sums, sim.h): a period rendered as the trigger
 * kernel reads it, the collection-wire column sums of 2^d samples, for the module fake-rate
 * benchmark's thousands of cell-seconds (bench/bench_fakerate.c).
 *
 * Why a column can be drawn as a whole. The kernel reads only S = sum over the column's 2^d
 * samples of round(p + c_k + l_k + w_k + s_k): pedestal p, board-coherent c_k, low-frequency l_k,
 * white w_k (rms sigma, independent from sample to sample and from every other term) and signal
 * s_k. Everything except the rounding is linear, so S = 2^d p + sum c_k + sum l_k + sum s_k +
 * (sum w_k + sum e_k), with e_k the rounding errors. With sigma ~3 ADC >> 1 the e_k are uniform
 * on [-1/2, 1/2], independent of each other and of the rest, so the bracket is Gaussian with
 * variance 2^d (sigma^2 + 1/12): one draw per column instead of 2^d (the white noise is
 * independent between samples, so nothing inside a column needs it sample by sample). The
 * correlated parts are rendered as in the full render and summed: the coherent noise sample by
 * sample (an AR(1) per board, 20 us), the low-frequency noise exactly from its linear
 * interpolation, the signal from the pulses (sim_signal.c, undershoot tails in closed form).
 * What is not linear is done sample by sample or kept apart: sticky codes act on single rounded
 * samples (those channels are rendered per sample, below), dead channels are flat, and the ADC
 * clamp applies to the sum (no background saturates a sample). tests/sim/test_sim_xsums.c checks
 * the statistics against the full render.
 *
 * The noise loop is vectorised (sim_xsums_body.h: 8 xoshiro256** lanes, table gathers) and built
 * for AVX2 and generically; both give the same values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define XS_FN   lt_sim_xs_noise_generic
#define XS_AVX2 0
#include "lt_error.h"
#include "sim_xsums_body.h"

#if defined(__x86_64__)
uint64_t lt_sim_xs_noise_avx2(struct lt_sim_cell *s, uint64_t period_no, uint32_t d, uint32_t *sums,
                              size_t stride, struct lt_sim_rng *tail);
#endif

#define SALT_XSUM 0x7873756d73ULL

int lt_sim_xs_create(struct lt_sim_cell *s)
{
    struct lt_sim_xs *x = calloc(1, sizeof *x);
    if (!x) return LT_ENOMEM;
    s->xs = x;
    x->nx = s->n_wires[LT_PLANE_X];
    x->x0 = s->plane_first[LT_PLANE_X];
    x->d = UINT32_MAX;
    const uint32_t nx = x->nx;
    x->sig = calloc((size_t)LT_SAMPLES_PER_FRAME * nx, sizeof *x->sig);
    x->ibase = calloc(nx, sizeof *x->ibase);
    x->sgf = calloc(nx, sizeof *x->sgf);
    x->lf_st = calloc(nx, sizeof *x->lf_st);
    x->lf0 = calloc(nx, sizeof *x->lf0);
    x->lfd = calloc(nx, sizeof *x->lfd);
    x->dead = calloc(nx, sizeof *x->dead);
    x->sticky = calloc(nx, sizeof *x->sticky);
    if (!x->sig || !x->ibase || !x->sgf || !x->lf_st || !x->lf0 || !x->lfd || !x->dead ||
        !x->sticky)
        return LT_ENOMEM; /* the caller destroys the cell, and with it x */
    for (uint32_t j = 0; j < nx; j++) {
        uint8_t defect = s->ch_defect[x->x0 + j];
        if (defect == LT_SIM_CH_DEAD) x->dead[x->n_dead++] = j;
        if (defect == LT_SIM_CH_STICKY) x->sticky[x->n_sticky++] = j;
    }
    for (uint32_t k = 0; k <= LT_SAMPLES_PER_FRAME; k++) x->sqrt_n[k] = sqrtf((float)k);
    /* P(m of a period's 64 samples stick), cumulated, in units of 2^-32 (xs_sticky). */
    const double p = (double)(uint32_t)(s->cfg.sticky_probability * 65536.0) / 65536.0;
    double pm = pow(1.0 - p, LT_SAMPLES_PER_FRAME), cum = 0.0; /* P(0) */
    for (uint32_t k = 0; k < LT_SAMPLES_PER_FRAME; k++) {
        cum += pm;
        x->stuck_cdf[k] = cum >= 1.0 ? UINT32_MAX : (uint32_t)(cum * 4294967296.0);
        pm = p < 1.0 ? pm * (double)(LT_SAMPLES_PER_FRAME - k) / (k + 1) * p / (1.0 - p) : 0.0;
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    x->avx2 = __builtin_cpu_supports("avx2");
#endif
    return 0;
}

void lt_sim_xs_destroy(struct lt_sim_cell *s)
{
    struct lt_sim_xs *x = s->xs;
    if (!x) return;
    free(x->sig);
    free(x->ibase);
    free(x->sgf);
    free(x->lf_st);
    free(x->lf0);
    free(x->lfd);
    free(x->dead);
    free(x->sticky);
    free(x);
    s->xs = NULL;
}

void lt_sim_xs_force_generic(struct lt_sim_cell *s, int on)
{
#if defined(__x86_64__)
    s->xs->avx2 = on ? 0 : __builtin_cpu_supports("avx2");
#else
    (void)s;
    (void)on;
#endif
}

/* The per-wire constants of columns of 2^d samples: (pedestal - 1/2) x 2^d, and the rms of the
 * sum of 2^d white-noise samples each rounded, sqrt(2^d (sigma^2 + 1/12)) (1/256 ADC). */
static void xs_constants(struct lt_sim_cell *s, uint32_t d)
{
    struct lt_sim_xs *x = s->xs;
    const double q_one = 1 << LT_SIM_Q_SHIFT, n = (double)(1U << d);
    for (uint32_t j = 0; j < x->nx; j++) {
        const uint32_t ch = x->x0 + j;
        x->ibase[j] = (s->ped_q[ch] - (1 << (LT_SIM_Q_SHIFT - 1))) * (int32_t)(1U << d);
        double sg = s->noise_ch_q[ch] / q_one;
        x->sgf[j] = (float)(sqrt(n * (sg * sg + 1.0 / 12.0)) * q_one);
    }
    x->d = d;
}

/* One standard normal in table units from lt_sim_xs_table (the scalar twin of xs_z). */
static inline int32_t xs_scalar_z(const int32_t *tab, struct lt_sim_rng *r, struct lt_sim_rng *tail)
{
    uint64_t bits = lt_sim_rng_next(r) >> 40;
    uint32_t idx = (uint32_t)bits & (LT_SIM_XS_TABLE_SIZE - 1);
    int32_t f = (int32_t)(bits >> LT_SIM_XS_TABLE_BITS) & 4095, g = tab[idx];
    int32_t knot = (int16_t)(g & 0xffff), width = g >> 16;
    if (__builtin_expect(knot == LT_SIM_NORMAL_TAIL, 0)) return lt_sim_xs_tail(tail, idx == 0);
    return knot + ((width * f) >> 12);
}

/* a rounded to the nearest integer (even on ties), bounded to +-1e9. Below 2^22 (always, but
 * for a huge signal) without a branch or a libm call: adding 1.5 x 2^23 leaves the rounded
 * integer in the low mantissa bits. */
static inline int32_t round_f(float a)
{
    if (__builtin_expect(fabsf(a) < 4194304.0f, 1)) {
        const float t = a + 12582912.0f;
        int32_t b;
        memcpy(&b, &t, sizeof b);
        return b - 0x4B400000;
    }
    return a > 1e9f ? 1000000000 : (a < -1e9f ? -1000000000 : (int32_t)a);
}

/* A sticky-code wire's column sums where samples stick (overwriting the vector loop's): sticky
 * codes act on single samples, so the samples that stick (each with sticky_probability, as the
 * full render decides) are rendered one by one, rounded and snapped; the others are summed as
 * any column: their correlated noise and signal (the column's minus the stuck samples') plus one
 * white-noise draw with their summed variance. */
static uint64_t xs_sticky(struct lt_sim_cell *s, uint32_t j, uint32_t d, uint32_t *out,
                          size_t stride, struct lt_sim_rng *r, struct lt_sim_rng *sticky,
                          struct lt_sim_rng *tail)
{
    const struct lt_sim_xs *x = s->xs;
    const int32_t *tab = lt_sim_xs_table();
    const uint32_t ch = x->x0 + j, n = 1U << d, ncols = LT_SAMPLES_PER_FRAME >> d;
    const uint32_t f = j / LT_X_PER_FEMB;
    const int32_t q_one = 1 << LT_SIM_Q_SHIFT, base = s->ped_q[ch], sg = s->noise_ch_q[ch];
    /* One rounded sample's white-noise rms, 1/256 ADC per table unit. */
    const float sd1 = (float)(sqrt((double)sg * sg / ((double)q_one * q_one) + 1.0 / 12.0) * q_one /
                              LT_SIM_NORMAL_TABLE_ONE);
    const int32_t lf0 = x->lf0[j], lfd = x->lfd[j];
    const float *sig = s->touched[ch] ? s->sig[ch] : NULL;
    const int64_t max_sum = (int64_t)n * LT_WIBETH_ADC_MAX;
    /* Which of the period's 64 samples stick, each with the probability the full render uses
     * (sticky_apply: 16-bit resolution), independently: the same as a Binomial(64, p) number of
     * them (x->stuck_cdf) at distinct uniformly random places, which costs a few draws per
     * period instead of one comparison per sample. */
    uint64_t bits = lt_sim_rng_next(sticky);
    const uint32_t u = (uint32_t)(bits >> 32);
    uint32_t m = 0;
    while (m < LT_SAMPLES_PER_FRAME && u >= x->stuck_cdf[m]) m++;
    uint64_t stuck = 0;
    uint32_t left = 5; /* 6-bit places left in bits (the top 32 bits were the count) */
    for (uint32_t i = 0; i < m;) {
        if (!left) {
            bits = lt_sim_rng_next(sticky);
            left = 10;
        }
        const uint64_t one = 1ULL << (bits & 63U);
        bits >>= 6;
        left--;
        if (!(stuck & one)) {
            stuck |= one;
            i++;
        }
    }
    uint64_t clamped = 0;
    for (uint32_t c = 0; c < ncols; c++) {
        const uint64_t colmask = n == 64 ? ~0ULL : ((1ULL << n) - 1) << (c * n);
        /* No sample of this column sticks: it is an ordinary column, and the vector loop's sum
         * (with this wire's signal column) stands. */
        if (!(stuck & colmask)) continue;
        float lin = x->coh_col[c][f]; /* the column's coherent noise and signal, 1/256 ADC */
        if (sig)
            for (uint32_t k = c * n; k < (c + 1) * n; k++) lin += sig[k] * (float)q_one;
        int64_t lf =
            (int64_t)lf0 * n + (((int64_t)lfd * ((int64_t)c * n * n + n * (n - 1) / 2)) >> 6);
        uint32_t n_free = n, stuck_sum = 0;
        for (uint64_t w = stuck & colmask; w; w &= w - 1) {
            const uint32_t k = (uint32_t)__builtin_ctzll(w);
            const float a = x->coh[k][f] + (sig ? sig[k] * (float)q_one : 0.0f);
            const int32_t lfk = lf0 + ((lfd * (int32_t)k) >> 6);
            lin -= a;
            lf -= lfk;
            n_free--;
            int32_t z = xs_scalar_z(tab, r, tail);
            uint16_t adc = lt_sim_to_adc(
                base + round_f(a) + lfk + ((z * sg) >> LT_SIM_NORMAL_TABLE_SHIFT), &clamped);
            stuck_sum += lt_sim_sticky_snap(adc);
        }
        int64_t free_q = (int64_t)round_f(lin) + lf + (int64_t)n_free * (base - q_one / 2);
        if (n_free) free_q += round_f((float)xs_scalar_z(tab, r, tail) * sd1 * x->sqrt_n[n_free]);
        int64_t v = ((free_q + q_one / 2) >> LT_SIM_Q_SHIFT) + stuck_sum;
        out[(size_t)c * stride] = (uint32_t)(v < 0 ? 0 : v > max_sum ? max_sum : v);
    }
    return clamped;
}

void lt_sim_xs_render(struct lt_sim_cell *s, uint64_t period_sample, uint32_t d, uint32_t *sums,
                      size_t stride)
{
    struct lt_sim_xs *x = s->xs;
    const uint64_t period_no = period_sample / LT_SAMPLES_PER_FRAME;
    const uint32_t n = 1U << d, ncols = LT_SAMPLES_PER_FRAME >> d;
    if (x->d != d) xs_constants(s, d);
    /* The signal enters the vector loop's float sum unchecked: bound it here (a shower core may
     * exceed the ADC range many times over; 1e6 ADC keeps every sum below 2^31 in 1/256 ADC). */
    for (uint32_t i = 0; i < s->n_touched; i++) {
        const uint32_t ch = s->touched_list[i];
        float *col = x->sig + (ch - x->x0);
        for (uint32_t c = 0; c < ncols; c++) {
            float a = col[(size_t)c * x->nx];
            col[(size_t)c * x->nx] = a > 1e6f ? 1e6f : (a < -1e6f ? -1e6f : a);
        }
    }
    struct lt_sim_rng tail, r, sticky;
    lt_sim_rng_seed(&tail,
                    lt_sim_mix(s->cfg.seed, s->cell, SALT_XSUM ^ LT_SIM_SALT_TAIL, period_no));
    uint64_t clamped;
#if defined(__x86_64__)
    if (x->avx2)
        clamped = lt_sim_xs_noise_avx2(s, period_no, d, sums, stride, &tail);
    else
#endif
        clamped = lt_sim_xs_noise_generic(s, period_no, d, sums, stride, &tail);

    for (uint32_t i = 0; i < x->n_dead; i++) {
        const uint32_t j = x->dead[i];
        uint32_t flat = lt_sim_to_adc(s->ped_q[x->x0 + j], &clamped);
        for (uint32_t c = 0; c < ncols; c++) sums[(size_t)c * stride + j] = n * flat;
    }
    if (x->n_sticky) {
        lt_sim_rng_seed(&r, lt_sim_mix(s->cfg.seed, s->cell, SALT_XSUM, period_no));
        lt_sim_rng_seed(
            &sticky, lt_sim_mix(s->cfg.seed, s->cell, SALT_XSUM ^ LT_SIM_SALT_STICKY, period_no));
        for (uint32_t i = 0; i < x->n_sticky; i++)
            clamped +=
                xs_sticky(s, x->sticky[i], d, sums + x->sticky[i], stride, &r, &sticky, &tail);
    }
    /* The signal rendered this period is consumed: clear it for the next. */
    for (uint32_t i = 0; i < s->n_touched; i++) {
        const uint32_t ch = s->touched_list[i], j = ch - x->x0;
        if (s->ch_defect[ch] == LT_SIM_CH_STICKY) memset(s->sig[ch], 0, sizeof s->sig[ch]);
        for (uint32_t c = 0; c < ncols; c++) x->sig[(size_t)c * x->nx + j] = 0.0f;
        s->touched[ch] = 0;
    }
    s->n_touched = 0;
    s->stats.samples_clamped += clamped;
}
