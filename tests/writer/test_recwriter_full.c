/* A filesystem that fills up: the test mounts an 8 MiB tmpfs in a private mount namespace
 * (unshare as root, or as an unprivileged user through a user namespace), fills most of it with
 * a ballast file and feeds the writer more records than fit. The writer must hold records back
 * (inhibit on, nothing lost, no error completions), and finish every accepted record once the
 * test deletes the ballast. A second case lets the kernel itself say ENOSPC in the middle of a
 * record's payload (no safety margin) and checks the retry. Skips, saying why, only when no
 * size-limited filesystem can be made here. */
#include <check.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "lt_error.h"
#include "test_recwriter_util.h"

static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    ssize_t n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* Mounts a size-limited tmpfs on dir in a new mount namespace; 0, or -1 with a reason. */
static int small_fs(const char *dir, const char *size, char *why, size_t len)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWNS) < 0) {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
            snprintf(why, len, "unshare(CLONE_NEWNS) and user namespace both refused: %s",
                     strerror(errno));
            return -1;
        }
        char m[64];
        snprintf(m, sizeof m, "0 %u 1", (unsigned)uid);
        write_file("/proc/self/setgroups", "deny");
        if (write_file("/proc/self/uid_map", m) < 0) {
            snprintf(why, len, "uid_map: %s", strerror(errno));
            return -1;
        }
        snprintf(m, sizeof m, "0 %u 1", (unsigned)gid);
        write_file("/proc/self/gid_map", m);
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        snprintf(why, len, "making / private: %s", strerror(errno));
        return -1;
    }
    char opts[64];
    snprintf(opts, sizeof opts, "size=%s,mode=0700", size);
    if (mount("tmpfs", dir, "tmpfs", 0, opts) < 0) {
        snprintf(why, len, "mount -t tmpfs -o %s: %s", opts, strerror(errno));
        return -1;
    }
    return 0;
}

static int make_ballast(const char *path, size_t bytes)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return -1;
    static uint8_t buf[65536];
    memset(buf, 0xAB, sizeof buf);
    for (size_t done = 0; done < bytes;) {
        size_t n = bytes - done < sizeof buf ? bytes - done : sizeof buf;
        if (write(fd, buf, n) != (ssize_t)n) {
            close(fd);
            return -1;
        }
        done += n;
    }
    close(fd);
    return 0;
}

static const struct gen_params P = {.n_frags = 4, .frag_bytes = 60000, .jitter = 999, .run = 42};

static void wait_stable(struct lt_recwriter *w, int want_inhibit)
{
    uint64_t last = ~0ULL;
    int same = 0;
    for (int k = 0; k < 1000 && same < 30; k++) {
        uint64_t n = atomic_load(&lt_recwriter_stats(w)->records_written);
        int inh = atomic_load(&lt_recwriter_stats(w)->inhibit);
        same = (n == last && inh == want_inhibit) ? same + 1 : 0;
        last = n;
        usleep(10000);
    }
}

static _Atomic int inhibit_on, inhibit_off, inhibit_state;
static void on_inhibit(int on, void *user)
{
    (void)user;
    atomic_fetch_add(on ? &inhibit_on : &inhibit_off, 1);
    atomic_store(&inhibit_state, on);
}

static void run_fill(void)
{
    char dir[512], why[256];
    tu_mkdtemp(dir, sizeof dir, "full");
    ck_assert(dir[0]);
    if (small_fs(dir, "8m", why, sizeof why) < 0) {
        printf("SKIP: cannot make a size-limited filesystem here: %s\n", why);
        rmdir(dir);
        return;
    }
    char ballast[600];
    snprintf(ballast, sizeof ballast, "%s/ballast", dir);
    ck_assert_int_eq(make_ballast(ballast, 5 << 20), 0);

    struct lt_recwriter_config c;
    tu_config(&c, dir);
    c.queue_capacity = 32;
    c.max_file_bytes = 1536 * 1024;
    c.backoff_min_ms = 5;
    c.backoff_max_ms = 100;
    c.free_space_factor = 1.5;
    c.free_space_margin = 256 * 1024;
    c.inhibit_cb = on_inhibit;
    struct lt_recwriter *w;
    char err[256];
    ck_assert_int_eq(lt_recwriter_start(&w, &c, err, sizeof err), 0);
    atomic_store(&tu_done_ok, 0);
    atomic_store(&tu_done_err, 0);
    const int N = 20; /* ~4.9 MB: cannot fit next to the ballast, fits without it */
    for (int i = 0; i < N; i++) {
        struct gen_record *g = gen_record_new(&P, 1 + (uint64_t)i);
        g->free_on_done = 1;
        g->rec.done = tu_done;
        ck_assert_int_eq(lt_recwriter_enqueue(w, &g->rec), 0);
    }
    wait_stable(w, 1);
    struct lt_recwriter_status st;
    lt_recwriter_status(w, &st);
    printf("safety check: disk full after %llu of %d records (space_waits %llu, enospc %llu, "
           "io_errors %llu, free %llu)\n",
           (unsigned long long)st.records_written, N, (unsigned long long)st.space_waits,
           (unsigned long long)st.enospc, (unsigned long long)st.io_errors,
           (unsigned long long)st.free_bytes);
    ck_assert_int_eq(st.inhibit, 1);
    ck_assert_uint_lt(st.records_written, (uint64_t)N);
    ck_assert_uint_gt(st.records_written, 0);
    ck_assert_uint_eq(st.queue_depth, (uint64_t)N - st.records_written);
    ck_assert_uint_eq(atomic_load(&tu_done_err), 0);
    ck_assert_uint_ge(st.space_waits, 1);
    ck_assert_int_eq(atomic_load(&inhibit_state), 1); /* the aggregator was told */

    ck_assert_int_eq(unlink(ballast), 0); /* the operator frees space */
    for (int k = 0; k < 3000 && atomic_load(&lt_recwriter_stats(w)->records_written) < (uint64_t)N;
         k++)
        usleep(10000);
    lt_recwriter_status(w, &st);
    ck_assert_uint_eq(st.records_written, (uint64_t)N);
    ck_assert_int_eq(st.inhibit, 0);
    ck_assert_int_eq(atomic_load(&inhibit_state), 0);
    ck_assert_int_ge(atomic_load(&inhibit_on), 1);
    ck_assert_int_eq(atomic_load(&inhibit_on), atomic_load(&inhibit_off));
    ck_assert_int_eq(lt_recwriter_stop(w, 5000), 0);
    ck_assert_uint_eq(atomic_load(&tu_done_ok), (uint64_t)N);
    ck_assert_uint_eq(atomic_load(&tu_done_err), 0);

    /* Every accepted record is in a final file, exactly once, byte for byte. */
    static char names[64][512];
    int nw, n = tu_list(dir, names, 64, &nw);
    ck_assert_int_eq(nw, 0);
    static struct tu_verify v;
    memset(&v, 0, sizeof v);
    v.p = &P;
    for (int i = 0; i < n; i++) ck_assert_msg(tu_verify_file(names[i], &v) == 0, "%s", v.why);
    ck_assert_uint_eq(v.n, (size_t)N);
    uint64_t seen = 0;
    for (size_t i = 0; i < v.n; i++) seen |= 1ULL << v.trigs[i];
    ck_assert_uint_eq(seen, ((1ULL << N) - 1) << 1);
    umount2(dir, MNT_DETACH);
    rmdir(dir);
}

START_TEST(fills_inhibits_and_recovers)
{
    run_fill();
}
END_TEST

/* No safety margin, and a ballast sized from the measured footprint of one record so that
 * statvfs says "enough" (free >= record bytes) while the real footprint (4 KiB alignment of each
 * dataset, HDF5 metadata) is larger: the kernel itself returns ENOSPC in the middle of the next
 * record, which must be retried until space appears, with nothing lost. */
START_TEST(kernel_enospc_mid_record_is_retried)
{
    char dir[512], why[256];
    tu_mkdtemp(dir, sizeof dir, "enospc");
    ck_assert(dir[0]);
    if (small_fs(dir, "8m", why, sizeof why) < 0) {
        printf("SKIP: cannot make a size-limited filesystem here: %s\n", why);
        rmdir(dir);
        return;
    }
    static const struct gen_params Q = {.n_frags = 40, .frag_bytes = 5000, .run = 42};
    struct lt_recwriter_config c;
    tu_config(&c, dir);
    c.align_threshold = 4096; /* every fragment dataset padded to 8 KiB in the file */
    c.free_space_factor = 1.0;
    c.free_space_margin = 0;
    c.backoff_min_ms = 5;
    c.backoff_max_ms = 50;
    struct lt_recwriter *w;
    char err[256];
    ck_assert_int_eq(lt_recwriter_start(&w, &c, err, sizeof err), 0);
    atomic_store(&tu_done_ok, 0);
    atomic_store(&tu_done_err, 0);

    {
        struct gen_record *g = gen_record_new(&Q, 1);
        g->free_on_done = 1;
        g->rec.done = tu_done;
        ck_assert_int_eq(lt_recwriter_enqueue(w, &g->rec), 0);
        for (int k = 0; k < 500 && atomic_load(&tu_done_ok) < 1; k++) usleep(10000);
        ck_assert_uint_eq(atomic_load(&lt_recwriter_stats(w)->records_written), 1);
    }
    /* Record bytes (what the check asks for) vs. their footprint (every 5072-byte dataset
     * takes two pages): leave free = bytes + a third of the difference. */
    const uint64_t bytes = LT_TRH_SIZE + 2 * LT_COMPONENT_REQUEST_SIZE + 40ULL * (72 + 5000);
    const uint64_t footprint = 40ULL * 8192;
    const uint64_t leave = bytes + (footprint - bytes) / 3;
    struct statvfs sv;
    ck_assert_int_eq(statvfs(dir, &sv), 0);
    const uint64_t free_now = (uint64_t)sv.f_bavail * sv.f_frsize;
    ck_assert_uint_gt(free_now, leave + 65536);
    char ballast[600];
    snprintf(ballast, sizeof ballast, "%s/ballast", dir);
    ck_assert_int_eq(make_ballast(ballast, free_now - leave), 0);

    const int N = 6;
    for (int i = 1; i < N; i++) {
        struct gen_record *g = gen_record_new(&Q, 1 + (uint64_t)i);
        g->free_on_done = 1;
        g->rec.done = tu_done;
        ck_assert_int_eq(lt_recwriter_enqueue(w, &g->rec), 0);
    }
    wait_stable(w, 1);
    struct lt_recwriter_status st;
    lt_recwriter_status(w, &st);
    printf("kernel ENOSPC: stuck after %llu of %d records (enospc %llu, io_errors %llu, "
           "space_waits %llu, free %llu)\n",
           (unsigned long long)st.records_written, N, (unsigned long long)st.enospc,
           (unsigned long long)st.io_errors, (unsigned long long)st.space_waits,
           (unsigned long long)st.free_bytes);
    ck_assert_int_eq(st.inhibit, 1);
    ck_assert_uint_lt(st.records_written, (uint64_t)N);
    ck_assert_uint_ge(st.enospc, 1);
    ck_assert_uint_eq(atomic_load(&tu_done_err), 0);

    ck_assert_int_eq(unlink(ballast), 0);
    for (int k = 0; k < 3000 && atomic_load(&lt_recwriter_stats(w)->records_written) < (uint64_t)N;
         k++)
        usleep(10000);
    ck_assert_uint_eq(atomic_load(&lt_recwriter_stats(w)->records_written), (uint64_t)N);
    ck_assert_int_eq(lt_recwriter_stop(w, 5000), 0);
    ck_assert_uint_eq(atomic_load(&tu_done_ok), (uint64_t)N);
    static char names[8][512];
    int nw, n = tu_list(dir, names, 8, &nw);
    ck_assert_int_eq(nw, 0);
    static struct tu_verify v;
    memset(&v, 0, sizeof v);
    v.p = &Q;
    for (int i = 0; i < n; i++) ck_assert_msg(tu_verify_file(names[i], &v) == 0, "%s", v.why);
    ck_assert_uint_eq(v.n, (size_t)N);
    umount2(dir, MNT_DETACH);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("recwriter_full");
    TCase *tc = tcase_create("full");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fills_inhibits_and_recovers);
    tcase_add_test(tc, kernel_enospc_mid_record_is_retried);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
