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
#include "config.h"
#include "status.h"

#define TRIGD_PEER_ANY (-1) /* the transport does not authenticate its peers (ipc, insecure) */

struct trigd_input;

int trigd_input_create(const struct trigd_config *cfg, struct trigd_input **out, char *err,
                       size_t errlen);
void trigd_input_destroy(struct trigd_input *in);

/* Validate one message from an unauthenticated peer and feed it to the aggregator. Returns 0
 * when used, else the negative lt_error it was refused for (already counted in st). */
int trigd_input_handle(struct trigd_input *in, struct trigd_agg *agg, const void *buf, size_t len,
                       uint64_t now_ns, struct trigd_module_status *st);
/* The same for a message whose peer authenticated as cell `peer_cell` (TRIGD_PEER_ANY: none). */
int trigd_input_handle_peer(struct trigd_input *in, struct trigd_agg *agg, const void *buf,
                            size_t len, int32_t peer_cell, uint64_t now_ns,
                            struct trigd_module_status *st);

/* Cells refused for their time within the last few seconds, as bits by cell id. */
void trigd_input_clock_faults(const struct trigd_input *in, uint64_t now_ns,
                              uint64_t bits[TRIGD_CELL_WORDS]);

#endif
