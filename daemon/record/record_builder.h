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

/* TriggerCandidate payload: 56-byte header + 48 bytes per candidate (the msg.h wire layout). */
#define TRIGD_TC_MAGIC       0x4454544CU /* "LTTD" little-endian */
#define TRIGD_TC_VERSION     1U
#define TRIGD_TC_HEADER_SIZE 56U
#define TRIGD_TC_CAND_SIZE   48U /* = LT_MSG_CANDIDATE_SIZE: lt_candidate_put/get */

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

size_t trigd_tc_encode(const struct trigd_decision *d, uint8_t *buf, size_t cap);
/* Decode a TriggerCandidate payload (tests, tools): header fields into d (candidates up to
 * TRIGD_DECISION_MAX_CANDIDATES). 0 or a negative lt_error. */
int trigd_tc_decode(const uint8_t *buf, size_t len, struct trigd_decision *d);

#endif
