/* A run file (HDF5, TimeSlice records, one WIBEth fragment per stream per slice) as a cell
 * source. The cell's frames are read completely when the source opens, before any thread runs:
 * HDF5 takes one global lock per call and the record writer holds it for whole records, so a
 * replaying cell thread must not wait on HDF5 later. The preload is bounded (FILE_MAX_BYTES per
 * cell). */
#include <stdlib.h>
#include <string.h>

#include "h5raw.h"
#include "log.h"
#include "lt_error.h"
#include "source.h"
#include "ticks.h"

#define FILE_MAX_BYTES (4ULL << 30)

struct file_source {
    struct trigd_source base;
    lt_wibeth_frame *frames; /* [period][stream] */
    uint64_t n_periods, next;
};

static int file_next(struct trigd_source *s, lt_wibeth_frame *frames, uint64_t *ts)
{
    struct file_source *f = (struct file_source *)s;
    if (f->next >= f->n_periods) return LT_ENOTFOUND;
    const lt_wibeth_frame *src = f->frames + f->next * s->n_streams;
    memcpy(frames, src, (size_t)s->n_streams * sizeof(lt_wibeth_frame));
    struct lt_daqeth_header h;
    lt_daqeth_decode(&src[0], &h);
    *ts = h.timestamp;
    f->next++;
    return 1;
}

static void file_close(struct trigd_source *s)
{
    struct file_source *f = (struct file_source *)s;
    free(f->frames);
    free(f);
}

static const struct trigd_source_ops file_ops = {"file", file_next, file_close};

int trigd_source_file_open(const struct trigd_source_config *sc, struct trigd_source **out,
                           char *err, size_t errlen)
{
    const struct trigd_cell_config *cc = sc->cell;
    const uint32_t ns = cc->n_fembs * LT_STREAMS_PER_FEMB;
    struct lt_h5r *r = NULL;
    struct lt_h5_dataset_info *ds = NULL;
    uint8_t *buf = NULL;
    int rc = lt_h5r_open(&r, cc->file, err, errlen);
    if (rc) return rc;
    struct file_source *f = calloc(1, sizeof *f);
    if (!f) {
        rc = LT_ENOMEM;
        lt_seterr(err, errlen, "file source: out of memory");
        goto out;
    }
    f->base.ops = &file_ops;
    f->base.cell = cc->id;
    f->base.n_streams = ns;
    f->base.paced = 1;
    f->base.impl = f;
    if (lt_h5r_attrs(r)->record_type != LT_H5_TIMESLICE) {
        rc = LT_EFORMAT;
        lt_seterr(err, errlen, "%s: not a run file (record_type is not TimeSlice)", cc->file);
        goto out;
    }
    uint64_t cap_periods = 0, end_ts = 0, gaps = 0, largest_gap = 0;
    for (size_t rec = 0; rec < lt_h5r_record_count(r); rec++) {
        size_t n_ds;
        rc = lt_h5r_list_wibeth(r, rec, cc->id, &ds, &n_ds, err, errlen);
        if (rc) goto out;
        uint64_t slice_periods = 0, seen = 0; /* bit per stream of the cell (ns <= 40) */
        for (size_t k = 0; k < n_ds; k++) {
            const struct lt_h5_dataset_info *d = &ds[k];
            uint32_t s = d->stream; /* from the frames and GeoID map (lt_h5r_list_wibeth) */
            if (s >= ns) {
                rc = LT_EFORMAT;
                lt_seterr(err, errlen, "%s: %s: stream %u but cell %u has %u streams", cc->file,
                          d->name, s, cc->id, ns);
                goto out;
            }
            if (seen >> s & 1U) {
                rc = LT_EFORMAT;
                lt_seterr(err, errlen,
                          "%s: %s: a second fragment of cell %u stream %u in record %s (several "
                          "links feeding one stream are not supported)",
                          cc->file, d->name, cc->id, s, lt_h5r_record(r, rec)->name);
                goto out;
            }
            seen |= 1ULL << s;
            struct lt_fragment_header h;
            size_t plen;
            rc = lt_h5r_read_fragment_alloc(r, rec, d->name, &h, &buf, &plen, 0, err, errlen);
            if (rc) goto out;
            if (plen % sizeof(lt_wibeth_frame)) {
                rc = LT_EFORMAT;
                lt_seterr(err, errlen, "%s: %s: payload of %zu bytes is not whole frames", cc->file,
                          d->name, plen);
                goto out;
            }
            uint64_t m = plen / sizeof(lt_wibeth_frame);
            if (slice_periods && m != slice_periods) {
                rc = LT_EFORMAT;
                lt_seterr(err, errlen,
                          "%s: record %zu: streams of cell %u hold %llu and %llu "
                          "frames",
                          cc->file, rec, cc->id, (unsigned long long)slice_periods,
                          (unsigned long long)m);
                goto out;
            }
            slice_periods = m;
            uint64_t need = f->n_periods + m;
            if (need * ns * sizeof(lt_wibeth_frame) > FILE_MAX_BYTES) {
                rc = LT_EFULL;
                lt_seterr(err, errlen,
                          "%s: cell %u holds more than %llu GiB; replay it with "
                          "trigctl replay or split the file",
                          cc->file, cc->id, FILE_MAX_BYTES >> 30);
                goto out;
            }
            if (need > cap_periods) {
                uint64_t nc = cap_periods ? cap_periods * 2 : 4096;
                while (nc < need) nc *= 2;
                lt_wibeth_frame *nf = realloc(f->frames, nc * ns * sizeof(lt_wibeth_frame));
                if (!nf) {
                    rc = LT_ENOMEM;
                    lt_seterr(err, errlen, "%s: out of memory", cc->file);
                    goto out;
                }
                f->frames = nf;
                cap_periods = nc;
            }
            const uint8_t *p = buf + LT_FRAGMENT_HEADER_SIZE;
            for (uint64_t j = 0; j < m; j++)
                memcpy(&f->frames[(f->n_periods + j) * ns + s], p + j * sizeof(lt_wibeth_frame),
                       sizeof(lt_wibeth_frame));
            free(buf);
            buf = NULL;
        }
        free(ds);
        ds = NULL;
        /* Every stream of the cell in every slice that has the cell, or the periods would hold
         * frames nobody wrote. */
        if (seen && seen != (ns == 64 ? ~0ULL : (1ULL << ns) - 1)) {
            uint32_t missing = 0;
            while (seen >> missing & 1U) missing++;
            rc = LT_EFORMAT;
            lt_seterr(err, errlen,
                      "%s: record %s: cell %u stream %u missing (%d of %u streams present)",
                      cc->file, lt_h5r_record(r, rec)->name, cc->id, missing,
                      __builtin_popcountll(seen), ns);
            goto out;
        }
        if (slice_periods) {
            /* Gaps between TimeSlices: data time jumps there (the cell sees it as such). */
            struct lt_daqeth_header first;
            lt_daqeth_decode(&f->frames[f->n_periods * ns], &first);
            if (f->n_periods && first.timestamp != end_ts) {
                gaps++;
                uint64_t g = first.timestamp > end_ts ? first.timestamp - end_ts : 0;
                if (g > largest_gap) largest_gap = g;
            }
            end_ts = first.timestamp + slice_periods * LT_TICKS_PER_FRAME;
        }
        f->n_periods += slice_periods;
    }
    if (!f->n_periods) {
        rc = LT_ENOTFOUND;
        lt_seterr(err, errlen, "%s: no WIBEth fragments of cell %u", cc->file, cc->id);
        goto out;
    }
    LT_INFO("cell %u: %llu frame periods preloaded from %s", cc->id,
            (unsigned long long)f->n_periods, cc->file);
    if (gaps)
        LT_WARN("cell %u: %s: %llu gaps between TimeSlices (largest %llu ticks): data time jumps "
                "there",
                cc->id, cc->file, (unsigned long long)gaps, (unsigned long long)largest_gap);
    *out = &f->base;
    f = NULL;
    rc = 0;
out:
    free(buf);
    free(ds);
    if (f) file_close(&f->base);
    lt_h5r_close(r);
    return rc;
}
