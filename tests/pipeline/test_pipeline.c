/* The pipeline object through its public header only (what trigctl sees): create / start /
 * drain / stop on a tiny simulated configuration, with real sockets, kernel and HDF5 writer; the
 * decision observer sees every decision the writer wrote; failures are clean errors. */
#include <pthread.h>
#include <sys/stat.h>

#include "../e2e/test_trigd_util.h" /* scratch-directory main, file helpers */
#include "lt_error.h"
#include "pipeline.h"
#include "ticks.h"
#include "trigger_candidate.h"

static char tmpdir[256];

static const char *write_conf(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    write_file(path, text);
    return path;
}

/* Two simulated cells, unpaced, 60 ms of data, a periodic trigger every 10 ms. */
static struct lt_pipeline_config *tiny_config(const char *outdir)
{
    char text[2048];
    snprintf(text, sizeof text,
             "duration_s = 0.06;\n"
             "cells = ( { id = 0; }, { id = 4; } );\n"
             "sim = { realtime_factor = 0.0; };\n"
             "endpoints = { candidates = \"inproc://test-pipeline-c\";\n"
             "              requests = \"inproc://test-pipeline-r\"; };\n"
             "trigger = { periodic = { enabled = true; period_ms = 10.0; }; };\n"
             "buffers = { mlock = false; };\n"
             "writer = { output_dir = \"%s\"; };\n"
             "monitor = { status_endpoint = \"off\"; control_endpoint = \"off\";\n"
             "            status_interval_s = 0; };\n",
             outdir);
    struct lt_pipeline_config *cfg = NULL;
    char err[1024] = "";
    ck_assert_msg(lt_pipeline_config_load(write_conf("tiny.conf", text), &cfg, err, sizeof err) ==
                      0,
                  "%s", err);
    return cfg;
}

/* tiny_config writing records to a new directory of the scratch directory, named into out. */
static struct lt_pipeline_config *tiny_config_in(const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", tmpdir, name);
    ck_assert_int_eq(mkdir(out, 0755), 0);
    return tiny_config(out);
}

struct seen {
    pthread_mutex_t lock;
    uint64_t n, last_number, bad_order, periodic, inhibited, no_candidates;
};

static void on_decision(void *user, const struct lt_pipeline_decision *d)
{
    struct seen *s = user;
    pthread_mutex_lock(&s->lock);
    if (d->trigger_number != s->last_number + 1 || d->window_begin > d->time ||
        d->window_end <= d->time)
        s->bad_order++;
    s->last_number = d->trigger_number;
    if (d->algorithms & (1U << LT_ALGO_PERIODIC)) s->periodic++;
    if (d->n_candidates && !d->candidates) s->no_candidates++;
    s->n++;
    pthread_mutex_unlock(&s->lock);
}

/* The inhibited-decision observer: trigger number 0, counted as the stats count them. */
static void on_inhibited(void *user, const struct lt_pipeline_decision *d)
{
    struct seen *s = user;
    pthread_mutex_lock(&s->lock);
    if (d->trigger_number != 0) s->bad_order++;
    if (d->n_candidates && !d->candidates) s->no_candidates++;
    s->inhibited++;
    pthread_mutex_unlock(&s->lock);
}

/* Records in dir: final files, and .writing ones left behind. */
static void count_records(const char *dir, int *final, int *writing)
{
    char first[2048];
    find_hdf5(dir, first, sizeof first, final, writing);
}

START_TEST(test_run_to_the_end)
{
    char out[512];
    struct lt_pipeline_config *cfg = tiny_config_in("run", out, sizeof out);
    struct seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct lt_pipeline_options opt = {
        .on_decision = on_decision, .on_inhibited = on_inhibited, .on_decision_user = &seen};
    struct lt_pipeline *p = NULL;
    char err[1024] = "";
    ck_assert_msg(lt_pipeline_create(cfg, &opt, &p, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(lt_pipeline_sources_done(p), 0); /* nothing runs before start */
    ck_assert_msg(lt_pipeline_start(p, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 1200 && !lt_pipeline_sources_done(p); i++) {
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(lt_pipeline_sources_done(p), "the sources did not reach duration_s");
    ck_assert_int_eq(lt_pipeline_drain(p), 0);
    ck_assert_uint_eq(lt_pipeline_linger_ms(p), 0); /* this process has the module */
    struct lt_pipeline_stats st;
    lt_pipeline_stats(p, &st);
    lt_pipeline_stop(p);
    lt_pipeline_config_free(cfg);

    ck_assert_uint_eq(st.cells, 2);
    /* 60 ms of data in frame periods, 2 streams in each of 2 cells */
    uint64_t want = (uint64_t)(0.06 * LT_CLOCK_HZ) / LT_TICKS_PER_FRAME * 4;
    ck_assert_uint_ge(st.frames, want * 9 / 10);
    /* A periodic trigger every 10 ms of 60: at least 4 whose windows the run holds. */
    ck_assert_uint_ge(st.decisions, 4);
    ck_assert_uint_eq(seen.n, st.decisions);
    ck_assert_uint_ge(seen.periodic, 4);
    ck_assert_uint_eq(seen.bad_order, 0);
    ck_assert_uint_eq(seen.inhibited, st.inhibited);
    ck_assert_uint_eq(seen.no_candidates, 0);
    ck_assert_uint_eq(st.records_built, st.decisions);
    ck_assert_uint_eq(st.records_written, st.decisions);
    ck_assert_uint_eq(st.records_failed, 0);
    int final, writing;
    count_records(out, &final, &writing);
    ck_assert_int_ge(final, 1);
    ck_assert_int_eq(writing, 0);
    pthread_mutex_destroy(&seen.lock);
}
END_TEST

/* Created, never started: stop frees everything (ASan checks) and writes nothing. */
START_TEST(test_stop_without_start)
{
    char out[512];
    struct lt_pipeline_config *cfg = tiny_config_in("idle", out, sizeof out);
    struct lt_pipeline *p = NULL;
    char err[1024] = "";
    ck_assert_msg(lt_pipeline_create(cfg, NULL, &p, err, sizeof err) == 0, "%s", err);
    struct lt_pipeline_stats st;
    lt_pipeline_stats(p, &st);
    ck_assert_uint_eq(st.frames, 0);
    ck_assert_uint_eq(st.decisions, 0);
    lt_pipeline_stop(p);
    lt_pipeline_stop(NULL);
    lt_pipeline_config_free(cfg);
    int final, writing;
    count_records(out, &final, &writing);
    ck_assert_int_eq(final + writing, 0);
}
END_TEST

/* A source that cannot open is an error naming it, and nothing is left running. */
START_TEST(test_create_fails_cleanly)
{
    char out[512];
    struct lt_pipeline_config *cfg = tiny_config_in("fail", out, sizeof out);
    struct lt_pipeline_file_cell cells[1] = {{3, 2}};
    char err[1024] = "";
    ck_assert_int_eq(lt_pipeline_config_use_run_file(cfg, "/nonexistent/run.hdf5", 7, cells, 1, 1.0,
                                                     out, err, sizeof err),
                     0);
    struct lt_pipeline *p = (struct lt_pipeline *)&err; /* overwritten with NULL on failure */
    ck_assert_int_ne(lt_pipeline_create(cfg, NULL, &p, err, sizeof err), 0);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, "/nonexistent/run.hdf5") != NULL, "%s", err);
    lt_pipeline_config_free(cfg);
}
END_TEST

/* A run file's cells must be whole front-end boards; the list cannot be empty. */
START_TEST(test_run_file_cells_checked)
{
    struct lt_pipeline_config *cfg = tiny_config(tmpdir);
    char err[1024] = "";
    struct lt_pipeline_file_cell odd[1] = {{0, 3}}, none[1] = {{0, 0}};
    ck_assert_int_eq(
        lt_pipeline_config_use_run_file(cfg, "r.h5", 1, odd, 1, 1.0, tmpdir, err, sizeof err),
        LT_EINVAL);
    ck_assert_int_eq(
        lt_pipeline_config_use_run_file(cfg, "r.h5", 1, none, 1, 1.0, tmpdir, err, sizeof err),
        LT_EINVAL);
    ck_assert_int_eq(
        lt_pipeline_config_use_run_file(cfg, "r.h5", 1, odd, 0, 1.0, tmpdir, err, sizeof err),
        LT_EINVAL);
    lt_pipeline_config_free(cfg);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_run_to_the_end, test_stop_without_start,
                                  test_create_fails_cleanly, test_run_file_cells_checked, NULL};
    return trigd_e2e_main(tmpdir, sizeof tmpdir, "pipeline", 120, tests);
}
