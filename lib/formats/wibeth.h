/* The DUNE WIBEth frame (fddetdataformats WIBEthFrame): 16-byte DAQEthHeader, 16-byte WIBEth
 * header, then 64 time samples x 14 little-endian 64-bit words holding 64 channels of 14-bit ADC.
 * Channel i of a sample starts at bit 14*i of that sample's 896-bit block, LSB first, and may
 * straddle two words. 7200 bytes; consecutive frames of a stream are 2048 ticks apart.
 *
 * The frame struct is the wire image (little-endian host assumed, checked at compile time); the
 * header fields are read and written through encode/decode so bit fields never depend on the
 * compiler's bit-field layout. */
#ifndef LARTRIG_WIBETH_H
#define LARTRIG_WIBETH_H

#include <stddef.h>
#include <stdint.h>

#define LT_WIBETH_FRAME_SIZE       7200U
#define LT_WIBETH_CHANNELS         64U
#define LT_WIBETH_SAMPLES          64U
#define LT_WIBETH_WORDS_PER_SAMPLE 14U
#define LT_WIBETH_ADC_BITS         14U
#define LT_WIBETH_ADC_MAX          0x3FFFU
#define LT_DAQETH_VERSION          1U /* DAQEthHeader version we write and accept */

typedef struct lt_wibeth_frame {
    uint64_t daq_header[2]; /* DAQEthHeader: bit fields, then 64-bit timestamp */
    uint64_t wib_header[2]; /* WIBEthHeader */
    uint64_t adc_words[LT_WIBETH_SAMPLES][LT_WIBETH_WORDS_PER_SAMPLE];
} lt_wibeth_frame;

_Static_assert(sizeof(lt_wibeth_frame) == LT_WIBETH_FRAME_SIZE, "WIBEth frame must be 7200 bytes");

/* DAQEthHeader word 0, LSB first: version 6, det_id 6, crate 10, slot 4, stream 8, reserved 6,
 * seq_id 12, block_length 12. Word 1: timestamp (62.5 MHz ticks of the first sample). */
struct lt_daqeth_header {
    uint8_t version;       /* 6 bits */
    uint8_t det_id;        /* 6 bits */
    uint16_t crate;        /* 10 bits */
    uint8_t slot;          /* 4 bits */
    uint8_t stream;        /* 8 bits */
    uint16_t seq_id;       /* 12 bits */
    uint16_t block_length; /* 12 bits */
    uint64_t timestamp;
};

/* WIBEthHeader (two 64-bit words of status from the WIB firmware). Word 0, LSB first
 * (fddetdataformats WIBEthFrame.hpp): colddata_timestamp_0 15, pad 1, colddata_timestamp_1 15,
 * pad 1, cd 1, crc_err 2, link_valid 2, lol 1, wib_sync 1, femb_sync 2, pulser 1, calibration 1,
 * ready 1, context 8, version 4, channel 8. Word 1: extra_data, kept verbatim. */
struct lt_wibeth_header {
    uint8_t channel;     /* 8 bits */
    uint8_t version;     /* 4 bits */
    uint16_t cd;         /* 1 bit: which cold-data ASIC timestamp is reported */
    uint8_t context;     /* 8 bits */
    uint8_t ready;       /* 1 bit */
    uint8_t calibration; /* 1 bit */
    uint8_t pulser;      /* 1 bit */
    uint64_t word1;      /* second header word (extra_data) kept verbatim */
    /* Added after the first draft of this header, to cover every bit of word 0. */
    uint16_t colddata_timestamp_0; /* 15 bits */
    uint16_t colddata_timestamp_1; /* 15 bits */
    uint8_t crc_err;               /* 2 bits */
    uint8_t link_valid;            /* 2 bits */
    uint8_t lol;                   /* 1 bit: loss of lock */
    uint8_t wib_sync;              /* 1 bit */
    uint8_t femb_sync;             /* 2 bits */
};

/* What a WIB puts in the headers of every frame (DUNE's WIBEth emulators and readout agree):
 * DAQEthHeader block_length = the frame's 64-bit words after the first, 7200 / 8 - 1 = 899;
 * WIBEthHeader link_valid = 0b11 (both COLDATA links of the half-FEMB up), ready = 1, and the
 * two COLDATA ASICs' 15-bit timestamps = the low 15 bits of the frame's timestamp (the ASICs
 * count the same 62.5 MHz clock and are in sync). Producers of frames use these. */
#define LT_DAQETH_BLOCK_LENGTH (LT_WIBETH_FRAME_SIZE / 8U - 1U)
#define LT_WIBETH_LINK_VALID   3U
/* A WIBEth header as a healthy WIB fills it for a frame starting at `timestamp`. */
void lt_wibeth_header_as_wib(struct lt_wibeth_header *h, uint64_t timestamp, uint8_t channel);

/* Encode writes the fields into the frame, rejecting values wider than their bit field
 * (LT_ERANGE). Decode never fails on a 7200-byte frame; validation is separate. */
int lt_daqeth_encode(lt_wibeth_frame *f, const struct lt_daqeth_header *h);
void lt_daqeth_decode(const lt_wibeth_frame *f, struct lt_daqeth_header *h);
int lt_wibeth_header_encode(lt_wibeth_frame *f, const struct lt_wibeth_header *h);
void lt_wibeth_header_decode(const lt_wibeth_frame *f, struct lt_wibeth_header *h);

/* Validate a received buffer as one frame: exact length, DAQEthHeader version, det_id set (not
 * kUnknown), timestamp not the invalid all-ones value, and pad bits of the WIBEth header zero.
 * Returns 0 or a negative lt_error with a message in err. */
int lt_wibeth_validate(const void *buf, size_t len, char *err, size_t errlen);

/* Validate a fragment payload of WIBEth frames: len a multiple of 7200 (0 frames is fine), each
 * frame valid as above, all frames from the same crate/slot/stream, timestamps exactly 2048
 * ticks apart (LT_EFORMAT otherwise, naming the frame). *n_frames (may be NULL) gets the count. */
int lt_wibeth_validate_frames(const void *buf, size_t len, size_t *n_frames, char *err,
                              size_t errlen);

/* Fast bulk pack/unpack of all 64x64 ADC values, adc[sample][channel]. Values are masked to
 * 14 bits on pack. */
void lt_wibeth_pack(lt_wibeth_frame *f, const uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS]);
void lt_wibeth_unpack(const lt_wibeth_frame *f,
                      uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS]);
/* The portable versions (same results bit for bit); pack/unpack use AVX2 when the CPU has it.
 * lt_wibeth_pack_impl() names the path in use: "avx2" or "scalar". */
void lt_wibeth_pack_scalar(lt_wibeth_frame *f,
                           const uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS]);
void lt_wibeth_unpack_scalar(const lt_wibeth_frame *f,
                             uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS]);
const char *lt_wibeth_pack_impl(void);

/* Single-value access (slow path, for tests and tools). */
uint16_t lt_wibeth_get_adc(const lt_wibeth_frame *f, unsigned sample, unsigned channel);
void lt_wibeth_set_adc(lt_wibeth_frame *f, unsigned sample, unsigned channel, uint16_t value);

/* Timestamp of the frame's first sample (DAQEthHeader word 1) without a full decode. */
static inline uint64_t lt_wibeth_timestamp(const lt_wibeth_frame *f)
{
    return f->daq_header[1];
}

#endif
