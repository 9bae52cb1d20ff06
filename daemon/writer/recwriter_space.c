/* Free-space check done before each record: DUNE's data store refuses to start a write that the
 * disk cannot hold, and so do we; the record then stays queued and the aggregator inhibits. */
#include "recwriter_int.h"

#include <errno.h>
#include <sys/statvfs.h>

int64_t rw_space_free(const char *dir)
{
    struct statvfs sv;
    if (statvfs(dir, &sv) < 0) return -errno;
    /* f_bavail: blocks an unprivileged writer may still use (root's reserve excluded). */
    return (int64_t)((uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize);
}

int rw_space_enough(uint64_t free_bytes, uint64_t need, double factor, uint64_t margin)
{
    return (double)free_bytes >= factor * (double)need + (double)margin;
}
