#include "candidate_gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lt_error.h"
#include "msg.h"

struct in_cell {
    uint64_t last_seq[2]; /* [0] CANDIDATES, [1] HEARTBEAT */
    uint64_t watermark;
};

struct trigd_input {
    int16_t index_of[LT_MAX_CELLS];
    struct in_cell *cells;
    struct lt_candidate cands[LT_MSG_MAX_CANDIDATES];
};

int trigd_input_create(const struct trigd_config *cfg, struct trigd_input **out, char *err,
                       size_t errlen)
{
    struct trigd_input *in = calloc(1, sizeof *in);
    if (in) in->cells = calloc(cfg->n_cells, sizeof *in->cells);
    if (!in || !in->cells) {
        free(in);
        lt_seterr(err, errlen, "candidate input: out of memory");
        return LT_ENOMEM;
    }
    memset(in->index_of, 0xff, sizeof in->index_of);
    for (uint32_t i = 0; i < cfg->n_cells; i++) in->index_of[cfg->cells[i].id] = (int16_t)i;
    *out = in;
    return 0;
}

void trigd_input_destroy(struct trigd_input *in)
{
    if (!in) return;
    free(in->cells);
    free(in);
}

static int drop_bad(struct trigd_module_status *st, size_t len, const char *why)
{
    atomic_fetch_add_explicit(&st->msgs_bad, 1, memory_order_relaxed);
    LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5,
                       "bad message on the candidate socket (%zu bytes) "
                       "dropped: %s",
                       len, why);
    return LT_EFORMAT;
}

int trigd_input_handle(struct trigd_input *in, struct trigd_agg *agg, const void *buf, size_t len,
                       uint64_t now_ns, struct trigd_module_status *st)
{
    atomic_fetch_add_explicit(&st->msgs, 1, memory_order_relaxed);
    struct lt_msg_view v;
    char err[200];
    int rc = lt_msg_decode(buf, len, &v, err, sizeof err);
    if (rc) {
        drop_bad(st, len, err);
        return rc;
    }
    if (v.hdr.type != LT_MSG_CANDIDATES && v.hdr.type != LT_MSG_HEARTBEAT) {
        snprintf(err, sizeof err, "a %s message does not belong on this socket",
                 lt_msg_type_name(v.hdr.type));
        return drop_bad(st, len, err);
    }
    if (in->index_of[v.hdr.cell] < 0) {
        snprintf(err, sizeof err, "cell %u is not configured", v.hdr.cell);
        return drop_bad(st, len, err);
    }
    struct in_cell *c = &in->cells[in->index_of[v.hdr.cell]];
    int t = v.hdr.type == LT_MSG_HEARTBEAT;
    uint64_t seq = v.hdr.sequence;
    if (seq == 1 && c->last_seq[t] != 0 && v.hdr.watermark > c->watermark) {
        /* The cell process started over (numbering from 1 again, data time going on, as the
         * detector clock does): take its numbering from here. A repeated old message has an old
         * watermark and stays out of order. */
        atomic_fetch_add_explicit(&st->cell_restarts, 1, memory_order_relaxed);
        LT_INFO("cell %u restarted its message sequence", v.hdr.cell);
        memset(c, 0, sizeof *c);
    }
    if (seq <= c->last_seq[t] || v.hdr.watermark < c->watermark) {
        /* A new sequence number with a watermark going back was received all the same: it
         * must not show up again as a gap. */
        if (seq > c->last_seq[t]) {
            if (c->last_seq[t] && seq > c->last_seq[t] + 1)
                atomic_fetch_add_explicit(&st->msgs_lost, seq - c->last_seq[t] - 1,
                                          memory_order_relaxed);
            c->last_seq[t] = seq;
        }
        atomic_fetch_add_explicit(&st->msgs_out_of_order, 1, memory_order_relaxed);
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5,
                           "cell %u: out-of-order %s message dropped (sequence %llu after %llu, "
                           "watermark %llu after %llu)",
                           v.hdr.cell, lt_msg_type_name(v.hdr.type), (unsigned long long)seq,
                           (unsigned long long)c->last_seq[t], (unsigned long long)v.hdr.watermark,
                           (unsigned long long)c->watermark);
        return LT_ERANGE;
    }
    if (seq > c->last_seq[t] + 1 && c->last_seq[t])
        atomic_fetch_add_explicit(&st->msgs_lost, seq - c->last_seq[t] - 1, memory_order_relaxed);
    c->last_seq[t] = seq;
    c->watermark = v.hdr.watermark;
    if (!t) {
        for (uint32_t i = 0; i < v.hdr.count; i++) lt_msg_candidate(&v, i, &in->cands[i]);
        trigd_agg_candidates(agg, v.hdr.cell, in->cands, v.hdr.count, now_ns);
    }
    trigd_agg_watermark(agg, v.hdr.cell, v.hdr.watermark, now_ns);
    return 0;
}
