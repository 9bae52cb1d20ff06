/* trigctl show FILE [--record N | --from S --to S] [--cells LIST] [--planes X|UVX] -o evt.png
 * Event display of a trigger record or of a time window of a run file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "evdisplay.h"
#include "h5open.h"
#include "h5raw.h"
#include "lt_error.h"
#include "ticks.h"
#include "trigger_candidate.h"

#define MAX_WINDOW_SAMPLES 400000 /* ~0.2 s: bounds the memory of one display */

struct show_opts {
    const char *file, *out;
    long long record; /* -1: first */
    double from_s, to_s;
    int have_window;
    unsigned plane_mask;
    int cells[LT_EV_MAX_PANELS];
    int n_cells; /* 0: all */
    struct lt_ev_style style;
    int truth;
};

static void usage(void)
{
    fprintf(stderr,
            "usage: trigctl show FILE -o evt.png [--record N] [--from S --to S] [--cells 0,1]\n"
            "                    [--planes X|UV|UVX] [--zmax ADC] [--width PX] [--no-truth]\n"
            "  FILE: a trigger-record file (default: its first record) or a run file\n"
            "  --from/--to: run files only: seconds from the start of the run (default the\n"
            "               first 2.25 ms); trigger records show their readout window\n");
}

static int wanted_cell(const struct show_opts *o, uint32_t cell)
{
    if (o->n_cells == 0) return 1;
    for (int i = 0; i < o->n_cells; i++)
        if ((uint32_t)o->cells[i] == cell) return 1;
    return 0;
}

static int parse(int argc, char **argv, struct show_opts *o)
{
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'},
                                             {"record", required_argument, 0, 'r'},
                                             {"from", required_argument, 0, 'f'},
                                             {"to", required_argument, 0, 't'},
                                             {"cells", required_argument, 0, 'c'},
                                             {"planes", required_argument, 0, 'p'},
                                             {"zmax", required_argument, 0, 'z'},
                                             {"width", required_argument, 0, 'w'},
                                             {"no-truth", no_argument, 0, 'n'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->record = -1;
    o->plane_mask = 1u << LT_PLANE_X;
    o->style = (struct lt_ev_style){.width = 1400, .zmax_collection = 40, .zmax_induction = 20};
    o->truth = 1;
    int c, have_to = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:r:f:t:c:p:z:w:nh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->out = optarg;
            break;
        case 'r':
            o->record = atoll(optarg);
            break;
        case 'f':
            o->from_s = atof(optarg);
            o->have_window = 1;
            break;
        case 't':
            o->to_s = atof(optarg);
            have_to = 1;
            o->have_window = 1;
            break;
        case 'c': {
            char *save = NULL;
            for (char *tok = strtok_r(optarg, ",", &save); tok && o->n_cells < LT_EV_MAX_PANELS;
                 tok = strtok_r(NULL, ",", &save))
                o->cells[o->n_cells++] = atoi(tok);
            break;
        }
        case 'p':
            o->plane_mask = 0;
            for (const char *s = optarg; *s; s++) {
                if (*s == 'U' || *s == 'u')
                    o->plane_mask |= 1u << LT_PLANE_U;
                else if (*s == 'V' || *s == 'v')
                    o->plane_mask |= 1u << LT_PLANE_V;
                else if (*s == 'X' || *s == 'x')
                    o->plane_mask |= 1u << LT_PLANE_X;
                else {
                    fprintf(stderr, "trigctl show: --planes takes letters U, V and X\n");
                    return 2;
                }
            }
            break;
        case 'z':
            o->style.zmax_collection = (float)atof(optarg);
            o->style.zmax_induction = o->style.zmax_collection / 2;
            break;
        case 'w':
            o->style.width = atoi(optarg);
            break;
        case 'n':
            o->truth = 0;
            break;
        case 'h':
            usage();
            return 1;
        default:
            usage();
            return 2;
        }
    }
    if (optind + 1 != argc || !o->out) {
        usage();
        return 2;
    }
    o->file = argv[optind];
    if (o->have_window && !have_to) o->to_s = o->from_s + 0.00225;
    if (o->have_window && !(o->to_s > o->from_s)) {
        fprintf(stderr, "trigctl show: --to must be after --from\n");
        return 2;
    }
    if (o->style.zmax_collection <= 0) o->style.zmax_collection = 40;
    if (o->style.zmax_induction <= 0) o->style.zmax_induction = 20;
    return 0;
}

/* Cells present in a record's WIBEth fragments (lt_h5r_list_wibeth: cell and stream from the
 * frames and the GeoID map, so files of DUNE's DAQ show too), with their board count (from the
 * highest stream seen). */
struct cell_seen {
    uint32_t cell;
    uint32_t n_fembs;
};

static size_t collect_cells(const struct lt_h5_dataset_info *ds, size_t n, struct cell_seen *cells,
                            size_t max)
{
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cell = ds[i].cell, fembs = ds[i].stream / LT_STREAMS_PER_FEMB + 1;
        size_t k = 0;
        while (k < nc && cells[k].cell != cell) k++;
        if (k == nc) {
            if (nc == max) continue;
            cells[nc++] = (struct cell_seen){cell, 0};
        }
        if (fembs > cells[k].n_fembs) cells[k].n_fembs = fembs;
    }
    return nc;
}

/* Box every candidate of the record's TriggerCandidate fragment (the decision behind it). */
static int add_candidate_boxes(struct lt_h5r *r, size_t rec, const struct lt_h5_dataset_info *ds,
                               size_t n, struct lt_event *ev, char *err, size_t errlen)
{
    static struct lt_candidate cands[LT_TC_MAX_CANDIDATES];
    struct lt_tc_header d;
    for (size_t i = 0; i < n; i++) {
        if (ds[i].kind != LT_H5_DS_FRAGMENT || ds[i].fragment_type != LT_FRAGTYPE_TRIGGER_CANDIDATE)
            continue;
        struct lt_fragment_header h;
        uint8_t *buf = NULL;
        size_t len = 0;
        int rc = lt_h5r_read_fragment_alloc(r, rec, ds[i].name, &h, &buf, &len, 0, err, errlen);
        if (rc == 0 && lt_tc_decode(&h, buf + LT_FRAGMENT_HEADER_SIZE, len, &d, cands,
                                    LT_TC_MAX_CANDIDATES) != 0) {
            lt_seterr(err, errlen, "%s: %s: %s: not a TriggerCandidate payload", lt_h5r_path(r),
                      lt_h5r_record(r, rec)->name, ds[i].name);
            rc = LT_EFORMAT;
        }
        free(buf);
        if (rc) return rc;
        for (uint32_t c = 0; c < d.n_candidates && ev->n_boxes < LT_EV_MAX_BOXES; c++) {
            const struct lt_candidate *k = &cands[c];
            ev->boxes[ev->n_boxes++] = (struct lt_ev_box){
                k->cell, k->time_start, k->time_end, k->channel_start, k->channel_end, 0};
        }
    }
    return 0;
}

/* Add the WIBEth fragments of one record to the panels. */
static int fill_record(struct lt_h5r *r, size_t rec, struct lt_event *ev, char *err, size_t errlen)
{
    struct lt_h5_dataset_info *ds = NULL;
    size_t n = 0;
    int rc = lt_h5r_list_wibeth(r, rec, LT_H5_ALL_CELLS, &ds, &n, err, errlen);
    if (rc) return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint32_t cell = ds[i].cell;
        int have_panel = 0;
        for (size_t p = 0; p < ev->n_panels; p++) have_panel |= ev->panels[p].cell == cell;
        if (!have_panel) continue;
        struct lt_fragment_header h;
        uint8_t *buf = NULL;
        size_t payload_len = 0;
        rc = lt_h5r_read_fragment_alloc(r, rec, ds[i].name, &h, &buf, &payload_len, 0, err, errlen);
        if (rc == 0)
            lt_ev_fill_frames(ev, cell, ds[i].stream, buf + LT_FRAGMENT_HEADER_SIZE, payload_len);
        free(buf);
    }
    free(ds);
    return rc;
}

static int add_panels(struct lt_event *ev, const struct show_opts *o, const struct cell_seen *cells,
                      size_t nc, uint64_t t0, uint64_t t1)
{
    uint64_t n_samples = (t1 - t0) / LT_TICKS_PER_SAMPLE;
    if (n_samples == 0 || n_samples > MAX_WINDOW_SAMPLES) {
        fprintf(stderr, "trigctl show: window of %llu samples is empty or too long (max %d)\n",
                (unsigned long long)n_samples, MAX_WINDOW_SAMPLES);
        return LT_ERANGE;
    }
    for (size_t k = 0; k < nc; k++) {
        if (!wanted_cell(o, cells[k].cell)) continue;
        int rc = lt_ev_add_cell(ev, cells[k].cell, cells[k].n_fembs, o->plane_mask, t0,
                                (uint32_t)n_samples);
        if (rc) return rc;
    }
    if (ev->n_panels == 0) {
        fprintf(stderr, "trigctl show: none of the requested cells is in the file\n");
        return LT_ENOTFOUND;
    }
    return 0;
}

static void add_truth_boxes(struct lt_h5r *r, struct lt_event *ev, uint64_t t0, uint64_t t1)
{
    size_t n = 0;
    char err[256];
    if (lt_h5r_truth_count(r, &n, err, sizeof err) != 0 || n == 0) return;
    struct lt_truth row;
    for (size_t i = 0; i < n && ev->n_boxes < LT_EV_MAX_BOXES; i++) {
        if (lt_h5r_read_truth(r, i, &row, 1, err, sizeof err) != 0) return;
        if (!lt_truth_kind_is_signal(row.kind) || row.time_end < t0 || row.time >= t1) continue;
        ev->boxes[ev->n_boxes++] = (struct lt_ev_box){
            row.cell, row.time, row.time_end, row.channel_start, row.channel_end, 1};
    }
}

static int show_trigger_record(struct lt_h5r *r, const struct show_opts *o, struct lt_event *ev,
                               char *err, size_t errlen)
{
    size_t rec = 0;
    if (o->record >= 0 && lt_h5r_find_record(r, (uint64_t)o->record, 0, &rec) != 0) {
        lt_seterr(err, errlen, "%s: no trigger record %lld", lt_h5r_path(r), o->record);
        return LT_ENOTFOUND;
    }
    struct lt_trigger_record_header trh;
    struct lt_component_request req[256];
    size_t nreq = 0;
    int rc = lt_h5r_read_trh(r, rec, &trh, req, 256, &nreq, err, errlen);
    if (rc) return rc;
    uint64_t t0 = UINT64_MAX, t1 = 0;
    for (size_t i = 0; i < nreq; i++) {
        if (req[i].window_begin < t0) t0 = req[i].window_begin;
        if (req[i].window_end > t1) t1 = req[i].window_end;
    }
    if (nreq == 0) {
        t0 = trh.trigger_timestamp - LT_DRIFT_WINDOW_TICKS / 2;
        t1 = trh.trigger_timestamp + LT_DRIFT_WINDOW_TICKS / 2;
    }
    struct lt_h5_dataset_info *ds = NULL;
    size_t n = 0;
    rc = lt_h5r_list_datasets(r, rec, &ds, &n, err, errlen);
    if (rc) return rc;
    rc = add_candidate_boxes(r, rec, ds, n, ev, err, errlen);
    free(ds);
    if (rc) return rc;
    rc = lt_h5r_list_wibeth(r, rec, LT_H5_ALL_CELLS, &ds, &n, err, errlen);
    if (rc) return rc;
    struct cell_seen cells[LT_EV_MAX_PANELS];
    size_t nc = collect_cells(ds, n, cells, LT_EV_MAX_PANELS);
    free(ds);
    rc = add_panels(ev, o, cells, nc, t0, t1);
    if (rc) return rc;
    snprintf(ev->title, sizeof ev->title, "run %u  trigger %llu  t = %llu ticks", trh.run_number,
             (unsigned long long)trh.trigger_number, (unsigned long long)trh.trigger_timestamp);
    return fill_record(r, rec, ev, err, errlen);
}

/* Time window of a run-file slice: that of its first WIBEth fragment (all streams of a slice
 * share it). */
static int slice_window(struct lt_h5r *r, size_t rec, uint64_t *begin, uint64_t *end, char *err,
                        size_t errlen)
{
    struct lt_h5_dataset_info *ds = NULL;
    size_t n = 0;
    int rc = lt_h5r_list_wibeth(r, rec, LT_H5_ALL_CELLS, &ds, &n, err, errlen);
    if (rc) return rc;
    rc = LT_ENOTFOUND;
    for (size_t i = 0; i < n && rc == LT_ENOTFOUND; i++) {
        struct lt_fragment_header h;
        uint8_t *buf = NULL;
        size_t payload_len;
        rc = lt_h5r_read_fragment_alloc(r, rec, ds[i].name, &h, &buf, &payload_len, 0, err, errlen);
        free(buf);
        if (rc == 0) {
            *begin = h.window_begin;
            *end = h.window_end;
        }
    }
    free(ds);
    if (rc == LT_ENOTFOUND)
        lt_seterr(err, errlen, "%s: %s: no WIBEth fragment", lt_h5r_path(r),
                  lt_h5r_record(r, rec)->name);
    return rc;
}

static int show_run_window(struct lt_h5r *r, const struct show_opts *o, struct lt_event *ev,
                           char *err, size_t errlen)
{
    size_t nrec = lt_h5r_record_count(r);
    if (nrec == 0) {
        lt_seterr(err, errlen, "%s: the run file holds no time slices", lt_h5r_path(r));
        return LT_ENOTFOUND;
    }
    uint64_t run_start, first_end;
    int rc = slice_window(r, 0, &run_start, &first_end, err, errlen);
    if (rc) return rc;
    struct lt_h5_dataset_info *ds = NULL;
    size_t n = 0;
    rc = lt_h5r_list_wibeth(r, 0, LT_H5_ALL_CELLS, &ds, &n, err, errlen);
    if (rc) return rc;
    struct cell_seen cells[LT_EV_MAX_PANELS];
    size_t nc = collect_cells(ds, n, cells, LT_EV_MAX_PANELS);
    free(ds);
    double from = o->have_window ? o->from_s : 0.0, to = o->have_window ? o->to_s : 0.00225;
    uint64_t t0 = run_start + lt_seconds_to_ticks(from), t1 = run_start + lt_seconds_to_ticks(to);
    t0 -= t0 % LT_TICKS_PER_SAMPLE;
    rc = add_panels(ev, o, cells, nc, t0, t1);
    if (rc) return rc;
    snprintf(ev->title, sizeof ev->title, "run %u  %.4f s to %.4f s", lt_h5r_attrs(r)->run_number,
             from, to);
    for (size_t rec = 0; rec < nrec && rc == 0; rec++) {
        uint64_t b, e;
        rc = slice_window(r, rec, &b, &e, err, errlen);
        if (rc == 0 && e > t0 && b < t1) rc = fill_record(r, rec, ev, err, errlen);
    }
    if (rc == 0 && o->truth) add_truth_boxes(r, ev, t0, t1);
    return rc;
}

int cmd_show(int argc, char **argv)
{
    struct show_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    char err[512] = "";
    struct lt_h5r *r = NULL;
    if (trigctl_h5_open(&r, o.file, err, sizeof err) != 0) {
        fprintf(stderr, "trigctl show: %s\n", err);
        return 1;
    }
    static struct lt_event ev;
    memset(&ev, 0, sizeof ev);
    rc = lt_h5r_attrs(r)->record_type == LT_H5_TRIGGER_RECORD
             ? show_trigger_record(r, &o, &ev, err, sizeof err)
             : show_run_window(r, &o, &ev, err, sizeof err);
    lt_h5r_close(r);
    if (rc == 0) {
        lt_ev_subtract_baselines(&ev);
        rc = lt_ev_render_png(&ev, o.out, &o.style, err, sizeof err);
    }
    size_t panels = ev.n_panels, boxes = ev.n_boxes;
    lt_ev_free(&ev);
    if (rc) {
        if (err[0]) fprintf(stderr, "trigctl show: %s\n", err);
        return 1;
    }
    printf("wrote %s (%zu panels, %zu boxes)\n", o.out, panels, boxes);
    return 0;
}
