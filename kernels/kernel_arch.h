/* The per-cell CNN's architecture and parameters as fixed-size data, plus the compile-time maxima
 * every kernel array is sized by. Everything here is plain C that Vitis HLS synthesises: no
 * pointers to allocated memory, no variable-length arrays. The arithmetic is docs/kernel.md.
 *
 * The maxima are part of the contract with tools/train/ (a network that exceeds them is rejected
 * by the weights loader) and with the FPGA build (they size the line buffers in BRAM/URAM). */
#ifndef LARTRIG_KERNEL_ARCH_H
#define LARTRIG_KERNEL_ARCH_H

#include <stddef.h>
#include <stdint.h>

#define LT_KERNEL_MAX_WIRES    960U /* collection wires of a full cell (20 FEMBs x 48) */
#define LT_KERNEL_MAX_STREAMS  40U  /* WIBEth streams of a full cell */
#define LT_KERNEL_MAX_LAYERS   6U
#define LT_KERNEL_MAX_CH       16U /* channels (Cin, Cout) of any layer */
#define LT_KERNEL_MAX_KT       7U  /* conv kernel extent along time (columns) */
#define LT_KERNEL_MAX_KW       7U  /* conv kernel extent along wires (odd) */
#define LT_KERNEL_MAX_D_LOG2   5U  /* downsample by at most 2^5 = 32 samples */
#define LT_KERNEL_MAX_IN_SHIFT 15U
#define LT_KERNEL_MAX_SHIFT    24U   /* per-layer requantisation shift */
#define LT_KERNEL_MAX_POOL_W   16U   /* product of all pw */
#define LT_KERNEL_MAX_POOL_T   8U    /* product of all pt */
#define LT_KERNEL_MAX_DELAY    192U  /* receptive-field delay in input columns (docs/kernel.md) */
#define LT_KERNEL_MAX_PERIODS  4096U /* frame periods per lt_kernel_process call (accel checks) */
#define LT_KERNEL_MAX_WEIGHTS                                                                      \
    (LT_KERNEL_MAX_CH * LT_KERNEL_MAX_CH * LT_KERNEL_MAX_KT * LT_KERNEL_MAX_KW)

/* Wire padding every line-buffer row carries on both sides, so a conv tap never needs a bounds
 * check: MAX_KW/2 zeros, never written. */
#define LT_KERNEL_WPAD 3U
/* Row stride of a line buffer in wires: padding + 960 + room for SIMD over-reads (a vector of 32
 * wires starting at the last valid wire stays inside the row). */
#define LT_KERNEL_WSTRIDE 1024U

struct lt_kernel_layer {
    uint8_t cin, cout; /* 1..LT_KERNEL_MAX_CH */
    uint8_t kt, kw;    /* 1..MAX_KT, odd 1..MAX_KW */
    uint8_t shift;     /* requantisation: y = round_shift(acc, shift) */
    uint8_t relu;      /* 0 or 1 */
    uint8_t pw, pt;    /* max-pool along wires (1, 2, 4) and time (1, 2) */
};

/* The whole network: descriptor, int8 weights w[co][ci][dt][dw] and int32 biases per layer. */
struct lt_kernel_net {
    uint8_t d;        /* downsample by 2^d samples */
    uint8_t in_shift; /* input activation x = sat(round_shift(diff, in_shift)) */
    uint8_t n_layers;
    uint8_t act_bits; /* activation width, 8 or 16 (0, a zeroed descriptor, means 16) */
    int16_t
        threshold; /* suggested score threshold shipped with the weights (config may override) */
    struct lt_kernel_layer layer[LT_KERNEL_MAX_LAYERS];
    int8_t w[LT_KERNEL_MAX_LAYERS][LT_KERNEL_MAX_WEIGHTS];
    int32_t bias[LT_KERNEL_MAX_LAYERS][LT_KERNEL_MAX_CH];
};

/* Activation width (docs/kernel.md "Activation width"): 16 = int16 everywhere; 8 = the input
 * and any signed hidden activation in [-128, 127], a ReLU output in [0, 255] (the u8 operand of
 * vpdpbusd), the score map int16 either way. Activations are held in int16 arrays in both cases;
 * only the saturation differs, so one scalar path computes both. */
static inline uint32_t lt_kernel_act_bits(const struct lt_kernel_net *net)
{
    return net->act_bits == 8 ? 8U : 16U;
}
/* Largest input activation x (the smallest is -x_max - 1). */
static inline int32_t lt_kernel_in_max(const struct lt_kernel_net *net)
{
    return lt_kernel_act_bits(net) == 8 ? 127 : 32767;
}
/* Saturation range [*lo, *hi] of layer l's output (after ReLU when it has one). */
static inline void lt_kernel_out_range(const struct lt_kernel_net *net, uint32_t l, int32_t *lo,
                                       int32_t *hi)
{
    const int relu = net->layer[l].relu != 0;
    if (lt_kernel_act_bits(net) == 16 || l + 1U >= net->n_layers) {
        *lo = relu ? 0 : -32768;
        *hi = 32767;
    } else {
        *lo = relu ? 0 : -128;
        *hi = relu ? 255 : 127;
    }
}

static inline uint32_t lt_kernel_layer_nweights(const struct lt_kernel_layer *L)
{
    return (uint32_t)L->cout * L->cin * L->kt * L->kw;
}

/* Index of w[co][ci][dt][dw] within a layer's weight array. */
static inline uint32_t lt_kernel_widx(const struct lt_kernel_layer *L, uint32_t co, uint32_t ci,
                                      uint32_t dt, uint32_t dw)
{
    return ((co * L->cin + ci) * L->kt + dt) * L->kw + dw;
}

/* Check a descriptor against the maxima and for internal consistency (layer chaining, last layer
 * Cout = 1 without ReLU or pooling, pooling products, delay). 0 or LT_ERANGE/LT_EFORMAT with a
 * message naming the layer and field. */
int lt_kernel_arch_check(const struct lt_kernel_net *net, char *err, size_t errlen);

/* Products of the pooling factors (wires per score group, input columns per score column). */
uint32_t lt_kernel_pool_w(const struct lt_kernel_net *net);
uint32_t lt_kernel_pool_t(const struct lt_kernel_net *net);
/* Receptive-field delay in input columns: sum over layers of (kt - 1) * prod(pt before it). */
uint32_t lt_kernel_delay(const struct lt_kernel_net *net);
/* Multiply-accumulates per input column of W wires (for benchmarks and the docs). */
double lt_kernel_macs_per_column(const struct lt_kernel_net *net, uint32_t n_wires);

#endif
