/* The cpu backend: the kernels/ C code run per cell on a pool of worker threads, with the conv and
 * unpack inner loops replaced by AVX2/AVX-512 versions when the CPU has them (same integers).
 *
 * Scheduling: a slot (cell) has at most two blocks in flight. A slot with work is put on a bounded
 * run queue once; the worker that takes it processes its blocks in order until none is left, so
 * a cell's blocks never run concurrently or out of order, and no lock is held while computing.
 * Everything is allocated in open/add_cell; submit and collect only take a mutex. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accel_backend.h"
#include "backend_cpu.h"
#include "kernel_top.h"
#include "log.h"
#include "lt_error.h"
#include "weights.h"

#define CPU_INFLIGHT 2U

struct cpu_block {
    const lt_wibeth_frame *frames;
    uint32_t n_periods;
    struct lt_kernel_block res;
    uint32_t kernel_dropped; /* candidates lost inside the kernel during this block */
    uint64_t evicted, dropped_total, time_gaps, ts_mismatch; /* cell counters after the block */
    int16_t *scores;                                         /* keep_scores only */
};

struct cpu_slot {
    struct lt_kernel_cell *k;
    struct lt_candidate *cands[CPU_INFLIGHT];
    uint32_t cand_cap;
    struct cpu_block blk[CPU_INFLIGHT];
    uint64_t n_sub, n_done, n_col; /* blocks submitted, processed, collected */
    int scheduled;                 /* on the run queue or being processed */
    pthread_cond_t done_cv;
    uint32_t last_cols; /* score columns of the last collected block */
    const int16_t *last_scores;
};

struct cpu_impl {
    enum lt_cpu_isa isa;
    struct lt_kernel_net *net; /* shared by every cell, read-only while blocks run */
    int32_t *packed[LT_KERNEL_MAX_LAYERS];
    struct lt_cand_params params;
    uint32_t max_cells, max_block_periods, keep_scores;
    struct cpu_slot *slots;
    uint32_t n_slots;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    uint32_t *queue; /* ring of slot indices, capacity max_cells */
    uint32_t q_head, q_len;
    int stop;
    pthread_t *threads;
    uint32_t n_threads;
};

static struct cpu_impl *impl_of(struct lt_accel *a)
{
    return a->impl;
}

/* Let a cell's kernel use this backend's vectorised stages. */
static void install_hooks(struct cpu_impl *im, struct lt_kernel_cell *k)
{
    lt_cpu_install(im->isa, im->net, &k->cnn, &k->pre);
    for (uint32_t l = 0; l < LT_KERNEL_MAX_LAYERS; l++) k->cnn.packed[l] = im->packed[l];
}

static void run_block(struct cpu_impl *im, struct cpu_slot *s, uint32_t bi)
{
    struct cpu_block *b = &s->blk[bi];
    struct lt_kernel_cell *k = s->k;
    uint64_t dropped_before = k->cand.dropped;
    uint64_t cap_cols = (uint64_t)im->max_block_periods * LT_PRE_COLS_MAX;
    lt_kernel_process(k, im->net, b->frames, b->n_periods, s->cands[bi], s->cand_cap, &b->res,
                      b->scores, b->scores ? cap_cols : 0);
    b->kernel_dropped = (uint32_t)(k->cand.dropped - dropped_before);
    b->evicted = k->cand.evicted;
    b->dropped_total = k->cand.dropped;
    b->time_gaps = k->time_gaps;
    b->ts_mismatch = k->ts_mismatch;
}

static void *worker(void *arg)
{
    struct cpu_impl *im = arg;
    pthread_mutex_lock(&im->mu);
    while (!im->stop) {
        if (im->q_len == 0) {
            pthread_cond_wait(&im->work_cv, &im->mu);
            continue;
        }
        struct cpu_slot *s = &im->slots[im->queue[im->q_head]];
        im->q_head = (im->q_head + 1U) % im->max_cells;
        im->q_len--;
        while (s->n_done < s->n_sub) {
            uint32_t bi = (uint32_t)(s->n_done % CPU_INFLIGHT);
            pthread_mutex_unlock(&im->mu);
            run_block(im, s, bi);
            pthread_mutex_lock(&im->mu);
            s->n_done++;
            pthread_cond_broadcast(&s->done_cv);
        }
        s->scheduled = 0;
    }
    pthread_mutex_unlock(&im->mu);
    return NULL;
}

static void cpu_close(struct lt_accel *a);

static int cpu_open(struct lt_accel *a, const struct lt_accel_config *cfg, char *err, size_t errlen)
{
    int isa = lt_cpu_isa_parse(cfg->cpu_isa);
    if (isa < 0) {
        lt_seterr(err, errlen, "cpu_isa \"%s\" unknown (auto, scalar, avx2, avx512)", cfg->cpu_isa);
        return LT_EINVAL;
    }
    if (!lt_cpu_isa_supported((enum lt_cpu_isa)isa)) {
        lt_seterr(err, errlen, "cpu_isa \"%s\" is not supported by this CPU or build",
                  lt_cpu_isa_name((enum lt_cpu_isa)isa));
        return LT_EUNSUPPORTED;
    }
    struct cpu_impl *im = calloc(1, sizeof(*im));
    if (!im) goto nomem;
    a->impl = im;
    im->isa = (enum lt_cpu_isa)isa;
    im->max_cells = cfg->max_cells;
    im->max_block_periods = cfg->max_block_periods;
    im->keep_scores = cfg->keep_scores;
    im->params.threshold = 0;
    im->params.gap_w = 1;
    im->params.gap_t = 2;
    pthread_mutex_init(&im->mu, NULL);
    pthread_cond_init(&im->work_cv, NULL);
    im->net = aligned_alloc(64, (sizeof(*im->net) + 63U) & ~(size_t)63U);
    im->slots = calloc(cfg->max_cells, sizeof(*im->slots));
    im->queue = calloc(cfg->max_cells, sizeof(*im->queue));
    if (!im->net || !im->slots || !im->queue) goto nomem;
    memset(im->net, 0, sizeof(*im->net));
    for (uint32_t l = 0; l < LT_KERNEL_MAX_LAYERS; l++) {
        im->packed[l] = aligned_alloc(64, LT_KERNEL_MAX_WEIGHTS * sizeof(int32_t));
        if (!im->packed[l]) goto nomem;
    }
    uint32_t nt = cfg->threads;
    if (nt == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nt = n > 0 ? (uint32_t)n : 1U;
    }
    if (nt > 256) nt = 256;
    im->threads = calloc(nt, sizeof(*im->threads));
    if (!im->threads) goto nomem;
    for (uint32_t i = 0; i < nt; i++) {
        if (pthread_create(&im->threads[i], NULL, worker, im) != 0) {
            lt_seterr(err, errlen, "cannot start cpu worker thread %u", i);
            cpu_close(a);
            return LT_ENOMEM;
        }
        im->n_threads++;
    }
    LT_INFO("accel cpu: %u worker threads, %s kernels", nt, lt_cpu_isa_name(im->isa));
    return 0;
nomem:
    lt_seterr(err, errlen, "out of memory opening the cpu backend");
    if (a->impl) cpu_close(a);
    return LT_ENOMEM;
}

static void cpu_close(struct lt_accel *a)
{
    struct cpu_impl *im = impl_of(a);
    if (!im) return;
    pthread_mutex_lock(&im->mu);
    im->stop = 1;
    pthread_cond_broadcast(&im->work_cv);
    pthread_mutex_unlock(&im->mu);
    for (uint32_t i = 0; i < im->n_threads; i++) pthread_join(im->threads[i], NULL);
    for (uint32_t i = 0; i < im->n_slots; i++) {
        struct cpu_slot *s = &im->slots[i];
        free(s->k);
        for (uint32_t b = 0; b < CPU_INFLIGHT; b++) {
            free(s->cands[b]);
            free(s->blk[b].scores);
        }
        pthread_cond_destroy(&s->done_cv);
    }
    for (uint32_t l = 0; l < LT_KERNEL_MAX_LAYERS; l++) free(im->packed[l]);
    free(im->threads);
    free(im->queue);
    free(im->slots);
    free(im->net);
    pthread_cond_destroy(&im->work_cv);
    pthread_mutex_destroy(&im->mu);
    free(im);
    a->impl = NULL;
}

static int all_idle(struct cpu_impl *im)
{
    for (uint32_t i = 0; i < im->n_slots; i++)
        if (im->slots[i].n_sub != im->slots[i].n_col) return 0;
    return 1;
}

static int cpu_load_weights(struct lt_accel *a, const struct lt_weights *w, char *err,
                            size_t errlen)
{
    struct cpu_impl *im = impl_of(a);
    pthread_mutex_lock(&im->mu);
    if (!all_idle(im)) {
        pthread_mutex_unlock(&im->mu);
        lt_seterr(err, errlen, "weights can only be replaced between blocks (collect first)");
        return LT_EINVAL;
    }
    *im->net = w->net;
    for (uint32_t l = 0; l < w->net.n_layers; l++) lt_cpu_pack_layer(im->net, l, im->packed[l]);
    /* accel.h: new weights bring their suggested threshold and the default gaps */
    im->params.threshold = w->net.threshold;
    im->params.gap_w = 1;
    im->params.gap_t = 2;
    /* The architecture may have changed: every cell starts a new run at its next period. */
    for (uint32_t i = 0; i < im->n_slots; i++) {
        im->slots[i].k->params = im->params;
        lt_kernel_cell_restart(im->slots[i].k);
        install_hooks(im, im->slots[i].k); /* the activation width picks the convs */
    }
    pthread_mutex_unlock(&im->mu);
    return 0;
}

static int cpu_set_candidate_params(struct lt_accel *a, int32_t threshold, uint32_t gap_w,
                                    uint32_t gap_t, char *err, size_t errlen)
{
    struct cpu_impl *im = impl_of(a);
    pthread_mutex_lock(&im->mu);
    if (!all_idle(im)) {
        pthread_mutex_unlock(&im->mu);
        lt_seterr(err, errlen, "candidate parameters can only change between blocks");
        return LT_EINVAL;
    }
    im->params.threshold = (int16_t)threshold;
    im->params.gap_w = gap_w;
    im->params.gap_t = gap_t;
    for (uint32_t i = 0; i < im->n_slots; i++) {
        im->slots[i].k->params = im->params;
        im->slots[i].k->cand.p = im->params; /* the open candidates carry on */
    }
    pthread_mutex_unlock(&im->mu);
    return 0;
}

static int cpu_add_cell(struct lt_accel *a, int slot, uint32_t cell_id,
                        const struct lt_cell_geom *geom, char *err, size_t errlen)
{
    struct cpu_impl *im = impl_of(a);
    struct cpu_slot *s = &im->slots[slot];
    memset(s, 0, sizeof(*s));
    size_t ksize = (sizeof(struct lt_kernel_cell) + 63U) & ~(size_t)63U;
    s->k = aligned_alloc(64, ksize);
    s->cand_cap = 1024U + 16U * im->max_block_periods;
    int ok = s->k != NULL;
    for (uint32_t b = 0; b < CPU_INFLIGHT && ok; b++) {
        s->cands[b] = calloc(s->cand_cap, sizeof(struct lt_candidate));
        ok = s->cands[b] != NULL;
        if (ok && im->keep_scores) {
            s->blk[b].scores =
                calloc((size_t)im->max_block_periods * LT_PRE_COLS_MAX * LT_KERNEL_MAX_WIRES,
                       sizeof(int16_t));
            ok = s->blk[b].scores != NULL;
        }
    }
    if (!ok) {
        lt_seterr(err, errlen, "out of memory for cell %u", cell_id);
        goto fail;
    }
    /* Touch the whole state now, so the hot path never page-faults. */
    memset(s->k, 0, sizeof(*s->k));
    int rc = lt_kernel_cell_init(s->k, cell_id, geom, &im->params, err, errlen);
    if (rc < 0) {
        free(s->k);
        s->k = NULL;
        goto fail_rc;
    }
    install_hooks(im, s->k);
    if (a->cfg.algorithm == LT_CAND_ALGO_TP) lt_kernel_cell_set_tp(s->k, &a->cfg.tp);
    pthread_cond_init(&s->done_cv, NULL);
    pthread_mutex_lock(&im->mu);
    im->n_slots = (uint32_t)slot + 1U;
    pthread_mutex_unlock(&im->mu);
    return 0;
fail:
    rc = LT_ENOMEM;
fail_rc:
    free(s->k);
    for (uint32_t b = 0; b < CPU_INFLIGHT; b++) {
        free(s->cands[b]);
        free(s->blk[b].scores);
    }
    memset(s, 0, sizeof(*s));
    return rc;
}

static int cpu_submit(struct lt_accel *a, int slot, const lt_wibeth_frame *frames,
                      uint32_t n_periods)
{
    struct cpu_impl *im = impl_of(a);
    struct cpu_slot *s = &im->slots[slot];
    pthread_mutex_lock(&im->mu);
    if (s->n_sub - s->n_col >= CPU_INFLIGHT) {
        pthread_mutex_unlock(&im->mu);
        return LT_EFULL;
    }
    struct cpu_block *b = &s->blk[s->n_sub % CPU_INFLIGHT];
    b->frames = frames;
    b->n_periods = n_periods;
    s->n_sub++;
    if (!s->scheduled) {
        s->scheduled = 1;
        im->queue[(im->q_head + im->q_len) % im->max_cells] = (uint32_t)slot;
        im->q_len++;
        pthread_cond_signal(&im->work_cv);
    }
    pthread_mutex_unlock(&im->mu);
    return 0;
}

static int cpu_collect(struct lt_accel *a, int slot, struct lt_candidate *out, uint32_t max,
                       struct lt_accel_result *res, uint32_t *dropped)
{
    struct cpu_impl *im = impl_of(a);
    struct cpu_slot *s = &im->slots[slot];
    pthread_mutex_lock(&im->mu);
    if (s->n_col == s->n_sub) {
        pthread_mutex_unlock(&im->mu);
        return LT_ENOTFOUND;
    }
    while (s->n_done <= s->n_col) pthread_cond_wait(&s->done_cv, &im->mu);
    uint32_t bi = (uint32_t)(s->n_col % CPU_INFLIGHT);
    pthread_mutex_unlock(&im->mu);

    const struct cpu_block *b = &s->blk[bi];
    uint32_t n = b->res.n_candidates, give = n < max ? n : max;
    if (give) memcpy(out, s->cands[bi], give * sizeof(*out));
    *dropped = (n - give) + b->kernel_dropped;
    memset(res, 0, sizeof(*res));
    res->n_candidates = give;
    res->watermark = b->res.watermark;
    res->columns = b->res.score_columns;
    res->cand_evicted = b->evicted;
    res->cand_dropped = b->dropped_total;
    res->time_gaps = b->time_gaps;
    res->ts_mismatch = b->ts_mismatch;
    s->last_scores = b->scores;
    s->last_cols = (uint32_t)b->res.score_columns;

    pthread_mutex_lock(&im->mu);
    s->n_col++;
    pthread_mutex_unlock(&im->mu);
    return 0;
}

static const int16_t *cpu_last_scores(struct lt_accel *a, int slot, uint32_t *columns,
                                      uint32_t *outputs)
{
    struct cpu_impl *im = impl_of(a);
    struct cpu_slot *s = &im->slots[slot];
    if (!s->last_scores) return NULL;
    *columns = s->last_cols;
    *outputs = s->k->cnn.w_score;
    return s->last_scores;
}

const struct lt_accel_backend_ops lt_accel_cpu_ops = {
    .name = "cpu",
    .open = cpu_open,
    .close = cpu_close,
    .load_weights = cpu_load_weights,
    .set_candidate_params = cpu_set_candidate_params,
    .add_cell = cpu_add_cell,
    .submit = cpu_submit,
    .collect = cpu_collect,
    .last_scores = cpu_last_scores,
};
