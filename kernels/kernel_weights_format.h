/* The byte layout of the kernel's versioned weights file (docs/kernel.md "Weights file"): the
 * one place that knows it. The host loader (fpga/weights.c: checks everything, names the file)
 * and the card's top function (kernels/vitis/lartrig_top.c: re-decodes the image the host
 * uploaded) both read it through these offsets and helpers, so the two cannot drift apart.
 *
 *   0   magic "LARTRIGW" (8 bytes, no terminator)     8  u16 version
 *   10  u8 d   11 u8 in_shift   12 u8 n_layers   13 u8 act_bits (v2: 8|16; v1: reserved 0)
 *   14  i16 threshold
 *   16  name, 32 bytes printable ASCII, NUL-padded
 *   48  n_layers x 8-byte descriptors: Cin Cout kt kw shift relu pw pt
 *   then per layer: Cout*Cin*kt*kw int8 weights, Cout int32 biases; last a u32 CRC-32
 * All multi-byte fields are little-endian; nothing is padded or aligned.
 *
 * HLS-safe: fixed-width types, constants and static inline byte accessors over uint8_t arrays;
 * no libc, no pointers to allocated memory (Vitis HLS synthesises it, gcc compiles it for the
 * host). Errors: the helpers here do not check anything; their callers do. */
#ifndef LARTRIG_KERNEL_WEIGHTS_FORMAT_H
#define LARTRIG_KERNEL_WEIGHTS_FORMAT_H

#include <stdint.h>

#include "kernel_arch.h"

#define LT_WEIGHTS_MAGIC       "LARTRIGW" /* 8 bytes, no terminator in the file */
#define LT_WEIGHTS_MAGIC_LEN   8U
#define LT_WEIGHTS_VERSION     2U /* written; version 2 added the activation width */
#define LT_WEIGHTS_VERSION_MIN 1U /* oldest read: version 1 = int16 activations */

/* Header field offsets. */
#define LT_WEIGHTS_OFF_VERSION   8U  /* u16 */
#define LT_WEIGHTS_OFF_D         10U /* u8 */
#define LT_WEIGHTS_OFF_IN_SHIFT  11U /* u8 */
#define LT_WEIGHTS_OFF_N_LAYERS  12U /* u8 */
#define LT_WEIGHTS_OFF_RESERVED  13U /* u8: version 1 reserved (0), version 2 act_bits */
#define LT_WEIGHTS_OFF_ACT_BITS  13U /* u8, version 2: 8 or 16 */
#define LT_WEIGHTS_OFF_THRESHOLD 14U /* i16 */
#define LT_WEIGHTS_OFF_NAME      16U
#define LT_WEIGHTS_NAME_LEN      32U
#define LT_WEIGHTS_HEADER_SIZE   48U /* magic .. name: the first layer descriptor starts here */

#define LT_WEIGHTS_LAYER_DESC 8U /* bytes per layer descriptor */
#define LT_WEIGHTS_BIAS_SIZE  4U /* bytes per int32 bias */
#define LT_WEIGHTS_CRC_SIZE   4U /* the u32 CRC-32 that ends the file */

static inline uint32_t lt_wf_get_u16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static inline uint32_t lt_wf_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void lt_wf_put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void lt_wf_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Offset of layer l's descriptor. */
static inline uint32_t lt_wf_desc_offset(uint32_t l)
{
    return LT_WEIGHTS_HEADER_SIZE + l * LT_WEIGHTS_LAYER_DESC;
}

/* Bytes of a layer's parameters (weights then biases) as they follow the descriptors. */
static inline uint32_t lt_wf_layer_param_bytes(const struct lt_kernel_layer *L)
{
    return lt_kernel_layer_nweights(L) + LT_WEIGHTS_BIAS_SIZE * L->cout;
}

static inline uint32_t lt_wf_version_known(uint32_t version)
{
    return version >= LT_WEIGHTS_VERSION_MIN && version <= LT_WEIGHTS_VERSION;
}

/* The network-wide header fields (d, in_shift, n_layers, act_bits, threshold) of an image of at
 * least LT_WEIGHTS_HEADER_SIZE bytes of a known version: a version 1 file is int16 (its byte 13
 * is reserved, checked by the caller), version 2 carries the width as stored (the caller checks
 * it is 8 or 16). */
static inline void lt_wf_get_net_header(const uint8_t *img, struct lt_kernel_net *net)
{
    net->d = img[LT_WEIGHTS_OFF_D];
    net->in_shift = img[LT_WEIGHTS_OFF_IN_SHIFT];
    net->n_layers = img[LT_WEIGHTS_OFF_N_LAYERS];
    net->act_bits =
        lt_wf_get_u16(img + LT_WEIGHTS_OFF_VERSION) == 1U ? 16U : img[LT_WEIGHTS_OFF_ACT_BITS];
    net->threshold = (int16_t)lt_wf_get_u16(img + LT_WEIGHTS_OFF_THRESHOLD);
}
/* Writes a version LT_WEIGHTS_VERSION header (the version field too). */
static inline void lt_wf_put_net_header(uint8_t *img, const struct lt_kernel_net *net)
{
    lt_wf_put_u16(img + LT_WEIGHTS_OFF_VERSION, LT_WEIGHTS_VERSION);
    img[LT_WEIGHTS_OFF_D] = net->d;
    img[LT_WEIGHTS_OFF_IN_SHIFT] = net->in_shift;
    img[LT_WEIGHTS_OFF_N_LAYERS] = net->n_layers;
    img[LT_WEIGHTS_OFF_ACT_BITS] = (uint8_t)lt_kernel_act_bits(net);
    lt_wf_put_u16(img + LT_WEIGHTS_OFF_THRESHOLD, (uint16_t)net->threshold);
}

/* One 8-byte layer descriptor, in file order. */
static inline void lt_wf_get_desc(const uint8_t *d, struct lt_kernel_layer *L)
{
    L->cin = d[0];
    L->cout = d[1];
    L->kt = d[2];
    L->kw = d[3];
    L->shift = d[4];
    L->relu = d[5];
    L->pw = d[6];
    L->pt = d[7];
}
static inline void lt_wf_put_desc(uint8_t *d, const struct lt_kernel_layer *L)
{
    d[0] = L->cin;
    d[1] = L->cout;
    d[2] = L->kt;
    d[3] = L->kw;
    d[4] = L->shift;
    d[5] = L->relu;
    d[6] = L->pw;
    d[7] = L->pt;
}

#endif
