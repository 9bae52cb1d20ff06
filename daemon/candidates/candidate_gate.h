/* The aggregator's input: every message from the candidate socket is decoded and validated
 * (lib/formats/msg.h) before the aggregator sees it, then checked per cell. Nothing here trusts a
 * message's numbers: a message is either accepted, and then (only then) moves its cell's
 * sequence and watermark state, or refused, counted, logged rate-limited, and forgotten.
 *
 *  - authenticity: with CURVE on the socket, the caller passes the cell id the peer's key is
 *    bound to; a message for any other cell is refused (msgs_forged);
 *  - order: each cell numbers its CANDIDATES and HEARTBEAT messages separately from 1 and its
 *    watermark never goes back; an old or repeated message is refused (msgs_out_of_order);
 *  - plausible numbering: a sequence number more than trigger.max_sequence_gap ahead of the last
 *    accepted one is refused (msgs_seq_refused); smaller gaps are messages lost (msgs_lost, less
 *    the messages refused meanwhile). The first number the module sees of a type, unless it is
 *    1, is unconfirmed: a following message with a lower number takes over the numbering;
 *  - time within bounds: a watermark or candidate time more than trigger.max_time_lead_ms ahead
 *    of the reference (the highest accepted watermark of the other live cells and the cell's own
 *    last accepted one) is refused as a clock fault (msgs_clock_fault; the cell shows in
 *    clock_fault_bits for a while). A real clock jump is believed once JUMP_CONFIRM consecutive
 *    messages of the cell agree with it (clock_jumps);
 *  - restarts: a cell that starts again at sequence 1 with a later watermark (a restarted
 *    process: data time goes on) is taken back (cell_restarts); a cell the aggregator declared
 *    missing is taken back with whatever numbering and time it brings, within the time bound of
 *    the other cells (cell_resyncs), so no earlier message (forged or glitched) can keep it out.
 *
 * Single-threaded: the module thread owns the input. */
#ifndef TRIGD_CANDIDATE_GATE_H
#define TRIGD_CANDIDATE_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator.h"

#define TRIGD_PEER_ANY (-1) /* the transport does not authenticate its peers (ipc, insecure) */

struct trigd_input;

/* The gate's counters (module thread; trigd_input_snapshot copies them). */
struct trigd_input_stats {
    uint64_t msgs;              /* received on the candidate socket */
    uint64_t msgs_bad;          /* failed validation: dropped */
    uint64_t msgs_out_of_order; /* sequence or watermark going backwards: dropped */
    uint64_t msgs_lost;         /* sequence gaps (messages a cell sent that never came) */
    uint64_t cell_restarts;     /* a cell started its sequence again */
    /* Data-plane refusals (docs/security.md): never move a cell's sequence or watermark. */
    uint64_t msgs_clock_fault; /* time beyond trigger.max_time_lead_ms: refused */
    uint64_t msgs_seq_refused; /* sequence beyond trigger.max_sequence_gap: refused */
    uint64_t msgs_forged;      /* cell id is not the authenticated peer's: refused */
    uint64_t cell_resyncs;     /* a missing cell's numbering and time taken anew */
    uint64_t clock_jumps;      /* a cell's clock jump confirmed by its next messages */
};

/* The gate's configuration slice (daemon/config/config_slices.h fills it). */
struct trigd_input_config {
    struct trigd_cell_ids cells;  /* the configured cells; messages from others are bad */
    uint64_t max_time_lead_ticks; /* trigger.max_time_lead_ms */
    uint64_t max_sequence_gap;    /* trigger.max_sequence_gap */
};

int trigd_input_create(const struct trigd_input_config *cfg, struct trigd_input **out, char *err,
                       size_t errlen);
void trigd_input_destroy(struct trigd_input *in);

/* Validate one message from an unauthenticated peer and feed it to the aggregator. Returns 0
 * when used, else the negative lt_error it was refused for (already counted). */
int trigd_input_handle(struct trigd_input *in, struct trigd_agg *agg, const void *buf, size_t len,
                       uint64_t now_ns);
/* The same for a message whose peer authenticated as cell `peer_cell` (TRIGD_PEER_ANY: none). */
int trigd_input_handle_peer(struct trigd_input *in, struct trigd_agg *agg, const void *buf,
                            size_t len, int32_t peer_cell, uint64_t now_ns);
/* A message the socket layer had to drop before the gate saw it (a multi-part message): counted
 * as received and bad. */
void trigd_input_count_bad(struct trigd_input *in);
/* The gate's counters, on the thread that feeds it. */
void trigd_input_snapshot(const struct trigd_input *in, struct trigd_input_stats *out);
/* Cells refused for their time within the last few seconds, as bits by cell id. */
void trigd_input_clock_faults(const struct trigd_input *in, uint64_t now_ns,
                              uint64_t bits[TRIGD_CELL_WORDS]);

#endif
