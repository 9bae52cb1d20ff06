/* The pipeline's configuration handle: see pipeline.h. Parsing is daemon/config's; here only
 * what a run file as the source changes in it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lt_error.h"
#include "pipeline.h"
#include "ticks.h"
#include "wibeth.h"

_Static_assert(LT_PIPELINE_PATH_MAX == TRIGD_PATH_MAX, "one path limit");

#define RUN_FILE_QUEUE_BYTES (1ULL << 30) /* records held by the readout and writer queues */
#define RUN_FILE_MAX_QUEUE   256U
#define RUN_FILE_MEMORY      (1ULL << 30)  /* use_run_file: rings + read-ahead */
#define RUN_AHEAD_MAX        (64ULL << 20) /* read-ahead per cell, at most */
#define RUN_AHEAD_SHARE      4U            /* at most 1/4 of the bound goes to read-ahead */
/* Ring length past the shortest workable one: with the gate a longer ring buys only slack
 * between the cells, and every byte of it is memory the kernel must clear and (mlock) pin. */
#define RUN_RING_FACTOR 4U
#define RUN_RING_MIN_MS 20U

int lt_pipeline_config_load(const char *path, struct lt_pipeline_config **out, char *err,
                            size_t errlen)
{
    *out = NULL;
    struct lt_pipeline_config *pc = malloc(sizeof *pc);
    if (!pc) {
        lt_seterr(err, errlen, "configuration: out of memory");
        return LT_ENOMEM;
    }
    pc->ring_gate = 0;
    int rc = trigd_config_load(path, &pc->c, err, errlen);
    if (rc) {
        free(pc);
        return rc;
    }
    *out = pc;
    return 0;
}

void lt_pipeline_config_free(struct lt_pipeline_config *cfg)
{
    free(cfg);
}

/* The shortest ring an unpaced cell can run with (the ring gate, cell.h): what a decision can
 * still read once the trigger has seen all of this cell's data (readout window, the algorithms'
 * look-back, the watermark slack), plus the block being filled and a few blocks of margin. */
static uint64_t min_ring_ticks(const struct trigd_config *cfg)
{
    const struct trigd_trigger_config *t = &cfg->trigger;
    uint64_t back = 0;
    if (t->coincidence.enabled) back = t->coincidence.window_ticks;
    if (t->summed.enabled && t->summed.window_ticks > back) back = t->summed.window_ticks;
    return cfg->readout.pre_ticks + cfg->readout.post_ticks + back + t->watermark_slack_ticks +
           (uint64_t)cfg->kernel.block_periods * LT_TICKS_PER_FRAME * 4;
}

int lt_pipeline_config_use_run(struct lt_pipeline_config *pc, const char *path, uint32_t run_number,
                               const struct lt_pipeline_file_cell *cells, uint32_t n_cells,
                               double data_seconds, const char *output_dir,
                               const struct lt_pipeline_run_options *o,
                               struct lt_pipeline_run_memory *mem, char *err, size_t errlen)
{
    struct trigd_config *cfg = &pc->c;
    if (n_cells == 0 || n_cells > TRIGD_MAX_CELLS) {
        lt_seterr(err, errlen, "%s: %u cells (1 to %u)", path, n_cells, TRIGD_MAX_CELLS);
        return LT_EINVAL;
    }
    if (strlen(path) >= sizeof cfg->cells[0].file ||
        strlen(output_dir) >= sizeof cfg->writer.output_dir) {
        lt_seterr(err, errlen, "path too long (at most %zu characters)",
                  sizeof cfg->writer.output_dir - 1);
        return LT_EINVAL;
    }
    uint64_t streams = 0;
    for (uint32_t i = 0; i < n_cells; i++) {
        uint32_t s = cells[i].streams;
        if (cells[i].id >= TRIGD_MAX_CELLS || s == 0 || s % LT_STREAMS_PER_FEMB ||
            s / LT_STREAMS_PER_FEMB > LT_FEMBS_PER_CELL) {
            lt_seterr(err, errlen, "%s: cell %u: %u streams is not a whole number of boards", path,
                      cells[i].id, s);
            return LT_EINVAL;
        }
        streams += s;
    }
    /* The latency ring as configured: paced, it is the one that must fit. */
    uint32_t configured_ring_ms = cfg->buffers.latency_ms;
    /* Cells from the run; everything in this process, no operator sockets. */
    cfg->role = TRIGD_ROLE_ALL;
    cfg->run_number = run_number;
    cfg->duration_s = 0;
    cfg->n_cells = n_cells;
    for (uint32_t i = 0; i < n_cells; i++) {
        struct trigd_cell_config *c = &cfg->cells[i];
        memset(c, 0, sizeof *c);
        c->id = cells[i].id;
        c->source = TRIGD_SOURCE_FILE;
        c->n_fembs = cells[i].streams / LT_STREAMS_PER_FEMB;
        snprintf(c->file, sizeof c->file, "%s", path);
        if (o && o->files) {
            c->files = o->files;
            c->n_files = (uint32_t)o->n_files;
        }
    }
    double speed = o ? o->speed : 0;
    cfg->sim.realtime_factor = speed;
    cfg->sim.n_inject = 0;
    /* An offline run's records are reproducible from the run file: a sync per record buys
     * nothing unless asked for; each file is still synced when it is closed. */
    if (o) cfg->writer.sync_each_record = o->durable;
    /* An offline run has no dead time of its own: a decision the readout or writer cannot take
     * yet waits for them (its sources wait through the ring gate) instead of being inhibited,
     * so what is measured does not depend on the machine's load. */
    cfg->trigger.wait_when_busy = 1;
    /* Unpaced, a burst of triggers reaches the writer in a fraction of its data time, and a
     * daemon-sized queue would inhibit some of them, which a measurement should not do. Give the
     * readout and the writer deeper queues, bounded by the memory their records hold. */
    uint64_t rec_bytes =
        ((cfg->readout.pre_ticks + cfg->readout.post_ticks) / LT_TICKS_PER_FRAME + 2) * streams *
        sizeof(lt_wibeth_frame);
    uint64_t depth = rec_bytes ? RUN_FILE_QUEUE_BYTES / rec_bytes : RUN_FILE_MAX_QUEUE;
    if (depth > RUN_FILE_MAX_QUEUE) depth = RUN_FILE_MAX_QUEUE;
    if (depth > cfg->buffers.decision_queue) cfg->buffers.decision_queue = (uint32_t)depth;
    if (depth > cfg->writer.queue_depth) cfg->writer.queue_depth = (uint32_t)depth;

    /* The cells' memory: read-ahead per cell (at most 64 MiB, at most a quarter of the bound),
     * the rest for the latency rings, which never need to be longer than the run. An unpaced
     * source waits for the trigger before it overwrites what a readout may still read (the
     * ring gate), so a short ring costs speed (the cells run in closer step), never data. */
    uint64_t bound = o ? o->memory_bytes : RUN_FILE_MEMORY;
    uint64_t ahead = bound / RUN_AHEAD_SHARE / n_cells;
    if (ahead > RUN_AHEAD_MAX) ahead = RUN_AHEAD_MAX;
    uint64_t period_bytes = streams * sizeof(lt_wibeth_frame);
    if (ahead < period_bytes) ahead = period_bytes; /* at least one period of every stream */
    cfg->buffers.file_read_ahead_bytes = ahead;
    uint64_t ring_budget = bound > ahead * n_cells ? bound - ahead * n_cells : 0;
    uint64_t bytes_per_ms = period_bytes * (LT_CLOCK_HZ / 1000) / LT_TICKS_PER_FRAME;
    uint64_t need_ms = (uint64_t)(lt_ticks_to_seconds(min_ring_ticks(cfg)) * 1e3) + 1;
    uint64_t run_ms = (uint64_t)(data_seconds * 1e3) + 1;
    uint64_t ring_ms = bytes_per_ms ? ring_budget / bytes_per_ms : run_ms;
    uint64_t want_ms = need_ms * RUN_RING_FACTOR;
    if (want_ms < RUN_RING_MIN_MS) want_ms = RUN_RING_MIN_MS;
    if (ring_ms > want_ms) ring_ms = want_ms;
    if (ring_ms > run_ms) ring_ms = run_ms;
    if (speed > 0 && ring_ms < configured_ring_ms) {
        /* Paced like trigd: no gate, so the configured ring is the one that must fit. */
        ring_ms = configured_ring_ms;
    }
    if (ring_ms < need_ms) {
        lt_seterr(err, errlen,
                  "memory bound %.0f MB is too small for %u cell(s) of %llu streams: the latency "
                  "rings need at least %llu ms of data (%.0f MB) beside %.0f MB of read-ahead",
                  bound / 1e6, n_cells, (unsigned long long)streams, (unsigned long long)need_ms,
                  (double)(need_ms * bytes_per_ms) / 1e6, (double)(ahead * n_cells) / 1e6);
        return LT_EINVAL;
    }
    if (ring_ms > UINT32_MAX) ring_ms = UINT32_MAX;
    cfg->buffers.latency_ms = (uint32_t)ring_ms;
    pc->ring_gate = speed <= 0;
    if (mem) {
        mem->bound_bytes = bound;
        mem->read_ahead_bytes = ahead * n_cells;
        mem->ring_bytes = ring_ms * bytes_per_ms;
    }

    snprintf(cfg->endpoints.candidates, sizeof cfg->endpoints.candidates,
             "inproc://replay-candidates");
    snprintf(cfg->endpoints.requests, sizeof cfg->endpoints.requests, "inproc://replay-requests");
    cfg->endpoints.candidates_bind[0] = cfg->endpoints.requests_bind[0] = 0;
    snprintf(cfg->writer.output_dir, sizeof cfg->writer.output_dir, "%s", output_dir);
    snprintf(cfg->monitor.control_endpoint, sizeof cfg->monitor.control_endpoint, "off");
    snprintf(cfg->monitor.status_endpoint, sizeof cfg->monitor.status_endpoint, "off");
    return 0;
}

int lt_pipeline_config_use_run_file(struct lt_pipeline_config *pc, const char *path,
                                    uint32_t run_number, const struct lt_pipeline_file_cell *cells,
                                    uint32_t n_cells, double data_seconds, const char *output_dir,
                                    char *err, size_t errlen)
{
    return lt_pipeline_config_use_run(pc, path, run_number, cells, n_cells, data_seconds,
                                      output_dir, NULL, NULL, err, errlen);
}
