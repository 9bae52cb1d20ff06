/* The contract between the host (fpga/xrt/backend_xrt.c) and the card
 * (kernels/vitis/lartrig_top.c): the kernel's name, its argument order, the flags and the layout of
 * the output buffer. Both sides include this one header, so a change here changes both; the test's
 * xclbin generator (tests/kernel/xclbin_gen.c) builds its kernel metadata from the same table.
 *
 * Plain C, fixed-width types only: Vitis HLS and gcc must agree on every byte. */
#ifndef LARTRIG_XRT_ABI_H
#define LARTRIG_XRT_ABI_H

#include <stdint.h>

#define LT_XRT_KERNEL_NAME "lartrig_top"

/* Kernel arguments, in the order of the top function's parameters (= XRT argument index).
 * Pointers are m_axi ports (one AXI master bundle each, so each can live in its own bank);
 * scalars are s_axilite registers. */
enum lt_xrt_arg {
    LT_XRT_ARG_WEIGHTS = 0,       /* const uint8_t *: the weights file image, as on disk */
    LT_XRT_ARG_FRAMES = 1,        /* const lt_wibeth_frame *: n_periods * n_streams frames */
    LT_XRT_ARG_CONFIG = 2,        /* const struct lt_xrt_cell_config *: written once by the host */
    LT_XRT_ARG_STATE = 3,         /* struct lt_kernel_cell *: the cell's state, card-private */
    LT_XRT_ARG_OUT = 4,           /* uint8_t *: struct lt_xrt_out_header + candidates */
    LT_XRT_ARG_WEIGHTS_BYTES = 5, /* uint32_t: bytes of the weights image */
    LT_XRT_ARG_WEIGHTS_GEN = 6,   /* uint32_t: generation; the CU re-reads weights on a change */
    LT_XRT_ARG_N_PERIODS = 7,     /* uint32_t: frame periods in this block */
    LT_XRT_ARG_THRESHOLD = 8,     /* int32_t: candidate score threshold (int16 range) */
    LT_XRT_ARG_GAP_W = 9,         /* uint32_t: candidate wire-group gap */
    LT_XRT_ARG_GAP_T = 10,        /* uint32_t: candidate score-column gap */
    LT_XRT_ARG_FLAGS = 11,        /* uint32_t: LT_XRT_FLAG_* */
    LT_XRT_ARG_SEQUENCE = 12,     /* uint32_t: block number, echoed in the output header */
    LT_XRT_N_ARGS = 13,
};

/* Index of the first scalar argument: the ones below are buffers. */
#define LT_XRT_FIRST_SCALAR_ARG LT_XRT_ARG_WEIGHTS_BYTES

/* INIT: the cell starts from its config buffer (a new cell, or after a failed block left its
 * state undefined), as lt_kernel_cell_init does on the cpu backend. The state buffer is then
 * written, never read, so the host never has to touch it.
 * RESTART: the cell's run restarts (new weights: the architecture may have changed), as
 * lt_kernel_cell_restart does on the cpu backend. */
#define LT_XRT_FLAG_INIT    0x1U
#define LT_XRT_FLAG_RESTART 0x2U
/* RESIDENT: this CU serves only this cell (cells_per_unit = 1), so its state stays in the CU's
 * on-chip copy between blocks and is neither read from nor written to card memory (saves two
 * state transfers per block, docs/fpga.md). */
#define LT_XRT_FLAG_RESIDENT 0x4U

/* Output buffer: this header, then up to LT_XRT_MAX_CANDIDATES struct lt_candidate (lib/
 * candidate.h, 48 bytes each, little-endian, no padding). The kernel writes the header once, at
 * the end of the block, echoing the block's sequence number: a host that reads a buffer the
 * kernel never wrote (a stale or never-run buffer) sees a wrong magic or sequence and says so
 * instead of reporting old candidates again. */
#define LT_XRT_OUT_MAGIC 0x5258544CU /* "LTXR" little-endian */
/* = the default of trigd's kernel.max_candidates (candidates collected per block), so a default
 * configuration loses nothing on the card that the cpu backend would return; a larger
 * kernel.max_candidates is refused when the xrt backend opens. 48 KiB of BRAM per CU. */
#define LT_XRT_MAX_CANDIDATES 1024U

struct lt_xrt_out_header {
    uint32_t magic;        /* LT_XRT_OUT_MAGIC */
    int32_t status;        /* 0 = ok; else the negative lt_error the kernel hit (bad weights) */
    uint32_t n_candidates; /* written after the header (<= LT_XRT_MAX_CANDIDATES) */
    uint32_t dropped;      /* candidates of this block that did not fit (counted, never lost) */
    uint32_t sequence;     /* echo of LT_XRT_ARG_SEQUENCE */
    uint32_t reserved;
    uint64_t watermark; /* processed up to this tick (exclusive) */
    uint64_t columns;   /* score-map columns produced in this block */
    /* The cell's cumulative counters after this block (as in struct lt_accel_result). */
    uint64_t cand_evicted;
    uint64_t cand_dropped;
    uint64_t time_gaps;
    uint64_t ts_mismatch;
};

_Static_assert(sizeof(struct lt_xrt_out_header) == 72, "lt_xrt_out_header is 72 bytes");

#endif
