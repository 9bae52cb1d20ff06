/* Fuzz target: the DUNE-DAQ headers (FragmentHeader, TRH, ComponentRequest, TimeSliceHeader,
 * SourceID). The first byte picks the decoder. A successful decode must re-encode, the encoding
 * must decode again and re-encode to the same bytes (padding bytes of the input are not kept, so
 * the input itself is not compared). */
#include <stdint.h>
#include <string.h>

#include "daqfmt.h"

#define ROUND_TRIP(type, decode, encode, size)                                                     \
    do {                                                                                           \
        type a, b;                                                                                 \
        uint8_t e1[128], e2[128];                                                                  \
        if (decode(data, size_in, &a, err, sizeof err) != 0) return 0;                             \
        if (encode(&a, e1, sizeof e1) != 0) __builtin_trap();                                      \
        if (decode(e1, size, &b, err, sizeof err) != 0) __builtin_trap();                          \
        if (encode(&b, e2, sizeof e2) != 0 || memcmp(e1, e2, size) != 0) __builtin_trap();         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t kind = data[0] % 5;
    data++;
    size_t size_in = size - 1;
    char err[256];
    switch (kind) {
    case 0:
        ROUND_TRIP(struct lt_fragment_header, lt_fragment_header_decode, lt_fragment_header_encode,
                   LT_FRAGMENT_HEADER_SIZE);
        break;
    case 1:
        ROUND_TRIP(struct lt_trigger_record_header, lt_trh_decode, lt_trh_encode, LT_TRH_SIZE);
        break;
    case 2:
        ROUND_TRIP(struct lt_component_request, lt_component_request_decode,
                   lt_component_request_encode, LT_COMPONENT_REQUEST_SIZE);
        break;
    case 3:
        ROUND_TRIP(struct lt_timeslice_header, lt_tsh_decode, lt_tsh_encode, LT_TSH_SIZE);
        break;
    default:
        ROUND_TRIP(struct lt_source_id, lt_source_id_decode, lt_source_id_encode,
                   LT_SOURCE_ID_SIZE);
        break;
    }
    return 0;
}
