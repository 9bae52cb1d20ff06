/* Latency ring buffer: see ringbuf.h. Layout: one allocation of capacity x n_streams frames,
 * period p in slot p % capacity, plus a timestamp per slot. `head` counts committed periods;
 * the producer writes slot head % capacity before publishing head + 1 (release), readers load
 * head (acquire). */
#include "ringbuf.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "lt_error.h"
#include "ticks.h"

/* Three cache lines by who writes them: the read-only geometry, the producer's head (written
 * once per period, read by every reader) and the counters every reader bumps. Were the readers'
 * counters on the head's line, each read would steal the line the producer writes next. */
#define RB_CACHE_LINE 64
struct lt_ringbuf {
    uint32_t n_streams;
    uint32_t capacity;
    lt_wibeth_frame *frames; /* capacity * n_streams */
    size_t bytes;
    _Atomic uint64_t *ts; /* per slot: timestamp of the period it holds */
    int locked;
    /* producer */
    alignas(RB_CACHE_LINE) _Atomic uint64_t head; /* periods committed so far */
    uint64_t last_ts;                             /* producer only */
    _Atomic uint64_t frames_overwritten;
    /* readers */
    alignas(RB_CACHE_LINE) _Atomic uint64_t reads;
    _Atomic uint64_t reads_not_found, reads_incomplete, read_races;
};

int lt_ringbuf_create(const struct lt_ringbuf_config *cfg, struct lt_ringbuf **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    if (cfg->n_streams == 0 || cfg->capacity < 2) {
        lt_seterr(err, errlen, "ring buffer needs >= 1 stream and >= 2 periods (got %u, %u)",
                  cfg->n_streams, cfg->capacity);
        return LT_EINVAL;
    }
    /* Cache-line aligned so the alignas above holds (calloc promises only 16 bytes). */
    struct lt_ringbuf *rb = aligned_alloc(RB_CACHE_LINE, sizeof *rb);
    if (!rb) goto nomem;
    memset(rb, 0, sizeof *rb);
    rb->n_streams = cfg->n_streams;
    rb->capacity = cfg->capacity;
    rb->bytes = (size_t)cfg->capacity * cfg->n_streams * sizeof(lt_wibeth_frame);
    /* mmap rather than malloc: page-aligned, zero-filled, and returned to the OS on destroy. */
    void *mem = mmap(NULL, rb->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        int e = errno;
        lt_seterr(err, errlen, "ring buffer: cannot map %zu bytes: %s", rb->bytes, strerror(e));
        free(rb);
        return LT_ENOMEM;
    }
    rb->frames = mem;
    rb->ts = calloc(cfg->capacity, sizeof *rb->ts);
    if (!rb->ts) {
        munmap(mem, rb->bytes);
        free(rb);
        goto nomem;
    }
    if (cfg->lock_memory) {
        /* Locked pages never fault or swap on the hot path. Without CAP_IPC_LOCK or a large
         * enough RLIMIT_MEMLOCK this fails; the buffer still works, so say so and go on. */
        if (mlock(mem, rb->bytes) == 0) {
            rb->locked = 1;
        } else {
            LT_WARN("ring buffer: mlock of %zu MiB failed (%s); running unlocked", rb->bytes >> 20,
                    strerror(errno));
        }
    }
    *out = rb;
    return 0;
nomem:
    lt_seterr(err, errlen, "ring buffer: out of memory");
    return LT_ENOMEM;
}

void lt_ringbuf_destroy(struct lt_ringbuf *rb)
{
    if (!rb) return;
    if (rb->locked) munlock(rb->frames, rb->bytes);
    munmap(rb->frames, rb->bytes);
    free(rb->ts);
    free(rb);
}

uint32_t lt_ringbuf_streams(const struct lt_ringbuf *rb)
{
    return rb->n_streams;
}
uint32_t lt_ringbuf_capacity(const struct lt_ringbuf *rb)
{
    return rb->capacity;
}

static lt_wibeth_frame *slot_frames(const struct lt_ringbuf *rb, uint64_t period)
{
    return rb->frames + (size_t)(period % rb->capacity) * rb->n_streams;
}

lt_wibeth_frame *lt_ringbuf_slot(struct lt_ringbuf *rb)
{
    return slot_frames(rb, atomic_load_explicit(&rb->head, memory_order_relaxed));
}

int lt_ringbuf_commit(struct lt_ringbuf *rb, uint64_t timestamp)
{
    uint64_t h = atomic_load_explicit(&rb->head, memory_order_relaxed);
    if (h > 0 && timestamp <= rb->last_ts) return LT_ERANGE;
    atomic_store_explicit(&rb->ts[h % rb->capacity], timestamp, memory_order_relaxed);
    rb->last_ts = timestamp;
    if (h >= rb->capacity)
        atomic_fetch_add_explicit(&rb->frames_overwritten, rb->n_streams, memory_order_relaxed);
    atomic_store_explicit(&rb->head, h + 1, memory_order_release);
    return 0;
}

/* Periods a reader may touch: [lo, h). Slot h % capacity (= period h - capacity) may be under
 * the producer's pen right now, so it is excluded. */
static void valid_range(const struct lt_ringbuf *rb, uint64_t h, uint64_t *lo)
{
    *lo = h >= rb->capacity ? h - rb->capacity + 1 : 0;
}

static uint64_t ts_of(const struct lt_ringbuf *rb, uint64_t period)
{
    return atomic_load_explicit(&rb->ts[period % rb->capacity], memory_order_relaxed);
}

void lt_ringbuf_span(const struct lt_ringbuf *rb, uint64_t *oldest, uint64_t *newest_end)
{
    uint64_t h = atomic_load_explicit(&rb->head, memory_order_acquire), lo;
    if (h == 0) {
        *oldest = *newest_end = 0;
        return;
    }
    valid_range(rb, h, &lo);
    *oldest = ts_of(rb, lo);
    *newest_end = ts_of(rb, h - 1) + LT_TICKS_PER_FRAME;
}

uint32_t lt_ringbuf_window_periods(uint64_t begin, uint64_t end)
{
    if (end <= begin) return 0;
    /* Frames start on multiples of 2048 only when the source aligns them; bound generously. */
    return (uint32_t)((end - begin + LT_TICKS_PER_FRAME - 1) / LT_TICKS_PER_FRAME) + 1;
}

/* First period in [lo, h) whose frame ends after t (ts + 2048 > t); h if none. */
static uint64_t lower_bound_end(const struct lt_ringbuf *rb, uint64_t lo, uint64_t h, uint64_t t)
{
    while (lo < h) {
        uint64_t mid = lo + (h - lo) / 2;
        if (ts_of(rb, mid) + LT_TICKS_PER_FRAME > t)
            h = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* First period in [lo, h) starting at or after t; h if none. */
static uint64_t lower_bound_start(const struct lt_ringbuf *rb, uint64_t lo, uint64_t h, uint64_t t)
{
    while (lo < h) {
        uint64_t mid = lo + (h - lo) / 2;
        if (ts_of(rb, mid) >= t)
            h = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

uint32_t lt_ringbuf_count(const struct lt_ringbuf *rb, uint64_t begin, uint64_t end)
{
    uint64_t h = atomic_load_explicit(&rb->head, memory_order_acquire), lo;
    valid_range(rb, h, &lo);
    if (h == 0 || end <= begin || lo >= h) return 0;
    uint64_t first = lower_bound_end(rb, lo, h, begin);
    uint64_t n = lower_bound_start(rb, first, h, end) - first;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

unsigned lt_ringbuf_read(struct lt_ringbuf *rb, uint64_t begin, uint64_t end,
                         lt_wibeth_frame *const *dst, uint32_t max_periods, uint32_t *n_periods)
{
    unsigned flags = 0;
    *n_periods = 0;
    atomic_fetch_add_explicit(&rb->reads, 1, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&rb->head, memory_order_acquire), lo;
    valid_range(rb, h, &lo);
    if (h == 0 || end <= begin || lo >= h) {
        flags = LT_RB_NOT_FOUND | LT_RB_END_MISSING;
        goto out;
    }
    uint64_t first = lower_bound_end(rb, lo, h, begin);
    uint64_t stop = lower_bound_start(rb, first, h, end); /* one past the last overlapping */
    if (first == lo && ts_of(rb, lo) > begin) flags |= LT_RB_BEGIN_GONE;
    if (ts_of(rb, h - 1) + LT_TICKS_PER_FRAME < end) flags |= LT_RB_END_MISSING;
    if (stop - first > max_periods) {
        stop = first + max_periods;
        flags |= LT_RB_END_MISSING;
    }
    for (uint64_t p = first; p < stop; p++) {
        const lt_wibeth_frame *src = slot_frames(rb, p);
        for (uint32_t s = 0; s < rb->n_streams; s++)
            memcpy(&dst[s][p - first], &src[s], sizeof(lt_wibeth_frame));
    }
    /* Validate: periods the producer may have started overwriting while we copied are dropped
     * from the front (they are the oldest ones). */
    atomic_thread_fence(memory_order_acquire);
    uint64_t h2 = atomic_load_explicit(&rb->head, memory_order_acquire), lo2;
    valid_range(rb, h2, &lo2);
    uint64_t n = stop - first;
    if (first < lo2 && n > 0) {
        uint64_t lost = lo2 - first < n ? lo2 - first : n;
        atomic_fetch_add_explicit(&rb->read_races, lost, memory_order_relaxed);
        for (uint32_t s = 0; s < rb->n_streams; s++)
            memmove(&dst[s][0], &dst[s][lost], (size_t)(n - lost) * sizeof(lt_wibeth_frame));
        n -= lost;
        flags |= LT_RB_BEGIN_GONE;
    }
    *n_periods = (uint32_t)n;
    if (n == 0) {
        flags |= LT_RB_NOT_FOUND;
    } else {
        /* A gap: the periods present span more time than their count explains. */
        uint64_t t0 = ts_of(rb, stop - n), t1 = ts_of(rb, stop - 1);
        if ((t1 - t0) / LT_TICKS_PER_FRAME + 1 > n) flags |= LT_RB_GAP;
    }
out:
    if (flags & LT_RB_NOT_FOUND)
        atomic_fetch_add_explicit(&rb->reads_not_found, 1, memory_order_relaxed);
    else if (flags)
        atomic_fetch_add_explicit(&rb->reads_incomplete, 1, memory_order_relaxed);
    return flags;
}

void lt_ringbuf_get_stats(const struct lt_ringbuf *rb, struct lt_ringbuf_stats *st)
{
    uint64_t h = atomic_load_explicit(&rb->head, memory_order_acquire);
    st->periods_written = h;
    st->frames_overwritten = atomic_load(&rb->frames_overwritten);
    st->reads = atomic_load(&rb->reads);
    st->reads_not_found = atomic_load(&rb->reads_not_found);
    st->reads_incomplete = atomic_load(&rb->reads_incomplete);
    st->read_races = atomic_load(&rb->read_races);
    st->capacity = rb->capacity;
    st->fill = h < rb->capacity - 1 ? (uint32_t)h : rb->capacity - 1;
    st->memory_locked = rb->locked;
}
