/* bench_spots: truth oracles for what limits low-energy triggering (docs/limits.md, issue 15).
 *
 *   bench_spots --kind K [--mev E] [--events N] [--gap-ms G] [--seed N] [--isolated]
 *               [--prescreen M --select-mev X [--member K]]
 *   bench_spots --scan SECONDS [--seed N] [--frequent-only]
 *
 * Noise off, channel defects off: what is left is the charge the simulator's events put on the
 * collection wires (drift, diffusion, lifetime, electronics pulse and undershoot as in the
 * simulator), read through the fast background path (lt_sim_cell_render_x_sums, d = 1: columns
 * of 2 samples = 1.024 us) of one full cell (960 collection wires). Column sums are
 * pedestal-subtracted and expressed in "MeV at the wires": the charge of one MeV deposited as a
 * point next to the wires (calibrated at start on such a point in an empty cell), so a deposit at
 * the full drift shows ~0.8 of its energy (10 ms lifetime), as any charge trigger would see it.
 *
 * Inject mode: N events of kind K (ar39, kr85, ar42, rn222, ncapture: the simulator's own
 * generators and energy spectra; le: an electron of E MeV) are injected one every G ms, at a
 * random place and direction, into a cell whose radiological backgrounds run at their default
 * rates (pile-up included; --isolated turns them off). Per event one JSON line: its truth energy
 * (deposited in the cell), its 222Rn-chain member (found by rendering the same injection in a
 * second cell whose alphas carry 10x the charge: the energy shift names the alpha), and the
 * largest charge in a window of each SCALE (wires x time) that overlaps the event's wire and time
 * range (the maximum over the positions of windows that overlap it; a window holds whatever else
 * is there).
 *
 * Scan mode: background only (39Ar and 85Kr alone with --frequent-only), SECONDS of one cell; per
 * scale a histogram of the largest window charge per tile of window origins (tiles as large as
 * the window): the rate of background windows above a charge, pile-up of many decays included.
 * A spot above a cut can count in up to 4 neighbouring tiles: an upper bound within 4x.
 *
 * Output: JSON lines on stdout (a header line first). Not part of CI: tools/train/limits.py runs
 * it and writes docs/limits.md. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_clock.h"
#include "lt_error.h"
#include "sim.h"
#include "sim_internal.h"
#include "ticks.h"
#include "truth.h"

#define D            1U                              /* columns of 2^D samples */
#define COLS         (LT_SAMPLES_PER_FRAME >> D)     /* columns per frame period */
#define COL_TICKS    (LT_TICKS_PER_SAMPLE << D)      /* ticks per column */
#define COL_US       (COL_TICKS * 1e6 / LT_CLOCK_HZ) /* 1.024 us */
#define RING         16384U                          /* columns kept: 16.8 ms */
#define NW           960U                            /* collection wires of a full cell */
#define START_TICKS  ((lt_ticks)1 << 30)
#define MARGIN_W     100 /* region around an event: wires */
#define MARGIN_C     300 /* and columns (307 us) */
#define MAX_PENDING  64
#define N_SCALES     4
#define HIST_BIN_MEV 0.05
#define HIST_BINS    400 /* 0 .. 20 MeV */

/* Window scales (wires x columns of 1.024 us): a blip's spot as the TP adjacency sees it, a
 * short track, the grouping scale (a photon converting ~18 cm away), twice that. */
static const int scale_w[N_SCALES] = {5, 11, 41, 101};
static const int scale_c[N_SCALES] = {10, 30, 122, 293};

struct pending {
    struct lt_truth row; /* of the injected event */
    lt_ticks t_inj;
    int have_row, member;
};

static float *ring; /* ring[(col % RING) * NW + wire], MeV at the wires */
static double ped[NW];
static double unit; /* ADC x samples per MeV at the wires */
static uint32_t sums[COLS * NW];

static int make_cell(const struct lt_sim_config *base, int backgrounds, double alpha_ratio,
                     struct lt_sim_cell **s)
{
    char err[256];
    struct lt_sim_config c = *base;
    c.noise_collection = c.noise_induction = c.coherent_noise = c.lowfreq_noise = 0.0;
    c.dead_fraction = c.noisy_fraction = c.sticky_fraction = 0.0;
    c.le_rate_hz = c.he_rate_hz = c.cosmic_rate_hz = 0.0;
    c.alpha_charge_ratio = alpha_ratio;
    if (!backgrounds && lt_sim_config_scale_backgrounds(&c, 0.0, err, sizeof err)) goto bad;
    if (backgrounds == 2) { /* the frequent betas alone */
        c.ar42_bq_per_kg = c.rn222_bq_per_kg = c.ncapture_rate_hz = 0.0;
    }
    c.start_ticks = START_TICKS;
    if (lt_sim_config_validate(&c, err, sizeof err) ||
        lt_sim_cell_create(&c, 0, s, err, sizeof err))
        goto bad;
    return 0;
bad:
    fprintf(stderr, "bench_spots: %s\n", err);
    return 1;
}

/* Render one period into the ring (pedestal-subtracted, MeV at the wires). */
static int render(struct lt_sim_cell *s, uint64_t *col)
{
    if (lt_sim_cell_render_x_sums(s, D, sums, NW)) return 1;
    for (uint32_t c = 0; c < COLS; c++, (*col)++) {
        float *dst = ring + (*col % RING) * NW;
        for (uint32_t w = 0; w < NW; w++)
            dst[w] = (float)(((double)sums[c * NW + w] - ped[w] * (1 << D)) / unit);
    }
    return 0;
}

static uint64_t col_of(lt_ticks t)
{
    return t < START_TICKS ? 0 : (t - START_TICKS) / COL_TICKS;
}

/* P[(i+1)(C+1) + j+1] = the charge of wires [w0, w0+i] x columns [c0, c0+j] of the ring (a
 * summed-area table: any window's sum is four lookups). P holds (W+1)(C+1), row 0 and column 0
 * zero. */
static void prefix_sums(double *P, int w0, int W, uint64_t c0, int C)
{
    for (int i = 0; i < W; i++)
        for (int j = 0; j < C; j++)
            P[(size_t)(i + 1) * (C + 1) + j + 1] =
                ring[((c0 + j) % RING) * NW + w0 + i] + P[(size_t)i * (C + 1) + j + 1] +
                P[(size_t)(i + 1) * (C + 1) + j] - P[(size_t)i * (C + 1) + j];
}

/* Largest window sum of each scale among the windows that overlap the box wires [bw0, bw1] x
 * columns [bc0, bc1] (an event's extent), or, with bw0 < 0, of all windows inside the region
 * wires [w0, w1) x columns [c0, c1). The region must hold every such window. */
static void window_max(int w0, int w1, uint64_t c0, uint64_t c1, int bw0, int bw1, uint64_t bc0,
                       uint64_t bc1, double out[N_SCALES])
{
    const int W = w1 - w0, C = (int)(c1 - c0);
    double *P = calloc((size_t)(W + 1) * (C + 1), sizeof *P);
    if (!P) {
        perror("bench_spots");
        exit(1);
    }
    prefix_sums(P, w0, W, c0, C);
    for (int k = 0; k < N_SCALES; k++) {
        int ww = scale_w[k] < W ? scale_w[k] : W, wc = scale_c[k] < C ? scale_c[k] : C;
        int i0 = 0, i1 = W - ww, j0 = 0, j1 = C - wc; /* origins, region-relative, inclusive */
        if (bw0 >= 0) {
            int a = bw0 - w0 - ww + 1, b = bw1 - w0, c = (int)((int64_t)bc0 - (int64_t)c0) - wc + 1,
                d = (int)(bc1 - c0);
            if (a > i0) i0 = a;
            if (b < i1) i1 = b;
            if (c > j0) j0 = c;
            if (d < j1) j1 = d;
        }
        double m = 0.0;
        for (int i = i0; i <= i1; i++)
            for (int j = j0; j <= j1; j++) {
                double v = P[(size_t)(i + ww) * (C + 1) + j + wc] -
                           P[(size_t)i * (C + 1) + j + wc] - P[(size_t)(i + ww) * (C + 1) + j] +
                           P[(size_t)i * (C + 1) + j];
                if (v > m) m = v;
            }
        out[k] = m;
    }
    free(P);
}

static void set_pedestals(struct lt_sim_cell *s)
{
    const uint32_t x0 = lt_sim_cell_channels(s) - NW; /* offline order U, V, X */
    for (uint32_t w = 0; w < NW; w++) ped[w] = lt_sim_cell_pedestal(s, x0 + w);
}

/* Unit: the charge of a 10 MeV point 1 mm from the wires in an empty cell, per MeV. */
static int calibrate(const struct lt_sim_config *base)
{
    struct lt_sim_cell *s;
    char err[256];
    if (make_cell(base, 0, base->alpha_charge_ratio, &s)) return 1;
    set_pedestals(s);
    unit = 1.0;
    struct lt_sim_event ev = {.kind = LT_TRUTH_LOW_ENERGY,
                              .topology = LT_SIM_TOPO_POINT,
                              .energy_mev = 10.0,
                              .time = START_TICKS + 100 * LT_TICKS_PER_FRAME,
                              .has_vertex = 1,
                              .vertex_mm = {1.0, 3000.0, 480.5 * 4.79}};
    if (lt_sim_cell_inject(s, &ev, err, sizeof err)) {
        fprintf(stderr, "bench_spots: %s\n", err);
        return 1;
    }
    uint64_t col = 0;
    for (int p = 0; p < 200; p++)
        if (render(s, &col)) return 1;
    double m[N_SCALES];
    window_max(0, NW, col - 199 * COLS, col, -1, 0, 0, 0, m);
    unit = m[1] / 10.0; /* 11 wires x 30 us hold the point: least rounding noise */
    lt_sim_cell_destroy(s);
    return unit > 0 ? 0 : 1;
}

static int kind_of(const char *name, uint32_t *k)
{
    static const char *names[] = {"ar39", "le",   "he",    "cosmic",
                                  "ar42", "kr85", "rn222", "ncapture"};
    for (uint32_t i = 0; i < LT_TRUTH_KIND_COUNT; i++)
        if (!strcmp(name, names[i]) || !strcmp(name, lt_truth_kind_name(i))) {
            *k = i;
            return 0;
        }
    return 1;
}

/* The 222Rn-chain member from the energy shift when alphas carry alpha_hi instead of alpha_lo of
 * an electron's charge: 0 = 222Rn (alpha 5.49), 1 = 218Po (6.00), 2 = 214Pb (no alpha), 3 = 214Bi
 * (with 214Po's 7.69). -1 for other kinds. */
static int member_of(double de, double alpha_lo, double alpha_hi)
{
    static const double alpha_mev[4] = {5.49, 6.00, 0.0, 7.69};
    int best = 2;
    double bd = 1e30;
    for (int i = 0; i < 4; i++) {
        double dd = fabs(de - alpha_mev[i] * (alpha_hi - alpha_lo));
        if (dd < bd) bd = dd, best = i;
    }
    return best;
}

static int run_inject(const struct lt_sim_config *base, uint32_t kind, double mev, long n,
                      double gap_ms, int isolated, const lt_ticks *times)
{
    struct lt_sim_cell *s, *tag = NULL;
    char err[256];
    const double alpha_hi = base->alpha_charge_ratio * 10.0;
    if (make_cell(base, isolated ? 0 : 1, base->alpha_charge_ratio, &s)) return 1;
    if (kind == LT_TRUTH_RN222 && make_cell(base, 0, alpha_hi, &tag)) return 1;
    set_pedestals(s);
    struct lt_cell_geom g = {LT_FEMBS_PER_CELL};
    double rate = kind == LT_TRUTH_AR39 ? base->ar39_bq_per_kg * lt_sim_cell_mass_kg(&g)
                  : kind == LT_TRUTH_NCAPTURE || kind == LT_TRUTH_AR42 || kind == LT_TRUTH_KR85 ||
                          kind == LT_TRUTH_RN222
                      ? lt_sim_radiological_rate(base, kind, lt_sim_cell_mass_kg(&g))
                      : 0.0;
    if (kind == LT_TRUTH_NCAPTURE) rate = base->ncapture_rate_hz;
    printf("{\"mode\":\"inject\",\"kind\":\"%s\",\"mev\":%g,\"events\":%ld,\"gap_ms\":%g,"
           "\"isolated\":%d,\"rate_hz_per_cell\":%.6g,\"unit_adc_samples_per_mev\":%.4f,"
           "\"col_us\":%.4f,\"scales_wires\":[%d,%d,%d,%d],\"scales_cols\":[%d,%d,%d,%d]}\n",
           lt_truth_kind_name(kind), mev, n, gap_ms, isolated, rate, unit, COL_US, scale_w[0],
           scale_w[1], scale_w[2], scale_w[3], scale_c[0], scale_c[1], scale_c[2], scale_c[3]);
    const lt_ticks gap =
        (lt_ticks)(gap_ms * 1e-3 * LT_CLOCK_HZ) / LT_TICKS_PER_SAMPLE * LT_TICKS_PER_SAMPLE;
    const lt_ticks first = START_TICKS + 20 * LT_TICKS_PER_FRAME;
    struct pending pend[MAX_PENDING];
    int np = 0;
    long injected = 0, done = 0, no_row = 0, clipped = 0;
    uint64_t col = 0, tcol = 0;
    struct lt_truth rows[4096], trow[256];
    double tag_e[MAX_PENDING];
    struct lt_sim_rng ar39_rng; /* 39Ar injections take their energy from the caller */
    lt_sim_rng_seed(&ar39_rng, base->seed ^ 0x3941ULL);
    double cpu0 = lt_thread_cpu_s();
    while (done + no_row < n) {
        lt_ticks next = lt_sim_cell_next_time(s);
        /* Inject the next event a few periods ahead (the simulator's rule: not in the past). */
        if (injected < n && np < MAX_PENDING) {
            lt_ticks t = times ? times[injected] : first + (lt_ticks)injected * gap;
            if (t < next + 8 * LT_TICKS_PER_FRAME) {
                struct lt_sim_event ev = {
                    .kind = kind, .topology = LT_SIM_TOPO_AUTO, .energy_mev = mev, .time = t};
                if (kind == LT_TRUTH_AR39) ev.energy_mev = lt_sim_ar39_energy(s, &ar39_rng);
                if (lt_sim_cell_inject(s, &ev, err, sizeof err) ||
                    (tag && lt_sim_cell_inject(tag, &ev, err, sizeof err))) {
                    fprintf(stderr, "bench_spots: %s\n", err);
                    return 1;
                }
                memset(&pend[np], 0, sizeof pend[np]);
                pend[np].t_inj = t;
                pend[np].member = -1;
                tag_e[np] = -1.0;
                np++, injected++;
                continue;
            }
        }
        if (render(s, &col)) return 1;
        if (tag) {
            uint64_t junk = tcol;
            if (lt_sim_cell_render_x_sums(tag, D, sums, NW)) return 1;
            tcol = junk + COLS;
            size_t k = lt_sim_cell_take_truth(tag, trow, 256);
            for (size_t i = 0; i < k; i++)
                for (int j = 0; j < np; j++)
                    if (trow[i].time == pend[j].t_inj) tag_e[j] = trow[i].energy_mev;
        }
        size_t k = lt_sim_cell_take_truth(s, rows, 4096);
        for (size_t i = 0; i < k; i++)
            for (int j = 0; j < np; j++)
                if (!pend[j].have_row && rows[i].kind == kind && rows[i].time == pend[j].t_inj) {
                    pend[j].row = rows[i];
                    pend[j].have_row = 1;
                }
        /* Evaluate events whose charge has all arrived (plus the margin). */
        for (int j = 0; j < np;) {
            struct pending *p = &pend[j];
            uint64_t now = col;
            if (!p->have_row) {
                if (now > col_of(p->t_inj) + 2 * COLS * 8) { /* no deposit in the cell */
                    no_row++;
                    pend[j] = pend[--np];
                    tag_e[j] = tag_e[np];
                    continue;
                }
                j++;
                continue;
            }
            uint64_t c1 = col_of(p->row.time_end) + MARGIN_C + 1;
            if (now < c1) {
                j++;
                continue;
            }
            uint64_t c0 = col_of(p->row.time) > MARGIN_C ? col_of(p->row.time) - MARGIN_C : 0;
            int cl = 0;
            if (now - c0 > RING - 2 * COLS) c0 = now - (RING - 2 * COLS), cl = 1;
            int w0 = (int)p->row.channel_start - MARGIN_W,
                w1 = (int)p->row.channel_end + MARGIN_W + 1;
            if (w0 < 0) w0 = 0;
            if (w1 > (int)NW) w1 = NW;
            double m[N_SCALES];
            uint64_t bc0 = col_of(p->row.time) > c0 ? col_of(p->row.time) : c0;
            window_max(w0, w1, c0, c1, p->row.channel_start, p->row.channel_end, bc0,
                       col_of(p->row.time_end), m);
            if (tag)
                p->member = tag_e[j] < 0 ? -2
                                         : member_of(tag_e[j] - p->row.energy_mev,
                                                     base->alpha_charge_ratio, alpha_hi);
            clipped += cl;
            printf("{\"e\":%.4f,\"m\":%d,\"s\":[%.4f,%.4f,%.4f,%.4f],\"wires\":%d,\"us\":%.1f,"
                   "\"clipped\":%d}\n",
                   p->row.energy_mev, p->member, m[0], m[1], m[2], m[3],
                   p->row.channel_end - p->row.channel_start + 1,
                   (double)(p->row.time_end - p->row.time) * 1e6 / LT_CLOCK_HZ, cl);
            done++;
            pend[j] = pend[--np];
            tag_e[j] = tag_e[np];
        }
    }
    struct lt_sim_stats st;
    lt_sim_cell_stats(s, &st);
    printf("{\"done\":%ld,\"no_deposit\":%ld,\"clipped\":%ld,\"cell_seconds\":%.4f,\"cpu_s\":%.2f,"
           "\"pulses_dropped\":%llu,\"truth_dropped\":%llu}\n",
           done, no_row, clipped, (double)col * COL_US * 1e-6, lt_thread_cpu_s() - cpu0,
           (unsigned long long)st.pulses_dropped, (unsigned long long)st.truth_dropped);
    lt_sim_cell_destroy(s);
    if (tag) lt_sim_cell_destroy(tag);
    return 0;
}

/* Background only: per scale, a histogram of the largest window per tile of window origins. */
static int run_scan(const struct lt_sim_config *base, double seconds, int frequent_only)
{
    struct lt_sim_cell *s;
    struct lt_sim_config c = *base;
    c.truth_capacity = 0; /* no truth is read here: keep none */
    if (make_cell(&c, frequent_only ? 2 : 1, base->alpha_charge_ratio, &s)) return 1;
    set_pedestals(s);
    static long hist[N_SCALES][HIST_BINS];
    const uint64_t slab = 2048; /* columns per slab of window origins */
    const uint64_t total = (uint64_t)(seconds * 1e6 / COL_US);
    uint64_t col = 0, done_to = 0, tiles[N_SCALES] = {0};
    double *P = calloc((size_t)(NW + 1) * (slab + scale_c[N_SCALES - 1] + 1), sizeof *P);
    if (!P) return 1;
    double cpu0 = lt_thread_cpu_s();
    while (done_to + slab <= total) {
        /* a slab of origins needs slab + the longest window of columns rendered */
        while (col < done_to + slab + (uint64_t)scale_c[N_SCALES - 1] + COLS)
            if (render(s, &col)) return 1;
        if (done_to == 0) { /* the first slab: no decays from before the start */
            done_to += slab;
            continue;
        }
        const uint64_t L = slab + (uint64_t)scale_c[N_SCALES - 1];
        prefix_sums(P, 0, NW, done_to, (int)L);
        for (int k = 0; k < N_SCALES; k++) {
            /* origins stepped by a tenth of the window: the maximum is within a few % */
            const int ww = scale_w[k], wc = scale_c[k];
            const int sw = ww / 10 > 1 ? ww / 10 : 1, sc = wc / 10 > 1 ? wc / 10 : 1;
            for (int tw = 0; tw + ww <= (int)NW; tw += ww)
                for (uint64_t tc = 0; tc + (uint64_t)wc <= slab; tc += (uint64_t)wc) {
                    double best = -1e30;
                    for (int i = tw; i < tw + ww && i + ww <= (int)NW; i += sw)
                        for (uint64_t j = tc; j < tc + (uint64_t)wc; j += (uint64_t)sc) {
                            double v = P[(size_t)(i + ww) * (L + 1) + j + wc] -
                                       P[(size_t)i * (L + 1) + j + wc] -
                                       P[(size_t)(i + ww) * (L + 1) + j] +
                                       P[(size_t)i * (L + 1) + j];
                            if (v > best) best = v;
                        }
                    int b = (int)(best / HIST_BIN_MEV);
                    if (b >= 0) hist[k][b < HIST_BINS ? b : HIST_BINS - 1]++;
                    tiles[k]++;
                }
        }
        done_to += slab;
    }
    double cs = (double)(done_to - slab) * COL_US * 1e-6;
    printf("{\"mode\":\"scan\",\"frequent_only\":%d,\"cell_seconds\":%.4f,\"cpu_s\":%.2f,"
           "\"unit_adc_samples_per_mev\":%.4f,\"bin_mev\":%g,\"scales_wires\":[%d,%d,%d,%d],"
           "\"scales_cols\":[%d,%d,%d,%d]}\n",
           frequent_only, cs, lt_thread_cpu_s() - cpu0, unit, HIST_BIN_MEV, scale_w[0], scale_w[1],
           scale_w[2], scale_w[3], scale_c[0], scale_c[1], scale_c[2], scale_c[3]);
    for (int k = 0; k < N_SCALES; k++) {
        printf("{\"scale\":%d,\"tiles\":%llu,\"hist\":[", k, (unsigned long long)tiles[k]);
        for (int b = 0; b < HIST_BINS; b++) printf("%s%ld", b ? "," : "", hist[k][b]);
        printf("]}\n");
    }
    free(P);
    lt_sim_cell_destroy(s);
    return 0;
}

/* Pre-selection for rare tails: the injected event's random stream depends only on (seed, cell,
 * kind, topology, energy, time), and the generator draws the same numbers whatever the cell's
 * width (the vertex's z is width x the same uniform), so a narrow cell (4 boards, 192 wires, no
 * backgrounds: cheap) tells which injection times give a decay depositing >= sel_mev (a 222Rn
 * chain decay: of which member, by the alpha-charge tag). Candidates: one per frame period.
 * Writes the selected times, thinned to one per gap (independent of the events' outcome, so the
 * kept ones are a fair sample of the selected), and prints the pre-selection's counts. */
static long prescreen(const struct lt_sim_config *base, uint32_t kind, long m, double sel_mev,
                      int member, double gap_ms, lt_ticks **out)
{
    struct lt_sim_config nc = *base;
    nc.n_fembs = 4;
    struct lt_sim_cell *s, *tag = NULL;
    char err[256];
    const double alpha_hi = base->alpha_charge_ratio * 10.0;
    if (make_cell(&nc, 0, base->alpha_charge_ratio, &s)) return -1;
    if (kind == LT_TRUTH_RN222 && make_cell(&nc, 0, alpha_hi, &tag)) return -1;
    float *e = malloc((size_t)m * sizeof *e), *et = malloc((size_t)m * sizeof *et);
    lt_ticks *t = malloc((size_t)m * sizeof *t);
    static uint32_t nsums[COLS * 192];
    if (!e || !et || !t) return -1;
    for (long i = 0; i < m; i++) e[i] = et[i] = -1.0f;
    const lt_ticks first = START_TICKS + 20 * LT_TICKS_PER_FRAME;
    long injected = 0;
    struct lt_truth rows[2048];
    while (lt_sim_cell_next_time(s) < first + (lt_ticks)(m + 4) * LT_TICKS_PER_FRAME) {
        lt_ticks next = lt_sim_cell_next_time(s);
        while (injected < m &&
               first + (lt_ticks)injected * LT_TICKS_PER_FRAME < next + 8 * LT_TICKS_PER_FRAME) {
            struct lt_sim_event ev = {.kind = kind,
                                      .topology = LT_SIM_TOPO_AUTO,
                                      .time = first + (lt_ticks)injected * LT_TICKS_PER_FRAME};
            if (lt_sim_cell_inject(s, &ev, err, sizeof err) ||
                (tag && lt_sim_cell_inject(tag, &ev, err, sizeof err))) {
                fprintf(stderr, "bench_spots: %s\n", err);
                return -1;
            }
            injected++;
        }
        for (int c = 0; c < (tag ? 2 : 1); c++) {
            struct lt_sim_cell *x = c ? tag : s;
            float *dst = c ? et : e;
            if (lt_sim_cell_render_x_sums(x, D, nsums, 192)) return -1;
            size_t k = lt_sim_cell_take_truth(x, rows, 2048);
            for (size_t i = 0; i < k; i++) {
                if (rows[i].kind != kind || rows[i].time < first) continue;
                lt_ticks dt = rows[i].time - first;
                if (dt % LT_TICKS_PER_FRAME) continue;
                long j = (long)(dt / LT_TICKS_PER_FRAME);
                if (j < m) dst[j] = rows[i].energy_mev;
            }
        }
    }
    long counts[5] = {0}, sel = 0, kept = 0;
    const lt_ticks gap = (lt_ticks)(gap_ms * 1e-3 * LT_CLOCK_HZ);
    lt_ticks last = 0;
    for (long i = 0; i < m; i++) {
        int mb =
            tag ? (et[i] < 0 ? -2 : member_of(et[i] - e[i], base->alpha_charge_ratio, alpha_hi))
                : -1;
        if (mb >= 0)
            counts[mb]++;
        else if (mb == -2 || e[i] < 0)
            counts[4]++;
        if (e[i] >= sel_mev && (member < 0 || mb == member)) {
            sel++;
            lt_ticks ti = first + (lt_ticks)i * LT_TICKS_PER_FRAME;
            if (!kept || ti >= last + gap) t[kept++] = last = ti;
        }
    }
    printf("{\"mode\":\"prescreen\",\"candidates\":%ld,\"sel_mev\":%g,\"member\":%d,"
           "\"selected\":%ld,\"kept\":%ld,\"members\":[%ld,%ld,%ld,%ld],\"untagged\":%ld}\n",
           m, sel_mev, member, sel, kept, counts[0], counts[1], counts[2], counts[3], counts[4]);
    free(e);
    free(et);
    lt_sim_cell_destroy(s);
    if (tag) lt_sim_cell_destroy(tag);
    *out = t;
    return kept;
}

int main(int argc, char **argv)
{
    struct lt_sim_config base;
    lt_sim_config_default(&base);
    base.n_fembs = LT_FEMBS_PER_CELL;
    base.seed = 1;
    const char *kind_name = NULL;
    double mev = 0.0, gap_ms = 1.0, scan = 0.0;
    long n = 100;
    int isolated = 0, frequent_only = 0, member = -1;
    long candidates = 0;
    double sel_mev = 0.0;
    static const struct option opts[] = {
        {"kind", required_argument, 0, 'k'},      {"mev", required_argument, 0, 'e'},
        {"events", required_argument, 0, 'n'},    {"gap-ms", required_argument, 0, 'g'},
        {"seed", required_argument, 0, 's'},      {"isolated", no_argument, 0, 'i'},
        {"scan", required_argument, 0, 'S'},      {"frequent-only", no_argument, 0, 'f'},
        {"prescreen", required_argument, 0, 'p'}, {"select-mev", required_argument, 0, 'x'},
        {"member", required_argument, 0, 'M'},    {0, 0, 0, 0}};
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (o) {
        case 'k':
            kind_name = optarg;
            break;
        case 'e':
            mev = atof(optarg);
            break;
        case 'n':
            n = atol(optarg);
            break;
        case 'g':
            gap_ms = atof(optarg);
            break;
        case 's':
            base.seed = strtoull(optarg, NULL, 10);
            break;
        case 'i':
            isolated = 1;
            break;
        case 'S':
            scan = atof(optarg);
            break;
        case 'f':
            frequent_only = 1;
            break;
        case 'p':
            candidates = atol(optarg);
            break;
        case 'x':
            sel_mev = atof(optarg);
            break;
        case 'M':
            member = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: bench_spots --kind K [--mev E] [--events N] [--gap-ms G] "
                            "[--seed N] [--isolated] [--prescreen M --select-mev X [--member K]] | "
                            "--scan SECONDS [--frequent-only]\n");
            return 2;
        }
    }
    ring = calloc((size_t)RING * NW, sizeof *ring);
    if (!ring) return 1;
    if (calibrate(&base)) {
        fprintf(stderr, "bench_spots: calibration failed\n");
        return 1;
    }
    int rc;
    if (scan > 0) {
        rc = run_scan(&base, scan, frequent_only);
    } else {
        uint32_t kind;
        if (!kind_name || kind_of(kind_name, &kind) || n <= 0 || gap_ms < 0.2 || gap_ms > 10.0) {
            fprintf(stderr, "bench_spots: --kind (ar39, kr85, ar42, rn222, ncapture, le), "
                            "--events > 0, --gap-ms 0.2..10 needed\n");
            return 2;
        }
        lt_ticks *times = NULL;
        if (candidates > 0) {
            long kept = prescreen(&base, kind, candidates, sel_mev, member, gap_ms, &times);
            if (kept < 0) return 1;
            if (kept < n) n = kept;
        }
        rc = n > 0 ? run_inject(&base, kind, mev, n, gap_ms, isolated, times) : 0;
        free(times);
    }
    free(ring);
    return rc;
}
