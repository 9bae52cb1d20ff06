/* Alarms: see status_alarms.h. */
#include "status_alarms.h"

#include <stdio.h>
#include <stdlib.h>

struct trigd_alarms {
    int seen;                 /* a previous document was seen */
    json_int_t inhibited;     /* aggregator.inhibited in the previous document */
    double inhibited_rose_at; /* monotonic s of the last rise */
};

struct trigd_alarms *trigd_alarms_new(void)
{
    return calloc(1, sizeof(struct trigd_alarms));
}

void trigd_alarms_free(struct trigd_alarms *a)
{
    free(a);
}

void trigd_alarm_add(json_t *doc, const char *alarm, const char *severity, long long cell,
                     const char *message)
{
    json_t *list = json_object_get(doc, "alarms");
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(doc, "alarms", list);
    }
    json_t *a =
        json_pack("{s:s, s:s, s:s}", "alarm", alarm, "severity", severity, "message", message);
    if (a && cell >= 0) json_object_set_new(a, "cell", json_integer(cell));
    json_array_append_new(list, a);
}

static void cell_alarms(json_t *doc)
{
    json_t *agg = json_object_get(doc, "aggregator"), *id;
    json_t *missing = json_object_get(agg, "missing_cells");
    char msg[160];
    size_t i;
    json_array_foreach(missing, i, id)
    {
        snprintf(msg, sizeof msg,
                 "cell %" JSON_INTEGER_FORMAT " missing: no message within the cell timeout; "
                 "triggers are decided without it and its fragments are not found",
                 json_integer_value(id));
        trigd_alarm_add(doc, "cell_missing", "critical", json_integer_value(id), msg);
    }
    /* Clock faults: the data plane's list (module side) and each cell's own flag. */
    json_t *faulty = json_object_get(json_object_get(agg, "data_plane"), "clock_fault_cells");
    json_t *seen = json_array();
    json_array_foreach(faulty, i, id) json_array_append(seen, id);
    json_t *c;
    json_array_foreach(json_object_get(doc, "cells"), i,
                       c) if (json_is_true(json_object_get(c, "clock_fault")))
        json_array_append(seen, json_object_get(c, "id"));
    json_array_foreach(seen, i, id)
    {
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            dup |= json_integer_value(json_array_get(seen, j)) == json_integer_value(id);
        if (dup || !json_is_integer(id)) continue;
        snprintf(msg, sizeof msg,
                 "cell %" JSON_INTEGER_FORMAT " clock fault: its time is beyond the allowed "
                 "lead; its candidates are refused",
                 json_integer_value(id));
        trigd_alarm_add(doc, "cell_clock_fault", "critical", json_integer_value(id), msg);
    }
    json_decref(seen);
}

void trigd_alarms_apply(struct trigd_alarms *a, json_t *doc, double now_s,
                        double free_space_alarm_bytes)
{
    json_object_set_new(doc, "alarms", json_array());
    cell_alarms(doc);
    char msg[160];
    json_t *w = json_object_get(doc, "writer");
    json_t *free_b = json_object_get(w, "free_bytes");
    if (free_space_alarm_bytes > 0 && json_is_integer(free_b) &&
        (double)json_integer_value(free_b) < free_space_alarm_bytes) {
        snprintf(msg, sizeof msg, "writer free space %.1f GB is below the alarm threshold %.1f GB",
                 json_integer_value(free_b) / 1e9, free_space_alarm_bytes / 1e9);
        trigd_alarm_add(doc, "writer_free_space_low", "warning", -1, msg);
    }
    json_t *inh = json_object_get(json_object_get(doc, "aggregator"), "inhibited");
    if (json_is_integer(inh)) {
        if (a->seen && json_integer_value(inh) > a->inhibited) a->inhibited_rose_at = now_s;
        a->inhibited = json_integer_value(inh);
        a->seen = 1;
    }
    int writer_inhibits = json_is_true(json_object_get(w, "inhibit"));
    int recent =
        a->inhibited_rose_at > 0 && now_s - a->inhibited_rose_at <= TRIGD_ALARM_INHIBIT_HOLD_S;
    if (writer_inhibits || recent) {
        snprintf(msg, sizeof msg, "triggers inhibited%s%s",
                 writer_inhibits ? ": the writer inhibits (queue full or disk space)" : "",
                 recent ? " (some in the last 10 s)" : "");
        trigd_alarm_add(doc, "trigger_inhibit", "critical", -1, msg);
    }
}
