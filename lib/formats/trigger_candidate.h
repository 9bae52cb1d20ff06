/* The TriggerCandidate fragment payload: the decision behind a trigger record, as trigd's
 * record builder writes it and trigctl show / the tests read it (layout in docs/daemon.md).
 *   header (56 bytes, little-endian): magic "LTTD", version, reserved, trigger number, time,
 *   window begin, window end (ticks), algorithms (bit per enum lt_algo), candidates,
 *   candidates dropped, cells;
 *   then 48 bytes per candidate: the lt_msg candidate record (msg.h lt_candidate_put/get).
 * The algorithms' numbers are part of this format, so their enum lives here too. */
#ifndef LARTRIG_TRIGGER_CANDIDATE_H
#define LARTRIG_TRIGGER_CANDIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "candidate.h"

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

#define LT_TC_MAGIC          0x4454544CU /* "LTTD" little-endian */
#define LT_TC_VERSION        1U
#define LT_TC_HEADER_SIZE    56U
#define LT_TC_CAND_SIZE      48U   /* = LT_MSG_CANDIDATE_SIZE */
#define LT_TC_MAX_CANDIDATES 1024U /* per decision (trigger.max_candidates_per_decision) */

struct lt_tc_header {
    uint64_t trigger_number;
    uint64_t time;
    uint64_t window_begin, window_end;
    uint32_t algorithms;
    uint32_t n_candidates;
    uint32_t candidates_dropped;
    uint32_t n_cells;
};

/* Payload bytes for n candidates. */
static inline size_t lt_tc_size(uint32_t n_candidates)
{
    return LT_TC_HEADER_SIZE + (size_t)n_candidates * LT_TC_CAND_SIZE;
}

/* h->n_candidates candidates from c. Returns the bytes written, 0 when cap is too small. */
size_t lt_tc_encode(const struct lt_tc_header *h, const struct lt_candidate *c, uint8_t *buf,
                    size_t cap);
/* The header into h and up to max_c candidates into c (c may be NULL when max_c is 0).
 * 0, or LT_ESHORT / LT_EMAGIC / LT_EVERSION / LT_EFORMAT (length does not match the count) /
 * LT_ERANGE (more than LT_TC_MAX_CANDIDATES). */
int lt_tc_decode(const uint8_t *buf, size_t len, struct lt_tc_header *h, struct lt_candidate *c,
                 uint32_t max_c);

#endif
