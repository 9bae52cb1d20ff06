/* WIBEth frame: header bit positions, range checks, validation, and the fast 14-bit pack/unpack
 * checked against an independent bit-by-bit reference of the DUNE packing rule. */
#include "daqfmt.h"
#include "lt_error.h"
#include "wibeth.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static lt_wibeth_frame frame, frame2;
static uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS];
static uint16_t adc2[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS];

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Reference rule, one bit at a time: bit b of channel c in sample s is bit 14*c+b of the
 * sample's 896-bit little-endian block. */
static uint16_t ref_get(const lt_wibeth_frame *f, unsigned s, unsigned c)
{
    uint16_t v = 0;
    for (unsigned b = 0; b < 14; b++) {
        unsigned bit = 14 * c + b;
        if ((f->adc_words[s][bit / 64] >> (bit % 64)) & 1) v |= (uint16_t)(1U << b);
    }
    return v;
}

static void ref_set(lt_wibeth_frame *f, unsigned s, unsigned c, uint16_t v)
{
    for (unsigned b = 0; b < 14; b++) {
        unsigned bit = 14 * c + b;
        uint64_t m = 1ULL << (bit % 64);
        if ((v >> b) & 1)
            f->adc_words[s][bit / 64] |= m;
        else
            f->adc_words[s][bit / 64] &= ~m;
    }
}

static void random_adc(uint16_t a[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS])
{
    for (unsigned s = 0; s < LT_WIBETH_SAMPLES; s++)
        for (unsigned c = 0; c < LT_WIBETH_CHANNELS; c++) a[s][c] = (uint16_t)(rng() & 0x3FFF);
}

START_TEST(pack_matches_reference)
{
    for (int round = 0; round < 20; round++) {
        random_adc(adc);
        memset(&frame, 0xA5, sizeof frame);
        memset(&frame2, 0x5A, sizeof frame2);
        /* headers must survive packing untouched */
        uint64_t h0 = frame.daq_header[0], h3 = frame.wib_header[1];
        lt_wibeth_pack(&frame, adc);
        ck_assert_uint_eq(frame.daq_header[0], h0);
        ck_assert_uint_eq(frame.wib_header[1], h3);
        for (unsigned s = 0; s < LT_WIBETH_SAMPLES; s++)
            for (unsigned c = 0; c < LT_WIBETH_CHANNELS; c++) {
                ck_assert_uint_eq(ref_get(&frame, s, c), adc[s][c]);
                ref_set(&frame2, s, c, adc[s][c]);
            }
        /* the packing covers every bit of the ADC area: byte-identical to the reference */
        ck_assert_int_eq(memcmp(frame.adc_words, frame2.adc_words, sizeof frame.adc_words), 0);
    }
}
END_TEST

START_TEST(unpack_matches_reference)
{
    for (int round = 0; round < 20; round++) {
        for (unsigned s = 0; s < LT_WIBETH_SAMPLES; s++)
            for (unsigned w = 0; w < LT_WIBETH_WORDS_PER_SAMPLE; w++) frame.adc_words[s][w] = rng();
        lt_wibeth_unpack(&frame, adc);
        for (unsigned s = 0; s < LT_WIBETH_SAMPLES; s++)
            for (unsigned c = 0; c < LT_WIBETH_CHANNELS; c++) {
                ck_assert_uint_eq(adc[s][c], ref_get(&frame, s, c));
                ck_assert_uint_eq(lt_wibeth_get_adc(&frame, s, c), adc[s][c]);
            }
    }
}
END_TEST

/* The portable path gives the same bytes and values as the dispatched (maybe AVX2) one. */
START_TEST(scalar_and_dispatched_agree)
{
    for (int round = 0; round < 20; round++) {
        random_adc(adc);
        if (round == 0) adc[0][0] = 0xFFFF, adc[63][63] = 0xC000, adc[31][17] = 0x8123;
        memset(&frame, 0x11, sizeof frame);
        memset(&frame2, 0x22, sizeof frame2);
        memcpy(frame2.daq_header, frame.daq_header, 32);
        lt_wibeth_pack(&frame, adc);
        lt_wibeth_pack_scalar(&frame2, adc);
        ck_assert_int_eq(memcmp(&frame, &frame2, sizeof frame), 0);
        for (unsigned s = 0; s < LT_WIBETH_SAMPLES; s++)
            for (unsigned w = 0; w < LT_WIBETH_WORDS_PER_SAMPLE; w++) frame.adc_words[s][w] = rng();
        lt_wibeth_unpack(&frame, adc);
        lt_wibeth_unpack_scalar(&frame, adc2);
        ck_assert_int_eq(memcmp(adc, adc2, sizeof adc), 0);
    }
    const char *impl = lt_wibeth_pack_impl();
    ck_assert(strcmp(impl, "avx2") == 0 || strcmp(impl, "scalar") == 0);
}
END_TEST

START_TEST(pack_unpack_roundtrip_and_mask)
{
    random_adc(adc);
    adc[0][0] = 0xFFFF; /* wider than 14 bits: masked */
    adc[63][63] = 0xC001;
    lt_wibeth_pack(&frame, adc);
    lt_wibeth_unpack(&frame, adc2);
    ck_assert_uint_eq(adc2[0][0], 0x3FFF);
    ck_assert_uint_eq(adc2[63][63], 0x0001);
    adc[0][0] = 0x3FFF;
    adc[63][63] = 0x0001;
    ck_assert_int_eq(memcmp(adc, adc2, sizeof adc), 0);
}
END_TEST

START_TEST(known_bit_positions)
{
    memset(&frame, 0, sizeof frame);
    memset(adc, 0, sizeof adc);
    adc[0][0] = 0x3FFF; /* bits 0..13 of word 0 */
    lt_wibeth_pack(&frame, adc);
    ck_assert_uint_eq(frame.adc_words[0][0], 0x3FFFULL);
    adc[0][0] = 0;
    adc[0][4] = 0x3FFF; /* bits 56..69: straddles words 0 and 1 */
    lt_wibeth_pack(&frame, adc);
    ck_assert_uint_eq(frame.adc_words[0][0], 0xFF00000000000000ULL);
    ck_assert_uint_eq(frame.adc_words[0][1], 0x3FULL);
    adc[0][4] = 0;
    adc[1][63] = 0x2001; /* sample 1, bits 882..895: top of word 13 */
    lt_wibeth_pack(&frame, adc);
    ck_assert_uint_eq(frame.adc_words[0][1], 0);
    ck_assert_uint_eq(frame.adc_words[1][13], 0x2001ULL << 50);
    for (unsigned w = 0; w < 13; w++) ck_assert_uint_eq(frame.adc_words[1][w], 0);
}
END_TEST

START_TEST(set_get_single)
{
    memset(&frame, 0, sizeof frame);
    for (unsigned s = 0; s < LT_WIBETH_SAMPLES; s++)
        for (unsigned c = 0; c < LT_WIBETH_CHANNELS; c++)
            lt_wibeth_set_adc(&frame, s, c, (uint16_t)((s * 131 + c * 17) & 0x3FFF));
    for (unsigned s = 0; s < LT_WIBETH_SAMPLES; s++)
        for (unsigned c = 0; c < LT_WIBETH_CHANNELS; c++) {
            ck_assert_uint_eq(lt_wibeth_get_adc(&frame, s, c), (s * 131 + c * 17) & 0x3FFF);
            ck_assert_uint_eq(ref_get(&frame, s, c), (s * 131 + c * 17) & 0x3FFF);
        }
    /* overwriting one value leaves its neighbours (also across a word boundary) alone */
    lt_wibeth_set_adc(&frame, 5, 4, 0x3FFF);
    ck_assert_uint_eq(lt_wibeth_get_adc(&frame, 5, 3), (5 * 131 + 3 * 17) & 0x3FFF);
    ck_assert_uint_eq(lt_wibeth_get_adc(&frame, 5, 5), (5 * 131 + 5 * 17) & 0x3FFF);
    ck_assert_uint_eq(lt_wibeth_get_adc(&frame, 5, 4), 0x3FFF);
    lt_wibeth_set_adc(&frame, 5, 4, 0);
    ck_assert_uint_eq(lt_wibeth_get_adc(&frame, 5, 4), 0);
    ck_assert_uint_eq(lt_wibeth_get_adc(&frame, 5, 5), (5 * 131 + 5 * 17) & 0x3FFF);
    /* out of range: ignored / 0, no write outside the frame */
    ck_assert_uint_eq(lt_wibeth_get_adc(&frame, 64, 0), 0);
    ck_assert_uint_eq(lt_wibeth_get_adc(&frame, 0, 64), 0);
    lt_wibeth_set_adc(&frame, 64, 0, 1);
    lt_wibeth_set_adc(&frame, 0, 64, 1);
}
END_TEST

static struct lt_daqeth_header good_daq(void)
{
    struct lt_daqeth_header h = {.version = 1,
                                 .det_id = LT_DETID_HD_TPC,
                                 .crate = 517,
                                 .slot = 3,
                                 .stream = 7,
                                 .seq_id = 0xABC,
                                 .block_length = 0x382,
                                 .timestamp = 0x0123456789ABCDEFULL};
    return h;
}

START_TEST(daqeth_roundtrip_and_bits)
{
    memset(&frame, 0, sizeof frame);
    struct lt_daqeth_header h = good_daq(), d;
    ck_assert_int_eq(lt_daqeth_encode(&frame, &h), 0);
    lt_daqeth_decode(&frame, &d);
    ck_assert_uint_eq(d.version, 1);
    ck_assert_uint_eq(d.det_id, 3);
    ck_assert_uint_eq(d.crate, 517);
    ck_assert_uint_eq(d.slot, 3);
    ck_assert_uint_eq(d.stream, 7);
    ck_assert_uint_eq(d.seq_id, 0xABC);
    ck_assert_uint_eq(d.block_length, 0x382);
    ck_assert_uint_eq(d.timestamp, 0x0123456789ABCDEFULL);
    uint64_t expect =
        1ULL | 3ULL << 6 | 517ULL << 12 | 3ULL << 22 | 7ULL << 26 | 0xABCULL << 40 | 0x382ULL << 52;
    ck_assert_uint_eq(frame.daq_header[0], expect);
    ck_assert_uint_eq(frame.daq_header[1], 0x0123456789ABCDEFULL);

    /* each field alone at its maximum lands exactly in its bits */
    struct lt_daqeth_header z = {0};
    z.crate = 0x3FF;
    ck_assert_int_eq(lt_daqeth_encode(&frame, &z), 0);
    ck_assert_uint_eq(frame.daq_header[0], 0x3FFULL << 12);
    z.crate = 0;
    z.block_length = 0xFFF;
    ck_assert_int_eq(lt_daqeth_encode(&frame, &z), 0);
    ck_assert_uint_eq(frame.daq_header[0], 0xFFFULL << 52);
}
END_TEST

START_TEST(daqeth_out_of_range)
{
    struct lt_daqeth_header h;
    memset(&frame, 0, sizeof frame);
    h = good_daq(), h.version = 64;
    ck_assert_int_eq(lt_daqeth_encode(&frame, &h), LT_ERANGE);
    h = good_daq(), h.det_id = 64;
    ck_assert_int_eq(lt_daqeth_encode(&frame, &h), LT_ERANGE);
    h = good_daq(), h.crate = 1024;
    ck_assert_int_eq(lt_daqeth_encode(&frame, &h), LT_ERANGE);
    h = good_daq(), h.slot = 16;
    ck_assert_int_eq(lt_daqeth_encode(&frame, &h), LT_ERANGE);
    h = good_daq(), h.seq_id = 4096;
    ck_assert_int_eq(lt_daqeth_encode(&frame, &h), LT_ERANGE);
    h = good_daq(), h.block_length = 4096;
    ck_assert_int_eq(lt_daqeth_encode(&frame, &h), LT_ERANGE);
    /* a rejected encode leaves the frame untouched */
    ck_assert_uint_eq(frame.daq_header[0], 0);
}
END_TEST

START_TEST(wibeth_header_roundtrip_and_bits)
{
    struct lt_wibeth_header h = {.channel = 0xC3,
                                 .version = 0xA,
                                 .cd = 1,
                                 .context = 0x5A,
                                 .ready = 1,
                                 .calibration = 0,
                                 .pulser = 1,
                                 .word1 = 0xFEEDFACECAFEBEEFULL,
                                 .colddata_timestamp_0 = 0x7FFF,
                                 .colddata_timestamp_1 = 0x1234,
                                 .crc_err = 2,
                                 .link_valid = 3,
                                 .lol = 1,
                                 .wib_sync = 0,
                                 .femb_sync = 1},
                            d;
    memset(&frame, 0, sizeof frame);
    ck_assert_int_eq(lt_wibeth_header_encode(&frame, &h), 0);
    uint64_t expect = 0x7FFFULL | 0x1234ULL << 16 | 1ULL << 32 | 2ULL << 33 | 3ULL << 35 |
                      1ULL << 37 | 1ULL << 39 | 1ULL << 41 | 1ULL << 43 | 0x5AULL << 44 |
                      0xAULL << 52 | 0xC3ULL << 56;
    ck_assert_uint_eq(frame.wib_header[0], expect);
    ck_assert_uint_eq(frame.wib_header[1], 0xFEEDFACECAFEBEEFULL);
    lt_wibeth_header_decode(&frame, &d);
    ck_assert_uint_eq(d.channel, h.channel);
    ck_assert_uint_eq(d.version, h.version);
    ck_assert_uint_eq(d.cd, h.cd);
    ck_assert_uint_eq(d.context, h.context);
    ck_assert_uint_eq(d.ready, h.ready);
    ck_assert_uint_eq(d.calibration, h.calibration);
    ck_assert_uint_eq(d.pulser, h.pulser);
    ck_assert_uint_eq(d.word1, h.word1);
    ck_assert_uint_eq(d.colddata_timestamp_0, h.colddata_timestamp_0);
    ck_assert_uint_eq(d.colddata_timestamp_1, h.colddata_timestamp_1);
    ck_assert_uint_eq(d.crc_err, h.crc_err);
    ck_assert_uint_eq(d.link_valid, h.link_valid);
    ck_assert_uint_eq(d.lol, h.lol);
    ck_assert_uint_eq(d.wib_sync, h.wib_sync);
    ck_assert_uint_eq(d.femb_sync, h.femb_sync);

    struct lt_wibeth_header bad = h;
    bad.version = 16; /* 4 bits */
    ck_assert_int_eq(lt_wibeth_header_encode(&frame, &bad), LT_ERANGE);
    bad = h, bad.cd = 2;
    ck_assert_int_eq(lt_wibeth_header_encode(&frame, &bad), LT_ERANGE);
    bad = h, bad.colddata_timestamp_0 = 0x8000;
    ck_assert_int_eq(lt_wibeth_header_encode(&frame, &bad), LT_ERANGE);
    bad = h, bad.pulser = 2;
    ck_assert_int_eq(lt_wibeth_header_encode(&frame, &bad), LT_ERANGE);
    bad = h, bad.femb_sync = 4;
    ck_assert_int_eq(lt_wibeth_header_encode(&frame, &bad), LT_ERANGE);
}
END_TEST

START_TEST(validate_good_and_bad)
{
    static uint8_t buf[LT_WIBETH_FRAME_SIZE + 2];
    char err[128];
    memset(&frame, 0, sizeof frame);
    struct lt_daqeth_header h = good_daq();
    ck_assert_int_eq(lt_daqeth_encode(&frame, &h), 0);
    /* validate an unaligned copy, as a frame inside a fragment payload would be */
    memcpy(buf + 1, &frame, sizeof frame);
    ck_assert_int_eq(lt_wibeth_validate(buf + 1, LT_WIBETH_FRAME_SIZE, err, sizeof err), 0);

    ck_assert_int_eq(lt_wibeth_validate(buf + 1, LT_WIBETH_FRAME_SIZE - 1, err, sizeof err),
                     LT_ESHORT);
    ck_assert_ptr_nonnull(strstr(err, "7199"));
    ck_assert_int_eq(lt_wibeth_validate(buf + 1, 0, NULL, 0), LT_ESHORT);
    ck_assert_int_eq(lt_wibeth_validate(NULL, LT_WIBETH_FRAME_SIZE, NULL, 0), LT_ESHORT);
    ck_assert_int_eq(lt_wibeth_validate(buf, LT_WIBETH_FRAME_SIZE + 1, err, sizeof err),
                     LT_EFORMAT);

    lt_wibeth_frame f2 = frame;
    h.version = 2;
    ck_assert_int_eq(lt_daqeth_encode(&f2, &h), 0);
    ck_assert_int_eq(lt_wibeth_validate(&f2, sizeof f2, err, sizeof err), LT_EVERSION);
    ck_assert_ptr_nonnull(strstr(err, "version 2"));
    h = good_daq(), h.det_id = 0;
    ck_assert_int_eq(lt_daqeth_encode(&f2, &h), 0);
    ck_assert_int_eq(lt_wibeth_validate(&f2, sizeof f2, err, sizeof err), LT_ERANGE);
    h = good_daq(), h.timestamp = UINT64_MAX;
    ck_assert_int_eq(lt_daqeth_encode(&f2, &h), 0);
    ck_assert_int_eq(lt_wibeth_validate(&f2, sizeof f2, err, sizeof err), LT_ERANGE);
    f2 = frame;
    f2.wib_header[0] |= 1ULL << 15; /* pad_0 */
    ck_assert_int_eq(lt_wibeth_validate(&f2, sizeof f2, err, sizeof err), LT_EFORMAT);
    ck_assert_uint_eq(lt_wibeth_timestamp(&frame), 0x0123456789ABCDEFULL);
}
END_TEST

START_TEST(validate_frames)
{
    static lt_wibeth_frame fr[4];
    static uint8_t raw[4 * LT_WIBETH_FRAME_SIZE + 1];
    char err[200];
    size_t n = 99;
    memset(fr, 0, sizeof fr);
    for (unsigned i = 0; i < 4; i++) {
        struct lt_daqeth_header h = good_daq();
        h.timestamp = 1000000 + 2048ULL * i;
        h.seq_id = (uint16_t)i;
        ck_assert_int_eq(lt_daqeth_encode(&fr[i], &h), 0);
    }
    memcpy(raw + 1, fr, sizeof fr); /* unaligned, as inside a fragment */
    ck_assert_int_eq(lt_wibeth_validate_frames(raw + 1, sizeof fr, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(lt_wibeth_validate_frames(raw + 1, 0, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(lt_wibeth_validate_frames(raw + 1, sizeof fr - 1, &n, err, sizeof err),
                     LT_EFORMAT);
    ck_assert_int_eq(lt_wibeth_validate_frames(raw + 1, sizeof fr + 1, &n, err, sizeof err),
                     LT_EFORMAT);
    /* a gap in time */
    lt_wibeth_frame save = fr[2];
    fr[2].daq_header[1] += 2048;
    memcpy(raw + 1, fr, sizeof fr);
    ck_assert_int_eq(lt_wibeth_validate_frames(raw + 1, sizeof fr, &n, err, sizeof err),
                     LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "frame 2 of 4"));
    fr[2] = save;
    /* a frame of another stream */
    struct lt_daqeth_header h = good_daq();
    h.stream = 6;
    h.timestamp = 1000000 + 2048ULL * 3;
    ck_assert_int_eq(lt_daqeth_encode(&fr[3], &h), 0);
    memcpy(raw + 1, fr, sizeof fr);
    ck_assert_int_eq(lt_wibeth_validate_frames(raw + 1, sizeof fr, &n, err, sizeof err),
                     LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "frame 3 of 4"));
    /* an invalid frame inside */
    h = good_daq(), h.version = 3, h.timestamp = 1000000 + 2048ULL;
    ck_assert_int_eq(lt_daqeth_encode(&fr[1], &h), 0);
    memcpy(raw + 1, fr, sizeof fr);
    ck_assert_int_eq(lt_wibeth_validate_frames(raw + 1, sizeof fr, &n, err, sizeof err),
                     LT_EVERSION);
    ck_assert_ptr_nonnull(strstr(err, "frame 1 of 4"));
    ck_assert_uint_eq(n, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wibeth");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, pack_matches_reference);
    tcase_add_test(tc, unpack_matches_reference);
    tcase_add_test(tc, scalar_and_dispatched_agree);
    tcase_add_test(tc, pack_unpack_roundtrip_and_mask);
    tcase_add_test(tc, known_bit_positions);
    tcase_add_test(tc, set_get_single);
    tcase_add_test(tc, daqeth_roundtrip_and_bits);
    tcase_add_test(tc, daqeth_out_of_range);
    tcase_add_test(tc, wibeth_header_roundtrip_and_bits);
    tcase_add_test(tc, validate_good_and_bad);
    tcase_add_test(tc, validate_frames);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
