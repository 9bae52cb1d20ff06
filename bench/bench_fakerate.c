/* bench_fakerate: the module fake-trigger rate, measured (issue 15 point 5). Background-only data
 * of N full cells (960 collection wires, the simulator's default backgrounds and detector
 * effects, no signal) run through the real kernel (kernels/: pedestals, network, candidates; the
 * cpu backend's SIMD stages) and the real module trigger (daemon/aggregator/: time-ordered merge
 * of all N cells, the trigger algorithms, decisions); every physics decision is a fake trigger.
 *
 *   bench_fakerate -c trigger.conf [--scan KEY=v1,v2,..]... [-c other.conf [--scan ..]]...
 *                  [--cells 150] [--seconds S] [--skip-ms 5] [--seed N] [--threads 2]
 *                  [--set KNOB=VALUE]... [--noise-scale F] [--background-scale F]
 *                  [--full] [--isa auto|scalar|avx2|avx512] [-o out.json]
 *
 * Each -c is one trigger: a trigd configuration file whose kernel group (weights, threshold,
 * gaps) and trigger group (algorithms and thresholds) are used as trigd would use them. The
 * cells all run in one aggregator (a module of --cells cells, 150 = one DUNE module), so
 * coincidences between cells are counted as the module would count them. --scan KEY=list (KEY:
 * single.min_score, single.min_adc_sum, coincidence.min_score, coincidence.min_cells,
 * summed.threshold) replays the module trigger over the same candidates for each value (several
 * --scan of one trigger go together, element by element; the lists have the same length): the
 * kernel runs once per trigger, the aggregator once per scan point.
 *
 * Data: the fast background path (lt_sim_cell_render_x_sums, lib/sim/sim.h): only what the
 * kernel reads, the collection-wire column sums, from the simulator's own events, drift and
 * pulses with the column noise drawn directly (what that simplifies: sim.h, docs/simulation.md;
 * tests/sim/test_sim_xsums.c checks it against the full render). --full renders and packs full
 * cells (all 2560 channels) and runs the kernel on the frames instead: the slow reference.
 * The first --skip-ms of every cell are not counted (the kernel's pedestals and line buffers
 * start from nothing there).
 *
 * Cells are spread over --threads worker threads (one sim cell and one kernel per trigger at a
 * time per thread); the module trigger runs afterwards on the main thread. Output: JSON (stdout
 * or -o) with, per trigger and scan point, the decisions (fake triggers) by algorithm, the module
 * rate per second of module time and its 90% CL Poisson upper limit, and the candidates' peak
 * scores and (peak score, adc_sum) pairs (for the tail extrapolation of bench/fakerate.py); wall
 * and CPU time. Not part of CI: bench/fakerate.py runs it (bench/README.md). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "aggregator.h"
#include "backend_cpu.h"
#include "cell.h"
#include "config.h"
#include "config_slices.h"
#include "kernel_top.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "sim.h"
#include "ticks.h"
#include "trigger_candidate.h"
#include "weights.h"

#define MAX_TRIGGERS 8
#define MAX_SCAN     64
#define MAX_SCANKEYS 5
#define BLOCK_CANDS  4096
#define MAX_PAIRS    200000        /* candidates' (peak, adc_sum) in the output */
#define BATCH        16            /* frame periods rendered before the kernels run over them */
#define START_TICKS  (62500000ULL) /* 1 s: any nonzero, sample-aligned start */

static const char *const SCAN_KEYS[MAX_SCANKEYS] = {"single.min_score", "single.min_adc_sum",
                                                    "coincidence.min_score",
                                                    "coincidence.min_cells", "summed.threshold"};

struct cand_list {
    struct lt_candidate *c;
    size_t n, cap;
};

struct trigger {
    const char *conf_path;
    struct trigd_config cfg;
    char weights_path[1024];
    struct lt_weights w;
    int32_t (*packed)[LT_KERNEL_MAX_WEIGHTS];
    struct lt_cand_params cp;
    uint32_t d; /* the kernel's columns are 2^d samples */
    int is_tp;  /* kernel.algorithm = "tp": the TP/TA chain instead of the network */
    struct lt_tp_params tp;
    uint32_t n_scankeys;
    int scankey[MAX_SCANKEYS];
    uint32_t n_scan;
    double scan[MAX_SCANKEYS][MAX_SCAN];
    struct cand_list *cells; /* [n_cells] */
    double kernel_cpu_s;     /* summed over threads */
    uint64_t evicted, dropped;
};

static struct {
    struct trigger trig[MAX_TRIGGERS];
    uint32_t n_trig;
    uint32_t n_cells;
    double seconds, skip_ms;
    uint64_t seed;
    uint32_t threads;
    struct lt_sim_config sim;
    int full;
    int isa;
    atomic_uint next_cell;
    pthread_mutex_t lock;
    double sim_cpu_s;
    uint64_t events[LT_TRUTH_KIND_COUNT];
    uint64_t pulses_dropped, clamped;
    int failed;
    char fail_msg[512];
} G;

static void die(const char *fmt, const char *a)
{
    fprintf(stderr, "bench_fakerate: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n");
    exit(2);
}

static void cand_push(struct cand_list *l, const struct lt_candidate *c, uint32_t n)
{
    if (l->n + n > l->cap) {
        size_t cap = l->cap ? l->cap : 1024;
        while (cap < l->n + n) cap *= 2;
        struct lt_candidate *p = realloc(l->c, cap * sizeof *p);
        if (!p) {
            fprintf(stderr, "bench_fakerate: out of memory for candidates\n");
            exit(1);
        }
        l->c = p;
        l->cap = cap;
    }
    memcpy(l->c + l->n, c, n * sizeof *c);
    l->n += n;
}

static int cmp_start(const void *a, const void *b)
{
    const struct lt_candidate *x = a, *y = b;
    return x->time_start < y->time_start ? -1 : x->time_start > y->time_start;
}

/* ---- per cell: background -> kernel(s) -> candidates ---------------------------------------- */

struct worker {
    struct lt_kernel_cell *k[MAX_TRIGGERS];
    struct lt_candidate out[BLOCK_CANDS];
    uint32_t (*wsum)[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES]; /* [BATCH] */
    uint32_t (*wagg)[LT_KERNEL_MAX_WIRES];                  /* [LT_PRE_COLS_MAX] */
    uint16_t (*adc)[LT_SAMPLES_PER_FRAME];                  /* --full */
    lt_wibeth_frame *frames;                                /* --full */
    double kernel_cpu[MAX_TRIGGERS];
    double sim_cpu;
};

static void keep(struct trigger *t, uint32_t cell, const struct lt_candidate *c, uint32_t n,
                 uint64_t skip_until)
{
    for (uint32_t i = 0; i < n; i++)
        if (c[i].time_start >= skip_until) cand_push(&t->cells[cell], &c[i], 1);
}

static int run_cell(struct worker *wk, uint32_t cell, char *err, size_t errlen)
{
    struct lt_sim_config sc = G.sim;
    sc.seed = G.seed;
    sc.start_ticks = START_TICKS;
    sc.truth_capacity = 0;
    struct lt_sim_cell *s;
    int rc = lt_sim_cell_create(&sc, cell, &s, err, errlen);
    if (rc) return rc;
    struct lt_cell_geom g = {LT_FEMBS_PER_CELL};
    for (uint32_t i = 0; i < G.n_trig; i++) {
        struct trigger *t = &G.trig[i];
        struct lt_kernel_cell *k = wk->k[i];
        rc = lt_kernel_cell_init(k, cell, &g, &t->cp, err, errlen);
        if (rc) goto out;
        lt_kernel_cell_restart(k);
        for (uint32_t l = 0; l < t->w.net.n_layers; l++) k->cnn.packed[l] = t->packed[l];
        lt_cpu_install((enum lt_cpu_isa)G.isa, &t->w.net, &k->cnn, &k->pre);
        if (t->is_tp) lt_kernel_cell_set_tp(k, &t->tp);
    }
    const uint64_t periods = (uint64_t)ceil(G.seconds * LT_CLOCK_HZ / LT_TICKS_PER_FRAME);
    const uint64_t skip_until = START_TICKS + (uint64_t)(G.skip_ms * 1e-3 * LT_CLOCK_HZ);
    /* Rendered at the finest column of all triggers; a coarser kernel gets the sums of
     * neighbouring columns (exactly what its own unpack would have summed). */
    uint32_t d0 = G.trig[0].d;
    for (uint32_t i = 1; i < G.n_trig; i++)
        if (G.trig[i].d < d0) d0 = G.trig[i].d;
    /* The simulator renders BATCH periods, then each kernel runs over them: the noise table
     * and the kernel's line buffers do not evict each other from the caches every period. */
    for (uint64_t p0 = 0; p0 < periods; p0 += BATCH) {
        uint32_t nb = periods - p0 < BATCH ? (uint32_t)(periods - p0) : BATCH;
        double a = lt_thread_cpu_s();
        for (uint32_t b = 0; b < nb && !G.full; b++) {
            rc = lt_sim_cell_render_x_sums(s, d0, &wk->wsum[b][0][0], LT_KERNEL_MAX_WIRES);
            if (rc) {
                lt_seterr(err, errlen, "render_x_sums failed (%d)", rc);
                goto out;
            }
        }
        double b0 = lt_thread_cpu_s();
        wk->sim_cpu += b0 - a;
        for (uint32_t b = 0; b < nb; b++) {
            uint64_t tick = START_TICKS + (p0 + b) * LT_TICKS_PER_FRAME;
            if (G.full) {
                double c0 = lt_thread_cpu_s();
                lt_sim_cell_render(s, wk->adc);
                lt_sim_cell_pack(s, (const uint16_t(*)[LT_SAMPLES_PER_FRAME])wk->adc, wk->frames);
                wk->sim_cpu += lt_thread_cpu_s() - c0;
            }
            for (uint32_t i = 0; i < G.n_trig; i++) {
                struct trigger *t = &G.trig[i];
                struct lt_kernel_block res;
                double c0 = lt_thread_cpu_s();
                if (G.full)
                    lt_kernel_process(wk->k[i], &t->w.net, wk->frames, 1, wk->out, BLOCK_CANDS,
                                      &res, NULL, 0);
                else if (t->d == d0)
                    lt_kernel_process_sums(wk->k[i], &t->w.net, tick, wk->wsum[b], wk->out,
                                           BLOCK_CANDS, &res);
                else {
                    const uint32_t r = 1U << (t->d - d0), nc = LT_SAMPLES_PER_FRAME >> t->d;
                    for (uint32_t c = 0; c < nc; c++)
                        for (uint32_t j = 0; j < LT_KERNEL_MAX_WIRES; j++) {
                            uint32_t sum = 0;
                            for (uint32_t q = 0; q < r; q++) sum += wk->wsum[b][c * r + q][j];
                            wk->wagg[c][j] = sum;
                        }
                    lt_kernel_process_sums(wk->k[i], &t->w.net, tick, wk->wagg, wk->out,
                                           BLOCK_CANDS, &res);
                }
                keep(t, cell, wk->out, res.n_candidates, skip_until);
                wk->kernel_cpu[i] += lt_thread_cpu_s() - c0;
            }
        }
    }
    for (uint32_t i = 0; i < G.n_trig; i++) {
        uint32_t n = lt_kernel_cell_flush(wk->k[i], wk->out, BLOCK_CANDS);
        keep(&G.trig[i], cell, wk->out, n, skip_until);
        pthread_mutex_lock(&G.lock);
        G.trig[i].evicted += wk->k[i]->cand.evicted;
        G.trig[i].dropped += wk->k[i]->cand.dropped;
        pthread_mutex_unlock(&G.lock);
    }
    struct lt_sim_stats st;
    lt_sim_cell_stats(s, &st);
    pthread_mutex_lock(&G.lock);
    for (uint32_t k = 0; k < LT_TRUTH_KIND_COUNT; k++) G.events[k] += st.events[k];
    G.pulses_dropped += st.pulses_dropped;
    G.clamped += st.samples_clamped;
    pthread_mutex_unlock(&G.lock);
out:
    lt_sim_cell_destroy(s);
    return rc;
}

static void *worker_main(void *arg)
{
    (void)arg;
    struct worker *wk = calloc(1, sizeof *wk);
    if (!wk) return NULL;
    for (uint32_t i = 0; i < G.n_trig; i++) {
        wk->k[i] = aligned_alloc(64, (sizeof(struct lt_kernel_cell) + 63) & ~(size_t)63);
        if (!wk->k[i]) goto oom;
        memset(wk->k[i], 0, sizeof(struct lt_kernel_cell));
    }
    wk->wsum = calloc(BATCH, sizeof *wk->wsum);
    wk->wagg = calloc(LT_PRE_COLS_MAX, sizeof *wk->wagg);
    if (!wk->wsum || !wk->wagg) goto oom;
    if (G.full) {
        wk->adc = calloc(LT_CHANNELS_PER_CELL, sizeof *wk->adc);
        wk->frames = calloc(LT_STREAMS_PER_CELL, sizeof *wk->frames);
        if (!wk->adc || !wk->frames) goto oom;
    }
    for (;;) {
        uint32_t cell = atomic_fetch_add(&G.next_cell, 1);
        if (cell >= G.n_cells) break;
        char err[256];
        if (run_cell(wk, cell, err, sizeof err)) {
            pthread_mutex_lock(&G.lock);
            G.failed = 1;
            snprintf(G.fail_msg, sizeof G.fail_msg, "cell %u: %s", cell, err);
            pthread_mutex_unlock(&G.lock);
            break;
        }
    }
    pthread_mutex_lock(&G.lock);
    for (uint32_t i = 0; i < G.n_trig; i++) G.trig[i].kernel_cpu_s += wk->kernel_cpu[i];
    G.sim_cpu_s += wk->sim_cpu;
    pthread_mutex_unlock(&G.lock);
    goto done;
oom:
    pthread_mutex_lock(&G.lock);
    G.failed = 1;
    snprintf(G.fail_msg, sizeof G.fail_msg, "out of memory");
    pthread_mutex_unlock(&G.lock);
done:
    for (uint32_t i = 0; i < G.n_trig; i++) free(wk->k[i]);
    free(wk->wsum);
    free(wk->wagg);
    free(wk->adc);
    free(wk->frames);
    free(wk);
    return NULL;
}

/* ---- the module trigger over every cell's candidates ---------------------------------------- */

struct tally {
    uint64_t decisions;
    uint64_t by_algo[LT_ALGO_COUNT];
    uint64_t physics;
    json_t *list; /* the first decisions: time, algorithms, cells, best peak */
};

static void on_emit(void *user, const struct trigd_decision *d)
{
    struct tally *t = user;
    t->decisions++;
    for (uint32_t a = 0; a < LT_ALGO_COUNT; a++)
        if (d->algorithms & (1U << a)) t->by_algo[a]++;
    if (!(d->algorithms & LT_ALGO_PHYSICS_MASK)) return;
    t->physics++;
    if (json_array_size(t->list) < 50) {
        int32_t best = INT32_MIN;
        uint32_t best_adc = 0;
        for (uint32_t i = 0; i < d->n_candidates; i++)
            if (d->candidates[i].peak_score > best) {
                best = d->candidates[i].peak_score;
                best_adc = d->candidates[i].adc_sum;
            }
        json_t *algos = json_array();
        for (uint32_t a = 0; a < LT_ALGO_COUNT; a++)
            if (d->algorithms & (1U << a))
                json_array_append_new(algos, json_string(lt_algo_name(a)));
        json_array_append_new(t->list, json_pack("{s:f, s:o, s:i, s:i, s:i, s:i}", "time_s",
                                                 (double)(d->time - START_TICKS) / LT_CLOCK_HZ,
                                                 "algorithms", algos, "cells", (int)d->n_cells,
                                                 "candidates", (int)d->n_candidates, "max_peak",
                                                 (int)best, "max_peak_adc_sum", (int)best_adc));
    }
}

static void set_scan_value(struct trigd_trigger_config *tc, int key, double v)
{
    switch (key) {
    case 0:
        tc->single.min_score = (int32_t)v;
        break;
    case 1:
        tc->single.min_adc_sum = (uint32_t)v;
        break;
    case 2:
        tc->coincidence.min_score = (int32_t)v;
        break;
    case 3:
        tc->coincidence.min_cells = (uint32_t)v;
        break;
    case 4:
        tc->summed.threshold = (int64_t)v;
        break;
    }
}

static int run_module(struct trigger *t, uint32_t scan_i, struct tally *ty, char *err,
                      size_t errlen)
{
    struct lt_aggregator_config ac;
    trigd_config_aggregator(&t->cfg, &ac);
    ac.cells.n = G.n_cells;
    for (uint32_t i = 0; i < G.n_cells; i++) ac.cells.id[i] = i;
    for (uint32_t k = 0; k < t->n_scankeys; k++)
        set_scan_value(&ac.trigger, t->scankey[k], t->scan[k][scan_i]);
    /* Periodic/random triggers are unbiased, never fakes: off here so they do not count. */
    ac.trigger.periodic.enabled = 0;
    ac.trigger.random.enabled = 0;
    struct trigd_agg_callbacks cb = {.accept = NULL, .emit = on_emit, .user = ty};
    struct trigd_agg *a;
    int rc = trigd_agg_create(&ac, &cb, 0, &a, err, errlen);
    if (rc) return rc;
    /* Feed the module in steps of 1 ms of data time: each cell's candidates that start before
     * the step's end, then each cell's watermark (the time the kernel has processed to). The
     * monotonic clock passed along is the data time, so no cell is ever missing. */
    const uint64_t step = LT_CLOCK_HZ / 1000;
    const uint64_t end =
        START_TICKS +
        (uint64_t)ceil(G.seconds * LT_CLOCK_HZ / LT_TICKS_PER_FRAME) * LT_TICKS_PER_FRAME;
    size_t *pos = calloc(G.n_cells, sizeof *pos);
    if (!pos) {
        trigd_agg_destroy(a);
        return LT_ENOMEM;
    }
    for (uint64_t wm = START_TICKS + step;; wm += step) {
        if (wm > end) wm = end;
        uint64_t now_ns = (wm - START_TICKS) * 16;
        for (uint32_t c = 0; c < G.n_cells; c++) {
            struct cand_list *l = &t->cells[c];
            size_t i0 = pos[c], i = i0;
            while (i < l->n && l->c[i].time_start < wm) i++;
            if (i > i0) trigd_agg_candidates(a, c, l->c + i0, (uint32_t)(i - i0), now_ns);
            pos[c] = i;
            trigd_agg_watermark(a, c, wm, now_ns);
        }
        if (wm == end) break;
    }
    /* Candidates the kernel closed at the end of the data (flush) start before `end`. */
    for (uint32_t c = 0; c < G.n_cells; c++) {
        struct cand_list *l = &t->cells[c];
        if (pos[c] < l->n) trigd_agg_candidates(a, c, l->c + pos[c], (uint32_t)(l->n - pos[c]), 0);
    }
    trigd_agg_flush(a, (end - START_TICKS) * 16);
    struct trigd_agg_stats st;
    trigd_agg_get_stats(a, &st);
    if (st.late || st.overflow || st.window_overflows) {
        lt_seterr(err, errlen,
                  "the aggregator lost candidates (late %llu, overflow %llu, window %llu): the "
                  "measurement would be wrong",
                  (unsigned long long)st.late, (unsigned long long)st.overflow,
                  (unsigned long long)st.window_overflows);
        rc = LT_ERANGE;
    }
    free(pos);
    trigd_agg_destroy(a);
    return rc;
}

/* 90% CL upper limit of a Poisson mean for n observed (Neyman, exact: chi2 quantile via
 * bisection of the cumulative Poisson). */
static double poisson_ul90(uint64_t n)
{
    /* Above 100 the sum below would underflow (exp(-mu), mu > 745 from n ~ 700): the
     * Wilson-Hilferty form of the same limit, within 0.1% there. */
    if (n > 100) {
        const double m = (double)n + 1.0, z = 1.2815516; /* the 90% one-sided normal quantile */
        const double c = 1.0 - 1.0 / (9.0 * m) + z * sqrt(1.0 / (9.0 * m));
        return m * c * c * c;
    }
    double lo = 0, hi = (double)n + 10.0 * sqrt((double)n + 1) + 10;
    for (int it = 0; it < 200; it++) {
        double mu = 0.5 * (lo + hi);
        /* P(X <= n | mu) */
        double term = exp(-mu), sum = term;
        for (uint64_t k = 1; k <= n; k++) {
            term *= mu / (double)k;
            sum += term;
        }
        if (sum > 0.10)
            lo = mu;
        else
            hi = mu;
    }
    return 0.5 * (lo + hi);
}

/* A candidate's (peak score, adc_sum), ranked by how far it passes the configured single
 * cuts: x = min(peak / min_score, adc_sum / min_adc_sum), the second only when min_adc_sum > 0. */
struct pair {
    int32_t peak;
    uint32_t adc;
    double x;
};

static int cmp_pair_desc(const void *a, const void *b)
{
    const struct pair *p = a, *q = b;
    return p->x < q->x ? 1 : p->x > q->x ? -1 : 0;
}

static int cmp_int_desc(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x < y) - (x > y);
}

/* ---- command line -----------------------------------------------------------------------------
 */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_fakerate -c trigger.conf [--scan KEY=v1,v2..]... [-c ...]...\n"
               "       [--cells 150] [--seconds S] [--skip-ms 5] [--seed N] [--threads 2]\n"
               "       [--set KNOB=VALUE]... [--enrich KNOB=FACTOR]... [--noise-scale F]\n"
               "       [--background-scale F] [--full]\n"
               "       [--isa auto] [-o out.json]\n"
               "scan keys: single.min_score single.min_adc_sum coincidence.min_score\n"
               "           coincidence.min_cells summed.threshold\n");
}

static void load_trigger(struct trigger *t, const char *path)
{
    char err[512];
    t->conf_path = path;
    if (trigd_config_load(path, &t->cfg, err, sizeof err)) die("%s", err);
    const char *src = getenv("LARTRIG_SOURCE_DIR");
    char wp[sizeof t->weights_path];
    if (t->cfg.kernel.weights[0])
        snprintf(wp, sizeof wp, "%s", t->cfg.kernel.weights);
    else
        snprintf(wp, sizeof wp, "%s/kernels/weights/default.ltw", src ? src : ".");
    memcpy(t->weights_path, wp, sizeof wp);
    if (lt_weights_load(t->weights_path, &t->w, err, sizeof err)) die("%s", err);
    t->cp.threshold =
        (int16_t)(t->cfg.kernel.threshold ? t->cfg.kernel.threshold : t->w.net.threshold);
    t->cp.gap_w = t->cfg.kernel.gap_w;
    t->cp.gap_t = t->cfg.kernel.gap_t;
    t->d = t->w.net.d;
    if (t->cfg.kernel.algorithm == LT_CAND_ALGO_TP) {
        t->is_tp = 1;
        trigd_kernel_tp_params(&t->cfg.kernel, &t->tp);
        if (lt_tp_params_check(&t->tp, err, sizeof err)) die("%s", err);
        t->d = t->tp.d;
    }
    t->packed = aligned_alloc(64, sizeof(*t->packed) * LT_KERNEL_MAX_LAYERS);
    if (!t->packed) die("%s", "out of memory");
    for (uint32_t l = 0; l < t->w.net.n_layers; l++) lt_cpu_pack_layer(&t->w.net, l, t->packed[l]);
}

static void parse_scan(struct trigger *t, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq) die("--scan %s: expected KEY=v1,v2,...", arg);
    int key = -1;
    for (int k = 0; k < MAX_SCANKEYS; k++)
        if (strlen(SCAN_KEYS[k]) == (size_t)(eq - arg) && !strncmp(arg, SCAN_KEYS[k], eq - arg))
            key = k;
    if (key < 0) die("--scan %s: unknown key", arg);
    if (t->n_scankeys >= MAX_SCANKEYS) die("%s", "too many --scan keys");
    uint32_t ki = t->n_scankeys++, n = 0;
    t->scankey[ki] = key;
    const char *p = eq + 1;
    while (*p) {
        char *e;
        errno = 0;
        double v = strtod(p, &e);
        if (e == p || errno || !isfinite(v)) die("--scan %s: bad number", arg);
        if (n >= MAX_SCAN) die("--scan %s: too many values", arg);
        t->scan[ki][n++] = v;
        p = *e == ',' ? e + 1 : e;
        if (*e && *e != ',') die("--scan %s: bad list", arg);
    }
    if (ki > 0 && n != t->n_scan)
        die("--scan %s: lists of one trigger must have equal length", arg);
    t->n_scan = n;
}

int main(int argc, char **argv)
{
    lt_sim_config_default(&G.sim);
    G.sim.le_rate_hz = G.sim.he_rate_hz = G.sim.cosmic_rate_hz = 0.0; /* background only */
    G.n_cells = 150;
    G.seconds = 0.1;
    G.skip_ms = 5.0;
    G.seed = 1;
    G.threads = 2;
    G.isa = lt_cpu_isa_parse("auto");
    pthread_mutex_init(&G.lock, NULL);
    double noise_scale = 1.0, bkg_scale = 1.0;
    const char *out_path = NULL;
    char err[512];
    enum {
        O_SCAN = 256,
        O_CELLS,
        O_SECONDS,
        O_SKIP,
        O_SEED,
        O_THREADS,
        O_SET,
        O_ENRICH,
        O_NSCALE,
        O_BSCALE,
        O_FULL,
        O_ISA
    };
    static const struct option lo[] = {{"config", required_argument, NULL, 'c'},
                                       {"scan", required_argument, NULL, O_SCAN},
                                       {"cells", required_argument, NULL, O_CELLS},
                                       {"seconds", required_argument, NULL, O_SECONDS},
                                       {"skip-ms", required_argument, NULL, O_SKIP},
                                       {"seed", required_argument, NULL, O_SEED},
                                       {"threads", required_argument, NULL, O_THREADS},
                                       {"set", required_argument, NULL, O_SET},
                                       {"enrich", required_argument, NULL, O_ENRICH},
                                       {"noise-scale", required_argument, NULL, O_NSCALE},
                                       {"background-scale", required_argument, NULL, O_BSCALE},
                                       {"full", no_argument, NULL, O_FULL},
                                       {"isa", required_argument, NULL, O_ISA},
                                       {"output", required_argument, NULL, 'o'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "c:o:h", lo, NULL)) != -1) {
        switch (opt) {
        case 'c':
            if (G.n_trig >= MAX_TRIGGERS) die("%s", "too many -c");
            load_trigger(&G.trig[G.n_trig++], optarg);
            break;
        case O_SCAN:
            if (!G.n_trig) die("%s", "--scan belongs to the -c before it");
            parse_scan(&G.trig[G.n_trig - 1], optarg);
            break;
        case O_CELLS:
            G.n_cells = (uint32_t)atoi(optarg);
            break;
        case O_SECONDS:
            G.seconds = atof(optarg);
            break;
        case O_SKIP:
            G.skip_ms = atof(optarg);
            break;
        case O_SEED:
            G.seed = strtoull(optarg, NULL, 0);
            break;
        case O_THREADS:
            G.threads = (uint32_t)atoi(optarg);
            break;
        case O_SET: {
            const char *eq = strchr(optarg, '=');
            if (!eq) die("--set %s: expected KNOB=VALUE", optarg);
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(eq - optarg), optarg);
            if (lt_sim_config_set(&G.sim, name, atof(eq + 1), err, sizeof err)) die("%s", err);
            break;
        }
        case O_ENRICH: { /* a rate knob x FACTOR: one background kind raised for a budget run
                          * (bench/fakerate.py); applied before --background-scale */
            const char *eq = strchr(optarg, '=');
            if (!eq) die("--enrich %s: expected KNOB=FACTOR", optarg);
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(eq - optarg), optarg);
            double v, f = atof(eq + 1);
            if (lt_sim_config_get(&G.sim, name, &v) || !(f >= 0))
                die("--enrich %s: unknown knob or bad factor", optarg);
            if (lt_sim_config_set(&G.sim, name, v * f, err, sizeof err)) die("%s", err);
            break;
        }
        case O_NSCALE:
            noise_scale = atof(optarg);
            break;
        case O_BSCALE:
            bkg_scale = atof(optarg);
            break;
        case O_FULL:
            G.full = 1;
            break;
        case O_ISA:
            G.isa = lt_cpu_isa_parse(optarg);
            if (G.isa < 0 || !lt_cpu_isa_supported((enum lt_cpu_isa)G.isa))
                die("--isa %s: unknown or not supported here", optarg);
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!G.n_trig || optind < argc) {
        usage(stderr);
        return 2;
    }
    if (G.n_cells < 1 || G.n_cells > LT_MAX_CELLS || !(G.seconds > 0) || G.threads < 1 ||
        G.threads > 64 || G.skip_ms < 0 || G.skip_ms >= G.seconds * 1e3)
        die("%s", "--cells 1..1024, --seconds > 0, --threads 1..64, 0 <= --skip-ms < the run");
    if (lt_sim_config_scale_noise(&G.sim, noise_scale, err, sizeof err) ||
        lt_sim_config_scale_backgrounds(&G.sim, bkg_scale, err, sizeof err))
        die("%s", err);
    for (uint32_t i = 0; i < G.n_trig; i++) {
        G.trig[i].cells = calloc(G.n_cells, sizeof(struct cand_list));
        if (!G.trig[i].cells) die("%s", "out of memory");
        if (!G.trig[i].n_scan) G.trig[i].n_scan = 1; /* the configuration as it is */
    }

    double w0 = lt_mono_s();
    pthread_t th[64];
    uint32_t nth = G.threads < G.n_cells ? G.threads : G.n_cells;
    for (uint32_t i = 0; i < nth; i++) pthread_create(&th[i], NULL, worker_main, NULL);
    for (uint32_t i = 0; i < nth; i++) pthread_join(th[i], NULL);
    double w_kernel = lt_mono_s() - w0;
    if (G.failed) {
        fprintf(stderr, "bench_fakerate: %s\n", G.fail_msg);
        return 1;
    }

    const double live_s = G.seconds - G.skip_ms * 1e-3;
    const double cell_s = live_s * G.n_cells;
    const double module_scale = 150.0 / G.n_cells; /* per 150-cell module */
    json_t *root = json_object();
    json_t *jt = json_array();
    double w_agg0 = lt_mono_s();
    for (uint32_t i = 0; i < G.n_trig; i++) {
        struct trigger *t = &G.trig[i];
        size_t ncand = 0;
        for (uint32_t c = 0; c < G.n_cells; c++) {
            if (t->cells[c].n)
                qsort(t->cells[c].c, t->cells[c].n, sizeof *t->cells[c].c, cmp_start);
            ncand += t->cells[c].n;
        }
        /* The candidates' peak scores, highest first (at most 20000: the tail). */
        size_t npk = ncand < 20000 ? ncand : 20000;
        int32_t *pk = malloc((ncand ? ncand : 1) * sizeof *pk);
        if (!pk) die("%s", "out of memory");
        size_t m = 0;
        for (uint32_t c = 0; c < G.n_cells; c++)
            for (size_t k = 0; k < t->cells[c].n; k++) pk[m++] = t->cells[c].c[k].peak_score;
        if (ncand) qsort(pk, ncand, sizeof *pk, cmp_int_desc);
        json_t *jpk = json_array();
        for (size_t k = 0; k < npk; k++) json_array_append_new(jpk, json_integer(pk[k]));
        free(pk);
        /* (peak, adc_sum) of the candidates (at most MAX_PAIRS, those passing the configured
         * single cuts by the widest margin), so the tail extrapolation can apply the cuts the
         * trigger applies (bench/fakerate.py). */
        const double s_min =
            t->cfg.trigger.single.min_score > 0 ? t->cfg.trigger.single.min_score : 1;
        const double a_min = t->cfg.trigger.single.min_adc_sum;
        struct pair *pr = malloc((ncand ? ncand : 1) * sizeof *pr);
        if (!pr) die("%s", "out of memory");
        m = 0;
        for (uint32_t c = 0; c < G.n_cells; c++)
            for (size_t k = 0; k < t->cells[c].n; k++) {
                const struct lt_candidate *cd = &t->cells[c].c[k];
                double x = cd->peak_score / s_min;
                if (a_min > 0 && cd->adc_sum / a_min < x) x = cd->adc_sum / a_min;
                pr[m++] = (struct pair){cd->peak_score, cd->adc_sum, x};
            }
        if (ncand) qsort(pr, ncand, sizeof *pr, cmp_pair_desc);
        json_t *jpr = json_array();
        for (size_t k = 0; k < ncand && k < MAX_PAIRS; k++)
            json_array_append_new(jpr, json_pack("[i, I]", (int)pr[k].peak, (json_int_t)pr[k].adc));
        free(pr);
        json_t *jscan = json_array();
        for (uint32_t s = 0; s < t->n_scan; s++) {
            struct tally ty = {.list = json_array()};
            if (run_module(t, s, &ty, err, sizeof err)) {
                fprintf(stderr, "bench_fakerate: %s: %s\n", t->conf_path, err);
                return 1;
            }
            json_t *vals = json_object();
            for (uint32_t k = 0; k < t->n_scankeys; k++)
                json_object_set_new(vals, SCAN_KEYS[t->scankey[k]], json_real(t->scan[k][s]));
            json_t *by = json_object();
            for (uint32_t a = 0; a < LT_ALGO_COUNT; a++)
                if (ty.by_algo[a])
                    json_object_set_new(by, lt_algo_name(a),
                                        json_integer((json_int_t)ty.by_algo[a]));
            json_array_append_new(
                jscan,
                json_pack("{s:o, s:I, s:o, s:f, s:f, s:o}", "set", vals, "fakes",
                          (json_int_t)ty.physics, "by_algorithm", by, "module_rate_hz",
                          ty.physics / live_s * module_scale, "module_ul90_hz",
                          poisson_ul90(ty.physics) / live_s * module_scale, "first", ty.list));
        }
        const struct trigd_trigger_config *tc = &t->cfg.trigger;
        char crc[16];
        snprintf(crc, sizeof crc, "%08x", t->w.crc);
        json_array_append_new(
            jt,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:{s:b, s:i, s:i}, s:{s:b, "
                      "s:i, s:f, s:i},"
                      " s:{s:b, s:f, s:I}, s:I, s:I, s:I, s:f, s:o, s:o, s:o}",
                      "config", t->conf_path, "algorithm", t->is_tp ? "tp" : "cnn", "weights",
                      t->weights_path, "weights_name", t->w.name, "weights_crc", crc,
                      "kernel_threshold", (int)t->cp.threshold, "d", (int)t->d, "gap_w",
                      (int)t->cp.gap_w, "gap_t", (int)t->cp.gap_t, "single", "enabled",
                      tc->single.enabled, "min_score", (int)tc->single.min_score, "min_adc_sum",
                      (int)tc->single.min_adc_sum, "coincidence", "enabled",
                      tc->coincidence.enabled, "min_cells", (int)tc->coincidence.min_cells,
                      "window_us", (double)tc->coincidence.window_ticks / 62.5, "min_score",
                      (int)tc->coincidence.min_score, "summed", "enabled", tc->summed.enabled,
                      "window_us", (double)tc->summed.window_ticks / 62.5, "threshold",
                      (json_int_t)tc->summed.threshold, "candidates", (json_int_t)ncand,
                      "candidates_evicted", (json_int_t)t->evicted, "candidates_dropped",
                      (json_int_t)t->dropped, "kernel_cpu_s", t->kernel_cpu_s, "peaks", jpk,
                      "pairs", jpr, "scan", jscan));
    }
    double w_agg = lt_mono_s() - w_agg0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    json_t *ev = json_object();
    static const char *const kinds[LT_TRUTH_KIND_COUNT] = {[LT_TRUTH_AR39] = "ar39",
                                                           [LT_TRUTH_LOW_ENERGY] = "low_energy",
                                                           [LT_TRUTH_HIGH_ENERGY] = "high_energy",
                                                           [LT_TRUTH_COSMIC] = "cosmic",
                                                           [LT_TRUTH_AR42] = "ar42",
                                                           [LT_TRUTH_KR85] = "kr85",
                                                           [LT_TRUTH_RN222] = "rn222",
                                                           [LT_TRUTH_NCAPTURE] = "ncapture"};
    for (uint32_t k = 0; k < LT_TRUTH_KIND_COUNT; k++)
        if (kinds[k]) json_object_set_new(ev, kinds[k], json_integer((json_int_t)G.events[k]));
    json_t *sim = json_object();
    for (unsigned i = 0;; i++) {
        const char *name = lt_sim_knob(i, NULL, NULL, NULL);
        if (!name) break;
        double v;
        lt_sim_config_get(&G.sim, name, &v);
        json_object_set_new(sim, name, json_real(v));
    }
    json_object_set_new(root, "path", json_string(G.full ? "full" : "fast"));
    json_object_set_new(root, "cells", json_integer(G.n_cells));
    json_object_set_new(root, "seconds", json_real(G.seconds));
    json_object_set_new(root, "skip_s", json_real(G.skip_ms * 1e-3));
    json_object_set_new(root, "module_seconds", json_real(live_s));
    json_object_set_new(root, "cell_seconds", json_real(cell_s));
    json_object_set_new(root, "module_cells", json_integer(150));
    json_object_set_new(root, "seed", json_integer((json_int_t)G.seed));
    json_object_set_new(root, "threads", json_integer(nth));
    json_object_set_new(root, "isa", json_string(lt_cpu_isa_name((enum lt_cpu_isa)G.isa)));
    json_object_set_new(root, "noise_scale", json_real(noise_scale));
    json_object_set_new(root, "background_scale", json_real(bkg_scale));
    json_object_set_new(root, "sim", sim);
    json_object_set_new(root, "events", ev);
    json_object_set_new(root, "pulses_dropped", json_integer((json_int_t)G.pulses_dropped));
    json_object_set_new(root, "samples_clamped", json_integer((json_int_t)G.clamped));
    json_object_set_new(root, "wall_s", json_real(w_kernel + w_agg));
    json_object_set_new(root, "wall_data_s", json_real(w_kernel));
    json_object_set_new(root, "wall_module_s", json_real(w_agg));
    json_object_set_new(root, "sim_cpu_s", json_real(G.sim_cpu_s));
    json_object_set_new(root, "cpu_s",
                        json_real((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
                                  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6));
    json_object_set_new(root, "triggers", jt);
    int rc = 0;
    if (out_path) {
        if (json_dump_file(root, out_path, JSON_INDENT(1)) != 0) {
            fprintf(stderr, "bench_fakerate: cannot write %s\n", out_path);
            rc = 1;
        }
    } else {
        json_dumpf(root, stdout, JSON_INDENT(1));
        fputc('\n', stdout);
    }
    json_decref(root);
    return rc;
}
