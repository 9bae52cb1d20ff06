/* Streaming reader of run files (TimeSlice records of WIBEth fragments, h5raw.h) for one cell:
 * the frame periods of the cell, all streams of one timestamp at a time, in time order, across
 * the files of a run, with a bounded read-ahead. The mirror image of the record writer:
 *
 *   index (runfile_index.c): HDF5 is asked once, at open, where each fragment dataset of the
 *       cell lies in its file (contiguous datasets: H5Dget_offset; metadata and the 72-byte
 *       fragment headers only). The files of a run must continue each other in time.
 *   read (runfile_read.c): the payload bytes are read with io_uring (O_DIRECT where the file
 *       system allows it, the reads widened to 4 KiB alignment) into a few preallocated chunk
 *       buffers (read-ahead), or with pread when io_uring is unavailable (ENOSYS, EPERM) or
 *       forced (LARTRIG_FORCE_PREAD=1). No HDF5 call and no HDF5 lock on the data path, so a
 *       cell never waits for the record writer's HDF5 work.
 *
 * Memory: the read-ahead (options.read_ahead_bytes, rounded to whole frames and chunks) plus
 * the index (a few bytes per stream per TimeSlice), whatever the size of the run.
 *
 * Threads: building an index calls HDF5 (call it before the pipeline's threads start, like any
 * HDF5 reader here); a reader belongs to one thread (the cell's data thread). The process-wide
 * totals (lt_rf_totals) may be read from any thread.
 *
 * Errors: 0 or a negative lt_error, with a message naming the file in err. A file that is not a
 * run file, lacks streams of the cell, is truncated (data past its end) or does not continue
 * the previous file's time is refused at open; a read that fails or comes back short later is
 * an LT_EIO from lt_rf_next (never a crash, never silently wrong frames). */
#ifndef LARTRIG_RUNFILE_H
#define LARTRIG_RUNFILE_H

#include <stddef.h>
#include <stdint.h>

#include "wibeth.h"

struct lt_rf_index;
struct lt_rf_reader;

/* Index the WIBEth fragments of `cell` (n_streams streams, source ids cell/stream) in the run
 * files paths[0 .. n_paths), in that order. Every TimeSlice that holds the cell must hold all
 * of its streams with the same frame count; each file's first slice of the cell must start
 * where the previous file's last one ended (continuity of timestamps across files); all files
 * must carry the same run number. */
int lt_rf_index_build(const char *const *paths, size_t n_paths, uint32_t cell, uint32_t n_streams,
                      struct lt_rf_index **out, char *err, size_t errlen);
void lt_rf_index_free(struct lt_rf_index *ix);
uint64_t lt_rf_index_periods(const struct lt_rf_index *ix); /* frame periods of the cell */
uint64_t lt_rf_index_bytes(const struct lt_rf_index *ix);   /* frame bytes of the cell */

/* Order the run files of a directory: every "*.hdf5" / "*.h5" in it, sorted by name (DUNE's
 * names sort by run and file index). *out is a NULL-terminated malloc'd list of malloc'd paths
 * (lt_rf_free_list); LT_ENOTFOUND when there is none. */
int lt_rf_list_dir(const char *dir, char ***out, size_t *n, char *err, size_t errlen);
void lt_rf_free_list(char **list);

enum lt_rf_io_mode { LT_RF_IO_URING = 0, LT_RF_IO_PREAD = 1 };

struct lt_rf_options {
    uint64_t read_ahead_bytes; /* chunk buffers of the reader; 0 = 64 MiB */
    int force_pread;           /* 1: pread even where io_uring works (also LARTRIG_FORCE_PREAD=1) */
};

/* Take over ix (freed with the reader, also on error). */
int lt_rf_reader_open(struct lt_rf_reader **out, struct lt_rf_index *ix,
                      const struct lt_rf_options *opt, char *err, size_t errlen);
/* Copy the next period's frames (n_streams of them) to frames and set *ts (the DAQEth
 * timestamp of stream 0). Returns 1, LT_ENOTFOUND after the last period, LT_EIO when a read
 * failed (the message is in lt_rf_reader_error). Blocks only while the chunk it needs is still
 * being read. */
int lt_rf_next(struct lt_rf_reader *r, lt_wibeth_frame *frames, uint64_t *ts);
const char *lt_rf_reader_error(const struct lt_rf_reader *r);
void lt_rf_reader_close(struct lt_rf_reader *r);

struct lt_rf_stats {
    uint64_t bytes_read;   /* from the files, including the alignment margins */
    uint64_t frame_bytes;  /* frames delivered */
    uint64_t read_wait_ns; /* time lt_rf_next waited for a chunk (io_uring) or read it (pread) */
    uint64_t readers_uring, readers_pread, readers_direct; /* readers opened per mode */
    uint64_t memory_bytes; /* read-ahead buffers currently allocated */
    uint64_t read_errors;  /* readers stopped by a failed or short read */
};
enum lt_rf_io_mode lt_rf_reader_mode(const struct lt_rf_reader *r);
int lt_rf_reader_direct(const struct lt_rf_reader *r); /* 1: O_DIRECT reads */
/* Totals of every reader of the process (for the replay report). */
void lt_rf_totals(struct lt_rf_stats *out);

#endif
