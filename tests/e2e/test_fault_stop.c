/* A cell process paused (SIGSTOP) past the missing timeout, then continued (SIGCONT): unlike a
 * killed one (test_trigd_missing) it keeps its sockets and its TCP connections, so the module's
 * data requests are queued to it and never answered while it sleeps. The module must declare
 * its cells missing, go on deciding without them, give up on their replies after the reply
 * timeout and flag their fragments kDataNotFound; after SIGCONT the same process (same
 * sequence numbers) rejoins, its stale replies are dropped as late, and later records are
 * complete again. Every decision has a record. module + two cell processes over tcp on
 * loopback, paced (factor 0.02), periodic triggers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daqfmt.h"
#include "h5raw.h"
#include "test_trigd_util.h"

static char dir[256];

/* Bit c set when any fragment of cell c in record i carries an error bit. */
static unsigned flagged_cells(struct lt_h5r *r, size_t i, unsigned *not_found)
{
    unsigned mask = 0;
    *not_found = 0;
    char err[512];
    for (uint32_t c = 0; c < 4; c++)
        for (uint32_t s = 0; s < 2; s++) {
            struct lt_source_id sid = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT,
                                       (c << 8) | s};
            char name[LT_H5_NAME_MAX];
            lt_h5_fragment_dataset_name(&sid, LT_FRAGTYPE_WIBETH, name, sizeof name);
            uint8_t *buf;
            struct lt_fragment_header h;
            size_t plen;
            ck_assert_msg(
                lt_h5r_read_fragment_alloc(r, i, name, &h, &buf, &plen, 0, err, sizeof err) == 0,
                "record %zu %s: %s", i, name, err);
            if (h.error_bits) mask |= 1U << c;
            if (h.error_bits & (1U << LT_FRAG_ERR_DATA_NOT_FOUND)) {
                *not_found |= 1U << c;
                ck_assert_uint_eq(plen, 0);
            }
            free(buf);
        }
    return mask;
}

static unsigned long long last_count(const char *log, const char *fmt)
{
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048];
    unsigned long long v = 0, x;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "module: ");
        if (p && sscanf(p, fmt, &x) == 1) v = x;
    }
    fclose(f);
    return v;
}

START_TEST(test_paused_cell_missing_then_rejoins)
{
    char conf[512];
    snprintf(conf, sizeof conf, "%s/trigd.conf", dir);
    trigd_test_write_split_conf(conf, 4, 4, trigd_test_tcp(test_port(31)),
                                trigd_test_tcp(test_port(32)), trigd_test_curve(dir, 4), dir, NULL);
    char log_m[512], log_a[512], log_b[512];
    snprintf(log_m, sizeof log_m, "%s/module.log", dir);
    snprintf(log_a, sizeof log_a, "%s/cellA.log", dir);
    snprintf(log_b, sizeof log_b, "%s/cellB.log", dir);
    const char *m_args[] = {"-c", conf, "--role", "module", "--status-interval", "0", NULL};
    const char *a_args[] = {"-c", conf, "--role", "cell", "--cells", "0,1", "--status-interval",
                            "0",  NULL};
    const char *b_args[] = {"-c", conf, "--role", "cell", "--cells", "2,3", "--status-interval",
                            "0",  NULL};
    pid_t pm = trigd_spawn(log_m, m_args);
    ck_assert(wait_for_log(log_m, "running: role module", 20));
    pid_t pa = trigd_spawn(log_a, a_args);
    pid_t pb = trigd_spawn(log_b, b_args);

    int ok = wait_for_log(log_m, "trigger 6 ", 40);
    kill(pb, SIGSTOP);
    ok = ok && wait_for_log(log_m, "cell 2 missing", 10) &&
         wait_for_log(log_m, "cell 3 missing", 10);
    usleep(3000000); /* > reply_timeout_ms: requests sent to the sleeping process time out */
    kill(pb, SIGCONT);
    int sm, sa, sb;
    ok = trigd_rejoin_then_stop(ok, log_m, log_a, log_b, pm, pa, pb, &sm, &sa, &sb);
    ck_assert(ok);
    ck_assert_int_eq(sm, 0);
    ck_assert_int_eq(sa, 0);
    ck_assert_int_eq(sb, 0);
    /* The continued process is the same one: no restart, its sequence just goes on. */
    ck_assert(!wait_for_log(log_m, "restarted", 0.1));

    /* Every decision has a record, across however many files. */
    unsigned long long triggers = last_count(log_m, "module: %*u msgs (%*u bad, %*u out of order, "
                                                    "%*u lost), %*u candidates (%*u late), "
                                                    "horizon %*f s, %llu triggers");
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls %s/*.hdf5 2>/dev/null | sort", dir);
    FILE *ls = popen(cmd, "r");
    ck_assert_ptr_nonnull(ls);
    char path[600];
    size_t n_records = 0, complete_before = 0, flagged = 0, complete_after = 0;
    int phase = -1; /* -1 start-up, 0 all cells, 1 cells 2+3 flagged, 2 all cells again */
    while (fgets(path, sizeof path, ls)) {
        path[strcspn(path, "\n")] = 0;
        struct lt_h5r *r;
        char err[512];
        ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
        size_t n = lt_h5r_record_count(r);
        for (size_t i = 0; i < n; i++) {
            unsigned nf, mask = flagged_cells(r, i, &nf);
            if (phase == -1) {
                if (mask) continue; /* a process's data may begin after the first windows */
                phase = 0;
            }
            ck_assert_uint_eq(mask & 0x3, 0); /* cells 0 and 1 never went away */
            if (mask == 0) {
                if (phase == 0)
                    complete_before++;
                else {
                    phase = 2;
                    complete_after++;
                }
            } else {
                /* Only cells 2 and 3 (one process); no relapse once complete again. At the
                 * edges one of them may be flagged alone: after SIGCONT the two request
                 * threads answer their queued requests at slightly different moments. */
                ck_assert_uint_eq(mask & ~0xCU, 0);
                ck_assert_int_ne(phase, 2);
                if (nf == 0xC) flagged++;
                phase = 1;
            }
        }
        n_records += n;
        lt_h5r_close(r);
    }
    pclose(ls);
    fprintf(stderr,
            "%llu decisions, %zu records: %zu complete, %zu with cells 2+3 kDataNotFound, %zu "
            "complete again\n",
            triggers, n_records, complete_before, flagged, complete_after);
    ck_assert_uint_eq(n_records, triggers);
    ck_assert_msg(complete_before >= 2 && flagged >= 2 && complete_after >= 2,
                  "%zu complete, %zu flagged, %zu complete again", complete_before, flagged,
                  complete_after);
    /* The replies the process sent after SIGCONT for records already built were dropped late. */
    ck_assert(wait_for_log(log_m, "arrived after its record was built", 0.1));
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_paused_cell_missing_then_rejoins, NULL};
    return trigd_e2e_main(dir, sizeof dir, "fault_stop", 240, tests);
}
