/* Every counter trigd keeps, in one place, so the Operator issue can publish it as JSON and the
 * --status-interval log line can print it. Writers are the threads named per field; readers
 * (status log, operator thread) load the atomics relaxed: a status line may mix counters from a
 * few microseconds apart, never a torn value. */
#ifndef TRIGD_STATUS_H
#define TRIGD_STATUS_H

#include <stdatomic.h>
#include <stdint.h>

#include "aggregator.h"
#include "trigger_algos.h"

/* One cell of this process (written by its data thread and its request thread). */
struct trigd_cell_status {
    uint32_t id;
    _Atomic uint64_t data_loops;    /* iterations of the data thread's loop (watchdog progress) */
    _Atomic int data_finished;      /* the data thread has ended (source at its end, or stopped) */
    _Atomic uint64_t periods;       /* frame periods produced by the source */
    _Atomic uint64_t frames;        /* frames (periods x streams) */
    _Atomic uint64_t source_errors; /* source failures / malformed input (counted, logged) */
    _Atomic uint64_t input_dropped; /* the source's own count: bad datagrams, missing frames */
    _Atomic uint64_t lag_us;        /* pacing: how far the source is behind its schedule */
    _Atomic uint64_t data_time;     /* newest period timestamp, ticks */
    _Atomic uint64_t watermark;     /* kernel has processed up to, ticks */
    _Atomic uint64_t ring_fill;     /* periods held */
    _Atomic uint64_t ring_capacity;
    _Atomic uint64_t ring_overwritten; /* frames dropped off the old end */
    _Atomic uint64_t candidates;       /* found by the kernel */
    _Atomic uint64_t kernel_dropped;   /* candidates that did not fit a collect */
    _Atomic uint64_t msgs_sent;
    _Atomic uint64_t msgs_dropped;       /* PUSH would block (module slow or gone) */
    _Atomic uint64_t cands_dropped;      /* candidates inside dropped messages */
    _Atomic uint64_t requests;           /* data requests answered */
    _Atomic uint64_t requests_bad;       /* malformed / misaddressed requests dropped */
    _Atomic uint64_t replies_not_found;  /* kDataNotFound answers */
    _Atomic uint64_t replies_incomplete; /* kIncomplete answers */
    _Atomic uint64_t replies_dropped;    /* could not be sent */
};

/* The module side (written by the module thread). */
struct trigd_module_status {
    _Atomic uint64_t loops;    /* iterations of the module thread's loop (watchdog progress) */
    _Atomic uint64_t msgs;     /* received on the candidate socket */
    _Atomic uint64_t msgs_bad; /* failed validation: dropped */
    _Atomic uint64_t msgs_out_of_order; /* sequence or watermark going backwards: dropped */
    _Atomic uint64_t msgs_lost;         /* sequence gaps (messages a cell sent that never came) */
    _Atomic uint64_t cell_restarts;     /* a cell started its sequence again */
    /* Data-plane refusals (docs/security.md): never move a cell's sequence or watermark. */
    _Atomic uint64_t msgs_clock_fault; /* time beyond trigger.max_time_lead_ms: refused */
    _Atomic uint64_t msgs_seq_refused; /* sequence beyond trigger.max_sequence_gap: refused */
    _Atomic uint64_t msgs_forged;      /* cell id is not the authenticated peer's: refused */
    _Atomic uint64_t cell_resyncs;     /* a missing cell's numbering and time taken anew */
    _Atomic uint64_t clock_jumps;      /* a cell's clock jump confirmed by its next messages */
    _Atomic uint64_t clock_fault_bits[TRIGD_CELL_WORDS]; /* cells refused for time recently */
    _Atomic uint64_t timer_skipped[TRIGD_ALGO_COUNT];    /* periodic/random slots skipped */
    _Atomic uint64_t unreachable_bits[TRIGD_CELL_WORDS]; /* last data request had no route */
    _Atomic uint64_t peers_refused; /* tcp data peers refused: endpoints.max_peers reached */
    _Atomic uint64_t replies;                            /* data replies accepted */
    _Atomic uint64_t replies_bad;         /* malformed, unknown request or wrong cell: dropped */
    _Atomic uint64_t replies_late;        /* for a record already built: dropped */
    _Atomic uint64_t requests_unroutable; /* cell not connected: its fragments kDataNotFound */
    _Atomic uint64_t reply_timeouts;      /* cells that did not answer in time */
    _Atomic uint64_t records_built;
    _Atomic uint64_t records_written;
    _Atomic uint64_t records_failed;      /* the writer reported an error */
    _Atomic uint64_t fragments_not_found; /* fragments stored with kDataNotFound */
    _Atomic uint64_t fragments_incomplete;
    _Atomic uint64_t readouts_in_flight;
    _Atomic uint64_t writer_full; /* enqueue found the writer queue full (record kept, retried) */
    /* Aggregator snapshot, refreshed by the module thread about every 100 ms. */
    _Atomic uint64_t agg_candidates, agg_late, agg_overflow, agg_decisions, agg_inhibited;
    _Atomic uint64_t agg_missing_now, agg_missing_events, agg_rejoins, agg_horizon;
    _Atomic uint64_t agg_latency_p50_ns, agg_latency_p99_ns;
    _Atomic uint64_t agg_triggers[TRIGD_ALGO_COUNT];
    _Atomic uint64_t agg_inhibited_by[TRIGD_ALGO_COUNT];
};

#endif
