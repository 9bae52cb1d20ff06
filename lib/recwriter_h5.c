/* HDF5 side of the record writer: the file, its attributes, and each record's groups and
 * datasets. HDF5 never sees a payload byte. Every dataset is contiguous, its space allocated at
 * creation (H5D_ALLOC_TIME_EARLY) and never filled (H5D_FILL_TIME_NEVER), so HDF5 has no reason
 * to write into it later; the file access list aligns every object of align_threshold bytes or
 * more on 4096 (H5Pset_alignment) so fragment datasets start where O_DIRECT can write, and the
 * sieve buffer is off so HDF5 never holds a stale copy of raw data. Only the writer thread calls
 * these (Debian's libhdf5 is not thread-safe). */
#include "recwriter_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lt_error.h"

/* hdf5libs layout constants (HDF5FileLayoutParameters defaults, layout version 5). */
#define RW_FILELAYOUT_VERSION 5U
#define RW_RECORD_TYPE        "TriggerRecord"
static const char rw_filelayout_params[] =
    "{\"digits_for_record_number\":6,\"digits_for_sequence_number\":4,"
    "\"path_param_list\":[],\"raw_data_group_name\":\"RawData\","
    "\"record_header_dataset_name\":\"TriggerRecordHeader\","
    "\"record_name_prefix\":\"TriggerRecord\",\"view_group_name\":\"Views\"}";

/* daqdataformats SourceID::subsystem_to_string */
static const char *subsys_str(uint16_t s)
{
    switch (s) {
    case LT_SUBSYS_DETECTOR_READOUT:
        return "Detector_Readout";
    case LT_SUBSYS_HW_SIGNALS:
        return "HW_Signals_Interface";
    case LT_SUBSYS_TRIGGER:
        return "Trigger";
    case LT_SUBSYS_TR_BUILDER:
        return "TR_Builder";
    default:
        return "Unknown";
    }
}

static const char *fragtype_str(uint32_t t)
{
    switch (t) {
    case LT_FRAGTYPE_TRIGGER_CANDIDATE:
        return "TriggerCandidate";
    case LT_FRAGTYPE_WIBETH:
        return "WIBEth";
    default:
        return "Unknown";
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000ULL;
}

static int attr_write(hid_t obj, const char *name, hid_t type, const void *val)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    if (sp < 0) return -1;
    hid_t a = H5Aexists(obj, name) > 0 ? H5Aopen(obj, name, H5P_DEFAULT)
                                       : H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, type, val);
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    return r < 0 ? -1 : 0;
}

static int attr_u64(hid_t obj, const char *name, uint64_t v)
{
    return attr_write(obj, name, H5T_NATIVE_UINT64, &v);
}

static int attr_u32(hid_t obj, const char *name, uint32_t v)
{
    return attr_write(obj, name, H5T_NATIVE_UINT32, &v);
}

/* Variable-length UTF-8 string, the type HighFive uses for std::string attributes. */
static int attr_str(hid_t obj, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return -1;
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    int r = attr_write(obj, name, t, &v);
    H5Tclose(t);
    return r;
}

hid_t rw_h5_create(const char *path, const struct rw_file_attrs *a, uint32_t align_threshold,
                   char *err, size_t errlen)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
    H5Pset_alignment(fapl, align_threshold, RW_ALIGN);
    H5Pset_sieve_buf_size(fapl, 0);
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    hid_t f = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        lt_seterr(err, errlen, "%s: H5Fcreate failed", path);
        return -1;
    }
    int bad = attr_u32(f, "run_number", a->run_number) ||
              attr_u64(f, "file_index", a->file_index) ||
              attr_u64(f, "creation_timestamp", now_ms()) ||
              attr_str(f, "application_name", a->application_name) ||
              attr_str(f, "filelayout_params", rw_filelayout_params) ||
              attr_u32(f, "filelayout_version", RW_FILELAYOUT_VERSION) ||
              attr_str(f, "record_type", RW_RECORD_TYPE) ||
              attr_str(f, "operational_environment", a->operational_environment);
    if (bad) {
        lt_seterr(err, errlen, "%s: writing file attributes failed", path);
        H5Fclose(f);
        return -1;
    }
    return f;
}

static void record_group_name(const struct lt_trigger_record_header *trh, char *buf, size_t len)
{
    snprintf(buf, len, "TriggerRecord%06" PRIu64 ".%04u", trh->trigger_number,
             (unsigned)trh->sequence_number);
}

int rw_h5_record_exists(hid_t file, const struct lt_trigger_record_header *trh)
{
    char name[64];
    record_group_name(trh, name, sizeof name);
    return H5Lexists(file, name, H5P_DEFAULT) > 0;
}

void rw_h5_drop_record(hid_t file, const struct lt_trigger_record_header *trh)
{
    char name[64];
    record_group_name(trh, name, sizeof name);
    H5E_BEGIN_TRY
    {
        H5Ldelete(file, name, H5P_DEFAULT);
    }
    H5E_END_TRY;
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
    hid_t d = H5Dcreate2(grp, name, H5T_NATIVE_CHAR, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
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

int rw_h5_create_record(hid_t file, const struct lt_rw_record *rec, struct rw_dset *dset, char *err,
                        size_t errlen)
{
    char gname[64], name[128];
    record_group_name(&rec->trh, gname, sizeof gname);
    hid_t g = H5Gcreate2(file, gname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) {
        lt_seterr(err, errlen, "creating group /%s failed", gname);
        return LT_EIO;
    }
    hid_t raw = H5Gcreate2(g, "RawData", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int ret = LT_EIO;
    if (raw < 0) {
        lt_seterr(err, errlen, "creating group /%s/RawData failed", gname);
        goto out;
    }
    const struct lt_source_id *sid = &rec->trh.element_id;
    snprintf(name, sizeof name, "%s_0x%08x_TriggerRecordHeader", subsys_str(sid->subsystem),
             sid->id);
    if (make_dset(raw, name, LT_TRH_SIZE + (uint64_t)rec->n_requests * LT_COMPONENT_REQUEST_SIZE,
                  &dset[0]) < 0) {
        lt_seterr(err, errlen, "creating /%s/RawData/%s failed", gname, name);
        goto out;
    }
    for (size_t i = 0; i < rec->n_frags; i++) {
        const struct lt_fragment_header *h = &rec->frags[i].hdr;
        snprintf(name, sizeof name, "%s_0x%08x_%s", subsys_str(h->element_id.subsystem),
                 h->element_id.id, fragtype_str(h->fragment_type));
        if (make_dset(raw, name, LT_FRAGMENT_HEADER_SIZE + (uint64_t)rec->frags[i].payload_len,
                      &dset[1 + i]) < 0) {
            lt_seterr(err, errlen, "creating /%s/RawData/%s failed", gname, name);
            goto out;
        }
    }
    ret = 0;
out:
    if (raw >= 0) H5Gclose(raw);
    H5Gclose(g);
    return ret;
}

int rw_h5_flush(hid_t file, char *err, size_t errlen)
{
    herr_t r;
    H5E_BEGIN_TRY
    {
        r = H5Fflush(file, H5F_SCOPE_LOCAL);
    }
    H5E_END_TRY;
    if (r < 0) {
        lt_seterr(err, errlen, "H5Fflush failed");
        return LT_EIO;
    }
    return 0;
}

int rw_h5_close(hid_t file, uint64_t recorded_size, char *err, size_t errlen)
{
    int bad = attr_u64(file, "recorded_size", recorded_size) ||
              attr_u64(file, "closing_timestamp", now_ms());
    herr_t r;
    H5E_BEGIN_TRY
    {
        r = H5Fclose(file);
    }
    H5E_END_TRY;
    if (bad || r < 0) {
        lt_seterr(err, errlen, "closing the HDF5 file failed%s", bad ? " (attributes)" : "");
        return LT_EIO;
    }
    return 0;
}
