/* Helpers shared by the trigd end-to-end tests: run the real binary, find its files. */
#ifndef TEST_TRIGD_UTIL_H
#define TEST_TRIGD_UTIL_H

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lt_clock.h"

static inline const char *trigd_path(void)
{
    static char p[1024];
    const char *b = getenv("LARTRIG_BINARY_DIR");
    snprintf(p, sizeof p, "%s/daemon/trigd", b ? b : LARTRIG_BINARY_DIR);
    return p;
}

/* Start trigd with arguments (NULL-terminated), stderr to logfile. */
static inline pid_t trigd_spawn(const char *logfile, const char *const *args)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
        }
        const char *argv[32];
        int n = 0;
        argv[n++] = trigd_path();
        for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
        argv[n] = NULL;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Wait up to timeout_s; returns the exit status, or -1 (killed after the timeout / signalled). */
static inline int trigd_wait(pid_t pid, double timeout_s)
{
    const double t0 = lt_mono_s();
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (lt_mono_s() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(20000);
    }
}

static inline void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* The first *.hdf5 (final name) in dir, into out; 0 if found. Counts .writing files too. */
static inline int find_hdf5(const char *dir, char *out, size_t len, int *n_final, int *n_writing)
{
    DIR *d = opendir(dir);
    int found = -1;
    *n_final = *n_writing = 0;
    if (!d) return -1;
    struct dirent *e;
    char best[512] = "";
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 8 && !strcmp(e->d_name + l - 8, ".writing")) (*n_writing)++;
        if (l > 5 && !strcmp(e->d_name + l - 5, ".hdf5")) {
            (*n_final)++;
            if (!best[0] || strcmp(e->d_name, best) < 0)
                snprintf(best, sizeof best, "%s", e->d_name);
            found = 0;
        }
    }
    closedir(d);
    if (!found) snprintf(out, len, "%s/%s", dir, best);
    return found;
}

static inline void print_log(const char *logfile)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "tail -n 40 %s >&2", logfile);
    if (system(cmd) != 0) fprintf(stderr, "(no log %s)\n", logfile);
}

/* The short simulated run of the end-to-end tests: 4 one-board cells, three injection times
 * (the last on two cells at once), fast as possible, 130 ms of data. */
#define TRIGD_TEST_RUN_CONF                                                                        \
    "cells = ( { id = 0; }, { id = 1; }, { id = 2; }, { id = 3; } );\n"                            \
    "sim = { seed = 7; realtime_factor = 0.0; high_energy_rate_hz = 0.0;\n"                        \
    "        inject = ( { cell = 0; time_ms = 20.0; energy_mev = 2000.0; },\n"                     \
    "                   { cell = 2; time_ms = 60.0; energy_mev = 2000.0; },\n"                     \
    "                   { cell = 1; time_ms = 100.0; energy_mev = 2000.0; },\n"                    \
    "                   { cell = 3; time_ms = 100.0; energy_mev = 2000.0; } ); };\n"               \
    "trigger = { cell_timeout_ms = 20000; }; /* the default trigger, default backgrounds */\n"     \
    "duration_s = 0.13;\n"

#endif

#ifndef TEST_TRIGD_UTIL_H2
#define TEST_TRIGD_UTIL_H2
/* 1 once `needle` appears in the file (polling up to timeout_s). */
static inline int wait_for_log(const char *file, const char *needle, double timeout_s)
{
    for (double t = 0; t < timeout_s; t += 0.05) {
        FILE *f = fopen(file, "r");
        if (f) {
            char line[2048];
            while (fgets(line, sizeof line, f))
                if (strstr(line, needle)) {
                    fclose(f);
                    return 1;
                }
            fclose(f);
        }
        usleep(50000);
    }
    return 0;
}

/* The configuration of the split-run tests (a module and cell processes over real sockets):
 * n_cells one-board simulated cells paced at 0.02 x real time from the wall clock (so a process
 * that starts later joins at the same data time), periodic triggers every 10 ms and no physics
 * trigger, a 600 ms cell timeout, readout waits short enough to see a cell go missing, no
 * operator sockets. `endpoint_extra` goes inside `endpoints = { ... }` (keys, insecure);
 * `single` inside `trigger.single = { ... }` (NULL: disabled). */
static inline void trigd_test_write_split_conf(const char *path, unsigned n_cells, unsigned seed,
                                               const char *cand_ep, const char *req_ep,
                                               const char *endpoint_extra, const char *out_dir,
                                               const char *single)
{
    char cells[512] = "", text[8192];
    for (unsigned i = 0; i < n_cells; i++) {
        size_t l = strlen(cells);
        snprintf(cells + l, sizeof cells - l, "%s{ id = %u; }", i ? ", " : "", i);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(text, sizeof text,
             "cells = ( %s );\n"
             "sim = { seed = %u; realtime_factor = 0.02; high_energy_rate_hz = 0.0;\n"
             "        epoch_unix_s = %.3f; };\n"
             "trigger = { cell_timeout_ms = 600; coincidence = { enabled = false; };\n"
             "            single = { %s };\n"
             "            periodic = { enabled = true; period_ms = 10.0; }; };\n"
             "readout = { data_wait_ms = 800; reply_timeout_ms = 1500; };\n"
             "endpoints = { candidates = \"%s\"; requests = \"%s\";%s};\n"
             "writer = { output_dir = \"%s\"; };\n"
             "monitor = { control_endpoint = \"off\"; status_endpoint = \"off\"; };\n",
             cells, seed, (double)now.tv_sec + now.tv_nsec * 1e-9,
             single ? single : "enabled = false;", cand_ep, req_ep, endpoint_extra, out_dir);
    write_file(path, text);
}

/* "tcp://127.0.0.1:<port>" in static storage, one of 4 rotating buffers. */
static inline const char *trigd_test_tcp(int port)
{
    static char ep[4][64];
    static unsigned k;
    char *e = ep[k++ % 4];
    snprintf(e, sizeof ep[0], "tcp://127.0.0.1:%d", port);
    return e;
}

/* The highest trigger number the module has logged so far ("trigger N at ..."). */
static inline unsigned long long last_trigger(const char *log)
{
    FILE *f = fopen(log, "r");
    unsigned long long last = 0, n;
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "info: trigger ");
        if (p && sscanf(p, "info: trigger %llu at", &n) == 1 && n > last) last = n;
    }
    if (f) fclose(f);
    return last;
}

/* The end of a split run whose cells 2 and 3 went away and came back: wait until both rejoined
 * and three more decisions were made, then stop the cell processes (they keep serving data
 * requests while the module drains) and the module. Exit codes go to *sm, *sa, *sb; the logs
 * are printed when anything went wrong. Returns ok and whether every wait succeeded. */
static inline int trigd_rejoin_then_stop(int ok, const char *log_m, const char *log_a,
                                         const char *log_b, pid_t pm, pid_t pa, pid_t pb, int *sm,
                                         int *sa, int *sb)
{
    ok = ok && wait_for_log(log_m, "cell 2 rejoined", 20) &&
         wait_for_log(log_m, "cell 3 rejoined", 20);
    /* Wait for decisions, not a fixed time, so a slow (sanitizer, loaded) machine gets them. */
    char next[64];
    snprintf(next, sizeof next, "trigger %llu ", last_trigger(log_m) + 3);
    ok = ok && wait_for_log(log_m, next, 60);
    kill(pa, SIGTERM);
    kill(pb, SIGTERM);
    ok = ok && wait_for_log(log_a, "serving data requests", 20) &&
         wait_for_log(log_b, "serving data requests", 20);
    kill(pm, SIGTERM);
    *sm = trigd_wait(pm, 60);
    *sa = trigd_wait(pa, 30);
    *sb = trigd_wait(pb, 30);
    if (!ok || *sm || *sa || *sb) {
        print_log(log_m);
        print_log(log_a);
        print_log(log_b);
    }
    return ok;
}

/* main() of an end-to-end test: its Check tests (NULL-terminated) run in one scratch directory
 * /tmp/test_<name>.XXXXXX, made into `dir`, removed when all pass and kept for inspection when
 * one fails. */
static inline int trigd_e2e_main(char *dir, size_t dirlen, const char *name, int timeout_s,
                                 const TTest *const *tests)
{
    snprintf(dir, dirlen, "/tmp/test_%s.XXXXXX", name);
    if (!mkdtemp(dir)) return EXIT_FAILURE;
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, timeout_s);
    for (; *tests; tests++) tcase_add_test(tc, *tests);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (!failed) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    } else {
        fprintf(stderr, "kept %s for inspection; the end of its logs:\n", dir);
        /* CI keeps only this output: show why, not only where. */
        char cmd[600];
        snprintf(cmd, sizeof cmd,
                 "for f in %s/*.log; do [ -f \"$f\" ] && echo \"== $f\" && tail -n 25 \"$f\"; "
                 "done >&2",
                 dir);
        if (system(cmd) != 0) fprintf(stderr, "(no logs)\n");
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* A loopback port for this test run (different per process and per call), free when chosen.
 * Ports come from 10000-31999, below Linux's default ephemeral range (32768-60999): a port in
 * that range can be taken at any moment as the local end of some other process's outgoing
 * connection, and trigd's bind then fails (CI saw this once: the module never started). The
 * port is probed with a bind without SO_REUSEADDR (so even a TIME_WAIT use counts as taken);
 * another process can still take it before trigd binds, but no longer by chance. */
#include <netinet/in.h>
#include <sys/socket.h>
static inline int test_port(int k)
{
    int port = 10000 + (int)((getpid() * 7 + k * 13) % 22000);
    for (int tries = 0; tries < 200; tries++, port = 10000 + (port - 10000 + 97) % 22000) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) break;
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int free_now = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
        if (free_now) return port;
    }
    return port;
}
#endif

#ifndef TEST_TRIGD_UTIL_CURVE
#define TEST_TRIGD_UTIL_CURVE
#include <zmq.h>
/* CURVE keys for the data sockets of a test run (docs/security.md): a module key pair and one
 * per cell 0..n_cells-1 in dir, the allow-list binding each cell key to its cell. Returns the
 * fields to put inside the config's `endpoints = { ... }` (static storage). */
static inline const char *trigd_test_curve(const char *dir, unsigned n_cells)
{
    static char fields[2048];
    char path[600], pub[41], sec[41], list[8192] = "";
    size_t used = 0;
    if (zmq_curve_keypair(pub, sec) != 0) return "";
    snprintf(path, sizeof path, "%s/module.key", dir);
    write_file(path, sec);
    snprintf(path, sizeof path, "%s/module.pub", dir);
    write_file(path, pub);
    for (unsigned i = 0; i < n_cells; i++) {
        if (zmq_curve_keypair(pub, sec) != 0) return "";
        snprintf(path, sizeof path, "%s/cell-%u.key", dir, i);
        write_file(path, sec);
        used += (size_t)snprintf(list + used, sizeof list - used, "%s %u\n", pub, i);
    }
    snprintf(path, sizeof path, "%s/cells.list", dir);
    write_file(path, list);
    snprintf(fields, sizeof fields,
             " curve_module_secret_key_file = \"%s/module.key\";"
             " curve_module_public_key_file = \"%s/module.pub\";"
             " curve_cell_secret_key_files = \"%s/cell-{id}.key\";"
             " curve_cell_keys_file = \"%s/cells.list\"; ",
             dir, dir, dir, dir);
    return fields;
}
#endif
