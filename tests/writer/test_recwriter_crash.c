/* SIGKILL in the middle of writing: a child process writes many large records through the real
 * io_uring path and is killed at different moments. Every file with its final name must open and
 * verify completely; leftovers keep their .writing name; a restarted writer reports them and
 * continues with the next file index. */
#include <check.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "lt_error.h"
#include "test_recwriter_util.h"

static const struct gen_params P = {.n_frags = 16, .frag_bytes = 1 << 20, .jitter = 777, .run = 42};

static void config(struct lt_recwriter_config *c, const char *dir)
{
    tu_config(c, dir);
    c->staging_slots = 16;
    c->staging_slot_bytes = 1 << 20;
    c->max_file_bytes = 40ULL << 20; /* two ~16 MiB records per file */
}

/* The child: writes triggers from `first` on until killed. */
static void child_writer(const char *dir, uint64_t first)
{
    struct lt_recwriter_config c;
    config(&c, dir);
    c.queue_capacity = 4;
    struct lt_recwriter *w;
    char err[256];
    if (lt_recwriter_start(&w, &c, err, sizeof err) < 0) _exit(3);
    for (uint64_t t = first; t < first + 400; t++) {
        struct gen_record *g = gen_record_new(&P, t);
        g->free_on_done = 1;
        if (tu_enqueue_wait(w, g) < 0) _exit(4);
    }
    lt_recwriter_stop(w, 60000);
    _exit(5); /* should have been killed long before */
}

static int max_index(char names[][512], int n)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        const char *s = strstr(names[i], "_run000042_");
        int idx = s ? atoi(s + 11) : 0;
        if (idx > m) m = idx;
    }
    return m;
}

/* All final-named files verify; returns how many records they hold. */
static size_t verify_finals(const char *dir, int *n_files, int *n_writing)
{
    static char names[256][512];
    int n = tu_list(dir, names, 256, n_writing);
    static struct tu_verify v;
    memset(&v, 0, sizeof v);
    v.p = &P;
    for (int i = 0; i < n; i++)
        ck_assert_msg(tu_verify_file(names[i], &v) == 0, "final-named file incomplete: %s", v.why);
    *n_files = n;
    return v.n;
}

START_TEST(sigkill_leaves_no_incomplete_final_file)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof dir, "crash");
    uint64_t first = 1;
    int leftovers_expected = 0;
    /* Kill moments: once two files are final; right after the first file is final (likely
     * during the next file's open or first payload); after a fixed delay into a fresh run. */
    const int need_final[] = {2, 1, 0};
    const int delay_ms[] = {0, 0, 150};
    static char names[256][512];
    for (int round = 0; round < 3; round++) {
        int before_files, before_writing;
        verify_finals(dir, &before_files, &before_writing);
        pid_t pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) child_writer(dir, first);
        for (int k = 0; k < 6000; k++) {
            int nw, n = tu_list(dir, names, 256, &nw);
            if (n - before_files >= need_final[round] && nw > before_writing &&
                k * 5 >= delay_ms[round])
                break;
            int st;
            ck_assert_msg(waitpid(pid, &st, WNOHANG) == 0, "writer child exited early (%d)", st);
            usleep(5000);
        }
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

        int n_files, n_writing;
        size_t recs = verify_finals(dir, &n_files, &n_writing);
        ck_assert_int_ge(n_files, before_files + need_final[round]);
        ck_assert_int_ge(n_writing, before_writing); /* leftovers are never renamed */
        leftovers_expected = n_writing;
        (void)recs;

        /* Restart: the leftover is reported, the index continues past every file seen. */
        int last = max_index(names, tu_list(dir, names, 256, NULL));
        struct lt_recwriter_config c;
        config(&c, dir);
        struct lt_recwriter *w;
        char err[256];
        ck_assert_int_eq(lt_recwriter_start(&w, &c, err, sizeof err), 0);
        struct lt_recwriter_status s;
        lt_recwriter_status(w, &s);
        ck_assert_uint_eq(s.leftover_writing, (uint64_t)leftovers_expected);
        ck_assert_uint_gt(s.file_index, (uint64_t)last);
        ck_assert_int_eq(lt_recwriter_stop(w, 1000), 0); /* no record: no new file */
        first += 1000;
    }
    int n_files, n_writing;
    size_t recs = verify_finals(dir, &n_files, &n_writing);
    ck_assert_int_ge(n_files, 3);
    ck_assert_uint_ge(recs, 6);
    printf("crash test: %d final files with %zu verified records, %d leftover .writing\n", n_files,
           recs, n_writing);
    tu_rmrf(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("recwriter_crash");
    TCase *tc = tcase_create("crash");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, sigkill_leaves_no_incomplete_final_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
