/* trigd configuration: one libconfig file (or the embedded default) parsed into plain structs.
 * Every key, its type, range and default is in one table in config.c and documented in
 * docs/config.md. Unknown keys and bad values are errors naming the file and line, so a typo in a
 * production config never silently falls back to a default. */
#ifndef TRIGD_CONFIG_H
#define TRIGD_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "cell.h"
#include "chmap.h"
#include "trigger_algos.h"
#include "trigger_candidate.h"

#define TRIGD_MAX_CELLS    LT_MAX_CELLS
#define TRIGD_ENDPOINT_MAX 256

enum trigd_role { TRIGD_ROLE_ALL = 0, TRIGD_ROLE_CELL = 1, TRIGD_ROLE_MODULE = 2 };

struct trigd_endpoints {
    char candidates[TRIGD_ENDPOINT_MAX];      /* cells connect PUSH, module binds PULL */
    char candidates_bind[TRIGD_ENDPOINT_MAX]; /* "" = same as candidates */
    char requests[TRIGD_ENDPOINT_MAX];        /* module binds ROUTER, cells connect DEALER */
    char requests_bind[TRIGD_ENDPOINT_MAX];
    uint32_t send_hwm; /* ZeroMQ high-water mark of the candidate PUSH sockets */
    /* CURVE on tcp data sockets (docs/security.md): the module is the server, each cell a
     * client with a key of its own, bound to its id by the module's allow-list. */
    char curve_module_secret_key_file[TRIGD_PATH_MAX]; /* module: its secret key */
    char curve_module_public_key_file[TRIGD_PATH_MAX]; /* cells: the module's public key */
    char curve_cell_secret_key_files[TRIGD_PATH_MAX];  /* cells: path, "{id}" = the cell id */
    char curve_cell_keys_file[TRIGD_PATH_MAX];         /* module: "<public key> <cell id>" lines */
    int insecure;       /* plain tcp without keys, explicitly (logged loudly, shown in status) */
    uint32_t max_peers; /* module: connections on the tcp data sockets; 0 = 4 x cells + 16 */
};

struct trigd_readout_config {
    uint64_t pre_ticks;
    uint64_t post_ticks;
    uint32_t data_wait_ms;     /* cell: wait this long for a window not yet complete */
    uint32_t reply_timeout_ms; /* module: give up on a cell's reply after this */
};

struct trigd_buffer_config {
    uint32_t latency_ms;            /* latency ring length in data time */
    int mlock;                      /* try to lock the ring in memory */
    uint32_t candidate_queue;       /* per-cell candidate queue in the aggregator */
    uint32_t decision_queue;        /* decisions waiting for readout */
    uint64_t file_read_ahead_bytes; /* file source: read-ahead per cell */
};

struct trigd_writer_config {
    char backend[16]; /* "uring" | "pwritev" (io_uring or its pwritev fallback) */
    char output_dir[TRIGD_PATH_MAX];
    char name[64]; /* writer name in file names */
    char environment[64];
    uint64_t max_file_size_bytes;
    uint32_t max_records_per_file;
    double free_space_factor;
    uint32_t queue_depth;
    int sync_each_record; /* fdatasync behind each record (else only when a file closes) */
};

struct trigd_monitor_config {
    char status_endpoint[TRIGD_ENDPOINT_MAX];     /* "" = ipc in the runtime dir, "off" = none */
    char control_endpoint[TRIGD_ENDPOINT_MAX];    /* "" = ipc in the runtime dir, "off" = none */
    double status_interval_s;                     /* log line period; 0 = off */
    double free_space_alarm_gb;                   /* writer free space alarm below; 0 = off */
    char curve_secret_key_file[TRIGD_PATH_MAX];   /* tcp endpoints: the daemon's CURVE secret key */
    char curve_allowed_keys_file[TRIGD_PATH_MAX]; /* tcp endpoints: client public keys allowed */
};

struct trigd_config {
    char source_name[TRIGD_PATH_MAX]; /* file name or "<embedded>" for messages */
    uint32_t run_number;
    double duration_s; /* data time after which the sources stop (0 = until stopped) */
    enum trigd_role role;
    char log_level[16];
    /* SIGTERM/SIGINT: everything (readouts, writer, cell linger) ends within this, in ms; what
     * cannot be written by then is counted and logged (docs/reliability.md). */
    uint32_t stop_deadline_ms;
    uint32_t n_cells;
    struct trigd_cell_config cells[TRIGD_MAX_CELLS];
    struct trigd_sim_config sim;
    struct trigd_kernel_config kernel;
    struct trigd_endpoints endpoints;
    struct trigd_trigger_config trigger;
    struct trigd_readout_config readout;
    struct trigd_buffer_config buffers;
    struct trigd_writer_config writer;
    struct trigd_monitor_config monitor;
};

/* The pipeline's configuration handle (daemon/pipeline/pipeline.h): opaque to tools, the parsed
 * configuration to the daemon. */
struct lt_pipeline_config {
    struct trigd_config c;
    /* lt_pipeline_config_use_run, unpaced: the cells wait for the trigger before they overwrite
     * ring data a readout may still read (trigd_cells_set_ring_gate). */
    int ring_gate;
};

/* What trigd runs without -c besides the defaults: its cells (default_config.c). */
extern const char trigd_default_config_text[];
/* trigd --print-default-config: every key at its default, as a file (one value per line, in
 * groups), with the embedded cells: a template for a configuration of one's own. */
void trigd_config_print_default(FILE *f);

void trigd_config_defaults(struct trigd_config *cfg);
/* Parse a file (path) or, when path is NULL, the embedded default. The result starts from the
 * defaults; every key present overrides one. Returns 0 or a negative lt_error with "file:line:
 * message" in err. */
int trigd_config_load(const char *path, struct trigd_config *cfg, char *err, size_t errlen);
int trigd_config_load_string(const char *text, const char *name, struct trigd_config *cfg,
                             char *err, size_t errlen);

const char *trigd_role_name(enum trigd_role r);
int trigd_role_parse(const char *s, enum trigd_role *out);
const char *trigd_source_name(enum trigd_source_kind k);
/* The i-th key the parser knows (NULL past the last): its path, and in *group "" for the
 * top-level table or the list it belongs to ("cells", "sim.inject"). For the docs check. */
const char *trigd_config_key(size_t i, const char **group);
/* The i-th key's default as the file writes it (strings unquoted), or NULL when it has none. */
const char *trigd_config_key_default(size_t i);
/* Index of a cell id in cfg->cells, or -1. */
int trigd_config_cell_index(const struct trigd_config *cfg, uint32_t id);

/* Do the data sockets of this configuration go over tcp, and with CURVE? */
int trigd_config_data_tcp(const struct trigd_config *cfg);
int trigd_config_data_curve(const struct trigd_config *cfg);
/* The secret key file of cell `id` (curve_cell_secret_key_files with "{id}" replaced). */
int trigd_config_cell_key_file(const struct trigd_config *cfg, uint32_t id, char *out, size_t len);

#endif
