/* Shared helpers of the record-writer tests: deterministic records (the bytes are a function of
 * trigger number, fragment index and position, so any file can be checked without keeping the
 * records) and a verifier that reads every dataset back through the HDF5 API. */
#ifndef LARTRIG_TEST_RECWRITER_UTIL_H
#define LARTRIG_TEST_RECWRITER_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daqfmt.h"
#include "recwriter.h"

#define TU_UNUSED __attribute__((unused))

struct gen_params {
    size_t n_frags;
    size_t frag_bytes; /* nominal payload size */
    size_t jitter;     /* payload sizes vary by up to this many bytes (0: fixed) */
    int with_empty;    /* fragment 0 of odd triggers is an empty kDataNotFound fragment */
    uint32_t run;
};

struct gen_record {
    struct lt_rw_record rec;
    struct lt_component_request req[4];
    struct lt_rw_fragment *frags;
    uint8_t *bytes;
    int free_on_done;
};

static inline uint64_t tu_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static TU_UNUSED size_t gen_payload_len(const struct gen_params *p, uint64_t trig, size_t i)
{
    if (p->with_empty && i == 0 && (trig & 1)) return 0;
    size_t j = p->jitter ? (size_t)(tu_mix(trig * 1000003ULL + i) % (p->jitter + 1)) : 0;
    return p->frag_bytes + j;
}

static TU_UNUSED void gen_fill(uint8_t *dst, size_t len, uint64_t trig, size_t i)
{
    uint64_t seed = tu_mix((trig << 20) ^ i);
    size_t k = 0;
    for (; k + 8 <= len; k += 8) {
        uint64_t v = tu_mix(seed + k);
        memcpy(dst + k, &v, 8);
    }
    uint64_t v = tu_mix(seed + k);
    memcpy(dst + k, &v, len - k);
}

static TU_UNUSED void gen_trh(const struct gen_params *p, uint64_t trig,
                              struct lt_trigger_record_header *h, struct lt_component_request *req)
{
    memset(h, 0, sizeof *h);
    h->trigger_number = trig;
    h->trigger_timestamp = 1000000 + trig * 5000;
    h->num_requested_components = 2;
    h->run_number = p->run;
    h->trigger_type = 1;
    h->element_id = (struct lt_source_id){LT_SOURCE_ID_VERSION, LT_SUBSYS_TR_BUILDER, 0};
    for (int k = 0; k < 2; k++) {
        memset(&req[k], 0, sizeof req[k]);
        req[k].version = LT_COMPONENT_REQUEST_VERSION;
        req[k].component =
            (struct lt_source_id){LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT, (uint32_t)k};
        req[k].window_begin = h->trigger_timestamp - 1000;
        req[k].window_end = h->trigger_timestamp + 140625;
    }
}

static TU_UNUSED void gen_frag_header(const struct gen_params *p, uint64_t trig, size_t i,
                                      size_t len, struct lt_fragment_header *h)
{
    memset(h, 0, sizeof *h);
    h->size = LT_FRAGMENT_HEADER_SIZE + len;
    h->trigger_number = trig;
    h->trigger_timestamp = 1000000 + trig * 5000;
    h->window_begin = h->trigger_timestamp - 1000;
    h->window_end = h->trigger_timestamp + 140625;
    h->run_number = p->run;
    h->error_bits = len ? 0 : (1U << LT_FRAG_ERR_DATA_NOT_FOUND);
    h->fragment_type = LT_FRAGTYPE_WIBETH;
    h->detector_id = LT_DETID_HD_TPC;
    h->element_id = (struct lt_source_id){LT_SOURCE_ID_VERSION, LT_SUBSYS_DETECTOR_READOUT,
                                          (uint32_t)(0x1000 + i)};
}

static TU_UNUSED struct gen_record *gen_record_new(const struct gen_params *p, uint64_t trig)
{
    struct gen_record *g = calloc(1, sizeof *g);
    g->frags = calloc(p->n_frags ? p->n_frags : 1, sizeof *g->frags);
    size_t total = 0;
    for (size_t i = 0; i < p->n_frags; i++) total += gen_payload_len(p, trig, i);
    g->bytes = malloc(total ? total : 1);
    size_t pos = 0;
    for (size_t i = 0; i < p->n_frags; i++) {
        size_t len = gen_payload_len(p, trig, i);
        gen_frag_header(p, trig, i, len, &g->frags[i].hdr);
        g->frags[i].payload = len ? g->bytes + pos : NULL;
        g->frags[i].payload_len = len;
        gen_fill(g->bytes + pos, len, trig, i);
        pos += len;
    }
    gen_trh(p, trig, &g->rec.trh, g->req);
    g->rec.requests = g->req;
    g->rec.n_requests = 2;
    g->rec.frags = g->frags;
    g->rec.n_frags = p->n_frags;
    g->rec.user = g;
    return g;
}

static TU_UNUSED void gen_record_free(struct gen_record *g)
{
    if (!g) return;
    free(g->frags);
    free(g->bytes);
    free(g);
}

/* done() of the tests: counts outcomes; frees the record when asked to. */
static _Atomic uint64_t tu_done_ok, tu_done_err;
static TU_UNUSED void tu_done(struct lt_rw_record *rec, int status, void *user)
{
    struct gen_record *g = user;
    (void)rec;
    if (status == 0)
        atomic_fetch_add(&tu_done_ok, 1);
    else
        atomic_fetch_add(&tu_done_err, 1);
    if (g->free_on_done) gen_record_free(g);
}

/* Enqueues with retry while the queue is full (the test plays an aggregator that waits). */
static TU_UNUSED int tu_enqueue_wait(struct lt_recwriter *w, struct gen_record *g)
{
    g->rec.done = tu_done;
    for (int k = 0; k < 200000; k++) {
        int r = lt_recwriter_enqueue(w, &g->rec);
        if (r != LT_EFULL) return r;
        usleep(1000);
    }
    return LT_ETIMEOUT;
}

/* ---- verification through the HDF5 API ---- */
static TU_UNUSED int tu_read_dset(hid_t grp, const char *name, uint8_t **buf, size_t *len)
{
    hid_t d = H5Dopen2(grp, name, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t s = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    int nd = H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    if (nd != 2 || dims[1] != 1) {
        H5Dclose(d);
        return -1;
    }
    *len = (size_t)dims[0];
    *buf = malloc(*len ? *len : 1);
    herr_t r = *len ? H5Dread(d, H5T_NATIVE_CHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf) : 0;
    H5Dclose(d);
    return r < 0 ? -1 : 0;
}

struct tu_verify {
    const struct gen_params *p;
    uint64_t trigs[4096];
    size_t n;
    uint64_t bytes;
    char why[512];
    int bad;
};

static TU_UNUSED __attribute__((format(printf, 2, 3))) void tu_why(struct tu_verify *v,
                                                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof v->why, fmt, ap);
    va_end(ap);
}

static TU_UNUSED herr_t tu_verify_record(hid_t root, const char *name, const H5L_info_t *info,
                                         void *arg)
{
    (void)info;
    struct tu_verify *v = arg;
    unsigned long long trig;
    unsigned seq;
    if (sscanf(name, "TriggerRecord%llu.%u", &trig, &seq) != 2 || seq != 0) {
        tu_why(v, "unexpected top-level object %s", name);
        v->bad = 1;
        return 1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/RawData", name);
    hid_t g = H5Gopen2(root, path, H5P_DEFAULT);
    if (g < 0) {
        tu_why(v, "%s: no RawData group", name);
        v->bad = 1;
        return 1;
    }
    H5G_info_t gi;
    H5Gget_info(g, &gi);
    const struct gen_params *p = v->p;
    if (gi.nlinks != 1 + p->n_frags) {
        tu_why(v, "%s: %llu datasets, expected %zu", path, (unsigned long long)gi.nlinks,
               1 + p->n_frags);
        v->bad = 1;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    struct lt_trigger_record_header trh;
    struct lt_component_request req[4];
    gen_trh(p, trig, &trh, req);
    uint8_t want[LT_TRH_SIZE + 2 * LT_COMPONENT_REQUEST_SIZE];
    lt_trh_encode(&trh, want, LT_TRH_SIZE);
    lt_component_request_encode(&req[0], want + LT_TRH_SIZE, LT_COMPONENT_REQUEST_SIZE);
    lt_component_request_encode(&req[1], want + LT_TRH_SIZE + 32, LT_COMPONENT_REQUEST_SIZE);
    if (!v->bad && (tu_read_dset(g, "TR_Builder_0x00000000_TriggerRecordHeader", &buf, &len) ||
                    len != sizeof want || memcmp(buf, want, len))) {
        tu_why(v, "%s: TriggerRecordHeader dataset differs", path);
        v->bad = 1;
    }
    free(buf);
    v->bytes += sizeof want;
    for (size_t i = 0; i < p->n_frags && !v->bad; i++) {
        size_t plen = gen_payload_len(p, trig, i);
        char dname[96];
        snprintf(dname, sizeof dname, "Detector_Readout_0x%08x_WIBEth", (unsigned)(0x1000 + i));
        buf = NULL;
        if (tu_read_dset(g, dname, &buf, &len) || len != LT_FRAGMENT_HEADER_SIZE + plen) {
            tu_why(v, "%s/%s: missing or %zu bytes, expected %zu", path, dname, len,
                   LT_FRAGMENT_HEADER_SIZE + plen);
            v->bad = 1;
        } else {
            struct lt_fragment_header h;
            uint8_t hb[LT_FRAGMENT_HEADER_SIZE];
            gen_frag_header(p, trig, i, plen, &h);
            lt_fragment_header_encode(&h, hb, sizeof hb);
            uint8_t *pl = malloc(plen + 8);
            gen_fill(pl, plen, trig, i);
            if (memcmp(buf, hb, sizeof hb) || memcmp(buf + sizeof hb, pl, plen)) {
                size_t k = 0;
                while (k < len && buf[k] == (k < 72 ? hb[k] : pl[k - 72])) k++;
                tu_why(v, "%s/%s: bytes differ from offset %zu of %zu", path, dname, k, len);
                v->bad = 1;
            }
            free(pl);
        }
        free(buf);
        v->bytes += LT_FRAGMENT_HEADER_SIZE + plen;
    }
    H5Gclose(g);
    if (v->n < sizeof v->trigs / sizeof v->trigs[0]) v->trigs[v->n++] = trig;
    return v->bad ? 1 : 0;
}

static TU_UNUSED int tu_attr_u64(hid_t f, const char *name, uint64_t *out)
{
    if (H5Aexists(f, name) <= 0) return -1;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    herr_t r = H5Aread(a, H5T_NATIVE_UINT64, out);
    H5Aclose(a);
    return r < 0 ? -1 : 0;
}

/* Verifies every record of a final-named file; appends trigger numbers to v (not reset). */
static TU_UNUSED int tu_verify_file(const char *path, struct tu_verify *v)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        tu_why(v, "%s does not open", path);
        return -1;
    }
    uint64_t before = v->bytes, recorded = 0;
    hsize_t idx = 0;
    v->bad = 0;
    H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, &idx, tu_verify_record, v);
    if (!v->bad && (tu_attr_u64(f, "recorded_size", &recorded) || recorded != v->bytes - before)) {
        tu_why(v, "%s: recorded_size %llu, records hold %llu", path, (unsigned long long)recorded,
               (unsigned long long)(v->bytes - before));
        v->bad = 1;
    }
    H5Fclose(f);
    return v->bad ? -1 : 0;
}

/* Lists final-named (.hdf5) and in-progress files in dir. Returns counts. */
static TU_UNUSED int tu_list(const char *dir, char names[][512], int max, int *n_writing)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (n_writing) *n_writing = 0;
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 8 && !strcmp(e->d_name + l - 8, ".writing")) {
            if (n_writing) (*n_writing)++;
        } else if (l > 5 && !strcmp(e->d_name + l - 5, ".hdf5") && n < max) {
            int k = snprintf(names[n], 512, "%s/%s", dir, e->d_name);
            if (k > 0 && k < 512) n++;
        }
    }
    closedir(d);
    return n;
}

static TU_UNUSED void tu_rmrf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", dir);
}

static TU_UNUSED void tu_mkdtemp(char *buf, size_t len, const char *tag)
{
    const char *base = getenv("LARTRIG_BINARY_DIR");
    snprintf(buf, len, "%s/rwtest_%s_XXXXXX", base ? base : "/tmp", tag);
    if (!mkdtemp(buf)) {
        snprintf(buf, len, "/tmp/rwtest_%s_XXXXXX", tag);
        if (!mkdtemp(buf)) buf[0] = 0;
    }
}

static TU_UNUSED void tu_config(struct lt_recwriter_config *c, const char *dir)
{
    lt_recwriter_config_defaults(c);
    c->out_dir = dir;
    c->run_number = 42;
    c->writer_name = "rwtest";
    c->staging_slots = 8;
    c->staging_slot_bytes = 64 * 1024; /* small slots: datasets span several chunks */
    c->free_space_margin = 1 << 20;
}

#endif
