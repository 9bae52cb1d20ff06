/* WIBEth frame headers, validation and single-value ADC access. Header bit fields are assembled
 * with explicit shifts so the wire image never depends on the compiler's bit-field layout. The
 * bulk ADC pack/unpack lives in wibeth_pack.c. */
#include "wibeth.h"

#include "daqfmt.h"
#include "lt_error.h"

#include <stddef.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "the WIBEth frame struct is the little-endian wire image");
_Static_assert(offsetof(lt_wibeth_frame, adc_words) == 32, "ADC words start at byte 32");

/* One field of a 64-bit header word: where it starts and how wide it is. */
struct bitfield {
    unsigned shift;
    unsigned width;
};

/* DAQEthHeader word 0 (detdataformats DAQEthHeader.hpp). Bits 34..39 are reserved: encode writes
 * them as zero, decode and validation ignore them (DUNE leaves them undefined). */
static const struct bitfield DAQ_VERSION = {0, 6}, DAQ_DET_ID = {6, 6}, DAQ_CRATE = {12, 10},
                             DAQ_SLOT = {22, 4}, DAQ_STREAM = {26, 8}, DAQ_SEQ_ID = {40, 12},
                             DAQ_BLOCK_LENGTH = {52, 12};

/* WIBEthHeader word 0 (fddetdataformats WIBEthFrame.hpp). */
static const struct bitfield WIB_CD_TS0 = {0, 15}, WIB_PAD0 = {15, 1}, WIB_CD_TS1 = {16, 15},
                             WIB_PAD1 = {31, 1}, WIB_CD = {32, 1}, WIB_CRC_ERR = {33, 2},
                             WIB_LINK_VALID = {35, 2}, WIB_LOL = {37, 1}, WIB_WIB_SYNC = {38, 1},
                             WIB_FEMB_SYNC = {39, 2}, WIB_PULSER = {41, 1},
                             WIB_CALIBRATION = {42, 1}, WIB_READY = {43, 1}, WIB_CONTEXT = {44, 8},
                             WIB_VERSION = {52, 4}, WIB_CHANNEL = {56, 8};

static inline uint64_t field_mask(struct bitfield b)
{
    return b.width == 64 ? ~0ULL : ((1ULL << b.width) - 1);
}

static inline uint64_t get_field(uint64_t word, struct bitfield b)
{
    return (word >> b.shift) & field_mask(b);
}

/* Puts v into the field; returns nonzero when v does not fit (the word is left unchanged). */
static inline int put_field(uint64_t *word, struct bitfield b, uint64_t v)
{
    if (v & ~field_mask(b)) return -1;
    *word = (*word & ~(field_mask(b) << b.shift)) | (v << b.shift);
    return 0;
}

int lt_daqeth_encode(lt_wibeth_frame *f, const struct lt_daqeth_header *h)
{
    uint64_t w = 0;
    int bad = put_field(&w, DAQ_VERSION, h->version) | put_field(&w, DAQ_DET_ID, h->det_id) |
              put_field(&w, DAQ_CRATE, h->crate) | put_field(&w, DAQ_SLOT, h->slot) |
              put_field(&w, DAQ_STREAM, h->stream) | put_field(&w, DAQ_SEQ_ID, h->seq_id) |
              put_field(&w, DAQ_BLOCK_LENGTH, h->block_length);
    if (bad) return LT_ERANGE;
    f->daq_header[0] = w;
    f->daq_header[1] = h->timestamp;
    return 0;
}

static void daqeth_decode_words(const uint64_t words[2], struct lt_daqeth_header *h)
{
    uint64_t w = words[0];
    h->version = (uint8_t)get_field(w, DAQ_VERSION);
    h->det_id = (uint8_t)get_field(w, DAQ_DET_ID);
    h->crate = (uint16_t)get_field(w, DAQ_CRATE);
    h->slot = (uint8_t)get_field(w, DAQ_SLOT);
    h->stream = (uint8_t)get_field(w, DAQ_STREAM);
    h->seq_id = (uint16_t)get_field(w, DAQ_SEQ_ID);
    h->block_length = (uint16_t)get_field(w, DAQ_BLOCK_LENGTH);
    h->timestamp = words[1];
}

void lt_daqeth_decode(const lt_wibeth_frame *f, struct lt_daqeth_header *h)
{
    daqeth_decode_words(f->daq_header, h);
}

void lt_wibeth_header_as_wib(struct lt_wibeth_header *h, uint64_t timestamp, uint8_t channel)
{
    *h = (struct lt_wibeth_header){
        .channel = channel,
        .version = 1,
        .ready = 1,
        .link_valid = LT_WIBETH_LINK_VALID,
        .colddata_timestamp_0 = (uint16_t)(timestamp & 0x7FFFU),
        .colddata_timestamp_1 = (uint16_t)(timestamp & 0x7FFFU),
    };
}

int lt_wibeth_header_encode(lt_wibeth_frame *f, const struct lt_wibeth_header *h)
{
    uint64_t w = 0;
    int bad = put_field(&w, WIB_CD_TS0, h->colddata_timestamp_0) |
              put_field(&w, WIB_CD_TS1, h->colddata_timestamp_1) | put_field(&w, WIB_CD, h->cd) |
              put_field(&w, WIB_CRC_ERR, h->crc_err) |
              put_field(&w, WIB_LINK_VALID, h->link_valid) | put_field(&w, WIB_LOL, h->lol) |
              put_field(&w, WIB_WIB_SYNC, h->wib_sync) |
              put_field(&w, WIB_FEMB_SYNC, h->femb_sync) | put_field(&w, WIB_PULSER, h->pulser) |
              put_field(&w, WIB_CALIBRATION, h->calibration) | put_field(&w, WIB_READY, h->ready) |
              put_field(&w, WIB_CONTEXT, h->context) | put_field(&w, WIB_VERSION, h->version) |
              put_field(&w, WIB_CHANNEL, h->channel);
    if (bad) return LT_ERANGE;
    f->wib_header[0] = w;
    f->wib_header[1] = h->word1;
    return 0;
}

void lt_wibeth_header_decode(const lt_wibeth_frame *f, struct lt_wibeth_header *h)
{
    uint64_t w = f->wib_header[0];
    h->colddata_timestamp_0 = (uint16_t)get_field(w, WIB_CD_TS0);
    h->colddata_timestamp_1 = (uint16_t)get_field(w, WIB_CD_TS1);
    h->cd = (uint16_t)get_field(w, WIB_CD);
    h->crc_err = (uint8_t)get_field(w, WIB_CRC_ERR);
    h->link_valid = (uint8_t)get_field(w, WIB_LINK_VALID);
    h->lol = (uint8_t)get_field(w, WIB_LOL);
    h->wib_sync = (uint8_t)get_field(w, WIB_WIB_SYNC);
    h->femb_sync = (uint8_t)get_field(w, WIB_FEMB_SYNC);
    h->pulser = (uint8_t)get_field(w, WIB_PULSER);
    h->calibration = (uint8_t)get_field(w, WIB_CALIBRATION);
    h->ready = (uint8_t)get_field(w, WIB_READY);
    h->context = (uint8_t)get_field(w, WIB_CONTEXT);
    h->version = (uint8_t)get_field(w, WIB_VERSION);
    h->channel = (uint8_t)get_field(w, WIB_CHANNEL);
    h->word1 = f->wib_header[1];
}

int lt_wibeth_validate(const void *buf, size_t len, char *err, size_t errlen)
{
    if (!buf || len < LT_WIBETH_FRAME_SIZE) {
        lt_seterr(err, errlen, "WIBEth frame: %zu bytes, need %u", len, LT_WIBETH_FRAME_SIZE);
        return LT_ESHORT;
    }
    if (len != LT_WIBETH_FRAME_SIZE) {
        lt_seterr(err, errlen, "WIBEth frame: %zu bytes, expected exactly %u", len,
                  LT_WIBETH_FRAME_SIZE);
        return LT_EFORMAT;
    }
    /* The buffer may be unaligned (a byte payload): copy the four header words out. */
    uint64_t words[4];
    memcpy(words, buf, sizeof words);
    struct lt_daqeth_header h;
    daqeth_decode_words(words, &h);
    if (h.version != LT_DAQETH_VERSION) {
        lt_seterr(err, errlen, "WIBEth frame: DAQEthHeader version %u, expected %u", h.version,
                  LT_DAQETH_VERSION);
        return LT_EVERSION;
    }
    if (h.det_id == LT_DETID_UNKNOWN) {
        lt_seterr(err, errlen, "WIBEth frame: det_id is 0 (kUnknown)");
        return LT_ERANGE;
    }
    if (h.timestamp == UINT64_MAX) {
        lt_seterr(err, errlen, "WIBEth frame: timestamp is the invalid value 0x%llx",
                  (unsigned long long)h.timestamp);
        return LT_ERANGE;
    }
    if (get_field(words[2], WIB_PAD0) | get_field(words[2], WIB_PAD1)) {
        lt_seterr(err, errlen, "WIBEth frame: WIBEth header pad bits set (word 0x%016llx)",
                  (unsigned long long)words[2]);
        return LT_EFORMAT;
    }
    return 0;
}

int lt_wibeth_validate_frames(const void *buf, size_t len, size_t *n_frames, char *err,
                              size_t errlen)
{
    if (n_frames) *n_frames = 0;
    if (len % LT_WIBETH_FRAME_SIZE != 0) {
        lt_seterr(err, errlen, "WIBEth payload: %zu bytes is not a whole number of %u-byte frames",
                  len, LT_WIBETH_FRAME_SIZE);
        return LT_EFORMAT;
    }
    size_t n = len / LT_WIBETH_FRAME_SIZE;
    const uint8_t *p = buf;
    uint64_t first[4];
    for (size_t i = 0; i < n; i++) {
        const uint8_t *f = p + i * LT_WIBETH_FRAME_SIZE;
        char why[160];
        int rc = lt_wibeth_validate(f, LT_WIBETH_FRAME_SIZE, why, sizeof why);
        if (rc) {
            lt_seterr(err, errlen, "frame %zu of %zu: %s", i, n, why);
            return rc;
        }
        uint64_t w[4];
        memcpy(w, f, sizeof w);
        if (i == 0) {
            memcpy(first, w, sizeof w);
            continue;
        }
        /* crate, slot and stream: bits 12..33 of DAQEthHeader word 0 */
        const uint64_t addr = ((1ULL << 22) - 1) << 12;
        if ((w[0] & addr) != (first[0] & addr)) {
            lt_seterr(err, errlen, "frame %zu of %zu: crate/slot/stream differ from frame 0", i, n);
            return LT_EFORMAT;
        }
        if (w[1] != first[1] + (uint64_t)i * 2048U) {
            lt_seterr(err, errlen,
                      "frame %zu of %zu: timestamp %llu, expected %llu (2048 ticks apart)", i, n,
                      (unsigned long long)w[1],
                      (unsigned long long)(first[1] + (uint64_t)i * 2048U));
            return LT_EFORMAT;
        }
    }
    if (n_frames) *n_frames = n;
    return 0;
}

/* Slow path: channel i of a sample starts at bit 14*i of the sample's 14 words. */
uint16_t lt_wibeth_get_adc(const lt_wibeth_frame *f, unsigned sample, unsigned channel)
{
    if (sample >= LT_WIBETH_SAMPLES || channel >= LT_WIBETH_CHANNELS) return 0;
    const uint64_t *w = f->adc_words[sample];
    unsigned bit = LT_WIBETH_ADC_BITS * channel;
    unsigned word = bit / 64, shift = bit % 64;
    uint64_t v = w[word] >> shift;
    if (shift + LT_WIBETH_ADC_BITS > 64) v |= w[word + 1] << (64 - shift);
    return (uint16_t)(v & LT_WIBETH_ADC_MAX);
}

void lt_wibeth_set_adc(lt_wibeth_frame *f, unsigned sample, unsigned channel, uint16_t value)
{
    if (sample >= LT_WIBETH_SAMPLES || channel >= LT_WIBETH_CHANNELS) return;
    uint64_t *w = f->adc_words[sample];
    uint64_t v = value & LT_WIBETH_ADC_MAX;
    unsigned bit = LT_WIBETH_ADC_BITS * channel;
    unsigned word = bit / 64, shift = bit % 64;
    w[word] = (w[word] & ~((uint64_t)LT_WIBETH_ADC_MAX << shift)) | (v << shift);
    if (shift + LT_WIBETH_ADC_BITS > 64) {
        unsigned spill = 64 - shift; /* bits that went into w[word] */
        w[word + 1] = (w[word + 1] & ~((uint64_t)LT_WIBETH_ADC_MAX >> spill)) | (v >> spill);
    }
}
