/* The candidate input trusts no message (docs/security.md): each scenario of issue 12 that a
 * single message can cause, fed as encoded bytes to the input and a real aggregator, must be
 * refused and counted, leave the cell's state as it was, and let the real cell go on.
 *   - a forged HEARTBEAT / empty CANDIDATES with a huge sequence number;
 *   - a refused message (watermark going back) moves no sequence state;
 *   - a watermark of 2^62, candidates an hour ahead, two cells moved an hour ahead;
 *   - a forged "restart" from another authenticated peer;
 *   - a cell blinded by a forged plausible sequence number is reported missing, then resyncs;
 *   - a real clock jump of every cell is followed once confirmed;
 *   - periodic triggers after a one-hour gap: one decision, the skipped slots counted. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "candidate_gate.h"
#include "config_slices.h"
#include "lt_error.h"
#include "msg.h"
#include "ticks.h"

#define MS(x) ((uint64_t)((x)*62500.0))
#define T0    (62500000ULL * 100) /* data time 100 s */
#define HOUR  (62500000ULL * 3600)
#define MAXD  64
#define MS_NS 1000000ULL

static int n_decisions;
static uint64_t decision_time[MAXD];
static uint32_t decision_algos[MAXD];
static struct trigd_config cfg;
static struct trigd_input_stats st; /* refreshed by L() */
static struct trigd_agg *agg;
static struct trigd_input *in;
static uint64_t seq_c[2], seq_h[2]; /* the real cells' own numbering (cells 0 and 1) */

static void cb_emit(void *u, const struct trigd_decision *d)
{
    (void)u;
    ck_assert_int_lt(n_decisions, MAXD);
    decision_time[n_decisions] = d->time;
    decision_algos[n_decisions++] = d->algorithms;
}

static void setup_with(const char *extra)
{
    char err[256], text[1024];
    snprintf(text, sizeof text,
             "cells = ( { id = 0; }, { id = 1; } );\n"
             "trigger = { watermark_slack_us = 0.0; cell_timeout_ms = 100;\n"
             "  coincidence = { enabled = false; };\n"
             "  single = { enabled = true; min_score = 1000; min_adc_sum = 0; }; %s };\n",
             extra);
    ck_assert_int_eq(trigd_config_load_string(text, "test", &cfg, err, sizeof err), 0);
    memset(&st, 0, sizeof st);
    n_decisions = 0;
    memset(seq_c, 0, sizeof seq_c);
    memset(seq_h, 0, sizeof seq_h);
    struct trigd_agg_callbacks cb = {NULL, cb_emit, NULL};
    struct lt_aggregator_config ac;
    struct trigd_input_config ic;
    trigd_config_aggregator(&cfg, &ac);
    trigd_config_input(&cfg, &ic);
    ck_assert_int_eq(trigd_agg_create(&ac, &cb, 0, &agg, err, sizeof err), 0);
    ck_assert_int_eq(trigd_input_create(&ic, &in, err, sizeof err), 0);
}

static void teardown(void)
{
    trigd_input_destroy(in);
    trigd_agg_destroy(agg);
}

static int heartbeat(uint32_t cell, uint64_t seq, uint64_t wm, int32_t peer, uint64_t now)
{
    uint8_t buf[64];
    size_t len;
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, sizeof buf, cell, seq, wm, &len), 0);
    return trigd_input_handle_peer(in, agg, buf, len, peer, now);
}

static int candidates(uint32_t cell, uint64_t seq, uint64_t wm, uint64_t t, uint32_t n,
                      int32_t peer, uint64_t now)
{
    static uint8_t buf[LT_MSG_HEADER_SIZE + 4 * LT_MSG_CANDIDATE_SIZE];
    struct lt_candidate c[4];
    for (uint32_t i = 0; i < n; i++)
        c[i] = (struct lt_candidate){.time_start = t,
                                     .time_peak = t + 10,
                                     .time_end = t + 20,
                                     .cell = cell,
                                     .channel_start = 1,
                                     .channel_end = 5,
                                     .peak_score = 5000,
                                     .adc_sum = 100,
                                     .n_pixels = 3};
    size_t len;
    ck_assert_int_eq(lt_msg_encode_candidates(buf, sizeof buf, cell, seq, wm, c, n, &len), 0);
    return trigd_input_handle_peer(in, agg, buf, len, peer, now);
}

/* The real cells' regular traffic: a heartbeat of each at wm. */
static void real_heartbeats(uint64_t wm, uint64_t now)
{
    for (uint32_t cell = 0; cell < 2; cell++)
        ck_assert_int_eq(heartbeat(cell, ++seq_h[cell], wm, (int32_t)cell, now), 0);
}

static uint64_t horizon(void)
{
    struct trigd_agg_stats s;
    trigd_agg_get_stats(agg, &s);
    return s.horizon;
}

#define L(x) (trigd_input_snapshot(in, &st), (x))

START_TEST(test_forged_huge_sequence)
{
    setup_with("");
    real_heartbeats(T0, 1);
    /* A forged HEARTBEAT with a huge sequence number for cell 0: refused. */
    ck_assert_int_eq(heartbeat(0, 1ULL << 40, T0 + MS(1), TRIGD_PEER_ANY, 2), LT_ERANGE);
    ck_assert_uint_eq(L(st.msgs_seq_refused), 1);
    /* A forged empty CANDIDATES with a huge number, the first CANDIDATES message the module sees
     * of cell 0 (as after a module restart, when any number is plausible): taken, harmless
     * (empty, in time), but only tentatively numbered. */
    ck_assert_int_eq(candidates(0, 1ULL << 40, T0 + MS(1), 0, 0, TRIGD_PEER_ANY, 2), 0);
    ck_assert_uint_eq(L(st.msgs_lost), 0);
    /* The real cell's next messages go on: candidates become a decision. */
    ck_assert_int_eq(candidates(0, ++seq_c[0], T0 + MS(2), T0 + MS(1), 1, 0, 3), 0);
    real_heartbeats(T0 + MS(10), 4);
    ck_assert_int_eq(n_decisions, 1);
    ck_assert_uint_eq(decision_time[0], T0 + MS(1));
    ck_assert_uint_eq(L(st.msgs_lost), 0);
    ck_assert_uint_eq(L(st.msgs_out_of_order), 0);
    teardown();
}
END_TEST

START_TEST(test_refused_moves_nothing)
{
    setup_with("");
    real_heartbeats(T0 + MS(5), 1);
    /* Sequence 5 with a watermark going back: refused, and not remembered as seen. */
    ck_assert_int_eq(heartbeat(0, 5, T0, TRIGD_PEER_ANY, 2), LT_ERANGE);
    ck_assert_uint_eq(L(st.msgs_out_of_order), 1);
    /* The real message 2 is in order: no gap, nothing lost. */
    ck_assert_int_eq(heartbeat(0, ++seq_h[0], T0 + MS(6), 0, 3), 0);
    ck_assert_uint_eq(L(st.msgs_lost), 0);
    ck_assert_uint_eq(L(st.msgs_out_of_order), 1);
    /* A genuine gap (messages 3..4 lost) is counted once. */
    seq_h[0] += 2;
    ck_assert_int_eq(heartbeat(0, ++seq_h[0], T0 + MS(7), 0, 4), 0);
    ck_assert_uint_eq(L(st.msgs_lost), 2);
    teardown();
}
END_TEST

START_TEST(test_time_beyond_bounds)
{
    setup_with("");
    real_heartbeats(T0, 1);
    uint64_t h = horizon();
    ck_assert_uint_eq(h, T0);
    /* A watermark of 2^62 for cell 0, from the right sequence number on. */
    ck_assert_int_eq(heartbeat(0, seq_h[0] + 1, 1ULL << 62, TRIGD_PEER_ANY, 2), LT_ERANGE);
    /* Two heartbeats moving both cells an hour ahead. */
    ck_assert_int_eq(heartbeat(0, seq_h[0] + 1, T0 + HOUR, TRIGD_PEER_ANY, 2), LT_ERANGE);
    ck_assert_int_eq(heartbeat(1, seq_h[1] + 1, T0 + HOUR, TRIGD_PEER_ANY, 2), LT_ERANGE);
    /* Candidates an hour ahead of their own (plausible) watermark. */
    ck_assert_int_eq(candidates(1, 1, T0 + MS(1), T0 + HOUR, 1, TRIGD_PEER_ANY, 2), LT_ERANGE);
    ck_assert_uint_eq(L(st.msgs_clock_fault), 4);
    ck_assert_uint_eq(horizon(), h);
    ck_assert_int_eq(n_decisions, 0);
    uint64_t bits[TRIGD_CELL_WORDS];
    trigd_input_clock_faults(in, 3, bits);
    ck_assert_uint_eq(bits[0], 3); /* cells 0 and 1 shown with a clock fault */
    trigd_input_clock_faults(in, 3 + 20000 * MS_NS, bits);
    ck_assert_uint_eq(bits[0], 0); /* ... for a while */
    /* The real cells go on (in their own numbering, which the refusals did not move). */
    ck_assert_int_eq(candidates(1, ++seq_c[1], T0 + MS(3), T0 + MS(2), 1, 1, 3), 0);
    real_heartbeats(T0 + MS(10), 4);
    ck_assert_int_eq(n_decisions, 1);
    ck_assert_uint_eq(horizon(), T0 + MS(10));
    ck_assert(!trigd_agg_cell_missing(agg, 0) && !trigd_agg_cell_missing(agg, 1));
    /* A lead within the bound is ordinary jitter between cells. */
    ck_assert_int_eq(heartbeat(0, ++seq_h[0], T0 + MS(2000), 0, 5), 0);
    teardown();
}
END_TEST

START_TEST(test_forged_restart_and_wrong_peer)
{
    setup_with("");
    real_heartbeats(T0, 1);
    /* Peer authenticated as cell 1 sends a "restart" (sequence 1) for cell 0, candidates too. */
    ck_assert_int_eq(candidates(0, 1, T0 + MS(1), T0 + MS(1), 1, 1, 2), LT_EINVAL);
    ck_assert_int_eq(heartbeat(0, 1, T0 + MS(1), 1, 2), LT_EINVAL);
    ck_assert_uint_eq(L(st.msgs_forged), 2);
    ck_assert_uint_eq(L(st.cell_restarts), 0);
    real_heartbeats(T0 + MS(10), 3);
    ck_assert_int_eq(n_decisions, 0); /* the forged candidate never became a trigger */
    /* The real cell 0 restarting (sequence 1, later time) is taken back. */
    ck_assert_int_eq(heartbeat(0, 1, T0 + MS(11), 0, 4), 0);
    ck_assert_uint_eq(L(st.cell_restarts), 1);
    teardown();
}
END_TEST

START_TEST(test_blinded_cell_is_missing_then_resyncs)
{
    setup_with("");
    real_heartbeats(T0, 1);
    /* A forged message inside every bound (plausible sequence gap and time) is taken without
     * authentication (CURVE prevents it): the real cell's next messages then look old... */
    ck_assert_int_eq(heartbeat(0, 1000, T0 + MS(1), TRIGD_PEER_ANY, 2), 0);
    uint64_t now = 3;
    for (int i = 0; i < 5; i++, now += 10 * MS_NS) {
        ck_assert_int_eq(heartbeat(0, ++seq_h[0], T0 + MS(2 + i), TRIGD_PEER_ANY, now), LT_ERANGE);
        ck_assert_int_eq(heartbeat(1, ++seq_h[1], T0 + MS(2 + i), 1, now), 0);
        trigd_agg_poll(agg, now);
    }
    /* ... but never silently: with no accepted message the cell is reported missing. */
    now += 200 * MS_NS;
    ck_assert_int_eq(heartbeat(1, ++seq_h[1], T0 + MS(8), 1, now), 0);
    trigd_agg_poll(agg, now);
    ck_assert(trigd_agg_cell_missing(agg, 0));
    /* Its next message resynchronises it, and its candidates count again. */
    ck_assert_int_eq(candidates(0, ++seq_c[0], T0 + MS(9), T0 + MS(8) + 100, 1, 0, now + 1), 0);
    ck_assert_uint_eq(L(st.cell_resyncs), 1);
    ck_assert(!trigd_agg_cell_missing(agg, 0));
    ck_assert_int_eq(heartbeat(0, ++seq_h[0], T0 + MS(20), 0, now + 2), 0);
    ck_assert_int_eq(heartbeat(1, ++seq_h[1], T0 + MS(20), 1, now + 2), 0);
    ck_assert_int_eq(n_decisions, 1);
    ck_assert_uint_eq(decision_time[0], T0 + MS(8) + 100);
    teardown();
}
END_TEST

START_TEST(test_real_clock_jump_followed)
{
    setup_with("periodic = { enabled = true; period_ms = 5.0; };");
    real_heartbeats(T0, 1);
    real_heartbeats(T0 + MS(12), 2);
    int before = n_decisions;
    ck_assert_int_ge(before, 1);
    /* Both cells' clocks jump an hour: the first messages are clock faults; once 8 in a row
     * agree the jump is believed, and decisions go on at the new time. */
    uint64_t t = T0 + HOUR;
    for (int i = 0; i < 10; i++) {
        t += MS(1);
        heartbeat(0, ++seq_h[0], t, 0, 3);
        heartbeat(1, ++seq_h[1], t, 1, 3);
    }
    ck_assert_uint_ge(L(st.msgs_clock_fault), 7);
    ck_assert_uint_eq(L(st.clock_jumps), 1); /* cell 1 follows cell 0 within the bound */
    ck_assert_uint_ge(horizon(), T0 + HOUR);
    /* One periodic decision for the hour in between, 720,000 slots counted as skipped. */
    struct trigd_agg_stats s;
    trigd_agg_get_stats(agg, &s);
    ck_assert_uint_ge(s.timer_skipped[LT_ALGO_PERIODIC], 719990);
    ck_assert_int_le(n_decisions - before, 4);
    ck_assert_uint_ge(decision_time[n_decisions - 1], T0 + HOUR);
    teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("candidate_gate_trust");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_forged_huge_sequence);
    tcase_add_test(tc, test_refused_moves_nothing);
    tcase_add_test(tc, test_time_beyond_bounds);
    tcase_add_test(tc, test_forged_restart_and_wrong_peer);
    tcase_add_test(tc, test_blinded_cell_is_missing_then_resyncs);
    tcase_add_test(tc, test_real_clock_jump_followed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
