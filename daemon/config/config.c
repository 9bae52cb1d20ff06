/* trigd configuration parser. One table (keys[]) lists every scalar key with its type, range and
 * where it lands in struct trigd_config; the parser walks the file and rejects anything the table
 * does not know, then applies each key present. docs/config.md mirrors this table. */
#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_error.h"
#include "ticks.h"

enum key_kind {
    K_U32,
    K_U64,
    K_I32,
    K_I64,
    K_DOUBLE,
    K_BOOL,
    K_STR, /* size = buffer size */
    K_US,  /* float microseconds -> uint64 ticks */
    K_MS,  /* float milliseconds -> uint64 ticks */
    K_MB,  /* float MiB -> uint64 bytes */
    K_ROLE,
    K_CHOICE, /* string restricted to choices, stored as K_STR */
    K_INDEX,  /* string restricted to choices, stored as its uint32 index in them */
    K_SOURCE, /* "sim" | "file" | "udp", stored as enum trigd_source_kind */
};

struct key_desc {
    const char *path;
    enum key_kind kind;
    size_t off;
    size_t size;         /* K_STR/K_CHOICE: buffer size */
    double min, max;     /* numeric range (inclusive), in the units written in the file */
    const char *choices; /* K_CHOICE: "a|b|c" */
    /* The default, written as in the file (units of the key, strings unquoted); NULL = none
     * (the list keys whose default depends on the element, documented in docs/config.md). */
    const char *def;
};

#define F(member) offsetof(struct trigd_config, member), sizeof(((struct trigd_config *)0)->member)

static const struct key_desc keys[] = {
    {"run_number", K_U32, F(run_number), 0, 4294967295.0, NULL, "1"},
    {"duration_s", K_DOUBLE, F(duration_s), 0, 1e9, NULL, "0"},
    {"role", K_ROLE, F(role), 0, 0, NULL, "all"},
    {"log_level", K_CHOICE, F(log_level), 0, 0, "error|warning|notice|info|debug", "info"},
    {"stop_deadline_ms", K_U32, F(stop_deadline_ms), 100, 600000, NULL, "1500"},

    {"sim.seed", K_U64, F(sim.seed), 0, 9.2e18, NULL, "1"},
    {"sim.realtime_factor", K_DOUBLE, F(sim.realtime_factor), 0, 1000, NULL, "0.02"},
    {"sim.noise_rms", K_DOUBLE, F(sim.noise_rms), 0, 1000, NULL, "3.0"},
    {"sim.ar39_rate_hz", K_DOUBLE, F(sim.ar39_rate_hz), 0, 1e7, NULL, "10000.0"},
    {"sim.radiological_scale", K_DOUBLE, F(sim.radiological_scale), 0, 100, NULL, "1.0"},
    {"sim.low_energy_rate_hz", K_DOUBLE, F(sim.low_energy_rate_hz), 0, 1e6, NULL, "0.0"},
    {"sim.high_energy_rate_hz", K_DOUBLE, F(sim.high_energy_rate_hz), 0, 1e6, NULL, "1.0"},
    {"sim.start_s", K_DOUBLE, F(sim.start_s), 0, 1e9, NULL, "1.0"},
    {"sim.epoch_unix_s", K_DOUBLE, F(sim.epoch_unix_s), 0, 1e11, NULL, "0.0"},

    {"kernel.backend", K_CHOICE, F(kernel.backend), 0, 0, "cpu|xrt", "cpu"},
    {"kernel.threads", K_U32, F(kernel.threads), 0, 256, NULL, "1"},
    {"kernel.weights", K_STR, F(kernel.weights), 0, 0, NULL, ""},
    {"kernel.block_periods", K_U32, F(kernel.block_periods), 1, 4096, NULL, "4"},
    {"kernel.max_candidates", K_U32, F(kernel.max_candidates), 1, 1 << 20, NULL, "1024"},
    {"kernel.threshold", K_I32, F(kernel.threshold), -32768, 32767, NULL, "0"},
    {"kernel.gap_w", K_U32, F(kernel.gap_w), 0, 64, NULL, "3"},
    {"kernel.gap_t", K_U32, F(kernel.gap_t), 0, 64, NULL, "3"},
    {"kernel.xclbin", K_STR, F(kernel.xclbin), 0, 0, NULL, ""},
    {"kernel.device_index", K_U32, F(kernel.device_index), 0, 64, NULL, "0"},
    {"kernel.kernel_name", K_STR, F(kernel.kernel_name), 0, 0, NULL, ""},
    {"kernel.compute_units", K_U32, F(kernel.compute_units), 0, 64, NULL, "0"},
    {"kernel.cells_per_unit", K_U32, F(kernel.cells_per_unit), 0, 1024, NULL, "0"},
    {"kernel.algorithm", K_INDEX, F(kernel.algorithm), 0, 0, "cnn|tp", "tp"},
    {"kernel.tp.downsample", K_U32, F(kernel.tp.downsample), 0, 5, NULL, "2"},
    {"kernel.tp.threshold_adc", K_DOUBLE, F(kernel.tp.threshold_adc), 0.25, 8191, NULL, "12.0"},
    {"kernel.tp.adj_wires", K_U32, F(kernel.tp.adj_wires), 0, 64, NULL, "3"},
    {"kernel.tp.adj_time_us", K_US, F(kernel.tp.adj_ticks), 0, 2000, NULL, "5.0"},
    {"kernel.tp.min_hits", K_U32, F(kernel.tp.min_hits), 1, 61440, NULL, "1"},
    {"kernel.tp.min_score", K_I32, F(kernel.tp.min_score), 0, 32767, NULL, "50"},
    {"kernel.tp.score_unit", K_U32, F(kernel.tp.score_unit), 1, 1000000, NULL, "10"},
    {"kernel.tp.settle_us", K_US, F(kernel.tp.settle_ticks), 0, 100000, NULL, "500.0"},
    {"kernel.tp.group_wires", K_U32, F(kernel.tp.group_wires), 0, 960, NULL, "0"},
    {"kernel.tp.group_time_us", K_US, F(kernel.tp.group_ticks), 0, 2000, NULL, "0.0"},
    {"kernel.tp.group_min_piece", K_I32, F(kernel.tp.group_min_piece), 0, 32767, NULL, "0"},

    {"endpoints.candidates", K_STR, F(endpoints.candidates), 0, 0, NULL,
     "inproc://lartrig-candidates"},
    {"endpoints.candidates_bind", K_STR, F(endpoints.candidates_bind), 0, 0, NULL, ""},
    {"endpoints.requests", K_STR, F(endpoints.requests), 0, 0, NULL, "inproc://lartrig-requests"},
    {"endpoints.requests_bind", K_STR, F(endpoints.requests_bind), 0, 0, NULL, ""},
    {"endpoints.send_hwm", K_U32, F(endpoints.send_hwm), 1, 1 << 24, NULL, "10000"},
    {"endpoints.curve_module_secret_key_file", K_STR, F(endpoints.curve_module_secret_key_file), 0,
     0, NULL, ""},
    {"endpoints.curve_module_public_key_file", K_STR, F(endpoints.curve_module_public_key_file), 0,
     0, NULL, ""},
    {"endpoints.curve_cell_secret_key_files", K_STR, F(endpoints.curve_cell_secret_key_files), 0, 0,
     NULL, ""},
    {"endpoints.curve_cell_keys_file", K_STR, F(endpoints.curve_cell_keys_file), 0, 0, NULL, ""},
    {"endpoints.insecure", K_BOOL, F(endpoints.insecure), 0, 0, NULL, "false"},
    {"endpoints.max_peers", K_U32, F(endpoints.max_peers), 0, 1000000, NULL, "0"},

    /* A candidate is sent when the kernel closes it; a track along the drift direction spans up
     * to the full drift time, so its start can lie 2.25 ms before the watermark that comes with
     * it. */
    {"trigger.watermark_slack_us", K_US, F(trigger.watermark_slack_ticks), 0, 1e7, NULL, "2500.0"},
    {"trigger.cell_timeout_ms", K_U32, F(trigger.cell_timeout_ms), 1, 3600000, NULL, "2000"},
    {"trigger.max_candidates_per_decision", K_U32, F(trigger.max_candidates_per_decision), 1,
     LT_TC_MAX_CANDIDATES, NULL, "256"},
    /* A few seconds of data: far more than cells ever drift apart (they read one detector clock),
     * far less than a glitched or forged timestamp moves time. */
    {"trigger.max_time_lead_ms", K_MS, F(trigger.max_time_lead_ticks), 1, 3.6e6, NULL, "5000.0"},
    /* A cell sends a message per kernel block (~0.5 ms of data): a million is minutes of lost
     * messages; a larger jump is a forged or corrupt number. */
    {"trigger.max_sequence_gap", K_U64, F(trigger.max_sequence_gap), 1, 1e15, NULL, "1000000"},
    {"trigger.wait_when_busy", K_BOOL, F(trigger.wait_when_busy), 0, 0, NULL, "false"},
    {"trigger.coincidence.enabled", K_BOOL, F(trigger.coincidence.enabled), 0, 0, NULL, "true"},
    {"trigger.coincidence.min_cells", K_U32, F(trigger.coincidence.min_cells), 1, TRIGD_MAX_CELLS,
     NULL, "2"},
    {"trigger.coincidence.window_us", K_US, F(trigger.coincidence.window_ticks), 0.016, 1e7, NULL,
     "100.0"},
    {"trigger.coincidence.min_score", K_I32, F(trigger.coincidence.min_score), -32768, 32767, NULL,
     "275"},
    {"trigger.summed.enabled", K_BOOL, F(trigger.summed.enabled), 0, 0, NULL, "false"},
    {"trigger.summed.window_us", K_US, F(trigger.summed.window_ticks), 0.016, 1e7, NULL, "500.0"},
    {"trigger.summed.threshold", K_I64, F(trigger.summed.threshold), 1, 9.2e18, NULL, "100000"},
    {"trigger.single.enabled", K_BOOL, F(trigger.single.enabled), 0, 0, NULL, "true"},
    {"trigger.single.min_score", K_I32, F(trigger.single.min_score), -32768, 32767, NULL, "275"},
    {"trigger.single.min_adc_sum", K_U32, F(trigger.single.min_adc_sum), 0, 4294967295.0, NULL,
     "0"},
    {"trigger.periodic.enabled", K_BOOL, F(trigger.periodic.enabled), 0, 0, NULL, "false"},
    {"trigger.periodic.period_ms", K_MS, F(trigger.periodic.period_ticks), 0.001, 1e9, NULL,
     "1000.0"},
    {"trigger.random.enabled", K_BOOL, F(trigger.random.enabled), 0, 0, NULL, "false"},
    {"trigger.random.rate_hz", K_DOUBLE, F(trigger.random.rate_hz), 1e-6, 1e5, NULL, "1.0"},
    {"trigger.random.seed", K_U64, F(trigger.random.seed), 0, 9.2e18, NULL, "1"},

    {"readout.pre_us", K_US, F(readout.pre_ticks), 0, 1e6, NULL, "250.0"},
    /* pre + post = 2.25 ms, the full drift time (LT_DRIFT_WINDOW_TICKS). */
    {"readout.post_us", K_US, F(readout.post_ticks), 0, 1e6, NULL, "2000.0"},
    {"readout.data_wait_ms", K_U32, F(readout.data_wait_ms), 0, 600000, NULL, "1000"},
    {"readout.reply_timeout_ms", K_U32, F(readout.reply_timeout_ms), 1, 600000, NULL, "3000"},

    {"buffers.latency_ms", K_U32, F(buffers.latency_ms), 10, 600000, NULL, "200"},
    {"buffers.mlock", K_BOOL, F(buffers.mlock), 0, 0, NULL, "true"},
    {"buffers.candidate_queue", K_U32, F(buffers.candidate_queue), 16, 1 << 24, NULL, "65536"},
    {"buffers.decision_queue", K_U32, F(buffers.decision_queue), 1, 65536, NULL, "64"},
    {"buffers.file_read_ahead_mb", K_MB, F(buffers.file_read_ahead_bytes), 1, 65536, NULL, "64.0"},

    {"writer.backend", K_CHOICE, F(writer.backend), 0, 0, "uring|pwritev", "uring"},
    {"writer.output_dir", K_STR, F(writer.output_dir), 0, 0, NULL, "."},
    {"writer.name", K_STR, F(writer.name), 0, 0, NULL, "trigd"},
    {"writer.environment", K_STR, F(writer.environment), 0, 0, NULL, "lartrig"},
    {"writer.max_file_size_mb", K_MB, F(writer.max_file_size_bytes), 1, 1e7, NULL, "4096.0"},
    {"writer.max_records_per_file", K_U32, F(writer.max_records_per_file), 1, 1000000, NULL, "100"},
    {"writer.free_space_factor", K_DOUBLE, F(writer.free_space_factor), 1, 100, NULL, "2.0"},
    {"writer.queue_depth", K_U32, F(writer.queue_depth), 1, 4096, NULL, "8"},
    {"writer.sync_each_record", K_BOOL, F(writer.sync_each_record), 0, 0, NULL, "true"},

    {"monitor.status_endpoint", K_STR, F(monitor.status_endpoint), 0, 0, NULL, ""},
    {"monitor.control_endpoint", K_STR, F(monitor.control_endpoint), 0, 0, NULL, ""},
    {"monitor.status_interval_s", K_DOUBLE, F(monitor.status_interval_s), 0, 86400, NULL, "10.0"},
    {"monitor.free_space_alarm_gb", K_DOUBLE, F(monitor.free_space_alarm_gb), 0, 1e9, NULL, "10.0"},
    {"monitor.curve_secret_key_file", K_STR, F(monitor.curve_secret_key_file), 0, 0, NULL, ""},
    {"monitor.curve_allowed_keys_file", K_STR, F(monitor.curve_allowed_keys_file), 0, 0, NULL, ""},
};

#define C(member)                                                                                  \
    offsetof(struct trigd_cell_config, member), sizeof(((struct trigd_cell_config *)0)->member)

/* Keys of one element of the `cells` list. */
static const struct key_desc cell_keys[] = {
    {"id", K_U32, C(id), 0, TRIGD_MAX_CELLS - 1, NULL, NULL}, /* default: position in the list */
    {"source", K_SOURCE, C(source), 0, 0, "sim|file|udp", "sim"},
    {"n_fembs", K_U32, C(n_fembs), 1, LT_FEMBS_PER_CELL, NULL, "1"},
    {"file", K_STR, C(file), 0, 0, NULL, ""},
    {"udp_bind", K_STR, C(udp_bind), 0, 0, NULL, "127.0.0.1"},
    {"udp_port", K_U32, C(udp_port), 1, 65535, NULL, NULL}, /* required with source "udp" */
};

#define I(member) offsetof(struct trigd_inject, member), sizeof(((struct trigd_inject *)0)->member)

/* Keys of one element of `sim.inject`. kind and topology: enum lt_truth_kind and enum
 * lt_sim_topology, in their order. */
static const struct key_desc inject_keys[] = {
    {"cell", K_U32, I(cell), 0, TRIGD_MAX_CELLS - 1, NULL, NULL}, /* required: a configured cell */
    {"time_ms", K_DOUBLE, I(time_ms), 0, 1e9, NULL, "0.0"},
    {"kind", K_INDEX, I(kind), 0, 0, "ar39|low_energy|high_energy|cosmic|ar42|kr85|rn222|ncapture",
     "high_energy"},
    {"topology", K_INDEX, I(topology), 0, 0, "auto|track|shower|point", "auto"},
    {"energy_mev", K_DOUBLE, I(energy_mev), 0.001, 1e6, NULL, "1000.0"},
};

static int choice_index(const char *choices, const char *v);

/* Store a number given in the key's file units (iv: the same as an exact integer). */
static void store_number(const struct key_desc *d, char *dst, double v, int64_t iv)
{
    switch (d->kind) {
    case K_U32:
        *(uint32_t *)dst = (uint32_t)iv;
        break;
    case K_U64:
        *(uint64_t *)dst = (uint64_t)iv;
        break;
    case K_I32:
        *(int32_t *)dst = (int32_t)iv;
        break;
    case K_I64:
        *(int64_t *)dst = iv;
        break;
    case K_DOUBLE:
        *(double *)dst = v;
        break;
    case K_US:
        *(uint64_t *)dst = lt_seconds_to_ticks(v * 1e-6);
        break;
    case K_MS:
        *(uint64_t *)dst = lt_seconds_to_ticks(v * 1e-3);
        break;
    case K_MB:
        *(uint64_t *)dst = (uint64_t)(v * 1048576.0);
        break;
    default:
        break;
    }
}

/* The table's default of one key into base (nothing when it has none). */
static void apply_default(const struct key_desc *d, void *base)
{
    if (!d->def) return;
    char *dst = (char *)base + d->off;
    switch (d->kind) {
    case K_BOOL:
        *(int *)dst = !strcmp(d->def, "true");
        break;
    case K_STR:
    case K_CHOICE:
        snprintf(dst, d->size, "%s", d->def);
        break;
    case K_ROLE:
        trigd_role_parse(d->def, (enum trigd_role *)dst);
        break;
    case K_INDEX:
        *(uint32_t *)dst = (uint32_t)choice_index(d->choices, d->def);
        break;
    case K_SOURCE:
        *(enum trigd_source_kind *)dst = (enum trigd_source_kind)choice_index(d->choices, d->def);
        break;
    default:
        store_number(d, dst, strtod(d->def, NULL), strtoll(d->def, NULL, 10));
        break;
    }
}

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

void trigd_config_defaults(struct trigd_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->source_name, sizeof c->source_name, "<defaults>");
    for (size_t i = 0; i < N_ELEMS(keys); i++) apply_default(&keys[i], c);
}

const char *trigd_role_name(enum trigd_role r)
{
    switch (r) {
    case TRIGD_ROLE_ALL:
        return "all";
    case TRIGD_ROLE_CELL:
        return "cell";
    case TRIGD_ROLE_MODULE:
        return "module";
    }
    return "?";
}

int trigd_role_parse(const char *s, enum trigd_role *out)
{
    if (!strcmp(s, "all"))
        *out = TRIGD_ROLE_ALL;
    else if (!strcmp(s, "cell"))
        *out = TRIGD_ROLE_CELL;
    else if (!strcmp(s, "module"))
        *out = TRIGD_ROLE_MODULE;
    else
        return LT_EINVAL;
    return 0;
}

const char *trigd_source_name(enum trigd_source_kind k)
{
    switch (k) {
    case TRIGD_SOURCE_SIM:
        return "sim";
    case TRIGD_SOURCE_FILE:
        return "file";
    case TRIGD_SOURCE_UDP:
        return "udp";
    }
    return "?";
}

int trigd_config_cell_index(const struct trigd_config *cfg, uint32_t id)
{
    for (uint32_t i = 0; i < cfg->n_cells; i++)
        if (cfg->cells[i].id == id) return (int)i;
    return -1;
}

/* "file:line: " prefix for a setting (libconfig keeps both for every setting it parsed). */
static int where(const config_setting_t *s, const char *fallback, char *buf, size_t len)
{
    const char *file = config_setting_source_file(s);
    unsigned line = config_setting_source_line(s);
    return snprintf(buf, len, "%s:%u", file ? file : fallback, line);
}

#define FAIL(s, ...)                                                                               \
    do {                                                                                           \
        char w_[TRIGD_PATH_MAX + 32];                                                              \
        char m_[512];                                                                              \
        where((s), name, w_, sizeof w_);                                                           \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                      \
        lt_seterr(err, errlen, "%s: %s", w_, m_);                                                  \
        return LT_EINVAL;                                                                          \
    } while (0)

static int is_choice(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

/* Convert one setting according to its descriptor into base + d->off. */
static int apply_key(const struct key_desc *d, const config_setting_t *s, void *base,
                     const char *name, char *err, size_t errlen)
{
    char *dst = (char *)base + d->off;
    int type = config_setting_type(s);
    const char *key = d->path;

    switch (d->kind) {
    case K_BOOL:
        if (type != CONFIG_TYPE_BOOL) FAIL(s, "%s must be true or false", key);
        *(int *)dst = config_setting_get_bool(s);
        return 0;
    case K_STR:
    case K_CHOICE:
    case K_INDEX:
    case K_SOURCE:
    case K_ROLE: {
        if (type != CONFIG_TYPE_STRING) FAIL(s, "%s must be a string", key);
        const char *v = config_setting_get_string(s);
        if (d->kind == K_ROLE) {
            enum trigd_role r;
            if (trigd_role_parse(v, &r))
                FAIL(s, "%s: \"%s\" is not one of all|cell|module", key, v);
            *(enum trigd_role *)dst = r;
            return 0;
        }
        if (d->kind != K_STR && !is_choice(d->choices, v))
            FAIL(s, "%s: \"%s\" is not one of %s", key, v, d->choices);
        if (d->kind == K_INDEX) {
            *(uint32_t *)dst = (uint32_t)choice_index(d->choices, v);
            return 0;
        }
        if (d->kind == K_SOURCE) {
            *(enum trigd_source_kind *)dst = (enum trigd_source_kind)choice_index(d->choices, v);
            return 0;
        }
        if (strlen(v) >= d->size) FAIL(s, "%s is longer than %zu characters", key, d->size - 1);
        memcpy(dst, v, strlen(v) + 1);
        return 0;
    }
    default:
        break;
    }

    /* Numbers: integers are accepted for float keys, floats are not accepted for integer keys. */
    double v;
    int is_int = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
    if (is_int)
        v = (double)config_setting_get_int64(s);
    else if (type == CONFIG_TYPE_FLOAT)
        v = config_setting_get_float(s);
    else
        FAIL(s, "%s must be a number", key);
    int want_int = d->kind == K_U32 || d->kind == K_U64 || d->kind == K_I32 || d->kind == K_I64;
    if (want_int && !is_int) FAIL(s, "%s must be an integer", key);
    if (!(v >= d->min && v <= d->max) || !isfinite(v))
        FAIL(s, "%s = %g is out of range [%g, %g]", key, v, d->min, d->max);
    store_number(d, dst, v, is_int ? config_setting_get_int64(s) : 0);
    return 0;
}

static const struct key_desc *find_key(const struct key_desc *tab, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(tab[i].path, path)) return &tab[i];
    return NULL;
}

/* Is `path` a group that holds known keys (e.g. "trigger" or "trigger.single")? */
static int is_known_group(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < N_ELEMS(keys); i++)
        if (!strncmp(keys[i].path, path, n) && keys[i].path[n] == '.') return 1;
    return 0;
}

static int parse_cells(const config_setting_t *list, struct trigd_config *cfg, const char *name,
                       char *err, size_t errlen)
{
    if (!config_setting_is_list(list) && !config_setting_is_array(list))
        FAIL(list, "cells must be a list of groups: cells = ( { id = 0; ... }, ... )");
    int n = config_setting_length(list);
    if (n < 1) FAIL(list, "cells must name at least one cell");
    if (n > (int)TRIGD_MAX_CELLS) FAIL(list, "at most %u cells", TRIGD_MAX_CELLS);
    cfg->n_cells = 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        if (!config_setting_is_group(g)) FAIL(g, "cells[%d] must be a group { ... }", i);
        struct trigd_cell_config *c = &cfg->cells[i];
        memset(c, 0, sizeof *c);
        for (size_t k = 0; k < N_ELEMS(cell_keys); k++) apply_default(&cell_keys[k], c);
        c->id = (uint32_t)i; /* the id's default: the position in the list */
        int m = config_setting_length(g);
        for (int k = 0; k < m; k++) {
            const config_setting_t *s = config_setting_get_elem(g, (unsigned)k);
            const char *kn = config_setting_name(s);
            const struct key_desc *d = find_key(cell_keys, N_ELEMS(cell_keys), kn);
            if (!d) FAIL(s, "unknown key cells[%d].%s", i, kn);
            int rc = apply_key(d, s, c, name, err, errlen);
            if (rc) return rc;
        }
        for (int j = 0; j < i; j++)
            if (cfg->cells[j].id == c->id) FAIL(g, "cells[%d]: cell id %u used twice", i, c->id);
        if (c->source == TRIGD_SOURCE_FILE && !c->file[0])
            FAIL(g, "cells[%d]: source \"file\" needs file = \"run.hdf5\"", i);
        if (c->source == TRIGD_SOURCE_UDP && !c->udp_port)
            FAIL(g, "cells[%d]: source \"udp\" needs udp_port", i);
        cfg->n_cells++;
    }
    return 0;
}

static int choice_index(const char *choices, const char *v)
{
    int i = 0;
    size_t n = strlen(v);
    for (const char *p = choices; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return i;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

static int parse_inject(const config_setting_t *list, struct trigd_config *cfg, const char *name,
                        char *err, size_t errlen)
{
    if (!config_setting_is_list(list))
        FAIL(list, "sim.inject must be a list of groups: inject = ( { cell = 0; ... } )");
    int n = config_setting_length(list);
    if (n > (int)TRIGD_MAX_INJECT) FAIL(list, "at most %u injected events", TRIGD_MAX_INJECT);
    cfg->sim.n_inject = 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        if (!config_setting_is_group(g)) FAIL(g, "sim.inject[%d] must be a group { ... }", i);
        struct trigd_inject *e = &cfg->sim.inject[i];
        memset(e, 0, sizeof *e);
        for (size_t k = 0; k < N_ELEMS(inject_keys); k++) apply_default(&inject_keys[k], e);
        int m = config_setting_length(g);
        for (int k = 0; k < m; k++) {
            const config_setting_t *s = config_setting_get_elem(g, (unsigned)k);
            const char *kn = config_setting_name(s);
            const struct key_desc *d = find_key(inject_keys, N_ELEMS(inject_keys), kn);
            if (!d) FAIL(s, "unknown key sim.inject[%d].%s", i, kn);
            int rc = apply_key(d, s, e, name, err, errlen);
            if (rc) return rc;
        }
        cfg->sim.n_inject++;
    }
    return 0;
}

/* Reject unknown keys anywhere below `grp` (path prefix `prefix`). */
static int check_unknown(const config_setting_t *grp, const char *prefix, const char *name,
                         char *err, size_t errlen)
{
    int n = config_setting_length(grp);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
        const char *kn = config_setting_name(s);
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", kn ? kn : "?");
        if (!prefix[0] && kn && !strcmp(kn, "cells")) continue;
        if (!strcmp(path, "sim.inject")) continue;
        if (config_setting_is_group(s)) {
            if (!is_known_group(path)) FAIL(s, "unknown group \"%s\"", path);
            int rc = check_unknown(s, path, name, err, errlen);
            if (rc) return rc;
        } else if (!find_key(keys, N_ELEMS(keys), path)) {
            if (is_known_group(path)) FAIL(s, "\"%s\" must be a group { ... }", path);
            FAIL(s, "unknown key \"%s\"", path);
        }
    }
    return 0;
}

/* Cross-key checks that no single key can make. */
int trigd_config_data_tcp(const struct trigd_config *c)
{
    const char *eps[4] = {c->endpoints.candidates, c->endpoints.candidates_bind,
                          c->endpoints.requests, c->endpoints.requests_bind};
    for (int i = 0; i < 4; i++)
        if (!strncmp(eps[i], "tcp://", 6)) return 1;
    return 0;
}

int trigd_config_data_curve(const struct trigd_config *c)
{
    return trigd_config_data_tcp(c) && !c->endpoints.insecure;
}

int trigd_config_cell_key_file(const struct trigd_config *c, uint32_t id, char *out, size_t len)
{
    return trigd_cell_key_file(c->endpoints.curve_cell_secret_key_files, id, out, len);
}

/* Data sockets over tcp carry CURVE unless `insecure` says otherwise, explicitly. */
static int check_data_security(const config_setting_t *root, const struct trigd_config *c,
                               const char *name, char *err, size_t errlen)
{
    if (!trigd_config_data_curve(c)) return 0;
    const struct trigd_endpoints *e = &c->endpoints;
    if (c->role != TRIGD_ROLE_CELL &&
        (!e->curve_module_secret_key_file[0] || !e->curve_cell_keys_file[0]))
        FAIL(root, "tcp:// data endpoints need endpoints.curve_module_secret_key_file and "
                   "endpoints.curve_cell_keys_file on the module (or endpoints.insecure = true)");
    if (c->role != TRIGD_ROLE_MODULE &&
        (!e->curve_module_public_key_file[0] || !e->curve_cell_secret_key_files[0]))
        FAIL(root, "tcp:// data endpoints need endpoints.curve_module_public_key_file and "
                   "endpoints.curve_cell_secret_key_files on the cells (or endpoints.insecure = "
                   "true)");
    return 0;
}

static int check_consistency(const config_setting_t *root, struct trigd_config *c, const char *name,
                             char *err, size_t errlen)
{
    if (check_data_security(root, c, name, err, errlen)) return LT_EINVAL;
    if (c->n_cells == 0) FAIL(root, "no cells configured (cells = ( { id = 0; } );)");
    if (c->readout.pre_ticks + c->readout.post_ticks == 0)
        FAIL(root, "readout.pre_us + readout.post_us must be > 0");
    uint64_t ring_ticks = lt_seconds_to_ticks(c->buffers.latency_ms * 1e-3);
    if (ring_ticks < 2 * (c->readout.pre_ticks + c->readout.post_ticks))
        FAIL(root, "buffers.latency_ms = %u holds less than twice the readout window",
             c->buffers.latency_ms);
    if (c->readout.reply_timeout_ms <= c->readout.data_wait_ms)
        FAIL(root, "readout.reply_timeout_ms must be larger than readout.data_wait_ms");
    if (!c->endpoints.candidates[0] || !c->endpoints.requests[0])
        FAIL(root, "endpoints.candidates and endpoints.requests must be set");
    if (c->role != TRIGD_ROLE_ALL && (!strncmp(c->endpoints.candidates, "inproc://", 9) ||
                                      !strncmp(c->endpoints.requests, "inproc://", 9)))
        FAIL(root, "role \"%s\" runs in its own process: inproc:// endpoints cannot reach it",
             trigd_role_name(c->role));
    if ((!strncmp(c->monitor.control_endpoint, "tcp://", 6) ||
         !strncmp(c->monitor.status_endpoint, "tcp://", 6)) &&
        (!c->monitor.curve_secret_key_file[0] || !c->monitor.curve_allowed_keys_file[0]))
        FAIL(root, "a tcp:// monitor endpoint needs monitor.curve_secret_key_file and "
                   "monitor.curve_allowed_keys_file (operators' sockets are never open)");
    return 0;
}

static int load(config_t *lc, int rc_read, const char *name, struct trigd_config *cfg, char *err,
                size_t errlen)
{
    if (rc_read != CONFIG_TRUE) {
        const char *f = config_error_file(lc);
        lt_seterr(err, errlen, "%s:%d: %s", f ? f : name, config_error_line(lc),
                  config_error_text(lc));
        return LT_EINVAL;
    }
    trigd_config_defaults(cfg);
    snprintf(cfg->source_name, sizeof cfg->source_name, "%s", name);
    const config_setting_t *root = config_root_setting(lc);
    int rc = check_unknown(root, "", name, err, errlen);
    if (rc) return rc;
    for (size_t i = 0; i < N_ELEMS(keys); i++) {
        const config_setting_t *s = config_lookup(lc, keys[i].path);
        if (!s) continue;
        rc = apply_key(&keys[i], s, cfg, name, err, errlen);
        if (rc) return rc;
    }
    const config_setting_t *cells = config_lookup(lc, "cells");
    if (cells) {
        rc = parse_cells(cells, cfg, name, err, errlen);
        if (rc) return rc;
    }
    const config_setting_t *inject = config_lookup(lc, "sim.inject");
    if (inject) {
        rc = parse_inject(inject, cfg, name, err, errlen);
        if (rc) return rc;
    }
    for (uint32_t i = 0; i < cfg->sim.n_inject; i++)
        if (trigd_config_cell_index(cfg, cfg->sim.inject[i].cell) < 0)
            FAIL(inject, "sim.inject[%u]: cell %u is not in cells", i, cfg->sim.inject[i].cell);
    return check_consistency(root, cfg, name, err, errlen);
}

int trigd_config_load(const char *path, struct trigd_config *cfg, char *err, size_t errlen)
{
    if (!path)
        return trigd_config_load_string(trigd_default_config_text, "<embedded>", cfg, err, errlen);
    FILE *f = fopen(path, "r");
    if (!f) {
        lt_seterr(err, errlen, "%s: %s", path, strerror(errno));
        return LT_EIO;
    }
    fclose(f);
    config_t lc;
    config_init(&lc);
    int rc = load(&lc, config_read_file(&lc, path), path, cfg, err, errlen);
    config_destroy(&lc);
    return rc;
}

int trigd_config_load_string(const char *text, const char *name, struct trigd_config *cfg,
                             char *err, size_t errlen)
{
    config_t lc;
    config_init(&lc);
    int rc = load(&lc, config_read_string(&lc, text), name, cfg, err, errlen);
    config_destroy(&lc);
    return rc;
}

/* One value as the file writes it. */
static void print_value(FILE *f, const struct key_desc *d)
{
    int quoted = d->kind == K_STR || d->kind == K_CHOICE || d->kind == K_ROLE ||
                 d->kind == K_INDEX || d->kind == K_SOURCE;
    fprintf(f, quoted ? "\"%s\"" : "%s", d->def);
}

void trigd_config_print_default(FILE *f)
{
    fputs("# trigd's embedded default configuration: every key at its default (docs/config.md),\n"
          "# all stages in one process, four small simulated cells paced for a 2-core machine.\n",
          f);
    /* Keys in table order: a group is contiguous, so open and close groups as the path's
     * prefix changes. */
    char open[4][64];
    int depth = 0;
    int cells_done = 0;
    for (size_t i = 0; i < N_ELEMS(keys); i++) {
        const struct key_desc *d = &keys[i];
        char parts[4][64];
        int n = 0;
        const char *p = d->path;
        while (n < 4) {
            const char *dot = strchr(p, '.');
            size_t len = dot ? (size_t)(dot - p) : strlen(p);
            snprintf(parts[n++], sizeof parts[0], "%.*s", (int)len, p);
            if (!dot) break;
            p = dot + 1;
        }
        int common = 0;
        while (common < depth && common < n - 1 && !strcmp(open[common], parts[common])) common++;
        while (depth > common) fprintf(f, "%*s};\n", 2 * --depth, "");
        if (depth == 0 && n > 1 && !cells_done) { /* the cells come after the top-level keys */
            fputs(trigd_default_config_text, f);
            cells_done = 1;
        }
        for (; depth < n - 1; depth++) {
            fprintf(f, "%*s%s = {\n", 2 * depth, "", parts[depth]);
            snprintf(open[depth], sizeof open[0], "%s", parts[depth]);
        }
        fprintf(f, "%*s%s = ", 2 * depth, "", parts[n - 1]);
        print_value(f, d);
        fputs(";\n", f);
    }
    while (depth > 0) fprintf(f, "%*s};\n", 2 * --depth, "");
    if (!cells_done) fputs(trigd_default_config_text, f);
}

const char *trigd_config_key_default(size_t i)
{
    if (i < N_ELEMS(keys)) return keys[i].def;
    i -= N_ELEMS(keys);
    if (i < N_ELEMS(cell_keys)) return cell_keys[i].def;
    i -= N_ELEMS(cell_keys);
    return i < N_ELEMS(inject_keys) ? inject_keys[i].def : NULL;
}

const char *trigd_config_key(size_t i, const char **group)
{
    if (i < N_ELEMS(keys)) {
        *group = "";
        return keys[i].path;
    }
    i -= N_ELEMS(keys);
    if (i < N_ELEMS(cell_keys)) {
        *group = "cells";
        return cell_keys[i].path;
    }
    i -= N_ELEMS(cell_keys);
    if (i < N_ELEMS(inject_keys)) {
        *group = "sim.inject";
        return inject_keys[i].path;
    }
    return NULL;
}
