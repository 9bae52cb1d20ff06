/* The cpu backend's vectorised kernels (backend_cpu_simd.c): conv columns and frame unpacking
 * for AVX2 and AVX-512, bit-identical to the scalar kernels/ code they replace. */
#ifndef LARTRIG_BACKEND_CPU_H
#define LARTRIG_BACKEND_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "cnn.h"
#include "preprocess.h"

enum lt_cpu_isa { LT_CPU_SCALAR = 0, LT_CPU_AVX2 = 1, LT_CPU_AVX512 = 2 };

/* What this CPU can run (checked with __builtin_cpu_supports). */
int lt_cpu_isa_supported(enum lt_cpu_isa isa);
const char *lt_cpu_isa_name(enum lt_cpu_isa isa);
/* "auto"/NULL -> best supported; else the named one. -1 when unknown. */
int lt_cpu_isa_parse(const char *name);

/* Repacked weights of layer l of a network for the SIMD convs (backend_cpu_simd.c): with int16
 * activations int32 pairs of int8 weights; with 8-bit activations int32 quads of int8 weights
 * for vpdpbusd / vpmaddubsw, the bias corrected for a signed input, a flags word and the
 * weights split into 4-bit halves for the AVX2 path that cannot saturate. Size in int32
 * (<= LT_KERNEL_MAX_WEIGHTS). Returns, for an 8-bit layer, 1 when AVX2 may use one vpmaddubsw per
 * quad (no int16 pair sum can saturate with these weights), 0 when it needs the split weights;
 * 0 for int16 layers. */
size_t lt_cpu_packed_size(const struct lt_kernel_net *net, uint32_t l);
int lt_cpu_pack_layer(const struct lt_kernel_net *net, uint32_t l, int32_t *packed);

/* Install every vectorised stage of `isa` for network `net` (its activation width chooses the
 * line-buffer layout and convs) into a cell's CNN and preprocess state (packed weights are set
 * separately: cnn->packed[l]). Call again whenever the network changes. */
void lt_cpu_install(enum lt_cpu_isa isa, const struct lt_kernel_net *net, struct lt_cnn_state *cnn,
                    struct lt_pre_state *pre);

lt_conv_fn lt_cpu_conv_fn(enum lt_cpu_isa isa);         /* int16 convs; NULL for scalar */
lt_pre_unpack_fn lt_cpu_unpack_fn(enum lt_cpu_isa isa); /* NULL for scalar */

#endif
