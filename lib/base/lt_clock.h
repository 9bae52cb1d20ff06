/* The process's one monotonic clock (CLOCK_MONOTONIC): time-outs, rates, uptimes, rate limits
 * and benchmarks all read it through these helpers, so every duration in lartrig is measured on
 * the same clock and in the same units. It is not the DAQ clock (ticks.h: data timestamps) and
 * not wall time (log lines, file names and file attributes use CLOCK_REALTIME themselves).
 *
 * Threads: all functions are safe from any thread; they never block and never fail on Linux
 * (clock_gettime of CLOCK_MONOTONIC cannot fail with a valid pointer), so they are fine on the
 * per-frame path (vDSO, no syscall). */
#ifndef LARTRIG_LT_CLOCK_H
#define LARTRIG_LT_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds since an arbitrary start (boot); never goes backwards. */
static inline uint64_t lt_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t lt_mono_ms(void)
{
    return lt_mono_ns() / 1000000ULL;
}

/* Seconds, for human-scale durations and reports (double: ns resolution for ~100 days). */
static inline double lt_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The absolute CLOCK_MONOTONIC time `ms` from now, for pthread_cond_timedwait on a condition
 * variable created with pthread_condattr_setclock(CLOCK_MONOTONIC) and for clock_nanosleep. */
static inline struct timespec lt_mono_deadline(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000U);
    ts.tv_nsec += (long)(ms % 1000U) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* CPU seconds used by the calling thread (benchmarks on a shared machine measure per core). */
static inline double lt_thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
