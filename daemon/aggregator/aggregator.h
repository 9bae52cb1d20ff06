/* The aggregator core: merges candidates from every cell in time order, using each cell's
 * watermark ("processed up to T") so that it decides only what no late message can change, runs
 * the trigger algorithms, merges overlapping proposals into decisions, numbers them and hands
 * them on (or inhibits them when the readout/writer cannot take more).
 *
 * No sockets here: the module's input loop (candidate_gate.c) validates messages and calls in;
 * tests and the benchmark drive it directly. Single-threaded; nothing allocates after create.
 *
 * Missing cells: a cell silent for trigger.cell_timeout_ms (counted from the first message of any
 * cell, so cells that start late are not missing at once) is left out of the watermark minimum
 * (decisions go on without it) and rejoins when it speaks again. A candidate older than what was
 * already decided is "late": counted and dropped. */
#ifndef TRIGD_AGGREGATOR_H
#define TRIGD_AGGREGATOR_H

#include <stddef.h>
#include <stdint.h>

#include "candidate.h"
#include "chmap.h"
#include "latency_hist.h"
#include "trigger_algos.h"

#define TRIGD_CELL_WORDS              (LT_MAX_CELLS / 64)
#define TRIGD_DECISION_MAX_CANDIDATES LT_TC_MAX_CANDIDATES /* kept in the TriggerCandidate */

/* The configured cells, in the configuration's order. */
struct trigd_cell_ids {
    uint32_t n;
    uint32_t id[LT_MAX_CELLS];
};

/* The aggregator's configuration slice (daemon/config/config_slices.h fills it). */
struct lt_aggregator_config {
    struct trigd_cell_ids cells;
    uint32_t candidate_queue;       /* buffers.candidate_queue: per-cell queue */
    uint64_t pre_ticks, post_ticks; /* readout.pre_us / post_us: a decision's window */
    struct trigd_trigger_config trigger;
};

struct trigd_decision {
    uint64_t trigger_number; /* from 1 in each run */
    uint64_t time;           /* trigger timestamp, ticks */
    uint64_t window_begin;   /* readout window [begin, end), ticks */
    uint64_t window_end;
    uint32_t algorithms; /* bit (1 << enum lt_algo) per algorithm that proposed it */
    uint32_t n_candidates;
    uint32_t candidates_dropped; /* beyond trigger.max_candidates_per_decision */
    uint32_t n_cells;            /* cells with a candidate in the decision */
    uint64_t cells[TRIGD_CELL_WORDS];
    uint64_t horizon_ns; /* monotonic time the deciding watermark arrived */
    uint64_t decided_ns; /* monotonic time the decision was made */
    struct lt_candidate candidates[TRIGD_DECISION_MAX_CANDIDATES];
};

static inline int trigd_decision_has_cell(const struct trigd_decision *d, uint32_t cell)
{
    return cell < LT_MAX_CELLS && (d->cells[cell / 64] >> (cell % 64)) & 1U;
}

struct trigd_agg_callbacks {
    /* May a decision be issued now? 0 = inhibit it (counted). NULL = always. */
    int (*accept)(void *user);
    /* A numbered decision; the aggregator reuses the struct after the call returns. */
    void (*emit)(void *user, const struct trigd_decision *d);
    void *user;
};

struct trigd_agg_cell_stats {
    uint32_t id;
    int missing;
    int heard;
    uint64_t watermark;
    uint64_t candidates;
    uint64_t late;
    uint64_t overflow;
    uint64_t heartbeats;
    uint32_t queued;
    uint64_t missing_events;
};

struct trigd_agg_stats {
    uint64_t candidates;   /* accepted into the merge */
    uint64_t late;         /* older than the decided horizon: dropped */
    uint64_t overflow;     /* per-cell queue full: dropped */
    uint64_t unknown_cell; /* for a cell not in the configuration: dropped */
    uint64_t heartbeats;
    uint64_t proposals[LT_ALGO_COUNT];
    uint64_t merged;                  /* proposals folded into an overlapping decision */
    uint64_t decisions;               /* issued (numbered) */
    uint64_t triggers[LT_ALGO_COUNT]; /* issued decisions per algorithm that proposed them */
    uint64_t inhibited;
    uint64_t inhibited_by[LT_ALGO_COUNT];
    uint64_t paused;           /* decisions not issued because the operator paused triggering */
    uint64_t pending_overflow; /* decisions forced out early because the pending list was full */
    uint64_t held_busy; /* times a decision was held (wait_when_busy) for a busy readout/writer */
    uint64_t window_overflows;
    uint64_t timer_skipped[LT_ALGO_COUNT]; /* periodic/random slots skipped after a gap */
    uint64_t missing_events, rejoin_events;
    uint32_t cells_missing, cells_total;
    uint64_t horizon;                                        /* decided up to this tick */
    uint64_t latency_p50_ns, latency_p99_ns, latency_max_ns; /* watermark arrival -> decision */
    struct trigd_latency_summary latency; /* the same: recent window, buckets (latency_hist.h) */
};

struct trigd_agg;

int trigd_agg_create(const struct lt_aggregator_config *cfg, const struct trigd_agg_callbacks *cb,
                     uint64_t now_ns, struct trigd_agg **out, char *err, size_t errlen);
void trigd_agg_destroy(struct trigd_agg *a);

/* Observer of every decision that accept() refused (trigger_number 0), for those that account
 * dead time (trigctl replay); called on the aggregator's thread; NULL stops it. Kept apart from
 * trigd_agg_callbacks so that the callbacks' initialisers elsewhere need not change. */
void trigd_agg_set_inhibited_observer(struct trigd_agg *a,
                                      void (*fn)(void *user, const struct trigd_decision *d),
                                      void *user);

/* Candidates of one cell (any order within the batch). LT_ERANGE for an unknown cell. */
int trigd_agg_candidates(struct trigd_agg *a, uint32_t cell, const struct lt_candidate *c,
                         uint32_t n, uint64_t now_ns);
/* A cell's heartbeat: it has processed everything before `watermark`. Decides what it can. */
int trigd_agg_watermark(struct trigd_agg *a, uint32_t cell, uint64_t watermark, uint64_t now_ns);
/* A missing cell speaks again with its own time (candidate_gate.h decided to take it): its
 * watermark becomes `watermark` even if that is behind the one it had (the horizon never goes
 * back; what lies behind it is late). */
void trigd_agg_cell_resync(struct trigd_agg *a, uint32_t cell, uint64_t watermark);
/* Periodic housekeeping: declare silent cells missing (and decide what that allows). */
void trigd_agg_poll(struct trigd_agg *a, uint64_t now_ns);
/* An operator trigger at data time t (decided with the rest, in time order). */
void trigd_agg_manual(struct trigd_agg *a, uint64_t t);
/* Operator pause: while paused, decisions are dropped (counted in paused) instead of issued,
 * except those a manual trigger proposed. */
void trigd_agg_set_paused(struct trigd_agg *a, int paused);
/* Config reload: new trigger thresholds (see trigd_algos_set_thresholds). */
void trigd_agg_set_thresholds(struct trigd_agg *a, const struct trigd_trigger_config *cfg);
/* End of run: decide everything queued up to the lowest final watermark of the live cells (no
 * slack: nothing is on its way any more) and issue every pending decision. */
void trigd_agg_flush(struct trigd_agg *a, uint64_t now_ns);
/* With trigger.wait_when_busy, decisions held because the readout or writer was busy are issued
 * as they make room: call this when they may have (each loop). all = 0: the decisions no later
 * proposal can join (as new input would); all = 1 (after trigd_agg_flush): every pending one;
 * force (the stop deadline): what still cannot be issued is inhibited, counted. Returns the
 * decisions still pending. */
uint32_t trigd_agg_retry_held(struct trigd_agg *a, int all, int force);

void trigd_agg_get_stats(const struct trigd_agg *a, struct trigd_agg_stats *st);
uint32_t trigd_agg_n_cells(const struct trigd_agg *a);
/* The earliest time a decision not yet issued can still have: a pending decision, or a
 * proposal the algorithms may still make (at least horizon - look-back). A replay that runs
 * ahead of the trigger keeps the ring data from here on (module.c: ring_needed_from). */
uint64_t trigd_agg_undecided_from(const struct trigd_agg *a);
void trigd_agg_get_cell_stats(const struct trigd_agg *a, uint32_t index,
                              struct trigd_agg_cell_stats *st);
int trigd_agg_cell_missing(const struct trigd_agg *a, uint32_t cell_id);

#endif
