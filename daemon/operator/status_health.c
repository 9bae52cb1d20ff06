/* Health words: see status_health.h. Runs once per status document (about once a second), so it
 * keeps its state in jansson objects keyed by "<owner>.<counter>" rather than fixed arrays. */
#include "status_health.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OK, DEGRADED, FAILING };

struct trigd_health {
    json_t *prev;  /* "<owner>.<counter>" -> value in the previous document */
    json_t *rose;  /* same keys -> [first rise, last rise, how much] within TRIGD_HEALTH_HOLD_S */
    json_t *moved; /* "cell<id>" -> [frames, monotonic s when they last changed] */
};

static const char *const words[] = {"ok", "degraded", "failing"};

int trigd_health_level(const char *word)
{
    for (int i = 0; word && i < 3; i++)
        if (!strcmp(word, words[i])) return i;
    return -1;
}

const char *trigd_health_word(int level)
{
    return level >= 0 && level < 3 ? words[level] : NULL;
}

struct trigd_health *trigd_health_new(void)
{
    struct trigd_health *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->prev = json_object();
    h->rose = json_object();
    h->moved = json_object();
    if (!h->prev || !h->rose || !h->moved) {
        trigd_health_free(h);
        return NULL;
    }
    return h;
}

void trigd_health_free(struct trigd_health *h)
{
    if (!h) return;
    json_decref(h->prev);
    json_decref(h->rose);
    json_decref(h->moved);
    free(h);
}

/* A verdict being built: the worst level and the reasons for it. */
struct verdict {
    int level;
    json_t *reasons;
};

static void add_reason(struct verdict *v, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_reason(struct verdict *v, int level, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (level > v->level) v->level = level;
    json_array_append_new(v->reasons, json_string(text));
}

/* "messages_dropped" -> "messages dropped". */
static void words_of(const char *key, char *out, size_t len)
{
    snprintf(out, len, "%s", key);
    for (char *p = out; *p; p++)
        if (*p == '_') *p = ' ';
}

/* Every counter of a "losses" object that rose within the hold time makes the owner degraded
 * (failing for `failing_key`, when given). */
static void check_losses(struct trigd_health *h, const char *owner, json_t *losses, double now,
                         const char *failing_key, struct verdict *v)
{
    const char *key;
    json_t *val;
    json_object_foreach(losses, key, val)
    {
        if (!json_is_integer(val)) continue;
        char k[128];
        snprintf(k, sizeof k, "%s.%s", owner, key);
        json_int_t now_v = json_integer_value(val);
        json_t *prev = json_object_get(h->prev, k), *r = json_object_get(h->rose, k);
        if (prev && now_v > json_integer_value(prev)) {
            json_int_t d = now_v - json_integer_value(prev);
            if (r && now - json_real_value(json_array_get(r, 1)) <= TRIGD_HEALTH_HOLD_S)
                json_object_set_new(h->rose, k,
                                    json_pack("[f, f, I]", json_real_value(json_array_get(r, 0)),
                                              now, json_integer_value(json_array_get(r, 2)) + d));
            else
                json_object_set_new(h->rose, k, json_pack("[f, f, I]", now, now, d));
            r = json_object_get(h->rose, k);
        }
        json_object_set_new(h->prev, k, json_integer(now_v));
        if (r && now - json_real_value(json_array_get(r, 1)) <= TRIGD_HEALTH_HOLD_S) {
            char w[96];
            words_of(key, w, sizeof w);
            add_reason(v, failing_key && !strcmp(key, failing_key) ? FAILING : DEGRADED,
                       "%s: %" JSON_INTEGER_FORMAT " in the last %.0f s", w,
                       json_integer_value(json_array_get(r, 2)), TRIGD_HEALTH_HOLD_S);
        }
    }
}

/* Is cell `id` in the integer array at `arr`? */
static int in_array(json_t *arr, json_int_t id)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) if (json_is_integer(x) && json_integer_value(x) == id) return 1;
    return 0;
}

/* The cells with a clock fault now: the data plane reports them as aggregator.data_plane
 * .clock_fault_cells (role all/module), or a cell as its own "clock_fault" (true). */
static int clock_fault(json_t *doc, json_t *cell, json_int_t id)
{
    if (json_is_true(json_object_get(cell, "clock_fault"))) return 1;
    json_t *dp = json_object_get(json_object_get(doc, "aggregator"), "data_plane");
    return in_array(json_object_get(dp, "clock_fault_cells"), id);
}

static json_t *verdict_json(struct verdict *v, int with_list)
{
    size_t i, len = 0;
    json_t *r;
    char text[1024] = "";
    json_array_foreach(v->reasons, i, r)
    {
        int n =
            snprintf(text + len, sizeof text - len, "%s%s", i ? "; " : "", json_string_value(r));
        if (n < 0 || (size_t)n >= sizeof text - len) break;
        len += (size_t)n;
    }
    json_t *o = json_pack("{s:s, s:s}", "state", words[v->level], "reason", text);
    if (with_list) json_object_set(o, "reasons", v->reasons);
    return o;
}

static void cell_health(struct trigd_health *h, json_t *doc, json_t *cell, double now, int running,
                        struct verdict *module)
{
    json_int_t id = json_integer_value(json_object_get(cell, "id"));
    struct verdict v = {OK, json_array()};
    char owner[32];
    snprintf(owner, sizeof owner, "cell%" JSON_INTEGER_FORMAT, id);
    if (json_is_true(json_object_get(cell, "missing")))
        add_reason(&v, FAILING, "missing: the aggregator decides without it");
    if (clock_fault(doc, cell, id))
        add_reason(&v, FAILING, "clock fault: its candidates are refused");
    /* A source that stopped delivering (a dead link, an ended file about to stop the daemon). */
    json_int_t frames = json_integer_value(json_object_get(cell, "frames"));
    json_t *mv = json_object_get(h->moved, owner);
    if (!mv || json_integer_value(json_array_get(mv, 0)) != frames) {
        json_object_set_new(h->moved, owner, json_pack("[I, f]", frames, now));
    } else if (running && now - json_real_value(json_array_get(mv, 1)) > TRIGD_HEALTH_STALL_S) {
        add_reason(&v, FAILING, "no data for %.0f s", now - json_real_value(json_array_get(mv, 1)));
    }
    check_losses(h, owner, json_object_get(cell, "losses"), now, NULL, &v);
    json_object_set_new(cell, "health", verdict_json(&v, 0));
    if (v.level != OK)
        add_reason(module, DEGRADED, "cell %" JSON_INTEGER_FORMAT " %s: %s", id, words[v.level],
                   json_string_value(json_array_get(v.reasons, 0)));
    json_decref(v.reasons);
}

void trigd_health_apply(struct trigd_health *h, json_t *doc, double now_s)
{
    struct verdict v = {OK, json_array()};
    const char *state = json_string_value(json_object_get(doc, "state"));
    int running = state && strcmp(state, "stopping") != 0;
    json_t *cells = json_object_get(doc, "cells"), *c;
    size_t i;
    json_array_foreach(cells, i, c) cell_health(h, doc, c, now_s, running, &v);

    json_t *agg = json_object_get(doc, "aggregator");
    if (json_is_object(agg)) {
        /* Cells of other processes (role module) show only as missing here. */
        json_t *missing = json_object_get(agg, "missing_cells"), *id;
        json_array_foreach(missing, i, id)
        {
            int listed = 0;
            size_t j;
            json_array_foreach(cells, j, c) listed |=
                json_integer_value(json_object_get(c, "id")) == json_integer_value(id);
            if (!listed)
                add_reason(&v, DEGRADED, "cell %" JSON_INTEGER_FORMAT " missing",
                           json_integer_value(id));
        }
        check_losses(h, "module", json_object_get(agg, "losses"), now_s, "records_failed", &v);
    }
    json_t *w = json_object_get(doc, "writer");
    if (json_is_true(json_object_get(w, "inhibit")))
        add_reason(&v, FAILING, "writer inhibits triggers (queue full or disk space)");
    json_object_set_new(doc, "health", verdict_json(&v, 1));
    json_decref(v.reasons);
}
