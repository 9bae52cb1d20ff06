/* Fuzz target: the weights-file parser. The first input byte chooses whether the CRC-32 trailer is
 * recomputed first, so mutations also reach the architecture checks behind the checksum. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int fix_crc = data[0] & 1;
    data++;
    size--;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    if (fix_crc && size >= 4) {
        uint32_t crc = lt_weights_crc32(buf, size - 4);
        for (int i = 0; i < 4; i++) buf[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    static struct lt_weights w;
    char err[256];
    lt_weights_parse(buf, size, "<fuzz>", &w, err, sizeof err);
    free(buf);
    return 0;
}
