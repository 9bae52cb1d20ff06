/* The trigger pipeline as one object: the public face of trigd for its own roles (run.c) and
 * for tools (trigctl replay). It assembles, from one configuration:
 *   - the cells (roles all, cell): source -> latency ring -> kernel -> candidate PUSH, and the
 *     request DEALER;
 *   - the module (roles all, module): candidate gate -> aggregator -> readout -> record
 *     builder -> writer;
 *   - when asked, the operator glue: status and control sockets, systemd notifications;
 * and runs them: create (nothing runs), start (threads run), drain (sources stop, every decision
 * in flight is read out and written), stop (everything is freed). A caller differs only in its
 * sources (the configuration's cells, or a run file: lt_pipeline_config_use_run_file) and in
 * what it does with what the pipeline reports (stats, or the decision observer).
 *
 * Tools include this header only (the build enforces it: trigd_core's public include directory
 * is daemon/pipeline/). The stages' own headers are the daemon's.
 *
 * Threads: create/start/drain/stop on one thread (the caller's); stats and sources_done from any
 * thread. Errors: negative lt_error codes (lib/base/lt_error.h) with a message in the caller's
 * buffer. */
#ifndef LT_PIPELINE_H
#define LT_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

/* ---- configuration (an opaque handle; the keys are in docs/config.md) ---- */

#define LT_PIPELINE_PATH_MAX 1024 /* file and directory names in the configuration, with NUL */

struct lt_pipeline_config;

/* Parse a trigd configuration file (path), or trigd's embedded default when path is NULL.
 * Errors name the file and line. */
int lt_pipeline_config_load(const char *path, struct lt_pipeline_config **out, char *err,
                            size_t errlen);
void lt_pipeline_config_free(struct lt_pipeline_config *cfg);

/* One cell of a run file: its id and its number of WIBEth streams. */
struct lt_pipeline_file_cell {
    uint32_t id;
    uint32_t streams;
};

/* A run file (or a directory of a run's files) as the pipeline's only source: the cells are the
 * file's, every stage runs in this process over inproc endpoints, unpaced, with no operator
 * sockets, records go to output_dir. Queues are deepened (bounded by memory) so that an unpaced
 * run does not inhibit triggers; the cells' rings and read-ahead fit in 1 GB, and the ring gate
 * keeps every window until its readout (lt_pipeline_config_use_run with speed 0).
 * data_seconds: the data time the file spans. LT_EINVAL for a bad cell list. */
int lt_pipeline_config_use_run_file(struct lt_pipeline_config *cfg, const char *path,
                                    uint32_t run_number, const struct lt_pipeline_file_cell *cells,
                                    uint32_t n_cells, double data_seconds, const char *output_dir,
                                    char *err, size_t errlen);

/* How a run is replayed (trigctl replay). */
struct lt_pipeline_run_options {
    /* The run's files in order, or NULL: path alone (a file, or a directory of the run's
     * files). The array must outlive the pipeline. */
    const char *const *files;
    size_t n_files;
    double speed;          /* real-time factor; 0 = as fast as possible */
    uint64_t memory_bytes; /* bound on the cells' latency rings + the sources' read-ahead */
    int durable;           /* fdatasync each record (writer.sync_each_record) */
};

/* What the cells' memory was set to (lt_pipeline_config_use_run). */
struct lt_pipeline_run_memory {
    uint64_t bound_bytes, ring_bytes, read_ahead_bytes;
};

/* A run as the pipeline's only source, streamed from its files: like
 * lt_pipeline_config_use_run_file, with pacing and the cells' memory from o (read-ahead per
 * cell, the rest for the latency rings: a few times the shortest workable ring, never longer
 * than the run). Unpaced (speed 0), a cell whose ring is full waits for the trigger before it
 * overwrites what a readout may still read (the ring gate, set up by lt_pipeline_create), so a
 * short ring costs speed, never data. mem (may be NULL) gets the sizes configured. LT_EINVAL
 * (message in err) for a bad cell list or a bound too small for the shortest workable rings. */
int lt_pipeline_config_use_run(struct lt_pipeline_config *cfg, const char *path,
                               uint32_t run_number, const struct lt_pipeline_file_cell *cells,
                               uint32_t n_cells, double data_seconds, const char *output_dir,
                               const struct lt_pipeline_run_options *o,
                               struct lt_pipeline_run_memory *mem, char *err, size_t errlen);

/* ---- decisions ---- */

#define LT_PIPELINE_CELL_WORDS 16 /* bits for cell ids 0..1023 (LT_MAX_CELLS) */

struct lt_candidate; /* lib/formats/candidate.h */

/* A trigger decision, as the record writer receives it: issued (numbered), or, for the
 * inhibited-decision observer, one the aggregator did not issue (trigger_number 0). */
struct lt_pipeline_decision {
    uint64_t trigger_number; /* from 1 in each run */
    uint64_t time;           /* trigger timestamp, ticks */
    uint64_t window_begin;   /* readout window [begin, end), ticks */
    uint64_t window_end;
    uint32_t algorithms; /* bit (1 << enum lt_algo) per algorithm that proposed it: names and
                          * numbers in lib/formats/trigger_candidate.h */
    uint32_t n_candidates;
    uint32_t candidates_dropped; /* beyond trigger.max_candidates_per_decision */
    uint32_t n_cells;            /* cells with a candidate in the decision */
    uint64_t cells[LT_PIPELINE_CELL_WORDS];
    const struct lt_candidate *candidates; /* n_candidates of them (trigger-level truth) */
};

/* Called once per issued decision, in trigger-number order, on the module thread: it must be
 * quick and must not call back into the pipeline. d is valid during the call only. */
typedef void (*lt_pipeline_decision_fn)(void *user, const struct lt_pipeline_decision *d);

/* ---- the pipeline ---- */

struct lt_pipeline_options {
    /* cell_select[i] != 0: the configuration's i-th cell runs here (role cell); NULL = all. */
    const uint8_t *cell_select;
    /* Start the operator glue (status/control sockets as configured, systemd notifications). */
    int with_operator;
    lt_pipeline_decision_fn on_decision; /* NULL = none */
    /* Called once per inhibited decision (trigger_number 0; the dead time it met), same rules
     * as on_decision (trigctl replay's truth matching); NULL = none. */
    lt_pipeline_decision_fn on_inhibited;
    void *on_decision_user; /* for both */
};

struct lt_pipeline;

/* Build the stages of cfg's role (cfg must outlive the pipeline; opt may be NULL): sources open
 * (a run file is read now, before the writer, the other HDF5 user, starts), rings, kernel,
 * sockets, writer. Nothing runs yet. */
int lt_pipeline_create(const struct lt_pipeline_config *cfg, const struct lt_pipeline_options *opt,
                       struct lt_pipeline **out, char *err, size_t errlen);
/* Start the module, then the cells, then the operator (READY=1 once all run). */
int lt_pipeline_start(struct lt_pipeline *p, char *err, size_t errlen);
/* 1 when every source of this process has finished (ran out of data or duration_s reached). */
int lt_pipeline_sources_done(const struct lt_pipeline *p);
/* Orderly end: stop the sources (their final heartbeats carry the last watermarks), decide
 * the rest, read out and write every accepted record. Blocks until done. 0 when every record
 * was written, else a negative lt_error (the failures are logged). */
int lt_pipeline_drain(struct lt_pipeline *p);
/* The same with a deadline (a stop signal; deadline_ms 0 = lt_pipeline_drain): everything ends
 * within about deadline_ms; records that cannot be written by then are counted as failed and
 * logged, the open file is still closed and renamed. */
int lt_pipeline_drain_within(struct lt_pipeline *p, unsigned deadline_ms);
/* SIGHUP: reload the configuration file's run-time keys (the operator's reload command; the
 * outcome goes to the log). Nothing without the operator. */
void lt_pipeline_reload_signal(struct lt_pipeline *p);
/* Role cell only: how long after drain the process should keep answering data requests (the
 * module may still ask for the last windows), in ms; 0 when this process has the module. */
unsigned lt_pipeline_linger_ms(const struct lt_pipeline *p);
/* Stop every thread and free everything (after drain, or instead of it on failure). NULL ok. */
void lt_pipeline_stop(struct lt_pipeline *p);

/* Totals over the stages of this process (cells' figures are 0 in role module, module's in
 * role cell). Any thread; counters a few ms apart may be mixed, never torn. */
struct lt_pipeline_stats {
    uint32_t cells;
    uint64_t frames;           /* frames read by the sources (periods x streams) */
    uint64_t candidates;       /* found by the kernels */
    uint64_t ring_overwritten; /* frames dropped off a ring's old end */
    uint64_t messages_dropped; /* candidate messages a full socket refused */
    uint64_t accel_dropped;    /* candidates that did not fit a kernel collect */
    uint64_t decisions;        /* issued */
    uint64_t inhibited;
    uint64_t late_candidates;
    uint64_t records_built, records_written, records_failed;
    uint64_t fragments_not_found, fragments_incomplete;
    uint64_t reply_timeouts;
    uint64_t ring_gate_wait_ns; /* unpaced: the cells' data threads waited for the trigger */
    uint64_t decisions_held;    /* trigger.wait_when_busy: times a decision waited for room */
};
void lt_pipeline_stats(const struct lt_pipeline *p, struct lt_pipeline_stats *out);
/* The status log line(s): one per cell, one for the module (trigd --status-interval). */
void lt_pipeline_log_status(const struct lt_pipeline *p);

#endif
