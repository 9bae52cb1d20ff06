/* Trigger_Candidate fragment payload: see trigger_candidate.h. */
#include "trigger_candidate.h"

#include <string.h>

#include "lt_error.h"

const char *lt_algo_name(unsigned algo)
{
    static const char *names[LT_ALGO_COUNT] = {"single",   "coincidence", "summed",
                                               "periodic", "random",      "manual"};
    return algo < LT_ALGO_COUNT ? names[algo] : "unknown";
}

/* lartrig algorithm -> TriggerCandidateData type and algorithm. The type is what DUNE's
 * trigger bitwords select on; the algorithm tells random from manual, which share kRandom. */
static const struct {
    uint32_t type, algorithm;
} tc_of_algo[LT_ALGO_COUNT] = {
    [LT_ALGO_SINGLE] = {LT_TC_TYPE_ADC_SIMPLE_WINDOW, LT_TC_ALGO_ADC_SIMPLE_WINDOW},
    [LT_ALGO_COINCIDENCE] = {LT_TC_TYPE_SUPERNOVA, LT_TC_ALGO_SUPERNOVA},
    [LT_ALGO_SUMMED] = {LT_TC_TYPE_TPC_LOW_E, LT_TC_ALGO_CUSTOM},
    [LT_ALGO_PERIODIC] = {LT_TC_TYPE_PRESCALE, LT_TC_ALGO_PRESCALE},
    [LT_ALGO_RANDOM] = {LT_TC_TYPE_RANDOM, LT_TC_ALGO_CUSTOM},
    [LT_ALGO_MANUAL] = {LT_TC_TYPE_RANDOM, LT_TC_ALGO_UNKNOWN},
};

void lt_tc_type_of_algo(unsigned algo, uint32_t *type, uint32_t *algorithm)
{
    *type = algo < LT_ALGO_COUNT ? tc_of_algo[algo].type : LT_TC_TYPE_UNKNOWN;
    *algorithm = algo < LT_ALGO_COUNT ? tc_of_algo[algo].algorithm : LT_TC_ALGO_UNKNOWN;
}

int lt_algo_of_tc(uint32_t type, uint32_t algorithm)
{
    for (unsigned a = 0; a < LT_ALGO_COUNT; a++)
        if (tc_of_algo[a].type == type && tc_of_algo[a].algorithm == algorithm) return (int)a;
    return -1;
}

uint64_t lt_trigger_type(uint32_t algorithms)
{
    uint64_t t = 0;
    for (unsigned a = 0; a < LT_ALGO_COUNT; a++)
        if (algorithms & (1U << a)) t |= 1ULL << tc_of_algo[a].type;
    return t;
}

size_t lt_tc_encode(const struct lt_tc_header *h, const struct lt_candidate *c, uint8_t *buf,
                    size_t cap)
{
    uint64_t t_start = h->time, t_end = h->time;
    for (uint32_t i = 0; i < h->n_candidates; i++) {
        if (i == 0 || c[i].time_start < t_start) t_start = c[i].time_start;
        if (i == 0 || c[i].time_end > t_end) t_end = c[i].time_end;
    }
    size_t one = LT_TC_HEADER_SIZE + (size_t)h->n_candidates * LT_TA_DATA_SIZE, off = 0;
    for (unsigned a = 0; a < LT_ALGO_COUNT; a++) {
        if (!(h->algorithms & (1U << a))) continue;
        if (cap - off < one) return 0;
        struct lt_tc_data tc = {.version = LT_TC_VERSION,
                                .time_start = t_start,
                                .time_end = t_end,
                                .time_candidate = h->time,
                                .detid = LT_DETID_HD_TPC,
                                .type = tc_of_algo[a].type,
                                .algorithm = tc_of_algo[a].algorithm};
        lt_tc_header_encode(&tc, h->n_candidates, buf + off, LT_TC_HEADER_SIZE);
        off += LT_TC_HEADER_SIZE;
        for (uint32_t i = 0; i < h->n_candidates; i++, off += LT_TA_DATA_SIZE) {
            struct lt_ta_data ta;
            lt_ta_from_candidate(&c[i], &ta);
            lt_ta_encode(&ta, buf + off, LT_TA_DATA_SIZE);
        }
    }
    return off;
}

/* Whether cell is already among c[0..n). Decisions hold at most a few hundred candidates. */
static int seen_cell(const struct lt_candidate *c, uint32_t n, uint32_t cell)
{
    for (uint32_t i = 0; i < n; i++)
        if (c[i].cell == cell) return 1;
    return 0;
}

int lt_tc_decode(const struct lt_fragment_header *fh, const uint8_t *buf, size_t len,
                 struct lt_tc_header *h, struct lt_candidate *c, uint32_t max_c)
{
    memset(h, 0, sizeof *h);
    h->trigger_number = fh->trigger_number;
    h->time = fh->trigger_timestamp;
    h->window_begin = fh->window_begin;
    h->window_end = fh->window_end;
    size_t off = 0;
    int first = 1, have_inputs = 0;
    while (off < len) {
        struct lt_tc_data tc;
        uint64_t n;
        int rc = lt_tc_header_decode(buf + off, len - off, &tc, &n);
        if (rc < 0) return rc;
        off += LT_TC_HEADER_SIZE;
        if (first) h->time = tc.time_candidate;
        first = 0;
        int algo = lt_algo_of_tc(tc.type, tc.algorithm);
        if (algo >= 0) h->algorithms |= 1U << algo;
        for (uint64_t i = 0; i < n; i++, off += LT_TA_DATA_SIZE) {
            if (have_inputs) continue; /* every TC of ours carries the same candidates */
            struct lt_ta_data ta;
            lt_ta_decode(buf + off, LT_TA_DATA_SIZE, &ta);
            struct lt_candidate cand;
            if (h->n_candidates == max_c || lt_candidate_from_ta(&ta, &cand) < 0) {
                h->candidates_dropped++;
                continue;
            }
            if (!seen_cell(c, h->n_candidates, cand.cell)) h->n_cells++;
            c[h->n_candidates++] = cand;
        }
        if (n) have_inputs = 1;
    }
    return 0;
}
