/* A minimal xclbin writer for tests: an axlf container whose metadata describes the lartrig_top
 * kernel (kernels/vitis/lartrig_xrt_abi.h) with N compute units, but holds no bitstream. XRT's
 * noop shim accepts it, which lets a test drive the whole host path of the xrt backend (xclbin
 * load, kernel open, buffer objects, runs) on a machine without a card or Vitis. Debian's
 * xclbinutil cannot be used here, hence this generator. Layouts come from XRT's xclbin.h. */
#ifndef LARTRIG_TEST_XCLBIN_GEN_H
#define LARTRIG_TEST_XCLBIN_GEN_H

#include <stddef.h>
#include <stdint.h>

struct lt_xclbin_spec {
    const char *kernel_name; /* the kernel as the metadata names it */
    uint32_t compute_units;  /* instances <kernel_name>_1 .. _N (v++'s default naming), 1..16 */
    uint32_t banks;          /* HBM banks; compute unit i's buffers sit in bank i % banks */
    uint8_t uuid[16];        /* the xclbin's identity */
    uint16_t mode;           /* enum XCLBIN_MODE: XCLBIN_FLAT (hardware, 0), XCLBIN_SW_EMU, ... */
    uint32_t omit_sections;  /* bit (1 << kind) set: leave that section out (broken xclbins) */
};

/* Build the image in a malloc'd buffer (*out, *len). 0 or -1 (bad spec / no memory). */
int lt_xclbin_gen(const struct lt_xclbin_spec *spec, uint8_t **out, size_t *len);
/* Build and write to path. 0 or -1. */
int lt_xclbin_gen_file(const struct lt_xclbin_spec *spec, const char *path);

#endif
