/* The pipeline object: see pipeline.h. The one place where cells, module and operator are
 * assembled, started and taken down, in the order the data path needs. */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cell.h"
#include "config.h"
#include "config_slices.h"
#include "log.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "module.h"
#include "operator_callbacks.h"
#include "ticks.h"

_Static_assert(LT_PIPELINE_CELL_WORDS == TRIGD_CELL_WORDS, "decision cell bitmaps differ");

struct lt_pipeline {
    const struct trigd_config *cfg;
    void *zctx;
    struct trigd_cells *cells; /* NULL in role module */
    struct trigd_module *mod;  /* NULL in role cell */
    struct trigd_operator *op; /* NULL unless with_operator */
    int with_operator;
    lt_pipeline_decision_fn on_decision;
    lt_pipeline_decision_fn on_inhibited;
    void *on_decision_user;
    struct trigd_cells_config cells_cfg;   /* the cells' slice of cfg */
    struct trigd_module_config module_cfg; /* the module's slice of cfg */
};

/* Module thread: the module's decision, as the public type. */
static void to_public(const struct trigd_decision *d, struct lt_pipeline_decision *o)
{
    *o = (struct lt_pipeline_decision){.trigger_number = d->trigger_number,
                                       .time = d->time,
                                       .window_begin = d->window_begin,
                                       .window_end = d->window_end,
                                       .algorithms = d->algorithms,
                                       .n_candidates = d->n_candidates,
                                       .candidates_dropped = d->candidates_dropped,
                                       .n_cells = d->n_cells,
                                       .candidates = d->candidates};
    memcpy(o->cells, d->cells, sizeof o->cells);
}

static void observe(void *user, const struct trigd_decision *d)
{
    struct lt_pipeline *p = user;
    if (!p->on_decision) return;
    struct lt_pipeline_decision o;
    to_public(d, &o);
    p->on_decision(p->on_decision_user, &o);
}

static void observe_inhibited(void *user, const struct trigd_decision *d)
{
    struct lt_pipeline *p = user;
    if (!p->on_inhibited) return;
    struct lt_pipeline_decision o;
    to_public(d, &o);
    p->on_inhibited(p->on_decision_user, &o);
}

int lt_pipeline_create(const struct lt_pipeline_config *pc, const struct lt_pipeline_options *opt,
                       struct lt_pipeline **out, char *err, size_t errlen)
{
    *out = NULL;
    struct lt_pipeline *p = calloc(1, sizeof *p);
    if (!p || !(p->zctx = zmq_ctx_new())) {
        free(p);
        lt_seterr(err, errlen, "pipeline: out of memory");
        return LT_ENOMEM;
    }
    const struct trigd_config *cfg = &pc->c;
    p->cfg = cfg;
    const uint8_t *sel = NULL;
    struct trigd_module_observer obs = {0};
    if (opt) {
        sel = opt->cell_select;
        p->with_operator = opt->with_operator;
        p->on_decision = opt->on_decision;
        p->on_inhibited = opt->on_inhibited;
        p->on_decision_user = opt->on_decision_user;
        if (p->on_decision || p->on_inhibited)
            obs = (struct trigd_module_observer){observe, observe_inhibited, p};
    }
    int rc = 0;
    /* Cells first: a file source reads its run file now, before the record writer (the one
     * HDF5 user while the pipeline runs) starts. */
    if (cfg->role != TRIGD_ROLE_MODULE) {
        trigd_config_cells(cfg, &p->cells_cfg);
        rc = trigd_cells_create(&p->cells_cfg, sel, p->zctx, &p->cells, err, errlen);
    }
    if (rc == 0 && cfg->role != TRIGD_ROLE_CELL) {
        trigd_config_module(cfg, &p->module_cfg);
        rc = trigd_module_create(&p->module_cfg, p->zctx, &obs, &p->mod, err, errlen);
    }
    if (rc) {
        lt_pipeline_stop(p);
        return rc;
    }
    /* An unpaced run (lt_pipeline_config_use_run) can outrun the trigger: its cells wait for
     * the module before they overwrite what a readout may still read. */
    if (pc->ring_gate && p->cells && p->mod)
        trigd_cells_set_ring_gate(p->cells, trigd_module_ring_needed_from(p->mod));
    *out = p;
    return 0;
}

int lt_pipeline_start(struct lt_pipeline *p, char *err, size_t errlen)
{
    int rc = 0;
    /* The module first, so the cells' first messages find its sockets served. */
    if (p->mod) rc = trigd_module_start(p->mod, err, errlen);
    if (rc == 0 && p->cells) rc = trigd_cells_start(p->cells, err, errlen);
    if (rc == 0 && p->with_operator) {
        rc = trigd_operator_start(p->cfg, p->cells, p->mod, &p->op, err, errlen);
        if (rc == 0) trigd_operator_ready(p->op);
    }
    return rc;
}

int lt_pipeline_sources_done(const struct lt_pipeline *p)
{
    return p->cells ? trigd_cells_sources_done(p->cells) : 0;
}

int lt_pipeline_drain(struct lt_pipeline *p)
{
    return lt_pipeline_drain_within(p, 0);
}

int lt_pipeline_drain_within(struct lt_pipeline *p, unsigned deadline_ms)
{
    const uint64_t t0 = lt_mono_ms();
    /* Sources first (their final heartbeats carry the last watermarks), then the module
     * decides the rest and writes every record; the request threads keep answering until
     * then. */
    if (p->op) trigd_operator_stopping(p->op);
    if (p->cells) trigd_cells_stop_sources(p->cells);
    if (!p->mod) return 0;
    if (deadline_ms) { /* the module gets what the sources left of the deadline (at least 1) */
        uint64_t used = lt_mono_ms() - t0;
        deadline_ms = used + 1 < deadline_ms ? deadline_ms - (unsigned)used : 1;
    }
    return trigd_module_drain(p->mod, deadline_ms);
}

void lt_pipeline_reload_signal(struct lt_pipeline *p)
{
    if (p->op) trigd_operator_reload_signal(p->op);
}

unsigned lt_pipeline_linger_ms(const struct lt_pipeline *p)
{
    return p->mod || !p->cells ? 0 : p->cfg->readout.reply_timeout_ms + 500;
}

void lt_pipeline_stop(struct lt_pipeline *p)
{
    if (!p) return;
    trigd_operator_stop(p->op); /* reads the stages: goes first */
    trigd_cells_destroy(p->cells);
    trigd_module_destroy(p->mod);
    if (p->zctx) zmq_ctx_term(p->zctx);
    free(p);
}

#define L(x) ((unsigned long long)(x))

void lt_pipeline_stats(const struct lt_pipeline *p, struct lt_pipeline_stats *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; p->cells && i < trigd_cells_count(p->cells); i++) {
        struct trigd_cell_stats s;
        trigd_cells_snapshot(p->cells, i, &s);
        out->cells++;
        out->frames += s.frames;
        out->candidates += s.candidates;
        out->ring_overwritten += s.ring_overwritten;
        out->messages_dropped += s.msgs_dropped;
        out->accel_dropped += s.kernel_dropped;
        out->ring_gate_wait_ns += s.gate_wait_ns;
    }
    if (p->mod) {
        struct trigd_module_stats m;
        trigd_module_snapshot(p->mod, &m);
        out->decisions = m.agg.decisions;
        out->inhibited = m.agg.inhibited;
        out->late_candidates = m.agg.late;
        out->records_built = m.readout.records_built;
        out->records_written = m.readout.records_written;
        out->records_failed = m.readout.records_failed;
        out->fragments_not_found = m.readout.fragments_not_found;
        out->fragments_incomplete = m.readout.fragments_incomplete;
        out->reply_timeouts = m.readout.reply_timeouts;
        out->decisions_held = m.agg.held_busy;
    }
}

void lt_pipeline_log_status(const struct lt_pipeline *p)
{
    char line[900];
    for (uint32_t i = 0; p->cells && i < trigd_cells_count(p->cells); i++) {
        struct trigd_cell_stats s;
        trigd_cells_snapshot(p->cells, i, &s);
        snprintf(line, sizeof line,
                 "cell %u: %llu frames, data %.4f s, watermark %.4f s, lag %llu us, ring "
                 "%llu/%llu, %llu candidates, %llu msgs (%llu dropped), %llu requests "
                 "(%llu not found, %llu incomplete), %llu input dropped, %llu errors",
                 s.id, L(s.frames), lt_ticks_to_seconds(s.data_time),
                 lt_ticks_to_seconds(s.watermark), L(s.lag_us), L(s.ring_fill), L(s.ring_capacity),
                 L(s.candidates), L(s.msgs_sent), L(s.msgs_dropped), L(s.requests),
                 L(s.replies_not_found), L(s.replies_incomplete), L(s.input_dropped),
                 L(s.source_errors));
        LT_INFO("%s", line);
    }
    if (p->mod) {
        struct trigd_module_stats m;
        trigd_module_snapshot(p->mod, &m);
        const struct trigd_agg_stats *a = &m.agg;
        snprintf(line, sizeof line,
                 "module: %llu msgs (%llu bad, %llu out of order, %llu lost), %llu candidates "
                 "(%llu late), horizon %.4f s, %llu triggers (single %llu, coincidence %llu, "
                 "summed %llu, periodic %llu, random %llu), %llu inhibited, %u cells missing, "
                 "latency p50 %.3f ms p99 %.3f ms, records %llu built %llu written %llu failed, "
                 "%llu fragments not found; refused: %llu forged, %llu clock, %llu sequence, "
                 "%llu bad replies, %llu peers",
                 L(m.input.msgs), L(m.input.msgs_bad), L(m.input.msgs_out_of_order),
                 L(m.input.msgs_lost), L(a->candidates), L(a->late),
                 lt_ticks_to_seconds(a->horizon), L(a->decisions), L(a->triggers[LT_ALGO_SINGLE]),
                 L(a->triggers[LT_ALGO_COINCIDENCE]), L(a->triggers[LT_ALGO_SUMMED]),
                 L(a->triggers[LT_ALGO_PERIODIC]), L(a->triggers[LT_ALGO_RANDOM]), L(a->inhibited),
                 a->cells_missing, a->latency_p50_ns / 1e6, a->latency_p99_ns / 1e6,
                 L(m.readout.records_built), L(m.readout.records_written),
                 L(m.readout.records_failed), L(m.readout.fragments_not_found),
                 L(m.input.msgs_forged), L(m.input.msgs_clock_fault), L(m.input.msgs_seq_refused),
                 L(m.readout.replies_bad), L(m.peers_refused));
        LT_INFO("%s", line);
    }
}
