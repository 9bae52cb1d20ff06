/* Bounded record queue between the aggregator and the writer thread. A record stays at the
 * head (peek) until it is on disk, so a record waiting for disk space is still "queued" and
 * counts toward the depth the aggregator's inhibit logic sees. Push never waits: a full queue
 * is the aggregator's signal to inhibit. Records are per trigger, not per frame, so a mutex
 * held for a few instructions is cheap enough here. */
#include "recwriter_int.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "lt_clock.h"
#include "lt_error.h"

int rw_queue_init(struct rw_queue *q, size_t cap)
{
    q->ring = calloc(cap, sizeof *q->ring);
    if (!q->ring) return LT_ENOMEM;
    q->cap = cap;
    q->head = q->count = 0;
    q->stopping = 0;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    return 0;
}

void rw_queue_destroy(struct rw_queue *q)
{
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->ring);
    q->ring = NULL;
}

int rw_queue_push(struct rw_queue *q, struct lt_rw_record *r)
{
    pthread_mutex_lock(&q->mu);
    if (q->count == q->cap) {
        pthread_mutex_unlock(&q->mu);
        return LT_EFULL;
    }
    q->ring[(q->head + q->count) % q->cap] = r;
    q->count++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

struct lt_rw_record *rw_queue_peek_wait(struct rw_queue *q, unsigned timeout_ms)
{
    struct timespec dl = lt_mono_deadline(timeout_ms); /* the condvar runs on CLOCK_MONOTONIC */
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->stopping) {
        if (pthread_cond_timedwait(&q->cv, &q->mu, &dl) == ETIMEDOUT) break;
    }
    struct lt_rw_record *r = q->count ? q->ring[q->head] : NULL;
    pthread_mutex_unlock(&q->mu);
    return r;
}

void rw_queue_pop(struct rw_queue *q)
{
    pthread_mutex_lock(&q->mu);
    if (q->count) {
        q->head = (q->head + 1) % q->cap;
        q->count--;
    }
    pthread_mutex_unlock(&q->mu);
}

size_t rw_queue_count(struct rw_queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->count;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void rw_queue_wake(struct rw_queue *q, int stopping)
{
    pthread_mutex_lock(&q->mu);
    if (stopping) q->stopping = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

struct lt_rw_record *rw_queue_peek_at(struct rw_queue *q, size_t i)
{
    pthread_mutex_lock(&q->mu);
    struct lt_rw_record *r = i < q->count ? q->ring[(q->head + i) % q->cap] : NULL;
    pthread_mutex_unlock(&q->mu);
    return r;
}

void rw_queue_nap(struct rw_queue *q, unsigned ms)
{
    struct timespec dl = lt_mono_deadline(ms);
    pthread_mutex_lock(&q->mu);
    if (!q->stopping) pthread_cond_timedwait(&q->cv, &q->mu, &dl);
    pthread_mutex_unlock(&q->mu);
}
