/* Aggregator core: time-ordered merge behind the watermark, each algorithm, merging of
 * overlapping proposals, trigger numbering, inhibit, missing cells and their rejoining, and the
 * counted drops (late, queue overflow, unknown cell). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "config_slices.h"
#include "lt_error.h"
#include "ticks.h"

#define MAXD 64
struct collected {
    int n;
    struct trigd_decision d[MAXD];
    int accept; /* what accept() answers */
    int n_inhibited;
    struct trigd_decision inhibited; /* the last one */
};

static int cb_accept(void *u)
{
    return ((struct collected *)u)->accept;
}

static void cb_emit(void *u, const struct trigd_decision *d)
{
    struct collected *c = u;
    ck_assert_int_lt(c->n, MAXD);
    c->d[c->n++] = *d;
}

static void cb_inhibited(void *u, const struct trigd_decision *d)
{
    struct collected *c = u;
    c->n_inhibited++;
    c->inhibited = *d;
}

static struct trigd_config cfg;
static struct collected got;

/* 3 cells, only the single-candidate algorithm unless a test enables more. */
static void base_config(void)
{
    char err[256];
    ck_assert_int_eq(trigd_config_load_string(
                         "cells = ( { id = 0; }, { id = 1; }, { id = 5; } );\n"
                         "trigger = { watermark_slack_us = 0.0;\n"
                         "  coincidence = { enabled = false; min_score = 0; };\n"
                         "  single = { enabled = true; min_score = 1000; min_adc_sum = 0; }; };\n",
                         "test", &cfg, err, sizeof err),
                     0);
    memset(&got, 0, sizeof got);
    got.accept = 1;
}

static struct trigd_agg *make(uint64_t now)
{
    struct trigd_agg_callbacks cb = {cb_accept, cb_emit, &got};
    struct trigd_agg *a = NULL;
    char err[256];
    static struct lt_aggregator_config ac; /* the aggregator's slice of the test's config */
    trigd_config_aggregator(&cfg, &ac);
    ck_assert_int_eq(trigd_agg_create(&ac, &cb, now, &a, err, sizeof err), 0);
    trigd_agg_set_inhibited_observer(a, cb_inhibited, &got);
    return a;
}

static struct lt_candidate cand(uint32_t cell, uint64_t t, int32_t score)
{
    struct lt_candidate c = {.time_start = t,
                             .time_end = t + 640,
                             .time_peak = t + 320,
                             .cell = cell,
                             .channel_start = 3,
                             .channel_end = 9,
                             .peak_score = score,
                             .adc_sum = 500,
                             .n_pixels = 12};
    return c;
}

static void push(struct trigd_agg *a, uint32_t cell, uint64_t t, int32_t score)
{
    struct lt_candidate c = cand(cell, t, score);
    ck_assert_int_eq(trigd_agg_candidates(a, cell, &c, 1, 1), 0);
}

static void wm_all(struct trigd_agg *a, uint64_t wm)
{
    ck_assert_int_eq(trigd_agg_watermark(a, 0, wm, 1), 0);
    ck_assert_int_eq(trigd_agg_watermark(a, 1, wm, 1), 0);
    ck_assert_int_eq(trigd_agg_watermark(a, 5, wm, 1), 0);
}

#define MS(x) ((uint64_t)((x)*62500.0))

START_TEST(test_waits_for_watermark_and_orders)
{
    base_config();
    struct trigd_agg *a = make(0);
    /* Out of order across cells and within a cell's batch. */
    push(a, 5, MS(30), 5000);
    push(a, 0, MS(10), 5000);
    struct lt_candidate two[2] = {cand(1, MS(50), 5000), cand(1, MS(20), 5000)};
    ck_assert_int_eq(trigd_agg_candidates(a, 1, two, 2, 1), 0);
    push(a, 0, MS(11), 10); /* below threshold: no trigger */
    /* Two cells are far ahead, one is not: nothing may be decided yet. */
    ck_assert_int_eq(trigd_agg_watermark(a, 0, MS(100), 1), 0);
    ck_assert_int_eq(trigd_agg_watermark(a, 1, MS(100), 1), 0);
    ck_assert_int_eq(got.n, 0);
    /* The slow cell reaches 26 ms: the decisions at 10 and 20 ms are final (their windows end at
     * 12 and 22 ms), the one at 30 ms is not even decidable. */
    ck_assert_int_eq(trigd_agg_watermark(a, 5, MS(26), 1), 0);
    ck_assert_int_eq(got.n, 2);
    ck_assert_uint_eq(got.d[0].time, MS(10));
    ck_assert_uint_eq(got.d[1].time, MS(20));
    wm_all(a, MS(200));
    ck_assert_int_eq(got.n, 4);
    for (int i = 0; i < got.n; i++) {
        ck_assert_uint_eq(got.d[i].trigger_number, (uint64_t)i + 1);
        ck_assert_uint_eq(got.d[i].algorithms, 1U << LT_ALGO_SINGLE);
        ck_assert_uint_eq(got.d[i].n_candidates, 1);
        ck_assert_uint_eq(got.d[i].window_end - got.d[i].window_begin, LT_DRIFT_WINDOW_TICKS);
        ck_assert_uint_eq(got.d[i].time - got.d[i].window_begin, cfg.readout.pre_ticks);
    }
    ck_assert_uint_eq(got.d[2].time, MS(30));
    ck_assert_uint_eq(got.d[2].candidates[0].cell, 5);
    ck_assert(trigd_decision_has_cell(&got.d[2], 5));
    ck_assert(!trigd_decision_has_cell(&got.d[2], 0));
    ck_assert_uint_eq(got.d[3].time, MS(50));
    struct trigd_agg_stats st;
    trigd_agg_get_stats(a, &st);
    ck_assert_uint_eq(st.candidates, 5);
    ck_assert_uint_eq(st.decisions, 4);
    ck_assert_uint_eq(st.triggers[LT_ALGO_SINGLE], 4);
    ck_assert_uint_eq(st.horizon, MS(200));
    trigd_agg_destroy(a);
}
END_TEST

START_TEST(test_coincidence)
{
    base_config();
    cfg.trigger.single.enabled = 0;
    cfg.trigger.coincidence.enabled = 1;
    cfg.trigger.coincidence.min_cells = 2;
    cfg.trigger.coincidence.window_ticks = MS(0.1);
    cfg.trigger.coincidence.min_score = 50;
    struct trigd_agg *a = make(0);
    /* Two candidates of one cell: not a coincidence. */
    push(a, 0, MS(10), 100);
    push(a, 0, MS(10.05), 100);
    /* Two cells but 0.2 ms apart: none. */
    push(a, 1, MS(20), 100);
    push(a, 5, MS(20.2), 100);
    /* Two cells within 0.1 ms, the third too weak: a coincidence of cells 1 and 5. */
    push(a, 1, MS(40), 100);
    push(a, 0, MS(40.01), 10);
    push(a, 5, MS(40.08), 100);
    wm_all(a, MS(100));
    ck_assert_int_eq(got.n, 1);
    ck_assert_uint_eq(got.d[0].time, MS(40));
    ck_assert_uint_eq(got.d[0].algorithms, 1U << LT_ALGO_COINCIDENCE);
    ck_assert_uint_eq(got.d[0].n_cells, 2);
    ck_assert_uint_eq(got.d[0].n_candidates, 2);
    ck_assert(trigd_decision_has_cell(&got.d[0], 1) && trigd_decision_has_cell(&got.d[0], 5));
    trigd_agg_destroy(a);
}
END_TEST

START_TEST(test_summed)
{
    base_config();
    cfg.trigger.single.enabled = 0;
    cfg.trigger.summed.enabled = 1;
    cfg.trigger.summed.window_ticks = MS(0.5);
    cfg.trigger.summed.threshold = 1000;
    struct trigd_agg *a = make(0);
    for (int i = 0; i < 9; i++) push(a, (uint32_t)(i % 2), MS(10) + (uint64_t)i * MS(0.1), 300);
    /* Sliding 0.5 ms: at most 6 candidates x 300 inside... the 4th reaches 1200 >= 1000. */
    wm_all(a, MS(100));
    ck_assert_int_eq(got.n, 1);
    ck_assert_uint_eq(got.d[0].algorithms, 1U << LT_ALGO_SUMMED);
    ck_assert_uint_eq(got.d[0].time, MS(10));
    /* The later candidates at 10.4..10.8 ms also fire (1200 again) and join the first decision. */
    struct trigd_agg_stats st;
    trigd_agg_get_stats(a, &st);
    ck_assert_uint_eq(st.proposals[LT_ALGO_SUMMED], 2);
    ck_assert_uint_eq(st.merged, 1);
    ck_assert_uint_eq(got.d[0].n_candidates, 8);
    trigd_agg_destroy(a);
}
END_TEST

START_TEST(test_periodic_and_random)
{
    base_config();
    cfg.trigger.single.enabled = 0;
    cfg.trigger.periodic.enabled = 1;
    cfg.trigger.periodic.period_ticks = MS(10);
    struct trigd_agg *a = make(0);
    wm_all(a, MS(5));
    wm_all(a, MS(101));
    ck_assert_int_eq(got.n, 9); /* 10..90 ms issued; 100 ms still pending (window to 102) */
    for (int i = 0; i < got.n; i++) {
        ck_assert_uint_eq(got.d[i].time, MS(10) * (uint64_t)(i + 1));
        ck_assert_uint_eq(got.d[i].algorithms, 1U << LT_ALGO_PERIODIC);
        ck_assert_uint_eq(got.d[i].n_candidates, 0);
    }
    trigd_agg_flush(a, 1);
    ck_assert_int_eq(got.n, 10);
    trigd_agg_destroy(a);

    /* Random: same seed, same times; about rate x duration of them. */
    uint64_t first[MAXD];
    int n_first = 0;
    for (int run = 0; run < 2; run++) {
        base_config();
        cfg.trigger.single.enabled = 0;
        cfg.trigger.random.enabled = 1;
        cfg.trigger.random.rate_hz = 20.0;
        cfg.trigger.random.seed = 7;
        cfg.readout.pre_ticks = 0;
        cfg.readout.post_ticks = 1;
        a = make(0);
        for (int s = 1; s <= 20; s++) wm_all(a, MS(100) * (uint64_t)s); /* 2 s of data */
        trigd_agg_flush(a, 1);
        ck_assert_int_gt(got.n, 20);
        ck_assert_int_lt(got.n, 64);
        for (int i = 1; i < got.n; i++) ck_assert_uint_gt(got.d[i].time, got.d[i - 1].time);
        if (run == 0) {
            n_first = got.n;
            for (int i = 0; i < got.n; i++) first[i] = got.d[i].time;
        } else {
            ck_assert_int_eq(got.n, n_first);
            for (int i = 0; i < got.n; i++) ck_assert_uint_eq(got.d[i].time, first[i]);
        }
        trigd_agg_destroy(a);
    }
}
END_TEST

START_TEST(test_overlap_merge)
{
    base_config();
    cfg.trigger.coincidence.enabled = 1;
    cfg.trigger.coincidence.min_cells = 2;
    cfg.trigger.coincidence.window_ticks = MS(0.1);
    struct trigd_agg *a = make(0);
    /* A big candidate that is also part of a coincidence, then another big one 1 ms later: one
     * decision (single + coincidence) holding all three candidates. 3 ms later: a second one. */
    push(a, 0, MS(10), 5000);
    push(a, 1, MS(10.05), 100);
    push(a, 5, MS(11), 5000);
    push(a, 5, MS(14), 5000);
    wm_all(a, MS(100));
    ck_assert_int_eq(got.n, 2);
    ck_assert_uint_eq(got.d[0].time, MS(10));
    ck_assert_uint_eq(got.d[0].algorithms, (1U << LT_ALGO_SINGLE) | (1U << LT_ALGO_COINCIDENCE));
    ck_assert_uint_eq(got.d[0].n_cells, 3);
    /* single(10), coincidence(10, 10.05), single(11) */
    ck_assert_uint_eq(got.d[0].n_candidates, 4);
    ck_assert_uint_eq(got.d[1].time, MS(14));
    ck_assert_uint_eq(got.d[1].trigger_number, 2);
    trigd_agg_destroy(a);
}
END_TEST

/* trigger.wait_when_busy (replay): a decision the readout/writer cannot take is held, in order,
 * not inhibited; later ones wait behind it; it goes out when they make room; at a stop
 * deadline (force) what is still held is inhibited, counted. */
START_TEST(test_wait_when_busy)
{
    base_config();
    cfg.trigger.wait_when_busy = 1;
    struct trigd_agg *a = make(0);
    push(a, 0, MS(10), 5000);
    push(a, 0, MS(20), 5000);
    push(a, 0, MS(30), 5000);
    got.accept = 0; /* writer full */
    wm_all(a, MS(35));
    ck_assert_int_eq(got.n, 0);
    ck_assert_int_eq(got.n_inhibited, 0);
    ck_assert_uint_eq(trigd_agg_retry_held(a, 0, 0), 3);    /* still busy: all three held */
    ck_assert_uint_eq(trigd_agg_undecided_from(a), MS(10)); /* the ring keeps their data */
    got.accept = 1;
    ck_assert_uint_eq(trigd_agg_retry_held(a, 0, 0), 0);
    ck_assert_int_eq(got.n, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(got.d[i].time, MS(10 * (i + 1)));
        ck_assert_uint_eq(got.d[i].trigger_number, (uint64_t)i + 1);
    }
    /* At the end: held at the flush, forced out as inhibited at the deadline. */
    push(a, 0, MS(40), 5000);
    push(a, 0, MS(50), 5000);
    got.accept = 0;
    wm_all(a, MS(60));
    trigd_agg_flush(a, 0);
    ck_assert_uint_eq(trigd_agg_retry_held(a, 1, 0), 2);
    ck_assert_int_eq(got.n_inhibited, 0);
    ck_assert_uint_eq(trigd_agg_retry_held(a, 1, 1), 0);
    ck_assert_int_eq(got.n_inhibited, 2);
    struct trigd_agg_stats st;
    trigd_agg_get_stats(a, &st);
    ck_assert_uint_eq(st.decisions, 3);
    ck_assert_uint_eq(st.inhibited, 2);
    ck_assert_uint_ge(st.held_busy, 2);
    trigd_agg_destroy(a);
}
END_TEST

START_TEST(test_inhibit)
{
    base_config();
    struct trigd_agg *a = make(0);
    push(a, 0, MS(10), 5000);
    push(a, 0, MS(20), 5000);
    push(a, 0, MS(30), 5000);
    wm_all(a, MS(15));
    ck_assert_int_eq(got.n, 1);
    got.accept = 0; /* writer full */
    wm_all(a, MS(25));
    got.accept = 1;
    wm_all(a, MS(35));
    ck_assert_int_eq(got.n, 2);
    ck_assert_uint_eq(got.d[1].time, MS(30));
    ck_assert_uint_eq(got.d[1].trigger_number, 2); /* numbers stay consecutive */
    /* The observer saw the refused decision, with its candidate and no number. */
    ck_assert_int_eq(got.n_inhibited, 1);
    ck_assert_uint_eq(got.inhibited.time, MS(20));
    ck_assert_uint_eq(got.inhibited.trigger_number, 0);
    ck_assert_uint_eq(got.inhibited.n_candidates, 1);
    ck_assert_uint_eq(got.inhibited.candidates[0].time_start, MS(20));
    struct trigd_agg_stats st;
    trigd_agg_get_stats(a, &st);
    ck_assert_uint_eq(st.inhibited, 1);
    ck_assert_uint_eq(st.inhibited_by[LT_ALGO_SINGLE], 1);
    ck_assert_uint_eq(st.decisions, 2);
    trigd_agg_destroy(a);
}
END_TEST

START_TEST(test_missing_cell_and_rejoin)
{
    base_config();
    cfg.trigger.cell_timeout_ms = 100;
    const uint64_t ms = 1000000ULL;
    struct trigd_agg *a = make(0);
    struct lt_candidate c = cand(0, MS(10), 5000);
    trigd_agg_candidates(a, 0, &c, 1, 10 * ms);
    trigd_agg_watermark(a, 0, MS(50), 10 * ms);
    trigd_agg_watermark(a, 1, MS(50), 10 * ms);
    /* Cell 5 never speaks: nothing decided until it is declared missing, a timeout after the
     * first cell spoke (10 ms), not after the aggregator started. */
    trigd_agg_poll(a, 90 * ms);
    ck_assert_int_eq(got.n, 0);
    ck_assert(!trigd_agg_cell_missing(a, 5));
    trigd_agg_poll(a, 101 * ms);
    ck_assert(!trigd_agg_cell_missing(a, 5));
    trigd_agg_watermark(a, 0, MS(50), 105 * ms);
    trigd_agg_watermark(a, 1, MS(50), 105 * ms);
    trigd_agg_poll(a, 111 * ms);
    ck_assert(trigd_agg_cell_missing(a, 5));
    ck_assert(!trigd_agg_cell_missing(a, 0)); /* heard at 105 ms */
    ck_assert_int_eq(got.n, 1);
    ck_assert_uint_eq(got.d[0].time, MS(10));
    /* Cells 0 and 1 go on; cell 5 comes back late with an old candidate and a low watermark. */
    trigd_agg_watermark(a, 0, MS(80), 115 * ms);
    trigd_agg_watermark(a, 1, MS(80), 115 * ms);
    c = cand(5, MS(30), 5000);
    trigd_agg_candidates(a, 5, &c, 1, 116 * ms);
    ck_assert(!trigd_agg_cell_missing(a, 5));
    trigd_agg_watermark(a, 5, MS(40), 116 * ms);
    c = cand(5, MS(85), 5000);
    trigd_agg_candidates(a, 5, &c, 1, 117 * ms);
    trigd_agg_watermark(a, 5, MS(120), 117 * ms);
    trigd_agg_watermark(a, 0, MS(120), 117 * ms);
    trigd_agg_watermark(a, 1, MS(120), 117 * ms);
    /* The late candidate is still big enough for the single-candidate trigger: not lost. */
    ck_assert_int_eq(got.n, 3);
    ck_assert_uint_eq(got.d[1].time, MS(30));
    ck_assert_uint_eq(got.d[1].algorithms, 1U << LT_ALGO_SINGLE);
    ck_assert_uint_eq(got.d[2].time, MS(85));
    struct trigd_agg_stats st;
    trigd_agg_get_stats(a, &st);
    ck_assert_uint_eq(st.missing_events, 1);
    ck_assert_uint_eq(st.rejoin_events, 1);
    ck_assert_uint_eq(st.cells_missing, 0);
    ck_assert_uint_eq(st.late, 1);
    struct trigd_agg_cell_stats cs;
    trigd_agg_get_cell_stats(a, 2, &cs);
    ck_assert_uint_eq(cs.id, 5);
    ck_assert_uint_eq(cs.late, 1);
    ck_assert_uint_eq(cs.missing_events, 1);
    trigd_agg_destroy(a);
}
END_TEST

START_TEST(test_counted_drops)
{
    base_config();
    cfg.buffers.candidate_queue = 16;
    cfg.trigger.max_candidates_per_decision = 4;
    cfg.trigger.single.enabled = 0;
    cfg.trigger.coincidence.enabled = 1;
    cfg.trigger.coincidence.min_cells = 3;
    cfg.trigger.coincidence.window_ticks = MS(1);
    struct trigd_agg *a = make(0);
    struct lt_candidate c = cand(7, MS(1), 5000);
    ck_assert_int_eq(trigd_agg_candidates(a, 7, &c, 1, 1), LT_ERANGE);
    ck_assert_int_eq(trigd_agg_watermark(a, 900, MS(1), 1), LT_ERANGE);
    for (int i = 0; i < 20; i++) push(a, 0, MS(10) + (uint64_t)i, 100);
    push(a, 1, MS(10) + 100, 100);
    push(a, 5, MS(10) + 100, 100);
    wm_all(a, MS(100));
    struct trigd_agg_stats st;
    trigd_agg_get_stats(a, &st);
    ck_assert_uint_eq(st.unknown_cell, 2);
    ck_assert_uint_eq(st.overflow, 4);
    ck_assert_uint_eq(st.candidates, 18);
    ck_assert_int_eq(got.n, 1);
    ck_assert_uint_eq(got.d[0].n_candidates, 4);
    ck_assert_uint_eq(got.d[0].candidates_dropped, 14);
    trigd_agg_destroy(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("aggregator");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_waits_for_watermark_and_orders);
    tcase_add_test(tc, test_coincidence);
    tcase_add_test(tc, test_summed);
    tcase_add_test(tc, test_periodic_and_random);
    tcase_add_test(tc, test_overlap_merge);
    tcase_add_test(tc, test_inhibit);
    tcase_add_test(tc, test_wait_when_busy);
    tcase_add_test(tc, test_missing_cell_and_rejoin);
    tcase_add_test(tc, test_counted_drops);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
