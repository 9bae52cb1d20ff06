/* The C kernel against the exported integer reference of tools/train (intmodel.py), bit for bit.
 *
 * Vectors (the .bin files of tests/data/kernel_vectors, format in docs/training.md) were made by
 * tools/train/train.py with the trained CNN kernels/weights/cnn.ltw (the default weights until
 * issue 15 made a 3x3 charge sum the default; the CNN covers every layer type): the input
 * (int16 columns, or raw WIBEth frames) and the expected int16 score map computed by the Python
 * integer reference. Every path the kernel offers is checked: the network alone on columns,
 * preprocess + network on frames (scalar reference), and the accelerator interface's cpu backend
 * (its vectorised code). A last case changes a single weight and requires the scores to change,
 * so this test demonstrably fails when the weights and the vectors disagree.
 *
 * Two sets: tests/data/kernel_vectors with the trained CNN cnn.ltw (int16 activations), and
 * tests/data/kernel_vectors_int8 with its own weights file, a network trained with 8-bit
 * activations (train.py --act-bits 8), so the int8 arithmetic is pinned to intmodel.py whatever the
 * default network is. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel.h"
#include "backend_cpu.h"
#include "cnn.h"
#include "kernel_arch.h"
#include "preprocess.h"
#include "weights.h"

#define VEC_MAGIC  "LTKVEC01"
#define VEC_HEADER 40U

struct vec {
    uint8_t *buf;
    size_t len;
    uint32_t kind, n_fembs, wires, cols, periods, groups, scols, crc;
    const uint8_t *frames; /* kind 2 */
    const int16_t *x;      /* [cols][wires] */
    const int16_t *score;  /* [scols][groups] */
};

static const char *src_dir(void)
{
    const char *s = getenv("LARTRIG_SOURCE_DIR");
    return s ? s : LARTRIG_SOURCE_DIR;
}

/* A vector set: its directory and the weights file its expected scores were computed with. */
struct vset {
    const char *dir, *weights;
    uint32_t act_bits; /* what the weights must declare (0: any) */
};
static const struct vset SETS[] = {
    {"tests/data/kernel_vectors", "kernels/weights/cnn.ltw", 0},
    {"tests/data/kernel_vectors_int8", "tests/data/kernel_vectors_int8/weights.ltw", 8},
};
#define N_SETS (sizeof SETS / sizeof SETS[0])

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_msg(n > 0 && n < (64L << 20), "%s: bad size %ld", path, n);
    rewind(f);
    uint8_t *b = malloc((size_t)n);
    ck_assert_ptr_nonnull(b);
    ck_assert_msg(fread(b, 1, (size_t)n, f) == (size_t)n, "%s: short read", path);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static uint32_t u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void load_vec(const struct vset *set, const char *name, struct vec *v)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", src_dir(), set->dir, name);
    memset(v, 0, sizeof *v);
    v->buf = slurp(path, &v->len);
    ck_assert_msg(v->len >= VEC_HEADER && memcmp(v->buf, VEC_MAGIC, 8) == 0, "%s: bad magic", path);
    const uint8_t *h = v->buf + 8;
    v->kind = u32le(h);
    v->n_fembs = u32le(h + 4);
    v->wires = u32le(h + 8);
    v->cols = u32le(h + 12);
    v->periods = u32le(h + 16);
    v->groups = u32le(h + 20);
    v->scols = u32le(h + 24);
    v->crc = u32le(h + 28);
    ck_assert_msg(v->wires > 0 && v->wires <= LT_KERNEL_MAX_WIRES, "%s: wires %u", path, v->wires);
    size_t frames = v->kind == 2 ? (size_t)v->periods * 2U * v->n_fembs * LT_WIBETH_FRAME_SIZE : 0;
    size_t need =
        VEC_HEADER + frames + 2U * ((size_t)v->cols * v->wires + (size_t)v->scols * v->groups);
    ck_assert_msg(v->len == need, "%s: %zu bytes, header says %zu", path, v->len, need);
    v->frames = v->buf + VEC_HEADER;
    /* int16 arrays start at even offsets (40 + k * 7200): aligned for int16 access */
    v->x = (const int16_t *)(v->buf + VEC_HEADER + frames);
    v->score = v->x + (size_t)v->cols * v->wires;
}

static struct lt_weights *load_weights(const struct vset *set, uint32_t expect_crc)
{
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/%s", src_dir(), set->weights);
    struct lt_weights *w = malloc(sizeof *w);
    ck_assert_ptr_nonnull(w);
    int rc = lt_weights_load(path, w, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(w->crc == expect_crc,
                  "%s has CRC %08x but the vectors were made with weights CRC %08x: regenerate "
                  "them with tools/train/make_vectors.py (docs/training.md)",
                  path, w->crc, expect_crc);
    if (set->act_bits)
        ck_assert_msg(lt_kernel_act_bits(&w->net) == set->act_bits,
                      "%s: activation width %u, this vector set needs %u", path,
                      lt_kernel_act_bits(&w->net), set->act_bits);
    return w;
}

/* Run the network alone over the vector's input columns; returns mismatching score values and
 * checks the column count. */
static size_t run_cnn(const struct lt_kernel_net *net, const struct vec *v, size_t *first_bad)
{
    struct lt_cnn_state *st = malloc(sizeof *st);
    ck_assert_ptr_nonnull(st);
    lt_cnn_reset(st, net, v->wires);
    int16_t score[LT_KERNEL_MAX_WIRES];
    size_t u = 0, bad = 0;
    *first_bad = SIZE_MAX;
    for (uint32_t c = 0; c < v->cols; c++) {
        if (!lt_cnn_push(st, net, v->x + (size_t)c * v->wires, score)) continue;
        ck_assert_uint_lt(u, v->scols);
        for (uint32_t g = 0; g < v->groups; g++) {
            if (score[g] != v->score[u * v->groups + g]) {
                if (bad++ == 0) *first_bad = u * v->groups + g;
            }
        }
        u++;
    }
    ck_assert_uint_eq(u, v->scols);
    free(st);
    return bad;
}

START_TEST(network_matches_reference)
{
    struct vec v;
    const struct vset *set = &SETS[_i];
    load_vec(set, "columns_full_cell.bin", &v);
    ck_assert_uint_eq(v.kind, 1);
    struct lt_weights *w = load_weights(set, v.crc);
    ck_assert_uint_eq(v.groups, v.wires / lt_kernel_pool_w(&w->net));
    size_t first;
    size_t bad = run_cnn(&w->net, &v, &first);
    ck_assert_msg(bad == 0, "%zu of %u score values differ; first at column %zu group %zu", bad,
                  v.scols * v.groups, first / v.groups, first % v.groups);
    /* the vector is not trivial: the score map has structure */
    int16_t lo = INT16_MAX, hi = INT16_MIN;
    for (size_t i = 0; i < (size_t)v.scols * v.groups; i++) {
        if (v.score[i] < lo) lo = v.score[i];
        if (v.score[i] > hi) hi = v.score[i];
    }
    ck_assert_int_lt(lo, hi);
    free(w);
    free(v.buf);
}
END_TEST

START_TEST(one_changed_weight_is_detected)
{
    struct vec v;
    const struct vset *set = &SETS[_i];
    load_vec(set, "columns_full_cell.bin", &v);
    struct lt_weights *w = load_weights(set, v.crc);
    /* nudge the newest-column, centre-wire tap of the first filter by one LSB */
    struct lt_kernel_layer *L = &w->net.layer[0];
    uint32_t i = lt_kernel_widx(L, 0, 0, L->kt - 1U, L->kw / 2U);
    w->net.w[0][i] = (int8_t)(w->net.w[0][i] < 127 ? w->net.w[0][i] + 1 : w->net.w[0][i] - 1);
    size_t first;
    size_t bad = run_cnn(&w->net, &v, &first);
    ck_assert_msg(bad > 0, "changing weight %u of layer 0 left every score unchanged", i);
    free(w);
    free(v.buf);
}
END_TEST

START_TEST(frames_preprocess_and_network_scalar)
{
    struct vec v;
    char err[256];
    const struct vset *set = &SETS[_i];
    load_vec(set, "frames_one_femb.bin", &v);
    ck_assert_uint_eq(v.kind, 2);
    struct lt_weights *w = load_weights(set, v.crc);
    struct lt_cell_geom g = {.n_fembs = v.n_fembs};
    struct lt_pre_map *map = malloc(sizeof *map);
    struct lt_pre_state *pre = malloc(sizeof *pre);
    struct lt_cnn_state *cnn = malloc(sizeof *cnn);
    int16_t(*x)[LT_KERNEL_MAX_WIRES] =
        malloc(sizeof(int16_t) * LT_PRE_COLS_MAX * LT_KERNEL_MAX_WIRES);
    ck_assert(map && pre && cnn && x);
    ck_assert_msg(lt_pre_map_build(map, &g, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(map->n_wires, v.wires);
    lt_pre_reset(pre, w->net.d, w->net.in_shift, lt_kernel_in_max(&w->net));
    lt_cnn_reset(cnn, &w->net, v.wires);
    const lt_wibeth_frame *frames = (const lt_wibeth_frame *)v.frames;
    uint32_t col = 0, u = 0, n_streams = 2U * v.n_fembs;
    int16_t score[LT_KERNEL_MAX_WIRES];
    for (uint32_t p = 0; p < v.periods; p++) {
        uint32_t n = lt_pre_period(pre, map, frames + (size_t)p * n_streams, x);
        for (uint32_t c = 0; c < n; c++, col++) {
            ck_assert_uint_lt(col, v.cols);
            for (uint32_t j = 0; j < v.wires; j++)
                ck_assert_msg(x[c][j] == v.x[(size_t)col * v.wires + j],
                              "input column %u wire %u: kernel %d, reference %d", col, j, x[c][j],
                              v.x[(size_t)col * v.wires + j]);
            if (!lt_cnn_push(cnn, &w->net, x[c], score)) continue;
            for (uint32_t k = 0; k < v.groups; k++)
                ck_assert_msg(score[k] == v.score[(size_t)u * v.groups + k],
                              "score column %u group %u: kernel %d, reference %d", u, k, score[k],
                              v.score[(size_t)u * v.groups + k]);
            u++;
        }
    }
    ck_assert_uint_eq(col, v.cols);
    ck_assert_uint_eq(u, v.scols);
    if (set->act_bits == 8) { /* the planted extremes reach the int8 input saturation */
        uint32_t n_sat = 0;
        for (size_t i = 0; i < (size_t)v.cols * v.wires; i++) n_sat += v.x[i] == 127;
        ck_assert_msg(n_sat > 0, "%s: no input activation at 127", set->dir);
    }
    free(x);
    free(cnn);
    free(pre);
    free(map);
    free(w);
    free(v.buf);
}
END_TEST

/* The accelerator interface's cpu backend on the same frames, for the vector set and SIMD variant
 * selected by the loop index. A variant this CPU or build lacks is reported and skipped. */
static const char *const ISAS[] = {"scalar", "avx2", "avx512", "auto"};
#define N_ISAS (sizeof ISAS / sizeof ISAS[0])

START_TEST(frames_through_cpu_backend)
{
    struct vec v;
    char err[256];
    const struct vset *set = &SETS[(size_t)_i / N_ISAS];
    const char *isa_name = ISAS[(size_t)_i % N_ISAS];
    int isa = lt_cpu_isa_parse(isa_name);
    ck_assert_int_ge(isa, 0);
    if (!lt_cpu_isa_supported((enum lt_cpu_isa)isa)) {
        printf("test_kernel_vectors: cpu_isa %s not supported here: skipped\n", isa_name);
        return;
    }
    load_vec(set, "frames_one_femb.bin", &v);
    struct lt_weights *w = load_weights(set, v.crc);
    struct lt_accel_config cfg = {.backend = "cpu",
                                  .threads = 1,
                                  .max_cells = 1,
                                  .max_block_periods = 4,
                                  .keep_scores = 1,
                                  .cpu_isa = isa_name};
    struct lt_accel *a = NULL;
    ck_assert_msg(lt_accel_open(&cfg, &a, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(lt_accel_load_weights(a, w, err, sizeof err) == 0, "%s", err);
    struct lt_cell_geom g = {.n_fembs = v.n_fembs};
    int slot = lt_accel_add_cell(a, 0, &g, err, sizeof err);
    ck_assert_msg(slot >= 0, "%s", err);
    const lt_wibeth_frame *frames = (const lt_wibeth_frame *)v.frames;
    uint32_t n_streams = 2U * v.n_fembs, u = 0;
    struct lt_candidate cands[64];
    for (uint32_t p = 0; p < v.periods; p += cfg.max_block_periods) {
        uint32_t n = v.periods - p < cfg.max_block_periods ? v.periods - p : cfg.max_block_periods;
        ck_assert_int_eq(lt_accel_submit(a, slot, frames + (size_t)p * n_streams, n), 0);
        struct lt_accel_result res;
        uint32_t dropped = 0;
        ck_assert_int_eq(lt_accel_collect(a, slot, cands, 64, &res, &dropped), 0);
        uint32_t cols = 0, outs = 0;
        const int16_t *s = lt_accel_last_scores(a, slot, &cols, &outs);
        ck_assert_msg(s != NULL, "cpu backend (%s) kept no score map", isa_name);
        ck_assert_uint_eq(outs, v.groups);
        ck_assert_uint_le(u + cols, v.scols);
        for (uint32_t c = 0; c < cols; c++, u++)
            for (uint32_t k = 0; k < v.groups; k++)
                ck_assert_msg(s[(size_t)c * outs + k] == v.score[(size_t)u * v.groups + k],
                              "isa %s: score column %u group %u: kernel %d, reference %d", isa_name,
                              u, k, s[(size_t)c * outs + k], v.score[(size_t)u * v.groups + k]);
    }
    ck_assert_uint_eq(u, v.scols);
    lt_accel_close(a);
    free(w);
    free(v.buf);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("kernel_vectors");
    TCase *tc = tcase_create("bit_exact");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, network_matches_reference, 0, (int)N_SETS);
    tcase_add_loop_test(tc, one_changed_weight_is_detected, 0, (int)N_SETS);
    tcase_add_loop_test(tc, frames_preprocess_and_network_scalar, 0, (int)N_SETS);
    tcase_add_loop_test(tc, frames_through_cpu_backend, 0, (int)(N_SETS * N_ISAS));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
