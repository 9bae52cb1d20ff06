/* Module-side readout: for each decision, a DATA_REQUEST to every configured cell over the
 * ROUTER socket; replies are collected until every cell has answered or
 * readout.reply_timeout_ms passes (then the missing cells' fragments are stored flagged
 * kDataNotFound); the record is assembled (record_builder.h) and handed to the record sink,
 * retried while the sink's queue is full. A fixed number of readouts (buffers.decision_queue)
 * may be in flight; the aggregator inhibits triggers while none is free. A cell is reached
 * through the connection that last said hello as it; one that never did is unreachable at
 * once, except during the first reply_timeout_ms (start-up), when its request waits for the
 * hello until the request's deadline. */
#ifndef TRIGD_READOUT_H
#define TRIGD_READOUT_H

#include <stdint.h>
#include <zmq.h>

#include "aggregator.h"
#include "record_builder.h"
#include "record_sink.h"

struct trigd_readout;

/* The readout's counters (module thread; trigd_readout_snapshot copies them). */
struct trigd_readout_stats {
    uint64_t replies;             /* data replies accepted */
    uint64_t replies_bad;         /* malformed, unknown request or wrong cell: dropped */
    uint64_t replies_late;        /* for a record already built: dropped */
    uint64_t requests_unroutable; /* cell not connected: its fragments kDataNotFound */
    uint64_t reply_timeouts;      /* cells that did not answer in time */
    uint64_t records_built;
    uint64_t records_written;
    uint64_t records_failed; /* the writer reported an error */
    uint64_t fragments_not_found;
    uint64_t fragments_incomplete;
    uint64_t writer_full; /* enqueue found the writer queue full (record kept, retried) */
    uint64_t in_flight;   /* readouts not yet written */
    uint64_t unreachable_bits[TRIGD_CELL_WORDS]; /* cells whose last data request had no route */
};

/* The readout's configuration slice (daemon/config/config_slices.h fills it). */
struct lt_readout_config {
    struct trigd_record_layout layout; /* the cells asked, and the layout of their records */
    uint32_t decision_queue;           /* buffers.decision_queue: readouts in flight */
    uint32_t reply_timeout_ms;         /* readout.reply_timeout_ms */
    int curve; /* the ROUTER authenticates its peers: hellos and replies must carry the cell's
                * User-Id (docs/security.md) */
};

int trigd_readout_create(const struct lt_readout_config *cfg, void *router,
                         struct trigd_record_sink *sink, struct trigd_readout **out, char *err,
                         size_t errlen);
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
/* The earliest window_begin of the readouts still waiting for cells' replies (UINT64_MAX when
 * none is): ring data the cells must still hold. */
uint64_t trigd_readout_requesting_from(const struct trigd_readout *r);
/* After the sink has stopped: account what it wrote, count every readout still unwritten as a
 * failed record (logged) and free the slots. Returns how many were abandoned. */
uint32_t trigd_readout_abandon(struct trigd_readout *r);
/* A message on the ROUTER socket the socket layer dropped before the readout saw it. */
void trigd_readout_count_bad_reply(struct trigd_readout *r);
/* The readout's counters, on the module thread (or once it has stopped). */
void trigd_readout_snapshot(const struct trigd_readout *r, struct trigd_readout_stats *out);

#endif
