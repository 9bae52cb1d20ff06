/* Watchdog on real progress (progress.h): WATCHDOG=1 only while the module loop and every
 * cell's data thread move; a finished data thread is not a stall; the first tick primes. */
#include <check.h>
#include <stdlib.h>

#include "progress.h"

START_TEST(test_stall_is_seen)
{
    struct trigd_progress p = {0};
    uint64_t c[3] = {10, 5, 7};
    uint8_t fin[3] = {0, 0, 0};
    uint32_t stalled = 99;
    ck_assert_int_eq(trigd_progress_check(&p, c, fin, 3, &stalled), 1); /* primes */
    c[0] = 20, c[1] = 6, c[2] = 8;
    ck_assert_int_eq(trigd_progress_check(&p, c, fin, 3, &stalled), 1);
    c[0] = 30, c[2] = 9; /* thread 1 (a cell's data thread) stuck */
    ck_assert_int_eq(trigd_progress_check(&p, c, fin, 3, &stalled), 0);
    ck_assert_uint_eq(stalled, 1);
    /* ... at its end instead: finished, not stalled. */
    fin[1] = 1;
    c[0] = 40, c[2] = 10;
    ck_assert_int_eq(trigd_progress_check(&p, c, fin, 3, &stalled), 1);
    /* The module loop stuck (the far-future catch-up of issue 12 kept it busy in one
     * iteration): seen at the next tick. */
    c[2] = 11;
    ck_assert_int_eq(trigd_progress_check(&p, c, fin, 3, &stalled), 0);
    ck_assert_uint_eq(stalled, 0);
    c[0] = 41, c[2] = 12;
    ck_assert_int_eq(trigd_progress_check(&p, c, fin, 3, &stalled), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("progress");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_stall_is_seen);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
