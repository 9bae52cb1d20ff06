/* DUNE-DAQ trgdataformats objects as they sit in a Trigger_Candidate fragment: a
 * TriggerCandidate is TriggerObjectOverlay<TriggerCandidateData, TriggerActivityData>, i.e. the
 * 48-byte TriggerCandidateData, a u64 n_inputs and n_inputs 80-byte TriggerActivityData. A
 * fragment's payload is one or more such TriggerCandidates back to back. Layouts are the x86-64
 * in-memory images (natural alignment, little-endian) of trgdataformats TriggerCandidateData v1
 * and TriggerActivityData v1 (the release with hdf5libs v2.8.0); the byte layout stays the same
 * through TriggerCandidateData v3 and TriggerActivityData v2, which only renumbered. Field
 * offsets are in docs/formats.md.
 *
 * lartrig's own mapping of its candidates and algorithms onto these fields is here too
 * (lt_ta_from_candidate, lt_tc_type_of_algo): docs/formats.md "TriggerCandidate fragment".
 *
 * Pure functions on caller buffers; errors are negative enum lt_error. */
#ifndef LARTRIG_TRGFMT_H
#define LARTRIG_TRGFMT_H

#include <stddef.h>
#include <stdint.h>

#include "candidate.h"

#define LT_TC_DATA_SIZE     48U /* sizeof(TriggerCandidateData) */
#define LT_TC_HEADER_SIZE   56U /* TriggerCandidateData + u64 n_inputs */
#define LT_TA_DATA_SIZE     80U /* sizeof(TriggerActivityData) */
#define LT_TC_VERSION       1U
#define LT_TA_VERSION       1U
#define LT_TRG_INVALID_TIME UINT64_MAX
#define LT_TRG_INVALID_CHAN UINT32_MAX
/* trgdataformats channel numbering of a cell: 2560 offline channels per APA, U then V then X,
 * so collection wire w of cell c is channel 2560 c + 1600 + w. */
#define LT_TRG_CHANNELS_PER_CELL 2560U
#define LT_TRG_X_OFFSET          1600U

/* TriggerCandidateData::Type (values of trgdataformats v1; later releases only append). */
enum lt_tc_type {
    LT_TC_TYPE_UNKNOWN = 0,
    LT_TC_TYPE_TIMING = 1,
    LT_TC_TYPE_TPC_LOW_E = 2,
    LT_TC_TYPE_SUPERNOVA = 3,
    LT_TC_TYPE_RANDOM = 4,
    LT_TC_TYPE_PRESCALE = 5,
    LT_TC_TYPE_ADC_SIMPLE_WINDOW = 6,
    LT_TC_TYPE_HORIZONTAL_MUON = 7,
    LT_TC_TYPE_MICHEL_ELECTRON = 8,
    LT_TC_TYPE_PLANE_COINCIDENCE = 9,
    LT_TC_TYPE_DBSCAN = 10,
    LT_TC_TYPE_CHANNEL_DISTANCE = 11,
    LT_TC_TYPE_BUNDLE = 12,
};
/* TriggerCandidateData::Algorithm. */
enum lt_tc_algorithm {
    LT_TC_ALGO_UNKNOWN = 0,
    LT_TC_ALGO_SUPERNOVA = 1,
    LT_TC_ALGO_HSI_EVENT = 2,
    LT_TC_ALGO_PRESCALE = 3,
    LT_TC_ALGO_ADC_SIMPLE_WINDOW = 4,
    LT_TC_ALGO_HORIZONTAL_MUON = 5,
    LT_TC_ALGO_MICHEL_ELECTRON = 6,
    LT_TC_ALGO_PLANE_COINCIDENCE = 7,
    LT_TC_ALGO_CUSTOM = 8,
};
#define LT_TA_TYPE_TPC 1U /* TriggerActivityData::Type::kTPC */
/* TriggerActivityData::Algorithm: kUnknown for the CNN (no entry for it), kHorizontalMuon (4, the
 * same value since TriggerActivityData v1) for the TP/TA baseline, whose clustering of adjacent
 * collection-wire TPs is what DUNE's HorizontalMuon TA maker does (docs/formats.md). */
#define LT_TA_ALGO_UNKNOWN         0U
#define LT_TA_ALGO_HORIZONTAL_MUON 4U

struct lt_tc_data {
    uint16_t version;
    uint64_t time_start, time_end, time_candidate; /* ticks */
    uint16_t detid;                                /* trgdataformats detid_t */
    uint32_t type;                                 /* enum lt_tc_type */
    uint32_t algorithm;                            /* enum lt_tc_algorithm */
};

struct lt_ta_data {
    uint16_t version;
    uint64_t time_start, time_end, time_peak, time_activity;
    uint32_t channel_start, channel_end, channel_peak;
    uint64_t adc_integral;
    uint16_t adc_peak;
    uint16_t detid;
    uint32_t type, algorithm;
};

/* TriggerCandidateData + n_inputs into buf (LT_TC_HEADER_SIZE bytes); padding written 0. */
int lt_tc_header_encode(const struct lt_tc_data *tc, uint64_t n_inputs, uint8_t *buf, size_t len);
/* Decode; LT_ESHORT when len < LT_TC_HEADER_SIZE, LT_ERANGE when n_inputs cannot fit in the
 * remaining len - LT_TC_HEADER_SIZE bytes (the inputs follow the header). */
int lt_tc_header_decode(const uint8_t *buf, size_t len, struct lt_tc_data *tc, uint64_t *n_inputs);
int lt_ta_encode(const struct lt_ta_data *ta, uint8_t *buf, size_t len);
int lt_ta_decode(const uint8_t *buf, size_t len, struct lt_ta_data *ta);

/* Name of a TC type ("kADCSimpleWindow", ...; "kType<N>" style names are the caller's). NULL for
 * a value this release does not define. */
const char *lt_tc_type_name(uint32_t type);

/* A trigger_type bit set (one bit per TC type, DUNE's module-level trigger convention) as
 * "kADCSimpleWindow|kSupernova" ("kType<N>" for undefined bits, "" for none). */
void lt_tc_type_bits_str(uint64_t bits, char *buf, size_t len);

/* lartrig candidate <-> TriggerActivityData: times as they are; time_activity = time_peak;
 * channels in trgdataformats numbering (LT_TRG_*); channel_peak the middle of the range;
 * adc_integral = adc_sum; adc_peak = peak_score clamped to 0..65535; detid = DetID kHD_TPC;
 * type kTPC; algorithm kUnknown for the CNN (no CNN entry in TriggerActivityData::Algorithm),
 * kHorizontalMuon for the TP/TA baseline, and back (any other value reads as the CNN). n_pixels
 * has no place in the TA and reads back 0. */
void lt_ta_from_candidate(const struct lt_candidate *c, struct lt_ta_data *ta);
/* LT_ERANGE when the TA's channels are not collection wires of one cell in that numbering
 * (a TA of another origin); c is filled as far as possible anyway. */
int lt_candidate_from_ta(const struct lt_ta_data *ta, struct lt_candidate *c);

#endif
