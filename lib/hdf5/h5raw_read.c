/* Reader of DUNE-DAQ hdf5libs raw-data files (TimeSlice run files and TriggerRecord files).
 * Everything read from the file is treated as untrusted: attributes are checked for type and
 * length, datasets for type, shape, size bound and for lying inside the file (a truncated file
 * otherwise reads as zeros or fails deep in HDF5), fragment headers are decoded and their size
 * compared with the dataset. Errors name the file and the object. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chmap.h"
#include "h5raw.h"
#include "wibeth.h"
#include "h5raw_internal.h"
#include "lt_error.h"

#define MAX_RECORDS (1U << 22) /* ~4 M records: far above any rollover limit we configure */

struct lt_h5r {
    hid_t file;
    char path[PATH_MAX];
    uint64_t file_size; /* bytes on disk at open */
    struct lt_h5_file_attrs attrs;
    struct lt_h5_geoid_entry *geo; /* attrs.geoids */
    struct lt_h5_record_id *records;
    size_t n_records, cap_records;
};

const char *lt_h5r_path(const struct lt_h5r *r)
{
    return r->path;
}
const struct lt_h5_file_attrs *lt_h5r_attrs(const struct lt_h5r *r)
{
    return &r->attrs;
}
size_t lt_h5r_record_count(const struct lt_h5r *r)
{
    return r->n_records;
}

const struct lt_h5_record_id *lt_h5r_record(const struct lt_h5r *r, size_t index)
{
    return index < r->n_records ? &r->records[index] : NULL;
}

int lt_h5r_find_record(const struct lt_h5r *r, uint64_t number, uint16_t sequence, size_t *index)
{
    size_t lo = 0, hi = r->n_records;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct lt_h5_record_id *m = &r->records[mid];
        if (m->number == number && m->sequence == sequence) {
            *index = mid;
            return 0;
        }
        if (m->number < number || (m->number == number && m->sequence < sequence))
            lo = mid + 1;
        else
            hi = mid;
    }
    return LT_ENOTFOUND;
}

static const char *attr_problem(int rc)
{
    return rc == LT_ENOTFOUND ? "missing"
           : rc == LT_EFORMAT ? "has the wrong type or size"
                              : "cannot be read";
}

/* Optional string attribute: absent leaves "", anything else wrong is an error. */
static int read_opt_str(struct lt_h5r *r, const char *name, char *buf, size_t len, char *err,
                        size_t errlen)
{
    int rc = lt_h5_attr_read_str(r->file, name, buf, len);
    if (rc == LT_ENOTFOUND) return 0;
    if (rc < 0)
        return lt_h5_fail(r->path, rc == LT_EIO ? LT_EIO : LT_EFORMAT, "/", rc == LT_EIO, err,
                          errlen, "attribute %s %s", name, attr_problem(rc));
    return 0;
}

/* Optional number; ms = 1 for the timestamps, which hdf5libs stores as decimal strings. */
static int read_opt_num(struct lt_h5r *r, const char *name, int ms, uint64_t *v, int *present,
                        char *err, size_t errlen)
{
    *v = 0;
    int rc = ms ? lt_h5_attr_read_ms(r->file, name, v) : lt_h5_attr_read_uint(r->file, name, v);
    if (present) *present = rc == 0;
    if (rc == LT_ENOTFOUND) return 0;
    if (rc < 0)
        return lt_h5_fail(r->path, rc == LT_EIO ? LT_EIO : LT_EFORMAT, "/", rc == LT_EIO, err,
                          errlen, "attribute %s %s", name, attr_problem(rc));
    return 0;
}

/* filelayout_params must describe the layout we read: same record prefix, RawData group. */
static int check_layout_params(struct lt_h5r *r, const char *text, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return lt_h5_fail(r->path, LT_EFORMAT, "/", 0, err, errlen,
                          "attribute filelayout_params is not a JSON object (%s at column %d)",
                          je.text, je.column);
    }
    const char *prefix = json_string_value(json_object_get(root, "record_name_prefix"));
    const char *raw = json_string_value(json_object_get(root, "raw_data_group_name"));
    const char *hdr = json_string_value(json_object_get(root, "record_header_dataset_name"));
    const char *want = lt_h5_record_prefix(r->attrs.record_type);
    int rc = 0;
    if (!prefix || strcmp(prefix, want) != 0)
        rc = lt_h5_fail(
            r->path, LT_EFORMAT, "/", 0, err, errlen,
            "filelayout_params record_name_prefix \"%s\" disagrees with record_type \"%s\"",
            prefix ? prefix : "(missing)", want);
    else if (!raw || strcmp(raw, LT_H5_RAW_DATA_GROUP) != 0)
        rc = lt_h5_fail(r->path, LT_EUNSUPPORTED, "/", 0, err, errlen,
                        "filelayout_params raw_data_group_name \"%s\" (only \"" LT_H5_RAW_DATA_GROUP
                        "\" is supported)",
                        raw ? raw : "(missing)");
    else if (!hdr || strcmp(hdr, lt_h5_record_header_name(r->attrs.record_type)) != 0)
        rc = lt_h5_fail(r->path, LT_EUNSUPPORTED, "/", 0, err, errlen,
                        "filelayout_params record_header_dataset_name \"%s\" (expected \"%s\")",
                        hdr ? hdr : "(missing)", lt_h5_record_header_name(r->attrs.record_type));
    json_decref(root);
    return rc;
}

/* GeoID map order: by SourceID, so the entries of one SourceID are one run. */
static int cmp_geo(const void *a, const void *b)
{
    const struct lt_h5_geoid_entry *x = a, *y = b;
    if (x->source_id.subsystem != y->source_id.subsystem)
        return x->source_id.subsystem < y->source_id.subsystem ? -1 : 1;
    return x->source_id.id < y->source_id.id ? -1 : x->source_id.id > y->source_id.id;
}

/* source_id_geo_id_map (HDF5SourceIDHandler JSON) into r->geo, sorted by SourceID (the order
 * of one SourceID's GeoIDs is not kept: nothing depends on it). Absent: no entries. */
static int read_geo_map(struct lt_h5r *r, char *err, size_t errlen)
{
    char *text = NULL;
    int rc = lt_h5_attr_read_str_alloc(r->file, "source_id_geo_id_map", LT_H5_GEOMAP_MAX, &text);
    if (rc == LT_ENOTFOUND) return 0;
    if (rc < 0)
        return lt_h5_fail(r->path, rc == LT_EIO ? LT_EIO : LT_EFORMAT, "/", rc == LT_EIO, err,
                          errlen, "attribute source_id_geo_id_map %s", attr_problem(rc));
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    free(text);
    json_t *entries = json_object_get(root, "map_entries");
    size_t n = 0, i, k;
    json_t *e, *g;
    json_array_foreach(entries, i, e) n += json_array_size(json_object_get(e, "geoids"));
    if (!root || (entries && !json_is_array(entries))) {
        json_decref(root);
        return lt_h5_fail(r->path, LT_EFORMAT, "/", 0, err, errlen,
                          "attribute source_id_geo_id_map is not {\"map_entries\":[...]}");
    }
    if (n && !(r->geo = calloc(n, sizeof *r->geo))) {
        json_decref(root);
        return LT_ENOMEM;
    }
    n = 0;
    json_array_foreach(entries, i, e)
    {
        json_t *subsys = json_object_get(e, "subsys"), *id = json_object_get(e, "id");
        if (!json_is_integer(subsys) || !json_is_integer(id)) {
            json_decref(root);
            return lt_h5_fail(r->path, LT_EFORMAT, "/", 0, err, errlen,
                              "source_id_geo_id_map entry %zu lacks an integer subsys/id", i);
        }
        json_array_foreach(json_object_get(e, "geoids"), k, g)
        {
            r->geo[n].source_id =
                (struct lt_source_id){LT_SOURCE_ID_VERSION, (uint16_t)json_integer_value(subsys),
                                      (uint32_t)json_integer_value(id)};
            /* nlohmann writes uint64 GeoIDs; jansson reads them as signed 64-bit. */
            r->geo[n++].geoid = (uint64_t)json_integer_value(g);
        }
    }
    json_decref(root);
    if (n) qsort(r->geo, n, sizeof *r->geo, cmp_geo);
    r->attrs.geoids = r->geo;
    r->attrs.n_geoids = n;
    return 0;
}

static int read_attrs(struct lt_h5r *r, char *err, size_t errlen)
{
    struct lt_h5_file_attrs *a = &r->attrs;
    char type[64];
    int rc = lt_h5_attr_read_str(r->file, "record_type", type, sizeof type);
    if (rc < 0)
        return lt_h5_fail(r->path, rc == LT_EIO ? LT_EIO : LT_EFORMAT, "/", rc == LT_EIO, err,
                          errlen, "attribute record_type %s (not a DUNE raw-data file?)",
                          attr_problem(rc));
    if (!strcmp(type, "TriggerRecord"))
        a->record_type = LT_H5_TRIGGER_RECORD;
    else if (!strcmp(type, "TimeSlice"))
        a->record_type = LT_H5_TIMESLICE;
    else
        return lt_h5_fail(r->path, LT_EFORMAT, "/", 0, err, errlen,
                          "record_type \"%s\" is neither \"TriggerRecord\" nor \"TimeSlice\"",
                          type);

    uint64_t v;
    rc = lt_h5_attr_read_uint(r->file, "filelayout_version", &v);
    if (rc < 0)
        return lt_h5_fail(r->path, LT_EFORMAT, "/", rc == LT_EIO, err, errlen,
                          "attribute filelayout_version %s", attr_problem(rc));
    if (v < 3 || v > 1000)
        return lt_h5_fail(r->path, LT_EVERSION, "/", 0, err, errlen,
                          "filelayout_version %" PRIu64 " not supported (need >= 3)", v);
    a->filelayout_version = (uint32_t)v;

    char *params = malloc(LT_H5_STR_MAX);
    if (!params) return LT_ENOMEM;
    rc = lt_h5_attr_read_str(r->file, "filelayout_params", params, LT_H5_STR_MAX);
    if (rc < 0)
        rc = lt_h5_fail(r->path, LT_EFORMAT, "/", rc == LT_EIO, err, errlen,
                        "attribute filelayout_params %s", attr_problem(rc));
    else
        rc = check_layout_params(r, params, err, errlen);
    free(params);
    if (rc < 0) return rc;

    rc = lt_h5_attr_read_uint(r->file, "run_number", &v);
    if (rc < 0)
        return lt_h5_fail(r->path, LT_EFORMAT, "/", rc == LT_EIO, err, errlen,
                          "attribute run_number %s", attr_problem(rc));
    if (v > UINT32_MAX)
        return lt_h5_fail(r->path, LT_ERANGE, "/", 0, err, errlen,
                          "run_number %" PRIu64 " out of range", v);
    a->run_number = (uint32_t)v;

    char test[16] = "";
    int closed_a, closed_b;
    if ((rc = read_opt_num(r, "file_index", 0, &a->file_index, NULL, err, errlen)) < 0 ||
        (rc = read_opt_num(r, "creation_timestamp", 1, &a->creation_timestamp, NULL, err, errlen)) <
            0 ||
        (rc = read_opt_num(r, "recorded_size", 0, &a->recorded_size, &closed_a, err, errlen)) < 0 ||
        (rc = read_opt_num(r, "closing_timestamp", 1, &a->closing_timestamp, &closed_b, err,
                           errlen)) < 0 ||
        (rc = read_opt_str(r, "application_name", a->application_name, sizeof a->application_name,
                           err, errlen)) < 0 ||
        (rc = read_opt_str(r, "operational_environment", a->operational_environment,
                           sizeof a->operational_environment, err, errlen)) < 0 ||
        (rc = read_opt_str(r, "offline_data_stream", a->offline_data_stream,
                           sizeof a->offline_data_stream, err, errlen)) < 0 ||
        (rc = read_opt_str(r, "run_was_for_test_purposes", test, sizeof test, err, errlen)) < 0)
        return rc;
    a->has_recorded_size = closed_a && closed_b;
    a->run_was_for_test_purposes = !strcmp(test, "true");
    return read_geo_map(r, err, errlen);
}

struct list_ctx {
    struct lt_h5r *r;
    int rc;
};

static herr_t collect_record(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    struct list_ctx *c = data;
    struct lt_h5r *r = c->r;
    (void)group;
    (void)info;
    uint64_t number;
    uint16_t seq;
    /* Anything else at the top level (our /Truth, DUNE's future additions) is not a record. */
    if (lt_h5_parse_record_name(r->attrs.record_type, name, &number, &seq) != 0) return 0;
    if (strlen(name) >= LT_H5_NAME_MAX) return 0;
    if (r->n_records == r->cap_records) {
        if (r->cap_records >= MAX_RECORDS) {
            c->rc = LT_EFULL;
            return 1;
        }
        size_t cap = r->cap_records ? r->cap_records * 2 : 256;
        struct lt_h5_record_id *n = realloc(r->records, cap * sizeof *n);
        if (!n) {
            c->rc = LT_ENOMEM;
            return 1;
        }
        r->records = n;
        r->cap_records = cap;
    }
    struct lt_h5_record_id *rec = &r->records[r->n_records++];
    rec->number = number;
    rec->sequence = seq;
    snprintf(rec->name, sizeof rec->name, "%s", name);
    return 0;
}

static int cmp_record(const void *a, const void *b)
{
    const struct lt_h5_record_id *x = a, *y = b;
    if (x->number != y->number) return x->number < y->number ? -1 : 1;
    return (x->sequence > y->sequence) - (x->sequence < y->sequence);
}

static int list_records(struct lt_h5r *r, char *err, size_t errlen)
{
    struct list_ctx c = {r, 0};
    hsize_t idx = 0;
    herr_t h = H5Literate(r->file, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_record, &c);
    if (c.rc == LT_EFULL)
        return lt_h5_fail(r->path, LT_EFULL, "/", 0, err, errlen, "more than %u records",
                          MAX_RECORDS);
    if (c.rc < 0)
        return lt_h5_fail(r->path, c.rc, "/", 0, err, errlen, "out of memory listing records");
    if (h < 0)
        return lt_h5_fail(r->path, LT_EIO, "/", 1, err, errlen, "cannot list the top-level group");
    /* Name order is not number order once numbers outgrow 6 digits. */
    if (r->n_records) qsort(r->records, r->n_records, sizeof *r->records, cmp_record);
    return 0;
}

int lt_h5r_open(struct lt_h5r **out, const char *path, char *err, size_t errlen)
{
    lt_h5_quiet();
    *out = NULL;
    struct lt_h5r *r = calloc(1, sizeof *r);
    if (!r) return LT_ENOMEM;
    r->file = -1;
    snprintf(r->path, sizeof r->path, "%s", path ? path : "(null)");
    int rc = 0;
    struct stat st;
    if (!path || stat(path, &st) < 0) {
        rc = lt_h5_fail(r->path, LT_EIO, "/", 0, err, errlen, "cannot open: %s",
                        path ? strerror(errno) : "no path");
        goto bad;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = lt_h5_fail(r->path, LT_EINVAL, "/", 0, err, errlen, "not a regular file");
        goto bad;
    }
    r->file_size = (uint64_t)st.st_size;
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0) {
        rc = lt_h5_fail(r->path, LT_EFORMAT, "/", is < 0, err, errlen,
                        "not an HDF5 file (no HDF5 superblock signature; %" PRIu64 " bytes)",
                        r->file_size);
        goto bad;
    }
    r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (r->file < 0) {
        rc = lt_h5_fail(r->path, LT_EFORMAT, "/", 1, err, errlen,
                        "HDF5 cannot open it (truncated or corrupt)");
        goto bad;
    }
    if ((rc = read_attrs(r, err, errlen)) < 0 || (rc = list_records(r, err, errlen)) < 0) goto bad;
    *out = r;
    return 0;
bad:
    lt_h5r_close(r);
    return rc;
}

void lt_h5r_close(struct lt_h5r *r)
{
    if (!r) return;
    if (r->file >= 0) H5Fclose(r->file);
    free(r->records);
    free(r->geo);
    free(r);
}

/* Open "/<record>/RawData/<dataset>" after checking each step exists, so a missing group or
 * dataset is reported as exactly that. Validates type, shape, size bound and placement. */
static hid_t open_raw(struct lt_h5r *r, size_t record, const char *dataset, uint64_t *size,
                      char *object, size_t objlen, int *rc, char *err, size_t errlen)
{
    *rc = 0;
    snprintf(object, objlen, "/");
    if (record >= r->n_records) {
        *rc = lt_h5_fail(r->path, LT_ENOTFOUND, "/", 0, err, errlen,
                         "no record index %zu (file has %zu)", record, r->n_records);
        return -1;
    }
    const char *rec = r->records[record].name;
    if (!dataset || !*dataset || strchr(dataset, '/') || strlen(dataset) >= LT_H5_NAME_MAX) {
        snprintf(object, objlen, "/%s/%s", rec, LT_H5_RAW_DATA_GROUP);
        *rc = lt_h5_fail(r->path, LT_EINVAL, object, 0, err, errlen, "bad dataset name");
        return -1;
    }
    char group[LT_H5_NAME_MAX + 16];
    snprintf(group, sizeof group, "/%s/%s", rec, LT_H5_RAW_DATA_GROUP);
    lt_h5_dataset_path(rec, dataset, object, objlen);
    htri_t ex = H5Lexists(r->file, group, H5P_DEFAULT);
    if (ex <= 0) {
        *rc = lt_h5_fail(r->path, ex < 0 ? LT_EIO : LT_EFORMAT, group, ex < 0, err, errlen,
                         ex < 0 ? "cannot look up group" : "group missing");
        return -1;
    }
    ex = H5Lexists(r->file, object, H5P_DEFAULT);
    if (ex <= 0) {
        *rc = lt_h5_fail(r->path, ex < 0 ? LT_EIO : LT_ENOTFOUND, object, ex < 0, err, errlen,
                         ex < 0 ? "cannot look up dataset" : "dataset missing");
        return -1;
    }
    hid_t ds = H5Dopen2(r->file, object, H5P_DEFAULT);
    if (ds < 0) {
        *rc = lt_h5_fail(r->path, LT_EFORMAT, object, 1, err, errlen, "cannot open dataset");
        return -1;
    }
    hid_t type = H5Dget_type(ds), space = H5Dget_space(ds), dcpl = H5Dget_create_plist(ds);
    hsize_t dims[2] = {0, 0};
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (type < 0 || space < 0 || dcpl < 0 || rank < 0) {
        *rc =
            lt_h5_fail(r->path, LT_EFORMAT, object, 1, err, errlen, "cannot read dataset metadata");
        goto out;
    }
    if (H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1) {
        *rc = lt_h5_fail(r->path, LT_EFORMAT, object, 0, err, errlen, "not a byte dataset");
        goto out;
    }
    if (rank < 1 || rank > 2 || H5Sget_simple_extent_dims(space, dims, NULL) < 0 ||
        (rank == 2 && dims[1] != 1)) {
        *rc = lt_h5_fail(r->path, LT_EFORMAT, object, 0, err, errlen,
                         "shape is not {size, 1} (rank %d, %llu x %llu)", rank,
                         (unsigned long long)dims[0], (unsigned long long)dims[1]);
        goto out;
    }
    *size = dims[0];
    if (*size > LT_H5_MAX_DATASET_BYTES) {
        *rc = lt_h5_fail(r->path, LT_ERANGE, object, 0, err, errlen,
                         "dataset of %" PRIu64 " bytes exceeds the %llu-byte limit", *size,
                         (unsigned long long)LT_H5_MAX_DATASET_BYTES);
        goto out;
    }
    /* A truncated file still opens when its superblock and this object's header survived; the
     * data itself would then read as fill values or fail deep inside HDF5. Catch it here. */
    if (H5Pget_layout(dcpl) == H5D_CONTIGUOUS && *size > 0) {
        haddr_t off = H5Dget_offset(ds);
        if (off == HADDR_UNDEF) {
            *rc = lt_h5_fail(r->path, LT_EFORMAT, object, 0, err, errlen,
                             "dataset has no data written");
        } else if (off + *size > r->file_size) {
            *rc =
                lt_h5_fail(r->path, LT_EFORMAT, object, 0, err, errlen,
                           "data at offset %llu + %" PRIu64 " bytes lies past the end of the file "
                           "(%" PRIu64 " bytes): file truncated",
                           (unsigned long long)off, *size, r->file_size);
        }
    } else if (*size > 0 && H5Dget_storage_size(ds) == 0) {
        *rc =
            lt_h5_fail(r->path, LT_EFORMAT, object, 0, err, errlen, "dataset has no data written");
    }
out:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    if (*rc < 0) {
        H5Dclose(ds);
        return -1;
    }
    return ds;
}

/* Read all bytes of an opened byte dataset without value conversion (its own native type). */
static int read_all(struct lt_h5r *r, hid_t ds, const char *object, void *buf, char *err,
                    size_t errlen)
{
    hid_t ftype = H5Dget_type(ds);
    hid_t mtype = ftype >= 0 ? H5Tget_native_type(ftype, H5T_DIR_ASCEND) : -1;
    int rc = 0;
    if (mtype < 0 || H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = lt_h5_fail(r->path, LT_EIO, object, 1, err, errlen, "read failed");
    if (mtype >= 0) H5Tclose(mtype);
    if (ftype >= 0) H5Tclose(ftype);
    return rc;
}

int lt_h5r_dataset_size(struct lt_h5r *r, size_t record, const char *dataset, uint64_t *size,
                        char *err, size_t errlen)
{
    char obj[LT_H5_NAME_MAX * 2 + 16];
    int rc;
    hid_t ds = open_raw(r, record, dataset, size, obj, sizeof obj, &rc, err, errlen);
    if (ds < 0) return rc;
    H5Dclose(ds);
    return 0;
}

int lt_h5r_dataset_location(struct lt_h5r *r, size_t record, const char *dataset, uint64_t *offset,
                            uint64_t *size, char *err, size_t errlen)
{
    char obj[LT_H5_NAME_MAX * 2 + 16];
    int rc;
    hid_t ds = open_raw(r, record, dataset, size, obj, sizeof obj, &rc, err, errlen);
    if (ds < 0) return rc;
    hid_t dcpl = H5Dget_create_plist(ds);
    haddr_t off =
        dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CONTIGUOUS ? H5Dget_offset(ds) : HADDR_UNDEF;
    if (dcpl >= 0) H5Pclose(dcpl);
    H5Dclose(ds);
    if (*size == 0) {
        *offset = 0;
        return 0;
    }
    if (off == HADDR_UNDEF)
        return lt_h5_fail(r->path, LT_EUNSUPPORTED, obj, 0, err, errlen,
                          "not stored contiguously (chunked or compressed): no raw file offset");
    /* H5Dget_offset counts from the HDF5 base address, which a user block moves. */
    hsize_t ublock = 0;
    hid_t fcpl = H5Fget_create_plist(r->file);
    if (fcpl >= 0) {
        H5Pget_userblock(fcpl, &ublock);
        H5Pclose(fcpl);
    }
    *offset = (uint64_t)off + (uint64_t)ublock;
    if (*offset + *size > r->file_size)
        return lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                          "data at offset %" PRIu64 " + %" PRIu64 " bytes lies past the end of the "
                          "file (%" PRIu64 " bytes): file truncated",
                          *offset, *size, r->file_size);
    return 0;
}

int lt_h5r_read_dataset(struct lt_h5r *r, size_t record, const char *dataset, void *buf, size_t cap,
                        size_t *len, char *err, size_t errlen)
{
    char obj[LT_H5_NAME_MAX * 2 + 16];
    int rc;
    uint64_t size;
    hid_t ds = open_raw(r, record, dataset, &size, obj, sizeof obj, &rc, err, errlen);
    if (ds < 0) return rc;
    *len = (size_t)size;
    if (size > cap)
        rc = lt_h5_fail(r->path, LT_ESHORT, obj, 0, err, errlen,
                        "dataset of %" PRIu64 " bytes, buffer %zu", size, cap);
    else if (size > 0)
        rc = read_all(r, ds, obj, buf, err, errlen);
    H5Dclose(ds);
    return rc;
}

/* buf holds at least the 72 header bytes; len is the dataset's size. */
static int check_fragment(struct lt_h5r *r, size_t record, const char *obj, const uint8_t *buf,
                          size_t len, struct lt_fragment_header *hdr, char *err, size_t errlen)
{
    char why[256] = "";
    int rc = lt_fragment_header_decode(buf, LT_FRAGMENT_HEADER_SIZE, hdr, why, sizeof why);
    if (rc < 0)
        return lt_h5_fail(r->path, rc, obj, 0, err, errlen, "bad FragmentHeader: %s",
                          *why ? why : lt_strerror(rc));
    if (hdr->size != len)
        return lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                          "FragmentHeader size %" PRIu64 " disagrees with dataset size %zu",
                          hdr->size, len);
    const struct lt_h5_record_id *rec = &r->records[record];
    if (hdr->trigger_number != rec->number ||
        (r->attrs.record_type == LT_H5_TRIGGER_RECORD && hdr->sequence_number != rec->sequence))
        return lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                          "fragment belongs to record %" PRIu64 ".%u, not this one",
                          hdr->trigger_number, (unsigned)hdr->sequence_number);
    return 0;
}

int lt_h5r_read_range(struct lt_h5r *r, size_t record, const char *dataset, uint64_t offset,
                      void *buf, size_t len, char *err, size_t errlen)
{
    char obj[LT_H5_NAME_MAX * 2 + 16];
    int rc;
    uint64_t size;
    hid_t ds = open_raw(r, record, dataset, &size, obj, sizeof obj, &rc, err, errlen);
    if (ds < 0) return rc;
    if (offset > size || len > size - offset) {
        rc = lt_h5_fail(r->path, LT_ERANGE, obj, 0, err, errlen,
                        "bytes %" PRIu64 "..%" PRIu64 " requested, dataset has %" PRIu64, offset,
                        offset + len, size);
    } else if (len > 0) {
        hsize_t off[2] = {offset, 0}, cnt[2] = {len, 1};
        hid_t fspace = H5Dget_space(ds), ftype = H5Dget_type(ds);
        hid_t mtype = ftype >= 0 ? H5Tget_native_type(ftype, H5T_DIR_ASCEND) : -1;
        int rank = fspace >= 0 ? H5Sget_simple_extent_ndims(fspace) : -1;
        hid_t mspace = rank > 0 ? H5Screate_simple(rank, cnt, NULL) : -1;
        if (mspace < 0 || mtype < 0 ||
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0 ||
            H5Dread(ds, mtype, mspace, fspace, H5P_DEFAULT, buf) < 0)
            rc = lt_h5_fail(r->path, LT_EIO, obj, 1, err, errlen,
                            "cannot read bytes %" PRIu64 "..%" PRIu64, offset, offset + len);
        if (mspace >= 0) H5Sclose(mspace);
        if (mtype >= 0) H5Tclose(mtype);
        if (ftype >= 0) H5Tclose(ftype);
        if (fspace >= 0) H5Sclose(fspace);
    }
    H5Dclose(ds);
    return rc;
}

int lt_h5r_read_fragment_header(struct lt_h5r *r, size_t record, const char *dataset,
                                struct lt_fragment_header *hdr, char *err, size_t errlen)
{
    uint64_t size;
    int rc = lt_h5r_dataset_size(r, record, dataset, &size, err, errlen);
    if (rc < 0) return rc;
    char obj[LT_H5_NAME_MAX * 2 + 16];
    lt_h5_dataset_path(r->records[record].name, dataset, obj, sizeof obj);
    if (size < LT_FRAGMENT_HEADER_SIZE)
        return lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                          "%" PRIu64 " bytes, shorter than a FragmentHeader", size);
    uint8_t buf[LT_FRAGMENT_HEADER_SIZE];
    if ((rc = lt_h5r_read_range(r, record, dataset, 0, buf, sizeof buf, err, errlen)) < 0)
        return rc;
    return check_fragment(r, record, obj, buf, (size_t)size, hdr, err, errlen);
}

int lt_h5r_read_fragment(struct lt_h5r *r, size_t record, const char *dataset,
                         struct lt_fragment_header *hdr, void *buf, size_t cap, size_t *payload_len,
                         char *err, size_t errlen)
{
    char obj[LT_H5_NAME_MAX * 2 + 16];
    int rc;
    uint64_t size;
    hid_t ds = open_raw(r, record, dataset, &size, obj, sizeof obj, &rc, err, errlen);
    if (ds < 0) return rc;
    if (size < LT_FRAGMENT_HEADER_SIZE)
        rc = lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                        "%" PRIu64 " bytes, shorter than a FragmentHeader", size);
    else if (size > cap)
        rc = lt_h5_fail(r->path, LT_ESHORT, obj, 0, err, errlen,
                        "fragment of %" PRIu64 " bytes, buffer %zu", size, cap);
    else if ((rc = read_all(r, ds, obj, buf, err, errlen)) == 0 &&
             (rc = check_fragment(r, record, obj, buf, (size_t)size, hdr, err, errlen)) == 0)
        *payload_len = (size_t)size - LT_FRAGMENT_HEADER_SIZE;
    H5Dclose(ds);
    return rc;
}

int lt_h5r_read_fragment_alloc(struct lt_h5r *r, size_t record, const char *dataset,
                               struct lt_fragment_header *hdr, uint8_t **buf, size_t *payload_len,
                               size_t max_bytes, char *err, size_t errlen)
{
    *buf = NULL;
    if (!max_bytes || max_bytes > LT_H5_MAX_DATASET_BYTES) max_bytes = LT_H5_MAX_DATASET_BYTES;
    uint64_t size;
    int rc = lt_h5r_dataset_size(r, record, dataset, &size, err, errlen);
    if (rc < 0) return rc;
    if (size > max_bytes) {
        char obj[LT_H5_NAME_MAX * 2 + 16];
        lt_h5_dataset_path(r->records[record].name, dataset, obj, sizeof obj);
        return lt_h5_fail(r->path, LT_ERANGE, obj, 0, err, errlen,
                          "fragment of %" PRIu64 " bytes exceeds the %zu-byte limit", size,
                          max_bytes);
    }
    uint8_t *b = malloc(size ? (size_t)size : 1);
    if (!b) return LT_ENOMEM;
    rc = lt_h5r_read_fragment(r, record, dataset, hdr, b, (size_t)size, payload_len, err, errlen);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *buf = b;
    return 0;
}

struct ds_ctx {
    struct lt_h5r *r;
    size_t record;
    struct lt_h5_dataset_info *v;
    size_t n, cap;
    int rc;
    char *err;
    size_t errlen;
};

static herr_t collect_dataset(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    struct ds_ctx *c = data;
    (void)group;
    (void)info;
    if (c->n == c->cap) {
        if (c->cap >= LT_H5_MAX_DATASETS_PER_RECORD) {
            c->rc = lt_h5_fail(c->r->path, LT_EFULL, c->r->records[c->record].name, 0, c->err,
                               c->errlen, "more than %u datasets in one record",
                               LT_H5_MAX_DATASETS_PER_RECORD);
            return 1;
        }
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct lt_h5_dataset_info *v = realloc(c->v, cap * sizeof *v);
        if (!v) {
            c->rc = LT_ENOMEM;
            return 1;
        }
        c->v = v;
        c->cap = cap;
    }
    struct lt_h5_dataset_info *d = &c->v[c->n];
    memset(d, 0, sizeof *d);
    char obj[LT_H5_NAME_MAX * 2 + 16];
    lt_h5_dataset_path(c->r->records[c->record].name, name, obj, sizeof obj);
    if (strlen(name) >= sizeof d->name) {
        c->rc =
            lt_h5_fail(c->r->path, LT_EFORMAT, obj, 0, c->err, c->errlen, "dataset name too long");
        return 1;
    }
    snprintf(d->name, sizeof d->name, "%s", name);
    const char *suffix;
    if (lt_h5_parse_dataset_name(name, &d->source_id, &suffix) != 0) {
        c->rc = lt_h5_fail(c->r->path, LT_EFORMAT, obj, 0, c->err, c->errlen,
                           "name is not <Subsystem>_0x<id>_<type>");
        return 1;
    }
    if (!strcmp(suffix, lt_h5_record_header_name(c->r->attrs.record_type))) {
        d->kind = LT_H5_DS_RECORD_HEADER;
    } else if (lt_h5_fragment_type_from_name(suffix, &d->fragment_type) == 0) {
        d->kind = LT_H5_DS_FRAGMENT;
    } else {
        c->rc = lt_h5_fail(c->r->path, LT_EFORMAT, obj, 0, c->err, c->errlen,
                           "unknown fragment type \"%s\"", suffix);
        return 1;
    }
    int rc = lt_h5r_dataset_size(c->r, c->record, name, &d->size, c->err, c->errlen);
    if (rc < 0) {
        c->rc = rc;
        return 1;
    }
    c->n++;
    return 0;
}

static int cmp_dataset(const void *a, const void *b)
{
    const struct lt_h5_dataset_info *x = a, *y = b;
    if (x->kind != y->kind) return x->kind == LT_H5_DS_RECORD_HEADER ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct lt_h5_dataset_info *)a)->name,
                  ((const struct lt_h5_dataset_info *)b)->name);
}

/* hdf5libs readers (layout >= 3) find datasets through the record's source_id_path_map
 * attribute, not by listing: every path it names must exist, or DUNE's tools would fail on the
 * record. v is sorted by name here. A record without the attribute is accepted (older writers). */
static int check_path_map(struct lt_h5r *r, size_t record, const struct lt_h5_dataset_info *v,
                          size_t n, char *err, size_t errlen)
{
    const char *rec = r->records[record].name;
    char obj[LT_H5_NAME_MAX + 2];
    snprintf(obj, sizeof obj, "/%s", rec);
    hid_t g = H5Gopen2(r->file, obj, H5P_DEFAULT);
    if (g < 0) return lt_h5_fail(r->path, LT_EFORMAT, obj, 1, err, errlen, "cannot open group");
    char *text = NULL;
    int rc = lt_h5_attr_read_str_alloc(g, "source_id_path_map",
                                       (size_t)LT_H5_MAX_DATASETS_PER_RECORD * 512, &text);
    H5Gclose(g);
    if (rc == LT_ENOTFOUND) return 0;
    if (rc < 0)
        return lt_h5_fail(r->path, rc == LT_EIO ? LT_EIO : LT_EFORMAT, obj, rc == LT_EIO, err,
                          errlen, "attribute source_id_path_map %s", attr_problem(rc));
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    free(text);
    json_t *entries = json_object_get(root, "map_entries");
    if (!root || (entries && !json_is_array(entries))) {
        json_decref(root);
        return lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                          "attribute source_id_path_map is not valid JSON (%s)", je.text);
    }
    char prefix[LT_H5_NAME_MAX + 16];
    int plen = snprintf(prefix, sizeof prefix, "/%s/%s/", rec, LT_H5_RAW_DATA_GROUP);
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        const char *path = json_string_value(json_object_get(e, "path"));
        if (!path) {
            rc = lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                            "source_id_path_map entry %zu has no path", i);
            break;
        }
        struct lt_h5_dataset_info key;
        if (strncmp(path, prefix, (size_t)plen) != 0 ||
            snprintf(key.name, sizeof key.name, "%s", path + plen) >= (int)sizeof key.name ||
            !bsearch(&key, v, n, sizeof *v, cmp_name)) {
            rc = lt_h5_fail(r->path, LT_EFORMAT, path, 0, err, errlen,
                            "dataset missing (listed in the record's source_id_path_map)");
            break;
        }
    }
    json_decref(root);
    return rc;
}

int lt_h5r_list_datasets(struct lt_h5r *r, size_t record, struct lt_h5_dataset_info **out,
                         size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (record >= r->n_records)
        return lt_h5_fail(r->path, LT_ENOTFOUND, "/", 0, err, errlen,
                          "no record index %zu (file has %zu)", record, r->n_records);
    char group[LT_H5_NAME_MAX + 16];
    snprintf(group, sizeof group, "/%s/%s", r->records[record].name, LT_H5_RAW_DATA_GROUP);
    htri_t ex = H5Lexists(r->file, group, H5P_DEFAULT);
    if (ex <= 0)
        return lt_h5_fail(r->path, ex < 0 ? LT_EIO : LT_EFORMAT, group, ex < 0, err, errlen,
                          ex < 0 ? "cannot look up group" : "group missing");
    hid_t g = H5Gopen2(r->file, group, H5P_DEFAULT);
    if (g < 0) return lt_h5_fail(r->path, LT_EFORMAT, group, 1, err, errlen, "cannot open group");
    struct ds_ctx c = {r, record, NULL, 0, 0, 0, err, errlen};
    hsize_t idx = 0;
    herr_t h = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_dataset, &c);
    H5Gclose(g);
    if (c.rc == 0 && h < 0)
        c.rc = lt_h5_fail(r->path, LT_EIO, group, 1, err, errlen, "cannot list group");
    if (c.rc == LT_ENOMEM) lt_seterr(err, errlen, "%s: %s: out of memory", r->path, group);
    int headers = 0;
    for (size_t i = 0; c.rc == 0 && i < c.n; i++) headers += c.v[i].kind == LT_H5_DS_RECORD_HEADER;
    if (c.rc == 0 && headers != 1)
        c.rc = lt_h5_fail(r->path, LT_EFORMAT, group, 0, err, errlen,
                          "%d record header datasets (need 1)", headers);
    if (c.rc == 0 && c.n) {
        qsort(c.v, c.n, sizeof *c.v, cmp_name);
        c.rc = check_path_map(r, record, c.v, c.n, err, errlen);
    }
    if (c.rc < 0) {
        free(c.v);
        return c.rc;
    }
    if (c.n) qsort(c.v, c.n, sizeof *c.v, cmp_dataset);
    *out = c.v;
    *n = c.n;
    return 0;
}

static int cmp_cell_stream(const void *a, const void *b)
{
    const struct lt_h5_dataset_info *x = a, *y = b;
    if (x->cell != y->cell) return x->cell < y->cell ? -1 : 1;
    return x->stream < y->stream ? -1 : x->stream > y->stream;
}

int lt_h5r_list_wibeth(struct lt_h5r *r, size_t record, uint32_t cell,
                       struct lt_h5_dataset_info **out, size_t *n, char *err, size_t errlen)
{
    int rc = lt_h5r_list_datasets(r, record, out, n, err, errlen);
    if (rc < 0) return rc;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        struct lt_h5_dataset_info d = (*out)[i];
        if (d.kind != LT_H5_DS_FRAGMENT || d.fragment_type != LT_FRAGTYPE_WIBETH ||
            d.source_id.subsystem != LT_SUBSYS_DETECTOR_READOUT)
            continue;
        struct lt_h5_stream_origin o;
        rc = lt_h5r_stream_origin(r, record, &d, &o, err, errlen);
        if (rc == LT_ENOTFOUND) continue; /* no frame, no map entry: nothing to place */
        if (rc < 0) {
            free(*out);
            *out = NULL;
            *n = 0;
            return rc;
        }
        if (cell != LT_H5_ALL_CELLS && o.cell != cell) continue;
        d.cell = o.cell;
        d.stream = o.stream;
        (*out)[k++] = d;
    }
    *n = k;
    if (k) qsort(*out, k, sizeof **out, cmp_cell_stream);
    return 0;
}

/* Find the record header dataset name of a record (the one dataset ending in the header name). */
static int find_header(struct lt_h5r *r, size_t record, char *name, size_t len, char *err,
                       size_t errlen)
{
    struct lt_h5_dataset_info *v;
    size_t n;
    int rc = lt_h5r_list_datasets(r, record, &v, &n, err, errlen);
    if (rc < 0) return rc;
    /* list_datasets sorts the single header first and insists there is exactly one. */
    snprintf(name, len, "%s", v[0].name);
    free(v);
    return 0;
}

int lt_h5r_read_trh(struct lt_h5r *r, size_t record, struct lt_trigger_record_header *trh,
                    struct lt_component_request *requests, size_t cap, size_t *n_requests,
                    char *err, size_t errlen)
{
    if (r->attrs.record_type != LT_H5_TRIGGER_RECORD)
        return lt_h5_fail(r->path, LT_EINVAL, "/", 0, err, errlen, "not a TriggerRecord file");
    char name[LT_H5_NAME_MAX], obj[LT_H5_NAME_MAX * 2 + 16];
    int rc = find_header(r, record, name, sizeof name, err, errlen);
    if (rc < 0) return rc;
    lt_h5_dataset_path(r->records[record].name, name, obj, sizeof obj);
    uint64_t size;
    hid_t ds = open_raw(r, record, name, &size, obj, sizeof obj, &rc, err, errlen);
    if (ds < 0) return rc;
    uint8_t *buf = NULL;
    char why[256] = "";
    if (size < LT_TRH_SIZE || (size - LT_TRH_SIZE) % LT_COMPONENT_REQUEST_SIZE != 0) {
        rc = lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                        "%" PRIu64 " bytes is not 64 + 32 x N (TRH + ComponentRequests)", size);
        goto out;
    }
    if (!(buf = malloc((size_t)size))) {
        rc = LT_ENOMEM;
        goto out;
    }
    if ((rc = read_all(r, ds, obj, buf, err, errlen)) < 0) goto out;
    if ((rc = lt_trh_decode(buf, LT_TRH_SIZE, trh, why, sizeof why)) < 0) {
        rc = lt_h5_fail(r->path, rc, obj, 0, err, errlen, "bad TriggerRecordHeader: %s",
                        *why ? why : lt_strerror(rc));
        goto out;
    }
    size_t n = (size_t)((size - LT_TRH_SIZE) / LT_COMPONENT_REQUEST_SIZE);
    *n_requests = n;
    if (trh->num_requested_components != n) {
        rc = lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                        "num_requested_components %" PRIu64 " but %zu ComponentRequests stored",
                        trh->num_requested_components, n);
        goto out;
    }
    if (trh->trigger_number != r->records[record].number ||
        trh->sequence_number != r->records[record].sequence) {
        rc = lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                        "header of record %" PRIu64 ".%u stored under this record",
                        trh->trigger_number, (unsigned)trh->sequence_number);
        goto out;
    }
    if (n > cap) {
        rc = lt_h5_fail(r->path, LT_ESHORT, obj, 0, err, errlen,
                        "%zu ComponentRequests, room for %zu", n, cap);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rc = lt_component_request_decode(buf + LT_TRH_SIZE + i * LT_COMPONENT_REQUEST_SIZE,
                                         LT_COMPONENT_REQUEST_SIZE, &requests[i], why, sizeof why);
        if (rc < 0) {
            rc = lt_h5_fail(r->path, rc, obj, 0, err, errlen, "bad ComponentRequest %zu: %s", i,
                            *why ? why : lt_strerror(rc));
            goto out;
        }
    }
out:
    free(buf);
    H5Dclose(ds);
    return rc;
}

int lt_h5r_read_tsh(struct lt_h5r *r, size_t record, struct lt_timeslice_header *tsh, char *err,
                    size_t errlen)
{
    if (r->attrs.record_type != LT_H5_TIMESLICE)
        return lt_h5_fail(r->path, LT_EINVAL, "/", 0, err, errlen, "not a TimeSlice file");
    char name[LT_H5_NAME_MAX], obj[LT_H5_NAME_MAX * 2 + 16];
    int rc = find_header(r, record, name, sizeof name, err, errlen);
    if (rc < 0) return rc;
    lt_h5_dataset_path(r->records[record].name, name, obj, sizeof obj);
    uint8_t buf[LT_TSH_SIZE];
    size_t len;
    if ((rc = lt_h5r_read_dataset(r, record, name, buf, sizeof buf, &len, err, errlen)) < 0)
        return rc;
    if (len != LT_TSH_SIZE)
        return lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                          "%zu bytes, a TimeSliceHeader has %u", len, LT_TSH_SIZE);
    char why[256] = "";
    if ((rc = lt_tsh_decode(buf, len, tsh, why, sizeof why)) < 0)
        return lt_h5_fail(r->path, rc, obj, 0, err, errlen, "bad TimeSliceHeader: %s",
                          *why ? why : lt_strerror(rc));
    if (tsh->timeslice_number != r->records[record].number)
        return lt_h5_fail(r->path, LT_EFORMAT, obj, 0, err, errlen,
                          "header of timeslice %" PRIu64 " stored under this record",
                          tsh->timeslice_number);
    return 0;
}

int lt_h5r_truth_count(struct lt_h5r *r, size_t *n, char *err, size_t errlen)
{
    lt_h5_quiet();
    struct lt_h5_truth_reader tr;
    char what[256];
    *n = 0;
    int rc = lt_h5_truth_open(r->file, r->file_size, &tr, what, sizeof what);
    if (rc == 1) return 0;
    if (rc < 0)
        return lt_h5_fail(r->path, rc, "/" LT_H5_TRUTH_GROUP, rc == LT_EIO, err, errlen, "%s",
                          what);
    *n = (size_t)tr.rows;
    lt_h5_truth_close(&tr);
    return 0;
}

int lt_h5r_read_truth(struct lt_h5r *r, size_t first, struct lt_truth *rows, size_t count,
                      char *err, size_t errlen)
{
    lt_h5_quiet();
    struct lt_h5_truth_reader tr;
    char what[256];
    int rc = lt_h5_truth_open(r->file, r->file_size, &tr, what, sizeof what);
    if (rc == 1)
        return lt_h5_fail(r->path, LT_ENOTFOUND, "/" LT_H5_TRUTH_GROUP, 0, err, errlen,
                          "no truth table");
    if (rc == 0) rc = lt_h5_truth_read(&tr, first, rows, count, what, sizeof what);
    lt_h5_truth_close(&tr);
    return rc < 0 ? lt_h5_fail(r->path, rc, "/" LT_H5_TRUTH_GROUP, rc == LT_EIO, err, errlen, "%s",
                               what)
                  : 0;
}

int lt_h5r_stream_origin(struct lt_h5r *r, size_t record, const struct lt_h5_dataset_info *d,
                         struct lt_h5_stream_origin *o, char *err, size_t errlen)
{
    lt_h5_quiet();
    char obj[2 * LT_H5_NAME_MAX + 16];
    lt_h5_dataset_path(record < r->n_records ? r->records[record].name : "?", d->name, obj,
                       sizeof obj);
    memset(o, 0, sizeof *o);
    /* The map's GeoIDs of this SourceID (hdf5libs allows several per SourceID). */
    /* The map's GeoIDs of this SourceID: a run of the sorted map (binary search: a full
     * detector has thousands of streams, and every fragment of every record asks). */
    size_t lo = 0, hi = r->attrs.n_geoids;
    struct lt_h5_geoid_entry key = {d->source_id, 0};
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_geo(&r->geo[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct lt_h5_geoid_entry *geo = NULL;
    size_t n_geo = 0;
    while (lo + n_geo < r->attrs.n_geoids &&
           r->geo[lo + n_geo].source_id.subsystem == d->source_id.subsystem &&
           r->geo[lo + n_geo].source_id.id == d->source_id.id)
        n_geo++;
    if (n_geo) geo = &r->geo[lo];
    if (d->size >= LT_FRAGMENT_HEADER_SIZE + sizeof(lt_wibeth_frame)) {
        /* The header fields are decoded by their one owner (wibeth.c); only the DAQEthHeader's
         * 16 bytes are read. */
        lt_wibeth_frame *fr = calloc(1, sizeof *fr);
        if (!fr) return LT_ENOMEM;
        int rc = lt_h5r_read_range(r, record, d->name, LT_FRAGMENT_HEADER_SIZE, fr->daq_header,
                                   sizeof fr->daq_header, err, errlen);
        struct lt_daqeth_header h;
        if (rc == 0) lt_daqeth_decode(fr, &h);
        free(fr);
        if (rc < 0) return rc;
        o->det_id = h.det_id;
        o->crate = h.crate;
        o->slot = h.slot;
        o->eth_stream = h.stream;
        o->from_frames = 1;
        if (h.version != LT_DAQETH_VERSION || h.det_id == 0)
            return lt_h5_fail(
                r->path, LT_EFORMAT, obj, 0, err, errlen,
                "first frame has DAQEthHeader version %u, det_id %u: not a WIBEth frame", h.version,
                h.det_id);
        int match = n_geo == 0;
        for (size_t i = 0; i < n_geo && !match; i++)
            match = geo[i].geoid == lt_h5_geoid_encode(o->det_id, o->crate, o->slot, o->eth_stream);
        if (!match)
            return lt_h5_fail(
                r->path, LT_EFORMAT, obj, 0, err, errlen,
                "frames come from det %u crate %u slot %u stream %u, but "
                "source_id_geo_id_map gives SourceID 0x%08x det %u crate %u slot %u "
                "stream %u",
                o->det_id, o->crate, o->slot, o->eth_stream, d->source_id.id,
                (unsigned)(geo->geoid & 0xFFFF), (unsigned)((geo->geoid >> 16) & 0xFFFF),
                (unsigned)((geo->geoid >> 32) & 0xFFFF), (unsigned)(geo->geoid >> 48));
    } else if (geo) {
        o->det_id = (uint16_t)(geo->geoid & 0xFFFF);
        o->crate = (uint16_t)((geo->geoid >> 16) & 0xFFFF);
        o->slot = (uint8_t)((geo->geoid >> 32) & 0xFFFF);
        o->eth_stream = (uint8_t)((geo->geoid >> 48) & 0xFFFF);
        if ((geo->geoid >> 32 & 0xFFFF) > 0xFF || geo->geoid >> 48 > 0xFF)
            return lt_h5_fail(
                r->path, LT_EUNSUPPORTED, obj, 0, err, errlen,
                "source_id_geo_id_map gives slot %u stream %u: outside a DAQEthHeader",
                (unsigned)((geo->geoid >> 32) & 0xFFFF), (unsigned)(geo->geoid >> 48));
    } else {
        return lt_h5_fail(r->path, LT_ENOTFOUND, obj, 0, err, errlen,
                          "no frames and no source_id_geo_id_map entry for SourceID 0x%08x: cannot "
                          "tell which stream it is",
                          d->source_id.id);
    }
    if (lt_chmap_stream_from_address(o->crate, o->slot, o->eth_stream, &o->cell, &o->stream) < 0)
        return lt_h5_fail(
            r->path, LT_EUNSUPPORTED, obj, 0, err, errlen,
            "crate %u slot %u stream %u is outside lartrig's map of a cell (cell = crate "
            "< %u, stream = slot * 8 + stream_id < %u with stream_id < 8)",
            o->crate, o->slot, o->eth_stream, LT_MAX_CELLS, LT_STREAMS_PER_CELL);
    return 0;
}
