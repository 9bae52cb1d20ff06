/* Run-file reader, part two: the data path (runfile.h). A cell's frames are read in chunks (up
 * to chunk_periods periods of one slice, all streams): RF_DEPTH chunk buffers are kept in
 * flight in a ring, each refilled with the next chunk as soon as the cell has copied the last
 * period out of it. One read per stream per chunk, widened to RF_ALIGN so that O_DIRECT takes
 * it; the frames are copied once, from the chunk into the cell's latency ring slot. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "lt_error.h"
#include "runfile.h"
#include "runfile_internal.h"

#define RF_ALIGN            4096U
#define RF_DEPTH            4U /* chunks read ahead (and the one being consumed among them) */
#define RF_DEFAULT_AHEAD    (64ULL << 20)
#define RF_MAX_CHUNK        4096U /* periods */
#define RF_MAX_RING_ENTRIES 4096U

struct rf_chunk;

struct rf_op { /* one stream's read of one chunk */
    struct rf_chunk *ch;
    int fd;
    uint64_t off;  /* file offset (aligned) */
    uint8_t *buf;  /* destination (aligned) */
    uint32_t len;  /* bytes asked (aligned) */
    uint32_t need; /* bytes that must arrive: up to the chunk's last frame */
};

struct rf_chunk {
    uint8_t *mem;    /* n_streams regions of region_bytes */
    uint32_t *delta; /* per stream: first frame's offset inside its region */
    struct rf_op *ops;
    size_t slice;
    uint32_t p0, n; /* periods [p0, p0 + n) of the slice */
    uint32_t pending;
    int valid; /* holds (or is reading) a chunk */
};

struct lt_rf_reader {
    struct lt_rf_index *ix;
    enum lt_rf_io_mode mode;
    int direct; /* the files opened so far all take O_DIRECT */
    struct io_uring ring;
    int have_ring;
    uint32_t inflight;
    int *fds; /* per file, -1 = not open (yet, or any more) */
    uint8_t *mem;
    uint8_t *probe; /* RF_ALIGN bytes for the O_DIRECT test read */
    size_t mem_bytes, region_bytes;
    uint32_t chunk_periods;
    struct rf_chunk ch[RF_DEPTH];
    size_t plan_slice; /* next chunk to plan */
    uint32_t plan_p;
    unsigned cur; /* chunk being consumed */
    int started;
    uint32_t pos; /* next period inside the current chunk */
    int failed;
    int ended; /* LT_ENOTFOUND returned: the run is over */
    char error[512];
};

static struct {
    _Atomic uint64_t bytes_read, frame_bytes, read_wait_ns;
    _Atomic uint64_t readers_uring, readers_pread, readers_direct, memory_bytes, read_errors;
} totals;

void lt_rf_totals(struct lt_rf_stats *out)
{
    out->bytes_read = atomic_load(&totals.bytes_read);
    out->frame_bytes = atomic_load(&totals.frame_bytes);
    out->read_wait_ns = atomic_load(&totals.read_wait_ns);
    out->readers_uring = atomic_load(&totals.readers_uring);
    out->readers_pread = atomic_load(&totals.readers_pread);
    out->readers_direct = atomic_load(&totals.readers_direct);
    out->memory_bytes = atomic_load(&totals.memory_bytes);
    out->read_errors = atomic_load(&totals.read_errors);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int fail(struct lt_rf_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct lt_rf_reader *r, const char *fmt, ...)
{
    if (!r->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->error, sizeof r->error, fmt, ap);
        va_end(ap);
        r->failed = 1;
        atomic_fetch_add(&totals.read_errors, 1);
    }
    return LT_EIO;
}

/* Open file f on first use: O_DIRECT when reading through io_uring and the file system takes
 * it (tmpfs refuses the open, some file systems only the read: one aligned test read tells). */
static int file_fd(struct lt_rf_reader *r, uint32_t f)
{
    if (r->fds[f] >= 0) return r->fds[f];
    const char *path = r->ix->paths[f];
    int fd = -1;
    if (r->mode == LT_RF_IO_URING && r->direct) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
        if (fd >= 0 && pread(fd, r->probe, RF_ALIGN, 0) < 0) {
            close(fd);
            fd = -1;
        }
        if (fd < 0) {
            r->direct = 0;
            LT_INFO("run file %s: O_DIRECT not available (%s); reading through the page cache",
                    path, strerror(errno));
        }
    }
    if (fd < 0) fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(r, "%s: %s", path, strerror(errno)), -1;
    r->fds[f] = fd;
    return fd;
}

/* Files before f are done with (chunks are consumed in file order). */
static void close_before(struct lt_rf_reader *r, uint32_t f)
{
    for (uint32_t i = 0; i < f; i++)
        if (r->fds[i] >= 0) {
            close(r->fds[i]);
            r->fds[i] = -1;
        }
}

static struct io_uring_sqe *get_sqe(struct lt_rf_reader *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) {
        io_uring_submit(&r->ring);
        sqe = io_uring_get_sqe(&r->ring);
    }
    return sqe;
}

static void prep_read(struct lt_rf_reader *r, struct rf_op *op)
{
    struct io_uring_sqe *sqe = get_sqe(r);
    /* get_sqe cannot fail after a submit: the ring has an entry per op of RF_DEPTH chunks. */
    io_uring_prep_read(sqe, op->fd, op->buf, op->len, op->off);
    io_uring_sqe_set_data(sqe, op);
    r->inflight++;
}

/* Give chunk slot k the next chunk of the run and (io_uring) start reading it. */
static int plan_chunk(struct lt_rf_reader *r, struct rf_chunk *c)
{
    const struct lt_rf_index *ix = r->ix;
    c->valid = 0;
    c->pending = 0;
    c->n = 0;
    if (r->plan_slice >= ix->n_slices) return 0;
    const struct lt_rf_slice *sl = &ix->slices[r->plan_slice];
    c->slice = r->plan_slice;
    c->p0 = r->plan_p;
    c->n = sl->periods - r->plan_p;
    if (c->n > r->chunk_periods) c->n = r->chunk_periods;
    r->plan_p += c->n;
    if (r->plan_p == sl->periods) {
        r->plan_slice++;
        r->plan_p = 0;
    }
    c->valid = 1;
    int fd = file_fd(r, sl->file);
    if (fd < 0) return LT_EIO;
    for (uint32_t s = 0; s < ix->n_streams; s++) {
        uint64_t begin =
            ix->offsets[c->slice * ix->n_streams + s] + (uint64_t)c->p0 * sizeof(lt_wibeth_frame);
        uint64_t end = begin + (uint64_t)c->n * sizeof(lt_wibeth_frame);
        uint64_t a0 = begin / RF_ALIGN * RF_ALIGN;
        uint64_t a1 = (end + RF_ALIGN - 1) / RF_ALIGN * RF_ALIGN;
        struct rf_op *op = &c->ops[s];
        op->ch = c;
        op->fd = fd;
        op->off = a0;
        op->buf = c->mem + (size_t)s * r->region_bytes;
        op->len = (uint32_t)(a1 - a0);
        op->need = (uint32_t)(end - a0);
        c->delta[s] = (uint32_t)(begin - a0);
        c->pending++;
        if (r->mode == LT_RF_IO_URING) prep_read(r, op);
    }
    if (r->mode == LT_RF_IO_URING) {
        int rc = io_uring_submit(&r->ring);
        if (rc < 0) return fail(r, "%s: io_uring submit: %s", ix->paths[sl->file], strerror(-rc));
    }
    return 0;
}

/* One completion: done, continued (a short read that is not at the end of the data), or a
 * failure. The end of a file may cut the widened read, never the frames themselves (the index
 * checked that they lie inside the file). */
static int complete(struct lt_rf_reader *r, struct rf_op *op, int res)
{
    r->inflight--;
    const char *path = r->ix->paths[r->ix->slices[op->ch->slice].file];
    if (res < 0)
        return fail(r, "%s: read of %u bytes at %llu failed: %s", path, op->len,
                    (unsigned long long)op->off, strerror(-res));
    atomic_fetch_add_explicit(&totals.bytes_read, (uint64_t)res, memory_order_relaxed);
    if ((uint32_t)res >= op->need) {
        op->ch->pending--;
        return 0;
    }
    if (res == 0 || res % RF_ALIGN)
        return fail(r, "%s: only %u of %u bytes at %llu: file truncated while reading", path,
                    op->need > (uint32_t)res ? (uint32_t)res : op->need, op->need,
                    (unsigned long long)op->off);
    op->off += (uint32_t)res;
    op->buf += (uint32_t)res;
    op->len -= (uint32_t)res;
    op->need -= (uint32_t)res;
    prep_read(r, op);
    int rc = io_uring_submit(&r->ring);
    return rc < 0 ? fail(r, "%s: io_uring submit: %s", path, strerror(-rc)) : 0;
}

static int wait_chunk(struct lt_rf_reader *r, struct rf_chunk *c)
{
    while (c->pending && !r->failed) {
        struct io_uring_cqe *cqe;
        int rc = io_uring_wait_cqe(&r->ring, &cqe);
        if (rc == -EINTR) continue;
        if (rc < 0) return fail(r, "io_uring wait: %s", strerror(-rc));
        struct rf_op *op = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&r->ring, cqe);
        complete(r, op, res);
    }
    return r->failed ? LT_EIO : 0;
}

static int pread_chunk(struct lt_rf_reader *r, struct rf_chunk *c)
{
    for (uint32_t s = 0; s < r->ix->n_streams; s++) {
        struct rf_op *op = &c->ops[s];
        uint32_t got = 0;
        while (got < op->need) {
            ssize_t n = pread(op->fd, op->buf + got, op->len - got, (off_t)(op->off + got));
            if (n < 0 && errno == EINTR) continue;
            const char *path = r->ix->paths[r->ix->slices[c->slice].file];
            if (n < 0)
                return fail(r, "%s: read of %u bytes at %llu failed: %s", path, op->len,
                            (unsigned long long)op->off, strerror(errno));
            if (n == 0)
                return fail(r, "%s: only %u of %u bytes at %llu: file truncated while reading",
                            path, got, op->need, (unsigned long long)op->off);
            got += (uint32_t)n;
        }
        atomic_fetch_add_explicit(&totals.bytes_read, got, memory_order_relaxed);
    }
    c->pending = 0;
    return 0;
}

int lt_rf_next(struct lt_rf_reader *r, lt_wibeth_frame *frames, uint64_t *ts)
{
    if (r->failed) return LT_EIO;
    if (r->ended) return LT_ENOTFOUND;
    struct rf_chunk *c = &r->ch[r->cur];
    if (!r->started || r->pos == c->n) {
        if (r->started) {
            if (plan_chunk(r, c) < 0) return LT_EIO; /* refill the one just consumed */
            r->cur = (r->cur + 1) % RF_DEPTH;
            c = &r->ch[r->cur];
        }
        r->started = 1;
        r->pos = 0;
        if (!c->valid) {
            r->ended = 1;
            return LT_ENOTFOUND;
        }
        close_before(r, r->ix->slices[c->slice].file);
        uint64_t t0 = now_ns();
        int rc = r->mode == LT_RF_IO_URING ? wait_chunk(r, c) : pread_chunk(r, c);
        atomic_fetch_add_explicit(&totals.read_wait_ns, now_ns() - t0, memory_order_relaxed);
        if (rc) return rc;
        atomic_fetch_add_explicit(&totals.frame_bytes,
                                  (uint64_t)c->n * r->ix->n_streams * sizeof(lt_wibeth_frame),
                                  memory_order_relaxed);
    }
    const size_t at = (size_t)r->pos * sizeof(lt_wibeth_frame);
    for (uint32_t s = 0; s < r->ix->n_streams; s++)
        memcpy(&frames[s], c->mem + (size_t)s * r->region_bytes + c->delta[s] + at,
               sizeof(lt_wibeth_frame));
    struct lt_daqeth_header h;
    lt_daqeth_decode(&frames[0], &h);
    *ts = h.timestamp;
    r->pos++;
    return 1;
}

const char *lt_rf_reader_error(const struct lt_rf_reader *r)
{
    return r->failed ? r->error : "no error";
}

enum lt_rf_io_mode lt_rf_reader_mode(const struct lt_rf_reader *r)
{
    return r->mode;
}

int lt_rf_reader_direct(const struct lt_rf_reader *r)
{
    return r->mode == LT_RF_IO_URING && r->direct;
}

void lt_rf_reader_close(struct lt_rf_reader *r)
{
    if (!r) return;
    if (r->have_ring) {
        /* The kernel writes into our chunk buffers until each read completes: wait for them
         * before the buffers go. */
        while (r->inflight) {
            struct io_uring_cqe *cqe;
            int rc = io_uring_wait_cqe(&r->ring, &cqe);
            if (rc == -EINTR) continue;
            if (rc < 0) break;
            io_uring_cqe_seen(&r->ring, cqe);
            r->inflight--;
        }
        io_uring_queue_exit(&r->ring);
    }
    if (r->fds)
        for (size_t f = 0; f < r->ix->n_files; f++)
            if (r->fds[f] >= 0) close(r->fds[f]);
    for (unsigned k = 0; k < RF_DEPTH; k++) {
        free(r->ch[k].delta);
        free(r->ch[k].ops);
    }
    if (r->mem) atomic_fetch_sub(&totals.memory_bytes, r->mem_bytes);
    free(r->mem);
    free(r->probe);
    free(r->fds);
    lt_rf_index_free(r->ix);
    free(r);
}

int lt_rf_reader_open(struct lt_rf_reader **out, struct lt_rf_index *ix,
                      const struct lt_rf_options *opt, char *err, size_t errlen)
{
    *out = NULL;
    struct lt_rf_reader *r = calloc(1, sizeof *r);
    if (!r) {
        lt_rf_index_free(ix);
        lt_seterr(err, errlen, "run-file reader: out of memory");
        return LT_ENOMEM;
    }
    r->ix = ix;
    r->direct = 1;
    const uint32_t ns = ix->n_streams;
    /* Chunk length: the read-ahead split over RF_DEPTH chunks of all streams, never longer than
     * the longest slice (a chunk stays inside one slice). */
    uint64_t ahead = opt && opt->read_ahead_bytes ? opt->read_ahead_bytes : RF_DEFAULT_AHEAD;
    uint64_t per = ahead / ((uint64_t)RF_DEPTH * ns * sizeof(lt_wibeth_frame));
    uint32_t longest = 0;
    for (size_t i = 0; i < ix->n_slices; i++)
        if (ix->slices[i].periods > longest) longest = ix->slices[i].periods;
    if (per < 1) per = 1;
    if (per > RF_MAX_CHUNK) per = RF_MAX_CHUNK;
    if (per > longest) per = longest;
    r->chunk_periods = (uint32_t)per;
    r->region_bytes =
        ((size_t)per * sizeof(lt_wibeth_frame) + 2 * RF_ALIGN - 1) / RF_ALIGN * RF_ALIGN;
    r->mem_bytes = r->region_bytes * ns * RF_DEPTH;
    void *mem = NULL, *probe = NULL;
    r->fds = malloc(ix->n_files * sizeof *r->fds);
    if (posix_memalign(&mem, RF_ALIGN, r->mem_bytes) ||
        posix_memalign(&probe, RF_ALIGN, RF_ALIGN) || !r->fds) {
        free(mem);
        free(probe);
        lt_seterr(err, errlen, "run-file reader: cannot allocate %zu bytes of read-ahead",
                  r->mem_bytes);
        lt_rf_reader_close(r);
        return LT_ENOMEM;
    }
    r->mem = mem;
    r->probe = probe;
    memset(r->mem, 0, r->mem_bytes); /* fault it in now, not on the data path */
    atomic_fetch_add(&totals.memory_bytes, r->mem_bytes);
    for (size_t f = 0; f < ix->n_files; f++) r->fds[f] = -1;
    for (unsigned k = 0; k < RF_DEPTH; k++) {
        struct rf_chunk *c = &r->ch[k];
        c->mem = r->mem + (size_t)k * ns * r->region_bytes;
        c->delta = calloc(ns, sizeof *c->delta);
        c->ops = calloc(ns, sizeof *c->ops);
        if (!c->delta || !c->ops) {
            lt_seterr(err, errlen, "run-file reader: out of memory");
            lt_rf_reader_close(r);
            return LT_ENOMEM;
        }
    }
    const char *force = getenv("LARTRIG_FORCE_PREAD");
    int forced = (opt && opt->force_pread) || (force && !strcmp(force, "1"));
    r->mode = LT_RF_IO_PREAD;
    if (!forced) {
        unsigned entries = RF_DEPTH * ns;
        if (entries > RF_MAX_RING_ENTRIES) entries = RF_MAX_RING_ENTRIES;
        int rc = io_uring_queue_init(entries, &r->ring, 0);
        if (rc == 0) {
            r->have_ring = 1;
            r->mode = LT_RF_IO_URING;
        } else {
            LT_WARN("run-file reader: io_uring unavailable (%s); reading with pread",
                    strerror(-rc));
        }
    }
    for (unsigned k = 0; k < RF_DEPTH && !r->failed; k++) plan_chunk(r, &r->ch[k]);
    if (r->failed) {
        lt_seterr(err, errlen, "%s", r->error);
        lt_rf_reader_close(r);
        return LT_EIO;
    }
    atomic_fetch_add(r->mode == LT_RF_IO_URING ? &totals.readers_uring : &totals.readers_pread, 1);
    if (lt_rf_reader_direct(r)) atomic_fetch_add(&totals.readers_direct, 1);
    *out = r;
    return 0;
}
