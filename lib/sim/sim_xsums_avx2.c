/* The fast background path's noise loop built for AVX2 (lib/CMakeLists.txt compiles this file
 * with -mavx2 on x86-64; sim_xsums.c runs it only where the CPU has AVX2). The loop itself is
 * sim_xsums_body.h, shared with the generic build. */
#if defined(__x86_64__)
#define XS_FN   lt_sim_xs_noise_avx2
#define XS_AVX2 1
#include "sim_xsums_body.h"
#else
typedef int lt_sim_xsums_avx2_not_built; /* other CPUs: sim_xsums.c's generic build only */
#endif
