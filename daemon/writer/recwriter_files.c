/* File naming (lt_h5_file_name, lib/hdf5/h5raw.h), start-up scan and the final commit (fsync,
 * rename, fsync of the directory). Name:
 * <env>_raw_run<NNNNNN>_<NNNN>_<writer>_<YYYYMMDDTHHMMSS>.hdf5 (+
 * ".writing" while open), as DUNE's HDF5DataStore names its files. */
#include "recwriter_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "h5raw.h"
#include "log.h"
#include "lt_error.h"

#define WRITING_SUFFIX LT_H5_WRITING_SUFFIX

/* Parses "<env>_raw_run<run>_<index>_<writer>_<stamp>.hdf5[.writing]" for our env/run/writer.
 * Returns 1 (final), 2 (.writing) or 0 (not ours). */
static int parse_name(const struct rw_files *f, const char *name, uint64_t *index)
{
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s_raw_run%06" PRIu32 "_", f->env, f->run);
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0) return 0;
    char *end;
    errno = 0;
    unsigned long long idx = strtoull(name + pl, &end, 10);
    if (end == name + pl || errno || *end != '_') return 0;
    size_t wl = strlen(f->writer);
    if (strncmp(end + 1, f->writer, wl) != 0 || end[1 + wl] != '_') return 0;
    size_t n = strlen(name);
    *index = idx;
    if (n > strlen(WRITING_SUFFIX) && !strcmp(name + n - strlen(WRITING_SUFFIX), WRITING_SUFFIX))
        return 2;
    if (n > 5 && !strcmp(name + n - 5, ".hdf5")) return 1;
    return 0;
}

int rw_files_scan(struct rw_files *f, char *err, size_t errlen)
{
    f->dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = f->dir_fd >= 0 ? opendir(f->dir) : NULL;
    if (!d) {
        lt_seterr(err, errlen, "%s: %s", f->dir, strerror(errno));
        rw_files_close(f);
        return LT_EIO;
    }
    int leftovers = 0;
    uint64_t next = 1;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t idx;
        int kind = parse_name(f, e->d_name, &idx);
        if (!kind) continue;
        if (idx + 1 > next) next = idx + 1;
        if (kind == 2) {
            leftovers++;
            LT_WARN("recwriter: %s/%s is a leftover in-progress file (earlier crash?); left "
                    "alone, not renamed",
                    f->dir, e->d_name);
        }
    }
    closedir(d);
    f->next_index = next;
    return leftovers;
}

void rw_files_next_names(struct rw_files *f)
{
    char name[256];
    /* env and writer were checked at start (lt_h5_file_name accepts them), and dir is shorter
     * than PATH_MAX - 256, so the names always fit. */
    if (lt_h5_file_name(f->env, f->run, (uint32_t)f->next_index, f->writer, time(NULL), name,
                        sizeof name) < 0)
        name[0] = 0;
    int n = snprintf(f->cur_final, sizeof f->cur_final, "%s/%s", f->dir, name);
    if (n < 0 || (size_t)n >= sizeof f->cur_final) f->cur_final[0] = 0;
    n = snprintf(f->cur_writing, sizeof f->cur_writing, "%s%s", f->cur_final, LT_H5_WRITING_SUFFIX);
    if (n < 0 || (size_t)n >= sizeof f->cur_writing) f->cur_writing[0] = 0;
    f->next_index++;
}

static int fsync_fd(int fd, const char *what, char *err, size_t errlen)
{
    while (fsync(fd) < 0) {
        if (errno == EINTR) continue;
        lt_seterr(err, errlen, "fsync %s: %s", what, strerror(errno));
        return LT_EIO;
    }
    return 0;
}

int rw_files_commit(const struct rw_files *f, int file_fd, char *err, size_t errlen)
{
    int r = fsync_fd(file_fd, f->cur_writing, err, errlen);
    if (r < 0) return r;
    if (rename(f->cur_writing, f->cur_final) < 0) {
        lt_seterr(err, errlen, "rename to %s: %s", f->cur_final, strerror(errno));
        return LT_EIO;
    }
    /* The rename itself is only durable once the directory is synced. */
    return fsync_fd(f->dir_fd, f->dir, err, errlen);
}

void rw_files_close(struct rw_files *f)
{
    if (f->dir_fd >= 0) close(f->dir_fd);
    f->dir_fd = -1;
}
