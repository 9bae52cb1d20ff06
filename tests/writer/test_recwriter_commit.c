/* Closing a record file while the process is out of descriptors (issue 12: idle peers held them
 * all and a rollover left a .writing file): the commit (fsync, rename, fsync of the directory)
 * works through the descriptors the writer already holds, so it succeeds at once, with no retry
 * and no wait that a stop deadline would have to bound. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recwriter_int.h"

#define HOG_MAX 4096
static int hog[HOG_MAX], n_hog;

START_TEST(test_commit_needs_no_descriptor)
{
    char dir[] = "/tmp/test_recwriter_commit.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct rw_files f;
    memset(&f, 0, sizeof f);
    snprintf(f.dir, sizeof f.dir, "%s", dir);
    snprintf(f.cur_final, sizeof f.cur_final, "%s/r.hdf5", dir);
    snprintf(f.cur_writing, sizeof f.cur_writing, "%s/r.hdf5.writing", dir);
    char err[512] = "";
    ck_assert_int_eq(rw_files_scan(&f, err, sizeof err), 0); /* opens the directory */
    int fd = open(f.cur_writing, O_WRONLY | O_CREAT | O_EXCL, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "data", 4), 4);

    /* Every descriptor taken (a small limit, as LimitNOFILE= may set it), none freed. */
    struct rlimit rl = {64, 64};
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    n_hog = 0;
    while (n_hog < HOG_MAX && (hog[n_hog] = open("/dev/null", O_RDONLY)) >= 0) n_hog++;
    ck_assert_int_eq(errno, EMFILE);
    int rc = rw_files_commit(&f, fd, err, sizeof err);
    for (int i = 0; i < n_hog; i++) close(hog[i]);
    close(fd);
    rw_files_close(&f);
    ck_assert_msg(rc == 0, "commit failed: %s", err);
    struct stat st;
    ck_assert_int_eq(stat(f.cur_final, &st), 0);
    ck_assert_int_ne(stat(f.cur_writing, &st), 0);
    unlink(f.cur_final);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("recwriter_commit");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_commit_needs_no_descriptor);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
