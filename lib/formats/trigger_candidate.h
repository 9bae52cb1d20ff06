/* The decision behind a trigger record as its Trigger_Candidate fragment carries it: DUNE's
 * layout (trgdataformats TriggerCandidateData + TriggerActivityData, lib/formats/trgfmt.h), one
 * TriggerCandidate per lartrig algorithm that proposed the decision, each carrying every
 * candidate of the decision as a TriggerActivity input. The mapping of lartrig's algorithms and
 * candidates onto DUNE's fields is documented in docs/formats.md. The record builder writes it;
 * trigctl show, replay and the tests read it. The algorithms' numbers are part of this mapping,
 * so their enum lives here too. Pure functions, any thread. */
#ifndef LARTRIG_TRIGGER_CANDIDATE_H
#define LARTRIG_TRIGGER_CANDIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "candidate.h"
#include "daqfmt.h"
#include "trgfmt.h"

/* The module-level trigger algorithms (daemon/aggregator/trigger_algos.h runs them). */
enum lt_algo {
    LT_ALGO_SINGLE = 0,
    LT_ALGO_COINCIDENCE = 1,
    LT_ALGO_SUMMED = 2,
    LT_ALGO_PERIODIC = 3,
    LT_ALGO_RANDOM = 4,
    LT_ALGO_MANUAL = 5, /* operator command (trigctl trigger) */
    LT_ALGO_COUNT = 6,
};
/* The algorithms that look at the data (the rest are unbiased or manual). */
#define LT_ALGO_PHYSICS_MASK                                                                       \
    ((1U << LT_ALGO_SINGLE) | (1U << LT_ALGO_COINCIDENCE) | (1U << LT_ALGO_SUMMED))

/* "single", "coincidence", "summed", "periodic", "random", "manual"; "unknown" past the end. */
const char *lt_algo_name(unsigned algo);

/* Each lartrig algorithm as a TriggerCandidateData type and algorithm; the record header's
 * trigger_type has bit `type` set for every TriggerCandidate in the record, as DUNE's
 * module-level trigger sets it (one bit per TC type). */
void lt_tc_type_of_algo(unsigned algo, uint32_t *type, uint32_t *algorithm);
/* Inverse: the lartrig algorithm of a TC, or -1 for a TC no lartrig algorithm writes. */
int lt_algo_of_tc(uint32_t type, uint32_t algorithm);
/* trigger_type bits for a decision's algorithm bits. */
uint64_t lt_trigger_type(uint32_t algorithms);

/* Candidates kept per decision (trigger.max_candidates_per_decision caps it lower). */
#define LT_TC_MAX_CANDIDATES 1024U

/* The decision's fields the fragment carries besides its candidates. */
struct lt_tc_header {
    uint64_t trigger_number;
    uint64_t time;
    uint64_t window_begin, window_end;
    uint32_t algorithms; /* bit per enum lt_algo */
    uint32_t n_candidates;
    uint32_t candidates_dropped; /* on decode: inputs not stored (past max_c, or not ours) */
    uint32_t n_cells;
};

/* Payload bytes for n candidates proposed by every algorithm (an upper bound). */
static inline size_t lt_tc_max_size(uint32_t n_candidates)
{
    return (size_t)LT_ALGO_COUNT * (LT_TC_HEADER_SIZE + (size_t)n_candidates * LT_TA_DATA_SIZE);
}

/* h->n_candidates candidates from c. Returns the bytes written, 0 when cap is too small. */
size_t lt_tc_encode(const struct lt_tc_header *h, const struct lt_candidate *c, uint8_t *buf,
                    size_t cap);
/* Decode a Trigger_Candidate fragment (fh gives trigger number and window) into h and up to
 * max_c candidates into c: algorithms from the TCs' type/algorithm, time from the first TC's
 * time_candidate, candidates from the first TC with inputs (more than max_c, and inputs that are
 * not lartrig collection-wire TAs, are counted in candidates_dropped), n_cells from them. Any
 * DUNE TriggerCandidate fragment decodes. 0 or a negative lt_error (LT_ESHORT/LT_ERANGE for a
 * payload that is not whole TriggerCandidates). */
int lt_tc_decode(const struct lt_fragment_header *fh, const uint8_t *buf, size_t len,
                 struct lt_tc_header *h, struct lt_candidate *c, uint32_t max_c);

#endif
