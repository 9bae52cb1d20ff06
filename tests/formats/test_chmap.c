/* Channel map: exhaustive bijection for every cell size, the documented per-board layout,
 * plane counts, addressing and range checks. */
#include "chmap.h"
#include "lt_error.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(bijection_all_sizes)
{
    for (uint32_t n = 1; n <= LT_FEMBS_PER_CELL; n++) {
        struct lt_cell_geom g = {.n_fembs = n};
        static uint8_t seen_offline[LT_CHANNELS_PER_CELL];
        static uint8_t seen_wire[3][LT_FEMBS_PER_CELL * LT_X_PER_FEMB];
        memset(seen_offline, 0, sizeof seen_offline);
        memset(seen_wire, 0, sizeof seen_wire);
        uint32_t count[3] = {0, 0, 0};
        for (uint32_t s = 0; s < lt_geom_streams(&g); s++)
            for (uint32_t c = 0; c < 64; c++) {
                struct lt_chan_info ci;
                ck_assert_int_eq(lt_chmap_lookup(&g, s, c, &ci), 0);
                ck_assert_uint_lt(ci.offline_channel, lt_geom_channels(&g));
                ck_assert_uint_lt(ci.wire, lt_geom_wires(&g, ci.plane));
                ck_assert_uint_eq(ci.femb, s / 2);
                ck_assert_uint_eq(seen_offline[ci.offline_channel]++, 0);
                ck_assert_uint_eq(seen_wire[ci.plane][ci.wire]++, 0);
                count[ci.plane]++;
                /* offline channel is plane-ordered: U, then V, then X */
                uint32_t base = ci.plane == LT_PLANE_U   ? 0
                                : ci.plane == LT_PLANE_V ? 40 * n
                                                         : 80 * n;
                ck_assert_uint_eq(ci.offline_channel, base + ci.wire);
                uint32_t rs, rc;
                ck_assert_int_eq(lt_chmap_reverse(&g, ci.plane, ci.wire, &rs, &rc), 0);
                ck_assert_uint_eq(rs, s);
                ck_assert_uint_eq(rc, c);
            }
        ck_assert_uint_eq(count[LT_PLANE_U], 40 * n);
        ck_assert_uint_eq(count[LT_PLANE_V], 40 * n);
        ck_assert_uint_eq(count[LT_PLANE_X], 48 * n);
        /* every offline channel was hit exactly once */
        for (uint32_t i = 0; i < lt_geom_channels(&g); i++) ck_assert_uint_eq(seen_offline[i], 1);
    }
}
END_TEST

START_TEST(full_cell_counts)
{
    struct lt_cell_geom g = {.n_fembs = 20};
    ck_assert_uint_eq(lt_geom_wires(&g, LT_PLANE_U), 800);
    ck_assert_uint_eq(lt_geom_wires(&g, LT_PLANE_V), 800);
    ck_assert_uint_eq(lt_geom_wires(&g, LT_PLANE_X), 960);
    ck_assert_uint_eq(lt_geom_streams(&g), 40);
    ck_assert_uint_eq(lt_geom_channels(&g), 2560);
}
END_TEST

START_TEST(documented_examples)
{
    struct lt_cell_geom g = {.n_fembs = 20};
    struct lt_chan_info ci;
    /* stream 0 ch 0: FEMB 0 channel 0 = U wire 0 */
    ck_assert_int_eq(lt_chmap_lookup(&g, 0, 0, &ci), 0);
    ck_assert_int_eq(ci.plane, LT_PLANE_U);
    ck_assert_uint_eq(ci.wire, 0);
    /* stream 0 ch 40: V wire 0, offline 800 */
    ck_assert_int_eq(lt_chmap_lookup(&g, 0, 40, &ci), 0);
    ck_assert_int_eq(ci.plane, LT_PLANE_V);
    ck_assert_uint_eq(ci.wire, 0);
    ck_assert_uint_eq(ci.offline_channel, 800);
    /* stream 1 ch 16: FEMB-local 80 = X wire 0, offline 1600 */
    ck_assert_int_eq(lt_chmap_lookup(&g, 1, 16, &ci), 0);
    ck_assert_int_eq(ci.plane, LT_PLANE_X);
    ck_assert_uint_eq(ci.wire, 0);
    ck_assert_uint_eq(ci.offline_channel, 1600);
    /* stream 7 ch 63: FEMB 3 local 127 = X wire 3*48+47 = 191 */
    ck_assert_int_eq(lt_chmap_lookup(&g, 7, 63, &ci), 0);
    ck_assert_int_eq(ci.plane, LT_PLANE_X);
    ck_assert_uint_eq(ci.wire, 191);
    ck_assert_uint_eq(ci.femb, 3);
    ck_assert_uint_eq(ci.offline_channel, 1600 + 191);
    /* stream 39 ch 63: last X wire, last offline channel */
    ck_assert_int_eq(lt_chmap_lookup(&g, 39, 63, &ci), 0);
    ck_assert_uint_eq(ci.wire, 959);
    ck_assert_uint_eq(ci.offline_channel, 2559);
    /* with 2 boards, X starts at offline 160 */
    struct lt_cell_geom g2 = {.n_fembs = 2};
    ck_assert_int_eq(lt_chmap_lookup(&g2, 3, 16, &ci), 0);
    ck_assert_uint_eq(ci.wire, 48);
    ck_assert_uint_eq(ci.offline_channel, 160 + 48);
}
END_TEST

START_TEST(out_of_range)
{
    struct lt_chan_info ci;
    uint32_t s, c;
    struct lt_cell_geom g = {.n_fembs = 4};
    ck_assert_int_eq(lt_chmap_lookup(&g, 8, 0, &ci), LT_ERANGE);
    ck_assert_int_eq(lt_chmap_lookup(&g, 0, 64, &ci), LT_ERANGE);
    ck_assert_int_eq(lt_chmap_lookup(&g, UINT32_MAX, 0, &ci), LT_ERANGE);
    ck_assert_int_eq(lt_chmap_reverse(&g, LT_PLANE_U, 160, &s, &c), LT_ERANGE);
    ck_assert_int_eq(lt_chmap_reverse(&g, LT_PLANE_V, 160, &s, &c), LT_ERANGE);
    ck_assert_int_eq(lt_chmap_reverse(&g, LT_PLANE_X, 192, &s, &c), LT_ERANGE);
    ck_assert_int_eq(lt_chmap_reverse(&g, LT_PLANE_X, 191, &s, &c), 0);
    ck_assert_int_eq(lt_chmap_reverse(&g, (enum lt_plane)3, 0, &s, &c), LT_ERANGE);
    struct lt_cell_geom g0 = {.n_fembs = 0}, g21 = {.n_fembs = 21};
    ck_assert_int_eq(lt_chmap_lookup(&g0, 0, 0, &ci), LT_ERANGE);
    ck_assert_int_eq(lt_chmap_lookup(&g21, 0, 0, &ci), LT_ERANGE);
    ck_assert_int_eq(lt_chmap_reverse(&g0, LT_PLANE_U, 0, &s, &c), LT_ERANGE);
    ck_assert_int_eq(lt_chmap_reverse(&g21, LT_PLANE_U, 0, &s, &c), LT_ERANGE);
    ck_assert_int_eq(lt_chmap_lookup(NULL, 0, 0, &ci), LT_ERANGE);
}
END_TEST

START_TEST(stream_addressing)
{
    uint16_t crate;
    uint8_t slot, es;
    lt_chmap_stream_address(3, 0, &crate, &slot, &es);
    ck_assert_uint_eq(crate, 3);
    ck_assert_uint_eq(slot, 0);
    ck_assert_uint_eq(es, 0);
    lt_chmap_stream_address(1023, 39, &crate, &slot, &es);
    ck_assert_uint_eq(crate, 1023);
    ck_assert_uint_eq(slot, 4);
    ck_assert_uint_eq(es, 7);
    lt_chmap_stream_address(7, 13, &crate, &slot, &es);
    ck_assert_uint_eq(slot, 1);
    ck_assert_uint_eq(es, 5);
    /* every (slot, eth_stream) of a cell is distinct */
    uint8_t seen[16][8] = {{0}};
    for (uint32_t s = 0; s < LT_STREAMS_PER_CELL; s++) {
        lt_chmap_stream_address(0, s, &crate, &slot, &es);
        ck_assert_uint_lt(slot, 16);
        ck_assert_uint_lt(es, 8);
        ck_assert_uint_eq(seen[slot][es]++, 0);
    }
    ck_assert_uint_eq(lt_stream_source_id(3, 5), 0x305);
    ck_assert_uint_eq(lt_source_id_cell(0x305), 3);
    ck_assert_uint_eq(lt_source_id_stream(0x305), 5);
}
END_TEST

START_TEST(plane_names)
{
    ck_assert_str_eq(lt_plane_name(LT_PLANE_U), "U");
    ck_assert_str_eq(lt_plane_name(LT_PLANE_V), "V");
    ck_assert_str_eq(lt_plane_name(LT_PLANE_X), "X");
    ck_assert_str_eq(lt_plane_name((enum lt_plane)7), "?");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chmap");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, bijection_all_sizes);
    tcase_add_test(tc, full_cell_counts);
    tcase_add_test(tc, documented_examples);
    tcase_add_test(tc, out_of_range);
    tcase_add_test(tc, stream_addressing);
    tcase_add_test(tc, plane_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
