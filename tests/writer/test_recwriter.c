/* Record writer: round trip through real HDF5 files written with real io_uring, rollover by
 * count and size, odd fragment sizes, the pwritev fallback writing identical datasets at
 * identical offsets, restart index continuation, validation, queue-full and stop timeout. */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>

#include "h5raw.h"
#include "lt_error.h"
#include "test_recwriter_util.h"

/* Writes triggers [first, first + n) with params p into dir; returns the writer's status. */
static struct lt_recwriter_status write_records(const struct lt_recwriter_config *c,
                                                const struct gen_params *p, uint64_t first,
                                                size_t n)
{
    struct lt_recwriter *w;
    char err[256];
    ck_assert_msg(lt_recwriter_start(&w, c, err, sizeof err) == 0, "start: %s", err);
    for (size_t i = 0; i < n; i++) {
        struct gen_record *g = gen_record_new(p, first + i);
        g->free_on_done = 1;
        ck_assert_int_eq(tu_enqueue_wait(w, g), 0);
    }
    struct lt_recwriter_status st;
    lt_recwriter_status(w, &st); /* io mode etc. before stop frees w */
    ck_assert_int_eq(lt_recwriter_stop(w, 10000), 0);
    return st;
}

/* Verifies all final files in dir; returns records found; fails on any incomplete file. */
static size_t verify_dir(const char *dir, const struct gen_params *p, int expect_files,
                         struct tu_verify *v)
{
    static char names[64][512];
    int nw;
    int n = tu_list(dir, names, 64, &nw);
    ck_assert_int_eq(nw, 0);
    if (expect_files >= 0) ck_assert_int_eq(n, expect_files);
    memset(v, 0, sizeof *v);
    v->p = p;
    for (int i = 0; i < n; i++) ck_assert_msg(tu_verify_file(names[i], v) == 0, "%s", v->why);
    return v->n;
}

START_TEST(roundtrip_uring)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof dir, "rt");
    struct lt_recwriter_config c;
    tu_config(&c, dir);
    c.max_file_records = 4;
    struct gen_params p = {
        .n_frags = 6, .frag_bytes = 150000, .jitter = 5000, .with_empty = 1, .run = 42};
    atomic_store(&tu_done_ok, 0);
    struct lt_recwriter_status st = write_records(&c, &p, 1, 10);
    ck_assert_int_eq(st.io_mode, LT_RW_IO_URING);
    json_t *js = lt_recwriter_status_json(&st);
    ck_assert_ptr_nonnull(js);
    ck_assert_str_eq(json_string_value(json_object_get(js, "io_mode")), "io_uring");
    ck_assert_int_eq(json_integer_value(json_object_get(js, "records_accepted")), 10);
    ck_assert(json_is_boolean(json_object_get(js, "inhibit")));
    json_decref(js);
    ck_assert_uint_eq(atomic_load(&tu_done_ok), 10);
    struct tu_verify v;
    ck_assert_uint_eq(verify_dir(dir, &p, 3, &v), 10);
    /* Every trigger exactly once. */
    uint64_t seen = 0;
    for (size_t i = 0; i < v.n; i++) seen |= 1ULL << v.trigs[i];
    ck_assert_uint_eq(seen, 0x7FEULL);

    /* File attributes as hdf5libs writes them, and alignment of the big datasets. */
    static char names[8][512];
    int n = tu_list(dir, names, 8, NULL);
    ck_assert_int_eq(n, 3);
    hid_t f = H5Fopen(names[0], H5F_ACC_RDONLY, H5P_DEFAULT);
    uint64_t x;
    /* The timestamps are strings (hdf5libs: decimal ms); tests/hdf5/test_conformance_h5py.sh checks
     * every attribute's type and value. */
    for (int i = 0; i < 2; i++) {
        hid_t a = H5Aopen(f, i ? "closing_timestamp" : "creation_timestamp", H5P_DEFAULT);
        ck_assert(a >= 0);
        hid_t t = H5Aget_type(a);
        ck_assert_int_eq(H5Tget_class(t), H5T_STRING);
        H5Tclose(t);
        H5Aclose(a);
    }
    ck_assert_int_eq(tu_attr_u64(f, "file_index", &x), 0);
    ck_assert(x >= 1 && x <= 3);
    const char *want[] = {"run_number",         "application_name", "filelayout_params",
                          "filelayout_version", "record_type",      "recorded_size"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(H5Aexists(f, want[i]) > 0, "attribute %s missing", want[i]);
    hid_t d = H5Dopen2(f, "TriggerRecord000002.0000/RawData/Detector_Readout_0x00001001_WIBEth",
                       H5P_DEFAULT);
    if (d < 0) /* the file holds other triggers: pick one from it */
        d = H5Dopen2(f, "TriggerRecord000006.0000/RawData/Detector_Readout_0x00001001_WIBEth",
                     H5P_DEFAULT);
    if (d < 0)
        d = H5Dopen2(f, "TriggerRecord000010.0000/RawData/Detector_Readout_0x00001001_WIBEth",
                     H5P_DEFAULT);
    ck_assert(d >= 0);
    const uint64_t off = H5Dget_offset(d);
    ck_assert_uint_eq(off % 4096, 0);
    H5Dclose(d);
    H5Fclose(f);

    /* The verifier is not a rubber stamp: one flipped payload byte makes it fail. */
    int fd = open(names[0], O_RDWR);
    uint8_t b;
    ck_assert_int_eq(pread(fd, &b, 1, (off_t)off + 5000), 1);
    b ^= 0x10;
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off + 5000), 1);
    close(fd);
    memset(&v, 0, sizeof v);
    v.p = &p;
    ck_assert_int_ne(tu_verify_file(names[0], &v), 0);
    ck_assert_msg(strstr(v.why, "bytes differ from offset 5000"), "%s", v.why);
    tu_rmrf(dir);
}
END_TEST

START_TEST(rollover_by_size_never_splits)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof dir, "size");
    struct lt_recwriter_config c;
    tu_config(&c, dir);
    c.max_file_bytes = 1000000; /* ~2 records of ~450 kB per file */
    struct gen_params p = {.n_frags = 3, .frag_bytes = 150000, .jitter = 4095, .run = 42};
    struct lt_recwriter_status st = write_records(&c, &p, 100, 9);
    ck_assert_uint_eq(st.records_accepted, 9);
    struct tu_verify v;
    ck_assert_uint_eq(verify_dir(dir, &p, -1, &v), 9);
    static char names[16][512];
    int n = tu_list(dir, names, 16, NULL);
    ck_assert_int_ge(n, 4);
    for (int i = 0; i < n; i++) {
        struct stat sb;
        stat(names[i], &sb);
        /* A file passes the limit only by HDF5 metadata, never by a second record. */
        ck_assert_int_lt(sb.st_size, 1000000 + 600000);
    }
    tu_rmrf(dir);
}
END_TEST

START_TEST(odd_sizes_and_one_huge_record)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof dir, "odd");
    struct lt_recwriter_config c;
    tu_config(&c, dir);
    c.max_file_bytes = 300000; /* smaller than one record: each record gets its own file */
    /* Payload sizes around the slot (64 KiB), page and alignment-threshold boundaries. */
    static const size_t sizes[] = {1, 4023, 4024, 4025, 65463, 65464, 65465, 131000, 70000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct gen_params p = {.n_frags = 4, .frag_bytes = sizes[k], .jitter = 0, .run = 42};
        write_records(&c, &p, 1000 + k, 1);
        struct tu_verify v;
        ck_assert_uint_eq(verify_dir(dir, &p, (int)k + 1 - (int)k, &v), 1);
        /* move the verified file away so the next round sees only its own */
        static char names[2][512];
        ck_assert_int_eq(tu_list(dir, names, 2, NULL), 1);
        ck_assert_int_eq(unlink(names[0]), 0);
    }
    tu_rmrf(dir);
}
END_TEST

/* Both backends must produce the same datasets at the same offsets (the layout is HDF5's and
 * deterministic; only the syscalls differ). */
static void dset_map(const char *path, char *out, size_t len)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert(f >= 0);
    size_t pos = 0;
    for (unsigned t = 1; t <= 3; t++) {
        for (unsigned i = 0; i < 5; i++) {
            char name[160];
            snprintf(name, sizeof name,
                     "TriggerRecord%06u.0000/RawData/Detector_Readout_0x%08x_WIBEth", t,
                     0x1000 + i);
            hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
            ck_assert(d >= 0);
            pos += (size_t)snprintf(out + pos, len - pos, "%s@%llu\n", name,
                                    (unsigned long long)H5Dget_offset(d));
            H5Dclose(d);
        }
    }
    H5Fclose(f);
}

START_TEST(pwritev_fallback_identical)
{
    char d1[512], d2[512];
    tu_mkdtemp(d1, sizeof d1, "ur");
    tu_mkdtemp(d2, sizeof d2, "pw");
    struct gen_params p = {
        .n_frags = 5, .frag_bytes = 200000, .jitter = 3000, .with_empty = 1, .run = 42};
    struct lt_recwriter_config c;
    tu_config(&c, d1);
    struct lt_recwriter_status s1 = write_records(&c, &p, 1, 3);
    tu_config(&c, d2);
    c.force_pwritev = 1;
    struct lt_recwriter_status s2 = write_records(&c, &p, 1, 3);
    ck_assert_int_eq(s1.io_mode, LT_RW_IO_URING);
    ck_assert_int_eq(s2.io_mode, LT_RW_IO_PWRITEV);

    struct tu_verify v;
    ck_assert_uint_eq(verify_dir(d1, &p, 1, &v), 3);
    ck_assert_uint_eq(verify_dir(d2, &p, 1, &v), 3);
    static char n1[2][512], n2[2][512];
    tu_list(d1, n1, 2, NULL);
    tu_list(d2, n2, 2, NULL);
    static char m1[8192], m2[8192];
    dset_map(n1[0], m1, sizeof m1);
    dset_map(n2[0], m2, sizeof m2);
    ck_assert_str_eq(m1, m2);
    /* And the payload region of the two files is byte-identical. */
    int f1 = open(n1[0], O_RDONLY), f2 = open(n2[0], O_RDONLY);
    struct stat a, b;
    fstat(f1, &a);
    fstat(f2, &b);
    ck_assert_int_eq(a.st_size, b.st_size);
    hid_t h = H5Fopen(n1[0], H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(h, "TriggerRecord000002.0000/RawData/Detector_Readout_0x00001004_WIBEth",
                       H5P_DEFAULT);
    uint64_t off = H5Dget_offset(d), len = (uint64_t)H5Dget_storage_size(d);
    H5Dclose(d);
    H5Fclose(h);
    uint8_t *x = malloc(len), *y = malloc(len);
    ck_assert_int_eq(pread(f1, x, len, (off_t)off), (ssize_t)len);
    ck_assert_int_eq(pread(f2, y, len, (off_t)off), (ssize_t)len);
    ck_assert(memcmp(x, y, len) == 0);
    free(x);
    free(y);
    close(f1);
    close(f2);
    tu_rmrf(d1);
    tu_rmrf(d2);
}
END_TEST

START_TEST(env_forces_pwritev)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof dir, "env");
    setenv("LARTRIG_FORCE_PWRITEV", "1", 1);
    struct lt_recwriter_config c;
    tu_config(&c, dir);
    struct gen_params p = {.n_frags = 2, .frag_bytes = 70000, .run = 42};
    struct lt_recwriter_status st = write_records(&c, &p, 1, 2);
    unsetenv("LARTRIG_FORCE_PWRITEV");
    ck_assert_int_eq(st.io_mode, LT_RW_IO_PWRITEV);
    struct tu_verify v;
    ck_assert_uint_eq(verify_dir(dir, &p, 1, &v), 2);
    tu_rmrf(dir);
}
END_TEST

START_TEST(restart_continues_index_and_keeps_leftovers)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof dir, "restart");
    struct lt_recwriter_config c;
    tu_config(&c, dir);
    c.max_file_records = 1;
    struct gen_params p = {.n_frags = 2, .frag_bytes = 10000, .run = 42};
    write_records(&c, &p, 1, 2); /* indexes 1 and 2 */
    /* A leftover from a "crash" with index 7, and a file of another run with index 50. */
    char left[700], other[700];
    snprintf(left, sizeof left, "%s/lartrig_raw_run000042_0007_rwtest_20260101T000000.hdf5.writing",
             dir);
    snprintf(other, sizeof other, "%s/lartrig_raw_run000043_0050_rwtest_20260101T000000.hdf5", dir);
    FILE *fp = fopen(left, "w");
    fputs("partial", fp);
    fclose(fp);
    fp = fopen(other, "w");
    fclose(fp);

    struct lt_recwriter *w;
    char err[256];
    ck_assert_int_eq(lt_recwriter_start(&w, &c, err, sizeof err), 0);
    struct lt_recwriter_status st;
    lt_recwriter_status(w, &st);
    ck_assert_uint_eq(st.leftover_writing, 1);
    ck_assert_uint_eq(st.file_index, 8);
    for (uint64_t t = 3; t <= 4; t++) {
        struct gen_record *g = gen_record_new(&p, t);
        g->free_on_done = 1;
        ck_assert_int_eq(tu_enqueue_wait(w, g), 0);
    }
    /* One record per file: the second record closes file 8, which status names. */
    for (int k = 0; k < 500 && atomic_load(&lt_recwriter_stats(w)->files_closed) < 1; k++)
        usleep(10000);
    char last[1024];
    lt_recwriter_last_file(w, last, sizeof last);
    ck_assert_msg(strstr(last, "_run000042_0008_rwtest_") && access(last, F_OK) == 0, "%s", last);
    ck_assert_int_eq(lt_recwriter_stop(w, 5000), 0);
    /* The leftover is untouched and the new files are indexes 8 and 9. */
    struct stat sb;
    ck_assert_int_eq(stat(left, &sb), 0);
    ck_assert_int_eq(sb.st_size, 7);
    unlink(left);
    unlink(other);
    static char names[8][512];
    int n = tu_list(dir, names, 8, NULL);
    ck_assert_int_eq(n, 4);
    int found = 0;
    for (int i = 0; i < n; i++)
        found += strstr(names[i], "_run000042_0008_rwtest_") != NULL ||
                 strstr(names[i], "_run000042_0009_rwtest_") != NULL;
    ck_assert_int_eq(found, 2);
    tu_rmrf(dir);
}
END_TEST

START_TEST(invalid_full_duplicate_and_stop_timeout)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof dir, "inval");
    struct lt_recwriter_config c;
    tu_config(&c, dir);
    c.queue_capacity = 3;
    struct gen_params p = {.n_frags = 2, .frag_bytes = 5000, .run = 42};
    struct lt_recwriter *w;
    char err[256];
    ck_assert_int_eq(lt_recwriter_start(&w, &c, err, sizeof err), 0);

    /* Inconsistent records are refused at the door, with a count. */
    struct gen_record *bad = gen_record_new(&p, 1);
    bad->frags[1].hdr.size += 1;
    ck_assert_int_eq(lt_recwriter_enqueue(w, &bad->rec), LT_EINVAL);
    bad->frags[1].hdr.size -= 1;
    bad->rec.trh.num_requested_components = 3;
    ck_assert_int_eq(lt_recwriter_enqueue(w, &bad->rec), LT_EINVAL);
    gen_record_free(bad);

    /* A duplicate trigger number completes with an error and leaves the file valid. */
    atomic_store(&tu_done_ok, 0);
    atomic_store(&tu_done_err, 0);
    struct gen_record *a = gen_record_new(&p, 5), *b = gen_record_new(&p, 5);
    a->free_on_done = b->free_on_done = 1;
    ck_assert_int_eq(tu_enqueue_wait(w, a), 0);
    ck_assert_int_eq(tu_enqueue_wait(w, b), 0);
    /* Two fragments with one SourceID: HDF5 cannot hold both; the record fails, the half-made
     * group is removed, and the next record is written normally. */
    struct gen_record *dup = gen_record_new(&p, 6), *next = gen_record_new(&p, 7);
    dup->free_on_done = next->free_on_done = 1;
    dup->frags[1].hdr.element_id = dup->frags[0].hdr.element_id;
    ck_assert_int_eq(tu_enqueue_wait(w, dup), 0);
    ck_assert_int_eq(tu_enqueue_wait(w, next), 0);
    ck_assert_int_eq(lt_recwriter_stop(w, 5000), 0);
    ck_assert_uint_eq(atomic_load(&tu_done_ok), 2);
    ck_assert_uint_eq(atomic_load(&tu_done_err), 2);
    struct tu_verify v;
    ck_assert_uint_eq(verify_dir(dir, &p, 1, &v), 2);

    /* A disk that never has room (absurd safety factor): records stay queued, the writer
     * inhibits, the queue fills (LT_EFULL), and stop gives them back with LT_ETIMEOUT. */
    c.free_space_factor = 1e9;
    ck_assert_int_eq(lt_recwriter_start(&w, &c, err, sizeof err), 0);
    atomic_store(&tu_done_err, 0);
    struct gen_record *gs[4];
    for (int i = 0; i < 3; i++) {
        gs[i] = gen_record_new(&p, 10 + (uint64_t)i);
        gs[i]->free_on_done = 1;
        gs[i]->rec.done = tu_done;
        ck_assert_int_eq(lt_recwriter_enqueue(w, &gs[i]->rec), 0);
    }
    gs[3] = gen_record_new(&p, 13);
    ck_assert_int_eq(lt_recwriter_enqueue(w, &gs[3]->rec), LT_EFULL);
    gen_record_free(gs[3]);
    for (int k = 0; k < 200 && !lt_recwriter_stats(w)->inhibit; k++) usleep(10000);
    struct lt_recwriter_status st;
    lt_recwriter_status(w, &st);
    ck_assert_int_eq(st.inhibit, 1);
    ck_assert_uint_ge(st.space_waits, 1);
    ck_assert_uint_eq(st.records_rejected, 1);
    ck_assert_uint_eq(st.records_written, 0);
    ck_assert_uint_eq(st.queue_depth, 3);
    ck_assert_int_eq(lt_recwriter_stop(w, 100), 0);
    ck_assert_uint_eq(atomic_load(&tu_done_err), 3);
    tu_rmrf(dir);
}
END_TEST

/* The project's own hdf5libs reader (lib/hdf5/h5raw.h) accepts our files: attributes, record list,
 * source_id_path_map, TRH with its requests, and every fragment byte for byte. */
START_TEST(reads_back_through_h5raw_reader)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof dir, "h5r");
    struct lt_recwriter_config c;
    tu_config(&c, dir);
    struct gen_params p = {
        .n_frags = 7, .frag_bytes = 90000, .jitter = 4000, .with_empty = 1, .run = 42};
    write_records(&c, &p, 3, 3);
    static char names[2][512];
    ck_assert_int_eq(tu_list(dir, names, 2, NULL), 1);
    struct lt_h5r *r;
    char err[512];
    ck_assert_msg(lt_h5r_open(&r, names[0], err, sizeof err) == 0, "%s", err);
    const struct lt_h5_file_attrs *a = lt_h5r_attrs(r);
    ck_assert_int_eq(a->record_type, LT_H5_TRIGGER_RECORD);
    ck_assert_uint_eq(a->run_number, 42);
    ck_assert_uint_eq(a->file_index, 1);
    ck_assert_int_eq(a->has_recorded_size, 1);
    ck_assert_str_eq(a->operational_environment, "lartrig");
    ck_assert_uint_eq(lt_h5r_record_count(r), 3);
    for (size_t k = 0; k < 3; k++) {
        const struct lt_h5_record_id *id = lt_h5r_record(r, k);
        ck_assert_uint_eq(id->number, 3 + k);
        struct lt_trigger_record_header trh, want;
        struct lt_component_request req[4], wreq[4];
        size_t nreq;
        ck_assert_msg(lt_h5r_read_trh(r, k, &trh, req, 4, &nreq, err, sizeof err) == 0, "%s", err);
        gen_trh(&p, id->number, &want, wreq);
        ck_assert_uint_eq(nreq, 2);
        ck_assert_uint_eq(trh.trigger_timestamp, want.trigger_timestamp);
        ck_assert_uint_eq(req[1].window_end, wreq[1].window_end);
        struct lt_h5_dataset_info *ds;
        size_t n;
        ck_assert_msg(lt_h5r_list_datasets(r, k, &ds, &n, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(n, 1 + p.n_frags);
        for (size_t i = 1; i < n; i++) {
            struct lt_fragment_header h;
            uint8_t *buf;
            size_t plen;
            ck_assert_msg(lt_h5r_read_fragment_alloc(r, k, ds[i].name, &h, &buf, &plen, 0, err,
                                                     sizeof err) == 0,
                          "%s", err);
            size_t fi = ds[i].source_id.id - 0x1000;
            ck_assert_uint_eq(plen, gen_payload_len(&p, id->number, fi));
            uint8_t *want_pl = malloc(plen + 8);
            gen_fill(want_pl, plen, id->number, fi);
            ck_assert(memcmp(buf + LT_FRAGMENT_HEADER_SIZE, want_pl, plen) == 0);
            free(want_pl);
            free(buf);
        }
        free(ds);
    }
    lt_h5r_close(r);
    tu_rmrf(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("recwriter");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, roundtrip_uring);
    tcase_add_test(tc, reads_back_through_h5raw_reader);
    tcase_add_test(tc, rollover_by_size_never_splits);
    tcase_add_test(tc, odd_sizes_and_one_huge_record);
    tcase_add_test(tc, pwritev_fallback_identical);
    tcase_add_test(tc, env_forces_pwritev);
    tcase_add_test(tc, restart_continues_index_and_keeps_leftovers);
    tcase_add_test(tc, invalid_full_duplicate_and_stop_timeout);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
