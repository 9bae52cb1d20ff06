/* A cell's data source: produces the cell's frames one frame period (all streams, one
 * timestamp) at a time, straight into the latency ring's slot. Three kinds: the live simulator,
 * an HDF5 run file, WIBEth frames received over UDP. Pacing (real-time factor) is the caller's
 * job; a source only says what time its next period has. */
#ifndef TRIGD_SOURCE_H
#define TRIGD_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "chmap.h"
#include "wibeth.h"

#define TRIGD_PATH_MAX 1024 /* file names in the configuration, with the NUL */

enum trigd_source_kind { TRIGD_SOURCE_SIM = 0, TRIGD_SOURCE_FILE = 1, TRIGD_SOURCE_UDP = 2 };

/* One entry of the configuration's `cells` list. */
struct trigd_cell_config {
    uint32_t id;
    enum trigd_source_kind source;
    uint32_t n_fembs;
    char file[TRIGD_PATH_MAX]; /* source = "file": HDF5 run file */
    char udp_bind[64];         /* source = "udp": address to bind */
    uint32_t udp_port;
};

/* An event the live simulator injects (tests, calibration): at data time start_s + time_ms. */
#define TRIGD_MAX_INJECT 256U
struct trigd_inject {
    uint32_t cell;
    double time_ms;
    uint32_t kind;     /* enum lt_truth_kind */
    uint32_t topology; /* enum lt_sim_topology */
    double energy_mev;
};

/* Live simulator settings shared by all "sim" cells (each cell's stream is seeded from seed and
 * its id, so cells differ but a run is reproducible). */
struct trigd_sim_config {
    uint64_t seed;
    double realtime_factor;    /* 1 = real time, 0.1 = ten times slower, 0 = as fast as possible */
    double noise_rms;          /* ADC counts */
    double ar39_rate_hz;       /* per cell */
    double radiological_scale; /* x the simulator's other radiologicals and captures; 0 = off */
    double low_energy_rate_hz;
    double high_energy_rate_hz;
    double start_s;      /* data time of the first frame, seconds */
    double epoch_unix_s; /* wall time at which data time was start_s (0 = process start) */
    uint32_t n_inject;
    struct trigd_inject inject[TRIGD_MAX_INJECT];
};

/* A source's configuration slice (daemon/config/config_slices.h fills the cells' slice it comes
 * from): its cell's entry and, for "sim", the simulator settings all sim cells share. Read while
 * the source opens. */
struct trigd_source_config {
    const struct trigd_cell_config *cell;
    const struct trigd_sim_config *sim;
};

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

/* Open the source of sc->cell; start_ticks is where a sim cell begins (aligned to a frame
 * period). */
int trigd_source_open(const struct trigd_source_config *sc, uint64_t start_ticks,
                      struct trigd_source **out, char *err, size_t errlen);
void trigd_source_close(struct trigd_source *s);

int trigd_source_sim_open(const struct trigd_source_config *sc, uint64_t start_ticks,
                          struct trigd_source **out, char *err, size_t errlen);
int trigd_source_udp_open(const struct trigd_source_config *sc, struct trigd_source **out,
                          char *err, size_t errlen);
int trigd_source_file_open(const struct trigd_source_config *sc, struct trigd_source **out,
                           char *err, size_t errlen);

/* The lt_sim_config trigd uses for a sim cell: tests build the same simulator from it to
 * regenerate the frames a record must hold. */
struct lt_sim_config;
void trigd_sim_config_for_cell(const struct trigd_source_config *sc, uint64_t start_ticks,
                               struct lt_sim_config *out);
/* Queue the configured injections of this cell that are not before start_ticks; returns how
 * many were queued. */
struct lt_sim_cell;
int trigd_sim_inject_configured(const struct trigd_source_config *sc, uint64_t start_ticks,
                                struct lt_sim_cell *sim);

/* The data time a cell starts at: sim.start_s, or with sim.epoch_unix_s set and real-time
 * pacing, the data time the run has reached now. Aligned to a frame period. */
uint64_t trigd_sim_start_ticks(const struct trigd_sim_config *sim);

#endif
