/* trigd end to end, all in one process: a short simulated run with injected high-energy events.
 * Checks that each injection produces a trigger at its time (and nothing else triggers), that
 * every record holds the 2.25 ms window from every stream of every cell without error bits, and
 * that the bytes in the record are exactly the frames the simulator produces for the same seed
 * (regenerated here). Real sockets (inproc), real kernel, real HDF5 file through the writer. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "config.h"
#include "h5raw.h"
#include "record_builder.h"
#include "sim.h"
#include "source.h"
#include "test_trigd_util.h"
#include "ticks.h"

#define N_CELLS 4
#define MAX_REC 8

static char dir[256];

struct frag {
    uint8_t *buf; /* header + frames */
    uint64_t n_frames;
    const lt_wibeth_frame *frames;
};

struct rec {
    struct lt_trigger_record_header trh;
    struct trigd_decision dec;
    struct frag f[N_CELLS][2];
};

static struct rec recs[MAX_REC];
static size_t n_recs;

static void load_records(const char *path)
{
    struct lt_h5r *r;
    char err[512];
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    n_recs = lt_h5r_record_count(r);
    ck_assert_uint_le(n_recs, MAX_REC);
    for (size_t i = 0; i < n_recs; i++) {
        struct rec *rc = &recs[i];
        struct lt_component_request req[N_CELLS * 2 + 1];
        size_t n_req;
        ck_assert_msg(
            lt_h5r_read_trh(r, i, &rc->trh, req, N_CELLS * 2 + 1, &n_req, err, sizeof err) == 0,
            "%s", err);
        ck_assert_uint_eq(n_req, N_CELLS * 2 + 1);
        for (uint32_t c = 0; c < N_CELLS; c++)
            for (uint32_t s = 0; s < 2; s++) {
                struct lt_source_id sid = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT,
                                           lt_stream_source_id(c, s)};
                char name[LT_H5_NAME_MAX];
                ck_assert_int_gt(
                    lt_h5_fragment_dataset_name(&sid, LT_FRAGTYPE_WIBETH, name, sizeof name), 0);
                struct lt_fragment_header h;
                size_t plen;
                struct frag *f = &rc->f[c][s];
                ck_assert_msg(lt_h5r_read_fragment_alloc(r, i, name, &h, &f->buf, &plen, 0, err,
                                                         sizeof err) == 0,
                              "%s", err);
                ck_assert_uint_eq(h.error_bits, 0);
                ck_assert_uint_eq(h.trigger_number, rc->trh.trigger_number);
                ck_assert_uint_eq(h.window_end - h.window_begin, LT_DRIFT_WINDOW_TICKS);
                ck_assert_uint_eq(plen % sizeof(lt_wibeth_frame), 0);
                f->n_frames = plen / sizeof(lt_wibeth_frame);
                f->frames = (const lt_wibeth_frame *)(f->buf + LT_FRAGMENT_HEADER_SIZE);
                /* Every frame that overlaps the window, and only those, in order. */
                struct lt_daqeth_header d0, dn;
                lt_daqeth_decode(&f->frames[0], &d0);
                lt_daqeth_decode(&f->frames[f->n_frames - 1], &dn);
                ck_assert_uint_le(d0.timestamp, h.window_begin);
                ck_assert_uint_gt(d0.timestamp + LT_TICKS_PER_FRAME, h.window_begin);
                ck_assert_uint_lt(dn.timestamp, h.window_end);
                ck_assert_uint_ge(dn.timestamp + LT_TICKS_PER_FRAME, h.window_end);
                ck_assert_uint_eq(dn.timestamp - d0.timestamp,
                                  (f->n_frames - 1) * LT_TICKS_PER_FRAME);
                ck_assert_uint_eq(d0.crate, c);
                ck_assert_uint_eq(d0.stream, s);
            }
        /* The trigger's own fragment: the decision and its candidates. */
        struct lt_source_id tsid = {LT_SOURCE_ID_VERSION, LT_SUBSYS_TRIGGER, 0};
        char name[LT_H5_NAME_MAX];
        lt_h5_fragment_dataset_name(&tsid, LT_FRAGTYPE_TRIGGER_CANDIDATE, name, sizeof name);
        uint8_t *buf;
        struct lt_fragment_header h;
        size_t plen;
        ck_assert_msg(lt_h5r_read_fragment_alloc(r, i, name, &h, &buf, &plen, 0, err, sizeof err) ==
                          0,
                      "%s", err);
        ck_assert_int_eq(trigd_tc_decode(&h, buf + LT_FRAGMENT_HEADER_SIZE, plen, &rc->dec), 0);
        free(buf);
        ck_assert_uint_eq(rc->dec.trigger_number, rc->trh.trigger_number);
        ck_assert_uint_eq(rc->dec.time, rc->trh.trigger_timestamp);
    }
    lt_h5r_close(r);
}

START_TEST(test_allinone_run)
{
    char conf[512], log[512], outdir_line[600], text[4096];
    snprintf(conf, sizeof conf, "%s/trigd.conf", dir);
    snprintf(log, sizeof log, "%s/trigd.log", dir);
    snprintf(outdir_line, sizeof outdir_line, "writer = { output_dir = \"%s\"; };\n", dir);
    snprintf(text, sizeof text, "%s%s", TRIGD_TEST_RUN_CONF, outdir_line);
    write_file(conf, text);

    const char *args[] = {"-c", conf, "--status-interval", "0", NULL};
    pid_t pid = trigd_spawn(log, args);
    int st = trigd_wait(pid, 100);
    if (st != 0) print_log(log);
    ck_assert_int_eq(st, 0);

    char path[600];
    int n_final, n_writing;
    ck_assert_int_eq(find_hdf5(dir, path, sizeof path, &n_final, &n_writing), 0);
    ck_assert_int_eq(n_final, 1);
    ck_assert_int_eq(n_writing, 0);
    load_records(path);

    struct trigd_config cfg;
    char err[512];
    ck_assert_msg(trigd_config_load(conf, &cfg, err, sizeof err) == 0, "%s", err);
    /* Three injection times -> three triggers, each at its event, numbered from 1. */
    const double inj_ms[3] = {20.0, 60.0, 100.0};
    const uint32_t inj_cells[3] = {1U << 0, 1U << 2, (1U << 1) | (1U << 3)};
    ck_assert_uint_eq(n_recs, 3);
    uint64_t t0 = lt_seconds_to_ticks(cfg.sim.start_s);
    for (size_t i = 0; i < n_recs; i++) {
        const struct rec *rc = &recs[i];
        uint64_t t_inj = t0 + lt_seconds_to_ticks(inj_ms[i] * 1e-3);
        ck_assert_uint_eq(rc->trh.trigger_number, i + 1);
        ck_assert_msg(rc->trh.trigger_timestamp + lt_seconds_to_ticks(100e-6) >= t_inj &&
                          rc->trh.trigger_timestamp <= t_inj + LT_DRIFT_WINDOW_TICKS,
                      "trigger %zu at %llu, event at %llu", i + 1,
                      (unsigned long long)rc->trh.trigger_timestamp, (unsigned long long)t_inj);
        ck_assert(rc->dec.algorithms & (1U << LT_ALGO_SINGLE));
        uint32_t cells = 0;
        for (uint32_t k = 0; k < rc->dec.n_candidates; k++)
            cells |= 1U << rc->dec.candidates[k].cell;
        ck_assert_msg((cells & inj_cells[i]) == inj_cells[i], "record %zu cells 0x%x", i, cells);
    }
    /* Two cells hit at once: the coincidence fires too and joins the single-candidate trigger. */
    ck_assert(recs[2].dec.algorithms & (1U << LT_ALGO_COINCIDENCE));

    /* Regenerate every cell from the same configuration and compare byte for byte. */
    uint64_t start = trigd_sim_start_ticks(&cfg.sim);
    uint64_t end = 0;
    for (size_t i = 0; i < n_recs; i++)
        if (recs[i].trh.trigger_timestamp + cfg.readout.post_ticks > end)
            end = recs[i].trh.trigger_timestamp + cfg.readout.post_ticks;
    uint64_t compared = 0, expected = 0;
    for (size_t i = 0; i < n_recs; i++)
        for (int c = 0; c < N_CELLS; c++)
            for (int s = 0; s < 2; s++) expected += recs[i].f[c][s].n_frames;
    for (uint32_t c = 0; c < N_CELLS; c++) {
        struct lt_sim_config sc;
        struct trigd_source_config src = {&cfg.cells[c], &cfg.sim};
        trigd_sim_config_for_cell(&src, start, &sc);
        struct lt_sim_cell *sim;
        ck_assert_msg(lt_sim_cell_create(&sc, c, &sim, err, sizeof err) == 0, "%s", err);
        trigd_sim_inject_configured(&src, start, sim);
        uint16_t(*adc)[LT_SAMPLES_PER_FRAME] = calloc(lt_sim_cell_channels(sim), sizeof *adc);
        lt_wibeth_frame fr[2];
        for (;;) {
            uint64_t ts = lt_sim_cell_next_time(sim);
            if (ts >= end) break;
            lt_sim_cell_render(sim, adc);
            lt_sim_cell_pack(sim, (const uint16_t(*)[LT_SAMPLES_PER_FRAME])adc, fr);
            for (size_t i = 0; i < n_recs; i++) {
                for (int s = 0; s < 2; s++) {
                    const struct frag *f = &recs[i].f[c][s];
                    struct lt_daqeth_header d0;
                    lt_daqeth_decode(&f->frames[0], &d0);
                    if (ts < d0.timestamp) continue;
                    uint64_t k = (ts - d0.timestamp) / LT_TICKS_PER_FRAME;
                    if (k >= f->n_frames) continue;
                    ck_assert_msg(memcmp(&f->frames[k], &fr[s], sizeof fr[s]) == 0,
                                  "record %zu cell %u stream %d frame %llu differs from the "
                                  "simulation",
                                  i, c, s, (unsigned long long)k);
                    compared++;
                }
            }
        }
        free(adc);
        lt_sim_cell_destroy(sim);
    }
    ck_assert_uint_eq(compared, expected);
    for (size_t i = 0; i < n_recs; i++)
        for (int c = 0; c < N_CELLS; c++)
            for (int s = 0; s < 2; s++) free(recs[i].f[c][s].buf);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_allinone_run, NULL};
    return trigd_e2e_main(dir, sizeof dir, "trigd_allinone", 180, tests);
}
