/* Short writes and hard write errors inside the payload backends. RLIMIT_FSIZE makes the kernel
 * cut a write that crosses the limit short (then fail the remainder with EFBIG), on the real
 * io_uring and pwritev paths, through O_DIRECT (aligned limit) and buffered descriptors
 * (unaligned limit). The backend must resubmit the remainder, report the error, and after the
 * limit is lifted a retry must leave exactly the intended bytes in the file. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "lt_error.h"
#include "recwriter_int.h"
#include "test_recwriter_util.h"

enum { SLOTS = 8, SLOT_BYTES = 256 * 1024 };

/* One record: its TRH dataset at offset 0 and a single 3 MiB fragment at 4096 (stand-ins for
 * what H5Dget_offset reports in a real file). */
static int run_case(const char *path, int uring, int direct, rlim_t limit)
{
    signal(SIGXFSZ, SIG_IGN);
    struct lt_recwriter_stats st;
    memset(&st, 0, sizeof st);
    struct rw_io io = {.nslots = SLOTS, .slot_bytes = SLOT_BYTES, .stats = &st};
    void *pool;
    if (posix_memalign(&pool, RW_ALIGN, SLOTS * SLOT_BYTES)) return 10;
    io.pool = pool;
    io.fd[RW_FD_BUFFERED] = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    io.fd[RW_FD_DIRECT] = direct ? open(path, O_WRONLY | O_DIRECT) : io.fd[RW_FD_BUFFERED];
    if (io.fd[0] < 0 || io.fd[1] < 0) return 11;
    char err[128];
    if (uring ? rw_io_uring_init(&io, err, sizeof err) : rw_io_pwritev_init(&io, err, sizeof err))
        return 12;

    const struct gen_params p = {.n_frags = 1, .frag_bytes = 3 << 20, .run = 1};
    struct gen_record *g = gen_record_new(&p, 9);
    struct rw_dset d[2] = {{.offset = 0, .size = 64 + 2 * 32},
                           {.offset = 4096, .size = 72 + (3 << 20)}};
    struct rlimit rl = {.rlim_cur = limit, .rlim_max = RLIM_INFINITY};
    if (setrlimit(RLIMIT_FSIZE, &rl) < 0) return 13;
    /* One error domain: the code says what failed (LT_EIO), os_errno says why (EFBIG). */
    int r = rw_payload_write(&io, &g->rec, d, 1);
    if (r != LT_EIO || io.os_errno != EFBIG) {
        fprintf(stderr, "first attempt returned %d (errno %d), expected LT_EIO with EFBIG\n", r,
                io.os_errno);
        return 14;
    }
    if (atomic_load(&st.short_writes) < 1) return 15;
    if (atomic_load(&st.io_errors) < 1) return 16;
    rl.rlim_cur = RLIM_INFINITY;
    if (setrlimit(RLIMIT_FSIZE, &rl) < 0) return 17;
    if ((r = rw_payload_write(&io, &g->rec, d, 1)) != 0) {
        fprintf(stderr, "retry returned %d\n", r);
        return 18;
    }
    io.ops->destroy(&io);
    /* The file holds exactly the fragment's header + payload, then the TRH dataset. */
    int fd = open(path, O_RDONLY);
    uint8_t *buf = malloc(d[1].size), hdr[72];
    if (pread(fd, buf, d[1].size, 4096) != (ssize_t)d[1].size) return 19;
    lt_fragment_header_encode(&g->frags[0].hdr, hdr, sizeof hdr);
    if (memcmp(buf, hdr, 72) || memcmp(buf + 72, g->frags[0].payload, 3 << 20)) return 20;
    uint8_t trh[64];
    lt_trh_encode(&g->rec.trh, trh, sizeof trh);
    if (pread(fd, buf, 64, 0) != 64 || memcmp(buf, trh, 64)) return 21;
    close(fd);
    free(buf);
    gen_record_free(g);
    free(pool);
    printf("%s %s limit %llu: short writes %llu, errors %llu, then written intact\n",
           uring ? "io_uring" : "pwritev", direct ? "O_DIRECT" : "buffered",
           (unsigned long long)limit, (unsigned long long)atomic_load(&st.short_writes),
           (unsigned long long)atomic_load(&st.io_errors));
    fflush(stdout);
    return 0;
}

static void fork_case(int uring, int direct, rlim_t limit)
{
    char dir[512], path[600];
    tu_mkdtemp(dir, sizeof dir, "short");
    snprintf(path, sizeof path, "%s/f", dir);
    fflush(stdout);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) _exit(run_case(path, uring, direct, limit));
    int st;
    waitpid(pid, &st, 0);
    ck_assert_msg(WIFEXITED(st), "child killed by signal %d", WTERMSIG(st));
    ck_assert_msg(WEXITSTATUS(st) == 0, "%s/%s: failed at step %d", uring ? "io_uring" : "pwritev",
                  direct ? "direct" : "buffered", WEXITSTATUS(st));
    tu_rmrf(dir);
}

/* Limits inside the big dataset: aligned for O_DIRECT (the kernel trims a direct write to the
 * limit), unaligned for buffered writes (the remainder then starts mid-page). */
START_TEST(uring_direct)
{
    fork_case(1, 1, (1 << 20) + 3 * 4096);
}
END_TEST
START_TEST(uring_buffered)
{
    fork_case(1, 0, (1 << 20) + 12345);
}
END_TEST
START_TEST(pwritev_direct)
{
    fork_case(0, 1, (1 << 20) + 3 * 4096);
}
END_TEST
START_TEST(pwritev_buffered)
{
    fork_case(0, 0, (1 << 20) + 12345);
}
END_TEST

/* The writer's other kernel-facing helpers speak lt_error too, with the errno in the message. */
START_TEST(helpers_return_lt_errors)
{
    char dir[512], err[256] = "";
    tu_mkdtemp(dir, sizeof dir, "helpers");
    uint64_t free_bytes = 1;
    ck_assert_int_eq(rw_space_free(dir, &free_bytes, err, sizeof err), 0);
    ck_assert_uint_gt(free_bytes, 0);
    char gone[600];
    snprintf(gone, sizeof gone, "%s/no-such-dir", dir);
    ck_assert_int_eq(rw_space_free(gone, &free_bytes, err, sizeof err), LT_EIO);
    ck_assert_uint_eq(free_bytes, 0);
    ck_assert_msg(strstr(err, "No such file or directory") && strstr(err, "no-such-dir"), "%s",
                  err);

    struct rw_files f;
    memset(&f, 0, sizeof f);
    snprintf(f.dir, sizeof f.dir, "%s", gone);
    ck_assert_int_eq(rw_files_scan(&f, err, sizeof err), LT_EIO); /* no directory to hold */
    ck_assert_msg(strstr(err, "no-such-dir") && f.dir_fd == -1, "%s", err);
    snprintf(f.dir, sizeof f.dir, "%s", dir);
    ck_assert_int_ge(rw_files_scan(&f, err, sizeof err), 0);
    snprintf(f.cur_writing, sizeof f.cur_writing, "%s/x.hdf5.writing", dir);
    snprintf(f.cur_final, sizeof f.cur_final, "%s/x.hdf5", dir);
    err[0] = 0;
    ck_assert_int_eq(rw_files_commit(&f, -1, err, sizeof err), LT_EIO); /* no file to sync */
    ck_assert_msg(strstr(err, "fsync") && strstr(err, "x.hdf5.writing"), "%s", err);
    int fd = open(f.cur_writing, O_WRONLY | O_CREAT | O_EXCL, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_msg(rw_files_commit(&f, fd, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(access(f.cur_final, F_OK), 0);
    ck_assert_int_ne(access(f.cur_writing, F_OK), 0);
    ck_assert_int_eq(rw_files_commit(&f, fd, err, sizeof err), LT_EIO); /* renamed already */
    ck_assert_msg(strstr(err, "rename to") && strstr(err, "No such file"), "%s", err);
    close(fd);
    rw_files_close(&f);
    ck_assert_int_eq(f.dir_fd, -1);
    tu_rmrf(dir);
}
END_TEST

/* A whole writer under a file-size limit: the second record's HDF5 flush (which extends the
 * file to its allocated size) and payload fail with EFBIG; the writer inhibits and retries; once
 * the limit is lifted every record is written and the file verifies. */
static int run_writer_limited(const char *dir)
{
    signal(SIGXFSZ, SIG_IGN);
    struct lt_recwriter_config c;
    tu_config(&c, dir);
    c.backoff_min_ms = 5;
    c.backoff_max_ms = 50;
    const struct gen_params p = {.n_frags = 4, .frag_bytes = 200000, .jitter = 999, .run = 42};
    struct rlimit rl = {.rlim_cur = 1200000, .rlim_max = RLIM_INFINITY};
    if (setrlimit(RLIMIT_FSIZE, &rl) < 0) return 30;
    struct lt_recwriter *w;
    char err[256];
    if (lt_recwriter_start(&w, &c, err, sizeof err) < 0) return 31;
    for (uint64_t t = 1; t <= 5; t++) {
        struct gen_record *g = gen_record_new(&p, t);
        g->free_on_done = 1;
        if (tu_enqueue_wait(w, g) < 0) return 32;
    }
    const struct lt_recwriter_stats *st = lt_recwriter_stats(w);
    for (int k = 0; k < 500 && !atomic_load(&st->inhibit); k++) usleep(10000);
    usleep(100000);
    if (!atomic_load(&st->inhibit) || atomic_load(&st->records_written) >= 5) return 33;
    if (atomic_load(&st->io_errors) < 1) return 34;
    printf("writer under RLIMIT_FSIZE: %llu of 5 written, %llu I/O errors, inhibit on\n",
           (unsigned long long)atomic_load(&st->records_written),
           (unsigned long long)atomic_load(&st->io_errors));
    rl.rlim_cur = RLIM_INFINITY;
    if (setrlimit(RLIMIT_FSIZE, &rl) < 0) return 35;
    if (lt_recwriter_stop(w, 20000) < 0) return 36;
    if (atomic_load(&tu_done_ok) != 5 || atomic_load(&tu_done_err) != 0) return 37;
    static char names[4][512];
    int nw;
    if (tu_list(dir, names, 4, &nw) != 1 || nw) return 38;
    static struct tu_verify v;
    v.p = &p;
    if (tu_verify_file(names[0], &v) < 0 || v.n != 5) {
        fprintf(stderr, "verify: %s\n", v.why);
        return 39;
    }
    fflush(stdout);
    return 0;
}

START_TEST(writer_retries_failed_flush_and_payload)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof dir, "limited");
    fflush(stdout);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) _exit(run_writer_limited(dir));
    int st;
    waitpid(pid, &st, 0);
    ck_assert_msg(WIFEXITED(st), "child killed by signal %d", WTERMSIG(st));
    ck_assert_msg(WEXITSTATUS(st) == 0, "failed at step %d", WEXITSTATUS(st));
    tu_rmrf(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("recwriter_short");
    TCase *tc = tcase_create("short");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, uring_direct);
    tcase_add_test(tc, uring_buffered);
    tcase_add_test(tc, pwritev_direct);
    tcase_add_test(tc, pwritev_buffered);
    tcase_add_test(tc, writer_retries_failed_flush_and_payload);
    tcase_add_test(tc, helpers_return_lt_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
