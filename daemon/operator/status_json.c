/* Status document: see status_json.h and docs/monitoring.md. The operator composes it from the
 * stages' own snapshots (trigd_cells_snapshot, trigd_module_snapshot). */
#include "lt_clock.h"
#include "status_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "module_mailbox.h"
#include "recwriter.h"
#include "status_alarms.h"
#include "status_health.h"
#include "ticks.h"

/* Rates need two samples; a sample closer than this to the previous one reuses its rates, so a
 * burst of `status` requests does not turn one frame into a huge rate. */
#define MIN_RATE_INTERVAL_S 0.5

struct cell_sample {
    uint64_t frames, candidates;
    double frames_per_s, candidates_per_s;
};

struct trigd_status_rates {
    struct trigd_health *health; /* loss history for the health words */
    struct trigd_alarms *alarms;
    double t;        /* monotonic seconds of the last sample, 0 = none */
    int rates_valid; /* two samples taken: the rates mean something */
    uint64_t decisions;
    double decisions_per_s;
    double frames_per_s_total, candidates_per_s_total;
    struct cell_sample cells[TRIGD_MAX_CELLS];
};

struct trigd_status_rates *trigd_status_rates_new(void)
{
    struct trigd_status_rates *r = calloc(1, sizeof *r);
    if (r && (!(r->health = trigd_health_new()) || !(r->alarms = trigd_alarms_new()))) {
        trigd_status_rates_free(r);
        return NULL;
    }
    return r;
}

void trigd_status_rates_free(struct trigd_status_rates *r)
{
    if (r) {
        trigd_health_free(r->health);
        trigd_alarms_free(r->alarms);
    }
    free(r);
}

#define LD(x) ((json_int_t)(x))

static double rate(uint64_t now, uint64_t before, double dt)
{
    return now >= before && dt > 0 ? (double)(now - before) / dt : 0.0;
}

/* Data time of n frame periods, in ms (a ring holds one frame per stream per period). */
static double frames_ms(uint64_t n)
{
    return lt_ticks_to_seconds(n * LT_TICKS_PER_FRAME) * 1e3;
}

static json_t *cell_counters_json(const struct trigd_cell_stats *s, struct cell_sample *cs,
                                  double dt, int missing, int update)
{
    uint64_t frames = s->frames, cands = s->candidates;
    if (update) {
        cs->frames_per_s = rate(frames, cs->frames, dt);
        cs->candidates_per_s = rate(cands, cs->candidates, dt);
        cs->frames = frames;
        cs->candidates = cands;
    }
    uint64_t dtime = s->data_time, wm = s->watermark;
    uint64_t fill = s->ring_fill, cap = s->ring_capacity;
    json_t *drops =
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "send", LD(s->msgs_dropped), "ring_overwritten",
                  LD(s->ring_overwritten), "accel", LD(s->kernel_dropped), "candidates_overflow",
                  LD(s->cands_dropped), "source_errors", LD(s->source_errors));
    json_t *req = json_pack("{s:I, s:I, s:I, s:I, s:I}", "served", LD(s->requests), "not_found",
                            LD(s->replies_not_found), "incomplete", LD(s->replies_incomplete),
                            "bad", LD(s->requests_bad), "reply_dropped", LD(s->replies_dropped));
    return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:f, s:o, s:o, s:b}", "id",
                     (json_int_t)s->id, "frames_per_s", cs->frames_per_s, "lag_ms",
                     dtime > wm ? lt_ticks_to_seconds(dtime - wm) * 1e3 : 0.0, "pacing_lag_ms",
                     s->lag_us / 1e3, "ring_fill", cap ? (double)fill / (double)cap : 0.0,
                     "candidates_per_s", cs->candidates_per_s, "candidates", (json_int_t)cands,
                     "frames", (json_int_t)frames, "data_time_s", lt_ticks_to_seconds(dtime),
                     "drops", drops, "requests", req, "missing", missing);
}

/* What the candidate input refused and why (docs/security.md), and the cells with a clock
 * fault now. */
static json_t *data_plane_json(const struct trigd_module_stats *m)
{
    const struct trigd_input_stats *in = &m->input;
    json_t *faulty = json_array(), *unreachable = json_array(), *skipped = json_object();
    for (unsigned w = 0; w < TRIGD_CELL_WORDS; w++) {
        uint64_t bits = m->clock_fault_bits[w];
        uint64_t unr = m->readout.unreachable_bits[w];
        for (unsigned b = 0; b < 64; b++) {
            if (bits >> b & 1U) json_array_append_new(faulty, json_integer(w * 64 + b));
            if (unr >> b & 1U) json_array_append_new(unreachable, json_integer(w * 64 + b));
        }
    }
    json_object_set_new(skipped, "periodic",
                        json_integer(LD(m->agg.timer_skipped[LT_ALGO_PERIODIC])));
    json_object_set_new(skipped, "random", json_integer(LD(m->agg.timer_skipped[LT_ALGO_RANDOM])));
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:o}", "out_of_order",
                     LD(in->msgs_out_of_order), "clock_faults", LD(in->msgs_clock_fault),
                     "sequence_refused", LD(in->msgs_seq_refused), "forged", LD(in->msgs_forged),
                     "restarts", LD(in->cell_restarts), "resyncs", LD(in->cell_resyncs),
                     "clock_jumps", LD(in->clock_jumps), "clock_fault_cells", faulty,
                     "timer_slots_skipped", skipped, "bad_replies", LD(m->readout.replies_bad),
                     "peers_refused", LD(m->peers_refused), "unreachable_cells", unreachable);
}

/* The cell's counters named for what they are (docs/monitoring.md): the ring overwriting its
 * oldest frames is normal operation, shown as the data time it holds, apart from the losses. */
static json_t *cell_json(const struct trigd_cell_stats *s, struct cell_sample *cs, double dt,
                         int missing, int update)
{
    json_t *doc = cell_counters_json(s, cs, dt, missing, update);
    if (!doc) return NULL;
    uint64_t fill = s->ring_fill, cap = s->ring_capacity;
    json_object_set_new(doc, "ring",
                        json_pack("{s:f, s:f, s:f, s:I}", "fill", cap ? (double)fill / cap : 0.0,
                                  "depth_ms", frames_ms(fill), "capacity_ms", frames_ms(cap),
                                  "overwritten_frames", LD(s->ring_overwritten)));
    json_object_set_new(
        doc, "losses",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "messages_dropped",
                  LD(s->msgs_dropped), "candidates_dropped", LD(s->cands_dropped),
                  "candidates_not_collected", LD(s->kernel_dropped), "source_errors",
                  LD(s->source_errors), "input_dropped", LD(s->input_dropped), "requests_not_found",
                  LD(s->replies_not_found), "requests_incomplete", LD(s->replies_incomplete),
                  "replies_dropped", LD(s->replies_dropped)));
    return doc;
}

/* Decision latency: percentiles over the recent window (null without a sample there, so a
 * display shows "-" rather than 0), and the since-start buckets Prometheus needs. */
static json_t *latency_json(const struct trigd_agg_stats *a)
{
    const struct trigd_latency_summary *l = &a->latency;
    json_t *buckets = json_array();
    uint64_t last = 0;
    for (unsigned b = 0; b < TRIGD_LAT_BUCKETS; b++) {
        last = l->le[b];
        json_array_append_new(
            buckets, json_pack("[f, I]", trigd_lat_bucket_le_ns[b] / 1e6, (json_int_t)last));
    }
    uint64_t count = l->count < last ? last : l->count;
    return json_pack("{s:o, s:o, s:i, s:I, s:I, s:f, s:o}", "p50",
                     l->window_n ? json_real(l->p50_ns / 1e6) : json_null(), "p99",
                     l->window_n ? json_real(l->p99_ns / 1e6) : json_null(), "window_s",
                     TRIGD_LAT_WINDOW_S, "samples", (json_int_t)l->window_n, "count",
                     (json_int_t)count, "sum_ms", l->sum_ns / 1e6, "buckets", buckets);
}

static json_t *aggregator_counters_json(const struct trigd_module_stats *m, uint64_t manual_issued,
                                        struct trigd_status_rates *r, double dt, int update)
{
    const struct trigd_agg_stats *a = &m->agg;
    const struct trigd_readout_stats *ro = &m->readout;
    json_t *trig = json_object(), *inh = json_object(), *missing = json_array();
    for (unsigned k = 0; k < LT_ALGO_COUNT; k++) {
        json_object_set_new(trig, lt_algo_name(k), json_integer(LD(a->triggers[k])));
        json_object_set_new(inh, lt_algo_name(k), json_integer(LD(a->inhibited_by[k])));
    }
    for (unsigned w = 0; w < TRIGD_CELL_WORDS; w++) {
        /* A cell the data requests cannot reach is missing too, whatever its candidates say. */
        uint64_t bits = m->missing_bits[w] | ro->unreachable_bits[w];
        for (unsigned b = 0; b < 64; b++)
            if (bits >> b & 1U) json_array_append_new(missing, json_integer(w * 64 + b));
    }
    uint64_t decisions = a->decisions;
    if (update) {
        r->decisions_per_s = rate(decisions, r->decisions, dt);
        r->decisions = decisions;
    }
    json_t *lat = latency_json(a);
    json_t *rec =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "built", LD(ro->records_built), "written",
                  LD(ro->records_written), "failed", LD(ro->records_failed), "fragments_not_found",
                  LD(ro->fragments_not_found), "fragments_incomplete", LD(ro->fragments_incomplete),
                  "in_flight", LD(ro->in_flight));
    return json_pack("{s:I, s:f, s:o, s:I, s:o, s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:f, s:I, "
                     "s:o, s:o}",
                     "decisions", (json_int_t)decisions, "triggers_per_s", r->decisions_per_s,
                     "triggers", trig, "inhibited", LD(a->inhibited), "inhibited_by", inh,
                     "paused_dropped", LD(a->paused), "missing_cells", missing, "latency_ms", lat,
                     "bad_messages", LD(m->input.msgs_bad), "late_candidates", LD(a->late),
                     "lost_messages", LD(m->input.msgs_lost), "candidates", LD(a->candidates),
                     "manual_issued", LD(manual_issued), "horizon_s",
                     lt_ticks_to_seconds(a->horizon), "reply_timeouts", LD(ro->reply_timeouts),
                     "records", rec, "data_plane", data_plane_json(m));
}

/* The aggregator's counters, with its real losses named each on its own (docs/monitoring.md). */
static json_t *aggregator_json(const struct trigd_module_stats *m, uint64_t manual_issued,
                               struct trigd_status_rates *r, double dt, int update)
{
    json_t *doc = aggregator_counters_json(m, manual_issued, r, dt, update);
    if (!doc) return NULL;
    const struct trigd_agg_stats *a = &m->agg;
    const struct trigd_readout_stats *ro = &m->readout;
    json_t *missing = json_object_get(doc, "missing_cells");
    json_object_set_new(doc, "cells_missing", json_integer((json_int_t)json_array_size(missing)));
    /* Not a loss: with trigger.wait_when_busy a decision waits for room instead of being
     * inhibited; a count that keeps rising says the readout or writer is the bottleneck. */
    json_object_set_new(doc, "decisions_held", json_integer(LD(a->held_busy)));
    /* Real losses, each on its own (docs/monitoring.md); triggers paused by the operator are
     * not a loss. */
    json_object_set_new(
        doc, "losses",
        json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "messages_lost", LD(m->input.msgs_lost),
            "messages_refused",
            LD(m->input.msgs_bad) + LD(m->input.msgs_out_of_order) + LD(m->input.msgs_clock_fault) +
                LD(m->input.msgs_seq_refused) + LD(m->input.msgs_forged),
            "candidates_refused", LD(a->late) + LD(a->overflow), "fragments_not_found",
            LD(ro->fragments_not_found), "fragments_incomplete", LD(ro->fragments_incomplete),
            "triggers_inhibited", LD(a->inhibited), "records_failed", LD(ro->records_failed)));
    return doc;
}

static json_t *writer_json(const struct trigd_module_stats *m)
{
    const struct lt_recwriter_status *w = &m->writer;
    if (!m->writer_valid) return json_null();
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:s, s:I, s:I, s:b}", "queue",
                     LD(w->queue_depth), "queue_capacity", LD(w->queue_capacity), "records",
                     LD(w->records_written), "failed", LD(w->records_failed), "bytes",
                     LD(w->bytes_written), "mb_per_s", w->bytes_per_s / 1e6, "files",
                     LD(w->files_closed), "free_bytes", LD(w->free_bytes), "io_mode",
                     lt_rw_io_mode_name(w->io_mode), "errors", LD(w->io_errors), "rejected",
                     LD(w->records_rejected), "inhibit", w->inhibit != 0);
}

json_t *trigd_status_json(const struct trigd_status_src *src, struct trigd_status_rates *r)
{
    double now = lt_mono_s(), dt = r->t > 0 ? now - r->t : 0;
    int update = r->t == 0 || dt >= MIN_RATE_INTERVAL_S;
    const struct trigd_config *cfg = src->cfg;
    json_t *doc = json_pack("{s:s, s:f, s:I, s:s, s:s, s:s, s:s}", "version", LARTRIG_VERSION,
                            "uptime_s", src->uptime_s, "run_number", (json_int_t)cfg->run_number,
                            "role", trigd_role_name(cfg->role), "state", src->state,
                            "config_digest", src->config_digest, "config", cfg->source_name);
    if (!doc) return NULL;
    /* The operator composes what each stage snapshot of its own counters. */
    static struct trigd_module_stats m; /* one caller at a time (header) */
    if (src->mod) trigd_module_snapshot(src->mod, &m);
    json_t *cells = json_array();
    if (src->cells) {
        double fps = 0, cps = 0;
        for (uint32_t i = 0; i < trigd_cells_count(src->cells); i++) {
            struct trigd_cell_stats s;
            trigd_cells_snapshot(src->cells, i, &s);
            int missing = 0;
            if (src->mod && s.id < LT_MAX_CELLS)
                missing = (int)(m.missing_bits[s.id / 64] >> (s.id % 64) & 1U);
            struct cell_sample *cs = &r->cells[i];
            json_array_append_new(cells, cell_json(&s, cs, dt, missing, update));
            fps += cs->frames_per_s;
            cps += cs->candidates_per_s;
        }
        r->frames_per_s_total = fps;
        r->candidates_per_s_total = cps;
    }
    json_object_set_new(doc, "cells", cells);
    /* How the data sockets are protected: "local" (inproc/ipc), "curve" or "insecure" (plain
     * tcp, explicitly configured: docs/security.md). */
    if (src->cfg)
        json_object_set_new(doc, "data_security",
                            json_string(!trigd_config_data_tcp(src->cfg)    ? "local"
                                        : trigd_config_data_curve(src->cfg) ? "curve"
                                                                            : "insecure"));
    if (src->mod) {
        uint64_t manual = atomic_load(&trigd_module_ctl(src->mod)->manual_issued);
        json_object_set_new(doc, "aggregator", aggregator_json(&m, manual, r, dt, update));
        json_object_set_new(doc, "writer", writer_json(&m));
    }
    trigd_health_apply(r->health, doc, now);
    trigd_alarms_apply(r->alarms, doc, now, cfg->monitor.free_space_alarm_gb * 1e9);
    if (update) {
        if (r->t > 0) r->rates_valid = 1;
        r->t = now;
    }
    return doc;
}

void trigd_status_summary(const struct trigd_status_src *src, const struct trigd_status_rates *r,
                          char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s", src->state);
    if (!r->rates_valid) { /* no rates yet (READY comes before the first status documents) */
        if (src->cells && n >= 0 && (size_t)n < len)
            snprintf(buf + n, len - (size_t)n, ", %u cells", trigd_cells_count(src->cells));
        return;
    }
    if (src->cells && n >= 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, ", %u cells, %.0f frames/s, %.1f cand/s",
                      trigd_cells_count(src->cells), r->frames_per_s_total,
                      r->candidates_per_s_total);
    if (src->mod && n >= 0 && (size_t)n < len) {
        struct trigd_module_stats m;
        trigd_module_snapshot(src->mod, &m);
        snprintf(buf + n, len - (size_t)n, ", %llu triggers (%.2f/s), %llu records written",
                 (unsigned long long)m.agg.decisions, r->decisions_per_s,
                 (unsigned long long)m.readout.records_written);
    }
}
