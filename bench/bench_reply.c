/* Data-reply benchmark: what one cell's answer to a DATA_REQUEST costs, from its latency ring to
 * the bytes in the receiver's hands, over a real ZeroMQ inproc pair (as in an all-in-one trigd).
 * A full cell (40 streams) and a 2.25 ms window: ~20 MB per reply.
 *
 *   copy3   the path before the reply was built in place: ring -> per-stream scratch
 *           (lt_ringbuf_read), scratch -> message (lt_msg_reply_add_fragment), message -> ZeroMQ's
 *           own copy (zmq_send); reproduced here from the public functions as the baseline
 *   inplace the cell's path (daemon/cell/cell_reply.h): ring -> message in one copy
 *           (trigd_reply_read_window), the buffer handed to ZeroMQ with zmq_msg_init_data
 *
 * Prints ms per reply (median of the runs) and the window's bytes per second for both.
 * Usage: bench_reply [replies (default 40)] [streams (default 40)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cell_reply.h"
#include "lt_clock.h"
#include "msg.h"
#include "ringbuf.h"
#include "ticks.h"

static uint32_t NS;

static struct lt_fragment_header frag(uint32_t s)
{
    struct lt_fragment_header h = {.trigger_number = 1,
                                   .fragment_type = LT_FRAGTYPE_WIBETH,
                                   .detector_id = LT_DETID_HD_TPC,
                                   .element_id = {.version = LT_SOURCE_ID_VERSION,
                                                  .subsystem = LT_SUBSYS_DETECTOR_READOUT,
                                                  .id = lt_stream_source_id(1, s)}};
    return h;
}

static void receive(void *rx, size_t want)
{
    zmq_msg_t r;
    zmq_msg_init(&r);
    if (zmq_msg_recv(&r, rx, 0) != (int)want) {
        fprintf(stderr, "bench_reply: receive failed\n");
        exit(1);
    }
    zmq_msg_close(&r);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 40;
    NS = argc > 2 ? (uint32_t)atoi(argv[2]) : 40;
    if (runs < 1 || NS < 1 || NS > 256) return 2;
    const uint32_t cap = 128;
    struct lt_ringbuf_config rc = {.n_streams = NS, .capacity = cap, .lock_memory = 0};
    struct lt_ringbuf *rb;
    char err[256];
    if (lt_ringbuf_create(&rc, &rb, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (uint64_t k = 0; k < cap - 1; k++) {
        lt_wibeth_frame *f = lt_ringbuf_slot(rb);
        for (uint32_t s = 0; s < NS; s++) memset(&f[s], (int)(k + s), sizeof f[s]);
        lt_ringbuf_commit(rb, 1000000ULL + k * LT_TICKS_PER_FRAME);
    }
    const uint64_t begin = 1000000ULL + 20 * LT_TICKS_PER_FRAME,
                   end = begin + LT_DRIFT_WINDOW_TICKS;
    const uint32_t max = lt_ringbuf_window_periods(begin, end);
    const size_t reply_cap = trigd_reply_max_bytes(NS, max);

    void *ctx = zmq_ctx_new();
    void *rx = zmq_socket(ctx, ZMQ_PAIR), *tx = zmq_socket(ctx, ZMQ_PAIR);
    zmq_bind(rx, "inproc://bench-reply");
    zmq_connect(tx, "inproc://bench-reply");

    /* copy3: the buffers the cell used to keep */
    lt_wibeth_frame **scratch = calloc(NS, sizeof *scratch);
    for (uint32_t s = 0; s < NS; s++) scratch[s] = malloc((size_t)max * sizeof(lt_wibeth_frame));
    uint8_t *reply = malloc(reply_cap);
    /* inplace */
    struct trigd_reply_pool *pool;
    if (trigd_reply_pool_create(reply_cap, 2, &pool, err, sizeof err)) return 1;
    lt_wibeth_frame **dst = calloc(NS, sizeof *dst);

    double *t3 = calloc((size_t)runs, sizeof *t3), *t1 = calloc((size_t)runs, sizeof *t1);
    size_t len = 0;
    uint32_t n = 0;
    for (int i = -2; i < runs; i++) { /* two warm-up rounds fault the buffers in */
        struct lt_msg_reply_info info = {.request_id = 1, .trigger_number = 1, .cell = 1};
        struct lt_msg_reply_builder b;
        double a = lt_mono_s();
        lt_ringbuf_read(rb, begin, end, scratch, max, &n);
        lt_msg_reply_begin(&b, reply, reply_cap, 1, 0, &info);
        for (uint32_t s = 0; s < NS; s++) {
            struct lt_fragment_header h = frag(s);
            lt_msg_reply_add_fragment(&b, &h, scratch[s], (size_t)n * sizeof(lt_wibeth_frame));
        }
        lt_msg_reply_finish(&b, &len);
        zmq_send(tx, reply, len, 0);
        receive(rx, len);
        double c = lt_mono_s();

        uint8_t *buf = trigd_reply_pool_get(pool);
        trigd_reply_read_window(rb, begin, end, max, buf, dst, &n);
        lt_msg_reply_begin(&b, buf, reply_cap, 1, 0, &info);
        for (uint32_t s = 0; s < NS; s++) {
            struct lt_fragment_header h = frag(s);
            uint8_t *p;
            lt_msg_reply_reserve_fragment(&b, &h, (size_t)n * sizeof(lt_wibeth_frame), &p);
        }
        lt_msg_reply_finish(&b, &len);
        zmq_msg_t m;
        trigd_reply_pool_msg(pool, buf, len, &m);
        zmq_msg_send(&m, tx, 0);
        receive(rx, len);
        double d = lt_mono_s();
        if (i >= 0) {
            t3[i] = c - a;
            t1[i] = d - c;
        }
    }
    qsort(t3, (size_t)runs, sizeof *t3, cmp_d);
    qsort(t1, (size_t)runs, sizeof *t1, cmp_d);
    double m3 = t3[runs / 2], m1 = t1[runs / 2];
    printf("reply of %u streams x %u frames = %.1f MB, %d runs (median)\n", NS, n, len / 1e6, runs);
    printf("copy3    %8.2f ms/reply  %6.2f GB/s\n", m3 * 1e3, len / m3 / 1e9);
    printf("inplace  %8.2f ms/reply  %6.2f GB/s  (%.1fx; %llu buffers allocated)\n", m1 * 1e3,
           len / m1 / 1e9, m3 / m1, (unsigned long long)trigd_reply_pool_allocated(pool));

    zmq_close(tx);
    zmq_close(rx);
    zmq_ctx_term(ctx);
    trigd_reply_pool_release(pool);
    for (uint32_t s = 0; s < NS; s++) free(scratch[s]);
    free(scratch);
    free(dst);
    free(reply);
    free(t3);
    free(t1);
    lt_ringbuf_destroy(rb);
    return 0;
}
