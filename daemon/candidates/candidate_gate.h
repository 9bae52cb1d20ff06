/* The aggregator's input: every message from the candidate socket is decoded and validated
 * (lib/formats/msg.h) before the aggregator sees it, then checked for order per cell: each cell
 * numbers its CANDIDATES and HEARTBEAT messages separately from 1, and its watermark never goes
 * back. Bad and out-of-order messages are counted, logged rate-limited and dropped; sequence gaps
 * (messages a cell dropped or lost) are counted; a cell that starts again at sequence 1 with a
 * later watermark (a restarted process: data time goes on) is taken back, counted as a
 * restart. */
#ifndef TRIGD_CANDIDATE_GATE_H
#define TRIGD_CANDIDATE_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator.h"

struct trigd_input;

/* The gate's counters (module thread; trigd_input_snapshot copies them). */
struct trigd_input_stats {
    uint64_t msgs;              /* received on the candidate socket */
    uint64_t msgs_bad;          /* failed validation: dropped */
    uint64_t msgs_out_of_order; /* sequence or watermark going backwards: dropped */
    uint64_t msgs_lost;         /* sequence gaps (messages a cell sent that never came) */
    uint64_t cell_restarts;     /* a cell started its sequence again */
};

/* cells: the configured cells (its configuration slice); messages from others are bad. */
int trigd_input_create(const struct trigd_cell_ids *cells, struct trigd_input **out, char *err,
                       size_t errlen);
void trigd_input_destroy(struct trigd_input *in);

/* Validate one message and feed it to the aggregator. Returns 0 when used, else the negative
 * lt_error it was dropped for (already counted). */
int trigd_input_handle(struct trigd_input *in, struct trigd_agg *agg, const void *buf, size_t len,
                       uint64_t now_ns);
/* A message the socket layer had to drop before the gate saw it (a multi-part message): counted
 * as received and bad. */
void trigd_input_count_bad(struct trigd_input *in);
/* The gate's counters, on the thread that feeds it. */
void trigd_input_snapshot(const struct trigd_input *in, struct trigd_input_stats *out);

#endif
