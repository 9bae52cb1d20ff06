/* The window of a reply, copied once: ring -> its place in the DATA_REPLY. See cell_reply.h. */
#include <string.h>

#include "cell_reply.h"
#include "msg.h"

size_t trigd_reply_max_bytes(uint32_t n_streams, uint32_t max_periods)
{
    /* The payload offset of the fragment one past the last, less that fragment's header. */
    return lt_msg_reply_payload_offset(n_streams, (size_t)max_periods * sizeof(lt_wibeth_frame)) -
           LT_FRAGMENT_HEADER_SIZE;
}

unsigned trigd_reply_read_window(struct lt_ringbuf *ring, uint64_t begin, uint64_t end,
                                 uint32_t max_periods, uint8_t *buf, lt_wibeth_frame **dst,
                                 uint32_t *n_periods)
{
    const uint32_t ns = lt_ringbuf_streams(ring);
    const size_t frame = sizeof(lt_wibeth_frame);
    /* The layout depends on the frame count, so count first and read into that layout. Data
     * that arrives in between is not read (the reply says kIncomplete, as it would have a
     * moment earlier); periods the producer laps meanwhile are dropped by the read. */
    uint32_t want = lt_ringbuf_count(ring, begin, end);
    if (want > max_periods) want = max_periods;
    for (uint32_t s = 0; s < ns; s++)
        dst[s] = (lt_wibeth_frame *)(buf + lt_msg_reply_payload_offset(s, want * frame));
    unsigned flags = lt_ringbuf_read(ring, begin, end, dst, want, n_periods);
    const uint32_t n = *n_periods;
    if (n < want) {
        /* The producer lapped the oldest periods while they were copied: close the layout up to
         * n frames per fragment. Rare (read_races in the ring's stats), and each fragment only
         * moves down, so ascending order never overwrites one not yet moved. */
        for (uint32_t s = 1; s < ns; s++)
            memmove(buf + lt_msg_reply_payload_offset(s, n * frame), dst[s], n * frame);
    }
    return flags;
}
