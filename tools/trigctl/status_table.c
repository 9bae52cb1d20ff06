#include "status_table.h"

#include <stdlib.h>
#include <string.h>

static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "?";
}

/* A percentile in ms, or "-" when the window holds no sample (null). */
static const char *ms_or_dash(json_t *v, char *buf, size_t len)
{
    if (!json_is_number(v)) return "-";
    snprintf(buf, len, "%.3f ms", json_number_value(v));
    return buf;
}

static double sum_of(json_t *obj)
{
    double n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) n += json_is_number(v) ? json_number_value(v) : 0;
    return n;
}

/* "messages dropped 3, fragments not found 2" for the non-zero counters; "none" when all are 0. */
static void print_losses(FILE *out, json_t *losses)
{
    const char *k;
    json_t *v;
    int any = 0;
    json_object_foreach(losses, k, v)
    {
        if (!json_is_number(v) || json_number_value(v) == 0) continue;
        fprintf(out, "%s", any++ ? ", " : "");
        for (const char *p = k; *p; p++) fputc(*p == '_' ? ' ' : *p, out);
        fprintf(out, " %.0f", json_number_value(v));
    }
    fprintf(out, "%s\n", any ? "" : "none");
}

static void print_health(FILE *out, const char *prefix, json_t *health)
{
    const char *state = json_string_value(json_object_get(health, "state"));
    const char *reason = json_string_value(json_object_get(health, "reason"));
    if (!state) return;
    fprintf(out, "%s%s%s%s\n", prefix, state, reason && reason[0] ? ": " : "",
            reason ? reason : "");
}

static void print_cells(FILE *out, json_t *cells)
{
    fprintf(out, "\n%6s %10s %9s %8s %10s %8s  %s\n", "cell", "frames/s", "lag ms", "ring ms",
            "cands/s", "lost", "health");
    size_t i;
    json_t *c;
    json_array_foreach(cells, i, c)
    {
        json_t *losses = json_object_get(c, "losses"), *ring = json_object_get(c, "ring");
        double lost = sum_of(losses);
        if (!losses) /* an older daemon: its drops held the normal ring overwrite too */
            lost = sum_of(json_object_get(c, "drops")) -
                   num(json_object_get(c, "drops"), "ring_overwritten");
        json_t *h = json_object_get(c, "health");
        const char *word = json_string_value(json_object_get(h, "state"));
        if (!word) word = json_is_true(json_object_get(c, "missing")) ? "MISSING" : "?";
        const char *reason = json_string_value(json_object_get(h, "reason"));
        fprintf(out, "%6.0f %10.0f %9.1f %8.1f %10.1f %8.0f  %s%s%s\n", num(c, "id"),
                num(c, "frames_per_s"), num(c, "lag_ms"), num(ring, "depth_ms"),
                num(c, "candidates_per_s"), lost, word, reason && reason[0] ? ": " : "",
                reason ? reason : "");
    }
    fprintf(out, "  (ring ms: data time each latency ring holds; a full ring overwriting its "
                 "oldest frames is normal)\n");
    json_array_foreach(cells, i, c)
    {
        json_t *losses = json_object_get(c, "losses");
        if (sum_of(losses) == 0) continue;
        fprintf(out, "  cell %.0f losses: ", num(c, "id"));
        print_losses(out, losses);
    }
}

static void print_aggregator(FILE *out, json_t *agg)
{
    json_t *lat = json_object_get(agg, "latency_ms");
    char p50[32], p99[32];
    fprintf(out, "\naggregator: decisions %.0f  triggers/s %.2f  latency p50 %s  p99 %s",
            num(agg, "decisions"), num(agg, "triggers_per_s"),
            ms_or_dash(json_object_get(lat, "p50"), p50, sizeof p50),
            ms_or_dash(json_object_get(lat, "p99"), p99, sizeof p99));
    if (json_object_get(lat, "window_s"))
        fprintf(out, " (last %.0f s, %.0f decisions)", num(lat, "window_s"), num(lat, "samples"));
    fprintf(out, "\n  triggers:");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(agg, "triggers"), k, v)
        fprintf(out, " %s=%.0f", k, json_number_value(v));
    fprintf(out, "\n");
    json_t *losses = json_object_get(agg, "losses");
    if (losses) {
        fprintf(out, "  losses: ");
        print_losses(out, losses);
    }
    if (num(agg, "paused_dropped") > 0)
        fprintf(out, "  paused: %.0f decisions not issued (operator pause)\n",
                num(agg, "paused_dropped"));
    json_t *missing = json_object_get(agg, "missing_cells");
    if (json_is_array(missing) && json_array_size(missing) > 0) {
        char *m = json_dumps(missing, JSON_COMPACT);
        fprintf(out, "  MISSING cells: %s\n", m);
        free(m);
    }
    /* The data plane's refusals (docs/security.md): a clock fault is a cell's problem to look
     * at even while its data still flows. */
    json_t *dp = json_object_get(agg, "data_plane");
    json_t *faulty = json_object_get(dp, "clock_fault_cells");
    if (json_is_array(faulty) && json_array_size(faulty) > 0) {
        char *m = json_dumps(faulty, JSON_COMPACT);
        fprintf(out, "  CLOCK FAULT cells: %s\n", m);
        free(m);
    }
    if (json_is_object(dp))
        fprintf(out,
                "  refused: %.0f forged, %.0f clock, %.0f sequence, %.0f out of order, %.0f bad "
                "replies, %.0f peers\n",
                num(dp, "forged"), num(dp, "clock_faults"), num(dp, "sequence_refused"),
                num(dp, "out_of_order"), num(dp, "bad_replies"), num(dp, "peers_refused"));
}

static void print_writer(FILE *out, json_t *w)
{
    fprintf(out,
            "\nwriter: %s  queue %.0f  records %.0f  %.1f MB  %.1f MB/s  files %.0f  free %.1f "
            "GB  errors %.0f%s\n",
            str(w, "io_mode"), num(w, "queue"), num(w, "records"), num(w, "bytes") / 1e6,
            num(w, "mb_per_s"), num(w, "files"), num(w, "free_bytes") / 1e9, num(w, "errors"),
            json_is_true(json_object_get(w, "inhibit")) ? "  INHIBIT" : "");
}

void status_table_print(FILE *out, json_t *st)
{
    fprintf(out, "trigd %s  run %.0f  role %s  state %s  uptime %.0f s\n", str(st, "version"),
            num(st, "run_number"), str(st, "role"), str(st, "state"), num(st, "uptime_s"));
    print_health(out, "health: ", json_object_get(st, "health"));
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(st, "alarms"), i, a)
        fprintf(out, "ALARM %s %s: %s\n", str(a, "severity"), str(a, "alarm"), str(a, "message"));
    json_t *cells = json_object_get(st, "cells");
    if (json_is_array(cells) && json_array_size(cells) > 0) print_cells(out, cells);
    json_t *agg = json_object_get(st, "aggregator");
    if (json_is_object(agg)) print_aggregator(out, agg);
    const char *sec = json_string_value(json_object_get(st, "data_security"));
    if (sec && !strcmp(sec, "insecure"))
        fprintf(out,
                "\nINSECURE: the data sockets are plain tcp without keys (docs/security.md)\n");
    json_t *w = json_object_get(st, "writer");
    if (json_is_object(w)) print_writer(out, w);
}
