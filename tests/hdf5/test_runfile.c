/* The streaming run-file reader (lib/hdf5/runfile.h) on real HDF5 files written with the h5raw
 * writer: every period of a cell, in order and byte for byte, through io_uring and through
 * pread, with read-ahead far smaller than the file; runs of several files; and the errors: a
 * gap between files, a slice that lacks a stream, a file truncated after it was indexed. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chmap.h"
#include "h5raw.h"
#include "lt_error.h"
#include "runfile.h"
#include "ticks.h"
#include "wibeth.h"

#define CELL    3U
#define STREAMS 4U
#define FRAMES  7U /* per stream per slice */
#define SLICES  5U

static char dir[] = "/tmp/test_runfile_XXXXXX";

/* The frame of (stream, period): its timestamp and a pattern no other frame has. */
static void make_frame(lt_wibeth_frame *f, uint32_t stream, uint64_t ts)
{
    memset(f, 0, sizeof *f);
    uint8_t *b = (uint8_t *)f;
    for (size_t i = 16; i < sizeof *f; i++) b[i] = (uint8_t)(i * 31 + stream * 7 + ts / 2048);
    struct lt_daqeth_header h = {.version = 1,
                                 .det_id = 3,
                                 .crate = CELL, /* readers place a fragment by its frames' crate */
                                 .slot = 0,
                                 .stream = (uint8_t)stream,
                                 .timestamp = ts};
    lt_daqeth_encode(f, &h);
}

/* A run file of `slices` TimeSlices from t0; skip_stream < STREAMS leaves that stream out of
 * slice 1. Returns the path in out. */
static void write_run(const char *name, uint64_t t0, unsigned slices, unsigned skip_stream,
                      char *out, size_t outlen)
{
    char err[512] = "";
    snprintf(out, outlen, "%s/%s", dir, name);
    struct lt_h5_file_attrs a = {.record_type = LT_H5_TIMESLICE, .run_number = 42};
    snprintf(a.application_name, sizeof a.application_name, "test");
    snprintf(a.operational_environment, sizeof a.operational_environment, "lartrig");
    snprintf(a.offline_data_stream, sizeof a.offline_data_stream, "test");
    struct lt_h5w *w;
    ck_assert_msg(lt_h5w_open(&w, out, &a, NULL, err, sizeof err) == 0, "%s", err);
    lt_wibeth_frame *frames = malloc(FRAMES * sizeof *frames);
    ck_assert_ptr_nonnull(frames);
    for (unsigned s = 0; s < slices; s++) {
        uint64_t wb = t0 + (uint64_t)s * FRAMES * LT_TICKS_PER_FRAME;
        struct lt_timeslice_header tsh = {.timeslice_number = s + 1, .run_number = 42};
        tsh.element_id = (struct lt_source_id){LT_SOURCE_ID_VERSION, LT_SUBSYS_TR_BUILDER, 0};
        ck_assert_msg(lt_h5w_begin_timeslice(w, &tsh, err, sizeof err) == 0, "%s", err);
        for (uint32_t st = 0; st < STREAMS; st++) {
            if (s == 1 && st == skip_stream) continue;
            for (unsigned k = 0; k < FRAMES; k++)
                make_frame(&frames[k], st, wb + (uint64_t)k * LT_TICKS_PER_FRAME);
            struct lt_fragment_header h = {
                .trigger_number = s + 1,
                .trigger_timestamp = wb,
                .window_begin = wb,
                .window_end = wb + FRAMES * LT_TICKS_PER_FRAME,
                .run_number = 42,
                .fragment_type = LT_FRAGTYPE_WIBETH,
                .detector_id = LT_DETID_HD_TPC,
                .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT,
                               lt_stream_source_id(CELL, st)},
            };
            ck_assert_msg(
                lt_h5w_add_fragment(w, &h, frames, FRAMES * sizeof *frames, err, sizeof err) == 0,
                "%s", err);
        }
        ck_assert_msg(lt_h5w_end_record(w, err, sizeof err) == 0, "%s", err);
    }
    free(frames);
    ck_assert_msg(lt_h5w_close(w, err, sizeof err) == 0, "%s", err);
}

/* Read every period and check it against make_frame; returns the periods read. */
static uint64_t read_all(const char *const *paths, size_t n, uint64_t t0, int force_pread)
{
    char err[512] = "";
    struct lt_rf_index *ix;
    ck_assert_msg(lt_rf_index_build(paths, n, CELL, STREAMS, &ix, err, sizeof err) == 0, "%s", err);
    uint64_t periods = lt_rf_index_periods(ix);
    /* Read-ahead of one period per chunk: every chunk boundary and refill is exercised. */
    struct lt_rf_options o = {.read_ahead_bytes = 1, .force_pread = force_pread};
    struct lt_rf_reader *r;
    ck_assert_msg(lt_rf_reader_open(&r, ix, &o, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(lt_rf_reader_mode(r), force_pread ? LT_RF_IO_PREAD : LT_RF_IO_URING);
    lt_wibeth_frame got[STREAMS], want;
    uint64_t ts, k = 0;
    int rc;
    while ((rc = lt_rf_next(r, got, &ts)) == 1) {
        uint64_t t = t0 + k * LT_TICKS_PER_FRAME;
        ck_assert_uint_eq(ts, t);
        for (uint32_t s = 0; s < STREAMS; s++) {
            make_frame(&want, s, t);
            ck_assert_msg(!memcmp(&got[s], &want, sizeof want), "period %llu stream %u differs",
                          (unsigned long long)k, s);
        }
        k++;
    }
    ck_assert_int_eq(rc, LT_ENOTFOUND);
    ck_assert_int_eq(lt_rf_next(r, got, &ts), LT_ENOTFOUND);
    lt_rf_reader_close(r);
    ck_assert_uint_eq(k, periods);
    return k;
}

START_TEST(test_one_file_both_modes)
{
    char p[512];
    write_run("one.hdf5", 1000 * LT_TICKS_PER_FRAME, SLICES, STREAMS, p, sizeof p);
    const char *paths[] = {p};
    struct lt_rf_stats before, after;
    lt_rf_totals(&before);
    ck_assert_uint_eq(read_all(paths, 1, 1000 * LT_TICKS_PER_FRAME, 0), SLICES * FRAMES);
    ck_assert_uint_eq(read_all(paths, 1, 1000 * LT_TICKS_PER_FRAME, 1), SLICES * FRAMES);
    lt_rf_totals(&after);
    uint64_t frame_bytes = 2ULL * SLICES * FRAMES * STREAMS * sizeof(lt_wibeth_frame);
    ck_assert_uint_eq(after.frame_bytes - before.frame_bytes, frame_bytes);
    ck_assert_uint_ge(after.bytes_read - before.bytes_read, frame_bytes);
    ck_assert_uint_eq(after.memory_bytes, 0); /* every reader's buffers are gone */
    ck_assert_uint_eq(after.read_errors, before.read_errors);
}
END_TEST

START_TEST(test_run_of_files)
{
    char a[512], b[512], gap[512];
    uint64_t t0 = 5000 * LT_TICKS_PER_FRAME, t1 = t0 + SLICES * FRAMES * LT_TICKS_PER_FRAME;
    write_run("run_0000.hdf5", t0, SLICES, STREAMS, a, sizeof a);
    write_run("run_0001.hdf5", t1, 2, STREAMS, b, sizeof b);
    const char *paths[] = {a, b};
    ck_assert_uint_eq(read_all(paths, 2, t0, 0), (SLICES + 2) * FRAMES);
    /* The directory lists them in name order. */
    char **list;
    size_t n;
    char err[512] = "";
    ck_assert_msg(lt_rf_list_dir(dir, &list, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_ge(n, 2);
    size_t ia = n, ib = n;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(list[i], a)) ia = i;
        if (!strcmp(list[i], b)) ib = i;
    }
    ck_assert_uint_lt(ia, ib);
    ck_assert_uint_lt(ib, n);
    lt_rf_free_list(list);
    /* One period missing between the files, and the files swapped: refused, both named. */
    write_run("run_gap.hdf5", t1 + LT_TICKS_PER_FRAME, 2, STREAMS, gap, sizeof gap);
    const char *bad[][2] = {{a, gap}, {b, a}};
    for (int i = 0; i < 2; i++) {
        struct lt_rf_index *ix = NULL;
        ck_assert_int_eq(lt_rf_index_build(bad[i], 2, CELL, STREAMS, &ix, err, sizeof err),
                         LT_EFORMAT);
        ck_assert_ptr_null(ix);
        ck_assert_msg(strstr(err, "do not continue each other") && strstr(err, bad[i][1]) &&
                          strstr(err, bad[i][0]),
                      "%s", err);
    }
}
END_TEST

START_TEST(test_missing_stream)
{
    char p[512], err[512] = "";
    write_run("missing.hdf5", 0, 3, 2, p, sizeof p);
    const char *paths[] = {p};
    struct lt_rf_index *ix = NULL;
    ck_assert_int_eq(lt_rf_index_build(paths, 1, CELL, STREAMS, &ix, err, sizeof err), LT_EFORMAT);
    ck_assert_msg(strstr(err, "3 of the 4 streams"), "%s", err);
    /* Another cell is not in the file at all. */
    ck_assert_int_eq(lt_rf_index_build(paths, 1, CELL + 1, STREAMS, &ix, err, sizeof err),
                     LT_ENOTFOUND);
}
END_TEST

/* The file loses its tail after it was indexed (a disk that failed, a copy cut short): the
 * reader stops with LT_EIO and says so; it never hands out frames it did not read. */
static void truncated_under_reader(int force_pread)
{
    char p[512], err[512] = "";
    write_run(force_pread ? "cut_p.hdf5" : "cut_u.hdf5", 0, SLICES, STREAMS, p, sizeof p);
    const char *paths[] = {p};
    struct lt_rf_index *ix;
    ck_assert_msg(lt_rf_index_build(paths, 1, CELL, STREAMS, &ix, err, sizeof err) == 0, "%s", err);
    struct lt_rf_stats before;
    lt_rf_totals(&before);
    /* Big enough that the first chunks are not read before the cut. */
    struct lt_rf_options o = {.read_ahead_bytes = 1, .force_pread = force_pread};
    struct lt_rf_reader *r;
    ck_assert_msg(lt_rf_reader_open(&r, ix, &o, err, sizeof err) == 0, "%s", err);
    lt_wibeth_frame got[STREAMS];
    uint64_t ts, k = 0;
    int rc;
    ck_assert_int_eq(lt_rf_next(r, got, &ts), 1); /* the first chunk was read */
    ck_assert_int_eq(truncate(p, 20000), 0);
    while ((rc = lt_rf_next(r, got, &ts)) == 1) k++;
    ck_assert_int_eq(rc, LT_EIO);
    ck_assert_msg(strstr(lt_rf_reader_error(r), p) && strstr(lt_rf_reader_error(r), "truncated"),
                  "%s", lt_rf_reader_error(r));
    ck_assert_uint_lt(k, SLICES * FRAMES - 1);
    ck_assert_int_eq(lt_rf_next(r, got, &ts), LT_EIO);
    lt_rf_reader_close(r);
    struct lt_rf_stats after;
    lt_rf_totals(&after);
    ck_assert_uint_eq(after.read_errors, before.read_errors + 1);
}

START_TEST(test_truncated_uring)
{
    truncated_under_reader(0);
}
END_TEST

START_TEST(test_truncated_pread)
{
    truncated_under_reader(1);
}
END_TEST

START_TEST(test_truncated_at_open)
{
    char p[512], err[512] = "";
    write_run("short.hdf5", 0, SLICES, STREAMS, p, sizeof p);
    /* HDF5 keeps its metadata at the front here: cutting the last slice's data leaves a file
     * HDF5 may still open, whose datasets lie past its end, or one it refuses; never a crash. */
    FILE *f = fopen(p, "r+");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    ck_assert_int_eq(truncate(p, size - 3000), 0);
    const char *paths[] = {p};
    struct lt_rf_index *ix = NULL;
    int rc = lt_rf_index_build(paths, 1, CELL, STREAMS, &ix, err, sizeof err);
    ck_assert_int_lt(rc, 0);
    ck_assert_ptr_null(ix);
    ck_assert_msg(strstr(err, "short.hdf5"), "%s", err);
}
END_TEST

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
    Suite *s = suite_create("runfile");
    TCase *tc = tcase_create("runfile");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_one_file_both_modes);
    tcase_add_test(tc, test_run_of_files);
    tcase_add_test(tc, test_missing_stream);
    tcase_add_test(tc, test_truncated_uring);
    tcase_add_test(tc, test_truncated_pread);
    tcase_add_test(tc, test_truncated_at_open);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
