/* The fast background path (lt_sim_cell_render_x_sums) against the full render: the collection
 * column sums it makes directly must have the statistics of the sums of the full render's
 * samples (what bench/bench_fakerate's measurement rests on). Same seed, same cell: the same
 * pedestals, defects and events, independent noise draws. Checked, per wire and pooled:
 *  - noise only (white, board-coherent, low-frequency; dead, noisy and sticky channels): the mean
 *    of each wire's column sum, its variance, the lag-1 autocorrelation of the column sums, their
 *    integrated autocorrelation time (the slow noise's memory) and the correlation of
 *    neighbouring wires on one board; for the kernel's 16-sample columns with
 *    every component, with the correlated components one at a time (board-coherent,
 *    low-frequency, each with the white noise that dithers the rounding), and for the TP
 *    chain's 2-sample columns;
 *  - default backgrounds: the number of columns above 5 and 8 standard deviations of the noise
 *    and the charge in them (the deposits' rate and size as the kernel sees them);
 *  - the signal of large deposits with the electronics undershoot: with and without the events
 *    (both renders draw the same noise either way), column by column and its tail's area;
 *  - the AVX2 and the generic build of the noise loop give the same sums;
 *  - the API's refusals (mixing the two renders, bad arguments). */
#include "chmap.h"
#include "lt_error.h"
#include "sim.h"
#include "sim_internal.h" /* lt_sim_xs_force_generic */

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NF      4 /* boards: 192 collection wires */
#define NX      (NF * 48)
#define D       4 /* the network kernels' columns; the TP chain's are 2 samples (d = 1) */
#define PERIODS 4000

static uint32_t d_cur = D; /* the column length 2^d of render() and stats() */
#define NCOLS (LT_SAMPLES_PER_FRAME >> d_cur)

/* Column sums sums[(period * NCOLS + c) * NX + wire] of `periods` periods, full or fast (2:
 * fast with the generic noise loop), with optional injected events. */
static uint32_t *render_n(const struct lt_sim_config *cfg, int fast, uint32_t periods,
                          const struct lt_sim_event *ev, uint32_t n_ev)
{
    struct lt_sim_cell *s = NULL;
    char err[256] = "";
    const uint32_t d = d_cur;
    ck_assert_msg(lt_sim_cell_create(cfg, 3, &s, err, sizeof err) == 0, "%s", err);
    if (fast == 2) lt_sim_xs_force_generic(s, 1);
    for (uint32_t i = 0; i < n_ev; i++)
        ck_assert_msg(lt_sim_cell_inject(s, &ev[i], err, sizeof err) == 0, "%s", err);
    uint32_t *sums = calloc((size_t)periods * NCOLS * NX, sizeof *sums);
    uint16_t(*adc)[LT_SAMPLES_PER_FRAME] = calloc(NF * LT_CHANNELS_PER_FEMB, sizeof *adc);
    ck_assert(sums && adc);
    const uint32_t x0 = NF * 80; /* offline channel of collection wire 0 (U, V, X order) */
    for (uint32_t p = 0; p < periods; p++) {
        uint32_t *out = sums + (size_t)p * NCOLS * NX;
        if (fast) {
            ck_assert_int_eq(lt_sim_cell_render_x_sums(s, d, out, NX), 0);
            continue;
        }
        lt_sim_cell_render(s, adc);
        for (uint32_t c = 0; c < NCOLS; c++)
            for (uint32_t j = 0; j < NX; j++) {
                uint32_t a = 0;
                for (uint32_t k = c << d; k < (c + 1) << d; k++) a += adc[x0 + j][k];
                out[c * NX + j] = a;
            }
    }
    free(adc);
    lt_sim_cell_destroy(s);
    return sums;
}

static uint32_t n_periods = PERIODS; /* of render() and stats() */

static uint32_t *render(const struct lt_sim_config *cfg, int fast)
{
    return render_n(cfg, fast, n_periods, NULL, 0);
}

struct wire_stats {
    double mean[NX], var[NX];
    double rho1;   /* lag-1 autocorrelation of the column sums, pooled over live wires */
    double tau;    /* integrated autocorrelation time of the column sums (pooled): a wire's
                    * mean of n sums has the variance var tau / n */
    double rho_nb; /* correlation of wires j, j+1 on one board, pooled */
};

static void stats(const uint32_t *sums, struct wire_stats *w)
{
    const size_t n = (size_t)n_periods * NCOLS;
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
    /* tau from batch means: 40 batches of n / 40 sums each, far longer than the slowest noise
     * (the low-frequency AR(1), ~3 periods), so their means are independent. The lag-1
     * correlation alone would miss the slow component's long memory. */
    enum { B = 40 };
    const size_t len = n / B;
    double tsum = 0;
    int tn = 0;
    for (uint32_t j = 0; j < NX; j++) {
        if (w->var[j] < 1.0) continue;
        double m2 = 0;
        for (int b = 0; b < B; b++) {
            double a = 0;
            for (size_t t = b * len; t < (b + 1) * len; t++) a += sums[t * NX + j];
            a = a / len - w->mean[j];
            m2 += a * a;
        }
        tsum += m2 / B * len / w->var[j];
        tn++;
    }
    w->tau = tn ? tsum / tn : 1.0;
}

static void noise_only(struct lt_sim_config *c)
{
    lt_sim_config_default(c);
    c->n_fembs = NF;
    c->seed = 77;
    c->ar39_bq_per_kg = c->ar42_bq_per_kg = c->kr85_bq_per_kg = c->rn222_bq_per_kg = 0;
    c->ncapture_rate_hz = c->le_rate_hz = c->he_rate_hz = c->cosmic_rate_hz = 0;
}

/* The noise of the fast path against the full render's (noise_only(c) with edits). per_wire:
 * each wire's variance too (a component as slow as the low-frequency noise leaves too few
 * independent columns per wire for that; pooled over the wires it is still tight). */
static void compare_noise(const struct lt_sim_config *cfg, const char *what, int per_wire)
{
    struct lt_sim_config c = *cfg;
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
        /* The difference of two means of n correlated column sums: variance 2 var tau / n. */
        const double n_eff = n_periods * NCOLS / (a.tau > b.tau ? a.tau : b.tau);
        double tol_mean = 5.0 * sqrt(2.0 * a.var[j] / n_eff) + 0.5;
        ck_assert_msg(fabs(a.mean[j] - b.mean[j]) < tol_mean,
                      "%s: wire %u: mean column sum %.2f full vs %.2f fast (tolerance %.2f)", what,
                      j, a.mean[j], b.mean[j], tol_mean);
        double r = b.var[j] / a.var[j];
        ck_assert_msg(!per_wire || (r > 0.8 && r < 1.25),
                      "%s: wire %u: variance %.1f full vs %.1f fast", what, j, a.var[j], b.var[j]);
        pooled_a += a.var[j];
        pooled_b += b.var[j];
        live++;
    }
    ck_assert_int_gt(live, NX * 9 / 10);
    double r = pooled_b / pooled_a;
    ck_assert_msg(r > 0.95 && r < 1.05, "%s: pooled variance: %.2f full vs %.2f fast", what,
                  pooled_a / live, pooled_b / live);
    ck_assert_msg(fabs(a.rho1 - b.rho1) < 0.03, "%s: lag-1 autocorrelation %.3f full vs %.3f fast",
                  what, a.rho1, b.rho1);
    ck_assert_msg(fabs(a.tau - b.tau) < 0.2 * a.tau,
                  "%s: autocorrelation time %.1f full vs %.1f fast (columns)", what, a.tau, b.tau);
    ck_assert_msg(fabs(a.rho_nb - b.rho_nb) < 0.03,
                  "%s: neighbouring-wire correlation %.3f full vs %.3f fast", what, a.rho_nb,
                  b.rho_nb);
    printf("%s: pooled variance %.1f full, %.1f fast; lag-1 %.3f, %.3f; neighbours %.3f, %.3f; "
           "autocorrelation time %.1f, %.1f columns\n",
           what, pooled_a / live, pooled_b / live, a.rho1, b.rho1, a.rho_nb, b.rho_nb, a.tau,
           b.tau);
    (void)dead;
    free(full);
    free(fast);
}

START_TEST(noise_statistics)
{
    struct lt_sim_config c;
    noise_only(&c);
    compare_noise(&c, "every noise component, 16-sample columns", 1);
}
END_TEST

/* Each correlated component alone (with the white noise, whose dithering makes the rounding
 * errors of the samples independent, as the fast path assumes), where a wrong variance or
 * correlation of that component could not hide behind the others. */
START_TEST(noise_components)
{
    struct lt_sim_config c;
    noise_only(&c);
    c.lowfreq_noise = 0;
    c.dead_fraction = c.noisy_fraction = c.sticky_fraction = 0;
    c.coherent_noise = 2.0; /* a board's 48 wires move together: neighbours correlate */
    n_periods = 2500;
    compare_noise(&c, "white + board-coherent", 0);
    noise_only(&c);
    c.coherent_noise = 0;
    c.dead_fraction = c.noisy_fraction = c.sticky_fraction = 0;
    c.lowfreq_noise = 3.0; /* slow: consecutive columns correlate */
    compare_noise(&c, "white + low-frequency", 0);
    noise_only(&c);
    c.sticky_fraction = 0.3; /* many sticky-code channels */
    compare_noise(&c, "every component, 30% sticky channels", 1);
    n_periods = PERIODS;
}
END_TEST

/* The TP chain's columns: 2 samples (kernel.tp.downsample = 1). */
START_TEST(noise_statistics_tp_columns)
{
    struct lt_sim_config c;
    noise_only(&c);
    d_cur = 1;
    n_periods = 2500;
    compare_noise(&c, "every noise component, 2-sample columns", 1);
    n_periods = PERIODS;
    d_cur = D;
}
END_TEST

/* Columns more than k noise sigmas above the wire's mean, and their summed excess. */
static void excess(const uint32_t *sums, const struct wire_stats *noise, double k, double *count,
                   double *charge)
{
    *count = *charge = 0;
    const size_t n = (size_t)n_periods * NCOLS;
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

/* Large deposits and their undershoot: the signal of injected 10 MeV point deposits (sums with
 * the events minus sums without, the same noise draws in both renders) column by column, fast
 * against full: the collection pulses and the long negative tails after them (a tail is
 * rendered while deeper than 0.05 ADC, so it is the small deposits' that are left out: the
 * steps of a MIP track have none). */
START_TEST(undershoot_signal)
{
    struct lt_sim_config c;
    noise_only(&c);
    c.dead_fraction = c.noisy_fraction = c.sticky_fraction = 0; /* linear channels: the signal
                                                                 * is the difference exactly */
    enum { NEV = 6, PER = 1200 };                               /* 6 events 5 ms apart; 39 ms */
    struct lt_sim_event ev[NEV];
    for (int i = 0; i < NEV; i++)
        ev[i] = (struct lt_sim_event){.kind = LT_TRUTH_LOW_ENERGY,
                                      .topology = LT_SIM_TOPO_POINT,
                                      .energy_mev = 10.0,
                                      .time = (lt_ticks)((0.002 + 0.005 * i) * LT_CLOCK_HZ),
                                      .has_vertex = 1,
                                      .vertex_mm = {300.0 + 400.0 * i, 3000.0, 200.0},
                                      .has_direction = 1,
                                      .direction = {0.2, 0.3, 1.0}};
    uint32_t *sig[2];
    for (int fast = 0; fast < 2; fast++) {
        uint32_t *with = render_n(&c, fast, PER, ev, NEV),
                 *without = render_n(&c, fast, PER, NULL, 0);
        sig[fast] = with;
        for (size_t i = 0; i < (size_t)PER * NCOLS * NX; i++) with[i] -= without[i]; /* mod 2^32 */
        free(without);
    }
    /* Per column, summed over the wires: positive (pulses) and negative (undershoot) parts. */
    double pos[2] = {0, 0}, neg[2] = {0, 0}, maxdiff = 0, scale = 0;
    for (size_t t = 0; t < (size_t)PER * NCOLS; t++) {
        double col[2] = {0, 0};
        for (int f = 0; f < 2; f++)
            for (uint32_t j = 0; j < NX; j++) col[f] += (double)(int32_t)sig[f][t * NX + j];
        for (int f = 0; f < 2; f++) {
            if (col[f] > 0)
                pos[f] += col[f];
            else
                neg[f] += col[f];
        }
        if (fabs(col[0] - col[1]) > maxdiff) maxdiff = fabs(col[0] - col[1]);
        if (fabs(col[0]) > scale) scale = fabs(col[0]);
    }
    printf("undershoot: pulses %.0f full, %.0f fast; tails %.0f full, %.0f fast; largest column "
           "%.0f, largest difference %.1f\n",
           pos[0], pos[1], neg[0], neg[1], scale, maxdiff);
    ck_assert_msg(pos[0] > 2e4, "the events show (%.0f)", pos[0]);
    ck_assert_msg(neg[0] < -0.8 * pos[0], "the undershoot shows: tail %.0f of pulses %.0f", neg[0],
                  pos[0]);
    ck_assert_msg(fabs(pos[0] - pos[1]) < 0.01 * pos[0], "pulses %.0f full vs %.0f fast", pos[0],
                  pos[1]);
    ck_assert_msg(fabs(neg[0] - neg[1]) < 0.02 * fabs(neg[0]), "tails %.0f full vs %.0f fast",
                  neg[0], neg[1]);
    /* Only rounding differs: the full render rounds each sample, the fast path the sum. */
    ck_assert_msg(maxdiff < 0.01 * scale + 40.0, "a column differs by %.1f (largest %.0f)", maxdiff,
                  scale);
    free(sig[0]);
    free(sig[1]);
}
END_TEST

/* The AVX2 build of the noise loop and the generic one: the same sums, bit for bit. */
START_TEST(generic_equals_avx2)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = NF;
    c.seed = 78;
    c.le_rate_hz = 200; /* signal on many wires, undershoots, sticky and dead channels */
    for (d_cur = 1; d_cur <= 4; d_cur += 3) {
        uint32_t *a = render_n(&c, 1, 300, NULL, 0), *b = render_n(&c, 2, 300, NULL, 0);
        ck_assert(memcmp(a, b, (size_t)300 * NCOLS * NX * sizeof *a) == 0);
        free(a);
        free(b);
    }
    d_cur = D;
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
    tcase_add_test(tc, noise_components);
    tcase_add_test(tc, noise_statistics_tp_columns);
    tcase_add_test(tc, background_deposits);
    tcase_add_test(tc, undershoot_signal);
    tcase_add_test(tc, generic_equals_avx2);
    tcase_add_test(tc, refusals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
