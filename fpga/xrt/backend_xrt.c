/* The xrt backend: see backend_xrt.h. Life of a block of one cell:
 *   submit:  copy the frames into the slot's frame buffer object (BO) of this block, sync it to
 *            the card, set the block's scalars on its run handle and start it on the cell's CU;
 *   collect: wait for the oldest run (bounded), sync its result BO back, check the header the
 *            kernel wrote and hand over the candidates.
 * Every BO and run handle is created in lt_xrt_add_cell; submit and collect allocate nothing.
 * XRT's C API reports errors by NULL/-1 + errno and prints its own "[XRT]" line; every failure
 * here also gets a message naming the device, file, CU or cell. */
#include "backend_xrt.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include "accel_backend.h"
#include "backend_xrt_xclbin.h"
#include "log.h"
#include "lt_error.h"
#include "vitis/lartrig_top.h"
#include "weights.h"

#define XRT_BLOCKS     2U /* double buffering: one block computes while the next transfers */
#define XRT_ERR_LEN    256U
#define XRT_CAND_BYTES (LT_XRT_MAX_CANDIDATES * sizeof(struct lt_candidate))
#define XRT_OUT_BYTES  (sizeof(struct lt_xrt_out_header) + XRT_CAND_BYTES)

_Static_assert(sizeof(struct lt_candidate) == 48, "the card writes 48-byte candidates");

struct xrt_cu {
    char name[LT_XRT_CU_NAME_LEN];      /* instance, e.g. "lartrig_top_1" */
    xrtKernelHandle kernel;             /* opened on this one CU: "kernel:{instance}" */
    int group[LT_XRT_FIRST_SCALAR_ARG]; /* memory group of each buffer argument */
    int weights_bo;                     /* index into xrt->weights */
    uint32_t cells;
};

struct xrt_weights_bo {
    int group;
    xrtBufferHandle bo;
    size_t capacity;
};

struct xrt_block {
    xrtRunHandle run;
    xrtBufferHandle frames_bo, out_bo;
    void *frames_map;
    struct lt_xrt_out_header *out_map;
    uint32_t sequence, flags, n_periods;
};

struct xrt_slot {
    uint32_t cell_id;
    struct lt_cell_geom geom;
    uint32_t cu;
    xrtBufferHandle config_bo, state_bo;
    struct xrt_block block[XRT_BLOCKS];
    uint32_t head;      /* oldest block in flight */
    uint32_t in_flight; /* 0..XRT_BLOCKS */
    uint32_t next_seq;
    int need_init;    /* the next block starts the cell afresh from its config (INIT flag) */
    int need_restart; /* the next block restarts the cell's run (new weights) */
    struct lt_xrt_cell_config *config_map;
    void *state_map; /* host side of the state BO: only tests look at it (noop shim) */
    int broken;      /* a run timed out: its buffers may still be written, refuse the slot */
    char err[XRT_ERR_LEN];
};

struct lt_xrt {
    xrtDeviceHandle dev;
    uint8_t uuid[16];
    uint32_t device_index;
    uint32_t max_cells, max_block_periods, cells_per_unit;
    uint32_t n_cus;
    struct xrt_cu cu[LT_XRT_MAX_CUS];
    uint32_t n_weights;
    struct xrt_weights_bo weights[LT_XRT_MAX_CUS];
    uint32_t weights_bytes, weights_gen;
    int32_t threshold; /* candidate parameters, sent with every block */
    uint32_t gap_w, gap_t;
    uint32_t n_slots;
    struct xrt_slot *slot;
    /* Orders weight/parameter changes against blocks: a block takes the network and parameters
     * and reserves its place under it, so changes happen only with no block in flight. Held for
     * a few instructions on the data path (uncontended: no system call). */
    pthread_mutex_t mu;
    _Atomic uint64_t runs_started, runs_completed, runs_failed, bytes_to_card, bytes_from_card;
};

static int errno_or(int fallback)
{
    return errno ? errno : fallback;
}

/* BO sizes are whole pages: XRT backs host buffers with aligned_alloc(4096, size), which C11
 * (and AddressSanitizer) only allows for sizes that are multiples of the alignment, and DMA
 * works in pages anyway. */
static size_t page_round(size_t n)
{
    return (n + 4095U) & ~(size_t)4095U;
}

static void close_cus(struct lt_xrt *x)
{
    for (uint32_t i = 0; i < x->n_cus; i++)
        if (x->cu[i].kernel) xrtKernelClose(x->cu[i].kernel);
    x->n_cus = 0;
}

/* Open every CU of the kernel as its own kernel handle, so each cell's runs go to the CU whose
 * memory banks hold that cell's buffers. */
static int open_cus(struct lt_xrt *x, const struct lt_xrt_xclbin *xb, const char *kernel_name,
                    uint32_t want, char *err, size_t errlen)
{
    if (want > xb->n_cus) {
        lt_seterr(err, errlen, "xrt: the xclbin has %u compute unit(s) of %s, config asks for %u",
                  xb->n_cus, kernel_name, want);
        return LT_ERANGE;
    }
    uint32_t n = want ? want : xb->n_cus;
    for (uint32_t i = 0; i < n; i++) {
        struct xrt_cu *c = &x->cu[i];
        char spec[2 * LT_XRT_CU_NAME_LEN + 8];
        snprintf(c->name, sizeof c->name, "%s", xb->cu_name[i]);
        snprintf(spec, sizeof spec, "%s:{%s}", kernel_name, c->name);
        errno = 0;
        c->kernel = xrtPLKernelOpen(x->dev, x->uuid, spec);
        if (!c->kernel) {
            lt_seterr(err, errlen,
                      "xrt: cannot open compute unit %s on device %u: %s (does the xclbin's "
                      "metadata describe this kernel?)",
                      spec, x->device_index, strerror(errno_or(EINVAL)));
            return LT_ENOTFOUND;
        }
        x->n_cus = i + 1;
        for (int a = 0; a < LT_XRT_FIRST_SCALAR_ARG; a++) {
            c->group[a] = xrtKernelArgGroupId(c->kernel, a);
            if (c->group[a] < 0) {
                lt_seterr(err, errlen,
                          "xrt: compute unit %s has no memory bank for argument %d: the xclbin "
                          "was not built from kernels/vitis (see lartrig_xrt_abi.h)",
                          spec, a);
                return LT_EFORMAT;
            }
        }
        /* One weights BO per distinct memory group: CUs that share a bank share the upload. */
        int w = -1;
        for (uint32_t k = 0; k < x->n_weights; k++)
            if (x->weights[k].group == c->group[LT_XRT_ARG_WEIGHTS]) w = (int)k;
        if (w < 0) {
            w = (int)x->n_weights++;
            x->weights[w].group = c->group[LT_XRT_ARG_WEIGHTS];
        }
        c->weights_bo = w;
    }
    return 0;
}

int lt_xrt_open(const struct lt_accel_config *cfg, struct lt_xrt **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!cfg || cfg->max_cells == 0 || cfg->max_block_periods == 0) {
        lt_seterr(err, errlen, "xrt: max_cells and max_block_periods must be > 0");
        return LT_EINVAL;
    }
    if (cfg->compute_units > LT_XRT_MAX_CUS) {
        lt_seterr(err, errlen, "xrt: compute_units %u exceeds %u", cfg->compute_units,
                  LT_XRT_MAX_CUS);
        return LT_ERANGE;
    }
    if (cfg->max_candidates > LT_XRT_MAX_CANDIDATES) {
        lt_seterr(err, errlen,
                  "xrt: max_candidates %u per block exceeds the card kernel's candidate buffer "
                  "of %u per block (LT_XRT_MAX_CANDIDATES)",
                  cfg->max_candidates, LT_XRT_MAX_CANDIDATES);
        return LT_ERANGE;
    }
    const char *kname =
        cfg->kernel_name && *cfg->kernel_name ? cfg->kernel_name : LT_XRT_KERNEL_NAME;
    /* File and environment first: both fail fast and clearly, before XRT is involved. */
    struct lt_xrt_xclbin *xb = malloc(sizeof *xb);
    if (!xb) return LT_ENOMEM;
    int rc = lt_xrt_xclbin_read(cfg->xclbin_path, kname, xb, err, errlen);
    if (rc) {
        free(xb);
        return rc;
    }
    /* The target check first: it needs no library, and a mismatch would hang an emulator. */
    rc = lt_xrt_xclbin_check_mode(cfg->xclbin_path, xb, err, errlen);
    if (!rc) rc = lt_xrt_env_check(err, errlen);
    struct lt_xrt *x = rc ? NULL : calloc(1, sizeof *x);
    if (!rc && !x) rc = LT_ENOMEM;
    if (rc) goto fail;
    pthread_mutex_init(&x->mu, NULL);
    x->device_index = cfg->device_index;
    x->max_cells = cfg->max_cells;
    x->max_block_periods = cfg->max_block_periods;
    x->cells_per_unit = cfg->cells_per_unit;
    x->threshold = 0; /* the defaults of the cpu backend until weights or params say otherwise */
    x->gap_w = 1;
    x->gap_t = 2;
    memcpy(x->uuid, xb->uuid, sizeof x->uuid);
    x->slot = calloc(cfg->max_cells, sizeof *x->slot);
    if (!x->slot) {
        rc = LT_ENOMEM;
        goto fail;
    }
    errno = 0;
    x->dev = xrtDeviceOpen(cfg->device_index);
    if (!x->dev) {
        lt_seterr(err, errlen,
                  "xrt: cannot open device %u (%s): no Alveo card at that index, or its driver "
                  "is not loaded (check `xbutil examine`)",
                  cfg->device_index, strerror(errno_or(ENODEV)));
        rc = LT_ENOTFOUND;
        goto fail;
    }
    errno = 0;
    if (xrtDeviceLoadXclbin(x->dev, (const struct axlf *)xb->image) != 0) {
        lt_seterr(err, errlen,
                  "xrt: device %u refused xclbin %s: %s (built for another platform "
                  "or shell?)",
                  cfg->device_index, cfg->xclbin_path, strerror(errno_or(EINVAL)));
        rc = LT_EFORMAT;
        goto fail;
    }
    if (xb->names_assumed) { /* sw_emu: trust the config (or one CU) and XRT's metadata */
        xb->n_cus = cfg->compute_units ? cfg->compute_units : 1;
        for (uint32_t i = 0; i < xb->n_cus; i++)
            snprintf(xb->cu_name[i], LT_XRT_CU_NAME_LEN, "%s_%u", kname, i + 1);
    }
    rc = open_cus(x, xb, kname, cfg->compute_units, err, errlen);
    if (rc) goto fail;
    if (x->cells_per_unit && (uint64_t)x->cells_per_unit * x->n_cus < x->max_cells)
        LT_WARN("xrt: %u CU(s) x %u cells per unit serve fewer than max_cells=%u cells", x->n_cus,
                x->cells_per_unit, x->max_cells);
    LT_INFO("xrt: device %u, xclbin %s, %u CU(s) of %s, %u weight buffer(s)", x->device_index,
            cfg->xclbin_path, x->n_cus, kname, x->n_weights);
    lt_xrt_xclbin_free(xb);
    free(xb);
    *out = x;
    return 0;
fail:
    lt_xrt_xclbin_free(xb);
    free(xb);
    lt_xrt_close(x);
    return rc;
}

static void free_slot(struct xrt_slot *s)
{
    /* A run still in flight must not lose its buffers under the card's feet: wait (bounded). */
    for (uint32_t i = 0; i < s->in_flight && !s->broken; i++)
        xrtRunWaitFor(s->block[(s->head + i) % XRT_BLOCKS].run, LT_XRT_RUN_TIMEOUT_MS);
    for (uint32_t b = 0; b < XRT_BLOCKS; b++) {
        struct xrt_block *k = &s->block[b];
        if (k->run) xrtRunClose(k->run);
        if (k->frames_bo) xrtBOFree(k->frames_bo);
        if (k->out_bo) xrtBOFree(k->out_bo);
    }
    if (s->config_bo) xrtBOFree(s->config_bo);
    if (s->state_bo) xrtBOFree(s->state_bo);
    memset(s, 0, sizeof *s);
}

void lt_xrt_close(struct lt_xrt *x)
{
    if (!x) return;
    for (uint32_t i = 0; i < x->n_slots; i++) free_slot(&x->slot[i]);
    for (uint32_t i = 0; i < x->n_weights; i++)
        if (x->weights[i].bo) xrtBOFree(x->weights[i].bo);
    close_cus(x);
    if (x->dev) xrtDeviceClose(x->dev);
    pthread_mutex_destroy(&x->mu);
    free(x->slot);
    free(x);
}

static int upload_weights_locked(struct lt_xrt *x, const void *image, size_t len, char *err,
                                 size_t errlen);

int lt_xrt_upload_weights(struct lt_xrt *x, const void *image, size_t len, char *err, size_t errlen)
{
    if (!image || len == 0 || len > UINT32_MAX) {
        lt_seterr(err, errlen, "xrt: empty or oversized weights image (%zu bytes)", len);
        return LT_EINVAL;
    }
    pthread_mutex_lock(&x->mu);
    int rc = upload_weights_locked(x, image, len, err, errlen);
    pthread_mutex_unlock(&x->mu);
    return rc;
}

static int upload_weights_locked(struct lt_xrt *x, const void *image, size_t len, char *err,
                                 size_t errlen)
{
    for (uint32_t i = 0; i < x->n_slots; i++)
        if (x->slot[i].in_flight) {
            lt_seterr(err, errlen,
                      "xrt: cell %u has blocks in flight: collect them before replacing weights",
                      x->slot[i].cell_id);
            return LT_EINVAL;
        }
    for (uint32_t i = 0; i < x->n_weights; i++) {
        struct xrt_weights_bo *w = &x->weights[i];
        if (w->capacity < len) { /* grows only: a new network of the same shape reuses the BO */
            if (w->bo) xrtBOFree(w->bo);
            w->capacity = 0;
            errno = 0;
            w->bo =
                xrtBOAlloc(x->dev, page_round(len), XCL_BO_FLAGS_NONE, (xrtMemoryGroup)w->group);
            if (!w->bo) {
                lt_seterr(err, errlen,
                          "xrt: cannot allocate %zu-byte weights buffer in memory "
                          "group %d: %s",
                          len, w->group, strerror(errno_or(ENOMEM)));
                return LT_ENOMEM;
            }
            w->capacity = len;
        }
        errno = 0;
        if (xrtBOWrite(w->bo, image, len, 0) != 0 ||
            xrtBOSync(w->bo, XCL_BO_SYNC_BO_TO_DEVICE, len, 0) != 0) {
            lt_seterr(err, errlen, "xrt: weights upload to memory group %d failed: %s", w->group,
                      strerror(errno_or(EIO)));
            return LT_EIO;
        }
        atomic_fetch_add(&x->bytes_to_card, len);
    }
    x->weights_bytes = (uint32_t)len;
    x->weights_gen++; /* each CU reloads its on-chip copy when it sees a new generation */
    /* The architecture may have changed: every cell starts a new run with its next block. */
    for (uint32_t i = 0; i < x->n_slots; i++) x->slot[i].need_restart = 1;
    return 0;
}

int lt_xrt_set_candidate_params(struct lt_xrt *x, int32_t threshold, uint32_t gap_w, uint32_t gap_t,
                                char *err, size_t errlen)
{
    pthread_mutex_lock(&x->mu);
    for (uint32_t i = 0; i < x->n_slots; i++)
        if (x->slot[i].in_flight) {
            lt_seterr(err, errlen,
                      "xrt: candidate parameters can only change between blocks "
                      "(cell %u has blocks in flight)",
                      x->slot[i].cell_id);
            pthread_mutex_unlock(&x->mu);
            return LT_EINVAL;
        }
    x->threshold = threshold;
    x->gap_w = gap_w;
    x->gap_t = gap_t;
    pthread_mutex_unlock(&x->mu);
    return 0;
}

static xrtBufferHandle alloc_bo(struct lt_xrt *x, size_t size, xrtBufferFlags flags, int group,
                                const char *what, uint32_t cell, char *err, size_t errlen)
{
    errno = 0;
    xrtBufferHandle bo = xrtBOAlloc(x->dev, page_round(size), flags, (xrtMemoryGroup)group);
    if (!bo)
        lt_seterr(err, errlen,
                  "xrt: cell %u: cannot allocate %zu-byte %s buffer in memory group "
                  "%d: %s",
                  cell, size, what, group, strerror(errno_or(ENOMEM)));
    return bo;
}

/* The slot's CU: consecutive cells fill a CU up to cells_per_unit, else round robin. */
static int pick_cu(const struct lt_xrt *x, uint32_t slot, uint32_t *cu)
{
    if (x->cells_per_unit == 0) {
        *cu = slot % x->n_cus;
        return 0;
    }
    if (slot / x->cells_per_unit >= x->n_cus) return LT_EFULL;
    *cu = slot / x->cells_per_unit;
    return 0;
}

int lt_xrt_add_cell(struct lt_xrt *x, uint32_t cell_id, const struct lt_cell_geom *geom, char *err,
                    size_t errlen)
{
    if (!geom || geom->n_fembs == 0 || geom->n_fembs > LT_FEMBS_PER_CELL) {
        lt_seterr(err, errlen, "xrt: cell %u: n_fembs must be 1..%u", cell_id, LT_FEMBS_PER_CELL);
        return LT_EINVAL;
    }
    if (x->n_slots == x->max_cells) {
        lt_seterr(err, errlen, "xrt: cell %u: all %u slots (max_cells) are taken", cell_id,
                  x->max_cells);
        return LT_EFULL;
    }
    uint32_t idx = x->n_slots, cu;
    if (pick_cu(x, idx, &cu) != 0) {
        lt_seterr(err, errlen, "xrt: cell %u: %u CU(s) x %u cells_per_unit are all taken", cell_id,
                  x->n_cus, x->cells_per_unit);
        return LT_EFULL;
    }
    struct xrt_slot *s = &x->slot[idx];
    struct xrt_cu *c = &x->cu[cu];
    memset(s, 0, sizeof *s);
    s->cell_id = cell_id;
    s->geom = *geom;
    s->cu = cu;
    size_t frames_bytes =
        (size_t)x->max_block_periods * lt_geom_streams(geom) * sizeof(lt_wibeth_frame);
    s->need_init = 1;
    int rc = LT_ENOMEM; /* what a failure below means, unless it says otherwise */
    /* The config (identity + X-wire table) is built here, where error strings exist, and goes
     * to the card once; the card starts the cell from it on the first block (INIT). */
    s->config_bo = alloc_bo(x, sizeof(struct lt_xrt_cell_config), XCL_BO_FLAGS_NONE,
                            c->group[LT_XRT_ARG_CONFIG], "config", cell_id, err, errlen);
    if (!s->config_bo) goto fail;
    s->config_map = xrtBOMap(s->config_bo);
    if (!s->config_map) {
        lt_seterr(err, errlen, "xrt: cell %u: cannot map its config buffer", cell_id);
        goto fail;
    }
    memset(s->config_map, 0, sizeof *s->config_map);
    char why[160];
    if (lt_pre_map_build(&s->config_map->map, geom, why, sizeof why) != 0) {
        lt_seterr(err, errlen, "xrt: cell %u: %s", cell_id, why);
        free_slot(s);
        return LT_EINVAL;
    }
    s->config_map->magic = LT_XRT_CONFIG_MAGIC;
    s->config_map->cell_id = cell_id;
    if (xrtBOSync(s->config_bo, XCL_BO_SYNC_BO_TO_DEVICE, sizeof *s->config_map, 0) != 0) {
        rc = LT_EIO;
        lt_seterr(err, errlen, "xrt: cell %u: DMA of its config to CU %s failed", cell_id, c->name);
        goto fail;
    }
    atomic_fetch_add(&x->bytes_to_card, sizeof *s->config_map);
    /* The state is card-private (written by INIT before it is ever read): never synced. It has
     * a host side only because XRT gives every ordinary BO one; tests read it under noop. */
    s->state_bo = alloc_bo(x, LT_XRT_STATE_BYTES, XCL_BO_FLAGS_NONE, c->group[LT_XRT_ARG_STATE],
                           "state", cell_id, err, errlen);
    if (!s->state_bo) goto fail;
    s->state_map = xrtBOMap(s->state_bo);
    for (uint32_t b = 0; b < XRT_BLOCKS; b++) {
        struct xrt_block *k = &s->block[b];
        k->frames_bo = alloc_bo(x, frames_bytes, XCL_BO_FLAGS_NONE, c->group[LT_XRT_ARG_FRAMES],
                                "frames", cell_id, err, errlen);
        if (!k->frames_bo) goto fail;
        k->out_bo = alloc_bo(x, XRT_OUT_BYTES, XCL_BO_FLAGS_NONE, c->group[LT_XRT_ARG_OUT],
                             "result", cell_id, err, errlen);
        if (!k->out_bo) goto fail;
        k->frames_map = xrtBOMap(k->frames_bo);
        k->out_map = xrtBOMap(k->out_bo);
        if (!k->frames_map || !k->out_map) {
            lt_seterr(err, errlen, "xrt: cell %u: cannot map block buffers", cell_id);
            goto fail;
        }
        errno = 0;
        k->run = xrtRunOpen(c->kernel);
        if (!k->run) {
            rc = LT_EIO;
            lt_seterr(err, errlen, "xrt: cell %u: cannot create a run on CU %s: %s", cell_id,
                      c->name, strerror(errno_or(EINVAL)));
            goto fail;
        }
        /* Buffers and the cell's constants are fixed per run handle: set once here. */
        if (xrtRunSetArg(k->run, LT_XRT_ARG_FRAMES, k->frames_bo) != 0 ||
            xrtRunSetArg(k->run, LT_XRT_ARG_CONFIG, s->config_bo) != 0 ||
            xrtRunSetArg(k->run, LT_XRT_ARG_STATE, s->state_bo) != 0 ||
            xrtRunSetArg(k->run, LT_XRT_ARG_OUT, k->out_bo) != 0) {
            rc = LT_EFORMAT;
            lt_seterr(err, errlen, "xrt: cell %u: CU %s rejected the buffer arguments: %s", cell_id,
                      c->name, strerror(errno_or(EINVAL)));
            goto fail;
        }
    }
    c->cells++;
    x->n_slots++;
    return (int)idx;
fail:
    free_slot(s);
    return rc;
}

static struct xrt_slot *get_slot(struct lt_xrt *x, int slot)
{
    if (!x || slot < 0 || (uint32_t)slot >= x->n_slots) return NULL;
    return &x->slot[slot];
}

/* Record why a slot's call failed, log it (rate-limited: this is the data path) and return rc. */
__attribute__((format(printf, 3, 4))) static int slot_fail(struct xrt_slot *s, int rc,
                                                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 5, "%s", s->err);
    return rc;
}

int lt_xrt_submit(struct lt_xrt *x, int slot, const lt_wibeth_frame *frames, uint32_t n_periods)
{
    struct xrt_slot *s = get_slot(x, slot);
    if (!s) return LT_EINVAL;
    s->err[0] = '\0';
    if (s->broken)
        return slot_fail(s, LT_EIO, "xrt: cell %u is out of service after a CU timeout",
                         s->cell_id);
    if (!frames || n_periods == 0 || n_periods > x->max_block_periods)
        return slot_fail(s, LT_EINVAL, "xrt: cell %u: block of %u periods (allowed 1..%u)",
                         s->cell_id, n_periods, x->max_block_periods);
    /* Reserve the block and take the network and parameters it runs with, under the lock. */
    pthread_mutex_lock(&x->mu);
    if (x->weights_gen == 0) {
        pthread_mutex_unlock(&x->mu);
        return slot_fail(s, LT_EINVAL, "xrt: cell %u: no weights loaded", s->cell_id);
    }
    if (s->in_flight == XRT_BLOCKS) {
        pthread_mutex_unlock(&x->mu);
        return LT_EFULL;
    }
    const struct xrt_cu *c = &x->cu[s->cu];
    struct xrt_block *k = &s->block[(s->head + s->in_flight) % XRT_BLOCKS];
    const xrtBufferHandle wbo = x->weights[c->weights_bo].bo;
    const uint32_t wbytes = x->weights_bytes, wgen = x->weights_gen, gap_w = x->gap_w,
                   gap_t = x->gap_t;
    const int32_t threshold = x->threshold;
    const int restart = s->need_restart;
    s->need_restart = 0;
    s->in_flight++;
    pthread_mutex_unlock(&x->mu);

    /* INIT and RESTART are applied on the card in queue order, after any block in flight. */
    k->sequence = s->next_seq;
    k->flags = (s->need_init ? LT_XRT_FLAG_INIT : 0U) | (restart ? LT_XRT_FLAG_RESTART : 0U) |
               (x->cells_per_unit == 1 ? LT_XRT_FLAG_RESIDENT : 0U);
    k->n_periods = n_periods;
    size_t bytes = (size_t)n_periods * lt_geom_streams(&s->geom) * sizeof(lt_wibeth_frame);
    memcpy(k->frames_map, frames, bytes);
    int rc = 0;
    if (xrtBOSync(k->frames_bo, XCL_BO_SYNC_BO_TO_DEVICE, bytes, 0) != 0)
        rc = slot_fail(s, LT_EIO, "xrt: cell %u: DMA of %zu bytes to CU %s failed: %s", s->cell_id,
                       bytes, c->name, strerror(errno_or(EIO)));
    else if (xrtRunSetArg(k->run, LT_XRT_ARG_WEIGHTS, wbo) != 0 ||
             xrtRunSetArg(k->run, LT_XRT_ARG_WEIGHTS_BYTES, (unsigned)wbytes) != 0 ||
             xrtRunSetArg(k->run, LT_XRT_ARG_WEIGHTS_GEN, (unsigned)wgen) != 0 ||
             xrtRunSetArg(k->run, LT_XRT_ARG_N_PERIODS, (unsigned)n_periods) != 0 ||
             xrtRunSetArg(k->run, LT_XRT_ARG_THRESHOLD, (int)threshold) != 0 ||
             xrtRunSetArg(k->run, LT_XRT_ARG_GAP_W, (unsigned)gap_w) != 0 ||
             xrtRunSetArg(k->run, LT_XRT_ARG_GAP_T, (unsigned)gap_t) != 0 ||
             xrtRunSetArg(k->run, LT_XRT_ARG_FLAGS, (unsigned)k->flags) != 0 ||
             xrtRunSetArg(k->run, LT_XRT_ARG_SEQUENCE, (unsigned)k->sequence) != 0)
        rc = slot_fail(s, LT_EIO, "xrt: cell %u: CU %s rejected the block arguments", s->cell_id,
                       c->name);
    else if (xrtRunStart(k->run) != 0) {
        atomic_fetch_add(&x->runs_failed, 1);
        rc = slot_fail(s, LT_EIO, "xrt: cell %u: cannot start a run on CU %s: %s", s->cell_id,
                       c->name, strerror(errno_or(EIO)));
    }
    if (rc) { /* give the reservation back; the block never reached the card */
        pthread_mutex_lock(&x->mu);
        s->in_flight--;
        s->need_restart |= restart;
        pthread_mutex_unlock(&x->mu);
        return rc;
    }
    atomic_fetch_add(&x->runs_started, 1);
    atomic_fetch_add(&x->bytes_to_card, bytes);
    s->next_seq++;
    s->need_init = 0;
    return 0;
}

/* The oldest block of a slot is done with the card. */
static void retire(struct lt_xrt *x, struct xrt_slot *s)
{
    pthread_mutex_lock(&x->mu);
    s->head = (s->head + 1) % XRT_BLOCKS;
    s->in_flight--;
    pthread_mutex_unlock(&x->mu);
}

static const char *state_name(enum ert_cmd_state st)
{
    switch (st) {
    case ERT_CMD_STATE_ERROR:
        return "error";
    case ERT_CMD_STATE_ABORT:
        return "aborted";
    case ERT_CMD_STATE_TIMEOUT:
        return "timed out";
    case ERT_CMD_STATE_NORESPONSE:
        return "no response";
    default:
        return "still running";
    }
}

int lt_xrt_collect(struct lt_xrt *x, int slot, struct lt_candidate *out, uint32_t max,
                   struct lt_accel_result *res, uint32_t *dropped)
{
    struct xrt_slot *s = get_slot(x, slot);
    if (!s || !res || !dropped || (max && !out)) return LT_EINVAL;
    s->err[0] = '\0';
    if (s->broken)
        return slot_fail(s, LT_EIO, "xrt: cell %u is out of service after a CU timeout",
                         s->cell_id);
    if (s->in_flight == 0)
        return slot_fail(s, LT_ENOTFOUND, "xrt: cell %u: collect without a block in flight",
                         s->cell_id);
    const struct xrt_cu *c = &x->cu[s->cu];
    struct xrt_block *k = &s->block[s->head];
    enum ert_cmd_state st = xrtRunWaitFor(k->run, LT_XRT_RUN_TIMEOUT_MS);
    if (st != ERT_CMD_STATE_COMPLETED) {
        atomic_fetch_add(&x->runs_failed, 1);
        if (st == ERT_CMD_STATE_ERROR || st == ERT_CMD_STATE_ABORT) {
            retire(x, s);     /* the run is over; its buffers are free */
            s->need_init = 1; /* the state on the card is undefined now */
        } else {
            s->broken = 1;
        }
        return slot_fail(
            s, st == ERT_CMD_STATE_ERROR || st == ERT_CMD_STATE_ABORT ? LT_EIO : LT_ETIMEOUT,
            "xrt: cell %u: block %u on CU %s %s (state %d after %u ms)", s->cell_id, k->sequence,
            c->name, state_name(st), (int)st, LT_XRT_RUN_TIMEOUT_MS);
    }
    atomic_fetch_add(&x->runs_completed, 1);
    retire(x, s);
    if (xrtBOSync(k->out_bo, XCL_BO_SYNC_BO_FROM_DEVICE, XRT_OUT_BYTES, 0) != 0) {
        s->need_init = 1;
        return slot_fail(s, LT_EIO,
                         "xrt: cell %u: DMA of the result of block %u from CU %s "
                         "failed: %s",
                         s->cell_id, k->sequence, c->name, strerror(errno_or(EIO)));
    }
    atomic_fetch_add(&x->bytes_from_card, XRT_OUT_BYTES);
    struct lt_xrt_out_header h;
    memcpy(&h, k->out_map, sizeof h);
    if (h.magic != LT_XRT_OUT_MAGIC || h.sequence != k->sequence) {
        s->need_init = 1;
        return slot_fail(s, LT_EFORMAT,
                         "xrt: cell %u: CU %s completed block %u but wrote no result (magic "
                         "0x%08x, sequence %u): the xclbin's kernel is not kernels/vitis's "
                         "lartrig_top, or the shim runs no kernel (noop)",
                         s->cell_id, c->name, k->sequence, h.magic, h.sequence);
    }
    if (h.status != 0) {
        s->need_init = 1;
        return slot_fail(s, h.status < 0 ? h.status : LT_EIO,
                         "xrt: cell %u: kernel on CU %s reported %s for block %u", s->cell_id,
                         c->name, lt_strerror(h.status), k->sequence);
    }
    if (h.n_candidates > LT_XRT_MAX_CANDIDATES) {
        s->need_init = 1;
        return slot_fail(s, LT_EFORMAT, "xrt: cell %u: CU %s claims %u candidates (max %u)",
                         s->cell_id, c->name, h.n_candidates, LT_XRT_MAX_CANDIDATES);
    }
    uint32_t n = h.n_candidates < max ? h.n_candidates : max;
    if (n) memcpy(out, (const uint8_t *)k->out_map + sizeof h, n * sizeof *out);
    *dropped = h.dropped + (h.n_candidates - n);
    res->n_candidates = n;
    res->watermark = h.watermark;
    res->columns = h.columns;
    res->cand_evicted = h.cand_evicted;
    res->cand_dropped = h.cand_dropped;
    res->time_gaps = h.time_gaps;
    res->ts_mismatch = h.ts_mismatch;
    return 0;
}

const char *lt_xrt_slot_error(const struct lt_xrt *x, int slot)
{
    if (!x || slot < 0 || (uint32_t)slot >= x->n_slots) return "no such slot";
    return x->slot[slot].err;
}

void lt_xrt_stats(const struct lt_xrt *x, struct lt_xrt_stats *o)
{
    memset(o, 0, sizeof *o);
    o->compute_units = x->n_cus;
    o->cells = x->n_slots;
    for (uint32_t i = 0; i < x->n_weights; i++) o->weight_buffers += x->weights[i].bo != NULL;
    o->runs_started = atomic_load(&x->runs_started);
    o->runs_completed = atomic_load(&x->runs_completed);
    o->runs_failed = atomic_load(&x->runs_failed);
    o->bytes_to_card = atomic_load(&x->bytes_to_card);
    o->bytes_from_card = atomic_load(&x->bytes_from_card);
}

const char *lt_xrt_debug_slot_cu(const struct lt_xrt *x, int slot)
{
    if (!x || slot < 0 || (uint32_t)slot >= x->n_slots) return NULL;
    return x->cu[x->slot[slot].cu].name;
}

int lt_xrt_debug_block(struct lt_xrt *x, int slot, uint32_t i, struct lt_xrt_debug_block *o)
{
    struct xrt_slot *s = get_slot(x, slot);
    if (!s || i >= s->in_flight) return LT_ENOTFOUND;
    const struct xrt_block *k = &s->block[(s->head + i) % XRT_BLOCKS];
    o->frames = k->frames_map;
    o->out = k->out_map;
    o->out_bytes = XRT_OUT_BYTES;
    o->sequence = k->sequence;
    o->flags = k->flags;
    o->weights = x->weights[x->cu[s->cu].weights_bo].bo
                     ? xrtBOMap(x->weights[x->cu[s->cu].weights_bo].bo)
                     : NULL;
    o->config = s->config_map;
    o->state = s->state_map;
    o->state_bytes = LT_XRT_STATE_BYTES;
    o->weights_bytes = x->weights_bytes;
    o->weights_gen = x->weights_gen;
    o->n_periods = k->n_periods;
    o->threshold = x->threshold;
    o->gap_w = x->gap_w;
    o->gap_t = x->gap_t;
    return 0;
}

/* --- the accelerator interface's view (fpga/accel_backend.h) ------------------------------- */

static int ops_open(struct lt_accel *a, const struct lt_accel_config *cfg, char *err, size_t errlen)
{
    struct lt_xrt *x;
    int rc = lt_xrt_open(cfg, &x, err, errlen);
    if (rc == 0) a->impl = x;
    return rc;
}

static void ops_close(struct lt_accel *a)
{
    lt_xrt_close(a->impl);
    a->impl = NULL;
}

/* The card reads the weights file format itself (docs/kernel.md), so the upload is the file's
 * bytes, re-encoded from the checked network. */
static int ops_load_weights(struct lt_accel *a, const struct lt_weights *w, char *err,
                            size_t errlen)
{
    struct lt_xrt *x = a->impl;
    size_t cap = lt_weights_encoded_size(&w->net), len = 0;
    uint8_t *img = malloc(cap ? cap : 1);
    if (!img) {
        lt_seterr(err, errlen, "xrt: no memory to encode weights \"%s\"", w->name);
        return LT_ENOMEM;
    }
    int rc = lt_weights_encode(&w->net, w->name, img, cap, &len, err, errlen);
    if (rc == 0) rc = lt_xrt_upload_weights(x, img, len, err, errlen);
    free(img);
    if (rc == 0) x->threshold = w->net.threshold;
    return rc;
}

static int ops_set_candidate_params(struct lt_accel *a, int32_t threshold, uint32_t gap_w,
                                    uint32_t gap_t, char *err, size_t errlen)
{
    return lt_xrt_set_candidate_params(a->impl, threshold, gap_w, gap_t, err, errlen);
}

static int ops_add_cell(struct lt_accel *a, int slot, uint32_t cell_id,
                        const struct lt_cell_geom *geom, char *err, size_t errlen)
{
    struct lt_xrt *x = a->impl;
    if (slot < 0 || (uint32_t)slot != x->n_slots) {
        lt_seterr(err, errlen, "xrt: slot %d out of order (next is %u)", slot, x->n_slots);
        return LT_EINVAL;
    }
    int rc = lt_xrt_add_cell(x, cell_id, geom, err, errlen);
    return rc < 0 ? rc : 0;
}

static int ops_submit(struct lt_accel *a, int slot, const lt_wibeth_frame *frames,
                      uint32_t n_periods)
{
    return lt_xrt_submit(a->impl, slot, frames, n_periods);
}

static int ops_collect(struct lt_accel *a, int slot, struct lt_candidate *out, uint32_t max,
                       struct lt_accel_result *res, uint32_t *dropped)
{
    return lt_xrt_collect(a->impl, slot, out, max, res, dropped);
}

struct lt_xrt *lt_xrt_of(struct lt_accel *a)
{
    return a && a->ops == &lt_accel_xrt_ops ? a->impl : NULL;
}

/* The score map stays on the card (only candidates cross PCIe): no last_scores. */
const struct lt_accel_backend_ops lt_accel_xrt_ops = {
    .name = "xrt",
    .open = ops_open,
    .close = ops_close,
    .load_weights = ops_load_weights,
    .set_candidate_params = ops_set_candidate_params,
    .add_cell = ops_add_cell,
    .submit = ops_submit,
    .collect = ops_collect,
    .last_scores = NULL,
};
