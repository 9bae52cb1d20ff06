/* Candidate gate: see candidate_gate.h. Every check runs before any state changes, so a
 * refused message leaves the cell exactly as it was. */
#include "candidate_gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lt_error.h"
#include "msg.h"

/* Consecutive messages that must agree with a forward clock jump before it is believed: a cell
 * sends one per kernel block, so this is a few ms of data, while a lone glitched or forged
 * message is followed by the cell's regular ones and never confirms. */
#define JUMP_CONFIRM 8U
/* How long a cell refused for its time stays listed with a clock fault. */
#define FAULT_SHOW_NS 10000000000ULL

struct in_cell {
    uint32_t id;
    int heard;            /* a message of this cell was accepted */
    uint64_t last_seq[2]; /* [0] CANDIDATES, [1] HEARTBEAT; 0 = not numbered yet */
    uint8_t firm[2];      /* numbering confirmed (see the end of trigd_input_handle_peer) */
    uint64_t watermark;   /* of the last accepted message */
    uint64_t jump_wm;     /* first watermark of an unconfirmed forward jump */
    uint32_t jump_n;      /* consecutive messages agreeing with it */
    uint64_t fault_ns;    /* last refusal for time (0: never) */
    uint64_t refused[2];  /* refused since the last accepted message, numbered after it: not lost */
};

struct trigd_input {
    uint64_t max_lead, max_gap;
    uint32_t n_cells;
    int16_t index_of[LT_MAX_CELLS];
    struct in_cell *cells;
    struct lt_candidate cands[LT_MSG_MAX_CANDIDATES];
    struct trigd_input_stats st;
};

int trigd_input_create(const struct trigd_input_config *cfg, struct trigd_input **out, char *err,
                       size_t errlen)
{
    struct trigd_input *in = calloc(1, sizeof *in);
    if (in) in->cells = calloc(cfg->cells.n ? cfg->cells.n : 1, sizeof *in->cells);
    if (!in || !in->cells) {
        free(in);
        lt_seterr(err, errlen, "candidate input: out of memory");
        return LT_ENOMEM;
    }
    in->max_lead = cfg->max_time_lead_ticks;
    in->max_gap = cfg->max_sequence_gap;
    in->n_cells = cfg->cells.n;
    memset(in->index_of, 0xff, sizeof in->index_of);
    for (uint32_t i = 0; i < cfg->cells.n; i++) {
        in->index_of[cfg->cells.id[i]] = (int16_t)i;
        in->cells[i].id = cfg->cells.id[i];
    }
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

/* The time a message of cell `self` is measured against: the highest accepted watermark of the
 * other live cells and its own (when it is live). 0 = nothing to compare with (first message of
 * the run, or every cell missing). */
static uint64_t reference_time(const struct trigd_input *in, const struct trigd_agg *agg, int *have)
{
    uint64_t ref = 0;
    *have = 0;
    for (uint32_t i = 0; i < in->n_cells; i++) {
        const struct in_cell *c = &in->cells[i];
        if (!c->heard || trigd_agg_cell_missing(agg, c->id)) continue;
        *have = 1;
        if (c->watermark > ref) ref = c->watermark;
    }
    return ref;
}

static int refuse_time(struct trigd_input *in, struct in_cell *c, const struct lt_msg_view *v,
                       uint64_t t, uint64_t ref, uint64_t now_ns)
{
    in->st.msgs_clock_fault++;
    c->fault_ns = now_ns ? now_ns : 1;
    int type = v->hdr.type == LT_MSG_HEARTBEAT;
    if (v->hdr.sequence > c->last_seq[type]) c->refused[type]++;
    LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5,
                       "cell %u: %s message refused (clock fault): time %llu is %llu ticks ahead "
                       "of the live cells (%llu), beyond trigger.max_time_lead_ms",
                       c->id, lt_msg_type_name(v->hdr.type), (unsigned long long)t,
                       (unsigned long long)(t - ref), (unsigned long long)ref);
    return LT_ERANGE;
}

int trigd_input_handle(struct trigd_input *in, struct trigd_agg *agg, const void *buf, size_t len,
                       uint64_t now_ns)
{
    return trigd_input_handle_peer(in, agg, buf, len, TRIGD_PEER_ANY, now_ns);
}

int trigd_input_handle_peer(struct trigd_input *in, struct trigd_agg *agg, const void *buf,
                            size_t len, int32_t peer_cell, uint64_t now_ns)
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
    if (peer_cell != TRIGD_PEER_ANY && (uint32_t)peer_cell != v.hdr.cell) {
        in->st.msgs_forged++;
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5,
                           "%s message for cell %u from the peer authenticated as cell %d refused "
                           "(a peer speaks only for itself)",
                           lt_msg_type_name(v.hdr.type), v.hdr.cell, peer_cell);
        return LT_EINVAL;
    }
    struct in_cell *c = &in->cells[in->index_of[v.hdr.cell]];
    int t = v.hdr.type == LT_MSG_HEARTBEAT;
    uint64_t seq = v.hdr.sequence, wm = v.hdr.watermark;

    /* The newest time the message claims: its watermark or a candidate's. */
    uint64_t newest = wm;
    if (!t)
        for (uint32_t i = 0; i < v.hdr.count; i++) {
            lt_msg_candidate(&v, i, &in->cands[i]);
            if (in->cands[i].time_start > newest) newest = in->cands[i].time_start;
        }

    /* A missing cell (or one never heard) brings its own numbering and time; so does a restarted
     * process (sequence 1, data time going on). A repeated old first message has an old
     * watermark and stays out of order. */
    int live = c->heard && !trigd_agg_cell_missing(agg, c->id);
    int resync = c->heard && !live;
    int restart = live && seq == 1 && c->last_seq[t] != 0 && wm > c->watermark;

    int have_ref;
    uint64_t ref = reference_time(in, agg, &have_ref);
    int jump = 0;
    if (have_ref && newest > ref && newest - ref > in->max_lead) {
        if (c->jump_n && wm >= c->jump_wm && wm - c->jump_wm <= in->max_lead) {
            c->jump_n++;
        } else {
            c->jump_wm = wm;
            c->jump_n = 1;
        }
        /* Candidates beyond their own message's watermark by more than the bound are never a
         * clock jump: the kernel sends a candidate only behind its watermark. */
        int cand_ahead = newest > wm && newest - wm > in->max_lead;
        if (c->jump_n < JUMP_CONFIRM || cand_ahead)
            return refuse_time(in, c, &v, newest, ref, now_ns);
        jump = 1;
    }
    int renumber = 0;
    if (live && !restart) {
        /* A numbering not yet confirmed (the first number seen of this type, when the module
         * joined a running cell) gives way to a message going on from an earlier number: a lone
         * forged or corrupt first number cannot make every real message look old. */
        int tentative = !c->firm[t] && c->last_seq[t] && seq < c->last_seq[t];
        if (c->last_seq[t] && seq > c->last_seq[t] && seq - c->last_seq[t] > in->max_gap) {
            in->st.msgs_seq_refused++;
            LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5,
                               "cell %u: %s message refused: sequence %llu jumps more than "
                               "trigger.max_sequence_gap past %llu",
                               v.hdr.cell, lt_msg_type_name(v.hdr.type), (unsigned long long)seq,
                               (unsigned long long)c->last_seq[t]);
            return LT_ERANGE;
        }
        if ((seq <= c->last_seq[t] && !tentative) || wm < c->watermark) {
            in->st.msgs_out_of_order++;
            LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5,
                               "cell %u: out-of-order %s message refused (sequence %llu after "
                               "%llu, watermark %llu after %llu)",
                               v.hdr.cell, lt_msg_type_name(v.hdr.type), (unsigned long long)seq,
                               (unsigned long long)c->last_seq[t], (unsigned long long)wm,
                               (unsigned long long)c->watermark);
            if (seq > c->last_seq[t]) c->refused[t]++; /* a number in a later gap */
            return LT_ERANGE;
        }
        renumber = tentative;
    }

    /* Accepted: from here on the cell's state moves. */
    if (jump) {
        in->st.clock_jumps++;
        LT_WARN("cell %u: its time jumped to %llu (%llu ticks ahead of the live cells), confirmed "
                "by %u messages: following it",
                c->id, (unsigned long long)wm, (unsigned long long)(newest - ref), JUMP_CONFIRM);
    }
    c->jump_n = 0;
    if (restart) {
        in->st.cell_restarts++;
        LT_INFO("cell %u restarted its message sequence", v.hdr.cell);
        c->last_seq[0] = c->last_seq[1] = 0;
        c->firm[0] = c->firm[1] = 0;
    } else if (resync) {
        in->st.cell_resyncs++;
        LT_INFO("cell %u speaks again after it was missing: taking its sequence %llu and "
                "watermark %llu",
                v.hdr.cell, (unsigned long long)seq, (unsigned long long)wm);
        c->last_seq[0] = c->last_seq[1] = 0;
        c->firm[0] = c->firm[1] = 0;
        trigd_agg_cell_resync(agg, c->id, wm);
    } else if (renumber) {
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 5,
                           "cell %u: %s numbering goes on from %llu, not from the unconfirmed "
                           "%llu",
                           v.hdr.cell, lt_msg_type_name(v.hdr.type), (unsigned long long)seq,
                           (unsigned long long)c->last_seq[t]);
    } else if (c->last_seq[t] && seq > c->last_seq[t] + 1 + c->refused[t]) {
        /* The gap less the messages refused meanwhile (they came, they were not lost). */
        in->st.msgs_lost += seq - c->last_seq[t] - 1 - c->refused[t];
    }
    c->refused[t] = 0;
    /* Only a first number that is not 1 (the module joined a running cell) is unconfirmed; the
     * next accepted message of the type confirms the numbering. */
    c->firm[t] = c->last_seq[t] != 0 || seq == 1;
    c->heard = 1;
    c->last_seq[t] = seq;
    c->watermark = wm;
    if (!t) trigd_agg_candidates(agg, v.hdr.cell, in->cands, v.hdr.count, now_ns);
    trigd_agg_watermark(agg, v.hdr.cell, wm, now_ns);
    return 0;
}

void trigd_input_clock_faults(const struct trigd_input *in, uint64_t now_ns,
                              uint64_t bits[TRIGD_CELL_WORDS])
{
    memset(bits, 0, TRIGD_CELL_WORDS * sizeof *bits);
    for (uint32_t i = 0; i < in->n_cells; i++) {
        const struct in_cell *c = &in->cells[i];
        if (c->fault_ns && now_ns - c->fault_ns < FAULT_SHOW_NS)
            bits[c->id / 64] |= 1ULL << (c->id % 64);
    }
}
