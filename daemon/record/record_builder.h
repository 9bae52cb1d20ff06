/* Assembles a trigger record from a decision and the cells' data replies:
 *   TriggerRecordHeader (TR_Builder source) with one ComponentRequest per stream plus the
 *   trigger's own component; one WIBEth fragment per stream of every configured cell (a cell that
 *   did not answer, or a stream missing from its answer, gets a header-only fragment flagged
 *   kDataNotFound); a TriggerCandidate fragment holding the decision (format in docs/daemon.md).
 * Fragments point into the reply messages; nothing is copied. */
#ifndef TRIGD_RECORD_BUILDER_H
#define TRIGD_RECORD_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator.h"
#include "msg.h"
#include "recwriter.h"
#include "trigger_candidate.h"

struct trigd_record_parts {
    struct lt_rw_record rec;
    struct lt_component_request *reqs; /* total streams + 1 */
    struct lt_rw_fragment *frags;      /* total streams + 1 */
    uint8_t *tc;                       /* TriggerCandidate payload */
    size_t tc_cap;
    uint32_t not_found, incomplete; /* fragments flagged, for status */
};

/* The record builder's configuration slice: the run and the cells (with their streams) every
 * record holds, in the configuration's order (daemon/config/config_slices.h fills it). */
struct trigd_record_layout {
    uint32_t run_number;
    uint32_t n_cells;
    struct trigd_record_cell {
        uint32_t id;
        uint32_t n_streams;
    } cells[LT_MAX_CELLS];
};

/* Streams over all configured cells (the fragments of every record). */
uint32_t trigd_total_streams(const struct trigd_record_layout *l);
/* Index of a cell id in l->cells, or -1. */
int trigd_record_cell_index(const struct trigd_record_layout *l, uint32_t id);

int trigd_record_parts_init(struct trigd_record_parts *p, const struct trigd_record_layout *l);
void trigd_record_parts_free(struct trigd_record_parts *p);

/* replies[i]: the decoded DATA_REPLY of l->cells[i], or NULL. Fills p->rec (done/user left
 * for the caller). */
void trigd_record_build(struct trigd_record_parts *p, const struct trigd_record_layout *cfg,
                        const struct trigd_decision *d, const struct lt_msg_view *const *replies);

/* TriggerCandidate payload (lib/formats/trigger_candidate.h) of a decision. */
size_t trigd_tc_encode(const struct trigd_decision *d, uint8_t *buf, size_t cap);
/* Decode a Trigger_Candidate fragment (header fh, payload buf) into a decision
 * (lib/formats/trigger_candidate.h's lt_tc_decode). 0 or a negative lt_error. */
int trigd_tc_decode(const struct lt_fragment_header *fh, const uint8_t *buf, size_t len,
                    struct trigd_decision *d);

#endif
