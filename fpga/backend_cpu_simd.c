/* Vectorised stages of the cpu backend. Scalar reference: kernels/cnn.c and kernels/preprocess.c;
 * these compute the same integers (tests/test_accel_cpu.c checks it bit for bit). */
#include <string.h>

#include "backend_cpu.h"

int lt_cpu_isa_supported(enum lt_cpu_isa isa)
{
    switch (isa) {
    case LT_CPU_SCALAR:
        return 1;
    case LT_CPU_AVX2:
        return 0;
    case LT_CPU_AVX512:
        return 0;
    }
    return 0;
}

const char *lt_cpu_isa_name(enum lt_cpu_isa isa)
{
    switch (isa) {
    case LT_CPU_SCALAR:
        return "scalar";
    case LT_CPU_AVX2:
        return "avx2";
    case LT_CPU_AVX512:
        return "avx512";
    }
    return "?";
}

int lt_cpu_isa_parse(const char *name)
{
    if (!name || !*name || strcmp(name, "auto") == 0) {
        if (lt_cpu_isa_supported(LT_CPU_AVX512)) return LT_CPU_AVX512;
        if (lt_cpu_isa_supported(LT_CPU_AVX2)) return LT_CPU_AVX2;
        return LT_CPU_SCALAR;
    }
    if (strcmp(name, "scalar") == 0) return LT_CPU_SCALAR;
    if (strcmp(name, "avx2") == 0) return LT_CPU_AVX2;
    if (strcmp(name, "avx512") == 0) return LT_CPU_AVX512;
    return -1;
}

size_t lt_cpu_packed_size(const struct lt_kernel_layer *L)
{
    (void)L;
    return LT_KERNEL_MAX_WEIGHTS;
}

void lt_cpu_pack_layer(const struct lt_kernel_layer *L, const int8_t *w, int32_t *packed)
{
    (void)L;
    (void)w;
    (void)packed;
}

lt_conv_fn lt_cpu_conv_fn(enum lt_cpu_isa isa)
{
    (void)isa;
    return NULL;
}

lt_pre_unpack_fn lt_cpu_unpack_fn(enum lt_cpu_isa isa)
{
    (void)isa;
    return NULL;
}
