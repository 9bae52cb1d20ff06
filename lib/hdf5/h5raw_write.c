/* Plain-HDF5 writer of DUNE-DAQ hdf5libs raw-data files (TimeSlice run files and TriggerRecord
 * files). The layout and attributes follow hdf5libs HDF5RawDataFile and HDF5SourceIDHandler;
 * names come from h5names.c. Bulk bytes go through H5Dwrite here; the io_uring writer in the
 * record-writer module does the same layout with its own data path. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5raw.h"
#include "h5raw_internal.h"
#include "lt_error.h"

/* One dataset written into the open record, remembered for the record-level SourceID maps. */
struct written {
    struct lt_source_id sid;
    uint32_t fragment_type; /* UINT32_MAX for the record header */
    uint16_t detector_id;
};

struct lt_h5w {
    hid_t file;
    char path[PATH_MAX];       /* name on disk while writing */
    char final_path[PATH_MAX]; /* name after close */
    int writing_suffix;
    enum lt_h5_record_type type;
    uint64_t recorded_size;
    uint64_t records;

    /* the open record */
    int rec_open;
    hid_t rec_group, raw_group;
    char rec_name[LT_H5_NAME_MAX];
    uint64_t rec_number;
    uint16_t rec_sequence;
    struct written *ds;
    size_t n_ds, cap_ds;

    /* /Truth */
    struct lt_h5_truth_writer truth;
};

/* "<file>: <object>: <what>[: <HDF5's most specific message>]" */

const char *lt_h5w_path(const struct lt_h5w *w)
{
    return w->path;
}
uint64_t lt_h5w_recorded_size(const struct lt_h5w *w)
{
    return w->recorded_size;
}
uint64_t lt_h5w_record_count(const struct lt_h5w *w)
{
    return w->records;
}

static int write_file_attrs(struct lt_h5w *w, const struct lt_h5_file_attrs *a, char *err,
                            size_t errlen)
{
    char what[128];
    int rc = lt_h5_write_file_attrs(w->file, a, what, sizeof what);
    return rc < 0 ? lt_h5_fail(w->path, rc, "/", rc == LT_EIO, err, errlen, "%s", what) : 0;
}

int lt_h5w_open(struct lt_h5w **out, const char *path, const struct lt_h5_file_attrs *attrs,
                const struct lt_h5w_options *opts, char *err, size_t errlen)
{
    lt_h5_quiet();
    *out = NULL;
    struct lt_h5w_options o = {0};
    if (opts) o = *opts;
    if (!path || !attrs || !lt_h5_record_prefix(attrs->record_type)) {
        lt_seterr(err, errlen, "%s: invalid arguments to lt_h5w_open", path ? path : "(null)");
        return LT_EINVAL;
    }
    struct lt_h5w *w = calloc(1, sizeof *w);
    if (!w) return LT_ENOMEM;
    w->file = w->rec_group = w->raw_group = -1;
    w->type = attrs->record_type;
    w->writing_suffix = o.writing_suffix;
    int n1 = snprintf(w->final_path, sizeof w->final_path, "%s", path);
    int n2 = snprintf(w->path, sizeof w->path, "%s%s", path,
                      o.writing_suffix ? LT_H5_WRITING_SUFFIX : "");
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof w->path) {
        lt_seterr(err, errlen, "%s: path too long", path);
        free(w);
        return LT_EINVAL;
    }
    if (!o.truncate && o.writing_suffix && access(w->final_path, F_OK) == 0) {
        int rc = lt_h5_fail(w->path, LT_EINVAL, "/", 0, err, errlen, "final name %s already exists",
                            w->final_path);
        free(w);
        return rc;
    }
    /* The 1.8 object format stores attributes above 64 KiB densely: truth blocks need it. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0) H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V110);
    w->file = H5Fcreate(w->path, o.truncate ? H5F_ACC_TRUNC : H5F_ACC_EXCL, H5P_DEFAULT,
                        fapl >= 0 ? fapl : H5P_DEFAULT);
    if (fapl >= 0) H5Pclose(fapl);
    if (w->file < 0) {
        int rc =
            lt_h5_fail(w->path, LT_EIO, "/", 1, err, errlen, "cannot create file%s",
                       access(w->path, F_OK) == 0 && !o.truncate ? " (it already exists)" : "");
        free(w);
        return rc;
    }
    int rc = write_file_attrs(w, attrs, err, errlen);
    if (rc < 0) {
        lt_h5w_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

static void close_record_handles(struct lt_h5w *w)
{
    if (w->raw_group >= 0) H5Gclose(w->raw_group);
    if (w->rec_group >= 0) H5Gclose(w->rec_group);
    w->raw_group = w->rec_group = -1;
    w->rec_open = 0;
    w->n_ds = 0;
}

static void close_handles(struct lt_h5w *w)
{
    close_record_handles(w);
    lt_h5_truth_writer_close(&w->truth);
}

void lt_h5w_abort(struct lt_h5w *w)
{
    if (!w) return;
    close_handles(w);
    if (w->file >= 0) H5Fclose(w->file);
    free(w->ds);
    free(w);
}

static int fsync_path(const char *path, int directory)
{
    int fd = open(path, (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int lt_h5w_close(struct lt_h5w *w, char *err, size_t errlen)
{
    if (!w) return LT_EINVAL;
    int rc = 0;
    if (w->rec_open)
        rc = lt_h5_fail(
            w->path, LT_EINVAL, w->rec_name, 0, err, errlen,
            "record still open at close (lt_h5w_end_record not called); record incomplete");
    char what[160];
    int trc = rc == 0 ? lt_h5_truth_finish(&w->truth, what, sizeof what) : 0;
    if (trc < 0)
        rc =
            lt_h5_fail(w->path, trc, "/" LT_H5_TRUTH_GROUP, trc == LT_EIO, err, errlen, "%s", what);
    if (rc == 0 && lt_h5_write_closing_attrs(w->file, w->recorded_size) < 0)
        rc = lt_h5_fail(w->path, LT_EIO, "/", 1, err, errlen, "cannot write closing attributes");
    close_handles(w);
    if (rc == 0 && H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0)
        rc = lt_h5_fail(w->path, LT_EIO, "/", 1, err, errlen, "flush failed");
    if (H5Fclose(w->file) < 0 && rc == 0)
        rc = lt_h5_fail(w->path, LT_EIO, "/", 1, err, errlen, "close failed");
    w->file = -1;
    if (rc == 0 && w->writing_suffix) {
        /* Data first on disk, then the name: a crash leaves either a .writing file or a complete
         * one under the final name, never an incomplete file under the final name. */
        if (fsync_path(w->path, 0) < 0)
            rc = lt_h5_fail(w->path, LT_EIO, "/", 0, err, errlen, "fsync: %s", strerror(errno));
        else if (rename(w->path, w->final_path) < 0)
            rc = lt_h5_fail(w->path, LT_EIO, "/", 0, err, errlen, "rename to %s: %s", w->final_path,
                            strerror(errno));
        else {
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%s", w->final_path);
            char *slash = strrchr(dir, '/');
            if (slash == dir)
                dir[1] = '\0';
            else if (slash)
                *slash = '\0';
            else
                strcpy(dir, ".");
            if (fsync_path(dir, 1) < 0)
                rc = lt_h5_fail(w->path, LT_EIO, dir, 0, err, errlen, "fsync of directory: %s",
                                strerror(errno));
        }
    }
    free(w->ds);
    free(w);
    return rc;
}

/* Create "/<record>/RawData" for a new record; refuses a record that already exists. */
static int begin_record(struct lt_h5w *w, enum lt_h5_record_type type, uint64_t number,
                        uint16_t sequence, char *err, size_t errlen)
{
    if (w->type != type)
        return lt_h5_fail(w->path, LT_EINVAL, "/", 0, err, errlen,
                          "cannot write a %s record into a %s file", lt_h5_record_prefix(type),
                          lt_h5_record_prefix(w->type));
    if (w->rec_open)
        return lt_h5_fail(w->path, LT_EINVAL, w->rec_name, 0, err, errlen,
                          "previous record still open (lt_h5w_end_record not called)");
    if (lt_h5_record_name(type, number, sequence, w->rec_name, sizeof w->rec_name) < 0)
        return lt_h5_fail(w->path, LT_EINVAL, "/", 0, err, errlen, "record name too long");
    htri_t ex = H5Lexists(w->file, w->rec_name, H5P_DEFAULT);
    if (ex < 0)
        return lt_h5_fail(w->path, LT_EIO, w->rec_name, 1, err, errlen, "cannot look up record");
    if (ex > 0)
        return lt_h5_fail(w->path, LT_EINVAL, w->rec_name, 0, err, errlen, "record already exists");
    w->rec_group = H5Gcreate2(w->file, w->rec_name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (w->rec_group < 0)
        return lt_h5_fail(w->path, LT_EIO, w->rec_name, 1, err, errlen, "cannot create group");
    w->raw_group =
        H5Gcreate2(w->rec_group, LT_H5_RAW_DATA_GROUP, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (w->raw_group < 0) {
        int rc =
            lt_h5_fail(w->path, LT_EIO, w->rec_name, 1, err, errlen, "cannot create group RawData");
        close_record_handles(w);
        return rc;
    }
    w->rec_open = 1;
    w->rec_number = number;
    w->rec_sequence = sequence;
    w->n_ds = 0;
    return 0;
}

static int remember(struct lt_h5w *w, const struct lt_source_id *sid, uint32_t fragment_type,
                    uint16_t detector_id)
{
    if (w->n_ds == w->cap_ds) {
        size_t cap = w->cap_ds ? w->cap_ds * 2 : 64;
        struct written *d = realloc(w->ds, cap * sizeof *d);
        if (!d) return LT_ENOMEM;
        w->ds = d;
        w->cap_ds = cap;
    }
    struct written *e = &w->ds[w->n_ds++];
    e->sid = *sid;
    e->fragment_type = fragment_type;
    e->detector_id = detector_id;
    return 0;
}

/* Create one contiguous byte dataset of shape {size, 1} in RawData and write it from up to two
 * pieces (header + payload) so the payload is never copied into a staging buffer. */
static int write_bytes_dataset(struct lt_h5w *w, const char *dsname, const void *p1, size_t n1,
                               const void *p2, size_t n2, char *err, size_t errlen)
{
    char obj[LT_H5_NAME_MAX * 2 + 16];
    lt_h5_dataset_path(w->rec_name, dsname, obj, sizeof obj);
    htri_t ex = H5Lexists(w->raw_group, dsname, H5P_DEFAULT);
    if (ex < 0) return lt_h5_fail(w->path, LT_EIO, obj, 1, err, errlen, "cannot look up dataset");
    if (ex > 0)
        return lt_h5_fail(w->path, LT_EINVAL, obj, 0, err, errlen,
                          "dataset already exists (two fragments with the same SourceID and type)");
    hsize_t dims[2] = {(hsize_t)n1 + (hsize_t)n2, 1};
    hid_t fspace = H5Screate_simple(2, dims, NULL);
    if (fspace < 0)
        return lt_h5_fail(w->path, LT_EIO, obj, 1, err, errlen, "cannot create dataspace");
    /* 8-bit signed integers: what HighFive's createDataSet<char> stores on x86 (H5T_STD_I8LE). */
    hid_t ds = H5Dcreate2(w->raw_group, dsname, H5T_STD_I8LE, fspace, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
    int rc = 0;
    if (ds < 0) {
        rc = lt_h5_fail(w->path, LT_EIO, obj, 1, err, errlen, "cannot create dataset");
        goto out;
    }
    const void *piece[2] = {p1, p2};
    size_t len[2] = {n1, n2};
    hsize_t start = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (len[i] == 0) continue;
        hsize_t off[2] = {start, 0}, cnt[2] = {(hsize_t)len[i], 1};
        hid_t mspace = H5Screate_simple(2, cnt, NULL);
        if (mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0 ||
            H5Dwrite(ds, H5T_NATIVE_SCHAR, mspace, fspace, H5P_DEFAULT, piece[i]) < 0)
            rc = lt_h5_fail(w->path, LT_EIO, obj, 1, err, errlen,
                            "cannot write %zu bytes at offset %llu", len[i],
                            (unsigned long long)start);
        if (mspace >= 0) H5Sclose(mspace);
        start += len[i];
    }
    if (H5Dclose(ds) < 0 && rc == 0)
        rc = lt_h5_fail(w->path, LT_EIO, obj, 1, err, errlen, "close failed");
out:
    H5Sclose(fspace);
    if (rc == 0) w->recorded_size += n1 + n2;
    return rc;
}

int lt_h5w_begin_timeslice(struct lt_h5w *w, const struct lt_timeslice_header *tsh, char *err,
                           size_t errlen)
{
    int rc = begin_record(w, LT_H5_TIMESLICE, tsh->timeslice_number, 0, err, errlen);
    if (rc < 0) return rc;
    uint8_t buf[LT_TSH_SIZE];
    char name[LT_H5_NAME_MAX];
    if ((rc = lt_tsh_encode(tsh, buf, sizeof buf)) < 0)
        rc = lt_h5_fail(w->path, rc, w->rec_name, 0, err, errlen,
                        "cannot encode TimeSliceHeader: %s", lt_strerror(rc));
    else if (lt_h5_header_dataset_name(w->type, &tsh->element_id, name, sizeof name) < 0)
        rc = lt_h5_fail(w->path, LT_EINVAL, w->rec_name, 0, err, errlen,
                        "header dataset name too long");
    else if ((rc = write_bytes_dataset(w, name, buf, sizeof buf, NULL, 0, err, errlen)) == 0 &&
             (rc = remember(w, &tsh->element_id, UINT32_MAX, 0)) < 0)
        rc = lt_h5_fail(w->path, rc, w->rec_name, 0, err, errlen, "out of memory");
    if (rc < 0) close_record_handles(w);
    return rc;
}

int lt_h5w_begin_trigger_record(struct lt_h5w *w, const struct lt_trigger_record_header *trh,
                                const struct lt_component_request *requests, size_t n_requests,
                                char *err, size_t errlen)
{
    if (n_requests > LT_H5_MAX_DATASETS_PER_RECORD || (n_requests && !requests))
        return lt_h5_fail(w->path, LT_EINVAL, "/", 0, err, errlen,
                          "bad component request list (%zu)", n_requests);
    int rc = begin_record(w, LT_H5_TRIGGER_RECORD, trh->trigger_number, trh->sequence_number, err,
                          errlen);
    if (rc < 0) return rc;
    /* The header dataset is the 64-byte TRH followed by the 32-byte ComponentRequests, as
     * TriggerRecordHeader stores them; num_requested_components is set from the list. */
    size_t len = LT_TRH_SIZE + n_requests * LT_COMPONENT_REQUEST_SIZE;
    uint8_t *buf = malloc(len);
    char name[LT_H5_NAME_MAX];
    struct lt_trigger_record_header h = *trh;
    h.num_requested_components = n_requests;
    if (!buf) {
        rc = lt_h5_fail(w->path, LT_ENOMEM, w->rec_name, 0, err, errlen, "out of memory");
        goto out;
    }
    if ((rc = lt_trh_encode(&h, buf, LT_TRH_SIZE)) < 0) {
        rc = lt_h5_fail(w->path, rc, w->rec_name, 0, err, errlen,
                        "cannot encode TriggerRecordHeader: %s", lt_strerror(rc));
        goto out;
    }
    for (size_t i = 0; i < n_requests; i++)
        if ((rc = lt_component_request_encode(&requests[i],
                                              buf + LT_TRH_SIZE + i * LT_COMPONENT_REQUEST_SIZE,
                                              LT_COMPONENT_REQUEST_SIZE)) < 0) {
            rc = lt_h5_fail(w->path, rc, w->rec_name, 0, err, errlen,
                            "cannot encode ComponentRequest %zu: %s", i, lt_strerror(rc));
            goto out;
        }
    if (lt_h5_header_dataset_name(w->type, &trh->element_id, name, sizeof name) < 0) {
        rc = lt_h5_fail(w->path, LT_EINVAL, w->rec_name, 0, err, errlen,
                        "header dataset name too long");
        goto out;
    }
    if ((rc = write_bytes_dataset(w, name, buf, len, NULL, 0, err, errlen)) == 0 &&
        (rc = remember(w, &trh->element_id, UINT32_MAX, 0)) < 0)
        rc = lt_h5_fail(w->path, rc, w->rec_name, 0, err, errlen, "out of memory");
out:
    free(buf);
    if (rc < 0) close_record_handles(w);
    return rc;
}

int lt_h5w_add_fragment(struct lt_h5w *w, const struct lt_fragment_header *hdr, const void *payload,
                        size_t payload_len, char *err, size_t errlen)
{
    if (!w->rec_open)
        return lt_h5_fail(w->path, LT_EINVAL, "/", 0, err, errlen, "no record open for fragment");
    if (payload_len && !payload)
        return lt_h5_fail(w->path, LT_EINVAL, w->rec_name, 0, err, errlen,
                          "fragment payload is NULL");
    if (payload_len > LT_H5_MAX_DATASET_BYTES - LT_FRAGMENT_HEADER_SIZE)
        return lt_h5_fail(w->path, LT_ERANGE, w->rec_name, 0, err, errlen,
                          "fragment payload of %zu bytes", payload_len);
    if (w->n_ds > LT_H5_MAX_DATASETS_PER_RECORD)
        return lt_h5_fail(w->path, LT_EFULL, w->rec_name, 0, err, errlen,
                          "too many fragments in one record");
    /* hdf5libs files a fragment under the record its header names: keep them consistent. */
    if (hdr->trigger_number != w->rec_number || hdr->sequence_number != w->rec_sequence)
        return lt_h5_fail(w->path, LT_EINVAL, w->rec_name, 0, err, errlen,
                          "fragment of record %" PRIu64 ".%u written into this record",
                          hdr->trigger_number, (unsigned)hdr->sequence_number);
    struct lt_fragment_header h = *hdr;
    h.size = LT_FRAGMENT_HEADER_SIZE + (uint64_t)payload_len;
    uint8_t hbuf[LT_FRAGMENT_HEADER_SIZE];
    int rc = lt_fragment_header_encode(&h, hbuf, sizeof hbuf);
    if (rc < 0)
        return lt_h5_fail(w->path, rc, w->rec_name, 0, err, errlen,
                          "cannot encode FragmentHeader: %s", lt_strerror(rc));
    char name[LT_H5_NAME_MAX];
    if (lt_h5_fragment_dataset_name(&h.element_id, h.fragment_type, name, sizeof name) < 0)
        return lt_h5_fail(w->path, LT_EINVAL, w->rec_name, 0, err, errlen,
                          "fragment dataset name too long");
    rc = write_bytes_dataset(w, name, hbuf, sizeof hbuf, payload, payload_len, err, errlen);
    if (rc < 0) return rc;
    if ((rc = remember(w, &h.element_id, h.fragment_type, h.detector_id)) < 0)
        return lt_h5_fail(w->path, rc, w->rec_name, 0, err, errlen, "out of memory");
    return 0;
}

/* The record-level attributes hdf5libs (layout >= 3) reads to find datasets by SourceID. */
static int write_record_attrs(struct lt_h5w *w, char *err, size_t errlen)
{
    const struct lt_source_id *hdr = NULL;
    struct lt_h5_fragment_ref *refs = w->n_ds ? calloc(w->n_ds, sizeof *refs) : NULL;
    size_t n = 0;
    if (w->n_ds && !refs)
        return lt_h5_fail(w->path, LT_ENOMEM, w->rec_name, 0, err, errlen, "out of memory");
    for (size_t i = 0; i < w->n_ds; i++) {
        const struct written *d = &w->ds[i];
        if (d->fragment_type == UINT32_MAX)
            hdr = &d->sid;
        else
            refs[n++] = (struct lt_h5_fragment_ref){d->sid, d->fragment_type, d->detector_id};
    }
    char what[128];
    int rc = hdr ? lt_h5_write_record_attrs(w->rec_group, w->type, w->rec_name, hdr, refs, n, what,
                                            sizeof what)
                 : LT_EINVAL;
    if (!hdr) snprintf(what, sizeof what, "record without header");
    free(refs);
    return rc < 0 ? lt_h5_fail(w->path, rc, w->rec_name, rc == LT_EIO, err, errlen, "%s", what) : 0;
}

int lt_h5w_end_record(struct lt_h5w *w, char *err, size_t errlen)
{
    if (!w->rec_open) return lt_h5_fail(w->path, LT_EINVAL, "/", 0, err, errlen, "no record open");
    int rc = write_record_attrs(w, err, errlen);
    /* hdf5libs flushes after every dataset; once per record keeps the file consistent on disk at
     * record boundaries for a fraction of the metadata writes. */
    if (rc == 0 && H5Fflush(w->file, H5F_SCOPE_LOCAL) < 0)
        rc = lt_h5_fail(w->path, LT_EIO, w->rec_name, 1, err, errlen, "flush failed");
    close_record_handles(w);
    if (rc == 0) w->records++;
    return rc;
}

int lt_h5w_write_timeslice(struct lt_h5w *w, const struct lt_timeslice_header *tsh,
                           const struct lt_h5_fragment_in *frags, size_t n_frags, char *err,
                           size_t errlen)
{
    int rc = lt_h5w_begin_timeslice(w, tsh, err, errlen);
    for (size_t i = 0; rc == 0 && i < n_frags; i++)
        rc = lt_h5w_add_fragment(w, frags[i].hdr, frags[i].payload, frags[i].payload_len, err,
                                 errlen);
    if (rc == 0) return lt_h5w_end_record(w, err, errlen);
    close_record_handles(w);
    return rc;
}

int lt_h5w_write_trigger_record(struct lt_h5w *w, const struct lt_trigger_record_header *trh,
                                const struct lt_component_request *requests, size_t n_requests,
                                const struct lt_h5_fragment_in *frags, size_t n_frags, char *err,
                                size_t errlen)
{
    int rc = lt_h5w_begin_trigger_record(w, trh, requests, n_requests, err, errlen);
    for (size_t i = 0; rc == 0 && i < n_frags; i++)
        rc = lt_h5w_add_fragment(w, frags[i].hdr, frags[i].payload, frags[i].payload_len, err,
                                 errlen);
    if (rc == 0) return lt_h5w_end_record(w, err, errlen);
    close_record_handles(w);
    return rc;
}

int lt_h5w_append_truth(struct lt_h5w *w, const struct lt_truth *rows, size_t n, char *err,
                        size_t errlen)
{
    char what[160];
    int rc = lt_h5_truth_append(w->file, &w->truth, rows, n, what, sizeof what);
    return rc < 0 ? lt_h5_fail(w->path, rc, "/" LT_H5_TRUTH_GROUP, rc == LT_EIO, err, errlen, "%s",
                               what)
                  : 0;
}
