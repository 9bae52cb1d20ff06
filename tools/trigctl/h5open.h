/* Opening a user-supplied HDF5 file from trigctl. Damaged metadata can crash libhdf5 1.10.8, make
 * it allocate without bound or loop forever (tests/fuzz/known-libhdf5/), before any check of ours
 * runs. So the file is first read completely in a child process (lt_h5r_probe, bounded by
 * LARTRIG_H5_OPEN_TIMEOUT seconds, default 60), and opened in this process only when that child
 * read it cleanly. Call before starting threads (the probe forks). */
#ifndef LARTRIG_TRIGCTL_H5OPEN_H
#define LARTRIG_TRIGCTL_H5OPEN_H

#include <stddef.h>

#include "h5raw.h"

int trigctl_h5_open(struct lt_h5r **out, const char *path, char *err, size_t errlen);

#endif
