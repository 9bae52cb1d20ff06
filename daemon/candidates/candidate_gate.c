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
    struct trigd_input_stats st;
};

int trigd_input_create(const struct trigd_cell_ids *cfg, struct trigd_input **out, char *err,
                       size_t errlen)
{
    struct trigd_input *in = calloc(1, sizeof *in);
    if (in) in->cells = calloc(cfg->n ? cfg->n : 1, sizeof *in->cells);
    if (!in || !in->cells) {
        free(in);
        lt_seterr(err, errlen, "candidate input: out of memory");
        return LT_ENOMEM;
    }
    memset(in->index_of, 0xff, sizeof in->index_of);
    for (uint32_t i = 0; i < cfg->n; i++) in->index_of[cfg->id[i]] = (int16_t)i;
    *out = in;
    return 0;
}

void trigd_input_destroy(struct trigd_input *in)
{
    if (!in) return;
    free(in->cells);
    free(in);
}

void trigd_input_count_bad(struct trigd_input *in)
{
    in->st.msgs++;
    in->st.msgs_bad++;
}

void trigd_input_snapshot(const struct trigd_input *in, struct trigd_input_stats *out)
{
    *out = in->st;
}

static int drop_bad(struct trigd_input *in, size_t len, const char *why)
{
    in->st.msgs_bad++;
    LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5,
                       "bad message on the candidate socket (%zu bytes) "
                       "dropped: %s",
                       len, why);
    return LT_EFORMAT;
}

int trigd_input_handle(struct trigd_input *in, struct trigd_agg *agg, const void *buf, size_t len,
                       uint64_t now_ns)
{
    in->st.msgs++;
    struct lt_msg_view v;
    char err[200];
    int rc = lt_msg_decode(buf, len, &v, err, sizeof err);
    if (rc) {
        drop_bad(in, len, err);
        return rc;
    }
    if (v.hdr.type != LT_MSG_CANDIDATES && v.hdr.type != LT_MSG_HEARTBEAT) {
        snprintf(err, sizeof err, "a %s message does not belong on this socket",
                 lt_msg_type_name(v.hdr.type));
        return drop_bad(in, len, err);
    }
    if (in->index_of[v.hdr.cell] < 0) {
        snprintf(err, sizeof err, "cell %u is not configured", v.hdr.cell);
        return drop_bad(in, len, err);
    }
    struct in_cell *c = &in->cells[in->index_of[v.hdr.cell]];
    int t = v.hdr.type == LT_MSG_HEARTBEAT;
    uint64_t seq = v.hdr.sequence;
    if (seq == 1 && c->last_seq[t] != 0 && v.hdr.watermark > c->watermark) {
        /* The cell process started over (numbering from 1 again, data time going on, as the
         * detector clock does): take its numbering from here. A repeated old message has an old
         * watermark and stays out of order. */
        in->st.cell_restarts++;
        LT_INFO("cell %u restarted its message sequence", v.hdr.cell);
        memset(c, 0, sizeof *c);
    }
    if (seq <= c->last_seq[t] || v.hdr.watermark < c->watermark) {
        /* A new sequence number with a watermark going back was received all the same: it
         * must not show up again as a gap. */
        if (seq > c->last_seq[t]) {
            if (c->last_seq[t] && seq > c->last_seq[t] + 1)
                in->st.msgs_lost += seq - c->last_seq[t] - 1;
            c->last_seq[t] = seq;
        }
        in->st.msgs_out_of_order++;
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5,
                           "cell %u: out-of-order %s message dropped (sequence %llu after %llu, "
                           "watermark %llu after %llu)",
                           v.hdr.cell, lt_msg_type_name(v.hdr.type), (unsigned long long)seq,
                           (unsigned long long)c->last_seq[t], (unsigned long long)v.hdr.watermark,
                           (unsigned long long)c->watermark);
        return LT_ERANGE;
    }
    if (seq > c->last_seq[t] + 1 && c->last_seq[t]) in->st.msgs_lost += seq - c->last_seq[t] - 1;
    c->last_seq[t] = seq;
    c->watermark = v.hdr.watermark;
    if (!t) {
        for (uint32_t i = 0; i < v.hdr.count; i++) lt_msg_candidate(&v, i, &in->cands[i]);
        trigd_agg_candidates(agg, v.hdr.cell, in->cands, v.hdr.count, now_ns);
    }
    trigd_agg_watermark(agg, v.hdr.cell, v.hdr.watermark, now_ns);
    return 0;
}
