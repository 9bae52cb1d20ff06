/* The fast background path (lt_sim_cell_render_x_sums) against the full render: the collection
 * column sums it makes directly must have the statistics of the sums of the full render's
 * samples (what bench/bench_fakerate's measurement rests on). Same seed, same cell: the same
 * pedestals, defects and events, independent noise draws. Checked, per wire and pooled:
 *  - noise only (white, board-coherent, low-frequency; dead, noisy and sticky channels): the mean
 *    of each wire's column sum, its variance, the lag-1 autocorrelation of the column sums and
 *    the correlation of neighbouring wires on one board;
 *  - default backgrounds: the number of columns above 5 and 8 standard deviations of the noise
 *    and the charge in them (the deposits' rate and size as the kernel sees them);
 *  - the API's refusals (mixing the two renders, bad arguments). */
#include "chmap.h"
#include "lt_error.h"
#include "sim.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NF      4 /* boards: 192 collection wires */
#define NX      (NF * 48)
#define D       4
#define NCOLS   (LT_SAMPLES_PER_FRAME >> D)
#define PERIODS 4000

/* Column sums sums[(period * NCOLS + c) * NX + wire], full or fast. */
static uint32_t *render(const struct lt_sim_config *cfg, int fast)
{
    struct lt_sim_cell *s = NULL;
    char err[256] = "";
    ck_assert_msg(lt_sim_cell_create(cfg, 3, &s, err, sizeof err) == 0, "%s", err);
    uint32_t *sums = calloc((size_t)PERIODS * NCOLS * NX, sizeof *sums);
    uint16_t(*adc)[LT_SAMPLES_PER_FRAME] = calloc(NF * LT_CHANNELS_PER_FEMB, sizeof *adc);
    ck_assert(sums && adc);
    const uint32_t x0 = NF * 80; /* offline channel of collection wire 0 (U, V, X order) */
    for (uint32_t p = 0; p < PERIODS; p++) {
        uint32_t *out = sums + (size_t)p * NCOLS * NX;
        if (fast) {
            ck_assert_int_eq(lt_sim_cell_render_x_sums(s, D, out, NX), 0);
            continue;
        }
        lt_sim_cell_render(s, adc);
        for (uint32_t c = 0; c < NCOLS; c++)
            for (uint32_t j = 0; j < NX; j++) {
                uint32_t a = 0;
                for (uint32_t k = c << D; k < (c + 1) << D; k++) a += adc[x0 + j][k];
                out[c * NX + j] = a;
            }
    }
    free(adc);
    lt_sim_cell_destroy(s);
    return sums;
}

struct wire_stats {
    double mean[NX], var[NX];
    double rho1;   /* lag-1 autocorrelation of the column sums, pooled over live wires */
    double rho_nb; /* correlation of wires j, j+1 on one board, pooled */
};

static void stats(const uint32_t *sums, struct wire_stats *w)
{
    const size_t n = (size_t)PERIODS * NCOLS;
    for (uint32_t j = 0; j < NX; j++) {
        double a = 0, b = 0;
        for (size_t t = 0; t < n; t++) {
            double v = sums[t * NX + j];
            a += v;
            b += v * v;
        }
        w->mean[j] = a / n;
        w->var[j] = b / n - w->mean[j] * w->mean[j];
    }
    double c1 = 0, cn = 0, v1 = 0, vn = 0;
    for (uint32_t j = 0; j < NX; j++) {
        if (w->var[j] < 1.0) continue; /* dead */
        double sd = sqrt(w->var[j]);
        for (size_t t = 0; t + 1 < n; t++)
            c1 +=
                (sums[t * NX + j] - w->mean[j]) * (sums[(t + 1) * NX + j] - w->mean[j]) / w->var[j];
        v1 += (double)(n - 1);
        if (j % 48 == 47 || w->var[j + 1] < 1.0) continue;
        double sd2 = sqrt(w->var[j + 1]);
        for (size_t t = 0; t < n; t++)
            cn += (sums[t * NX + j] - w->mean[j]) * (sums[t * NX + j + 1] - w->mean[j + 1]) /
                  (sd * sd2);
        vn += (double)n;
    }
    w->rho1 = c1 / v1;
    w->rho_nb = cn / vn;
}

static void noise_only(struct lt_sim_config *c)
{
    lt_sim_config_default(c);
    c->n_fembs = NF;
    c->seed = 77;
    c->ar39_bq_per_kg = c->ar42_bq_per_kg = c->kr85_bq_per_kg = c->rn222_bq_per_kg = 0;
    c->ncapture_rate_hz = c->le_rate_hz = c->he_rate_hz = c->cosmic_rate_hz = 0;
}

START_TEST(noise_statistics)
{
    struct lt_sim_config c;
    noise_only(&c);
    uint32_t *full = render(&c, 0), *fast = render(&c, 1);
    static struct wire_stats a, b;
    stats(full, &a);
    stats(fast, &b);
    /* Correlated noise (coherent: 20 us, low-frequency: 100 us) leaves ~1600 independent
     * columns per wire: a wire's mean is known to ~0.7 (sum units), its variance to ~4%. */
    double pooled_a = 0, pooled_b = 0;
    int live = 0, dead = 0;
    for (uint32_t j = 0; j < NX; j++) {
        if (a.var[j] < 1.0) {
            ck_assert_msg(b.var[j] < 1.0, "wire %u: dead in the full render, variance %.2f fast", j,
                          b.var[j]);
            ck_assert_msg(fabs(a.mean[j] - b.mean[j]) < 1e-9, "dead wire %u: mean %.2f vs %.2f", j,
                          a.mean[j], b.mean[j]);
            dead++;
            continue;
        }
        double tol_mean = 5.0 * sqrt(a.var[j] / 1600.0) + 0.5;
        ck_assert_msg(fabs(a.mean[j] - b.mean[j]) < tol_mean,
                      "wire %u: mean column sum %.2f full vs %.2f fast (tolerance %.2f)", j,
                      a.mean[j], b.mean[j], tol_mean);
        double r = b.var[j] / a.var[j];
        ck_assert_msg(r > 0.8 && r < 1.25, "wire %u: variance %.1f full vs %.1f fast", j, a.var[j],
                      b.var[j]);
        pooled_a += a.var[j];
        pooled_b += b.var[j];
        live++;
    }
    ck_assert_int_gt(live, NX * 9 / 10);
    double r = pooled_b / pooled_a;
    ck_assert_msg(r > 0.95 && r < 1.05, "pooled variance: %.2f full vs %.2f fast", pooled_a / live,
                  pooled_b / live);
    ck_assert_msg(fabs(a.rho1 - b.rho1) < 0.03, "lag-1 autocorrelation %.3f full vs %.3f fast",
                  a.rho1, b.rho1);
    ck_assert_msg(a.rho1 > 0.3, "the correlated noise shows (lag-1 %.3f)", a.rho1);
    ck_assert_msg(fabs(a.rho_nb - b.rho_nb) < 0.03,
                  "neighbouring-wire correlation %.3f full vs %.3f fast", a.rho_nb, b.rho_nb);
    (void)dead;
    free(full);
    free(fast);
}
END_TEST

/* Columns more than k noise sigmas above the wire's mean, and their summed excess. */
static void excess(const uint32_t *sums, const struct wire_stats *noise, double k, double *count,
                   double *charge)
{
    *count = *charge = 0;
    const size_t n = (size_t)PERIODS * NCOLS;
    for (uint32_t j = 0; j < NX; j++) {
        if (noise->var[j] < 1.0) continue;
        double cut = noise->mean[j] + k * sqrt(noise->var[j]);
        for (size_t t = 0; t < n; t++)
            if (sums[t * NX + j] > cut) {
                *count += 1;
                *charge += sums[t * NX + j] - noise->mean[j];
            }
    }
}

START_TEST(background_deposits)
{
    struct lt_sim_config c;
    noise_only(&c);
    uint32_t *quiet = render(&c, 0);
    static struct wire_stats noise;
    stats(quiet, &noise);
    free(quiet);
    lt_sim_config_default(&c);
    c.n_fembs = NF;
    c.seed = 77;
    c.le_rate_hz = c.he_rate_hz = c.cosmic_rate_hz = 0;
    c.ncapture_rate_hz = 50; /* the rare 6 MeV cascades, enough of them to count */
    uint32_t *full = render(&c, 0), *fast = render(&c, 1);
    for (double k = 5; k <= 8; k += 3) {
        double nf, qf, ns, qs;
        excess(full, &noise, k, &nf, &qf);
        excess(fast, &noise, k, &ns, &qs);
        /* The events are the same; noise decides which columns near the cut pass. */
        ck_assert_msg(nf > 100, "%g sigma: only %.0f columns (no deposits?)", k, nf);
        ck_assert_msg(fabs(nf - ns) < 0.05 * nf + 4.0 * sqrt(nf),
                      "%g sigma: %.0f columns full vs %.0f fast", k, nf, ns);
        ck_assert_msg(fabs(qf - qs) < 0.05 * qf, "%g sigma: charge %.0f full vs %.0f fast", k, qf,
                      qs);
    }
    free(full);
    free(fast);
}
END_TEST

START_TEST(refusals)
{
    struct lt_sim_config c;
    noise_only(&c);
    struct lt_sim_cell *s = NULL;
    char err[256];
    ck_assert_int_eq(lt_sim_cell_create(&c, 0, &s, err, sizeof err), 0);
    static uint32_t sums[LT_SAMPLES_PER_FRAME * NX];
    ck_assert_int_eq(lt_sim_cell_render_x_sums(s, 7, sums, NX), LT_EINVAL);
    ck_assert_int_eq(lt_sim_cell_render_x_sums(s, D, sums, NX - 1), LT_EINVAL);
    static uint16_t adc[NF * LT_CHANNELS_PER_FEMB][LT_SAMPLES_PER_FRAME];
    lt_sim_cell_render(s, adc);
    ck_assert_int_eq(lt_sim_cell_render_x_sums(s, D, sums, NX), LT_EINVAL); /* full first */
    lt_sim_cell_destroy(s);
    ck_assert_int_eq(lt_sim_cell_create(&c, 0, &s, err, sizeof err), 0);
    ck_assert_int_eq(lt_sim_cell_render_x_sums(s, D, sums, NX), 0);
    adc[5][5] = 1234;
    lt_sim_cell_render(s, adc); /* a fast cell renders no full period: zeros */
    ck_assert_int_eq(adc[5][5], 0);
    lt_sim_cell_destroy(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim_xsums");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, noise_statistics);
    tcase_add_test(tc, background_deposits);
    tcase_add_test(tc, refusals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
