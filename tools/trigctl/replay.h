/* trigctl replay: the parts of the command (cmd_replay.c runs the pipeline).
 *   replay_scan.c    what the run's files hold (cells, streams, frames, raw bytes, /Truth) and
 *                    what the run wrote (records, their bytes);
 *   replay_report.c  trigger-level efficiency against truth (truth_match.h), fake triggers, dead
 *                    time, the text and JSON reports. */
#ifndef LARTRIG_TRIGCTL_REPLAY_H
#define LARTRIG_TRIGCTL_REPLAY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "candidate.h"
#include "chmap.h"
#include "truth.h"

#define REPLAY_MAX_TRIGGERS   200000U   /* kept (issued + inhibited); more are counted, reported */
#define REPLAY_MAX_CANDIDATES 2000000U  /* of the kept decisions (48 B each); more are counted */
#define REPLAY_MAX_TRUTH      20000000U /* rows of /Truth read (40 B each) */

struct replay_cell {
    uint32_t id;
    uint32_t streams;
    uint64_t frames; /* of stream 0 = frame periods */
};

struct replay_run {
    char path[4096];          /* the first file */
    const char *const *files; /* the run's files in order (the caller's array) */
    size_t n_files;
    uint32_t run_number;
    uint32_t n_cells;
    struct replay_cell cells[LT_MAX_CELLS];
    uint64_t total_frames; /* all streams of all cells */
    uint64_t raw_bytes;    /* WIBEth fragment datasets */
    double data_seconds;
    struct lt_truth *truth;
    size_t n_truth;
};

struct replay_trigger {
    uint64_t number, time, begin, end; /* number 0: inhibited */
    uint32_t algorithms;
    uint32_t n_candidates;       /* in the decision */
    uint32_t candidates_dropped; /* beyond trigger.max_candidates_per_decision */
    uint32_t inhibited;          /* decided, refused by the readout/writer (dead time) */
    size_t cand_first;           /* its candidates: replay_result.cand[cand_first ..] */
    uint32_t cand_kept;          /* how many of them were kept (REPLAY_MAX_CANDIDATES) */
    uint64_t cells[LT_MAX_CELLS / 64];
};

struct replay_output {
    uint32_t files;
    uint64_t records;
    uint64_t record_bytes; /* dataset contents of the records */
    uint64_t file_bytes;
};

/* The files of one run, in order (the array must outlive run). Opens each with trigctl_h5_open
 * (bounded against libhdf5 hangs); err names the file. /Truth rows of all files are joined. */
int replay_scan_run(const char *const *paths, size_t n_paths, struct replay_run *run, char *err,
                    size_t errlen);
void replay_run_free(struct replay_run *run);
/* Records of the files in dir whose names are not in `before` (NULL-terminated list). */
int replay_scan_output(const char *dir, char **before, struct replay_output *out, char *err,
                       size_t errlen);
/* NULL-terminated list of the entries of dir (for replay_scan_output). */
char **replay_list_dir(const char *dir);
void replay_free_list(char **list);

struct replay_memory {
    uint64_t bound_bytes, ring_bytes, read_ahead_bytes; /* as configured */
    uint64_t peak_rss_bytes;                            /* of the process, at the end */
};

/* Where the time went and what was read (the report's "stages" and "read"). */
struct replay_measure {
    double scan_s, open_s, run_s, drain_s; /* wall time of each stage, one after the other */
    double read_wait_s, gate_wait_s;       /* summed over the cells' data threads */
    uint64_t decisions_held;               /* times a decision waited for the readout/writer */
    double cpu_user_s, cpu_sys_s;          /* of the process */
    uint64_t bytes_read, frame_bytes;      /* from the files; frames delivered */
    const char *io;                        /* "io_uring", "pread" or "mixed" */
    int direct;                            /* every reader used O_DIRECT */
};

struct replay_result {
    const struct replay_run *run;
    const struct replay_trigger *trig; /* issued and inhibited, in decision order */
    size_t n_trig;
    uint64_t trig_total;      /* issued, including those beyond REPLAY_MAX_TRIGGERS */
    uint64_t inhibited_total; /* inhibited, likewise */
    const struct lt_candidate *cand;
    uint64_t cand_not_kept; /* candidates of kept decisions beyond REPLAY_MAX_CANDIDATES */
    struct replay_output out;
    double wall_s; /* run_s + drain_s */
    double speed;
    struct replay_memory mem;
    struct replay_measure m;
    const char *out_dir;
    int out_kept;
    json_t *pipeline; /* counters of the run (owned by the caller) */
};

/* The report: the JSON document (always built; the text is printed from it). */
json_t *replay_report_json(const struct replay_result *r);
void replay_report_print(json_t *doc, const struct replay_result *r);

#endif
