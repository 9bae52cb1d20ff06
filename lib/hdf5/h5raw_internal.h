/* Helpers shared by h5raw_write.c and h5raw_read.c (and the io_uring writer if it wants them):
 * quiet HDF5 error handling, attribute I/O, the /Truth compound type. Not a public API. */
#ifndef LARTRIG_H5RAW_INTERNAL_H
#define LARTRIG_H5RAW_INTERNAL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "h5raw.h"
#include "truth.h"

/* Switch off HDF5's automatic error-stack printing for the calling thread (the setting is per
 * thread in a thread-safe libhdf5). Every h5raw entry point calls it: a DAQ tool must report
 * "<file>: <object>: what", not a 40-line HDF5 trace. */
void lt_h5_quiet(void);

/* Text of the most specific error on HDF5's current error stack (e.g. "truncated file: eof =
 * ..."), or "" when there is none; clears the stack. */
void lt_h5_last_error(char *buf, size_t len);

/* The one error message of the HDF5 reader and writer: "<path>: <object>: <what>[: <HDF5's own
 * most specific error>]" into the caller's buffer; returns `code` so call sites can
 * `return lt_h5_fail(...)`. with_h5 takes (and clears) HDF5's error stack. */
int lt_h5_fail(const char *path, int code, const char *object, int with_h5, char *err,
               size_t errlen, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Attributes as hdf5libs/HighFive write them: strings are variable-length (H5T_C_S1, scalar
 * dataspace), numbers little-endian unsigned integers of the given width. Return 0 or -1
 * (HDF5 failure; the error stack holds the detail). */
int lt_h5_attr_write_str(hid_t obj, const char *name, const char *value);
int lt_h5_attr_write_uint(hid_t obj, const char *name, uint64_t value, int bytes /* 4 or 8 */);
/* Replace an existing attribute (closing attributes written twice by reopen tools). */
int lt_h5_attr_delete_if_exists(hid_t obj, const char *name);

/* Read back: 0 ok, LT_ENOTFOUND when absent, LT_EFORMAT when of the wrong class or too long
 * (strings longer than len-1 bytes), LT_EIO on an HDF5 read failure. Accept variable- and
 * fixed-length strings and any integer width. */
int lt_h5_attr_read_str(hid_t obj, const char *name, char *buf, size_t len);
/* Same, malloc'ing the string (free() it); refuses strings longer than max_len bytes. */
int lt_h5_attr_read_str_alloc(hid_t obj, const char *name, size_t max_len, char **out);
int lt_h5_attr_read_uint(hid_t obj, const char *name, uint64_t *value);

/* ---- the attributes of a raw-data file (h5raw_attrs.c, their one owner) ---- */
/* The file attributes hdf5libs v2.8.0 (and dfmodules) write at open, with hdf5libs' types
 * (docs/hdf5-layout.md); creation_timestamp is now. 0, or a negative lt_error with `what` set. */
int lt_h5_write_file_attrs(hid_t file, const struct lt_h5_file_attrs *a, char *what, size_t len);
/* recorded_size (u64) and closing_timestamp (decimal-ms string, now). 0 or -1 (HDF5 stack). */
int lt_h5_write_closing_attrs(hid_t file, uint64_t recorded_size);
/* A timestamp attribute: hdf5libs' decimal string, or the integer older lartrig files hold.
 * 0, LT_ENOTFOUND, LT_EFORMAT (neither), LT_EIO. */
int lt_h5_attr_read_ms(hid_t obj, const char *name, uint64_t *value);

/* One fragment dataset of a record, as the record-level SourceID maps need it. */
struct lt_h5_fragment_ref {
    struct lt_source_id source_id;
    uint32_t fragment_type;
    uint16_t detector_id;
};
/* record_header_source_id, source_id_path_map, fragment_type_source_id_map and
 * subdetector_source_id_map of record group `rec_name` (HDF5SourceIDHandler's JSON). */
int lt_h5_write_record_attrs(hid_t group, enum lt_h5_record_type type, const char *rec_name,
                             const struct lt_source_id *header_sid,
                             const struct lt_h5_fragment_ref *frags, size_t n, char *what,
                             size_t len);

/* ---- simulation truth (h5raw_truth.c, its one owner): group /Truth of attribute blocks ---- */
#define LT_H5_TRUTH_BLOCK_ROWS     65536U     /* rows per block the writer writes */
#define LT_H5_TRUTH_MAX_BLOCK_ROWS (1U << 20) /* largest block the reader accepts */

struct lt_h5_truth_writer {
    int started;
    hid_t group, mtype, ftype;
    struct lt_truth *buf; /* one block */
    size_t n_buf;
    uint64_t rows, blocks;
};
/* Rows into the current block (group created on the first call); full blocks are written. The
 * writer struct starts zeroed. 0 or a negative lt_error with `what` set. */
int lt_h5_truth_append(hid_t file, struct lt_h5_truth_writer *tw, const struct lt_truth *rows,
                       size_t n, char *what, size_t len);
/* Last block and n_rows (nothing when no row was ever appended). */
int lt_h5_truth_finish(struct lt_h5_truth_writer *tw, char *what, size_t len);
void lt_h5_truth_writer_close(struct lt_h5_truth_writer *tw); /* handles and buffer */

struct lt_h5_truth_reader {
    hid_t group, dataset; /* one of them: blocks, or a legacy /Truth dataset */
    uint64_t rows, per_block;
    struct lt_truth *block; /* the last block read (block `cached - 1`) */
    uint64_t cached;
};
/* 0 when a truth table is there (tr->rows rows), 1 when the file has none, else a negative
 * lt_error (`what` says why). file_size bounds a legacy dataset's claimed rows. */
int lt_h5_truth_open(hid_t file, uint64_t file_size, struct lt_h5_truth_reader *tr, char *what,
                     size_t len);
int lt_h5_truth_read(struct lt_h5_truth_reader *tr, uint64_t first, struct lt_truth *rows,
                     size_t count, char *what, size_t len);
void lt_h5_truth_close(struct lt_h5_truth_reader *tr);

/* Compound types for struct lt_truth: the in-memory layout and the packed little-endian file
 * layout. The caller closes them with H5Tclose. Return a negative hid_t on failure. */
hid_t lt_h5_truth_mem_type(void);
hid_t lt_h5_truth_file_type(void);

#endif
