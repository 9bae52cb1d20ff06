/* Run-file reader, part one: where a cell's frames lie in the run's files (runfile.h). Only
 * HDF5 metadata and the 72-byte fragment headers are read here. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chmap.h"
#include "h5raw.h"
#include "log.h"
#include "lt_error.h"
#include "runfile.h"
#include "runfile_internal.h"
#include "ticks.h"

void lt_rf_index_free(struct lt_rf_index *ix)
{
    if (!ix) return;
    for (size_t i = 0; i < ix->n_files; i++) free(ix->paths[i]);
    free(ix->paths);
    free(ix->slices);
    free(ix->offsets);
    free(ix);
}

uint64_t lt_rf_index_periods(const struct lt_rf_index *ix)
{
    return ix->periods;
}

uint64_t lt_rf_index_bytes(const struct lt_rf_index *ix)
{
    return ix->periods * ix->n_streams * (uint64_t)sizeof(lt_wibeth_frame);
}

/* Room for one more slice (and its n_streams offsets). */
static int grow(struct lt_rf_index *ix)
{
    if (ix->n_slices < ix->cap_slices) return 0;
    size_t nc = ix->cap_slices ? ix->cap_slices * 2 : 64;
    struct lt_rf_slice *s = realloc(ix->slices, nc * sizeof *s);
    if (!s) return LT_ENOMEM;
    ix->slices = s;
    uint64_t *o = realloc(ix->offsets, nc * ix->n_streams * sizeof *o);
    if (!o) return LT_ENOMEM;
    ix->offsets = o;
    ix->cap_slices = nc;
    return 0;
}

/* One record of one file: the cell's fragments become one slice (or none). */
static int index_record(struct lt_rf_index *ix, struct lt_h5r *r, int fd, size_t rec, uint32_t file,
                        uint8_t *seen, char *err, size_t errlen)
{
    const char *path = lt_h5r_path(r);
    struct lt_h5_dataset_info *ds = NULL;
    size_t n_ds;
    int rc = lt_h5r_list_wibeth(r, rec, ix->cell, &ds, &n_ds, err, errlen);
    if (rc) return rc;
    rc = grow(ix);
    if (rc) {
        lt_seterr(err, errlen, "%s: out of memory for the index", path);
        goto out;
    }
    struct lt_rf_slice *sl = &ix->slices[ix->n_slices];
    uint64_t *off = &ix->offsets[ix->n_slices * ix->n_streams];
    memset(seen, 0, ix->n_streams);
    uint32_t n_seen = 0;
    uint64_t window_begin = 0;
    const char *rname = lt_h5r_record(r, rec)->name;
    for (size_t k = 0; k < n_ds; k++) {
        const struct lt_h5_dataset_info *d = &ds[k];
        uint32_t s = d->stream; /* from the frames and GeoID map (lt_h5r_list_wibeth) */
        if (s >= ix->n_streams || seen[s]) {
            rc = LT_EFORMAT;
            lt_seterr(err, errlen, "%s: %s/%s: stream %u %s (cell %u has %u streams)", path, rname,
                      d->name, s, s >= ix->n_streams ? "out of range" : "twice", ix->cell,
                      ix->n_streams);
            goto out;
        }
        uint64_t at, size;
        rc = lt_h5r_dataset_location(r, rec, d->name, &at, &size, err, errlen);
        if (rc) goto out;
        struct lt_fragment_header h;
        rc = lt_h5r_read_fragment_header(r, rec, d->name, &h, err, errlen);
        if (rc) goto out;
        if ((size - LT_FRAGMENT_HEADER_SIZE) % sizeof(lt_wibeth_frame)) {
            rc = LT_EFORMAT;
            lt_seterr(err, errlen, "%s: %s/%s: payload of %llu bytes is not whole frames", path,
                      rname, d->name, (unsigned long long)(size - LT_FRAGMENT_HEADER_SIZE));
            goto out;
        }
        uint64_t m = (size - LT_FRAGMENT_HEADER_SIZE) / sizeof(lt_wibeth_frame);
        if (n_seen && (m != sl->periods || h.window_begin != window_begin)) {
            rc = LT_EFORMAT;
            lt_seterr(err, errlen,
                      "%s: %s: streams of cell %u disagree (%llu frames from %llu, stream %u: "
                      "%llu from %llu)",
                      path, rname, ix->cell, (unsigned long long)sl->periods,
                      (unsigned long long)window_begin, s, (unsigned long long)m,
                      (unsigned long long)h.window_begin);
            goto out;
        }
        if (m > UINT32_MAX) {
            rc = LT_ERANGE;
            lt_seterr(err, errlen, "%s: %s/%s: too many frames", path, rname, d->name);
            goto out;
        }
        sl->periods = (uint32_t)m;
        window_begin = h.window_begin;
        off[s] = at + LT_FRAGMENT_HEADER_SIZE;
        seen[s] = 1;
        n_seen++;
    }
    if (n_seen && n_seen != ix->n_streams) {
        rc = LT_EFORMAT;
        lt_seterr(err, errlen, "%s: %s: %u of the %u streams of cell %u", path, rname, n_seen,
                  ix->n_streams, ix->cell);
        goto out;
    }
    if (n_seen && sl->periods) {
        /* The slice starts at its first frame's own timestamp (the fragment window may be
         * wider than the frames): the time the cell will see. */
        lt_wibeth_frame fr;
        ssize_t got = pread(fd, &fr, sizeof fr, (off_t)off[0]);
        if (got != (ssize_t)sizeof fr) {
            rc = LT_EIO;
            lt_seterr(err, errlen, "%s: %s: cannot read the first frame of cell %u: %s", path,
                      rname, ix->cell, got < 0 ? strerror(errno) : "short read");
            goto out;
        }
        struct lt_daqeth_header eh;
        lt_daqeth_decode(&fr, &eh);
        sl->first_ts = eh.timestamp;
        sl->file = file;
        ix->periods += sl->periods;
        ix->n_slices++;
    }
out:
    free(ds);
    return rc;
}

int lt_rf_index_build(const char *const *paths, size_t n_paths, uint32_t cell, uint32_t n_streams,
                      struct lt_rf_index **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!n_paths || !n_streams) {
        lt_seterr(err, errlen, "run-file index: no files or no streams");
        return LT_EINVAL;
    }
    struct lt_rf_index *ix = calloc(1, sizeof *ix);
    uint8_t *seen = calloc(n_streams, 1);
    if (ix) ix->paths = calloc(n_paths, sizeof *ix->paths);
    if (!ix || !seen || !ix->paths) {
        free(seen);
        lt_rf_index_free(ix);
        lt_seterr(err, errlen, "run-file index: out of memory");
        return LT_ENOMEM;
    }
    ix->cell = cell;
    ix->n_streams = n_streams;
    int rc = 0;
    uint32_t run = 0;
    for (size_t f = 0; f < n_paths && !rc; f++) {
        ix->paths[f] = strdup(paths[f]);
        if (!ix->paths[f]) {
            rc = LT_ENOMEM;
            lt_seterr(err, errlen, "run-file index: out of memory");
            break;
        }
        ix->n_files++;
        struct lt_h5r *r = NULL;
        rc = lt_h5r_open(&r, paths[f], err, errlen);
        if (rc) break;
        const struct lt_h5_file_attrs *a = lt_h5r_attrs(r);
        if (a->record_type != LT_H5_TIMESLICE) {
            rc = LT_EFORMAT;
            lt_seterr(err, errlen, "%s: not a run file (record_type is not TimeSlice)", paths[f]);
        } else if (f && a->run_number != run) {
            rc = LT_EFORMAT;
            lt_seterr(err, errlen, "%s: run %u, but %s is of run %u: not one run", paths[f],
                      a->run_number, paths[0], run);
        }
        run = a->run_number;
        size_t first = ix->n_slices;
        int fd = rc ? -1 : open(paths[f], O_RDONLY | O_CLOEXEC);
        if (!rc && fd < 0) {
            rc = LT_EIO;
            lt_seterr(err, errlen, "%s: %s", paths[f], strerror(errno));
        }
        for (size_t rec = 0; rec < lt_h5r_record_count(r) && !rc; rec++)
            rc = index_record(ix, r, fd, rec, (uint32_t)f, seen, err, errlen);
        if (fd >= 0) close(fd);
        lt_h5r_close(r);
        /* Gaps between the TimeSlices of one file: data time jumps there (the cell sees it as
         * such); reported, and replayed. */
        uint64_t gaps = 0, largest_gap = 0;
        for (size_t k = first + 1; !rc && k < ix->n_slices; k++) {
            const struct lt_rf_slice *s0 = &ix->slices[k - 1], *s1 = &ix->slices[k];
            uint64_t end = s0->first_ts + (uint64_t)s0->periods * LT_TICKS_PER_FRAME;
            if (s1->first_ts != end) {
                gaps++;
                uint64_t g = s1->first_ts > end ? s1->first_ts - end : 0;
                if (g > largest_gap) largest_gap = g;
            }
        }
        if (gaps)
            LT_WARN("cell %u: %s: %llu gaps between TimeSlices (largest %llu ticks): data time "
                    "jumps there",
                    cell, paths[f], (unsigned long long)gaps, (unsigned long long)largest_gap);
        /* The files of a run continue each other: this file's first slice of the cell starts
         * where the previous file's last one ended. */
        if (!rc && first && ix->n_slices > first) {
            const struct lt_rf_slice *prev = &ix->slices[first - 1], *cur = &ix->slices[first];
            uint64_t end = prev->first_ts + (uint64_t)prev->periods * LT_TICKS_PER_FRAME;
            if (cur->first_ts != end) {
                rc = LT_EFORMAT;
                lt_seterr(err, errlen,
                          "%s: cell %u starts at tick %llu, but %s ended at tick %llu (%s of "
                          "%.6f s): the files do not continue each other",
                          paths[f], cell, (unsigned long long)cur->first_ts, ix->paths[prev->file],
                          (unsigned long long)end, cur->first_ts > end ? "a gap" : "an overlap",
                          lt_ticks_to_seconds(cur->first_ts > end ? cur->first_ts - end
                                                                  : end - cur->first_ts));
            }
        }
    }
    free(seen);
    if (!rc && !ix->periods) {
        rc = LT_ENOTFOUND;
        lt_seterr(err, errlen, "%s%s: no WIBEth fragments of cell %u", paths[0],
                  n_paths > 1 ? " ..." : "", cell);
    }
    if (rc) {
        lt_rf_index_free(ix);
        return rc;
    }
    *out = ix;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_run_file(const char *name)
{
    size_t l = strlen(name);
    return (l > 5 && !strcmp(name + l - 5, ".hdf5")) || (l > 3 && !strcmp(name + l - 3, ".h5"));
}

int lt_rf_list_dir(const char *dir, char ***out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        lt_seterr(err, errlen, "%s: cannot open the directory", dir);
        return LT_EIO;
    }
    size_t cap = 16, k = 0;
    char **list = calloc(cap + 1, sizeof *list);
    int rc = list ? 0 : LT_ENOMEM;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.' || !is_run_file(de->d_name)) continue;
        if (k == cap) {
            char **nl = realloc(list, (2 * cap + 1) * sizeof *list);
            if (!nl) {
                rc = LT_ENOMEM;
                break;
            }
            list = nl;
            cap *= 2;
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        list[k] = malloc(len);
        if (!list[k]) {
            rc = LT_ENOMEM;
            break;
        }
        snprintf(list[k], len, "%s/%s", dir, de->d_name);
        list[++k] = NULL;
    }
    closedir(d);
    if (rc) {
        lt_rf_free_list(list);
        lt_seterr(err, errlen, "%s: out of memory listing the directory", dir);
        return rc;
    }
    if (!k) {
        lt_rf_free_list(list);
        lt_seterr(err, errlen, "%s: no run files (*.hdf5, *.h5) in the directory", dir);
        return LT_ENOTFOUND;
    }
    qsort(list, k, sizeof *list, cmp_str);
    *out = list;
    *n = k;
    return 0;
}

void lt_rf_free_list(char **list)
{
    if (!list) return;
    for (char **p = list; *p; p++) free(*p);
    free(list);
}
