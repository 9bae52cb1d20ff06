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

#include "source.h"

/* The kernel group of the configuration (docs/config.md). */
struct trigd_kernel_config {
    char backend[16]; /* "cpu" | "xrt" */
    uint32_t threads;
    char weights[TRIGD_PATH_MAX]; /* "" = the weights the kernel ships as default */
    uint32_t block_periods;       /* frame periods per submit */
    uint32_t max_candidates;      /* per block */
    int32_t threshold;            /* score threshold for candidates (0 = the weights' own) */
    uint32_t gap_w, gap_t;        /* candidate grouping gaps (docs/kernel.md) */
    char xclbin[TRIGD_PATH_MAX];
    uint32_t device_index;
    char kernel_name[64];    /* xrt: kernel in the xclbin ("" = the backend's default) */
    uint32_t compute_units;  /* xrt: compute units to use (0 = all in the xclbin) */
    uint32_t cells_per_unit; /* xrt: cells multiplexed per unit (0 = round robin) */
    uint32_t algorithm;      /* enum lt_cand_algo: 0 "cnn", 1 "tp" (the TP/TA baseline) */
    struct {                 /* kernel.tp.*: the TP/TA baseline (docs/kernel.md) */
        uint32_t downsample; /* d: columns of 2^d samples */
        double threshold_adc;
        uint32_t adj_wires;
        uint64_t adj_ticks;
        uint32_t min_hits;
        int32_t min_score;
        uint32_t score_unit;     /* ADC x samples per score unit */
        uint64_t settle_ticks;   /* no hits this long after a start (pedestal settling) */
        uint32_t group_wires;    /* stage 2: pieces this close in wires are summed (0 = off) */
        uint64_t group_ticks;    /* and this close in time */
        int32_t group_min_piece; /* clusters below this score are no pieces */
    } tp;
};

/* The TP/TA chain's parameters (kernels/tp_chain.h) from kernel.tp.* (also bench_fakerate). */
struct lt_tp_params;
void trigd_kernel_tp_params(const struct trigd_kernel_config *k, struct lt_tp_params *out);

/* The cells' configuration slice (daemon/config/config_slices.h fills it; the pointers and
 * strings point into the parsed configuration, which outlives the cells). */
struct trigd_cells_config {
    uint32_t n_cells;
    const struct trigd_cell_config *cells; /* n_cells entries, the configuration's order */
    const struct trigd_sim_config *sim;
    double duration_s; /* sim sources stop after this much data time (0 = never) */
    struct trigd_kernel_config kernel;
    const char *candidates_ep; /* PUSH connects here */
    const char *requests_ep;   /* DEALER connects here */
    uint32_t send_hwm;
    /* The data sockets' security (docs/security.md): over tcp, CURVE unless insecure. */
    int tcp, curve;
    const char *module_public_key_file; /* curve: the module's public key */
    const char *cell_secret_key_files;  /* curve: a cell's secret key; "{id}" = the cell id */
    uint32_t latency_ms;                /* ring length in data time */
    int mlock;
    uint64_t file_read_ahead_bytes; /* file sources: read-ahead per cell */
    uint64_t pre_ticks, post_ticks; /* the readout window a request asks for */
    uint32_t data_wait_ms;          /* wait this long for a window not yet complete */
};

struct trigd_cells;

/* A cell's key file from the pattern ("{id}" = the cell id). 0, or LT_ERANGE when it does not
 * fit out. */
int trigd_cell_key_file(const char *pattern, uint32_t id, char *out, size_t len);

/* Set up the cells of cfg whose ids are selected (sel[i] != 0 for cfg->cells[i]; NULL = all):
 * sources, rings, the accelerator with its weights, sockets (zctx shared with the module in
 * role `all`). Nothing runs yet. */
int trigd_cells_create(const struct trigd_cells_config *cfg, const uint8_t *sel, void *zctx,
                       struct trigd_cells **out, char *err, size_t errlen);
int trigd_cells_start(struct trigd_cells *c, char *err, size_t errlen);
/* Unpaced sources (realtime_factor 0, e.g. trigctl replay) can outrun the trigger: then a data
 * thread whose ring is full waits, before it overwrites the oldest period, until that period is
 * before *needed_from (the module's ring_needed_from: no readout reads it any more), sending
 * heartbeats meanwhile. Memory stays the ring, and no window is lost to an overwrite. Set before
 * trigd_cells_start; the pointer must outlive the cells. */
void trigd_cells_set_ring_gate(struct trigd_cells *c, const _Atomic uint64_t *needed_from);
/* Stop the sources: the data threads finish the blocks in the kernel, send a final heartbeat and
 * exit. The request threads keep serving the rings. */
void trigd_cells_stop_sources(struct trigd_cells *c);
/* 1 when every data thread has finished (sources stopped or ran out of data). */
int trigd_cells_sources_done(const struct trigd_cells *c);
/* Stop the request threads and free everything. */
void trigd_cells_destroy(struct trigd_cells *c);

uint32_t trigd_cells_count(const struct trigd_cells *c);
/* One cell's counters at one moment (a copy: counters a few microseconds apart may be mixed,
 * never torn). */
struct trigd_cell_stats {
    uint32_t id;
    uint64_t data_loops;    /* iterations of the data thread's loop (watchdog progress) */
    int data_finished;      /* the data thread has ended (source at its end, or stopped) */
    uint64_t periods;       /* frame periods produced by the source */
    uint64_t frames;        /* frames (periods x streams) */
    uint64_t source_errors; /* source failures / malformed input (counted, logged) */
    uint64_t input_dropped; /* the source's own count: bad datagrams, missing frames */
    uint64_t lag_us;        /* pacing: how far the source is behind its schedule */
    uint64_t gate_wait_ns;  /* unpaced replay: waited for the trigger to free the ring */
    uint64_t data_time;     /* newest period timestamp, ticks */
    uint64_t watermark;     /* kernel has processed up to, ticks */
    uint64_t ring_fill;     /* periods held */
    uint64_t ring_capacity;
    uint64_t ring_overwritten; /* frames dropped off the old end */
    uint64_t candidates;       /* found by the kernel */
    uint64_t kernel_dropped;   /* candidates that did not fit a collect */
    uint64_t msgs_sent;
    uint64_t msgs_dropped;       /* PUSH would block (module slow or gone) */
    uint64_t cands_dropped;      /* candidates inside dropped messages */
    uint64_t requests;           /* data requests answered */
    uint64_t requests_bad;       /* malformed / misaddressed requests dropped */
    uint64_t replies_not_found;  /* kDataNotFound answers */
    uint64_t replies_incomplete; /* kIncomplete answers */
    uint64_t replies_dropped;    /* could not be sent */
};
/* The i-th cell of this process (i < trigd_cells_count). Any thread; writes nothing shared. */
void trigd_cells_snapshot(const struct trigd_cells *c, uint32_t i, struct trigd_cell_stats *out);

#endif
