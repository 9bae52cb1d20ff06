/* trigctl replay RUN.h5...: the real trigger pipeline of trigd (cells with their kernel, the
 * aggregator, readout, record builder and writer; all in this process) fed from the files of a
 * run (streamed: memory is bounded by --memory, whatever the run's size) as fast as the machine
 * allows or at --speed, then a report: the triggers, efficiency against /Truth, fake triggers,
 * data reduction, throughput, what was read and where the time went (replay.h). The cells and
 * their sizes come from the files; the rest of the configuration from -c (default: trigd's
 * embedded one). */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "pipeline.h"
#include "replay.h"
#include "runfile.h"
#include "ticks.h"

#define REPLAY_DEFAULT_MEMORY_MB 1024.0

struct trig_log {
    pthread_mutex_t lock;
    struct replay_trigger *t;
    size_t n, cap;
    uint64_t total, inhibited;
    struct lt_candidate *c; /* the candidates of the kept decisions */
    size_t nc, ccap;
    uint64_t c_not_kept;
};

/* Keep a decision's candidates (for trigger-level truth); beyond the bound, count them. */
static void keep_candidates(struct trig_log *l, struct replay_trigger *t,
                            const struct lt_pipeline_decision *d)
{
    t->cand_first = l->nc;
    t->cand_kept = 0;
    while (l->nc + d->n_candidates > l->ccap && l->ccap < REPLAY_MAX_CANDIDATES) {
        size_t nc = l->ccap ? l->ccap * 2 : 4096;
        if (nc > REPLAY_MAX_CANDIDATES) nc = REPLAY_MAX_CANDIDATES;
        struct lt_candidate *n = realloc(l->c, nc * sizeof *n);
        if (!n) break;
        l->c = n;
        l->ccap = nc;
    }
    uint32_t k = d->n_candidates;
    if (l->nc + k > l->ccap) k = (uint32_t)(l->ccap - l->nc);
    memcpy(l->c + l->nc, d->candidates, k * sizeof *l->c);
    l->nc += k;
    t->cand_kept = k;
    l->c_not_kept += d->n_candidates - k;
}

/* Module thread (the pipeline's decision observers): one call per decision, issued or
 * inhibited. */
static void log_decision(struct trig_log *l, const struct lt_pipeline_decision *d, int inhibited)
{
    pthread_mutex_lock(&l->lock);
    if (inhibited)
        l->inhibited++;
    else
        l->total++;
    if (l->n == l->cap && l->cap < REPLAY_MAX_TRIGGERS) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        if (nc > REPLAY_MAX_TRIGGERS) nc = REPLAY_MAX_TRIGGERS;
        struct replay_trigger *nt = realloc(l->t, nc * sizeof *nt);
        if (nt) {
            l->t = nt;
            l->cap = nc;
        }
    }
    if (l->n < l->cap) {
        struct replay_trigger *t = &l->t[l->n++];
        t->number = d->trigger_number;
        t->time = d->time;
        t->begin = d->window_begin;
        t->end = d->window_end;
        t->algorithms = d->algorithms;
        t->n_candidates = d->n_candidates;
        t->candidates_dropped = d->candidates_dropped;
        t->inhibited = (uint32_t)inhibited;
        memcpy(t->cells, d->cells, sizeof t->cells);
        keep_candidates(l, t, d);
    }
    pthread_mutex_unlock(&l->lock);
}

static void on_decision(void *user, const struct lt_pipeline_decision *d)
{
    log_decision(user, d, 0);
}

static void on_inhibited(void *user, const struct lt_pipeline_decision *d)
{
    log_decision(user, d, 1);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: trigctl replay RUN.h5|RUNDIR [RUN2.h5 ...] [-c trigd.conf] [-o OUTDIR]\n"
        "                      [--speed X] [--memory MB] [--durable] [--json] [--report F] [-q]\n"
        "Run trigd's pipeline on the files of a run (trigctl sim; several files, or a\n"
        "directory of them, are one run in order, their timestamps continuing each other)\n"
        "and report the triggers, efficiency against /Truth, fake trigger rate, data\n"
        "reduction, throughput and what was read. The files are streamed, not loaded.\n"
        "  -c, --config FILE  trigd configuration (trigger, readout, kernel, buffers,\n"
        "                     writer keys); cells come from the run file (default: the\n"
        "                     embedded trigd configuration)\n"
        "  -o, --output DIR   keep the trigger records here (default: a temporary\n"
        "                     directory, removed at the end)\n"
        "      --speed X      real-time factor: 1 = as fast as the detector, 0 = as fast\n"
        "                     as possible (default 0)\n"
        "      --memory MB    bound on the cells' latency rings and read-ahead (default\n"
        "                     %.0f); records waiting for the writer are extra\n"
        "      --durable      fdatasync every record as trigd does (default: each record\n"
        "                     file is synced when it is closed)\n"
        "      --json         print the report as JSON\n"
        "      --report FILE  also write the JSON report to FILE\n"
        "  -q, --quiet        log warnings and errors only\n"
        "exit: 0 done, 1 bad file or pipeline failure, 2 usage\n",
        REPLAY_DEFAULT_MEMORY_MB);
}

static void progress(const struct lt_pipeline *p, uint64_t total, double t0, int done)
{
    struct lt_pipeline_stats st;
    lt_pipeline_stats(p, &st);
    uint64_t f = st.frames;
    double frac = total ? (double)f / (double)total : 1.0;
    if (frac > 1) frac = 1;
    char bar[41];
    int fill = (int)(frac * 40);
    for (int i = 0; i < 40; i++) bar[i] = i < fill ? '#' : '.';
    bar[40] = 0;
    double el = lt_mono_s() - t0;
    struct lt_rf_stats rs;
    lt_rf_totals(&rs);
    char eta[32] = "";
    if (!done && frac > 0.01) snprintf(eta, sizeof eta, "  ETA %.0f s", el * (1 - frac) / frac);
    fprintf(stderr, "\r[%s] %5.1f%%  %.1f s  %.0f MB/s%-14s%s", bar, 100 * frac, el,
            el > 0 ? rs.bytes_read / 1e6 / el : 0.0, eta, done ? "\n" : "");
    fflush(stderr);
}

static json_t *pipeline_json(const struct lt_pipeline_stats *s)
{
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "candidates",
        (json_int_t)s->candidates, "decisions", (json_int_t)s->decisions, "inhibited",
        (json_int_t)s->inhibited, "late_candidates", (json_int_t)s->late_candidates,
        "records_built", (json_int_t)s->records_built, "records_written",
        (json_int_t)s->records_written, "records_failed", (json_int_t)s->records_failed,
        "fragments_not_found", (json_int_t)s->fragments_not_found, "fragments_incomplete",
        (json_int_t)s->fragments_incomplete, "ring_overwritten", (json_int_t)s->ring_overwritten,
        "messages_dropped", (json_int_t)s->messages_dropped, "accel_dropped",
        (json_int_t)s->accel_dropped, "reply_timeouts", (json_int_t)s->reply_timeouts);
}

/* Remove what this replay put into a temporary directory, then the directory. */
static void remove_tmp(const char *dir)
{
    char **list = replay_list_dir(dir);
    for (char **p = list; p && *p; p++) {
        if (!strcmp(*p, ".") || !strcmp(*p, "..")) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, *p);
        if (unlink(path) != 0) fprintf(stderr, "trigctl replay: %s: %s\n", path, strerror(errno));
    }
    replay_free_list(list);
    if (rmdir(dir) != 0) fprintf(stderr, "trigctl replay: %s: %s\n", dir, strerror(errno));
}

/* The files of the run: one directory (its run files in name order) or the files named. */
static int run_files(int n, char **args, char ***listed, const char *const **files, size_t *n_files,
                     char *err, size_t errlen)
{
    struct stat st;
    *listed = NULL;
    if (n == 1 && stat(args[0], &st) == 0 && S_ISDIR(st.st_mode)) {
        int rc = lt_rf_list_dir(args[0], listed, n_files, err, errlen);
        *files = (const char *const *)*listed;
        return rc;
    }
    *files = (const char *const *)args;
    *n_files = (size_t)n;
    return 0;
}

static void measure_end(struct replay_measure *m, struct replay_memory *mem)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        mem->peak_rss_bytes = (uint64_t)ru.ru_maxrss * 1024;
        m->cpu_user_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6;
        m->cpu_sys_s = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    }
    struct lt_rf_stats rs;
    lt_rf_totals(&rs);
    m->bytes_read = rs.bytes_read;
    m->frame_bytes = rs.frame_bytes;
    m->read_wait_s = rs.read_wait_ns * 1e-9;
    m->io = rs.readers_pread == 0 ? "io_uring" : rs.readers_uring == 0 ? "pread" : "mixed";
    m->direct = rs.readers_uring && rs.readers_direct == rs.readers_uring + rs.readers_pread;
}

int cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"output", required_argument, 0, 'o'},
        {"json", no_argument, 0, 'j'},         {"quiet", no_argument, 0, 'q'},
        {"report", required_argument, 0, 'r'}, {"speed", required_argument, 0, 's'},
        {"memory", required_argument, 0, 'm'}, {"durable", no_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *conf = NULL, *outdir = NULL, *report = NULL;
    int json = 0, quiet = 0, opt;
    struct lt_pipeline_run_options ro = {.speed = 0, .memory_bytes = 0};
    double memory_mb = REPLAY_DEFAULT_MEMORY_MB;
    char *end;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:o:qh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            conf = optarg;
            break;
        case 'o':
            outdir = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'r':
            report = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 's':
            ro.speed = strtod(optarg, &end);
            if (end == optarg || *end || !(ro.speed >= 0 && ro.speed <= 1e6)) {
                fprintf(stderr, "trigctl replay: --speed %s: not a factor in [0, 1e6]\n", optarg);
                return 2;
            }
            break;
        case 'm':
            memory_mb = strtod(optarg, &end);
            if (end == optarg || *end || !(memory_mb >= 1 && memory_mb <= 1e7)) {
                fprintf(stderr, "trigctl replay: --memory %s: not a size in MB in [1, 1e7]\n",
                        optarg);
                return 2;
            }
            break;
        case 'd':
            ro.durable = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    ro.memory_bytes = (uint64_t)(memory_mb * 1e6);
    for (int i = optind; i < argc; i++)
        if (strlen(argv[i]) >= LT_PIPELINE_PATH_MAX) {
            fprintf(stderr, "trigctl replay: path too long (at most %d characters)\n",
                    LT_PIPELINE_PATH_MAX - 1);
            return 2;
        }
    if (outdir && strlen(outdir) >= LT_PIPELINE_PATH_MAX - 64) {
        fprintf(stderr, "trigctl replay: path too long (at most %d characters)\n",
                LT_PIPELINE_PATH_MAX - 64);
        return 2;
    }
    lt_log_set_level(quiet || json ? LT_LOG_WARNING : LT_LOG_INFO);
    char err[2048];
    struct lt_pipeline_config *cfg = NULL;
    if (lt_pipeline_config_load(conf, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "trigctl replay: configuration: %s\n", err);
        return 1;
    }
    struct replay_measure meas = {0};
    struct replay_memory mem = {0};
    double t_scan = lt_mono_s();
    char **listed = NULL;
    const char *const *files = NULL;
    size_t n_files = 0;
    if (run_files(argc - optind, argv + optind, &listed, &files, &n_files, err, sizeof err)) {
        fprintf(stderr, "trigctl replay: %s\n", err);
        lt_pipeline_config_free(cfg);
        return 1;
    }
    static struct replay_run run;
    if (replay_scan_run(files, n_files, &run, err, sizeof err) != 0) {
        fprintf(stderr, "trigctl replay: %s\n", err);
        lt_rf_free_list(listed);
        lt_pipeline_config_free(cfg);
        return 1;
    }
    meas.scan_s = lt_mono_s() - t_scan;
    char tmpl[] = "/tmp/trigctl-replay-XXXXXX";
    char out[4096];
    if (outdir) {
        snprintf(out, sizeof out, "%s", outdir);
        if (mkdir(out, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "trigctl replay: %s: %s\n", out, strerror(errno));
            replay_run_free(&run);
            lt_rf_free_list(listed);
            lt_pipeline_config_free(cfg);
            return 1;
        }
    } else {
        const char *td = getenv("TMPDIR");
        snprintf(out, sizeof out, "%s/trigctl-replay-XXXXXX", td && *td ? td : "/tmp");
        if (!mkdtemp(out)) {
            fprintf(stderr, "trigctl replay: cannot make a temporary directory (%s): %s\n", tmpl,
                    strerror(errno));
            replay_run_free(&run);
            lt_rf_free_list(listed);
            lt_pipeline_config_free(cfg);
            return 1;
        }
    }
    /* Replay differs from trigd only in its sources (the run's files) and in what it reports:
     * the pipeline adapts the configuration (cells, pacing, memory bound, ring gate). */
    struct lt_pipeline_file_cell fcells[LT_MAX_CELLS];
    for (uint32_t i = 0; i < run.n_cells; i++)
        fcells[i] = (struct lt_pipeline_file_cell){run.cells[i].id, run.cells[i].streams};
    ro.files = files;
    ro.n_files = n_files;
    struct lt_pipeline_run_memory pmem = {0};
    if (lt_pipeline_config_use_run(cfg, run.path, run.run_number, fcells, run.n_cells,
                                   run.data_seconds, out, &ro, &pmem, err, sizeof err) != 0) {
        fprintf(stderr, "trigctl replay: %s\n", err);
        if (!outdir) remove_tmp(out);
        replay_run_free(&run);
        lt_rf_free_list(listed);
        lt_pipeline_config_free(cfg);
        return 1;
    }
    mem.bound_bytes = pmem.bound_bytes;
    mem.ring_bytes = pmem.ring_bytes;
    mem.read_ahead_bytes = pmem.read_ahead_bytes;
    char **before = replay_list_dir(out);

    struct trig_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
    int status = 0;
    struct lt_pipeline *pipe = NULL;
    struct lt_pipeline_stats st = {0};
    int tty = isatty(STDERR_FILENO);
    double t_open = lt_mono_s(), t0 = 0, t_src = 0, t1;
    /* Create opens the cells first: their file sources ask HDF5 where the frames lie before
     * the writer (the other HDF5 user) starts. */
    struct lt_pipeline_options popt = {
        .on_decision = on_decision, .on_inhibited = on_inhibited, .on_decision_user = &log};
    if (lt_pipeline_create(cfg, &popt, &pipe, err, sizeof err) != 0) {
        fprintf(stderr, "trigctl replay: %s\n", err);
        status = 1;
        goto done;
    }
    t0 = lt_mono_s();
    meas.open_s = t0 - t_open;
    if (lt_pipeline_start(pipe, err, sizeof err) != 0) {
        fprintf(stderr, "trigctl replay: %s\n", err);
        status = 1;
        goto done;
    }
    while (!lt_pipeline_sources_done(pipe)) {
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
        if (tty) progress(pipe, run.total_frames, t0, 0);
    }
    if (tty) progress(pipe, run.total_frames, t0, 1);
    t_src = lt_mono_s();
    if (lt_pipeline_drain(pipe) != 0) {
        fprintf(stderr, "trigctl replay: not every trigger record could be written\n");
        status = 1;
    }
done:
    t1 = lt_mono_s();
    if (t0 > 0 && t_src > 0) {
        meas.run_s = t_src - t0;
        meas.drain_s = t1 - t_src;
    }
    if (pipe) lt_pipeline_stats(pipe, &st);
    meas.gate_wait_s = st.ring_gate_wait_ns * 1e-9;
    meas.decisions_held = st.decisions_held;
    json_t *counters = pipe ? pipeline_json(&st) : NULL;
    /* A read that failed (an I/O error, a file truncated under us) stopped its cell: the run
     * is not complete, and no report may look as if it were. */
    struct lt_rf_stats rs;
    lt_rf_totals(&rs);
    if (rs.read_errors) {
        fprintf(stderr, "trigctl replay: %llu cell(s) stopped on a read error (logged above)\n",
                (unsigned long long)rs.read_errors);
        status = 1;
    }
    lt_pipeline_stop(pipe);
    measure_end(&meas, &mem);
    if (status == 0) {
        struct replay_result r = {.run = &run,
                                  .trig = log.t,
                                  .n_trig = log.n,
                                  .trig_total = log.total,
                                  .inhibited_total = log.inhibited,
                                  .cand = log.c,
                                  .cand_not_kept = log.c_not_kept,
                                  .wall_s = t1 - t0,
                                  .speed = ro.speed,
                                  .mem = mem,
                                  .m = meas,
                                  .out_dir = out,
                                  .out_kept = outdir != NULL,
                                  .pipeline = counters};
        if (replay_scan_output(out, before, &r.out, err, sizeof err) != 0) {
            fprintf(stderr, "trigctl replay: %s\n", err);
            status = 1;
        } else {
            json_t *doc = replay_report_json(&r);
            if (!doc) {
                fprintf(stderr, "trigctl replay: out of memory for the report\n");
                status = 1;
            } else if (json) {
                json_dumpf(doc, stdout, JSON_INDENT(2));
                printf("\n");
            } else {
                replay_report_print(doc, &r);
            }
            if (doc && report && json_dump_file(doc, report, JSON_INDENT(2)) != 0) {
                fprintf(stderr, "trigctl replay: cannot write the report to %s\n", report);
                status = 1;
            }
            json_decref(doc);
        }
    }
    json_decref(counters);
    replay_free_list(before);
    if (!outdir) remove_tmp(out);
    free(log.t);
    free(log.c);
    pthread_mutex_destroy(&log.lock);
    replay_run_free(&run);
    lt_rf_free_list(listed);
    lt_pipeline_config_free(cfg);
    return status;
}
