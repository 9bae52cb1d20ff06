/* trigctl replay: reading the run file's shape and truth, and the records a replay wrote. Both
 * happen while no pipeline thread runs (Debian's libhdf5 is not thread-safe). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daqfmt.h"
#include "h5open.h"
#include "h5raw.h"
#include "lt_error.h"
#include "replay.h"
#include "ticks.h"
#include "wibeth.h"

static struct replay_cell *cell_slot(struct replay_run *run, uint32_t id)
{
    for (uint32_t i = 0; i < run->n_cells; i++)
        if (run->cells[i].id == id) return &run->cells[i];
    if (run->n_cells == LT_MAX_CELLS) return NULL;
    struct replay_cell *c = &run->cells[run->n_cells++];
    memset(c, 0, sizeof *c);
    c->id = id;
    return c;
}

int replay_scan_run(const char *path, struct replay_run *run, char *err, size_t errlen)
{
    memset(run, 0, sizeof *run);
    snprintf(run->path, sizeof run->path, "%s", path);
    struct lt_h5r *r = NULL;
    struct lt_h5_dataset_info *ds = NULL;
    char e[1024];
    int rc = trigctl_h5_open(&r, path, e, sizeof e);
    if (rc) {
        lt_seterr(err, errlen, "%s", e);
        return rc;
    }
    const struct lt_h5_file_attrs *a = lt_h5r_attrs(r);
    if (a->record_type != LT_H5_TIMESLICE) {
        lt_seterr(err, errlen, "%s: not a run file (record_type is TriggerRecord, not TimeSlice)",
                  path);
        rc = LT_EFORMAT;
        goto out;
    }
    run->run_number = a->run_number;
    run->first_ts = UINT64_MAX;
    for (size_t rec = 0; rec < lt_h5r_record_count(r); rec++) {
        size_t n;
        rc = lt_h5r_list_wibeth(r, rec, LT_H5_ALL_CELLS, &ds, &n, e, sizeof e);
        if (rc) {
            lt_seterr(err, errlen, "%s", e);
            goto out;
        }
        for (size_t k = 0; k < n; k++) {
            const struct lt_h5_dataset_info *d = &ds[k];
            uint32_t cell = d->cell, stream = d->stream; /* from the frames (list_wibeth) */
            struct replay_cell *c = cell_slot(run, cell);
            if (!c || stream >= LT_STREAMS_PER_CELL || d->size < LT_FRAGMENT_HEADER_SIZE ||
                (d->size - LT_FRAGMENT_HEADER_SIZE) % sizeof(lt_wibeth_frame)) {
                lt_seterr(err, errlen, "%s: %s/%s: not a WIBEth fragment of a valid cell/stream",
                          path, lt_h5r_record(r, rec)->name, d->name);
                rc = LT_EFORMAT;
                goto out;
            }
            uint64_t frames = (d->size - LT_FRAGMENT_HEADER_SIZE) / sizeof(lt_wibeth_frame);
            if (stream + 1 > c->streams) c->streams = stream + 1;
            if (stream == 0) c->frames += frames;
            run->total_frames += frames;
            run->raw_bytes += d->size;
            struct lt_fragment_header h;
            if (frames && lt_h5r_read_fragment_header(r, rec, d->name, &h, e, sizeof e) == 0) {
                if (h.window_begin < run->first_ts) run->first_ts = h.window_begin;
                if (h.window_end > run->last_ts) run->last_ts = h.window_end;
            }
        }
        free(ds);
        ds = NULL;
    }
    if (!run->n_cells) {
        lt_seterr(err, errlen, "%s: no WIBEth fragments (nothing to replay)", path);
        rc = LT_ENOTFOUND;
        goto out;
    }
    uint64_t max_frames = 0;
    for (uint32_t i = 0; i < run->n_cells; i++) {
        struct replay_cell *c = &run->cells[i];
        if (c->streams % LT_STREAMS_PER_FEMB) {
            lt_seterr(err, errlen,
                      "%s: cell %u has %u streams, not whole front-end boards (%u "
                      "streams each)",
                      path, c->id, c->streams, LT_STREAMS_PER_FEMB);
            rc = LT_EFORMAT;
            goto out;
        }
        if (c->frames > max_frames) max_frames = c->frames;
    }
    run->data_seconds = lt_ticks_to_seconds(max_frames * LT_TICKS_PER_FRAME);
    if (run->first_ts == UINT64_MAX) run->first_ts = run->last_ts = 0;
    size_t nt = 0;
    rc = lt_h5r_truth_count(r, &nt, e, sizeof e);
    if (rc) {
        lt_seterr(err, errlen, "%s", e);
        goto out;
    }
    if (nt > REPLAY_MAX_TRUTH) {
        lt_seterr(err, errlen, "%s: /Truth has %zu rows, more than the %u replay reads", path, nt,
                  REPLAY_MAX_TRUTH);
        rc = LT_EFULL;
        goto out;
    }
    if (nt) {
        run->truth = malloc(nt * sizeof *run->truth);
        if (!run->truth) {
            lt_seterr(err, errlen, "out of memory for %zu truth rows", nt);
            rc = LT_ENOMEM;
            goto out;
        }
        rc = lt_h5r_read_truth(r, 0, run->truth, nt, e, sizeof e);
        if (rc) {
            lt_seterr(err, errlen, "%s", e);
            goto out;
        }
        run->n_truth = nt;
    }
    rc = 0;
out:
    free(ds);
    lt_h5r_close(r);
    if (rc) replay_run_free(run);
    return rc;
}

void replay_run_free(struct replay_run *run)
{
    free(run->truth);
    run->truth = NULL;
    run->n_truth = 0;
}

char **replay_list_dir(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0, cap = 16;
    char **list = calloc(cap + 1, sizeof *list);
    if (!list) {
        if (d) closedir(d);
        return NULL;
    }
    if (!d) return list;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (n == cap) {
            char **nl = realloc(list, (2 * cap + 1) * sizeof *list);
            if (!nl) break;
            list = nl;
            cap *= 2;
        }
        list[n] = strdup(de->d_name);
        if (list[n]) n++;
        list[n] = NULL;
    }
    closedir(d);
    return list;
}

void replay_free_list(char **list)
{
    if (!list) return;
    for (char **p = list; *p; p++) free(*p);
    free(list);
}

static int in_list(char **list, const char *name)
{
    for (char **p = list; p && *p; p++)
        if (!strcmp(*p, name)) return 1;
    return 0;
}

int replay_scan_output(const char *dir, char **before, struct replay_output *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    char **now = replay_list_dir(dir);
    if (!now) return LT_ENOMEM;
    int rc = 0;
    char e[1024];
    for (char **p = now; *p; p++) {
        size_t l = strlen(*p);
        if (l < 5 || strcmp(*p + l - 5, ".hdf5") || in_list(before, *p)) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, *p);
        struct stat st;
        if (stat(path, &st) == 0) out->file_bytes += (uint64_t)st.st_size;
        struct lt_h5r *r = NULL;
        rc = trigctl_h5_open(&r, path, e, sizeof e);
        if (rc) {
            lt_seterr(err, errlen, "reading back %s", e);
            break;
        }
        out->files++;
        for (size_t rec = 0; rec < lt_h5r_record_count(r) && !rc; rec++) {
            struct lt_h5_dataset_info *ds = NULL;
            size_t n;
            rc = lt_h5r_list_datasets(r, rec, &ds, &n, e, sizeof e);
            if (rc) {
                lt_seterr(err, errlen, "reading back %s", e);
                break;
            }
            for (size_t k = 0; k < n; k++) out->record_bytes += ds[k].size;
            out->records++;
            free(ds);
        }
        lt_h5r_close(r);
        if (rc) break;
    }
    replay_free_list(now);
    return rc;
}
