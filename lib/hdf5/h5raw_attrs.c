/* The one owner of the attributes of a DUNE raw-data file: the file-level attributes written at
 * open and close, and the record-level SourceID maps. Both writers (h5raw_write.c for run files
 * and tools, recwriter_h5.c for trigd's io_uring writer) call these, so names, types and JSON can
 * only ever agree with each other.
 *
 * Types follow hdf5libs v2.8.0 (HDF5RawDataFile's constructor and destructor, the write_attribute
 * calls) and dfmodules' HDF5DataStore: run_number is a u32, file_index and recorded_size are
 * size_t (u64), filelayout_version a u32, and every other attribute, creation_timestamp and
 * closing_timestamp included, is a std::string (variable-length HDF5 string). The timestamps are
 * std::to_string of the milliseconds since the Unix epoch. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "h5raw.h"
#include "h5raw_internal.h"
#include "lt_error.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000ULL;
}

/* hdf5libs writes the timestamps as std::to_string(int64 ms): plain decimal digits. */
static int write_ms_str(hid_t obj, const char *name, uint64_t ms)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, ms);
    return lt_h5_attr_write_str(obj, name, s);
}

/* source_id_geo_id_map: {"map_entries":[{"subsys":1,"id":3,"geoids":[...]}, ...]} with one entry
 * per SourceID (entries for the same SourceID merge, as in HDF5SourceIDHandler). */
static char *geoid_map_json(const struct lt_h5_file_attrs *a)
{
    json_t *root = json_object(), *entries = json_array();
    if (!root || !entries) goto fail;
    for (size_t i = 0; i < a->n_geoids; i++) {
        const struct lt_h5_geoid_entry *g = &a->geoids[i];
        json_t *match = NULL;
        size_t j;
        json_t *e;
        json_array_foreach(entries, j, e)
        {
            if (json_integer_value(json_object_get(e, "subsys")) == g->source_id.subsystem &&
                (uint64_t)json_integer_value(json_object_get(e, "id")) == g->source_id.id)
                match = e;
        }
        if (!match) {
            match = json_pack("{s:i,s:I,s:[]}", "subsys", (int)g->source_id.subsystem, "id",
                              (json_int_t)g->source_id.id, "geoids");
            if (!match || json_array_append_new(entries, match) < 0) goto fail;
        }
        /* GeoIDs use all 64 bits only with stream >= 0x8000; jansson is signed 64-bit. */
        if (json_array_append_new(json_object_get(match, "geoids"),
                                  json_integer((json_int_t)g->geoid)) < 0)
            goto fail;
    }
    if (json_object_set_new(root, "map_entries", entries) < 0) {
        entries = NULL;
        goto fail;
    }
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
fail:
    json_decref(entries);
    json_decref(root);
    return NULL;
}

int lt_h5_write_file_attrs(hid_t file, const struct lt_h5_file_attrs *a, char *what, size_t len)
{
    char layout[1024];
    if (lt_h5_filelayout_params_json(a->record_type, layout, sizeof layout) < 0) {
        snprintf(what, len, "cannot build filelayout_params");
        return LT_EINVAL;
    }
    char *geo = geoid_map_json(a);
    if (!geo) {
        snprintf(what, len, "cannot build source_id_geo_id_map");
        return LT_ENOMEM;
    }
    /* Order as HDF5RawDataFile's constructor writes them, then dfmodules' additions. A string
     * attribute has str set; a number has its width in bytes; creation_timestamp is special. */
    const struct {
        const char *name;
        const char *str;
        uint64_t num;
        int bytes;
    } attr[] = {
        {"run_number", NULL, a->run_number, 4},
        {"file_index", NULL, a->file_index, 8},
        {"creation_timestamp", NULL, 0, 0},
        {"application_name", a->application_name, 0, 0},
        {"filelayout_params", layout, 0, 0},
        {"filelayout_version", NULL, LT_H5_FILELAYOUT_VERSION, 4},
        {"source_id_geo_id_map", geo, 0, 0},
        {"record_type", lt_h5_record_prefix(a->record_type), 0, 0},
        {"operational_environment", a->operational_environment, 0, 0},
        {"offline_data_stream", a->offline_data_stream, 0, 0},
        {"run_was_for_test_purposes", a->run_was_for_test_purposes ? "true" : "false", 0, 0},
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof attr / sizeof attr[0]; i++) {
        int bad = attr[i].str ? lt_h5_attr_write_str(file, attr[i].name, attr[i].str)
                  : attr[i].bytes
                      ? lt_h5_attr_write_uint(file, attr[i].name, attr[i].num, attr[i].bytes)
                      : write_ms_str(file, attr[i].name, now_ms());
        if (bad < 0) {
            snprintf(what, len, "cannot write attribute %s", attr[i].name);
            rc = LT_EIO;
        }
    }
    free(geo);
    return rc;
}

int lt_h5_write_closing_attrs(hid_t file, uint64_t recorded_size)
{
    if (lt_h5_attr_write_uint(file, "recorded_size", recorded_size, 8) < 0) return -1;
    return write_ms_str(file, "closing_timestamp", now_ms());
}

int lt_h5_attr_read_ms(hid_t obj, const char *name, uint64_t *value)
{
    char s[32];
    int rc = lt_h5_attr_read_str(obj, name, s, sizeof s);
    if (rc == LT_EFORMAT) /* files of lartrig before hdf5libs' types: an integer */
        return lt_h5_attr_read_uint(obj, name, value);
    if (rc < 0) return rc;
    if (!s[0] || strspn(s, "0123456789") != strlen(s)) return LT_EFORMAT;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    *value = (uint64_t)v;
    return 0;
}

static json_t *sid_json(const struct lt_source_id *s)
{
    return json_pack("{s:i,s:I}", "subsys", (int)s->subsystem, "id", (json_int_t)s->id);
}

/* Append sid to the "sourceids" list of the entry whose `key` equals value, creating it. The
 * caller has already left out repeats (first_of_kind): checking the list here cost O(n^2) JSON
 * lookups, seconds per 6000-fragment record on the writer thread. Entries (one per distinct
 * key value) stay few, so finding the entry by a scan is cheap. */
static int group_add(json_t *entries, const char *key, uint32_t value, const struct lt_source_id *s)
{
    size_t i;
    json_t *e, *match = NULL;
    json_array_foreach(entries, i, e)
    {
        if ((uint64_t)json_integer_value(json_object_get(e, key)) == value) match = e;
    }
    if (!match) {
        match = json_pack("{s:I,s:[]}", key, (json_int_t)value, "sourceids");
        if (!match || json_array_append_new(entries, match) < 0) return -1;
    }
    return json_array_append_new(json_object_get(match, "sourceids"), sid_json(s));
}

/* (key value, SourceID) of fragment idx, ordered so that repeats sit together, first the
 * earliest fragment. */
struct kind_key {
    uint32_t value, subsys;
    uint64_t id;
    size_t idx;
};

static int kind_cmp(const void *pa, const void *pb)
{
    const struct kind_key *a = pa, *b = pb;
    if (a->value != b->value) return a->value < b->value ? -1 : 1;
    if (a->subsys != b->subsys) return a->subsys < b->subsys ? -1 : 1;
    if (a->id != b->id) return a->id < b->id ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* first[i] = 1 unless an earlier fragment has the same (key value, SourceID): HDF5SourceIDHandler
 * keeps sets, so a SourceID is listed once per key value. by_type selects fragment_type, else
 * detector_id. O(n log n) with one sort. -1 when out of memory. */
static int first_of_kind(const struct lt_h5_fragment_ref *frags, size_t n, int by_type,
                         uint8_t *first)
{
    struct kind_key *k = n ? malloc(n * sizeof *k) : NULL;
    if (n && !k) return -1;
    for (size_t i = 0; i < n; i++)
        k[i] = (struct kind_key){by_type ? frags[i].fragment_type : frags[i].detector_id,
                                 frags[i].source_id.subsystem, frags[i].source_id.id, i};
    qsort(k, n, sizeof *k, kind_cmp);
    for (size_t i = 0; i < n; i++)
        first[k[i].idx] = i == 0 || k[i].value != k[i - 1].value ||
                          k[i].subsys != k[i - 1].subsys || k[i].id != k[i - 1].id;
    free(k);
    return 0;
}

static int add_path(json_t *paths, const char *rec_name, const char *dsname,
                    const struct lt_source_id *s)
{
    char path[LT_H5_NAME_MAX * 2 + 16];
    if (lt_h5_dataset_path(rec_name, dsname, path, sizeof path) < 0) return -1;
    return json_array_append_new(paths, json_pack("{s:i,s:I,s:s}", "subsys", (int)s->subsystem,
                                                  "id", (json_int_t)s->id, "path", path));
}

int lt_h5_write_record_attrs(hid_t group, enum lt_h5_record_type type, const char *rec_name,
                             const struct lt_source_id *header_sid,
                             const struct lt_h5_fragment_ref *frags, size_t n, char *what,
                             size_t len)
{
    json_t *paths = json_array(), *types = json_array(), *subdets = json_array();
    char name[LT_H5_NAME_MAX];
    uint8_t *first = n ? malloc(2 * n) : NULL; /* [0, n): by type, [n, 2n): by subdetector */
    int bad = !paths || !types || !subdets || (n && !first) ||
              (n && (first_of_kind(frags, n, 1, first) < 0 ||
                     first_of_kind(frags, n, 0, first + n) < 0)) ||
              lt_h5_header_dataset_name(type, header_sid, name, sizeof name) < 0 ||
              add_path(paths, rec_name, name, header_sid) < 0;
    for (size_t i = 0; !bad && i < n; i++) {
        const struct lt_h5_fragment_ref *f = &frags[i];
        bad =
            lt_h5_fragment_dataset_name(&f->source_id, f->fragment_type, name, sizeof name) < 0 ||
            add_path(paths, rec_name, name, &f->source_id) < 0 ||
            (first[i] && group_add(types, "fragment_type", f->fragment_type, &f->source_id) < 0) ||
            (first[n + i] && group_add(subdets, "subdetector", f->detector_id, &f->source_id) < 0);
    }
    free(first);
    int rc = 0;
    if (bad) {
        snprintf(what, len, "cannot build the SourceID maps");
        rc = LT_ENOMEM;
        goto out;
    }
    struct {
        const char *name;
        json_t *value;
    } a[] = {
        {"record_header_source_id", sid_json(header_sid)},
        {"source_id_path_map", json_pack("{s:O}", "map_entries", paths)},
        {"fragment_type_source_id_map", json_pack("{s:O}", "map_entries", types)},
        {"subdetector_source_id_map", json_pack("{s:O}", "map_entries", subdets)},
    };
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
        char *s = a[i].value ? json_dumps(a[i].value, JSON_COMPACT) : NULL;
        if (rc == 0 && !s) {
            snprintf(what, len, "cannot format %s", a[i].name);
            rc = LT_ENOMEM;
        } else if (rc == 0 && lt_h5_attr_write_str(group, a[i].name, s) < 0) {
            snprintf(what, len, "cannot write attribute %s", a[i].name);
            rc = LT_EIO;
        }
        free(s);
        json_decref(a[i].value);
    }
out:
    json_decref(paths);
    json_decref(types);
    json_decref(subdets);
    return rc;
}
