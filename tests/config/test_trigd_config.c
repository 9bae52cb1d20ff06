/* trigd configuration: the embedded default is valid, every key lands where it should, unknown
 * keys and bad values are errors that name the file and the line, and `trigd --check-config`
 * reports the same through its exit status. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "lt_error.h"
#include "ticks.h"

static char tmpdir[256];

static const char *write_conf(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static struct trigd_config cfg;

START_TEST(test_embedded_default)
{
    char err[512] = "";
    ck_assert_int_eq(trigd_config_load(NULL, &cfg, err, sizeof err), 0);
    ck_assert_str_eq(cfg.source_name, "<embedded>");
    ck_assert_uint_eq(cfg.n_cells, 4);
    ck_assert_int_eq(cfg.role, TRIGD_ROLE_ALL);
    for (uint32_t i = 0; i < cfg.n_cells; i++) {
        ck_assert_uint_eq(cfg.cells[i].id, i);
        ck_assert_int_eq(cfg.cells[i].source, TRIGD_SOURCE_SIM);
    }
    /* The readout window is the full drift time by default. */
    ck_assert_uint_eq(cfg.readout.pre_ticks + cfg.readout.post_ticks, LT_DRIFT_WINDOW_TICKS);
    ck_assert(strncmp(cfg.endpoints.candidates, "inproc://", 9) == 0);
}
END_TEST

START_TEST(test_every_kind_of_key)
{
    const char *p = write_conf(
        "full.conf", "run_number = 42;\n"
                     "role = \"module\";\n"
                     "cells = ( { id = 7; source = \"udp\"; n_fembs = 20; udp_port = 5800; },\n"
                     "          { id = 3; source = \"file\"; file = \"run.hdf5\"; } );\n"
                     "endpoints = { candidates = \"tcp://127.0.0.1:6000\";\n"
                     "              requests = \"tcp://127.0.0.1:6001\";\n"
                     "              curve_module_secret_key_file = \"m.key\";\n"
                     "              curve_cell_keys_file = \"cells.list\";\n"
                     "              curve_cell_secret_key_files = \"k/cell-{id}.key\"; };\n"
                     "readout = { pre_us = 500; post_us = 1750.0; };\n"
                     "trigger = { coincidence = { min_cells = 3; window_us = 64.0; };\n"
                     "            periodic = { enabled = true; period_ms = 2.5; }; };\n"
                     "writer = { max_file_size_mb = 1.5; queue_depth = 3; };\n"
                     "sim = { seed = 12345678901L; realtime_factor = 0; };\n");
    char err[512] = "";
    ck_assert_msg(trigd_config_load(p, &cfg, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(cfg.run_number, 42);
    ck_assert_int_eq(cfg.role, TRIGD_ROLE_MODULE);
    ck_assert_uint_eq(cfg.n_cells, 2);
    ck_assert_uint_eq(cfg.cells[0].id, 7);
    ck_assert_int_eq(cfg.cells[0].source, TRIGD_SOURCE_UDP);
    ck_assert_uint_eq(cfg.cells[0].n_fembs, 20);
    ck_assert_uint_eq(cfg.cells[0].udp_port, 5800);
    ck_assert_int_eq(cfg.cells[1].source, TRIGD_SOURCE_FILE);
    ck_assert_str_eq(cfg.cells[1].file, "run.hdf5");
    ck_assert_int_eq(trigd_config_cell_index(&cfg, 3), 1);
    ck_assert_int_eq(trigd_config_cell_index(&cfg, 4), -1);
    ck_assert_uint_eq(cfg.readout.pre_ticks, 31250);
    ck_assert_uint_eq(cfg.readout.post_ticks, 109375);
    ck_assert_uint_eq(cfg.trigger.coincidence.min_cells, 3);
    ck_assert_uint_eq(cfg.trigger.coincidence.window_ticks, 4000);
    ck_assert_int_eq(cfg.trigger.periodic.enabled, 1);
    ck_assert_uint_eq(cfg.trigger.periodic.period_ticks, 156250);
    ck_assert_uint_eq(cfg.writer.max_file_size_bytes, 1572864);
    ck_assert_uint_eq(cfg.writer.queue_depth, 3);
    ck_assert_uint_eq(cfg.sim.seed, 12345678901ULL);
    ck_assert(cfg.sim.realtime_factor == 0.0);
    ck_assert(trigd_config_data_curve(&cfg));
    char key[64];
    ck_assert_int_eq(trigd_config_cell_key_file(&cfg, 7, key, sizeof key), 0);
    ck_assert_str_eq(key, "k/cell-7.key");
}
END_TEST

/* Each bad config must fail with "<path>:<line>: " and a word about what is wrong. */
static void expect_error(const char *text, int line, const char *needle)
{
    const char *p = write_conf("bad.conf", text);
    char err[512] = "";
    ck_assert_int_eq(trigd_config_load(p, &cfg, err, sizeof err), LT_EINVAL);
    char where[600];
    snprintf(where, sizeof where, "%s:%d: ", p, line);
    ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "error \"%s\" should start with \"%s\"",
                  err, where);
    ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" should mention \"%s\"", err, needle);
}

START_TEST(test_errors_name_file_and_line)
{
    const char *cells = "cells = ( { id = 0; } );\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s\ntrigger = {\n  singel = { enabled = true; };\n};\n", cells);
    expect_error(buf, 4, "trigger.singel");
    snprintf(buf, sizeof buf, "%srun_numbr = 3;\n", cells);
    expect_error(buf, 2, "run_numbr");
    snprintf(buf, sizeof buf, "%sreadout = { pre_us = \"long\"; };\n", cells);
    expect_error(buf, 2, "readout.pre_us");
    snprintf(buf, sizeof buf, "%s\n\nwriter = { queue_depth = 0; };\n", cells);
    expect_error(buf, 4, "out of range");
    snprintf(buf, sizeof buf, "%swriter = { queue_depth = 2.5; };\n", cells);
    expect_error(buf, 2, "integer");
    snprintf(buf, sizeof buf, "%skernel = { backend = \"gpu\"; };\n", cells);
    expect_error(buf, 2, "cpu|xrt");
    snprintf(buf, sizeof buf, "%srole = \"boss\";\n", cells);
    expect_error(buf, 2, "all|cell|module");
    expect_error("cells = (\n { id = 0; colour = 1; } );\n", 2, "cells[0].colour");
    expect_error("cells = ( { id = 1; },\n { id = 1; } );\n", 2, "used twice");
    expect_error("cells = ( { id = 0;\n source = \"file\"; } );\n", 1, "needs file");
    expect_error("cells = ( { id = 0; n_fembs = 21; } );\n", 1, "n_fembs");
    /* A syntax error is reported by libconfig with its own line. */
    expect_error("cells = ( { id = 0; } );\nreadout = { pre_us = ; };\n", 2, "syntax");
}
END_TEST

START_TEST(test_consistency)
{
    char err[512] = "";
    /* Split roles cannot use inproc endpoints. */
    const char *p = write_conf("role.conf", "role = \"cell\";\ncells = ( { id = 0; } );\n");
    ck_assert_int_eq(trigd_config_load(p, &cfg, err, sizeof err), LT_EINVAL);
    ck_assert(strstr(err, "inproc") != NULL);
    p = write_conf("ring.conf", "cells = ( { id = 0; } );\nbuffers = { latency_ms = 10; };\n"
                                "readout = { pre_us = 5000; post_us = 5000; };\n");
    ck_assert_int_eq(trigd_config_load(p, &cfg, err, sizeof err), LT_EINVAL);
    ck_assert(strstr(err, "latency_ms") != NULL);
    /* tcp data sockets: CURVE keys, or insecure said explicitly (issue 12). */
    p = write_conf("tcp.conf", "role = \"cell\";\ncells = ( { id = 0; } );\n"
                               "endpoints = { candidates = \"tcp://127.0.0.1:6000\";\n"
                               "  requests = \"tcp://127.0.0.1:6001\"; };\n");
    ck_assert_int_eq(trigd_config_load(p, &cfg, err, sizeof err), LT_EINVAL);
    ck_assert(strstr(err, "curve_module_public_key_file") != NULL);
    p = write_conf("tcp2.conf", "role = \"cell\";\ncells = ( { id = 0; } );\n"
                                "endpoints = { candidates = \"tcp://127.0.0.1:6000\";\n"
                                "  requests = \"tcp://127.0.0.1:6001\"; insecure = true; };\n");
    ck_assert_int_eq(trigd_config_load(p, &cfg, err, sizeof err), 0);
    ck_assert(!trigd_config_data_curve(&cfg) && trigd_config_data_tcp(&cfg));
    ck_assert_int_eq(trigd_config_load("/nonexistent/trigd.conf", &cfg, err, sizeof err), LT_EIO);
    ck_assert(strstr(err, "/nonexistent/trigd.conf") != NULL);
}
END_TEST

static int run_trigd(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/daemon/trigd %s >/dev/null 2>&1", LARTRIG_BINARY_DIR, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_check_config_cli)
{
    ck_assert_int_eq(run_trigd("--check-config"), 0);
    const char *good = write_conf("good.conf", "cells = ( { id = 0; } );\n");
    char args[600];
    snprintf(args, sizeof args, "--check-config -c %s", good);
    ck_assert_int_eq(run_trigd(args), 0);
    const char *bad = write_conf("bad2.conf", "cells = ( { id = 0; } );\nfoo = 1;\n");
    snprintf(args, sizeof args, "--check-config -c %s", bad);
    ck_assert_int_ne(run_trigd(args), 0);
}
END_TEST

/* docs/config.md, whole. */
static const char *read_config_doc(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/config.md", LARTRIG_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = 0;
    return doc;
}

/* Every key the parser accepts has a row in docs/config.md (as `leaf`, with its group as a
 * heading or in the row). */
START_TEST(test_every_key_documented)
{
    const char *doc = read_config_doc();
    const char *group;
    const char *key;
    size_t count = 0;
    for (size_t i = 0; (key = trigd_config_key(i, &group)) != NULL; i++, count++) {
        /* Rows name a key relative to its section: "trigger.single.min_score" is documented as
         * `single.min_score` under `trigger`, a top-level key as itself. */
        const char *rel = strchr(key, '.') ? strchr(key, '.') + 1 : key;
        char want[128], want_full[128];
        snprintf(want, sizeof want, "| `%s` |", rel);
        snprintf(want_full, sizeof want_full, "| `%s` |", key);
        ck_assert_msg(strstr(doc, want) || strstr(doc, want_full),
                      "key %s%s%s has no row in docs/config.md", group, group[0] ? "." : "", key);
    }
    ck_assert_uint_gt(count, 60);
}
END_TEST

/* trigd --print-default-config prints every key at its default: read back, it is the embedded
 * configuration, so each default in the key table is a valid value and means what it says. */
START_TEST(test_printed_default_is_the_default)
{
    const char *p = write_conf("printed.conf", "");
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    trigd_config_print_default(f);
    fclose(f);
    static struct trigd_config printed, embedded;
    char err[512] = "";
    ck_assert_msg(trigd_config_load(p, &printed, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(trigd_config_load(NULL, &embedded, err, sizeof err), 0);
    memcpy(printed.source_name, embedded.source_name, sizeof printed.source_name);
    ck_assert(memcmp(&printed, &embedded, sizeof printed) == 0);
    /* and the defaults are the documented ones (spot checks through the parsed values) */
    ck_assert_uint_eq(embedded.trigger.watermark_slack_ticks, lt_seconds_to_ticks(2500e-6));
    ck_assert_uint_eq(embedded.writer.max_file_size_bytes, 4ULL << 30);
    ck_assert_int_eq(embedded.buffers.mlock, 1);
    ck_assert_str_eq(embedded.writer.backend, "uring");
    ck_assert_int_eq(embedded.cells[2].source, TRIGD_SOURCE_SIM);
    ck_assert_str_eq(embedded.cells[2].udp_bind, "127.0.0.1");
}
END_TEST

/* The default column of docs/config.md says what the key table does. */
static void doc_cell_value(const char *cell, char *out, size_t len)
{
    while (*cell == ' ') cell++;
    size_t n = 0;
    for (const char *c = cell; *c && *c != '|' && n + 1 < len; c++)
        if (*c != '`' && *c != '"') out[n++] = *c;
    while (n && out[n - 1] == ' ') n--;
    out[n] = 0;
}

static int same_default(const char *doc, const char *def)
{
    if (!strcmp(doc, def)) return 1;
    char *e1, *e2;
    double a = strtod(doc, &e1), b = strtod(def, &e2);
    return e1 != doc && !*e1 && e2 != def && !*e2 && a == b;
}

START_TEST(test_documented_defaults)
{
    const char *doc = read_config_doc();
    const char *group, *key;
    size_t checked = 0;
    for (size_t i = 0; (key = trigd_config_key(i, &group)) != NULL; i++) {
        const char *def = trigd_config_key_default(i);
        if (!def) continue;
        /* The row under its section: "## `writer`" for writer.*, "## `cells" for a cell's keys,
         * "`sim.inject" for an injected event's. */
        const char *from = doc;
        char head[128], row[128];
        const char *dot = strchr(key, '.');
        if (group[0]) {
            snprintf(head, sizeof head, "%s",
                     !strcmp(group, "cells") ? "## `cells" : "`sim.inject");
        } else if (dot) {
            snprintf(head, sizeof head, "## `%.*s`", (int)(dot - key), key);
        } else {
            head[0] = 0;
        }
        if (head[0]) {
            from = strstr(doc, head);
            ck_assert_msg(from != NULL, "docs/config.md has no section %s", head);
        }
        snprintf(row, sizeof row, "| `%s` |", dot ? dot + 1 : key);
        const char *r = strstr(from, row);
        ck_assert_msg(r != NULL, "no row for %s", key);
        /* | `key` | type | default | meaning | */
        const char *c = strchr(r + 1, '|');
        c = c ? strchr(c + 1, '|') : NULL;
        ck_assert_msg(c != NULL, "row of %s has no default column", key);
        char got[128];
        doc_cell_value(c + 1, got, sizeof got);
        ck_assert_msg(same_default(got, def),
                      "%s%s%s: docs/config.md says default \"%s\", the key table %s", group,
                      group[0] ? "." : "", key, got, def);
        checked++;
    }
    ck_assert_uint_gt(checked, 60);
}
END_TEST

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_trigd_config.XXXXXX");
    if (!mkdtemp(tmpdir)) return EXIT_FAILURE;
    Suite *s = suite_create("trigd_config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_embedded_default);
    tcase_add_test(tc, test_every_kind_of_key);
    tcase_add_test(tc, test_errors_name_file_and_line);
    tcase_add_test(tc, test_consistency);
    tcase_add_test(tc, test_check_config_cli);
    tcase_add_test(tc, test_every_key_documented);
    tcase_add_test(tc, test_printed_default_is_the_default);
    tcase_add_test(tc, test_documented_defaults);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
