/* Names and layout text of DUNE-DAQ hdf5libs files: record groups, dataset names, the DUNE file
 * name and the filelayout_params JSON. Pure string work, no HDF5 calls, so the io_uring writer
 * and tools can use it without touching the HDF5 library. Facts from hdf5libs HDF5FileLayout
 * (record names, RawData group), daqdataformats SourceID::to_string and fragment_type_to_string,
 * and dfmodules HDF5DataStore (file names). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chmap.h"
#include "h5raw.h"
#include "lt_error.h"

/* The forward names (SourceID::subsystem_to_string, fragment_type_to_string) live with the
 * formats in daqfmt.c; the reverse lookups below scan their small value ranges. */
#define SUBSYSTEM_SCAN     16U
#define FRAGMENT_TYPE_SCAN 64U

const char *lt_h5_record_prefix(enum lt_h5_record_type type)
{
    switch (type) {
    case LT_H5_TRIGGER_RECORD:
        return "TriggerRecord";
    case LT_H5_TIMESLICE:
        return "TimeSlice";
    }
    return NULL;
}

const char *lt_h5_record_header_name(enum lt_h5_record_type type)
{
    switch (type) {
    case LT_H5_TRIGGER_RECORD:
        return "TriggerRecordHeader";
    case LT_H5_TIMESLICE:
        return "TimeSliceHeader";
    }
    return NULL;
}

const char *lt_h5_subsystem_name(uint16_t subsystem)
{
    return lt_subsystem_name(subsystem);
}

const char *lt_h5_fragment_type_name(uint32_t fragment_type)
{
    return lt_fragment_type_name(fragment_type);
}

int lt_h5_subsystem_from_name(const char *name, size_t len, uint16_t *out)
{
    for (uint16_t i = 1; i < SUBSYSTEM_SCAN; i++) {
        const char *n = lt_subsystem_name(i);
        if (strcmp(n, "Unknown") != 0 && strlen(n) == len && !memcmp(n, name, len)) {
            *out = i;
            return 0;
        }
    }
    return LT_ENOTFOUND;
}

int lt_h5_fragment_type_from_name(const char *name, uint32_t *out)
{
    for (uint32_t i = 0; i < FRAGMENT_TYPE_SCAN; i++)
        if (!strcmp(lt_fragment_type_name(i), name)) {
            *out = i;
            return 0;
        }
    return LT_ENOTFOUND;
}

/* snprintf that reports truncation as LT_ESHORT instead of a silently cut name. */
static int put(size_t len, int n)
{
    if (n < 0 || (size_t)n >= len) return LT_ESHORT;
    return n;
}

int lt_h5_record_name(enum lt_h5_record_type type, uint64_t number, uint16_t sequence, char *buf,
                      size_t len)
{
    const char *prefix = lt_h5_record_prefix(type);
    if (!prefix) return LT_EINVAL;
    /* hdf5libs: record number zero-padded to 6 digits (wider numbers keep their natural width);
     * TriggerRecords add ".%04d" sequence, TimeSlices have no sequence digits. */
    if (type == LT_H5_TRIGGER_RECORD)
        return put(len,
                   snprintf(buf, len, "%s%06" PRIu64 ".%04u", prefix, number, (unsigned)sequence));
    return put(len, snprintf(buf, len, "%s%06" PRIu64, prefix, number));
}

int lt_h5_source_id_name(const struct lt_source_id *sid, char *buf, size_t len)
{
    return put(
        len, snprintf(buf, len, "%s_0x%08" PRIx32, lt_h5_subsystem_name(sid->subsystem), sid->id));
}

int lt_h5_fragment_dataset_name(const struct lt_source_id *sid, uint32_t fragment_type, char *buf,
                                size_t len)
{
    return put(len,
               snprintf(buf, len, "%s_0x%08" PRIx32 "_%s", lt_h5_subsystem_name(sid->subsystem),
                        sid->id, lt_h5_fragment_type_name(fragment_type)));
}

int lt_h5_header_dataset_name(enum lt_h5_record_type type, const struct lt_source_id *sid,
                              char *buf, size_t len)
{
    const char *hdr = lt_h5_record_header_name(type);
    if (!hdr) return LT_EINVAL;
    return put(len, snprintf(buf, len, "%s_0x%08" PRIx32 "_%s",
                             lt_h5_subsystem_name(sid->subsystem), sid->id, hdr));
}

int lt_h5_dataset_path(const char *record_name, const char *dataset_name, char *buf, size_t len)
{
    return put(len,
               snprintf(buf, len, "/%s/%s/%s", record_name, LT_H5_RAW_DATA_GROUP, dataset_name));
}

/* Parse at least one decimal digit; returns the end or NULL. */
static const char *parse_digits(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (v > (max - d) / 10) return NULL;
        v = v * 10 + d;
        p++;
    }
    if (p == s) return NULL;
    *out = v;
    return p;
}

int lt_h5_parse_record_name(enum lt_h5_record_type type, const char *name, uint64_t *number,
                            uint16_t *sequence)
{
    const char *prefix = lt_h5_record_prefix(type);
    if (!prefix) return LT_EINVAL;
    size_t plen = strlen(prefix);
    if (strncmp(name, prefix, plen) != 0) return LT_EFORMAT;
    uint64_t num, seq = 0;
    const char *p = parse_digits(name + plen, UINT64_MAX, &num);
    if (!p) return LT_EFORMAT;
    if (*p == '.') {
        p = parse_digits(p + 1, UINT16_MAX, &seq);
        if (!p) return LT_EFORMAT;
    }
    if (*p != '\0') return LT_EFORMAT;
    *number = num;
    *sequence = (uint16_t)seq;
    return 0;
}

int lt_h5_parse_dataset_name(const char *name, struct lt_source_id *sid, const char **suffix)
{
    /* "<Subsystem>_0x<8 hex>_<suffix>": subsystem names contain '_' themselves, so find the
     * "_0x" that is followed by exactly 8 hex digits and another '_'. */
    for (const char *p = strstr(name, "_0x"); p; p = strstr(p + 1, "_0x")) {
        const char *hex = p + 3;
        size_t n = 0;
        while (n < 8 && ((hex[n] >= '0' && hex[n] <= '9') || (hex[n] >= 'a' && hex[n] <= 'f') ||
                         (hex[n] >= 'A' && hex[n] <= 'F')))
            n++;
        if (n != 8 || hex[8] != '_' || hex[9] == '\0') continue;
        uint16_t subsys;
        if (lt_h5_subsystem_from_name(name, (size_t)(p - name), &subsys) != 0) return LT_EFORMAT;
        char tmp[9];
        memcpy(tmp, hex, 8);
        tmp[8] = '\0';
        sid->version = LT_SOURCE_ID_VERSION;
        sid->subsystem = subsys;
        sid->id = (uint32_t)strtoul(tmp, NULL, 16);
        *suffix = hex + 9;
        return 0;
    }
    return LT_EFORMAT;
}

/* A file-name field must be non-empty and must not leave the directory or carry control bytes. */
static int name_field_ok(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (*s == '/' || (unsigned char)*s < ' ') return 0;
    return 1;
}

int lt_h5_file_name(const char *operational_environment, uint32_t run_number, uint32_t file_index,
                    const char *writer_name, time_t when, char *buf, size_t len)
{
    if (!name_field_ok(operational_environment) || !name_field_ok(writer_name)) return LT_EINVAL;
    struct tm tm;
    if (!gmtime_r(&when, &tm)) return LT_ERANGE;
    char stamp[32];
    if (strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm) == 0) return LT_ERANGE;
    return put(len, snprintf(buf, len, "%s_raw_run%06" PRIu32 "_%04" PRIu32 "_%s_%s.hdf5",
                             operational_environment, run_number, file_index, writer_name, stamp));
}

int lt_h5_filelayout_params_json(enum lt_h5_record_type type, char *buf, size_t len)
{
    const char *prefix = lt_h5_record_prefix(type);
    const char *hdr = lt_h5_record_header_name(type);
    if (!prefix) return LT_EINVAL;
    /* Keys as HDF5FileLayoutParameters::to_json writes them. path_param_list only matters to
     * readers of layout versions <= 2 but must name valid subsystems for hdf5libs to accept it. */
    return put(len,
               snprintf(buf, len,
                        "{\"digits_for_record_number\":6,\"digits_for_sequence_number\":%d,"
                        "\"path_param_list\":["
                        "{\"detector_group_name\":\"TPC\",\"detector_group_type\":"
                        "\"Detector_Readout\",\"digits_for_element_number\":5,"
                        "\"element_name_prefix\":\"Link\"},"
                        "{\"detector_group_name\":\"Trigger\",\"detector_group_type\":\"Trigger\","
                        "\"digits_for_element_number\":5,\"element_name_prefix\":\"Element\"}],"
                        "\"raw_data_group_name\":\"%s\",\"record_header_dataset_name\":\"%s\","
                        "\"record_name_prefix\":\"%s\",\"view_group_name\":\"Views\"}",
                        type == LT_H5_TRIGGER_RECORD ? 4 : 0, LT_H5_RAW_DATA_GROUP, hdr, prefix));
}

void lt_h5_cell_geoids(uint32_t cell, uint32_t n_streams, struct lt_h5_geoid_entry *out)
{
    for (uint32_t s = 0; s < n_streams; s++) {
        uint16_t crate;
        uint8_t slot, es;
        lt_chmap_stream_address(cell, s, &crate, &slot, &es);
        out[s].source_id = (struct lt_source_id){LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT,
                                                 lt_stream_source_id(cell, s)};
        out[s].geoid = lt_h5_geoid_encode(LT_DETID_HD_TPC, crate, slot, es);
    }
}
