/* A cell's request thread: answers DATA_REQUESTs from its latency ring, as DUNE readout's
 * request handler does: a window not yet complete is waited for (up to readout.data_wait_ms,
 * then answered kIncomplete); a window already overwritten is answered kDataNotFound; partial
 * data is kIncomplete. One WIBEth fragment per stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "cell_internal.h"
#include "log.h"
#include "lt_error.h"
#include "msg.h"
#include "ticks.h"

int trigd_cell_requests_init(struct trigd_cell *c, char *err, size_t errlen)
{
    const struct trigd_cells_config *cfg = c->cfg;
    c->max_periods = lt_ringbuf_window_periods(0, cfg->pre_ticks + cfg->post_ticks + 1);
    c->dst = calloc(c->n_streams, sizeof *c->dst);
    if (!c->dst) goto nomem;
    c->reply_cap = trigd_reply_max_bytes(c->n_streams, c->max_periods);
    /* Two cached buffers: one being filled while ZeroMQ or the module still holds the last. */
    if (trigd_reply_pool_create(c->reply_cap, 2, &c->replies, err, errlen)) goto nomem;

    /* No routing id of our own: the module's ROUTER assigns one per connection and learns which
     * cell it is from the cell's hello (authenticated by CURVE on tcp), so no peer can claim
     * another cell's route by naming itself after it. */
    c->dealer = zmq_socket(c->owner->zctx, ZMQ_DEALER);
    int linger = 1000;
    int64_t max_request = LT_MSG_HEADER_SIZE + LT_MSG_REQUEST_SIZE; /* only requests come in */
    if (!c->dealer) {
        lt_seterr(err, errlen, "cell %u: no socket: %s", c->id, zmq_strerror(zmq_errno()));
        return LT_EIO;
    }
    int rc = trigd_cell_socket_setup(c, c->dealer, max_request, err, errlen);
    if (rc) return rc;
    if (zmq_setsockopt(c->dealer, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_connect(c->dealer, cfg->requests_ep)) {
        lt_seterr(err, errlen, "cell %u: cannot connect to %s: %s", c->id, cfg->requests_ep,
                  zmq_strerror(zmq_errno()));
        return LT_EIO;
    }
    return 0;
nomem:
    lt_seterr(err, errlen, "cell %u: out of memory for request buffers", c->id);
    return LT_ENOMEM;
}

void trigd_cell_requests_free(struct trigd_cell *c)
{
    if (c->dealer) zmq_close(c->dealer);
    c->dealer = NULL;
    free(c->dst);
    c->dst = NULL;
    trigd_reply_pool_release(c->replies); /* buffers ZeroMQ still holds keep it alive */
    c->replies = NULL;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait (bounded) until the ring holds the window's end or the source can deliver no more. */
static void wait_for_window(struct trigd_cell *c, uint64_t end)
{
    unsigned waited = 0;
    for (;;) {
        uint64_t oldest, newest_end;
        lt_ringbuf_span(c->ring, &oldest, &newest_end);
        if (newest_end >= end || waited >= c->cfg->data_wait_ms) return;
        if (atomic_load(&c->data_done) || atomic_load(&c->owner->stop_requests)) return;
        sleep_ms(2);
        waited += 2;
    }
}

static void answer(struct trigd_cell *c, const struct lt_msg_data_request *rq)
{
    uint64_t begin = rq->window_begin, end = rq->window_end + 1; /* request end is inclusive */
    wait_for_window(c, end);
    uint8_t *buf = trigd_reply_pool_get(c->replies);
    if (!buf) {
        atomic_fetch_add_explicit(&c->st.replies_dropped, 1, memory_order_relaxed);
        LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 3, "cell %u: reply to trigger %llu not sent: %s", c->id,
                           (unsigned long long)rq->trigger_number, lt_strerror(LT_ENOMEM));
        return;
    }
    uint32_t n = 0; /* frames go straight from the ring to their place in buf: the one copy */
    unsigned flags = trigd_reply_read_window(c->ring, begin, end, c->max_periods, buf, c->dst, &n);
    uint32_t bits = 0;
    if (flags & LT_RB_NOT_FOUND) {
        bits |= 1U << LT_FRAG_ERR_DATA_NOT_FOUND;
        atomic_fetch_add_explicit(&c->st.replies_not_found, 1, memory_order_relaxed);
    } else if (flags) {
        bits |= 1U << LT_FRAG_ERR_INCOMPLETE;
        atomic_fetch_add_explicit(&c->st.replies_incomplete, 1, memory_order_relaxed);
    }
    if (bits)
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                           "cell %u: trigger %llu window [%llu, %llu): %s (%u periods, flags 0x%x)",
                           c->id, (unsigned long long)rq->trigger_number, (unsigned long long)begin,
                           (unsigned long long)end, (bits & 1U) ? "kDataNotFound" : "kIncomplete",
                           n, flags);

    struct lt_msg_reply_info info = {.request_id = rq->request_id,
                                     .trigger_number = rq->trigger_number,
                                     .cell = c->id,
                                     .error_bits = bits};
    struct lt_msg_reply_builder b;
    lt_msg_reply_begin(&b, buf, c->reply_cap, ++c->seq_reply, atomic_load(&c->st.watermark), &info);
    for (uint32_t s = 0; s < c->n_streams; s++) {
        struct lt_fragment_header h = {
            .trigger_number = rq->trigger_number,
            .trigger_timestamp = rq->trigger_timestamp,
            .window_begin = rq->window_begin,
            .window_end = rq->window_end + 1,
            .run_number = rq->run_number,
            .error_bits = bits,
            .fragment_type = LT_FRAGTYPE_WIBETH,
            .sequence_number = 0,
            .detector_id = LT_DETID_HD_TPC,
            .element_id = {.version = LT_SOURCE_ID_VERSION,
                           .subsystem = LT_SUBSYS_DETECTOR_READOUT,
                           .id = lt_stream_source_id(c->id, s)},
        };
        uint8_t *payload; /* already filled: reserve writes the header in front of it */
        lt_msg_reply_reserve_fragment(&b, &h, (size_t)n * sizeof(lt_wibeth_frame), &payload);
    }
    size_t len;
    int rc = lt_msg_reply_finish(&b, &len);
    zmq_msg_t m; /* ZeroMQ sends buf itself and gives it back to the pool when done */
    if (rc == 0)
        rc = trigd_reply_pool_msg(c->replies, buf, len, &m);
    else
        trigd_reply_pool_put(c->replies, buf);
    if (rc == 0 && zmq_msg_send(&m, c->dealer, ZMQ_DONTWAIT) == (int)len) {
        atomic_fetch_add_explicit(&c->st.requests, 1, memory_order_relaxed);
        return;
    }
    const int zerr = zmq_errno();
    if (rc == 0) zmq_msg_close(&m); /* not sent: the buffer returns to the pool */
    atomic_fetch_add_explicit(&c->st.replies_dropped, 1, memory_order_relaxed);
    LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 3, "cell %u: reply to trigger %llu not sent: %s", c->id,
                       (unsigned long long)rq->trigger_number,
                       rc ? lt_strerror(rc) : zmq_strerror(zerr));
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000ULL;
}

/* The hello on the request socket: a HEARTBEAT naming this cell, so the module routes its data
 * requests to this connection. Repeated every LT_MSG_HELLO_INTERVAL_MS, so a reconnection (a new
 * route) is learnt within a few of them. */
static void send_hello(struct trigd_cell *c, uint64_t *seq)
{
    uint8_t buf[LT_MSG_HEADER_SIZE];
    size_t len;
    if (lt_msg_encode_heartbeat(buf, sizeof buf, c->id, ++*seq, 0, &len) == 0)
        zmq_send(c->dealer, buf, len, ZMQ_DONTWAIT); /* not connected yet: the next one */
}

void *trigd_cell_request_main(void *arg)
{
    struct trigd_cell *c = arg;
    zmq_msg_t m;
    zmq_msg_init(&m);
    uint64_t hello_seq = 0, next_hello = 0;
    while (!atomic_load(&c->owner->stop_requests)) {
        uint64_t now = mono_ms();
        if (now >= next_hello) {
            send_hello(c, &hello_seq);
            next_hello = now + LT_MSG_HELLO_INTERVAL_MS;
        }
        zmq_pollitem_t pi = {.socket = c->dealer, .events = ZMQ_POLLIN};
        if (zmq_poll(&pi, 1, 100) <= 0) continue;
        if (zmq_msg_recv(&m, c->dealer, ZMQ_DONTWAIT) < 0) continue;
        struct lt_msg_view v;
        char err[200];
        int rc = lt_msg_decode(zmq_msg_data(&m), zmq_msg_size(&m), &v, err, sizeof err);
        if (rc == 0 && (v.hdr.type != LT_MSG_DATA_REQUEST || v.request.cell != c->id)) {
            rc = LT_EFORMAT;
            snprintf(err, sizeof err, "%s message for cell %u", lt_msg_type_name(v.hdr.type),
                     v.hdr.cell);
        }
        if (rc) {
            atomic_fetch_add_explicit(&c->st.requests_bad, 1, memory_order_relaxed);
            LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3, "cell %u: bad request dropped: %s", c->id,
                               err);
            continue;
        }
        answer(c, &v.request);
    }
    zmq_msg_close(&m);
    return NULL;
}
