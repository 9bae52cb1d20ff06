/* Backpressure and shutdown, end to end through the real writer:
 *  - a trigger rate far above what one readout slot and a one-record writer queue can take:
 *    the aggregator inhibits triggers and counts them; every trigger it does issue is written,
 *    numbered 1..N without gaps;
 *  - SIGTERM in the middle of a paced run: exit 0, every accepted record in a final (renamed)
 *    file, nothing left as .writing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "h5raw.h"
#include "test_trigd_util.h"

static char dir[256];

/* Numbers from the final "module: ..." status line. */
struct final_status {
    unsigned long long triggers, inhibited, built, written, failed;
};

static int read_final_status(const char *log, struct final_status *fs)
{
    FILE *f = fopen(log, "r");
    if (!f) return -1;
    char line[2048];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        const char *t = strstr(line, "s, ");
        const char *m = strstr(line, "module: ");
        if (!m || !t) continue;
        const char *p = strstr(line, " triggers (");
        const char *q = strstr(line, " inhibited, ");
        const char *r = strstr(line, "records ");
        if (!p || !q || !r) continue;
        while (p > line && p[-1] >= '0' && p[-1] <= '9') p--;
        while (q > line && q[-1] >= '0' && q[-1] <= '9') q--;
        fs->triggers = strtoull(p, NULL, 10);
        fs->inhibited = strtoull(q, NULL, 10);
        if (sscanf(r, "records %llu built %llu written %llu failed", &fs->built, &fs->written,
                   &fs->failed) == 3)
            found = 1;
    }
    fclose(f);
    return found ? 0 : -1;
}

/* Records in the file: count, and trigger numbers 1..n in order. */
static size_t check_numbers(const char *path)
{
    struct lt_h5r *r;
    char err[512];
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    size_t n = lt_h5r_record_count(r);
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(lt_h5r_record(r, i)->number, i + 1);
    lt_h5r_close(r);
    return n;
}

START_TEST(test_inhibit_when_writer_full)
{
    char sub[400], conf[512], text[2048], log[512], path[600];
    snprintf(sub, sizeof sub, "%s/inhibit", dir);
    mkdir(sub, 0755);
    snprintf(conf, sizeof conf, "%s/inhibit.conf", dir);
    snprintf(log, sizeof log, "%s/inhibit.log", dir);
    /* 100 us windows every 120 us of data: hundreds of triggers a second, each written and
     * fdatasync'ed by the writer before its one readout slot is free again. */
    snprintf(text, sizeof text,
             "cells = ( { id = 0; }, { id = 1; } );\n"
             "sim = { realtime_factor = 0.0; high_energy_rate_hz = 0.0; };\n"
             "trigger = { coincidence = { enabled = false; }; single = { enabled = false; };\n"
             "            periodic = { enabled = true; period_ms = 0.12; }; };\n"
             "readout = { pre_us = 20.0; post_us = 80.0; };\n"
             "buffers = { decision_queue = 1; };\n"
             "writer = { output_dir = \"%s\"; queue_depth = 1; max_records_per_file = 100000; };\n"
             "duration_s = 0.08;\n",
             sub);
    write_file(conf, text);
    const char *args[] = {"-c", conf, "--status-interval", "0", NULL};
    int st = trigd_wait(trigd_spawn(log, args), 100);
    if (st) print_log(log);
    ck_assert_int_eq(st, 0);
    struct final_status fs;
    ck_assert_int_eq(read_final_status(log, &fs), 0);
    ck_assert_uint_gt(fs.inhibited, 0);
    fprintf(stderr, "inhibit run: %llu triggers written, %llu inhibited\n", fs.triggers,
            fs.inhibited);
    ck_assert_uint_gt(fs.triggers, 0);
    ck_assert_uint_eq(fs.built, fs.triggers);
    ck_assert_uint_eq(fs.written, fs.triggers);
    ck_assert_uint_eq(fs.failed, 0);
    /* 80 ms / 0.12 ms: every proposal was either issued or inhibited. */
    ck_assert_uint_ge(fs.triggers + fs.inhibited, 600);
    int nf, nw;
    ck_assert_int_eq(find_hdf5(sub, path, sizeof path, &nf, &nw), 0);
    ck_assert_int_eq(nw, 0);
    ck_assert_uint_eq(check_numbers(path), fs.triggers);
}
END_TEST

START_TEST(test_sigterm_mid_run)
{
    char sub[400], conf[512], text[2048], log[512], path[600];
    snprintf(sub, sizeof sub, "%s/term", dir);
    mkdir(sub, 0755);
    snprintf(conf, sizeof conf, "%s/term.conf", dir);
    snprintf(log, sizeof log, "%s/term.log", dir);
    snprintf(text, sizeof text,
             "cells = ( { id = 0; }, { id = 1; }, { id = 2; }, { id = 3; } );\n"
             "sim = { realtime_factor = 0.02; };\n"
             "trigger = { periodic = { enabled = true; period_ms = 5.0; }; };\n"
             "writer = { output_dir = \"%s\"; };\n",
             sub);
    write_file(conf, text);
    const char *args[] = {"-c", conf, "--status-interval", "0", NULL};
    pid_t pid = trigd_spawn(log, args);
    ck_assert(wait_for_log(log, "trigger 4 ", 60));
    kill(pid, SIGTERM);
    int st = trigd_wait(pid, 60);
    if (st) print_log(log);
    ck_assert_int_eq(st, 0);
    struct final_status fs;
    ck_assert_int_eq(read_final_status(log, &fs), 0);
    ck_assert_uint_ge(fs.triggers, 4);
    ck_assert_uint_eq(fs.written, fs.triggers);
    ck_assert_uint_eq(fs.failed, 0);
    int nf, nw;
    ck_assert_int_eq(find_hdf5(sub, path, sizeof path, &nf, &nw), 0);
    ck_assert_int_eq(nw, 0);
    ck_assert_uint_eq(check_numbers(path), fs.triggers);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_inhibit_when_writer_full, test_sigterm_mid_run, NULL};
    return trigd_e2e_main(dir, sizeof dir, "trigd_backpressure", 200, tests);
}
