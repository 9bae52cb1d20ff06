/* Free-space check done before each record: DUNE's data store refuses to start a write that the
 * disk cannot hold, and so do we; the record then stays queued and the aggregator inhibits. */
#include "recwriter_int.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

int rw_space_free(const char *dir, uint64_t *free_bytes, char *err, size_t errlen)
{
    struct statvfs sv;
    *free_bytes = 0;
    if (statvfs(dir, &sv) < 0) {
        lt_seterr(err, errlen, "statvfs(%s): %s", dir, strerror(errno));
        return LT_EIO;
    }
    /* f_bavail: blocks an unprivileged writer may still use (root's reserve excluded). */
    *free_bytes = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    return 0;
}

int rw_space_enough(uint64_t free_bytes, uint64_t need, double factor, uint64_t margin)
{
    return (double)free_bytes >= factor * (double)need + (double)margin;
}
