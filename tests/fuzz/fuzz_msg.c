/* Fuzz target: our ZeroMQ messages (candidates, heartbeats, data requests and replies) as the
 * aggregator and the cells decode them. A valid decode is re-walked completely. */
#include <stdint.h>
#include <string.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lt_msg_view v;
    char err[256];
    if (lt_msg_decode(data, size, &v, err, sizeof err) != 0) return 0;
    if (v.hdr.type == LT_MSG_CANDIDATES) {
        for (uint32_t i = 0; i < v.hdr.count; i++) {
            struct lt_candidate c;
            lt_msg_candidate(&v, i, &c);
            if (c.time_start > c.time_peak || c.time_peak > c.time_end) __builtin_trap();
        }
    } else if (v.hdr.type == LT_MSG_DATA_REPLY) {
        struct lt_msg_frag_iter it;
        lt_msg_frag_iter_init(&v, &it);
        struct lt_fragment_header h;
        const uint8_t *payload;
        size_t len;
        uint32_t n = 0;
        while (lt_msg_frag_next(&it, &h, &payload, &len)) {
            if (payload < data || payload + len > data + size) __builtin_trap();
            n++;
        }
        if (n != v.hdr.count) __builtin_trap();
    }
    return 0;
}
