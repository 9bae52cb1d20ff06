/* trigctl inspect FILE [--json] [--record N] [--truth]: what is in a run file or a trigger-record
 * file. File attributes, each record (or time slice) with its header and fragments (SourceID,
 * cell/stream, type, size, WIBEth frame count, first/last timestamp, error bits), totals, and a
 * summary of the /Truth table. The file is first probed in a child process (lt_h5r_probe): a
 * damaged file is reported with its first problem and exit code 1, so a script can use inspect
 * as a file checker; frame-level findings on a readable file (partial frames, timestamp gaps)
 * are listed as problems and also give exit code 1. Exit 2 on usage errors. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chmap.h"
#include "commands.h"
#include "daqfmt.h"
#include "h5open.h"
#include "h5raw.h"
#include "lt_error.h"
#include "ticks.h"
#include "trgfmt.h"
#include "truth.h"
#include "wibeth.h"

#define TRUTH_BATCH 4096U

struct inspect_opts {
    const char *path;
    int json;
    int list_truth;
    int have_record;
    uint64_t record;
};

/* Running state: totals and problems, plus the JSON document when --json. */
struct inspect {
    struct inspect_opts o;
    struct lt_h5r *r;
    json_t *doc, *problems;
    uint64_t n_fragments, n_bytes, n_frames, n_error_fragments, n_records_shown;
    int n_problems;
};

static void problem(struct inspect *in, const char *msg)
{
    in->n_problems++;
    if (in->o.json)
        json_array_append_new(in->problems, json_string(msg));
    else
        printf("      PROBLEM: %s\n", msg);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: trigctl inspect FILE [--json] [--record N] [--truth]\n"
                 "  --json      machine-readable output (one JSON document)\n"
                 "  --record N  only record / time slice number N (all its sequences)\n"
                 "  --truth     also list every /Truth row (default: a summary per kind)\n");
}

static int parse(int argc, char **argv, struct inspect_opts *o)
{
    static const struct option longopts[] = {{"json", no_argument, 0, 'j'},
                                             {"record", required_argument, 0, 'r'},
                                             {"truth", no_argument, 0, 't'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "jr:th", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            o->json = 1;
            break;
        case 't':
            o->list_truth = 1;
            break;
        case 'r': {
            char *end;
            o->record = strtoull(optarg, &end, 10);
            if (!*optarg || *end) {
                fprintf(stderr, "trigctl inspect: --record needs a number, got '%s'\n", optarg);
                return 2;
            }
            o->have_record = 1;
            break;
        }
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    o->path = argv[optind];
    return 0;
}

static void show_attrs(struct inspect *in)
{
    const struct lt_h5_file_attrs *a = lt_h5r_attrs(in->r);
    const char *type = lt_h5_record_prefix(a->record_type);
    if (in->o.json) {
        json_t *j = json_pack(
            "{s:s,s:I,s:I,s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:b,s:I}", "record_type", type, "run_number",
            (json_int_t)a->run_number, "file_index", (json_int_t)a->file_index, "application_name",
            a->application_name, "operational_environment", a->operational_environment,
            "offline_data_stream", a->offline_data_stream, "run_was_for_test_purposes",
            a->run_was_for_test_purposes, "filelayout_version", (json_int_t)a->filelayout_version,
            "creation_timestamp", (json_int_t)a->creation_timestamp, "closing_timestamp",
            (json_int_t)a->closing_timestamp, "closed", a->has_recorded_size, "recorded_size",
            (json_int_t)a->recorded_size);
        json_object_set_new(in->doc, "file", json_string(in->o.path));
        json_object_set_new(in->doc, "attributes", j);
        return;
    }
    printf("file                    %s\n", in->o.path);
    printf("record_type             %s (filelayout_version %u)\n", type, a->filelayout_version);
    printf("run_number              %u\n", a->run_number);
    printf("file_index              %" PRIu64 "\n", a->file_index);
    printf("application_name        %s\n", a->application_name);
    printf("operational_environment %s\n", a->operational_environment);
    printf("offline_data_stream     %s%s\n", a->offline_data_stream,
           a->run_was_for_test_purposes ? " (test run)" : "");
    printf("creation_timestamp      %" PRIu64 " ms\n", a->creation_timestamp);
    if (a->has_recorded_size)
        printf("closed                  %" PRIu64 " ms, recorded_size %" PRIu64 " bytes\n",
               a->closing_timestamp, a->recorded_size);
    else
        printf("closed                  no (no recorded_size/closing_timestamp: still being "
               "written or the writer died)\n");
    printf("records                 %zu\n\n", lt_h5r_record_count(in->r));
}

/* The record header: TRH + ComponentRequests, or the TimeSliceHeader. */
static json_t *show_header(struct inspect *in, size_t rec)
{
    char err[1024];
    if (lt_h5r_attrs(in->r)->record_type == LT_H5_TIMESLICE) {
        struct lt_timeslice_header tsh;
        if (lt_h5r_read_tsh(in->r, rec, &tsh, err, sizeof err) < 0) {
            problem(in, err);
            return NULL;
        }
        if (!in->o.json) {
            printf("  TimeSliceHeader: timeslice %" PRIu64 ", run %u, source %s_0x%08x\n",
                   tsh.timeslice_number, tsh.run_number,
                   lt_h5_subsystem_name(tsh.element_id.subsystem), tsh.element_id.id);
            return NULL;
        }
        return json_pack("{s:I,s:I}", "timeslice_number", (json_int_t)tsh.timeslice_number,
                         "run_number", (json_int_t)tsh.run_number);
    }
    struct lt_trigger_record_header trh;
    size_t n = 0;
    /* First call learns the count; the list is small (one request per readout stream). */
    int rc = lt_h5r_read_trh(in->r, rec, &trh, NULL, 0, &n, err, sizeof err);
    struct lt_component_request *cr = NULL;
    if (rc == LT_ESHORT) {
        cr = calloc(n ? n : 1, sizeof *cr);
        rc = cr ? lt_h5r_read_trh(in->r, rec, &trh, cr, n, &n, err, sizeof err) : LT_ENOMEM;
    }
    if (rc < 0) {
        problem(in, rc == LT_ENOMEM ? "out of memory" : err);
        free(cr);
        return NULL;
    }
    uint64_t wb = UINT64_MAX, we = 0;
    for (size_t i = 0; i < n; i++) {
        if (cr[i].window_begin < wb) wb = cr[i].window_begin;
        if (cr[i].window_end > we) we = cr[i].window_end;
    }
    free(cr);
    char bits[128], types[256];
    lt_trh_error_bits_str(trh.error_bits, bits, sizeof bits);
    lt_tc_type_bits_str(trh.trigger_type, types, sizeof types);
    if (!in->o.json) {
        printf("  TriggerRecordHeader: trigger %" PRIu64 ".%u/%u at %" PRIu64
               " ticks, type 0x%" PRIx64 " (%s), %zu component requests",
               trh.trigger_number, (unsigned)trh.sequence_number, (unsigned)trh.max_sequence_number,
               trh.trigger_timestamp, trh.trigger_type, types, n);
        if (n) printf(", window %" PRIu64 "..%" PRIu64, wb, we);
        printf("%s%s\n", trh.error_bits ? ", errors " : "", trh.error_bits ? bits : "");
        return NULL;
    }
    return json_pack("{s:I,s:i,s:i,s:I,s:I,s:s,s:I,s:I,s:I,s:s}", "trigger_number",
                     (json_int_t)trh.trigger_number, "sequence_number", (int)trh.sequence_number,
                     "max_sequence_number", (int)trh.max_sequence_number, "trigger_timestamp",
                     (json_int_t)trh.trigger_timestamp, "trigger_type",
                     (json_int_t)trh.trigger_type, "trigger_types", types,
                     "num_requested_components", (json_int_t)n, "window_begin",
                     (json_int_t)(n ? wb : 0), "window_end", (json_int_t)(n ? we : 0), "error_bits",
                     trh.error_bits ? bits : "");
}

/* WIBEth fragments: frame count and the DAQEth timestamps of the first and last frames, read
 * without loading the whole fragment. Returns a bit set of SPAN_* findings. */
enum { SPAN_PARTIAL_FRAME = 1, SPAN_GAPS = 2, SPAN_READ_FAILED = 4 };

static int wibeth_span(struct inspect *in, size_t rec, const struct lt_h5_dataset_info *d,
                       uint64_t *frames, uint64_t *first, uint64_t *last, char *err, size_t errlen)
{
    static lt_wibeth_frame frame; /* 7200 bytes: not on the stack */
    uint64_t payload = d->size - LT_FRAGMENT_HEADER_SIZE;
    int found = payload % LT_WIBETH_FRAME_SIZE ? SPAN_PARTIAL_FRAME : 0;
    *frames = payload / LT_WIBETH_FRAME_SIZE;
    if (*frames == 0) return found;
    struct lt_daqeth_header h;
    uint64_t offs[2] = {LT_FRAGMENT_HEADER_SIZE,
                        LT_FRAGMENT_HEADER_SIZE + (*frames - 1) * LT_WIBETH_FRAME_SIZE};
    uint64_t *out[2] = {first, last};
    for (int i = 0; i < 2; i++) {
        if (lt_h5r_read_range(in->r, rec, d->name, offs[i], &frame, sizeof frame, err, errlen) < 0)
            return found | SPAN_READ_FAILED;
        lt_daqeth_decode(&frame, &h);
        *out[i] = h.timestamp;
    }
    if (*last < *first || *last - *first != (*frames - 1) * LT_TICKS_PER_FRAME) found |= SPAN_GAPS;
    return found;
}

/* A Trigger_Candidate fragment decoded as trgdataformats TriggerCandidates (lib/formats/trgfmt.h):
 * one line (or JSON object) per TriggerCandidate. A payload that is not whole TriggerCandidates is
 * a problem of the file. */
static void show_candidates(struct inspect *in, size_t rec, const struct lt_h5_dataset_info *d,
                            const char *obj, json_t *j)
{
    char err[1024], msg[1400];
    struct lt_fragment_header h;
    uint8_t *buf = NULL;
    size_t len = 0, off = 0;
    if (lt_h5r_read_fragment_alloc(in->r, rec, d->name, &h, &buf, &len, 0, err, sizeof err) < 0) {
        problem(in, err);
        return;
    }
    const uint8_t *p = buf + LT_FRAGMENT_HEADER_SIZE;
    json_t *list = j ? json_array() : NULL;
    if (j) json_object_set_new(j, "trigger_candidates", list);
    for (unsigned k = 0; off < len; k++) {
        struct lt_tc_data tc;
        uint64_t n;
        int rc = lt_tc_header_decode(p + off, len - off, &tc, &n);
        if (rc < 0) {
            snprintf(msg, sizeof msg,
                     "%s: %s: TriggerCandidate %u at payload byte %zu: %s (%zu bytes left)",
                     in->o.path, obj, k, off,
                     rc == LT_ESHORT ? "shorter than its 56-byte header"
                                     : "n_inputs larger than the rest of the payload",
                     len - off);
            problem(in, msg);
            break;
        }
        off += LT_TC_HEADER_SIZE + n * LT_TA_DATA_SIZE;
        const char *name = lt_tc_type_name(tc.type);
        char tname[32];
        if (!name) snprintf(tname, sizeof tname, "kType%u", tc.type);
        if (!in->o.json)
            printf("      TriggerCandidate v%u %s (algorithm %u) at %" PRIu64 ", %" PRIu64
                   "..%" PRIu64 ", detid %u, %" PRIu64 " inputs\n",
                   (unsigned)tc.version, name ? name : tname, tc.algorithm, tc.time_candidate,
                   tc.time_start, tc.time_end, (unsigned)tc.detid, n);
        else
            json_array_append_new(
                list, json_pack("{s:i,s:i,s:s,s:i,s:I,s:I,s:I,s:i,s:I}", "version", tc.version,
                                "type", (int)tc.type, "type_name", name ? name : tname, "algorithm",
                                (int)tc.algorithm, "time_candidate", (json_int_t)tc.time_candidate,
                                "time_start", (json_int_t)tc.time_start, "time_end",
                                (json_int_t)tc.time_end, "detid", (int)tc.detid, "n_inputs",
                                (json_int_t)n));
    }
    free(buf);
}

static json_t *show_fragment(struct inspect *in, size_t rec, const struct lt_h5_dataset_info *d)
{
    char err[1024], obj[2 * LT_H5_NAME_MAX + 16], msg[1400];
    struct lt_fragment_header h;
    if (lt_h5r_read_fragment_header(in->r, rec, d->name, &h, err, sizeof err) < 0) {
        problem(in, err);
        return NULL;
    }
    lt_h5_dataset_path(lt_h5r_record(in->r, rec)->name, d->name, obj, sizeof obj);
    uint64_t frames = 0, first = 0, last = 0;
    int is_wib = h.fragment_type == LT_FRAGTYPE_WIBETH;
    int span = is_wib ? wibeth_span(in, rec, d, &frames, &first, &last, err, sizeof err) : 0;
    char bits[128] = "";
    if (h.error_bits) lt_fragment_error_bits_str(h.error_bits, bits, sizeof bits);
    in->n_fragments++;
    in->n_bytes += d->size;
    in->n_frames += frames;
    in->n_error_fragments += h.error_bits != 0;
    /* Which cell and stream: from the frames' DAQEthHeader and the GeoID map, as DUNE's tools
     * identify streams (files of DUNE's DAQ number SourceIDs their own way). */
    struct lt_h5_stream_origin org;
    char org_err[1024] = "";
    int readout = h.element_id.subsystem == LT_SUBSYS_DETECTOR_READOUT && is_wib &&
                  lt_h5r_stream_origin(in->r, rec, d, &org, org_err, sizeof org_err) == 0;
    json_t *j = NULL;
    if (!in->o.json) {
        char where[32] = "";
        if (readout) snprintf(where, sizeof where, "cell %u stream %u", org.cell, org.stream);
        printf("    %-42s %-18s %10" PRIu64 " B", d->name, where, d->size);
        if (is_wib && frames)
            printf("  %5" PRIu64 " frames  %" PRIu64 "..%" PRIu64, frames, first, last);
        else
            printf("  %5" PRIu64 " frames  window %" PRIu64 "..%" PRIu64, frames, h.window_begin,
                   h.window_end);
        printf("%s%s\n", h.error_bits ? "  errors " : "", bits);
    } else {
        j = json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:s}", "dataset", d->name, "subsystem",
                      lt_h5_subsystem_name(h.element_id.subsystem), "source_id",
                      (json_int_t)h.element_id.id, "fragment_type",
                      lt_h5_fragment_type_name(h.fragment_type), "size", (json_int_t)d->size,
                      "detector_id", (json_int_t)h.detector_id, "window_begin",
                      (json_int_t)h.window_begin, "window_end", (json_int_t)h.window_end,
                      "error_bits_value", (json_int_t)h.error_bits, "error_bits", bits);
        if (readout) {
            json_object_set_new(j, "cell", json_integer(org.cell));
            json_object_set_new(j, "stream", json_integer(org.stream));
            json_object_set_new(j, "daqeth",
                                json_pack("{s:i,s:i,s:i,s:i,s:b}", "det_id", org.det_id, "crate",
                                          org.crate, "slot", org.slot, "stream_id", org.eth_stream,
                                          "from_frames", org.from_frames));
        }
        if (is_wib) {
            json_object_set_new(j, "frames", json_integer((json_int_t)frames));
            if (frames) {
                json_object_set_new(j, "first_timestamp", json_integer((json_int_t)first));
                json_object_set_new(j, "last_timestamp", json_integer((json_int_t)last));
            }
        }
    }
    if (h.fragment_type == LT_FRAGTYPE_TRIGGER_CANDIDATE) show_candidates(in, rec, d, obj, j);
    /* Findings after the fragment's own line, so they read as notes on it. */
    if (org_err[0]) problem(in, org_err);
    if (span & SPAN_READ_FAILED) problem(in, err);
    if (span & SPAN_PARTIAL_FRAME) {
        snprintf(msg, sizeof msg,
                 "%s: %s: payload of %" PRIu64 " bytes is not whole %u-byte frames", in->o.path,
                 obj, d->size - LT_FRAGMENT_HEADER_SIZE, LT_WIBETH_FRAME_SIZE);
        problem(in, msg);
    }
    if (span & SPAN_GAPS) {
        snprintf(msg, sizeof msg,
                 "%s: %s: %" PRIu64 " frames from %" PRIu64 " to %" PRIu64
                 " ticks are not contiguous (%u ticks per frame)",
                 in->o.path, obj, frames, first, last, LT_TICKS_PER_FRAME);
        problem(in, msg);
    }
    return j;
}

static void show_record(struct inspect *in, size_t rec, json_t *records)
{
    const struct lt_h5_record_id *id = lt_h5r_record(in->r, rec);
    char err[1024];
    in->n_records_shown++;
    if (!in->o.json) printf("%s\n", id->name);
    json_t *jr = NULL, *jf = NULL;
    if (in->o.json) {
        jr = json_pack("{s:s,s:I,s:i}", "name", id->name, "number", (json_int_t)id->number,
                       "sequence", (int)id->sequence);
        jf = json_array();
        json_array_append_new(records, jr);
        json_object_set_new(jr, "fragments", jf);
    }
    struct lt_h5_dataset_info *ds;
    size_t n;
    if (lt_h5r_list_datasets(in->r, rec, &ds, &n, err, sizeof err) < 0) {
        problem(in, err);
        return;
    }
    json_t *hdr = show_header(in, rec);
    if (hdr) json_object_set_new(jr, "header", hdr);
    for (size_t i = 0; i < n; i++) {
        if (ds[i].kind != LT_H5_DS_FRAGMENT) continue;
        json_t *f = show_fragment(in, rec, &ds[i]);
        if (f) json_array_append_new(jf, f);
    }
    free(ds);
}

/* Truth summary: count and energy range per kind; all rows with --truth. */
static void show_truth(struct inspect *in)
{
    char err[1024];
    size_t n;
    if (lt_h5r_truth_count(in->r, &n, err, sizeof err) < 0) {
        problem(in, err);
        return;
    }
    uint64_t count[LT_TRUTH_KIND_COUNT + 1] = {0};
    float emin[LT_TRUTH_KIND_COUNT + 1], emax[LT_TRUTH_KIND_COUNT + 1];
    uint64_t tmin = UINT64_MAX, tmax = 0;
    struct lt_truth *rows = n ? malloc(TRUTH_BATCH * sizeof *rows) : NULL;
    json_t *jrows = in->o.list_truth && in->o.json ? json_array() : NULL;
    if (n && !rows) {
        problem(in, "out of memory reading /Truth");
        return;
    }
    if (in->o.list_truth && !in->o.json && n)
        printf("\n/Truth rows:\n  %8s %14s %14s %5s %11s %-12s %10s\n", "row", "time", "time_end",
               "cell", "channels", "kind", "E/MeV");
    for (size_t first = 0; first < n; first += TRUTH_BATCH) {
        size_t k = n - first < TRUTH_BATCH ? n - first : TRUTH_BATCH;
        if (lt_h5r_read_truth(in->r, first, rows, k, err, sizeof err) < 0) {
            problem(in, err);
            break;
        }
        for (size_t i = 0; i < k; i++) {
            const struct lt_truth *t = &rows[i];
            uint32_t kind = t->kind < LT_TRUTH_KIND_COUNT ? t->kind : LT_TRUTH_KIND_COUNT;
            if (!count[kind]++) emin[kind] = emax[kind] = t->energy_mev;
            if (t->energy_mev < emin[kind]) emin[kind] = t->energy_mev;
            if (t->energy_mev > emax[kind]) emax[kind] = t->energy_mev;
            if (t->time < tmin) tmin = t->time;
            if (t->time > tmax) tmax = t->time;
            if (jrows)
                json_array_append_new(
                    jrows, json_pack("{s:I,s:I,s:i,s:i,s:i,s:s,s:f}", "time", (json_int_t)t->time,
                                     "time_end", (json_int_t)t->time_end, "cell", (int)t->cell,
                                     "channel_start", (int)t->channel_start, "channel_end",
                                     (int)t->channel_end, "kind", lt_truth_kind_name(t->kind),
                                     "energy_mev", (double)t->energy_mev));
            else if (in->o.list_truth)
                printf("  %8zu %14" PRIu64 " %14" PRIu64 " %5u %5u..%-5u %-12s %10.3f\n", first + i,
                       t->time, t->time_end, t->cell, t->channel_start, t->channel_end,
                       lt_truth_kind_name(t->kind), (double)t->energy_mev);
        }
    }
    free(rows);
    if (in->o.json) {
        json_t *kinds = json_object();
        for (uint32_t k = 0; k <= LT_TRUTH_KIND_COUNT; k++)
            if (count[k])
                json_object_set_new(kinds, lt_truth_kind_name(k),
                                    json_pack("{s:I,s:f,s:f}", "count", (json_int_t)count[k],
                                              "energy_min_mev", (double)emin[k], "energy_max_mev",
                                              (double)emax[k]));
        json_t *jt = json_pack("{s:I,s:o}", "rows", (json_int_t)n, "kinds", kinds);
        if (n) {
            json_object_set_new(jt, "time_min", json_integer((json_int_t)tmin));
            json_object_set_new(jt, "time_max", json_integer((json_int_t)tmax));
        }
        if (jrows) json_object_set_new(jt, "entries", jrows);
        json_object_set_new(in->doc, "truth", jt);
        return;
    }
    if (!n) {
        printf("\n/Truth: none\n");
        return;
    }
    printf("\n/Truth: %zu rows, times %" PRIu64 "..%" PRIu64 " ticks (%.6f s)\n", n, tmin, tmax,
           lt_ticks_to_seconds(tmax - tmin));
    for (uint32_t k = 0; k <= LT_TRUTH_KIND_COUNT; k++)
        if (count[k])
            printf("  %-12s %8" PRIu64 "  energy %.4g .. %.4g MeV\n", lt_truth_kind_name(k),
                   count[k], (double)emin[k], (double)emax[k]);
}

int cmd_inspect(int argc, char **argv)
{
    struct inspect in;
    memset(&in, 0, sizeof in);
    int rc = parse(argc, argv, &in.o);
    if (rc) return rc == 1 ? 0 : rc;
    char err[1024];
    /* Probed in a child process first (h5open.h): damaged metadata can crash or hang libhdf5. */
    if (trigctl_h5_open(&in.r, in.o.path, err, sizeof err) < 0) {
        if (in.o.json) {
            json_t *j = json_pack("{s:s,s:s}", "file", in.o.path, "error", err);
            json_dumpf(j, stdout, JSON_INDENT(2));
            putchar('\n');
            json_decref(j);
        }
        fprintf(stderr, "trigctl inspect: %s\n", err);
        return 1;
    }
    if (in.o.json) {
        in.doc = json_object();
        in.problems = json_array();
    }
    show_attrs(&in);
    json_t *records = in.o.json ? json_array() : NULL;
    size_t n = lt_h5r_record_count(in.r);
    for (size_t i = 0; i < n; i++) {
        if (in.o.have_record && lt_h5r_record(in.r, i)->number != in.o.record) continue;
        show_record(&in, i, records);
    }
    if (in.o.have_record && !in.n_records_shown) {
        snprintf(err, sizeof err, "%s: no record number %" PRIu64, in.o.path, in.o.record);
        problem(&in, err);
    }
    if (in.o.json) {
        json_object_set_new(in.doc, "records", records);
        json_object_set_new(in.doc, "totals",
                            json_pack("{s:I,s:I,s:I,s:I,s:I}", "records",
                                      (json_int_t)in.n_records_shown, "fragments",
                                      (json_int_t)in.n_fragments, "bytes", (json_int_t)in.n_bytes,
                                      "wibeth_frames", (json_int_t)in.n_frames,
                                      "fragments_with_errors", (json_int_t)in.n_error_fragments));
    } else {
        printf("\ntotals: %" PRIu64 " records, %" PRIu64 " fragments, %" PRIu64 " bytes, %" PRIu64
               " WIBEth frames, %" PRIu64 " fragments with error bits\n",
               in.n_records_shown, in.n_fragments, in.n_bytes, in.n_frames, in.n_error_fragments);
    }
    show_truth(&in);
    if (in.o.json) {
        json_object_set_new(in.doc, "problems", in.problems);
        json_dumpf(in.doc, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(in.doc);
    } else if (in.n_problems) {
        printf("\n%d problem(s) found\n", in.n_problems);
    }
    lt_h5r_close(in.r);
    if (in.n_problems) {
        fprintf(stderr, "trigctl inspect: %s: %d problem(s)\n", in.o.path, in.n_problems);
        return 1;
    }
    return 0;
}
