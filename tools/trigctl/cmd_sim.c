/* trigctl sim: write a run file of simulated cells (TimeSlice records in the hdf5libs layout, one
 * WIBEth fragment per stream per slice) with the /Truth table. The physics and every constant are
 * in docs/simulation.md; the option list is in usage() below and in that document. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chmap.h"
#include "commands.h"
#include "daqfmt.h"
#include "h5raw.h"
#include "lt_clock.h"
#include "lt_error.h"
#include "sim.h"

#define MAX_SECONDS              1e5
#define MAX_TRUTH_ROWS_PER_SLICE (1U << 26)
#define MAX_SLICE_BYTES          (1024.0 * 1024 * 1024) /* one cell's slice buffer */

struct sim_opts {
    const char *out;
    uint32_t cells;
    uint32_t run;
    double seconds, slice_ms;
    int no_clobber;
    struct lt_sim_config cfg;
    struct lt_sim_event *inject;
    uint32_t *inject_cell;
    size_t n_inject;
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: trigctl sim -o FILE [options]\n"
        "Write a run file of simulated cells: TimeSlice records (hdf5libs layout) holding one\n"
        "WIBEth fragment per stream per slice, and the /Truth table of every injected deposit.\n"
        "\n"
        "  -o, --output FILE         run file to write (written as FILE.writing, then renamed)\n"
        "      --no-clobber          refuse to replace an existing FILE (by default it is\n"
        "                            replaced when the new file is complete)\n"
        "      --force               replace an existing FILE (the default; cancels --no-clobber)\n"
        "      --cells N             cells (APAs) to simulate, 1..%u (default 1)\n"
        "      --channels N          channels per cell, a multiple of %u up to %u (default %u)\n"
        "      --seconds S           duration (default 1); rounded up to whole frames\n"
        "      --seed N              random seed (default 1): same seed, same file contents\n"
        "      --run N               run number (default 1)\n"
        "      --slice-ms MS         TimeSlice length (default 10), rounded to whole frames\n"
        "      --start-ticks T       timestamp of the first sample (62.5 MHz ticks, default 0)\n"
        "      --ar39-bq-per-kg X    39Ar activity (default 1.01; 0 disables)\n"
        "      --le-rate HZ          5-50 MeV electrons per cell per second (default 5)\n"
        "      --he-rate HZ          0.1-10 GeV neutrino-like events per cell per second (default "
        "1)\n"
        "      --cosmic-rate HZ      cosmic muons per cell per second (default 0.2)\n"
        "      --noise-adc X         white noise rms in ADC on every plane (default 3.0 X, 3.5 "
        "U/V)\n"
        "      --coherent-adc X      rms of the noise common to a front-end board (default 1.0)\n"
        "      --gain-e-per-adc X    electrons per ADC count of collection peak (default 200)\n"
        "      --inject CELL:KIND:MEV:T  add an event at T seconds after the start; KIND is\n"
        "                            ar39, low_energy (le), high_energy (he), cosmic, ar42,\n"
        "                            kr85, rn222 or ncapture (the last four draw their own\n"
        "                            energies); repeatable\n"
        "      --set NAME=VALUE      any simulator knob below (repeatable, applied in order)\n"
        "      --background-scale F  multiply every radiological rate and the neutron capture\n"
        "                            rate by F (e.g. 1.3), after the other options\n"
        "      --noise-scale F       multiply every noise component (white on both planes,\n"
        "                            board-coherent, low-frequency) by F, after the other options\n"
        "  -h, --help\n"
        "\nsimulator knobs (docs/simulation.md gives defaults and their sources):\n",
        LT_MAX_CELLS, LT_CHANNELS_PER_FEMB, LT_CHANNELS_PER_CELL, LT_CHANNELS_PER_CELL);
    struct lt_sim_config d;
    lt_sim_config_default(&d);
    const char *name, *meaning;
    double lo, hi;
    for (unsigned i = 0; (name = lt_sim_knob(i, &meaning, &lo, &hi)); i++) {
        double v = 0;
        lt_sim_config_get(&d, name, &v);
        fprintf(f, "  %-24s %-10g %s [%g, %g]\n", name, v, meaning, lo, hi);
    }
}

static int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "trigctl sim: %s '%s': expected a number in [%g, %g]\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_u64(const char *opt, const char *s, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-') goto bad;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || v > hi) goto bad;
    *out = v;
    return 0;
bad:
    fprintf(stderr, "trigctl sim: %s '%s': expected an integer in [0, %llu]\n", opt, s,
            (unsigned long long)hi);
    return -1;
}

/* --set NAME=VALUE */
static int parse_set(struct lt_sim_config *c, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char name[64], err[256];
    double v;
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof name) {
        fprintf(stderr, "trigctl sim: --set '%s': expected NAME=VALUE\n", arg);
        return -1;
    }
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = 0;
    if (parse_double("--set", eq + 1, -1e300, 1e300, &v)) return -1;
    if (lt_sim_config_set(c, name, v, err, sizeof err)) {
        fprintf(stderr, "trigctl sim: --set: %s\n", err);
        return -1;
    }
    return 0;
}

static int parse_kind(const char *s, size_t len, uint32_t *kind)
{
    static const struct {
        const char *name;
        uint32_t kind;
    } names[] = {{"ar39", LT_TRUTH_AR39},      {"low_energy", LT_TRUTH_LOW_ENERGY},
                 {"le", LT_TRUTH_LOW_ENERGY},  {"high_energy", LT_TRUTH_HIGH_ENERGY},
                 {"he", LT_TRUTH_HIGH_ENERGY}, {"cosmic", LT_TRUTH_COSMIC},
                 {"ar42", LT_TRUTH_AR42},      {"kr85", LT_TRUTH_KR85},
                 {"rn222", LT_TRUTH_RN222},    {"ncapture", LT_TRUTH_NCAPTURE}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == len && !strncmp(names[i].name, s, len)) {
            *kind = names[i].kind;
            return 0;
        }
    return -1;
}

/* CELL:KIND:MEV:T -> an event (time filled in later, when the start time is known). */
static int parse_inject(struct sim_opts *o, const char *arg)
{
    char buf[256];
    if (strlen(arg) >= sizeof buf) goto bad;
    strcpy(buf, arg);
    char *f[4], *save = NULL, *p = buf;
    int n = 0;
    for (char *t = strtok_r(p, ":", &save); t && n < 5; t = strtok_r(NULL, ":", &save)) {
        if (n == 4) goto bad;
        f[n++] = t;
    }
    if (n != 4) goto bad;
    uint64_t cell;
    double mev, t;
    uint32_t kind;
    if (parse_u64("--inject cell", f[0], LT_MAX_CELLS - 1, &cell)) return -1;
    if (parse_kind(f[1], strlen(f[1]), &kind)) goto bad;
    if (parse_double("--inject energy", f[2], 0, 1e6, &mev)) return -1;
    if (parse_double("--inject time", f[3], 0, MAX_SECONDS, &t)) return -1;
    struct lt_sim_event *ev = realloc(o->inject, (o->n_inject + 1) * sizeof *ev);
    uint32_t *cells = realloc(o->inject_cell, (o->n_inject + 1) * sizeof *cells);
    if (ev) o->inject = ev;
    if (cells) o->inject_cell = cells;
    if (!ev || !cells) {
        fprintf(stderr, "trigctl sim: out of memory\n");
        return -1;
    }
    o->inject[o->n_inject] = (struct lt_sim_event){.kind = kind,
                                                   .topology = LT_SIM_TOPO_AUTO,
                                                   .energy_mev = mev,
                                                   .time = lt_seconds_to_ticks(t)};
    o->inject_cell[o->n_inject] = (uint32_t)cell;
    o->n_inject++;
    return 0;
bad:
    fprintf(stderr,
            "trigctl sim: --inject '%s': expected CELL:KIND:MEV:SECONDS with KIND one of ar39, "
            "low_energy, le, high_energy, he, cosmic\n",
            arg);
    return -1;
}

static int parse_args(int argc, char **argv, struct sim_opts *o)
{
    enum {
        O_NO_CLOBBER = 256,
        O_FORCE,
        O_CELLS,
        O_CHANNELS,
        O_SECONDS,
        O_SEED,
        O_RUN,
        O_SLICE,
        O_START,
        O_AR39,
        O_LE,
        O_HE,
        O_COSMIC,
        O_NOISE,
        O_COHERENT,
        O_GAIN,
        O_INJECT,
        O_SET,
        O_BKG_SCALE,
        O_NOISE_SCALE,
    };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"no-clobber", no_argument, NULL, O_NO_CLOBBER},
        {"force", no_argument, NULL, O_FORCE},
        {"cells", required_argument, NULL, O_CELLS},
        {"channels", required_argument, NULL, O_CHANNELS},
        {"seconds", required_argument, NULL, O_SECONDS},
        {"seed", required_argument, NULL, O_SEED},
        {"run", required_argument, NULL, O_RUN},
        {"slice-ms", required_argument, NULL, O_SLICE},
        {"start-ticks", required_argument, NULL, O_START},
        {"ar39-bq-per-kg", required_argument, NULL, O_AR39},
        {"le-rate", required_argument, NULL, O_LE},
        {"he-rate", required_argument, NULL, O_HE},
        {"cosmic-rate", required_argument, NULL, O_COSMIC},
        {"noise-adc", required_argument, NULL, O_NOISE},
        {"coherent-adc", required_argument, NULL, O_COHERENT},
        {"gain-e-per-adc", required_argument, NULL, O_GAIN},
        {"inject", required_argument, NULL, O_INJECT},
        {"set", required_argument, NULL, O_SET},
        {"background-scale", required_argument, NULL, O_BKG_SCALE},
        {"noise-scale", required_argument, NULL, O_NOISE_SCALE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct lt_sim_config *c = &o->cfg;
    uint64_t u;
    double d, bkg_scale = 1.0, noise_scale = 1.0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            o->out = optarg;
            break;
        case O_NO_CLOBBER:
            o->no_clobber = 1;
            break;
        case O_FORCE:
            o->no_clobber = 0;
            break;
        case O_CELLS:
            if (parse_u64("--cells", optarg, LT_MAX_CELLS, &u)) return 2;
            if (u == 0) {
                fprintf(stderr, "trigctl sim: --cells must be at least 1\n");
                return 2;
            }
            o->cells = (uint32_t)u;
            break;
        case O_CHANNELS:
            if (parse_u64("--channels", optarg, LT_CHANNELS_PER_CELL, &u)) return 2;
            if (u == 0 || u % LT_CHANNELS_PER_FEMB) {
                fprintf(stderr,
                        "trigctl sim: --channels %llu: must be a multiple of %u (one front-end "
                        "board) between %u and %u\n",
                        (unsigned long long)u, LT_CHANNELS_PER_FEMB, LT_CHANNELS_PER_FEMB,
                        LT_CHANNELS_PER_CELL);
                return 2;
            }
            c->n_fembs = (uint32_t)(u / LT_CHANNELS_PER_FEMB);
            break;
        case O_SECONDS:
            if (parse_double("--seconds", optarg, 1e-9, MAX_SECONDS, &o->seconds)) return 2;
            break;
        case O_SEED:
            if (parse_u64("--seed", optarg, UINT64_MAX, &c->seed)) return 2;
            break;
        case O_RUN:
            if (parse_u64("--run", optarg, UINT32_MAX, &u)) return 2;
            o->run = (uint32_t)u;
            break;
        case O_SLICE:
            if (parse_double("--slice-ms", optarg, 0.1, 1000, &o->slice_ms)) return 2;
            break;
        case O_START:
            if (parse_u64("--start-ticks", optarg, UINT64_MAX / 4, &c->start_ticks)) return 2;
            break;
        case O_AR39:
            if (parse_double("--ar39-bq-per-kg", optarg, 0, 1000, &c->ar39_bq_per_kg)) return 2;
            break;
        case O_LE:
            if (parse_double("--le-rate", optarg, 0, 1e5, &c->le_rate_hz)) return 2;
            break;
        case O_HE:
            if (parse_double("--he-rate", optarg, 0, 1e4, &c->he_rate_hz)) return 2;
            break;
        case O_COSMIC:
            if (parse_double("--cosmic-rate", optarg, 0, 1e4, &c->cosmic_rate_hz)) return 2;
            break;
        case O_NOISE:
            if (parse_double("--noise-adc", optarg, 0, 100, &d)) return 2;
            c->noise_collection = c->noise_induction = d;
            break;
        case O_COHERENT:
            if (parse_double("--coherent-adc", optarg, 0, 100, &c->coherent_noise)) return 2;
            break;
        case O_GAIN:
            if (parse_double("--gain-e-per-adc", optarg, 1, 1e6, &c->gain_e_per_adc)) return 2;
            break;
        case O_INJECT:
            if (parse_inject(o, optarg)) return 2;
            break;
        case O_SET:
            if (parse_set(c, optarg)) return 2;
            break;
        case O_BKG_SCALE:
            if (parse_double("--background-scale", optarg, 0, 100, &bkg_scale)) return 2;
            break;
        case O_NOISE_SCALE:
            if (parse_double("--noise-scale", optarg, 0, 100, &noise_scale)) return 2;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "trigctl sim: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (bkg_scale != 1.0) {
        char err[256];
        if (lt_sim_config_scale_backgrounds(c, bkg_scale, err, sizeof err)) {
            fprintf(stderr, "trigctl sim: --background-scale: %s\n", err);
            return 2;
        }
    }
    if (noise_scale != 1.0) {
        char err[256];
        if (lt_sim_config_scale_noise(c, noise_scale, err, sizeof err)) {
            fprintf(stderr, "trigctl sim: --noise-scale: %s\n", err);
            return 2;
        }
    }
    if (!o->out) {
        fprintf(stderr, "trigctl sim: -o FILE is required\n");
        usage(stderr);
        return 2;
    }
    if (c->start_ticks % LT_TICKS_PER_SAMPLE) {
        fprintf(stderr, "trigctl sim: --start-ticks %llu is not a multiple of %u (one sample)\n",
                (unsigned long long)c->start_ticks, LT_TICKS_PER_SAMPLE);
        return 2;
    }
    for (size_t i = 0; i < o->n_inject; i++) {
        if (o->inject_cell[i] >= o->cells) {
            fprintf(stderr, "trigctl sim: --inject cell %u but only %u cell(s) simulated\n",
                    o->inject_cell[i], o->cells);
            return 2;
        }
        if (lt_ticks_to_seconds(o->inject[i].time) >= o->seconds)
            fprintf(stderr, "trigctl sim: warning: --inject at %.6f s is beyond the run (%.6f s)\n",
                    lt_ticks_to_seconds(o->inject[i].time), o->seconds);
        o->inject[i].time += c->start_ticks;
    }
    return 0;
}

static int cmp_truth_time(const void *a, const void *b)
{
    const struct lt_truth *x = a, *y = b;
    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    if (x->cell != y->cell) return x->cell < y->cell ? -1 : 1;
    return x->kind < y->kind ? -1 : x->kind > y->kind;
}

/* Growable per-slice truth buffer (the simulator's own queue is bounded; we drain it every
 * frame period into this one, bounded by MAX_TRUTH_ROWS_PER_SLICE). */
struct truth_buf {
    struct lt_truth *rows;
    size_t n, cap;
};

static int truth_drain(struct truth_buf *tb, struct lt_sim_cell *s)
{
    for (;;) {
        if (tb->n == tb->cap) {
            size_t cap = tb->cap ? 2 * tb->cap : 4096;
            if (cap > MAX_TRUTH_ROWS_PER_SLICE) return LT_EFULL;
            struct lt_truth *r = realloc(tb->rows, cap * sizeof *r);
            if (!r) return LT_ENOMEM;
            tb->rows = r;
            tb->cap = cap;
        }
        size_t got = lt_sim_cell_take_truth(s, tb->rows + tb->n, tb->cap - tb->n);
        tb->n += got;
        if (tb->n < tb->cap) return 0;
    }
}

int cmd_sim(int argc, char **argv)
{
    struct sim_opts o = {.cells = 1, .run = 1, .seconds = 1.0, .slice_ms = 10.0};
    lt_sim_config_default(&o.cfg);
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        free(o.inject);
        free(o.inject_cell);
        return rc == 1 ? 0 : rc;
    }
    char err[512] = "";
    int status = 1;
    struct lt_sim_cell **cells = calloc(o.cells, sizeof *cells);
    struct lt_h5_geoid_entry *geo = NULL;
    uint8_t *slice_buf = NULL;
    uint16_t(*adc)[LT_SAMPLES_PER_FRAME] = NULL;
    lt_wibeth_frame *period_frames = NULL;
    struct truth_buf tb = {0};
    struct lt_h5w *w = NULL;
    if (!cells) goto oom;

    const struct lt_cell_geom geom = {.n_fembs = o.cfg.n_fembs};
    const uint32_t n_streams = lt_geom_streams(&geom), n_channels = lt_geom_channels(&geom);
    const uint64_t total_frames =
        (uint64_t)ceil(o.seconds * (double)LT_CLOCK_HZ / LT_TICKS_PER_FRAME - 1e-9);
    uint64_t slice_frames = (uint64_t)llround(o.slice_ms * 1e-3 * LT_CLOCK_HZ / LT_TICKS_PER_FRAME);
    if (slice_frames < 1) slice_frames = 1;
    if (slice_frames > total_frames) slice_frames = total_frames;
    const uint64_t n_slices = (total_frames + slice_frames - 1) / slice_frames;
    /* One cell's slice is held in memory: keep it bounded (a full cell's 10 ms is 88 MB). */
    if (slice_frames * n_streams * LT_WIBETH_FRAME_SIZE > MAX_SLICE_BYTES) {
        lt_seterr(err, sizeof err,
                  "--slice-ms %g: one cell's slice would be %.0f MB (limit %.0f MB); use "
                  "--slice-ms %.0f or less",
                  o.slice_ms, (double)slice_frames * n_streams * LT_WIBETH_FRAME_SIZE / 1e6,
                  MAX_SLICE_BYTES / 1e6,
                  floor((double)MAX_SLICE_BYTES / ((double)n_streams * LT_WIBETH_FRAME_SIZE) *
                        LT_TICKS_PER_FRAME / LT_CLOCK_HZ * 1e3));
        goto fail;
    }

    for (uint32_t c = 0; c < o.cells; c++) {
        rc = lt_sim_cell_create(&o.cfg, c, &cells[c], err, sizeof err);
        if (rc) goto fail;
    }
    for (size_t i = 0; i < o.n_inject; i++) {
        rc = lt_sim_cell_inject(cells[o.inject_cell[i]], &o.inject[i], err, sizeof err);
        if (rc) goto fail;
    }

    /* The SourceID -> GeoID map hdf5libs writes as a file attribute. */
    geo = calloc((size_t)o.cells * n_streams, sizeof *geo);
    if (!geo) goto oom;
    for (uint32_t c = 0; c < o.cells; c++)
        lt_h5_cell_geoids(c, n_streams, &geo[(size_t)c * n_streams]);
    struct lt_h5_file_attrs attrs = {
        .record_type = LT_H5_TIMESLICE,
        .run_number = o.run,
        .file_index = 0,
        .application_name = "lartrig-sim",
        .operational_environment = "lartrig",
        .offline_data_stream = "sim",
        .run_was_for_test_purposes = 1,
        .geoids = geo,
        .n_geoids = (size_t)o.cells * n_streams,
    };
    /* An existing FILE stays intact until the new one is complete: we write FILE.writing (a
     * stale one from a crashed run is truncated) and rename it over FILE at the end. */
    struct lt_h5w_options wopt = {.writing_suffix = 1, .truncate = !o.no_clobber};
    if (o.no_clobber && access(o.out, F_OK) == 0) {
        lt_seterr(err, sizeof err, "%s exists (--no-clobber)", o.out);
        goto fail;
    }
    rc = lt_h5w_open(&w, o.out, &attrs, &wopt, err, sizeof err);
    if (rc) goto fail;

    /* One cell's slice at a time: [stream][frame] so each stream's fragment is contiguous. */
    const size_t stream_bytes = slice_frames * LT_WIBETH_FRAME_SIZE;
    slice_buf = malloc(stream_bytes * n_streams);
    adc = calloc(n_channels, sizeof *adc);
    period_frames = calloc(n_streams, sizeof *period_frames);
    if (!slice_buf || !adc || !period_frames) goto oom;

    const int tty = isatty(STDERR_FILENO);
    uint64_t truth_kind[LT_TRUTH_KIND_COUNT] = {0}, truth_rows = 0, bytes = 0, frames = 0;
    const double t_start = lt_mono_s();
    uint64_t frame0 = 0;
    for (uint64_t sl = 0; sl < n_slices; sl++) {
        uint64_t nf = total_frames - frame0 < slice_frames ? total_frames - frame0 : slice_frames;
        lt_ticks wb = o.cfg.start_ticks + frame0 * LT_TICKS_PER_FRAME;
        lt_ticks we = wb + nf * LT_TICKS_PER_FRAME;
        struct lt_timeslice_header tsh = {
            .timeslice_number = sl + 1,
            .run_number = o.run,
            .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_TR_BUILDER, 0},
        };
        rc = lt_h5w_begin_timeslice(w, &tsh, err, sizeof err);
        if (rc) goto fail;
        tb.n = 0;
        for (uint32_t c = 0; c < o.cells; c++) {
            for (uint64_t k = 0; k < nf; k++) {
                lt_sim_cell_render(cells[c], adc);
                lt_sim_cell_pack(cells[c], (const uint16_t(*)[LT_SAMPLES_PER_FRAME])adc,
                                 period_frames);
                for (uint32_t s = 0; s < n_streams; s++)
                    memcpy(slice_buf + s * stream_bytes + k * LT_WIBETH_FRAME_SIZE,
                           &period_frames[s], LT_WIBETH_FRAME_SIZE);
                rc = truth_drain(&tb, cells[c]);
                if (rc) {
                    lt_seterr(err, sizeof err, "truth rows of slice %llu: %s",
                              (unsigned long long)sl + 1, lt_strerror(rc));
                    goto fail;
                }
            }
            for (uint32_t s = 0; s < n_streams; s++) {
                struct lt_fragment_header fh = {
                    .trigger_number = sl + 1,
                    .trigger_timestamp = wb,
                    .window_begin = wb,
                    .window_end = we,
                    .run_number = o.run,
                    .fragment_type = LT_FRAGTYPE_WIBETH,
                    .sequence_number = 0,
                    .detector_id = LT_DETID_HD_TPC,
                    .element_id = {LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT,
                                   lt_stream_source_id(c, s)},
                };
                rc = lt_h5w_add_fragment(w, &fh, slice_buf + s * stream_bytes,
                                         nf * LT_WIBETH_FRAME_SIZE, err, sizeof err);
                if (rc) goto fail;
                bytes += nf * LT_WIBETH_FRAME_SIZE;
                frames += nf;
            }
        }
        qsort(tb.rows, tb.n, sizeof *tb.rows, cmp_truth_time);
        if (tb.n) {
            rc = lt_h5w_append_truth(w, tb.rows, tb.n, err, sizeof err);
            if (rc) goto fail;
        }
        for (size_t i = 0; i < tb.n; i++) truth_kind[tb.rows[i].kind % LT_TRUTH_KIND_COUNT]++;
        truth_rows += tb.n;
        rc = lt_h5w_end_record(w, err, sizeof err);
        if (rc) goto fail;
        frame0 += nf;
        if (tty) {
            double el = lt_mono_s() - t_start;
            fprintf(stderr, "\rsim: slice %llu/%llu, %.3f of %.3f s simulated, %.1f MB/s   ",
                    (unsigned long long)sl + 1, (unsigned long long)n_slices,
                    (double)frame0 * LT_TICKS_PER_FRAME / LT_CLOCK_HZ, o.seconds,
                    el > 0 ? (double)bytes / el / 1e6 : 0.0);
            fflush(stderr);
        }
    }
    if (tty) fprintf(stderr, "\n");
    rc = lt_h5w_close(w, err, sizeof err);
    w = NULL;
    if (rc) goto fail;
    double el = lt_mono_s() - t_start;

    struct lt_sim_stats tot = {0};
    for (uint32_t c = 0; c < o.cells; c++) {
        struct lt_sim_stats st;
        lt_sim_cell_stats(cells[c], &st);
        tot.pulses += st.pulses;
        tot.pulses_dropped += st.pulses_dropped;
        tot.truth_dropped += st.truth_dropped;
        tot.samples_clamped += st.samples_clamped;
    }
    printf("wrote %s: run %u, %u cell(s) x %u channels (%u streams), %.6f s from tick %llu\n",
           o.out, o.run, o.cells, n_channels, n_streams,
           (double)total_frames * LT_TICKS_PER_FRAME / LT_CLOCK_HZ,
           (unsigned long long)o.cfg.start_ticks);
    printf("  %llu TimeSlice records of %llu frames; %llu frames per stream, %llu frames, "
           "%.1f MB of frames\n",
           (unsigned long long)n_slices, (unsigned long long)slice_frames,
           (unsigned long long)total_frames, (unsigned long long)frames, (double)bytes / 1e6);
    printf("  truth rows %llu:", (unsigned long long)truth_rows);
    for (uint32_t k = 0; k < LT_TRUTH_KIND_COUNT; k++)
        printf("%s %s %llu", k ? "," : "", lt_truth_kind_name(k),
               (unsigned long long)truth_kind[k]);
    printf("\n");
    printf("  signal pulses %llu (dropped %llu), truth rows dropped %llu, clamped samples %llu\n",
           (unsigned long long)tot.pulses, (unsigned long long)tot.pulses_dropped,
           (unsigned long long)tot.truth_dropped, (unsigned long long)tot.samples_clamped);
    printf("  %.2f s wall, %.1f MB/s, %.3f x real time\n", el,
           el > 0 ? (double)bytes / el / 1e6 : 0.0,
           el > 0 ? (double)total_frames * LT_TICKS_PER_FRAME / LT_CLOCK_HZ / el : 0.0);
    status = 0;
    goto out;

oom:
    lt_seterr(err, sizeof err, "out of memory");
fail:
    fprintf(stderr, "trigctl sim: %s\n", err);
    if (w) lt_h5w_abort(w);
    status = 1;
out:
    if (cells)
        for (uint32_t c = 0; c < o.cells; c++) lt_sim_cell_destroy(cells[c]);
    free(cells);
    free(geo);
    free(slice_buf);
    free(adc);
    free(period_frames);
    free(tb.rows);
    free(o.inject);
    free(o.inject_cell);
    return status;
}
