/* trigctl replay: trigger-level efficiency against /Truth, fake triggers, dead time and the
 * reports.
 *
 * Which deposit a trigger found and which trigger is a fake is decided by the candidates of
 * each decision (lib/formats/truth_match.h states the rules): a deposit is found only by an
 * issued trigger whose decision holds a candidate of its cell on its wires and time; a physics
 * trigger (single, coincidence, summed) with no candidate on any signal deposit is a fake;
 * unbiased (periodic, random) and manual triggers are not counted as fakes. Inhibited decisions
 * (the readout or writer was full: dead time) are reported with what they held; a deposit only
 * they matched counts as lost to inhibit, against the efficiency. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "ticks.h"
#include "trigger_candidate.h"
#include "truth_match.h"

/* Energy bins (MeV): decades, the last open. */
static const double bin_edges[] = {0, 10, 100, 1000, 10000, INFINITY};
#define N_BINS (sizeof bin_edges / sizeof bin_edges[0] - 1)

static const char *cause_name(uint8_t c)
{
    return c == LT_TRIGGER_SIGNAL ? "signal" : c == LT_TRIGGER_BACKGROUND ? "background" : "noise";
}

static json_t *algo_list(uint32_t bits)
{
    json_t *a = json_array();
    for (unsigned k = 0; k < LT_ALGO_COUNT; k++)
        if (bits & (1U << k)) json_array_append_new(a, json_string(lt_algo_name(k)));
    return a;
}

static json_t *cell_list(const struct replay_trigger *t)
{
    json_t *a = json_array();
    for (unsigned w = 0; w < LT_MAX_CELLS / 64; w++)
        for (unsigned b = 0; b < 64; b++)
            if (t->cells[w] >> b & 1U) json_array_append_new(a, json_integer(w * 64 + b));
    return a;
}

static int by_begin(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Data time (ticks) that inhibited decisions would have read out and no issued one did: the
 * union of the inhibited windows minus the union of the issued ones. -1 when out of memory. */
static int64_t dead_ticks(const struct replay_trigger *t, size_t n)
{
    uint64_t(*iv)[3] = malloc((n ? n : 1) * sizeof *iv); /* begin, end, inhibited */
    if (!iv) return -1;
    for (size_t k = 0; k < n; k++) {
        iv[k][0] = t[k].begin;
        iv[k][1] = t[k].end > t[k].begin ? t[k].end : t[k].begin;
        iv[k][2] = t[k].inhibited;
    }
    qsort(iv, n, sizeof *iv, by_begin);
    /* Sweep over the boundaries: count open issued/inhibited windows between them. */
    uint64_t(*ev)[2] = malloc((n ? 2 * n : 1) * sizeof *ev); /* time, code */
    if (!ev) {
        free(iv);
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        ev[2 * k][0] = iv[k][0];
        ev[2 * k][1] = iv[k][2] ? 0 : 1; /* open inhibited / open issued */
        ev[2 * k + 1][0] = iv[k][1];
        ev[2 * k + 1][1] = iv[k][2] ? 2 : 3; /* close inhibited / close issued */
    }
    qsort(ev, 2 * n, sizeof *ev, by_begin);
    int64_t open_inh = 0, open_iss = 0;
    uint64_t dead = 0, prev = 0;
    for (size_t k = 0; k < 2 * n; k++) {
        if (open_inh > 0 && open_iss == 0) dead += ev[k][0] - prev;
        prev = ev[k][0];
        switch (ev[k][1]) {
        case 0:
            open_inh++;
            break;
        case 1:
            open_iss++;
            break;
        case 2:
            open_inh--;
            break;
        default:
            open_iss--;
            break;
        }
    }
    free(ev);
    free(iv);
    return (int64_t)dead;
}

/* The decision's kept candidates as compact rows, so a trigger's thresholds can be studied
 * offline (tools/train/compare_baselines.py): [cell, wire_start, wire_end, time_start,
 * time_end, peak_score, adc_sum]. */
static json_t *candidate_rows(const struct lt_candidate *c, uint32_t n)
{
    json_t *a = json_array();
    for (uint32_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_pack("[i,i,i,I,I,i,I]", (int)c[i].cell,
                                           (int)c[i].channel_start, (int)c[i].channel_end,
                                           (json_int_t)c[i].time_start, (json_int_t)c[i].time_end,
                                           (int)c[i].peak_score, (json_int_t)c[i].adc_sum));
    return a;
}

static json_t *trigger_json(const struct replay_result *r, const struct replay_trigger *t,
                            uint8_t cause, int fake)
{
    json_t *o =
        json_pack("{s:I, s:f, s:[I,I], s:o, s:o, s:i, s:s, s:b, s:b}", "time_ticks",
                  (json_int_t)t->time, "time_s", lt_ticks_to_seconds(t->time), "window_ticks",
                  (json_int_t)t->begin, (json_int_t)t->end, "algorithms", algo_list(t->algorithms),
                  "cells", cell_list(t), "candidates", (int)t->n_candidates, "cause",
                  cause_name(cause), "signal", cause == LT_TRIGGER_SIGNAL, "fake", fake);
    if (o && !t->inhibited) json_object_set_new(o, "number", json_integer((json_int_t)t->number));
    if (o)
        json_object_set_new(o, "candidate_rows",
                            candidate_rows(r->cand + t->cand_first, t->cand_kept));
    return o;
}

json_t *replay_report_json(const struct replay_result *r)
{
    const struct replay_run *run = r->run;
    size_t nt = r->n_trig;
    struct lt_match_trigger *mt = malloc((nt ? nt : 1) * sizeof *mt);
    uint8_t *cause = malloc(nt ? nt : 1);
    uint8_t *outcome = malloc(run->n_truth ? run->n_truth : 1);
    int64_t dead = dead_ticks(r->trig, nt);
    if (!mt || !cause || !outcome || dead < 0) goto oom;
    for (size_t k = 0; k < nt; k++)
        mt[k] = (struct lt_match_trigger){r->cand + r->trig[k].cand_first, r->trig[k].cand_kept,
                                          r->trig[k].inhibited};
    if (lt_match_triggers(run->truth, run->n_truth, mt, nt, outcome, cause) != 0) goto oom;
    free(mt);
    mt = NULL;

    uint64_t found[LT_TRUTH_KIND_COUNT][N_BINS] = {{0}}, total[LT_TRUTH_KIND_COUNT][N_BINS] = {{0}};
    uint64_t lost[LT_TRUTH_KIND_COUNT][N_BINS] = {{0}};
    uint64_t sig_total = 0, sig_found = 0, sig_lost = 0;
    for (size_t i = 0; i < run->n_truth; i++) {
        const struct lt_truth *d = &run->truth[i];
        if (!lt_truth_kind_is_signal(d->kind) || d->kind >= LT_TRUTH_KIND_COUNT) continue;
        unsigned b = 0;
        while (b + 1 < N_BINS && d->energy_mev >= bin_edges[b + 1]) b++;
        total[d->kind][b]++;
        sig_total++;
        if (outcome[i] == LT_DEPOSIT_FOUND) {
            found[d->kind][b]++;
            sig_found++;
        } else if (outcome[i] == LT_DEPOSIT_INHIBITED) {
            lost[d->kind][b]++;
            sig_lost++;
        }
    }
    free(outcome);
    outcome = NULL;
    uint64_t physics = 0, fakes = 0, fake_bkg = 0, inh_phys = 0, inh_fakes = 0, dropped = 0;
    json_t *trigs = json_array(), *inh = json_array();
    for (size_t k = 0; k < nt; k++) {
        const struct replay_trigger *t = &r->trig[k];
        int phys = (t->algorithms & LT_ALGO_PHYSICS_MASK) != 0;
        int fake = phys && cause[k] != LT_TRIGGER_SIGNAL;
        dropped += t->candidates_dropped;
        if (t->inhibited) {
            inh_phys += phys;
            inh_fakes += fake;
            json_array_append_new(inh, trigger_json(r, t, cause[k], fake));
            continue;
        }
        physics += phys;
        fakes += fake;
        fake_bkg += fake && cause[k] == LT_TRIGGER_BACKGROUND;
        json_array_append_new(trigs, trigger_json(r, t, cause[k], fake));
    }
    free(cause);
    cause = NULL;
    json_t *eff = json_array();
    for (unsigned kind = 0; kind < LT_TRUTH_KIND_COUNT; kind++)
        for (unsigned b = 0; b < N_BINS; b++) {
            if (!total[kind][b]) continue;
            json_t *row = json_pack("{s:s, s:f, s:I, s:I, s:I, s:f}", "kind",
                                    lt_truth_kind_name(kind), "energy_min_mev", bin_edges[b],
                                    "found", (json_int_t)found[kind][b], "lost_to_inhibit",
                                    (json_int_t)lost[kind][b], "total", (json_int_t)total[kind][b],
                                    "efficiency", (double)found[kind][b] / (double)total[kind][b]);
            json_object_set_new(row, "energy_max_mev",
                                isinf(bin_edges[b + 1]) ? json_null()
                                                        : json_real(bin_edges[b + 1]));
            json_array_append_new(eff, row);
        }
    json_t *cells = json_array();
    for (uint32_t i = 0; i < run->n_cells; i++)
        json_array_append_new(cells, json_pack("{s:i, s:i, s:I}", "id", (int)run->cells[i].id,
                                               "streams", (int)run->cells[i].streams, "frames",
                                               (json_int_t)run->cells[i].frames));
    double ds = run->data_seconds;
    json_t *doc = json_pack(
        "{s:s, s:i, s:o, s:f, s:I, s:I, s:I, s:o, s:I, s:I, s:o, s:I, s:I, s:f, s:I, s:f}", "file",
        run->path, "run_number", (int)run->run_number, "cells", cells, "data_seconds", ds,
        "raw_bytes", (json_int_t)run->raw_bytes, "truth_rows", (json_int_t)run->n_truth,
        "trigger_count", (json_int_t)r->trig_total, "triggers", trigs, "signal_total",
        (json_int_t)sig_total, "signal_found", (json_int_t)sig_found, "efficiency", eff,
        "physics_triggers", (json_int_t)physics, "fake_triggers", (json_int_t)fakes, "fake_rate_hz",
        ds > 0 ? (double)fakes / ds : 0.0, "records", (json_int_t)r->out.records, "wall_s",
        r->wall_s);
    json_object_set_new(doc, "signal_lost_to_inhibit", json_integer((json_int_t)sig_lost));
    json_object_set_new(doc, "fake_background", json_integer((json_int_t)fake_bkg));
    json_object_set_new(doc, "fake_noise", json_integer((json_int_t)(fakes - fake_bkg)));
    json_object_set_new(doc, "inhibited_count", json_integer((json_int_t)r->inhibited_total));
    json_object_set_new(doc, "inhibited", inh);
    json_object_set_new(doc, "inhibited_physics", json_integer((json_int_t)inh_phys));
    json_object_set_new(doc, "inhibited_fakes", json_integer((json_int_t)inh_fakes));
    double dead_s = lt_ticks_to_seconds((uint64_t)dead);
    json_object_set_new(doc, "dead_time_s", json_real(dead_s));
    json_object_set_new(doc, "live_fraction", json_real(ds > 0 ? 1.0 - dead_s / ds : 1.0));
    json_object_set_new(doc, "candidates_dropped", json_integer((json_int_t)dropped));
    json_object_set_new(doc, "candidates_not_kept", json_integer((json_int_t)r->cand_not_kept));
    json_object_set_new(doc, "match_wire_tolerance", json_integer(LT_MATCH_WIRE_TOL));
    json_object_set_new(doc, "match_time_tolerance_ticks", json_integer(LT_MATCH_TIME_TOL));
    json_object_set_new(doc, "signal_efficiency",
                        sig_total ? json_real((double)sig_found / (double)sig_total) : json_null());
    json_object_set_new(doc, "record_bytes", json_integer((json_int_t)r->out.record_bytes));
    json_object_set_new(doc, "record_file_bytes", json_integer((json_int_t)r->out.file_bytes));
    json_object_set_new(doc, "record_files", json_integer(r->out.files));
    json_object_set_new(doc, "reduction",
                        r->out.record_bytes
                            ? json_real((double)run->raw_bytes / (double)r->out.record_bytes)
                            : json_null());
    const struct replay_measure *m = &r->m;
    json_object_set_new(doc, "speed", json_real(r->speed));
    json_object_set_new(
        doc, "read",
        json_pack("{s:I, s:I, s:f, s:s, s:b, s:f}", "bytes", (json_int_t)m->bytes_read,
                  "frame_bytes", (json_int_t)m->frame_bytes, "bandwidth_mb_s",
                  m->run_s > 0 ? m->bytes_read / 1e6 / m->run_s : 0.0, "io", m->io ? m->io : "",
                  "o_direct", m->direct, "wait_s", m->read_wait_s));
    json_object_set_new(doc, "memory",
                        json_pack("{s:I, s:I, s:I, s:I}", "bound_bytes",
                                  (json_int_t)r->mem.bound_bytes, "ring_bytes",
                                  (json_int_t)r->mem.ring_bytes, "read_ahead_bytes",
                                  (json_int_t)r->mem.read_ahead_bytes, "peak_rss_bytes",
                                  (json_int_t)r->mem.peak_rss_bytes));
    json_object_set_new(doc, "stages",
                        json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:f, s:f}", "scan_s",
                                  m->scan_s, "open_s", m->open_s, "run_s", m->run_s, "drain_s",
                                  m->drain_s, "read_wait_s", m->read_wait_s, "ring_gate_wait_s",
                                  m->gate_wait_s, "decisions_held", (json_int_t)m->decisions_held,
                                  "cpu_user_s", m->cpu_user_s, "cpu_sys_s", m->cpu_sys_s));
    json_t *files = json_array();
    for (size_t i = 0; i < run->n_files; i++)
        json_array_append_new(files, json_string(run->files[i]));
    json_object_set_new(doc, "files", files);
    json_object_set_new(doc, "throughput",
                        json_real(r->wall_s > 0 ? ds / r->wall_s : 0.0)); /* data s / wall s */
    json_object_set_new(doc, "output_dir", r->out_kept ? json_string(r->out_dir) : json_null());
    json_object_set_new(doc, "triggers_listed_max", json_integer(REPLAY_MAX_TRIGGERS));
    if (r->pipeline) json_object_set(doc, "pipeline", r->pipeline);
    return doc;
oom:
    free(mt);
    free(cause);
    free(outcome);
    return NULL;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

void replay_report_print(json_t *doc, const struct replay_result *r)
{
    const struct replay_run *run = r->run;
    printf("replay of %s%s: run %u, %u cell(s), %.6f s of data, %.1f MB raw, %zu truth rows\n",
           run->path, run->n_files > 1 ? " and the run's next files" : "", run->run_number,
           run->n_cells, run->data_seconds, run->raw_bytes / 1e6, run->n_truth);
    json_t *trigs = json_object_get(doc, "triggers");
    printf("\ntriggers: %.0f\n", num(doc, "trigger_count"));
    if (json_array_size(trigs))
        printf("%8s %14s  %-26s %s\n", "number", "time_s", "algorithms", "cells");
    size_t i;
    json_t *t;
    json_array_foreach(trigs, i, t)
    {
        char algos[64] = "", cells[256] = "";
        size_t j;
        json_t *v;
        json_array_foreach(json_object_get(t, "algorithms"), j, v)
        {
            size_t l = strlen(algos);
            snprintf(algos + l, sizeof algos - l, "%s%s", j ? "," : "", json_string_value(v));
        }
        json_array_foreach(json_object_get(t, "cells"), j, v)
        {
            size_t l = strlen(cells);
            if (l + 12 < sizeof cells)
                snprintf(cells + l, sizeof cells - l, "%s%lld", j ? "," : "",
                         (long long)json_integer_value(v));
        }
        const char *why = json_string_value(json_object_get(t, "cause"));
        char note[48] = "";
        if (json_is_true(json_object_get(t, "fake")))
            snprintf(note, sizeof note, "   fake (%s)", why ? why : "?");
        printf("%8.0f %14.6f  %-26s %s%s\n", num(t, "number"), num(t, "time_s"), algos,
               cells[0] ? cells : "-", note);
    }
    if (r->trig_total + r->inhibited_total > r->n_trig)
        printf("  ... %llu more not listed\n",
               (unsigned long long)(r->trig_total + r->inhibited_total - r->n_trig));
    printf("\nefficiency (found = an issued trigger's decision holds a candidate of the deposit's "
           "cell\non its wires and time, within %.0f wires and %.0f ticks):\n",
           num(doc, "match_wire_tolerance"), num(doc, "match_time_tolerance_ticks"));
    json_t *eff = json_object_get(doc, "efficiency");
    if (!json_array_size(eff))
        printf("  no signal deposits in /Truth\n");
    else
        printf("  %-12s %-16s %12s %8s %16s\n", "kind", "energy MeV", "found/total", "eff",
               "lost to inhibit");
    json_array_foreach(eff, i, t)
    {
        char range[40];
        json_t *mx = json_object_get(t, "energy_max_mev");
        if (json_is_number(mx))
            snprintf(range, sizeof range, "%g-%g", num(t, "energy_min_mev"), json_number_value(mx));
        else
            snprintf(range, sizeof range, ">=%g", num(t, "energy_min_mev"));
        char ft[40];
        snprintf(ft, sizeof ft, "%.0f/%.0f", num(t, "found"), num(t, "total"));
        printf("  %-12s %-16s %12s %7.1f%% %16.0f\n", json_string_value(json_object_get(t, "kind")),
               range, ft, 100.0 * num(t, "efficiency"), num(t, "lost_to_inhibit"));
    }
    printf("fake triggers: %.0f of %.0f physics triggers (%.0f on background deposits, %.0f on "
           "noise), %.3f per second of data\n",
           num(doc, "fake_triggers"), num(doc, "physics_triggers"), num(doc, "fake_background"),
           num(doc, "fake_noise"), num(doc, "fake_rate_hz"));
    printf("dead time: %.0f trigger(s) inhibited (%.0f physics, %.0f of them fakes), %.6f s of "
           "data not read out (live %.2f%%), %.0f signal deposit(s) lost to it\n",
           num(doc, "inhibited_count"), num(doc, "inhibited_physics"), num(doc, "inhibited_fakes"),
           num(doc, "dead_time_s"), 100.0 * num(doc, "live_fraction"),
           num(doc, "signal_lost_to_inhibit"));
    if (num(doc, "candidates_dropped") || num(doc, "candidates_not_kept"))
        printf("WARNING: %.0f candidates beyond trigger.max_candidates_per_decision and %.0f "
               "beyond what replay keeps were not matched: efficiency is a lower bound\n",
               num(doc, "candidates_dropped"), num(doc, "candidates_not_kept"));
    json_t *red = json_object_get(doc, "reduction");
    printf("records: %llu written, %.2f MB of record data in %u file(s)\n",
           (unsigned long long)r->out.records, r->out.record_bytes / 1e6, r->out.files);
    if (json_is_number(red))
        printf("data reduction: %.1f x (%.1f MB raw / %.2f MB recorded)\n", json_number_value(red),
               run->raw_bytes / 1e6, r->out.record_bytes / 1e6);
    else
        printf("data reduction: no records written\n");
    printf("throughput: %.6f s of data in %.2f s wall = %.3f x real time\n", run->data_seconds,
           r->wall_s, num(doc, "throughput"));
    const struct replay_measure *m = &r->m;
    printf("read: %.1f MB in %.2f s = %.0f MB/s (%s%s), waited %.2f s for reads, %.2f s for the "
           "trigger (%llu decisions waited for the readout/writer)\n",
           m->bytes_read / 1e6, m->run_s, m->run_s > 0 ? m->bytes_read / 1e6 / m->run_s : 0.0,
           m->io ? m->io : "", m->direct ? ", O_DIRECT" : "", m->read_wait_s, m->gate_wait_s,
           (unsigned long long)m->decisions_held);
    printf("stages: scan %.2f s, open %.2f s, run %.2f s, drain %.2f s; cpu %.2f s user, %.2f s "
           "system\n",
           m->scan_s, m->open_s, m->run_s, m->drain_s, m->cpu_user_s, m->cpu_sys_s);
    printf("memory: peak RSS %.0f MB (bound %.0f MB: rings %.0f MB, read-ahead %.0f MB)\n",
           r->mem.peak_rss_bytes / 1e6, r->mem.bound_bytes / 1e6, r->mem.ring_bytes / 1e6,
           r->mem.read_ahead_bytes / 1e6);
    json_t *p = r->pipeline;
    if (p && (num(p, "fragments_not_found") || num(p, "fragments_incomplete") ||
              num(p, "records_failed")))
        printf("WARNING: %.0f fragments not found, %.0f incomplete, %.0f records failed\n",
               num(p, "fragments_not_found"), num(p, "fragments_incomplete"),
               num(p, "records_failed"));
    if (r->out_kept) printf("records in %s\n", r->out_dir);
}
