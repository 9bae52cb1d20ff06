/* A cell's data reply, copied once and sent without a copy (daemon/cell/cell_reply.h):
 *   - the window read straight into a DATA_REPLY's layout decodes as one fragment per stream of
 *     intact, contiguous frames, also while the producer laps the reader (the layout is closed
 *     up after a race);
 *   - over real ZeroMQ sockets the receiver gets the very buffer the pool handed out (inproc:
 *     same address, i.e. no copy), buffers come back and are reused, and a buffer the receiver
 *     still holds keeps the pool alive after its cell let go of it (ASan checks the rest). */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cell_reply.h"
#include "lt_error.h"
#include "msg.h"
#include "ringbuf.h"
#include "ticks.h"

#define NS 4 /* streams: ring_test_util.h reads it */
#include "../ring/ring_test_util.h"

/* Builds the reply around frames already in place, as the cell does; returns its length. */
static size_t finish_reply(uint8_t *buf, size_t cap, uint32_t n)
{
    struct lt_msg_reply_info info = {.request_id = 1, .trigger_number = 2, .cell = 3};
    struct lt_msg_reply_builder b;
    ck_assert_int_eq(lt_msg_reply_begin(&b, buf, cap, 1, 0, &info), 0);
    for (uint32_t s = 0; s < NS; s++) {
        struct lt_fragment_header h = {.trigger_number = 2,
                                       .fragment_type = LT_FRAGTYPE_WIBETH,
                                       .detector_id = LT_DETID_HD_TPC,
                                       .element_id = {.version = LT_SOURCE_ID_VERSION,
                                                      .subsystem = LT_SUBSYS_DETECTOR_READOUT,
                                                      .id = lt_stream_source_id(3, s)}};
        uint8_t *p;
        ck_assert_int_eq(lt_msg_reply_reserve_fragment(&b, &h, n * sizeof(lt_wibeth_frame), &p), 0);
    }
    size_t len;
    ck_assert_int_eq(lt_msg_reply_finish(&b, &len), 0);
    return len;
}

/* Decodes a reply and checks every stream's frames: intact, this stream's, contiguous. */
static void check_reply(const uint8_t *buf, size_t len, uint32_t n, uint64_t first_ts)
{
    struct lt_msg_view v;
    char err[256];
    ck_assert_msg(lt_msg_decode(buf, len, &v, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(v.hdr.count, NS);
    struct lt_msg_frag_iter it;
    struct lt_fragment_header h;
    const uint8_t *pl;
    size_t pl_len;
    lt_msg_frag_iter_init(&v, &it);
    for (uint32_t s = 0; s < NS; s++) {
        ck_assert_int_eq(lt_msg_frag_next(&it, &h, &pl, &pl_len), 1);
        ck_assert_uint_eq(pl_len, (size_t)n * sizeof(lt_wibeth_frame));
        const lt_wibeth_frame *f = (const lt_wibeth_frame *)pl;
        for (uint32_t k = 0; k < n; k++) {
            ck_assert_msg(frame_ok(&f[k], s), "stream %u frame %u torn or misplaced", s, k);
            if (first_ts) ck_assert_uint_eq(f[k].daq_header[1], first_ts + k * LT_TICKS_PER_FRAME);
            if (k)
                ck_assert_uint_eq(f[k].daq_header[1], f[k - 1].daq_header[1] + LT_TICKS_PER_FRAME);
        }
    }
}

START_TEST(window_in_place)
{
    struct lt_ringbuf *rb = make(64);
    for (uint64_t k = 0; k < 40; k++) {
        fill_period(lt_ringbuf_slot(rb), T0 + k * LT_TICKS_PER_FRAME);
        ck_assert_int_eq(lt_ringbuf_commit(rb, T0 + k * LT_TICKS_PER_FRAME), 0);
    }
    const uint32_t max = 32;
    size_t cap = trigd_reply_max_bytes(NS, max);
    uint8_t *buf = malloc(cap);
    lt_wibeth_frame *dst[NS];
    uint32_t n;
    /* Ten periods from the 6th. */
    uint64_t b = T0 + 5 * LT_TICKS_PER_FRAME, e = b + 10 * LT_TICKS_PER_FRAME;
    ck_assert_uint_eq(trigd_reply_read_window(rb, b, e, max, buf, dst, &n), 0);
    ck_assert_uint_eq(n, 10);
    check_reply(buf, finish_reply(buf, cap, n), n, b);
    /* More than max_periods: capped, and said so. */
    unsigned fl = trigd_reply_read_window(rb, T0, T0 + 40 * LT_TICKS_PER_FRAME, max, buf, dst, &n);
    ck_assert_uint_eq(n, max);
    ck_assert(fl & LT_RB_END_MISSING);
    check_reply(buf, finish_reply(buf, cap, n), n, T0);
    ck_assert_uint_le(finish_reply(buf, cap, n), cap);
    /* Nothing there: an empty fragment per stream, flagged. */
    fl = trigd_reply_read_window(rb, T0 + 1000 * LT_TICKS_PER_FRAME, T0 + 1001 * LT_TICKS_PER_FRAME,
                                 max, buf, dst, &n);
    ck_assert_uint_eq(n, 0);
    ck_assert(fl & LT_RB_NOT_FOUND);
    check_reply(buf, finish_reply(buf, cap, n), 0, 0);
    free(buf);
    lt_ringbuf_destroy(rb);
}
END_TEST

/* Reads of the oldest periods while the producer overwrites them: whatever survives a race must
 * still form a valid reply of intact frames (the in-place layout closed up after the read). */
START_TEST(window_in_place_under_race)
{
    struct race r = {.rb = make(16), .periods = 100000};
    const uint32_t max = 16;
    size_t cap = trigd_reply_max_bytes(NS, max);
    uint8_t *buf = malloc(cap);
    lt_wibeth_frame *dst[NS];
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, producer, &r), 0);
    uint64_t reads = 0, short_reads = 0;
    while (!atomic_load(&r.done)) {
        uint64_t oldest, newest_end;
        lt_ringbuf_span(r.rb, &oldest, &newest_end);
        if (!newest_end) continue;
        uint32_t want = lt_ringbuf_count(r.rb, oldest, oldest + 12 * LT_TICKS_PER_FRAME), n;
        trigd_reply_read_window(r.rb, oldest, oldest + 12 * LT_TICKS_PER_FRAME, max, buf, dst, &n);
        check_reply(buf, finish_reply(buf, cap, n), n, 0);
        short_reads += n < want;
        reads++;
    }
    pthread_join(th, NULL);
    struct lt_ringbuf_stats st;
    lt_ringbuf_get_stats(r.rb, &st);
    fprintf(stderr, "in-place under race: %lu replies, %lu closed up after a race, %lu races\n",
            (unsigned long)reads, (unsigned long)short_reads, (unsigned long)st.read_races);
    ck_assert_uint_gt(reads, 0);
    free(buf);
    lt_ringbuf_destroy(r.rb);
}
END_TEST

/* Through real sockets: the receiver sees the pool's own buffer (inproc moves the message, so
 * the address is the same: no copy anywhere), the buffer returns when the receiver closes the
 * message and is reused, and the last buffer out outlives the pool's creator. */
static void roundtrip(const char *endpoint, int same_address)
{
    void *ctx = zmq_ctx_new();
    void *rx = zmq_socket(ctx, ZMQ_PAIR), *tx = zmq_socket(ctx, ZMQ_PAIR);
    ck_assert_int_eq(zmq_bind(rx, endpoint), 0);
    char bound[256];
    size_t blen = sizeof bound;
    ck_assert_int_eq(zmq_getsockopt(rx, ZMQ_LAST_ENDPOINT, bound, &blen), 0);
    ck_assert_int_eq(zmq_connect(tx, bound), 0);
    struct trigd_reply_pool *p;
    char err[128];
    const size_t bytes = 3u << 20;
    ck_assert_int_eq(trigd_reply_pool_create(bytes, 2, &p, err, sizeof err), 0);
    for (int i = 0; i < 8; i++) {
        uint8_t *buf = trigd_reply_pool_get(p);
        ck_assert_ptr_nonnull(buf);
        memset(buf, 0x40 + i, bytes);
        zmq_msg_t m, r;
        ck_assert_int_eq(trigd_reply_pool_msg(p, buf, bytes, &m), 0);
        ck_assert_int_eq(zmq_msg_send(&m, tx, 0), (int)bytes);
        zmq_msg_init(&r);
        ck_assert_int_eq(zmq_msg_recv(&r, rx, 0), (int)bytes);
        const uint8_t *got = zmq_msg_data(&r);
        if (same_address) ck_assert_ptr_eq(got, buf);
        ck_assert_uint_eq(got[0], 0x40 + i);
        ck_assert_uint_eq(got[bytes - 1], 0x40 + i);
        zmq_msg_close(&r);
    }
    /* Sequential replies over inproc reuse one buffer; tcp may still hold the last one being
     * written when the next is taken. */
    if (same_address) ck_assert_uint_eq(trigd_reply_pool_allocated(p), 1);
    ck_assert_uint_le(trigd_reply_pool_allocated(p), 3);

    /* The receiver keeps a reply; its cell goes away; the reply is still readable and its
     * buffer is freed when the receiver lets go (a leak or use after free shows under ASan). */
    uint8_t *buf = trigd_reply_pool_get(p);
    memset(buf, 0x7E, bytes);
    zmq_msg_t m, r;
    ck_assert_int_eq(trigd_reply_pool_msg(p, buf, bytes, &m), 0);
    ck_assert_int_eq(zmq_msg_send(&m, tx, 0), (int)bytes);
    zmq_msg_init(&r);
    ck_assert_int_eq(zmq_msg_recv(&r, rx, 0), (int)bytes);
    trigd_reply_pool_release(p);
    ck_assert_uint_eq(((const uint8_t *)zmq_msg_data(&r))[bytes / 2], 0x7E);
    zmq_msg_close(&r);
    zmq_close(tx);
    zmq_close(rx);
    zmq_ctx_term(ctx);
}

START_TEST(zero_copy_inproc)
{
    roundtrip("inproc://cell-reply", 1);
}
END_TEST

START_TEST(pool_over_tcp)
{
    roundtrip("tcp://127.0.0.1:*", 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cell_reply");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, window_in_place);
    tcase_add_test(tc, window_in_place_under_race);
    tcase_add_test(tc, zero_copy_inproc);
    tcase_add_test(tc, pool_over_tcp);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
