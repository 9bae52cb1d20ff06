/* Helpers shared by h5raw_write.c and h5raw_read.c (and the io_uring writer if it wants them):
 * quiet HDF5 error handling, attribute I/O, the /Truth compound type. Not a public API. */
#ifndef LARTRIG_H5RAW_INTERNAL_H
#define LARTRIG_H5RAW_INTERNAL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* Switch off HDF5's automatic error-stack printing for the calling thread (the setting is per
 * thread in a thread-safe libhdf5). Every h5raw entry point calls it: a DAQ tool must report
 * "<file>: <object>: what", not a 40-line HDF5 trace. */
void lt_h5_quiet(void);

/* Text of the most specific error on HDF5's current error stack (e.g. "truncated file: eof =
 * ..."), or "" when there is none; clears the stack. */
void lt_h5_last_error(char *buf, size_t len);

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

/* Compound types for struct lt_truth: the in-memory layout and the packed little-endian file
 * layout. The caller closes them with H5Tclose. Return a negative hid_t on failure. */
hid_t lt_h5_truth_mem_type(void);
hid_t lt_h5_truth_file_type(void);

#endif
