/* Health words of the status document (status_health.h) from the document's own fields: a loss
 * counter that rises makes its owner degraded for TRIGD_HEALTH_HOLD_S, then ok again; a missing
 * cell, a clock fault (in the data plane's clock_fault_cells) and a stalled source make a cell
 * failing and the module degraded; records failed and a writer inhibit make the module failing;
 * the normal ring overwrite (outside "losses") never changes health. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "status_health.h"

static json_t *doc_with(json_int_t frames, json_int_t dropped, json_int_t overwritten,
                        json_int_t not_found, int missing)
{
    return json_pack("{s:s, s:[{s:I, s:I, s:b, s:{s:I}, s:{s:I, s:I}}], s:{s:[], s:{s:I, s:I}}, "
                     "s:{s:b}}",
                     "state", "running", "cells", "id", (json_int_t)3, "frames", frames, "missing",
                     missing, "ring", "overwritten_frames", overwritten, "losses",
                     "messages_dropped", dropped, "requests_not_found", (json_int_t)0, "aggregator",
                     "missing_cells", "losses", "fragments_not_found", not_found, "records_failed",
                     (json_int_t)0, "writer", "inhibit", 0);
}

static const char *cell_state(json_t *d)
{
    return json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(d, "cells"), 0), "health"), "state"));
}
static const char *cell_reason(json_t *d)
{
    return json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(d, "cells"), 0), "health"), "reason"));
}
static const char *module_state(json_t *d)
{
    return json_string_value(json_object_get(json_object_get(d, "health"), "state"));
}
static const char *module_reason(json_t *d)
{
    return json_string_value(json_object_get(json_object_get(d, "health"), "reason"));
}

START_TEST(test_overwrite_is_not_loss_and_loss_is_held)
{
    struct trigd_health *h = trigd_health_new();
    json_t *d = doc_with(100, 0, 0, 0, 0);
    trigd_health_apply(h, d, 1.0);
    ck_assert_str_eq(cell_state(d), "ok");
    ck_assert_str_eq(module_state(d), "ok");
    json_decref(d);
    d = doc_with(200, 0, 5000, 0, 0); /* the ring overwrote 5000 frames: normal */
    trigd_health_apply(h, d, 2.0);
    ck_assert_str_eq(cell_state(d), "ok");
    ck_assert_str_eq(module_state(d), "ok");
    json_decref(d);
    d = doc_with(300, 4, 9000, 0, 0); /* 4 messages dropped */
    trigd_health_apply(h, d, 3.0);
    ck_assert_str_eq(cell_state(d), "degraded");
    ck_assert_ptr_nonnull(strstr(cell_reason(d), "messages dropped: 4"));
    ck_assert_str_eq(module_state(d), "degraded");
    ck_assert_ptr_nonnull(strstr(module_reason(d), "cell 3 degraded"));
    json_decref(d);
    d = doc_with(400, 4, 9500, 0, 0);
    trigd_health_apply(h, d, 3.0 + TRIGD_HEALTH_HOLD_S - 1);
    ck_assert_str_eq(cell_state(d), "degraded"); /* still within the hold time */
    json_decref(d);
    d = doc_with(500, 4, 9900, 0, 0);
    trigd_health_apply(h, d, 3.0 + TRIGD_HEALTH_HOLD_S + 1);
    ck_assert_str_eq(cell_state(d), "ok");
    ck_assert_str_eq(module_state(d), "ok");
    json_decref(d);
    trigd_health_free(h);
}
END_TEST

START_TEST(test_missing_stalled_clock_fault)
{
    struct trigd_health *h = trigd_health_new();
    json_t *d = doc_with(100, 0, 0, 0, 1);
    trigd_health_apply(h, d, 1.0);
    ck_assert_str_eq(cell_state(d), "failing");
    ck_assert_ptr_nonnull(strstr(cell_reason(d), "missing"));
    ck_assert_str_eq(module_state(d), "degraded");
    json_decref(d);
    /* Frames stand still past the stall time. */
    d = doc_with(100, 0, 0, 0, 0);
    trigd_health_apply(h, d, 1.0 + TRIGD_HEALTH_STALL_S + 1);
    ck_assert_str_eq(cell_state(d), "failing");
    ck_assert_ptr_nonnull(strstr(cell_reason(d), "no data"));
    json_decref(d);
    /* Moving again, but the data plane reports a clock fault of cell 3. */
    d = doc_with(200, 0, 0, 0, 0);
    json_object_set_new(json_object_get(d, "aggregator"), "data_plane",
                        json_pack("{s:[i]}", "clock_fault_cells", 3));
    trigd_health_apply(h, d, 6.0);
    ck_assert_str_eq(cell_state(d), "failing");
    ck_assert_ptr_nonnull(strstr(cell_reason(d), "clock fault"));
    json_decref(d);
    trigd_health_free(h);
}
END_TEST

START_TEST(test_module_failing)
{
    struct trigd_health *h = trigd_health_new();
    json_t *d = doc_with(100, 0, 0, 0, 0);
    trigd_health_apply(h, d, 1.0);
    json_decref(d);
    d = doc_with(200, 0, 0, 7, 0); /* fragments not found: degraded */
    trigd_health_apply(h, d, 2.0);
    ck_assert_str_eq(module_state(d), "degraded");
    ck_assert_ptr_nonnull(strstr(module_reason(d), "fragments not found: 7"));
    json_decref(d);
    d = doc_with(300, 0, 0, 7, 0);
    json_object_set_new(json_object_get(json_object_get(d, "aggregator"), "losses"),
                        "records_failed", json_integer(1));
    trigd_health_apply(h, d, 3.0);
    ck_assert_str_eq(module_state(d), "failing");
    ck_assert_ptr_nonnull(strstr(module_reason(d), "records failed: 1"));
    json_decref(d);
    d = doc_with(400, 0, 0, 7, 0);
    json_object_set_new(json_object_get(d, "writer"), "inhibit", json_true());
    trigd_health_apply(h, d, 3.0 + TRIGD_HEALTH_HOLD_S + 1);
    ck_assert_str_eq(module_state(d), "failing");
    ck_assert_ptr_nonnull(strstr(module_reason(d), "writer inhibits"));
    json_decref(d);
    trigd_health_free(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("status_health");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_overwrite_is_not_loss_and_loss_is_held);
    tcase_add_test(tc, test_missing_stalled_clock_fault);
    tcase_add_test(tc, test_module_failing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
