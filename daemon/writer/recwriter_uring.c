/* io_uring backend for the record payloads.
 *
 * The staging pool is registered once (io_uring_register_buffers), so every write is a
 * WRITE_FIXED with no per-I/O page pinning. Each staging slot carries at most two writes (the
 * O_DIRECT body and the buffered tail of a dataset chunk); it returns to the free list when both
 * complete. Writes are submitted as soon as they are prepared so the device sees a queue of them
 * while the writer copies the next chunk. A record's final chunk is prepared as a chain
 * body -> tail -> fdatasync (IOSQE_IO_LINK), so the sync costs no extra round trip.
 *
 * Completions are checked in full: a short write is resubmitted for its remainder (moving to
 * the buffered descriptor when the remainder is no longer block-aligned), -EAGAIN/-EINTR and
 * -ECANCELED (a link broken by an earlier short write) resubmit the same request, and any other
 * error is remembered and returned by quiesce/finish so the caller can retry the record.
 *
 * Errors: liburing speaks negative errnos; the static helpers below keep them, and the ops (the
 * backend's edge) turn them into LT_EIO with the errno in rw_io.os_errno (recwriter_int.h). */
#include "recwriter_int.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lt_error.h"

enum { OP_WRITE = 1, OP_SYNC = 2 };

struct uop {
    int kind;
    unsigned slot;
    int fdsel;
    const uint8_t *buf;
    size_t len;
    uint64_t off;
    int linked; /* carries IOSQE_IO_LINK */
};

struct uring_impl {
    struct io_uring ring;
    int registered;
    unsigned *slot_refs;
    unsigned *free_slots, nfree_slots;
    struct uop *ops;
    unsigned *free_ops, nfree_ops, nops;
    unsigned inflight;
    int first_err;
    int sync_done;
    int sync_queued;
    int chain_open; /* the last prepared SQE carries IOSQE_IO_LINK */
};

static struct uop *op_get(struct uring_impl *u)
{
    if (!u->nfree_ops) return NULL;
    return &u->ops[u->free_ops[--u->nfree_ops]];
}

static void op_put(struct uring_impl *u, struct uop *op)
{
    u->free_ops[u->nfree_ops++] = (unsigned)(op - u->ops);
}

static void slot_unref(struct uring_impl *u, unsigned slot)
{
    if (--u->slot_refs[slot] == 0) u->free_slots[u->nfree_slots++] = slot;
}

static struct io_uring_sqe *sqe_get(struct uring_impl *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        /* SQ ring full of prepared entries: hand them to the kernel and try again. Never
         * happens while a link chain is open because the ring holds every op we can have. */
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

/* 0, or LT_EFULL when the submission ring has no entry left. */
static int prep(struct rw_io *io, struct uring_impl *u, struct uop *op)
{
    struct io_uring_sqe *sqe = sqe_get(u);
    if (!sqe) return LT_EFULL;
    if (op->kind == OP_SYNC) {
        io_uring_prep_fsync(sqe, io->fd[RW_FD_BUFFERED], IORING_FSYNC_DATASYNC);
    } else if (u->registered) {
        io_uring_prep_write_fixed(sqe, io->fd[op->fdsel], op->buf, (unsigned)op->len, op->off,
                                  (int)op->slot);
    } else {
        io_uring_prep_write(sqe, io->fd[op->fdsel], op->buf, (unsigned)op->len, op->off);
    }
    if (op->linked) sqe->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data(sqe, op);
    u->chain_open = op->linked;
    u->inflight++;
    return 0;
}

static void note_error(struct rw_io *io, struct uring_impl *u, int res, const struct uop *op)
{
    atomic_fetch_add(&io->stats->io_errors, 1);
    if (res == -ENOSPC) atomic_fetch_add(&io->stats->enospc, 1);
    if (!u->first_err) u->first_err = res;
    LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 5, "recwriter: io_uring %s of %zu bytes at %llu failed: %s",
                       op->kind == OP_SYNC ? "fdatasync" : "write", op->len,
                       (unsigned long long)op->off, strerror(-res));
}

/* Handles one completion; may prepare a resubmission. */
static void complete(struct rw_io *io, struct uring_impl *u, struct uop *op, int res)
{
    u->inflight--;
    op->linked = 0;
    if (res == -EAGAIN || res == -EINTR || res == -ECANCELED) {
        if (op->kind == OP_SYNC) {
            /* Re-issued by finish() once every write is back. */
            u->sync_queued = 0;
            op_put(u, op);
            return;
        }
        atomic_fetch_add(&io->stats->retries, 1);
        if (prep(io, u, op) == 0) return;
        res = -EBUSY;
    }
    if (op->kind == OP_SYNC) {
        u->sync_queued = 0;
        if (res < 0)
            note_error(io, u, res, op);
        else
            u->sync_done = 1;
        op_put(u, op);
        return;
    }
    if (res > 0 && (size_t)res < op->len) {
        atomic_fetch_add(&io->stats->short_writes, 1);
        op->buf += res;
        op->off += (uint64_t)res;
        op->len -= (size_t)res;
        if (op->fdsel == RW_FD_DIRECT && ((op->off | op->len) & (RW_ALIGN - 1)))
            op->fdsel = RW_FD_BUFFERED;
        if (prep(io, u, op) == 0) return;
        res = -EBUSY;
    } else if (res == 0 && op->len) {
        res = -EIO; /* no progress at all: do not spin */
    }
    if (res < 0) note_error(io, u, res, op);
    slot_unref(u, op->slot);
    op_put(u, op);
}

static int reap(struct rw_io *io, struct uring_impl *u, int wait)
{
    struct io_uring_cqe *cqe;
    int ret = wait ? io_uring_wait_cqe(&u->ring, &cqe) : io_uring_peek_cqe(&u->ring, &cqe);
    if (ret == -EINTR || ret == -EAGAIN) return 0;
    if (ret < 0) return ret;
    struct uop *op = io_uring_cqe_get_data(cqe);
    int res = cqe->res;
    io_uring_cqe_seen(&u->ring, cqe);
    complete(io, u, op, res);
    /* Drain whatever else is already there without another syscall. */
    while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
        op = io_uring_cqe_get_data(cqe);
        res = cqe->res;
        io_uring_cqe_seen(&u->ring, cqe);
        complete(io, u, op, res);
    }
    return 0;
}

static int submit_pending(struct uring_impl *u)
{
    int ret;
    do {
        ret = io_uring_submit(&u->ring);
    } while (ret == -EINTR || ret == -EAGAIN);
    return ret < 0 ? ret : 0;
}

/* The backend's edge: a liburing result (0 or a negative errno) as an lt_error. */
static int edge(struct rw_io *io, int ret)
{
    return ret < 0 ? rw_io_fail(io, -ret) : 0;
}

static int u_acquire(struct rw_io *io, unsigned *slot)
{
    struct uring_impl *u = io->impl;
    while (!u->nfree_slots) {
        int ret = submit_pending(u);
        if (ret == 0) ret = reap(io, u, 1);
        if (ret < 0) return edge(io, ret);
    }
    *slot = u->free_slots[--u->nfree_slots];
    u->slot_refs[*slot] = 0;
    return 0;
}

static int u_write(struct rw_io *io, unsigned slot, int fdsel, const uint8_t *buf, size_t len,
                   uint64_t off, int flags)
{
    struct uring_impl *u = io->impl;
    /* A buffered tail (under a page, after a dataset's O_DIRECT body) is a copy into the page
     * cache: ext4 cannot do that without blocking, so io_uring would hand every one to an io-wq
     * worker (6,000 hand-offs per 150-cell record, serialised per file). Written here, now, it
     * costs a syscall; the record's fdatasync covers it all the same. The tail linked to that
     * fdatasync stays in the ring. */
    if (fdsel == RW_FD_BUFFERED && len < RW_ALIGN && !(flags & RW_LINK_SYNC)) {
        int ret = rw_pwrite_all(io, fdsel, buf, len, off);
        /* The tail is a chunk's last write: with no body in flight the slot is free again. */
        if (u->slot_refs[slot] == 0) u->free_slots[u->nfree_slots++] = slot;
        return ret;
    }
    struct uop *op = op_get(u);
    if (!op) return LT_EFULL; /* cannot happen: two ops per slot are reserved */
    *op = (struct uop){.kind = OP_WRITE,
                       .slot = slot,
                       .fdsel = fdsel,
                       .buf = buf,
                       .len = len,
                       .off = off,
                       .linked = (flags & RW_LINK_SYNC) != 0};
    u->slot_refs[slot]++;
    int ret = prep(io, u, op);
    if (ret < 0) {
        slot_unref(u, slot);
        op_put(u, op);
        return ret;
    }
    /* A linked write waits for the rest of its chain (finish) before it is submitted. */
    if (!op->linked) return edge(io, submit_pending(u));
    return 0;
}

static int u_quiesce(struct rw_io *io)
{
    struct uring_impl *u = io->impl;
    int ret = submit_pending(u);
    /* A completion may prepare a resubmission (short write, EAGAIN): submit it before waiting
     * again, or we would wait for a request the kernel never saw. */
    while (ret == 0 && u->inflight) {
        ret = reap(io, u, 1);
        if (ret == 0) ret = submit_pending(u);
    }
    if (ret < 0) return edge(io, ret);
    ret = u->first_err; /* a completion's res: 0 or a negative errno */
    u->first_err = 0;
    return edge(io, ret);
}

static int queue_sync(struct rw_io *io, struct uring_impl *u)
{
    struct uop *op = op_get(u);
    if (!op) return LT_EFULL;
    *op = (struct uop){.kind = OP_SYNC};
    u->sync_queued = 1;
    return prep(io, u, op);
}

static int u_finish(struct rw_io *io, int sync)
{
    struct uring_impl *u = io->impl;
    u->sync_done = 0;
    int ret = 0;
    if (sync && u->chain_open) ret = queue_sync(io, u); /* joins the body->tail chain */
    u->chain_open = 0;
    if (ret == 0) ret = u_quiesce(io);
    if (ret == 0 && sync && !u->sync_done) {
        /* No chain to join, or a short write broke it: sync on its own. */
        ret = queue_sync(io, u);
        if (ret == 0) ret = u_quiesce(io);
        if (ret == 0 && !u->sync_done) ret = rw_io_fail(io, EIO);
    }
    return ret;
}

static void free_impl(struct uring_impl *u)
{
    free(u->slot_refs);
    free(u->free_slots);
    free(u->ops);
    free(u->free_ops);
    free(u);
}

static void u_destroy(struct rw_io *io)
{
    struct uring_impl *u = io->impl;
    if (!u) return;
    u_quiesce(io);
    if (u->registered) io_uring_unregister_buffers(&u->ring);
    io_uring_queue_exit(&u->ring);
    free_impl(u);
    io->impl = NULL;
}

static const struct rw_io_ops uring_ops = {
    .acquire = u_acquire,
    .write = u_write,
    .quiesce = u_quiesce,
    .finish = u_finish,
    .destroy = u_destroy,
};

int rw_io_uring_init(struct rw_io *io, char *err, size_t errlen)
{
    struct uring_impl *u = calloc(1, sizeof *u);
    if (!u) {
        lt_seterr(err, errlen, "io_uring backend: out of memory");
        return rw_io_fail(io, ENOMEM);
    }
    u->nops = 2 * io->nslots + 4;
    u->slot_refs = calloc(io->nslots, sizeof *u->slot_refs);
    u->free_slots = calloc(io->nslots, sizeof *u->free_slots);
    u->ops = calloc(u->nops, sizeof *u->ops);
    u->free_ops = calloc(u->nops, sizeof *u->free_ops);
    if (!u->slot_refs || !u->free_slots || !u->ops || !u->free_ops) {
        free_impl(u);
        lt_seterr(err, errlen, "io_uring backend: out of memory");
        return rw_io_fail(io, ENOMEM);
    }
    for (unsigned i = 0; i < io->nslots; i++) u->free_slots[u->nfree_slots++] = io->nslots - 1 - i;
    for (unsigned i = 0; i < u->nops; i++) u->free_ops[u->nfree_ops++] = i;

    unsigned entries = 1;
    while (entries < u->nops) entries <<= 1;
    int ret = io_uring_queue_init(entries, &u->ring, 0);
    if (ret < 0) {
        lt_seterr(err, errlen, "io_uring_queue_init(%u): %s", entries, strerror(-ret));
        free_impl(u);
        io->os_errno = -ret;
        return LT_EUNSUPPORTED;
    }
    struct iovec *iov = calloc(io->nslots, sizeof *iov);
    if (iov) {
        for (unsigned i = 0; i < io->nslots; i++) {
            iov[i].iov_base = io->pool + (size_t)i * io->slot_bytes;
            iov[i].iov_len = io->slot_bytes;
        }
        ret = io_uring_register_buffers(&u->ring, iov, io->nslots);
        free(iov);
        u->registered = ret == 0;
        if (ret < 0)
            LT_WARN("recwriter: io_uring_register_buffers: %s; using unregistered writes",
                    strerror(-ret));
    }
    io->impl = u;
    io->ops = &uring_ops;
    io->mode = LT_RW_IO_URING;
    return 0;
}
