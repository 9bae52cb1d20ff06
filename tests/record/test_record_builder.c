/* The record builder on its own (daemon/record/record_builder.h): a decision and the cells'
 * decoded DATA_REPLY messages become one trigger record. Checked: one fragment per configured
 * stream in order, pointing into the replies (no copy); kDataNotFound for a silent cell and for a
 * stream its reply lacks; fragments of another cell or a stream beyond the cell's are ignored;
 * the decision's numbers win over a reply's; component requests, TriggerRecordHeader and the
 * TriggerCandidate payload (encode/decode, and what decode refuses). Then the same record goes
 * through the real record sink (io_uring writer) into a real HDF5 file, read back with h5raw. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_slices.h"
#include "h5raw.h"
#include "le.h"
#include "lt_error.h"
#include "msg.h"
#include "record_builder.h"
#include "trgfmt.h"
#include "record_sink.h"
#include "wibeth.h"

static struct trigd_config cfg;
static struct trigd_record_layout layout; /* the record builder's slice of cfg */
static uint8_t reply_buf[2][1 << 20];
static struct lt_msg_view views[2];

static void load_config(const char *out_dir)
{
    char text[1024], err[256];
    snprintf(text, sizeof text,
             "run_number = 31;\n"
             "cells = ( { id = 0; n_fembs = 1; }, { id = 3; n_fembs = 2; } );\n"
             "writer = { output_dir = \"%s\"; environment = \"rbtest\"; };\n",
             out_dir);
    ck_assert_msg(trigd_config_load_string(text, "test", &cfg, err, sizeof err) == 0, "%s", err);
    trigd_config_record_layout(&cfg, &layout);
}

static struct trigd_decision dec;

static void make_decision(void)
{
    memset(&dec, 0, sizeof dec);
    dec.trigger_number = 42;
    dec.time = 5000000;
    dec.window_begin = 4990000;
    dec.window_end = 5010000;
    dec.algorithms = 0x5;
    dec.n_cells = 1;
    dec.n_candidates = 2;
    for (uint32_t i = 0; i < 2; i++)
        dec.candidates[i] = (struct lt_candidate){.time_start = 5000000 + i,
                                                  .time_peak = 5000010 + i,
                                                  .time_end = 5000100 + i,
                                                  .cell = 3,
                                                  .channel_start = 1,
                                                  .channel_end = 7,
                                                  .peak_score = 1200 + (int32_t)i,
                                                  .adc_sum = 77,
                                                  .n_pixels = 5};
}

struct frag_spec {
    uint32_t cell, stream, frames, bits;
};

/* A decoded reply of `cell` holding the given fragments; payload bytes say (cell, stream). The
 * reply carries trigger number 999 and run 0 on purpose: the record must use the decision's. */
static const struct lt_msg_view *reply(int slot, uint32_t cell, const struct frag_spec *f, int n)
{
    struct lt_msg_reply_info info = {.request_id = 42, .trigger_number = 999, .cell = cell};
    struct lt_msg_reply_builder b;
    ck_assert_int_eq(lt_msg_reply_begin(&b, reply_buf[slot], sizeof reply_buf[slot], 1, 0, &info),
                     0);
    for (int i = 0; i < n; i++) {
        struct lt_fragment_header h = {
            .trigger_number = 999,
            .trigger_timestamp = dec.time,
            .window_begin = dec.window_begin,
            .window_end = dec.window_end,
            .error_bits = f[i].bits,
            .fragment_type = LT_FRAGTYPE_WIBETH,
            .detector_id = LT_DETID_HD_TPC,
            .element_id = {.version = LT_SOURCE_ID_VERSION,
                           .subsystem = LT_SUBSYS_DETECTOR_READOUT,
                           .id = lt_stream_source_id(f[i].cell, f[i].stream)}};
        uint8_t *p;
        size_t len = (size_t)f[i].frames * LT_WIBETH_FRAME_SIZE;
        ck_assert_int_eq(lt_msg_reply_reserve_fragment(&b, &h, len, &p), 0);
        memset(p, (int)(f[i].cell * 16 + f[i].stream), len);
    }
    size_t len;
    ck_assert_int_eq(lt_msg_reply_finish(&b, &len), 0);
    char err[200];
    ck_assert_msg(lt_msg_decode(reply_buf[slot], len, &views[slot], err, sizeof err) == 0, "%s",
                  err);
    return &views[slot];
}

/* Cell 0 answers for stream 0 only; cell 3 answers streams 0..3 (stream 2 kIncomplete) plus a
 * fragment of cell 0 and one of a stream cell 3 does not have, both to be ignored. */
static void build(struct trigd_record_parts *p, int cell3_answers)
{
    static const struct frag_spec c0[] = {{0, 0, 2, 0}};
    static const struct frag_spec c3[] = {{3, 0, 1, 0}, {0, 1, 9, 0}, /* another cell's stream */
                                          {3, 1, 1, 0}, {3, 2, 1, 1U << LT_FRAG_ERR_INCOMPLETE},
                                          {3, 3, 3, 0}, {3, 7, 1, 0}}; /* beyond n_fembs = 2 */
    const struct lt_msg_view *rep[2] = {reply(0, 0, c0, 1),
                                        cell3_answers ? reply(1, 3, c3, 6) : NULL};
    ck_assert_int_eq(trigd_record_parts_init(p, &layout), 0);
    trigd_record_build(p, &layout, &dec, rep);
}

START_TEST(builds_from_replies)
{
    load_config(".");
    make_decision();
    ck_assert_uint_eq(trigd_total_streams(&layout), 6);
    struct trigd_record_parts p;
    build(&p, 1);
    const struct lt_rw_record *rec = &p.rec;
    ck_assert_uint_eq(rec->n_frags, 7);
    ck_assert_uint_eq(rec->n_requests, 7);
    ck_assert_uint_eq(p.not_found, 1); /* cell 0 stream 1 */
    ck_assert_uint_eq(p.incomplete, 1);

    const uint32_t cell[6] = {0, 0, 3, 3, 3, 3}, stream[6] = {0, 1, 0, 1, 2, 3};
    const uint32_t frames[6] = {2, 0, 1, 1, 1, 3};
    for (uint32_t k = 0; k < 6; k++) {
        const struct lt_rw_fragment *f = &rec->frags[k];
        ck_assert_uint_eq(f->hdr.element_id.subsystem, LT_SUBSYS_DETECTOR_READOUT);
        ck_assert_uint_eq(f->hdr.element_id.id, lt_stream_source_id(cell[k], stream[k]));
        ck_assert_uint_eq(f->hdr.trigger_number, 42);
        ck_assert_uint_eq(f->hdr.run_number, 31);
        ck_assert_uint_eq(f->payload_len, frames[k] * LT_WIBETH_FRAME_SIZE);
        ck_assert_uint_eq(f->hdr.size, LT_FRAGMENT_HEADER_SIZE + f->payload_len);
        if (frames[k]) {
            const uint8_t *pl = f->payload;
            /* Points into the reply message: the record builder copies nothing. */
            ck_assert(pl > reply_buf[cell[k] == 3] &&
                      pl < reply_buf[cell[k] == 3] + sizeof reply_buf[0]);
            ck_assert_uint_eq(pl[0], cell[k] * 16 + stream[k]);
            ck_assert_uint_eq(pl[f->payload_len - 1], cell[k] * 16 + stream[k]);
        } else {
            ck_assert_ptr_null(f->payload);
            ck_assert_uint_eq(f->hdr.error_bits, 1U << LT_FRAG_ERR_DATA_NOT_FOUND);
        }
        const struct lt_component_request *q = &rec->requests[k];
        ck_assert_uint_eq(q->component.id, f->hdr.element_id.id);
        ck_assert_uint_eq(q->window_begin, dec.window_begin);
        ck_assert_uint_eq(q->window_end, dec.window_end);
    }
    ck_assert_uint_eq(rec->frags[4].hdr.error_bits, 1U << LT_FRAG_ERR_INCOMPLETE);

    /* The trigger's own component and fragment. */
    ck_assert_uint_eq(rec->requests[6].component.subsystem, LT_SUBSYS_TRIGGER);
    const struct lt_rw_fragment *tc = &rec->frags[6];
    ck_assert_uint_eq(tc->hdr.fragment_type, LT_FRAGTYPE_TRIGGER_CANDIDATE);
    /* One trgdataformats TriggerCandidate per proposing algorithm (single, summed), each with
     * both candidates as TriggerActivity inputs (docs/formats.md). */
    ck_assert_uint_eq(tc->payload_len, 2 * (LT_TC_HEADER_SIZE + 2 * LT_TA_DATA_SIZE));
    struct lt_tc_data tcd;
    uint64_t n_in;
    ck_assert_int_eq(lt_tc_header_decode(tc->payload, tc->payload_len, &tcd, &n_in), 0);
    ck_assert_uint_eq(tcd.version, LT_TC_VERSION);
    ck_assert_uint_eq(tcd.type, LT_TC_TYPE_ADC_SIMPLE_WINDOW);
    ck_assert_uint_eq(tcd.time_candidate, dec.time);
    ck_assert_uint_eq(n_in, 2);
    struct trigd_decision back;
    ck_assert_int_eq(trigd_tc_decode(&tc->hdr, tc->payload, tc->payload_len, &back), 0);
    ck_assert_uint_eq(back.trigger_number, 42);
    ck_assert_uint_eq(back.algorithms, 0x5);
    ck_assert_uint_eq(back.window_end, dec.window_end);
    ck_assert_uint_eq(back.n_candidates, 2);
    const struct lt_candidate *b1 = &back.candidates[1], *d1 = &dec.candidates[1];
    ck_assert(b1->time_start == d1->time_start && b1->time_end == d1->time_end &&
              b1->time_peak == d1->time_peak && b1->cell == d1->cell &&
              b1->channel_start == d1->channel_start && b1->channel_end == d1->channel_end &&
              b1->peak_score == d1->peak_score && b1->adc_sum == d1->adc_sum);

    const struct lt_trigger_record_header *trh = &rec->trh;
    ck_assert_uint_eq(trh->trigger_number, 42);
    ck_assert_uint_eq(trh->trigger_timestamp, dec.time);
    ck_assert_uint_eq(trh->run_number, 31);
    ck_assert_uint_eq(trh->num_requested_components, 7);
    /* DUNE's convention: a bit per TC type, kADCSimpleWindow (6) and kTPCLowE (2). */
    ck_assert_uint_eq(trh->trigger_type,
                      (1U << LT_TC_TYPE_ADC_SIMPLE_WINDOW) | (1U << LT_TC_TYPE_TPC_LOW_E));
    ck_assert_uint_eq(trh->error_bits, 1U << 1); /* kIncomplete: some component flagged */
    ck_assert_uint_eq(trh->element_id.subsystem, LT_SUBSYS_TR_BUILDER);
    trigd_record_parts_free(&p);
}
END_TEST

START_TEST(silent_cell_is_not_found)
{
    load_config(".");
    make_decision();
    struct trigd_record_parts p;
    build(&p, 0);
    ck_assert_uint_eq(p.not_found, 1 + 4);
    ck_assert_uint_eq(p.incomplete, 0);
    for (uint32_t k = 2; k < 6; k++) {
        ck_assert_uint_eq(p.rec.frags[k].hdr.error_bits, 1U << LT_FRAG_ERR_DATA_NOT_FOUND);
        ck_assert_uint_eq(p.rec.frags[k].payload_len, 0);
    }
    trigd_record_parts_free(&p);
}
END_TEST

START_TEST(tc_decode_refuses)
{
    make_decision();
    const size_t one = LT_TC_HEADER_SIZE + 2 * LT_TA_DATA_SIZE;
    uint8_t buf[2 * (LT_TC_HEADER_SIZE + 4 * LT_TA_DATA_SIZE)];
    size_t n = trigd_tc_encode(&dec, buf, sizeof buf);
    ck_assert_uint_eq(n, 2 * one);
    ck_assert_uint_eq(trigd_tc_encode(&dec, buf, n - 1), 0); /* too small: nothing written */
    struct lt_fragment_header h = {.trigger_number = 42};
    struct trigd_decision d;
    ck_assert_int_eq(trigd_tc_decode(&h, buf, LT_TC_HEADER_SIZE - 1, &d), LT_ESHORT);
    ck_assert_int_eq(trigd_tc_decode(&h, buf, n - 1, &d), LT_ERANGE);  /* last input cut */
    ck_assert_int_eq(trigd_tc_decode(&h, buf, n + 10, &d), LT_ESHORT); /* trailing bytes */
    uint8_t bad[sizeof buf];
    memcpy(bad, buf, n);
    lt_put_le64(bad + 48, 1ULL << 32); /* n_inputs beyond the payload */
    ck_assert_int_eq(trigd_tc_decode(&h, bad, n, &d), LT_ERANGE);
    ck_assert_int_eq(trigd_tc_decode(&h, buf, n, &d), 0);
    ck_assert_uint_eq(d.n_candidates, 2);
}
END_TEST

static _Atomic int done_calls, done_status = 1;
static void on_done(struct lt_rw_record *rec, int status, void *user)
{
    (void)rec;
    (void)user;
    atomic_store(&done_status, status);
    atomic_fetch_add(&done_calls, 1);
}

/* Through the real sink into a real file: what h5raw reads back is what the builder made. */
START_TEST(written_and_read_back)
{
    char dir[512];
    const char *base = getenv("LARTRIG_BINARY_DIR");
    snprintf(dir, sizeof dir, "%s/rbtest_XXXXXX", base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    load_config(dir);
    make_decision();
    struct trigd_record_parts p;
    build(&p, 1);
    p.rec.done = on_done;
    struct trigd_record_sink *sink;
    char err[512];
    struct lt_recwriter_config wc;
    trigd_config_writer(&cfg, &wc);
    ck_assert_msg(trigd_record_sink_recwriter(&wc, &layout, &sink, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(sink->submit(sink, &p.rec), 0);
    ck_assert_int_eq(sink->stop(sink, 10000), 0);
    ck_assert_int_eq(atomic_load(&done_calls), 1);
    ck_assert_int_eq(atomic_load(&done_status), 0);

    char path[1024] = "";
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".hdf5") && !strstr(e->d_name, ".writing"))
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    closedir(d);
    ck_assert_msg(path[0], "no file written in %s", dir);
    struct lt_h5r *r;
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(lt_h5r_record_count(r), 1);
    ck_assert_uint_eq(lt_h5r_record(r, 0)->number, 42);
    struct lt_trigger_record_header trh;
    struct lt_component_request req[8];
    size_t nreq;
    ck_assert_msg(lt_h5r_read_trh(r, 0, &trh, req, 8, &nreq, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(nreq, 7);
    ck_assert_uint_eq(trh.error_bits, 1U << 1);
    ck_assert_uint_eq(req[5].component.id, lt_stream_source_id(3, 3));
    for (uint32_t k = 0; k < p.rec.n_frags; k++) {
        const struct lt_rw_fragment *f = &p.rec.frags[k];
        char name[LT_H5_NAME_MAX];
        ck_assert_int_gt(lt_h5_fragment_dataset_name(&f->hdr.element_id, f->hdr.fragment_type, name,
                                                     sizeof name),
                         0);
        struct lt_fragment_header h;
        uint8_t *buf;
        size_t plen;
        ck_assert_msg(lt_h5r_read_fragment_alloc(r, 0, name, &h, &buf, &plen, 0, err, sizeof err) ==
                          0,
                      "%s", err);
        ck_assert_uint_eq(plen, f->payload_len);
        ck_assert_uint_eq(h.error_bits, f->hdr.error_bits);
        if (plen) ck_assert_int_eq(memcmp(buf + LT_FRAGMENT_HEADER_SIZE, f->payload, plen), 0);
        if (h.fragment_type == LT_FRAGTYPE_TRIGGER_CANDIDATE) {
            struct trigd_decision back;
            ck_assert_int_eq(trigd_tc_decode(&h, buf + LT_FRAGMENT_HEADER_SIZE, plen, &back), 0);
            ck_assert_uint_eq(back.n_candidates, 2);
        }
        free(buf);
    }
    lt_h5r_close(r);
    trigd_record_parts_free(&p);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("record_builder");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, builds_from_replies);
    tcase_add_test(tc, silent_cell_is_not_found);
    tcase_add_test(tc, tc_decode_refuses);
    tcase_add_test(tc, written_and_read_back);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
