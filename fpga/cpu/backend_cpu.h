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

/* Repacked weights of one layer for the SIMD convs: int32 pairs of int8 weights, see
 * backend_cpu_simd.c. Size in int32 for a layer. */
size_t lt_cpu_packed_size(const struct lt_kernel_layer *L);
void lt_cpu_pack_layer(const struct lt_kernel_layer *L, const int8_t *w, int32_t *packed);

/* Install every vectorised stage of `isa` into a cell's CNN and preprocess state (packed weights
 * are set separately: cnn->packed[l]). */
void lt_cpu_install(enum lt_cpu_isa isa, struct lt_cnn_state *cnn, struct lt_pre_state *pre);

lt_conv_fn lt_cpu_conv_fn(enum lt_cpu_isa isa);         /* NULL for scalar */
lt_pre_unpack_fn lt_cpu_unpack_fn(enum lt_cpu_isa isa); /* NULL for scalar */

#endif
