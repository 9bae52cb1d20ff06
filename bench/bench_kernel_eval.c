/* bench_kernel_eval: run the C kernel (accelerator interface, cpu backend) over a run file and
 * print its trigger candidates as JSON, for several score thresholds in one pass. The physics
 * report (tools/train/physics_report.py) matches them against the file's /Truth.
 *
 *   bench_kernel_eval -w kernels/weights/default.ltw [-t 100,200,400] [-g gap_w,gap_t]
 *                     [-i cpu_isa] run.h5 > candidates.json
 *
 * Every threshold gets its own accelerator instance, so the cells' kernel states are independent
 * and each sees the whole run exactly as trigd would. Candidates still open when the data ends
 * are not emitted (the interface has no flush); the report excludes truth near the end. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accel.h"
#include "chmap.h"
#include "daqfmt.h"
#include "h5raw.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "ticks.h"
#include "weights.h"

#define MAX_THRESHOLDS 32U
#define BLOCK_PERIODS  32U
#define MAX_CANDS      4096U

struct cell_run {
    uint32_t cell;
    uint32_t n_streams;
    int slot[MAX_THRESHOLDS];
    uint64_t first_tick, end_tick, periods;
    json_t *cands[MAX_THRESHOLDS];
};

struct eval {
    struct lt_accel *acc[MAX_THRESHOLDS];
    int32_t thr[MAX_THRESHOLDS];
    uint32_t n_thr;
    struct cell_run cells[LT_MAX_CELLS];
    uint32_t n_cells;
    struct lt_candidate cand[MAX_CANDS];
    uint64_t cand_dropped;
    double kernel_seconds;
};

static int parse_ints(const char *s, int32_t *out, uint32_t max, uint32_t *n)
{
    *n = 0;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < INT16_MIN || v > INT16_MAX || *n >= max) return -1;
        out[(*n)++] = (int32_t)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return *n ? 0 : -1;
}

static json_t *cand_json(const struct lt_candidate *c)
{
    return json_pack("{s:I,s:I,s:I,s:i,s:i,s:i,s:I,s:I}", "time_start", (json_int_t)c->time_start,
                     "time_end", (json_int_t)c->time_end, "time_peak", (json_int_t)c->time_peak,
                     "channel_start", c->channel_start, "channel_end", c->channel_end, "peak_score",
                     c->peak_score, "adc_sum", (json_int_t)c->adc_sum, "n_pixels",
                     (json_int_t)c->n_pixels);
}

static struct cell_run *cell_get(struct eval *e, uint32_t cell, uint32_t n_streams, char *err,
                                 size_t errlen)
{
    for (uint32_t i = 0; i < e->n_cells; i++)
        if (e->cells[i].cell == cell) return &e->cells[i];
    if (e->n_cells >= LT_MAX_CELLS || n_streams % 2 || n_streams == 0 ||
        n_streams > LT_STREAMS_PER_CELL) {
        lt_seterr(err, errlen, "cell %u: %u streams is not a whole number of boards", cell,
                  n_streams);
        return NULL;
    }
    struct cell_run *c = &e->cells[e->n_cells];
    memset(c, 0, sizeof *c);
    c->cell = cell;
    c->n_streams = n_streams;
    struct lt_cell_geom g = {.n_fembs = n_streams / 2};
    for (uint32_t t = 0; t < e->n_thr; t++) {
        c->slot[t] = lt_accel_add_cell(e->acc[t], cell, &g, err, errlen);
        if (c->slot[t] < 0) return NULL;
        c->cands[t] = json_array();
    }
    e->n_cells++;
    return c;
}

/* Feed one cell's frames of one record (frames[period * n_streams + stream]) to every
 * threshold's accelerator, block by block. */
static int feed(struct eval *e, struct cell_run *c, const lt_wibeth_frame *frames,
                uint64_t n_periods, char *err, size_t errlen)
{
    for (uint64_t p = 0; p < n_periods; p += BLOCK_PERIODS) {
        uint32_t n = (uint32_t)(n_periods - p < BLOCK_PERIODS ? n_periods - p : BLOCK_PERIODS);
        const lt_wibeth_frame *blk = frames + p * c->n_streams;
        for (uint32_t t = 0; t < e->n_thr; t++) {
            double t0 = lt_mono_s();
            int rc = lt_accel_submit(e->acc[t], c->slot[t], blk, n);
            if (rc < 0) {
                lt_seterr(err, errlen, "cell %u: submit failed (%d)", c->cell, rc);
                return rc;
            }
            struct lt_accel_result res;
            uint32_t dropped = 0;
            rc = lt_accel_collect(e->acc[t], c->slot[t], e->cand, MAX_CANDS, &res, &dropped);
            e->kernel_seconds += lt_mono_s() - t0;
            if (rc < 0) {
                lt_seterr(err, errlen, "cell %u: collect failed (%d)", c->cell, rc);
                return rc;
            }
            e->cand_dropped += dropped;
            for (uint32_t k = 0; k < res.n_candidates && k < MAX_CANDS; k++)
                json_array_append_new(c->cands[t], cand_json(&e->cand[k]));
        }
    }
    c->periods += n_periods;
    return 0;
}

/* One record: group its WIBEth fragments by cell, check that every stream of a cell carries the
 * same periods, interleave them period-major and feed them. */
static int do_record(struct eval *e, struct lt_h5r *r, size_t rec, char *err, size_t errlen)
{
    struct lt_h5_dataset_info *ds = NULL;
    size_t n_ds = 0;
    int rc = lt_h5r_list_wibeth(r, rec, LT_H5_ALL_CELLS, &ds, &n_ds, err, errlen);
    if (rc < 0) return rc;
    /* cells present in this record, with their stream counts */
    uint32_t cells[LT_MAX_CELLS], nstreams[LT_MAX_CELLS], n_cells = 0;
    for (size_t i = 0; i < n_ds; i++) {
        uint32_t cell = ds[i].cell; /* from the frames (lt_h5r_list_wibeth) */
        uint32_t s = ds[i].stream;
        uint32_t k = 0;
        while (k < n_cells && cells[k] != cell) k++;
        if (k == n_cells) {
            if (n_cells == LT_MAX_CELLS) continue;
            cells[k] = cell;
            nstreams[k] = 0;
            n_cells++;
        }
        if (s + 1 > nstreams[k]) nstreams[k] = s + 1;
    }
    for (uint32_t k = 0; k < n_cells && rc == 0; k++) {
        struct cell_run *c = cell_get(e, cells[k], nstreams[k], err, errlen);
        if (!c) {
            rc = LT_EFORMAT;
            break;
        }
        lt_wibeth_frame *frames = NULL;
        uint64_t n_periods = 0;
        for (uint32_t s = 0; s < c->n_streams && rc == 0; s++) {
            /* The dataset of this cell's stream s, whatever its SourceID number. */
            const char *name = NULL;
            for (size_t j = 0; j < n_ds && !name; j++)
                if (ds[j].cell == c->cell && ds[j].stream == s) name = ds[j].name;
            if (!name) {
                lt_seterr(err, errlen, "%s: cell %u stream %u missing", lt_h5r_record(r, rec)->name,
                          c->cell, s);
                rc = LT_EFORMAT;
                break;
            }
            struct lt_fragment_header h;
            uint8_t *buf = NULL;
            size_t plen = 0;
            rc = lt_h5r_read_fragment_alloc(r, rec, name, &h, &buf, &plen, 0, err, errlen);
            if (rc < 0) break;
            rc = 0;
            uint64_t np = plen / LT_WIBETH_FRAME_SIZE;
            if (plen % LT_WIBETH_FRAME_SIZE || (s > 0 && np != n_periods)) {
                lt_seterr(err, errlen, "%s: %zu payload bytes: not %llu whole frames", name, plen,
                          (unsigned long long)n_periods);
                rc = LT_EFORMAT;
            } else {
                if (s == 0) {
                    n_periods = np;
                    frames = calloc(np * c->n_streams + 1, sizeof *frames);
                    if (!frames) rc = LT_ENOMEM;
                }
                for (uint64_t p = 0; rc == 0 && p < np; p++)
                    memcpy(&frames[p * c->n_streams + s],
                           buf + LT_FRAGMENT_HEADER_SIZE + p * LT_WIBETH_FRAME_SIZE,
                           LT_WIBETH_FRAME_SIZE);
            }
            free(buf);
        }
        if (rc == 0 && n_periods) {
            struct lt_daqeth_header h0, hl;
            lt_daqeth_decode(&frames[0], &h0);
            lt_daqeth_decode(&frames[(n_periods - 1) * c->n_streams], &hl);
            if (c->periods == 0) c->first_tick = h0.timestamp;
            c->end_tick = hl.timestamp + LT_TICKS_PER_FRAME;
            rc = feed(e, c, frames, n_periods, err, errlen);
        }
        free(frames);
    }
    free(ds);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_kernel_eval -w weights.ltw [-t thr1,thr2,...] [-g gap_w,gap_t] "
                    "[-i cpu_isa] run.h5\n");
}

int main(int argc, char **argv)
{
    const char *wpath = NULL, *isa = NULL, *thr_arg = NULL, *gap_arg = "1,2";
    int opt;
    while ((opt = getopt(argc, argv, "w:t:g:i:h")) != -1) {
        switch (opt) {
        case 'w':
            wpath = optarg;
            break;
        case 't':
            thr_arg = optarg;
            break;
        case 'g':
            gap_arg = optarg;
            break;
        case 'i':
            isa = optarg;
            break;
        default:
            usage();
            return opt == 'h' ? 0 : 2;
        }
    }
    if (!wpath || optind != argc - 1) {
        usage();
        return 2;
    }
    const char *run = argv[optind];
    char err[512];
    static struct eval e; /* large: keep it off the stack */
    struct lt_weights *w = malloc(sizeof *w);
    if (!w || lt_weights_load(wpath, w, err, sizeof err) < 0) {
        fprintf(stderr, "bench_kernel_eval: %s\n", w ? err : "out of memory");
        return 1;
    }
    int32_t gaps[2];
    uint32_t ng = 0;
    if (parse_ints(gap_arg, gaps, 2, &ng) < 0 || ng != 2 || gaps[0] < 0 || gaps[1] < 0) {
        fprintf(stderr, "bench_kernel_eval: -g wants gap_w,gap_t\n");
        return 2;
    }
    if (!thr_arg) {
        e.thr[0] = w->net.threshold;
        e.n_thr = 1;
    } else if (parse_ints(thr_arg, e.thr, MAX_THRESHOLDS, &e.n_thr) < 0) {
        fprintf(stderr, "bench_kernel_eval: -t wants up to %u int16 thresholds\n", MAX_THRESHOLDS);
        return 2;
    }
    int rc = 0;
    for (uint32_t t = 0; t < e.n_thr && rc == 0; t++) {
        struct lt_accel_config cfg = {.backend = "cpu",
                                      .threads = 1,
                                      .max_cells = 64,
                                      .max_block_periods = BLOCK_PERIODS,
                                      .cpu_isa = isa};
        rc = lt_accel_open(&cfg, &e.acc[t], err, sizeof err);
        if (rc == 0) rc = lt_accel_load_weights(e.acc[t], w, err, sizeof err);
        if (rc == 0)
            rc = lt_accel_set_candidate_params(e.acc[t], e.thr[t], (uint32_t)gaps[0],
                                               (uint32_t)gaps[1], err, sizeof err);
    }
    struct lt_h5r *r = NULL;
    if (rc == 0) rc = lt_h5r_open(&r, run, err, sizeof err);
    double t0 = lt_mono_s();
    for (size_t i = 0; rc == 0 && r && i < lt_h5r_record_count(r); i++)
        rc = do_record(&e, r, i, err, sizeof err);
    double wall = lt_mono_s() - t0;
    if (rc < 0) {
        fprintf(stderr, "bench_kernel_eval: %s: %s\n", run, err);
    } else {
        json_t *out =
            json_pack("{s:s,s:s,s:I,s:i,s:i,s:f,s:f,s:I}", "file", run, "weights", w->name,
                      "weights_crc", (json_int_t)w->crc, "gap_w", gaps[0], "gap_t", gaps[1],
                      "kernel_seconds", e.kernel_seconds, "wall_seconds", wall,
                      "candidates_dropped", (json_int_t)e.cand_dropped);
        json_t *runs = json_array();
        for (uint32_t t = 0; t < e.n_thr; t++) {
            json_t *cells = json_array();
            for (uint32_t i = 0; i < e.n_cells; i++) {
                struct cell_run *c = &e.cells[i];
                json_array_append_new(
                    cells, json_pack("{s:i,s:i,s:I,s:I,s:I,s:O}", "cell", c->cell, "n_fembs",
                                     c->n_streams / 2, "first_tick", (json_int_t)c->first_tick,
                                     "end_tick", (json_int_t)c->end_tick, "periods",
                                     (json_int_t)c->periods, "candidates", c->cands[t]));
            }
            json_array_append_new(runs,
                                  json_pack("{s:i,s:o}", "threshold", e.thr[t], "cells", cells));
        }
        json_object_set_new(out, "runs", runs);
        json_dumpf(out, stdout, JSON_INDENT(0) | JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(out);
    }
    for (uint32_t i = 0; i < e.n_cells; i++)
        for (uint32_t t = 0; t < e.n_thr; t++) json_decref(e.cells[i].cands[t]);
    if (r) lt_h5r_close(r);
    for (uint32_t t = 0; t < e.n_thr; t++)
        if (e.acc[t]) lt_accel_close(e.acc[t]);
    free(w);
    return rc < 0 ? 1 : 0;
}
