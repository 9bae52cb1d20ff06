/* The cells of this process (roles `all` and `cell`). Per cell two threads:
 *   data thread:    source -> latency ring -> kernel (fpga/accel.h) -> CANDIDATES/HEARTBEAT
 *                   messages on a ZeroMQ PUSH socket (ZMQ_DONTWAIT: a full socket drops the
 *                   message, counted and logged, and never stalls the data path);
 *   request thread: a DEALER socket (routing id "cell-<id>") that answers DATA_REQUESTs from
 *                   the ring with one WIBEth fragment per stream, waiting up to
 *                   readout.data_wait_ms for a window that has not fully arrived.
 * All cells of the process share one accelerator handle (one slot each). */
#ifndef TRIGD_CELL_H
#define TRIGD_CELL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "status.h"

struct trigd_cells;

/* Set up the cells of cfg whose ids are selected (sel[i] != 0 for cfg->cells[i]; NULL = all):
 * sources, rings, the accelerator with its weights, sockets (zctx shared with the module in
 * role `all`). Nothing runs yet. */
int trigd_cells_create(const struct trigd_config *cfg, const uint8_t *sel, void *zctx,
                       struct trigd_cells **out, char *err, size_t errlen);
int trigd_cells_start(struct trigd_cells *c, char *err, size_t errlen);
/* Stop the sources: the data threads finish the blocks in the kernel, send a final heartbeat and
 * exit. The request threads keep serving the rings. */
void trigd_cells_stop_sources(struct trigd_cells *c);
/* 1 when every data thread has finished (sources stopped or ran out of data). */
int trigd_cells_sources_done(const struct trigd_cells *c);
/* Stop the request threads and free everything. */
void trigd_cells_destroy(struct trigd_cells *c);

uint32_t trigd_cells_count(const struct trigd_cells *c);
const struct trigd_cell_status *trigd_cells_status(const struct trigd_cells *c, uint32_t i);

#endif
