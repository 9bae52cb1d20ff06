/* Time in lartrig: every timestamp is a uint64 count of 62.5 MHz DAQ clock ticks (16 ns), as in
 * DUNE-DAQ. One ADC sample is 32 ticks (512 ns); one WIBEth frame holds 64 samples (2048 ticks). */
#ifndef LARTRIG_TICKS_H
#define LARTRIG_TICKS_H

#include <stdint.h>

#define LT_CLOCK_HZ          62500000ULL
#define LT_TICKS_PER_SAMPLE  32U
#define LT_SAMPLES_PER_FRAME 64U
#define LT_TICKS_PER_FRAME   (LT_TICKS_PER_SAMPLE * LT_SAMPLES_PER_FRAME) /* 2048 */
#define LT_SAMPLE_RATE_HZ    (LT_CLOCK_HZ / LT_TICKS_PER_SAMPLE)          /* 1953125 */
/* Maximum electron drift time: the readout window a trigger record covers by default. */
#define LT_DRIFT_WINDOW_TICKS 140625ULL /* 2.25 ms */

typedef uint64_t lt_ticks;

static inline double lt_ticks_to_seconds(lt_ticks t)
{
    return (double)t / (double)LT_CLOCK_HZ;
}

static inline lt_ticks lt_seconds_to_ticks(double s)
{
    return s <= 0.0 ? 0 : (lt_ticks)(s * (double)LT_CLOCK_HZ + 0.5);
}

static inline lt_ticks lt_samples_to_ticks(uint64_t samples)
{
    return samples * LT_TICKS_PER_SAMPLE;
}

/* Sample index of a timestamp (floor): the sample that contains tick t. */
static inline uint64_t lt_ticks_to_samples(lt_ticks t)
{
    return t / LT_TICKS_PER_SAMPLE;
}

#endif
