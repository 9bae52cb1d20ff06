/* Alarms of the status document (status_alarms.h) from its own fields: cell_missing per missing
 * cell; cell_clock_fault from the data plane's clock_fault_cells or a cell's own clock_fault
 * (once per cell); writer_free_space_low below the threshold only (0 = off); trigger_inhibit
 * while the writer inhibits or for TRIGD_ALARM_INHIBIT_HOLD_S after inhibited rose. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "status_alarms.h"

static json_t *doc(json_int_t inhibited, int writer_inhibit, json_int_t free_bytes)
{
    return json_pack("{s:[{s:i}, {s:i, s:b}], s:{s:[i], s:I, s:{s:[i, i]}}, s:{s:b, s:I}}", "cells",
                     "id", 0, "id", 1, "clock_fault", 1, "aggregator", "missing_cells", 2,
                     "inhibited", inhibited, "data_plane", "clock_fault_cells", 1, 3, "writer",
                     "inhibit", writer_inhibit, "free_bytes", free_bytes);
}

/* "name:cell name ..." of the active alarms. */
static void names(json_t *d, char *out, size_t len)
{
    out[0] = '\0';
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(d, "alarms"), i, a)
    {
        char one[64];
        json_t *cell = json_object_get(a, "cell");
        snprintf(one, sizeof one, "%s%s%s", i ? " " : "",
                 json_string_value(json_object_get(a, "alarm")), cell ? ":" : "");
        strncat(out, one, len - strlen(out) - 1);
        if (cell) {
            snprintf(one, sizeof one, "%" JSON_INTEGER_FORMAT, json_integer_value(cell));
            strncat(out, one, len - strlen(out) - 1);
        }
    }
}

START_TEST(test_alarms)
{
    struct trigd_alarms *al = trigd_alarms_new();
    char n[512];
    json_t *d = doc(0, 0, 50000000000LL); /* 50 GB free, threshold 10 GB */
    trigd_alarms_apply(al, d, 1.0, 10e9);
    names(d, n, sizeof n);
    ck_assert_str_eq(n, "cell_missing:2 cell_clock_fault:1 cell_clock_fault:3");
    json_decref(d);

    d = doc(0, 0, 5000000000LL); /* 5 GB: below */
    trigd_alarms_apply(al, d, 2.0, 10e9);
    names(d, n, sizeof n);
    ck_assert_ptr_nonnull(strstr(n, "writer_free_space_low"));
    ck_assert_ptr_null(strstr(n, "trigger_inhibit"));
    json_decref(d);

    d = doc(0, 0, 5000000000LL); /* threshold 0: that alarm off */
    trigd_alarms_apply(al, d, 2.5, 0);
    names(d, n, sizeof n);
    ck_assert_ptr_null(strstr(n, "writer_free_space_low"));
    json_decref(d);

    d = doc(3, 0, 50000000000LL); /* inhibited rose */
    trigd_alarms_apply(al, d, 3.0, 10e9);
    names(d, n, sizeof n);
    ck_assert_ptr_nonnull(strstr(n, "trigger_inhibit"));
    json_decref(d);

    d = doc(3, 0, 50000000000LL); /* held ... */
    trigd_alarms_apply(al, d, 3.0 + TRIGD_ALARM_INHIBIT_HOLD_S - 1, 10e9);
    names(d, n, sizeof n);
    ck_assert_ptr_nonnull(strstr(n, "trigger_inhibit"));
    json_decref(d);

    d = doc(3, 0, 50000000000LL); /* ... then cleared */
    trigd_alarms_apply(al, d, 3.0 + TRIGD_ALARM_INHIBIT_HOLD_S + 1, 10e9);
    names(d, n, sizeof n);
    ck_assert_ptr_null(strstr(n, "trigger_inhibit"));
    json_decref(d);

    d = doc(3, 1, 50000000000LL); /* the writer inhibits now */
    trigd_alarms_apply(al, d, 20.0, 10e9);
    names(d, n, sizeof n);
    ck_assert_ptr_nonnull(strstr(n, "trigger_inhibit"));
    json_t *a = json_array_get(json_object_get(d, "alarms"),
                               json_array_size(json_object_get(d, "alarms")) - 1);
    ck_assert_str_eq(json_string_value(json_object_get(a, "severity")), "critical");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(a, "message")), "writer"));
    json_decref(d);
    trigd_alarms_free(al);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("status_alarms");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_alarms);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
