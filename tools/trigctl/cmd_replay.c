/* trigctl replay RUN.h5: the real trigger pipeline of trigd (cells with their kernel, the
 * aggregator, readout, record builder and writer; all in this process) fed from a run file as fast
 * as the machine allows, then a report: the triggers, efficiency against /Truth, fake triggers,
 * data reduction and throughput (replay.h). The cells and their sizes come from the file; the
 * rest of the configuration from -c (default: trigd's embedded one). */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cell.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "module.h"
#include "module_mailbox.h"
#include "replay.h"
#include "status.h"
#include "ticks.h"
#include "wibeth.h"

#define REPLAY_QUEUE_BYTES (1ULL << 30) /* records held by the readout and writer queues */
#define REPLAY_MAX_QUEUE   256U

struct trig_log {
    pthread_mutex_t lock;
    struct replay_trigger *t;
    size_t n, cap;
    uint64_t total;
};

/* Module thread: one call per issued decision. */
static void on_decision(void *user, const struct trigd_decision *d)
{
    struct trig_log *l = user;
    pthread_mutex_lock(&l->lock);
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
        memcpy(t->cells, d->cells, sizeof t->cells);
    }
    pthread_mutex_unlock(&l->lock);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: trigctl replay RUN.h5 [-c trigd.conf] [-o OUTDIR] [--json] [--report F] [-q]\n"
            "Run trigd's pipeline on a run file (trigctl sim) as fast as possible and report\n"
            "the triggers, efficiency against /Truth, fake trigger rate, data reduction and\n"
            "throughput.\n"
            "  -c, --config FILE  trigd configuration (trigger, readout, kernel, buffers,\n"
            "                     writer keys); cells come from the run file (default: the\n"
            "                     embedded trigd configuration)\n"
            "  -o, --output DIR   keep the trigger records here (default: a temporary\n"
            "                     directory, removed at the end)\n"
            "      --json         print the report as JSON\n"
            "      --report FILE  also write the JSON report to FILE\n"
            "  -q, --quiet        log warnings and errors only\n"
            "exit: 0 done, 1 bad file or pipeline failure, 2 usage\n");
}

/* Cells from the file; everything in this process, unpaced, no operator sockets. */
static void adapt_config(struct trigd_config *cfg, const struct replay_run *run, const char *out)
{
    cfg->role = TRIGD_ROLE_ALL;
    cfg->run_number = run->run_number;
    cfg->duration_s = 0;
    cfg->n_cells = run->n_cells;
    for (uint32_t i = 0; i < run->n_cells; i++) {
        struct trigd_cell_config *c = &cfg->cells[i];
        memset(c, 0, sizeof *c);
        c->id = run->cells[i].id;
        c->source = TRIGD_SOURCE_FILE;
        c->n_fembs = run->cells[i].streams / LT_STREAMS_PER_FEMB;
        snprintf(c->file, sizeof c->file, "%.*s", (int)sizeof c->file - 1, run->path);
    }
    cfg->sim.realtime_factor = 0;
    cfg->sim.n_inject = 0;
    /* Unpaced, a burst of triggers reaches the writer in a fraction of its data time, and a
     * daemon-sized queue would inhibit some of them, which a measurement should not do. Give the
     * readout and the writer deeper queues, bounded by the memory their records hold. */
    uint64_t streams = 0;
    for (uint32_t i = 0; i < run->n_cells; i++) streams += run->cells[i].streams;
    uint64_t rec_bytes =
        ((cfg->readout.pre_ticks + cfg->readout.post_ticks) / LT_TICKS_PER_FRAME + 2) * streams *
        sizeof(lt_wibeth_frame);
    uint64_t depth = rec_bytes ? REPLAY_QUEUE_BYTES / rec_bytes : REPLAY_MAX_QUEUE;
    if (depth > REPLAY_MAX_QUEUE) depth = REPLAY_MAX_QUEUE;
    if (depth > cfg->buffers.decision_queue) cfg->buffers.decision_queue = (uint32_t)depth;
    if (depth > cfg->writer.queue_depth) cfg->writer.queue_depth = (uint32_t)depth;
    /* Unpaced, a cell's source can run far ahead of the decisions (the aggregator waits for the
     * slowest cell), so a daemon-sized latency ring would have overwritten a trigger's window by
     * the time its request arrives. The run file is in memory anyway: let the ring hold the
     * whole run, bounded like the queues above. */
    uint64_t run_ms = (uint64_t)(run->data_seconds * 1e3) + 1000;
    uint64_t ring_bytes_per_ms =
        streams * sizeof(lt_wibeth_frame) * (LT_CLOCK_HZ / 1000) / LT_TICKS_PER_FRAME;
    uint64_t max_ms = ring_bytes_per_ms ? REPLAY_QUEUE_BYTES / ring_bytes_per_ms : run_ms;
    if (run_ms > max_ms) run_ms = max_ms;
    if (run_ms > cfg->buffers.latency_ms) cfg->buffers.latency_ms = (uint32_t)run_ms;
    snprintf(cfg->endpoints.candidates, sizeof cfg->endpoints.candidates,
             "inproc://replay-candidates");
    snprintf(cfg->endpoints.requests, sizeof cfg->endpoints.requests, "inproc://replay-requests");
    cfg->endpoints.candidates_bind[0] = cfg->endpoints.requests_bind[0] = 0;
    snprintf(cfg->writer.output_dir, sizeof cfg->writer.output_dir, "%.*s",
             (int)sizeof cfg->writer.output_dir - 1, out);
    snprintf(cfg->monitor.control_endpoint, sizeof cfg->monitor.control_endpoint, "off");
    snprintf(cfg->monitor.status_endpoint, sizeof cfg->monitor.status_endpoint, "off");
}

static void progress(struct trigd_cells *cells, uint64_t total, double t0, int done)
{
    uint64_t f = 0;
    for (uint32_t i = 0; i < trigd_cells_count(cells); i++)
        f += atomic_load(&trigd_cells_status(cells, i)->frames);
    double frac = total ? (double)f / (double)total : 1.0;
    if (frac > 1) frac = 1;
    char bar[41];
    int fill = (int)(frac * 40);
    for (int i = 0; i < 40; i++) bar[i] = i < fill ? '#' : '.';
    bar[40] = 0;
    fprintf(stderr, "\r[%s] %5.1f%%  %.1f s%s", bar, 100 * frac, lt_mono_s() - t0,
            done ? "\n" : "");
    fflush(stderr);
}

static json_t *pipeline_json(const struct trigd_module_status *m, struct trigd_cells *cells)
{
    uint64_t ring_over = 0, send_drop = 0, accel_drop = 0, cands = 0;
    for (uint32_t i = 0; cells && i < trigd_cells_count(cells); i++) {
        const struct trigd_cell_status *s = trigd_cells_status(cells, i);
        ring_over += atomic_load(&s->ring_overwritten);
        send_drop += atomic_load(&s->msgs_dropped);
        accel_drop += atomic_load(&s->kernel_dropped);
        cands += atomic_load(&s->candidates);
    }
#define A(x) ((json_int_t)atomic_load(&m->x))
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "candidates", (json_int_t)cands, "decisions", A(agg_decisions), "inhibited",
                     A(agg_inhibited), "late_candidates", A(agg_late), "records_built",
                     A(records_built), "records_written", A(records_written), "records_failed",
                     A(records_failed), "fragments_not_found", A(fragments_not_found),
                     "fragments_incomplete", A(fragments_incomplete), "ring_overwritten",
                     (json_int_t)ring_over, "messages_dropped", (json_int_t)send_drop,
                     "accel_dropped", (json_int_t)accel_drop, "reply_timeouts", A(reply_timeouts));
#undef A
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

int cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"output", required_argument, 0, 'o'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"report", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *conf = NULL, *outdir = NULL, *report = NULL;
    int json = 0, quiet = 0, opt;
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
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    if (strlen(path) >= TRIGD_PATH_MAX || (outdir && strlen(outdir) >= TRIGD_PATH_MAX - 64)) {
        fprintf(stderr, "trigctl replay: path too long (at most %d characters)\n",
                TRIGD_PATH_MAX - 64);
        return 2;
    }
    lt_log_set_level(quiet || json ? LT_LOG_WARNING : LT_LOG_INFO);
    char err[2048];
    static struct trigd_config cfg;
    if (trigd_config_load(conf, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "trigctl replay: configuration: %s\n", err);
        return 1;
    }
    static struct replay_run run;
    if (replay_scan_run(path, &run, err, sizeof err) != 0) {
        fprintf(stderr, "trigctl replay: %s\n", err);
        return 1;
    }
    char tmpl[] = "/tmp/trigctl-replay-XXXXXX";
    char out[4096];
    if (outdir) {
        snprintf(out, sizeof out, "%s", outdir);
        if (mkdir(out, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "trigctl replay: %s: %s\n", out, strerror(errno));
            replay_run_free(&run);
            return 1;
        }
    } else {
        const char *td = getenv("TMPDIR");
        snprintf(out, sizeof out, "%s/trigctl-replay-XXXXXX", td && *td ? td : "/tmp");
        if (!mkdtemp(out)) {
            fprintf(stderr, "trigctl replay: cannot make a temporary directory (%s): %s\n", tmpl,
                    strerror(errno));
            replay_run_free(&run);
            return 1;
        }
    }
    adapt_config(&cfg, &run, out);
    char **before = replay_list_dir(out);

    struct trig_log log = {.lock = PTHREAD_MUTEX_INITIALIZER};
    int status = 0, rc;
    void *zctx = zmq_ctx_new();
    struct trigd_cells *cells = NULL;
    struct trigd_module *mod = NULL;
    int tty = isatty(STDERR_FILENO);
    double t_load = lt_mono_s(), t0 = 0, t1;
    if (tty)
        fprintf(stderr, "preloading %u cell(s), %.1f MB of frames...\n", run.n_cells,
                run.raw_bytes / 1e6);
    /* Cells first: they preload the file before the writer (the other HDF5 user) starts. */
    if ((rc = trigd_cells_create(&cfg, NULL, zctx, &cells, err, sizeof err)) != 0 ||
        (rc = trigd_module_create(&cfg, zctx, &mod, err, sizeof err)) != 0) {
        fprintf(stderr, "trigctl replay: %s\n", err);
        status = 1;
        goto done;
    }
    struct trigd_module_ctl *ctl = trigd_module_ctl(mod);
    ctl->on_decision = on_decision;
    ctl->on_decision_user = &log;
    t0 = lt_mono_s();
    if ((rc = trigd_module_start(mod, err, sizeof err)) != 0 ||
        (rc = trigd_cells_start(cells, err, sizeof err)) != 0) {
        fprintf(stderr, "trigctl replay: %s\n", err);
        status = 1;
        goto done;
    }
    while (!trigd_cells_sources_done(cells)) {
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
        if (tty) progress(cells, run.total_frames, t0, 0);
    }
    if (tty) progress(cells, run.total_frames, t0, 1);
    trigd_cells_stop_sources(cells);
    if (trigd_module_drain(mod) != 0) {
        fprintf(stderr, "trigctl replay: not every trigger record could be written\n");
        status = 1;
    }
done:
    t1 = lt_mono_s();
    json_t *pipe = mod ? pipeline_json(trigd_module_status(mod), cells) : NULL;
    trigd_cells_destroy(cells);
    trigd_module_destroy(mod);
    zmq_ctx_term(zctx);
    if (status == 0) {
        struct replay_result r = {.run = &run,
                                  .trig = log.t,
                                  .n_trig = log.n,
                                  .trig_total = log.total,
                                  .wall_s = t1 - t0,
                                  .preload_s = t0 - t_load,
                                  .out_dir = out,
                                  .out_kept = outdir != NULL,
                                  .pipeline = pipe};
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
    json_decref(pipe);
    replay_free_list(before);
    if (!outdir) remove_tmp(out);
    free(log.t);
    pthread_mutex_destroy(&log.lock);
    replay_run_free(&run);
    return status;
}
