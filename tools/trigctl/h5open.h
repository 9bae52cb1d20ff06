/* Opening a user-supplied HDF5 file from trigctl with a watchdog: libhdf5 1.10.8 can loop
 * forever on some corrupt files (tests/fuzz/known-libhdf5/), so a command that opens a file ends
 * with a clear message instead of hanging. LARTRIG_H5_OPEN_TIMEOUT (seconds, default 60). */
#ifndef LARTRIG_TRIGCTL_H5OPEN_H
#define LARTRIG_TRIGCTL_H5OPEN_H

#include <stddef.h>

#include "h5raw.h"

int trigctl_h5_open(struct lt_h5r **out, const char *path, char *err, size_t errlen);

#endif
