/* The writer thread: takes the record at the head of the queue and carries it through
 *   roll over? -> free space? -> open file? -> HDF5 datasets + H5Fflush -> blocks reserved
 *   (fallocate) -> payload (io_uring, fdatasync linked) -> pop + done(0).
 * A step that fails for a reason that may pass (space short, ENOSPC, EIO, HDF5 flush) leaves the
 * record at the head and is retried from where it stopped, with exponential backoff, while the
 * disk-side inhibit is raised. Only a record that cannot ever be written (duplicate trigger
 * number in the file, two fragments with one SourceID) is completed with an error. A file gets
 * its final name only after H5Fclose and fsync, and never while it holds a half-written record.
 * The next record's HDF5 part is done early, while the head's payload is in flight
 * (rw_prepare_ahead), so the disk does not wait for HDF5. */
#include "recwriter_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "lt_clock.h"
#include "lt_error.h"

enum { STEP_DONE = 0, STEP_RETRY = 1 };
enum { STAGE_NONE = 0, STAGE_CREATED = 1, STAGE_FLUSHED = 2, STAGE_RESERVED = 3 };

static void set_disk_inhibit(struct lt_recwriter *w, int on)
{
    if (w->disk_inhibit == on) return;
    w->disk_inhibit = on;
    atomic_store(&w->st.inhibit, on);
    if (on)
        LT_WARN("recwriter: INHIBIT on: writer cannot keep up with the disk (records queued: %zu)",
                rw_queue_count(&w->q));
    else
        LT_INFO("recwriter: inhibit off: writing again");
    if (w->cfg.inhibit_cb) w->cfg.inhibit_cb(on, w->cfg.inhibit_user);
}

static int open_file(struct lt_recwriter *w)
{
    char err[512];
    struct stat sb;
    int fd;
    /* Claim the name with O_EXCL first: the file is then provably ours, so a failure below may
     * remove it, and a name that appeared since the start-up scan is skipped, never reused. */
    for (;;) {
        rw_files_next_names(&w->files);
        if (stat(w->files.cur_final, &sb) == 0) continue;
        fd = open(w->files.cur_writing, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) break;
        if (errno == EEXIST) continue;
        LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 3, "recwriter: creating %s: %s", w->files.cur_writing,
                           strerror(errno));
        w->files.next_index--;
        return LT_EIO;
    }
    struct lt_h5_file_attrs a = {.record_type = LT_H5_TRIGGER_RECORD,
                                 .run_number = w->cfg.run_number,
                                 .file_index = w->files.next_index - 1,
                                 .run_was_for_test_purposes = w->cfg.run_was_for_test_purposes,
                                 .geoids = w->cfg.geoids,
                                 .n_geoids = w->cfg.n_geoids};
    snprintf(a.application_name, sizeof a.application_name, "%s", w->cfg.application_name);
    snprintf(a.operational_environment, sizeof a.operational_environment, "%s", w->cfg.env);
    snprintf(a.offline_data_stream, sizeof a.offline_data_stream, "%s", w->cfg.offline_data_stream);
    hid_t h = rw_h5_create(w->files.cur_writing, &a, w->cfg.align_threshold, err, sizeof err);
    if (h < 0) {
        LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 3, "recwriter: %s", err);
        /* Ours and without a record: remove it so a retry leaves no empty debris behind. */
        close(fd);
        unlink(w->files.cur_writing);
        w->files.next_index--;
        return LT_EIO;
    }
    int fdd = -1;
    if (w->cfg.use_direct) {
        fdd = open(w->files.cur_writing, O_WRONLY | O_CLOEXEC | O_DIRECT);
        if (fdd < 0 && !w->direct_refused_logged) {
            w->direct_refused_logged = 1;
            LT_WARN("recwriter: O_DIRECT refused on %s (%s): all payload writes buffered",
                    w->out_dir, strerror(errno));
        }
    }
    w->h5 = h;
    w->fd_buf = fd;
    w->fd_direct = fdd;
    w->io.fd[RW_FD_BUFFERED] = fd;
    w->io.fd[RW_FD_DIRECT] = fdd >= 0 ? fdd : fd;
    w->file_payload_bytes = 0;
    w->file_records = 0;
    atomic_store(&w->st.file_index, w->files.next_index - 1);
    LT_INFO("recwriter: opened %s (%s)", w->files.cur_writing, lt_rw_io_mode_name(w->io.mode));
    return 0;
}

int rw_close_file(struct lt_recwriter *w)
{
    if (w->h5 < 0) return 0;
    char err[256];
    int ret = rw_h5_close(w->h5, w->file_payload_bytes, err, sizeof err);
    w->h5 = -1;
    /* HDF5 has written its last metadata through its own descriptor; fsync through ours syncs
     * the whole file, which is why ours stay open until the commit. */
    if (ret == 0) ret = rw_files_commit(&w->files, w->fd_buf, err, sizeof err);
    if (w->fd_direct >= 0) close(w->fd_direct);
    close(w->fd_buf);
    w->fd_buf = w->fd_direct = -1;
    w->io.fd[0] = w->io.fd[1] = -1;
    if (ret < 0) {
        atomic_fetch_add(&w->st.close_failures, 1);
        LT_ERR("recwriter: %s left with its in-progress name: %s", w->files.cur_writing, err);
        return LT_EIO;
    }
    atomic_fetch_add(&w->st.files_closed, 1);
    pthread_mutex_lock(&w->last_mu);
    memcpy(w->last_file, w->files.cur_final, sizeof w->last_file);
    pthread_mutex_unlock(&w->last_mu);
    LT_INFO("recwriter: closed %s (%u records, %llu bytes)", w->files.cur_final, w->file_records,
            (unsigned long long)w->file_payload_bytes);
    return 0;
}

static int ensure_cap(struct rw_dset **arr, size_t *cap, size_t n)
{
    if (n <= *cap) return 0;
    struct rw_dset *d = realloc(*arr, n * sizeof *d);
    if (!d) return LT_ENOMEM;
    *arr = d;
    *cap = n;
    return 0;
}

/* Rollover rule: would `bytes` more make the open file (holding `records` records) too big? */
static int needs_rollover(struct lt_recwriter *w, uint32_t records, uint64_t bytes)
{
    if (w->h5 < 0 || records == 0) return 0;
    hsize_t fsize = 0;
    H5Fget_filesize(w->h5, &fsize);
    return (w->cfg.max_file_records && records >= w->cfg.max_file_records) ||
           (uint64_t)fsize + bytes > w->cfg.max_file_bytes;
}

/* Reserves the blocks of a record's datasets (one fallocate over [first offset, last end))
 * before its payload goes out. Why: HDF5 only reserves addresses, so without this every
 * O_DIRECT write lands in a hole (and often past EOF): the filesystem must allocate blocks and
 * grow the file under the inode's exclusive lock, which io_uring cannot do without blocking, so
 * it hands each write to one io-wq worker per file, one after the other: the whole queue depth
 * was lost (3 GB records ran at 64% of dd). Over reserved (unwritten) blocks the writes are plain
 * overwrites and go to the device in parallel. The range may cover HDF5 metadata already there:
 * fallocate(mode 0) never touches written blocks. 0, or LT_EIO with the errno in *e (ENOSPC:
 * the disk cannot hold the record; the step is retried). A filesystem without fallocate is
 * remembered and skipped. */
static int reserve_blocks(struct lt_recwriter *w, const struct lt_rw_record *rec,
                          const struct rw_dset *d, int *e)
{
    if (w->no_fallocate) return 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < 1 + rec->n_frags; i++) {
        if (!d[i].size) continue;
        if (d[i].offset < lo) lo = d[i].offset;
        if (d[i].offset + d[i].size > hi) hi = d[i].offset + d[i].size;
    }
    if (hi <= lo) return 0;
    while (fallocate(w->fd_buf, 0, (off_t)lo, (off_t)(hi - lo)) < 0) {
        if (errno == EINTR) continue;
        if (errno == EOPNOTSUPP || errno == ENOSYS) {
            w->no_fallocate = 1;
            LT_INFO("recwriter: %s has no fallocate: payload writes allocate as they go",
                    w->out_dir);
            return 0;
        }
        *e = errno;
        return LT_EIO;
    }
    return 0;
}

/* Runs inside the head record's payload write, while its chunks are in flight: does the HDF5
 * part (datasets, attributes, H5Fflush) of the next queued record so the disk is not idle
 * while HDF5 works. Only when that record goes into the same file and the space check passes
 * for both; any failure just leaves the step to the normal path. */
void rw_prepare_ahead(void *arg)
{
    struct lt_recwriter *w = arg;
    char err[512];
    if (w->ahead || w->h5 < 0 || !w->head) return;
    const struct lt_rw_record *next = rw_queue_peek_at(&w->q, 1);
    if (!next) return;
    const uint64_t bytes = rw_record_bytes(next);
    if (needs_rollover(w, w->file_records + 1, bytes)) return;
    uint64_t fr;
    if (rw_space_free(w->out_dir, &fr, err, sizeof err) < 0 ||
        !rw_space_enough(fr, bytes + rw_record_bytes(w->head), w->cfg.free_space_factor,
                         w->cfg.free_space_margin))
        return;
    if (rw_h5_record_exists(w->h5, &next->trh)) return;
    if (ensure_cap(&w->dset_ahead, &w->dset_ahead_cap, 1 + next->n_frags) < 0) return;
    if (rw_h5_create_record(w->h5, next, w->dset_ahead, err, sizeof err) < 0) {
        rw_h5_drop_record(w->h5, &next->trh); /* the normal path will report it */
        return;
    }
    w->ahead = next;
    w->ahead_stage = rw_h5_flush(w->h5, err, sizeof err) < 0 ? STAGE_CREATED : STAGE_FLUSHED;
}

/* One attempt at the head record: STEP_DONE with *status 0 (written) or a negative lt_error (it
 * can never be written: it is completed with that status), or STEP_RETRY (try again later). */
static int write_one(struct lt_recwriter *w, const struct lt_rw_record *rec, int *status)
{
    char err[512];
    const uint64_t bytes = rw_record_bytes(rec);

    if (w->head != rec) {
        w->head = rec;
        w->head_stage = STAGE_NONE;
        w->head_waited = 0;
        if (w->ahead == rec) { /* its HDF5 part was done early: adopt it */
            w->head_stage = w->ahead_stage;
            struct rw_dset *d = w->dset;
            size_t c = w->dset_cap;
            w->dset = w->dset_ahead;
            w->dset_cap = w->dset_ahead_cap;
            w->dset_ahead = d;
            w->dset_ahead_cap = c;
            w->ahead = NULL;
        }
    }
    if (w->head_stage == STAGE_NONE) {
        /* Roll over before the record: a record is never split across files. */
        if (needs_rollover(w, w->file_records, bytes)) rw_close_file(w);
        uint64_t fr;
        int sr = rw_space_free(w->out_dir, &fr, err, sizeof err);
        if (sr == 0) atomic_store(&w->st.free_bytes, fr);
        if (sr < 0 ||
            !rw_space_enough(fr, bytes, w->cfg.free_space_factor, w->cfg.free_space_margin)) {
            if (!w->head_waited) {
                w->head_waited = 1;
                atomic_fetch_add(&w->st.space_waits, 1);
            }
            if (sr < 0)
                LT_LOG_RATELIMITED(LT_LOG_ERR, 5, 2,
                                   "recwriter: cannot check free space: %s; holding record %llu "
                                   "(queue %zu), inhibiting",
                                   err, (unsigned long long)rec->trh.trigger_number,
                                   rw_queue_count(&w->q));
            else
                LT_LOG_RATELIMITED(
                    LT_LOG_ERR, 5, 2,
                    "recwriter: DISK SPACE SHORT in %s: %llu bytes free, record %llu "
                    "needs %llu x %.1f + %llu; holding it (queue %zu), inhibiting",
                    w->out_dir, (unsigned long long)fr, (unsigned long long)rec->trh.trigger_number,
                    (unsigned long long)bytes, w->cfg.free_space_factor,
                    (unsigned long long)w->cfg.free_space_margin, rw_queue_count(&w->q));
            return STEP_RETRY;
        }
        if (w->h5 < 0 && open_file(w) < 0) return STEP_RETRY;
        if (rw_h5_record_exists(w->h5, &rec->trh)) {
            LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 5,
                               "recwriter: record %llu.%u already in %s: dropped (counted)",
                               (unsigned long long)rec->trh.trigger_number,
                               (unsigned)rec->trh.sequence_number, w->files.cur_writing);
            *status = LT_EFORMAT;
            return STEP_DONE;
        }
        if (ensure_cap(&w->dset, &w->dset_cap, 1 + rec->n_frags) < 0) return STEP_RETRY;
        int cr = rw_h5_create_record(w->h5, rec, w->dset, err, sizeof err);
        if (cr < 0) {
            /* Unlink the half-made group so the file stays a consistent set of records. */
            rw_h5_drop_record(w->h5, &rec->trh);
            if (cr == LT_EINVAL) {
                LT_LOG_RATELIMITED(LT_LOG_ERR, 10, 5, "recwriter: %s: %s; record dropped (counted)",
                                   w->files.cur_writing, err);
                *status = LT_EFORMAT;
                return STEP_DONE;
            }
            /* Anything else may pass (HDF5 evicting metadata into a full disk): retry. */
            atomic_fetch_add(&w->st.io_errors, 1);
            LT_LOG_RATELIMITED(LT_LOG_ERR, 5, 2, "recwriter: %s: %s; retrying",
                               w->files.cur_writing, err);
            return STEP_RETRY;
        }
        w->head_stage = STAGE_CREATED;
    }
    if (w->head_stage == STAGE_CREATED) {
        /* HDF5's metadata goes out first; the payload only ever lands in allocated space. */
        if (rw_h5_flush(w->h5, err, sizeof err) < 0) {
            atomic_fetch_add(&w->st.io_errors, 1);
            LT_LOG_RATELIMITED(LT_LOG_ERR, 5, 2, "recwriter: %s: %s; retrying",
                               w->files.cur_writing, err);
            return STEP_RETRY;
        }
        w->head_stage = STAGE_FLUSHED;
    }
    if (w->head_stage == STAGE_FLUSHED) {
        int e = 0;
        if (reserve_blocks(w, rec, w->dset, &e) < 0) {
            atomic_fetch_add(&w->st.io_errors, 1);
            if (e == ENOSPC) atomic_fetch_add(&w->st.enospc, 1);
            LT_LOG_RATELIMITED(LT_LOG_ERR, 5, 2,
                               "recwriter: reserving %llu bytes for record %llu in %s: %s; "
                               "retrying",
                               (unsigned long long)bytes,
                               (unsigned long long)rec->trh.trigger_number, w->files.cur_writing,
                               strerror(e));
            return STEP_RETRY;
        }
        w->head_stage = STAGE_RESERVED;
    }
    int r = rw_payload_write(&w->io, rec, w->dset, w->cfg.sync_each_record);
    if (r < 0) {
        LT_LOG_RATELIMITED(LT_LOG_ERR, 5, 2,
                           "recwriter: writing record %llu to %s failed: %s (%s); retrying "
                           "(queue %zu)",
                           (unsigned long long)rec->trh.trigger_number, w->files.cur_writing,
                           lt_strerror(r), r == LT_EIO ? strerror(w->io.os_errno) : "-",
                           rw_queue_count(&w->q));
        return STEP_RETRY;
    }
    w->file_payload_bytes += bytes;
    w->file_records++;
    w->head = NULL;
    w->head_stage = STAGE_NONE;
    atomic_fetch_add(&w->st.records_written, 1);
    atomic_fetch_add(&w->st.bytes_written, bytes);
    *status = 0;
    return STEP_DONE;
}

static void complete_head(struct lt_recwriter *w, struct lt_rw_record *rec, int status)
{
    rw_queue_pop(&w->q);
    atomic_store(&w->st.queue_depth, rw_queue_count(&w->q));
    if (status < 0) atomic_fetch_add(&w->st.records_failed, 1);
    if (rec->done) rec->done(rec, status, rec->user);
}

/* Stop requested and the disk still refuses: give the remaining records back, loudly. */
static void abandon_all(struct lt_recwriter *w)
{
    struct lt_rw_record *rec;
    size_t n = 0;
    if (w->head && w->head_stage != STAGE_NONE && w->h5 >= 0)
        rw_h5_drop_record(w->h5, &w->head->trh); /* never leave it half-written in the file */
    if (w->ahead && w->h5 >= 0) rw_h5_drop_record(w->h5, &w->ahead->trh);
    w->ahead = NULL;
    w->head = NULL;
    w->head_stage = STAGE_NONE;
    while ((rec = rw_queue_peek_wait(&w->q, 0))) {
        complete_head(w, rec, LT_ETIMEOUT);
        n++;
    }
    if (n) LT_ERR("recwriter: stop timed out: %zu accepted records NOT written (counted)", n);
}

static int past_deadline(struct lt_recwriter *w)
{
    return atomic_load(&w->stopping) && lt_mono_ns() > atomic_load(&w->stop_deadline_ns);
}

static void backoff(struct lt_recwriter *w)
{
    atomic_fetch_add(&w->st.retries, 1);
    set_disk_inhibit(w, 1);
    unsigned ms = w->backoff_ms ? w->backoff_ms : w->cfg.backoff_min_ms;
    w->backoff_ms = ms * 2 > w->cfg.backoff_max_ms ? w->cfg.backoff_max_ms : ms * 2;
    if (atomic_load(&w->stopping)) {
        /* Retry until the deadline, never sleep past it. */
        uint64_t now = lt_mono_ns(), dl = atomic_load(&w->stop_deadline_ns);
        uint64_t left_ms = dl > now ? (dl - now) / 1000000ULL + 1 : 0;
        if (left_ms < ms) ms = (unsigned)left_ms;
        usleep(ms * 1000U);
    } else {
        rw_queue_nap(&w->q, ms); /* a stop cuts it short */
    }
}

void *rw_thread_main(void *arg)
{
    struct lt_recwriter *w = arg;
    for (;;) {
        struct lt_rw_record *rec = rw_queue_peek_wait(&w->q, 200);
        atomic_store(&w->st.queue_depth, rw_queue_count(&w->q));
        rw_rate_update(&w->rate, atomic_load(&w->st.bytes_written), &w->st.bytes_per_s);
        if (!rec) {
            if (atomic_load(&w->stopping)) break;
            continue;
        }
        int status = 0;
        if (past_deadline(w)) {
            /* Stopping, and the deadline has passed with records still queued (the disk is
             * full, failing or just slower than the queue): give them back, counted. */
            abandon_all(w);
            break;
        }
        if (write_one(w, rec, &status) == STEP_RETRY) {
            if (past_deadline(w)) {
                abandon_all(w);
                break;
            }
            backoff(w);
            continue;
        }
        w->backoff_ms = 0;
        w->head = NULL;
        set_disk_inhibit(w, 0);
        complete_head(w, rec, status);
    }
    rw_close_file(w);
    atomic_store(&w->st.queue_depth, 0);
    return NULL;
}
