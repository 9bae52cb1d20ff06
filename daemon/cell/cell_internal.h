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

struct trigd_cell {
    const struct trigd_config *cfg;
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
    const struct trigd_config *cfg;
    void *zctx;
    struct lt_accel *accel;
    uint32_t n;
    struct trigd_cell *cell;
    _Atomic int stop_sources;
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
