/* The readout stage on its own (daemon/readout/readout.h), with real ZeroMQ sockets: a ROUTER
 * with ZMQ_ROUTER_MANDATORY as the module binds it, and one DEALER per cell that says hello
 * (its route, docs/security.md), answering with real DATA_REPLY messages. The record sink is a test
 * double that keeps what it is given (the writer behind the real sink is tested in tests/writer/
 * and tests/record/), so each step can be checked: requests on the wire, replies matched to their
 * decision, records built on time-out, kDataNotFound for silent and unroutable cells, late and
 * bad replies dropped and counted, a full or refusing sink, shutdown with records in flight. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "config.h"
#include "lt_error.h"
#include "msg.h"
#include "readout.h"
#include "record_builder.h"
#include "config_slices.h"
#include "wibeth.h"

#define MS 1000000ULL /* ns */

static struct trigd_config cfg;
static struct lt_readout_config rc; /* the readout's slice of cfg */

/* ---- a record sink that keeps the records it is given ---- */
struct test_sink {
    struct trigd_record_sink base;
    int full, inhibit, refuse;
    int n;
    struct lt_rw_record *rec[8];
};

static int ts_submit(struct trigd_record_sink *s, struct lt_rw_record *rec)
{
    struct test_sink *t = (struct test_sink *)s;
    if (t->refuse) return LT_EINVAL;
    if (t->full) return LT_EFULL;
    ck_assert_int_lt(t->n, 8);
    t->rec[t->n++] = rec;
    return 0;
}

static int ts_inhibited(struct trigd_record_sink *s)
{
    return ((struct test_sink *)s)->inhibit;
}

static struct test_sink sink;

/* ---- sockets ---- */
static void *ctx, *router, *dealer[2];
static const uint32_t cell_ids[2] = {0, 3}; /* n_fembs 1 and 2: 2 and 4 streams */
static zmq_msg_t hello_id[2], hello_body[2];

static void setup(const char *extra)
{
    char text[1024], err[256];
    snprintf(text, sizeof text,
             "run_number = 77;\n"
             "cells = ( { id = 0; n_fembs = 1; }, { id = 3; n_fembs = 2; } %s);\n"
             "readout = { data_wait_ms = 100; reply_timeout_ms = 500; };\n"
             "buffers = { decision_queue = 2; };\n",
             extra);
    ck_assert_msg(trigd_config_load_string(text, "test", &cfg, err, sizeof err) == 0, "%s", err);
    trigd_config_readout(&cfg, &rc);
    memset(&sink, 0, sizeof sink);
    sink.base.name = "test";
    sink.base.submit = ts_submit;
    sink.base.inhibited = ts_inhibited;
    ctx = zmq_ctx_new();
    router = zmq_socket(ctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    ck_assert_int_eq(zmq_bind(router, "inproc://readout-test"), 0);
    for (int i = 0; i < 2; i++) {
        dealer[i] = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(dealer[i], ZMQ_LINGER, &zero, sizeof zero);
        ck_assert_int_eq(zmq_connect(dealer[i], "inproc://readout-test"), 0);
        /* The cell's hello (a HEARTBEAT naming it): the readout routes the cell's requests to
         * the connection it came from (make() hands it over). */
        uint8_t hb[LT_MSG_HEADER_SIZE];
        size_t len;
        ck_assert_int_eq(lt_msg_encode_heartbeat(hb, sizeof hb, cell_ids[i], 1, 0, &len), 0);
        ck_assert_int_eq(zmq_send(dealer[i], hb, len, 0), (int)len);
        zmq_msg_init(&hello_id[i]);
        zmq_msg_init(&hello_body[i]);
        ck_assert_int_ge(zmq_msg_recv(&hello_id[i], router, 0), 0);
        ck_assert_int_eq(zmq_msg_recv(&hello_body[i], router, 0), (int)len);
    }
}

static void teardown(void)
{
    for (int i = 0; i < 2; i++) zmq_close(dealer[i]);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

/* Hand cell i's hello (received in setup) to the readout at time t. */
static void deliver_hello(struct trigd_readout *r, int i, uint64_t t)
{
    trigd_readout_on_reply(r, &hello_id[i], &hello_body[i], t);
    zmq_msg_close(&hello_id[i]);
    zmq_msg_close(&hello_body[i]);
}

/* A readout that has heard the hellos of the first n_hello cells (the others' are still to be
 * delivered with deliver_hello). */
static struct trigd_readout *make_heard(int n_hello)
{
    struct trigd_readout *r;
    char err[256];
    ck_assert_msg(trigd_readout_create(&rc, router, &sink.base, &r, err, sizeof err) == 0, "%s",
                  err);
    for (int i = 0; i < n_hello; i++) deliver_hello(r, i, 0);
    return r;
}

static struct trigd_readout *make(void)
{
    return make_heard(2);
}

static struct trigd_decision *decision(uint64_t number, uint64_t t)
{
    static struct trigd_decision d;
    memset(&d, 0, offsetof(struct trigd_decision, candidates));
    d.trigger_number = number;
    d.time = t;
    d.window_begin = t - 1000;
    d.window_end = t + 3000;
    d.algorithms = 1;
    d.n_candidates = 1;
    d.candidates[0] = (struct lt_candidate){.time_start = t,
                                            .time_peak = t + 10,
                                            .time_end = t + 20,
                                            .cell = 3,
                                            .channel_end = 4,
                                            .peak_score = 900};
    return &d;
}

/* The cell side: take the request waiting on this dealer and check what it asks for. */
static struct lt_msg_data_request take_request(int i, const struct trigd_decision *d)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_ge(zmq_msg_recv(&m, dealer[i], 0), 0);
    struct lt_msg_view v;
    char err[200];
    ck_assert_msg(lt_msg_decode(zmq_msg_data(&m), zmq_msg_size(&m), &v, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_uint_eq(v.hdr.type, LT_MSG_DATA_REQUEST);
    ck_assert_uint_eq(v.request.cell, cell_ids[i]);
    ck_assert_uint_eq(v.request.trigger_number, d->trigger_number);
    ck_assert_uint_eq(v.request.trigger_timestamp, d->time);
    ck_assert_uint_eq(v.request.window_begin, d->window_begin);
    ck_assert_uint_eq(v.request.window_end, d->window_end - 1); /* inclusive on the wire */
    ck_assert_uint_eq(v.request.run_number, 77);
    struct lt_msg_data_request rq = v.request;
    zmq_msg_close(&m);
    return rq;
}

/* A reply of `frames` frames per stream; each payload byte says (cell, stream). */
static void send_reply(int i, const struct lt_msg_data_request *rq, uint32_t frames, uint32_t bits,
                       uint32_t reply_cell)
{
    const uint32_t ns = i == 0 ? 2 : 4;
    static uint8_t buf[1 << 20];
    struct lt_msg_reply_info info = {.request_id = rq->request_id,
                                     .trigger_number = rq->trigger_number,
                                     .cell = reply_cell,
                                     .error_bits = bits};
    struct lt_msg_reply_builder b;
    ck_assert_int_eq(lt_msg_reply_begin(&b, buf, sizeof buf, 1, 0, &info), 0);
    for (uint32_t s = 0; s < ns; s++) {
        struct lt_fragment_header h = {.trigger_number = rq->trigger_number,
                                       .trigger_timestamp = rq->trigger_timestamp,
                                       .window_begin = rq->window_begin,
                                       .window_end = rq->window_end + 1,
                                       .error_bits = bits,
                                       .fragment_type = LT_FRAGTYPE_WIBETH,
                                       .detector_id = LT_DETID_HD_TPC,
                                       .element_id = {.version = LT_SOURCE_ID_VERSION,
                                                      .subsystem = LT_SUBSYS_DETECTOR_READOUT,
                                                      .id = lt_stream_source_id(reply_cell, s)}};
        uint8_t *p;
        ck_assert_int_eq(lt_msg_reply_reserve_fragment(&b, &h, frames * LT_WIBETH_FRAME_SIZE, &p),
                         0);
        memset(p, (int)(reply_cell * 16 + s), frames * LT_WIBETH_FRAME_SIZE);
    }
    size_t len;
    ck_assert_int_eq(lt_msg_reply_finish(&b, &len), 0);
    ck_assert_int_eq(zmq_send(dealer[i], buf, len, 0), (int)len);
}

/* The module side: one message from the router (identity + body) into the readout. */
static void route_one(struct trigd_readout *r, uint64_t now)
{
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    ck_assert_int_ge(zmq_msg_recv(&id, router, 0), 0);
    ck_assert(zmq_msg_more(&id));
    ck_assert_int_ge(zmq_msg_recv(&body, router, 0), 0);
    trigd_readout_on_reply(r, &id, &body, now);
    zmq_msg_close(&body);
    zmq_msg_close(&id);
}

/* The readout's own snapshot of its counters (of the readout `r` of the test). */
static struct trigd_readout_stats ro_stats(const struct trigd_readout *r)
{
    struct trigd_readout_stats s;
    trigd_readout_snapshot(r, &s);
    return s;
}

#define L(x) (ro_stats(r).x)

START_TEST(requests_replies_record)
{
    setup("");
    struct trigd_readout *r = make();
    ck_assert(trigd_readout_can_accept(r));
    struct trigd_decision *d = decision(7, 100000);
    trigd_readout_start(r, d, 0);
    ck_assert_uint_eq(trigd_readout_in_flight(r), 1);
    struct lt_msg_data_request rq0 = take_request(0, d), rq1 = take_request(1, d);
    send_reply(0, &rq0, 2, 0, 0);
    send_reply(1, &rq1, 3, 0, 3);
    route_one(r, 1 * MS);
    trigd_readout_service(r, 1 * MS);
    ck_assert_uint_eq(L(records_built), 0); /* one cell still to answer */
    route_one(r, 2 * MS);
    ck_assert_uint_eq(L(replies), 2);
    trigd_readout_service(r, 2 * MS);
    ck_assert_uint_eq(L(records_built), 1);
    ck_assert_int_eq(sink.n, 1);

    /* The record: 2 + 4 stream fragments pointing into the replies, then the trigger's own. */
    struct lt_rw_record *rec = sink.rec[0];
    ck_assert_uint_eq(rec->n_frags, 7);
    ck_assert_uint_eq(rec->n_requests, 7);
    ck_assert_uint_eq(rec->trh.trigger_number, 7);
    ck_assert_uint_eq(rec->trh.run_number, 77);
    ck_assert_uint_eq(rec->trh.error_bits, 0);
    for (uint32_t k = 0; k < 6; k++) {
        const struct lt_rw_fragment *f = &rec->frags[k];
        uint32_t cell = k < 2 ? 0 : 3, s = k < 2 ? k : k - 2, frames = k < 2 ? 2 : 3;
        ck_assert_uint_eq(f->hdr.element_id.id, lt_stream_source_id(cell, s));
        ck_assert_uint_eq(f->hdr.error_bits, 0);
        ck_assert_uint_eq(f->payload_len, frames * LT_WIBETH_FRAME_SIZE);
        ck_assert_uint_eq(((const uint8_t *)f->payload)[0], cell * 16 + s);
        ck_assert_uint_eq(((const uint8_t *)f->payload)[f->payload_len - 1], cell * 16 + s);
    }
    ck_assert_uint_eq(rec->frags[6].hdr.fragment_type, LT_FRAGTYPE_TRIGGER_CANDIDATE);
    struct trigd_decision back;
    ck_assert_int_eq(trigd_tc_decode(&rec->frags[6].hdr, rec->frags[6].payload,
                                     rec->frags[6].payload_len, &back),
                     0);
    ck_assert_uint_eq(back.trigger_number, 7);
    ck_assert_uint_eq(back.candidates[0].peak_score, 900);

    /* Until the writer calls done() the slot (and the replies it points into) stays taken. */
    trigd_readout_service(r, 3 * MS);
    ck_assert_uint_eq(trigd_readout_in_flight(r), 1);
    rec->done(rec, 0, rec->user);
    trigd_readout_service(r, 4 * MS);
    ck_assert_uint_eq(trigd_readout_in_flight(r), 0);
    ck_assert_uint_eq(L(records_written), 1);
    ck_assert_uint_eq(L(records_failed), 0);
    trigd_readout_destroy(r);
    teardown();
}
END_TEST

START_TEST(timeout_late_and_bad_replies)
{
    setup("");
    struct trigd_readout *r = make();
    struct trigd_decision *d = decision(9, 200000);
    trigd_readout_start(r, d, 0);
    struct lt_msg_data_request rq0 = take_request(0, d), rq1 = take_request(1, d);
    send_reply(0, &rq0, 1, 1U << LT_FRAG_ERR_INCOMPLETE, 0);
    route_one(r, 1 * MS);

    /* Bad: a hello for a cell not configured, a reply naming a cell not configured, garbage. */
    uint8_t hb[LT_MSG_HEADER_SIZE];
    size_t len;
    ck_assert_int_eq(lt_msg_encode_heartbeat(hb, sizeof hb, 9, 1, 5, &len), 0);
    ck_assert_int_eq(zmq_send(dealer[1], hb, len, 0), (int)len);
    route_one(r, 1 * MS);
    send_reply(1, &rq1, 1, 0, 9);
    route_one(r, 1 * MS);
    ck_assert_int_eq(zmq_send(dealer[1], "garbage!", 8, 0), 8);
    route_one(r, 1 * MS);
    ck_assert_uint_eq(L(replies_bad), 3);

    trigd_readout_service(r, 499 * MS);
    ck_assert_uint_eq(L(records_built), 0); /* cell 3 may still answer */
    trigd_readout_service(r, 500 * MS);     /* readout.reply_timeout_ms */
    ck_assert_uint_eq(L(records_built), 1);
    ck_assert_uint_eq(L(reply_timeouts), 1);
    ck_assert_uint_eq(L(fragments_not_found), 4);
    ck_assert_uint_eq(L(fragments_incomplete), 2);
    struct lt_rw_record *rec = sink.rec[0];
    ck_assert_uint_eq(rec->trh.error_bits, 1U << 1); /* kIncomplete */
    for (uint32_t k = 2; k < 6; k++) {
        ck_assert(rec->frags[k].hdr.error_bits & (1U << LT_FRAG_ERR_DATA_NOT_FOUND));
        ck_assert_uint_eq(rec->frags[k].payload_len, 0);
    }
    /* Cell 3 answers after all: too late for a record already built. */
    send_reply(1, &rq1, 1, 0, 3);
    route_one(r, 600 * MS);
    ck_assert_uint_eq(L(replies_late), 1);
    rec->done(rec, LT_EIO, rec->user); /* the writer failed it */
    trigd_readout_service(r, 700 * MS);
    ck_assert_uint_eq(L(records_failed), 1);
    ck_assert_uint_eq(trigd_readout_in_flight(r), 0);
    trigd_readout_destroy(r);
    teardown();
}
END_TEST

/* Replies are matched to their request (issue 12): one for cell 0 from cell 3's connection is
 * refused, and cell 0's fragments stay kDataNotFound rather than taking forged data; another
 * connection cannot claim a cell whose route is alive; a cell that reconnects (its old
 * connection silent, a new one saying hello) gets its route back, and a request still in
 * flight on the old route takes no reply from the new one. */
START_TEST(replies_only_from_the_route)
{
    setup("");
    struct trigd_readout *r = make();
    struct trigd_decision *d = decision(12, 400000);
    trigd_readout_start(r, d, 0);
    struct lt_msg_data_request rq0 = take_request(0, d), rq1 = take_request(1, d);
    send_reply(1, &rq0, 1, 0, 0); /* cell 3's connection speaking for cell 0 */
    route_one(r, 1 * MS);
    ck_assert_uint_eq(L(replies_bad), 1);
    ck_assert_uint_eq(L(replies), 0);
    send_reply(1, &rq1, 1, 0, 3);
    route_one(r, 1 * MS);
    ck_assert_uint_eq(L(replies), 1);
    /* Cell 3's connection claims cell 0 while cell 0's route is alive: refused. */
    uint8_t hb[LT_MSG_HEADER_SIZE];
    size_t len;
    ck_assert_int_eq(lt_msg_encode_heartbeat(hb, sizeof hb, 0, 1, 0, &len), 0);
    ck_assert_int_eq(zmq_send(dealer[1], hb, len, 0), (int)len);
    route_one(r, 1 * MS);
    ck_assert_uint_eq(L(replies_bad), 2);

    /* Cell 0 reconnects: its old connection goes silent, a new one says hello. */
    zmq_close(dealer[0]);
    dealer[0] = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(dealer[0], ZMQ_LINGER, &zero, sizeof zero);
    ck_assert_int_eq(zmq_connect(dealer[0], "inproc://readout-test"), 0);
    ck_assert_int_eq(zmq_send(dealer[0], hb, len, 0), (int)len);
    route_one(r, 2000 * MS);      /* the old route silent for 2 s: a reconnection */
    send_reply(0, &rq0, 1, 0, 0); /* the old request, from the new connection */
    route_one(r, 2000 * MS);
    ck_assert_uint_eq(L(replies_bad), 2);
    ck_assert_uint_eq(L(replies), 1);
    trigd_readout_service(r, 2001 * MS);
    ck_assert_uint_eq(L(records_built), 1);
    ck_assert_uint_eq(L(fragments_not_found), 2); /* cell 0: no genuine reply, no forged one */
    sink.rec[0]->done(sink.rec[0], 0, sink.rec[0]->user);
    trigd_readout_service(r, 2002 * MS);

    /* The next decision's request reaches cell 0 on its new connection. */
    d = decision(13, 500000);
    trigd_readout_start(r, d, 2100 * MS);
    ck_assert_uint_eq(L(requests_unroutable), 0);
    rq0 = take_request(0, d);
    rq1 = take_request(1, d);
    send_reply(0, &rq0, 1, 0, 0);
    send_reply(1, &rq1, 1, 0, 3);
    route_one(r, 2101 * MS);
    route_one(r, 2101 * MS);
    trigd_readout_service(r, 2102 * MS);
    ck_assert_uint_eq(L(records_built), 2);
    ck_assert_uint_eq(L(fragments_not_found), 2);
    sink.rec[1]->done(sink.rec[1], 0, sink.rec[1]->user);
    trigd_readout_service(r, 2103 * MS);
    trigd_readout_destroy(r);
    teardown();
}
END_TEST

/* A configured cell with no socket, after the start-up grace (reply_timeout_ms = 500 from the
 * readout's first message): its request fails at once, so the record does not wait for the
 * time-out, and the cell's fragments are kDataNotFound. */
START_TEST(unroutable_cell)
{
    setup(", { id = 5; n_fembs = 1; } ");
    struct trigd_readout *r = make();
    struct trigd_decision *d = decision(11, 300000);
    trigd_readout_start(r, d, 600 * MS);
    ck_assert_uint_eq(L(requests_unroutable), 1);
    struct lt_msg_data_request rq0 = take_request(0, d), rq1 = take_request(1, d);
    send_reply(0, &rq0, 1, 0, 0);
    send_reply(1, &rq1, 1, 0, 3);
    route_one(r, 601 * MS);
    route_one(r, 601 * MS);
    trigd_readout_service(r, 602 * MS); /* long before the time-out */
    ck_assert_uint_eq(L(records_built), 1);
    ck_assert_uint_eq(L(fragments_not_found), 2);
    ck_assert_uint_eq(sink.rec[0]->n_frags, 2 + 4 + 2 + 1);
    sink.rec[0]->done(sink.rec[0], 0, sink.rec[0]->user);
    trigd_readout_service(r, 603 * MS);
    trigd_readout_destroy(r);
    teardown();
}
END_TEST

/* Start-up: a decision made before a running cell's first hello (its candidates came on the
 * other socket first; an unpaced file source decides within a millisecond) waits for the hello
 * and gets the cell's data, instead of kDataNotFound; a cell that never says hello is
 * unreachable at the request's deadline. */
START_TEST(first_hello_after_the_first_decision)
{
    setup(", { id = 5; n_fembs = 1; } ");
    struct trigd_readout *r = make_heard(1); /* cell 0 said hello; cell 3's is on its way */
    struct trigd_decision *d = decision(21, 300000);
    trigd_readout_start(r, d, 0);
    ck_assert_uint_eq(L(requests_unroutable), 0);
    struct lt_msg_data_request rq0 = take_request(0, d);
    send_reply(0, &rq0, 1, 0, 0);
    route_one(r, 1 * MS);
    trigd_readout_service(r, 2 * MS);
    ck_assert_uint_eq(L(records_built), 0); /* waiting for cells 3 and 5 */
    deliver_hello(r, 1, 3 * MS);            /* cell 3: its request goes out now */
    struct lt_msg_data_request rq1 = take_request(1, d);
    send_reply(1, &rq1, 1, 0, 3);
    route_one(r, 4 * MS);
    trigd_readout_service(r, 5 * MS);
    ck_assert_uint_eq(L(records_built), 0); /* cell 5 may still say hello */
    trigd_readout_service(r, 500 * MS);     /* the request's deadline */
    ck_assert_uint_eq(L(records_built), 1);
    ck_assert_uint_eq(L(requests_unroutable), 1);           /* cell 5 only */
    ck_assert_uint_eq(L(fragments_not_found), 2);           /* cell 5's two streams */
    ck_assert_uint_eq(sink.rec[0]->n_frags, 2 + 4 + 2 + 1); /* cells 0 and 3 with data */
    sink.rec[0]->done(sink.rec[0], 0, sink.rec[0]->user);
    trigd_readout_service(r, 501 * MS);
    trigd_readout_destroy(r);
    teardown();
}
END_TEST

/* Back-pressure: slots (buffers.decision_queue = 2) and the sink's inhibit gate new decisions;
 * a full sink keeps the record and is asked again; a refusing one fails it; shutdown counts
 * what never got written. */
START_TEST(full_refusing_sink_and_abandon)
{
    setup("");
    struct trigd_readout *r = make();
    sink.inhibit = 1;
    ck_assert(!trigd_readout_can_accept(r));
    sink.inhibit = 0;
    struct trigd_decision *d = decision(1, 400000);
    trigd_readout_start(r, d, 0);
    struct lt_msg_data_request rq0 = take_request(0, d), rq1 = take_request(1, d);
    d = decision(2, 500000);
    trigd_readout_start(r, d, 0);
    take_request(0, d);
    take_request(1, d);
    ck_assert(!trigd_readout_can_accept(r)); /* both slots taken */

    send_reply(0, &rq0, 1, 0, 0);
    send_reply(1, &rq1, 1, 0, 3);
    route_one(r, 1 * MS);
    route_one(r, 1 * MS);
    sink.full = 1;
    trigd_readout_service(r, 2 * MS);
    trigd_readout_service(r, 3 * MS);
    ck_assert_uint_eq(L(writer_full), 2);
    ck_assert_int_eq(sink.n, 0);
    sink.full = 0;
    trigd_readout_service(r, 4 * MS);
    ck_assert_int_eq(sink.n, 1);
    ck_assert_uint_eq(sink.rec[0]->trh.trigger_number, 1);

    /* Decision 2 times out with nothing; the sink refuses its record. */
    sink.refuse = 1;
    trigd_readout_service(r, 600 * MS);
    ck_assert_uint_eq(L(records_failed), 1);
    ck_assert_uint_eq(trigd_readout_in_flight(r), 1); /* record 1 is still being written */

    /* Shutdown: record 1 was never finished by the sink. */
    ck_assert_uint_eq(trigd_readout_abandon(r), 1);
    ck_assert_uint_eq(L(records_failed), 2);
    ck_assert_uint_eq(trigd_readout_in_flight(r), 0);
    trigd_readout_destroy(r);
    teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("readout");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, requests_replies_record);
    tcase_add_test(tc, timeout_late_and_bad_replies);
    tcase_add_test(tc, first_hello_after_the_first_decision);
    tcase_add_test(tc, unroutable_cell);
    tcase_add_test(tc, replies_only_from_the_route);
    tcase_add_test(tc, full_refusing_sink_and_abandon);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
