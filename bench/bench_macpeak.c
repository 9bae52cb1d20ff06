/* Multiply-accumulate peak of this core, register-only: loops of independent int16 (vpmaddwd +
 * vpaddd on AVX2, vpdpwssd on AVX-512 VNNI) and int8 (vpdpbusd) multiply-adds with no memory
 * traffic, the ceiling the conv kernels are measured against (docs/performance.md "Kernel").
 *
 * Usage: bench_macpeak [seconds-per-test (default 0.5)] */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lt_clock.h"

#define NACC  12 /* independent chains: enough to cover latency x throughput */
#define INNER 1000
/* An empty asm that "modifies" a register operand: the compiler must redo every multiply
 * instead of computing the loop-invariant product once (which it does otherwise). Costs no
 * instruction. */
#define OPAQUE(v) __asm__ volatile("" : "+v"(v))

/* Each returns a value derived from the accumulators so the compiler cannot drop the loop. */
__attribute__((target("avx2"))) static int32_t run_avx2_madd(uint64_t iters)
{
    __m256i acc[NACC];
    __m256i a = _mm256_set1_epi16(3), b = _mm256_set1_epi16(-2);
#pragma GCC unroll 16
    for (int i = 0; i < NACC; i++) acc[i] = _mm256_set1_epi32(i);
    for (uint64_t it = 0; it < iters; it++) {
        for (int k = 0; k < INNER; k++) {
            OPAQUE(a);
#pragma GCC unroll 16
            for (int i = 0; i < NACC; i++) {
                OPAQUE(a);
                acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(a, b));
            }
        }
        __asm__ volatile("" : "+x"(a), "+x"(b));
    }
    int32_t s = 0;
#pragma GCC unroll 16
    for (int i = 0; i < NACC; i++) s += _mm256_extract_epi32(acc[i], 0);
    return s;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static int32_t
run_avx512_dpwssd(uint64_t iters)
{
    __m512i acc[NACC];
    __m512i a = _mm512_set1_epi16(3), b = _mm512_set1_epi16(-2);
#pragma GCC unroll 16
    for (int i = 0; i < NACC; i++) acc[i] = _mm512_set1_epi32(i);
    for (uint64_t it = 0; it < iters; it++) {
        for (int k = 0; k < INNER; k++) {
#pragma GCC unroll 16
            for (int i = 0; i < NACC; i++) {
                OPAQUE(a);
                acc[i] = _mm512_dpwssd_epi32(acc[i], a, b);
            }
        }
        __asm__ volatile("" : "+v"(a), "+v"(b));
    }
    int32_t s = 0;
#pragma GCC unroll 16
    for (int i = 0; i < NACC; i++) s += _mm512_reduce_add_epi32(acc[i]);
    return s;
}

__attribute__((target("avx512f,avx512bw"))) static int32_t run_avx512_madd(uint64_t iters)
{
    __m512i acc[NACC];
    __m512i a = _mm512_set1_epi16(3), b = _mm512_set1_epi16(-2);
#pragma GCC unroll 16
    for (int i = 0; i < NACC; i++) acc[i] = _mm512_set1_epi32(i);
    for (uint64_t it = 0; it < iters; it++) {
        for (int k = 0; k < INNER; k++) {
            OPAQUE(a);
#pragma GCC unroll 16
            for (int i = 0; i < NACC; i++) {
                OPAQUE(a);
                acc[i] = _mm512_add_epi32(acc[i], _mm512_madd_epi16(a, b));
            }
        }
        __asm__ volatile("" : "+v"(a), "+v"(b));
    }
    int32_t s = 0;
#pragma GCC unroll 16
    for (int i = 0; i < NACC; i++) s += _mm512_reduce_add_epi32(acc[i]);
    return s;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static int32_t
run_avx512_dpbusd(uint64_t iters)
{
    __m512i acc[NACC];
    __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
#pragma GCC unroll 16
    for (int i = 0; i < NACC; i++) acc[i] = _mm512_set1_epi32(i);
    for (uint64_t it = 0; it < iters; it++) {
        for (int k = 0; k < INNER; k++) {
#pragma GCC unroll 16
            for (int i = 0; i < NACC; i++) {
                OPAQUE(a);
                acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
            }
        }
        __asm__ volatile("" : "+v"(a), "+v"(b));
    }
    int32_t s = 0;
#pragma GCC unroll 16
    for (int i = 0; i < NACC; i++) s += _mm512_reduce_add_epi32(acc[i]);
    return s;
}

struct test {
    const char *name;
    const char *isa;
    int (*supported)(void);
    int32_t (*run)(uint64_t);
    double macs_per_op; /* multiply-accumulates per instruction (per accumulator update) */
};

static int has_avx2(void)
{
    return __builtin_cpu_supports("avx2");
}
static int has_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}
static int has_vnni(void)
{
    return has_avx512() && __builtin_cpu_supports("avx512vnni");
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.5;
    if (secs <= 0) secs = 0.5;
    __builtin_cpu_init();
    const struct test tests[] = {
        {"int16 vpmaddwd+vpaddd ymm", "avx2", has_avx2, run_avx2_madd, 16},
        {"int16 vpmaddwd+vpaddd zmm", "avx512", has_avx512, run_avx512_madd, 32},
        {"int16 vpdpwssd zmm (VNNI)", "avx512", has_vnni, run_avx512_dpwssd, 32},
        {"int8  vpdpbusd zmm (VNNI)", "avx512", has_vnni, run_avx512_dpbusd, 64},
    };
    printf("%-28s %8s %12s\n", "instruction", "isa", "GMAC/s");
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (!tests[i].supported()) {
            printf("%-28s %8s %12s\n", tests[i].name, tests[i].isa, "n/a");
            continue;
        }
        /* calibrate, then take the best of 3 runs (other users share this machine) */
        uint64_t iters = 10;
        /* Thread CPU time: the machine is shared, the figure is per core. */
        double t0 = lt_thread_cpu_s();
        volatile int32_t sink = tests[i].run(iters);
        double dt = lt_thread_cpu_s() - t0;
        iters = (uint64_t)(iters * secs / (dt > 1e-6 ? dt : 1e-6)) + 1;
        double best = 0;
        for (int r = 0; r < 3; r++) {
            t0 = lt_thread_cpu_s();
            sink = tests[i].run(iters);
            dt = lt_thread_cpu_s() - t0;
            double g = (double)iters * INNER * NACC * tests[i].macs_per_op / dt / 1e9;
            if (g > best) best = g;
        }
        (void)sink;
        printf("%-28s %8s %12.1f\n", tests[i].name, tests[i].isa, best);
    }
    return 0;
}
