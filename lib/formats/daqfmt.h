/* DUNE-DAQ daqdataformats records we read and write, with their exact wire sizes:
 *   SourceID v2 (8 bytes), FragmentHeader v5 (72), TriggerRecordHeaderData v4 (64),
 *   ComponentRequest v2 (32), TimeSliceHeader v2 (32).
 * All little-endian. Encoders write into a caller buffer; decoders validate marker, version and
 * field ranges before filling the struct. Facts from DUNE-DAQ/daqdataformats (see docs/formats.md).
 */
#ifndef LARTRIG_DAQFMT_H
#define LARTRIG_DAQFMT_H

#include <stddef.h>
#include <stdint.h>

enum lt_subsystem {
    LT_SUBSYS_UNKNOWN = 0,
    LT_SUBSYS_DETECTOR_READOUT = 1,
    LT_SUBSYS_HW_SIGNALS = 2,
    LT_SUBSYS_TRIGGER = 3,
    LT_SUBSYS_TR_BUILDER = 4,
};

#define LT_SOURCE_ID_VERSION 2U
#define LT_SOURCE_ID_SIZE    8U
struct lt_source_id {
    uint16_t version;
    uint16_t subsystem; /* enum lt_subsystem */
    uint32_t id;
};

/* FragmentHeader */
#define LT_FRAGMENT_HEADER_MARKER  0x11112222U
#define LT_FRAGMENT_HEADER_VERSION 5U
#define LT_FRAGMENT_HEADER_SIZE    72U

/* FragmentErrorBits: bit numbers in error_bits. */
enum lt_fragment_error_bit {
    LT_FRAG_ERR_DATA_NOT_FOUND = 0, /* kDataNotFound */
    LT_FRAG_ERR_INCOMPLETE = 1,     /* kIncomplete */
    LT_FRAG_ERR_INVALID_WINDOW = 2, /* kInvalidWindow */
};

/* FragmentType values (daqdataformats FragmentHeader.hpp, FragmentHeader v5 numbering). */
enum lt_fragment_type {
    LT_FRAGTYPE_UNKNOWN = 0,
    LT_FRAGTYPE_PROTO_WIB = 1,
    LT_FRAGTYPE_WIB = 2,
    LT_FRAGTYPE_DAPHNE = 3,
    LT_FRAGTYPE_TDE_AMC = 4,
    LT_FRAGTYPE_FW_TRIGGER_PRIMITIVE = 5,
    LT_FRAGTYPE_TRIGGER_PRIMITIVE = 6,
    LT_FRAGTYPE_TRIGGER_ACTIVITY = 7,
    LT_FRAGTYPE_TRIGGER_CANDIDATE = 8,
    LT_FRAGTYPE_HARDWARE_SIGNAL = 9,
    LT_FRAGTYPE_PACMAN = 10,
    LT_FRAGTYPE_MPD = 11,
    LT_FRAGTYPE_WIBETH = 12,
};

/* detdataformats DetID::Subdetector */
enum lt_detector_id {
    LT_DETID_UNKNOWN = 0,
    LT_DETID_DAQ = 1,
    LT_DETID_HD_TPC = 3,
};

struct lt_fragment_header {
    uint32_t marker;  /* LT_FRAGMENT_HEADER_MARKER (set by encode) */
    uint32_t version; /* LT_FRAGMENT_HEADER_VERSION (set by encode) */
    uint64_t size;    /* header + payload bytes */
    uint64_t trigger_number;
    uint64_t trigger_timestamp;
    uint64_t window_begin;
    uint64_t window_end;
    uint32_t run_number;
    uint32_t error_bits;
    uint32_t fragment_type;
    uint16_t sequence_number;
    uint16_t detector_id; /* enum lt_detector_id */
    struct lt_source_id element_id;
};

/* TriggerRecordHeaderData. v4 and v5 share the 64-byte layout (v5 renamed error_bits to
 * status_bits); we write v4 and accept both. Bytes 52..55 are padding written as 0xFF. */
#define LT_TRH_MARKER  0x33334444U
#define LT_TRH_VERSION 4U
#define LT_TRH_SIZE    64U

/* TriggerRecordErrorBits: bit numbers in the TRH error_bits. */
enum lt_trh_error_bit {
    LT_TRH_ERR_INCOMPLETE = 0, /* kIncomplete: requested components are missing */
    LT_TRH_ERR_MISMATCH = 1,   /* kMismatch: fragments do not match the requested components */
};
struct lt_trigger_record_header {
    uint32_t marker;
    uint32_t version;
    uint64_t trigger_number;
    uint64_t trigger_timestamp;
    uint64_t num_requested_components;
    uint32_t run_number;
    uint32_t error_bits;
    uint64_t trigger_type;
    uint16_t sequence_number;
    uint16_t max_sequence_number;
    uint16_t unused; /* written as 0xFFFF (offset 52) */
    struct lt_source_id element_id;
};

/* ComponentRequest */
#define LT_COMPONENT_REQUEST_VERSION 2U
#define LT_COMPONENT_REQUEST_SIZE    32U
struct lt_component_request {
    uint32_t version;
    uint32_t unused;
    struct lt_source_id component;
    uint64_t window_begin;
    uint64_t window_end;
};

/* TimeSliceHeader (run files). v2 is 32 bytes: v1's 24 bytes plus the SourceID at offset 24. */
#define LT_TSH_MARKER  0x55556666U
#define LT_TSH_VERSION 2U
#define LT_TSH_SIZE    32U
struct lt_timeslice_header {
    uint32_t marker;
    uint32_t version;
    uint64_t timeslice_number;
    uint32_t run_number;
    uint32_t unused;
    struct lt_source_id element_id;
};

/* All encoders return 0 or a negative lt_error (LT_ESHORT when len is too small, LT_ERANGE for
 * a bad field); they fill in marker and version themselves. Decoders return 0 or LT_ESHORT,
 * LT_EMAGIC, LT_EVERSION, LT_ERANGE, LT_EFORMAT with a message in err (may be NULL). */
int lt_source_id_encode(const struct lt_source_id *s, uint8_t *buf, size_t len);
int lt_source_id_decode(const uint8_t *buf, size_t len, struct lt_source_id *s, char *err,
                        size_t errlen);

int lt_fragment_header_encode(const struct lt_fragment_header *h, uint8_t *buf, size_t len);
int lt_fragment_header_decode(const uint8_t *buf, size_t len, struct lt_fragment_header *h,
                              char *err, size_t errlen);

int lt_trh_encode(const struct lt_trigger_record_header *h, uint8_t *buf, size_t len);
int lt_trh_decode(const uint8_t *buf, size_t len, struct lt_trigger_record_header *h, char *err,
                  size_t errlen);

int lt_component_request_encode(const struct lt_component_request *c, uint8_t *buf, size_t len);
int lt_component_request_decode(const uint8_t *buf, size_t len, struct lt_component_request *c,
                                char *err, size_t errlen);

int lt_tsh_encode(const struct lt_timeslice_header *h, uint8_t *buf, size_t len);
int lt_tsh_decode(const uint8_t *buf, size_t len, struct lt_timeslice_header *h, char *err,
                  size_t errlen);

/* Names exactly as daqdataformats prints them: "Detector_Readout", "HW_Signals_Interface",
 * "Trigger", "TR_Builder" ("Unknown" otherwise) and "WIBEth", "Trigger_Candidate", ... */
const char *lt_subsystem_name(uint16_t subsystem);
const char *lt_fragment_type_name(uint32_t fragment_type);
/* "kDataNotFound|kIncomplete" style text of error bits into buf; unassigned bits print as
 * "kUnassignedN", no bits as "" . Always NUL-terminated (truncated if len is too small). */
void lt_fragment_error_bits_str(uint32_t bits, char *buf, size_t len);
/* Same for TriggerRecordHeader error bits ("kIncomplete|kMismatch"). */
void lt_trh_error_bits_str(uint32_t bits, char *buf, size_t len);
/* DetID subdetector name ("HD_TPC", "DAQ", ... "Unknown"). */
const char *lt_detector_name(uint16_t detector_id);

#endif
