/* The accelerator interface: how a cell hands its frames to the per-cell kernel and gets trigger
 * candidates back, whatever runs the kernel. Backends: "cpu" (the kernels/ C source compiled by
 * gcc, SIMD + threads, always present) and "xrt" (Xilinx Alveo via XRT; built when libxrt-dev is
 * present). Both produce bit-identical integer results; only where they run differs.
 *
 * Threading: one thread per cell calls submit/collect for its own slot; different slots may be
 * used from different threads at once. submit does not block on compute (the cpu backend hands
 * the block to a worker; the xrt backend starts a run on a double-buffered BO); collect waits
 * for the oldest submitted block of that slot. No allocation after lt_accel_add_cell. */
#ifndef LARTRIG_ACCEL_H
#define LARTRIG_ACCEL_H

#include <stddef.h>
#include <stdint.h>

#include "candidate.h"
#include "chmap.h"
#include "tp_chain.h"
#include "wibeth.h"

struct lt_weights; /* fpga/weights.h: the versioned, checksummed weights file */
struct lt_accel;

struct lt_accel_config {
    const char *backend;        /* "cpu" or "xrt" */
    uint32_t threads;           /* cpu: worker threads (0 = one per core) */
    uint32_t max_cells;         /* slots to preallocate */
    uint32_t max_block_periods; /* largest block: frame periods (64 samples each) per submit */
    /* cpu only: NULL or "auto" = best the CPU supports, or force "scalar", "avx2", "avx512"
     * (tests and benchmarks compare them; an unsupported choice fails lt_accel_open). */
    const char *cpu_isa;
    /* keep each block's score map for lt_accel_last_scores (tests, event display); costs
     * max_block_periods * 64 * 960 * 2 bytes per cell. */
    uint32_t keep_scores;
    /* candidates the caller collects per block (trigd: kernel.max_candidates; 0 = no claim).
     * The xrt backend refuses more than its card's per-block buffer (LT_XRT_MAX_CANDIDATES),
     * which could not hold them: they would be dropped on the card instead. */
    uint32_t max_candidates;
    /* What the kernel runs per cell (enum lt_cand_algo): LT_CAND_ALGO_CNN, the network of the
     * weights file, or LT_CAND_ALGO_TP, the TP/TA baseline with parameters tp (cpu backend only:
     * lt_accel_open refuses it on any other backend). The weights must still be loaded. */
    uint32_t algorithm;
    struct lt_tp_params tp;
    /* xrt only */
    uint32_t device_index;
    const char *xclbin_path;
    const char *kernel_name;
    uint32_t compute_units;
    uint32_t cells_per_unit;
};

/* A block's result for one cell. Times are absolute ticks (kernel latency already removed). */
struct lt_accel_result {
    uint32_t n_candidates;
    uint64_t watermark; /* the cell has been processed up to this tick (exclusive) */
    uint64_t columns;   /* score-map columns produced in this block */
    /* Cumulative counters of the cell since add_cell (monitoring; never reset by a block). */
    uint64_t cand_evicted; /* open-candidate list full: oldest candidate closed early */
    uint64_t cand_dropped; /* candidate output buffer of a block full: candidate lost */
    uint64_t time_gaps;    /* period timestamp not contiguous: kernel state restarted */
    uint64_t ts_mismatch;  /* a stream's frame timestamp differed from its period's */
};

int lt_accel_open(const struct lt_accel_config *cfg, struct lt_accel **out, char *err,
                  size_t errlen);
void lt_accel_close(struct lt_accel *a);
const char *lt_accel_backend_name(const struct lt_accel *a);

/* Load (or replace, between blocks) the network. The xrt backend uploads it to a BO once. */
int lt_accel_load_weights(struct lt_accel *a, const struct lt_weights *w, char *err, size_t errlen);

/* Candidate extraction parameters for every cell (between blocks). load_weights sets the
 * defaults: the weights file's suggested threshold, gap_w = 1, gap_t = 2 (docs/kernel.md). */
int lt_accel_set_candidate_params(struct lt_accel *a, int32_t threshold, uint32_t gap_w,
                                  uint32_t gap_t, char *err, size_t errlen);

/* Register a cell; returns its slot (>= 0) or a negative lt_error. Allocates the cell's kernel
 * state (pedestals, line buffers, open candidates). */
int lt_accel_add_cell(struct lt_accel *a, uint32_t cell_id, const struct lt_cell_geom *geom,
                      char *err, size_t errlen);

/* Submit n_periods consecutive frame periods of a cell, laid out frames[period * n_streams +
 * stream] (all streams of the cell, every frame's timestamp = period start). The frames must stay
 * valid until the matching collect returns. LT_EFULL if the slot already has 2 blocks in flight. */
int lt_accel_submit(struct lt_accel *a, int slot, const lt_wibeth_frame *frames,
                    uint32_t n_periods);

/* Wait for the oldest block of a slot; copy up to max candidates into out. Candidates that did not
 * fit are counted in *dropped (never silently lost). */
int lt_accel_collect(struct lt_accel *a, int slot, struct lt_candidate *out, uint32_t max,
                     struct lt_accel_result *res, uint32_t *dropped);

/* Optional debug hook for tests: the score map of the last collected block of a slot
 * (columns x outputs, row-major), or NULL when the backend does not keep it. */
const int16_t *lt_accel_last_scores(struct lt_accel *a, int slot, uint32_t *columns,
                                    uint32_t *outputs);

#endif
