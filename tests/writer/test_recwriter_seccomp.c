/* The pwritev fallback under a real seccomp filter: a forked child installs a BPF filter that
 * makes io_uring_setup fail with EPERM (what a container runtime's default profile does), then
 * runs the writer. It must notice, fall back to pwritev, say so in its status, and write files
 * that verify byte for byte. */
#include <check.h>
#include <liburing.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "lt_error.h"
#include "test_recwriter_util.h"

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef TEST_AUDIT_ARCH
static int deny_io_uring_setup(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* Exit codes name the failed step for the parent's message. */
static void child(const char *dir)
{
    if (deny_io_uring_setup() < 0) _exit(10);
    struct io_uring ring;
    if (io_uring_queue_init(8, &ring, 0) != -EPERM) _exit(11); /* the filter is in force */
    struct lt_recwriter_config c;
    tu_config(&c, dir);
    struct lt_recwriter *w;
    char err[256];
    if (lt_recwriter_start(&w, &c, err, sizeof err) < 0) _exit(12);
    struct lt_recwriter_status st;
    lt_recwriter_status(w, &st);
    if (st.io_mode != LT_RW_IO_PWRITEV) _exit(13);
    struct gen_params p = {.n_frags = 5, .frag_bytes = 100000, .jitter = 5000, .run = 42};
    atomic_store(&tu_done_ok, 0);
    for (uint64_t t = 1; t <= 4; t++) {
        struct gen_record *g = gen_record_new(&p, t);
        g->free_on_done = 1;
        if (tu_enqueue_wait(w, g) < 0) _exit(14);
    }
    if (lt_recwriter_stop(w, 10000) < 0) _exit(15);
    if (atomic_load(&tu_done_ok) != 4) _exit(16);
    static char names[4][512];
    int nw;
    if (tu_list(dir, names, 4, &nw) != 1 || nw) _exit(17);
    static struct tu_verify v;
    v.p = &p;
    if (tu_verify_file(names[0], &v) < 0 || v.n != 4) {
        fprintf(stderr, "verify: %s\n", v.why);
        _exit(18);
    }
    _exit(0);
}
#endif

START_TEST(seccomp_eperm_falls_back_to_pwritev)
{
#ifndef TEST_AUDIT_ARCH
    printf("SKIP: no seccomp arch constant for this CPU in the test\n");
#else
    char dir[512];
    tu_mkdtemp(dir, sizeof dir, "seccomp");
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) child(dir);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st), "child died from signal %d", WTERMSIG(st));
    ck_assert_msg(WEXITSTATUS(st) == 0, "child failed at step %d", WEXITSTATUS(st));
    tu_rmrf(dir);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("recwriter_seccomp");
    TCase *tc = tcase_create("seccomp");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, seccomp_eperm_falls_back_to_pwritev);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
