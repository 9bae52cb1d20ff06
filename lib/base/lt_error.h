/* Error codes shared by every decoder and I/O module. Functions return 0 (LT_OK) or a negative
 * lt_error; where a human needs more, they also fill a caller-supplied message buffer. */
#ifndef LARTRIG_ERROR_H
#define LARTRIG_ERROR_H

#include <stddef.h>

enum lt_error {
    LT_OK = 0,
    LT_ESHORT = -1,    /* buffer shorter than the format needs */
    LT_EMAGIC = -2,    /* marker / magic word wrong */
    LT_EVERSION = -3,  /* version not supported */
    LT_ERANGE = -4,    /* a field is out of its allowed range */
    LT_EIO = -5,       /* file or socket I/O failed */
    LT_EFORMAT = -6,   /* structurally inconsistent (sizes disagree, missing object, ...) */
    LT_ENOMEM = -7,    /* allocation failed (never on the hot path) */
    LT_EFULL = -8,     /* bounded queue or buffer full */
    LT_ENOTFOUND = -9, /* requested object / data not present */
    LT_EINVAL = -10,   /* invalid argument or configuration */
    LT_ETIMEOUT = -11,
    LT_EUNSUPPORTED = -12,
};

const char *lt_strerror(int err);

/* snprintf into an error buffer when one was supplied (err may be NULL). */
void lt_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
