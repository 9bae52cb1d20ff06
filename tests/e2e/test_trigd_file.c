/* trigd replaying a run file: this test writes a small run file (TimeSlice records, one WIBEth
 * fragment per stream per slice, two one-board cells of simulated frames) with the project's
 * HDF5 writer, runs trigd with both cells on `source = "file"` until the file ends, and checks
 * that every record fragment holds exactly the frames of the file. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "h5raw.h"
#include "sim.h"
#include "test_trigd_util.h"
#include "ticks.h"

static char dir[256];

#define SLICES       6
#define SLICE_PERIOD 256 /* frame periods per slice: 6 x 256 x 32.768 us = 50 ms */
#define PERIODS      (SLICES * SLICE_PERIOD)

static lt_wibeth_frame data[2][PERIODS][2]; /* [cell][period][stream] */

static void write_run_file(const char *path, uint64_t start)
{
    for (uint32_t c = 0; c < 2; c++) {
        struct lt_sim_config sc;
        lt_sim_config_default(&sc);
        sc.seed = 21;
        sc.n_fembs = 1;
        sc.start_ticks = start;
        struct lt_sim_cell *sim;
        char err[256];
        ck_assert_msg(lt_sim_cell_create(&sc, c, &sim, err, sizeof err) == 0, "%s", err);
        uint16_t(*adc)[LT_SAMPLES_PER_FRAME] = calloc(lt_sim_cell_channels(sim), sizeof *adc);
        for (int p = 0; p < PERIODS; p++) {
            lt_sim_cell_render(sim, adc);
            lt_sim_cell_pack(sim, (const uint16_t(*)[LT_SAMPLES_PER_FRAME])adc, data[c][p]);
        }
        free(adc);
        lt_sim_cell_destroy(sim);
    }
    struct lt_h5_file_attrs attrs = {.record_type = LT_H5_TIMESLICE, .run_number = 1};
    snprintf(attrs.application_name, sizeof attrs.application_name, "test_trigd_file");
    snprintf(attrs.operational_environment, sizeof attrs.operational_environment, "lartrig");
    snprintf(attrs.offline_data_stream, sizeof attrs.offline_data_stream, "sim");
    struct lt_h5w *w;
    char err[512];
    ck_assert_msg(lt_h5w_open(&w, path, &attrs, NULL, err, sizeof err) == 0, "%s", err);
    static lt_wibeth_frame payload[4][SLICE_PERIOD];
    for (uint64_t sl = 0; sl < SLICES; sl++) {
        struct lt_timeslice_header tsh = {
            .timeslice_number = sl + 1,
            .run_number = 1,
            .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_TR_BUILDER, 0}};
        struct lt_fragment_header hdr[4];
        struct lt_h5_fragment_in in[4];
        for (uint32_t c = 0; c < 2; c++)
            for (uint32_t s = 0; s < 2; s++) {
                uint32_t k = c * 2 + s;
                for (int p = 0; p < SLICE_PERIOD; p++)
                    payload[k][p] = data[c][sl * SLICE_PERIOD + (uint64_t)p][s];
                uint64_t b = start + sl * SLICE_PERIOD * LT_TICKS_PER_FRAME;
                hdr[k] = (struct lt_fragment_header){
                    .trigger_number = sl + 1,
                    .trigger_timestamp = b,
                    .window_begin = b,
                    .window_end = b + SLICE_PERIOD * LT_TICKS_PER_FRAME,
                    .run_number = 1,
                    .fragment_type = LT_FRAGTYPE_WIBETH,
                    .detector_id = LT_DETID_HD_TPC,
                    .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT, (c << 8) | s},
                };
                in[k] = (struct lt_h5_fragment_in){&hdr[k], payload[k], sizeof payload[k]};
            }
        ck_assert_msg(lt_h5w_write_timeslice(w, &tsh, in, 4, err, sizeof err) == 0, "%s", err);
    }
    ck_assert_msg(lt_h5w_close(w, err, sizeof err) == 0, "%s", err);
}

START_TEST(test_file_source)
{
    char conf[512], text[2048], log[512], run[512], out[512], path[600];
    const uint64_t start = 62500000; /* 1 s */
    snprintf(run, sizeof run, "%s/run.hdf5", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    mkdir(out, 0755);
    write_run_file(run, start);
    snprintf(conf, sizeof conf, "%s/trigd.conf", dir);
    snprintf(log, sizeof log, "%s/trigd.log", dir);
    snprintf(text, sizeof text,
             "cells = ( { id = 0; source = \"file\"; file = \"%s\"; },\n"
             "          { id = 1; source = \"file\"; file = \"%s\"; } );\n"
             "sim = { realtime_factor = 0.0; };\n"
             "trigger = { coincidence = { enabled = false; }; single = { enabled = false; };\n"
             "            periodic = { enabled = true; period_ms = 10.0; }; };\n"
             "writer = { output_dir = \"%s\"; };\n",
             run, run, out);
    write_file(conf, text);
    const char *args[] = {"-c", conf, "--status-interval", "0", NULL};
    int st = trigd_wait(trigd_spawn(log, args), 60);
    if (st) print_log(log);
    ck_assert_int_eq(st, 0);
    ck_assert(wait_for_log(log, "source reached the end of its data", 1));

    int nf, nw;
    ck_assert_int_eq(find_hdf5(out, path, sizeof path, &nf, &nw), 0);
    struct lt_h5r *r;
    char err[512];
    ck_assert_msg(lt_h5r_open(&r, path, err, sizeof err) == 0, "%s", err);
    size_t n = lt_h5r_record_count(r);
    ck_assert_uint_ge(n, 3);
    uint64_t compared = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t c = 0; c < 2; c++)
            for (uint32_t s = 0; s < 2; s++) {
                struct lt_source_id sid = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT,
                                           (c << 8) | s};
                char name[LT_H5_NAME_MAX];
                lt_h5_fragment_dataset_name(&sid, LT_FRAGTYPE_WIBETH, name, sizeof name);
                uint8_t *buf;
                struct lt_fragment_header fh;
                size_t plen;
                ck_assert_msg(lt_h5r_read_fragment_alloc(r, i, name, &fh, &buf, &plen, 0, err,
                                                         sizeof err) == 0,
                              "%s", err);
                ck_assert_int_eq(fh.error_bits & 1U, 0); /* never kDataNotFound */
                const lt_wibeth_frame *fr =
                    (const lt_wibeth_frame *)(buf + LT_FRAGMENT_HEADER_SIZE);
                for (size_t k = 0; k < plen / sizeof *fr; k++) {
                    struct lt_daqeth_header d;
                    lt_daqeth_decode(&fr[k], &d);
                    uint64_t p = (d.timestamp - start) / LT_TICKS_PER_FRAME;
                    ck_assert_uint_lt(p, PERIODS);
                    ck_assert(memcmp(&fr[k], &data[c][p][s], sizeof *fr) == 0);
                    compared++;
                }
                free(buf);
            }
    lt_h5r_close(r);
    ck_assert_uint_ge(compared, (n - 1) * 4 * 69);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {test_file_source, NULL};
    return trigd_e2e_main(dir, sizeof dir, "trigd_file", 120, tests);
}
