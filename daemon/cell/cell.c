/* Cell data path: see cell.h. The data thread writes each period straight into the latency ring
 * and hands the kernel blocks that live in the ring itself (the ring's capacity is a multiple of
 * the block, so a block never wraps, and at most two blocks are in flight, far less than the
 * ring holds), so frames are never copied between source and kernel. */
#include "cell.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <zmq.h>

#include "cell_internal.h"
#include "log.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "msg.h"
#include "ticks.h"
#include "weights.h"

#ifndef LARTRIG_DEFAULT_WEIGHTS
#define LARTRIG_DEFAULT_WEIGHTS "kernels/weights/default.ltw"
#endif

static int cmp_cand(const void *a, const void *b)
{
    const struct lt_candidate *x = a, *y = b;
    return (x->time_start > y->time_start) - (x->time_start < y->time_start);
}

/* Send one message without ever blocking; a full socket is a counted, logged drop. */
static void send_msg(struct trigd_cell *c, size_t len, uint32_t n_cands)
{
    if (zmq_send(c->push, c->msg, len, ZMQ_DONTWAIT) == (int)len) {
        atomic_fetch_add_explicit(&c->st.msgs_sent, 1, memory_order_relaxed);
        return;
    }
    int e = zmq_errno();
    atomic_fetch_add_explicit(&c->st.msgs_dropped, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->st.cands_dropped, n_cands, memory_order_relaxed);
    LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                       "cell %u: message to the aggregator dropped (%s; %u candidates): %llu "
                       "dropped so far",
                       c->id, zmq_strerror(e), n_cands,
                       (unsigned long long)atomic_load(&c->st.msgs_dropped));
}

static void send_heartbeat(struct trigd_cell *c)
{
    size_t len;
    if (lt_msg_encode_heartbeat(c->msg, c->msg_cap, c->id, ++c->seq_hb, c->watermark, &len) == 0)
        send_msg(c, len, 0);
}

/* Candidates go out sorted, in messages of at most LT_MSG_MAX_CANDIDATES; only the last message
 * of a block carries the block's new watermark, so the aggregator never decides past candidates
 * that are still on their way. */
static void send_candidates(struct trigd_cell *c, uint32_t n, uint64_t new_watermark)
{
    if (n > 1) qsort(c->cands, n, sizeof *c->cands, cmp_cand);
    uint32_t done = 0;
    while (done < n) {
        uint32_t k = n - done < LT_MSG_MAX_CANDIDATES ? n - done : LT_MSG_MAX_CANDIDATES;
        uint64_t wm = done + k == n ? new_watermark : c->watermark;
        size_t len;
        for (uint32_t i = done; i < done + k; i++) c->cands[i].cell = c->id;
        int rc = lt_msg_encode_candidates(c->msg, c->msg_cap, c->id, ++c->seq_cand, wm,
                                          c->cands + done, k, &len);
        if (rc == 0) {
            send_msg(c, len, k);
        } else {
            atomic_fetch_add_explicit(&c->st.cands_dropped, k, memory_order_relaxed);
            LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 3, "cell %u: candidates not encodable (%s): dropped",
                               c->id, lt_strerror(rc));
        }
        done += k;
    }
    c->watermark = new_watermark;
}

static void collect_block(struct trigd_cell *c, struct lt_accel *accel)
{
    struct lt_accel_result res = {0};
    uint32_t dropped = 0;
    int rc =
        lt_accel_collect(accel, c->slot, c->cands, c->cfg->kernel.max_candidates, &res, &dropped);
    if (rc < 0) {
        atomic_fetch_add_explicit(&c->st.source_errors, 1, memory_order_relaxed);
        LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 3, "cell %u: kernel collect failed: %s", c->id,
                           lt_strerror(rc));
        return;
    }
    if (dropped) {
        atomic_fetch_add_explicit(&c->st.kernel_dropped, dropped, memory_order_relaxed);
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                           "cell %u: %u candidates beyond kernel.max_candidates dropped", c->id,
                           dropped);
    }
    atomic_fetch_add_explicit(&c->st.candidates, res.n_candidates, memory_order_relaxed);
    uint64_t wm = res.watermark > c->watermark ? res.watermark : c->watermark;
    if (res.n_candidates)
        send_candidates(c, res.n_candidates, wm);
    else {
        c->watermark = wm;
        send_heartbeat(c);
    }
    atomic_store_explicit(&c->st.watermark, c->watermark, memory_order_relaxed);
}

static void sleep_until(uint64_t t_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000ULL),
                          .tv_nsec = (long)(t_ns % 1000000000ULL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* The ring gate (cell.h): wait until the period the next one overwrites is no longer needed.
 * The blocks in the kernel are collected first, so this cell's watermark (and with it the
 * trigger's horizon) covers all it has; gate waits are not allocation or syscalls per frame:
 * they happen only when the replay outruns the trigger. */
static void wait_ring_gate(struct trigd_cell *c, uint64_t newest, uint32_t *in_flight,
                           uint64_t *last_hb_ns)
{
    const _Atomic uint64_t *gate = c->owner->ring_gate;
    uint64_t cap = lt_ringbuf_capacity(c->ring);
    /* Readers see the last cap - 1 periods (ringbuf.h): committing the next one takes the
     * period newest - (cap - 2) periods out of their reach. */
    if (!gate || atomic_load_explicit(&c->st.periods, memory_order_relaxed) + 1 < cap) return;
    uint64_t oldest_end = newest - (cap - 3) * LT_TICKS_PER_FRAME;
    if (oldest_end <= atomic_load_explicit(gate, memory_order_acquire)) return;
    while (*in_flight) {
        collect_block(c, c->owner->accel);
        (*in_flight)--;
    }
    uint64_t t0 = lt_mono_ns(), last_change = t0, seen = atomic_load(gate);
    while (oldest_end > atomic_load_explicit(gate, memory_order_acquire) &&
           !atomic_load_explicit(&c->owner->stop_sources, memory_order_relaxed)) {
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
        uint64_t t = lt_mono_ns(), g = atomic_load(gate);
        if (t - *last_hb_ns > 100000000ULL) {
            send_heartbeat(c);
            *last_hb_ns = t;
        }
        if (g != seen) {
            seen = g;
            last_change = t;
        } else if (t - last_change > 10000000000ULL) {
            /* The trigger has not moved for 10 s: something is stuck; a counted overwrite
             * beats a hung replay. */
            LT_WARN("cell %u: the trigger has not freed the latency ring for 10 s (needed from "
                    "%llu, oldest period ends %llu); overwriting",
                    c->id, (unsigned long long)g, (unsigned long long)oldest_end);
            break;
        }
    }
    atomic_fetch_add_explicit(&c->st.gate_wait_ns, lt_mono_ns() - t0, memory_order_relaxed);
}

static void *data_main(void *arg)
{
    struct trigd_cell *c = arg;
    struct trigd_cells *owner = c->owner;
    const struct trigd_cells_config *cfg = c->cfg;
    const uint32_t block = cfg->kernel.block_periods;
    const double rtf = cfg->sim->realtime_factor;
    const lt_wibeth_frame *blk = NULL;
    uint32_t in_block = 0, in_flight = 0;
    uint64_t t_wall0 = 0, t_data0 = 0, last_hb_ns = lt_mono_ns();
    int first = 1;
    uint64_t newest = 0;
    /* duration_s: a sim cell stops at an absolute data time (the same for every cell and for a
     * restarted process); other sources after that much of their own data. */
    uint64_t dur = lt_seconds_to_ticks(cfg->duration_s), stop_ticks = 0;
    if (dur && cfg->cells[c->index].source == TRIGD_SOURCE_SIM)
        stop_ticks = lt_seconds_to_ticks(cfg->sim->start_s) + dur;

    while (!atomic_load_explicit(&owner->stop_sources, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&c->st.data_loops, 1, memory_order_relaxed);
        if (rtf <= 0 && c->source->paced) wait_ring_gate(c, newest, &in_flight, &last_hb_ns);
        lt_wibeth_frame *frames = lt_ringbuf_slot(c->ring);
        uint64_t ts = 0;
        int r = c->source->ops->next(c->source, frames, &ts);
        atomic_store_explicit(&c->st.input_dropped, c->source->errors, memory_order_relaxed);
        if (r == 0) { /* nothing arrived: keep the aggregator informed that we are alive */
            uint64_t t = lt_mono_ns();
            if (t - last_hb_ns > 100000000ULL) {
                send_heartbeat(c);
                last_hb_ns = t;
            }
            continue;
        }
        if (r == LT_ENOTFOUND) {
            LT_INFO("cell %u: source reached the end of its data", c->id);
            break;
        }
        if (r < 0) {
            atomic_fetch_add_explicit(&c->st.source_errors, 1, memory_order_relaxed);
            LT_ERR("cell %u: source failed: %s; stopping this cell", c->id, lt_strerror(r));
            break;
        }
        if (dur && !stop_ticks) stop_ticks = ts + dur;
        if (stop_ticks && ts >= stop_ticks) {
            LT_INFO("cell %u: duration_s of data reached", c->id);
            break;
        }
        if (c->source->paced && rtf > 0) {
            /* Pace in data time: period at ts is due at t_wall0 + (ts - t_data0) / rtf. */
            if (first) {
                t_wall0 = lt_mono_ns();
                t_data0 = ts;
            }
            uint64_t due = t_wall0 + (uint64_t)((double)(ts - t_data0) * 16.0 / rtf);
            uint64_t t = lt_mono_ns();
            if (t < due) {
                sleep_until(due);
                atomic_store_explicit(&c->st.lag_us, 0, memory_order_relaxed);
            } else {
                atomic_store_explicit(&c->st.lag_us, (t - due) / 1000, memory_order_relaxed);
            }
        }
        first = 0;
        if (lt_ringbuf_commit(c->ring, ts) != 0) {
            atomic_fetch_add_explicit(&c->st.source_errors, 1, memory_order_relaxed);
            LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                               "cell %u: period at %llu does not follow the last one: dropped",
                               c->id, (unsigned long long)ts);
            continue;
        }
        newest = ts;
        atomic_fetch_add_explicit(&c->st.periods, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&c->st.frames, c->n_streams, memory_order_relaxed);
        atomic_store_explicit(&c->st.data_time, ts, memory_order_relaxed);
        if (in_block == 0) blk = frames;
        if (++in_block < block) continue;
        if (in_flight == 2) {
            collect_block(c, owner->accel);
            in_flight--;
        }
        int rc = lt_accel_submit(owner->accel, c->slot, blk, in_block);
        if (rc < 0) {
            atomic_fetch_add_explicit(&c->st.source_errors, 1, memory_order_relaxed);
            LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 3, "cell %u: kernel submit failed: %s", c->id,
                               lt_strerror(rc));
        } else {
            in_flight++;
        }
        in_block = 0;
        last_hb_ns = lt_mono_ns();
    }
    while (in_flight) {
        collect_block(c, owner->accel);
        in_flight--;
    }
    /* Periods after the last full block never reach the kernel; the final watermark says so. */
    send_heartbeat(c);
    atomic_store(&c->data_done, 1);
    atomic_store(&c->st.data_finished, 1);
    return NULL;
}

static int cell_init(struct trigd_cells *cs, struct trigd_cell *c, uint32_t index,
                     uint64_t start_ticks, char *err, size_t errlen)
{
    const struct trigd_cells_config *cfg = &cs->cfg;
    c->cfg = cfg;
    c->owner = cs;
    c->index = index;
    c->id = cfg->cells[index].id;
    c->st.id = c->id;
    struct trigd_source_config sc = {&cfg->cells[index], cfg->sim, cfg->file_read_ahead_bytes};
    int rc = trigd_source_open(&sc, start_ticks, &c->source, err, errlen);
    if (rc) return rc;
    c->n_streams = c->source->n_streams;
    /* Ring: latency_ms of data, rounded up to whole kernel blocks. */
    uint32_t block = cfg->kernel.block_periods;
    uint64_t periods = lt_seconds_to_ticks(cfg->latency_ms * 1e-3) / LT_TICKS_PER_FRAME;
    periods = (periods + block - 1) / block * block;
    if (periods < 4ULL * block) periods = 4ULL * block;
    struct lt_ringbuf_config rc_cfg = {
        .n_streams = c->n_streams, .capacity = (uint32_t)periods, .lock_memory = cfg->mlock};
    rc = lt_ringbuf_create(&rc_cfg, &c->ring, err, errlen);
    if (rc) return rc;
    atomic_store(&c->st.ring_capacity, periods);
    struct lt_cell_geom g = {.n_fembs = cfg->cells[index].n_fembs};
    c->slot = lt_accel_add_cell(cs->accel, c->id, &g, err, errlen);
    if (c->slot < 0) return c->slot;
    c->cands = calloc(cfg->kernel.max_candidates, sizeof *c->cands);
    c->msg_cap = lt_msg_candidates_size(LT_MSG_MAX_CANDIDATES);
    c->msg = malloc(c->msg_cap);
    if (!c->cands || !c->msg) {
        lt_seterr(err, errlen, "cell %u: out of memory", c->id);
        return LT_ENOMEM;
    }
    c->push = zmq_socket(cs->zctx, ZMQ_PUSH);
    int hwm = (int)cfg->send_hwm, linger = 1000;
    if (!c->push) {
        lt_seterr(err, errlen, "cell %u: no socket: %s", c->id, zmq_strerror(zmq_errno()));
        return LT_EIO;
    }
    /* Nothing comes back on the PUSH socket: the smallest bound there is. */
    rc = trigd_cell_socket_setup(c, c->push, LT_MSG_HEADER_SIZE, err, errlen);
    if (rc) return rc;
    if (zmq_setsockopt(c->push, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(c->push, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_connect(c->push, cfg->candidates_ep)) {
        lt_seterr(err, errlen, "cell %u: cannot connect to %s: %s", c->id, cfg->candidates_ep,
                  zmq_strerror(zmq_errno()));
        return LT_EIO;
    }
    return trigd_cell_requests_init(c, err, errlen);
}

void trigd_kernel_tp_params(const struct trigd_kernel_config *k, struct lt_tp_params *out)
{
    *out = (struct lt_tp_params){
        .d = k->tp.downsample,
        .threshold_x = (int32_t)lround(k->tp.threshold_adc * LT_TP_X_PER_ADC),
        .adj_wires = k->tp.adj_wires,
        .adj_ticks = (uint32_t)k->tp.adj_ticks,
        .min_hits = k->tp.min_hits,
        .min_score = k->tp.min_score,
        .score_unit = k->tp.score_unit,
        .settle_ticks = (uint32_t)k->tp.settle_ticks,
        .group_wires = k->tp.group_wires,
        .group_ticks = (uint32_t)k->tp.group_ticks,
        .piece_min = k->tp.group_min_piece,
    };
}

int trigd_cells_create(const struct trigd_cells_config *cfg, const uint8_t *sel, void *zctx,
                       struct trigd_cells **out, char *err, size_t errlen)
{
    *out = NULL;
    struct trigd_cells *cs = calloc(1, sizeof *cs);
    if (!cs) goto nomem;
    cs->cfg = *cfg;
    cs->zctx = zctx;
    for (uint32_t i = 0; i < cfg->n_cells; i++)
        if (!sel || sel[i]) cs->n++;
    cs->cell = calloc(cs->n ? cs->n : 1, sizeof *cs->cell);
    if (!cs->cell) goto nomem_free;

    struct lt_accel_config ac = {
        .backend = cfg->kernel.backend,
        .threads = cfg->kernel.threads,
        .max_cells = cs->n,
        .max_block_periods = cfg->kernel.block_periods,
        .max_candidates = cfg->kernel.max_candidates,
        .device_index = cfg->kernel.device_index,
        .xclbin_path = cfg->kernel.xclbin[0] ? cfg->kernel.xclbin : NULL,
        .kernel_name = cfg->kernel.kernel_name[0] ? cfg->kernel.kernel_name : NULL,
        .compute_units = cfg->kernel.compute_units,
        .cells_per_unit = cfg->kernel.cells_per_unit,
        .algorithm = cfg->kernel.algorithm,
    };
    trigd_kernel_tp_params(&cfg->kernel, &ac.tp);
    int rc = lt_accel_open(&ac, &cs->accel, err, errlen);
    if (rc) goto fail;
    static struct lt_weights w; /* large; loaded once at start */
    const char *wpath = cfg->kernel.weights[0]                       ? cfg->kernel.weights
                        : access(LARTRIG_DEFAULT_WEIGHTS, R_OK) == 0 ? LARTRIG_DEFAULT_WEIGHTS
                                                                     : LARTRIG_INSTALLED_WEIGHTS;
    rc = lt_weights_load(wpath, &w, err, errlen);
    if (rc) goto fail;
    rc = lt_accel_load_weights(cs->accel, &w, err, errlen);
    if (rc) goto fail;
    int32_t thr = cfg->kernel.threshold ? cfg->kernel.threshold : w.net.threshold;
    rc = lt_accel_set_candidate_params(cs->accel, thr, cfg->kernel.gap_w, cfg->kernel.gap_t, err,
                                       errlen);
    if (rc) goto fail;
    if (cfg->kernel.algorithm == LT_CAND_ALGO_TP)
        LT_INFO("kernel: TP/TA baseline (d %u, threshold %.2f ADC, adjacency %u wires %.1f us, "
                "min_hits %u, min_score %d, score unit %u ADC x samples; groups of pieces >= "
                "%d within %u wires %.1f us)",
                ac.tp.d, cfg->kernel.tp.threshold_adc, ac.tp.adj_wires,
                lt_ticks_to_seconds(ac.tp.adj_ticks) * 1e6, ac.tp.min_hits, ac.tp.min_score,
                ac.tp.score_unit, ac.tp.piece_min, ac.tp.group_wires,
                lt_ticks_to_seconds(ac.tp.group_ticks) * 1e6);
    else
        LT_INFO("kernel: threshold %d, gap_w %u, gap_t %u", thr, cfg->kernel.gap_w,
                cfg->kernel.gap_t);
    LT_INFO("kernel: backend %s, weights \"%s\" (%s)", lt_accel_backend_name(cs->accel), w.name,
            wpath);

    uint64_t start = trigd_sim_start_ticks(cfg->sim);
    uint32_t k = 0;
    for (uint32_t i = 0; i < cfg->n_cells; i++) {
        if (sel && !sel[i]) continue;
        rc = cell_init(cs, &cs->cell[k], i, start, err, errlen);
        k++;
        if (rc) goto fail;
    }
    *out = cs;
    return 0;
fail:
    trigd_cells_destroy(cs);
    return rc;
nomem_free:
    free(cs);
nomem:
    lt_seterr(err, errlen, "cells: out of memory");
    return LT_ENOMEM;
}

int trigd_cells_start(struct trigd_cells *cs, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < cs->n; i++) {
        struct trigd_cell *c = &cs->cell[i];
        if (pthread_create(&c->req_thread, NULL, trigd_cell_request_main, c) != 0) {
            lt_seterr(err, errlen, "cell %u: cannot start its request thread", c->id);
            return LT_ENOMEM;
        }
        c->req_started = 1;
        if (pthread_create(&c->data_thread, NULL, data_main, c) != 0) {
            lt_seterr(err, errlen, "cell %u: cannot start its data thread", c->id);
            return LT_ENOMEM;
        }
        c->data_started = 1;
    }
    return 0;
}

void trigd_cells_set_ring_gate(struct trigd_cells *cs, const _Atomic uint64_t *needed_from)
{
    cs->ring_gate = needed_from;
}

void trigd_cells_stop_sources(struct trigd_cells *cs)
{
    atomic_store(&cs->stop_sources, 1);
    for (uint32_t i = 0; i < cs->n; i++) {
        struct trigd_cell *c = &cs->cell[i];
        if (c->data_started) {
            pthread_join(c->data_thread, NULL);
            c->data_started = 0;
        }
    }
}

int trigd_cells_sources_done(const struct trigd_cells *cs)
{
    for (uint32_t i = 0; i < cs->n; i++)
        if (!atomic_load(&cs->cell[i].data_done)) return 0;
    return 1;
}

void trigd_cells_destroy(struct trigd_cells *cs)
{
    if (!cs) return;
    trigd_cells_stop_sources(cs);
    atomic_store(&cs->stop_requests, 1);
    for (uint32_t i = 0; i < cs->n; i++) {
        struct trigd_cell *c = &cs->cell[i];
        if (c->req_started) pthread_join(c->req_thread, NULL);
        if (c->push) zmq_close(c->push);
        trigd_cell_requests_free(c);
        trigd_source_close(c->source);
        lt_ringbuf_destroy(c->ring);
        free(c->cands);
        free(c->msg);
    }
    if (cs->accel) lt_accel_close(cs->accel);
    free(cs->cell);
    free(cs);
}

uint32_t trigd_cells_count(const struct trigd_cells *cs)
{
    return cs->n;
}

void trigd_cells_snapshot(const struct trigd_cells *cs, uint32_t i, struct trigd_cell_stats *out)
{
    const struct trigd_cell *c = &cs->cell[i];
    const struct trigd_cell_status *s = &c->st;
#define LD(f) out->f = atomic_load_explicit(&s->f, memory_order_relaxed)
    out->id = s->id;
    LD(data_loops);
    LD(data_finished);
    LD(periods);
    LD(frames);
    LD(source_errors);
    LD(input_dropped);
    LD(lag_us);
    LD(gate_wait_ns);
    LD(data_time);
    LD(watermark);
    LD(ring_capacity);
    LD(candidates);
    LD(kernel_dropped);
    LD(msgs_sent);
    LD(msgs_dropped);
    LD(cands_dropped);
    LD(requests);
    LD(requests_bad);
    LD(replies_not_found);
    LD(replies_incomplete);
    LD(replies_dropped);
#undef LD
    /* The ring keeps its own counters. */
    struct lt_ringbuf_stats rs;
    lt_ringbuf_get_stats(c->ring, &rs);
    out->ring_fill = rs.fill;
    out->ring_overwritten = rs.frames_overwritten;
}
