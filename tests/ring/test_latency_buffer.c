/* Latency ring buffer: window reads, overwrite accounting, kDataNotFound / kIncomplete cases, and
 * a producer racing a reader (every frame a reader gets must be intact). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_error.h"
#include "ringbuf.h"
#include "ticks.h"

#define NS 3 /* streams: ring_test_util.h reads it */
#include "ring_test_util.h"

static void push(struct lt_ringbuf *rb, uint64_t ts)
{
    fill_period(lt_ringbuf_slot(rb), ts);
    ck_assert_int_eq(lt_ringbuf_commit(rb, ts), 0);
}

struct dst {
    lt_wibeth_frame *buf[NS];
    uint32_t max;
};

static void dst_init(struct dst *d, uint32_t max)
{
    d->max = max;
    for (int s = 0; s < NS; s++) d->buf[s] = calloc(max, sizeof(lt_wibeth_frame));
}

static void dst_free(struct dst *d)
{
    for (int s = 0; s < NS; s++) free(d->buf[s]);
}

START_TEST(test_window_exact)
{
    struct lt_ringbuf *rb = make(100);
    for (int k = 0; k < 50; k++) push(rb, T0 + (uint64_t)k * LT_TICKS_PER_FRAME);
    struct dst d;
    dst_init(&d, 64);
    uint32_t n;
    /* Aligned window of 10 periods: exactly periods 5..14. */
    uint64_t b = T0 + 5 * LT_TICKS_PER_FRAME, e = b + 10 * LT_TICKS_PER_FRAME;
    ck_assert_uint_eq(lt_ringbuf_read(rb, b, e, d.buf, d.max, &n), 0);
    ck_assert_uint_eq(n, 10);
    for (uint32_t s = 0; s < NS; s++)
        for (uint32_t k = 0; k < n; k++) {
            ck_assert(frame_ok(&d.buf[s][k], s));
            ck_assert_uint_eq(d.buf[s][k].daq_header[1], b + k * LT_TICKS_PER_FRAME);
        }
    /* Unaligned: a window starting mid-frame includes the frame that contains its begin. */
    ck_assert_uint_eq(lt_ringbuf_read(rb, b + 100, e + 1, d.buf, d.max, &n), 0);
    ck_assert_uint_eq(n, 11);
    ck_assert_uint_eq(d.buf[0][0].daq_header[1], b);
    ck_assert_uint_le(n, lt_ringbuf_window_periods(b + 100, e + 1));
    struct lt_ringbuf_stats st;
    lt_ringbuf_get_stats(rb, &st);
    ck_assert_uint_eq(st.periods_written, 50);
    ck_assert_uint_eq(st.frames_overwritten, 0);
    ck_assert_uint_eq(st.reads, 2);
    ck_assert_uint_eq(st.reads_incomplete + st.reads_not_found, 0);
    dst_free(&d);
    lt_ringbuf_destroy(rb);
}
END_TEST

START_TEST(test_overwrite_and_gone)
{
    struct lt_ringbuf *rb = make(20);
    for (int k = 0; k < 50; k++) push(rb, T0 + (uint64_t)k * LT_TICKS_PER_FRAME);
    struct lt_ringbuf_stats st;
    lt_ringbuf_get_stats(rb, &st);
    ck_assert_uint_eq(st.frames_overwritten, 30 * NS);
    uint64_t oldest, newest_end;
    lt_ringbuf_span(rb, &oldest, &newest_end);
    /* One slot is always reserved for the producer: 19 periods readable. */
    ck_assert_uint_eq(oldest, T0 + 31 * LT_TICKS_PER_FRAME);
    ck_assert_uint_eq(newest_end, T0 + 50 * LT_TICKS_PER_FRAME);

    struct dst d;
    dst_init(&d, 64);
    uint32_t n;
    /* Entirely overwritten: kDataNotFound. */
    unsigned f = lt_ringbuf_read(rb, T0, T0 + 10 * LT_TICKS_PER_FRAME, d.buf, d.max, &n);
    ck_assert(f & LT_RB_NOT_FOUND);
    ck_assert_uint_eq(n, 0);
    /* Straddling the old end: partial data, begin gone -> incomplete. */
    f = lt_ringbuf_read(rb, T0 + 25 * LT_TICKS_PER_FRAME, T0 + 35 * LT_TICKS_PER_FRAME, d.buf,
                        d.max, &n);
    ck_assert_uint_eq(f, LT_RB_BEGIN_GONE);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(d.buf[1][0].daq_header[1], oldest);
    /* Past the newest frame: the end is missing (the daemon waits, then answers incomplete). */
    f = lt_ringbuf_read(rb, T0 + 45 * LT_TICKS_PER_FRAME, T0 + 55 * LT_TICKS_PER_FRAME, d.buf,
                        d.max, &n);
    ck_assert_uint_eq(f, LT_RB_END_MISSING);
    ck_assert_uint_eq(n, 5);
    /* Entirely in the future. */
    f = lt_ringbuf_read(rb, T0 + 60 * LT_TICKS_PER_FRAME, T0 + 65 * LT_TICKS_PER_FRAME, d.buf,
                        d.max, &n);
    ck_assert(f & LT_RB_NOT_FOUND);
    ck_assert(f & LT_RB_END_MISSING);
    lt_ringbuf_get_stats(rb, &st);
    ck_assert_uint_eq(st.reads_not_found, 2);
    ck_assert_uint_eq(st.reads_incomplete, 2);
    /* max_periods bounds the copy and says so. */
    f = lt_ringbuf_read(rb, oldest, newest_end, d.buf, 3, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert(f & LT_RB_END_MISSING);
    dst_free(&d);
    lt_ringbuf_destroy(rb);
}
END_TEST

START_TEST(test_gap_and_order)
{
    struct lt_ringbuf *rb = make(64);
    for (int k = 0; k < 10; k++) push(rb, T0 + (uint64_t)k * LT_TICKS_PER_FRAME);
    for (int k = 15; k < 20; k++) push(rb, T0 + (uint64_t)k * LT_TICKS_PER_FRAME);
    /* A timestamp that does not increase is refused and publishes nothing. */
    fill_period(lt_ringbuf_slot(rb), T0);
    ck_assert_int_eq(lt_ringbuf_commit(rb, T0), LT_ERANGE);
    struct dst d;
    dst_init(&d, 64);
    uint32_t n;
    unsigned f = lt_ringbuf_read(rb, T0 + 8 * LT_TICKS_PER_FRAME, T0 + 17 * LT_TICKS_PER_FRAME,
                                 d.buf, d.max, &n);
    ck_assert_uint_eq(f, LT_RB_GAP);
    ck_assert_uint_eq(n, 4); /* periods 8, 9, 15, 16 */
    ck_assert_uint_eq(d.buf[2][2].daq_header[1], T0 + 15 * LT_TICKS_PER_FRAME);
    struct lt_ringbuf_stats st;
    lt_ringbuf_get_stats(rb, &st);
    ck_assert_uint_eq(st.periods_written, 15);
    dst_free(&d);
    lt_ringbuf_destroy(rb);
}
END_TEST

START_TEST(test_bad_config)
{
    struct lt_ringbuf_config cfg = {.n_streams = 0, .capacity = 10};
    struct lt_ringbuf *rb = (struct lt_ringbuf *)1;
    char err[256] = "";
    ck_assert_int_eq(lt_ringbuf_create(&cfg, &rb, err, sizeof err), LT_EINVAL);
    ck_assert_ptr_null(rb);
    ck_assert(strstr(err, "stream") != NULL);
    cfg.n_streams = 1;
    cfg.capacity = 1;
    ck_assert_int_eq(lt_ringbuf_create(&cfg, &rb, err, sizeof err), LT_EINVAL);
}
END_TEST

/* The producer laps a small ring as fast as it can while a reader keeps requesting the oldest
 * windows: whatever the reader is handed must be intact and in time order. */
START_TEST(test_concurrent_reader)
{
    struct race r = {.rb = make(16), .periods = 200000};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, producer, &r), 0);
    struct dst d;
    dst_init(&d, 16);
    uint64_t served = 0, reads = 0;
    while (!atomic_load(&r.done)) {
        uint64_t oldest, newest_end;
        lt_ringbuf_span(r.rb, &oldest, &newest_end);
        if (!newest_end) continue;
        uint32_t n;
        lt_ringbuf_read(r.rb, oldest, oldest + 12 * LT_TICKS_PER_FRAME, d.buf, d.max, &n);
        reads++;
        for (uint32_t s = 0; s < NS; s++)
            for (uint32_t k = 0; k < n; k++) {
                ck_assert(frame_ok(&d.buf[s][k], s));
                if (k)
                    ck_assert_uint_eq(d.buf[s][k].daq_header[1],
                                      d.buf[s][k - 1].daq_header[1] + LT_TICKS_PER_FRAME);
            }
        served += n;
    }
    pthread_join(th, NULL);
    ck_assert_uint_gt(reads, 0);
    struct lt_ringbuf_stats st;
    lt_ringbuf_get_stats(r.rb, &st);
    ck_assert_uint_eq(st.periods_written, r.periods);
    ck_assert_uint_eq(st.reads, reads);
    fprintf(stderr, "concurrent: %lu reads, %lu periods served, %lu races\n", (unsigned long)reads,
            (unsigned long)served, (unsigned long)st.read_races);
    dst_free(&d);
    lt_ringbuf_destroy(r.rb);
}
END_TEST

/* lt_ringbuf_count: what a read of the same window returns when nothing moves in between. */
START_TEST(test_count_matches_read)
{
    struct lt_ringbuf *rb = make(8);
    ck_assert_uint_eq(lt_ringbuf_count(rb, T0, T0 + 4096), 0); /* empty */
    for (uint64_t k = 0; k < 12; k++) push(rb, T0 + k * LT_TICKS_PER_FRAME);
    struct dst d;
    dst_init(&d, 16);
    const uint64_t F = LT_TICKS_PER_FRAME;
    const uint64_t win[][2] = {
        {T0, T0 + 12 * F},                /* begins before the oldest held */
        {T0 + 6 * F, T0 + 8 * F},         /* inside */
        {T0 + 6 * F + 5, T0 + 8 * F + 1}, /* unaligned: three frames overlap */
        {T0 + 11 * F, T0 + 20 * F},       /* runs past the newest */
        {T0 + 30 * F, T0 + 31 * F},       /* not there yet */
        {T0, T0 + F},                     /* overwritten */
        {T0 + 7 * F, T0 + 7 * F},         /* empty window */
    };
    for (size_t i = 0; i < sizeof win / sizeof win[0]; i++) {
        uint32_t n;
        lt_ringbuf_read(rb, win[i][0], win[i][1], d.buf, d.max, &n);
        ck_assert_msg(lt_ringbuf_count(rb, win[i][0], win[i][1]) == n,
                      "window %zu: count %u, read %u", i,
                      lt_ringbuf_count(rb, win[i][0], win[i][1]), n);
    }
    ck_assert_uint_eq(lt_ringbuf_count(rb, T0 + 6 * F + 5, T0 + 8 * F + 1), 3);
    dst_free(&d);
    lt_ringbuf_destroy(rb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("latency_buffer");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_window_exact);
    tcase_add_test(tc, test_overwrite_and_gone);
    tcase_add_test(tc, test_gap_and_order);
    tcase_add_test(tc, test_bad_config);
    tcase_add_test(tc, test_concurrent_reader);
    tcase_add_test(tc, test_count_matches_read);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
