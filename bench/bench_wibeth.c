/* Throughput of the WIBEth 14-bit pack and unpack (the per-frame hot path of the simulator and
 * the kernel's preprocess stage). Prints samples/s (one sample = 64 channels) and GB/s of frames.
 * Usage: bench_wibeth [frames]   (default 200000) */
#include "lt_clock.h"
#include "wibeth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING 64 /* frames cycled through so the data is not all in L1 */

static lt_wibeth_frame frames[RING];
static uint16_t adc[RING][LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS];

static void report(const char *what, long n, double dt)
{
    double samples = (double)n * LT_WIBETH_SAMPLES;
    printf("%-13s %8ld frames in %.3f s: %.3g samples/s, %.3g frames/s, %.2f GB/s of frames\n",
           what, n, dt, samples / dt, (double)n / dt, (double)n * LT_WIBETH_FRAME_SIZE / dt / 1e9);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    if (n <= 0) {
        fprintf(stderr, "usage: %s [frames]\n", argv[0]);
        return 2;
    }
    uint32_t x = 12345;
    for (int f = 0; f < RING; f++)
        for (unsigned s = 0; s < LT_WIBETH_SAMPLES; s++)
            for (unsigned c = 0; c < LT_WIBETH_CHANNELS; c++) {
                x = x * 1664525u + 1013904223u;
                adc[f][s][c] = (uint16_t)(x >> 18);
            }
    memset(frames, 0, sizeof frames);

    printf("dispatched path: %s\n", lt_wibeth_pack_impl());
    double t0 = lt_mono_s();
    for (long i = 0; i < n; i++) lt_wibeth_pack(&frames[i % RING], adc[i % RING]);
    report("pack", n, lt_mono_s() - t0);
    t0 = lt_mono_s();
    for (long i = 0; i < n; i++) lt_wibeth_pack_scalar(&frames[i % RING], adc[i % RING]);
    report("pack-scalar", n, lt_mono_s() - t0);

    unsigned long check = 0;
    t0 = lt_mono_s();
    for (long i = 0; i < n; i++) {
        lt_wibeth_unpack(&frames[i % RING], adc[i % RING]);
        check += adc[i % RING][i % 64][i % 64];
    }
    report("unpack", n, lt_mono_s() - t0);
    t0 = lt_mono_s();
    for (long i = 0; i < n; i++) {
        lt_wibeth_unpack_scalar(&frames[i % RING], adc[i % RING]);
        check += adc[i % RING][i % 64][i % 64];
    }
    report("unpack-scalar", n, lt_mono_s() - t0);
    /* one cell = 40 streams x 30518 frames/s (62.5 MHz / 2048 ticks per frame) */
    printf("(a full cell needs %.0f frames/s; checksum %lu)\n", 40.0 * 62.5e6 / 2048.0, check);
    return 0;
}
