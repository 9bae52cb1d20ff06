/* The accelerator interface: argument checks and dispatch to a backend (fpga/accel_backend.h).
 * Everything a backend can rely on is checked here once: slot ranges, weights before cells,
 * block sizes. */
#include "accel_backend.h"

#include <stdlib.h>
#include <string.h>

#include "lt_error.h"
#include "weights.h"

static const struct lt_accel_backend_ops *find_backend(const char *name)
{
    if (!name || strcmp(name, "cpu") == 0) return &lt_accel_cpu_ops;
#ifdef LARTRIG_HAVE_XRT
    if (strcmp(name, "xrt") == 0) return &lt_accel_xrt_ops;
#endif
    return NULL;
}

int lt_accel_open(const struct lt_accel_config *cfg, struct lt_accel **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    if (cfg->algorithm == LT_CAND_ALGO_TP && cfg->backend && strcmp(cfg->backend, "cpu") != 0) {
        /* DUNE runs trigger-primitive generation in software; the card's kernel is the CNN. Said
         * before the backend is looked up, so a build without XRT says the same. */
        lt_seterr(err, errlen,
                  "kernel.algorithm \"tp\" (the TP/TA baseline) runs on the cpu backend only; "
                  "the %s backend runs the CNN",
                  cfg->backend);
        return LT_EUNSUPPORTED;
    }
    const struct lt_accel_backend_ops *ops = find_backend(cfg->backend);
    if (!ops) {
#ifdef LARTRIG_HAVE_XRT
        lt_seterr(err, errlen, "unknown accelerator backend \"%s\" (have: cpu, xrt)", cfg->backend);
#else
        lt_seterr(err, errlen,
                  "unknown accelerator backend \"%s\" (have: cpu; xrt needs a build with "
                  "libxrt-dev)",
                  cfg->backend);
#endif
        return LT_EINVAL;
    }
    if (cfg->max_cells < 1 || cfg->max_cells > LT_MAX_CELLS) {
        lt_seterr(err, errlen, "max_cells=%u out of range 1..%u", cfg->max_cells, LT_MAX_CELLS);
        return LT_EINVAL;
    }
    if (cfg->max_block_periods < 1 || cfg->max_block_periods > LT_KERNEL_MAX_PERIODS) {
        lt_seterr(err, errlen, "max_block_periods=%u out of range 1..%u", cfg->max_block_periods,
                  LT_KERNEL_MAX_PERIODS);
        return LT_EINVAL;
    }
    if (cfg->algorithm > LT_CAND_ALGO_TP) {
        lt_seterr(err, errlen, "kernel algorithm %u unknown (cnn, tp)", cfg->algorithm);
        return LT_EINVAL;
    }
    if (cfg->algorithm == LT_CAND_ALGO_TP) {
        int rc = lt_tp_params_check(&cfg->tp, err, errlen);
        if (rc < 0) return rc;
    }
    struct lt_accel *a = calloc(1, sizeof(*a));
    if (!a) {
        lt_seterr(err, errlen, "out of memory");
        return LT_ENOMEM;
    }
    a->ops = ops;
    a->cfg = *cfg;
    /* Strings in cfg belong to the caller and are only read during open. */
    a->cfg.backend = ops->name;
    a->cfg.cpu_isa = NULL;
    a->cfg.xclbin_path = NULL;
    a->cfg.kernel_name = NULL;
    int rc = ops->open(a, cfg, err, errlen);
    if (rc < 0) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void lt_accel_close(struct lt_accel *a)
{
    if (!a) return;
    a->ops->close(a);
    free(a);
}

const char *lt_accel_backend_name(const struct lt_accel *a)
{
    return a->ops->name;
}

int lt_accel_load_weights(struct lt_accel *a, const struct lt_weights *w, char *err, size_t errlen)
{
    char why[200];
    int rc = lt_kernel_arch_check(&w->net, why, sizeof(why));
    if (rc < 0) {
        lt_seterr(err, errlen, "weights \"%s\" rejected: %s", w->name, why);
        return rc;
    }
    rc = a->ops->load_weights(a, w, err, errlen);
    if (rc == 0) a->weights_loaded = 1;
    return rc;
}

int lt_accel_set_candidate_params(struct lt_accel *a, int32_t threshold, uint32_t gap_w,
                                  uint32_t gap_t, char *err, size_t errlen)
{
    if (threshold < INT16_MIN || threshold > INT16_MAX) {
        lt_seterr(err, errlen, "score threshold %d outside the int16 score range", threshold);
        return LT_ERANGE;
    }
    if (gap_w > LT_KERNEL_MAX_WIRES || gap_t > 1000000U) {
        lt_seterr(err, errlen, "candidate gaps gap_w=%u gap_t=%u out of range", gap_w, gap_t);
        return LT_ERANGE;
    }
    return a->ops->set_candidate_params(a, threshold, gap_w, gap_t, err, errlen);
}

int lt_accel_add_cell(struct lt_accel *a, uint32_t cell_id, const struct lt_cell_geom *geom,
                      char *err, size_t errlen)
{
    if (!a->weights_loaded) {
        lt_seterr(err, errlen, "load the weights before adding cells");
        return LT_EINVAL;
    }
    if (a->n_cells >= a->cfg.max_cells) {
        lt_seterr(err, errlen, "all %u cell slots are in use", a->cfg.max_cells);
        return LT_EFULL;
    }
    if (geom->n_fembs < 1 || geom->n_fembs > LT_FEMBS_PER_CELL) {
        lt_seterr(err, errlen, "cell %u: n_fembs=%u out of range 1..%u", cell_id, geom->n_fembs,
                  LT_FEMBS_PER_CELL);
        return LT_ERANGE;
    }
    int slot = (int)a->n_cells;
    int rc = a->ops->add_cell(a, slot, cell_id, geom, err, errlen);
    if (rc < 0) return rc;
    a->n_cells++;
    return slot;
}

static int slot_ok(const struct lt_accel *a, int slot)
{
    return slot >= 0 && (uint32_t)slot < a->n_cells;
}

int lt_accel_submit(struct lt_accel *a, int slot, const lt_wibeth_frame *frames, uint32_t n_periods)
{
    if (!slot_ok(a, slot) || !frames || n_periods < 1 || n_periods > a->cfg.max_block_periods)
        return LT_EINVAL;
    return a->ops->submit(a, slot, frames, n_periods);
}

int lt_accel_collect(struct lt_accel *a, int slot, struct lt_candidate *out, uint32_t max,
                     struct lt_accel_result *res, uint32_t *dropped)
{
    if (!slot_ok(a, slot) || (!out && max > 0) || !res || !dropped) return LT_EINVAL;
    return a->ops->collect(a, slot, out, max, res, dropped);
}

const int16_t *lt_accel_last_scores(struct lt_accel *a, int slot, uint32_t *columns,
                                    uint32_t *outputs)
{
    *columns = 0;
    *outputs = 0;
    if (!slot_ok(a, slot) || !a->ops->last_scores) return NULL;
    return a->ops->last_scores(a, slot, columns, outputs);
}
