/* The 3x3 charge-sum baseline (kernels/weights/boxsum.ltw, written by tools/train/baselines.py):
 * the file loads, sees the input columns it was compared on (D = 16 samples, in_shift 2: the first
 * CNN's; cnn.ltw itself moved to D = 8 in session 5, docs/training.md), and the
 * kernel's streaming network computes exactly the causal 3-column x 3-wire sum of its input (zero
 * before the run and beyond the edge wires), here against a direct sum on random columns. The
 * default weights (default.ltw, the working point of docs/training.md) are the same network with
 * the working point's suggested threshold. */
#include "cnn.h"
#include "lt_error.h"
#include "weights.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define W 96
#define T 40

static struct lt_weights box;
static struct lt_cnn_state st;

static void load(const char *file, struct lt_weights *out)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/kernels/weights/%s", LARTRIG_SOURCE_DIR, file);
    ck_assert_msg(lt_weights_load(path, out, err, sizeof err) == 0, "%s", err);
}

START_TEST(boxsum_is_a_3x3_sum)
{
    load("boxsum.ltw", &box);
    const struct lt_kernel_net *n = &box.net;
    ck_assert_uint_eq(n->n_layers, 1);
    ck_assert_uint_eq(n->d, 4); /* 16-sample columns in 1/4 ADC, as baselines.py writes it */
    ck_assert_uint_eq(n->in_shift, 2);
    ck_assert_int_eq(n->threshold, 400);
    static int16_t x[T][W], score[W];
    uint32_t seed = 12345;
    for (int t = 0; t < T; t++)
        for (int j = 0; j < W; j++) {
            seed = seed * 1664525U + 1013904223U;
            x[t][j] = (int16_t)((int)(seed >> 20) % 400 - 150); /* signal-like and negative */
        }
    lt_cnn_reset(&st, n, W);
    int emitted = 0;
    for (int t = 0; t < T; t++) {
        ck_assert_int_eq(lt_cnn_push(&st, n, x[t], score), 1); /* no pooling: every column */
        emitted++;
        for (int j = 0; j < W; j++) {
            int32_t want = 0;
            for (int dt = 0; dt < 3; dt++)
                for (int dw = -1; dw <= 1; dw++)
                    if (t - dt >= 0 && j + dw >= 0 && j + dw < W) want += x[t - dt][j + dw];
            ck_assert_msg(score[j] == want, "t %d wire %d: %d, want %d", t, j, score[j], want);
        }
    }
    ck_assert_int_eq(emitted, T);
}
END_TEST

START_TEST(default_is_the_same_sum)
{
    static struct lt_weights def;
    load("boxsum.ltw", &box);
    load("default.ltw", &def);
    ck_assert_int_eq(def.net.threshold, 250);
    /* everything but the suggested threshold is the baseline's network */
    ck_assert_uint_eq(def.net.d, box.net.d);
    ck_assert_uint_eq(def.net.in_shift, box.net.in_shift);
    ck_assert_uint_eq(def.net.n_layers, 1);
    ck_assert_mem_eq(&def.net.layer[0], &box.net.layer[0], sizeof def.net.layer[0]);
    ck_assert_mem_eq(def.net.w[0], box.net.w[0], lt_kernel_layer_nweights(&box.net.layer[0]));
    ck_assert_int_eq(def.net.bias[0][0], box.net.bias[0][0]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("boxsum");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, boxsum_is_a_3x3_sum);
    tcase_add_test(tc, default_is_the_same_sum);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
