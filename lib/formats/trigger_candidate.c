/* TriggerCandidate payload: see trigger_candidate.h. */
#include "trigger_candidate.h"

#include <string.h>

#include "le.h"
#include "lt_error.h"
#include "msg.h"

_Static_assert(LT_TC_CAND_SIZE == LT_MSG_CANDIDATE_SIZE, "TC candidates reuse the message record");

const char *lt_algo_name(unsigned algo)
{
    static const char *names[LT_ALGO_COUNT] = {"single",   "coincidence", "summed",
                                               "periodic", "random",      "manual"};
    return algo < LT_ALGO_COUNT ? names[algo] : "unknown";
}

size_t lt_tc_encode(const struct lt_tc_header *h, const struct lt_candidate *c, uint8_t *buf,
                    size_t cap)
{
    size_t need = lt_tc_size(h->n_candidates);
    if (cap < need) return 0;
    lt_put_le32(buf + 0, LT_TC_MAGIC);
    lt_put_le16(buf + 4, LT_TC_VERSION);
    lt_put_le16(buf + 6, 0);
    lt_put_le64(buf + 8, h->trigger_number);
    lt_put_le64(buf + 16, h->time);
    lt_put_le64(buf + 24, h->window_begin);
    lt_put_le64(buf + 32, h->window_end);
    lt_put_le32(buf + 40, h->algorithms);
    lt_put_le32(buf + 44, h->n_candidates);
    lt_put_le32(buf + 48, h->candidates_dropped);
    lt_put_le32(buf + 52, h->n_cells);
    /* Candidates use the same 48-byte record as the ZeroMQ candidate messages. */
    for (uint32_t i = 0; i < h->n_candidates; i++)
        lt_candidate_put(buf + LT_TC_HEADER_SIZE + (size_t)i * LT_TC_CAND_SIZE, &c[i]);
    return need;
}

int lt_tc_decode(const uint8_t *buf, size_t len, struct lt_tc_header *h, struct lt_candidate *c,
                 uint32_t max_c)
{
    if (len < LT_TC_HEADER_SIZE) return LT_ESHORT;
    if (lt_get_le32(buf) != LT_TC_MAGIC) return LT_EMAGIC;
    if (lt_get_le16(buf + 4) != LT_TC_VERSION) return LT_EVERSION;
    memset(h, 0, sizeof *h);
    h->trigger_number = lt_get_le64(buf + 8);
    h->time = lt_get_le64(buf + 16);
    h->window_begin = lt_get_le64(buf + 24);
    h->window_end = lt_get_le64(buf + 32);
    h->algorithms = lt_get_le32(buf + 40);
    h->n_candidates = lt_get_le32(buf + 44);
    h->candidates_dropped = lt_get_le32(buf + 48);
    h->n_cells = lt_get_le32(buf + 52);
    if (h->n_candidates > LT_TC_MAX_CANDIDATES) return LT_ERANGE;
    if (len != lt_tc_size(h->n_candidates)) return LT_EFORMAT;
    for (uint32_t i = 0; i < h->n_candidates && i < max_c; i++)
        lt_candidate_get(buf + LT_TC_HEADER_SIZE + (size_t)i * LT_TC_CAND_SIZE, &c[i]);
    return 0;
}
