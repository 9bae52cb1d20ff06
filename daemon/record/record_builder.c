#include "record_builder.h"

#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "msg.h"
#include "lt_error.h"

uint32_t trigd_total_streams(const struct trigd_record_layout *l)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < l->n_cells; i++) n += l->cells[i].n_streams;
    return n;
}

int trigd_record_cell_index(const struct trigd_record_layout *l, uint32_t id)
{
    for (uint32_t i = 0; i < l->n_cells; i++)
        if (l->cells[i].id == id) return (int)i;
    return -1;
}

int trigd_record_parts_init(struct trigd_record_parts *p, const struct trigd_record_layout *cfg)
{
    memset(p, 0, sizeof *p);
    uint32_t n = trigd_total_streams(cfg) + 1;
    p->reqs = calloc(n, sizeof *p->reqs);
    p->frags = calloc(n, sizeof *p->frags);
    p->tc_cap = lt_tc_max_size(TRIGD_DECISION_MAX_CANDIDATES);
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

/* The payload's layout is lib/formats/trigger_candidate.h's; here only decision <-> header. */
size_t trigd_tc_encode(const struct trigd_decision *d, uint8_t *buf, size_t cap)
{
    struct lt_tc_header h = {.trigger_number = d->trigger_number,
                             .time = d->time,
                             .window_begin = d->window_begin,
                             .window_end = d->window_end,
                             .algorithms = d->algorithms,
                             .n_candidates = d->n_candidates,
                             .candidates_dropped = d->candidates_dropped,
                             .n_cells = d->n_cells};
    return lt_tc_encode(&h, d->candidates, buf, cap);
}

int trigd_tc_decode(const struct lt_fragment_header *fh, const uint8_t *buf, size_t len,
                    struct trigd_decision *d)
{
    struct lt_tc_header h;
    memset(d, 0, offsetof(struct trigd_decision, candidates));
    int rc = lt_tc_decode(fh, buf, len, &h, d->candidates, TRIGD_DECISION_MAX_CANDIDATES);
    d->trigger_number = h.trigger_number;
    d->time = h.time;
    d->window_begin = h.window_begin;
    d->window_end = h.window_end;
    d->algorithms = h.algorithms;
    d->n_candidates = h.n_candidates;
    d->candidates_dropped = h.candidates_dropped;
    d->n_cells = h.n_cells;
    for (uint32_t i = 0; i < d->n_candidates; i++) {
        uint32_t cell = d->candidates[i].cell;
        if (cell < LT_MAX_CELLS) d->cells[cell / 64] |= 1ULL << (cell % 64);
    }
    return rc;
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

void trigd_record_build(struct trigd_record_parts *p, const struct trigd_record_layout *cfg,
                        const struct trigd_decision *d, const struct lt_msg_view *const *replies)
{
    uint32_t k = 0;
    p->not_found = p->incomplete = 0;
    for (uint32_t i = 0; i < cfg->n_cells; i++) {
        uint32_t cell = cfg->cells[i].id, ns = cfg->cells[i].n_streams;
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
    trh->trigger_type = lt_trigger_type(d->algorithms);
    trh->element_id.version = LT_SOURCE_ID_VERSION;
    trh->element_id.subsystem = LT_SUBSYS_TR_BUILDER;
    trh->element_id.id = 0;
    p->rec.requests = p->reqs;
    p->rec.n_requests = k;
    p->rec.frags = p->frags;
    p->rec.n_frags = k;
}
