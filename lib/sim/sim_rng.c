/* Random variates for the simulator: exact ones for the physics generators (rare, a few per
 * event) and a quantile table for the noise (one per ADC sample, so it must cost a table load). */
#include <math.h>
#include <pthread.h>

#include "sim_internal.h"

double lt_sim_normal(struct lt_sim_rng *r)
{
    /* Marsaglia's polar method; the second variate is dropped to keep the stream position a
     * function of the call count only. */
    for (;;) {
        double u = 2.0 * lt_sim_uniform(r) - 1.0;
        double v = 2.0 * lt_sim_uniform(r) - 1.0;
        double q = u * u + v * v;
        if (q > 0.0 && q < 1.0) return u * sqrt(-2.0 * log(q) / q);
    }
}

double lt_sim_exponential(struct lt_sim_rng *r)
{
    return -log(lt_sim_uniform(r));
}

double lt_sim_gamma(struct lt_sim_rng *r, double shape)
{
    /* Marsaglia & Tsang (2000); shape < 1 via the boost Gamma(a) = Gamma(a+1) * U^(1/a). */
    if (shape < 1.0) return lt_sim_gamma(r, shape + 1.0) * pow(lt_sim_uniform(r), 1.0 / shape);
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = lt_sim_normal(r), v = 1.0 + c * x;
        if (v <= 0.0) continue;
        v = v * v * v;
        double u = lt_sim_uniform(r);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

void lt_sim_isotropic(struct lt_sim_rng *r, double dir[3])
{
    double cost = 2.0 * lt_sim_uniform(r) - 1.0;
    double sint = sqrt(1.0 - cost * cost);
    double phi = 2.0 * M_PI * lt_sim_uniform(r);
    dir[0] = sint * cos(phi);
    dir[1] = sint * sin(phi);
    dir[2] = cost;
}

/* ---- the noise table ----------------------------------------------------------------------- */

static int16_t normal_table[LT_SIM_NORMAL_TABLE_SIZE];
static pthread_once_t normal_once = PTHREAD_ONCE_INIT;

/* Inverse of the standard normal CDF: Abramowitz & Stegun 26.2.23 as a start (|error| < 4.5e-4),
 * then Newton steps on Phi(x) - p with the exact erfc. */
static double inverse_normal_cdf(double p)
{
    double q = p < 0.5 ? p : 1.0 - p;
    double t = sqrt(-2.0 * log(q));
    double x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
                       (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
    if (p < 0.5) x = -x;
    for (int i = 0; i < 4; i++) {
        double cdf = 0.5 * erfc(-x / M_SQRT2);
        double pdf = exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
        x -= (cdf - p) / pdf;
    }
    return x;
}

static double tail_start;  /* |z| beyond which the outermost bins lie */
static double table_scale; /* table units per sigma */

static void build_normal_table(void)
{
    /* Equal-probability quantiles (bin midpoints). The two outermost bins (|z| > 4.17) are
     * sentinels: a sample landing there is drawn exactly from the Gaussian tail instead
     * (lt_sim_normal_tail), so the noise has correct tails to any threshold a trigger may use.
     * The scale makes the rms of the whole distribution exactly 1 (midpoints alone are ~0.1%
     * low); the tail bins contribute their exact second moment 1 + a phi(a) / p. */
    static double q[LT_SIM_NORMAL_TABLE_SIZE];
    const double p_bin = 1.0 / LT_SIM_NORMAL_TABLE_SIZE;
    double sum2 = 0.0;
    for (uint32_t i = 1; i < LT_SIM_NORMAL_TABLE_SIZE / 2; i++) {
        double x = inverse_normal_cdf(((double)i + 0.5) * p_bin);
        q[i] = x;
        q[LT_SIM_NORMAL_TABLE_SIZE - 1 - i] = -x;
        sum2 += 2.0 * x * x;
    }
    tail_start = -inverse_normal_cdf(p_bin);
    double a = tail_start, phi = exp(-0.5 * a * a) / sqrt(2.0 * M_PI);
    sum2 += 2.0 * (1.0 + a * phi / p_bin);
    table_scale = LT_SIM_NORMAL_TABLE_ONE / sqrt(sum2 / LT_SIM_NORMAL_TABLE_SIZE);
    /* Spread the quantiles over the index space so low and high index bits are both uniform:
     * the index is random anyway, but a permutation keeps neighbouring entries unrelated. */
    for (uint32_t i = 0; i < LT_SIM_NORMAL_TABLE_SIZE; i++) {
        uint32_t j = (i * 40503U) & (LT_SIM_NORMAL_TABLE_SIZE - 1); /* odd multiplier: bijection */
        int tail = i == 0 || i == LT_SIM_NORMAL_TABLE_SIZE - 1;
        normal_table[j] = tail ? LT_SIM_NORMAL_TAIL : (int16_t)lrint(q[i] * table_scale);
    }
}

int32_t lt_sim_normal_tail(struct lt_sim_rng *r)
{
    /* Marsaglia (1964): x = sqrt(a^2 - 2 ln u1) accepted when u2 x < a is exactly the normal
     * tail beyond a. Either sign with probability 1/2 (the two tail bins are equally likely). */
    double a = tail_start, x;
    do {
        x = sqrt(a * a - 2.0 * log(lt_sim_uniform(r)));
    } while (lt_sim_uniform(r) * x >= a);
    double v = x * table_scale;
    if (v > 32767.0) v = 32767.0;
    int32_t z = (int32_t)lrint(v);
    return (lt_sim_rng_next(r) >> 63) ? -z : z;
}

const int16_t *lt_sim_normal_table(void)
{
    pthread_once(&normal_once, build_normal_table);
    return normal_table;
}

/* ---- the fast path's noise table (sim_xsums_body.h) ------------------------------------------ */

static int32_t xs_table[LT_SIM_XS_TABLE_SIZE];
static pthread_once_t xs_once = PTHREAD_ONCE_INIT;
static double xs_tail_start, xs_scale;

static void build_xs_table(void)
{
    /* Bin i of equal probability 1/N spans the quantiles q_i = Q(i / N) .. q_(i+1); a draw in it
     * is q_i + (q_(i+1) - q_i) f with f uniform: the inverse CDF interpolated linearly, so a
     * 16 KB table (it stays in the L1 cache, unlike lt_sim_normal_table's 128 KB) gives a
     * continuous Gaussian. The two outermost bins (|z| > 3.35) are drawn exactly from the tail
     * (lt_sim_xs_tail). The scale makes the variance exactly 1: a bin's uniform piece has second
     * moment (q_i^2 + q_i q_(i+1) + q_(i+1)^2) / 3, each tail 1 + a phi(a) / p. */
    static double q[LT_SIM_XS_TABLE_SIZE + 1];
    const double p_bin = 1.0 / LT_SIM_XS_TABLE_SIZE;
    for (uint32_t i = 1; i < LT_SIM_XS_TABLE_SIZE; i++) q[i] = inverse_normal_cdf(i * p_bin);
    xs_tail_start = -q[1];
    double m2 = 0.0;
    for (uint32_t i = 1; i + 1 < LT_SIM_XS_TABLE_SIZE; i++)
        m2 += p_bin * (q[i] * q[i] + q[i] * q[i + 1] + q[i + 1] * q[i + 1]) / 3.0;
    double a = xs_tail_start, phi = exp(-0.5 * a * a) / sqrt(2.0 * M_PI);
    m2 += 2.0 * p_bin * (1.0 + a * phi / p_bin);
    xs_scale = LT_SIM_NORMAL_TABLE_ONE / sqrt(m2);
    for (uint32_t i = 0; i < LT_SIM_XS_TABLE_SIZE; i++) {
        if (i == 0 || i == LT_SIM_XS_TABLE_SIZE - 1) {
            xs_table[i] = (int32_t)(uint16_t)LT_SIM_NORMAL_TAIL; /* slope 0, knot: sentinel */
            continue;
        }
        int32_t k0 = (int32_t)lrint(q[i] * xs_scale), k1 = (int32_t)lrint(q[i + 1] * xs_scale);
        xs_table[i] = (int32_t)((uint32_t)(k1 - k0) << 16 | (uint16_t)(int16_t)k0);
    }
}

const int32_t *lt_sim_xs_table(void)
{
    pthread_once(&xs_once, build_xs_table);
    return xs_table;
}

int32_t lt_sim_xs_tail(struct lt_sim_rng *r, int negative)
{
    double a = xs_tail_start, x; /* Marsaglia's tail method, as lt_sim_normal_tail */
    do {
        x = sqrt(a * a - 2.0 * log(lt_sim_uniform(r)));
    } while (lt_sim_uniform(r) * x >= a);
    double v = x * xs_scale;
    if (v > 1e9) v = 1e9;
    int32_t z = (int32_t)lrint(v);
    return negative ? -z : z;
}
