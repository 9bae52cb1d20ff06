/* Record-writer throughput: the same trigger records written
 *   (a) by the record writer (io_uring, registered staging, O_DIRECT, linked fdatasync),
 *   (b) by the plain HDF5 writer (lib/hdf5/h5raw.h: H5Dwrite, default sec2 driver, fsync at close),
 *   (c) as raw bytes by `dd oflag=direct conv=fdatasync` (the device's streaming ceiling),
 *   (d) by the record writer's pwritev fallback,
 * all into the same directory, files deleted after each run. Records are full size: cells x 40
 * streams x `frames` WIBEth frames (70 frames = 2.25 ms). The payload of one cell is generated
 * once and shared by all cells of all records (the writers copy or write it; only the disk sees
 * the volume), so a 150-cell record needs 20 MB of RAM, not 3 GB.
 *
 * Output: one "RESULT mode=... GBps=..." line per run, then one "SUMMARY mode=... median_GBps=...
 * min_GBps=... max_GBps=..." line per mode over the --repeat runs (default 5; the modes take turns
 * within each repeat). bench/bench_writer.sh parses both.
 * --sample DIR writes a small deterministic file for tests/writer/test_recwriter_h5py.sh instead.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "h5raw.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "recwriter.h"
#include "wibeth.h"

#define STREAMS_PER_CELL 40U

struct bench {
    const char *dir;
    unsigned cells, records, frames, repeat;
    unsigned slots, slot_kib, sync_each_record;
    uint8_t **stream_payload; /* STREAMS_PER_CELL buffers of frames x 7200 bytes */
    size_t payload_len;
    struct lt_rw_record *recs;
    struct lt_rw_fragment **frags;
    struct lt_component_request *reqs; /* one per cell, shared */
    uint64_t record_bytes;
};

static uint64_t rng_state = 0x1234567ULL;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

/* Realistic frames: DAQEth header with stream and timestamps, ADC noise around a pedestal. */
static void make_payloads(struct bench *b)
{
    b->payload_len = (size_t)b->frames * LT_WIBETH_FRAME_SIZE;
    b->stream_payload = calloc(STREAMS_PER_CELL, sizeof *b->stream_payload);
    static uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS];
    for (unsigned s = 0; s < STREAMS_PER_CELL; s++) {
        b->stream_payload[s] = malloc(b->payload_len);
        for (unsigned f = 0; f < b->frames; f++) {
            lt_wibeth_frame *fr =
                (lt_wibeth_frame *)(b->stream_payload[s] + (size_t)f * LT_WIBETH_FRAME_SIZE);
            memset(fr, 0, sizeof *fr);
            struct lt_daqeth_header h = {.version = LT_DAQETH_VERSION,
                                         .det_id = LT_DETID_HD_TPC,
                                         .crate = 1,
                                         .slot = (uint8_t)(s / 4),
                                         .stream = (uint8_t)s,
                                         .seq_id = (uint16_t)(f & 0xFFF),
                                         .timestamp = 1000000 + (uint64_t)f * 2048};
            lt_daqeth_encode(fr, &h);
            for (unsigned t = 0; t < LT_WIBETH_SAMPLES; t++)
                for (unsigned c = 0; c < LT_WIBETH_CHANNELS; c++)
                    adc[t][c] = (uint16_t)(900 + (rng() & 7));
            lt_wibeth_pack(fr, adc);
        }
    }
}

static void make_records(struct bench *b)
{
    const unsigned nf = b->cells * STREAMS_PER_CELL;
    b->recs = calloc(b->records, sizeof *b->recs);
    b->frags = calloc(b->records, sizeof *b->frags);
    b->reqs = calloc(b->cells, sizeof *b->reqs);
    for (unsigned c = 0; c < b->cells; c++)
        b->reqs[c] = (struct lt_component_request){
            .version = LT_COMPONENT_REQUEST_VERSION,
            .component = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT, c},
            .window_begin = 1000000,
            .window_end = 1000000 + LT_WIBETH_SAMPLES * 32ULL * b->frames};
    for (unsigned r = 0; r < b->records; r++) {
        const uint64_t trig = r + 1;
        struct lt_rw_record *rec = &b->recs[r];
        rec->trh = (struct lt_trigger_record_header){
            .trigger_number = trig,
            .trigger_timestamp = 1000000 + trig,
            .num_requested_components = b->cells,
            .run_number = 1,
            .trigger_type = 1,
            .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_TR_BUILDER, 0}};
        rec->requests = b->reqs;
        rec->n_requests = b->cells;
        b->frags[r] = calloc(nf, sizeof *b->frags[r]);
        for (unsigned i = 0; i < nf; i++) {
            struct lt_rw_fragment *f = &b->frags[r][i];
            f->payload = b->stream_payload[i % STREAMS_PER_CELL];
            f->payload_len = b->payload_len;
            f->hdr = (struct lt_fragment_header){
                .size = LT_FRAGMENT_HEADER_SIZE + b->payload_len,
                .trigger_number = trig,
                .trigger_timestamp = rec->trh.trigger_timestamp,
                .window_begin = 1000000,
                .window_end = 1000000 + LT_WIBETH_SAMPLES * 32ULL * b->frames,
                .run_number = 1,
                .fragment_type = LT_FRAGTYPE_WIBETH,
                .detector_id = LT_DETID_HD_TPC,
                .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT, i}};
        }
        rec->frags = b->frags[r];
        rec->n_frags = nf;
    }
    b->record_bytes = LT_TRH_SIZE + (uint64_t)b->cells * LT_COMPONENT_REQUEST_SIZE +
                      (uint64_t)nf * (LT_FRAGMENT_HEADER_SIZE + b->payload_len);
}

static void clean_dir(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "find '%s' -maxdepth 1 -type f \\( -name '*.hdf5*' -o -name dd.bin \\) -delete", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_writer: cleaning %s failed\n", dir);
}

/* Every run's GB/s per mode, for the summary (median and spread). */
enum { M_URING, M_H5, M_DD, M_PWRITEV, N_MODES };
static const char *const mode_names[N_MODES] = {"recwriter_io_uring", "hdf5_h5dwrite",
                                                "dd_oflag_direct", "recwriter_pwritev"};
static double *runs[N_MODES];
static unsigned n_runs[N_MODES];

static void result(const struct bench *b, int mode, double secs, uint64_t bytes)
{
    const double gbps = (double)bytes / secs / 1e9;
    printf("RESULT mode=%s cells=%u records=%u bytes=%llu seconds=%.3f GBps=%.3f\n",
           mode_names[mode], b->cells, b->records, (unsigned long long)bytes, secs, gbps);
    fflush(stdout);
    runs[mode][n_runs[mode]++] = gbps;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One SUMMARY line per mode: median, min and max over the runs (the machine is shared: one run
 * says little, the spread says how much). */
static void summary(const struct bench *b)
{
    for (int m = 0; m < N_MODES; m++) {
        unsigned n = n_runs[m];
        if (!n) continue;
        qsort(runs[m], n, sizeof *runs[m], cmp_double);
        double med = n % 2 ? runs[m][n / 2] : (runs[m][n / 2 - 1] + runs[m][n / 2]) / 2;
        printf("SUMMARY mode=%s cells=%u runs=%u median_GBps=%.3f min_GBps=%.3f max_GBps=%.3f\n",
               mode_names[m], b->cells, n, med, runs[m][0], runs[m][n - 1]);
    }
}

static int run_recwriter(struct bench *b, int force_pwritev)
{
    struct lt_recwriter_config c;
    lt_recwriter_config_defaults(&c);
    c.out_dir = b->dir;
    c.writer_name = "bench";
    c.queue_capacity = 4;
    c.staging_slots = b->slots;
    c.staging_slot_bytes = b->slot_kib << 10;
    c.sync_each_record = (int)b->sync_each_record;
    c.force_pwritev = force_pwritev;
    c.free_space_margin = 256ULL << 20;
    struct lt_recwriter *w;
    char err[256];
    if (lt_recwriter_start(&w, &c, err, sizeof err) < 0) {
        fprintf(stderr, "bench_writer: %s\n", err);
        return -1;
    }
    double t0 = lt_mono_s();
    for (unsigned r = 0; r < b->records; r++) {
        int rc;
        while ((rc = lt_recwriter_enqueue(w, &b->recs[r])) == LT_EFULL) usleep(200);
        if (rc < 0) {
            fprintf(stderr, "bench_writer: enqueue: %s\n", lt_strerror(rc));
            lt_recwriter_stop(w, 60000);
            return -1;
        }
    }
    int rc = lt_recwriter_stop(w, 600000);
    double t1 = lt_mono_s();
    if (rc < 0) return -1;
    result(b, force_pwritev ? M_PWRITEV : M_URING, t1 - t0, b->record_bytes * b->records);
    return 0;
}

static int run_h5dwrite(struct bench *b)
{
    const uint64_t max_file = 4ULL << 30; /* same rollover as the record writer's default */
    double t0 = lt_mono_s();
    struct lt_h5w *w = NULL;
    uint64_t in_file = 0;
    unsigned index = 1;
    char err[512];
    struct lt_h5_fragment_in *in = calloc(b->recs[0].n_frags, sizeof *in);
    for (unsigned r = 0; r < b->records; r++) {
        if (w && in_file + b->record_bytes > max_file) {
            if (lt_h5w_close(w, err, sizeof err) < 0) goto fail;
            w = NULL;
        }
        if (!w) {
            char name[256], path[1400];
            lt_h5_file_name("lartrig", 1, index++, "benchh5", time(NULL), name, sizeof name);
            snprintf(path, sizeof path, "%s/%s", b->dir, name);
            struct lt_h5_file_attrs a = {.record_type = LT_H5_TRIGGER_RECORD, .run_number = 1};
            snprintf(a.application_name, sizeof a.application_name, "bench_writer");
            snprintf(a.operational_environment, sizeof a.operational_environment, "lartrig");
            snprintf(a.offline_data_stream, sizeof a.offline_data_stream, "physics");
            struct lt_h5w_options o = {.writing_suffix = 1};
            if (lt_h5w_open(&w, path, &a, &o, err, sizeof err) < 0) goto fail;
            in_file = 0;
        }
        const struct lt_rw_record *rec = &b->recs[r];
        for (size_t i = 0; i < rec->n_frags; i++)
            in[i] = (struct lt_h5_fragment_in){.hdr = &rec->frags[i].hdr,
                                               .payload = rec->frags[i].payload,
                                               .payload_len = rec->frags[i].payload_len};
        if (lt_h5w_write_trigger_record(w, &rec->trh, rec->requests, rec->n_requests, in,
                                        rec->n_frags, err, sizeof err) < 0)
            goto fail;
        in_file += b->record_bytes;
    }
    if (w && lt_h5w_close(w, err, sizeof err) < 0) {
        w = NULL;
        goto fail;
    }
    free(in);
    result(b, M_H5, lt_mono_s() - t0, b->record_bytes * b->records);
    return 0;
fail:
    fprintf(stderr, "bench_writer: plain HDF5: %s\n", err);
    if (w) lt_h5w_abort(w);
    free(in);
    return -1;
}

static int run_dd(struct bench *b)
{
    const uint64_t bytes = b->record_bytes * b->records;
    const uint64_t bs = 4ULL << 20, count = (bytes + bs - 1) / bs;
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "dd if=/dev/zero of='%s/dd.bin' bs=4M count=%llu oflag=direct conv=fdatasync "
             "status=none",
             b->dir, (unsigned long long)count);
    double t0 = lt_mono_s();
    int rc = system(cmd);
    double t1 = lt_mono_s();
    if (rc != 0) {
        fprintf(stderr, "bench_writer: dd failed (%d)\n", rc);
        return -1;
    }
    result(b, M_DD, t1 - t0, count * bs);
    return 0;
}

/* Small deterministic file for the h5py test: byte j of fragment i of trigger t is
 * (7j + 13i + 29t) mod 251. */
static int write_sample(const char *dir)
{
    struct lt_recwriter_config c;
    lt_recwriter_config_defaults(&c);
    c.out_dir = dir;
    c.writer_name = "sample";
    c.run_number = 7;
    c.staging_slot_bytes = 64 << 10;
    struct lt_recwriter *w;
    char err[256];
    if (lt_recwriter_start(&w, &c, err, sizeof err) < 0) {
        fprintf(stderr, "bench_writer: %s\n", err);
        return 1;
    }
    static const size_t len[3] = {100000, 7200 * 3, 0};
    static uint8_t payload[2][3][100000];
    static struct lt_rw_fragment frags[2][3];
    static struct lt_component_request req[2][1];
    static struct lt_rw_record rec[2];
    for (unsigned t = 1; t <= 2; t++) {
        for (unsigned i = 0; i < 3; i++) {
            for (size_t j = 0; j < len[i]; j++)
                payload[t - 1][i][j] = (uint8_t)((7 * j + 13 * i + 29 * t) % 251);
            frags[t - 1][i] = (struct lt_rw_fragment){
                .hdr = {.size = LT_FRAGMENT_HEADER_SIZE + len[i],
                        .trigger_number = t,
                        .trigger_timestamp = 5000 * t,
                        .window_begin = 5000 * t - 100,
                        .window_end = 5000 * t + 140625,
                        .run_number = 7,
                        .error_bits = len[i] ? 0 : 1U << LT_FRAG_ERR_DATA_NOT_FOUND,
                        .fragment_type = LT_FRAGTYPE_WIBETH,
                        .detector_id = LT_DETID_HD_TPC,
                        .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT, i}},
                .payload = len[i] ? payload[t - 1][i] : NULL,
                .payload_len = len[i]};
        }
        req[t - 1][0] = (struct lt_component_request){
            .version = LT_COMPONENT_REQUEST_VERSION,
            .component = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT, 0},
            .window_begin = 5000 * t - 100,
            .window_end = 5000 * t + 140625};
        rec[t - 1] = (struct lt_rw_record){
            .trh = {.trigger_number = t,
                    .trigger_timestamp = 5000 * t,
                    .num_requested_components = 1,
                    .run_number = 7,
                    .trigger_type = 1,
                    .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_TR_BUILDER, 0}},
            .requests = req[t - 1],
            .n_requests = 1,
            .frags = frags[t - 1],
            .n_frags = 3};
        if (lt_recwriter_enqueue(w, &rec[t - 1]) < 0) return 1;
    }
    if (lt_recwriter_stop(w, 30000) < 0) return 1;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_writer --dir DIR [--cells 4] [--records 12] [--frames 70] "
                    "[--repeat 5] [--modes uring,h5,dd,pwritev]\n"
                    "       [--slots 32] [--slot-kib 1024] [--no-sync]\n"
                    "       bench_writer --sample DIR\n");
}

int main(int argc, char **argv)
{
    struct bench b = {.cells = 4,
                      .records = 12,
                      .frames = 70,
                      .repeat = 5,
                      .slots = 32,
                      .slot_kib = 1024,
                      .sync_each_record = 1};
    const char *modes = "uring,h5,dd,pwritev";
    static const struct option opts[] = {
        {"dir", 1, 0, 'd'},     {"cells", 1, 0, 'c'},  {"records", 1, 0, 'r'},
        {"frames", 1, 0, 'f'},  {"repeat", 1, 0, 'n'}, {"modes", 1, 0, 'm'},
        {"sample", 1, 0, 's'},  {"slots", 1, 0, 'S'},  {"slot-kib", 1, 0, 'K'},
        {"no-sync", 0, 0, 'Y'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'd':
            b.dir = optarg;
            break;
        case 'c':
            b.cells = (unsigned)atoi(optarg);
            break;
        case 'r':
            b.records = (unsigned)atoi(optarg);
            break;
        case 'f':
            b.frames = (unsigned)atoi(optarg);
            break;
        case 'n':
            b.repeat = (unsigned)atoi(optarg);
            break;
        case 'm':
            modes = optarg;
            break;
        case 's':
            return write_sample(optarg);
        case 'S':
            b.slots = (unsigned)atoi(optarg);
            break;
        case 'K':
            b.slot_kib = (unsigned)atoi(optarg);
            break;
        case 'Y':
            b.sync_each_record = 0;
            break;
        default:
            usage();
            return 2;
        }
    }
    if (!b.dir || !b.cells || !b.records || !b.frames || !b.repeat || !b.slots || !b.slot_kib ||
        b.slot_kib % 4) {
        usage();
        return 2;
    }
    make_payloads(&b);
    make_records(&b);
    printf("INFO record_bytes=%llu fragments=%u frames_per_stream=%u total_bytes=%llu\n",
           (unsigned long long)b.record_bytes, b.cells * STREAMS_PER_CELL, b.frames,
           (unsigned long long)(b.record_bytes * b.records));
    for (int m = 0; m < N_MODES; m++) runs[m] = calloc(b.repeat, sizeof *runs[m]);
    int rc = 0;
    /* The modes take turns within each repeat, so a burst of load elsewhere on the machine
     * falls on all of them rather than on one. */
    for (unsigned k = 0; k < b.repeat && rc == 0; k++) {
        if (strstr(modes, "uring")) {
            rc |= run_recwriter(&b, 0);
            clean_dir(b.dir);
        }
        if (strstr(modes, "h5")) {
            rc |= run_h5dwrite(&b);
            clean_dir(b.dir);
        }
        if (strstr(modes, "dd")) {
            rc |= run_dd(&b);
            clean_dir(b.dir);
        }
        if (strstr(modes, "pwritev")) {
            rc |= run_recwriter(&b, 1);
            clean_dir(b.dir);
        }
    }
    if (rc == 0) summary(&b);
    for (int m = 0; m < N_MODES; m++) free(runs[m]);
    for (unsigned r = 0; r < b.records; r++) free(b.frags[r]);
    free(b.frags);
    free(b.recs);
    free(b.reqs);
    for (unsigned s = 0; s < STREAMS_PER_CELL; s++) free(b.stream_payload[s]);
    free(b.stream_payload);
    return rc ? 1 : 0;
}
