/* A run file (HDF5, TimeSlice records, one WIBEth fragment per stream per slice), a directory
 * of them, or an explicit list of one run's files (trigctl replay) as a cell source, streamed
 * by the run-file reader (lib/runfile.h): HDF5 is asked where the cell's fragments lie when
 * the source opens, before any thread runs (libhdf5 takes one global lock per call, and the
 * record writer holds it for whole records); then the frames are read with io_uring or pread,
 * a bounded read-ahead ahead of the cell, with no HDF5 call on the data thread. Memory is the
 * read-ahead (buffers.file_read_ahead_mb) whatever the size of the run. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "lt_error.h"
#include "runfile.h"
#include "source.h"

struct file_source {
    struct trigd_source base;
    struct lt_rf_reader *rd;
    int reported;
};

static int file_next(struct trigd_source *s, lt_wibeth_frame *frames, uint64_t *ts)
{
    struct file_source *f = (struct file_source *)s;
    int r = lt_rf_next(f->rd, frames, ts);
    if (r < 0 && r != LT_ENOTFOUND && !f->reported) {
        LT_ERR("cell %u: %s", s->cell, lt_rf_reader_error(f->rd));
        f->reported = 1;
    }
    return r;
}

static void file_close(struct trigd_source *s)
{
    struct file_source *f = (struct file_source *)s;
    lt_rf_reader_close(f->rd);
    free(f);
}

static const struct trigd_source_ops file_ops = {"file", file_next, file_close};

int trigd_source_file_open(const struct trigd_source_config *sc, struct trigd_source **out,
                           char *err, size_t errlen)
{
    const struct trigd_cell_config *cc = sc->cell;
    const uint32_t ns = cc->n_fembs * LT_STREAMS_PER_FEMB;
    char **listed = NULL;
    const char *single[1] = {cc->file};
    const char *const *paths = cc->files ? cc->files : single;
    size_t n_paths = cc->files ? cc->n_files : 1;
    int rc;
    struct stat st;
    if (!cc->files && stat(cc->file, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = lt_rf_list_dir(cc->file, &listed, &n_paths, err, errlen);
        if (rc) return rc;
        paths = (const char *const *)listed;
    }
    struct lt_rf_index *ix = NULL;
    rc = lt_rf_index_build(paths, n_paths, cc->id, ns, &ix, err, errlen);
    lt_rf_free_list(listed);
    if (rc) return rc;
    uint64_t periods = lt_rf_index_periods(ix);
    struct file_source *f = calloc(1, sizeof *f);
    if (!f) {
        lt_rf_index_free(ix);
        lt_seterr(err, errlen, "file source: out of memory");
        return LT_ENOMEM;
    }
    struct lt_rf_options o = {.read_ahead_bytes = sc->file_read_ahead_bytes};
    rc = lt_rf_reader_open(&f->rd, ix, &o, err, errlen);
    if (rc) {
        free(f);
        return rc;
    }
    f->base.ops = &file_ops;
    f->base.cell = cc->id;
    f->base.n_streams = ns;
    f->base.paced = 1;
    f->base.impl = f;
    LT_INFO("cell %u: %llu frame periods in %zu file(s) from %s, read with %s%s", cc->id,
            (unsigned long long)periods, n_paths, cc->files ? cc->files[0] : cc->file,
            lt_rf_reader_mode(f->rd) == LT_RF_IO_URING ? "io_uring" : "pread",
            lt_rf_reader_direct(f->rd) ? " (O_DIRECT)" : "");
    *out = &f->base;
    return 0;
}
