/* HDF5 plumbing shared by the raw-data file writer and reader: quiet error handling, the
 * attribute types hdf5libs uses, and the /Truth compound type. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5raw_internal.h"
#include "lt_error.h"
#include "truth.h"

/* Debian's libhdf5 is built thread-safe, and then each thread has its own error stack with its
 * own automatic-printing setting: silence it once per thread, not once per process. */
static _Thread_local int quiet_done;

void lt_h5_quiet(void)
{
    if (quiet_done) return;
    /* Failure only means HDF5 keeps printing its stack: not worth failing an open for. */
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    quiet_done = 1;
}

struct last_error {
    char *buf;
    size_t len;
    int found;
};

static herr_t take_first(unsigned n, const H5E_error2_t *e, void *data)
{
    struct last_error *le = data;
    (void)n;
    if (le->found) return 0;
    char minor[128] = "";
    if (H5Eget_msg(e->min_num, NULL, minor, sizeof minor) < 0) minor[0] = '\0';
    if (e->desc && *e->desc)
        snprintf(le->buf, le->len, "%s%s%s", e->desc, *minor ? " - " : "", minor);
    else
        snprintf(le->buf, le->len, "%s", minor);
    le->found = 1;
    return 0;
}

int lt_h5_fail(const char *path, int code, const char *object, int with_h5, char *err,
               size_t errlen, const char *fmt, ...)
{
    char what[512], h5[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (with_h5) lt_h5_last_error(h5, sizeof h5);
    lt_seterr(err, errlen, "%s: %s: %s%s%s", path ? path : "?", object ? object : "/", what,
              *h5 ? ": " : "", h5);
    return code;
}

void lt_h5_last_error(char *buf, size_t len)
{
    if (!buf || !len) return;
    buf[0] = '\0';
    struct last_error le = {buf, len, 0};
    /* Upward = most specific first: that is the line that says what is wrong with the file. */
    (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_first, &le);
    (void)H5Eclear2(H5E_DEFAULT);
}

int lt_h5_attr_delete_if_exists(hid_t obj, const char *name)
{
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0) return -1;
    if (ex > 0 && H5Adelete(obj, name) < 0) return -1;
    return 0;
}

static int write_attr(hid_t obj, const char *name, hid_t ftype, hid_t mtype, const void *buf)
{
    int rc = -1;
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0) return -1;
    if (lt_h5_attr_delete_if_exists(obj, name) == 0) {
        hid_t attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
        if (attr >= 0) {
            if (H5Awrite(attr, mtype, buf) >= 0) rc = 0;
            if (H5Aclose(attr) < 0) rc = -1;
        }
    }
    if (H5Sclose(space) < 0) rc = -1;
    return rc;
}

int lt_h5_attr_write_str(hid_t obj, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0) return -1;
    int rc = -1;
    if (H5Tset_size(type, H5T_VARIABLE) >= 0) rc = write_attr(obj, name, type, type, &value);
    if (H5Tclose(type) < 0) rc = -1;
    return rc;
}

int lt_h5_attr_write_uint(hid_t obj, const char *name, uint64_t value, int bytes)
{
    if (bytes == 4) {
        uint32_t v32 = (uint32_t)value;
        return write_attr(obj, name, H5T_STD_U32LE, H5T_NATIVE_UINT32, &v32);
    }
    return write_attr(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

static hid_t open_attr(hid_t obj, const char *name, int *status)
{
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0) {
        *status = LT_EIO;
        return -1;
    }
    if (ex == 0) {
        *status = LT_ENOTFOUND;
        return -1;
    }
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    *status = attr < 0 ? LT_EIO : 0;
    return attr;
}

int lt_h5_attr_read_str_alloc(hid_t obj, const char *name, size_t max_len, char **out)
{
    int st;
    *out = NULL;
    hid_t attr = open_attr(obj, name, &st);
    if (attr < 0) return st;
    hid_t ftype = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    hid_t mtype = -1;
    char *copy = NULL;
    int rc = LT_EIO;
    if (ftype < 0 || space < 0) goto out;
    rc = LT_EFORMAT;
    if (H5Tget_class(ftype) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1) goto out;
    htri_t vl = H5Tis_variable_str(ftype);
    if (vl < 0) goto out;
    mtype = H5Tcopy(H5T_C_S1);
    if (mtype < 0) goto out;
    if (vl) {
        char *s = NULL;
        rc = LT_EIO;
        if (H5Tset_size(mtype, H5T_VARIABLE) < 0 || H5Aread(attr, mtype, &s) < 0) goto out;
        size_t n = s ? strlen(s) : 0;
        rc = n <= max_len ? 0 : LT_EFORMAT;
        if (rc == 0 && !(copy = malloc(n + 1))) rc = LT_ENOMEM;
        if (rc == 0) memcpy(copy, s ? s : "", n + 1);
        /* Give the VL buffer back the way HDF5 allocated it. */
        if (s) H5free_memory(s);
    } else {
        size_t n = H5Tget_size(ftype);
        rc = LT_EFORMAT;
        if (n == 0 || n > max_len) goto out;
        rc = LT_ENOMEM;
        if (!(copy = malloc(n + 1))) goto out;
        rc = LT_EIO;
        if (H5Tset_size(mtype, n + 1) < 0 || H5Tset_strpad(mtype, H5T_STR_NULLTERM) < 0 ||
            H5Aread(attr, mtype, copy) < 0)
            goto out;
        copy[n] = '\0';
        rc = 0;
    }
out:
    if (rc == 0)
        *out = copy;
    else
        free(copy);
    if (mtype >= 0) H5Tclose(mtype);
    if (ftype >= 0) H5Tclose(ftype);
    if (space >= 0) H5Sclose(space);
    H5Aclose(attr);
    return rc;
}

int lt_h5_attr_read_str(hid_t obj, const char *name, char *buf, size_t len)
{
    if (!len) return LT_EINVAL;
    buf[0] = '\0';
    char *s;
    int rc = lt_h5_attr_read_str_alloc(obj, name, len - 1, &s);
    if (rc < 0) return rc;
    memcpy(buf, s, strlen(s) + 1);
    free(s);
    return 0;
}

int lt_h5_attr_read_uint(hid_t obj, const char *name, uint64_t *value)
{
    int st;
    hid_t attr = open_attr(obj, name, &st);
    if (attr < 0) return st;
    int rc = LT_EFORMAT;
    hid_t ftype = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    if (ftype >= 0 && space >= 0 && H5Tget_class(ftype) == H5T_INTEGER &&
        H5Sget_simple_extent_npoints(space) == 1)
        rc = H5Aread(attr, H5T_NATIVE_UINT64, value) < 0 ? LT_EIO : 0;
    if (ftype >= 0) H5Tclose(ftype);
    if (space >= 0) H5Sclose(space);
    H5Aclose(attr);
    return rc;
}

/* Build a compound type for struct lt_truth from a member table: one place lists the members, so
 * the memory and file layouts cannot drift apart. */
static hid_t truth_type(int file_layout)
{
    struct member {
        const char *name;
        size_t mem_off;
        hid_t mem_type, file_type;
        size_t file_size;
    } m[] = {
        {"time", offsetof(struct lt_truth, time), H5T_NATIVE_UINT64, H5T_STD_U64LE, 8},
        {"cell", offsetof(struct lt_truth, cell), H5T_NATIVE_UINT32, H5T_STD_U32LE, 4},
        {"channel_start", offsetof(struct lt_truth, channel_start), H5T_NATIVE_UINT16,
         H5T_STD_U16LE, 2},
        {"channel_end", offsetof(struct lt_truth, channel_end), H5T_NATIVE_UINT16, H5T_STD_U16LE,
         2},
        {"kind", offsetof(struct lt_truth, kind), H5T_NATIVE_UINT32, H5T_STD_U32LE, 4},
        {"energy_mev", offsetof(struct lt_truth, energy_mev), H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 4},
        {"time_end", offsetof(struct lt_truth, time_end), H5T_NATIVE_UINT64, H5T_STD_U64LE, 8},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) total += m[i].file_size;
    hid_t t = H5Tcreate(H5T_COMPOUND, file_layout ? total : sizeof(struct lt_truth));
    if (t < 0) return -1;
    size_t off = 0;
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        herr_t h = file_layout ? H5Tinsert(t, m[i].name, off, m[i].file_type)
                               : H5Tinsert(t, m[i].name, m[i].mem_off, m[i].mem_type);
        if (h < 0) {
            H5Tclose(t);
            return -1;
        }
        off += m[i].file_size;
    }
    return t;
}

hid_t lt_h5_truth_mem_type(void)
{
    return truth_type(0);
}
hid_t lt_h5_truth_file_type(void)
{
    return truth_type(1);
}
