/* Preprocessing against a straightforward reference computed here from unpacked frames: channel
 * selection (the X wires, found through the forward channel map), downsampling by every D,
 * pedestal initialisation and tracking, requantisation; plus the unpacker against
 * lib/formats/wibeth. */
#include "preprocess.h"
#include "lt_error.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define NF      3 /* FEMBs in the test cell: 6 streams, 144 X wires */
#define NS      (NF * 2)
#define NW      (NF * 48)
#define PERIODS 5

static lt_wibeth_frame FR[PERIODS][NS];
static uint16_t ADC[PERIODS][NS][64][64];   /* [period][stream][sample][channel] */
static uint16_t WIRE_ADC[NW][PERIODS * 64]; /* reference: X wire, sample */
static struct lt_pre_state ST;
static struct lt_pre_map MAP;
static int16_t XO[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES];

static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 20);
}

static void make_frames(int pulses)
{
    for (int p = 0; p < PERIODS; p++)
        for (int s = 0; s < NS; s++) {
            for (int t = 0; t < 64; t++)
                for (int c = 0; c < 64; c++) {
                    int v = 500 + 40 * c + (int)(rnd() % 9) - 4;
                    if (pulses && rnd() % 50 == 0) v += (int)(rnd() % 3000);
                    if (pulses && rnd() % 997 == 0) v = (rnd() & 1) ? 0x3FFF : 0;
                    ADC[p][s][t][c] = (uint16_t)v;
                }
            memset(&FR[p][s], 0, sizeof(FR[p][s]));
            lt_wibeth_pack(&FR[p][s], ADC[p][s]);
        }
    struct lt_cell_geom g = {NF};
    for (uint32_t s = 0; s < NS; s++)
        for (uint32_t c = 0; c < 64; c++) {
            struct lt_chan_info ci;
            ck_assert_int_eq(lt_chmap_lookup(&g, s, c, &ci), 0);
            if (ci.plane != LT_PLANE_X) continue;
            for (int p = 0; p < PERIODS; p++)
                for (int t = 0; t < 64; t++) WIRE_ADC[ci.wire][p * 64 + t] = ADC[p][s][t][c];
        }
}

/* docs/kernel.md "Input", as plainly as it can be written. */
static int16_t ref_x(uint32_t d, uint32_t in_shift, int32_t x_max, uint32_t wire, uint32_t col,
                     int32_t *ped, int *started)
{
    uint32_t D = 1U << d, sum = 0;
    for (uint32_t k = 0; k < D; k++) sum += WIRE_ADC[wire][col * D + k];
    int32_t v = (int32_t)(sum * 16U / D);
    if (!*started) *ped = v;
    int32_t diff = v - *ped;
    *ped += diff > 0 ? 1 : diff < 0 ? -1 : 0;
    int64_t r = in_shift ? ((int64_t)diff + (1 << (in_shift - 1))) : diff;
    /* floor division by 2^in_shift */
    int64_t q = r;
    if (in_shift)
        q = (r >= 0) ? r / (1 << in_shift) : -((-r + (1 << in_shift) - 1) / (1 << in_shift));
    return (int16_t)(q > x_max ? x_max : q < -x_max - 1 ? -x_max - 1 : q);
}

/* x_max: 32767 (int16 activations) or 127 (int8) */
static void check_all(uint32_t d, uint32_t in_shift, int direct, int32_t x_max)
{
    struct lt_cell_geom g = {NF};
    char err[200];
    ck_assert_msg(lt_pre_map_build(&MAP, &g, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(MAP.n_wires, NW);
    /* lib/formats/chmap.h's map allows unpacking straight into wire order; the general path (a
     * stream's sums, then a scatter) must give the same result */
    for (uint32_t u = 0; u < MAP.n_used; u++) {
        ck_assert_uint_eq(MAP.used_direct[u], 1);
        if (!direct) MAP.used_direct[u] = 0;
    }
    memset(&ST, 0, sizeof(ST));
    lt_pre_reset(&ST, d, in_shift, x_max);
    static int32_t ped[NW];
    static int started[NW];
    memset(started, 0, sizeof(started));
    uint32_t col = 0, n_sat = 0;
    for (int p = 0; p < PERIODS; p++) {
        uint32_t n = lt_pre_period(&ST, &MAP, FR[p], XO);
        ck_assert_uint_eq(n, 64U >> d);
        for (uint32_t c = 0; c < n; c++, col++)
            for (uint32_t j = 0; j < NW; j++) {
                int16_t want = ref_x(d, in_shift, x_max, j, col, &ped[j], &started[j]);
                started[j] = 1;
                ck_assert_msg(XO[c][j] == want, "d=%u in_shift=%u col %u wire %u: %d != %d", d,
                              in_shift, col, j, XO[c][j], want);
                n_sat += want == x_max || want == -x_max - 1;
            }
    }
    /* the int8 cases must actually reach the saturation they test */
    if (x_max < 32767) ck_assert_msg(n_sat > 0, "d=%u in_shift=%u: nothing saturated", d, in_shift);
    for (uint32_t j = 0; j < NW; j++) ck_assert_int_eq(ST.ped[j], ped[j]);
}

START_TEST(map_uses_only_x_streams)
{
    struct lt_cell_geom g = {NF};
    char err[200];
    ck_assert_int_eq(lt_pre_map_build(&MAP, &g, err, sizeof(err)), 0);
    ck_assert_uint_eq(MAP.n_streams, NS);
    uint32_t nbits = 0;
    for (uint32_t u = 0; u < MAP.n_used; u++) {
        nbits += (uint32_t)__builtin_popcountll(MAP.used_chmask[u]);
        ck_assert_uint_eq(MAP.used_nwires[u], __builtin_popcountll(MAP.used_chmask[u]));
        for (uint32_t c = 0; c < 64; c++) {
            struct lt_chan_info ci;
            ck_assert_int_eq(lt_chmap_lookup(&g, MAP.used_stream[u], c, &ci), 0);
            ck_assert_int_eq((MAP.used_chmask[u] >> c) & 1U, ci.plane == LT_PLANE_X);
        }
    }
    ck_assert_uint_eq(nbits, NW);
    /* streams without X wires are not read at all */
    for (uint32_t s = 0; s < NS; s++) {
        int has_x = 0, used = 0;
        for (uint32_t c = 0; c < 64; c++) {
            struct lt_chan_info ci;
            lt_chmap_lookup(&g, s, c, &ci);
            has_x |= ci.plane == LT_PLANE_X;
        }
        for (uint32_t u = 0; u < MAP.n_used; u++) used |= MAP.used_stream[u] == s;
        ck_assert_int_eq(has_x, used);
    }
    struct lt_cell_geom bad = {21};
    ck_assert_int_eq(lt_pre_map_build(&MAP, &bad, err, sizeof(err)), LT_ERANGE);
}
END_TEST

START_TEST(unpack_matches_lib)
{
    make_frames(1);
    static uint32_t sums[LT_PRE_COLS_MAX][64];
    lt_pre_unpack_sum_scalar(&FR[1][3], 0, ~0ULL, 0, &sums[0][0], 64);
    for (int t = 0; t < 64; t++)
        for (int c = 0; c < 64; c++) {
            ck_assert_uint_eq(sums[t][c], ADC[1][3][t][c]);
            ck_assert_uint_eq(sums[t][c], lt_wibeth_get_adc(&FR[1][3], (unsigned)t, (unsigned)c));
        }
}
END_TEST

START_TEST(every_downsample_and_shift)
{
    make_frames(1);
    for (uint32_t d = 0; d <= LT_KERNEL_MAX_D_LOG2; d++)
        for (uint32_t sh = 0; sh <= 6; sh += 2) check_all(d, sh, (int)(sh / 2U) % 2, 32767);
    check_all(0, 15, 1, 32767);
    check_all(3, 1, 0, 32767);
    /* int8 activations: the input saturates at [-128, 127] */
    for (uint32_t sh = 0; sh <= 4; sh += 2) check_all(4, sh, (int)(sh / 2U) % 2, 127);
    check_all(0, 2, 1, 127);
}
END_TEST

START_TEST(pedestal_tracks_slowly)
{
    /* Constant 1000 ADC, then a step to 1010: the pedestal starts at 1000 (x = 0), then moves
     * 1/16 ADC per column towards 1010, so x decays from 10 ADC by one 1/16 step per column. */
    for (int p = 0; p < PERIODS; p++)
        for (int s = 0; s < NS; s++) {
            for (int t = 0; t < 64; t++)
                for (int c = 0; c < 64; c++) ADC[p][s][t][c] = (uint16_t)(p == 0 ? 1000 : 1010);
            lt_wibeth_pack(&FR[p][s], ADC[p][s]);
        }
    struct lt_cell_geom g = {NF};
    char err[200];
    ck_assert_int_eq(lt_pre_map_build(&MAP, &g, err, sizeof(err)), 0);
    memset(&ST, 0, sizeof(ST));
    lt_pre_reset(&ST, 0, 0, 32767); /* D = 1, x in 1/16 ADC */
    ck_assert_uint_eq(lt_pre_period(&ST, &MAP, FR[0], XO), 64);
    for (int c = 0; c < 64; c++) ck_assert_int_eq(XO[c][17], 0);
    ck_assert_int_eq(ST.ped[17], 16000);
    ck_assert_uint_eq(lt_pre_period(&ST, &MAP, FR[1], XO), 64);
    for (int c = 0; c < 64; c++) ck_assert_int_eq(XO[c][17], 160 - c);
    ck_assert_int_eq(ST.ped[17], 16064);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("preprocess");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, map_uses_only_x_streams);
    tcase_add_test(tc, unpack_matches_lib);
    tcase_add_test(tc, every_downsample_and_shift);
    tcase_add_test(tc, pedestal_tracks_slowly);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
