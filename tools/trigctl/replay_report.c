/* trigctl replay: efficiency against /Truth, fake triggers and the reports.
 *
 * A truth deposit is "found" when the readout window [begin, end) of some trigger holds part of
 * its charge, i.e. overlaps [time, time_end] (a neutrino track arrives over up to a drift time,
 * and the trigger may fire on any part of it). Signal = every kind but 39Ar. A trigger proposed
 * by a physics algorithm (single, coincidence, summed) whose window overlaps no signal deposit
 * is a fake; unbiased (periodic, random) and manual triggers are not counted as fakes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "ticks.h"
#include "trigger_candidate.h"

/* Energy bins (MeV): decades, the last open. */
static const double bin_edges[] = {0, 10, 100, 1000, 10000, INFINITY};
#define N_BINS (sizeof bin_edges / sizeof bin_edges[0] - 1)

static int overlaps(const struct replay_trigger *t, const struct lt_truth *d)
{
    uint64_t end = d->time_end > d->time ? d->time_end : d->time;
    return d->time < t->end && end >= t->begin;
}

static int is_signal(const struct lt_truth *d)
{
    return d->kind != LT_TRUTH_AR39 && d->kind < LT_TRUTH_KIND_COUNT;
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

json_t *replay_report_json(const struct replay_result *r)
{
    const struct replay_run *run = r->run;
    /* Triggers are in time order (the aggregator issues them so); deposits are matched by a
     * scan over the triggers that can reach them. */
    uint64_t found[LT_TRUTH_KIND_COUNT][N_BINS] = {{0}}, total[LT_TRUTH_KIND_COUNT][N_BINS] = {{0}};
    uint64_t sig_total = 0, sig_found = 0;
    uint8_t *has_signal = calloc(r->n_trig ? r->n_trig : 1, 1);
    for (size_t i = 0; i < run->n_truth; i++) {
        const struct lt_truth *d = &run->truth[i];
        if (!is_signal(d)) continue;
        unsigned b = 0;
        while (b + 1 < N_BINS && d->energy_mev >= bin_edges[b + 1]) b++;
        int hit = 0;
        for (size_t k = 0; k < r->n_trig; k++) {
            if (overlaps(&r->trig[k], d)) {
                hit = 1;
                if (has_signal) has_signal[k] = 1;
            }
        }
        total[d->kind][b]++;
        sig_total++;
        if (hit) {
            found[d->kind][b]++;
            sig_found++;
        }
    }
    uint64_t physics = 0, fakes = 0;
    json_t *trigs = json_array();
    for (size_t k = 0; k < r->n_trig; k++) {
        const struct replay_trigger *t = &r->trig[k];
        int phys = (t->algorithms & LT_ALGO_PHYSICS_MASK) != 0;
        int fake = phys && has_signal && !has_signal[k];
        physics += phys;
        fakes += fake;
        json_array_append_new(
            trigs, json_pack("{s:I, s:I, s:f, s:[I,I], s:o, s:o, s:i, s:b}", "number",
                             (json_int_t)t->number, "time_ticks", (json_int_t)t->time, "time_s",
                             lt_ticks_to_seconds(t->time), "window_ticks", (json_int_t)t->begin,
                             (json_int_t)t->end, "algorithms", algo_list(t->algorithms), "cells",
                             cell_list(t), "candidates", (int)t->n_candidates, "signal",
                             has_signal ? has_signal[k] : 0));
    }
    free(has_signal);
    json_t *eff = json_array();
    for (unsigned kind = 0; kind < LT_TRUTH_KIND_COUNT; kind++)
        for (unsigned b = 0; b < N_BINS; b++) {
            if (!total[kind][b]) continue;
            json_t *row = json_pack("{s:s, s:f, s:I, s:I, s:f}", "kind", lt_truth_kind_name(kind),
                                    "energy_min_mev", bin_edges[b], "found",
                                    (json_int_t)found[kind][b], "total", (json_int_t)total[kind][b],
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
    json_object_set_new(doc, "signal_efficiency",
                        sig_total ? json_real((double)sig_found / (double)sig_total) : json_null());
    json_object_set_new(doc, "record_bytes", json_integer((json_int_t)r->out.record_bytes));
    json_object_set_new(doc, "record_file_bytes", json_integer((json_int_t)r->out.file_bytes));
    json_object_set_new(doc, "record_files", json_integer(r->out.files));
    json_object_set_new(doc, "reduction",
                        r->out.record_bytes
                            ? json_real((double)run->raw_bytes / (double)r->out.record_bytes)
                            : json_null());
    json_object_set_new(doc, "preload_s", json_real(r->preload_s));
    json_object_set_new(doc, "throughput",
                        json_real(r->wall_s > 0 ? ds / r->wall_s : 0.0)); /* data s / wall s */
    json_object_set_new(doc, "output_dir", r->out_kept ? json_string(r->out_dir) : json_null());
    json_object_set_new(doc, "triggers_listed_max", json_integer(REPLAY_MAX_TRIGGERS));
    if (r->pipeline) json_object_set(doc, "pipeline", r->pipeline);
    return doc;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

void replay_report_print(json_t *doc, const struct replay_result *r)
{
    const struct replay_run *run = r->run;
    printf("replay of %s: run %u, %u cell(s), %.6f s of data, %.1f MB raw, %zu truth rows\n",
           run->path, run->run_number, run->n_cells, run->data_seconds, run->raw_bytes / 1e6,
           run->n_truth);
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
        printf("%8.0f %14.6f  %-26s %s%s\n", num(t, "number"), num(t, "time_s"), algos,
               cells[0] ? cells : "-",
               json_is_true(json_object_get(t, "signal")) ? "" : "   (no signal truth)");
    }
    if (r->trig_total > r->n_trig)
        printf("  ... %llu more not listed\n", (unsigned long long)(r->trig_total - r->n_trig));
    printf(
        "\nefficiency (found = a trigger's readout window holds part of the deposit's charge):\n");
    json_t *eff = json_object_get(doc, "efficiency");
    if (!json_array_size(eff))
        printf("  no signal deposits in /Truth\n");
    else
        printf("  %-12s %-16s %12s %8s\n", "kind", "energy MeV", "found/total", "eff");
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
        printf("  %-12s %-16s %12s %7.1f%%\n", json_string_value(json_object_get(t, "kind")), range,
               ft, 100.0 * num(t, "efficiency"));
    }
    printf("fake triggers: %.0f of %.0f physics triggers, %.3f per second of data\n",
           num(doc, "fake_triggers"), num(doc, "physics_triggers"), num(doc, "fake_rate_hz"));
    json_t *red = json_object_get(doc, "reduction");
    printf("records: %llu written, %.2f MB of record data in %u file(s)\n",
           (unsigned long long)r->out.records, r->out.record_bytes / 1e6, r->out.files);
    if (json_is_number(red))
        printf("data reduction: %.1f x (%.1f MB raw / %.2f MB recorded)\n", json_number_value(red),
               run->raw_bytes / 1e6, r->out.record_bytes / 1e6);
    else
        printf("data reduction: no records written\n");
    printf("throughput: %.6f s of data in %.2f s wall = %.3f x real time (preload %.2f s)\n",
           run->data_seconds, r->wall_s, num(doc, "throughput"), r->preload_s);
    json_t *p = r->pipeline;
    if (p && (num(p, "fragments_not_found") || num(p, "fragments_incomplete") ||
              num(p, "inhibited") || num(p, "records_failed")))
        printf("WARNING: %.0f fragments not found, %.0f incomplete, %.0f triggers inhibited, %.0f "
               "records failed\n",
               num(p, "fragments_not_found"), num(p, "fragments_incomplete"), num(p, "inhibited"),
               num(p, "records_failed"));
    if (r->out_kept) printf("records in %s\n", r->out_dir);
}
