/* A cell's data source: produces the cell's frames one frame period (all streams, one
 * timestamp) at a time, straight into the latency ring's slot. Three kinds: the live simulator,
 * an HDF5 run file, WIBEth frames received over UDP. Pacing (real-time factor) is the caller's
 * job; a source only says what time its next period has. */
#ifndef TRIGD_SOURCE_H
#define TRIGD_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "wibeth.h"

struct trigd_source;

struct trigd_source_ops {
    const char *name;
    /* Fill frames[0 .. n_streams) with the next period and set *ts. Returns 1 for a period,
     * 0 when none is ready yet (udp: nothing arrived within the poll), LT_ENOTFOUND at the end
     * of the data (file), another negative lt_error on failure. */
    int (*next)(struct trigd_source *s, lt_wibeth_frame *frames, uint64_t *ts);
    void (*close)(struct trigd_source *s);
};

struct trigd_source {
    const struct trigd_source_ops *ops;
    uint32_t cell;
    uint32_t n_streams;
    int paced;       /* 1: the caller paces it in data time (sim, file); 0: it arrives (udp) */
    uint64_t errors; /* malformed input dropped (udp) etc., counted by the source */
    void *impl;
};

/* Open the source of cfg->cells[index]; start_ticks is where a sim cell begins (aligned to a
 * frame period). */
int trigd_source_open(const struct trigd_config *cfg, uint32_t index, uint64_t start_ticks,
                      struct trigd_source **out, char *err, size_t errlen);
void trigd_source_close(struct trigd_source *s);

int trigd_source_sim_open(const struct trigd_config *cfg, uint32_t index, uint64_t start_ticks,
                          struct trigd_source **out, char *err, size_t errlen);
int trigd_source_udp_open(const struct trigd_config *cfg, uint32_t index, struct trigd_source **out,
                          char *err, size_t errlen);
int trigd_source_file_open(const struct trigd_config *cfg, uint32_t index,
                           struct trigd_source **out, char *err, size_t errlen);

/* The lt_sim_config trigd uses for a sim cell: tests build the same simulator from it to
 * regenerate the frames a record must hold. */
struct lt_sim_config;
void trigd_sim_config_for_cell(const struct trigd_config *cfg, uint32_t index, uint64_t start_ticks,
                               struct lt_sim_config *out);
/* Queue the configured injections of this cell that are not before start_ticks; returns how
 * many were queued. */
struct lt_sim_cell;
int trigd_sim_inject_configured(const struct trigd_config *cfg, uint32_t index,
                                uint64_t start_ticks, struct lt_sim_cell *sim);

/* The data time a cell starts at: sim.start_s, or with sim.epoch_unix_s set and real-time
 * pacing, the data time the run has reached now. Aligned to a frame period. */
uint64_t trigd_sim_start_ticks(const struct trigd_config *cfg);

#endif
