/* What a backend of the accelerator interface (fpga/accel.h) provides: a small table of
 * operations. fpga/accel.c validates arguments and dispatches; a backend only does the work.
 * Backends: backend_cpu.c (always) and backend_xrt.c (when libxrt-dev is present). */
#ifndef LARTRIG_ACCEL_BACKEND_H
#define LARTRIG_ACCEL_BACKEND_H

#include "accel.h"

struct lt_accel_backend_ops {
    const char *name;
    /* Create the backend's private state in a->impl. */
    int (*open)(struct lt_accel *a, const struct lt_accel_config *cfg, char *err, size_t errlen);
    void (*close)(struct lt_accel *a); /* waits for in-flight blocks, frees everything */
    int (*load_weights)(struct lt_accel *a, const struct lt_weights *w, char *err, size_t errlen);
    int (*set_candidate_params)(struct lt_accel *a, int32_t threshold, uint32_t gap_w,
                                uint32_t gap_t, char *err, size_t errlen);
    /* slot is the next free index (< cfg->max_cells), chosen by accel.c. */
    int (*add_cell)(struct lt_accel *a, int slot, uint32_t cell_id, const struct lt_cell_geom *geom,
                    char *err, size_t errlen);
    int (*submit)(struct lt_accel *a, int slot, const lt_wibeth_frame *frames, uint32_t n_periods);
    int (*collect)(struct lt_accel *a, int slot, struct lt_candidate *out, uint32_t max,
                   struct lt_accel_result *res, uint32_t *dropped);
    const int16_t *(*last_scores)(struct lt_accel *a, int slot, uint32_t *columns,
                                  uint32_t *outputs); /* may be NULL */
};

/* The handle accel.c hands out. */
struct lt_accel {
    const struct lt_accel_backend_ops *ops;
    void *impl; /* the backend's state */
    struct lt_accel_config cfg;
    uint32_t n_cells;
    int weights_loaded;
};

extern const struct lt_accel_backend_ops lt_accel_cpu_ops;
#ifdef LARTRIG_HAVE_XRT
extern const struct lt_accel_backend_ops lt_accel_xrt_ops;
#endif

#endif
