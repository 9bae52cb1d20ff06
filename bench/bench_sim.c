/* Speed of the simulator on one core: channel-samples rendered per second (pedestal + white and
 * coherent noise + signals of the default physics mix), then render + pack into WIBEth frames.
 * Default physics = every default background and detector effect (docs/simulation.md).
 * Aim: >= 1e8 channel-samples/s for render. Also prints the fraction of real time one core
 * sustains for one cell (a full cell is 2560 x 1.953 MHz = 5e9 samples/s).
 * Usage: bench_sim [periods] [n_fembs]   (defaults 3000 periods ~ 98 ms of data, 20 boards) */
#include "lt_clock.h"
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void report(const char *what, struct lt_sim_cell *s, long periods, double wall, double dt)
{
    double samples = (double)periods * LT_SAMPLES_PER_FRAME * lt_sim_cell_channels(s);
    double sim_s = (double)periods * LT_TICKS_PER_FRAME / (double)LT_CLOCK_HZ;
    printf("%-12s %ld periods x %u channels in %.3f s CPU (%.3f s wall): %.3g samples/s per core, "
           "%.3f x real time, %.2f GB/s of frames\n",
           what, periods, lt_sim_cell_channels(s), dt, wall, samples / dt, sim_s / dt,
           (double)periods * lt_sim_cell_streams(s) * LT_WIBETH_FRAME_SIZE / dt / 1e9);
}

int main(int argc, char **argv)
{
    long periods = argc > 1 ? atol(argv[1]) : 3000;
    long fembs = argc > 2 ? atol(argv[2]) : 20;
    if (periods <= 0 || fembs < 1 || fembs > 20) {
        fprintf(stderr, "usage: %s [periods] [n_fembs 1..20]\n", argv[0]);
        return 2;
    }
    struct lt_sim_config c;
    lt_sim_config_default(&c);
    c.n_fembs = (uint32_t)fembs;
    char err[256];
    struct lt_sim_cell *a, *b;
    if (lt_sim_cell_create(&c, 0, &a, err, sizeof err) ||
        lt_sim_cell_create(&c, 0, &b, err, sizeof err)) {
        fprintf(stderr, "bench_sim: %s\n", err);
        return 1;
    }
    uint32_t n = lt_sim_cell_channels(a);
    uint16_t(*adc)[LT_SAMPLES_PER_FRAME] = calloc(n, sizeof *adc);
    lt_wibeth_frame *frames = calloc(lt_sim_cell_streams(a), sizeof *frames);
    if (!adc || !frames) return 1;

    double t0 = lt_mono_s(), c0 = lt_thread_cpu_s();
    for (long i = 0; i < periods; i++) lt_sim_cell_render(a, adc);
    report("render", a, periods, lt_mono_s() - t0, lt_thread_cpu_s() - c0);

    t0 = lt_mono_s();
    c0 = lt_thread_cpu_s();
    for (long i = 0; i < periods; i++) {
        lt_sim_cell_render(b, adc);
        lt_sim_cell_pack(b, (const uint16_t(*)[LT_SAMPLES_PER_FRAME])adc, frames);
    }
    report("render+pack", b, periods, lt_mono_s() - t0, lt_thread_cpu_s() - c0);

    struct lt_sim_stats st;
    lt_sim_cell_stats(b, &st);
    printf("events:");
    for (uint32_t k = 0; k < LT_TRUTH_KIND_COUNT; k++)
        printf("%s %s %llu", k ? "," : "", lt_truth_kind_name(k), (unsigned long long)st.events[k]);
    printf("; pulses %llu (dropped %llu), clamped samples %llu\n", (unsigned long long)st.pulses,
           (unsigned long long)st.pulses_dropped, (unsigned long long)st.samples_clamped);
    free(adc);
    free(frames);
    lt_sim_cell_destroy(a);
    lt_sim_cell_destroy(b);
    return 0;
}
