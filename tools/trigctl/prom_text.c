/* Status document -> Prometheus text format: see prom_text.h. Counters keep trigd's own totals
 * (they restart at 0 with trigd, which Prometheus's rate() understands as a reset); times are
 * exported in seconds and sizes in bytes, the Prometheus base units. */
#include "prom_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_text_reset(struct prom_text *t)
{
    t->len = 0;
    t->oom = 0;
    if (t->buf) t->buf[0] = '\0';
}

void prom_text_free(struct prom_text *t)
{
    free(t->buf);
    memset(t, 0, sizeof *t);
}

void prom_text_printf(struct prom_text *t, const char *fmt, ...)
{
    if (t->oom) return;
    for (;;) {
        size_t room = t->cap - t->len;
        va_list ap;
        va_start(ap, fmt);
        int n = t->buf ? vsnprintf(t->buf + t->len, room, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t want = t->cap ? t->cap * 2 : 16384;
        while (n >= 0 && want < t->len + (size_t)n + 1) want *= 2;
        char *nb = realloc(t->buf, want);
        if (!nb) {
            t->oom = 1;
            return;
        }
        t->buf = nb;
        t->cap = want;
    }
}

enum fam_type { COUNTER, GAUGE };
enum fam_kind {
    MODULE,   /* one value at `path` of the document */
    PER_CELL, /* `path` inside each element of "cells": label cell */
    PER_ALGO, /* `path` is an object keyed by algorithm: label algorithm */
};

struct family {
    const char *name; /* counters get "_total" appended */
    enum fam_type type;
    enum fam_kind kind;
    const char *path; /* dotted path of the document's field (docs/monitoring.md) */
    double scale;     /* to the base unit (ms -> s: 1e-3); 0 = as is */
    const char *help;
};

/* The one place that says which field of the status document is which metric. Health words are
 * exported as 0 ok, 1 degraded, 2 failing. */
static const struct family families[] = {
    {"lartrig_uptime_seconds", GAUGE, MODULE, "uptime_s", 0, "Seconds since trigd started."},
    {"lartrig_run_number", GAUGE, MODULE, "run_number", 0, "Run number."},
    /* cells */
    {"lartrig_cell_frames", COUNTER, PER_CELL, "frames", 0, "Frames received by the cell."},
    {"lartrig_cell_candidates", COUNTER, PER_CELL, "candidates", 0,
     "Trigger candidates found by the cell's kernel."},
    {"lartrig_cell_lag_seconds", GAUGE, PER_CELL, "lag_ms", 1e-3,
     "Data time between the newest frame and the kernel's watermark."},
    {"lartrig_cell_pacing_lag_seconds", GAUGE, PER_CELL, "pacing_lag_ms", 1e-3,
     "How far the source is behind its real-time schedule."},
    {"lartrig_cell_ring_fill_ratio", GAUGE, PER_CELL, "ring_fill", 0,
     "Fill of the cell's latency ring (0..1); full is normal operation."},
    {"lartrig_cell_ring_depth_seconds", GAUGE, PER_CELL, "ring.depth_ms", 1e-3,
     "Data time the latency ring holds: how far back a data request can reach."},
    {"lartrig_cell_ring_overwritten_frames", COUNTER, PER_CELL, "ring.overwritten_frames", 0,
     "Frames the full latency ring overwrote (normal operation, not a loss)."},
    {"lartrig_cell_messages_dropped", COUNTER, PER_CELL, "losses.messages_dropped", 0,
     "Loss: candidate messages the cell's socket refused (module slow or gone)."},
    {"lartrig_cell_candidates_dropped", COUNTER, PER_CELL, "losses.candidates_dropped", 0,
     "Loss: candidates inside refused candidate messages."},
    {"lartrig_cell_candidates_not_collected", COUNTER, PER_CELL, "losses.candidates_not_collected",
     0, "Loss: candidates the kernel found but could not collect."},
    {"lartrig_cell_source_errors", COUNTER, PER_CELL, "losses.source_errors", 0,
     "Loss: source failures and malformed input."},
    {"lartrig_cell_input_dropped", COUNTER, PER_CELL, "losses.input_dropped", 0,
     "Loss: input the source itself dropped (bad datagrams, missing frames)."},
    {"lartrig_cell_requests_served", COUNTER, PER_CELL, "requests.served", 0,
     "Data requests the cell answered."},
    {"lartrig_cell_requests_not_found", COUNTER, PER_CELL, "losses.requests_not_found", 0,
     "Loss: data requests answered kDataNotFound (data no longer or not yet in the ring)."},
    {"lartrig_cell_requests_incomplete", COUNTER, PER_CELL, "losses.requests_incomplete", 0,
     "Loss: data requests answered kIncomplete."},
    {"lartrig_cell_requests_bad", COUNTER, PER_CELL, "requests.bad", 0,
     "Malformed or misaddressed data requests dropped."},
    {"lartrig_cell_replies_dropped", COUNTER, PER_CELL, "losses.replies_dropped", 0,
     "Loss: data replies that could not be sent."},
    {"lartrig_cell_missing", GAUGE, PER_CELL, "missing", 0,
     "1 while the aggregator has declared the cell missing."},
    {"lartrig_cell_health", GAUGE, PER_CELL, "health.state", 0,
     "Cell health: 0 ok, 1 degraded, 2 failing (the reason is in trigctl status)."},
    /* aggregator */
    {"lartrig_triggers", COUNTER, PER_ALGO, "aggregator.triggers", 0,
     "Triggers issued, by the algorithm that proposed them."},
    {"lartrig_triggers_inhibited", COUNTER, PER_ALGO, "aggregator.inhibited_by", 0,
     "Loss: triggers inhibited (readout or writer queue full), by algorithm."},
    {"lartrig_decisions", COUNTER, MODULE, "aggregator.decisions", 0,
     "Trigger decisions issued (numbered)."},
    {"lartrig_decisions_inhibited", COUNTER, MODULE, "aggregator.inhibited", 0,
     "Loss: trigger decisions inhibited."},
    {"lartrig_decisions_paused", COUNTER, MODULE, "aggregator.paused_dropped", 0,
     "Decisions not issued because the operator paused triggering."},
    {"lartrig_decisions_held", COUNTER, MODULE, "aggregator.decisions_held", 0,
     "Times a decision waited for the readout/writer (trigger.wait_when_busy) instead of being "
     "inhibited."},
    {"lartrig_aggregator_candidates", COUNTER, MODULE, "aggregator.candidates", 0,
     "Candidates accepted by the aggregator."},
    {"lartrig_candidates_late", COUNTER, MODULE, "aggregator.late_candidates", 0,
     "Loss: candidates older than the decided horizon, refused."},
    {"lartrig_candidates_refused", COUNTER, MODULE, "aggregator.losses.candidates_refused", 0,
     "Loss: candidates the aggregator refused (late or its queue full)."},
    {"lartrig_messages_refused", COUNTER, MODULE, "aggregator.losses.messages_refused", 0,
     "Loss: candidate messages refused (failed validation or out of order)."},
    {"lartrig_messages_bad", COUNTER, MODULE, "aggregator.bad_messages", 0,
     "Loss: candidate messages that failed validation."},
    {"lartrig_messages_lost", COUNTER, MODULE, "aggregator.lost_messages", 0,
     "Loss: candidate messages a cell sent that never arrived (sequence gaps)."},
    {"lartrig_missing_cells", GAUGE, MODULE, "aggregator.cells_missing", 0,
     "Cells the aggregator has declared missing now."},
    {"lartrig_reply_timeouts", COUNTER, MODULE, "aggregator.reply_timeouts", 0,
     "Cells that did not answer a data request in time."},
    {"lartrig_manual_triggers_issued", COUNTER, MODULE, "aggregator.manual_issued", 0,
     "Manual (operator) triggers issued."},
    {"lartrig_horizon_seconds", GAUGE, MODULE, "aggregator.horizon_s", 0,
     "Data time up to which the aggregator has decided."},
    {"lartrig_records_built", COUNTER, MODULE, "aggregator.records.built", 0,
     "Trigger records built."},
    {"lartrig_records_written", COUNTER, MODULE, "aggregator.records.written", 0,
     "Trigger records written."},
    {"lartrig_records_failed", COUNTER, MODULE, "aggregator.records.failed", 0,
     "Loss: trigger records the writer failed to write."},
    {"lartrig_fragments_not_found", COUNTER, MODULE, "aggregator.records.fragments_not_found", 0,
     "Loss: fragments stored as kDataNotFound."},
    {"lartrig_fragments_incomplete", COUNTER, MODULE, "aggregator.records.fragments_incomplete", 0,
     "Loss: fragments stored as kIncomplete."},
    {"lartrig_records_in_flight", GAUGE, MODULE, "aggregator.records.in_flight", 0,
     "Readouts waiting for their data."},
    /* writer */
    {"lartrig_writer_records", COUNTER, MODULE, "writer.records", 0, "Records the writer wrote."},
    {"lartrig_writer_bytes", COUNTER, MODULE, "writer.bytes", 0, "Bytes the writer wrote."},
    {"lartrig_writer_files", COUNTER, MODULE, "writer.files", 0, "Record files closed."},
    {"lartrig_writer_failed", COUNTER, MODULE, "writer.failed", 0,
     "Loss: records the writer could not write."},
    {"lartrig_writer_errors", COUNTER, MODULE, "writer.errors", 0, "Writer I/O errors."},
    {"lartrig_writer_rejected", COUNTER, MODULE, "writer.rejected", 0,
     "Records the writer refused (queue full or no space)."},
    {"lartrig_writer_queue", GAUGE, MODULE, "writer.queue", 0, "Records queued for the writer."},
    {"lartrig_writer_queue_capacity", GAUGE, MODULE, "writer.queue_capacity", 0,
     "Capacity of the writer queue."},
    {"lartrig_writer_free_bytes", GAUGE, MODULE, "writer.free_bytes", 0,
     "Free space of the output file system."},
    {"lartrig_writer_inhibit", GAUGE, MODULE, "writer.inhibit", 0,
     "1 while the writer inhibits triggers."},
    /* module */
    {"lartrig_health", GAUGE, MODULE, "health.state", 0,
     "Module health: 0 ok, 1 degraded, 2 failing (the reasons are in trigctl status)."},
    {"lartrig_watchdog_timeout_seconds", GAUGE, MODULE, "watchdog.timeout_s", 0,
     "systemd's WatchdogSec for trigd."},
    {"lartrig_watchdog_last_ping_age_seconds", GAUGE, MODULE, "watchdog.last_ping_age_s", 0,
     "Seconds since trigd's last WATCHDOG=1."},
    {"lartrig_operator_reloads", COUNTER, MODULE, "operator.reloads", 0, "Config reloads."},
    {"lartrig_operator_pauses", COUNTER, MODULE, "operator.pauses", 0, "Operator pauses."},
};

/* A field by dotted path ("a.b.c"), or NULL. */
static json_t *lookup(const json_t *root, const char *path)
{
    char key[64];
    const json_t *cur = root;
    while (cur && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key || !json_is_object(cur)) return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        cur = json_object_get(cur, key);
        path += n + (path[n] == '.');
    }
    return (json_t *)cur;
}

/* A sample's value: numbers, booleans and health words; 0 when the field is something else. */
static int value_of(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 1;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v) ? 1.0 : 0.0;
        return 1;
    }
    if (json_is_string(v)) {
        static const char *const words[] = {"ok", "degraded", "failing"};
        for (int i = 0; i < 3; i++)
            if (!strcmp(json_string_value(v), words[i])) {
                *out = i;
                return 1;
            }
    }
    return 0;
}

static void put_value(struct prom_text *t, const json_t *v, double x, double scale)
{
    if (json_is_integer(v) && scale == 0)
        prom_text_printf(t, " %" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
    else
        prom_text_printf(t, " %.10g\n", scale ? x * scale : x);
}

/* Label values may hold any text: escape backslash, quote and newline as the format requires. */
static void put_label_value(struct prom_text *t, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            prom_text_printf(t, "\\%c", *s);
        else if (*s == '\n')
            prom_text_printf(t, "\\n");
        else
            prom_text_printf(t, "%c", *s);
    }
}

static void header(struct prom_text *t, const char *name, const char *suffix, const char *type,
                   const char *help)
{
    prom_text_printf(t, "# HELP %s%s %s\n# TYPE %s%s %s\n", name, suffix, help, name, suffix, type);
}

static void render_family(const json_t *doc, const struct family *f, struct prom_text *t)
{
    const char *suffix = f->type == COUNTER ? "_total" : "";
    const char *type = f->type == COUNTER ? "counter" : "gauge";
    double x;
    int started = 0;
    if (f->kind == MODULE) {
        const json_t *v = lookup(doc, f->path);
        if (!value_of(v, &x)) return;
        header(t, f->name, suffix, type, f->help);
        prom_text_printf(t, "%s%s", f->name, suffix);
        put_value(t, v, x, f->scale);
    } else if (f->kind == PER_CELL) {
        const json_t *cells = json_object_get(doc, "cells"), *c;
        size_t i;
        json_array_foreach(cells, i, c)
        {
            const json_t *v = lookup(c, f->path), *id = json_object_get(c, "id");
            if (!json_is_integer(id) || !value_of(v, &x)) continue;
            if (!started++) header(t, f->name, suffix, type, f->help);
            prom_text_printf(t, "%s%s{cell=\"%" JSON_INTEGER_FORMAT "\"}", f->name, suffix,
                             json_integer_value(id));
            put_value(t, v, x, f->scale);
        }
    } else {
        const json_t *obj = lookup(doc, f->path), *v;
        const char *algo;
        json_object_foreach((json_t *)obj, algo, v)
        {
            if (!value_of(v, &x)) continue;
            if (!started++) header(t, f->name, suffix, type, f->help);
            prom_text_printf(t, "%s%s{algorithm=\"", f->name, suffix);
            put_label_value(t, algo);
            prom_text_printf(t, "\"}");
            put_value(t, v, x, f->scale);
        }
    }
}

/* The build, role and config as labels of a constant 1 (the Prometheus "info" idiom). */
static void render_info(const json_t *doc, struct prom_text *t)
{
    static const char *const keys[] = {"version", "role", "config_digest"};
    header(t, "lartrig_info", "", "gauge", "trigd build, role and config digest (always 1).");
    prom_text_printf(t, "lartrig_info{");
    for (int i = 0; i < 3; i++) {
        const char *v = json_string_value(json_object_get(doc, keys[i]));
        prom_text_printf(t, "%s%s=\"", i ? "," : "", keys[i]);
        put_label_value(t, v ? v : "");
        prom_text_printf(t, "\"");
    }
    prom_text_printf(t, "} 1\n");
    /* The state as a set of 0/1 series, so a dashboard can show and alert on "paused". */
    static const char *const states[] = {"running", "paused", "stopping"};
    const char *st = json_string_value(json_object_get(doc, "state"));
    header(t, "lartrig_state", "", "gauge", "trigd state: 1 for the current one.");
    for (int i = 0; i < 3; i++)
        prom_text_printf(t, "lartrig_state{state=\"%s\"} %d\n", states[i],
                         st && !strcmp(st, states[i]));
}

static void render_exporter(const struct prom_exporter_stats *ex, struct prom_text *t)
{
    header(t, "lartrig_up", "", "gauge",
           "1 while trigctl metrics receives status documents from trigd's monitor socket.");
    prom_text_printf(t, "lartrig_up %d\n", ex->up);
    header(t, "lartrig_exporter_documents", "_total", "counter",
           "Status documents received from the monitor socket.");
    prom_text_printf(t, "lartrig_exporter_documents_total %llu\n",
                     (unsigned long long)ex->documents);
    header(t, "lartrig_exporter_bad_documents", "_total", "counter",
           "Monitor messages that were not a JSON object: dropped.");
    prom_text_printf(t, "lartrig_exporter_bad_documents_total %llu\n",
                     (unsigned long long)ex->bad_documents);
    header(t, "lartrig_exporter_alarm_events", "_total", "counter",
           "Alarm events received from the monitor socket.");
    prom_text_printf(t, "lartrig_exporter_alarm_events_total %llu\n",
                     (unsigned long long)ex->alarm_events);
    header(t, "lartrig_exporter_scrapes", "_total", "counter", "Requests for /metrics served.");
    prom_text_printf(t, "lartrig_exporter_scrapes_total %llu\n", (unsigned long long)ex->scrapes);
    if (ex->document_age_s >= 0) {
        header(t, "lartrig_exporter_document_age_seconds", "", "gauge",
               "Seconds since the last status document arrived.");
        prom_text_printf(t, "lartrig_exporter_document_age_seconds %.3f\n", ex->document_age_s);
    }
}

/* aggregator.latency_ms {buckets [[le_ms, cumulative]...], count, sum_ms} as a histogram in
 * seconds. The percentiles of the document (over its recent window) are left to the dashboard's
 * histogram_quantile over the same buckets. */
static void render_latency(const json_t *doc, struct prom_text *t)
{
    const json_t *lat = lookup(doc, "aggregator.latency_ms");
    const json_t *buckets = json_object_get(lat, "buckets"), *count = json_object_get(lat, "count");
    if (!json_is_array(buckets) || !json_is_integer(count)) return;
    const char *name = "lartrig_decision_latency_seconds";
    header(t, name, "", "histogram",
           "Time from the watermark that allows a trigger decision to the decision.");
    size_t i;
    const json_t *b;
    json_array_foreach(buckets, i, b)
    {
        const json_t *le = json_array_get(b, 0), *n = json_array_get(b, 1);
        if (!json_is_number(le) || !json_is_integer(n)) continue;
        prom_text_printf(t, "%s_bucket{le=\"%.9g\"} %" JSON_INTEGER_FORMAT "\n", name,
                         json_number_value(le) * 1e-3, json_integer_value(n));
    }
    prom_text_printf(t, "%s_bucket{le=\"+Inf\"} %" JSON_INTEGER_FORMAT "\n", name,
                     json_integer_value(count));
    prom_text_printf(t, "%s_sum %.10g\n%s_count %" JSON_INTEGER_FORMAT "\n", name,
                     json_number_value(json_object_get(lat, "sum_ms")) * 1e-3, name,
                     json_integer_value(count));
}

/* The active alarms: a count, and each as a 1 with its name, severity and cell (an alarm that
 * clears leaves the exposition; Prometheus marks the series stale). */
static void render_alarms(const json_t *doc, struct prom_text *t)
{
    const json_t *alarms = json_object_get(doc, "alarms"), *a;
    if (!json_is_array(alarms)) return;
    header(t, "lartrig_alarms_active", "", "gauge",
           "Alarms active now (cell_missing, cell_clock_fault, writer_free_space_low, "
           "trigger_inhibit, watchdog_near_expiry).");
    prom_text_printf(t, "lartrig_alarms_active %zu\n", json_array_size(alarms));
    if (!json_array_size(alarms)) return;
    header(t, "lartrig_alarm", "", "gauge", "An active alarm, by name, severity and cell.");
    size_t i;
    json_array_foreach(alarms, i, a)
    {
        const char *name = json_string_value(json_object_get(a, "alarm"));
        const char *sev = json_string_value(json_object_get(a, "severity"));
        const json_t *cell = json_object_get(a, "cell");
        prom_text_printf(t, "lartrig_alarm{alarm=\"");
        put_label_value(t, name ? name : "");
        prom_text_printf(t, "\",severity=\"");
        put_label_value(t, sev ? sev : "");
        prom_text_printf(t, "\",cell=\"");
        if (json_is_integer(cell))
            prom_text_printf(t, "%" JSON_INTEGER_FORMAT, json_integer_value(cell));
        prom_text_printf(t, "\"} 1\n");
    }
}

void prom_render(const json_t *status, const struct prom_exporter_stats *ex, struct prom_text *t)
{
    render_exporter(ex, t);
    if (!ex->up || !json_is_object(status)) return;
    render_info(status, t);
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        render_family(status, &families[i], t);
    render_latency(status, t);
    render_alarms(status, t);
}
