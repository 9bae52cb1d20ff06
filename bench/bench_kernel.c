/* Per-core throughput of the per-cell kernel on one full cell (20 FEMBs: 40 streams, 960
 * collection wires) at the given weights (default: kernels/weights/default.ltw), for every
 * instruction set this CPU offers. Single thread: the figure is per core. Reports the whole
 * kernel and its stages (preprocess = unpack + downsample + pedestal; cnn = the network on
 * precomputed columns), as input samples/s (X wires x samples), the real-time factor against one
 * cell's 960 x 1.953125 MHz = 1.875e9 samples/s, and the conv's multiply-accumulates/s. Then the
 * TP/TA baseline (kernel.algorithm = "tp") on the same frames at d = 0..3.
 *
 * Usage: bench_kernel [weights.ltw] [seconds-per-measurement (default 1)] [isa] [whole]
 * (default weights: $LARTRIG_SOURCE_DIR or . /kernels/weights/default.ltw; "whole" times only the
 * whole kernel and skips the TP/TA baseline, for profiling it with perf) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend_cpu.h"
#include "kernel_top.h"
#include "lt_clock.h"
#include "ticks.h"
#include "weights.h"

#define NF                 20
#define NS                 (NF * 2)
#define PERIODS            32 /* 2048 samples, 9.2 MB of frames: streamed from memory as in real life */
#define CELL_SAMPLES_PER_S (960.0 * (double)LT_SAMPLE_RATE_HZ)

static lt_wibeth_frame FR[PERIODS][NS];
static struct lt_weights WTS;
static int16_t COLS[PERIODS * 64][LT_KERNEL_MAX_WIRES];
static struct lt_candidate CANDS[1 << 16];

static uint64_t rs = 7;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 20);
}

static void make_frames(void)
{
    static uint16_t adc[64][64];
    for (int p = 0; p < PERIODS; p++)
        for (int s = 0; s < NS; s++) {
            for (int t = 0; t < 64; t++)
                for (int c = 0; c < 64; c++) adc[t][c] = (uint16_t)(900 + (int)(rnd() % 11) - 5);
            if (rnd() % 4 == 0) { /* a blip now and then, so candidates are found */
                int c0 = 16 + (int)(rnd() % 40), t0 = (int)(rnd() % 48);
                for (int t = t0; t < t0 + 12; t++)
                    for (int c = c0; c < c0 + 4 && c < 64; c++)
                        adc[t][c] = (uint16_t)(adc[t][c] + 60);
            }
            memset(&FR[p][s], 0, sizeof(FR[p][s]));
            lt_wibeth_pack(&FR[p][s], adc);
        }
}

static void stamp(uint64_t t0)
{
    for (int p = 0; p < PERIODS; p++)
        for (int s = 0; s < NS; s++) FR[p][s].daq_header[1] = t0 + (uint64_t)p * LT_TICKS_PER_FRAME;
}

struct figures {
    double kernel_s, pre_s, cnn_s; /* seconds per PERIODS periods */
    uint64_t cands;
};

/* One full cell with the weights packed and the isa's stages installed (as the cpu backend does).
 */
static struct lt_kernel_cell *new_cell(enum lt_cpu_isa isa)
{
    struct lt_kernel_cell *k = aligned_alloc(64, (sizeof(*k) + 63) & ~(size_t)63);
    static int32_t packed[LT_KERNEL_MAX_LAYERS][LT_KERNEL_MAX_WEIGHTS];
    memset(k, 0, sizeof(*k));
    struct lt_cell_geom g = {NF};
    struct lt_cand_params cp = {WTS.net.threshold, 1, 2};
    char err[256];
    if (lt_kernel_cell_init(k, 1, &g, &cp, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    for (uint32_t l = 0; l < WTS.net.n_layers; l++) {
        lt_cpu_pack_layer(&WTS.net, l, packed[l]);
        k->cnn.packed[l] = packed[l];
    }
    lt_cpu_install(isa, &WTS.net, &k->cnn, &k->pre);
    return k;
}

/* Best thread-CPU seconds of lt_kernel_process over PERIODS periods, time continuous. */
static double time_kernel(struct lt_kernel_cell *k, double secs, uint64_t *cands)
{
    uint64_t t0 = 1000000, reps = 0;
    struct lt_kernel_block res;
    double best = 1e30;
    *cands = 0;
    /* Thread CPU time, not wall time: the machine is shared, and a figure per core must not
     * count the time other processes had the core. */
    double end = lt_thread_cpu_s() + secs;
    do {
        stamp(t0 + reps * PERIODS * LT_TICKS_PER_FRAME);
        double a = lt_thread_cpu_s();
        lt_kernel_process(k, &WTS.net, &FR[0][0], PERIODS, CANDS, 1 << 16, &res, NULL, 0);
        double b = lt_thread_cpu_s() - a;
        if (b < best) best = b;
        *cands += res.n_candidates;
        reps++;
    } while (lt_thread_cpu_s() < end);
    return best;
}

static void measure(enum lt_cpu_isa isa, double secs, int whole_only, struct figures *fg)
{
    struct lt_kernel_cell *k = new_cell(isa);

    /* whole kernel, continuous time across repetitions */
    fg->kernel_s = time_kernel(k, secs, &fg->cands);
    fg->pre_s = fg->cnn_s = fg->kernel_s;
    if (whole_only) {
        free(k);
        return;
    }

    /* preprocess alone */
    double best = 1e30;
    double end = lt_thread_cpu_s() + secs;
    do {
        double a = lt_thread_cpu_s();
        uint32_t ncol = 0;
        for (int p = 0; p < PERIODS; p++)
            ncol += lt_pre_period(&k->pre, &k->map, FR[p], &COLS[ncol]);
        double b = lt_thread_cpu_s() - a;
        if (b < best) best = b;
    } while (lt_thread_cpu_s() < end);
    fg->pre_s = best;

    /* network alone on those columns */
    uint32_t ncols = PERIODS * (64U >> WTS.net.d);
    best = 1e30;
    end = lt_thread_cpu_s() + secs;
    do {
        double a = lt_thread_cpu_s();
        for (uint32_t c = 0; c < ncols; c++) lt_cnn_push(&k->cnn, &WTS.net, COLS[c], k->score);
        double b = lt_thread_cpu_s() - a;
        if (b < best) best = b;
    } while (lt_thread_cpu_s() < end);
    fg->cnn_s = best;
    free(k);
}

int main(int argc, char **argv)
{
    char path[1024], err[512];
    if (argc > 1)
        snprintf(path, sizeof(path), "%s", argv[1]);
    else { /* run from the source tree, or point LARTRIG_SOURCE_DIR at it */
        const char *src = getenv("LARTRIG_SOURCE_DIR");
        snprintf(path, sizeof(path), "%s/kernels/weights/default.ltw", src ? src : ".");
    }
    double secs = argc > 2 ? atof(argv[2]) : 1.0;
    if (lt_weights_load(path, &WTS, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_kernel: %s\n", err);
        return 1;
    }
    make_frames();
    const double samples = 960.0 * 64.0 * PERIODS;
    const double cols = PERIODS * (64U >> WTS.net.d);
    const double macs = lt_kernel_macs_per_column(&WTS.net, 960) * cols;
    printf("weights \"%s\": d=%u, %u layers, %.0f MAC per input column of 960 wires\n", WTS.name,
           WTS.net.d, WTS.net.n_layers, lt_kernel_macs_per_column(&WTS.net, 960));
    printf("one full cell (960 X wires, 40 streams), %d frame periods per call, single thread, "
           "best of %.1f s\n\n",
           PERIODS, secs);
    printf("%-7s %10s %8s | %10s %8s | %10s %8s %9s\n", "isa", "kernel S/s", "x rt", "prep S/s",
           "x rt", "cnn S/s", "x rt", "GMAC/s");
    int only = argc > 3 ? lt_cpu_isa_parse(argv[3]) : -1; /* profile one isa */
    int whole_only = argc > 4 && strcmp(argv[4], "whole") == 0;
    for (int i = 0; i <= 2; i++) {
        enum lt_cpu_isa isa = (enum lt_cpu_isa)i;
        if (only >= 0 && i != only) continue;
        if (!lt_cpu_isa_supported(isa)) {
            printf("%-7s (not supported by this CPU)\n", lt_cpu_isa_name(isa));
            continue;
        }
        struct figures fg;
        measure(isa, secs, whole_only, &fg);
        double ks = samples / fg.kernel_s, ps = samples / fg.pre_s, cs = samples / fg.cnn_s;
        printf("%-7s %10.3g %8.3f | %10.3g %8.3f | %10.3g %8.3f %9.2f\n", lt_cpu_isa_name(isa), ks,
               ks / CELL_SAMPLES_PER_S, ps, ps / CELL_SAMPLES_PER_S, cs, cs / CELL_SAMPLES_PER_S,
               macs / fg.cnn_s / 1e9);
    }
    printf("\nS/s = input samples (wire x sample) per second; x rt = real-time factor for one cell "
           "(%.4g S/s)\n",
           CELL_SAMPLES_PER_S);
    if (whole_only) return 0;

    /* The TP/TA baseline (kernel.algorithm = "tp", docs/kernel.md) on the same frames, at the
     * configuration's defaults but each downsampling d, with the best isa's preprocess. */
    enum lt_cpu_isa best_isa = LT_CPU_SCALAR;
    for (int i = 0; i <= 2; i++)
        if ((only < 0 || i == only) && lt_cpu_isa_supported((enum lt_cpu_isa)i))
            best_isa = (enum lt_cpu_isa)i;
    printf("\nTP/TA baseline (threshold 15 ADC, adjacency 3 wires / 5 us), %s preprocess:\n",
           lt_cpu_isa_name(best_isa));
    printf("%-3s %10s %8s %12s\n", "d", "kernel S/s", "x rt", "candidates");
    for (uint32_t d = 0; d <= 3; d++) {
        struct lt_kernel_cell *k = new_cell(best_isa);
        struct lt_tp_params tp = {.d = d,
                                  .threshold_x = 15 * LT_TP_X_PER_ADC,
                                  .adj_wires = 3,
                                  .adj_ticks = 312, /* 5 us */
                                  .min_hits = 1,
                                  .min_score = 50,
                                  .score_unit = 10};
        lt_kernel_cell_set_tp(k, &tp);
        uint64_t cands;
        double t = time_kernel(k, secs, &cands);
        printf("%-3u %10.3g %8.3f %12llu\n", d, samples / t, samples / t / CELL_SAMPLES_PER_S,
               (unsigned long long)cands);
        free(k);
    }
    return 0;
}
