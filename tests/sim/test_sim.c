/* Simulator: determinism, random access of the noise, ADC round trip through WIBEth frames and the
 * channel map, noise / pedestal / coherent-noise statistics, the 39Ar rate, an injected track on
 * all three planes with the right polarity, and the bounded queues; the backgrounds beyond 39Ar
 * (rates, chain composition, quenched alphas, capture cascades), the low-frequency noise, channel
 * defects and the RC undershoot (each against its configured value). */
#include "chmap.h"
#include "lt_error.h"
#include "sim.h"
#include "wibeth.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef uint16_t period_t[LT_SAMPLES_PER_FRAME];

static struct lt_sim_cell *make(const struct lt_sim_config *c, uint32_t cell)
{
    struct lt_sim_cell *s = NULL;
    char err[256] = "";
    int rc = lt_sim_cell_create(c, cell, &s, err, sizeof err);
    ck_assert_msg(rc == 0, "create: %s", err);
    return s;
}

/* No generated events of any kind. */
static void quiet(struct lt_sim_config *c)
{
    c->ar39_bq_per_kg = 0;
    c->ar42_bq_per_kg = 0;
    c->kr85_bq_per_kg = 0;
    c->rn222_bq_per_kg = 0;
    c->ncapture_rate_hz = 0;
    c->le_rate_hz = 0;
    c->he_rate_hz = 0;
    c->cosmic_rate_hz = 0;
}

/* Ideal electronics: no low-frequency noise, no defective channel, no undershoot (tests of the
 * white/coherent noise and of the pulse shapes; the effects have tests of their own). */
static void ideal(struct lt_sim_config *c)
{
    c->lowfreq_noise = 0;
    c->dead_fraction = c->noisy_fraction = c->sticky_fraction = 0;
    c->undershoot_fraction = 0;
}

START_TEST(config_validation)
{
    struct lt_sim_config c;
    struct lt_sim_cell *s = NULL;
    char err[256];
    lt_sim_config_default(&c);
    ck_assert_int_eq(lt_sim_config_validate(&c, err, sizeof err), 0);
    c.n_fembs = 0;
    ck_assert_int_eq(lt_sim_cell_create(&c, 0, &s, err, sizeof err), LT_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err, "n_fembs"));
    c.n_fembs = 21;
    ck_assert_int_eq(lt_sim_config_validate(&c, err, sizeof err), LT_EINVAL);
    lt_sim_config_default(&c);
    c.start_ticks = 33;
    ck_assert_int_eq(lt_sim_config_validate(&c, err, sizeof err), LT_EINVAL);
    lt_sim_config_default(&c);
    c.noise_collection = NAN;
    ck_assert_int_eq(lt_sim_config_validate(&c, err, sizeof err), LT_EINVAL);
    lt_sim_config_default(&c);
    c.le_rate_hz = -1;
    ck_assert_int_eq(lt_sim_config_validate(&c, err, sizeof err), LT_EINVAL);
    lt_sim_config_default(&c);
    ck_assert_int_eq(lt_sim_cell_create(&c, LT_MAX_CELLS, &s, err, sizeof err), LT_EINVAL);
}
END_TEST

/* Same seed, same bytes; another seed, other bytes; frames identical frame by frame. */
START_TEST(determinism)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 2;
    c.seed = 42;
    c.le_rate_hz = 2000;
    c.he_rate_hz = 200;
    c.cosmic_rate_hz = 1000;
    struct lt_sim_cell *a = make(&c, 3), *b = make(&c, 3);
    c.seed = 43;
    struct lt_sim_cell *d = make(&c, 3);
    uint32_t n = lt_sim_cell_channels(a), ns = lt_sim_cell_streams(a);
    period_t *pa = calloc(n, sizeof *pa), *pb = calloc(n, sizeof *pb), *pd = calloc(n, sizeof *pd);
    lt_wibeth_frame *fa = calloc(ns, sizeof *fa), *fb = calloc(ns, sizeof *fb);
    int differs = 0;
    for (int k = 0; k < 300; k++) {
        lt_sim_cell_render(a, pa);
        lt_sim_cell_render(b, pb);
        lt_sim_cell_render(d, pd);
        ck_assert_int_eq(memcmp(pa, pb, n * sizeof *pa), 0);
        differs |= memcmp(pa, pd, n * sizeof *pa) != 0;
        lt_sim_cell_pack(a, (const period_t *)pa, fa);
        lt_sim_cell_pack(b, (const period_t *)pb, fb);
        ck_assert_int_eq(memcmp(fa, fb, ns * sizeof *fa), 0);
    }
    ck_assert(differs);
    struct lt_truth ta[4096], tb[4096];
    size_t na = lt_sim_cell_take_truth(a, ta, 4096), nb = lt_sim_cell_take_truth(b, tb, 4096);
    ck_assert_uint_eq(na, nb);
    ck_assert_uint_gt(na, 10);
    ck_assert_int_eq(memcmp(ta, tb, na * sizeof *ta), 0);
    struct lt_sim_stats st;
    lt_sim_cell_stats(a, &st);
    ck_assert_uint_eq(st.frames, 300);
    ck_assert_uint_gt(st.events[LT_TRUTH_AR39], 0);
    ck_assert_uint_gt(st.events[LT_TRUTH_LOW_ENERGY], 0);
    ck_assert_uint_gt(st.events[LT_TRUTH_HIGH_ENERGY], 0);
    ck_assert_uint_gt(st.events[LT_TRUTH_COSMIC], 0);
    ck_assert_uint_eq(st.pulses_dropped, 0);
    free(pa), free(pb), free(pd), free(fa), free(fb);
    lt_sim_cell_destroy(a), lt_sim_cell_destroy(b), lt_sim_cell_destroy(d);
}
END_TEST

/* How a caller chunks the run (how often it takes truth, where a run starts) does not change the
 * data: the noise of a period depends only on its time, each kind has its own random stream. */
START_TEST(chunking_and_streams)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 1;
    /* the AR(1) states (board-coherent, low-frequency) are carried from period to period */
    c.coherent_noise = 0;
    c.lowfreq_noise = 0;
    quiet(&c);
    struct lt_sim_cell *a = make(&c, 0);
    c.start_ticks = 100 * LT_TICKS_PER_FRAME;
    struct lt_sim_cell *b = make(&c, 0);
    uint32_t n = lt_sim_cell_channels(a);
    period_t *pa = calloc(n, sizeof *pa), *pb = calloc(n, sizeof *pb);
    for (int k = 0; k < 100; k++) lt_sim_cell_render(a, pa);
    ck_assert_uint_eq(lt_sim_cell_next_time(a), lt_sim_cell_next_time(b));
    for (int k = 0; k < 20; k++) {
        lt_sim_cell_render(a, pa);
        lt_sim_cell_render(b, pb);
        ck_assert_int_eq(memcmp(pa, pb, n * sizeof *pa), 0);
    }
    lt_sim_cell_destroy(a), lt_sim_cell_destroy(b);

    /* 39Ar events are the same whether or not other kinds are enabled, and whether truth is
     * taken every period or once at the end. */
    lt_sim_config_default(&c);
    c.n_fembs = 1;
    quiet(&c);
    c.ar39_bq_per_kg = 1.01;
    a = make(&c, 1);
    c.le_rate_hz = 500;
    c.cosmic_rate_hz = 100;
    b = make(&c, 1);
    static struct lt_truth ta[8192], tb[8192];
    size_t na = 0, nb = 0;
    for (int k = 0; k < 400; k++) {
        lt_sim_cell_render(a, pa);
        lt_sim_cell_render(b, pb);
        na += lt_sim_cell_take_truth(a, ta + na, 8192 - na);
    }
    nb = lt_sim_cell_take_truth(b, tb, 8192);
    size_t j = 0, other = 0;
    for (size_t i = 0; i < nb; i++) {
        if (tb[i].kind != LT_TRUTH_AR39) {
            other++;
            continue;
        }
        ck_assert_uint_lt(j, na);
        ck_assert_int_eq(memcmp(&tb[i], &ta[j], sizeof ta[j]), 0);
        j++;
    }
    ck_assert_uint_eq(j, na);
    ck_assert_uint_gt(na, 50);
    ck_assert_uint_gt(other, 0);
    free(pa), free(pb);
    lt_sim_cell_destroy(a), lt_sim_cell_destroy(b);
}
END_TEST

/* render -> pack -> unpack -> channel map back to offline channels == rendered array; headers. */
START_TEST(adc_round_trip)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 3;
    c.start_ticks = 123456 * 32ULL;
    c.he_rate_hz = 300;
    c.le_rate_hz = 300;
    const uint32_t cell = 5;
    struct lt_sim_cell *s = make(&c, cell);
    struct lt_cell_geom g = {.n_fembs = 3};
    uint32_t n = lt_sim_cell_channels(s), ns = lt_sim_cell_streams(s);
    ck_assert_uint_eq(n, 384);
    ck_assert_uint_eq(ns, 6);
    period_t *adc = calloc(n, sizeof *adc);
    lt_wibeth_frame *fr = calloc(ns, sizeof *fr);
    uint16_t un[64][64];
    for (uint32_t k = 0; k < 300; k++) {
        lt_ticks t = lt_sim_cell_next_time(s);
        lt_sim_cell_render(s, adc);
        lt_sim_cell_pack(s, (const period_t *)adc, fr);
        if (k % 7 != 0) continue; /* check a spread of periods */
        for (uint32_t st = 0; st < ns; st++) {
            char err[128];
            ck_assert_int_eq(lt_wibeth_validate(&fr[st], sizeof fr[st], err, sizeof err), 0);
            struct lt_daqeth_header h;
            lt_daqeth_decode(&fr[st], &h);
            ck_assert_uint_eq(h.timestamp, t);
            ck_assert_uint_eq(h.timestamp, c.start_ticks + (uint64_t)k * LT_TICKS_PER_FRAME);
            ck_assert_uint_eq(h.seq_id, k % 4096);
            ck_assert_uint_eq(h.det_id, 3);
            uint16_t crate;
            uint8_t slot, es;
            lt_chmap_stream_address(cell, st, &crate, &slot, &es);
            ck_assert_uint_eq(h.crate, crate);
            ck_assert_uint_eq(h.slot, slot);
            ck_assert_uint_eq(h.stream, es);
            lt_wibeth_unpack(&fr[st], un);
            for (uint32_t ch = 0; ch < 64; ch++) {
                struct lt_chan_info ci;
                ck_assert_int_eq(lt_chmap_lookup(&g, st, ch, &ci), 0);
                for (uint32_t smp = 0; smp < 64; smp++)
                    ck_assert_uint_eq(un[smp][ch], adc[ci.offline_channel][smp]);
            }
        }
    }
    free(adc), free(fr);
    lt_sim_cell_destroy(s);

    /* seq_id wraps at 4096 frames */
    c.n_fembs = 1;
    c.he_rate_hz = c.le_rate_hz = 0;
    s = make(&c, 0);
    adc = calloc(128, sizeof *adc);
    fr = calloc(2, sizeof *fr);
    for (uint32_t k = 0; k < 4098; k++) {
        lt_sim_cell_render(s, adc);
        if (k < 4094) continue;
        lt_sim_cell_pack(s, (const period_t *)adc, fr);
        struct lt_daqeth_header h;
        lt_daqeth_decode(&fr[1], &h);
        ck_assert_uint_eq(h.seq_id, k % 4096);
        ck_assert_uint_eq(h.timestamp, c.start_ticks + (uint64_t)k * LT_TICKS_PER_FRAME);
    }
    free(adc), free(fr);
    lt_sim_cell_destroy(s);
}
END_TEST

/* Pedestal means and spread, white noise rms per plane, the coherent part shared by a board. */
START_TEST(noise_statistics)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 2;
    quiet(&c);
    ideal(&c);
    struct lt_sim_cell *s = make(&c, 0);
    uint32_t n = lt_sim_cell_channels(s);
    period_t *adc = calloc(n, sizeof *adc);
    const int periods = 200;
    double *sum = calloc(n, sizeof *sum), *sum2 = calloc(n, sizeof *sum2);
    /* cross products: channel 0 with channel 1 (same board), channel 0 with 128 (other board) */
    double same = 0, other = 0;
    for (int k = 0; k < periods; k++) {
        lt_sim_cell_render(s, adc);
        for (uint32_t ch = 0; ch < n; ch++) {
            double p = lt_sim_cell_pedestal(s, ch);
            for (int t = 0; t < 64; t++) {
                double d = adc[ch][t] - p;
                sum[ch] += d;
                sum2[ch] += d * d;
            }
        }
        for (int t = 0; t < 64; t++) {
            double d0 = adc[0][t] - lt_sim_cell_pedestal(s, 0);
            same += d0 * (adc[1][t] - lt_sim_cell_pedestal(s, 1));
            other += d0 * (adc[128][t] - lt_sim_cell_pedestal(s, 128));
        }
    }
    const double m = periods * 64.0;
    double pm[3] = {0}, pv[3] = {0}, pp[3] = {0}, pp2[3] = {0};
    int cnt[3] = {0};
    for (uint32_t ch = 0; ch < n; ch++) {
        int pl = ch < 80 ? 0 : ch < 160 ? 1 : 2;
        double mean = sum[ch] / m, var = sum2[ch] / m - mean * mean;
        /* per channel the mean sits on the pedestal (rounding adds nothing on average) */
        ck_assert_msg(fabs(mean) < 0.4, "ch %u mean offset %g", ch, mean);
        pm[pl] += mean;
        pv[pl] += var;
        double p = lt_sim_cell_pedestal(s, ch);
        pp[pl] += p;
        pp2[pl] += p * p;
        cnt[pl]++;
    }
    /* total variance = white^2 + coherent^2 + 1/12 (rounding) */
    double expect[3] = {c.noise_induction, c.noise_induction, c.noise_collection};
    for (int pl = 0; pl < 3; pl++) {
        double rms = sqrt(pv[pl] / cnt[pl]);
        double want =
            sqrt(expect[pl] * expect[pl] + c.coherent_noise * c.coherent_noise + 1.0 / 12);
        ck_assert_msg(fabs(rms / want - 1.0) < 0.03, "plane %d rms %g want %g", pl, rms, want);
        double pmean = pp[pl] / cnt[pl];
        double psd = sqrt(pp2[pl] / cnt[pl] - pmean * pmean);
        double pwant = pl == 2 ? c.pedestal_collection : c.pedestal_induction;
        ck_assert_msg(fabs(pmean - pwant) < 5.0 * c.pedestal_spread / sqrt(cnt[pl]),
                      "plane %d pedestal mean %g", pl, pmean);
        ck_assert_msg(psd > 0.6 * c.pedestal_spread && psd < 1.4 * c.pedestal_spread,
                      "plane %d pedestal spread %g", pl, psd);
    }
    /* covariance: ~coherent^2 = 1 within a board, ~0 across boards (1/sqrt(m) * 3.5^2 ~ 0.1) */
    same /= m;
    other /= m;
    ck_assert_msg(same > 0.5 && same < 1.6, "same-board covariance %g", same);
    ck_assert_msg(fabs(other) < 0.5, "cross-board covariance %g", other);
    free(sum), free(sum2), free(adc);
    lt_sim_cell_destroy(s);
}
END_TEST

/* 39Ar: decays in [start, end) match 1.01 Bq/kg x the cell's argon within 5 sigma (Poisson);
 * energies within the beta spectrum; each a blip on few collection wires. */
START_TEST(ar39_rate)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 2;
    quiet(&c);
    c.ar39_bq_per_kg = 1.01;
    c.noise_collection = c.noise_induction = c.coherent_noise = 0; /* rate only: cheaper */
    struct lt_sim_cell *s = make(&c, 2);
    struct lt_cell_geom g = {.n_fembs = 2};
    double mass = lt_sim_cell_mass_kg(&g);
    ck_assert(fabs(mass / (138.6e3 * 2 / 20) - 1.0) < 0.01); /* 2 of 20 boards of 138.6 t */
    uint32_t n = lt_sim_cell_channels(s);
    period_t *adc = calloc(n, sizeof *adc);
    const uint32_t periods = 1526; /* ~50 ms */
    static struct lt_truth t[16384];
    size_t nt = 0;
    for (uint32_t k = 0; k < periods; k++) {
        lt_sim_cell_render(s, adc);
        nt += lt_sim_cell_take_truth(s, t + nt, 16384 - nt);
    }
    lt_ticks end = (lt_ticks)periods * LT_TICKS_PER_FRAME;
    size_t count = 0;
    double esum = 0;
    for (size_t i = 0; i < nt; i++) {
        ck_assert_uint_eq(t[i].kind, LT_TRUTH_AR39);
        ck_assert_uint_eq(t[i].cell, 2);
        ck_assert(t[i].energy_mev > 0 && t[i].energy_mev <= 0.565f);
        ck_assert_uint_le(t[i].channel_end - t[i].channel_start, 1);
        ck_assert_uint_lt(t[i].channel_end, 96);
        if (t[i].time < end) count++, esum += t[i].energy_mev;
    }
    double expect = 1.01 * mass * lt_ticks_to_seconds(end);
    ck_assert_msg(fabs(count - expect) < 5.0 * sqrt(expect), "%zu decays, expected %.0f", count,
                  expect);
    /* mean beta energy of the allowed shape with Q = 565 keV is ~0.22 MeV */
    double mean_e = esum / count;
    ck_assert_msg(mean_e > 0.19 && mean_e < 0.25, "mean energy %g MeV", mean_e);
    free(adc);
    lt_sim_cell_destroy(s);
}
END_TEST

/* Render a run with and without an injected event: the noise is identical, so the difference is
 * the event's signal alone. Returns the per-channel difference over `periods` periods. */
static int32_t *signal_of(const struct lt_sim_config *c, const struct lt_sim_event *ev,
                          uint32_t periods, struct lt_truth *truth_out)
{
    struct lt_sim_cell *a = make(c, 0), *b = make(c, 0);
    char err[128] = "";
    ck_assert_msg(lt_sim_cell_inject(a, ev, err, sizeof err) == 0, "inject: %s", err);
    uint32_t n = lt_sim_cell_channels(a);
    period_t *pa = calloc(n, sizeof *pa), *pb = calloc(n, sizeof *pb);
    int32_t *d = calloc((size_t)n * periods * 64, sizeof *d);
    for (uint32_t k = 0; k < periods; k++) {
        lt_sim_cell_render(a, pa);
        lt_sim_cell_render(b, pb);
        for (uint32_t ch = 0; ch < n; ch++)
            for (uint32_t t = 0; t < 64; t++)
                d[(size_t)ch * periods * 64 + k * 64 + t] = (int32_t)pa[ch][t] - (int32_t)pb[ch][t];
    }
    ck_assert_uint_eq(lt_sim_cell_take_truth(a, truth_out, 1), 1);
    free(pa), free(pb);
    lt_sim_cell_destroy(a), lt_sim_cell_destroy(b);
    return d;
}

START_TEST(injected_track_all_planes)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 4;
    quiet(&c);
    ideal(&c);
    const uint32_t periods = 64, nU = 160, nX = 192;
    const uint64_t t_sample = 2000;
    struct lt_sim_event ev = {.kind = LT_TRUTH_HIGH_ENERGY,
                              .topology = LT_SIM_TOPO_TRACK,
                              .energy_mev = 100.0,
                              .time = t_sample * LT_TICKS_PER_SAMPLE,
                              .has_vertex = 1,
                              .vertex_mm = {500.0, 3000.0, 200.0},
                              .has_direction = 1,
                              .direction = {0.0, 0.0, 1.0}};
    struct lt_truth tr;
    int32_t *d = signal_of(&c, &ev, periods, &tr);
    const size_t row = (size_t)periods * 64;
#define D(ch, t) d[(size_t)(ch)*row + (t)]
    /* Track along z at constant drift distance: 100 MeV / 0.212 MeV/mm = 472 mm from z = 200. */
    double z0 = 200.0, z1 = 200.0 + 100.0 / 0.2120;
    int32_t w0 = lt_sim_wire_of(&(struct lt_cell_geom){4}, LT_PLANE_X, 3000, z0);
    int32_t w1 = lt_sim_wire_of(&(struct lt_cell_geom){4}, LT_PLANE_X, 3000, z1 - 0.5);
    ck_assert_int_eq(w0, 41);
    ck_assert_int_eq(w1, 140);
    ck_assert_uint_eq(tr.kind, LT_TRUTH_HIGH_ENERGY);
    ck_assert_uint_eq(tr.time, ev.time);
    ck_assert_uint_eq(tr.time_end, ev.time); /* constant drift distance */
    ck_assert_uint_eq(tr.channel_start, (uint32_t)w0);
    ck_assert_uint_eq(tr.channel_end, (uint32_t)w1);
    ck_assert(fabs(tr.energy_mev - 100.0) < 0.01);

    /* Collection: unipolar, positive, peaking at the arrival sample: ~29 ke per wire, attenuated
     * by exp(-0.31 ms / 10 ms) and diffusion, / 200 e per ADC -> ~140 ADC. */
    for (uint32_t w = 0; w < nX; w++) {
        uint32_t ch = 2 * nU + w;
        int32_t peak = D(ch, t_sample), maxabs = 0;
        for (size_t t = 0; t < row; t++) maxabs = abs(D(ch, t)) > maxabs ? abs(D(ch, t)) : maxabs;
        if ((int32_t)w > w0 + 1 && (int32_t)w < w1 - 1) {
            ck_assert_msg(peak > 100 && peak < 180, "X wire %u peak %d", w, peak);
            ck_assert_int_eq(maxabs, peak); /* the maximum is at the arrival time */
            ck_assert(D(ch, t_sample - 4) > 0 && D(ch, t_sample + 4) > 0);
            ck_assert_int_le(abs(D(ch, t_sample - 12)), 1);
            ck_assert_int_le(abs(D(ch, t_sample + 12)), 1);
        } else if ((int32_t)w < w0 - 1 || (int32_t)w > w1 + 1) {
            ck_assert_msg(maxabs == 0, "X wire %u off the track has signal %d", w, maxabs);
        }
    }
    /* Induction: bipolar, positive lobe ~1 sigma (~2 samples) before the arrival, negative after,
     * on the wires the track crosses (wrapped). */
    for (int p = 0; p < 2; p++) {
        int hits = 0;
        for (double z = 250.0; z < 620.0; z += 20.0) {
            int32_t w = lt_sim_wire_of(&(struct lt_cell_geom){4}, (enum lt_plane)p, 3000.0, z);
            ck_assert_int_ge(w, 0);
            uint32_t ch = (uint32_t)p * nU + (uint32_t)w;
            int32_t before = D(ch, t_sample - 2), after = D(ch, t_sample + 2);
            ck_assert_msg(before > 20 && after < -20, "plane %d wire %d: %d then %d", p, w, before,
                          after);
            ck_assert_int_le(abs(D(ch, t_sample)), 15); /* crosses zero at the arrival */
            hits++;
        }
        ck_assert_int_gt(hits, 10);
    }
#undef D
    free(d);
}
END_TEST

/* A point charge far from the wires arrives later in the truth-time sense only through the
 * caller's time; here: lifetime attenuation and diffusion make a far deposit smaller and wider. */
START_TEST(drift_attenuation_and_diffusion)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 1;
    quiet(&c);
    ideal(&c);
    c.diffusion_trans_cm2_s = 0; /* keep the charge on one wire */
    double peak[2], width[2];
    const double xs[2] = {10.0, 3500.0};
    for (int i = 0; i < 2; i++) {
        struct lt_sim_event ev = {
            .kind = LT_TRUTH_LOW_ENERGY,
            .topology = LT_SIM_TOPO_POINT,
            .energy_mev = 10.0,
            .time = 1000 * LT_TICKS_PER_SAMPLE,
            .has_vertex = 1,
            .vertex_mm = {xs[i], 100.0, 100.0 * LT_SIM_PITCH_X_MM / 4.79 + 2.0}};
        struct lt_truth tr;
        int32_t *d = signal_of(&c, &ev, 32, &tr);
        uint32_t ch = 80 + (uint32_t)lt_sim_wire_of(&(struct lt_cell_geom){1}, LT_PLANE_X, 100,
                                                    ev.vertex_mm[2]);
        double s0 = 0, s2 = 0, mx = 0;
        for (int t = 900; t < 1100; t++) {
            double v = d[(size_t)ch * 32 * 64 + t];
            s0 += v;
            s2 += v * (t - 1000.0) * (t - 1000.0);
            if (v > mx) mx = v;
        }
        peak[i] = mx;
        width[i] = sqrt(s2 / s0);
        free(d);
    }
    /* 10 MeV * 0.7 / 23.6 eV = 297 ke -> ~1480 ADC near the wires, but the ADC saturates above
     * 16383 - 900 only for far larger charges. Far: exp(-2.19/10) = 0.80 and wider. */
    ck_assert_msg(peak[0] > 1300 && peak[0] < 1600, "near peak %g", peak[0]);
    ck_assert_msg(width[1] > width[0] * 1.15, "widths %g %g", width[0], width[1]);
    double area_ratio = peak[1] * width[1] / (peak[0] * width[0]);
    ck_assert_msg(fabs(area_ratio - exp(-(3490.0 / 1.6) / 10000.0)) < 0.05, "area ratio %g",
                  area_ratio);
}
END_TEST

START_TEST(inject_bounds_and_overflow)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 1;
    quiet(&c);
    c.max_pulses = 1024;
    c.gain_e_per_adc = 2.0; /* so that the shower also drives the ADC out of range */
    struct lt_sim_cell *s = make(&c, 0);
    uint32_t n = lt_sim_cell_channels(s);
    period_t *adc = calloc(n, sizeof *adc);
    lt_sim_cell_render(s, adc);
    char err[128];
    struct lt_sim_event ev = {.kind = LT_TRUTH_HIGH_ENERGY, .energy_mev = 5000, .time = 0};
    ck_assert_int_eq(lt_sim_cell_inject(s, &ev, err, sizeof err), LT_ERANGE);
    ev.kind = 9;
    ev.time = lt_sim_cell_next_time(s);
    ck_assert_int_eq(lt_sim_cell_inject(s, &ev, err, sizeof err), LT_EINVAL);
    /* a big shower at the wires: pool of 1024 pulses overflows (counted), the ADC clamps */
    ev = (struct lt_sim_event){.kind = LT_TRUTH_HIGH_ENERGY,
                               .topology = LT_SIM_TOPO_SHOWER,
                               .energy_mev = 5000,
                               .time = lt_sim_cell_next_time(s) + 64 * 32,
                               .has_vertex = 1,
                               .vertex_mm = {50.0, 2000.0, 100.0},
                               .has_direction = 1,
                               .direction = {0.0, 1.0, 0.0}};
    ck_assert_int_eq(lt_sim_cell_inject(s, &ev, err, sizeof err), 0);
    for (int k = 0; k < 10; k++) lt_sim_cell_render(s, adc);
    struct lt_sim_stats st;
    lt_sim_cell_stats(s, &st);
    ck_assert_uint_gt(st.pulses_dropped, 0);
    ck_assert_uint_gt(st.samples_clamped, 0);
    ck_assert_uint_eq(st.events[LT_TRUTH_HIGH_ENERGY], 1);
    for (int k = 0; k < 2000; k++) { /* the queue is bounded too */
        struct lt_sim_event e2 = {
            .kind = 0, .energy_mev = 0.1, .time = lt_sim_cell_next_time(s) + 1e9};
        int rc = lt_sim_cell_inject(s, &e2, err, sizeof err);
        if (k < (int)LT_SIM_MAX_INJECT)
            ck_assert_int_eq(rc, 0);
        else
            ck_assert_int_eq(rc, LT_EFULL);
    }
    free(adc);
    lt_sim_cell_destroy(s);

    /* truth queue overflow is counted */
    lt_sim_config_default(&c);
    c.n_fembs = 1;
    quiet(&c);
    c.ar39_bq_per_kg = 1.01;
    c.truth_capacity = 16;
    s = make(&c, 0);
    adc = calloc(n, sizeof *adc);
    for (int k = 0; k < 100; k++) lt_sim_cell_render(s, adc);
    lt_sim_cell_stats(s, &st);
    ck_assert_uint_gt(st.truth_dropped, 0);
    ck_assert_uint_eq(st.truth_dropped + 16, st.events[LT_TRUTH_AR39]);
    free(adc);
    lt_sim_cell_destroy(s);

    /* truth_capacity 0: a live source that never takes truth keeps none and drops nothing */
    c.truth_capacity = 0;
    s = make(&c, 0);
    adc = calloc(n, sizeof *adc);
    for (int k = 0; k < 100; k++) lt_sim_cell_render(s, adc);
    lt_sim_cell_stats(s, &st);
    ck_assert_uint_gt(st.events[LT_TRUTH_AR39], 16);
    ck_assert_uint_eq(st.truth_dropped, 0);
    struct lt_truth row;
    ck_assert_uint_eq(lt_sim_cell_take_truth(s, &row, 1), 0);
    free(adc);
    lt_sim_cell_destroy(s);
}
END_TEST

/* Generated events of every kind: truth rows consistent with the geometry and the energy ranges,
 * signals present where the truth says, no pulse dropped at these rates. */
START_TEST(generated_events_sane)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 2;
    quiet(&c);
    c.le_rate_hz = 2000;
    c.he_rate_hz = 300;
    c.cosmic_rate_hz = 300;
    c.noise_collection = c.noise_induction = c.coherent_noise = 0;
    c.pedestal_spread = 0;
    struct lt_sim_cell *s = make(&c, 4);
    uint32_t n = lt_sim_cell_channels(s);
    const uint32_t periods = 600;
    uint16_t(*all)[64] = calloc((size_t)n * periods, sizeof *all); /* [period][channel] */
    static struct lt_truth t[4096];
    size_t nt = 0;
    for (uint32_t k = 0; k < periods; k++) {
        lt_sim_cell_render(s, all + (size_t)k * n);
        nt += lt_sim_cell_take_truth(s, t + nt, 4096 - nt);
    }
    int seen[LT_TRUTH_KIND_COUNT] = {0}, checked = 0;
    const double diag_mev = sqrt(3600.0 * 3600 + 6000.0 * 6000 + 96 * 4.79 * 96 * 4.79) * 0.212;
    for (size_t i = 0; i < nt; i++) {
        const struct lt_truth *r = &t[i];
        seen[r->kind]++;
        ck_assert_uint_eq(r->cell, 4);
        ck_assert_uint_ge(r->time_end, r->time);
        ck_assert_uint_le(r->time_end - r->time, LT_DRIFT_WINDOW_TICKS + 1);
        ck_assert_uint_le(r->channel_start, r->channel_end);
        ck_assert_uint_lt(r->channel_end, 96);
        ck_assert(r->energy_mev > 0.0f);
        if (r->kind == LT_TRUTH_LOW_ENERGY) ck_assert(r->energy_mev <= 50.001f);
        if (r->kind == LT_TRUTH_HIGH_ENERGY) ck_assert(r->energy_mev <= 10000.01f);
        if (r->kind == LT_TRUTH_COSMIC) ck_assert(r->energy_mev <= diag_mev);
        /* Without noise, the collection wires of the event show charge above the pedestal
         * around the truth time (the nearest charge arrives then, on some wire in range). */
        uint64_t s0 = r->time / LT_TICKS_PER_SAMPLE;
        if (r->energy_mev > 5.0f && s0 + 8 < (uint64_t)periods * 64) {
            int found = 0;
            for (uint32_t w = r->channel_start; w <= r->channel_end && !found; w++)
                for (uint64_t smp = s0 > 8 ? s0 - 8 : 0; smp <= s0 + 8 && !found; smp++) {
                    uint16_t v = all[(smp / 64) * n + 160 + w][smp % 64];
                    found = v >= 900 + 5;
                }
            ck_assert_msg(found, "kind %u at %llu wires %u-%u: no charge at the truth time",
                          r->kind, (unsigned long long)r->time, r->channel_start, r->channel_end);
            checked++;
        }
    }
    ck_assert_int_gt(seen[LT_TRUTH_LOW_ENERGY], 10);
    ck_assert_int_gt(seen[LT_TRUTH_HIGH_ENERGY], 1);
    ck_assert_int_gt(seen[LT_TRUTH_COSMIC], 1);
    ck_assert_int_gt(checked, 10);
    struct lt_sim_stats st;
    lt_sim_cell_stats(s, &st);
    ck_assert_uint_eq(st.pulses_dropped, 0);
    free(all);
    lt_sim_cell_destroy(s);
}
END_TEST

/* DUNE timestamps are ~1e17 ticks (62.5 MHz since 1970): the signal of an event must not depend
 * on the absolute time (no precision lost in doubles). */
START_TEST(large_timestamps)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 1;
    quiet(&c);
    ideal(&c);
    c.noise_collection = c.noise_induction = c.coherent_noise = 0;
    const uint32_t periods = 40;
    /* a straight track: its shape does not depend on the random stream, which is keyed by the
     * injection's (absolute) time */
    struct lt_sim_event ev = {.kind = LT_TRUTH_LOW_ENERGY,
                              .topology = LT_SIM_TOPO_TRACK,
                              .energy_mev = 30.0,
                              .time = 1000 * LT_TICKS_PER_SAMPLE + 7,
                              .has_vertex = 1,
                              .vertex_mm = {1800.0, 3000.0, 100.0},
                              .has_direction = 1,
                              .direction = {0.3, 0.2, 1.0}};
    struct lt_truth ta, tb;
    int32_t *a = signal_of(&c, &ev, periods, &ta);
    const uint64_t big = 110000000000000000ULL; /* multiple of 32 */
    c.start_ticks = big;
    ev.time += big;
    int32_t *b = signal_of(&c, &ev, periods, &tb);
    ck_assert_uint_eq(tb.time - big, ta.time);
    ck_assert_uint_eq(tb.time_end - big, ta.time_end);
    size_t nz = 0;
    for (size_t i = 0; i < (size_t)128 * periods * 64; i++) {
        ck_assert_int_eq(a[i], b[i]);
        nz += a[i] != 0;
    }
    ck_assert_uint_gt(nz, 100);
    free(a), free(b);
}
END_TEST

/* The noise is Gaussian out to the far tails (the table's outermost bins are drawn exactly), so
 * a trigger's noise-induced rate at 4-5 sigma thresholds is right. */
START_TEST(noise_tails)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 1;
    quiet(&c);
    ideal(&c);
    c.coherent_noise = 0;
    c.pedestal_spread = 0;
    c.noise_collection = c.noise_induction = 20.0; /* wide, so ADC rounding hardly matters */
    struct lt_sim_cell *s = make(&c, 0);
    period_t *adc = calloc(128, sizeof *adc);
    const uint32_t periods = 1250;
    const int m[5] = {61, 71, 81, 91, 141}; /* |adc - pedestal| >= m <=> |z| >= (m - 0.5) / 20 */
    uint64_t count[5] = {0};
    for (uint32_t k = 0; k < periods; k++) {
        lt_sim_cell_render(s, adc);
        for (uint32_t ch = 0; ch < 128; ch++) {
            int ped = ch < 80 ? 2350 : 900;
            for (int t = 0; t < 64; t++) {
                int d = abs((int)adc[ch][t] - ped);
                for (int i = 0; i < 5; i++) count[i] += d >= m[i];
            }
        }
    }
    const double n = periods * 128.0 * 64.0;
    for (int i = 0; i < 5; i++) {
        double expect = n * erfc((m[i] - 0.5) / 20.0 / M_SQRT2);
        ck_assert_msg(fabs((double)count[i] - expect) < 5.0 * sqrt(expect) + 2.0,
                      "|z| >= %.3f: %llu samples, expected %.1f", (m[i] - 0.5) / 20.0,
                      (unsigned long long)count[i], expect);
    }
    ck_assert_uint_gt(count[3], 20); /* beyond 4.5 sigma: impossible with a plain 2^16 table */
    free(adc);
    lt_sim_cell_destroy(s);
}
END_TEST

/* Radiological backgrounds beyond 39Ar: each kind at its configured rate (5 sigma), energies
 * within the physics of the decay, the 222Rn chain's composition in the argon (quenched alphas
 * at 5% of their energy), 42K's share of the 42Ar kind. Activities raised so 50 ms suffice. */
START_TEST(radiological_backgrounds)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 1;
    quiet(&c);
    c.noise_collection = c.noise_induction = c.coherent_noise = c.lowfreq_noise = 0;
    c.kr85_bq_per_kg = 0.115;
    c.rn222_bq_per_kg = 0.05;
    c.ar42_bq_per_kg = 0.05;
    struct lt_sim_cell *s = make(&c, 0);
    double mass = lt_sim_cell_mass_kg(&(struct lt_cell_geom){1});
    uint32_t n = lt_sim_cell_channels(s);
    period_t *adc = calloc(n, sizeof *adc);
    const uint32_t periods = 1526; /* ~50 ms */
    static struct lt_truth t[16384];
    size_t nt = 0;
    for (uint32_t k = 0; k < periods; k++) {
        lt_sim_cell_render(s, adc);
        nt += lt_sim_cell_take_truth(s, t + nt, 16384 - nt);
    }
    lt_ticks end = (lt_ticks)periods * LT_TICKS_PER_FRAME;
    double secs = lt_ticks_to_seconds(end);
    size_t count[LT_TRUTH_KIND_COUNT] = {0}, rn_alpha = 0, rn_po214 = 0, k42 = 0;
    for (size_t i = 0; i < nt; i++) {
        if (t[i].time >= end) continue;
        count[t[i].kind]++;
        float e = t[i].energy_mev;
        ck_assert(e > 0);
        switch (t[i].kind) {
        case LT_TRUTH_KR85:
            ck_assert(e <= 0.687f);
            break;
        case LT_TRUTH_AR42: /* 42Ar (Q 0.599) or 42K (Q 3.525; 2.0 + 1.525 gamma) */
            ck_assert(e <= 3.53f);
            k42 += e > 0.6f;
            break;
        case LT_TRUTH_RN222: /* alphas at 5%: 0.2745 (222Rn), 0.3001 (218Po); 214Po 0.384 */
            ck_assert(e <= 3.27f + 0.385f);
            rn_alpha += fabsf(e - 0.2745f) < 1e-3f || fabsf(e - 0.3001f) < 1e-3f;
            rn_po214 += e >= 0.384f;
            break;
        default:
            ck_assert_msg(0, "unexpected kind %u", t[i].kind);
        }
    }
    double want_kr = 0.115 * mass * secs, want_rn = 0.05 * 2.784 * mass * secs,
           want_ar42 = 0.05 * 1.2 * mass * secs;
    ck_assert_msg(fabs(count[LT_TRUTH_KR85] - want_kr) < 5 * sqrt(want_kr), "85Kr %zu want %.0f",
                  count[LT_TRUTH_KR85], want_kr);
    ck_assert_msg(fabs(count[LT_TRUTH_RN222] - want_rn) < 5 * sqrt(want_rn), "Rn %zu want %.0f",
                  count[LT_TRUTH_RN222], want_rn);
    ck_assert_msg(fabs(count[LT_TRUTH_AR42] - want_ar42) < 5 * sqrt(want_ar42),
                  "42Ar %zu want %.0f", count[LT_TRUTH_AR42], want_ar42);
    /* (1 + 0.863) / 2.784 of the chain decays are alphas of 222Rn or 218Po */
    double fa = (double)rn_alpha / count[LT_TRUTH_RN222];
    ck_assert_msg(fabs(fa - 1.863 / 2.784) < 0.08, "alpha fraction %g", fa);
    ck_assert_uint_gt(rn_po214, 0); /* 214Bi + 214Po */
    /* 42K decays are 0.2 / 1.2 of the kind, most above 42Ar's 0.6 MeV endpoint */
    double fk = (double)k42 / count[LT_TRUTH_AR42];
    ck_assert_msg(fk > 0.08 && fk < 0.2, "42K fraction %g", fk);
    free(adc);
    lt_sim_cell_destroy(s);
}
END_TEST

/* A neutron capture: 6.1 MeV of gammas spread as separate blips over tens of cm (many wires),
 * none of it more than the binding energy. */
START_TEST(neutron_capture_blips)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 20;
    quiet(&c);
    ideal(&c);
    c.noise_collection = c.noise_induction = c.coherent_noise = 0;
    struct lt_sim_cell *s = make(&c, 0);
    char err[128];
    for (int i = 0; i < 20; i++) {
        struct lt_sim_event ev = {.kind = LT_TRUTH_NCAPTURE,
                                  .time = (uint64_t)(100 + 10 * i) * LT_TICKS_PER_FRAME,
                                  .has_vertex = 1,
                                  .vertex_mm = {1800.0, 3000.0, 500.0 + 180.0 * i}};
        ck_assert_int_eq(lt_sim_cell_inject(s, &ev, err, sizeof err), 0);
    }
    uint32_t n = lt_sim_cell_channels(s);
    period_t *adc = calloc(n, sizeof *adc);
    for (int k = 0; k < 320; k++) lt_sim_cell_render(s, adc);
    struct lt_truth t[32];
    size_t nt = lt_sim_cell_take_truth(s, t, 32);
    ck_assert_uint_eq(nt, 20);
    double esum = 0;
    int wide = 0, late = 0;
    for (size_t i = 0; i < nt; i++) {
        ck_assert_uint_eq(t[i].kind, LT_TRUTH_NCAPTURE);
        ck_assert(t[i].energy_mev > 0.1f && t[i].energy_mev <= 6.1f);
        esum += t[i].energy_mev;
        wide += t[i].channel_end - t[i].channel_start >= 20;     /* > 10 cm across wires */
        late += t[i].time_end - t[i].time >= 62500 * 100 / 1600; /* > 10 cm in drift */
    }
    ck_assert_msg(esum / nt > 3.0, "mean deposited %g MeV", esum / nt); /* mostly contained */
    ck_assert_msg(wide >= 10 && late >= 8, "spread: %d wide, %d long", wide, late);
    free(adc);
    lt_sim_cell_destroy(s);
}
END_TEST

/* The low-frequency component: per channel rms near lowfreq_noise (the linear interpolation
 * within a period lowers it a little), correlated across a period (white noise is not), and
 * independent between channels. */
START_TEST(lowfreq_noise)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 2;
    quiet(&c);
    ideal(&c);
    c.noise_collection = c.noise_induction = c.coherent_noise = 0;
    c.pedestal_spread = 0;
    c.lowfreq_noise = 4.0;
    struct lt_sim_cell *s = make(&c, 0);
    uint32_t n = lt_sim_cell_channels(s);
    period_t *adc = calloc(n, sizeof *adc);
    const int periods = 400;
    double s2 = 0, lag = 0, cross = 0, cnt = 0;
    double *prev = calloc(n, sizeof *prev);
    for (int k = 0; k < periods; k++) {
        lt_sim_cell_render(s, adc);
        for (uint32_t ch = 0; ch < n; ch++) {
            double v = adc[ch][0] - lt_sim_cell_pedestal(s, ch);
            s2 += v * v;
            if (k) lag += v * prev[ch];
            if (ch + 1 < n) cross += v * (adc[ch + 1][0] - lt_sim_cell_pedestal(s, ch + 1));
            prev[ch] = v;
            cnt++;
        }
    }
    double var = s2 / cnt, rms = sqrt(var);
    ck_assert_msg(rms > 0.85 * 4.0 && rms < 1.1 * 4.0, "low-frequency rms %g", rms);
    double rho = lag / cnt / var; /* one period (32.8 us) apart: exp(-32.8 / 100) = 0.72 */
    ck_assert_msg(rho > 0.6 && rho < 0.85, "lag-one-period correlation %g", rho);
    ck_assert_msg(fabs(cross / cnt / var) < 0.1, "neighbour correlation %g", cross / cnt / var);
    free(prev), free(adc);
    lt_sim_cell_destroy(s);
}
END_TEST

/* Dead, noisy and sticky channels at their configured fractions: dead ones flat at the
 * pedestal (no signal either), noisy ones noisy_factor x the noise, sticky ones with low 6 bits
 * 000000 / 111111 far more often than 2/64. Other channels unchanged by the defects. */
START_TEST(channel_defects)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 20;
    quiet(&c);
    ideal(&c);
    c.coherent_noise = 0;
    c.dead_fraction = 0.05;
    c.noisy_fraction = 0.05;
    c.sticky_fraction = 0.1;
    c.sticky_probability = 0.5;
    struct lt_sim_cell *s = make(&c, 0);
    struct lt_sim_config c0 = c;
    c0.dead_fraction = c0.noisy_fraction = c0.sticky_fraction = 0;
    struct lt_sim_cell *s0 = make(&c0, 0);
    uint32_t n = lt_sim_cell_channels(s);
    period_t *adc = calloc(n, sizeof *adc), *ref = calloc(n, sizeof *ref);
    const int periods = 40;
    double *s2 = calloc(n, sizeof *s2), *r2 = calloc(n, sizeof *r2);
    uint32_t *stick = calloc(n, sizeof *stick), *same = calloc(n, sizeof *same);
    for (int k = 0; k < periods; k++) {
        lt_sim_cell_render(s, adc);
        lt_sim_cell_render(s0, ref);
        for (uint32_t ch = 0; ch < n; ch++)
            for (int t = 0; t < 64; t++) {
                double v = adc[ch][t] - lt_sim_cell_pedestal(s, ch);
                double r = ref[ch][t] - lt_sim_cell_pedestal(s0, ch);
                s2[ch] += v * v;
                r2[ch] += r * r;
                stick[ch] += (adc[ch][t] & 63) == 0 || (adc[ch][t] & 63) == 63;
                same[ch] += adc[ch][t] == ref[ch][t];
            }
    }
    const double m = periods * 64.0;
    uint32_t dead = 0, noisy = 0, sticky = 0, clean = 0;
    for (uint32_t ch = 0; ch < n; ch++) {
        double rms = sqrt(s2[ch] / m), rrms = sqrt(r2[ch] / m);
        if (s2[ch] / m < 0.3) { /* flat */
            dead++;
        } else if (stick[ch] > 0.3 * m) { /* 0.5 + 2/64 of the samples stick */
            sticky++;
        } else if (rms > 2.5 * rrms) {
            noisy++;
            ck_assert_msg(rms < 3.5 * rrms, "ch %u rms %g vs %g", ch, rms, rrms);
        } else {
            clean++;
            ck_assert_uint_eq(same[ch], (uint32_t)m); /* a defect changes only its channel */
        }
    }
    /* 2560 channels: 5% = 128 +- 11, 10% = 256 +- 15 */
    ck_assert_msg(dead > 90 && dead < 170, "dead %u", dead);
    ck_assert_msg(noisy > 90 && noisy < 170, "noisy %u", noisy);
    ck_assert_msg(sticky > 200 && sticky < 310, "sticky %u", sticky);
    ck_assert_uint_eq(dead + noisy + sticky + clean, n);
    /* A dead channel shows no signal: a big deposit on a dead collection wire leaves it flat. */
    uint32_t dead_x = 0;
    for (uint32_t ch = 1600; ch < n && !dead_x; ch++) /* X channels follow 800 U + 800 V */
        if (s2[ch] / m < 0.3) dead_x = ch;
    ck_assert_uint_gt(dead_x, 0);
    struct lt_sim_event ev = {.kind = LT_TRUTH_LOW_ENERGY,
                              .topology = LT_SIM_TOPO_POINT,
                              .energy_mev = 50.0,
                              .time = lt_sim_cell_next_time(s) + 10 * LT_TICKS_PER_FRAME,
                              .has_vertex = 1,
                              .vertex_mm = {10.0, 3000.0, ((dead_x - 1600) + 0.5) * 4.79}};
    char err[128];
    ck_assert_int_eq(lt_sim_cell_inject(s, &ev, err, sizeof err), 0);
    uint16_t flat = adc[dead_x][0];
    for (int k = 0; k < 20; k++) {
        lt_sim_cell_render(s, adc);
        for (int t = 0; t < 64; t++) ck_assert_uint_eq(adc[dead_x][t], flat);
    }
    free(s2), free(r2), free(stick), free(same), free(adc), free(ref);
    lt_sim_cell_destroy(s), lt_sim_cell_destroy(s0);
}
END_TEST

/* The RC undershoot after a collection pulse: negative after the pulse, decaying with
 * undershoot_tau_us, its area undershoot_fraction of the pulse's (1: the net area vanishes);
 * off, the pulse alone. */
START_TEST(undershoot_after_large_pulse)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = 1;
    quiet(&c);
    ideal(&c);
    c.noise_collection = c.noise_induction = c.coherent_noise = 0;
    c.diffusion_trans_cm2_s = 0; /* one wire */
    c.undershoot_fraction = 1.0;
    c.undershoot_tau_us = 200.0; /* short, so the test window holds its whole tail */
    const uint32_t periods = 64;
    struct lt_sim_event ev = {.kind = LT_TRUTH_LOW_ENERGY,
                              .topology = LT_SIM_TOPO_POINT,
                              .energy_mev = 20.0,
                              .time = 200 * LT_TICKS_PER_SAMPLE,
                              .has_vertex = 1,
                              .vertex_mm = {10.0, 100.0, 20.0 * 4.79 + 2.0}};
    struct lt_truth tr;
    int32_t *d = signal_of(&c, &ev, periods, &tr);
    c.undershoot_fraction = 0;
    int32_t *d0 = signal_of(&c, &ev, periods, &tr);
    const size_t row = (size_t)periods * 64;
    uint32_t ch = 80 + 20; /* collection wire 20 of a 1-board cell */
    double area = 0, area0 = 0, peak = 0;
    for (size_t t = 0; t < row; t++) {
        area += d[ch * row + t];
        area0 += d0[ch * row + t];
        if (d0[ch * row + t] > peak) peak = d0[ch * row + t];
    }
    ck_assert_msg(peak > 2000, "peak %g", peak);
    /* Sample by sample after the pulse (+-4 sigma), the undershoot is -area / tau *
     * exp(-t / tau), within the ADC's rounding; its last ~1 ADC of depth is lost to rounding,
     * so the net area is a few % of the pulse's (instead of 0). */
    double tau = 200.0 * 1.953125;
    for (size_t t = 210; t < 200 + (size_t)(3 * tau); t++) {
        double want = -area0 / tau * exp(-((double)t - 200.0) / tau);
        double got = d[ch * row + t] - d0[ch * row + t];
        ck_assert_msg(fabs(got - want) <= 1.0, "t %zu: undershoot %g want %g", t, got, want);
    }
    ck_assert_msg(fabs(area) < 0.1 * area0, "net area %g of %g", area, area0);
    ck_assert_int_eq(d0[ch * row + 200 + (size_t)tau], 0);
    free(d), free(d0);
}
END_TEST

/* Knobs by name: set/get round trip, range and unknown-name errors; every knob is listed. */
START_TEST(knobs_by_name)
{
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    char err[256];
    double v = 0;
    ck_assert_int_eq(lt_sim_config_set(&c, "kr85_bq_per_kg", 0.2, err, sizeof err), 0);
    ck_assert(c.kr85_bq_per_kg == 0.2);
    ck_assert_int_eq(lt_sim_config_get(&c, "kr85_bq_per_kg", &v), 0);
    ck_assert(v == 0.2);
    ck_assert_int_eq(lt_sim_config_set(&c, "dead_fraction", 1.5, err, sizeof err), LT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "dead_fraction"));
    ck_assert_int_eq(lt_sim_config_set(&c, "bogus", 1, err, sizeof err), LT_ENOTFOUND);
    ck_assert_int_eq(lt_sim_config_set(&c, "noise_collection", NAN, err, sizeof err), LT_EINVAL);
    c.dead_fraction = c.noisy_fraction = c.sticky_fraction = 0.5;
    ck_assert_int_eq(lt_sim_config_validate(&c, err, sizeof err), LT_EINVAL);
    unsigned count = 0;
    while (lt_sim_knob(count, NULL, NULL, NULL)) count++;
    ck_assert_uint_ge(count, 30);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, config_validation);
    tcase_add_test(tc, determinism);
    tcase_add_test(tc, chunking_and_streams);
    tcase_add_test(tc, adc_round_trip);
    tcase_add_test(tc, noise_statistics);
    tcase_add_test(tc, ar39_rate);
    tcase_add_test(tc, injected_track_all_planes);
    tcase_add_test(tc, drift_attenuation_and_diffusion);
    tcase_add_test(tc, inject_bounds_and_overflow);
    tcase_add_test(tc, generated_events_sane);
    tcase_add_test(tc, large_timestamps);
    tcase_add_test(tc, noise_tails);
    tcase_add_test(tc, radiological_backgrounds);
    tcase_add_test(tc, neutron_capture_blips);
    tcase_add_test(tc, lowfreq_noise);
    tcase_add_test(tc, channel_defects);
    tcase_add_test(tc, undershoot_after_large_pulse);
    tcase_add_test(tc, knobs_by_name);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
