/* Candidate extraction on synthetic score maps: grouping in wires and time (gap bridging),
 * merging, closing, the time and wire conversion (latency, pooling), ADC sums from the input
 * history, the bounded open list (evictions counted), a full output buffer (drops counted) and
 * the watermark. Expected values are worked out by hand from docs/kernel.md. */
#include "candidates.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define NG 240 /* score groups */

static struct lt_cand_state ST;
static struct lt_xhist H;
static int16_t S[64][NG]; /* score map [u][g] */
static struct lt_candidate OUT[256];

/* P = 2 wires per group, Q = 2 input columns per score column, delay 5, D = 16. */
static const struct lt_cand_geom GEOM = {7, NG, 2, 2, 5, 512, 1000000};

static void setup(int16_t thr, uint32_t gap_w, uint32_t gap_t)
{
    struct lt_cand_params p = {thr, gap_w, gap_t};
    memset(&ST, 0, sizeof(ST));
    lt_cand_reset(&ST, &p, &GEOM);
    memset(S, 0, sizeof(S));
    memset(&H, 0, sizeof(H));
}

/* Run score columns [0, n) with the input history filled as the kernel would: when score column
 * u is produced, input columns up to u*Q + Q - 1 exist. x = 1 everywhere unless set. */
static uint32_t run(uint32_t n, uint32_t max_out)
{
    struct lt_cand_sink sink = {OUT, max_out, 0};
    for (uint32_t u = 0; u < n; u++) {
        while (H.n_cols < (uint64_t)u * 2 + 2) {
            for (uint32_t j = 0; j < LT_KERNEL_MAX_WIRES; j++)
                H.x[H.n_cols % LT_KERNEL_HIST_COLS][j] = (int16_t)(j % 3 == 2 ? -4 : 1);
            H.n_cols++;
        }
        lt_cand_push(&ST, S[u], &H, &sink);
    }
    return sink.n;
}

static uint64_t tick_of_col(int64_t c)
{
    return 1000000U + (uint64_t)(c < 0 ? 0 : c) * 512U;
}

START_TEST(single_blob)
{
    setup(10, 1, 2);
    S[10][5] = 11;
    S[10][6] = 30;
    S[11][6] = 50;
    S[11][7] = 12;
    S[12][5] = 10;                      /* not above the threshold */
    ck_assert_uint_eq(run(14, 256), 0); /* last extended at 11; 13 - 11 = 2 = gap_t: still open */
    ck_assert_uint_eq(ST.n_open, 1);
    ck_assert_uint_eq(lt_cand_watermark(&ST), tick_of_col(10 * 2 - 5));
    struct lt_cand_sink sink = {OUT, 256, 0};
    lt_cand_push(&ST, S[14], &H, &sink); /* 14 - 11 = 3 > gap_t: closed */
    ck_assert_uint_eq(sink.n, 1);
    const struct lt_candidate *c = &OUT[0];
    ck_assert_uint_eq(c->cell, 7);
    ck_assert_uint_eq(c->time_start, tick_of_col(15));
    ck_assert_uint_eq(c->time_end, tick_of_col(11 * 2 - 5 + 2) - 1);
    ck_assert_uint_eq(c->time_peak, tick_of_col(17));
    ck_assert_uint_eq(c->channel_start, 10);
    ck_assert_uint_eq(c->channel_end, 15);
    ck_assert_int_eq(c->peak_score, 50);
    ck_assert_uint_eq(c->n_pixels, 4);
    /* each hit covers 2 wires x 2 columns; x = 1 except wires with j % 3 == 2 (negative: 0) */
    uint32_t adc = 0;
    uint32_t groups[4] = {5, 6, 6, 7};
    for (int i = 0; i < 4; i++)
        for (uint32_t k = 0; k < 2; k++) adc += ((groups[i] * 2 + k) % 3 == 2 ? 0 : 1) * 2;
    ck_assert_uint_eq(c->adc_sum, adc);
    ck_assert_uint_eq(ST.n_open, 0);
    ck_assert_uint_eq(lt_cand_watermark(&ST), tick_of_col(15 * 2 - 5));
}
END_TEST

START_TEST(wire_gaps)
{
    setup(0, 1, 0);
    S[3][10] = 5;
    S[3][12] = 5; /* gap of one group: bridged */
    S[3][20] = 5;
    S[3][23] = 5; /* gap of two: separate */
    ck_assert_uint_eq(run(5, 256), 3);
    ck_assert_uint_eq(OUT[0].channel_start, 20);
    ck_assert_uint_eq(OUT[0].channel_end, 25);
    ck_assert_uint_eq(OUT[0].n_pixels, 2);
    ck_assert_uint_eq(OUT[1].channel_start, 40);
    ck_assert_uint_eq(OUT[2].channel_start, 46);
}
END_TEST

START_TEST(time_gaps_and_touching)
{
    setup(0, 0, 2);
    S[10][30] = 9;
    S[13][31] = 9; /* 3 columns later (gap of 2 = gap_t): joins; adjacent group touches */
    S[17][31] = 9; /* 4 columns later: new candidate */
    S[17][40] = 9; /* far in wires: another one */
    ck_assert_uint_eq(run(30, 256), 3);
    ck_assert_uint_eq(OUT[0].n_pixels, 2);
    ck_assert_uint_eq(OUT[0].time_start, tick_of_col(15));
    ck_assert_uint_eq(OUT[0].time_end, tick_of_col(13 * 2 - 5 + 2) - 1);
    ck_assert_uint_eq(OUT[1].n_pixels, 1);
    ck_assert_uint_eq(OUT[2].n_pixels, 1);
    ck_assert_uint_eq(OUT[2].channel_start, 80);
}
END_TEST

START_TEST(merge_v_shape)
{
    setup(0, 0, 1);
    /* two arms that meet: one candidate */
    for (int u = 0; u < 5; u++) {
        S[u][10 + u] = 3;
        S[u][20 - u] = (int16_t)(3 + u);
    }
    S[5][15] = 2;
    ck_assert_uint_eq(run(10, 256), 1);
    ck_assert_uint_eq(OUT[0].n_pixels, 11);
    ck_assert_uint_eq(OUT[0].channel_start, 20);
    ck_assert_uint_eq(OUT[0].channel_end, 41);
    ck_assert_int_eq(OUT[0].peak_score, 7);
    ck_assert_uint_eq(OUT[0].time_peak, tick_of_col(4 * 2 - 5));
}
END_TEST

START_TEST(early_columns_clip_to_run_start)
{
    setup(0, 0, 0);
    S[0][0] = 1; /* score column 0 covers input columns -5..-4: clipped to 0 */
    ck_assert_uint_eq(run(3, 256), 1);
    ck_assert_uint_eq(OUT[0].time_start, 1000000U);
    ck_assert_uint_eq(OUT[0].time_end, tick_of_col(1) - 1); /* at least one column */
    ck_assert_uint_eq(OUT[0].adc_sum, 0); /* no input column lies in the covered range */
}
END_TEST

START_TEST(open_list_overflow_counted)
{
    setup(0, 0, 1000);
    /* 70 isolated hits: 64 open, each further one evicts the least recently extended */
    for (int k = 0; k < 40; k++) S[2][k * 2] = 1;
    for (int k = 0; k < 30; k++) S[4][100 + k * 2] = 1;
    uint32_t n = run(5, 256);
    ck_assert_uint_eq(ST.evicted, 6);
    ck_assert_uint_eq(n, 6);
    ck_assert_uint_eq(ST.n_open, LT_KERNEL_MAX_OPEN);
    /* the evicted are the least recently extended: column-2 hits, in list order */
    for (uint32_t i = 0; i < n; i++) ck_assert_uint_eq(OUT[i].channel_start, i * 4);
    struct lt_cand_sink sink = {OUT, 256, 0};
    lt_cand_flush(&ST, &sink);
    ck_assert_uint_eq(sink.n, 64);
    ck_assert_uint_eq(ST.n_open, 0);
}
END_TEST

START_TEST(full_output_counted)
{
    setup(0, 0, 0);
    for (int k = 0; k < 10; k++) S[1][k * 3] = 1;
    ck_assert_uint_eq(run(3, 4), 4);
    ck_assert_uint_eq(ST.dropped, 6);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("candidates");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, single_blob);
    tcase_add_test(tc, wire_gaps);
    tcase_add_test(tc, time_gaps_and_touching);
    tcase_add_test(tc, merge_v_shape);
    tcase_add_test(tc, early_columns_clip_to_run_start);
    tcase_add_test(tc, open_list_overflow_counted);
    tcase_add_test(tc, full_output_counted);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
