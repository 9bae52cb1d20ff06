/* The candidate input on its own (daemon/candidates/candidate_gate.h): messages a cell sends over a
 * real ZeroMQ PUSH socket, received on the module's PULL socket, go through the gate into a real
 * aggregator. What passes reaches the aggregator (its candidate and watermark figures, and the
 * decision it makes); what does not is dropped and counted: undecodable bytes, a message type
 * that does not belong on the socket, an unconfigured cell, a repeated or older sequence number,
 * a watermark going back. Sequence gaps are counted as lost; CANDIDATES and HEARTBEAT are
 * numbered apart; a cell that starts again at 1 with later data time is taken back. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "aggregator.h"
#include "candidate_gate.h"
#include "config.h"
#include "lt_error.h"
#include "msg.h"
#include "config_slices.h"

static struct trigd_config cfg;
static struct lt_aggregator_config ac; /* the slices of cfg */
static int n_decisions;
static uint64_t last_decision_time;

static int cb_accept(void *u)
{
    (void)u;
    return 1;
}

static void cb_emit(void *u, const struct trigd_decision *d)
{
    (void)u;
    n_decisions++;
    last_decision_time = d->time;
}

static void *ctx, *push, *pull;
static struct trigd_input *in;
static struct trigd_agg *agg;

static void setup(void)
{
    char err[256];
    ck_assert_msg(trigd_config_load_string(
                      "cells = ( { id = 2; }, { id = 4; } );\n"
                      "trigger = { watermark_slack_us = 0.0;\n"
                      "  coincidence = { enabled = false; min_score = 0; };\n"
                      "  single = { enabled = true; min_score = 1000; min_adc_sum = 0; }; };\n",
                      "test", &cfg, err, sizeof err) == 0,
                  "%s", err);
    n_decisions = 0;
    trigd_config_aggregator(&cfg, &ac);
    struct trigd_input_config ic;
    trigd_config_input(&cfg, &ic);
    ck_assert_msg(trigd_input_create(&ic, &in, err, sizeof err) == 0, "%s", err);
    struct trigd_agg_callbacks cb = {cb_accept, cb_emit, NULL};
    ck_assert_msg(trigd_agg_create(&ac, &cb, 1, &agg, err, sizeof err) == 0, "%s", err);
    ctx = zmq_ctx_new();
    pull = zmq_socket(ctx, ZMQ_PULL);
    push = zmq_socket(ctx, ZMQ_PUSH);
    int zero = 0;
    zmq_setsockopt(push, ZMQ_LINGER, &zero, sizeof zero);
    ck_assert_int_eq(zmq_bind(pull, "inproc://candidate-gate"), 0);
    ck_assert_int_eq(zmq_connect(push, "inproc://candidate-gate"), 0);
}

static void teardown(void)
{
    zmq_close(push);
    zmq_close(pull);
    zmq_ctx_term(ctx);
    trigd_agg_destroy(agg);
    trigd_input_destroy(in);
}

/* Send bytes from the cell side, receive them on the module side, hand them to the gate. */
static int through(const void *buf, size_t len)
{
    ck_assert_int_eq(zmq_send(push, buf, len, 0), (int)len);
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_eq(zmq_msg_recv(&m, pull, 0), (int)len);
    int rc = trigd_input_handle(in, agg, zmq_msg_data(&m), zmq_msg_size(&m), 1);
    zmq_msg_close(&m);
    return rc;
}

static int candidates(uint32_t cell, uint64_t seq, uint64_t wm, uint64_t t, int32_t score)
{
    struct lt_candidate c = {.time_start = t,
                             .time_peak = t + 10,
                             .time_end = t + 20,
                             .cell = cell,
                             .channel_start = 1,
                             .channel_end = 5,
                             .peak_score = score,
                             .adc_sum = 10,
                             .n_pixels = 2};
    uint8_t buf[LT_MSG_HEADER_SIZE + LT_MSG_CANDIDATE_SIZE];
    size_t len;
    ck_assert_int_eq(lt_msg_encode_candidates(buf, sizeof buf, cell, seq, wm, &c, 1, &len), 0);
    return through(buf, len);
}

static int heartbeat(uint32_t cell, uint64_t seq, uint64_t wm)
{
    uint8_t buf[LT_MSG_HEADER_SIZE];
    size_t len;
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, sizeof buf, cell, seq, wm, &len), 0);
    return through(buf, len);
}

static struct trigd_agg_cell_stats cell_stats(uint32_t index)
{
    struct trigd_agg_cell_stats s;
    trigd_agg_get_cell_stats(agg, index, &s);
    return s;
}

/* The gate's own snapshot of its counters. */
static struct trigd_input_stats gate_stats(void)
{
    struct trigd_input_stats s;
    trigd_input_snapshot(in, &s);
    return s;
}

#define L(x) (gate_stats().x)

START_TEST(in_order_messages_reach_the_aggregator)
{
    setup();
    ck_assert_int_eq(candidates(2, 1, 100000, 50000, 2000), 0);
    ck_assert_int_eq(heartbeat(2, 1, 200000), 0); /* HEARTBEAT numbering is its own */
    ck_assert_int_eq(candidates(2, 2, 300000, 250000, 10), 0);
    ck_assert_int_eq(heartbeat(4, 1, 400000), 0);
    ck_assert_uint_eq(L(msgs), 4);
    ck_assert_uint_eq(L(msgs_bad) + L(msgs_out_of_order) + L(msgs_lost), 0);
    struct trigd_agg_stats a;
    trigd_agg_get_stats(agg, &a);
    ck_assert_uint_eq(a.candidates, 2);
    ck_assert_uint_eq(cell_stats(0).watermark, 300000);
    ck_assert_uint_eq(cell_stats(1).watermark, 400000);
    /* Both watermarks are past the loud candidate: the aggregator decided on it. */
    ck_assert_int_eq(n_decisions, 1);
    ck_assert_uint_eq(last_decision_time, 50000);
    teardown();
}
END_TEST

START_TEST(bad_messages_are_dropped_and_counted)
{
    setup();
    ck_assert_int_ne(through("not a message at all", 20), 0);
    uint8_t rq[LT_MSG_HEADER_SIZE + LT_MSG_REQUEST_SIZE];
    struct lt_msg_data_request r = {
        .trigger_number = 1, .window_begin = 1, .window_end = 2, .cell = 2};
    size_t len;
    ck_assert_int_eq(lt_msg_encode_data_request(rq, sizeof rq, 1, &r, &len), 0);
    ck_assert_int_eq(through(rq, len), LT_EFORMAT);      /* not for this socket */
    ck_assert_int_eq(heartbeat(7, 1, 1000), LT_EFORMAT); /* cell 7 is not configured */
    uint8_t hb[LT_MSG_HEADER_SIZE];
    ck_assert_int_eq(lt_msg_encode_heartbeat(hb, sizeof hb, 2, 1, 1000, &len), 0);
    hb[0] ^= 0xFF; /* magic */
    ck_assert_int_ne(through(hb, len), 0);
    ck_assert_uint_eq(L(msgs), 4);
    ck_assert_uint_eq(L(msgs_bad), 4);
    struct trigd_agg_stats a;
    trigd_agg_get_stats(agg, &a);
    ck_assert_uint_eq(a.candidates + a.heartbeats, 0);
    teardown();
}
END_TEST

START_TEST(order_gaps_and_restart)
{
    setup();
    ck_assert_int_eq(candidates(2, 1, 10000, 5000, 10), 0);
    ck_assert_int_eq(candidates(2, 2, 20000, 15000, 10), 0);
    ck_assert_int_eq(candidates(2, 2, 25000, 21000, 10), LT_ERANGE); /* repeated sequence */
    ck_assert_int_eq(candidates(2, 5, 30000, 26000, 10), 0);         /* 3 and 4 never came */
    ck_assert_uint_eq(L(msgs_lost), 2);
    ck_assert_int_eq(candidates(2, 4, 40000, 35000, 10), LT_ERANGE); /* older sequence */
    ck_assert_int_eq(heartbeat(2, 1, 25000), LT_ERANGE);             /* watermark goes back */
    ck_assert_uint_eq(L(msgs_out_of_order), 3);
    ck_assert_uint_eq(cell_stats(0).watermark, 30000);
    struct trigd_agg_stats a;
    trigd_agg_get_stats(agg, &a);
    ck_assert_uint_eq(a.candidates, 3); /* only what passed */

    /* The cell process starts over: sequence 1 again, data time going on. */
    ck_assert_int_eq(candidates(2, 1, 50000, 45000, 10), 0);
    ck_assert_uint_eq(L(cell_restarts), 1);
    ck_assert_int_eq(candidates(2, 2, 60000, 55000, 10), 0);
    ck_assert_uint_eq(cell_stats(0).watermark, 60000);
    /* A stale copy of an old message (sequence 1, old watermark) is no restart. */
    ck_assert_int_eq(candidates(2, 1, 10000, 5000, 10), LT_ERANGE);
    ck_assert_uint_eq(L(cell_restarts), 1);
    trigd_agg_get_stats(agg, &a);
    ck_assert_uint_eq(a.candidates, 5);
    teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("candidate_gate");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, in_order_messages_reach_the_aggregator);
    tcase_add_test(tc, bad_messages_are_dropped_and_counted);
    tcase_add_test(tc, order_gaps_and_restart);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
