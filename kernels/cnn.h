/* Stage 2 of the per-cell kernel: the streaming, fully convolutional network (docs/kernel.md
 * "The network"). One input column (all wires of one downsampled tick) goes in; each layer keeps
 * a line buffer of its last kt columns, so continuous data is processed exactly once, with no
 * windows and no edges. A score column comes out every prod(pt) input columns.
 *
 * Line-buffer layout (int16, chosen so int16 multiply-add instructions - x86 pmaddwd/vpdpwssd, a
 * DSP pair on the FPGA - take two taps at once):
 *  - layer with Cin >= 2: channel pairs interleaved, row cp holds (x[2cp][p], x[2cp+1][p]) for
 *    every padded wire position p (an odd Cin pairs its last channel with zeros);
 *  - layer with Cin == 1: wire pairs, (x[p], x[p+1]), so two neighbouring wire taps pair up.
 * Wire j lives at p = j + LT_KERNEL_WPAD; the padding is zero and never written. */
#ifndef LARTRIG_KERNEL_CNN_H
#define LARTRIG_KERNEL_CNN_H

#include <stdint.h>

#include "kernel_arch.h"

#define LT_CNN_ROW       (2U * LT_KERNEL_WSTRIDE) /* int16 per line-buffer row (pairs) */
#define LT_CNN_MAX_PAIRS (LT_KERNEL_MAX_CH / 2U)

/* What a conv needs for one output column; the scalar version below is the reference and the
 * cpu backend may install vectorised ones computing the same integers. */
struct lt_conv_job {
    const struct lt_kernel_layer *L;
    const int8_t *w;     /* w[co][ci][dt][dw] */
    const int32_t *bias; /* bias[co] */
    const void *packed;  /* backend's repacked weights of this layer (NULL for scalar) */
    const int16_t *rows[LT_KERNEL_MAX_KT]; /* rows[dt]: line-buffer column t-kt+1+dt */
    int16_t *out;      /* out[co * LT_KERNEL_WSTRIDE + j], after shift, ReLU, saturation */
    int16_t *pool_out; /* a backend conv may write the wire-pooled output here instead (below) */
    int32_t lo, hi;    /* saturation range of the output (lt_kernel_out_range) */
    uint32_t n_wires;
    /* For a backend conv that also does the time pool and the next layer's line-buffer store
     * (return 2 below); the scalar path ignores them. */
    void *next_lb;     /* the next layer's line-buffer slot for its next column; NULL: last layer */
    int16_t *pending;  /* pending[co * LT_KERNEL_MAX_WIRES + j]: first column of a pt = 2 pool */
    uint32_t pt_phase; /* pt = 2: 0 for the first column of the pair, 1 for the second */
};
/* A backend conv returns 0 when it wrote `out`; 1 when it also did the wire max-pool and wrote
 * pool_out[co * LT_KERNEL_MAX_WIRES + j] for j < n_wires / pw (what lt_pool_w_scalar gives); 2
 * (only when next_lb is set) when it did the wire pool, the time pool (pt = 2: phase 0 wrote
 * `pending` only, phase 1 the max of both columns) and wrote the result into next_lb in the
 * backend's own line-buffer layout, so the next layer's store is skipped. */
typedef int (*lt_conv_fn)(const struct lt_conv_job *job, uint32_t layer_index);
void lt_conv_column_scalar(const struct lt_conv_job *job, uint32_t layer_index);

/* Write one column (cin channels of w wires, channel stride `stride`) into a line-buffer slot
 * lb[pair][LT_CNN_ROW] in the layer's layout. */
typedef void (*lt_lb_store_fn)(int16_t *lb, const int16_t *in, uint32_t stride, uint32_t cin,
                               uint32_t w);
void lt_lb_store_scalar(int16_t *lb, const int16_t *in, uint32_t stride, uint32_t cin, uint32_t w);

/* Max-pool along wires: out[c * LT_KERNEL_MAX_WIRES + j] = max over k < pw of
 * in[c * LT_KERNEL_WSTRIDE + j * pw + k], for j < w / pw. */
typedef void (*lt_pool_w_fn)(const int16_t *in, int16_t *out, uint32_t cout, uint32_t w,
                             uint32_t pw);
void lt_pool_w_scalar(const int16_t *in, int16_t *out, uint32_t cout, uint32_t w, uint32_t pw);

/* Max-pool along time (pt = 2): cur[c * LT_KERNEL_MAX_WIRES + j] = max(cur, pending) at the same
 * index, for c < cout, j < wo. */
typedef void (*lt_pool_t_fn)(int16_t *cur, const int16_t *pending, uint32_t cout, uint32_t wo);
void lt_pool_t_scalar(int16_t *cur, const int16_t *pending, uint32_t cout, uint32_t wo);

/* Input element (ci, padded position p) of a line-buffer column, for any layout. */
static inline int16_t lt_cnn_lb_get(const int16_t *col, uint32_t cin, uint32_t ci, uint32_t p)
{
    return cin == 1 ? col[2U * p] : col[(ci >> 1) * LT_CNN_ROW + 2U * p + (ci & 1U)];
}

struct lt_cnn_layer_state {
    int16_t lb[LT_KERNEL_MAX_KT][LT_CNN_MAX_PAIRS][LT_CNN_ROW];  /* line buffer, ring of kt */
    int16_t pool_pending[LT_KERNEL_MAX_CH][LT_KERNEL_MAX_WIRES]; /* first column of a pt=2 pool */
    uint32_t head;    /* ring slot of the newest column */
    uint32_t w_in;    /* wires at this layer's input */
    uint8_t pool_odd; /* a pt=2 pool holds its first column */
};

struct lt_cnn_state {
    struct lt_cnn_layer_state layer[LT_KERNEL_MAX_LAYERS];
    int16_t conv_out[LT_KERNEL_MAX_CH][LT_KERNEL_WSTRIDE];
    int16_t pool_out[LT_KERNEL_MAX_CH][LT_KERNEL_MAX_WIRES];
    uint32_t n_wires; /* input width */
    uint32_t w_score; /* score values per column */
#ifndef __SYNTHESIS__
    lt_conv_fn conv; /* NULL: the scalar reference (the same for store and pool_w) */
    lt_lb_store_fn store;
    lt_pool_w_fn pool_w;
    lt_pool_t_fn pool_t;
    const void *packed[LT_KERNEL_MAX_LAYERS];
#endif
};

/* Start a run: zero line buffers and pools. net must have passed lt_kernel_arch_check and
 * n_wires must be divisible by lt_kernel_pool_w(net). */
void lt_cnn_reset(struct lt_cnn_state *st, const struct lt_kernel_net *net, uint32_t n_wires);

/* Push one input column x[0 .. n_wires-1]. Returns 1 and writes score[0 .. w_score-1] when the
 * network emits a score column, else 0. */
int lt_cnn_push(struct lt_cnn_state *st, const struct lt_kernel_net *net, const int16_t *x,
                int16_t *score);

#endif
