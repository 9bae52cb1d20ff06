/* Config reload: see config_reload.h. The live keys are the trigger thresholds (read by the
 * algorithms on every candidate, swapped in by the module thread between two candidates) and the
 * log level. Windows, readout lengths, cells, endpoints and the writer shape buffers and sockets
 * made at start, so a change there is reported as ignored rather than half applied. */
#include "config_reload.h"

#include <stddef.h>
#include <string.h>

#include "log.h"

enum live_type { L_I32, L_U32, L_I64, L_DBL };

#define T(member) offsetof(struct trigd_trigger_config, member)
static const struct {
    const char *key;
    size_t off;
    enum live_type type;
} live_keys[] = {
    {"trigger.single.min_score", T(single.min_score), L_I32},
    {"trigger.single.min_adc_sum", T(single.min_adc_sum), L_U32},
    {"trigger.coincidence.min_cells", T(coincidence.min_cells), L_U32},
    {"trigger.coincidence.min_score", T(coincidence.min_score), L_I32},
    {"trigger.summed.threshold", T(summed.threshold), L_I64},
    {"trigger.random.rate_hz", T(random.rate_hz), L_DBL},
};
#undef T

static size_t live_size(enum live_type t)
{
    return t == L_I32 || t == L_U32 ? 4 : 8;
}

/* Sections compared as a whole; a difference is reported by section name. */
#define S(member) offsetof(struct trigd_config, member), sizeof(((struct trigd_config *)0)->member)
static const struct {
    const char *name;
    size_t off, size;
} sections[] = {
    {"run_number", S(run_number)},
    {"duration_s", S(duration_s)},
    {"stop_deadline_ms", S(stop_deadline_ms)},
    {"role", S(role)},
    {"cells", S(n_cells)},
    {"cells", S(cells)},
    {"sim", S(sim)},
    {"kernel", S(kernel)},
    {"endpoints", S(endpoints)},
    {"trigger", S(trigger)}, /* the live copy, its live keys equalised: the rest of trigger */
    {"readout", S(readout)},
    {"buffers", S(buffers)},
    {"writer", S(writer)},
    {"monitor", S(monitor)},
};
#undef S

static void add_unique(json_t *arr, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v), name)) return;
    json_array_append_new(arr, json_string(name));
}

void trigd_live_config_init(struct trigd_live_config *live, const struct trigd_config *started)
{
    live->trigger = started->trigger;
    memcpy(live->log_level, started->log_level, sizeof live->log_level);
}

int trigd_config_reload_diff(const struct trigd_config *started, struct trigd_live_config *live,
                             const struct trigd_config *fresh, json_t *applied, json_t *ignored)
{
    int n = 0;
    for (size_t i = 0; i < sizeof live_keys / sizeof live_keys[0]; i++) {
        char *dst = (char *)&live->trigger + live_keys[i].off;
        const char *src = (const char *)&fresh->trigger + live_keys[i].off;
        size_t sz = live_size(live_keys[i].type);
        if (memcmp(dst, src, sz) == 0) continue;
        if (live_keys[i].type == L_DBL && *(const double *)src <= 0) {
            add_unique(ignored, live_keys[i].key); /* the random trigger needs a rate > 0 */
            continue;
        }
        memcpy(dst, src, sz);
        json_array_append_new(applied, json_string(live_keys[i].key));
        n++;
    }
    if (strcmp(live->log_level, fresh->log_level) != 0) {
        memcpy(live->log_level, fresh->log_level, sizeof live->log_level);
        json_array_append_new(applied, json_string("log_level"));
        n++;
    }
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        const char *a = sections[i].off == offsetof(struct trigd_config, trigger)
                            ? (const char *)&live->trigger
                            : (const char *)started + sections[i].off;
        const char *b = (const char *)fresh + sections[i].off;
        if (memcmp(a, b, sections[i].size) != 0) add_unique(ignored, sections[i].name);
    }
    return n;
}

void trigd_apply_log_level(const char *lvl)
{
    lt_log_set_level(!strcmp(lvl, "error")     ? LT_LOG_ERR
                     : !strcmp(lvl, "warning") ? LT_LOG_WARNING
                     : !strcmp(lvl, "notice")  ? LT_LOG_NOTICE
                     : !strcmp(lvl, "debug")   ? LT_LOG_DEBUG
                                               : LT_LOG_INFO);
}
