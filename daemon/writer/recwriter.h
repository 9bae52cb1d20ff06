/* Record writer: a thread that takes assembled trigger records from a bounded queue and writes
 * them as DUNE hdf5libs-layout HDF5 files, with the bulk fragment bytes going through io_uring.
 *
 * HDF5 writes only metadata (groups, attributes, dataset headers). Each record's datasets are
 * created contiguous with space allocated at creation and no fill, the file is flushed, and the
 * payload bytes are then written by io_uring at the offsets HDF5 reports (H5Dget_offset), from
 * a registered, page-aligned staging pool: O_DIRECT for the 4 KiB-aligned body of a dataset,
 * the normal descriptor for its tail, and an fdatasync linked behind the record's last write.
 * Without io_uring (ENOSYS, EPERM under seccomp, kernel.io_uring_disabled) the same plan is
 * carried out with pwritev from the writer thread; status and the log say which mode is used.
 *
 * Threads: lt_recwriter_enqueue, lt_recwriter_inhibited and lt_recwriter_status are safe from
 * any thread and never block on I/O. Debian's libhdf5 is built thread-safe, i.e. with one global
 * lock around every call: any HDF5 user elsewhere in the process would stall behind the writer's
 * metadata work (and the writer behind it), so while a writer runs, keep other HDF5 use off
 * real-time threads; trigd touches HDF5 elsewhere only before lt_recwriter_start.
 *
 * Ownership: a record and everything it points at belong to the caller again when its done()
 * callback runs (on the writer thread, after the bytes are on disk or the record failed).
 *
 * Files: <env>_raw_run<NNNNNN>_<NNNN>_<writer>_<YYYYMMDDTHHMMSS>.hdf5, carrying a ".writing"
 * suffix until the file is closed, fsynced and renamed (and the directory fsynced). A record is
 * never split across files; files roll over by size and by record count. See docs/writer.md. */
#ifndef LARTRIG_RECWRITER_H
#define LARTRIG_RECWRITER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "daqfmt.h"
#include "h5raw.h"

/* One fragment: its header (size is checked against LT_FRAGMENT_HEADER_SIZE + payload_len)
 * and the payload bytes that follow it in the dataset. payload may be NULL when payload_len
 * is 0 (e.g. a kDataNotFound fragment). */
struct lt_rw_fragment {
    struct lt_fragment_header hdr;
    const void *payload;
    size_t payload_len;
};

struct lt_rw_record;
/* status: 0 when the record is durably in a file, else a negative lt_error. */
typedef void (*lt_rw_done_fn)(struct lt_rw_record *rec, int status, void *user);

/* An assembled trigger record. trh.num_requested_components must equal n_requests. */
struct lt_rw_record {
    struct lt_trigger_record_header trh;
    const struct lt_component_request *requests;
    size_t n_requests;
    const struct lt_rw_fragment *frags;
    size_t n_frags;
    lt_rw_done_fn done; /* may be NULL */
    void *user;
};

enum lt_rw_io_mode {
    LT_RW_IO_NONE = 0,
    LT_RW_IO_URING = 1,
    LT_RW_IO_PWRITEV = 2,
};

struct lt_recwriter_config {
    const char *out_dir;             /* must exist */
    const char *env;                 /* operational environment: file name prefix ("lartrig") */
    const char *writer_name;         /* "<writer>" part of the file name ("recwriter") */
    const char *application_name;    /* file attribute application_name ("trigd") */
    const char *offline_data_stream; /* file attribute ("physics") */
    int run_was_for_test_purposes;   /* file attribute, "true"/"false" */
    /* SourceID -> GeoID entries of every stream the records carry, for the file attribute
     * source_id_geo_id_map (hdf5libs keeps that map per file only). Copied at start. */
    const struct lt_h5_geoid_entry *geoids;
    size_t n_geoids;
    uint32_t run_number;
    size_t queue_capacity;       /* records the queue holds before enqueue says LT_EFULL */
    uint64_t max_file_bytes;     /* roll over before a record that would pass this */
    uint32_t max_file_records;   /* roll over after this many records (0: no limit) */
    double free_space_factor;    /* need free >= factor x record bytes + margin */
    uint64_t free_space_margin;  /* bytes kept free on top (HDF5 metadata, other users) */
    uint32_t staging_slots;      /* registered staging buffers */
    uint32_t staging_slot_bytes; /* size of each, multiple of 4096 */
    uint32_t align_threshold;    /* datasets >= this start on a 4096-byte boundary */
    int use_direct;              /* O_DIRECT for aligned bodies (falls back when refused) */
    int sync_each_record;        /* fdatasync linked behind each record's last write */
    int force_pwritev;           /* skip io_uring (also env LARTRIG_FORCE_PWRITEV=1) */
    unsigned backoff_min_ms, backoff_max_ms; /* retry delay when space is short or I/O fails */
    /* Called on the writer thread when disk-side inhibit turns on (1) or off (0). */
    void (*inhibit_cb)(int inhibit, void *user);
    void *inhibit_user;
};

/* Live counters, written by the writer thread (and enqueue), read by anyone. */
struct lt_recwriter_stats {
    _Atomic uint64_t queue_depth;
    _Atomic uint64_t queue_capacity;
    _Atomic uint64_t records_accepted; /* enqueued */
    _Atomic uint64_t records_rejected; /* enqueue returned LT_EFULL */
    _Atomic uint64_t records_invalid;  /* enqueue returned LT_EINVAL */
    _Atomic uint64_t records_written;
    _Atomic uint64_t records_failed; /* done() with an error (duplicate, stop timeout) */
    _Atomic uint64_t bytes_written;  /* record payload bytes (dataset contents) */
    _Atomic uint64_t bytes_per_s;    /* smoothed write rate */
    _Atomic uint64_t files_closed;   /* renamed to their final name */
    _Atomic uint64_t file_index;     /* index of the open (or next) file */
    _Atomic uint64_t free_bytes;     /* at the last check */
    _Atomic uint64_t io_mode;        /* enum lt_rw_io_mode */
    _Atomic uint64_t io_errors;      /* failed writes/syncs (each retried) */
    _Atomic uint64_t enospc;         /* ENOSPC seen from the kernel */
    _Atomic uint64_t space_waits;    /* records held back because free space was short */
    _Atomic uint64_t retries;
    _Atomic uint64_t short_writes;     /* resubmitted remainders */
    _Atomic uint64_t leftover_writing; /* .writing files of this run found at start */
    _Atomic uint64_t close_failures;   /* files left as .writing because closing failed */
    _Atomic int inhibit;               /* disk-side inhibit (space short or I/O failing) */
};

/* Plain copy of the counters for status output. */
struct lt_recwriter_status {
    uint64_t queue_depth, queue_capacity, records_accepted, records_rejected, records_invalid;
    uint64_t records_written, records_failed, bytes_written, bytes_per_s, files_closed;
    uint64_t file_index, free_bytes, io_errors, enospc, space_waits, retries, short_writes;
    uint64_t leftover_writing, close_failures;
    enum lt_rw_io_mode io_mode;
    int inhibit; /* disk-side inhibit or queue above its high-water mark */
};

struct lt_recwriter;

void lt_recwriter_config_defaults(struct lt_recwriter_config *c);

/* Scans out_dir for this run's files (next index; leftover .writing files are reported and
 * left alone), sets up the I/O backend and starts the thread. */
int lt_recwriter_start(struct lt_recwriter **out, const struct lt_recwriter_config *c, char *err,
                       size_t errlen);

/* Non-blocking: LT_EFULL when the queue is full (the caller inhibits), LT_EINVAL for a record
 * that is inconsistent (sizes, counts), with the reason logged (rate-limited). On success the
 * record is the writer's until its done() callback. */
int lt_recwriter_enqueue(struct lt_recwriter *w, struct lt_rw_record *rec);

/* 1 when the aggregator should inhibit triggers: disk-side trouble or a queue above 3/4. */
int lt_recwriter_inhibited(const struct lt_recwriter *w);

const struct lt_recwriter_stats *lt_recwriter_stats(const struct lt_recwriter *w);
void lt_recwriter_status(const struct lt_recwriter *w, struct lt_recwriter_status *out);
const char *lt_rw_io_mode_name(enum lt_rw_io_mode m);

/* The status as a JSON object (jansson json_t, caller owns the reference) for the monitor:
 * {"queue_depth":..,"queue_capacity":..,"records_written":..,"bytes_written":..,
 *  "mb_per_s":..,"files_closed":..,"file_index":..,"free_bytes":..,"io_mode":"io_uring",
 *  "io_errors":..,"enospc":..,"space_waits":..,"inhibit":true,...}. NULL on allocation failure. */
struct json_t;
struct json_t *lt_recwriter_status_json(const struct lt_recwriter_status *st);

/* Path of the last file renamed to its final name ("" if none); for tests and status. */
void lt_recwriter_last_file(const struct lt_recwriter *w, char *buf, size_t len);

/* Drains the queue (writing everything accepted), closes and renames the open file, joins the
 * thread and frees the writer. Records still unwritten after timeout_ms get done(LT_ETIMEOUT),
 * are counted in records_failed and logged: whether the disk stays full or fails (retry
 * backoffs never sleep past the deadline) or is merely slower than the queue (the record being
 * written is given up between two staging chunks and its group removed from the file). The
 * stop then takes timeout_ms plus the writes already in flight (at most the staging pool) and
 * the close (H5Fclose, fsync, rename); a device that never completes I/O holds the thread in
 * the kernel, which no process can interrupt. Returns 0, or LT_EIO when any file of this writer
 * had to be left with its .writing name (close_failures > 0). */
int lt_recwriter_stop(struct lt_recwriter *w, unsigned timeout_ms);

#endif
