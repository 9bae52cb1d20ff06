/* Private pieces of the record writer (daemon/writer/recwriter_*.c). Not for other modules.
 *
 * Errors: one domain. Every function here that returns an int error returns 0 or a negative
 * lt_error (lt_error.h), as the public API does. Where the cause is an errno from the kernel it
 * travels beside the code, never in it: in rw_io.os_errno for the payload I/O backends, in the
 * caller's err buffer elsewhere. (Only the io_uring backend's static helpers see liburing's
 * negative errnos, and they convert at the backend's edge.) */
#ifndef LARTRIG_RECWRITER_INT_H
#define LARTRIG_RECWRITER_INT_H

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "lt_error.h"
#include "recwriter.h"

#define RW_ALIGN 4096U /* O_DIRECT and HDF5 alignment unit */

/* ---- bounded queue (recwriter_queue.c): mutex + condvar ring of record pointers ---- */
struct rw_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct lt_rw_record **ring;
    size_t cap, head, count;
    int stopping;
};
int rw_queue_init(struct rw_queue *q, size_t cap);
void rw_queue_destroy(struct rw_queue *q);
int rw_queue_push(struct rw_queue *q, struct lt_rw_record *r); /* LT_EFULL when full */
/* Waits up to timeout_ms for a record and returns the head without removing it (the writer
 * keeps it queued until it is on disk); NULL on timeout or when stopping and empty. */
struct lt_rw_record *rw_queue_peek_wait(struct rw_queue *q, unsigned timeout_ms);
void rw_queue_pop(struct rw_queue *q);
size_t rw_queue_count(struct rw_queue *q);
struct lt_rw_record *rw_queue_peek_at(struct rw_queue *q, size_t i); /* NULL if fewer records */
void rw_queue_wake(struct rw_queue *q, int stopping);
/* Sleeps up to ms, or until rw_queue_wake (a push or the stop) when not stopping yet: the
 * writer's retry backoff, which a stop must not sit out. */
void rw_queue_nap(struct rw_queue *q, unsigned ms);

/* ---- payload I/O backends (recwriter_uring.c, recwriter_pwritev.c) ---- */
enum { RW_FD_BUFFERED = 0, RW_FD_DIRECT = 1 };
#define RW_LINK_SYNC 1 /* this write is the record's last: link the fdatasync behind it */

struct rw_io;
struct rw_io_ops {
    /* Returns a free staging slot, reaping completions if all are in flight. */
    int (*acquire)(struct rw_io *io, unsigned *slot);
    /* Queue (or do) one write of len bytes from inside staging slot `slot`. */
    int (*write)(struct rw_io *io, unsigned slot, int fdsel, const uint8_t *buf, size_t len,
                 uint64_t off, int flags);
    /* Waits for everything in flight; returns 0 or LT_EIO for the first failure since the last
     * quiesce (its errno in os_errno). */
    int (*quiesce)(struct rw_io *io);
    /* quiesce + fdatasync (linked behind the last RW_LINK_SYNC write when one was queued). */
    int (*finish)(struct rw_io *io, int sync);
    void (*destroy)(struct rw_io *io);
};

/* Every op returns 0 or a negative lt_error: LT_EIO when the kernel refused a write or sync (the
 * errno in rw_io.os_errno; counted in stats and logged by the backend), LT_EFULL when no request
 * could be queued. */
struct rw_io {
    const struct rw_io_ops *ops;
    enum lt_rw_io_mode mode;
    uint8_t *pool; /* staging: nslots x slot_bytes, page-aligned */
    size_t slot_bytes;
    unsigned nslots;
    int fd[2]; /* RW_FD_BUFFERED, RW_FD_DIRECT (may equal fd[0] when O_DIRECT is refused) */
    struct lt_recwriter_stats *stats;
    void *impl;
    /* Called once per rw_payload_write, just before the record's last chunk (while the rest is
     * in flight): the writer prepares the next record's HDF5 metadata there. May be NULL. */
    void (*before_last)(void *arg);
    void *before_last_arg;
    int os_errno; /* errno behind the last LT_EIO of an op (ENOSPC, EFBIG, ...); 0 before any */
    /* The writer's stop deadline (CLOCK_MONOTONIC ns; 0 while not stopping): a record's
     * payload loop gives up between two chunks once it has passed (LT_ETIMEOUT), so even a
     * 3 GB record being written does not hold a stop. */
    const _Atomic uint64_t *stop_deadline_ns;
};
/* 1 once the stop deadline has passed. */
int rw_io_past_deadline(const struct rw_io *io);
/* The backend's edge: remember errno e as the cause and return the lt_error for it. */
static inline int rw_io_fail(struct rw_io *io, int e)
{
    io->os_errno = e;
    return e == ENOMEM ? LT_ENOMEM : LT_EIO;
}
/* Both return 0 or a negative lt_error with the reason in err; uring init fails with
 * LT_EUNSUPPORTED when io_uring is unavailable (ENOSYS, EPERM under seccomp, sysctl), and the
 * caller then falls back to pwritev. */
int rw_io_uring_init(struct rw_io *io, char *err, size_t errlen);
int rw_io_pwritev_init(struct rw_io *io, char *err, size_t errlen);
/* Writes all len bytes at off synchronously (pwritev, resuming short writes, counting errors as
 * the backends do): the pwritev backend's write, and the io_uring backend's for the small
 * buffered tails. 0 or LT_EIO with the errno in io->os_errno. */
int rw_pwrite_all(struct rw_io *io, int fdsel, const uint8_t *buf, size_t len, uint64_t off);

/* ---- HDF5 metadata (recwriter_h5.c) ---- */
/* One dataset of a record: where its bytes go in the file. */
struct rw_dset {
    uint64_t offset; /* absolute file offset (H5Dget_offset) */
    uint64_t size;
};
/* path must be an empty file the caller created with O_EXCL (it is truncated). */
hid_t rw_h5_create(const char *path, const struct lt_h5_file_attrs *a, uint32_t align_threshold,
                   char *err, size_t errlen);
/* Creates the record's group, its TRH dataset (dset[0]) and one dataset per fragment
 * (dset[1 + i]), allocated and never filled, plus the record-level attributes. Returns 0,
 * LT_EINVAL for a record that can never be written (duplicate SourceID), LT_EIO otherwise. */
int rw_h5_create_record(hid_t file, const struct lt_rw_record *rec, struct rw_dset *dset, char *err,
                        size_t errlen);
int rw_h5_flush(hid_t file, char *err, size_t errlen);
int rw_h5_close(hid_t file, uint64_t recorded_size, char *err, size_t errlen);
/* Unlinks a record's group (after a failed or abandoned write) so the file stays consistent. */
void rw_h5_drop_record(hid_t file, const struct lt_trigger_record_header *trh);
/* 1 when the record's group already exists in the file. */
int rw_h5_record_exists(hid_t file, const struct lt_trigger_record_header *trh);

/* ---- payload plan (recwriter_payload.c) ---- */
/* Writes every dataset's bytes (TRH + requests, fragment header + payload) at dset[].offset,
 * through the staging pool; returns 0, LT_EINVAL (a header that does not encode) or the I/O
 * backend's error (LT_EIO with io->os_errno). */
int rw_payload_write(struct rw_io *io, const struct lt_rw_record *rec, const struct rw_dset *dset,
                     int sync);
uint64_t rw_record_bytes(const struct lt_rw_record *rec);

/* ---- files (recwriter_files.c) ---- */
struct rw_files {
    char dir[PATH_MAX];
    char env[64], writer[64];
    uint32_t run;
    uint64_t next_index;
    char cur_final[PATH_MAX], cur_writing[PATH_MAX];
    int dir_fd; /* dir, open from the scan to rw_files_close, or -1: the commit opens nothing */
};
/* Opens dir (dir_fd) and scans it: next_index = 1 + the highest index of this run (final or
 * .writing); returns the number of leftover .writing files of this run (reported, left alone)
 * or a negative lt_error (dir_fd then -1). */
int rw_files_scan(struct rw_files *f, char *err, size_t errlen);
void rw_files_close(struct rw_files *f);      /* closes dir_fd; safe at -1 */
void rw_files_next_names(struct rw_files *f); /* fills cur_final / cur_writing, bumps index */
/* fsync(file_fd) (a descriptor of cur_writing the caller still holds), rename writing -> final,
 * fsync(dir_fd). Opens nothing, so a process out of descriptors (idle peers holding them all)
 * still commits, without retries or waits. 0 or LT_EIO with the failed step and its errno in
 * err. */
int rw_files_commit(const struct rw_files *f, int file_fd, char *err, size_t errlen);

/* ---- disk space (recwriter_space.c) ---- */
/* Free bytes for unprivileged writers in dir into *free_bytes: 0, or LT_EIO (statvfs failed,
 * its errno in err). */
int rw_space_free(const char *dir, uint64_t *free_bytes, char *err, size_t errlen);
int rw_space_enough(uint64_t free_bytes, uint64_t need, double factor, uint64_t margin);

/* ---- stats (recwriter_stats.c) ---- */
struct rw_rate {
    uint64_t t0_ns, bytes0;
    double rate;
};
void rw_rate_update(struct rw_rate *r, uint64_t bytes_total, _Atomic uint64_t *out);

/* ---- the writer object (recwriter_api.c, recwriter_thread.c) ---- */
struct lt_recwriter {
    struct lt_recwriter_config cfg; /* strings point into the arrays below */
    char out_dir[PATH_MAX], env[64], writer_name[64], app_name[64], stream_name[64];
    struct lt_h5_geoid_entry *geoids; /* cfg.geoids points here (n_geoids entries) */
    struct rw_queue q;
    struct lt_recwriter_stats st;
    struct rw_io io;
    struct rw_files files;
    pthread_t thread;
    _Atomic int stopping;
    _Atomic uint64_t stop_deadline_ns; /* set before stopping */

    /* Writer-thread state. */
    hid_t h5;   /* open file, or -1 */
    int fd_buf; /* our descriptors on the open file */
    int fd_direct;
    uint64_t file_payload_bytes; /* recorded_size: dataset bytes in the open file */
    uint32_t file_records;
    struct rw_dset *dset; /* per-record dataset offsets, grown on demand */
    size_t dset_cap;
    const struct lt_rw_record *head; /* record the state below refers to */
    int head_stage;                  /* how far its HDF5 part got (STAGE_*) */
    /* The record behind the head, whose HDF5 part was done while the head's payload was in
     * flight (same file, space checked), with its own dataset offsets. */
    const struct lt_rw_record *ahead;
    int ahead_stage;
    struct rw_dset *dset_ahead;
    size_t dset_ahead_cap;
    int head_waited; /* counted once in space_waits */
    int disk_inhibit;
    unsigned backoff_ms;
    struct rw_rate rate;
    int direct_refused_logged;
    int no_fallocate; /* the filesystem refused fallocate once: not tried again */

    pthread_mutex_t last_mu;
    char last_file[PATH_MAX];
};

void *rw_thread_main(void *arg);
void rw_prepare_ahead(void *arg); /* rw_io.before_last hook: the next record's HDF5 part */
int rw_close_file(struct lt_recwriter *w);

#endif
