/* Reply buffers handed to ZeroMQ: see cell_reply.h. A mutex guards the cache and the reference
 * count; it is taken once per reply and once per buffer ZeroMQ gives back (per trigger, not per
 * frame). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "cell_reply.h"
#include "lt_error.h"

struct trigd_reply_pool {
    pthread_mutex_t mu;
    size_t buf_bytes;
    unsigned keep, n_cached;
    uint8_t **cached; /* keep entries */
    unsigned refs;    /* the creator's + one per buffer out; the pool goes with the last */
    _Atomic uint64_t allocated;
};

static void destroy(struct trigd_reply_pool *p)
{
    for (unsigned i = 0; i < p->n_cached; i++) free(p->cached[i]);
    free(p->cached);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int trigd_reply_pool_create(size_t buf_bytes, unsigned keep, struct trigd_reply_pool **out,
                            char *err, size_t errlen)
{
    struct trigd_reply_pool *p = calloc(1, sizeof *p);
    if (p) p->cached = calloc(keep ? keep : 1, sizeof *p->cached);
    if (!p || !p->cached) {
        free(p);
        lt_seterr(err, errlen, "reply pool: out of memory");
        return LT_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    p->buf_bytes = buf_bytes;
    p->keep = keep;
    p->refs = 1;
    *out = p;
    return 0;
}

/* Drops one reference; the caller must not touch p afterwards. */
static void unref_locked_and_unlock(struct trigd_reply_pool *p)
{
    int last = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    if (last) destroy(p);
}

void trigd_reply_pool_release(struct trigd_reply_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    unref_locked_and_unlock(p);
}

size_t trigd_reply_pool_buf_bytes(const struct trigd_reply_pool *p)
{
    return p->buf_bytes;
}

uint64_t trigd_reply_pool_allocated(const struct trigd_reply_pool *p)
{
    return atomic_load(&p->allocated);
}

uint8_t *trigd_reply_pool_get(struct trigd_reply_pool *p)
{
    pthread_mutex_lock(&p->mu);
    uint8_t *buf = p->n_cached ? p->cached[--p->n_cached] : NULL;
    if (buf) p->refs++;
    pthread_mutex_unlock(&p->mu);
    if (buf) return buf;
    /* Every buffer is out (ZeroMQ or the receiver still holds them): one more, outside the lock
     * so a buffer coming back on another thread does not wait for the allocation. */
    buf = malloc(p->buf_bytes);
    if (!buf) return NULL;
    atomic_fetch_add(&p->allocated, 1);
    pthread_mutex_lock(&p->mu);
    p->refs++;
    pthread_mutex_unlock(&p->mu);
    return buf;
}

void trigd_reply_pool_put(struct trigd_reply_pool *p, uint8_t *buf)
{
    pthread_mutex_lock(&p->mu);
    if (p->n_cached < p->keep) {
        p->cached[p->n_cached++] = buf;
        buf = NULL;
    }
    unref_locked_and_unlock(p);
    free(buf);
}

/* ZeroMQ's free callback: runs on whichever thread drops the last reference to the message. */
static void msg_free(void *data, void *hint)
{
    trigd_reply_pool_put(hint, data);
}

int trigd_reply_pool_msg(struct trigd_reply_pool *p, uint8_t *buf, size_t len, zmq_msg_t *msg)
{
    if (zmq_msg_init_data(msg, buf, len, msg_free, p) != 0) {
        trigd_reply_pool_put(p, buf);
        return LT_ENOMEM;
    }
    return 0;
}
