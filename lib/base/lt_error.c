#include "lt_error.h"

#include <stdarg.h>
#include <stdio.h>

const char *lt_strerror(int err)
{
    switch (err) {
    case LT_OK:
        return "ok";
    case LT_ESHORT:
        return "buffer too short";
    case LT_EMAGIC:
        return "bad magic/marker";
    case LT_EVERSION:
        return "unsupported version";
    case LT_ERANGE:
        return "field out of range";
    case LT_EIO:
        return "I/O error";
    case LT_EFORMAT:
        return "malformed data";
    case LT_ENOMEM:
        return "out of memory";
    case LT_EFULL:
        return "queue full";
    case LT_ENOTFOUND:
        return "not found";
    case LT_EINVAL:
        return "invalid argument";
    case LT_ETIMEOUT:
        return "timed out";
    case LT_EUNSUPPORTED:
        return "unsupported";
    default:
        return "unknown error";
    }
}

void lt_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
