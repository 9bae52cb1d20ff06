#include "h5open.h"

#include <stdlib.h>

int trigctl_h5_open(struct lt_h5r **out, const char *path, char *err, size_t errlen)
{
    const char *env = getenv("LARTRIG_H5_OPEN_TIMEOUT");
    unsigned secs = env && atoi(env) > 0 ? (unsigned)atoi(env) : 60;
    int rc = lt_h5r_probe(path, secs, NULL, err, errlen);
    if (rc < 0) return rc;
    return lt_h5r_open(out, path, err, errlen);
}
