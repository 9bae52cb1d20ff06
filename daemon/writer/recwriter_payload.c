/* The payload plan: every dataset of a record is a byte stream (encoded header, then payload)
 * that goes to [offset, offset + size) in the file. The stream is copied chunk by chunk into
 * page-aligned staging slots; a chunk that starts on a 4 KiB file boundary goes out as an
 * O_DIRECT write of its aligned body plus a buffered write of the remainder, anything else is
 * buffered. The copy is what makes O_DIRECT possible at all: a fragment's payload starts 72
 * bytes into its dataset, so the caller's buffer can never be aligned with the file. */
#include "recwriter_int.h"

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "lt_clock.h"
#include "lt_error.h"

int rw_io_past_deadline(const struct rw_io *io)
{
    uint64_t dl = io->stop_deadline_ns ? atomic_load(io->stop_deadline_ns) : 0;
    return dl && lt_mono_ns() > dl;
}

uint64_t rw_record_bytes(const struct lt_rw_record *rec)
{
    uint64_t n = LT_TRH_SIZE + (uint64_t)rec->n_requests * LT_COMPONENT_REQUEST_SIZE;
    for (size_t i = 0; i < rec->n_frags; i++)
        n += LT_FRAGMENT_HEADER_SIZE + (uint64_t)rec->frags[i].payload_len;
    return n;
}

/* One dataset's bytes: head (encoded header, in a small buffer) then body (caller's payload). */
struct stream {
    const uint8_t *head;
    size_t head_len;
    const uint8_t *body;
    size_t body_len;
};

/* The staging copy, the writer thread's main cost at large records (docs/writer.md,
 * Throughput). Its destination is read next by the device (DMA) or the kernel, never by this
 * CPU, so on x86-64 it is written with non-temporal stores: no read-for-ownership of the
 * destination lines and no eviction of the caller's data from the caches; measured ~2x memcpy
 * here for 0.5 MB fragments into the staging pool. The sfence makes the stores visible before
 * the write that reads them is submitted. */
static void copy_out(uint8_t *dst, const uint8_t *src, size_t n)
{
#if defined(__SSE2__)
    if (n >= 4096) {
        size_t pre = (16 - ((uintptr_t)dst & 15)) & 15;
        memcpy(dst, src, pre);
        dst += pre;
        src += pre;
        n -= pre;
        for (; n >= 64; n -= 64, dst += 64, src += 64) {
            __m128i a = _mm_loadu_si128((const __m128i *)src);
            __m128i b = _mm_loadu_si128((const __m128i *)(src + 16));
            __m128i c = _mm_loadu_si128((const __m128i *)(src + 32));
            __m128i d = _mm_loadu_si128((const __m128i *)(src + 48));
            _mm_stream_si128((__m128i *)dst, a);
            _mm_stream_si128((__m128i *)(dst + 16), b);
            _mm_stream_si128((__m128i *)(dst + 32), c);
            _mm_stream_si128((__m128i *)(dst + 48), d);
        }
        memcpy(dst, src, n);
        _mm_sfence();
        return;
    }
#endif
    memcpy(dst, src, n);
}

static void gather(const struct stream *s, uint64_t pos, uint8_t *dst, size_t n)
{
    if (pos < s->head_len) {
        size_t h = s->head_len - (size_t)pos;
        if (h > n) h = n;
        memcpy(dst, s->head + pos, h);
        dst += h;
        n -= h;
        pos += h;
    }
    if (n) copy_out(dst, s->body + (pos - s->head_len), n);
}

static int write_stream(struct rw_io *io, const struct stream *s, const struct rw_dset *d,
                        int last_dataset, int sync)
{
    const int direct_ok =
        io->fd[RW_FD_DIRECT] >= 0 && io->fd[RW_FD_DIRECT] != io->fd[RW_FD_BUFFERED];
    uint64_t pos = 0;
    while (pos < d->size) {
        if (rw_io_past_deadline(io)) return LT_ETIMEOUT; /* stop: the caller abandons it */
        size_t n = io->slot_bytes;
        if (n > d->size - pos) n = (size_t)(d->size - pos);
        const int last = last_dataset && pos + n == d->size;
        int flags = 0, ret;
        if (last && io->before_last) io->before_last(io->before_last_arg);
        if (last && sync) {
            /* Everything else of the record must be back before the chain that ends in the
             * fdatasync goes out, or the sync could overtake a write still in flight. */
            if ((ret = io->ops->quiesce(io)) < 0) return ret;
            flags = RW_LINK_SYNC;
        }
        unsigned slot;
        if ((ret = io->ops->acquire(io, &slot)) < 0) return ret;
        uint8_t *buf = io->pool + (size_t)slot * io->slot_bytes;
        gather(s, pos, buf, n);
        const uint64_t off = d->offset + pos;
        size_t body =
            (direct_ok && (off & (RW_ALIGN - 1)) == 0) ? (n & ~(size_t)(RW_ALIGN - 1)) : 0;
        if (body && (ret = io->ops->write(io, slot, RW_FD_DIRECT, buf, body, off, flags)) < 0)
            return ret;
        if (n > body && (ret = io->ops->write(io, slot, RW_FD_BUFFERED, buf + body, n - body,
                                              off + body, flags)) < 0)
            return ret;
        pos += n;
    }
    return 0;
}

int rw_payload_write(struct rw_io *io, const struct lt_rw_record *rec, const struct rw_dset *dset,
                     int sync)
{
    int ret = 0;
    /* TRH dataset: header + component requests, encoded straight into one staging slot
     * (enqueue rejects a record whose request list would not fit one). */
    {
        /* Encode first, into locals, so a bad field fails before a slot is taken. */
        uint8_t trh[LT_TRH_SIZE];
        if (lt_trh_encode(&rec->trh, trh, sizeof trh) < 0) return LT_EINVAL;
        unsigned slot;
        if ((ret = io->ops->acquire(io, &slot)) < 0) goto fail;
        uint8_t *buf = io->pool + (size_t)slot * io->slot_bytes;
        memcpy(buf, trh, sizeof trh);
        uint64_t pos = LT_TRH_SIZE;
        for (size_t i = 0; i < rec->n_requests; i++, pos += LT_COMPONENT_REQUEST_SIZE)
            if (lt_component_request_encode(&rec->requests[i], buf + pos,
                                            LT_COMPONENT_REQUEST_SIZE) < 0)
                memset(buf + pos, 0, LT_COMPONENT_REQUEST_SIZE); /* validated at enqueue */
        /* The TRH dataset is small (below the alignment threshold): one buffered write. A
         * record with no fragments links its sync behind it. */
        if (rec->n_frags == 0 && io->before_last) io->before_last(io->before_last_arg);
        int flags = (sync && rec->n_frags == 0) ? RW_LINK_SYNC : 0;
        if (flags && (ret = io->ops->quiesce(io)) < 0) goto fail;
        if ((ret = io->ops->write(io, slot, RW_FD_BUFFERED, buf, (size_t)pos, dset[0].offset,
                                  flags)) < 0)
            goto fail;
    }
    for (size_t i = 0; i < rec->n_frags; i++) {
        const struct lt_rw_fragment *f = &rec->frags[i];
        uint8_t hdr[LT_FRAGMENT_HEADER_SIZE];
        if (lt_fragment_header_encode(&f->hdr, hdr, sizeof hdr) < 0) {
            ret = LT_EINVAL;
            goto fail;
        }
        struct stream s = {
            .head = hdr, .head_len = sizeof hdr, .body = f->payload, .body_len = f->payload_len};
        if ((ret = write_stream(io, &s, &dset[1 + i], i + 1 == rec->n_frags, sync)) < 0) goto fail;
    }
    return io->ops->finish(io, sync);
fail:
    io->ops->quiesce(io); /* nothing of this attempt may still be in flight on retry */
    return ret;
}
