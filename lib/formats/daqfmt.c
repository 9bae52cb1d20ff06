/* DUNE-DAQ daqdataformats records, encoded byte by byte in little-endian order so the result does
 * not depend on host struct padding. Offsets follow the static_asserts in daqdataformats
 * (FragmentHeader.hpp, TriggerRecordHeaderData.hpp, ComponentRequest.hpp, TimeSliceHeader.hpp,
 * detail/SourceID.hxx); docs/formats.md has the tables. */
#include "daqfmt.h"

#include "le.h"
#include "lt_error.h"

#include <stdio.h>
#include <string.h>

/* ---- SourceID (8 bytes: version u16, subsystem u16, id u32) ---- */

static void source_id_put(uint8_t *p, const struct lt_source_id *s)
{
    lt_put_le16(p, LT_SOURCE_ID_VERSION);
    lt_put_le16(p + 2, s->subsystem);
    lt_put_le32(p + 4, s->id);
}

static void source_id_get(const uint8_t *p, struct lt_source_id *s)
{
    s->version = lt_get_le16(p);
    s->subsystem = lt_get_le16(p + 2);
    s->id = lt_get_le32(p + 4);
}

static int source_id_check(const struct lt_source_id *s, const char *what, char *err, size_t errlen)
{
    if (s->version != LT_SOURCE_ID_VERSION) {
        lt_seterr(err, errlen, "%s: SourceID version %u, expected %u", what, s->version,
                  LT_SOURCE_ID_VERSION);
        return LT_EVERSION;
    }
    if (s->subsystem > LT_SUBSYS_TR_BUILDER) {
        lt_seterr(err, errlen, "%s: SourceID subsystem %u out of range 0..%u", what, s->subsystem,
                  LT_SUBSYS_TR_BUILDER);
        return LT_ERANGE;
    }
    return 0;
}

static int need(size_t len, size_t size, const char *what, char *err, size_t errlen)
{
    if (len < size) {
        lt_seterr(err, errlen, "%s: %zu bytes, need %zu", what, len, size);
        return LT_ESHORT;
    }
    return 0;
}

static int marker_version(uint32_t marker, uint32_t want_marker, uint32_t version,
                          uint32_t min_version, uint32_t max_version, const char *what, char *err,
                          size_t errlen)
{
    if (marker != want_marker) {
        lt_seterr(err, errlen, "%s: marker 0x%08x, expected 0x%08x", what, marker, want_marker);
        return LT_EMAGIC;
    }
    if (version < min_version || version > max_version) {
        lt_seterr(err, errlen, "%s: version %u not supported (need %u..%u)", what, version,
                  min_version, max_version);
        return LT_EVERSION;
    }
    return 0;
}

int lt_source_id_encode(const struct lt_source_id *s, uint8_t *buf, size_t len)
{
    if (len < LT_SOURCE_ID_SIZE) return LT_ESHORT;
    if (s->subsystem > LT_SUBSYS_TR_BUILDER) return LT_ERANGE;
    source_id_put(buf, s);
    return 0;
}

int lt_source_id_decode(const uint8_t *buf, size_t len, struct lt_source_id *s, char *err,
                        size_t errlen)
{
    int rc = need(len, LT_SOURCE_ID_SIZE, "SourceID", err, errlen);
    if (rc) return rc;
    struct lt_source_id t;
    source_id_get(buf, &t);
    if ((rc = source_id_check(&t, "SourceID", err, errlen))) return rc;
    *s = t;
    return 0;
}

/* ---- FragmentHeader v5 (72 bytes) ---- */

static int fragment_fields_check(const struct lt_fragment_header *h, char *err, size_t errlen)
{
    if (h->size < LT_FRAGMENT_HEADER_SIZE) {
        lt_seterr(err, errlen, "FragmentHeader: size %llu smaller than the %u-byte header",
                  (unsigned long long)h->size, LT_FRAGMENT_HEADER_SIZE);
        return LT_EFORMAT;
    }
    if (h->window_begin > h->window_end) {
        lt_seterr(err, errlen, "FragmentHeader: window_begin %llu > window_end %llu",
                  (unsigned long long)h->window_begin, (unsigned long long)h->window_end);
        return LT_ERANGE;
    }
    if (h->detector_id > 63) { /* DetID is a 6-bit field widened to 16 bits */
        lt_seterr(err, errlen, "FragmentHeader: detector_id %u out of range 0..63", h->detector_id);
        return LT_ERANGE;
    }
    return 0;
}

int lt_fragment_header_encode(const struct lt_fragment_header *h, uint8_t *buf, size_t len)
{
    if (len < LT_FRAGMENT_HEADER_SIZE) return LT_ESHORT;
    if (fragment_fields_check(h, NULL, 0) || h->element_id.subsystem > LT_SUBSYS_TR_BUILDER)
        return LT_ERANGE;
    lt_put_le32(buf + 0, LT_FRAGMENT_HEADER_MARKER);
    lt_put_le32(buf + 4, LT_FRAGMENT_HEADER_VERSION);
    lt_put_le64(buf + 8, h->size);
    lt_put_le64(buf + 16, h->trigger_number);
    lt_put_le64(buf + 24, h->trigger_timestamp);
    lt_put_le64(buf + 32, h->window_begin);
    lt_put_le64(buf + 40, h->window_end);
    lt_put_le32(buf + 48, h->run_number);
    lt_put_le32(buf + 52, h->error_bits);
    lt_put_le32(buf + 56, h->fragment_type);
    lt_put_le16(buf + 60, h->sequence_number);
    lt_put_le16(buf + 62, h->detector_id);
    source_id_put(buf + 64, &h->element_id);
    return 0;
}

int lt_fragment_header_decode(const uint8_t *buf, size_t len, struct lt_fragment_header *h,
                              char *err, size_t errlen)
{
    int rc = need(len, LT_FRAGMENT_HEADER_SIZE, "FragmentHeader", err, errlen);
    if (rc) return rc;
    struct lt_fragment_header t;
    t.marker = lt_get_le32(buf + 0);
    t.version = lt_get_le32(buf + 4);
    rc = marker_version(t.marker, LT_FRAGMENT_HEADER_MARKER, t.version, LT_FRAGMENT_HEADER_VERSION,
                        LT_FRAGMENT_HEADER_VERSION, "FragmentHeader", err, errlen);
    if (rc) return rc;
    t.size = lt_get_le64(buf + 8);
    t.trigger_number = lt_get_le64(buf + 16);
    t.trigger_timestamp = lt_get_le64(buf + 24);
    t.window_begin = lt_get_le64(buf + 32);
    t.window_end = lt_get_le64(buf + 40);
    t.run_number = lt_get_le32(buf + 48);
    t.error_bits = lt_get_le32(buf + 52);
    t.fragment_type = lt_get_le32(buf + 56);
    t.sequence_number = lt_get_le16(buf + 60);
    t.detector_id = lt_get_le16(buf + 62);
    source_id_get(buf + 64, &t.element_id);
    if ((rc = fragment_fields_check(&t, err, errlen))) return rc;
    if ((rc = source_id_check(&t.element_id, "FragmentHeader element_id", err, errlen))) return rc;
    *h = t;
    return 0;
}

/* ---- TriggerRecordHeaderData v4 (64 bytes) ---- */

int lt_trh_encode(const struct lt_trigger_record_header *h, uint8_t *buf, size_t len)
{
    if (len < LT_TRH_SIZE) return LT_ESHORT;
    if (h->element_id.subsystem > LT_SUBSYS_TR_BUILDER ||
        h->sequence_number > h->max_sequence_number)
        return LT_ERANGE;
    lt_put_le32(buf + 0, LT_TRH_MARKER);
    lt_put_le32(buf + 4, LT_TRH_VERSION);
    lt_put_le64(buf + 8, h->trigger_number);
    lt_put_le64(buf + 16, h->trigger_timestamp);
    lt_put_le64(buf + 24, h->num_requested_components);
    lt_put_le32(buf + 32, h->run_number);
    lt_put_le32(buf + 36, h->error_bits);
    lt_put_le64(buf + 40, h->trigger_type);
    lt_put_le16(buf + 48, h->sequence_number);
    lt_put_le16(buf + 50, h->max_sequence_number);
    lt_put_le16(buf + 52, 0xFFFFU); /* unused, as daqdataformats initialises it */
    lt_put_le16(buf + 54, 0xFFFFU); /* alignment padding before the SourceID */
    source_id_put(buf + 56, &h->element_id);
    return 0;
}

int lt_trh_decode(const uint8_t *buf, size_t len, struct lt_trigger_record_header *h, char *err,
                  size_t errlen)
{
    int rc = need(len, LT_TRH_SIZE, "TriggerRecordHeader", err, errlen);
    if (rc) return rc;
    struct lt_trigger_record_header t;
    t.marker = lt_get_le32(buf + 0);
    t.version = lt_get_le32(buf + 4);
    /* v5 only renamed error_bits to status_bits; the bytes are the same. */
    rc = marker_version(t.marker, LT_TRH_MARKER, t.version, LT_TRH_VERSION, 5,
                        "TriggerRecordHeader", err, errlen);
    if (rc) return rc;
    t.trigger_number = lt_get_le64(buf + 8);
    t.trigger_timestamp = lt_get_le64(buf + 16);
    t.num_requested_components = lt_get_le64(buf + 24);
    t.run_number = lt_get_le32(buf + 32);
    t.error_bits = lt_get_le32(buf + 36);
    t.trigger_type = lt_get_le64(buf + 40);
    t.sequence_number = lt_get_le16(buf + 48);
    t.max_sequence_number = lt_get_le16(buf + 50);
    t.unused = lt_get_le16(buf + 52);
    source_id_get(buf + 56, &t.element_id);
    if (t.sequence_number > t.max_sequence_number) {
        lt_seterr(err, errlen, "TriggerRecordHeader: sequence_number %u > max_sequence_number %u",
                  t.sequence_number, t.max_sequence_number);
        return LT_ERANGE;
    }
    if ((rc = source_id_check(&t.element_id, "TriggerRecordHeader element_id", err, errlen)))
        return rc;
    *h = t;
    return 0;
}

/* ---- ComponentRequest v2 (32 bytes) ---- */

int lt_component_request_encode(const struct lt_component_request *c, uint8_t *buf, size_t len)
{
    if (len < LT_COMPONENT_REQUEST_SIZE) return LT_ESHORT;
    if (c->component.subsystem > LT_SUBSYS_TR_BUILDER || c->window_begin > c->window_end)
        return LT_ERANGE;
    lt_put_le32(buf + 0, LT_COMPONENT_REQUEST_VERSION);
    lt_put_le32(buf + 4, 0xFFFFFFFFU); /* unused padding */
    source_id_put(buf + 8, &c->component);
    lt_put_le64(buf + 16, c->window_begin);
    lt_put_le64(buf + 24, c->window_end);
    return 0;
}

int lt_component_request_decode(const uint8_t *buf, size_t len, struct lt_component_request *c,
                                char *err, size_t errlen)
{
    int rc = need(len, LT_COMPONENT_REQUEST_SIZE, "ComponentRequest", err, errlen);
    if (rc) return rc;
    struct lt_component_request t;
    t.version = lt_get_le32(buf + 0);
    if (t.version != LT_COMPONENT_REQUEST_VERSION) {
        lt_seterr(err, errlen, "ComponentRequest: version %u, expected %u", t.version,
                  LT_COMPONENT_REQUEST_VERSION);
        return LT_EVERSION;
    }
    t.unused = lt_get_le32(buf + 4);
    source_id_get(buf + 8, &t.component);
    t.window_begin = lt_get_le64(buf + 16);
    t.window_end = lt_get_le64(buf + 24);
    if ((rc = source_id_check(&t.component, "ComponentRequest component", err, errlen))) return rc;
    if (t.window_begin > t.window_end) {
        lt_seterr(err, errlen, "ComponentRequest: window_begin %llu > window_end %llu",
                  (unsigned long long)t.window_begin, (unsigned long long)t.window_end);
        return LT_ERANGE;
    }
    *c = t;
    return 0;
}

/* ---- TimeSliceHeader v2 (32 bytes) ---- */

int lt_tsh_encode(const struct lt_timeslice_header *h, uint8_t *buf, size_t len)
{
    if (len < LT_TSH_SIZE) return LT_ESHORT;
    if (h->element_id.subsystem > LT_SUBSYS_TR_BUILDER) return LT_ERANGE;
    lt_put_le32(buf + 0, LT_TSH_MARKER);
    lt_put_le32(buf + 4, LT_TSH_VERSION);
    lt_put_le64(buf + 8, h->timeslice_number);
    lt_put_le32(buf + 16, h->run_number);
    lt_put_le32(buf + 20, 0xFFFFFFFFU); /* unused padding */
    source_id_put(buf + 24, &h->element_id);
    return 0;
}

int lt_tsh_decode(const uint8_t *buf, size_t len, struct lt_timeslice_header *h, char *err,
                  size_t errlen)
{
    int rc = need(len, LT_TSH_SIZE, "TimeSliceHeader", err, errlen);
    if (rc) return rc;
    struct lt_timeslice_header t;
    t.marker = lt_get_le32(buf + 0);
    t.version = lt_get_le32(buf + 4);
    rc = marker_version(t.marker, LT_TSH_MARKER, t.version, LT_TSH_VERSION, LT_TSH_VERSION,
                        "TimeSliceHeader", err, errlen);
    if (rc) return rc;
    t.timeslice_number = lt_get_le64(buf + 8);
    t.run_number = lt_get_le32(buf + 16);
    t.unused = lt_get_le32(buf + 20);
    source_id_get(buf + 24, &t.element_id);
    if ((rc = source_id_check(&t.element_id, "TimeSliceHeader element_id", err, errlen))) return rc;
    *h = t;
    return 0;
}

/* ---- names ---- */

const char *lt_subsystem_name(uint16_t subsystem)
{
    switch (subsystem) {
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

const char *lt_fragment_type_name(uint32_t fragment_type)
{
    static const char *const names[] = {
        [LT_FRAGTYPE_UNKNOWN] = "Unknown",
        [LT_FRAGTYPE_PROTO_WIB] = "ProtoWIB",
        [LT_FRAGTYPE_WIB] = "WIB",
        [LT_FRAGTYPE_DAPHNE] = "DAPHNE",
        [LT_FRAGTYPE_TDE_AMC] = "TDE_AMC",
        [LT_FRAGTYPE_FW_TRIGGER_PRIMITIVE] = "FW_Trigger_Primitive",
        [LT_FRAGTYPE_TRIGGER_PRIMITIVE] = "Trigger_Primitive",
        [LT_FRAGTYPE_TRIGGER_ACTIVITY] = "Trigger_Activity",
        [LT_FRAGTYPE_TRIGGER_CANDIDATE] = "Trigger_Candidate",
        [LT_FRAGTYPE_HARDWARE_SIGNAL] = "Hardware_Signal",
        [LT_FRAGTYPE_PACMAN] = "PACMAN",
        [LT_FRAGTYPE_MPD] = "MPD",
        [LT_FRAGTYPE_WIBETH] = "WIBEth",
    };
    if (fragment_type >= sizeof names / sizeof names[0]) return "Unknown";
    return names[fragment_type];
}

const char *lt_detector_name(uint16_t detector_id)
{
    switch (detector_id) {
    case LT_DETID_DAQ:
        return "DAQ";
    case 2:
        return "HD_PDS";
    case LT_DETID_HD_TPC:
        return "HD_TPC";
    case 4:
        return "HD_CRT";
    case 8:
        return "VD_CathodePDS";
    case 9:
        return "VD_MembranePDS";
    case 10:
        return "VD_BottomTPC";
    case 11:
        return "VD_TopTPC";
    case 12:
        return "VD_CRT";
    case 32:
        return "NDLAr_TPC";
    case 33:
        return "NDLAr_PDS";
    case 34:
        return "ND_GAr";
    default:
        return "Unknown";
    }
}

/* Joins the names of the set bits with '|'; bits without a name print as kUnassignedN. */
static void bits_str(uint32_t bits, const char *const *names, unsigned n_names, char *buf,
                     size_t len)
{
    if (!buf || len == 0) return;
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned b = 0; b < 32; b++) {
        if (!(bits & (1U << b))) continue;
        char tmp[24];
        const char *name = b < n_names ? names[b] : NULL;
        if (!name) {
            snprintf(tmp, sizeof tmp, "kUnassigned%u", b);
            name = tmp;
        }
        int n = snprintf(buf + used, len - used, "%s%s", used ? "|" : "", name);
        if (n < 0 || (size_t)n >= len - used) return; /* truncated, still terminated */
        used += (size_t)n;
    }
}

void lt_fragment_error_bits_str(uint32_t bits, char *buf, size_t len)
{
    static const char *const names[] = {"kDataNotFound", "kIncomplete", "kInvalidWindow"};
    bits_str(bits, names, 3, buf, len);
}

void lt_trh_error_bits_str(uint32_t bits, char *buf, size_t len)
{
    static const char *const names[] = {"kIncomplete", "kMismatch"};
    bits_str(bits, names, 2, buf, len);
}
