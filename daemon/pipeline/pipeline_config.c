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

int lt_pipeline_config_load(const char *path, struct lt_pipeline_config **out, char *err,
                            size_t errlen)
{
    *out = NULL;
    struct lt_pipeline_config *pc = malloc(sizeof *pc);
    if (!pc) {
        lt_seterr(err, errlen, "configuration: out of memory");
        return LT_ENOMEM;
    }
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

int lt_pipeline_config_use_run_file(struct lt_pipeline_config *pc, const char *path,
                                    uint32_t run_number, const struct lt_pipeline_file_cell *cells,
                                    uint32_t n_cells, double data_seconds, const char *output_dir,
                                    char *err, size_t errlen)
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
    /* Cells from the file; everything in this process, unpaced, no operator sockets. */
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
    }
    cfg->sim.realtime_factor = 0;
    cfg->sim.n_inject = 0;
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
    /* Unpaced, a cell's source can run far ahead of the decisions (the aggregator waits for the
     * slowest cell), so a daemon-sized latency ring would have overwritten a trigger's window by
     * the time its request arrives. The run file is in memory anyway: let the ring hold the
     * whole run, bounded like the queues above. */
    uint64_t run_ms = (uint64_t)(data_seconds * 1e3) + 1000;
    uint64_t ring_bytes_per_ms =
        streams * sizeof(lt_wibeth_frame) * (LT_CLOCK_HZ / 1000) / LT_TICKS_PER_FRAME;
    uint64_t max_ms = ring_bytes_per_ms ? RUN_FILE_QUEUE_BYTES / ring_bytes_per_ms : run_ms;
    if (run_ms > max_ms) run_ms = max_ms;
    if (run_ms > cfg->buffers.latency_ms) cfg->buffers.latency_ms = (uint32_t)run_ms;
    snprintf(cfg->endpoints.candidates, sizeof cfg->endpoints.candidates,
             "inproc://replay-candidates");
    snprintf(cfg->endpoints.requests, sizeof cfg->endpoints.requests, "inproc://replay-requests");
    cfg->endpoints.candidates_bind[0] = cfg->endpoints.requests_bind[0] = 0;
    snprintf(cfg->writer.output_dir, sizeof cfg->writer.output_dir, "%s", output_dir);
    snprintf(cfg->monitor.control_endpoint, sizeof cfg->monitor.control_endpoint, "off");
    snprintf(cfg->monitor.status_endpoint, sizeof cfg->monitor.status_endpoint, "off");
    return 0;
}
