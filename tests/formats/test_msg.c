/* lartrig messages: byte layout, roundtrips of every type, and rejection of every kind of bad
 * input: truncation at every length, trailing bytes, bad magic/version/type/cell/flags, oversized
 * counts, inconsistent lengths, broken candidate invariants and broken embedded fragments.
 * Ends with a mutation fuzz loop (run it under -DLARTRIG_SANITIZE=ON to catch memory errors). */
#include "lt_error.h"
#include "msg.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[1 << 20];
static uint8_t copy[1 << 20];

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

static struct lt_candidate cand(uint32_t cell, uint64_t t)
{
    struct lt_candidate c;
    memset(&c, 0, sizeof c);
    c.time_start = t;
    c.time_peak = t + 10;
    c.time_end = t + 20;
    c.cell = cell;
    c.channel_start = 100;
    c.channel_end = 110;
    c.peak_score = -1234;
    c.adc_sum = 5000;
    c.n_pixels = 17;
    c.algorithm = 0;
    return c;
}

/* Every proper prefix and the message plus one extra byte must be rejected. */
static void check_truncations(const uint8_t *msg, size_t len)
{
    struct lt_msg_view v;
    char err[200];
    memcpy(copy, msg, len);
    for (size_t n = 0; n < len; n++)
        ck_assert_msg(lt_msg_decode(copy, n, &v, err, sizeof err) < 0,
                      "prefix of %zu of %zu bytes accepted", n, len);
    copy[len] = 0;
    ck_assert_int_eq(lt_msg_decode(copy, len + 1, &v, err, sizeof err), LT_EFORMAT);
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), 0);
}

START_TEST(heartbeat)
{
    size_t len;
    struct lt_msg_view v;
    char err[200];
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, sizeof buf, 7, 42, 0x123456789ULL, &len), 0);
    ck_assert_uint_eq(len, LT_MSG_HEADER_SIZE);
    ck_assert_int_eq(memcmp(buf, "LTRG", 4), 0);
    ck_assert_uint_eq(rd(buf + 4, 2), LT_MSG_VERSION);
    ck_assert_uint_eq(rd(buf + 6, 2), LT_MSG_HEARTBEAT);
    ck_assert_uint_eq(rd(buf + 8, 4), 7);
    ck_assert_uint_eq(rd(buf + 12, 4), 0);
    ck_assert_uint_eq(rd(buf + 16, 8), 42);
    ck_assert_uint_eq(rd(buf + 24, 8), 0x123456789ULL);
    ck_assert_uint_eq(rd(buf + 32, 4), 0);
    ck_assert_uint_eq(rd(buf + 36, 4), 0);
    ck_assert_int_eq(lt_msg_decode(buf, len, &v, err, sizeof err), 0);
    ck_assert_uint_eq(v.hdr.type, LT_MSG_HEARTBEAT);
    ck_assert_uint_eq(v.hdr.cell, 7);
    ck_assert_uint_eq(v.hdr.sequence, 42);
    ck_assert_uint_eq(v.hdr.watermark, 0x123456789ULL);
    check_truncations(buf, len);
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, len - 1, 7, 42, 0, &len), LT_ESHORT);
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, sizeof buf, LT_MAX_CELLS, 0, 0, &len), LT_ERANGE);
    /* a heartbeat with a count or payload is malformed */
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, sizeof buf, 7, 42, 0, &len), 0);
    wr(buf + 12, 4, 1);
    ck_assert_int_eq(lt_msg_decode(buf, len, &v, err, sizeof err), LT_EFORMAT);
}
END_TEST

START_TEST(header_errors)
{
    size_t len;
    struct lt_msg_view v;
    char err[200];
    ck_assert_int_eq(lt_msg_encode_heartbeat(buf, sizeof buf, 3, 1, 2, &len), 0);
    memcpy(copy, buf, len);
    wr(copy, 4, 0x4752544DU);
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EMAGIC);
    ck_assert_ptr_nonnull(strstr(err, "magic"));
    memcpy(copy, buf, len);
    wr(copy + 4, 2, 2);
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EVERSION);
    memcpy(copy, buf, len);
    wr(copy + 4, 2, 0);
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EVERSION);
    for (unsigned t = 0; t < 8; t++) {
        if (t >= LT_MSG_CANDIDATES && t <= LT_MSG_DATA_REPLY) continue;
        memcpy(copy, buf, len);
        wr(copy + 6, 2, t);
        ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EFORMAT);
    }
    memcpy(copy, buf, len);
    wr(copy + 8, 4, LT_MAX_CELLS);
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "cell 1024"));
    memcpy(copy, buf, len);
    wr(copy + 36, 4, 1);
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EFORMAT);
    memcpy(copy, buf, len);
    wr(copy + 32, 4, 0xFFFFFFFFU); /* huge payload_len */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_ERANGE);
    memcpy(copy, buf, len);
    wr(copy + 32, 4, 8); /* says 8 payload bytes, has none */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_ESHORT);
    ck_assert_int_eq(lt_msg_decode(NULL, 100, &v, err, sizeof err), LT_ESHORT);
    ck_assert_str_eq(lt_msg_type_name(LT_MSG_DATA_REPLY), "data_reply");
    ck_assert_str_eq(lt_msg_type_name(99), "unknown");
}
END_TEST

START_TEST(candidates)
{
    static struct lt_candidate cs[LT_MSG_MAX_CANDIDATES + 1];
    size_t len;
    struct lt_msg_view v;
    char err[200];
    for (uint32_t i = 0; i <= LT_MSG_MAX_CANDIDATES; i++) cs[i] = cand(9, 1000 * i);
    cs[1].channel_start = cs[1].channel_end = 959;
    cs[2].time_start = cs[2].time_peak = cs[2].time_end = 5; /* all equal is fine */
    uint32_t sizes[] = {0, 1, 3, LT_MSG_MAX_CANDIDATES};
    for (unsigned k = 0; k < 4; k++) {
        uint32_t n = sizes[k];
        ck_assert_int_eq(lt_msg_encode_candidates(buf, sizeof buf, 9, k, 777, cs, n, &len), 0);
        ck_assert_uint_eq(len, 40 + 48 * n);
        ck_assert_uint_eq(len, lt_msg_candidates_size(n));
        ck_assert_int_eq(lt_msg_decode(buf, len, &v, err, sizeof err), 0);
        ck_assert_uint_eq(v.hdr.count, n);
        ck_assert_uint_eq(v.hdr.watermark, 777);
        for (uint32_t i = 0; i < n; i++) {
            struct lt_candidate c;
            lt_msg_candidate(&v, i, &c);
            ck_assert_uint_eq(c.time_start, cs[i].time_start);
            ck_assert_uint_eq(c.time_peak, cs[i].time_peak);
            ck_assert_uint_eq(c.time_end, cs[i].time_end);
            ck_assert_uint_eq(c.cell, 9);
            ck_assert_uint_eq(c.channel_start, cs[i].channel_start);
            ck_assert_uint_eq(c.channel_end, cs[i].channel_end);
            ck_assert_int_eq(c.peak_score, -1234);
            ck_assert_uint_eq(c.adc_sum, 5000);
            ck_assert_uint_eq(c.n_pixels, 17);
        }
        if (n <= 3) check_truncations(buf, len);
    }
    /* wire layout of one candidate */
    ck_assert_int_eq(lt_msg_encode_candidates(buf, sizeof buf, 9, 0, 0, cs, 1, &len), 0);
    const uint8_t *p = buf + 40;
    ck_assert_uint_eq(rd(p + 0, 8), cs[0].time_start);
    ck_assert_uint_eq(rd(p + 8, 8), cs[0].time_end);
    ck_assert_uint_eq(rd(p + 16, 8), cs[0].time_peak);
    ck_assert_uint_eq(rd(p + 24, 4), 9);
    ck_assert_uint_eq(rd(p + 28, 2), 100);
    ck_assert_uint_eq(rd(p + 30, 2), 110);
    ck_assert_uint_eq(rd(p + 32, 4), (uint32_t)-1234);
    ck_assert_uint_eq(rd(p + 36, 4), 5000);
    ck_assert_uint_eq(rd(p + 40, 4), 17);
    ck_assert_uint_eq(rd(p + 44, 4), 0);

    /* encoder bounds */
    ck_assert_int_eq(
        lt_msg_encode_candidates(buf, sizeof buf, 9, 0, 0, cs, LT_MSG_MAX_CANDIDATES + 1, &len),
        LT_ERANGE);
    ck_assert_int_eq(lt_msg_encode_candidates(buf, 40 + 48 * 3 - 1, 9, 0, 0, cs, 3, &len),
                     LT_ESHORT);
    ck_assert_int_eq(lt_msg_encode_candidates(buf, sizeof buf, 8, 0, 0, cs, 3, &len), LT_ERANGE);
}
END_TEST

START_TEST(candidates_bad)
{
    struct lt_candidate cs[3] = {cand(4, 100), cand(4, 200), cand(4, 300)};
    size_t len;
    struct lt_msg_view v;
    char err[200];
    ck_assert_int_eq(lt_msg_encode_candidates(buf, sizeof buf, 4, 0, 0, cs, 3, &len), 0);
    const size_t c1 = 40 + 48; /* second candidate */
    struct {
        unsigned off, n;
        uint64_t val;
        int rc;
        const char *msg;
    } cases[] = {
        {c1 + 0, 8, 211, LT_ERANGE, "times"},    /* start > peak */
        {c1 + 16, 8, 221, LT_ERANGE, "times"},   /* peak > end */
        {c1 + 16, 8, 199, LT_ERANGE, "times"},   /* peak < start */
        {c1 + 28, 2, 111, LT_ERANGE, "channel"}, /* channel_start > channel_end */
        {c1 + 30, 2, 960, LT_ERANGE, "channel"}, /* beyond 960 collection wires */
        {c1 + 24, 4, 5, LT_ERANGE, "cell 5"},    /* candidate from another cell */
        {12, 4, 2, LT_EFORMAT, "need"},          /* count disagrees with payload */
        {12, 4, 4, LT_EFORMAT, "need"},          /* count disagrees with payload */
        {12, 4, LT_MSG_MAX_CANDIDATES + 1, LT_ERANGE, "exceeds"},
        {12, 4, 0xFFFFFFFFU, LT_ERANGE, "exceeds"}, /* count*48 would overflow 32 bits */
    };
    for (unsigned k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(copy, buf, len);
        wr(copy + cases[k].off, cases[k].n, cases[k].val);
        err[0] = 0;
        ck_assert_msg(lt_msg_decode(copy, len, &v, err, sizeof err) == cases[k].rc,
                      "case %u: expected %d", k, cases[k].rc);
        ck_assert_msg(strstr(err, cases[k].msg) != NULL, "case %u: message '%s'", k, err);
    }
    /* the encoder refuses the same bad candidates */
    struct lt_candidate bad = cand(4, 100);
    bad.time_peak = 99;
    ck_assert_int_eq(lt_msg_encode_candidates(buf, sizeof buf, 4, 0, 0, &bad, 1, &len), LT_ERANGE);
    bad = cand(4, 100), bad.channel_end = 99;
    ck_assert_int_eq(lt_msg_encode_candidates(buf, sizeof buf, 4, 0, 0, &bad, 1, &len), LT_ERANGE);
}
END_TEST

START_TEST(candidate_record)
{
    uint8_t rec[LT_MSG_CANDIDATE_SIZE];
    char err[160];
    struct lt_candidate c = cand(1023, 77), d;
    lt_candidate_put(rec, &c);
    lt_candidate_get(rec, &d);
    ck_assert_uint_eq(d.time_start, 77);
    ck_assert_uint_eq(d.time_peak, 87);
    ck_assert_uint_eq(d.time_end, 97);
    ck_assert_uint_eq(d.cell, 1023);
    ck_assert_int_eq(d.peak_score, -1234);
    ck_assert_int_eq(lt_candidate_check(&d, err, sizeof err), 0);
    d.cell = LT_MAX_CELLS;
    ck_assert_int_eq(lt_candidate_check(&d, err, sizeof err), LT_ERANGE);
    ck_assert_str_eq(err, "candidate: cell 1024 out of range (max 1023)");
    d = c, d.time_end = 86;
    ck_assert_int_eq(lt_candidate_check(&d, err, sizeof err), LT_ERANGE);
    d = c, d.channel_start = 111;
    ck_assert_int_eq(lt_candidate_check(&d, err, sizeof err), LT_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "111..110"));
}
END_TEST

START_TEST(data_request)
{
    struct lt_msg_data_request r = {.trigger_number = 17,
                                    .trigger_timestamp = 123456789,
                                    .window_begin = 123400000,
                                    .window_end = 123540625,
                                    .request_id = 0xABCDEF,
                                    .run_number = 55,
                                    .cell = 149};
    size_t len;
    struct lt_msg_view v;
    char err[200];
    ck_assert_int_eq(lt_msg_encode_data_request(buf, sizeof buf, 3, &r, &len), 0);
    ck_assert_uint_eq(len, 40 + 48);
    ck_assert_uint_eq(rd(buf + 6, 2), LT_MSG_DATA_REQUEST);
    ck_assert_uint_eq(rd(buf + 8, 4), 149);
    ck_assert_uint_eq(rd(buf + 40, 8), 17);
    ck_assert_uint_eq(rd(buf + 48, 8), 123456789);
    ck_assert_uint_eq(rd(buf + 56, 8), 123400000);
    ck_assert_uint_eq(rd(buf + 64, 8), 123540625);
    ck_assert_uint_eq(rd(buf + 72, 8), 0xABCDEF);
    ck_assert_uint_eq(rd(buf + 80, 4), 55);
    ck_assert_int_eq(lt_msg_decode(buf, len, &v, err, sizeof err), 0);
    ck_assert_uint_eq(v.request.trigger_number, 17);
    ck_assert_uint_eq(v.request.trigger_timestamp, 123456789);
    ck_assert_uint_eq(v.request.window_begin, 123400000);
    ck_assert_uint_eq(v.request.window_end, 123540625);
    ck_assert_uint_eq(v.request.request_id, 0xABCDEF);
    ck_assert_uint_eq(v.request.run_number, 55);
    ck_assert_uint_eq(v.request.cell, 149);
    check_truncations(buf, len);

    memcpy(copy, buf, len);
    wr(copy + 56, 8, 123540626); /* window_begin > window_end */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_ERANGE);
    memcpy(copy, buf, len);
    wr(copy + 84, 4, 1); /* reserved */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EFORMAT);
    memcpy(copy, buf, len);
    wr(copy + 12, 4, 1); /* count must be 0 */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EFORMAT);

    struct lt_msg_data_request bad = r;
    bad.window_begin = bad.window_end + 1;
    ck_assert_int_eq(lt_msg_encode_data_request(buf, sizeof buf, 3, &bad, &len), LT_ERANGE);
    bad = r, bad.cell = LT_MAX_CELLS;
    ck_assert_int_eq(lt_msg_encode_data_request(buf, sizeof buf, 3, &bad, &len), LT_ERANGE);
    ck_assert_int_eq(lt_msg_encode_data_request(buf, 87, 3, &r, &len), LT_ESHORT);
}
END_TEST

static struct lt_fragment_header frag_hdr(uint32_t stream)
{
    struct lt_fragment_header h;
    memset(&h, 0, sizeof h);
    h.trigger_number = 17;
    h.trigger_timestamp = 1000;
    h.window_begin = 900;
    h.window_end = 1100;
    h.run_number = 55;
    h.fragment_type = LT_FRAGTYPE_WIBETH;
    h.detector_id = LT_DETID_HD_TPC;
    h.element_id.version = 2;
    h.element_id.subsystem = LT_SUBSYS_DETECTOR_READOUT;
    h.element_id.id = (149U << 8) | stream;
    return h;
}

/* A reply with three fragments: 2 frames, empty (kDataNotFound), 1 frame written in place. */
static size_t build_reply(uint8_t *out, size_t cap)
{
    static uint8_t payload[2 * 7200];
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 7 + 1);
    struct lt_msg_reply_info info = {.request_id = 0xABCDEF,
                                     .trigger_number = 17,
                                     .cell = 149,
                                     .error_bits = 1U << LT_FRAG_ERR_DATA_NOT_FOUND};
    struct lt_msg_reply_builder b;
    size_t len = 0;
    ck_assert_int_eq(lt_msg_reply_begin(&b, out, cap, 8, 5000, &info), 0);
    struct lt_fragment_header h = frag_hdr(0);
    ck_assert_int_eq(lt_msg_reply_add_fragment(&b, &h, payload, sizeof payload), 0);
    h = frag_hdr(1);
    h.error_bits = 1U << LT_FRAG_ERR_DATA_NOT_FOUND;
    ck_assert_int_eq(lt_msg_reply_add_fragment(&b, &h, NULL, 0), 0);
    h = frag_hdr(2);
    uint8_t *dst;
    ck_assert_int_eq(lt_msg_reply_reserve_fragment(&b, &h, 7200, &dst), 0);
    memset(dst, 0x5C, 7200);
    ck_assert_int_eq(lt_msg_reply_finish(&b, &len), 0);
    return len;
}

/* Payloads copied into place before their headers (a cell reads its ring straight into the
 * reply): lt_msg_reply_payload_offset says where, reserve_fragment returns that very spot and
 * leaves the bytes alone, and the decoder sees each stream's data under its own header. */
START_TEST(data_reply_in_place)
{
    enum { STREAMS = 3, PAYLOAD = 2 * 7200 };
    for (uint32_t s = 0; s < STREAMS; s++)
        memset(buf + lt_msg_reply_payload_offset(s, PAYLOAD), 0x30 + (int)s, PAYLOAD);
    struct lt_msg_reply_info info = {.request_id = 4, .trigger_number = 17, .cell = 149};
    struct lt_msg_reply_builder b;
    ck_assert_int_eq(lt_msg_reply_begin(&b, buf, sizeof buf, 9, 5000, &info), 0);
    for (uint32_t s = 0; s < STREAMS; s++) {
        struct lt_fragment_header h = frag_hdr(s);
        uint8_t *dst;
        ck_assert_int_eq(lt_msg_reply_reserve_fragment(&b, &h, PAYLOAD, &dst), 0);
        ck_assert_ptr_eq(dst, buf + lt_msg_reply_payload_offset(s, PAYLOAD));
    }
    size_t len;
    ck_assert_int_eq(lt_msg_reply_finish(&b, &len), 0);
    ck_assert_uint_eq(len, lt_msg_reply_payload_offset(STREAMS, PAYLOAD) - 72);
    struct lt_msg_view v;
    char err[200];
    ck_assert_msg(lt_msg_decode(buf, len, &v, err, sizeof err) == 0, "%s", err);
    struct lt_msg_frag_iter it;
    struct lt_fragment_header h;
    const uint8_t *pl;
    size_t pl_len;
    lt_msg_frag_iter_init(&v, &it);
    for (uint32_t s = 0; s < STREAMS; s++) {
        ck_assert_int_eq(lt_msg_frag_next(&it, &h, &pl, &pl_len), 1);
        ck_assert_uint_eq(h.element_id.id & 0xFF, s);
        ck_assert_uint_eq(pl_len, PAYLOAD);
        ck_assert_uint_eq(pl[0], 0x30 + s);
        ck_assert_uint_eq(pl[PAYLOAD - 1], 0x30 + s);
    }
    ck_assert_int_eq(lt_msg_frag_next(&it, &h, &pl, &pl_len), 0);
}
END_TEST

START_TEST(data_reply)
{
    struct lt_msg_view v;
    char err[200];
    size_t len = build_reply(buf, sizeof buf);
    ck_assert_uint_eq(len, 40 + 24 + 72 + 14400 + 72 + 72 + 7200);
    ck_assert_uint_eq(rd(buf + 12, 4), 3);
    ck_assert_uint_eq(rd(buf + 32, 4), len - 40);
    ck_assert_uint_eq(rd(buf + 40, 8), 0xABCDEF);
    ck_assert_uint_eq(rd(buf + 48, 8), 17);
    ck_assert_uint_eq(rd(buf + 56, 4), 1);
    ck_assert_uint_eq(rd(buf + 64, 4), LT_FRAGMENT_HEADER_MARKER);
    ck_assert_int_eq(lt_msg_decode(buf, len, &v, err, sizeof err), 0);
    ck_assert_uint_eq(v.hdr.count, 3);
    ck_assert_uint_eq(v.hdr.watermark, 5000);
    ck_assert_uint_eq(v.reply.request_id, 0xABCDEF);
    ck_assert_uint_eq(v.reply.trigger_number, 17);
    ck_assert_uint_eq(v.reply.cell, 149);
    ck_assert_uint_eq(v.reply.error_bits, 1);
    ck_assert_ptr_eq(v.fragments, buf + 64); /* a view, not a copy */

    struct lt_msg_frag_iter it;
    struct lt_fragment_header h;
    const uint8_t *pl;
    size_t pl_len;
    lt_msg_frag_iter_init(&v, &it);
    ck_assert_int_eq(lt_msg_frag_next(&it, &h, &pl, &pl_len), 1);
    ck_assert_uint_eq(pl_len, 14400);
    ck_assert_uint_eq(h.size, 72 + 14400);
    ck_assert_uint_eq(h.element_id.id, (149U << 8) | 0);
    for (size_t i = 0; i < pl_len; i++) ck_assert_uint_eq(pl[i], (uint8_t)(i * 7 + 1));
    ck_assert_int_eq(lt_msg_frag_next(&it, &h, &pl, &pl_len), 1);
    ck_assert_uint_eq(pl_len, 0);
    ck_assert_uint_eq(h.error_bits, 1);
    ck_assert_int_eq(lt_msg_frag_next(&it, &h, &pl, &pl_len), 1);
    ck_assert_uint_eq(pl_len, 7200);
    ck_assert_uint_eq(pl[0], 0x5C);
    ck_assert_uint_eq(pl[7199], 0x5C);
    ck_assert_uint_eq(h.element_id.id, (149U << 8) | 2);
    ck_assert_int_eq(lt_msg_frag_next(&it, &h, &pl, &pl_len), 0);
    check_truncations(buf, len);
}
END_TEST

START_TEST(data_reply_bad)
{
    struct lt_msg_view v;
    char err[200];
    size_t len = build_reply(buf, sizeof buf);
    const size_t f0 = 64, f1 = 64 + 72 + 14400;
    memcpy(copy, buf, len);
    wr(copy + f1, 4, 0x11112223); /* second fragment's marker */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EMAGIC);
    ck_assert_ptr_nonnull(strstr(err, "fragment 1"));
    memcpy(copy, buf, len);
    wr(copy + f0 + 8, 8, 72 + 14400 + 1); /* first fragment claims one byte more */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EMAGIC);
    memcpy(copy, buf, len);
    wr(copy + f0 + 8, 8, (uint64_t)len); /* first fragment larger than the message */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EFORMAT);
    memcpy(copy, buf, len);
    wr(copy + f0 + 8, 8, 71); /* smaller than its header */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EFORMAT);
    memcpy(copy, buf, len);
    wr(copy + 12, 4, 2); /* count says 2: 7272 bytes left over */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "after the last"));
    memcpy(copy, buf, len);
    wr(copy + 12, 4, 4); /* count says 4: runs out */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EFORMAT);
    memcpy(copy, buf, len);
    wr(copy + 12, 4, LT_MSG_MAX_FRAGMENTS + 1);
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_ERANGE);
    memcpy(copy, buf, len);
    wr(copy + 60, 4, 1); /* reserved */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_EFORMAT);
    memcpy(copy, buf, len);
    wr(copy + f0 + 32, 8, 1200); /* fragment window_begin > window_end */
    ck_assert_int_eq(lt_msg_decode(copy, len, &v, err, sizeof err), LT_ERANGE);
    /* a reply shorter than its fixed part */
    memcpy(copy, buf, 40 + 23);
    wr(copy + 12, 4, 0);
    wr(copy + 32, 4, 23);
    ck_assert_int_eq(lt_msg_decode(copy, 40 + 23, &v, err, sizeof err), LT_EFORMAT);

    /* builder: capacity and count limits, errors stick */
    struct lt_msg_reply_info info = {.request_id = 1, .cell = 2};
    struct lt_msg_reply_builder b;
    struct lt_fragment_header h = frag_hdr(0);
    size_t out;
    ck_assert_int_eq(lt_msg_reply_begin(&b, buf, 63, 0, 0, &info), LT_ESHORT);
    ck_assert_int_eq(lt_msg_reply_finish(&b, &out), LT_ESHORT);
    ck_assert_int_eq(lt_msg_reply_begin(&b, buf, 64 + 72 + 100, 0, 0, &info), 0);
    ck_assert_int_eq(lt_msg_reply_add_fragment(&b, &h, copy, 101), LT_ESHORT);
    ck_assert_int_eq(lt_msg_reply_add_fragment(&b, &h, copy, 10), LT_ESHORT); /* sticky */
    ck_assert_int_eq(lt_msg_reply_finish(&b, &out), LT_ESHORT);
    ck_assert_int_eq(lt_msg_reply_begin(&b, buf, 64 + 72 + 100, 0, 0, &info), 0);
    ck_assert_int_eq(lt_msg_reply_add_fragment(&b, &h, copy, 100), 0);
    ck_assert_int_eq(lt_msg_reply_add_fragment(&b, &h, NULL, 0), LT_ESHORT);
    ck_assert_int_eq(lt_msg_reply_begin(&b, buf, sizeof buf, 0, 0, &info), 0);
    for (uint32_t i = 0; i < LT_MSG_MAX_FRAGMENTS; i++)
        ck_assert_int_eq(lt_msg_reply_add_fragment(&b, &h, NULL, 0), 0);
    ck_assert_int_eq(lt_msg_reply_add_fragment(&b, &h, NULL, 0), LT_ERANGE);
    ck_assert_int_eq(lt_msg_reply_begin(&b, buf, sizeof buf, 0, 0, &info), 0);
    h.window_begin = 2000; /* invalid fragment header */
    ck_assert_int_eq(lt_msg_reply_add_fragment(&b, &h, NULL, 0), LT_ERANGE);
    info.cell = LT_MAX_CELLS;
    ck_assert_int_eq(lt_msg_reply_begin(&b, buf, sizeof buf, 0, 0, &info), LT_ERANGE);
}
END_TEST

/* Random mutations of valid messages: the decoder must never crash or read out of bounds, and
 * whatever it accepts must satisfy the documented invariants. */
START_TEST(fuzz_mutations)
{
    static uint8_t msgs[3][1 << 15];
    size_t lens[3];
    struct lt_candidate cs[4] = {cand(4, 100), cand(4, 200), cand(4, 300), cand(4, 400)};
    ck_assert_int_eq(lt_msg_encode_candidates(msgs[0], sizeof msgs[0], 4, 0, 0, cs, 4, &lens[0]),
                     0);
    struct lt_msg_data_request r = {.window_begin = 1, .window_end = 2, .cell = 4};
    ck_assert_int_eq(lt_msg_encode_data_request(msgs[1], sizeof msgs[1], 0, &r, &lens[1]), 0);
    lens[2] = build_reply(msgs[2], sizeof msgs[2]);
    uint64_t x = 88172645463325252ULL;
    unsigned accepted = 0;
    for (int iter = 0; iter < 30000; iter++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned which = (unsigned)(x % 3);
        size_t len = lens[which];
        memcpy(copy, msgs[which], len);
        unsigned flips = 1 + (unsigned)((x >> 8) % 4);
        for (unsigned f = 0; f < flips; f++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* bias mutations towards the headers, where the structure lives */
            size_t pos = (x & 1) ? (size_t)((x >> 1) % 160) : (size_t)((x >> 1) % len);
            if (pos >= len) pos = len - 1;
            copy[pos] = (uint8_t)(x >> 40);
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if ((x & 7) == 0) len = (size_t)((x >> 3) % (len + 1)); /* random truncation */
        struct lt_msg_view v;
        if (lt_msg_decode(copy, len, &v, NULL, 0) != 0) continue;
        accepted++;
        ck_assert_uint_eq(v.hdr.payload_len + 40, len);
        ck_assert_uint_lt(v.hdr.cell, LT_MAX_CELLS);
        if (v.hdr.type == LT_MSG_CANDIDATES) {
            for (uint32_t i = 0; i < v.hdr.count; i++) {
                struct lt_candidate c;
                lt_msg_candidate(&v, i, &c);
                ck_assert(c.time_start <= c.time_peak && c.time_peak <= c.time_end);
                ck_assert(c.channel_start <= c.channel_end);
            }
        } else if (v.hdr.type == LT_MSG_DATA_REPLY) {
            struct lt_msg_frag_iter it;
            struct lt_fragment_header h;
            const uint8_t *pl;
            size_t pl_len, total = 0;
            uint32_t n = 0;
            lt_msg_frag_iter_init(&v, &it);
            while (lt_msg_frag_next(&it, &h, &pl, &pl_len)) total += h.size, n++;
            ck_assert_uint_eq(n, v.hdr.count);
            ck_assert_uint_eq(total, v.fragments_len);
        }
    }
    /* mutations of payload bytes that carry no structure leave messages valid */
    ck_assert_uint_gt(accepted, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("msg");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, heartbeat);
    tcase_add_test(tc, header_errors);
    tcase_add_test(tc, candidates);
    tcase_add_test(tc, candidates_bad);
    tcase_add_test(tc, candidate_record);
    tcase_add_test(tc, data_request);
    tcase_add_test(tc, data_reply);
    tcase_add_test(tc, data_reply_in_place);
    tcase_add_test(tc, data_reply_bad);
    tcase_add_test(tc, fuzz_mutations);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
