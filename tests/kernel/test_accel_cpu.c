/* The cpu backend of the accelerator interface: every instruction set this CPU offers (scalar,
 * AVX2, AVX-512) gives bit for bit the scores and candidates of the plain kernels/ code run
 * directly, on random data, several cells and worker threads, with the trained CNN and with
 * random networks that exercise every line-buffer layout. Plus the interface's error paths and
 * counters (in-flight limit, nothing to collect, time gaps). */
#include "accel.h"
#include "backend_cpu.h"
#include "kernel_top.h"
#include "lt_error.h"
#include "weights.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCELLS  3
#define NF      3 /* FEMBs per test cell: 6 streams, 144 X wires (SIMD tails in every layer) */
#define NS      (NF * 2)
#define BLOCK   6 /* periods per block */
#define NBLOCKS 4

static lt_wibeth_frame FR[NCELLS][NBLOCKS * BLOCK][NS];
static struct lt_weights WTS;
static struct lt_kernel_cell REF;
static int16_t REF_SCORES[NBLOCKS][BLOCK * 64 * LT_KERNEL_MAX_WIRES];
static struct lt_candidate REF_C[NBLOCKS][4096];
static struct lt_kernel_block REF_B[NBLOCKS];
static struct lt_candidate GOT[4096];
static struct lt_candidate GOT_T[NCELLS][256];

static uint64_t rs = 12345;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 20);
}

/* Noise around a pedestal, with blips (a few wires x a few samples) so candidates appear. */
static void make_data(void)
{
    static uint16_t adc[64][64];
    for (int cell = 0; cell < NCELLS; cell++)
        for (int p = 0; p < NBLOCKS * BLOCK; p++)
            for (int s = 0; s < NS; s++) {
                for (int t = 0; t < 64; t++)
                    for (int c = 0; c < 64; c++)
                        adc[t][c] = (uint16_t)(800 + c + (int)(rnd() % 13) - 6);
                if (rnd() % 3 == 0) {
                    int c0 = 16 + (int)(rnd() % 40), t0 = (int)(rnd() % 48),
                        amp = 50 + (int)(rnd() % 800);
                    for (int t = t0; t < t0 + 16; t++)
                        for (int c = c0; c < c0 + 6 && c < 64; c++)
                            adc[t][c] = (uint16_t)(adc[t][c] + amp);
                }
                lt_wibeth_frame *f = &FR[cell][p][s];
                memset(f, 0, sizeof(*f));
                lt_wibeth_pack(f, adc);
                f->daq_header[1] = 5000000ULL + (uint64_t)cell * 7 + (uint64_t)p * 2048U;
            }
}

/* The reference: kernels/ code called directly, no backend hooks. */
static void reference(int cell)
{
    struct lt_cell_geom g = {NF};
    struct lt_cand_params cp = {WTS.net.threshold, 1, 2};
    char err[200];
    memset(&REF, 0, sizeof(REF));
    ck_assert_msg(lt_kernel_cell_init(&REF, (uint32_t)cell, &g, &cp, err, sizeof(err)) == 0, "%s",
                  err);
    for (int b = 0; b < NBLOCKS; b++)
        lt_kernel_process(&REF, &WTS.net, &FR[cell][b * BLOCK][0], BLOCK, REF_C[b], 4096, &REF_B[b],
                          REF_SCORES[b], BLOCK * 64);
}

static void run_backend(const char *isa, uint32_t threads)
{
    struct lt_accel_config cfg = {0};
    cfg.backend = "cpu";
    cfg.cpu_isa = isa;
    cfg.threads = threads;
    cfg.max_cells = NCELLS;
    cfg.max_block_periods = BLOCK;
    cfg.keep_scores = 1;
    struct lt_accel *a;
    char err[256];
    ck_assert_msg(lt_accel_open(&cfg, &a, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(lt_accel_backend_name(a), "cpu");
    ck_assert_msg(lt_accel_load_weights(a, &WTS, err, sizeof(err)) == 0, "%s", err);
    struct lt_cell_geom g = {NF};
    int slot[NCELLS];
    for (int c = 0; c < NCELLS; c++) {
        slot[c] = lt_accel_add_cell(a, (uint32_t)c, &g, err, sizeof(err));
        ck_assert_msg(slot[c] == c, "%s", err);
    }
    /* Per cell: keep two blocks in flight, collect in order, compare with the reference. */
    static struct lt_accel_result res[NCELLS][NBLOCKS];
    static struct lt_candidate got[NCELLS][NBLOCKS][256];
    static uint32_t ngot[NCELLS][NBLOCKS];
    static int16_t scores[NCELLS][NBLOCKS][BLOCK * 64 * NF * 48];
    static uint32_t ncols[NCELLS][NBLOCKS];
    for (int b = 0; b < NBLOCKS + 2; b++)
        for (int c = 0; c < NCELLS; c++) {
            if (b >= 2) {
                uint32_t dropped = 99;
                ck_assert_int_eq(
                    lt_accel_collect(a, slot[c], got[c][b - 2], 256, &res[c][b - 2], &dropped), 0);
                ck_assert_uint_eq(dropped, 0);
                ngot[c][b - 2] = res[c][b - 2].n_candidates;
                uint32_t cols, outs;
                const int16_t *sc = lt_accel_last_scores(a, slot[c], &cols, &outs);
                ck_assert_ptr_nonnull(sc);
                ncols[c][b - 2] = cols;
                memcpy(scores[c][b - 2], sc, (size_t)cols * outs * sizeof(int16_t));
            }
            if (b < NBLOCKS) {
                ck_assert_int_eq(lt_accel_submit(a, slot[c], &FR[c][b * BLOCK][0], BLOCK), 0);
                if (b >= 1) /* two in flight: a third is refused */
                    ck_assert_int_eq(lt_accel_submit(a, slot[c], &FR[c][0][0], BLOCK), LT_EFULL);
            }
        }
    uint32_t dummy;
    struct lt_accel_result r;
    ck_assert_int_eq(lt_accel_collect(a, slot[0], GOT, 16, &r, &dummy), LT_ENOTFOUND);
    lt_accel_close(a);

    uint32_t total = 0;
    for (int c = 0; c < NCELLS; c++) {
        reference(c);
        for (int b = 0; b < NBLOCKS; b++) {
            ck_assert_uint_eq(res[c][b].columns, REF_B[b].score_columns);
            ck_assert_uint_eq(ncols[c][b], REF_B[b].score_columns);
            ck_assert_uint_eq(res[c][b].watermark, REF_B[b].watermark);
            ck_assert_uint_eq(ngot[c][b], REF_B[b].n_candidates);
            uint32_t w_score = REF.cnn.w_score;
            for (uint32_t i = 0; i < ncols[c][b] * w_score; i++)
                ck_assert_msg(scores[c][b][i] == REF_SCORES[b][i],
                              "isa %s cell %d block %d column %u group %u: %d != %d", isa, c, b,
                              i / w_score, i % w_score, scores[c][b][i], REF_SCORES[b][i]);
            ck_assert(memcmp(got[c][b], REF_C[b], ngot[c][b] * sizeof(struct lt_candidate)) == 0);
            for (uint32_t i = 0; i < ngot[c][b]; i++) ck_assert_uint_eq(got[c][b][i].cell, c);
            total += ngot[c][b];
        }
    }
    if (strncmp(WTS.name, "hand-made", 9) == 0) ck_assert_uint_gt(total, 0); /* sees the blips */
}

static int isa_ok(const char *name)
{
    int isa = lt_cpu_isa_parse(name);
    return isa >= 0 && lt_cpu_isa_supported((enum lt_cpu_isa)isa);
}

START_TEST(default_weights_all_isas)
{
    char path[1024], err[256];
    snprintf(path, sizeof(path), "%s/kernels/weights/cnn.ltw", LARTRIG_SOURCE_DIR);
    ck_assert_msg(lt_weights_load(path, &WTS, err, sizeof(err)) == 0, "%s", err);
    make_data();
    const char *isas[] = {"scalar", "avx2", "avx512", "auto"};
    for (int i = 0; i < 4; i++) {
        if (!isa_ok(isas[i])) {
            fprintf(stderr, "test_accel_cpu: %s not supported here, skipped\n", isas[i]);
            continue;
        }
        run_backend(isas[i], i == 0 ? 1 : 2);
    }
}
END_TEST

static void random_net(struct lt_kernel_net *n, int variant)
{
    memset(n, 0, sizeof(*n));
    n->d = (uint8_t)(variant);
    n->in_shift = 1;
    n->threshold = 5;
    n->n_layers = 4;
    n->act_bits = (variant & 2) ? 8 : 16; /* variants 2, 3: int8 activations, both layer sets */
    /* odd and even channel counts, every kw, time and wire pooling, a Cin = 1 inner layer with
     * kw = 3 (at kw = 1 its line-buffer layout and the wide one agree: a mix-up would pass) */
    struct lt_kernel_layer L[2][4] = {{{1, 5, 3, 7, 7, 1, 2, 1},
                                       {5, 16, 2, 5, 8, 1, 2, 2},
                                       {16, 1, 4, 3, 6, 1, 1, 1},
                                       {1, 1, 2, 3, 2, 0, 1, 1}},
                                      {{1, 16, 7, 1, 6, 1, 4, 2},
                                       {16, 3, 1, 3, 9, 0, 1, 1},
                                       {3, 9, 3, 7, 5, 1, 2, 1},
                                       {9, 1, 1, 5, 8, 0, 1, 1}}};
    for (int l = 0; l < 4; l++) {
        n->layer[l] = L[variant % 2][l];
        /* variant 3 keeps |w| <= 40 so AVX2's single-vpmaddubsw path is taken (checked below);
         * full-range weights need its split path */
        for (uint32_t i = 0; i < lt_kernel_layer_nweights(&n->layer[l]); i++)
            n->w[l][i] = variant == 3 ? (int8_t)((int)(rnd() % 81) - 40)
                                      : (int8_t)((int)(rnd() % 256) - 128);
        for (uint32_t c = 0; c < n->layer[l].cout; c++)
            n->bias[l][c] = (int32_t)(rnd() % 20001) - 10000;
    }
    char err[200];
    ck_assert_msg(lt_kernel_arch_check(n, err, sizeof(err)) == 0, "%s", err);
    if (n->act_bits == 8) {
        static int32_t packed[LT_KERNEL_MAX_WEIGHTS];
        int n_safe = 0;
        for (uint32_t l = 0; l < n->n_layers; l++) {
            ck_assert_uint_le(lt_cpu_packed_size(n, l), LT_KERNEL_MAX_WEIGHTS);
            n_safe += lt_cpu_pack_layer(n, l, packed);
        }
        if (variant == 3)
            ck_assert_int_eq(n_safe, (int)n->n_layers);
        else
            ck_assert_int_lt(n_safe, (int)n->n_layers);
    }
}

START_TEST(random_networks_all_isas)
{
    make_data();
    for (int v = 0; v <= (int)LT_KERNEL_MAX_D_LOG2; v++) {
        random_net(&WTS.net, v);
        snprintf(WTS.name, sizeof(WTS.name), "random %d", v);
        const char *isas[] = {"scalar", "avx2", "avx512"};
        for (int i = 0; i < 3; i++)
            if (isa_ok(isas[i])) run_backend(isas[i], 2);
    }
}
END_TEST

START_TEST(interface_errors_and_gaps)
{
    char path[1024], err[256];
    snprintf(path, sizeof(path), "%s/kernels/weights/cnn.ltw", LARTRIG_SOURCE_DIR);
    ck_assert_int_eq(lt_weights_load(path, &WTS, err, sizeof(err)), 0);
    make_data();
    struct lt_accel_config cfg = {0};
    struct lt_accel *a;
    cfg.backend = "nonesuch";
    cfg.max_cells = 1;
    cfg.max_block_periods = BLOCK;
    ck_assert_int_eq(lt_accel_open(&cfg, &a, err, sizeof(err)), LT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "nonesuch"));
    cfg.backend = "cpu";
    cfg.cpu_isa = "sse9";
    ck_assert_int_eq(lt_accel_open(&cfg, &a, err, sizeof(err)), LT_EINVAL);
    cfg.cpu_isa = NULL;
    cfg.threads = 1;
    ck_assert_int_eq(lt_accel_open(&cfg, &a, err, sizeof(err)), 0);
    struct lt_cell_geom g = {NF};
    ck_assert_int_eq(lt_accel_add_cell(a, 0, &g, err, sizeof(err)), LT_EINVAL); /* no weights */
    ck_assert_int_eq(lt_accel_load_weights(a, &WTS, err, sizeof(err)), 0);
    ck_assert_int_eq(lt_accel_set_candidate_params(a, 40000, 1, 2, err, sizeof(err)), LT_ERANGE);
    struct lt_cell_geom bad = {0};
    ck_assert_int_eq(lt_accel_add_cell(a, 0, &bad, err, sizeof(err)), LT_ERANGE);
    ck_assert_int_eq(lt_accel_add_cell(a, 0, &g, err, sizeof(err)), 0);
    ck_assert_int_eq(lt_accel_add_cell(a, 1, &g, err, sizeof(err)), LT_EFULL);
    ck_assert_int_eq(lt_accel_submit(a, 1, &FR[0][0][0], 1), LT_EINVAL);
    ck_assert_int_eq(lt_accel_submit(a, 0, &FR[0][0][0], BLOCK + 1), LT_EINVAL);
    struct lt_accel_result r;
    uint32_t dropped;
    /* blocks 0 then 2: a gap of BLOCK periods restarts the kernel and is counted */
    ck_assert_int_eq(lt_accel_submit(a, 0, &FR[0][0][0], BLOCK), 0);
    ck_assert_int_eq(lt_accel_collect(a, 0, GOT, 4096, &r, &dropped), 0);
    ck_assert_uint_eq(r.time_gaps, 0);
    uint64_t wm0 = r.watermark;
    ck_assert_int_eq(lt_accel_submit(a, 0, &FR[0][2 * BLOCK][0], BLOCK), 0);
    ck_assert_int_eq(lt_accel_collect(a, 0, GOT, 4096, &r, &dropped), 0);
    ck_assert_uint_eq(r.time_gaps, 1);
    ck_assert_uint_gt(r.watermark, wm0);
    ck_assert_uint_ge(r.watermark, FR[0][2 * BLOCK][0].daq_header[1]);
    /* a stream whose timestamp disagrees with its period is counted */
    static lt_wibeth_frame odd[BLOCK][NS];
    memcpy(odd, &FR[0][3 * BLOCK][0], sizeof(odd));
    odd[1][3].daq_header[1] += 1;
    ck_assert_int_eq(lt_accel_submit(a, 0, &odd[0][0], BLOCK), 0);
    ck_assert_int_eq(lt_accel_collect(a, 0, GOT, 0, &r, &dropped), 0);
    ck_assert_uint_eq(r.ts_mismatch, 1);
    ck_assert_uint_eq(r.n_candidates, 0); /* max 0: whatever was found is counted as dropped */
    ck_assert_uint_eq(dropped, (uint32_t)(dropped));
    lt_accel_close(a);
}
END_TEST

/* Physics sanity of the CNN weights (kernels/weights/cnn.ltw):
 * white noise of ~3 ADC rms alone gives no candidate; a MIP-like track (20 ADC peak, 5 samples,
 * across all 144 wires at one time) gives one. */
START_TEST(default_weights_quiet_on_noise_fire_on_track)
{
    char path[1024], err[256];
    snprintf(path, sizeof(path), "%s/kernels/weights/cnn.ltw", LARTRIG_SOURCE_DIR);
    ck_assert_int_eq(lt_weights_load(path, &WTS, err, sizeof(err)), 0);
    if (strncmp(WTS.name, "hand-made", 9) != 0) {
        /* A trained network has its own physics checks (tools/train); these numbers are the
         * hand-made design's. */
        fprintf(stderr,
                "test_accel_cpu: weights \"%s\" are not the hand-made ones: physics "
                "sanity check skipped\n",
                WTS.name);
        return;
    }
    enum { P = NBLOCKS * BLOCK };
    static uint16_t adc[64][64];
    for (int track = 0; track < 2; track++) {
        for (int p = 0; p < P; p++)
            for (int s = 0; s < NS; s++) {
                for (int t = 0; t < 64; t++)
                    for (int c = 0; c < 64; c++) {
                        /* sum of 3 uniforms: ~Gaussian, rms 3.2 ADC */
                        int n = (int)(rnd() % 7) + (int)(rnd() % 7) + (int)(rnd() % 7) - 9;
                        adc[t][c] = (uint16_t)(900 + c + n);
                    }
                if (track && p == P - 6 && s % 2 == 1) { /* X wires: channels 16..63, odd streams */
                    static const int shape[5] = {6, 15, 20, 12, 5};
                    for (int c = 16; c < 64; c++)
                        for (int k = 0; k < 5; k++)
                            adc[30 + k][c] = (uint16_t)(adc[30 + k][c] + shape[k]);
                }
                lt_wibeth_frame *f = &FR[0][p][s];
                memset(f, 0, sizeof(*f));
                lt_wibeth_pack(f, adc);
                f->daq_header[1] = 1000000ULL + (uint64_t)p * 2048U;
            }
        reference(0);
        /* The pedestal trackers start from the first column and converge at 1/16 ADC per column:
         * candidates in the first 64 columns (0.5 ms) are the documented start-up transient. */
        const uint64_t settled = 1000000ULL + 64U * 512U;
        uint32_t n = 0;
        for (int b = 0; b < NBLOCKS; b++)
            for (uint32_t i = 0; i < REF_B[b].n_candidates; i++)
                n += REF_C[b][i].time_start >= settled;
        struct lt_candidate last[64];
        uint32_t nl = lt_kernel_cell_flush(&REF, last, 64);
        for (uint32_t i = 0; i < nl; i++) n += last[i].time_start >= settled;
        if (!track) {
            ck_assert_msg(n == 0, "noise alone gave %u candidates", n);
        } else {
            ck_assert_msg(n == 1, "a track gave %u candidates", n);
        }
    }
}
END_TEST

/* One thread per cell submitting and collecting its own slot at the same time as the others (the
 * way trigd drives it), more cells than workers: every cell still gets exactly the reference. */
struct producer {
    struct lt_accel *a;
    int cell;
    int ok;
    uint32_t n[3][NBLOCKS];
    struct lt_candidate c[3][NBLOCKS][256];
    uint64_t wm[3][NBLOCKS];
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    struct lt_accel_result r;
    uint32_t dropped;
    p->ok = 1;
    for (int rep = 0; rep < 3; rep++) /* the same data again after a time gap: a restart */
        for (int b = 0; b < NBLOCKS; b++) {
            int rc;
            while ((rc = lt_accel_submit(p->a, p->cell, &FR[p->cell][b * BLOCK][0], BLOCK)) ==
                   LT_EFULL) {
                if (lt_accel_collect(p->a, p->cell, GOT_T[p->cell], 256, &r, &dropped) != 0)
                    p->ok = 0;
            }
            if (rc != 0) p->ok = 0;
            if (lt_accel_collect(p->a, p->cell, p->c[rep][b], 256, &r, &dropped) != 0 || dropped)
                p->ok = 0;
            p->n[rep][b] = r.n_candidates;
            p->wm[rep][b] = r.watermark;
        }
    return NULL;
}

START_TEST(concurrent_cells)
{
    char path[1024], err[256];
    snprintf(path, sizeof(path), "%s/kernels/weights/cnn.ltw", LARTRIG_SOURCE_DIR);
    ck_assert_int_eq(lt_weights_load(path, &WTS, err, sizeof(err)), 0);
    make_data();
    struct lt_accel_config cfg = {0};
    cfg.backend = "cpu";
    cfg.threads = 2;
    cfg.max_cells = NCELLS;
    cfg.max_block_periods = BLOCK;
    struct lt_accel *a;
    ck_assert_int_eq(lt_accel_open(&cfg, &a, err, sizeof(err)), 0);
    ck_assert_int_eq(lt_accel_load_weights(a, &WTS, err, sizeof(err)), 0);
    struct lt_cell_geom g = {NF};
    static struct producer prod[NCELLS];
    pthread_t th[NCELLS];
    for (int c = 0; c < NCELLS; c++) {
        ck_assert_int_eq(lt_accel_add_cell(a, (uint32_t)c, &g, err, sizeof(err)), c);
        prod[c].a = a;
        prod[c].cell = c;
    }
    for (int c = 0; c < NCELLS; c++)
        ck_assert_int_eq(pthread_create(&th[c], NULL, produce, &prod[c]), 0);
    for (int c = 0; c < NCELLS; c++) pthread_join(th[c], NULL);
    lt_accel_close(a);
    for (int c = 0; c < NCELLS; c++) {
        ck_assert(prod[c].ok);
        reference(c);
        /* Each repetition restarts (time goes back: a gap), so it equals the reference, except
         * that its first block also carries the candidates the restart flushed. */
        for (int rep = 0; rep < 3; rep++)
            for (int b = 0; b < NBLOCKS; b++) {
                ck_assert_uint_le(REF_B[b].n_candidates, prod[c].n[rep][b]);
                uint32_t extra = prod[c].n[rep][b] - REF_B[b].n_candidates;
                if (rep == 0 || b > 0) ck_assert_uint_eq(extra, 0);
                ck_assert_uint_eq(prod[c].wm[rep][b], REF_B[b].watermark);
                ck_assert(memcmp(prod[c].c[rep][b] + extra, REF_C[b],
                                 REF_B[b].n_candidates * sizeof(struct lt_candidate)) == 0);
            }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("accel_cpu");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, default_weights_all_isas);
    tcase_add_test(tc, random_networks_all_isas);
    tcase_add_test(tc, interface_errors_and_gaps);
    tcase_add_test(tc, default_weights_quiet_on_noise_fire_on_track);
    tcase_add_test(tc, concurrent_cells);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
