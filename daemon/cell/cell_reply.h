/* How a cell answers a DATA_REQUEST without copying its window more than once: the frames go
 * from the latency ring straight to their place in the DATA_REPLY (cell_reply_window.c), and
 * that buffer is handed to ZeroMQ as it is, with a free callback (cell_reply_pool.c). A 2.25 ms
 * window of a 40-stream cell is ~20 MB; before, it was copied ring -> scratch -> message ->
 * ZeroMQ's own copy.
 *
 * The reply's bytes belong to ZeroMQ from the send until ZeroMQ calls the free callback, which
 * may be much later and on another thread: over inproc the receiving module keeps the message
 * (its fragments are written from it) until the record is on disk. So the buffers come from a
 * pool that outlives the cell: the cell and every buffer out hold a reference, and the last one
 * returned frees it. The pool keeps a few buffers (already faulted in) for the next replies and
 * allocates another only while all are out, which is what ZeroMQ's zmq_send did for every
 * reply before. */
#ifndef TRIGD_CELL_REPLY_H
#define TRIGD_CELL_REPLY_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "ringbuf.h"

/* ---- reply buffers handed to ZeroMQ (cell_reply_pool.c) ---- */

struct trigd_reply_pool;

/* Buffers of buf_bytes; keep = how many returned buffers are cached for reuse (the rest are
 * freed). 0 or LT_ENOMEM with a message. */
int trigd_reply_pool_create(size_t buf_bytes, unsigned keep, struct trigd_reply_pool **out,
                            char *err, size_t errlen);
/* Drops the creator's reference. Buffers still held by ZeroMQ keep the pool alive until they
 * come back. NULL is ignored. */
void trigd_reply_pool_release(struct trigd_reply_pool *p);

size_t trigd_reply_pool_buf_bytes(const struct trigd_reply_pool *p);
/* Buffers allocated over the pool's life (the figure that shows whether `keep` suffices). */
uint64_t trigd_reply_pool_allocated(const struct trigd_reply_pool *p);

/* A buffer for the next reply: a cached one, or a new allocation when every buffer is out.
 * NULL when out of memory. Called by one thread (the cell's request thread). */
uint8_t *trigd_reply_pool_get(struct trigd_reply_pool *p);
/* Give back a buffer that was not handed to ZeroMQ. Any thread. */
void trigd_reply_pool_put(struct trigd_reply_pool *p, uint8_t *buf);
/* Wrap len bytes of buf (from trigd_reply_pool_get) in msg without copying; from now on ZeroMQ
 * owns the bytes and returns the buffer to the pool when done with it (also when the send
 * fails and the caller closes msg). 0, or LT_ENOMEM (then the buffer is back in the pool and
 * msg is not initialised). */
int trigd_reply_pool_msg(struct trigd_reply_pool *p, uint8_t *buf, size_t len, zmq_msg_t *msg);

/* ---- the window, copied once (cell_reply_window.c) ---- */

/* Largest DATA_REPLY of n_streams fragments of at most max_periods frames each. */
size_t trigd_reply_max_bytes(uint32_t n_streams, uint32_t max_periods);

/* Read the frames overlapping [begin, end) (at most max_periods per stream) straight into the
 * payload places of a DATA_REPLY of n_streams equal fragments in buf (at least
 * trigd_reply_max_bytes), as lt_msg_reply_payload_offset lays them out. The caller then writes
 * the header and the fragment headers (lt_msg_reply_begin, lt_msg_reply_reserve_fragment with
 * *n_periods frames each), which leaves the frames where they are. dst: n_streams pointers of
 * scratch space (the read's destinations). Returns the lt_ringbuf_flags of the read.
 * Threads: any reader thread of the ring (see ringbuf.h). */
unsigned trigd_reply_read_window(struct lt_ringbuf *ring, uint64_t begin, uint64_t end,
                                 uint32_t max_periods, uint8_t *buf, lt_wibeth_frame **dst,
                                 uint32_t *n_periods);

#endif
