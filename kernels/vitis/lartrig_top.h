/* The card's kernel: one call processes one block of one cell (kernels/vitis/lartrig_top.c).
 * Compiled by v++ for the FPGA, and by gcc for the C simulation (the HLS testbench and the host
 * test drive the very same function). The argument order is lartrig_xrt_abi.h's. */
#ifndef LARTRIG_VITIS_TOP_H
#define LARTRIG_VITIS_TOP_H

#include <stdint.h>

#include "kernel_top.h"
#include "lartrig_xrt_abi.h"

/* What the host writes once per cell into the cell's config buffer: its identity and the X-wire
 * table built from the channel map (lt_pre_map_build needs error strings, which the card has
 * not). Fixed-width fields only, so gcc and Vitis HLS lay it out alike. */
struct lt_xrt_cell_config {
    uint32_t magic; /* LT_XRT_CONFIG_MAGIC: an unwritten config is refused, not used */
    uint32_t cell_id;
    struct lt_pre_map map;
};
#define LT_XRT_CONFIG_MAGIC 0x4643544CU /* "LTCF" */

/* The state buffer holds one struct lt_kernel_cell as the card lays it out. The host never reads
 * it; it only allocates sizeof(struct lt_kernel_cell) as gcc sees it, which is at least the
 * card's size (the host's struct has extra cpu-only hook fields). */
#define LT_XRT_STATE_BYTES sizeof(struct lt_kernel_cell)

void lartrig_top(const uint8_t *weights, const lt_wibeth_frame *frames,
                 const struct lt_xrt_cell_config *config, struct lt_kernel_cell *state,
                 uint8_t *out, uint32_t weights_bytes, uint32_t weights_gen, uint32_t n_periods,
                 int32_t threshold, uint32_t gap_w, uint32_t gap_t, uint32_t flags,
                 uint32_t sequence);

/* Decode a weights-file image (kernels/kernel_weights_format.h, version 1) into a network, with
 * fixed loop bounds. The host has already checked the file (CRC, maxima); this re-checks only what
 * keeps the card's reads inside the image. 0 or a negative lt_error. */
int32_t lt_xrt_decode_weights(const uint8_t *img, uint32_t len, struct lt_kernel_net *net);

#endif
