/* The xrt backend of the accelerator interface (fpga/accel.h): the per-cell kernel runs on the
 * compute units (CUs) of one Alveo card through XRT's C API. Cells are multiplexed onto CUs:
 * every cell has its own state buffer in card memory, so a CU serves `cells_per_unit` cells one
 * block after the other. Each cell has two blocks in flight (double-buffered frame and result
 * buffers), so the DMA of the next block overlaps the computation of the current one.
 *
 * fpga/accel.c reaches these through lt_accel_xrt_ops (accel_backend.h); the lt_xrt_debug_* and
 * lt_xrt_stats functions exist for tests and status, not for the data path. docs/fpga.md describes
 * the whole host/card contract (kernels/vitis/lartrig_xrt_abi.h). */
#ifndef LARTRIG_BACKEND_XRT_H
#define LARTRIG_BACKEND_XRT_H

#include <stddef.h>
#include <stdint.h>

#include "accel.h"

struct lt_xrt;

/* How long collect waits for a run before it declares the CU hung (a block is at most a few ms
 * of compute). A hung slot is refused from then on: its buffers may still be written. */
#define LT_XRT_RUN_TIMEOUT_MS 5000U

int lt_xrt_open(const struct lt_accel_config *cfg, struct lt_xrt **out, char *err, size_t errlen);
void lt_xrt_close(struct lt_xrt *x);
/* Upload a weights-file image (the bytes of the file, as fpga/weights.h encodes it) into one
 * buffer object per memory group the CUs read weights from. Only with no block in flight. */
int lt_xrt_upload_weights(struct lt_xrt *x, const void *image, size_t len, char *err,
                          size_t errlen);
/* Candidate parameters sent with every block (defaults: threshold 0 until weights set theirs,
 * gap_w 1, gap_t 2, as the cpu backend). Only with no block in flight. */
int lt_xrt_set_candidate_params(struct lt_xrt *x, int32_t threshold, uint32_t gap_w, uint32_t gap_t,
                                char *err, size_t errlen);
int lt_xrt_add_cell(struct lt_xrt *x, uint32_t cell_id, const struct lt_cell_geom *geom, char *err,
                    size_t errlen);
int lt_xrt_submit(struct lt_xrt *x, int slot, const lt_wibeth_frame *frames, uint32_t n_periods);
int lt_xrt_collect(struct lt_xrt *x, int slot, struct lt_candidate *out, uint32_t max,
                   struct lt_accel_result *res, uint32_t *dropped);

/* The xrt state behind an accelerator handle opened with backend "xrt" (NULL otherwise). */
struct lt_xrt *lt_xrt_of(struct lt_accel *a);

/* Why the last submit/collect of a slot failed ("" when it did not). */
const char *lt_xrt_slot_error(const struct lt_xrt *x, int slot);

struct lt_xrt_stats {
    uint32_t compute_units;  /* CUs in use */
    uint32_t cells;          /* slots registered */
    uint32_t weight_buffers; /* weight BOs (one per distinct memory group) */
    uint64_t runs_started;
    uint64_t runs_completed;  /* runs that XRT reported COMPLETED */
    uint64_t runs_failed;     /* error, abort or timeout */
    uint64_t bytes_to_card;   /* frames + weights synced host -> card */
    uint64_t bytes_from_card; /* result buffers synced card -> host */
};
void lt_xrt_stats(const struct lt_xrt *x, struct lt_xrt_stats *out);

/* Test hooks: which CU serves a slot (its instance name), and the host mapping of a slot's
 * block buffers. Under the noop shim the mapping is the "card" memory, so a test can check
 * what was transferred and stand in for the kernel's output. */
const char *lt_xrt_debug_slot_cu(const struct lt_xrt *x, int slot);
struct lt_xrt_debug_block {
    /* Every argument the block's run was started with, as host pointers to the BOs. */
    const void *weights;
    const void *frames;
    const void *config;
    void *state;
    void *out; /* struct lt_xrt_out_header + candidates */
    size_t out_bytes, state_bytes;
    uint32_t weights_bytes, weights_gen, n_periods;
    int32_t threshold;
    uint32_t gap_w, gap_t;
    uint32_t flags; /* LT_XRT_FLAG_* */
    uint32_t sequence;
};
/* i = 0 is the oldest block in flight, 1 the next. LT_ENOTFOUND if not in flight. */
int lt_xrt_debug_block(struct lt_xrt *x, int slot, uint32_t i, struct lt_xrt_debug_block *out);

#endif
