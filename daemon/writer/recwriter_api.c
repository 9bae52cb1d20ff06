/* Record writer life cycle and the thread-safe entry points: start (scan, I/O backend, thread),
 * enqueue (validate, non-blocking push), inhibit/status reads, stop (drain, close, join). */
#include "recwriter_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5raw.h"
#include "log.h"
#include "lt_clock.h"
#include "lt_error.h"

void lt_recwriter_config_defaults(struct lt_recwriter_config *c)
{
    *c = (struct lt_recwriter_config){
        .out_dir = ".",
        .env = "lartrig",
        .writer_name = "recwriter",
        .application_name = "trigd",
        .offline_data_stream = "physics",
        .run_number = 1,
        .queue_capacity = 16,
        .max_file_bytes = 4ULL << 30,
        .max_file_records = 0,
        .free_space_factor = 2.0,
        .free_space_margin = 16ULL << 20,
        .staging_slots = 16,
        .staging_slot_bytes = 1U << 20,
        .align_threshold = 64U << 10,
        .use_direct = 1,
        .sync_each_record = 1,
        .force_pwritev = 0,
        .backoff_min_ms = 10,
        .backoff_max_ms = 1000,
    };
}

static int copy_str(char *dst, size_t len, const char *src, const char *what, char *err,
                    size_t errlen)
{
    if (!src || !*src || strlen(src) >= len) {
        lt_seterr(err, errlen, "recwriter config: %s must be 1..%zu characters", what, len - 1);
        return LT_EINVAL;
    }
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

/* Says why io_uring is off when the sysctl is the reason, so the operator knows where to look. */
static void log_uring_unavailable(const char *why)
{
    char v[8] = "";
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
    if (f) {
        if (!fgets(v, sizeof v, f)) v[0] = 0;
        fclose(f);
        v[strcspn(v, "\n")] = 0;
    }
    LT_WARN("recwriter: io_uring unavailable (%s%s%s); FALLING BACK to pwritev from the writer "
            "thread",
            why, v[0] && v[0] != '0' ? ", sysctl kernel.io_uring_disabled=" : "",
            v[0] && v[0] != '0' ? v : "");
}

static void writer_free(struct lt_recwriter *w)
{
    if (w->io.ops) w->io.ops->destroy(&w->io);
    free(w->io.pool);
    free(w->dset);
    free(w->dset_ahead);
    free(w->geoids);
    rw_files_close(&w->files);
    rw_queue_destroy(&w->q);
    pthread_mutex_destroy(&w->last_mu);
    free(w);
}

int lt_recwriter_start(struct lt_recwriter **out, const struct lt_recwriter_config *c, char *err,
                       size_t errlen)
{
    *out = NULL;
    if (!c->queue_capacity || !c->staging_slots || !c->staging_slot_bytes ||
        c->staging_slot_bytes % RW_ALIGN || c->free_space_factor < 1.0 || !c->max_file_bytes ||
        !c->backoff_min_ms || c->backoff_max_ms < c->backoff_min_ms) {
        lt_seterr(err, errlen,
                  "recwriter config: queue_capacity, staging_slots > 0; staging_slot_bytes a "
                  "multiple of %u; free_space_factor >= 1; max_file_bytes > 0; 0 < "
                  "backoff_min_ms <= backoff_max_ms",
                  RW_ALIGN);
        return LT_EINVAL;
    }
    struct lt_recwriter *w = calloc(1, sizeof *w);
    if (!w) return LT_ENOMEM;
    w->files.dir_fd = -1;
    w->cfg = *c;
    if (copy_str(w->out_dir, sizeof w->out_dir - 256, c->out_dir, "out_dir", err, errlen) ||
        copy_str(w->env, sizeof w->env, c->env, "env", err, errlen) ||
        copy_str(w->writer_name, sizeof w->writer_name, c->writer_name, "writer_name", err,
                 errlen) ||
        copy_str(w->app_name, sizeof w->app_name, c->application_name, "application_name", err,
                 errlen) ||
        copy_str(w->stream_name, sizeof w->stream_name, c->offline_data_stream,
                 "offline_data_stream", err, errlen)) {
        free(w);
        return LT_EINVAL;
    }
    char probe[256];
    if (lt_h5_file_name(w->env, c->run_number, 1, w->writer_name, 0, probe, sizeof probe) < 0) {
        lt_seterr(err, errlen,
                  "recwriter config: env \"%s\" or writer_name \"%s\" cannot be "
                  "part of a DUNE file name",
                  w->env, w->writer_name);
        free(w);
        return LT_EINVAL;
    }
    w->cfg.out_dir = w->out_dir;
    w->cfg.env = w->env;
    w->cfg.writer_name = w->writer_name;
    w->cfg.application_name = w->app_name;
    w->cfg.offline_data_stream = w->stream_name;
    w->h5 = -1;
    w->fd_buf = w->fd_direct = -1;
    pthread_mutex_init(&w->last_mu, NULL);
    if (rw_queue_init(&w->q, c->queue_capacity) < 0) {
        pthread_mutex_destroy(&w->last_mu);
        free(w);
        return LT_ENOMEM;
    }
    if (c->n_geoids) {
        if (!c->geoids || !(w->geoids = calloc(c->n_geoids, sizeof *w->geoids))) {
            lt_seterr(err, errlen, "recwriter config: %zu GeoID entries: %s", c->n_geoids,
                      c->geoids ? "out of memory" : "no array");
            writer_free(w);
            return c->geoids ? LT_ENOMEM : LT_EINVAL;
        }
        memcpy(w->geoids, c->geoids, c->n_geoids * sizeof *w->geoids);
    }
    w->cfg.geoids = w->geoids;
    atomic_store(&w->st.queue_capacity, c->queue_capacity);

    memcpy(w->files.dir, w->out_dir, sizeof w->files.dir);
    memcpy(w->files.env, w->env, sizeof w->files.env);
    memcpy(w->files.writer, w->writer_name, sizeof w->files.writer);
    w->files.run = c->run_number;
    int left = rw_files_scan(&w->files, err, errlen);
    if (left < 0) {
        writer_free(w);
        return left;
    }
    atomic_store(&w->st.leftover_writing, (uint64_t)left);
    atomic_store(&w->st.file_index, w->files.next_index);
    /* Free space is known from the start (status and its alarm), not only after a record; a
     * failure here is the writer thread's to report, at the first record. */
    uint64_t free_now;
    char space_err[256];
    if (rw_space_free(w->out_dir, &free_now, space_err, sizeof space_err) == 0)
        atomic_store(&w->st.free_bytes, free_now);
    LT_INFO("recwriter: %s run %u continues at file index %llu (%d leftover .writing file%s)",
            w->out_dir, c->run_number, (unsigned long long)w->files.next_index, left,
            left == 1 ? "" : "s");

    w->io.nslots = c->staging_slots;
    w->io.slot_bytes = c->staging_slot_bytes;
    w->io.stats = &w->st;
    w->io.fd[0] = w->io.fd[1] = -1;
    w->io.before_last = rw_prepare_ahead;
    w->io.before_last_arg = w;
    w->io.stop_deadline_ns = &w->stop_deadline_ns;
    void *pool = NULL;
    if (posix_memalign(&pool, RW_ALIGN, (size_t)c->staging_slots * c->staging_slot_bytes)) {
        writer_free(w);
        lt_seterr(err, errlen, "recwriter: cannot allocate %u x %u staging bytes", c->staging_slots,
                  c->staging_slot_bytes);
        return LT_ENOMEM;
    }
    w->io.pool = pool;
    memset(pool, 0, (size_t)c->staging_slots * c->staging_slot_bytes); /* fault it in now */

    const char *force = getenv("LARTRIG_FORCE_PWRITEV");
    int forced = c->force_pwritev || (force && !strcmp(force, "1"));
    char ierr[256] = "";
    int r = forced ? LT_EUNSUPPORTED : rw_io_uring_init(&w->io, ierr, sizeof ierr);
    if (r < 0) {
        log_uring_unavailable(forced ? "forced by configuration / LARTRIG_FORCE_PWRITEV=1" : ierr);
        rw_io_pwritev_init(&w->io, ierr, sizeof ierr);
    }
    atomic_store(&w->st.io_mode, (uint64_t)w->io.mode);
    LT_INFO("recwriter: payload I/O through %s, %u x %u KiB staging, O_DIRECT %s",
            lt_rw_io_mode_name(w->io.mode), c->staging_slots, c->staging_slot_bytes >> 10,
            c->use_direct ? "on" : "off");

    int e = pthread_create(&w->thread, NULL, rw_thread_main, w);
    if (e) {
        lt_seterr(err, errlen, "recwriter: pthread_create: %s", strerror(e));
        writer_free(w);
        return LT_ENOMEM;
    }
    *out = w;
    return 0;
}

/* Checks everything the writer thread would otherwise trip over later. */
static int validate(const struct lt_recwriter *w, const struct lt_rw_record *rec, char *why,
                    size_t len)
{
    uint8_t buf[LT_FRAGMENT_HEADER_SIZE];
    if ((rec->n_requests && !rec->requests) || (rec->n_frags && !rec->frags)) {
        lt_seterr(why, len, "NULL request or fragment array");
        return LT_EINVAL;
    }
    if (rec->trh.num_requested_components != rec->n_requests) {
        lt_seterr(why, len, "num_requested_components %llu != %zu requests",
                  (unsigned long long)rec->trh.num_requested_components, rec->n_requests);
        return LT_EINVAL;
    }
    if (rec->n_frags >= LT_H5_MAX_DATASETS_PER_RECORD) {
        /* Readers (lib/hdf5/h5raw.h, as hdf5libs' tools) refuse records with more datasets. */
        lt_seterr(why, len, "%zu fragments: more than %u datasets per record", rec->n_frags,
                  LT_H5_MAX_DATASETS_PER_RECORD - 1);
        return LT_EINVAL;
    }
    if (LT_TRH_SIZE + rec->n_requests * LT_COMPONENT_REQUEST_SIZE > w->io.slot_bytes) {
        lt_seterr(why, len, "%zu component requests do not fit a staging slot", rec->n_requests);
        return LT_EINVAL;
    }
    if (lt_trh_encode(&rec->trh, buf, LT_TRH_SIZE) < 0) {
        lt_seterr(why, len, "trigger record header does not encode");
        return LT_EINVAL;
    }
    for (size_t i = 0; i < rec->n_requests; i++)
        if (lt_component_request_encode(&rec->requests[i], buf, LT_COMPONENT_REQUEST_SIZE) < 0) {
            lt_seterr(why, len, "component request %zu does not encode", i);
            return LT_EINVAL;
        }
    for (size_t i = 0; i < rec->n_frags; i++) {
        const struct lt_rw_fragment *f = &rec->frags[i];
        if (f->payload_len && !f->payload) {
            lt_seterr(why, len, "fragment %zu: NULL payload of %zu bytes", i, f->payload_len);
            return LT_EINVAL;
        }
        if (f->hdr.size != LT_FRAGMENT_HEADER_SIZE + (uint64_t)f->payload_len) {
            lt_seterr(why, len, "fragment %zu: header size %llu != 72 + payload %zu", i,
                      (unsigned long long)f->hdr.size, f->payload_len);
            return LT_EINVAL;
        }
        if (lt_fragment_header_encode(&f->hdr, buf, sizeof buf) < 0) {
            lt_seterr(why, len, "fragment %zu: header does not encode", i);
            return LT_EINVAL;
        }
    }
    return 0;
}

int lt_recwriter_enqueue(struct lt_recwriter *w, struct lt_rw_record *rec)
{
    char why[160];
    if (!rec || validate(w, rec, why, sizeof why) < 0) {
        atomic_fetch_add(&w->st.records_invalid, 1);
        LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 5, "recwriter: record %llu rejected: %s",
                           rec ? (unsigned long long)rec->trh.trigger_number : 0ULL,
                           rec ? why : "NULL record");
        return LT_EINVAL;
    }
    if (atomic_load(&w->stopping)) return LT_EFULL;
    int r = rw_queue_push(&w->q, rec);
    if (r < 0) {
        atomic_fetch_add(&w->st.records_rejected, 1);
        return r;
    }
    atomic_fetch_add(&w->st.records_accepted, 1);
    atomic_store(&w->st.queue_depth, rw_queue_count(&w->q));
    return 0;
}

int lt_recwriter_inhibited(const struct lt_recwriter *w)
{
    uint64_t cap = atomic_load(&w->st.queue_capacity);
    uint64_t depth = atomic_load(&w->st.queue_depth);
    return atomic_load(&w->st.inhibit) || depth * 4 >= cap * 3;
}

const struct lt_recwriter_stats *lt_recwriter_stats(const struct lt_recwriter *w)
{
    return &w->st;
}

void lt_recwriter_last_file(const struct lt_recwriter *w, char *buf, size_t len)
{
    struct lt_recwriter *mw = (struct lt_recwriter *)w; /* the lock is not logically state */
    pthread_mutex_lock(&mw->last_mu);
    snprintf(buf, len, "%s", w->last_file);
    pthread_mutex_unlock(&mw->last_mu);
}

int lt_recwriter_stop(struct lt_recwriter *w, unsigned timeout_ms)
{
    if (!w) return 0;
    atomic_store(&w->stop_deadline_ns, lt_mono_ns() + (uint64_t)timeout_ms * 1000000ULL);
    atomic_store(&w->stopping, 1);
    rw_queue_wake(&w->q, 1);
    pthread_join(w->thread, NULL);
    int r = atomic_load(&w->st.close_failures) ? LT_EIO : 0;
    writer_free(w);
    return r;
}
