#include "record_builder.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "trgfmt.h"
#include "lt_error.h"

uint32_t trigd_total_streams(const struct trigd_config *cfg)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < cfg->n_cells; i++) n += cfg->cells[i].n_fembs * LT_STREAMS_PER_FEMB;
    return n;
}

int trigd_record_parts_init(struct trigd_record_parts *p, const struct trigd_config *cfg)
{
    memset(p, 0, sizeof *p);
    uint32_t n = trigd_total_streams(cfg) + 1;
    p->reqs = calloc(n, sizeof *p->reqs);
    p->frags = calloc(n, sizeof *p->frags);
    p->tc_cap = TRIGD_TC_MAX_BYTES;
    p->tc = malloc(p->tc_cap);
    if (!p->reqs || !p->frags || !p->tc) {
        trigd_record_parts_free(p);
        return LT_ENOMEM;
    }
    return 0;
}

void trigd_record_parts_free(struct trigd_record_parts *p)
{
    free(p->reqs);
    free(p->frags);
    free(p->tc);
    memset(p, 0, sizeof *p);
}

/* lartrig algorithm -> TriggerCandidateData type and algorithm. The type is what DUNE's
 * trigger bitwords select on; the algorithm tells random from manual, which share kRandom. */
static const struct {
    uint32_t type, algorithm;
} tc_of_algo[TRIGD_ALGO_COUNT] = {
    [TRIGD_ALGO_SINGLE] = {LT_TC_TYPE_ADC_SIMPLE_WINDOW, LT_TC_ALGO_ADC_SIMPLE_WINDOW},
    [TRIGD_ALGO_COINCIDENCE] = {LT_TC_TYPE_SUPERNOVA, LT_TC_ALGO_SUPERNOVA},
    [TRIGD_ALGO_SUMMED] = {LT_TC_TYPE_TPC_LOW_E, LT_TC_ALGO_CUSTOM},
    [TRIGD_ALGO_PERIODIC] = {LT_TC_TYPE_PRESCALE, LT_TC_ALGO_PRESCALE},
    [TRIGD_ALGO_RANDOM] = {LT_TC_TYPE_RANDOM, LT_TC_ALGO_CUSTOM},
    [TRIGD_ALGO_MANUAL] = {LT_TC_TYPE_RANDOM, LT_TC_ALGO_UNKNOWN},
};

void trigd_tc_type_of_algo(unsigned algo, uint32_t *type, uint32_t *algorithm)
{
    *type = algo < TRIGD_ALGO_COUNT ? tc_of_algo[algo].type : LT_TC_TYPE_UNKNOWN;
    *algorithm = algo < TRIGD_ALGO_COUNT ? tc_of_algo[algo].algorithm : LT_TC_ALGO_UNKNOWN;
}

int trigd_algo_of_tc(uint32_t type, uint32_t algorithm)
{
    for (unsigned a = 0; a < TRIGD_ALGO_COUNT; a++)
        if (tc_of_algo[a].type == type && tc_of_algo[a].algorithm == algorithm) return (int)a;
    return -1;
}

uint64_t trigd_trigger_type(uint32_t algorithms)
{
    uint64_t t = 0;
    for (unsigned a = 0; a < TRIGD_ALGO_COUNT; a++)
        if (algorithms & (1U << a)) t |= 1ULL << tc_of_algo[a].type;
    return t;
}

size_t trigd_tc_encode(const struct trigd_decision *d, uint8_t *buf, size_t cap)
{
    uint64_t t_start = d->time, t_end = d->time;
    for (uint32_t i = 0; i < d->n_candidates; i++) {
        const struct lt_candidate *c = &d->candidates[i];
        if (i == 0 || c->time_start < t_start) t_start = c->time_start;
        if (i == 0 || c->time_end > t_end) t_end = c->time_end;
    }
    size_t one = LT_TC_HEADER_SIZE + (size_t)d->n_candidates * LT_TA_DATA_SIZE, off = 0;
    for (unsigned a = 0; a < TRIGD_ALGO_COUNT; a++) {
        if (!(d->algorithms & (1U << a))) continue;
        if (cap - off < one) return 0;
        struct lt_tc_data tc = {.version = LT_TC_VERSION,
                                .time_start = t_start,
                                .time_end = t_end,
                                .time_candidate = d->time,
                                .detid = LT_DETID_HD_TPC,
                                .type = tc_of_algo[a].type,
                                .algorithm = tc_of_algo[a].algorithm};
        lt_tc_header_encode(&tc, d->n_candidates, buf + off, LT_TC_HEADER_SIZE);
        off += LT_TC_HEADER_SIZE;
        for (uint32_t i = 0; i < d->n_candidates; i++, off += LT_TA_DATA_SIZE) {
            struct lt_ta_data ta;
            lt_ta_from_candidate(&d->candidates[i], &ta);
            lt_ta_encode(&ta, buf + off, LT_TA_DATA_SIZE);
        }
    }
    return off;
}

int trigd_tc_decode(const struct lt_fragment_header *h, const uint8_t *buf, size_t len,
                    struct trigd_decision *d)
{
    memset(d, 0, offsetof(struct trigd_decision, candidates));
    d->trigger_number = h->trigger_number;
    d->time = h->trigger_timestamp;
    d->window_begin = h->window_begin;
    d->window_end = h->window_end;
    size_t off = 0;
    int first = 1, have_inputs = 0;
    while (off < len) {
        struct lt_tc_data tc;
        uint64_t n;
        int rc = lt_tc_header_decode(buf + off, len - off, &tc, &n);
        if (rc < 0) return rc;
        off += LT_TC_HEADER_SIZE;
        if (first) d->time = tc.time_candidate;
        first = 0;
        int algo = trigd_algo_of_tc(tc.type, tc.algorithm);
        if (algo >= 0) d->algorithms |= 1U << algo;
        for (uint64_t i = 0; i < n; i++, off += LT_TA_DATA_SIZE) {
            if (have_inputs) continue; /* every TC of ours carries the same candidates */
            struct lt_ta_data ta;
            lt_ta_decode(buf + off, LT_TA_DATA_SIZE, &ta);
            struct lt_candidate c;
            if (d->n_candidates == TRIGD_DECISION_MAX_CANDIDATES ||
                lt_candidate_from_ta(&ta, &c) < 0) {
                d->candidates_dropped++;
                continue;
            }
            d->candidates[d->n_candidates++] = c;
            if (c.cell < LT_MAX_CELLS && !trigd_decision_has_cell(d, c.cell)) {
                d->cells[c.cell / 64] |= 1ULL << (c.cell % 64);
                d->n_cells++;
            }
        }
        if (n) have_inputs = 1;
    }
    return 0;
}

static void set_request(struct lt_component_request *r, uint16_t subsystem, uint32_t id,
                        const struct trigd_decision *d)
{
    memset(r, 0, sizeof *r);
    r->version = LT_COMPONENT_REQUEST_VERSION;
    r->component.version = LT_SOURCE_ID_VERSION;
    r->component.subsystem = subsystem;
    r->component.id = id;
    r->window_begin = d->window_begin;
    r->window_end = d->window_end;
}

void trigd_record_build(struct trigd_record_parts *p, const struct trigd_config *cfg,
                        const struct trigd_decision *d, const struct lt_msg_view *const *replies)
{
    uint32_t k = 0;
    p->not_found = p->incomplete = 0;
    for (uint32_t i = 0; i < cfg->n_cells; i++) {
        uint32_t cell = cfg->cells[i].id, ns = cfg->cells[i].n_fembs * LT_STREAMS_PER_FEMB;
        uint32_t first = k;
        for (uint32_t s = 0; s < ns; s++, k++) {
            set_request(&p->reqs[k], LT_SUBSYS_DETECTOR_READOUT, lt_stream_source_id(cell, s), d);
            /* Until the reply says otherwise, a stream has no data. */
            struct lt_rw_fragment *f = &p->frags[k];
            memset(f, 0, sizeof *f);
            f->hdr.trigger_number = d->trigger_number;
            f->hdr.trigger_timestamp = d->time;
            f->hdr.window_begin = d->window_begin;
            f->hdr.window_end = d->window_end;
            f->hdr.run_number = cfg->run_number;
            f->hdr.error_bits = 1U << LT_FRAG_ERR_DATA_NOT_FOUND;
            f->hdr.fragment_type = LT_FRAGTYPE_WIBETH;
            f->hdr.detector_id = LT_DETID_HD_TPC;
            f->hdr.element_id = p->reqs[k].component;
            f->hdr.size = LT_FRAGMENT_HEADER_SIZE;
        }
        if (replies && replies[i]) {
            struct lt_msg_frag_iter it;
            lt_msg_frag_iter_init(replies[i], &it);
            struct lt_fragment_header h;
            const uint8_t *payload;
            size_t len;
            while (lt_msg_frag_next(&it, &h, &payload, &len)) {
                /* Take a fragment only for a stream of this cell, once. */
                if (h.element_id.subsystem != LT_SUBSYS_DETECTOR_READOUT ||
                    lt_source_id_cell(h.element_id.id) != cell)
                    continue;
                uint32_t s = lt_source_id_stream(h.element_id.id);
                if (s >= ns) continue;
                struct lt_rw_fragment *f = &p->frags[first + s];
                f->hdr = h;
                f->hdr.trigger_number = d->trigger_number;
                f->hdr.run_number = cfg->run_number;
                f->payload = len ? payload : NULL;
                f->payload_len = len;
                f->hdr.size = LT_FRAGMENT_HEADER_SIZE + len;
            }
        }
        for (uint32_t s = first; s < k; s++) {
            if (p->frags[s].hdr.error_bits & (1U << LT_FRAG_ERR_DATA_NOT_FOUND))
                p->not_found++;
            else if (p->frags[s].hdr.error_bits)
                p->incomplete++;
        }
    }
    /* The trigger's own fragment: the decision and its candidates. */
    set_request(&p->reqs[k], LT_SUBSYS_TRIGGER, 0, d);
    struct lt_rw_fragment *tc = &p->frags[k];
    memset(tc, 0, sizeof *tc);
    size_t tc_len = trigd_tc_encode(d, p->tc, p->tc_cap);
    tc->hdr.trigger_number = d->trigger_number;
    tc->hdr.trigger_timestamp = d->time;
    tc->hdr.window_begin = d->window_begin;
    tc->hdr.window_end = d->window_end;
    tc->hdr.run_number = cfg->run_number;
    tc->hdr.fragment_type = LT_FRAGTYPE_TRIGGER_CANDIDATE;
    tc->hdr.detector_id = LT_DETID_DAQ;
    tc->hdr.element_id = p->reqs[k].component;
    tc->hdr.size = LT_FRAGMENT_HEADER_SIZE + tc_len;
    tc->payload = p->tc;
    tc->payload_len = tc_len;
    k++;

    struct lt_trigger_record_header *trh = &p->rec.trh;
    memset(trh, 0, sizeof *trh);
    trh->trigger_number = d->trigger_number;
    trh->trigger_timestamp = d->time;
    trh->num_requested_components = k;
    trh->run_number = cfg->run_number;
    /* TriggerRecordErrorBits bit 1 (kIncomplete): some component came back flagged. */
    trh->error_bits = (p->not_found || p->incomplete) ? 1U << 1 : 0;
    /* DUNE's convention: one bit per TriggerCandidate type in the record. */
    trh->trigger_type = trigd_trigger_type(d->algorithms);
    trh->element_id.version = LT_SOURCE_ID_VERSION;
    trh->element_id.subsystem = LT_SUBSYS_TR_BUILDER;
    trh->element_id.id = 0;
    p->rec.requests = p->reqs;
    p->rec.n_requests = k;
    p->rec.frags = p->frags;
    p->rec.n_frags = k;
}
