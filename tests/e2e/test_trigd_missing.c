/* A cell process killed mid-run: the module declares its cells missing and goes on deciding
 * without them, the records flag their fragments kDataNotFound, and when the process is started
 * again its cells rejoin and later records are complete again. module + two cell processes over
 * tcp on loopback, paced in real time (factor 0.02) with periodic triggers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "h5raw.h"
#include "test_trigd_util.h"

static char dir[256];

START_TEST(test_killed_cell_missing_then_rejoins)
{
    char conf[512], path[600];
    snprintf(conf, sizeof conf, "%s/trigd.conf", dir);
    trigd_test_write_split_conf(conf, 4, 3, trigd_test_tcp(test_port(3)),
                                trigd_test_tcp(test_port(4)), trigd_test_curve(dir, 4), dir, NULL);
    char log_m[512], log_a[512], log_b[512], log_b2[512];
    snprintf(log_m, sizeof log_m, "%s/module.log", dir);
    snprintf(log_a, sizeof log_a, "%s/cellA.log", dir);
    snprintf(log_b, sizeof log_b, "%s/cellB.log", dir);
    snprintf(log_b2, sizeof log_b2, "%s/cellB2.log", dir);
    const char *m_args[] = {"-c", conf, "--role", "module", "--status-interval", "0", NULL};
    const char *a_args[] = {"-c", conf, "--role", "cell", "--cells", "0,1", "--status-interval",
                            "0",  NULL};
    const char *b_args[] = {"-c", conf, "--role", "cell", "--cells", "2,3", "--status-interval",
                            "0",  NULL};
    pid_t pm = trigd_spawn(log_m, m_args);
    ck_assert(wait_for_log(log_m, "running: role module", 20));
    pid_t pa = trigd_spawn(log_a, a_args);
    pid_t pb = trigd_spawn(log_b, b_args);

    /* A few records with every cell (the first may precede a slow-starting process's data). */
    int ok = wait_for_log(log_m, "trigger 6 ", 30);
    kill(pb, SIGKILL);
    trigd_wait(pb, 10);
    ok = ok && wait_for_log(log_m, "cell 2 missing", 10) &&
         wait_for_log(log_m, "cell 3 missing", 10);
    usleep(1500000); /* decisions go on without cells 2 and 3 */
    pb = trigd_spawn(log_b2, b_args);
    int sm, sa, sb;
    ok = trigd_rejoin_then_stop(ok, log_m, log_a, log_b2, pm, pa, pb, &sm, &sa, &sb);
    ck_assert(ok);
    ck_assert_int_eq(sm, 0);
    ck_assert_int_eq(sa, 0);
    ck_assert_int_eq(sb, 0);

    int nf, nw;
    ck_assert_int_eq(find_hdf5(dir, path, sizeof path, &nf, &nw), 0);
    struct lt_h5r *r;
    char err[512];
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    size_t n = lt_h5r_record_count(r);
    /* Per record: which cells' fragments came back kDataNotFound. */
    int phase = -1; /* -1: start-up (a process's data may begin after the first windows),
                     * 0: all cells, 1: 2 and 3 missing, 2: all cells again */
    size_t complete_before = 0, flagged = 0, complete_after = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned missing_mask = 0, cells_seen = 0;
        for (uint32_t c = 0; c < 4; c++)
            for (uint32_t s = 0; s < 2; s++) {
                struct lt_source_id sid = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT,
                                           (c << 8) | s};
                char name[LT_H5_NAME_MAX];
                lt_h5_fragment_dataset_name(&sid, LT_FRAGTYPE_WIBETH, name, sizeof name);
                uint8_t *buf;
                struct lt_fragment_header h;
                size_t plen;
                ck_assert_msg(lt_h5r_read_fragment_alloc(r, i, name, &h, &buf, &plen, 0, err,
                                                         sizeof err) == 0,
                              "%s", err);
                if (h.error_bits & 1U) {
                    missing_mask |= 1U << c;
                    ck_assert_uint_eq(plen, 0);
                }
                cells_seen |= 1U << c;
                free(buf);
            }
        ck_assert_uint_eq(cells_seen, 0xF);
        if (phase == -1) {
            if (missing_mask) continue;
            phase = 0;
        }
        /* Cells 0 and 1 never went away. */
        ck_assert_uint_eq(missing_mask & 0x3, 0);
        if (missing_mask == 0) {
            if (phase == 0)
                complete_before++;
            else {
                phase = 2;
                complete_after++;
            }
        } else {
            /* Only cells 2 and 3 (one process). At the edges one of them may be flagged alone:
             * the two cells of the restarted process rejoin at slightly different moments. */
            ck_assert_uint_eq(missing_mask & ~0xCU, 0);
            ck_assert_int_ne(phase, 2);
            phase = 1;
            if (missing_mask == 0xC) flagged++;
        }
    }
    lt_h5r_close(r);
    ck_assert_msg(complete_before >= 2 && flagged >= 1 && complete_after >= 2,
                  "%zu records: %zu complete, %zu with cells 2+3 missing, %zu complete again", n,
                  complete_before, flagged, complete_after);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_killed_cell_missing_then_rejoins, NULL};
    return trigd_e2e_main(dir, sizeof dir, "trigd_missing", 240, tests);
}
