/* Shared by runfile_index.c and runfile_read.c (runfile.h): the index of one cell's frames. */
#ifndef LARTRIG_RUNFILE_INTERNAL_H
#define LARTRIG_RUNFILE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct lt_rf_slice {
    uint64_t first_ts; /* DAQEth timestamp of its first frame */
    uint32_t periods;  /* frames per stream */
    uint32_t file;     /* index into lt_rf_index.paths */
};

struct lt_rf_index {
    uint32_t cell, n_streams;
    char **paths; /* the run's files, in order */
    size_t n_files;
    struct lt_rf_slice *slices; /* in time order */
    uint64_t *offsets;          /* [slice][stream]: file offset of the slice's first frame */
    size_t n_slices, cap_slices;
    uint64_t periods;
};

#endif
