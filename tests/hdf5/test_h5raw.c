/* HDF5 raw-data files: write run files and trigger-record files with lib/hdf5/h5raw, read them back
 * byte for byte, check names and attributes against hdf5libs' layout with the plain HDF5 API,
 * and damage real files (truncation, garbage, deleted datasets, lying fragment headers) to see
 * a clear error naming the file and the object instead of a crash.
 *
 * `test_h5raw --write-sample DIR` writes one file of each kind into DIR and exits; the h5py
 * shell test (test_h5py.sh) uses it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daqfmt.h"
#include "h5raw.h"
#include "lt_error.h"
#include "trgfmt.h"
#include "truth.h"
#include "wibeth.h"

#define RUN         4242U
#define STREAMS     4U
#define SLICES      3U
#define FRAMES      5U /* WIBEth frames per fragment */
#define N_TRUTH     10U
#define SLICE_TICKS (FRAMES * 2048ULL)

static char tmpdir[256];

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_h5raw.XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Deterministic payload bytes so a read-back can be compared with a regenerated copy. */
static void fill_payload(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* A real TriggerCandidate (trgdataformats layout, lib/formats/trgfmt.h) with one TriggerActivity
 * input, so DUNE's readers and `trigctl inspect` decode the sample's Trigger_Candidate fragments.
 */
#define TC_PAYLOAD (LT_TC_HEADER_SIZE + LT_TA_DATA_SIZE)
static void tc_payload(uint8_t *p, uint64_t t, uint32_t r)
{
    struct lt_tc_data tc = {LT_TC_VERSION,
                            t - 100,
                            t + 200,
                            t,
                            LT_DETID_HD_TPC,
                            LT_TC_TYPE_ADC_SIMPLE_WINDOW,
                            LT_TC_ALGO_ADC_SIMPLE_WINDOW};
    struct lt_candidate c = {.time_start = t - 100,
                             .time_end = t + 200,
                             .time_peak = t,
                             .cell = r,
                             .channel_start = 10,
                             .channel_end = 20,
                             .peak_score = 900,
                             .adc_sum = 5000};
    struct lt_ta_data ta;
    lt_ta_from_candidate(&c, &ta);
    ck_assert_int_eq(lt_tc_header_encode(&tc, 1, p, LT_TC_HEADER_SIZE), 0);
    ck_assert_int_eq(lt_ta_encode(&ta, p + LT_TC_HEADER_SIZE, LT_TA_DATA_SIZE), 0);
}

/* Real WIBEth frames: DAQEth header with contiguous timestamps (2048 ticks apart), pseudo-random
 * 14-bit ADCs, so the sample files look like detector data to every reader. */
static void fill_frames(uint8_t *p, unsigned nframes, unsigned stream, uint64_t t0, uint64_t seed)
{
    static uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS];
    uint8_t noise[sizeof adc];
    for (unsigned f = 0; f < nframes; f++) {
        lt_wibeth_frame *fr = (lt_wibeth_frame *)(p + (size_t)f * LT_WIBETH_FRAME_SIZE);
        memset(fr, 0, sizeof *fr);
        fill_payload(noise, sizeof noise, seed * 1000 + f);
        for (unsigned s = 0; s < LT_WIBETH_SAMPLES; s++)
            for (unsigned c = 0; c < LT_WIBETH_CHANNELS; c++)
                adc[s][c] = (uint16_t)(900 + noise[s * LT_WIBETH_CHANNELS + c] % 16);
        lt_wibeth_pack(fr, adc);
        struct lt_daqeth_header h = {0};
        h.version = LT_DAQETH_VERSION;
        h.det_id = LT_DETID_HD_TPC;
        h.stream = (uint8_t)stream;
        h.seq_id = (uint16_t)(f & 0xFFF);
        h.timestamp = t0 + (uint64_t)f * 2048;
        ck_assert_int_eq(lt_daqeth_encode(fr, &h), 0);
    }
}

static struct lt_source_id sid(uint16_t subsys, uint32_t id)
{
    struct lt_source_id s = {LT_SOURCE_ID_VERSION, subsys, id};
    return s;
}

static struct lt_h5_file_attrs attrs_for(enum lt_h5_record_type type)
{
    /* The GeoIDs of the streams fill_frames writes (crate 0, slot 0, stream_id = stream). */
    static struct lt_h5_geoid_entry geo[STREAMS];
    lt_h5_cell_geoids(0, STREAMS, geo);
    struct lt_h5_file_attrs a = {0};
    a.record_type = type;
    a.run_number = RUN;
    a.file_index = 7;
    snprintf(a.application_name, sizeof a.application_name, "test_h5raw");
    snprintf(a.operational_environment, sizeof a.operational_environment, "lartrig");
    snprintf(a.offline_data_stream, sizeof a.offline_data_stream, "sim");
    a.run_was_for_test_purposes = 1;
    a.geoids = geo;
    a.n_geoids = STREAMS;
    return a;
}

static struct lt_fragment_header frag_hdr(uint64_t number, uint16_t seq, uint32_t stream,
                                          uint64_t t0)
{
    struct lt_fragment_header h = {0};
    h.trigger_number = number;
    h.trigger_timestamp = t0;
    h.window_begin = t0;
    h.window_end = t0 + SLICE_TICKS;
    h.run_number = RUN;
    h.fragment_type = LT_FRAGTYPE_WIBETH;
    h.sequence_number = seq;
    h.detector_id = LT_DETID_HD_TPC;
    h.element_id = sid(LT_SUBSYS_DETECTOR_READOUT, stream);
    return h;
}

static struct lt_truth truth_row(unsigned i)
{
    struct lt_truth t = {0};
    t.time = 1000000ULL + i * 777ULL;
    t.cell = i % 3;
    t.channel_start = (uint16_t)(10 * i);
    t.channel_end = (uint16_t)(10 * i + 4);
    t.kind = i % 4; /* ar39, low_energy, high_energy, cosmic, again (test_h5py counts them) */
    t.energy_mev = 0.25f * (float)(i + 1);
    t.time_end = t.time + 500 + i;
    return t;
}

/* A run file: SLICES TimeSlice records of STREAMS WIBEth fragments each, plus /Truth written
 * in two appends. Returns the final path in out. */
static void write_run_file(const char *dir, char *out, size_t outlen)
{
    char err[512] = "", name[256];
    ck_assert_int_gt(lt_h5_file_name("lartrig", RUN, 7, "test", 1767268800, name, sizeof name), 0);
    snprintf(out, outlen, "%s/%s", dir, name);
    struct lt_h5_file_attrs a = attrs_for(LT_H5_TIMESLICE);
    struct lt_h5w_options o = {.writing_suffix = 1};
    struct lt_h5w *w;
    ck_assert_msg(lt_h5w_open(&w, out, &a, &o, err, sizeof err) == 0, "%s", err);
    size_t plen = FRAMES * LT_WIBETH_FRAME_SIZE;
    uint8_t *payload = malloc(plen);
    ck_assert_ptr_nonnull(payload);
    for (unsigned s = 0; s < SLICES; s++) {
        struct lt_timeslice_header tsh = {0};
        tsh.timeslice_number = s + 1;
        tsh.run_number = RUN;
        tsh.element_id = sid(LT_SUBSYS_TR_BUILDER, 0);
        ck_assert_msg(lt_h5w_begin_timeslice(w, &tsh, err, sizeof err) == 0, "%s", err);
        for (unsigned st = 0; st < STREAMS; st++) {
            struct lt_fragment_header h = frag_hdr(s + 1, 0, st, 1000000ULL + s * SLICE_TICKS);
            fill_frames(payload, FRAMES, st, h.window_begin, s * 100 + st);
            ck_assert_msg(lt_h5w_add_fragment(w, &h, payload, plen, err, sizeof err) == 0, "%s",
                          err);
        }
        ck_assert_msg(lt_h5w_end_record(w, err, sizeof err) == 0, "%s", err);
    }
    free(payload);
    struct lt_truth t[N_TRUTH];
    for (unsigned i = 0; i < N_TRUTH; i++) t[i] = truth_row(i);
    ck_assert_msg(lt_h5w_append_truth(w, t, 4, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(lt_h5w_append_truth(w, t + 4, N_TRUTH - 4, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(lt_h5w_record_count(w), SLICES);
    ck_assert_uint_eq(lt_h5w_recorded_size(w),
                      SLICES * (LT_TSH_SIZE + STREAMS * (LT_FRAGMENT_HEADER_SIZE + plen)));
    /* While open the file carries the .writing suffix and the final name does not exist. */
    char writing[600];
    snprintf(writing, sizeof writing, "%s" LT_H5_WRITING_SUFFIX, out);
    ck_assert_int_eq(access(writing, F_OK), 0);
    ck_assert_int_ne(access(out, F_OK), 0);
    ck_assert_msg(lt_h5w_close(w, err, sizeof err) == 0, "%s", err);
    ck_assert_int_ne(access(writing, F_OK), 0);
    ck_assert_int_eq(access(out, F_OK), 0);
}

/* Trigger records 5.0, 5.1 and 9.0: three component requests, two WIBEth fragments, one empty
 * fragment flagged kDataNotFound, one Trigger_Candidate fragment. */
#define TR_FRAMES  2U
#define TR_PAYLOAD (TR_FRAMES * LT_WIBETH_FRAME_SIZE)
static const uint64_t tr_numbers[] = {5, 5, 9};
static const uint16_t tr_seqs[] = {0, 1, 0};

static void write_tr_file(const char *dir, char *out, size_t outlen)
{
    char err[512] = "";
    snprintf(out, outlen, "%s/records.hdf5", dir);
    struct lt_h5_file_attrs a = attrs_for(LT_H5_TRIGGER_RECORD);
    struct lt_h5w *w;
    ck_assert_msg(lt_h5w_open(&w, out, &a, NULL, err, sizeof err) == 0, "%s", err);
    static uint8_t payload[TR_PAYLOAD];
    for (unsigned r = 0; r < 3; r++) {
        struct lt_trigger_record_header trh = {0};
        trh.trigger_number = tr_numbers[r];
        trh.trigger_timestamp = 5000000ULL * tr_numbers[r];
        trh.run_number = RUN;
        trh.trigger_type = 2;
        trh.sequence_number = tr_seqs[r];
        trh.max_sequence_number = tr_numbers[r] == 5 ? 1 : 0;
        trh.element_id = sid(LT_SUBSYS_TR_BUILDER, 0);
        struct lt_component_request cr[3];
        for (unsigned i = 0; i < 3; i++) {
            memset(&cr[i], 0, sizeof cr[i]);
            cr[i].component = sid(LT_SUBSYS_DETECTOR_READOUT, i);
            cr[i].window_begin = trh.trigger_timestamp - 1000;
            cr[i].window_end = trh.trigger_timestamp + 140625;
        }
        ck_assert_msg(lt_h5w_begin_trigger_record(w, &trh, cr, 3, err, sizeof err) == 0, "%s", err);
        for (unsigned st = 0; st < 3; st++) {
            struct lt_fragment_header h =
                frag_hdr(tr_numbers[r], tr_seqs[r], st, trh.trigger_timestamp - 1000);
            if (st == 2) {
                h.error_bits = 1U << LT_FRAG_ERR_DATA_NOT_FOUND;
                ck_assert_msg(lt_h5w_add_fragment(w, &h, NULL, 0, err, sizeof err) == 0, "%s", err);
            } else {
                fill_frames(payload, TR_FRAMES, st, h.window_begin, 1000 * r + st);
                ck_assert_msg(
                    lt_h5w_add_fragment(w, &h, payload, sizeof payload, err, sizeof err) == 0, "%s",
                    err);
            }
        }
        struct lt_fragment_header tc =
            frag_hdr(tr_numbers[r], tr_seqs[r], 0, trh.trigger_timestamp);
        tc.fragment_type = LT_FRAGTYPE_TRIGGER_CANDIDATE;
        tc.detector_id = LT_DETID_DAQ;
        tc.element_id = sid(LT_SUBSYS_TRIGGER, 0);
        tc_payload(payload, trh.trigger_timestamp, (uint32_t)r);
        ck_assert_msg(lt_h5w_add_fragment(w, &tc, payload, TC_PAYLOAD, err, sizeof err) == 0, "%s",
                      err);
        ck_assert_msg(lt_h5w_end_record(w, err, sizeof err) == 0, "%s", err);
    }
    ck_assert_msg(lt_h5w_close(w, err, sizeof err) == 0, "%s", err);
}

START_TEST(test_names)
{
    char b[256];
    ck_assert_int_gt(lt_h5_record_name(LT_H5_TRIGGER_RECORD, 42, 3, b, sizeof b), 0);
    ck_assert_str_eq(b, "TriggerRecord000042.0003");
    ck_assert_int_gt(lt_h5_record_name(LT_H5_TIMESLICE, 1234567, 0, b, sizeof b), 0);
    ck_assert_str_eq(b, "TimeSlice1234567");
    struct lt_source_id s = sid(LT_SUBSYS_DETECTOR_READOUT, 0x2a);
    ck_assert_int_gt(lt_h5_fragment_dataset_name(&s, LT_FRAGTYPE_WIBETH, b, sizeof b), 0);
    ck_assert_str_eq(b, "Detector_Readout_0x0000002a_WIBEth");
    s = sid(LT_SUBSYS_TRIGGER, 1);
    ck_assert_int_gt(lt_h5_fragment_dataset_name(&s, LT_FRAGTYPE_TRIGGER_CANDIDATE, b, sizeof b),
                     0);
    ck_assert_str_eq(b, "Trigger_0x00000001_Trigger_Candidate");
    s = sid(LT_SUBSYS_TR_BUILDER, 0);
    ck_assert_int_gt(lt_h5_header_dataset_name(LT_H5_TRIGGER_RECORD, &s, b, sizeof b), 0);
    ck_assert_str_eq(b, "TR_Builder_0x00000000_TriggerRecordHeader");
    ck_assert_int_gt(lt_h5_header_dataset_name(LT_H5_TIMESLICE, &s, b, sizeof b), 0);
    ck_assert_str_eq(b, "TR_Builder_0x00000000_TimeSliceHeader");
    /* 2026-01-01T12:00:00Z */
    ck_assert_int_gt(lt_h5_file_name("np04hd", 12345, 3, "dataflow0", 1767268800, b, sizeof b), 0);
    ck_assert_str_eq(b, "np04hd_raw_run012345_0003_dataflow0_20260101T120000.hdf5");
    ck_assert_int_eq(lt_h5_file_name("a/b", 1, 0, "w", 0, b, sizeof b), LT_EINVAL);
    ck_assert_int_eq(lt_h5_record_name(LT_H5_TRIGGER_RECORD, 42, 3, b, 10), LT_ESHORT);

    uint64_t n;
    uint16_t q;
    ck_assert_int_eq(
        lt_h5_parse_record_name(LT_H5_TRIGGER_RECORD, "TriggerRecord000042.0003", &n, &q), 0);
    ck_assert_uint_eq(n, 42);
    ck_assert_uint_eq(q, 3);
    ck_assert_int_eq(lt_h5_parse_record_name(LT_H5_TIMESLICE, "TimeSlice000007", &n, &q), 0);
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(lt_h5_parse_record_name(LT_H5_TIMESLICE, "TimeSlice", &n, &q), LT_EFORMAT);
    ck_assert_int_eq(lt_h5_parse_record_name(LT_H5_TIMESLICE, "Truth", &n, &q), LT_EFORMAT);
    ck_assert_int_eq(lt_h5_parse_record_name(LT_H5_TRIGGER_RECORD, "TriggerRecord1.99999", &n, &q),
                     LT_EFORMAT);
    ck_assert_int_eq(
        lt_h5_parse_record_name(LT_H5_TIMESLICE, "TimeSlice99999999999999999999999", &n, &q),
        LT_EFORMAT);
    const char *suffix;
    ck_assert_int_eq(
        lt_h5_parse_dataset_name("HW_Signals_Interface_0x0000abcd_Hardware_Signal", &s, &suffix),
        0);
    ck_assert_uint_eq(s.subsystem, LT_SUBSYS_HW_SIGNALS);
    ck_assert_uint_eq(s.id, 0xabcd);
    ck_assert_str_eq(suffix, "Hardware_Signal");
    ck_assert_int_eq(lt_h5_parse_dataset_name("Bogus_0x00000001_WIBEth", &s, &suffix), LT_EFORMAT);
    ck_assert_int_eq(lt_h5_parse_dataset_name("Trigger_0x001_WIBEth", &s, &suffix), LT_EFORMAT);

    char js[1024];
    ck_assert_int_gt(lt_h5_filelayout_params_json(LT_H5_TIMESLICE, js, sizeof js), 0);
    json_error_t je;
    json_t *j = json_loads(js, 0, &je);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "record_name_prefix")), "TimeSlice");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "digits_for_sequence_number")), 0);
    json_decref(j);
}
END_TEST

START_TEST(test_timeslice_roundtrip)
{
    make_tmpdir();
    char path[600], err[512] = "";
    write_run_file(tmpdir, path, sizeof path);
    struct lt_h5r *r;
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    const struct lt_h5_file_attrs *a = lt_h5r_attrs(r);
    ck_assert_int_eq(a->record_type, LT_H5_TIMESLICE);
    ck_assert_uint_eq(a->run_number, RUN);
    ck_assert_uint_eq(a->file_index, 7);
    ck_assert_uint_eq(a->filelayout_version, LT_H5_FILELAYOUT_VERSION);
    ck_assert_str_eq(a->application_name, "test_h5raw");
    ck_assert_str_eq(a->operational_environment, "lartrig");
    ck_assert_str_eq(a->offline_data_stream, "sim");
    ck_assert_int_eq(a->run_was_for_test_purposes, 1);
    ck_assert_int_eq(a->has_recorded_size, 1);
    ck_assert_uint_gt(a->creation_timestamp, 1600000000000ULL);
    ck_assert_uint_ge(a->closing_timestamp, a->creation_timestamp);
    size_t plen = FRAMES * LT_WIBETH_FRAME_SIZE;
    ck_assert_uint_eq(a->recorded_size,
                      SLICES * (LT_TSH_SIZE + STREAMS * (LT_FRAGMENT_HEADER_SIZE + plen)));

    ck_assert_uint_eq(lt_h5r_record_count(r), SLICES);
    uint8_t *expect = malloc(plen), *buf = malloc(plen + LT_FRAGMENT_HEADER_SIZE);
    for (unsigned s = 0; s < SLICES; s++) {
        const struct lt_h5_record_id *id = lt_h5r_record(r, s);
        ck_assert_uint_eq(id->number, s + 1);
        ck_assert_uint_eq(id->sequence, 0);
        char want[64];
        snprintf(want, sizeof want, "TimeSlice%06u", s + 1);
        ck_assert_str_eq(id->name, want);
        struct lt_timeslice_header tsh;
        ck_assert_msg(lt_h5r_read_tsh(r, s, &tsh, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(tsh.timeslice_number, s + 1);
        ck_assert_uint_eq(tsh.run_number, RUN);
        ck_assert_uint_eq(tsh.element_id.subsystem, LT_SUBSYS_TR_BUILDER);

        struct lt_h5_dataset_info *ds;
        size_t n;
        ck_assert_msg(lt_h5r_list_datasets(r, s, &ds, &n, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(n, 1 + STREAMS);
        ck_assert_int_eq(ds[0].kind, LT_H5_DS_RECORD_HEADER);
        ck_assert_str_eq(ds[0].name, "TR_Builder_0x00000000_TimeSliceHeader");
        ck_assert_uint_eq(ds[0].size, LT_TSH_SIZE);
        for (unsigned st = 0; st < STREAMS; st++) {
            const struct lt_h5_dataset_info *d = &ds[1 + st];
            char dn[64];
            snprintf(dn, sizeof dn, "Detector_Readout_0x%08x_WIBEth", st);
            ck_assert_str_eq(d->name, dn);
            ck_assert_int_eq(d->kind, LT_H5_DS_FRAGMENT);
            ck_assert_uint_eq(d->fragment_type, LT_FRAGTYPE_WIBETH);
            ck_assert_uint_eq(d->source_id.id, st);
            ck_assert_uint_eq(d->size, LT_FRAGMENT_HEADER_SIZE + plen);
            struct lt_fragment_header h;
            size_t pl;
            ck_assert_msg(lt_h5r_read_fragment(r, s, d->name, &h, buf,
                                               plen + LT_FRAGMENT_HEADER_SIZE, &pl, err,
                                               sizeof err) == 0,
                          "%s", err);
            ck_assert_uint_eq(pl, plen);
            struct lt_fragment_header want_h = frag_hdr(s + 1, 0, st, 1000000ULL + s * SLICE_TICKS);
            ck_assert_uint_eq(h.size, LT_FRAGMENT_HEADER_SIZE + plen);
            ck_assert_uint_eq(h.trigger_number, want_h.trigger_number);
            ck_assert_uint_eq(h.window_begin, want_h.window_begin);
            ck_assert_uint_eq(h.window_end, want_h.window_end);
            ck_assert_uint_eq(h.fragment_type, LT_FRAGTYPE_WIBETH);
            ck_assert_uint_eq(h.detector_id, LT_DETID_HD_TPC);
            ck_assert_uint_eq(h.element_id.id, st);
            fill_frames(expect, FRAMES, st, want_h.window_begin, s * 100 + st);
            ck_assert_int_eq(memcmp(buf + LT_FRAGMENT_HEADER_SIZE, expect, plen), 0);
            /* The stored header bytes are exactly the encoder's. */
            uint8_t hb[LT_FRAGMENT_HEADER_SIZE];
            want_h.size = h.size;
            ck_assert_int_eq(lt_fragment_header_encode(&want_h, hb, sizeof hb), 0);
            ck_assert_int_eq(memcmp(buf, hb, sizeof hb), 0);
        }
        /* A too-small buffer is refused, not overrun. */
        size_t pl;
        struct lt_fragment_header h;
        ck_assert_int_eq(lt_h5r_read_fragment(r, s, ds[1].name, &h, buf, 100, &pl, err, sizeof err),
                         LT_ESHORT);
        uint8_t *ab;
        ck_assert_msg(
            lt_h5r_read_fragment_alloc(r, s, ds[1].name, &h, &ab, &pl, 0, err, sizeof err) == 0,
            "%s", err);
        fill_frames(expect, FRAMES, 0, 1000000ULL + s * SLICE_TICKS, s * 100 + 0);
        ck_assert_int_eq(memcmp(ab + LT_FRAGMENT_HEADER_SIZE, expect, plen), 0);
        free(ab);
        ck_assert_int_eq(
            lt_h5r_read_fragment_alloc(r, s, ds[1].name, &h, &ab, &pl, 1000, err, sizeof err),
            LT_ERANGE);
        ck_assert_ptr_nonnull(strstr(err, path));
        free(ds);
    }
    /* The wrong header kind for this file. */
    struct lt_trigger_record_header trh;
    size_t ncr;
    ck_assert_int_eq(lt_h5r_read_trh(r, 0, &trh, NULL, 0, &ncr, err, sizeof err), LT_EINVAL);

    size_t nt;
    ck_assert_msg(lt_h5r_truth_count(r, &nt, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(nt, N_TRUTH);
    struct lt_truth t[N_TRUTH];
    ck_assert_msg(lt_h5r_read_truth(r, 0, t, N_TRUTH, err, sizeof err) == 0, "%s", err);
    for (unsigned i = 0; i < N_TRUTH; i++) {
        struct lt_truth w = truth_row(i);
        ck_assert_uint_eq(t[i].time, w.time);
        ck_assert_uint_eq(t[i].cell, w.cell);
        ck_assert_uint_eq(t[i].channel_start, w.channel_start);
        ck_assert_uint_eq(t[i].channel_end, w.channel_end);
        ck_assert_uint_eq(t[i].kind, w.kind);
        ck_assert(t[i].energy_mev == w.energy_mev);
        ck_assert_uint_eq(t[i].time_end, w.time_end);
    }
    ck_assert_msg(lt_h5r_read_truth(r, 8, t, 2, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(t[0].time, truth_row(8).time);
    ck_assert_int_eq(lt_h5r_read_truth(r, 8, t, 3, err, sizeof err), LT_ERANGE);
    free(expect);
    free(buf);
    lt_h5r_close(r);
    rm_tmpdir();
}
END_TEST

START_TEST(test_trigger_record_roundtrip)
{
    make_tmpdir();
    char path[600], err[512] = "";
    write_tr_file(tmpdir, path, sizeof path);
    struct lt_h5r *r;
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(lt_h5r_attrs(r)->record_type, LT_H5_TRIGGER_RECORD);
    ck_assert_int_eq(lt_h5r_attrs(r)->run_was_for_test_purposes, 1);
    ck_assert_uint_eq(lt_h5r_record_count(r), 3);
    static uint8_t buf[LT_FRAGMENT_HEADER_SIZE + TR_PAYLOAD], expect[TR_PAYLOAD];
    for (unsigned i = 0; i < 3; i++) {
        const struct lt_h5_record_id *id = lt_h5r_record(r, i);
        ck_assert_uint_eq(id->number, tr_numbers[i]);
        ck_assert_uint_eq(id->sequence, tr_seqs[i]);
        char want[64];
        snprintf(want, sizeof want, "TriggerRecord%06u.%04u", (unsigned)tr_numbers[i],
                 (unsigned)tr_seqs[i]);
        ck_assert_str_eq(id->name, want);
        size_t idx;
        ck_assert_int_eq(lt_h5r_find_record(r, tr_numbers[i], tr_seqs[i], &idx), 0);
        ck_assert_uint_eq(idx, i);

        struct lt_trigger_record_header trh;
        struct lt_component_request cr[4];
        size_t ncr;
        ck_assert_msg(lt_h5r_read_trh(r, i, &trh, cr, 4, &ncr, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(ncr, 3);
        ck_assert_uint_eq(trh.num_requested_components, 3);
        ck_assert_uint_eq(trh.trigger_number, tr_numbers[i]);
        ck_assert_uint_eq(trh.trigger_timestamp, 5000000ULL * tr_numbers[i]);
        ck_assert_uint_eq(trh.sequence_number, tr_seqs[i]);
        ck_assert_uint_eq(trh.trigger_type, 2);
        for (unsigned c = 0; c < 3; c++) {
            ck_assert_uint_eq(cr[c].component.id, c);
            ck_assert_uint_eq(cr[c].window_end, trh.trigger_timestamp + 140625);
        }
        ck_assert_int_eq(lt_h5r_read_trh(r, i, &trh, cr, 2, &ncr, err, sizeof err), LT_ESHORT);

        struct lt_h5_dataset_info *ds;
        size_t n;
        ck_assert_msg(lt_h5r_list_datasets(r, i, &ds, &n, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(n, 5);
        ck_assert_str_eq(ds[0].name, "TR_Builder_0x00000000_TriggerRecordHeader");
        ck_assert_uint_eq(ds[0].size, LT_TRH_SIZE + 3 * LT_COMPONENT_REQUEST_SIZE);
        ck_assert_str_eq(ds[1].name, "Detector_Readout_0x00000000_WIBEth");
        ck_assert_str_eq(ds[3].name, "Detector_Readout_0x00000002_WIBEth");
        ck_assert_uint_eq(ds[3].size, LT_FRAGMENT_HEADER_SIZE);
        ck_assert_str_eq(ds[4].name, "Trigger_0x00000000_Trigger_Candidate");
        for (unsigned st = 0; st < 2; st++) {
            struct lt_fragment_header h;
            size_t pl;
            ck_assert_msg(lt_h5r_read_fragment(r, i, ds[1 + st].name, &h, buf, sizeof buf, &pl, err,
                                               sizeof err) == 0,
                          "%s", err);
            ck_assert_uint_eq(pl, TR_PAYLOAD);
            ck_assert_uint_eq(h.sequence_number, tr_seqs[i]);
            fill_frames(expect, TR_FRAMES, st, trh.trigger_timestamp - 1000, 1000 * i + st);
            ck_assert_int_eq(memcmp(buf + LT_FRAGMENT_HEADER_SIZE, expect, TR_PAYLOAD), 0);
        }
        struct lt_fragment_header h;
        size_t pl;
        ck_assert_msg(
            lt_h5r_read_fragment(r, i, ds[3].name, &h, buf, sizeof buf, &pl, err, sizeof err) == 0,
            "%s", err);
        ck_assert_uint_eq(pl, 0);
        ck_assert_uint_eq(h.error_bits, 1U << LT_FRAG_ERR_DATA_NOT_FOUND);
        ck_assert_msg(
            lt_h5r_read_fragment(r, i, ds[4].name, &h, buf, sizeof buf, &pl, err, sizeof err) == 0,
            "%s", err);
        ck_assert_uint_eq(pl, TC_PAYLOAD);
        ck_assert_uint_eq(h.fragment_type, LT_FRAGTYPE_TRIGGER_CANDIDATE);
        tc_payload(expect, h.trigger_timestamp, (uint32_t)i);
        ck_assert_int_eq(memcmp(buf + LT_FRAGMENT_HEADER_SIZE, expect, TC_PAYLOAD), 0);
        free(ds);
    }
    size_t nt = 99;
    ck_assert_int_eq(lt_h5r_truth_count(r, &nt, err, sizeof err), 0);
    ck_assert_uint_eq(nt, 0);
    lt_h5r_close(r);
    rm_tmpdir();
}
END_TEST

/* Attributes and names checked with the plain HDF5 API, independent of our reader. */
static void expect_uint_attr(hid_t obj, const char *name, hid_t type, uint64_t want)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "attribute %s missing", name);
    hid_t t = H5Aget_type(a);
    ck_assert_msg(H5Tequal(t, type) > 0, "attribute %s has the wrong type", name);
    uint64_t v = 0;
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_UINT64, &v), 0);
    if (want != UINT64_MAX) ck_assert_uint_eq(v, want);
    H5Tclose(t);
    H5Aclose(a);
}

static char *str_attr(hid_t obj, const char *name)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "attribute %s missing", name);
    hid_t t = H5Aget_type(a);
    ck_assert_int_eq(H5Tget_class(t), H5T_STRING);
    ck_assert_int_gt(H5Tis_variable_str(t), 0);
    char *s = NULL;
    ck_assert_int_ge(H5Aread(a, t, &s), 0);
    char *copy = strdup(s);
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
    return copy;
}

START_TEST(test_layout_with_plain_hdf5)
{
    make_tmpdir();
    char path[600];
    write_tr_file(tmpdir, path, sizeof path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    expect_uint_attr(f, "run_number", H5T_STD_U32LE, RUN);
    expect_uint_attr(f, "filelayout_version", H5T_STD_U32LE, 5);
    expect_uint_attr(f, "file_index", H5T_STD_U64LE, 7);
    /* hdf5libs writes the timestamps as strings: std::to_string of the epoch milliseconds. */
    for (int i = 0; i < 2; i++) {
        char *ms = str_attr(f, i ? "closing_timestamp" : "creation_timestamp");
        ck_assert_uint_eq(strspn(ms, "0123456789"), strlen(ms));
        ck_assert_uint_gt(strtoull(ms, NULL, 10), 1600000000000ULL);
        free(ms);
    }
    expect_uint_attr(f, "recorded_size", H5T_STD_U64LE, UINT64_MAX);
    const char *strs[][2] = {{"record_type", "TriggerRecord"},
                             {"application_name", "test_h5raw"},
                             {"operational_environment", "lartrig"},
                             {"offline_data_stream", "sim"},
                             {"run_was_for_test_purposes", "true"}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        char *s = str_attr(f, strs[i][0]);
        ck_assert_str_eq(s, strs[i][1]);
        free(s);
    }
    char *s = str_attr(f, "filelayout_params");
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "record_name_prefix")), "TriggerRecord");
    ck_assert_str_eq(json_string_value(json_object_get(j, "record_header_dataset_name")),
                     "TriggerRecordHeader");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "digits_for_record_number")), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "digits_for_sequence_number")), 4);
    json_decref(j);
    free(s);
    s = str_attr(f, "source_id_geo_id_map");
    j = json_loads(s, 0, &je);
    ck_assert_ptr_nonnull(j);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "map_entries")), STREAMS);
    json_decref(j);
    free(s);

    /* A fragment dataset: 8-bit integers, shape {size, 1}, contiguous (no chunking). */
    hid_t d = H5Dopen2(f, "/TriggerRecord000005.0001/RawData/Detector_Readout_0x00000001_WIBEth",
                       H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d), pl = H5Dget_create_plist(d);
    ck_assert_int_gt(H5Tequal(t, H5T_STD_I8LE), 0);
    hsize_t dims[2];
    ck_assert_int_eq(H5Sget_simple_extent_ndims(sp), 2);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    ck_assert_uint_eq(dims[0], LT_FRAGMENT_HEADER_SIZE + TR_PAYLOAD);
    ck_assert_uint_eq(dims[1], 1);
    ck_assert_int_eq(H5Pget_layout(pl), H5D_CONTIGUOUS);
    H5Pclose(pl);
    H5Sclose(sp);
    H5Tclose(t);
    H5Dclose(d);

    /* Record-level SourceID maps as HDF5SourceIDHandler stores them. */
    hid_t g = H5Gopen2(f, "/TriggerRecord000009.0000", H5P_DEFAULT);
    ck_assert_int_ge(g, 0);
    s = str_attr(g, "record_header_source_id");
    j = json_loads(s, 0, &je);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "subsys")), LT_SUBSYS_TR_BUILDER);
    json_decref(j);
    free(s);
    s = str_attr(g, "source_id_path_map");
    ck_assert_ptr_nonnull(strstr(s, "\"/TriggerRecord000009.0000/RawData/"
                                    "Trigger_0x00000000_Trigger_Candidate\""));
    ck_assert_ptr_nonnull(strstr(s, "\"/TriggerRecord000009.0000/RawData/"
                                    "TR_Builder_0x00000000_TriggerRecordHeader\""));
    j = json_loads(s, 0, &je);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "map_entries")), 5);
    json_decref(j);
    free(s);
    s = str_attr(g, "fragment_type_source_id_map");
    j = json_loads(s, 0, &je);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "map_entries")), 2);
    json_decref(j);
    free(s);
    s = str_attr(g, "subdetector_source_id_map");
    j = json_loads(s, 0, &je);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "map_entries")), 2);
    json_decref(j);
    free(s);
    H5Gclose(g);
    H5Fclose(f);
    rm_tmpdir();
}
END_TEST

/* Truth beyond one block (lib/hdf5/h5raw_truth.c): appended in uneven pieces, read back in ranges
 * that straddle block boundaries, and no dataset anywhere but the records' (hdf5libs would list
 * it as a fragment). */
static herr_t count_datasets(hid_t obj, const char *name, const H5O_info_t *info, void *op)
{
    (void)obj;
    if (info->type == H5O_TYPE_DATASET && !strstr(name, "/RawData/")) (*(int *)op)++;
    return 0;
}

START_TEST(test_truth_blocks)
{
    make_tmpdir();
    char path[600], err[512] = "";
    snprintf(path, sizeof path, "%s/truth.hdf5", tmpdir);
    struct lt_h5_file_attrs a = attrs_for(LT_H5_TIMESLICE);
    struct lt_h5w *w;
    ck_assert_msg(lt_h5w_open(&w, path, &a, NULL, err, sizeof err) == 0, "%s", err);
    enum { N = 150001 };
    struct lt_truth *rows = calloc(N, sizeof *rows), *back = calloc(N, sizeof *back);
    ck_assert(rows && back);
    for (size_t i = 0; i < N; i++) rows[i] = truth_row((unsigned)i);
    for (size_t done = 0, piece = 1; done < N; done += piece, piece = piece * 3 + 7) {
        if (piece > N - done) piece = N - done;
        ck_assert_msg(lt_h5w_append_truth(w, rows + done, piece, err, sizeof err) == 0, "%s", err);
    }
    ck_assert_msg(lt_h5w_close(w, err, sizeof err) == 0, "%s", err);
    struct lt_h5r *r;
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    size_t n;
    ck_assert_msg(lt_h5r_truth_count(r, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(n, N);
    ck_assert_msg(lt_h5r_read_truth(r, 0, back, N, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < N; i++)
        ck_assert(back[i].time == rows[i].time && back[i].time_end == rows[i].time_end &&
                  back[i].cell == rows[i].cell && back[i].kind == rows[i].kind &&
                  back[i].channel_end == rows[i].channel_end &&
                  back[i].energy_mev == rows[i].energy_mev);
    ck_assert_msg(lt_h5r_read_truth(r, 65530, back, 20, err, sizeof err) == 0, "%s", err);
    for (size_t i = 0; i < 20; i++) ck_assert_uint_eq(back[i].time, rows[65530 + i].time);
    ck_assert_int_eq(lt_h5r_read_truth(r, N - 1, back, 2, err, sizeof err), LT_ERANGE);
    lt_h5r_close(r);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int extra = 0;
    ck_assert_int_ge(H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, count_datasets, &extra), 0);
    ck_assert_int_eq(extra, 0);
    H5Fclose(f);
    free(rows);
    free(back);
    rm_tmpdir();
}
END_TEST

START_TEST(test_writer_refuses)
{
    make_tmpdir();
    char path[600], err[512] = "";
    snprintf(path, sizeof path, "%s/w.hdf5", tmpdir);
    struct lt_h5_file_attrs a = attrs_for(LT_H5_TIMESLICE);
    struct lt_h5w *w;
    ck_assert_msg(lt_h5w_open(&w, path, &a, NULL, err, sizeof err) == 0, "%s", err);
    struct lt_fragment_header h = frag_hdr(1, 0, 0, 0);
    uint8_t p[16] = {0};
    /* No record open. */
    ck_assert_int_eq(lt_h5w_add_fragment(w, &h, p, sizeof p, err, sizeof err), LT_EINVAL);
    struct lt_timeslice_header tsh = {
        .timeslice_number = 1, .run_number = RUN, .element_id = sid(LT_SUBSYS_TR_BUILDER, 0)};
    ck_assert_int_eq(lt_h5w_begin_timeslice(w, &tsh, err, sizeof err), 0);
    /* Fragment of another record. */
    struct lt_fragment_header other = frag_hdr(2, 0, 0, 0);
    ck_assert_int_eq(lt_h5w_add_fragment(w, &other, p, sizeof p, err, sizeof err), LT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "TimeSlice000001"));
    ck_assert_int_eq(lt_h5w_add_fragment(w, &h, p, sizeof p, err, sizeof err), 0);
    /* Same SourceID and type twice. */
    ck_assert_int_eq(lt_h5w_add_fragment(w, &h, p, sizeof p, err, sizeof err), LT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "Detector_Readout_0x00000000_WIBEth"));
    /* Wrong record kind for the file. */
    struct lt_trigger_record_header trh = {.trigger_number = 1,
                                           .element_id = sid(LT_SUBSYS_TR_BUILDER, 0)};
    ck_assert_int_eq(lt_h5w_begin_trigger_record(w, &trh, NULL, 0, err, sizeof err), LT_EINVAL);
    ck_assert_int_eq(lt_h5w_end_record(w, err, sizeof err), 0);
    /* Same record twice. */
    ck_assert_int_eq(lt_h5w_begin_timeslice(w, &tsh, err, sizeof err), LT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "already exists"));
    ck_assert_int_eq(lt_h5w_close(w, err, sizeof err), 0);
    /* Existing file is not overwritten unless asked to. */
    ck_assert_int_eq(lt_h5w_open(&w, path, &a, NULL, err, sizeof err), LT_EIO);
    ck_assert_ptr_nonnull(strstr(err, path));
    struct lt_h5w_options o = {.truncate = 1};
    ck_assert_int_eq(lt_h5w_open(&w, path, &a, &o, err, sizeof err), 0);
    ck_assert_int_eq(lt_h5w_close(w, err, sizeof err), 0);

    /* A writer that dies (abort: no closing attributes, no rename) leaves a .writing file the
     * reader opens and reports as never closed. */
    snprintf(path, sizeof path, "%s/died.hdf5", tmpdir);
    struct lt_h5w_options ws = {.writing_suffix = 1};
    ck_assert_int_eq(lt_h5w_open(&w, path, &a, &ws, err, sizeof err), 0);
    ck_assert_int_eq(lt_h5w_begin_timeslice(w, &tsh, err, sizeof err), 0);
    ck_assert_int_eq(lt_h5w_add_fragment(w, &h, p, sizeof p, err, sizeof err), 0);
    ck_assert_int_eq(lt_h5w_end_record(w, err, sizeof err), 0);
    lt_h5w_abort(w);
    ck_assert_int_ne(access(path, F_OK), 0);
    char writing[700];
    snprintf(writing, sizeof writing, "%s" LT_H5_WRITING_SUFFIX, path);
    struct lt_h5r *r;
    ck_assert_msg(lt_h5r_open(&r, writing, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(lt_h5r_attrs(r)->has_recorded_size, 0);
    ck_assert_uint_eq(lt_h5r_record_count(r), 1);
    lt_h5r_close(r);

    /* Closing with a record still open is an error and keeps the .writing name. */
    snprintf(path, sizeof path, "%s/open.hdf5", tmpdir);
    ck_assert_int_eq(lt_h5w_open(&w, path, &a, &ws, err, sizeof err), 0);
    ck_assert_int_eq(lt_h5w_begin_timeslice(w, &tsh, err, sizeof err), 0);
    ck_assert_int_eq(lt_h5w_close(w, err, sizeof err), LT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "record still open"));
    ck_assert_int_ne(access(path, F_OK), 0);
    rm_tmpdir();
}
END_TEST

/* Open the file and touch everything; returns the number of errors seen, each of which must
 * name the file. Never crashes is the point: sanitizers check that part. */
static int exercise(const char *path, char *first_err, size_t len)
{
    char err[1024];
    int errors = 0;
    struct lt_h5r *r;
    first_err[0] = '\0';
#define NOTE(rc)                                                                                   \
    do {                                                                                           \
        if ((rc) < 0) {                                                                            \
            ck_assert_msg(strstr(err, path) != NULL, "error does not name the file: %s", err);     \
            if (!errors++) snprintf(first_err, len, "%s", err);                                    \
        }                                                                                          \
    } while (0)
    int rc = lt_h5r_open(&r, path, err, sizeof err);
    NOTE(rc);
    if (rc < 0) return errors;
    for (size_t i = 0; i < lt_h5r_record_count(r); i++) {
        struct lt_h5_dataset_info *ds;
        size_t n;
        rc = lt_h5r_list_datasets(r, i, &ds, &n, err, sizeof err);
        NOTE(rc);
        if (rc < 0) continue;
        for (size_t k = 0; k < n; k++) {
            if (ds[k].kind != LT_H5_DS_FRAGMENT) continue;
            struct lt_fragment_header h;
            uint8_t *b;
            size_t pl;
            rc = lt_h5r_read_fragment_alloc(r, i, ds[k].name, &h, &b, &pl, 0, err, sizeof err);
            NOTE(rc);
            if (rc == 0) free(b);
        }
        free(ds);
        if (lt_h5r_attrs(r)->record_type == LT_H5_TIMESLICE) {
            struct lt_timeslice_header tsh;
            NOTE(lt_h5r_read_tsh(r, i, &tsh, err, sizeof err));
        } else {
            struct lt_trigger_record_header trh;
            struct lt_component_request cr[8];
            size_t ncr;
            NOTE(lt_h5r_read_trh(r, i, &trh, cr, 8, &ncr, err, sizeof err));
        }
    }
    size_t nt;
    rc = lt_h5r_truth_count(r, &nt, err, sizeof err);
    NOTE(rc);
    /* Read in bounded batches, as replay does. */
    struct lt_truth t[256];
    for (size_t first = 0; rc == 0 && first < nt; first += 256) {
        rc = lt_h5r_read_truth(r, first, t, nt - first < 256 ? nt - first : 256, err, sizeof err);
        NOTE(rc);
    }
    lt_h5r_close(r);
#undef NOTE
    return errors;
}

static void copy_truncated(const char *src, const char *dst, off_t size)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(truncate(dst, size), 0);
}

START_TEST(test_truncated)
{
    make_tmpdir();
    char run[600], tr[600], cut[700], first[1024];
    write_run_file(tmpdir, run, sizeof run);
    write_tr_file(tmpdir, tr, sizeof tr);
    ck_assert_int_eq(exercise(run, first, sizeof first), 0);
    ck_assert_int_eq(exercise(tr, first, sizeof first), 0);
    const char *srcs[] = {run, tr};
    for (int f = 0; f < 2; f++) {
        struct stat st;
        ck_assert_int_eq(stat(srcs[f], &st), 0);
        off_t sizes[] = {0,
                         1,
                         8,
                         100,
                         512,
                         2048,
                         st.st_size / 4,
                         st.st_size / 2,
                         st.st_size * 3 / 4,
                         st.st_size - 4096,
                         st.st_size - 100,
                         st.st_size - 1};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            if (sizes[i] < 0 || sizes[i] >= st.st_size) continue;
            snprintf(cut, sizeof cut, "%s/cut%d_%zu.hdf5", tmpdir, f, i);
            copy_truncated(srcs[f], cut, sizes[i]);
            int errors = exercise(cut, first, sizeof first);
            ck_assert_msg(errors > 0, "truncation to %lld of %lld bytes went unnoticed",
                          (long long)sizes[i], (long long)st.st_size);
        }
    }
    rm_tmpdir();
}
END_TEST

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_garbage)
{
    make_tmpdir();
    char path[600], first[1024];
    uint8_t junk[65536];
    fill_payload(junk, sizeof junk, 99);
    snprintf(path, sizeof path, "%s/garbage.hdf5", tmpdir);
    write_bytes(path, junk, sizeof junk);
    ck_assert_int_eq(exercise(path, first, sizeof first), 1);
    ck_assert_ptr_nonnull(strstr(first, "not an HDF5 file"));
    /* Empty file, a directory, a missing file. */
    write_bytes(path, junk, 0);
    ck_assert_int_eq(exercise(path, first, sizeof first), 1);
    ck_assert_int_eq(exercise(tmpdir, first, sizeof first), 1);
    snprintf(path, sizeof path, "%s/nonexistent.hdf5", tmpdir);
    ck_assert_int_eq(exercise(path, first, sizeof first), 1);
    ck_assert_ptr_nonnull(strstr(first, "No such file"));
    /* A valid HDF5 file that is not a DUNE raw-data file. */
    snprintf(path, sizeof path, "%s/plain.h5", tmpdir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    H5Fclose(f);
    ck_assert_int_eq(exercise(path, first, sizeof first), 1);
    ck_assert_ptr_nonnull(strstr(first, "record_type"));
    rm_tmpdir();
}
END_TEST

/* Damaged metadata: overwrite a few bytes at many deterministic places (half of them in the
 * first 8 KiB where HDF5 keeps the superblock, root group and attribute heaps). libhdf5 itself
 * crashes on some of these (H5HG_read with a damaged global-heap length, bad object-header
 * messages) or tries to allocate gigabytes; lt_h5r_probe must turn all of that into an error
 * naming the file, and a file the probe passes must read cleanly in process. */
static void fuzz_metadata(const char *src, unsigned rounds, uint64_t seed, unsigned *unsafe_out,
                          unsigned *errors_out)
{
    FILE *f = fopen(src, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    ck_assert_int_gt(size, 0);
    rewind(f);
    uint8_t *orig = malloc((size_t)size), *buf = malloc((size_t)size);
    ck_assert_uint_eq(fread(orig, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    char path[700], err[1024], first[1024];
    snprintf(path, sizeof path, "%s/fuzz.hdf5", tmpdir);
    uint64_t x = seed;
    for (unsigned i = 0; i < rounds; i++) {
        memcpy(buf, orig, (size_t)size);
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        long span = (i & 1) && size > 8192 ? 8192 : size;
        long off = (long)(x % (uint64_t)span);
        unsigned n = 1 + (unsigned)((x >> 40) % 8);
        for (unsigned k = 0; k < n && off + k < size; k++)
            buf[off + k] ^= (uint8_t)(x >> (8 * k)) | 1;
        write_bytes(path, buf, (size_t)size);
        int unsafe = 0;
        int rc = lt_h5r_probe(path, 5, &unsafe, err, sizeof err);
        if (rc < 0) {
            ck_assert_msg(strstr(err, path) != NULL, "probe error does not name the file: %s", err);
            (*errors_out)++;
        }
        if (unsafe) (*unsafe_out)++;
        if (rc < 0) continue;
        /* A file the probe read cleanly reads cleanly in process too: same bytes, same calls. */
        int in_process = exercise(path, first, sizeof first);
        ck_assert_msg(in_process == 0, "probe passed but in process: %s", first);
    }
    free(orig);
    free(buf);
}

START_TEST(test_corrupt_metadata)
{
    make_tmpdir();
    char run[600], tr[600];
    write_run_file(tmpdir, run, sizeof run);
    write_tr_file(tmpdir, tr, sizeof tr);
    unsigned unsafe = 0, errors = 0;
#ifdef LARTRIG_SANITIZE
    const unsigned rounds = 40; /* fork of an ASan process costs ~0.1 s: fewer samples there */
#else
    const unsigned rounds = 150;
#endif
    fuzz_metadata(run, rounds, 0x1234567u, &unsafe, &errors);
    fuzz_metadata(tr, rounds, 0x7654321u, &unsafe, &errors);
    /* Damage to unused bytes (padding, free space, payload) cannot be noticed; damage to
     * metadata must be. The counts show what happened. */
    printf("corrupt metadata: %u damaged files, %u detected, %u crashed or hung libhdf5 (in the "
           "probe's child)\n",
           2 * rounds, errors, unsafe);
    ck_assert_uint_gt(errors, rounds / 5);
    rm_tmpdir();
}
END_TEST

/* HDF5's error printing is a per-thread setting in Debian's thread-safe libhdf5: a reader used
 * from a second thread must stay as quiet as in the first. */
static void *open_garbage(void *arg)
{
    char err[512];
    struct lt_h5r *r;
    return (void *)(intptr_t)lt_h5r_open(&r, arg, err, sizeof err);
}

START_TEST(test_quiet_in_threads)
{
    make_tmpdir();
    char path[600], log[600];
    uint8_t junk[4096];
    fill_payload(junk, sizeof junk, 5);
    /* An HDF5 signature followed by garbage, so HDF5 gets far enough to complain. */
    memcpy(junk, "\x89HDF\r\n\x1a\n", 8);
    snprintf(path, sizeof path, "%s/sig.hdf5", tmpdir);
    write_bytes(path, junk, sizeof junk);
    snprintf(log, sizeof log, "%s/stderr.txt", tmpdir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    close(fd);
    ck_assert_int_lt((int)(intptr_t)open_garbage(path), 0);
    for (int i = 0; i < 2; i++) {
        pthread_t t;
        void *rc;
        ck_assert_int_eq(pthread_create(&t, NULL, open_garbage, path), 0);
        ck_assert_int_eq(pthread_join(t, &rc), 0);
        ck_assert_int_lt((int)(intptr_t)rc, 0);
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    struct stat st;
    ck_assert_int_eq(stat(log, &st), 0);
    ck_assert_msg(st.st_size == 0, "HDF5 printed %lld bytes of error stack to stderr",
                  (long long)st.st_size);
    rm_tmpdir();
}
END_TEST

/* Open a written file for surgery with the plain HDF5 API. */
static hid_t reopen_rw(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    return f;
}

START_TEST(test_missing_objects)
{
    make_tmpdir();
    char run[600], err[1024], first[1024];
    write_run_file(tmpdir, run, sizeof run);
    /* A fragment dataset deleted: the record's source_id_path_map still lists it. */
    hid_t f = reopen_rw(run);
    const char *victim = "/TimeSlice000002/RawData/Detector_Readout_0x00000001_WIBEth";
    ck_assert_int_ge(H5Ldelete(f, victim, H5P_DEFAULT), 0);
    H5Fclose(f);
    struct lt_h5r *r;
    ck_assert_msg(lt_h5r_open(&r, run, err, sizeof err) == 0, "%s", err);
    struct lt_h5_dataset_info *ds;
    size_t n;
    ck_assert_int_eq(lt_h5r_list_datasets(r, 1, &ds, &n, err, sizeof err), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, run));
    ck_assert_ptr_nonnull(strstr(err, victim));
    ck_assert_ptr_nonnull(strstr(err, "missing"));
    struct lt_fragment_header h;
    uint8_t buf[64];
    size_t pl;
    ck_assert_int_eq(lt_h5r_read_fragment(r, 1, "Detector_Readout_0x00000001_WIBEth", &h, buf,
                                          sizeof buf, &pl, err, sizeof err),
                     LT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, victim));
    ck_assert_ptr_nonnull(strstr(err, "dataset missing"));
    /* Other records are unaffected. */
    ck_assert_msg(lt_h5r_list_datasets(r, 0, &ds, &n, err, sizeof err) == 0, "%s", err);
    free(ds);
    lt_h5r_close(r);

    /* The record header deleted. */
    f = reopen_rw(run);
    ck_assert_int_ge(
        H5Ldelete(f, "/TimeSlice000003/RawData/TR_Builder_0x00000000_TimeSliceHeader", H5P_DEFAULT),
        0);
    /* A whole RawData group deleted. */
    ck_assert_int_ge(H5Ldelete(f, "/TimeSlice000001/RawData", H5P_DEFAULT), 0);
    /* The truth table replaced by something that is not one. */
    ck_assert_int_ge(H5Ldelete(f, "/Truth", H5P_DEFAULT), 0);
    hsize_t dims[1] = {3};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(f, "/Truth", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
    ck_assert_msg(lt_h5r_open(&r, run, err, sizeof err) == 0, "%s", err);
    struct lt_timeslice_header tsh;
    ck_assert_int_eq(lt_h5r_read_tsh(r, 2, &tsh, err, sizeof err), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "/TimeSlice000003/RawData"));
    ck_assert_int_eq(lt_h5r_read_tsh(r, 0, &tsh, err, sizeof err), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "/TimeSlice000001/RawData: group missing"));
    size_t nt;
    ck_assert_int_eq(lt_h5r_truth_count(r, &nt, err, sizeof err), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "/Truth"));
    lt_h5r_close(r);
    ck_assert_int_gt(exercise(run, first, sizeof first), 0);
    rm_tmpdir();
}
END_TEST

/* Overwrite bytes inside a dataset with the plain HDF5 API. */
static void poke(const char *path, const char *dataset, hsize_t offset, const void *bytes, size_t n)
{
    hid_t f = reopen_rw(path);
    hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    hid_t fs = H5Dget_space(d);
    hsize_t off[2] = {offset, 0}, cnt[2] = {n, 1};
    hid_t ms = H5Screate_simple(2, cnt, NULL);
    ck_assert_int_ge(H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL), 0);
    ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_SCHAR, ms, fs, H5P_DEFAULT, bytes), 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
}

START_TEST(test_lying_headers)
{
    make_tmpdir();
    char tr[600], err[1024];
    write_tr_file(tmpdir, tr, sizeof tr);
    const char *ds = "/TriggerRecord000005.0000/RawData/Detector_Readout_0x00000001_WIBEth";
    /* FragmentHeader size field (offset 8) claims 100 bytes more than the dataset holds. */
    uint64_t bad = LT_FRAGMENT_HEADER_SIZE + TR_PAYLOAD + 100;
    poke(tr, ds, 8, &bad, sizeof bad);
    /* The Trigger_Candidate fragment's marker destroyed. */
    const char *tc = "/TriggerRecord000009.0000/RawData/Trigger_0x00000000_Trigger_Candidate";
    uint32_t junk = 0xdeadbeef;
    poke(tr, tc, 0, &junk, sizeof junk);
    /* The TRH claims 4 components but 3 are stored. */
    uint64_t four = 4;
    poke(tr, "/TriggerRecord000005.0001/RawData/TR_Builder_0x00000000_TriggerRecordHeader", 24,
         &four, sizeof four);

    struct lt_h5r *r;
    ck_assert_msg(lt_h5r_open(&r, tr, err, sizeof err) == 0, "%s", err);
    struct lt_fragment_header h;
    static uint8_t buf[LT_FRAGMENT_HEADER_SIZE + TR_PAYLOAD];
    size_t pl;
    ck_assert_int_eq(lt_h5r_read_fragment(r, 0, "Detector_Readout_0x00000001_WIBEth", &h, buf,
                                          sizeof buf, &pl, err, sizeof err),
                     LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, tr));
    ck_assert_ptr_nonnull(strstr(err, ds));
    ck_assert_ptr_nonnull(strstr(err, "disagrees"));
    ck_assert_int_eq(lt_h5r_read_fragment(r, 2, "Trigger_0x00000000_Trigger_Candidate", &h, buf,
                                          sizeof buf, &pl, err, sizeof err),
                     LT_EMAGIC);
    ck_assert_ptr_nonnull(strstr(err, tc));
    struct lt_trigger_record_header trh;
    struct lt_component_request cr[8];
    size_t ncr;
    ck_assert_int_eq(lt_h5r_read_trh(r, 1, &trh, cr, 8, &ncr, err, sizeof err), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "TriggerRecordHeader"));
    ck_assert_ptr_nonnull(strstr(err, "num_requested_components"));
    /* A fragment filed under the wrong record. */
    lt_h5r_close(r);
    uint64_t nine = 9;
    poke(tr, "/TriggerRecord000005.0000/RawData/Detector_Readout_0x00000000_WIBEth", 16, &nine,
         sizeof nine);
    ck_assert_msg(lt_h5r_open(&r, tr, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(lt_h5r_read_fragment(r, 0, "Detector_Readout_0x00000000_WIBEth", &h, buf,
                                          sizeof buf, &pl, err, sizeof err),
                     LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "belongs to record 9"));
    lt_h5r_close(r);
    rm_tmpdir();
}
END_TEST

START_TEST(test_bad_attributes)
{
    make_tmpdir();
    char run[600], err[1024];
    write_run_file(tmpdir, run, sizeof run);
    struct {
        const char *attr, *value;
        const char *expect;
    } cases[] = {
        {"record_type", "Bogus", "record_type \"Bogus\""},
        {"record_type", "TriggerRecord", "record_name_prefix"},
        {"filelayout_params", "{not json", "not a JSON object"},
    };
    char copy[700], cmd[2000];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(copy, sizeof copy, "%s/attr%zu.hdf5", tmpdir, i);
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", run, copy);
        ck_assert_int_eq(system(cmd), 0);
        hid_t f = reopen_rw(copy);
        ck_assert_int_ge(H5Adelete(f, cases[i].attr), 0);
        hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
        H5Tset_size(t, H5T_VARIABLE);
        hid_t a = H5Acreate2(f, cases[i].attr, t, sp, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert_int_ge(H5Awrite(a, t, &cases[i].value), 0);
        H5Aclose(a);
        H5Sclose(sp);
        H5Tclose(t);
        H5Fclose(f);
        struct lt_h5r *r;
        ck_assert_int_lt(lt_h5r_open(&r, copy, err, sizeof err), 0);
        ck_assert_ptr_nonnull(strstr(err, copy));
        ck_assert_msg(strstr(err, cases[i].expect), "%s", err);
    }
    /* run_number as a string, and a missing filelayout_version. */
    snprintf(copy, sizeof copy, "%s/attrN.hdf5", tmpdir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", run, copy);
    ck_assert_int_eq(system(cmd), 0);
    hid_t f = reopen_rw(copy);
    ck_assert_int_ge(H5Adelete(f, "filelayout_version"), 0);
    H5Fclose(f);
    struct lt_h5r *r;
    ck_assert_int_eq(lt_h5r_open(&r, copy, err, sizeof err), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "filelayout_version missing"));
    rm_tmpdir();
}
END_TEST

/* --write-sample: the writers run inside a Check test (their ck_asserts need one). */
static const char *sample_dir;

/* The run-data selection (lt_h5r_list_wibeth): of a slice holding WIBEth fragments of two cells,
 * a fragment of another type from a readout source, a trigger candidate and the slice header,
 * only the WIBEth fragments are run data, per cell or all of them, in cell/stream order. */
START_TEST(test_wibeth_selection)
{
    make_tmpdir();
    char err[512] = "", path[600];
    snprintf(path, sizeof path, "%s/select.hdf5", tmpdir);
    struct lt_h5_file_attrs a = attrs_for(LT_H5_TIMESLICE);
    struct lt_h5w *w;
    ck_assert_msg(lt_h5w_open(&w, path, &a, NULL, err, sizeof err) == 0, "%s", err);
    struct lt_timeslice_header tsh = {0};
    tsh.timeslice_number = 1;
    tsh.run_number = RUN;
    tsh.element_id = sid(LT_SUBSYS_TR_BUILDER, 0);
    ck_assert_msg(lt_h5w_begin_timeslice(w, &tsh, err, sizeof err) == 0, "%s", err);
    static uint8_t payload[FRAMES * LT_WIBETH_FRAME_SIZE];
    const uint32_t wib[] = {0x200, 0x000, 0x001}; /* cell 2 stream 0, cell 0 streams 0 and 1 */
    for (unsigned i = 0; i < 3; i++) {
        struct lt_fragment_header h = frag_hdr(1, 0, wib[i], 1000000ULL);
        fill_frames(payload, FRAMES, wib[i] & 0xFF, h.window_begin, i);
        /* Readers place a fragment by its frames' crate (= cell), not its SourceID number. */
        for (unsigned f = 0; f < FRAMES; f++) {
            lt_wibeth_frame *fr = (lt_wibeth_frame *)(payload + (size_t)f * LT_WIBETH_FRAME_SIZE);
            struct lt_daqeth_header dh;
            lt_daqeth_decode(fr, &dh);
            dh.crate = (uint16_t)(wib[i] >> 8);
            ck_assert_int_eq(lt_daqeth_encode(fr, &dh), 0);
        }
        ck_assert_msg(lt_h5w_add_fragment(w, &h, payload, sizeof payload, err, sizeof err) == 0,
                      "%s", err);
    }
    struct lt_fragment_header other = frag_hdr(1, 0, 0x005, 1000000ULL);
    other.fragment_type = LT_FRAGTYPE_DAPHNE; /* a readout source, but not WIBEth */
    ck_assert_msg(lt_h5w_add_fragment(w, &other, payload, 64, err, sizeof err) == 0, "%s", err);
    struct lt_fragment_header tc = frag_hdr(1, 0, 0, 1000000ULL);
    tc.fragment_type = LT_FRAGTYPE_TRIGGER_CANDIDATE;
    tc.element_id = sid(LT_SUBSYS_TRIGGER, 0);
    ck_assert_msg(lt_h5w_add_fragment(w, &tc, payload, 48, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(lt_h5w_end_record(w, err, sizeof err) == 0, "%s", err);
    struct lt_truth t = truth_row(0);
    ck_assert_msg(lt_h5w_append_truth(w, &t, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(lt_h5w_close(w, err, sizeof err) == 0, "%s", err);

    struct lt_h5r *r;
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    struct lt_h5_dataset_info *ds;
    size_t n;
    ck_assert_msg(lt_h5r_list_datasets(r, 0, &ds, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(n, 6); /* header + 5 fragments: the selection below has to choose */
    free(ds);
    ck_assert_msg(lt_h5r_list_wibeth(r, 0, LT_H5_ALL_CELLS, &ds, &n, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(ds[0].name, "Detector_Readout_0x00000000_WIBEth");
    ck_assert_str_eq(ds[1].name, "Detector_Readout_0x00000001_WIBEth");
    ck_assert_str_eq(ds[2].name, "Detector_Readout_0x00000200_WIBEth");
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(ds[i].kind, LT_H5_DS_FRAGMENT);
        ck_assert_uint_eq(ds[i].size, LT_FRAGMENT_HEADER_SIZE + sizeof payload);
    }
    free(ds);
    ck_assert_msg(lt_h5r_list_wibeth(r, 0, 2, &ds, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ds[0].source_id.id, 0x200);
    ck_assert_uint_eq(ds[0].cell, 2);
    ck_assert_uint_eq(ds[0].stream, 0);
    free(ds);
    ck_assert_msg(lt_h5r_list_wibeth(r, 0, 7, &ds, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(n, 0);
    free(ds);
    ck_assert_int_eq(lt_h5r_list_wibeth(r, 1, LT_H5_ALL_CELLS, &ds, &n, err, sizeof err),
                     LT_ENOTFOUND);
    ck_assert_ptr_null(ds);
    lt_h5r_close(r);
    rm_tmpdir();
}
END_TEST

/* Placing fragments the way DUNE's tools do (lt_h5r_stream_origin): by the frames' DAQEthHeader
 * checked against the GeoID map, by the map alone for an empty fragment, never by the SourceID
 * number (here DUNE-style, 0x77..0x7a). */
START_TEST(test_stream_origin)
{
    make_tmpdir();
    char err[512] = "", path[600];
    snprintf(path, sizeof path, "%s/origin.hdf5", tmpdir);
    struct lt_h5_file_attrs a = attrs_for(LT_H5_TIMESLICE);
    const struct lt_source_id s77 = sid(LT_SUBSYS_DETECTOR_READOUT, 0x77),
                              s78 = sid(LT_SUBSYS_DETECTOR_READOUT, 0x78),
                              s79 = sid(LT_SUBSYS_DETECTOR_READOUT, 0x79),
                              s7a = sid(LT_SUBSYS_DETECTOR_READOUT, 0x7a);
    const struct lt_h5_geoid_entry geo[] = {
        {s77, lt_h5_geoid_encode(LT_DETID_HD_TPC, 9, 0, 0)}, /* two GeoIDs: the second fits */
        {s77, lt_h5_geoid_encode(LT_DETID_HD_TPC, 5, 1, 3)}, /* cell 5 stream 11 */
        {s78, lt_h5_geoid_encode(LT_DETID_HD_TPC, 5, 0, 2)}, /* empty: cell 5 stream 2 */
        {s7a, lt_h5_geoid_encode(LT_DETID_HD_TPC, 6, 0, 0)}, /* frames say crate 7: refused */
    };
    a.geoids = geo;
    a.n_geoids = sizeof geo / sizeof geo[0];
    struct lt_h5w *w;
    ck_assert_msg(lt_h5w_open(&w, path, &a, NULL, err, sizeof err) == 0, "%s", err);
    struct lt_timeslice_header tsh = {.timeslice_number = 1, .run_number = RUN};
    tsh.element_id = sid(LT_SUBSYS_TR_BUILDER, 0x2710);
    ck_assert_msg(lt_h5w_begin_timeslice(w, &tsh, err, sizeof err) == 0, "%s", err);
    static uint8_t payload[FRAMES * LT_WIBETH_FRAME_SIZE];
    const struct {
        struct lt_source_id sid;
        unsigned frames;
        uint16_t crate;
        uint8_t slot, stream;
    } fr[] = {{s77, FRAMES, 5, 1, 3}, {s78, 0, 0, 0, 0}, {s79, 0, 0, 0, 0}, {s7a, FRAMES, 7, 0, 0}};
    for (unsigned i = 0; i < 4; i++) {
        struct lt_fragment_header h = frag_hdr(1, 0, 0, 1000000ULL);
        h.element_id = fr[i].sid;
        fill_frames(payload, fr[i].frames, fr[i].stream, h.window_begin, i);
        for (unsigned f = 0; f < fr[i].frames; f++) {
            lt_wibeth_frame *p = (lt_wibeth_frame *)(payload + (size_t)f * LT_WIBETH_FRAME_SIZE);
            struct lt_daqeth_header dh;
            lt_daqeth_decode(p, &dh);
            dh.crate = fr[i].crate;
            dh.slot = fr[i].slot;
            ck_assert_int_eq(lt_daqeth_encode(p, &dh), 0);
        }
        if (!fr[i].frames) h.error_bits = 1U << LT_FRAG_ERR_DATA_NOT_FOUND;
        ck_assert_msg(lt_h5w_add_fragment(w, &h, payload,
                                          (size_t)fr[i].frames * LT_WIBETH_FRAME_SIZE, err,
                                          sizeof err) == 0,
                      "%s", err);
    }
    ck_assert_msg(lt_h5w_end_record(w, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(lt_h5w_close(w, err, sizeof err) == 0, "%s", err);

    struct lt_h5r *r;
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(lt_h5r_attrs(r)->n_geoids, 4); /* the reader parses the map */
    struct lt_h5_dataset_info *ds;
    size_t n;
    ck_assert_msg(lt_h5r_list_datasets(r, 0, &ds, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(n, 5);
    struct lt_h5_stream_origin o;
    ck_assert_msg(lt_h5r_stream_origin(r, 0, &ds[1], &o, err, sizeof err) == 0, "%s", err);
    ck_assert(o.from_frames && o.crate == 5 && o.slot == 1 && o.eth_stream == 3);
    ck_assert(o.cell == 5 && o.stream == 11);
    ck_assert_msg(lt_h5r_stream_origin(r, 0, &ds[2], &o, err, sizeof err) == 0, "%s", err);
    ck_assert(!o.from_frames && o.cell == 5 && o.stream == 2);
    ck_assert_int_eq(lt_h5r_stream_origin(r, 0, &ds[3], &o, err, sizeof err), LT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "cannot tell which stream"));
    ck_assert_int_eq(lt_h5r_stream_origin(r, 0, &ds[4], &o, err, sizeof err), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "Detector_Readout_0x0000007a_WIBEth: frames come from det 3 "
                                      "crate 7 slot 0 stream 0, but source_id_geo_id_map"));
    free(ds);
    /* The selection fails on the contradicting fragment and names it. */
    ck_assert_int_eq(lt_h5r_list_wibeth(r, 0, LT_H5_ALL_CELLS, &ds, &n, err, sizeof err),
                     LT_EFORMAT);
    ck_assert_ptr_null(ds);
    lt_h5r_close(r);
    rm_tmpdir();
}
END_TEST

START_TEST(test_write_sample)
{
    char run[600], tr[600];
    write_run_file(sample_dir, run, sizeof run);
    write_tr_file(sample_dir, tr, sizeof tr);
    printf("%s\n%s\n", run, tr);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("h5raw");
    TCase *tc = tcase_create("core");
    if (argc == 3 && !strcmp(argv[1], "--write-sample")) {
        sample_dir = argv[2];
        tcase_add_test(tc, test_write_sample);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_SILENT);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
    }
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_timeslice_roundtrip);
    tcase_add_test(tc, test_truth_blocks);
    tcase_add_test(tc, test_wibeth_selection);
    tcase_add_test(tc, test_stream_origin);
    tcase_add_test(tc, test_trigger_record_roundtrip);
    tcase_add_test(tc, test_layout_with_plain_hdf5);
    tcase_add_test(tc, test_writer_refuses);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_missing_objects);
    tcase_add_test(tc, test_lying_headers);
    tcase_add_test(tc, test_bad_attributes);
    tcase_add_test(tc, test_corrupt_metadata);
    tcase_add_test(tc, test_quiet_in_threads);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
