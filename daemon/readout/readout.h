/* Module-side readout: for each decision, a DATA_REQUEST to every configured cell over the
 * ROUTER socket; replies are collected until every cell has answered or
 * readout.reply_timeout_ms passes (then the missing cells' fragments are stored flagged
 * kDataNotFound); the record is assembled (record_builder.h) and handed to the record sink,
 * retried while the sink's queue is full. A fixed number of readouts (buffers.decision_queue)
 * may be in flight; the aggregator inhibits triggers while none is free. */
#ifndef TRIGD_READOUT_H
#define TRIGD_READOUT_H

#include <stdint.h>
#include <zmq.h>

#include "aggregator.h"
#include "config.h"
#include "record_sink.h"
#include "status.h"

struct trigd_readout;

int trigd_readout_create(const struct trigd_config *cfg, void *router,
                         struct trigd_record_sink *sink, struct trigd_module_status *st,
                         struct trigd_readout **out, char *err, size_t errlen);
void trigd_readout_destroy(struct trigd_readout *r);

/* May another decision be issued? (a free slot and a sink that does not ask to inhibit) */
int trigd_readout_can_accept(struct trigd_readout *r);
/* Issue the requests of a decision (copied). */
void trigd_readout_start(struct trigd_readout *r, const struct trigd_decision *d, uint64_t now_ns);
/* A message received on the ROUTER socket: the sender's routing id and the payload (taken over:
 * kept until its record is written, or closed). */
void trigd_readout_on_reply(struct trigd_readout *r, const zmq_msg_t *identity, zmq_msg_t *payload,
                            uint64_t now_ns);
/* Time out cells, build and submit complete records, recycle written ones. */
void trigd_readout_service(struct trigd_readout *r, uint64_t now_ns);
uint32_t trigd_readout_in_flight(const struct trigd_readout *r);
/* After the sink has stopped: account what it wrote, count every readout still unwritten as a
 * failed record (logged) and free the slots. Returns how many were abandoned. */
uint32_t trigd_readout_abandon(struct trigd_readout *r);

#endif
