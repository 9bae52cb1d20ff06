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
#include "config.h"
#include "msg.h"
#include "recwriter.h"
#include "trgfmt.h"

/* The Trigger_Candidate fragment payload is DUNE's: one trgdataformats TriggerCandidate per
 * algorithm that proposed the decision (lib/formats/trgfmt.h), each carrying every candidate of the
 * decision as a TriggerActivityData input. Mapping in docs/formats.md. */
#define TRIGD_TC_MAX_BYTES                                                                         \
    ((size_t)TRIGD_ALGO_COUNT *                                                                    \
     (LT_TC_HEADER_SIZE + TRIGD_DECISION_MAX_CANDIDATES * LT_TA_DATA_SIZE))

struct trigd_record_parts {
    struct lt_rw_record rec;
    struct lt_component_request *reqs; /* total streams + 1 */
    struct lt_rw_fragment *frags;      /* total streams + 1 */
    uint8_t *tc;                       /* TriggerCandidate payload */
    size_t tc_cap;
    uint32_t not_found, incomplete; /* fragments flagged, for status */
};

/* Streams over all configured cells (the fragments of every record). */
uint32_t trigd_total_streams(const struct trigd_config *cfg);

int trigd_record_parts_init(struct trigd_record_parts *p, const struct trigd_config *cfg);
void trigd_record_parts_free(struct trigd_record_parts *p);

/* replies[i]: the decoded DATA_REPLY of cfg->cells[i], or NULL. Fills p->rec (done/user left
 * for the caller). */
void trigd_record_build(struct trigd_record_parts *p, const struct trigd_config *cfg,
                        const struct trigd_decision *d, const struct lt_msg_view *const *replies);

/* Each lartrig algorithm as a TriggerCandidateData type and algorithm (docs/formats.md); the
 * record header's trigger_type has bit `type` set for every TriggerCandidate in the record, as
 * DUNE's module-level trigger sets it (one bit per TC type). */
void trigd_tc_type_of_algo(unsigned algo, uint32_t *type, uint32_t *algorithm);
/* Inverse: the lartrig algorithm of a TC, or -1 for a TC no lartrig algorithm writes. */
int trigd_algo_of_tc(uint32_t type, uint32_t algorithm);
/* trigger_type bits for a decision's algorithm bits. */
uint64_t trigd_trigger_type(uint32_t algorithms);

/* Encode the decision's TriggerCandidates; returns the bytes written, 0 when cap is too small. */
size_t trigd_tc_encode(const struct trigd_decision *d, uint8_t *buf, size_t cap);
/* Decode a Trigger_Candidate fragment (its header h gives trigger number and window) into a
 * decision: algorithms from the TCs' type/algorithm, time from the first TC's time_candidate,
 * candidates from the first TC with inputs (up to TRIGD_DECISION_MAX_CANDIDATES; more are
 * counted in candidates_dropped, and so are inputs that are not lartrig collection-wire TAs),
 * n_cells from them. Any DUNE TriggerCandidate fragment decodes. 0 or a negative lt_error
 * (LT_ESHORT/LT_ERANGE for a payload that is not whole TriggerCandidates). */
int trigd_tc_decode(const struct lt_fragment_header *h, const uint8_t *buf, size_t len,
                    struct trigd_decision *d);

#endif
