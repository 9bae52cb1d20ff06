/* Fuzz target: a received buffer validated as a WIBEth frame, then unpacked both ways. */
#include <stdint.h>
#include <string.h>

#include "wibeth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (lt_wibeth_validate(data, size, err, sizeof err) != 0) return 0;
    lt_wibeth_frame f;
    memcpy(&f, data, sizeof f);
    static uint16_t a[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS],
        b[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS];
    lt_wibeth_unpack(&f, a);
    lt_wibeth_unpack_scalar(&f, b);
    if (memcmp(a, b, sizeof a) != 0) __builtin_trap(); /* SIMD and scalar must agree */
    struct lt_daqeth_header h;
    lt_daqeth_decode(&f, &h);
    return 0;
}
