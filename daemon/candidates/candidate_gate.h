/* The aggregator's input: every message from the candidate socket is decoded and validated
 * (lib/formats/msg.h) before the aggregator sees it, then checked for order per cell: each cell numbers
 * its CANDIDATES and HEARTBEAT messages separately from 1, and its watermark never goes back.
 * Bad and out-of-order messages are counted, logged rate-limited and dropped; sequence gaps
 * (messages a cell dropped or lost) are counted; a cell that starts again at sequence 1 with a
 * later watermark (a restarted process: data time goes on) is taken back, counted as a
 * restart. */
#ifndef TRIGD_CANDIDATE_GATE_H
#define TRIGD_CANDIDATE_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator.h"
#include "config.h"
#include "status.h"

struct trigd_input;

int trigd_input_create(const struct trigd_config *cfg, struct trigd_input **out, char *err,
                       size_t errlen);
void trigd_input_destroy(struct trigd_input *in);

/* Validate one message and feed it to the aggregator. Returns 0 when used, else the negative
 * lt_error it was dropped for (already counted in st). */
int trigd_input_handle(struct trigd_input *in, struct trigd_agg *agg, const void *buf, size_t len,
                       uint64_t now_ns, struct trigd_module_status *st);

#endif
