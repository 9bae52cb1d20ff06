/* Stage 1 of the per-cell kernel: from a cell's WIBEth frames to the collection-plane image
 * (docs/kernel.md "Input"). Per frame period: unpack the 14-bit ADCs of the streams that carry X
 * wires, sum them over D = 2^d samples per column, pick the X wires in wire order, track and
 * subtract each wire's pedestal, requantise to int16 activations. 64 / D columns per period.
 *
 * The X-wire table (stream, channel per wire) comes from lib/formats/chmap.h once, at setup; the
 * hot path only walks arrays. Fixed-size state, no allocation: the HLS subset. */
#ifndef LARTRIG_KERNEL_PREPROCESS_H
#define LARTRIG_KERNEL_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "chmap.h"
#include "kernel_arch.h"
#include "wibeth.h"

#define LT_PRE_COLS_MAX LT_WIBETH_SAMPLES /* columns per period at D = 1 */

/* Which streams carry X wires and where each wire is. */
struct lt_pre_map {
    uint32_t n_wires;                            /* X wires of the cell, 48 * n_fembs */
    uint32_t n_streams;                          /* all streams of the cell (frames per period) */
    uint32_t n_used;                             /* streams holding at least one X wire */
    uint8_t used_stream[LT_KERNEL_MAX_STREAMS];  /* stream index of used stream u */
    uint64_t used_chmask[LT_KERNEL_MAX_STREAMS]; /* bit c set: channel c of used stream u is X */
    uint8_t wire_used[LT_KERNEL_MAX_WIRES];      /* used-stream index u of wire j */
    uint8_t wire_chan[LT_KERNEL_MAX_WIRES];      /* channel of wire j in its stream */
    /* The same, grouped by used stream: wires used_wire[u][k] at channels used_chan[u][k]. */
    uint8_t used_nwires[LT_KERNEL_MAX_STREAMS];
    uint16_t used_wire[LT_KERNEL_MAX_STREAMS][LT_WIBETH_CHANNELS];
    uint8_t used_chan[LT_KERNEL_MAX_STREAMS][LT_WIBETH_CHANNELS];
    /* Stream u's X channels are whole 16-channel groups and channel ch is wire
     * used_wire0[u] + ch - used_ch0[u]: unpack straight into wire order, no scatter. True for
     * lib/formats/chmap.h's map (channels 16..63 of every odd stream). */
    uint8_t used_direct[LT_KERNEL_MAX_STREAMS];
    uint8_t used_ch0[LT_KERNEL_MAX_STREAMS];
    uint16_t used_wire0[LT_KERNEL_MAX_STREAMS];
};

/* Build the table through lt_chmap_reverse. 0 or a negative lt_error. Runs on the host at setup
 * (the FPGA receives the finished table). */
int lt_pre_map_build(struct lt_pre_map *m, const struct lt_cell_geom *g, char *err, size_t errlen);

/* Per-frame unpack-and-sum: dst[c * stride + ch - ch0] = sum of the D samples of column c of
 * channel ch, for every channel ch in chmask (all >= ch0). The scalar version is the reference
 * and writes exactly those; vectorised ones (installed by the cpu backend) may also write the other
 * channels of any 16-channel group that has one in chmask, which is why writing straight into
 * wire order (lt_pre_map.used_direct) needs whole groups. `next` (NULL: none) is the frame the
 * caller unpacks next: a vectorised version may prefetch it a little at a time meanwhile. */
typedef void (*lt_pre_unpack_fn)(const lt_wibeth_frame *f, uint32_t d, uint64_t chmask,
                                 uint32_t ch0, uint32_t *dst, uint32_t stride,
                                 const lt_wibeth_frame *next);
void lt_pre_unpack_sum_scalar(const lt_wibeth_frame *f, uint32_t d, uint64_t chmask, uint32_t ch0,
                              uint32_t *dst, uint32_t stride);

/* One column's pedestal step for n wires (docs/kernel.md): v = (wsum << 4) >> d, diff = v - ped,
 * ped += sign(diff), x = min(max(round_shift(diff, in_shift), -x_max - 1), x_max) with x_max =
 * 32767 (int16 activations) or 127 (int8, lt_kernel_in_max). */
typedef void (*lt_pre_column_fn)(const uint32_t *wsum, int32_t *ped, int16_t *x, uint32_t n,
                                 uint32_t d, uint32_t in_shift, int32_t x_max);
void lt_pre_column_scalar(const uint32_t *wsum, int32_t *ped, int16_t *x, uint32_t n, uint32_t d,
                          uint32_t in_shift, int32_t x_max);

struct lt_pre_state {
    uint8_t d, in_shift;
    uint8_t started;                  /* pedestals initialised from the first column */
    int16_t x_max;                    /* input saturation: 32767 or 127 (8-bit activations) */
    int32_t ped[LT_KERNEL_MAX_WIRES]; /* 1/16 ADC */
    uint32_t sums[LT_PRE_COLS_MAX][LT_WIBETH_CHANNELS];  /* one stream's column sums */
    uint32_t wsum[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES]; /* column sums in wire order */
#ifndef __SYNTHESIS__
    lt_pre_unpack_fn unpack; /* NULL: the scalar reference (the same for column) */
    lt_pre_column_fn column;
#endif
};

/* Start afresh (pedestals re-learnt from the next column); x_max from lt_kernel_in_max. */
void lt_pre_reset(struct lt_pre_state *st, uint32_t d, uint32_t in_shift, int32_t x_max);

/* One frame period: frames[stream] for all m->n_streams streams of the cell. Writes 64 / D
 * columns x[c][0 .. n_wires-1] and returns that number. */
uint32_t lt_pre_period(struct lt_pre_state *st, const struct lt_pre_map *m,
                       const lt_wibeth_frame *frames,
                       int16_t x[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES]);

/* The second half of lt_pre_period: pedestal tracking and requantisation of one period's column
 * sums wsum[c][wire] (what the unpack makes; the fast background path of bench_fakerate makes
 * them directly). Returns the number of columns, 64 / D. */
uint32_t lt_pre_columns(struct lt_pre_state *st, const struct lt_pre_map *m,
                        uint32_t wsum[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES],
                        int16_t x[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES]);

/* The arithmetic helpers of docs/kernel.md, shared by every stage. */
static inline int32_t lt_round_shift32(int32_t a, uint32_t s)
{
    /* floor((a + 2^(s-1)) / 2^s) without forming a + 2^(s-1), which could overflow. */
    return s == 0 ? a : (a >> s) + ((a >> (s - 1)) & 1);
}
static inline int16_t lt_sat16(int32_t a)
{
    return (int16_t)(a < -32768 ? -32768 : a > 32767 ? 32767 : a);
}

#endif
