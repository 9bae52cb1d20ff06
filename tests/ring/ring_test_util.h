/* Shared by the ring's and the cell's tests: frames whose every word names their timestamp and
 * stream (so a torn, stale or misplaced copy is visible), a ring of them, and a producer thread
 * that laps readers. The includer defines NS (streams per period) first. */
#ifndef LARTRIG_RING_TEST_UTIL_H
#define LARTRIG_RING_TEST_UTIL_H

#include <check.h>
#include <stdatomic.h>

#include "ringbuf.h"
#include "ticks.h"

#define T0 1000000ULL /* first timestamp; periods at T0 + k * 2048 */

/* Every word of a frame carries (timestamp, stream) so a torn copy is visible. */
static void fill_period(lt_wibeth_frame *f, uint64_t ts)
{
    for (uint32_t s = 0; s < NS; s++) {
        uint64_t tag = ts * 64 + s;
        f[s].daq_header[0] = tag;
        f[s].daq_header[1] = ts;
        f[s].wib_header[0] = f[s].wib_header[1] = tag;
        for (unsigned i = 0; i < LT_WIBETH_SAMPLES; i++)
            for (unsigned w = 0; w < LT_WIBETH_WORDS_PER_SAMPLE; w++) f[s].adc_words[i][w] = tag;
    }
}

static int frame_ok(const lt_wibeth_frame *f, uint32_t s)
{
    uint64_t ts = f->daq_header[1], tag = ts * 64 + s;
    if (f->daq_header[0] != tag || f->wib_header[1] != tag) return 0;
    for (unsigned i = 0; i < LT_WIBETH_SAMPLES; i++)
        for (unsigned w = 0; w < LT_WIBETH_WORDS_PER_SAMPLE; w++)
            if (f->adc_words[i][w] != tag) return 0;
    return 1;
}

static struct lt_ringbuf *make(uint32_t cap)
{
    struct lt_ringbuf_config cfg = {.n_streams = NS, .capacity = cap, .lock_memory = 0};
    struct lt_ringbuf *rb = NULL;
    char err[256];
    ck_assert_int_eq(lt_ringbuf_create(&cfg, &rb, err, sizeof err), 0);
    return rb;
}

struct race {
    struct lt_ringbuf *rb;
    _Atomic int done;
    uint64_t periods;
};

static void *producer(void *arg)
{
    struct race *r = arg;
    for (uint64_t k = 0; k < r->periods; k++) {
        fill_period(lt_ringbuf_slot(r->rb), T0 + k * LT_TICKS_PER_FRAME);
        lt_ringbuf_commit(r->rb, T0 + k * LT_TICKS_PER_FRAME);
    }
    atomic_store(&r->done, 1);
    return NULL;
}

#endif
