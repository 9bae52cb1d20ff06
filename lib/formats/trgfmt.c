/* trgdataformats TriggerCandidate / TriggerActivityData byte images (see trgfmt.h). Offsets are
 * those of the C++ structs on x86-64: every timestamp_t 8-aligned, the enums `int` (4 bytes). */
#include "trgfmt.h"

#include <stdio.h>
#include <string.h>

#include "daqfmt.h"
#include "le.h"
#include "lt_error.h"

/* TriggerCandidateData: version u16 @0, time_start @8, time_end @16, time_candidate @24,
 * detid u16 @32, type i32 @36, algorithm i32 @40, 4 bytes tail padding; then n_inputs u64 @48. */
enum {
    TC_VERSION = 0,
    TC_TIME_START = 8,
    TC_TIME_END = 16,
    TC_TIME_CANDIDATE = 24,
    TC_DETID = 32,
    TC_TYPE = 36,
    TC_ALGORITHM = 40,
    TC_N_INPUTS = 48,
};
/* TriggerActivityData: version u16 @0, time_start @8, time_end @16, time_peak @24,
 * time_activity @32, channel_start u32 @40, channel_end @44, channel_peak @48, 4 padding,
 * adc_integral u64 @56, adc_peak u16 @64, detid u16 @66, type i32 @68, algorithm i32 @72, 4. */
enum {
    TA_VERSION = 0,
    TA_TIME_START = 8,
    TA_TIME_END = 16,
    TA_TIME_PEAK = 24,
    TA_TIME_ACTIVITY = 32,
    TA_CHANNEL_START = 40,
    TA_CHANNEL_END = 44,
    TA_CHANNEL_PEAK = 48,
    TA_ADC_INTEGRAL = 56,
    TA_ADC_PEAK = 64,
    TA_DETID = 66,
    TA_TYPE = 68,
    TA_ALGORITHM = 72,
};

int lt_tc_header_encode(const struct lt_tc_data *tc, uint64_t n_inputs, uint8_t *buf, size_t len)
{
    if (len < LT_TC_HEADER_SIZE) return LT_ESHORT;
    memset(buf, 0, LT_TC_HEADER_SIZE);
    lt_put_le16(buf + TC_VERSION, tc->version);
    lt_put_le64(buf + TC_TIME_START, tc->time_start);
    lt_put_le64(buf + TC_TIME_END, tc->time_end);
    lt_put_le64(buf + TC_TIME_CANDIDATE, tc->time_candidate);
    lt_put_le16(buf + TC_DETID, tc->detid);
    lt_put_le32(buf + TC_TYPE, tc->type);
    lt_put_le32(buf + TC_ALGORITHM, tc->algorithm);
    lt_put_le64(buf + TC_N_INPUTS, n_inputs);
    return 0;
}

int lt_tc_header_decode(const uint8_t *buf, size_t len, struct lt_tc_data *tc, uint64_t *n_inputs)
{
    if (len < LT_TC_HEADER_SIZE) return LT_ESHORT;
    tc->version = lt_get_le16(buf + TC_VERSION);
    tc->time_start = lt_get_le64(buf + TC_TIME_START);
    tc->time_end = lt_get_le64(buf + TC_TIME_END);
    tc->time_candidate = lt_get_le64(buf + TC_TIME_CANDIDATE);
    tc->detid = lt_get_le16(buf + TC_DETID);
    tc->type = lt_get_le32(buf + TC_TYPE);
    tc->algorithm = lt_get_le32(buf + TC_ALGORITHM);
    *n_inputs = lt_get_le64(buf + TC_N_INPUTS);
    if (*n_inputs > (len - LT_TC_HEADER_SIZE) / LT_TA_DATA_SIZE) return LT_ERANGE;
    return 0;
}

int lt_ta_encode(const struct lt_ta_data *ta, uint8_t *buf, size_t len)
{
    if (len < LT_TA_DATA_SIZE) return LT_ESHORT;
    memset(buf, 0, LT_TA_DATA_SIZE);
    lt_put_le16(buf + TA_VERSION, ta->version);
    lt_put_le64(buf + TA_TIME_START, ta->time_start);
    lt_put_le64(buf + TA_TIME_END, ta->time_end);
    lt_put_le64(buf + TA_TIME_PEAK, ta->time_peak);
    lt_put_le64(buf + TA_TIME_ACTIVITY, ta->time_activity);
    lt_put_le32(buf + TA_CHANNEL_START, ta->channel_start);
    lt_put_le32(buf + TA_CHANNEL_END, ta->channel_end);
    lt_put_le32(buf + TA_CHANNEL_PEAK, ta->channel_peak);
    lt_put_le64(buf + TA_ADC_INTEGRAL, ta->adc_integral);
    lt_put_le16(buf + TA_ADC_PEAK, ta->adc_peak);
    lt_put_le16(buf + TA_DETID, ta->detid);
    lt_put_le32(buf + TA_TYPE, ta->type);
    lt_put_le32(buf + TA_ALGORITHM, ta->algorithm);
    return 0;
}

int lt_ta_decode(const uint8_t *buf, size_t len, struct lt_ta_data *ta)
{
    if (len < LT_TA_DATA_SIZE) return LT_ESHORT;
    ta->version = lt_get_le16(buf + TA_VERSION);
    ta->time_start = lt_get_le64(buf + TA_TIME_START);
    ta->time_end = lt_get_le64(buf + TA_TIME_END);
    ta->time_peak = lt_get_le64(buf + TA_TIME_PEAK);
    ta->time_activity = lt_get_le64(buf + TA_TIME_ACTIVITY);
    ta->channel_start = lt_get_le32(buf + TA_CHANNEL_START);
    ta->channel_end = lt_get_le32(buf + TA_CHANNEL_END);
    ta->channel_peak = lt_get_le32(buf + TA_CHANNEL_PEAK);
    ta->adc_integral = lt_get_le64(buf + TA_ADC_INTEGRAL);
    ta->adc_peak = lt_get_le16(buf + TA_ADC_PEAK);
    ta->detid = lt_get_le16(buf + TA_DETID);
    ta->type = lt_get_le32(buf + TA_TYPE);
    ta->algorithm = lt_get_le32(buf + TA_ALGORITHM);
    return 0;
}

const char *lt_tc_type_name(uint32_t type)
{
    static const char *const names[] = {
        "kUnknown",  "kTiming",          "kTPCLowE",        "kSupernova",      "kRandom",
        "kPrescale", "kADCSimpleWindow", "kHorizontalMuon", "kMichelElectron", "kPlaneCoincidence",
        "kDBSCAN",   "kChannelDistance", "kBundle",
    };
    return type < sizeof names / sizeof names[0] ? names[type] : NULL;
}

void lt_tc_type_bits_str(uint64_t bits, char *buf, size_t len)
{
    size_t n = 0;
    if (len) buf[0] = '\0';
    for (unsigned b = 0; b < 64 && n < len; b++) {
        if (!(bits >> b & 1U)) continue;
        const char *name = lt_tc_type_name(b);
        int w = name ? snprintf(buf + n, len - n, "%s%s", n ? "|" : "", name)
                     : snprintf(buf + n, len - n, "%skType%u", n ? "|" : "", b);
        if (w < 0) break;
        n += (size_t)w;
    }
}

void lt_ta_from_candidate(const struct lt_candidate *c, struct lt_ta_data *ta)
{
    uint32_t base = c->cell * LT_TRG_CHANNELS_PER_CELL + LT_TRG_X_OFFSET;
    *ta = (struct lt_ta_data){
        .version = LT_TA_VERSION,
        .time_start = c->time_start,
        .time_end = c->time_end,
        .time_peak = c->time_peak,
        .time_activity = c->time_peak,
        .channel_start = base + c->channel_start,
        .channel_end = base + c->channel_end,
        .channel_peak = base + (uint32_t)(c->channel_start + c->channel_end) / 2U,
        .adc_integral = c->adc_sum,
        .adc_peak = c->peak_score < 0        ? 0
                    : c->peak_score > 0xFFFF ? 0xFFFF
                                             : (uint16_t)c->peak_score,
        .detid = LT_DETID_HD_TPC,
        .type = LT_TA_TYPE_TPC,
        .algorithm =
            c->algorithm == LT_CAND_ALGO_TP ? LT_TA_ALGO_HORIZONTAL_MUON : LT_TA_ALGO_UNKNOWN,
    };
}

int lt_candidate_from_ta(const struct lt_ta_data *ta, struct lt_candidate *c)
{
    uint32_t cell = ta->channel_start / LT_TRG_CHANNELS_PER_CELL;
    uint32_t s = ta->channel_start % LT_TRG_CHANNELS_PER_CELL;
    uint32_t e = ta->channel_end - cell * LT_TRG_CHANNELS_PER_CELL;
    *c = (struct lt_candidate){
        .time_start = ta->time_start,
        .time_end = ta->time_end,
        .time_peak = ta->time_peak,
        .cell = cell,
        .peak_score = ta->adc_peak,
        .adc_sum = ta->adc_integral > UINT32_MAX ? UINT32_MAX : (uint32_t)ta->adc_integral,
        .algorithm =
            ta->algorithm == LT_TA_ALGO_HORIZONTAL_MUON ? LT_CAND_ALGO_TP : LT_CAND_ALGO_CNN,
    };
    if (ta->channel_start == LT_TRG_INVALID_CHAN || ta->channel_end < ta->channel_start ||
        s < LT_TRG_X_OFFSET || e >= LT_TRG_CHANNELS_PER_CELL)
        return LT_ERANGE;
    c->channel_start = (uint16_t)(s - LT_TRG_X_OFFSET);
    c->channel_end = (uint16_t)(e - LT_TRG_X_OFFSET);
    return 0;
}
