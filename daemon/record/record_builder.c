#include "record_builder.h"

#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "msg.h"
#include "lt_error.h"

_Static_assert(TRIGD_TC_CAND_SIZE == LT_MSG_CANDIDATE_SIZE,
               "TC candidates reuse the message record");

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
    p->tc_cap = TRIGD_TC_HEADER_SIZE + TRIGD_DECISION_MAX_CANDIDATES * TRIGD_TC_CAND_SIZE;
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

size_t trigd_tc_encode(const struct trigd_decision *d, uint8_t *buf, size_t cap)
{
    size_t need = TRIGD_TC_HEADER_SIZE + (size_t)d->n_candidates * TRIGD_TC_CAND_SIZE;
    if (cap < need) return 0;
    lt_put_le32(buf + 0, TRIGD_TC_MAGIC);
    lt_put_le16(buf + 4, TRIGD_TC_VERSION);
    lt_put_le16(buf + 6, 0);
    lt_put_le64(buf + 8, d->trigger_number);
    lt_put_le64(buf + 16, d->time);
    lt_put_le64(buf + 24, d->window_begin);
    lt_put_le64(buf + 32, d->window_end);
    lt_put_le32(buf + 40, d->algorithms);
    lt_put_le32(buf + 44, d->n_candidates);
    lt_put_le32(buf + 48, d->candidates_dropped);
    lt_put_le32(buf + 52, d->n_cells);
    /* Candidates use the same 48-byte record as the ZeroMQ candidate messages. */
    for (uint32_t i = 0; i < d->n_candidates; i++)
        lt_candidate_put(buf + TRIGD_TC_HEADER_SIZE + (size_t)i * TRIGD_TC_CAND_SIZE,
                         &d->candidates[i]);
    return need;
}

int trigd_tc_decode(const uint8_t *buf, size_t len, struct trigd_decision *d)
{
    if (len < TRIGD_TC_HEADER_SIZE) return LT_ESHORT;
    if (lt_get_le32(buf) != TRIGD_TC_MAGIC) return LT_EMAGIC;
    if (lt_get_le16(buf + 4) != TRIGD_TC_VERSION) return LT_EVERSION;
    memset(d, 0, offsetof(struct trigd_decision, candidates));
    d->trigger_number = lt_get_le64(buf + 8);
    d->time = lt_get_le64(buf + 16);
    d->window_begin = lt_get_le64(buf + 24);
    d->window_end = lt_get_le64(buf + 32);
    d->algorithms = lt_get_le32(buf + 40);
    d->n_candidates = lt_get_le32(buf + 44);
    d->candidates_dropped = lt_get_le32(buf + 48);
    d->n_cells = lt_get_le32(buf + 52);
    if (d->n_candidates > TRIGD_DECISION_MAX_CANDIDATES) return LT_ERANGE;
    if (len != TRIGD_TC_HEADER_SIZE + (size_t)d->n_candidates * TRIGD_TC_CAND_SIZE)
        return LT_EFORMAT;
    for (uint32_t i = 0; i < d->n_candidates; i++)
        lt_candidate_get(buf + TRIGD_TC_HEADER_SIZE + (size_t)i * TRIGD_TC_CAND_SIZE,
                         &d->candidates[i]);
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
    trh->trigger_type = d->algorithms;
    trh->element_id.version = LT_SOURCE_ID_VERSION;
    trh->element_id.subsystem = LT_SUBSYS_TR_BUILDER;
    trh->element_id.id = 0;
    p->rec.requests = p->reqs;
    p->rec.n_requests = k;
    p->rec.frags = p->frags;
    p->rec.n_frags = k;
}
