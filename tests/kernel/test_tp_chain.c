/* The TP/TA baseline (docs/kernel.md "TP/TA baseline"): hit finding on crafted columns (a pulse
 * of known height and length gives one hit with the right start, time over threshold, peak and
 * integral; a stuck channel is split), clustering (two separated groups give two candidates with
 * the documented fields; the wire and time adjacency limits are exact; an open hit keeps its
 * cluster open; a full output is counted), and the real path through the accelerator interface
 * (cpu backend, WIBEth frames, the preprocess pedestal): a pedestal drift larger than the
 * threshold makes no candidate, a pulse on one wire makes exactly one; the xrt backend and bad
 * parameters are refused. Expected values are worked out by hand from docs/kernel.md. */
#include "accel.h"
#include "kernel_top.h"
#include "lt_error.h"
#include "tp_chain.h"
#include "trgfmt.h"
#include "weights.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- hits ------------------------------------------------------------------------------------ */

static struct lt_tp_hits_state HS;
static struct lt_tp_hit HOUT[LT_KERNEL_MAX_WIRES];

START_TEST(pulse_gives_one_hit)
{
    lt_tp_hits_reset(&HS, 16, 40, 1000); /* threshold 10 ADC in 1/4 ADC */
    static const int16_t shape[10] = {0, 0, 20, 60, 100, 80, 40, 10, 0, 0};
    int16_t x[16];
    uint32_t total = 0;
    for (int c = 0; c < 10; c++) {
        memset(x, 0, sizeof x);
        x[5] = shape[c];
        x[9] = -200; /* negative excursions never make hits */
        uint32_t n = lt_tp_hits_column(&HS, x, HOUT);
        if (c == 4) {
            ck_assert_uint_eq(HS.n_active, 1);
            ck_assert_uint_eq(HS.min_active_start, 3);
        }
        if (c != 6) {
            ck_assert_uint_eq(n, 0);
            continue;
        }
        /* 40 is not above the threshold: the hit closes at column 6 */
        ck_assert_uint_eq(n, 1);
        total += n;
        ck_assert_uint_eq(HOUT[0].wire, 5);
        ck_assert_uint_eq(HOUT[0].col_start, 3);
        ck_assert_uint_eq(HOUT[0].tot, 3);
        ck_assert_uint_eq(HOUT[0].col_peak, 4);
        ck_assert_int_eq(HOUT[0].peak, 100);
        ck_assert_uint_eq(HOUT[0].integral, 60 + 100 + 80);
        ck_assert_uint_eq(HS.n_active, 0);
    }
    ck_assert_uint_eq(total, 1);
    ck_assert_uint_eq(lt_tp_hits_flush(&HS, HOUT), 0);
}
END_TEST

START_TEST(stuck_channel_is_split)
{
    lt_tp_hits_reset(&HS, 16, 40, 8);
    int16_t x[16] = {0, 500};
    uint32_t n = 0;
    for (int c = 0; c < 20; c++) {
        uint32_t k = lt_tp_hits_column(&HS, x, HOUT);
        for (uint32_t i = 0; i < k; i++) {
            ck_assert_uint_eq(HOUT[i].tot, 8);
            ck_assert_uint_eq(HOUT[i].col_start, 8U * n);
            n++;
        }
    }
    ck_assert_uint_eq(n, 2); /* columns 0-7 and 8-15; 16-19 still open */
    ck_assert_uint_eq(HS.split, 2);
    ck_assert_uint_eq(lt_tp_hits_flush(&HS, HOUT), 1);
    ck_assert_uint_eq(HOUT[0].col_start, 16);
    ck_assert_uint_eq(HOUT[0].tot, 4);
}
END_TEST

/* --- clustering through the chain (columns in, candidates out) ---------------------------------
 */

static struct lt_tp_chain TC;
static int16_t XC[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES];
static struct lt_candidate OUT[64];
/* columns x wires of x (1/4 ADC) */
#define NCOL 40
static int16_t IMG[NCOL][LT_KERNEL_MAX_WIRES];

#define FIRST_TICK 1000000ULL
static const struct lt_tp_params TPP = {
    .d = 1,            /* 64 ticks per column */
    .threshold_x = 40, /* 10 ADC */
    .adj_wires = 3,    /* hits up to 3 wires apart are adjacent */
    .adj_ticks = 128,  /* = 2 empty columns bridged */
    .min_hits = 1,
    .min_score = 0,
    .score_unit = 10,
};

static void box(uint32_t wire, uint32_t c0, uint32_t n, int16_t a)
{
    for (uint32_t c = c0; c < c0 + n && c < NCOL; c++) IMG[c][wire] = a;
}

/* Run the image column by column (as periods of one column) and flush; returns candidates. */
/* The first two candidates out, the one starting on the lower channel first (the chain emits
 * clusters closed in the same column in no particular order). */
static void lower_channel_first(const struct lt_candidate **a, const struct lt_candidate **b)
{
    int swap = OUT[0].channel_start > OUT[1].channel_start;
    *a = &OUT[swap];
    *b = &OUT[!swap];
}

static uint32_t run_img(struct lt_tp_params p, uint32_t max_out, int flush)
{
    lt_tp_chain_reset(&TC, &p, 3, 96, FIRST_TICK);
    struct lt_cand_sink sink = {OUT, max_out, 0};
    for (uint32_t c = 0; c < NCOL; c++) {
        memcpy(XC[0], IMG[c], sizeof IMG[c]);
        lt_tp_chain_columns(&TC, XC, 1, &sink);
    }
    if (flush) lt_tp_chain_flush(&TC, &sink);
    return sink.n;
}

static uint64_t tick(uint64_t col)
{
    return FIRST_TICK + col * 64U;
}

START_TEST(two_groups_two_candidates)
{
    memset(IMG, 0, sizeof IMG);
    for (uint32_t w = 10; w <= 12; w++) box(w, 5, 4, 50); /* 3 hits, integral 200 each */
    IMG[6][11] = 90;                                      /* the peak: wire 11, column 6 */
    for (uint32_t w = 40; w <= 41; w++) box(w, 6, 3, 60); /* 2 hits, integral 180 each */
    ck_assert_uint_eq(run_img(TPP, 64, 0), 2);            /* both closed before the end */
    ck_assert_uint_eq(TC.clus.n_open, 0);
    ck_assert_uint_eq(TC.n_hits, 5);
    const struct lt_candidate *a, *b;
    lower_channel_first(&a, &b);
    ck_assert_uint_eq(a->cell, 3);
    ck_assert_uint_eq(a->channel_start, 10);
    ck_assert_uint_eq(a->channel_end, 12);
    ck_assert_uint_eq(a->time_start, tick(5));
    ck_assert_uint_eq(a->time_end, tick(9) - 1U);
    ck_assert_uint_eq(a->time_peak, tick(6));
    /* (200 + 240 + 200) quarter-ADC columns x D = 2 samples / 4 = 320 ADC x samples */
    ck_assert_uint_eq(a->adc_sum, 320);
    ck_assert_int_eq(a->peak_score, 32);
    ck_assert_uint_eq(a->n_pixels, 3);
    ck_assert_uint_eq(a->algorithm, LT_CAND_ALGO_TP);
    ck_assert_uint_eq(b->channel_start, 40);
    ck_assert_uint_eq(b->channel_end, 41);
    ck_assert_uint_eq(b->time_start, tick(6));
    ck_assert_uint_eq(b->time_end, tick(9) - 1U);
    ck_assert_uint_eq(b->adc_sum, 180);
    ck_assert_int_eq(b->peak_score, 18);
    ck_assert_uint_eq(b->n_pixels, 2);
}
END_TEST

/* Wires 3 apart join, 4 apart do not (adj_wires = 3). */
START_TEST(wire_adjacency_limit)
{
    memset(IMG, 0, sizeof IMG);
    box(10, 5, 3, 50);
    box(13, 5, 3, 50);
    ck_assert_uint_eq(run_img(TPP, 64, 1), 1);
    ck_assert_uint_eq(OUT[0].channel_start, 10);
    ck_assert_uint_eq(OUT[0].channel_end, 13);
    memset(IMG, 0, sizeof IMG);
    box(10, 5, 3, 50);
    box(14, 5, 3, 50);
    ck_assert_uint_eq(run_img(TPP, 64, 1), 2);
    /* A hit between them bridges them into one (the clusters merge). */
    memset(IMG, 0, sizeof IMG);
    box(10, 5, 3, 50);
    box(20, 5, 3, 50);
    box(15, 9, 2, 50);
    box(17, 9, 2, 50);
    box(13, 9, 2, 50);
    ck_assert_uint_eq(run_img(TPP, 64, 1), 1);
    ck_assert_uint_eq(OUT[0].channel_start, 10);
    ck_assert_uint_eq(OUT[0].channel_end, 20);
    ck_assert_uint_eq(OUT[0].n_pixels, 5);
}
END_TEST

/* Two empty columns between hits are bridged (adj_ticks = 2 columns), three are not. */
START_TEST(time_adjacency_limit)
{
    memset(IMG, 0, sizeof IMG);
    box(10, 5, 4, 50);  /* columns 5-8 */
    box(11, 11, 3, 50); /* 9, 10 empty */
    ck_assert_uint_eq(run_img(TPP, 64, 1), 1);
    ck_assert_uint_eq(OUT[0].time_start, tick(5));
    ck_assert_uint_eq(OUT[0].time_end, tick(14) - 1U);
    memset(IMG, 0, sizeof IMG);
    box(10, 5, 4, 50);
    box(11, 12, 3, 50); /* 9, 10, 11 empty */
    ck_assert_uint_eq(run_img(TPP, 64, 1), 2);
}
END_TEST

/* Stage 2 (kernel.tp.group_*): a track and a blip 18 wires and 3 empty columns away are one
 * candidate with their summed charge; a cluster below group_min_piece between two groups neither
 * joins nor bridges them (with piece_min 0 it bridges all into one); one column further apart in
 * time the blip stays alone; with group_wires 0 every cluster is its own candidate. */
START_TEST(pieces_are_grouped)
{
    struct lt_tp_params p = TPP;
    p.group_wires = 20;
    p.group_ticks = 4U * 64U; /* 4 columns */
    p.piece_min = 5;
    memset(IMG, 0, sizeof IMG);
    for (uint32_t w = 10; w <= 12; w++) box(w, 5, 4, 50); /* A: 3 x 200 -> 300 ADC x s, 30 */
    box(30, 12, 3, 60);
    box(31, 12, 3, 60);                      /* blip: 2 x 180 -> 180, 18; columns 9-11 empty */
    box(45, 6, 1, 50);                       /* small: 50 -> 25 ADC x s, score 2 < piece_min */
    box(60, 5, 4, 50);                       /* B: 29 wires from the blip */
    box(61, 5, 4, 50);                       /*    2 x 200 -> 200, 20 */
    ck_assert_uint_eq(run_img(p, 64, 0), 2); /* both groups closed before the end */
    ck_assert_uint_eq(TC.clus.n_group, 0);
    const struct lt_candidate *a, *b;
    lower_channel_first(&a, &b);
    ck_assert_uint_eq(a->channel_start, 10);
    ck_assert_uint_eq(a->channel_end, 31);
    ck_assert_uint_eq(a->time_start, tick(5));
    ck_assert_uint_eq(a->time_end, tick(15) - 1U);
    ck_assert_uint_eq(a->adc_sum, 480);
    ck_assert_int_eq(a->peak_score, 48);
    ck_assert_uint_eq(a->n_pixels, 5);
    ck_assert_uint_eq(b->channel_start, 60);
    ck_assert_uint_eq(b->adc_sum, 200);
    ck_assert_uint_eq(b->n_pixels, 2);
    /* without the piece cut the small cluster bridges the two groups */
    p.piece_min = 0;
    ck_assert_uint_eq(run_img(p, 64, 0), 1);
    ck_assert_uint_eq(OUT[0].channel_start, 10);
    ck_assert_uint_eq(OUT[0].channel_end, 61);
    ck_assert_uint_eq(OUT[0].adc_sum, 480 + 25 + 200);
    /* 4 empty columns: the blip is its own group */
    p.piece_min = 5;
    memset(IMG, 0, sizeof IMG);
    for (uint32_t w = 10; w <= 12; w++) box(w, 5, 4, 50);
    box(30, 13, 3, 60);
    box(31, 13, 3, 60);
    ck_assert_uint_eq(run_img(p, 64, 1), 2);
    /* grouping off: each cluster alone */
    p.group_wires = 0;
    ck_assert_uint_eq(run_img(p, 64, 1), 2);
    ck_assert_uint_eq(OUT[0].adc_sum + OUT[1].adc_sum, 480);
    ck_assert(OUT[0].adc_sum == 180 || OUT[1].adc_sum == 180);
    /* a group is held until no later piece can reach it: meanwhile the watermark stays at its
     * start */
    p.group_wires = 20;
    p.group_ticks = 40U * 64U;
    memset(IMG, 0, sizeof IMG);
    for (uint32_t w = 10; w <= 12; w++) box(w, 5, 4, 50);
    ck_assert_uint_eq(run_img(p, 64, 0), 0);
    ck_assert_uint_eq(TC.clus.n_group, 1);
    ck_assert_uint_eq(lt_tp_chain_watermark(&TC), tick(5));
    struct lt_cand_sink sink = {OUT, 64, 0};
    lt_tp_chain_flush(&TC, &sink);
    ck_assert_uint_eq(sink.n, 1);
    ck_assert_uint_eq(OUT[0].adc_sum, 300);
    char err[160];
    p.group_wires = LT_KERNEL_MAX_WIRES + 1U;
    ck_assert_int_eq(lt_tp_params_check(&p, err, sizeof err), LT_ERANGE);
    p.group_wires = 20;
    p.piece_min = -1;
    ck_assert_int_eq(lt_tp_params_check(&p, err, sizeof err), LT_ERANGE);
}
END_TEST

/* While the pedestal settles (settle_ticks after a start) no hit opens; pulses after the settling
 * time are found as before. */
START_TEST(no_hits_while_the_pedestal_settles)
{
    struct lt_tp_params p = TPP;
    p.settle_ticks = 10U * 64U - 1U; /* rounds up to 10 columns */
    memset(IMG, 0, sizeof IMG);
    box(20, 0, 3, 200);  /* columns 0-2: a start that reads far above the pedestal */
    box(40, 8, 4, 200);  /* columns 8-11: begins inside the settling time */
    box(60, 25, 3, 200); /* columns 25-27 */
    ck_assert_uint_eq(run_img(p, 64, 1), 2);
    /* wire 40's hit opens at column 10, the first settled column: it is cut, not shifted */
    ck_assert_uint_eq(OUT[0].channel_start, 40);
    ck_assert_uint_eq(OUT[0].time_start, tick(10));
    ck_assert_uint_eq(OUT[1].channel_start, 60);
    ck_assert_uint_eq(OUT[1].time_start, tick(25));
    /* and without settling, the start of the run is a hit */
    p.settle_ticks = 0;
    ck_assert_uint_eq(run_img(p, 64, 1), 3);
    ck_assert_uint_eq(OUT[0].channel_start, 20);
    p.settle_ticks = LT_TP_MAX_SETTLE_TICKS + 1U;
    char err[128];
    ck_assert_int_eq(lt_tp_params_check(&p, err, sizeof err), LT_ERANGE);
}
END_TEST

/* A long hit that started while the cluster could still take it joins it, although it closes
 * long after the cluster's last hit; meanwhile the watermark stays at the cluster's start. */
START_TEST(open_hit_keeps_cluster)
{
    memset(IMG, 0, sizeof IMG);
    box(10, 5, 2, 50);  /* columns 5-6 */
    box(12, 9, 25, 50); /* starts 2 empty columns later, lasts to column 33 */
    ck_assert_uint_eq(run_img(TPP, 64, 0), 1);
    ck_assert_uint_eq(OUT[0].channel_start, 10);
    ck_assert_uint_eq(OUT[0].channel_end, 12);
    ck_assert_uint_eq(OUT[0].time_end, tick(34) - 1U);
    /* the watermark follows: nothing open, the next column */
    ck_assert_uint_eq(lt_tp_chain_watermark(&TC), tick(NCOL));
    /* stop while the long hit is open: the watermark is the cluster's start */
    memset(IMG, 0, sizeof IMG);
    box(10, 5, 2, 50);
    box(12, 9, 40, 50);
    ck_assert_uint_eq(run_img(TPP, 64, 0), 0);
    ck_assert_uint_eq(lt_tp_chain_watermark(&TC), tick(5));
}
END_TEST

START_TEST(cuts_and_full_output)
{
    memset(IMG, 0, sizeof IMG);
    box(10, 5, 4, 50); /* 100 ADC x samples: score 10 */
    box(40, 5, 4, 50);
    box(41, 5, 4, 50); /* 200: score 20, 2 hits */
    struct lt_tp_params p = TPP;
    p.min_score = 15;
    ck_assert_uint_eq(run_img(p, 64, 1), 1);
    ck_assert_uint_eq(OUT[0].channel_start, 40);
    ck_assert_uint_eq(TC.clus.below_cut, 1);
    p = TPP;
    p.min_hits = 2;
    ck_assert_uint_eq(run_img(p, 64, 1), 1);
    ck_assert_uint_eq(OUT[0].n_pixels, 2);
    uint64_t before = TC.clus.dropped;
    ck_assert_uint_eq(run_img(TPP, 1, 1), 1); /* room for one of two */
    ck_assert_uint_eq(TC.clus.dropped - before, 1);
    /* the score saturates at int16 */
    ck_assert_int_eq(lt_tp_score(UINT32_MAX, 1), 32767);
    ck_assert_int_eq(lt_tp_score(32767 * 10 + 9, 10), 32767);
    ck_assert_int_eq(lt_tp_score(999, 10), 99);
}
END_TEST

/* --- the real path: frames -> accelerator (cpu) -> candidates --------------------------------- */

#define NF 2 /* FEMBs: 4 streams, 96 X wires */
#define NS (NF * 2)
#define NP 48 /* frame periods */
static lt_wibeth_frame FR[NP][NS];
static struct lt_weights WTS;

static uint64_t rs = 0x243F6A8885A308D3ULL;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 20);
}

/* Pedestal 900 + drift ADC over the run, noise +-3; a Gaussian pulse (amplitude amp, sigma 2
 * samples) on X wire `wire` at sample 40 of period `pp` when amp > 0. */
static void make_frames(double drift, uint32_t wire, int pp, double amp, double *pulse_sum)
{
    struct lt_cell_geom g = {NF};
    uint32_t ps = 0, pc = 0;
    ck_assert_int_eq(lt_chmap_reverse(&g, LT_PLANE_X, wire, &ps, &pc), 0);
    static uint16_t adc[64][64];
    *pulse_sum = 0;
    for (int p = 0; p < NP; p++)
        for (int s = 0; s < NS; s++) {
            for (int t = 0; t < 64; t++)
                for (int c = 0; c < 64; c++) {
                    double base = 900.0 + drift * (p * 64 + t) / (NP * 64.0);
                    int v = (int)base + (int)(rnd() % 7) - 3;
                    if (amp > 0 && p == pp && (uint32_t)s == ps && (uint32_t)c == pc) {
                        double u = (t - 40) / 2.0, a = amp * exp(-0.5 * u * u);
                        v += (int)(a + 0.5);
                        *pulse_sum += (int)(a + 0.5);
                    }
                    adc[t][c] = (uint16_t)v;
                }
            lt_wibeth_frame *f = &FR[p][s];
            memset(f, 0, sizeof(*f));
            lt_wibeth_pack(f, adc);
            f->daq_header[1] = 1000000ULL + (uint64_t)p * 2048U;
        }
}

static uint32_t run_accel(const struct lt_tp_params *tp, struct lt_candidate *c, uint32_t max)
{
    char err[256];
    char path[1024];
    snprintf(path, sizeof path, "%s/kernels/weights/default.ltw", LARTRIG_SOURCE_DIR);
    ck_assert_msg(lt_weights_load(path, &WTS, err, sizeof err) == 0, "%s", err);
    struct lt_accel_config cfg = {.backend = "cpu",
                                  .threads = 1,
                                  .max_cells = 1,
                                  .max_block_periods = 8,
                                  .algorithm = LT_CAND_ALGO_TP,
                                  .tp = *tp};
    struct lt_accel *a;
    ck_assert_msg(lt_accel_open(&cfg, &a, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(lt_accel_load_weights(a, &WTS, err, sizeof err) == 0, "%s", err);
    struct lt_cell_geom g = {NF};
    int slot = lt_accel_add_cell(a, 5, &g, err, sizeof err);
    ck_assert_msg(slot >= 0, "%s", err);
    uint32_t n = 0;
    uint64_t last_wm = 0;
    for (int p = 0; p < NP; p += 8) {
        ck_assert_int_eq(lt_accel_submit(a, slot, &FR[p][0], 8), 0);
        struct lt_accel_result r;
        uint32_t dropped = 0;
        ck_assert_int_eq(lt_accel_collect(a, slot, c + n, max - n, &r, &dropped), 0);
        ck_assert_uint_eq(dropped, 0);
        ck_assert_uint_ge(r.watermark, last_wm);
        for (uint32_t i = 0; i < r.n_candidates; i++)
            ck_assert_uint_ge(c[n + i].time_start, last_wm); /* the watermark's promise */
        last_wm = r.watermark;
        n += r.n_candidates;
    }
    lt_accel_close(a);
    return n;
}

START_TEST(drift_makes_no_candidate_pulse_makes_one)
{
    struct lt_tp_params tp = TPP;
    tp.threshold_x = 10 * LT_TP_X_PER_ADC; /* 10 ADC */
    tp.adj_ticks = 5 * 64;
    static struct lt_candidate c[256];
    double sum;
    /* 30 ADC of drift over 48 periods: three times the threshold, slow enough for the tracker
     * (at most 1/16 ADC per column = 2 ADC per period at d = 1) */
    make_frames(30.0, 0, 0, 0, &sum);
    uint32_t n = run_accel(&tp, c, 256);
    ck_assert_msg(n == 0, "pedestal drift gave %u candidates", n);
    /* The same with a pulse of 120 ADC on wire 37 in period 30. */
    make_frames(30.0, 37, 30, 120.0, &sum);
    n = run_accel(&tp, c, 256);
    ck_assert_msg(n == 1, "a pulse gave %u candidates", n);
    ck_assert_uint_eq(c[0].cell, 5);
    ck_assert_uint_eq(c[0].channel_start, 37);
    ck_assert_uint_eq(c[0].channel_end, 37);
    ck_assert_uint_eq(c[0].n_pixels, 1);
    ck_assert_uint_eq(c[0].algorithm, LT_CAND_ALGO_TP);
    uint64_t peak_tick = 1000000ULL + 30U * 2048U + 40U * 32U;
    ck_assert_uint_le(c[0].time_start, peak_tick);
    ck_assert_uint_ge(c[0].time_end, peak_tick);
    ck_assert_uint_eq(c[0].time_peak, peak_tick); /* the column of samples 40-41 */
    /* only the columns above threshold count: most of the pulse, never more */
    ck_assert_msg(c[0].adc_sum <= sum + 40 && c[0].adc_sum >= 0.8 * sum, "adc_sum %u, pulse %.0f",
                  c[0].adc_sum, sum);
    ck_assert_int_eq(c[0].peak_score, (int32_t)(c[0].adc_sum / tp.score_unit));
}
END_TEST

START_TEST(refused_where_it_cannot_run)
{
    char err[256] = "";
    struct lt_accel *a = NULL;
    struct lt_accel_config cfg = {.backend = "xrt",
                                  .threads = 1,
                                  .max_cells = 1,
                                  .max_block_periods = 8,
                                  .algorithm = LT_CAND_ALGO_TP,
                                  .tp = TPP};
    ck_assert_int_eq(lt_accel_open(&cfg, &a, err, sizeof err), LT_EUNSUPPORTED);
    ck_assert_ptr_null(a);
    ck_assert_msg(strstr(err, "cpu backend only") != NULL, "%s", err);
    cfg.backend = "cpu";
    cfg.tp.d = 6;
    ck_assert_int_eq(lt_accel_open(&cfg, &a, err, sizeof err), LT_ERANGE);
    ck_assert_msg(strstr(err, "downsample") != NULL, "%s", err);
    cfg.tp = TPP;
    cfg.tp.threshold_x = 0;
    ck_assert_int_eq(lt_accel_open(&cfg, &a, err, sizeof err), LT_ERANGE);
    cfg.tp = TPP;
    cfg.algorithm = 7;
    ck_assert_int_eq(lt_accel_open(&cfg, &a, err, sizeof err), LT_EINVAL);
}
END_TEST

/* Records: a TP candidate is a TriggerActivity of algorithm kHorizontalMuon and reads back as
 * one; a CNN candidate stays kUnknown (docs/formats.md). */
START_TEST(ta_algorithm_in_records)
{
    struct lt_candidate c = {.time_start = 100,
                             .time_end = 200,
                             .time_peak = 150,
                             .cell = 2,
                             .channel_start = 10,
                             .channel_end = 12,
                             .peak_score = 32,
                             .adc_sum = 320,
                             .n_pixels = 3,
                             .algorithm = LT_CAND_ALGO_TP};
    struct lt_ta_data ta;
    struct lt_candidate back;
    lt_ta_from_candidate(&c, &ta);
    ck_assert_uint_eq(ta.algorithm, LT_TA_ALGO_HORIZONTAL_MUON);
    ck_assert_uint_eq(ta.adc_integral, 320);
    ck_assert_uint_eq(ta.adc_peak, 32);
    ck_assert_int_eq(lt_candidate_from_ta(&ta, &back), 0);
    ck_assert_uint_eq(back.algorithm, LT_CAND_ALGO_TP);
    c.algorithm = LT_CAND_ALGO_CNN;
    lt_ta_from_candidate(&c, &ta);
    ck_assert_uint_eq(ta.algorithm, LT_TA_ALGO_UNKNOWN);
    ck_assert_int_eq(lt_candidate_from_ta(&ta, &back), 0);
    ck_assert_uint_eq(back.algorithm, LT_CAND_ALGO_CNN);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tp_chain");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, pulse_gives_one_hit);
    tcase_add_test(tc, stuck_channel_is_split);
    tcase_add_test(tc, two_groups_two_candidates);
    tcase_add_test(tc, wire_adjacency_limit);
    tcase_add_test(tc, time_adjacency_limit);
    tcase_add_test(tc, pieces_are_grouped);
    tcase_add_test(tc, open_hit_keeps_cluster);
    tcase_add_test(tc, cuts_and_full_output);
    tcase_add_test(tc, drift_makes_no_candidate_pulse_makes_one);
    tcase_add_test(tc, no_hits_while_the_pedestal_settles);
    tcase_add_test(tc, refused_where_it_cannot_run);
    tcase_add_test(tc, ta_algorithm_in_records);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
