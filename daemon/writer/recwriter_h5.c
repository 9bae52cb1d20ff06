/* HDF5 side of the record writer: the file, its attributes, and each record's groups and
 * datasets. HDF5 never sees a payload byte. Every dataset is contiguous, its space allocated at
 * creation (H5D_ALLOC_TIME_EARLY) and never filled (H5D_FILL_TIME_NEVER), so HDF5 has no reason
 * to write into it later; the file access list aligns every object of align_threshold bytes or
 * more on 4096 (H5Pset_alignment) so fragment datasets start where O_DIRECT can write, and the
 * sieve buffer is off so HDF5 never holds a stale copy of raw data. Only the writer thread calls
 * these (HDF5 takes one global lock per call; no real-time thread may wait on it). */
#include "recwriter_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5raw.h"
#include "h5raw_internal.h"
#include "lt_error.h"

hid_t rw_h5_create(const char *path, const struct lt_h5_file_attrs *a, uint32_t align_threshold,
                   char *err, size_t errlen)
{
    lt_h5_quiet(); /* errors are reported as "<file>: <object>: what" by us */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
    H5Pset_alignment(fapl, align_threshold, RW_ALIGN);
    H5Pset_sieve_buf_size(fapl, 0);
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    /* The 1.8 object format stores an attribute above 64 KiB densely; a 150-cell record's
     * source_id_path_map is ~0.5 MB and cannot be written in the 1.6 ("earliest") format. */
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V110);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl); /* claimed empty by the caller */
    H5Pclose(fapl);
    if (f < 0) {
        char h5[256];
        lt_h5_last_error(h5, sizeof h5);
        lt_seterr(err, errlen, "%s: H5Fcreate failed: %s", path, h5);
        return -1;
    }
    /* The attributes of hdf5libs' HDF5RawDataFile constructor and dfmodules' data store, with
     * their types (h5raw_attrs.c); recorded_size and closing_timestamp follow at close. */
    char what[128];
    if (lt_h5_write_file_attrs(f, a, what, sizeof what) < 0) {
        char h5[256];
        lt_h5_last_error(h5, sizeof h5);
        lt_seterr(err, errlen, "%s: /: %s: %s", path, what, h5);
        H5Fclose(f);
        return -1;
    }
    return f;
}

static void record_group_name(const struct lt_trigger_record_header *trh, char *buf, size_t len)
{
    if (lt_h5_record_name(LT_H5_TRIGGER_RECORD, trh->trigger_number, trh->sequence_number, buf,
                          len) < 0)
        buf[0] = 0;
}

int rw_h5_record_exists(hid_t file, const struct lt_trigger_record_header *trh)
{
    char name[LT_H5_NAME_MAX];
    record_group_name(trh, name, sizeof name);
    return H5Lexists(file, name, H5P_DEFAULT) > 0;
}

void rw_h5_drop_record(hid_t file, const struct lt_trigger_record_header *trh)
{
    char name[LT_H5_NAME_MAX];
    record_group_name(trh, name, sizeof name);
    if (H5Ldelete(file, name, H5P_DEFAULT) < 0) {
        char h5[256];
        lt_h5_last_error(h5, sizeof h5); /* nothing to undo: the group was never created */
    }
}

/* A {size, 1} byte dataset, contiguous, allocated now, never filled; returns its offset. */
static int make_dset(hid_t grp, const char *name, uint64_t size, struct rw_dset *out)
{
    hsize_t dims[2] = {size, 1};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int ret = -1;
    if (sp < 0 || dcpl < 0) goto out;
    H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    hid_t d = H5Dcreate2(grp, name, H5T_STD_I8LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0) goto out;
    haddr_t off = H5Dget_offset(d);
    H5Dclose(d);
    if (off == HADDR_UNDEF) goto out;
    out->offset = off;
    out->size = size;
    ret = 0;
out:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return ret;
}

/* hdf5libs' record-level SourceID attributes (HDF5SourceIDHandler): readers find datasets
 * through source_id_path_map rather than by listing the group. */
static int record_attrs(hid_t g, const char *gname, const struct lt_rw_record *rec, char *err,
                        size_t errlen)
{
    struct lt_h5_fragment_ref *refs = rec->n_frags ? calloc(rec->n_frags, sizeof *refs) : NULL;
    if (rec->n_frags && !refs) {
        lt_seterr(err, errlen, "/%s: out of memory for the SourceID maps", gname);
        return LT_ENOMEM;
    }
    for (size_t i = 0; i < rec->n_frags; i++) {
        const struct lt_fragment_header *h = &rec->frags[i].hdr;
        refs[i] = (struct lt_h5_fragment_ref){h->element_id, h->fragment_type, h->detector_id};
    }
    char what[128];
    int rc = lt_h5_write_record_attrs(g, LT_H5_TRIGGER_RECORD, gname, &rec->trh.element_id, refs,
                                      rec->n_frags, what, sizeof what);
    free(refs);
    if (rc < 0) {
        char h5[256];
        lt_h5_last_error(h5, sizeof h5);
        lt_seterr(err, errlen, "/%s: %s: %s", gname, what, h5);
        return rc == LT_ENOMEM ? LT_ENOMEM : LT_EIO;
    }
    return 0;
}

int rw_h5_create_record(hid_t file, const struct lt_rw_record *rec, struct rw_dset *dset, char *err,
                        size_t errlen)
{
    char gname[LT_H5_NAME_MAX], name[LT_H5_NAME_MAX], h5[256];
    record_group_name(&rec->trh, gname, sizeof gname);
    hid_t g = H5Gcreate2(file, gname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) {
        lt_h5_last_error(h5, sizeof h5);
        lt_seterr(err, errlen, "/%s: creating the group failed: %s", gname, h5);
        return LT_EIO;
    }
    hid_t raw = H5Gcreate2(g, LT_H5_RAW_DATA_GROUP, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ret = LT_EIO;
    if (raw < 0) {
        lt_h5_last_error(h5, sizeof h5);
        lt_seterr(err, errlen, "/%s/RawData: creating the group failed: %s", gname, h5);
        goto out;
    }
    lt_h5_header_dataset_name(LT_H5_TRIGGER_RECORD, &rec->trh.element_id, name, sizeof name);
    if (make_dset(raw, name, LT_TRH_SIZE + (uint64_t)rec->n_requests * LT_COMPONENT_REQUEST_SIZE,
                  &dset[0]) < 0) {
        lt_h5_last_error(h5, sizeof h5);
        lt_seterr(err, errlen, "/%s/RawData/%s: creating the dataset failed: %s", gname, name, h5);
        goto out;
    }
    for (size_t i = 0; i < rec->n_frags; i++) {
        const struct lt_fragment_header *h = &rec->frags[i].hdr;
        lt_h5_fragment_dataset_name(&h->element_id, h->fragment_type, name, sizeof name);
        if (make_dset(raw, name, LT_FRAGMENT_HEADER_SIZE + (uint64_t)rec->frags[i].payload_len,
                      &dset[1 + i]) < 0) {
            lt_h5_last_error(h5, sizeof h5);
            if (H5Lexists(raw, name, H5P_DEFAULT) > 0) {
                /* Two fragments with the same SourceID and type: no retry can fix that. */
                lt_seterr(err, errlen, "/%s/RawData/%s: duplicate SourceID in the record", gname,
                          name);
                ret = LT_EINVAL;
            } else {
                lt_seterr(err, errlen, "/%s/RawData/%s: creating the dataset failed: %s", gname,
                          name, h5);
            }
            goto out;
        }
    }
    ret = record_attrs(g, gname, rec, err, errlen);
out:
    if (raw >= 0) H5Gclose(raw);
    H5Gclose(g);
    return ret;
}

int rw_h5_flush(hid_t file, char *err, size_t errlen)
{
    if (H5Fflush(file, H5F_SCOPE_LOCAL) < 0) {
        char h5[256];
        lt_h5_last_error(h5, sizeof h5);
        lt_seterr(err, errlen, "H5Fflush failed: %s", h5);
        return LT_EIO;
    }
    return 0;
}

int rw_h5_close(hid_t file, uint64_t recorded_size, char *err, size_t errlen)
{
    int bad = lt_h5_write_closing_attrs(file, recorded_size) < 0;
    herr_t r = H5Fclose(file);
    if (bad || r < 0) {
        char h5[256];
        lt_h5_last_error(h5, sizeof h5);
        lt_seterr(err, errlen, "closing the HDF5 file failed%s: %s", bad ? " (attributes)" : "",
                  h5);
        return LT_EIO;
    }
    return 0;
}
