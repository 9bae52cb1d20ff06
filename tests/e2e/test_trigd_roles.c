/* The same short run twice: all in one process, then split into a `module` process and two
 * `cell` processes (cells 0,1 and 2,3) talking ZeroMQ over tcp on loopback. The decisions (number,
 * time, algorithms, candidates) must be identical, and every fragment complete in both. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "h5raw.h"
#include "record_builder.h"
#include "test_trigd_util.h"

#define MAX_REC 16

static char dir[256];

/* Read every record's decision; check every WIBEth fragment is complete. */
static size_t read_decisions(const char *path, struct trigd_decision *out)
{
    struct lt_h5r *r;
    char err[512];
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    size_t n = lt_h5r_record_count(r);
    ck_assert_uint_le(n, MAX_REC);
    for (size_t i = 0; i < n; i++) {
        struct lt_h5_dataset_info *ds;
        size_t n_ds, n_wib = 0, n_tc = 0;
        ck_assert_msg(lt_h5r_list_datasets(r, i, &ds, &n_ds, err, sizeof err) == 0, "%s", err);
        for (size_t k = 0; k < n_ds; k++) {
            if (ds[k].kind != LT_H5_DS_FRAGMENT) continue;
            uint8_t *buf;
            struct lt_fragment_header h;
            size_t plen;
            ck_assert_msg(lt_h5r_read_fragment_alloc(r, i, ds[k].name, &h, &buf, &plen, 0, err,
                                                     sizeof err) == 0,
                          "%s", err);
            if (h.fragment_type == LT_FRAGTYPE_WIBETH) {
                ck_assert_msg(h.error_bits == 0, "%s: error bits 0x%x", ds[k].name, h.error_bits);
                ck_assert_uint_gt(plen, 0);
                n_wib++;
            } else if (h.fragment_type == LT_FRAGTYPE_TRIGGER_CANDIDATE) {
                ck_assert_int_eq(trigd_tc_decode(&h, buf + LT_FRAGMENT_HEADER_SIZE, plen, &out[i]),
                                 0);
                n_tc++;
            }
            free(buf);
        }
        free(ds);
        ck_assert_uint_eq(n_wib, 8);
        ck_assert_uint_eq(n_tc, 1);
    }
    lt_h5r_close(r);
    return n;
}

static struct trigd_decision all_dec[MAX_REC], split_dec[MAX_REC];

START_TEST(test_split_roles_same_decisions)
{
    char conf[512], text[4096], path[600], sub[400];
    int nf, nw;

    /* 1. all in one */
    snprintf(sub, sizeof sub, "%s/all", dir);
    mkdir(sub, 0755);
    snprintf(conf, sizeof conf, "%s/all.conf", dir);
    snprintf(text, sizeof text, "%swriter = { output_dir = \"%s\"; };\n", TRIGD_TEST_RUN_CONF, sub);
    write_file(conf, text);
    char log_all[512];
    snprintf(log_all, sizeof log_all, "%s/all.log", dir);
    const char *a_args[] = {"-c", conf, "--status-interval", "0", NULL};
    int st = trigd_wait(trigd_spawn(log_all, a_args), 100);
    if (st) print_log(log_all);
    ck_assert_int_eq(st, 0);
    ck_assert_int_eq(find_hdf5(sub, path, sizeof path, &nf, &nw), 0);
    size_t n_all = read_decisions(path, all_dec);
    ck_assert_uint_ge(n_all, 3);

    /* 2. split: module + two cell processes over tcp */
    snprintf(sub, sizeof sub, "%s/split", dir);
    mkdir(sub, 0755);
    snprintf(conf, sizeof conf, "%s/split.conf", dir);
    snprintf(text, sizeof text,
             "%swriter = { output_dir = \"%s\"; };\n"
             "endpoints = { candidates = \"tcp://127.0.0.1:%d\"; requests = "
             "\"tcp://127.0.0.1:%d\";%s};\n",
             TRIGD_TEST_RUN_CONF, sub, test_port(1), test_port(2), trigd_test_curve(dir, 4));
    write_file(conf, text);
    char log_m[512], log_c1[512], log_c2[512];
    snprintf(log_m, sizeof log_m, "%s/module.log", dir);
    snprintf(log_c1, sizeof log_c1, "%s/cell01.log", dir);
    snprintf(log_c2, sizeof log_c2, "%s/cell23.log", dir);
    const char *m_args[] = {"-c", conf, "--role", "module", "--status-interval", "0", NULL};
    const char *c1_args[] = {"-c", conf, "--role", "cell", "--cells", "0,1", "--status-interval",
                             "0",  NULL};
    const char *c2_args[] = {"-c", conf, "--role", "cell", "--cells", "2,3", "--status-interval",
                             "0",  NULL};
    pid_t pm = trigd_spawn(log_m, m_args);
    ck_assert(wait_for_log(log_m, "running: role module", 20));
    pid_t p1 = trigd_spawn(log_c1, c1_args);
    pid_t p2 = trigd_spawn(log_c2, c2_args);
    /* When the cells' data has ended (they keep answering requests a while), end the module. */
    int ok = wait_for_log(log_c1, "sources of this process have finished", 60) &&
             wait_for_log(log_c2, "sources of this process have finished", 60);
    kill(pm, SIGTERM);
    int sm = trigd_wait(pm, 60), s1 = trigd_wait(p1, 60), s2 = trigd_wait(p2, 60);
    if (!ok || sm || s1 || s2) {
        print_log(log_m);
        print_log(log_c1);
        print_log(log_c2);
    }
    ck_assert(ok);
    ck_assert_int_eq(sm, 0);
    ck_assert_int_eq(s1, 0);
    ck_assert_int_eq(s2, 0);
    ck_assert_int_eq(find_hdf5(sub, path, sizeof path, &nf, &nw), 0);
    size_t n_split = read_decisions(path, split_dec);

    ck_assert_uint_eq(n_split, n_all);
    for (size_t i = 0; i < n_all; i++) {
        const struct trigd_decision *a = &all_dec[i], *b = &split_dec[i];
        ck_assert_uint_eq(a->trigger_number, b->trigger_number);
        ck_assert_uint_eq(a->time, b->time);
        ck_assert_uint_eq(a->window_begin, b->window_begin);
        ck_assert_uint_eq(a->algorithms, b->algorithms);
        ck_assert_uint_eq(a->n_cells, b->n_cells);
        ck_assert_uint_eq(a->n_candidates, b->n_candidates);
        for (uint32_t k = 0; k < a->n_candidates; k++)
            ck_assert(memcmp(&a->candidates[k], &b->candidates[k], sizeof a->candidates[k]) == 0);
    }
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_split_roles_same_decisions, NULL};
    return trigd_e2e_main(dir, sizeof dir, "trigd_roles", 240, tests);
}
