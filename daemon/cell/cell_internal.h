/* Shared between cell.c (data thread) and cell_requests.c (request thread). */
#ifndef TRIGD_CELL_INTERNAL_H
#define TRIGD_CELL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "accel.h"
#include "cell.h"
#include "cell_reply.h"
#include "ringbuf.h"
#include "source.h"

/* One cell's live counters, written by its data thread and its request thread (relaxed
 * atomics); trigd_cells_snapshot reads them. */
struct trigd_cell_status {
    uint32_t id;
    _Atomic uint64_t data_loops;    /* iterations of the data thread's loop (watchdog progress) */
    _Atomic int data_finished;      /* the data thread has ended (source at its end, or stopped) */
    _Atomic uint64_t periods;       /* frame periods produced by the source */
    _Atomic uint64_t frames;        /* frames (periods x streams) */
    _Atomic uint64_t source_errors; /* source failures / malformed input (counted, logged) */
    _Atomic uint64_t input_dropped; /* the source's own count: bad datagrams, missing frames */
    _Atomic uint64_t lag_us;        /* pacing: how far the source is behind its schedule */
    _Atomic uint64_t gate_wait_ns;  /* unpaced replay: waited for the trigger to free the ring */
    _Atomic uint64_t data_time;     /* newest period timestamp, ticks */
    _Atomic uint64_t watermark;     /* kernel has processed up to, ticks */
    _Atomic uint64_t ring_capacity;
    _Atomic uint64_t candidates;     /* found by the kernel */
    _Atomic uint64_t kernel_dropped; /* candidates that did not fit a collect */
    _Atomic uint64_t msgs_sent;
    _Atomic uint64_t msgs_dropped;       /* PUSH would block (module slow or gone) */
    _Atomic uint64_t cands_dropped;      /* candidates inside dropped messages */
    _Atomic uint64_t requests;           /* data requests answered */
    _Atomic uint64_t requests_bad;       /* malformed / misaddressed requests dropped */
    _Atomic uint64_t replies_not_found;  /* kDataNotFound answers */
    _Atomic uint64_t replies_incomplete; /* kIncomplete answers */
    _Atomic uint64_t replies_dropped;    /* could not be sent */
};

struct trigd_cell {
    const struct trigd_cells_config *cfg; /* the owner's copy of the slice */
    struct trigd_cells *owner;
    uint32_t index; /* in cfg->cells */
    uint32_t id;
    uint32_t n_streams;
    struct trigd_source *source;
    struct lt_ringbuf *ring;
    int slot;     /* accelerator slot */
    void *push;   /* data thread's PUSH socket */
    void *dealer; /* request thread's DEALER socket */
    pthread_t data_thread, req_thread;
    int data_started, req_started;
    _Atomic int data_done;
    struct trigd_cell_status st;
    /* data thread */
    struct lt_candidate *cands;
    uint8_t *msg;
    size_t msg_cap;
    uint64_t seq_cand, seq_hb;
    uint64_t watermark;
    /* request thread */
    lt_wibeth_frame **dst; /* per stream: where the window read puts its frames */
    uint32_t max_periods;
    struct trigd_reply_pool *replies; /* reply buffers handed to ZeroMQ (cell_reply.h) */
    size_t reply_cap;
    uint64_t seq_reply;
};

struct trigd_cells {
    struct trigd_cells_config cfg; /* its own slice, copied */
    void *zctx;
    struct lt_accel *accel;
    uint32_t n;
    struct trigd_cell *cell;
    _Atomic int stop_sources;
    const _Atomic uint64_t *ring_gate; /* trigd_cells_set_ring_gate; NULL = never wait */
    _Atomic int stop_requests;
};

void *trigd_cell_request_main(void *arg);
/* Limits of every data socket (message size, handshake time) and, on tcp without
 * endpoints.insecure, CURVE with this cell's key (cell_sockets.c). */
int trigd_cell_socket_setup(struct trigd_cell *c, void *sock, int64_t max_msg, char *err,
                            size_t errlen);
int trigd_cell_requests_init(struct trigd_cell *c, char *err, size_t errlen);
void trigd_cell_requests_free(struct trigd_cell *c);

#endif
