/* The decision latency as status shows it (latency_hist.h): percentiles over the last 50-60 s
 * only, none (window_n 0) when that window holds no sample, and since-start cumulative buckets,
 * count and sum for Prometheus. */
#include <check.h>
#include <stdlib.h>

#include "latency_hist.h"

#define S 1000000000ULL

START_TEST(test_empty_has_no_percentiles)
{
    struct trigd_latency *l = calloc(1, sizeof *l);
    struct trigd_latency_summary s;
    trigd_latency_summarize(l, 5 * S, &s);
    ck_assert_uint_eq(s.window_n, 0);
    ck_assert_uint_eq(s.count, 0);
    ck_assert_uint_eq(s.le[TRIGD_LAT_BUCKETS - 1], 0);
    free(l);
}
END_TEST

START_TEST(test_window_moves_on)
{
    struct trigd_latency *l = calloc(1, sizeof *l);
    struct trigd_latency_summary s;
    /* 100 slow samples (10 ms) at t = 100 s, then 100 fast ones (10 us) at t = 135 s. */
    for (int i = 0; i < 100; i++) trigd_latency_add(l, 100 * S, 10000000);
    for (int i = 0; i < 100; i++) trigd_latency_add(l, 135 * S, 10000);
    trigd_latency_summarize(l, 136 * S, &s);
    ck_assert_uint_eq(s.window_n, 200);
    ck_assert_uint_ge(s.p99_ns, 9000000); /* the slow ones are still in */
    /* 65 s after the slow ones only the fast ones remain. */
    trigd_latency_summarize(l, 165 * S, &s);
    ck_assert_uint_eq(s.window_n, 100);
    ck_assert_uint_le(s.p99_ns, 12000);
    ck_assert_uint_ge(s.p50_ns, 8000);
    /* A minute after the last sample: empty window, totals kept. */
    trigd_latency_summarize(l, 200 * S, &s);
    ck_assert_uint_eq(s.window_n, 0);
    ck_assert_uint_eq(s.count, 200);
    ck_assert_uint_eq(s.sum_ns, 100ULL * 10000000 + 100ULL * 10000);
    /* A sample after a long silence starts a fresh window. */
    trigd_latency_add(l, 1000 * S, 2000);
    trigd_latency_summarize(l, 1000 * S, &s);
    ck_assert_uint_eq(s.window_n, 1);
    ck_assert_uint_eq(s.count, 201);
    free(l);
}
END_TEST

START_TEST(test_buckets_cumulative)
{
    struct trigd_latency *l = calloc(1, sizeof *l);
    uint64_t samples[] = {500, 1000, 1001, 30000, 2000000, 5000000000ULL};
    for (unsigned i = 0; i < 6; i++) trigd_latency_add(l, S, samples[i]);
    struct trigd_latency_summary s;
    trigd_latency_summarize(l, S, &s);
    ck_assert_uint_eq(s.le[0], 2); /* <= 1 us: 500 and 1000 (upper edge inclusive) */
    ck_assert_uint_eq(s.le[1], 3); /* <= 2.5 us */
    for (unsigned b = 1; b < TRIGD_LAT_BUCKETS; b++) {
        ck_assert_uint_ge(s.le[b], s.le[b - 1]);
        ck_assert_uint_gt(trigd_lat_bucket_le_ns[b], trigd_lat_bucket_le_ns[b - 1]);
    }
    ck_assert_uint_eq(s.le[TRIGD_LAT_BUCKETS - 1], 5); /* 5 s is above the last edge (1 s) */
    ck_assert_uint_eq(s.count, 6);
    free(l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("latency_window");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_empty_has_no_percentiles);
    tcase_add_test(tc, test_window_moves_on);
    tcase_add_test(tc, test_buckets_cumulative);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
