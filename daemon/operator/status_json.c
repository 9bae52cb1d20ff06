/* Status document: see status_json.h and docs/monitoring.md. */
#include "lt_clock.h"
#include "status_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "module_mailbox.h"
#include "recwriter.h"
#include "status.h"
#include "ticks.h"

/* Rates need two samples; a sample closer than this to the previous one reuses its rates, so a
 * burst of `status` requests does not turn one frame into a huge rate. */
#define MIN_RATE_INTERVAL_S 0.5

struct cell_sample {
    uint64_t frames, candidates;
    double frames_per_s, candidates_per_s;
};

struct trigd_status_rates {
    double t;        /* monotonic seconds of the last sample, 0 = none */
    int rates_valid; /* two samples taken: the rates mean something */
    uint64_t decisions;
    double decisions_per_s;
    double frames_per_s_total, candidates_per_s_total;
    struct cell_sample cells[TRIGD_MAX_CELLS];
};

struct trigd_status_rates *trigd_status_rates_new(void)
{
    return calloc(1, sizeof(struct trigd_status_rates));
}

void trigd_status_rates_free(struct trigd_status_rates *r)
{
    free(r);
}

#define LD(x) ((json_int_t)atomic_load(&(x)))

static double rate(uint64_t now, uint64_t before, double dt)
{
    return now >= before && dt > 0 ? (double)(now - before) / dt : 0.0;
}

static json_t *cell_json(const struct trigd_cell_status *s, struct cell_sample *cs, double dt,
                         int missing, int update)
{
    uint64_t frames = atomic_load(&s->frames), cands = atomic_load(&s->candidates);
    if (update) {
        cs->frames_per_s = rate(frames, cs->frames, dt);
        cs->candidates_per_s = rate(cands, cs->candidates, dt);
        cs->frames = frames;
        cs->candidates = cands;
    }
    uint64_t dtime = atomic_load(&s->data_time), wm = atomic_load(&s->watermark);
    uint64_t fill = atomic_load(&s->ring_fill), cap = atomic_load(&s->ring_capacity);
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
                     atomic_load(&s->lag_us) / 1e3, "ring_fill",
                     cap ? (double)fill / (double)cap : 0.0, "candidates_per_s",
                     cs->candidates_per_s, "candidates", (json_int_t)cands, "frames",
                     (json_int_t)frames, "data_time_s", lt_ticks_to_seconds(dtime), "drops", drops,
                     "requests", req, "missing", missing);
}

/* What the candidate input refused and why (docs/security.md), and the cells with a clock
 * fault now. */
static json_t *data_plane_json(const struct trigd_module_status *m)
{
    json_t *faulty = json_array(), *unreachable = json_array(), *skipped = json_object();
    for (unsigned w = 0; w < TRIGD_CELL_WORDS; w++) {
        uint64_t bits = atomic_load(&m->clock_fault_bits[w]);
        uint64_t unr = atomic_load(&m->unreachable_bits[w]);
        for (unsigned b = 0; b < 64; b++) {
            if (bits >> b & 1U) json_array_append_new(faulty, json_integer(w * 64 + b));
            if (unr >> b & 1U) json_array_append_new(unreachable, json_integer(w * 64 + b));
        }
    }
    json_object_set_new(skipped, "periodic",
                        json_integer(LD(m->timer_skipped[TRIGD_ALGO_PERIODIC])));
    json_object_set_new(skipped, "random", json_integer(LD(m->timer_skipped[TRIGD_ALGO_RANDOM])));
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:o}", "out_of_order",
                     LD(m->msgs_out_of_order), "clock_faults", LD(m->msgs_clock_fault),
                     "sequence_refused", LD(m->msgs_seq_refused), "forged", LD(m->msgs_forged),
                     "restarts", LD(m->cell_restarts), "resyncs", LD(m->cell_resyncs),
                     "clock_jumps", LD(m->clock_jumps), "clock_fault_cells", faulty,
                     "timer_slots_skipped", skipped, "bad_replies", LD(m->replies_bad),
                     "peers_refused", LD(m->peers_refused), "unreachable_cells", unreachable);
}

static json_t *aggregator_json(struct trigd_module *mod, struct trigd_status_rates *r, double dt,
                               int update)
{
    const struct trigd_module_status *m = trigd_module_status(mod);
    struct trigd_module_ctl *ctl = trigd_module_ctl(mod);
    json_t *trig = json_object(), *inh = json_object(), *missing = json_array();
    for (unsigned k = 0; k < TRIGD_ALGO_COUNT; k++) {
        json_object_set_new(trig, trigd_algo_name(k), json_integer(LD(m->agg_triggers[k])));
        json_object_set_new(inh, trigd_algo_name(k), json_integer(LD(m->agg_inhibited_by[k])));
    }
    for (unsigned w = 0; w < TRIGD_CELL_WORDS; w++) {
        /* A cell the data requests cannot reach is missing too, whatever its candidates say. */
        uint64_t bits = atomic_load(&ctl->missing_bits[w]) | atomic_load(&m->unreachable_bits[w]);
        for (unsigned b = 0; b < 64; b++)
            if (bits >> b & 1U) json_array_append_new(missing, json_integer(w * 64 + b));
    }
    uint64_t decisions = atomic_load(&m->agg_decisions);
    if (update) {
        r->decisions_per_s = rate(decisions, r->decisions, dt);
        r->decisions = decisions;
    }
    json_t *lat = json_pack("{s:f, s:f}", "p50", atomic_load(&m->agg_latency_p50_ns) / 1e6, "p99",
                            atomic_load(&m->agg_latency_p99_ns) / 1e6);
    json_t *rec =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "built", LD(m->records_built), "written",
                  LD(m->records_written), "failed", LD(m->records_failed), "fragments_not_found",
                  LD(m->fragments_not_found), "fragments_incomplete", LD(m->fragments_incomplete),
                  "in_flight", LD(m->readouts_in_flight));
    return json_pack("{s:I, s:f, s:o, s:I, s:o, s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:f, s:I, "
                     "s:o, s:o}",
                     "decisions", (json_int_t)decisions, "triggers_per_s", r->decisions_per_s,
                     "triggers", trig, "inhibited", LD(m->agg_inhibited), "inhibited_by", inh,
                     "paused_dropped", LD(ctl->agg_paused), "missing_cells", missing, "latency_ms",
                     lat, "bad_messages", LD(m->msgs_bad), "late_candidates", LD(m->agg_late),
                     "lost_messages", LD(m->msgs_lost), "candidates", LD(m->agg_candidates),
                     "manual_issued", LD(ctl->manual_issued), "horizon_s",
                     lt_ticks_to_seconds(atomic_load(&m->agg_horizon)), "reply_timeouts",
                     LD(m->reply_timeouts), "records", rec, "data_plane", data_plane_json(m));
}

static json_t *writer_json(struct trigd_module *mod)
{
    struct trigd_module_ctl *c = trigd_module_ctl(mod);
    if (!atomic_load(&c->writer_valid)) return json_null();
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:s, s:I, s:I, s:b}", "queue",
                     LD(c->wr_queue), "queue_capacity", LD(c->wr_queue_capacity), "records",
                     LD(c->wr_records), "failed", LD(c->wr_failed), "bytes", LD(c->wr_bytes),
                     "mb_per_s", atomic_load(&c->wr_bytes_per_s) / 1e6, "files", LD(c->wr_files),
                     "free_bytes", LD(c->wr_free), "io_mode",
                     lt_rw_io_mode_name((enum lt_rw_io_mode)atomic_load(&c->wr_io_mode)), "errors",
                     LD(c->wr_errors), "rejected", LD(c->wr_rejected), "inhibit",
                     atomic_load(&c->wr_inhibit) != 0);
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
    json_t *cells = json_array();
    if (src->cells) {
        double fps = 0, cps = 0;
        for (uint32_t i = 0; i < trigd_cells_count(src->cells); i++) {
            const struct trigd_cell_status *s = trigd_cells_status(src->cells, i);
            int missing = 0;
            if (src->mod && s->id < LT_MAX_CELLS) {
                uint64_t bits = atomic_load(&trigd_module_ctl(src->mod)->missing_bits[s->id / 64]);
                missing = (int)(bits >> (s->id % 64) & 1U);
            }
            struct cell_sample *cs = &r->cells[i];
            json_array_append_new(cells, cell_json(s, cs, dt, missing, update));
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
        json_object_set_new(doc, "aggregator", aggregator_json(src->mod, r, dt, update));
        json_object_set_new(doc, "writer", writer_json(src->mod));
    }
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
        const struct trigd_module_status *m = trigd_module_status(src->mod);
        snprintf(buf + n, len - (size_t)n, ", %llu triggers (%.2f/s), %llu records written",
                 (unsigned long long)atomic_load(&m->agg_decisions), r->decisions_per_s,
                 (unsigned long long)atomic_load(&m->records_written));
    }
}
