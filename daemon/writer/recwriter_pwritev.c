/* pwritev fallback for hosts without io_uring (old kernel: ENOSYS; seccomp: EPERM; sysctl
 * kernel.io_uring_disabled). Same staging pool, same O_DIRECT body / buffered tail split, so the
 * file is byte-identical; the writes are simply synchronous on the writer thread. */
#include "recwriter_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

static int p_acquire(struct rw_io *io, unsigned *slot)
{
    (void)io;
    *slot = 0; /* every write is complete on return, so one slot is always free */
    return 0;
}

int rw_pwrite_all(struct rw_io *io, int fdsel, const uint8_t *buf, size_t len, uint64_t off)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    while (iov.iov_len) {
        ssize_t n = pwritev(io->fd[fdsel], &iov, 1, (off_t)off);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                atomic_fetch_add(&io->stats->retries, 1);
                continue;
            }
            int e = errno;
            atomic_fetch_add(&io->stats->io_errors, 1);
            if (e == ENOSPC) atomic_fetch_add(&io->stats->enospc, 1);
            LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 5,
                               "recwriter: pwritev of %zu bytes at %llu failed: %s", iov.iov_len,
                               (unsigned long long)off, strerror(e));
            return rw_io_fail(io, e);
        }
        if (n == 0) return rw_io_fail(io, EIO); /* no progress at all: do not spin */
        if ((size_t)n < iov.iov_len) atomic_fetch_add(&io->stats->short_writes, 1);
        iov.iov_base = (uint8_t *)iov.iov_base + n;
        iov.iov_len -= (size_t)n;
        off += (uint64_t)n;
        if (fdsel == RW_FD_DIRECT && ((off | iov.iov_len) & (RW_ALIGN - 1))) fdsel = RW_FD_BUFFERED;
    }
    return 0;
}

static int p_write(struct rw_io *io, unsigned slot, int fdsel, const uint8_t *buf, size_t len,
                   uint64_t off, int flags)
{
    (void)slot;
    (void)flags;
    return rw_pwrite_all(io, fdsel, buf, len, off);
}

static int p_quiesce(struct rw_io *io)
{
    (void)io;
    return 0;
}

static int p_finish(struct rw_io *io, int sync)
{
    if (!sync) return 0;
    while (fdatasync(io->fd[RW_FD_BUFFERED]) < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        atomic_fetch_add(&io->stats->io_errors, 1);
        if (e == ENOSPC) atomic_fetch_add(&io->stats->enospc, 1);
        LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 5, "recwriter: fdatasync failed: %s", strerror(e));
        return rw_io_fail(io, e);
    }
    return 0;
}

static void p_destroy(struct rw_io *io)
{
    io->impl = NULL;
}

static const struct rw_io_ops pwritev_ops = {
    .acquire = p_acquire,
    .write = p_write,
    .quiesce = p_quiesce,
    .finish = p_finish,
    .destroy = p_destroy,
};

int rw_io_pwritev_init(struct rw_io *io, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    io->ops = &pwritev_ops;
    io->mode = LT_RW_IO_PWRITEV;
    io->impl = NULL;
    return 0;
}
