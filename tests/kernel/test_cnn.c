/* Streaming CNN == a naive whole-image reference (plain nested loops over a 2D image, written
 * here independently of kernels/cnn.c), for random networks covering every layout and pooling
 * case; plus the arithmetic edge cases: rounding of the shift, saturation, int32 wrap-around. */
#include "cnn.h"
#include "preprocess.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define T_MAX  64
#define W_TEST 96 /* divisible by 16: any pooling product fits */

static struct lt_cnn_state ST;
static struct lt_kernel_net NET;
static int32_t A[LT_KERNEL_MAX_CH][T_MAX][LT_KERNEL_MAX_WIRES]; /* activations, reference */
static int32_t B[LT_KERNEL_MAX_CH][T_MAX][LT_KERNEL_MAX_WIRES];
static int16_t X[T_MAX][LT_KERNEL_MAX_WIRES];

static uint64_t rng_state = 88172645463325252ULL;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* The contract, spelled out the slow way: floor((a + 2^(s-1)) / 2^s) in 64 bits. */
static int32_t ref_round_shift(int64_t a, unsigned s)
{
    if (s == 0) return (int32_t)a;
    int64_t n = a + ((int64_t)1 << (s - 1)), d = (int64_t)1 << s;
    int64_t q = n / d;
    if ((n % d != 0) && (n < 0)) q--; /* C division truncates; we want floor */
    return (int32_t)q;
}

static int32_t ref_sat16(int64_t v)
{
    return v < -32768 ? -32768 : v > 32767 ? 32767 : (int32_t)v;
}

/* Whole-image reference: returns score columns; score[u][g] in A[0]. */
static void reference(const struct lt_kernel_net *n, uint32_t T, uint32_t W, uint32_t *T_out,
                      uint32_t *W_out)
{
    for (uint32_t t = 0; t < T; t++)
        for (uint32_t j = 0; j < W; j++) A[0][t][j] = X[t][j];
    for (uint32_t l = 0; l < n->n_layers; l++) {
        const struct lt_kernel_layer *L = &n->layer[l];
        int h = L->kw / 2;
        for (uint32_t co = 0; co < L->cout; co++)
            for (uint32_t t = 0; t < T; t++)
                for (uint32_t j = 0; j < W; j++) {
                    int64_t acc = n->bias[l][co];
                    for (uint32_t ci = 0; ci < L->cin; ci++)
                        for (uint32_t dt = 0; dt < L->kt; dt++)
                            for (uint32_t dw = 0; dw < L->kw; dw++) {
                                int64_t tt = (int64_t)t - (L->kt - 1) + dt;
                                int64_t jj = (int64_t)j - h + dw;
                                if (tt < 0 || jj < 0 || jj >= (int64_t)W) continue;
                                acc += (int64_t)n->w[l][lt_kernel_widx(L, co, ci, dt, dw)] *
                                       A[ci][tt][jj];
                            }
                    int32_t acc32 = (int32_t)(uint32_t)(uint64_t)acc; /* wrap mod 2^32 */
                    int64_t y = ref_round_shift(acc32, L->shift);
                    if (L->relu && y < 0) y = 0;
                    B[co][t][j] = ref_sat16(y);
                }
        uint32_t T2 = T / L->pt, W2 = W / L->pw;
        for (uint32_t co = 0; co < L->cout; co++)
            for (uint32_t t = 0; t < T2; t++)
                for (uint32_t j = 0; j < W2; j++) {
                    int32_t m = INT32_MIN;
                    for (uint32_t a = 0; a < L->pt; a++)
                        for (uint32_t b = 0; b < L->pw; b++) {
                            int32_t v = B[co][t * L->pt + a][j * L->pw + b];
                            if (v > m) m = v;
                        }
                    A[co][t][j] = m;
                }
        T = T2;
        W = W2;
    }
    *T_out = T;
    *W_out = W;
}

static void random_net(struct lt_kernel_net *n, int wmax)
{
    memset(n, 0, sizeof(*n));
    n->n_layers = 1 + rnd() % LT_KERNEL_MAX_LAYERS;
    uint32_t cin = 1, pwp = 1, ptp = 1;
    for (uint32_t l = 0; l < n->n_layers; l++) {
        struct lt_kernel_layer *L = &n->layer[l];
        int last = l + 1 == n->n_layers;
        L->cin = (uint8_t)cin;
        L->cout = last ? 1 : (uint8_t)(1 + rnd() % LT_KERNEL_MAX_CH);
        L->kt = (uint8_t)(1 + rnd() % LT_KERNEL_MAX_KT);
        L->kw = (uint8_t)(1 + 2 * (rnd() % ((LT_KERNEL_MAX_KW + 1) / 2)));
        L->shift = (uint8_t)(rnd() % 12);
        L->relu = last ? 0 : (uint8_t)(rnd() % 2);
        L->pw = 1;
        L->pt = 1;
        if (!last && pwp < 16 && rnd() % 2) L->pw = (uint8_t)(pwp * 4 <= 16 && rnd() % 2 ? 4 : 2);
        pwp *= L->pw;
        if (!last && ptp < 8 && rnd() % 3 == 0) L->pt = 2;
        ptp *= L->pt;
        for (uint32_t i = 0; i < lt_kernel_layer_nweights(L); i++)
            n->w[l][i] = (int8_t)((int)(rnd() % (2 * wmax + 1)) - wmax);
        for (uint32_t c = 0; c < L->cout; c++) n->bias[l][c] = (int32_t)(rnd() % 4001) - 2000;
        cin = L->cout;
    }
    char err[200];
    if (lt_kernel_arch_check(n, err, sizeof(err)) != 0) {
        /* the delay bound can trip: shorten every kt and retry */
        for (uint32_t l = 0; l < n->n_layers; l++) n->layer[l].kt = 2;
        ck_assert_msg(lt_kernel_arch_check(n, err, sizeof(err)) == 0, "%s", err);
    }
}

/* Stream X[0..T) through the CNN and compare every emitted column with the reference. */
static void compare_stream(uint32_t T, uint32_t W)
{
    static int16_t score[LT_KERNEL_MAX_WIRES];
    uint32_t T_ref, W_ref;
    reference(&NET, T, W, &T_ref, &W_ref);
    lt_cnn_reset(&ST, &NET, W);
    ck_assert_uint_eq(ST.w_score, W_ref);
    uint32_t u = 0;
    for (uint32_t t = 0; t < T; t++) {
        if (!lt_cnn_push(&ST, &NET, X[t], score)) continue;
        ck_assert_uint_lt(u, T_ref);
        for (uint32_t g = 0; g < W_ref; g++)
            ck_assert_msg(score[g] == A[0][u][g], "column %u group %u: stream %d ref %d", u, g,
                          score[g], A[0][u][g]);
        u++;
    }
    ck_assert_uint_eq(u, T_ref);
}

START_TEST(round_shift_and_sat)
{
    int32_t vals[] = {0,
                      1,
                      -1,
                      2,
                      -2,
                      3,
                      -3,
                      5,
                      -5,
                      7,
                      -7,
                      1023,
                      -1024,
                      INT32_MAX,
                      INT32_MIN,
                      INT32_MAX - 1,
                      INT32_MIN + 1,
                      123456789,
                      -987654321};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        for (unsigned s = 0; s <= 31; s++)
            ck_assert_msg(lt_round_shift32(vals[i], s) == ref_round_shift(vals[i], s),
                          "round_shift(%d, %u)", vals[i], s);
    /* round half up: -1.5 -> -1, 1.5 -> 2, -2.5 -> -2 */
    ck_assert_int_eq(lt_round_shift32(-3, 1), -1);
    ck_assert_int_eq(lt_round_shift32(3, 1), 2);
    ck_assert_int_eq(lt_round_shift32(-5, 1), -2);
    ck_assert_int_eq(lt_sat16(40000), 32767);
    ck_assert_int_eq(lt_sat16(-40000), -32768);
    ck_assert_int_eq(lt_sat16(-32768), -32768);
}
END_TEST

START_TEST(random_networks_stream_equals_image)
{
    for (int iter = 0; iter < 40; iter++) {
        random_net(&NET, 127);
        uint32_t W = (iter % 4 == 0) ? 48 : W_TEST;
        uint32_t T = 20 + rnd() % (T_MAX - 20);
        for (uint32_t t = 0; t < T; t++)
            for (uint32_t j = 0; j < W; j++) X[t][j] = (int16_t)((int)(rnd() % 401) - 200);
        compare_stream(T, W);
    }
}
END_TEST

START_TEST(saturation_and_wrap)
{
    /* Largest layer, extreme weights and inputs: the accumulator wraps, outputs saturate. */
    memset(&NET, 0, sizeof(NET));
    NET.n_layers = 2;
    NET.layer[0] = (struct lt_kernel_layer){1, 16, 7, 7, 0, 0, 1, 1};
    NET.layer[1] = (struct lt_kernel_layer){16, 1, 7, 7, 0, 0, 1, 1};
    for (uint32_t i = 0; i < lt_kernel_layer_nweights(&NET.layer[0]); i++) NET.w[0][i] = 127;
    for (uint32_t i = 0; i < lt_kernel_layer_nweights(&NET.layer[1]); i++) NET.w[1][i] = -128;
    for (int c = 0; c < 16; c++) NET.bias[0][c] = INT32_MAX - 5;
    NET.bias[1][0] = INT32_MIN + 3;
    char err[200];
    ck_assert_msg(lt_kernel_arch_check(&NET, err, sizeof(err)) == 0, "%s", err);
    for (uint32_t t = 0; t < 16; t++)
        for (uint32_t j = 0; j < 48; j++) X[t][j] = (j + t) % 3 == 0 ? 32767 : -32768;
    compare_stream(16, 48);
    /* with shifts: saturation after rounding */
    NET.layer[0].shift = 3;
    NET.layer[1].shift = 20;
    NET.layer[0].relu = 1;
    compare_stream(16, 48);
}
END_TEST

START_TEST(continuity_across_long_runs)
{
    /* More columns than any ring length: the line-buffer rotation must not drift. */
    random_net(&NET, 20);
    NET.n_layers = 2;
    NET.layer[0] = (struct lt_kernel_layer){1, 3, 5, 3, 2, 1, 2, 2};
    NET.layer[1] = (struct lt_kernel_layer){3, 1, 3, 5, 1, 0, 1, 1};
    char err[200];
    ck_assert_msg(lt_kernel_arch_check(&NET, err, sizeof(err)) == 0, "%s", err);
    for (uint32_t t = 0; t < T_MAX; t++)
        for (uint32_t j = 0; j < W_TEST; j++) X[t][j] = (int16_t)(rnd() % 64);
    compare_stream(T_MAX, W_TEST);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cnn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_shift_and_sat);
    tcase_add_test(tc, random_networks_stream_equals_image);
    tcase_add_test(tc, saturation_and_wrap);
    tcase_add_test(tc, continuity_across_long_runs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
