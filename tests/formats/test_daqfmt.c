/* daqdataformats records: byte offsets against the DUNE static_asserts, roundtrips, and every
 * kind of bad input (each short length, bad marker/version, out-of-range fields). */
#include "daqfmt.h"
#include "lt_error.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rd(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static void wr(uint8_t *p, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static struct lt_fragment_header good_frag(void)
{
    struct lt_fragment_header h;
    memset(&h, 0, sizeof h);
    h.size = 72 + 7200 * 3;
    h.trigger_number = 0x1122334455667788ULL;
    h.trigger_timestamp = 0x0102030405060708ULL;
    h.window_begin = 1000;
    h.window_end = 2000;
    h.run_number = 4242;
    h.error_bits = 0x5;
    h.fragment_type = LT_FRAGTYPE_WIBETH;
    h.sequence_number = 7;
    h.detector_id = LT_DETID_HD_TPC;
    h.element_id.version = 2;
    h.element_id.subsystem = LT_SUBSYS_DETECTOR_READOUT;
    h.element_id.id = 0x305;
    return h;
}

START_TEST(source_id)
{
    uint8_t b[8];
    struct lt_source_id s = {.version = 2, .subsystem = LT_SUBSYS_TRIGGER, .id = 0xDEADBEEF}, d;
    ck_assert_int_eq(lt_source_id_encode(&s, b, sizeof b), 0);
    ck_assert_uint_eq(rd(b, 2), 2);
    ck_assert_uint_eq(rd(b + 2, 2), 3);
    ck_assert_uint_eq(rd(b + 4, 4), 0xDEADBEEF);
    ck_assert_int_eq(lt_source_id_decode(b, 8, &d, NULL, 0), 0);
    ck_assert_uint_eq(d.version, 2);
    ck_assert_uint_eq(d.subsystem, 3);
    ck_assert_uint_eq(d.id, 0xDEADBEEF);
    for (size_t n = 0; n < 8; n++) {
        ck_assert_int_eq(lt_source_id_decode(b, n, &d, NULL, 0), LT_ESHORT);
        ck_assert_int_eq(lt_source_id_encode(&s, b, n), LT_ESHORT);
    }
    char err[128];
    wr(b, 2, 1);
    ck_assert_int_eq(lt_source_id_decode(b, 8, &d, err, sizeof err), LT_EVERSION);
    wr(b, 2, 2);
    wr(b + 2, 2, 5);
    ck_assert_int_eq(lt_source_id_decode(b, 8, &d, err, sizeof err), LT_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "subsystem 5"));
    s.subsystem = 5;
    ck_assert_int_eq(lt_source_id_encode(&s, b, 8), LT_ERANGE);
}
END_TEST

START_TEST(fragment_header_layout)
{
    uint8_t b[LT_FRAGMENT_HEADER_SIZE];
    struct lt_fragment_header h = good_frag(), d;
    memset(b, 0xEE, sizeof b);
    ck_assert_int_eq(lt_fragment_header_encode(&h, b, sizeof b), 0);
    /* offsets from daqdataformats FragmentHeader.hpp static_asserts */
    ck_assert_uint_eq(rd(b + 0, 4), 0x11112222);
    ck_assert_uint_eq(rd(b + 4, 4), 5);
    ck_assert_uint_eq(rd(b + 8, 8), 72 + 7200 * 3);
    ck_assert_uint_eq(rd(b + 16, 8), 0x1122334455667788ULL);
    ck_assert_uint_eq(rd(b + 24, 8), 0x0102030405060708ULL);
    ck_assert_uint_eq(rd(b + 32, 8), 1000);
    ck_assert_uint_eq(rd(b + 40, 8), 2000);
    ck_assert_uint_eq(rd(b + 48, 4), 4242);
    ck_assert_uint_eq(rd(b + 52, 4), 5);
    ck_assert_uint_eq(rd(b + 56, 4), 12);
    ck_assert_uint_eq(rd(b + 60, 2), 7);
    ck_assert_uint_eq(rd(b + 62, 2), 3);
    ck_assert_uint_eq(rd(b + 64, 2), 2);
    ck_assert_uint_eq(rd(b + 66, 2), 1);
    ck_assert_uint_eq(rd(b + 68, 4), 0x305);
    ck_assert_int_eq(lt_fragment_header_decode(b, sizeof b, &d, NULL, 0), 0);
    ck_assert_uint_eq(d.marker, LT_FRAGMENT_HEADER_MARKER);
    ck_assert_uint_eq(d.version, 5);
    ck_assert_uint_eq(d.size, h.size);
    ck_assert_uint_eq(d.trigger_number, h.trigger_number);
    ck_assert_uint_eq(d.trigger_timestamp, h.trigger_timestamp);
    ck_assert_uint_eq(d.window_begin, 1000);
    ck_assert_uint_eq(d.window_end, 2000);
    ck_assert_uint_eq(d.run_number, 4242);
    ck_assert_uint_eq(d.error_bits, 5);
    ck_assert_uint_eq(d.fragment_type, 12);
    ck_assert_uint_eq(d.sequence_number, 7);
    ck_assert_uint_eq(d.detector_id, 3);
    ck_assert_uint_eq(d.element_id.subsystem, 1);
    ck_assert_uint_eq(d.element_id.id, 0x305);
}
END_TEST

START_TEST(fragment_header_bad)
{
    uint8_t good[LT_FRAGMENT_HEADER_SIZE], b[LT_FRAGMENT_HEADER_SIZE];
    struct lt_fragment_header h = good_frag(), d;
    char err[160];
    ck_assert_int_eq(lt_fragment_header_encode(&h, good, sizeof good), 0);
    for (size_t n = 0; n < LT_FRAGMENT_HEADER_SIZE; n++) {
        ck_assert_int_eq(lt_fragment_header_decode(good, n, &d, err, sizeof err), LT_ESHORT);
        ck_assert_int_eq(lt_fragment_header_encode(&h, b, n), LT_ESHORT);
    }
    memcpy(b, good, sizeof b);
    wr(b, 4, 0x11112223);
    ck_assert_int_eq(lt_fragment_header_decode(b, sizeof b, &d, err, sizeof err), LT_EMAGIC);
    ck_assert_ptr_nonnull(strstr(err, "0x11112223"));
    memcpy(b, good, sizeof b);
    wr(b + 4, 4, 4);
    ck_assert_int_eq(lt_fragment_header_decode(b, sizeof b, &d, err, sizeof err), LT_EVERSION);
    memcpy(b, good, sizeof b);
    wr(b + 8, 8, 71); /* size smaller than the header */
    ck_assert_int_eq(lt_fragment_header_decode(b, sizeof b, &d, err, sizeof err), LT_EFORMAT);
    memcpy(b, good, sizeof b);
    wr(b + 32, 8, 2001); /* window_begin > window_end */
    ck_assert_int_eq(lt_fragment_header_decode(b, sizeof b, &d, err, sizeof err), LT_ERANGE);
    memcpy(b, good, sizeof b);
    wr(b + 66, 2, 9); /* subsystem */
    ck_assert_int_eq(lt_fragment_header_decode(b, sizeof b, &d, err, sizeof err), LT_ERANGE);
    memcpy(b, good, sizeof b);
    wr(b + 64, 2, 1); /* SourceID version */
    ck_assert_int_eq(lt_fragment_header_decode(b, sizeof b, &d, err, sizeof err), LT_EVERSION);
    memcpy(b, good, sizeof b);
    wr(b + 62, 2, 64); /* detector_id is 6 bits */
    ck_assert_int_eq(lt_fragment_header_decode(b, sizeof b, &d, err, sizeof err), LT_ERANGE);
    /* exactly the header with no payload is legal (an empty kDataNotFound fragment) */
    memcpy(b, good, sizeof b);
    wr(b + 8, 8, 72);
    ck_assert_int_eq(lt_fragment_header_decode(b, sizeof b, &d, err, sizeof err), 0);

    struct lt_fragment_header bad = h;
    bad.size = 10;
    ck_assert_int_eq(lt_fragment_header_encode(&bad, b, sizeof b), LT_ERANGE);
    bad = h, bad.window_begin = 3000;
    ck_assert_int_eq(lt_fragment_header_encode(&bad, b, sizeof b), LT_ERANGE);
    bad = h, bad.element_id.subsystem = 7;
    ck_assert_int_eq(lt_fragment_header_encode(&bad, b, sizeof b), LT_ERANGE);
}
END_TEST

static struct lt_trigger_record_header good_trh(void)
{
    struct lt_trigger_record_header h;
    memset(&h, 0, sizeof h);
    h.trigger_number = 99;
    h.trigger_timestamp = 0xAABBCCDDEEFF0011ULL;
    h.num_requested_components = 160;
    h.run_number = 12;
    h.error_bits = 1;
    h.trigger_type = 0x8000000000000001ULL;
    h.sequence_number = 0;
    h.max_sequence_number = 0;
    h.element_id.version = 2;
    h.element_id.subsystem = LT_SUBSYS_TR_BUILDER;
    h.element_id.id = 0;
    return h;
}

START_TEST(trh)
{
    uint8_t b[LT_TRH_SIZE], good[LT_TRH_SIZE];
    struct lt_trigger_record_header h = good_trh(), d;
    char err[160];
    ck_assert_int_eq(lt_trh_encode(&h, good, sizeof good), 0);
    ck_assert_uint_eq(rd(good + 0, 4), 0x33334444);
    ck_assert_uint_eq(rd(good + 4, 4), 4);
    ck_assert_uint_eq(rd(good + 8, 8), 99);
    ck_assert_uint_eq(rd(good + 16, 8), 0xAABBCCDDEEFF0011ULL);
    ck_assert_uint_eq(rd(good + 24, 8), 160);
    ck_assert_uint_eq(rd(good + 32, 4), 12);
    ck_assert_uint_eq(rd(good + 36, 4), 1);
    ck_assert_uint_eq(rd(good + 40, 8), 0x8000000000000001ULL);
    ck_assert_uint_eq(rd(good + 48, 2), 0);
    ck_assert_uint_eq(rd(good + 50, 2), 0);
    ck_assert_uint_eq(rd(good + 52, 4), 0xFFFFFFFF);
    ck_assert_uint_eq(rd(good + 56, 2), 2);
    ck_assert_uint_eq(rd(good + 58, 2), 4);
    ck_assert_uint_eq(rd(good + 60, 4), 0);
    ck_assert_int_eq(lt_trh_decode(good, sizeof good, &d, err, sizeof err), 0);
    ck_assert_uint_eq(d.trigger_number, 99);
    ck_assert_uint_eq(d.trigger_timestamp, h.trigger_timestamp);
    ck_assert_uint_eq(d.num_requested_components, 160);
    ck_assert_uint_eq(d.run_number, 12);
    ck_assert_uint_eq(d.error_bits, 1);
    ck_assert_uint_eq(d.trigger_type, h.trigger_type);
    ck_assert_uint_eq(d.element_id.subsystem, LT_SUBSYS_TR_BUILDER);

    for (size_t n = 0; n < LT_TRH_SIZE; n++) {
        ck_assert_int_eq(lt_trh_decode(good, n, &d, err, sizeof err), LT_ESHORT);
        ck_assert_int_eq(lt_trh_encode(&h, b, n), LT_ESHORT);
    }
    memcpy(b, good, sizeof b);
    wr(b, 4, 0x44443333);
    ck_assert_int_eq(lt_trh_decode(b, sizeof b, &d, err, sizeof err), LT_EMAGIC);
    memcpy(b, good, sizeof b);
    wr(b + 4, 4, 3); /* v3 is 56 bytes with a 16-bit trigger_type: not ours */
    ck_assert_int_eq(lt_trh_decode(b, sizeof b, &d, err, sizeof err), LT_EVERSION);
    wr(b + 4, 4, 6);
    ck_assert_int_eq(lt_trh_decode(b, sizeof b, &d, err, sizeof err), LT_EVERSION);
    wr(b + 4, 4, 5); /* same layout, accepted */
    ck_assert_int_eq(lt_trh_decode(b, sizeof b, &d, err, sizeof err), 0);
    memcpy(b, good, sizeof b);
    wr(b + 48, 2, 2); /* sequence_number > max_sequence_number */
    ck_assert_int_eq(lt_trh_decode(b, sizeof b, &d, err, sizeof err), LT_ERANGE);
    memcpy(b, good, sizeof b);
    wr(b + 58, 2, 100);
    ck_assert_int_eq(lt_trh_decode(b, sizeof b, &d, err, sizeof err), LT_ERANGE);
    struct lt_trigger_record_header bad = h;
    bad.sequence_number = 3;
    ck_assert_int_eq(lt_trh_encode(&bad, b, sizeof b), LT_ERANGE);
}
END_TEST

START_TEST(component_request)
{
    uint8_t b[LT_COMPONENT_REQUEST_SIZE], good[LT_COMPONENT_REQUEST_SIZE];
    struct lt_component_request c = {0}, d;
    char err[160];
    c.component.version = 2;
    c.component.subsystem = LT_SUBSYS_DETECTOR_READOUT;
    c.component.id = 0x0127;
    c.window_begin = 5;
    c.window_end = 5; /* equal is fine */
    ck_assert_int_eq(lt_component_request_encode(&c, good, sizeof good), 0);
    ck_assert_uint_eq(rd(good, 4), 2);
    ck_assert_uint_eq(rd(good + 4, 4), 0xFFFFFFFF);
    ck_assert_uint_eq(rd(good + 8, 2), 2);
    ck_assert_uint_eq(rd(good + 10, 2), 1);
    ck_assert_uint_eq(rd(good + 12, 4), 0x127);
    ck_assert_uint_eq(rd(good + 16, 8), 5);
    ck_assert_uint_eq(rd(good + 24, 8), 5);
    ck_assert_int_eq(lt_component_request_decode(good, sizeof good, &d, err, sizeof err), 0);
    ck_assert_uint_eq(d.component.id, 0x127);
    ck_assert_uint_eq(d.window_begin, 5);
    ck_assert_uint_eq(d.window_end, 5);
    for (size_t n = 0; n < LT_COMPONENT_REQUEST_SIZE; n++) {
        ck_assert_int_eq(lt_component_request_decode(good, n, &d, err, sizeof err), LT_ESHORT);
        ck_assert_int_eq(lt_component_request_encode(&c, b, n), LT_ESHORT);
    }
    memcpy(b, good, sizeof b);
    wr(b, 4, 1); /* v1 was 40 bytes */
    ck_assert_int_eq(lt_component_request_decode(b, sizeof b, &d, err, sizeof err), LT_EVERSION);
    memcpy(b, good, sizeof b);
    wr(b + 16, 8, 6);
    ck_assert_int_eq(lt_component_request_decode(b, sizeof b, &d, err, sizeof err), LT_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "window_begin 6"));
    memcpy(b, good, sizeof b);
    wr(b + 10, 2, 0xFFFF);
    ck_assert_int_eq(lt_component_request_decode(b, sizeof b, &d, err, sizeof err), LT_ERANGE);
    c.window_begin = 6;
    ck_assert_int_eq(lt_component_request_encode(&c, b, sizeof b), LT_ERANGE);
}
END_TEST

START_TEST(timeslice_header)
{
    uint8_t b[LT_TSH_SIZE], good[LT_TSH_SIZE];
    struct lt_timeslice_header h = {0}, d;
    char err[160];
    ck_assert_uint_eq(LT_TSH_SIZE, 32);
    h.timeslice_number = 77;
    h.run_number = 3;
    h.element_id.version = 2;
    h.element_id.subsystem = LT_SUBSYS_TR_BUILDER;
    h.element_id.id = 1;
    ck_assert_int_eq(lt_tsh_encode(&h, good, sizeof good), 0);
    ck_assert_uint_eq(rd(good, 4), 0x55556666);
    ck_assert_uint_eq(rd(good + 4, 4), 2);
    ck_assert_uint_eq(rd(good + 8, 8), 77);
    ck_assert_uint_eq(rd(good + 16, 4), 3);
    ck_assert_uint_eq(rd(good + 20, 4), 0xFFFFFFFF);
    ck_assert_uint_eq(rd(good + 24, 2), 2);
    ck_assert_uint_eq(rd(good + 26, 2), 4);
    ck_assert_uint_eq(rd(good + 28, 4), 1);
    ck_assert_int_eq(lt_tsh_decode(good, sizeof good, &d, err, sizeof err), 0);
    ck_assert_uint_eq(d.timeslice_number, 77);
    ck_assert_uint_eq(d.run_number, 3);
    ck_assert_uint_eq(d.element_id.id, 1);
    for (size_t n = 0; n < LT_TSH_SIZE; n++) {
        ck_assert_int_eq(lt_tsh_decode(good, n, &d, err, sizeof err), LT_ESHORT);
        ck_assert_int_eq(lt_tsh_encode(&h, b, n), LT_ESHORT);
    }
    memcpy(b, good, sizeof b);
    wr(b, 4, 0x55556667);
    ck_assert_int_eq(lt_tsh_decode(b, sizeof b, &d, err, sizeof err), LT_EMAGIC);
    memcpy(b, good, sizeof b);
    wr(b + 4, 4, 1);
    ck_assert_int_eq(lt_tsh_decode(b, sizeof b, &d, err, sizeof err), LT_EVERSION);
    memcpy(b, good, sizeof b);
    wr(b + 26, 2, 5);
    ck_assert_int_eq(lt_tsh_decode(b, sizeof b, &d, err, sizeof err), LT_ERANGE);
}
END_TEST

START_TEST(names_and_bits)
{
    ck_assert_str_eq(lt_subsystem_name(LT_SUBSYS_DETECTOR_READOUT), "Detector_Readout");
    ck_assert_str_eq(lt_subsystem_name(LT_SUBSYS_HW_SIGNALS), "HW_Signals_Interface");
    ck_assert_str_eq(lt_subsystem_name(LT_SUBSYS_TRIGGER), "Trigger");
    ck_assert_str_eq(lt_subsystem_name(LT_SUBSYS_TR_BUILDER), "TR_Builder");
    ck_assert_str_eq(lt_subsystem_name(0), "Unknown");
    ck_assert_str_eq(lt_subsystem_name(99), "Unknown");
    ck_assert_str_eq(lt_fragment_type_name(LT_FRAGTYPE_WIBETH), "WIBEth");
    ck_assert_str_eq(lt_fragment_type_name(LT_FRAGTYPE_TRIGGER_CANDIDATE), "Trigger_Candidate");
    ck_assert_str_eq(lt_fragment_type_name(13), "Unknown");
    ck_assert_str_eq(lt_fragment_type_name(UINT32_MAX), "Unknown");
    ck_assert_str_eq(lt_detector_name(LT_DETID_HD_TPC), "HD_TPC");
    ck_assert_str_eq(lt_detector_name(0), "Unknown");

    char buf[128];
    lt_fragment_error_bits_str(0, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
    lt_fragment_error_bits_str(1U << LT_FRAG_ERR_DATA_NOT_FOUND | 1U << LT_FRAG_ERR_INCOMPLETE, buf,
                               sizeof buf);
    ck_assert_str_eq(buf, "kDataNotFound|kIncomplete");
    lt_fragment_error_bits_str(1U << 2 | 1U << 31, buf, sizeof buf);
    ck_assert_str_eq(buf, "kInvalidWindow|kUnassigned31");
    lt_trh_error_bits_str(3, buf, sizeof buf);
    ck_assert_str_eq(buf, "kIncomplete|kMismatch");
    /* truncation keeps the buffer terminated */
    char small[8];
    lt_fragment_error_bits_str(7, small, sizeof small);
    ck_assert_uint_lt(strlen(small), sizeof small);
    lt_fragment_error_bits_str(0xFFFFFFFFU, buf, sizeof buf);
    ck_assert_uint_lt(strlen(buf), sizeof buf);
    lt_fragment_error_bits_str(1, NULL, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("daqfmt");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, source_id);
    tcase_add_test(tc, fragment_header_layout);
    tcase_add_test(tc, fragment_header_bad);
    tcase_add_test(tc, trh);
    tcase_add_test(tc, component_request);
    tcase_add_test(tc, timeslice_header);
    tcase_add_test(tc, names_and_bits);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
