/* Operator requests to the module thread, and the module-side numbers the operator thread may
 * read. The operator thread never touches the aggregator or the writer: it posts a request here
 * (pause, resume, a manual trigger, new thresholds) and the module thread applies it in its
 * housekeeping, at most one poll period (a few ms) later. In the other direction the module
 * thread copies what the status document needs (writer counters, missing cells, manual trigger
 * numbers) into atomics. */
#ifndef TRIGD_MODULE_MAILBOX_H
#define TRIGD_MODULE_MAILBOX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "aggregator.h"
#include "config.h"
#include "record_sink.h"

struct trigd_module_ctl {
    /* operator -> module */
    _Atomic int paused;           /* requested state */
    _Atomic uint64_t manual_req;  /* manual triggers asked for (count) */
    uint64_t manual_taken;        /* module thread: handed to the aggregator */
    _Atomic int thresholds_dirty; /* new_trigger holds thresholds to apply */
    pthread_mutex_t lock;         /* guards new_trigger */
    struct trigd_trigger_config new_trigger;
    /* module -> operator */
    _Atomic int paused_applied;
    _Atomic uint64_t manual_issued;      /* decisions issued that a manual trigger proposed */
    _Atomic uint64_t manual_last_number; /* trigger number of the last of those */
    _Atomic uint64_t missing_bits[TRIGD_CELL_WORDS];
    _Atomic uint64_t agg_paused; /* decisions dropped while paused */
    _Atomic int writer_valid;
    _Atomic uint64_t wr_queue, wr_queue_capacity, wr_records, wr_failed, wr_bytes, wr_bytes_per_s;
    _Atomic uint64_t wr_files, wr_free, wr_io_mode, wr_errors, wr_inhibit, wr_rejected;
    /* Optional observer of every issued decision (trigctl replay), set before the module
     * starts; runs on the module thread, so it must be quick. */
    void (*on_decision)(void *user, const struct trigd_decision *d);
    void *on_decision_user;
};

void trigd_module_ctl_init(struct trigd_module_ctl *c);
void trigd_module_ctl_destroy(struct trigd_module_ctl *c);

/* Operator thread. */
void trigd_module_ctl_pause(struct trigd_module_ctl *c, int paused);
/* Returns the number to wait for in manual_issued (the current count + 1). */
uint64_t trigd_module_ctl_manual(struct trigd_module_ctl *c);
void trigd_module_ctl_thresholds(struct trigd_module_ctl *c, const struct trigd_trigger_config *t);

/* Module thread, every loop: apply pending requests (cheap when there are none). */
void trigd_module_ctl_service(struct trigd_module_ctl *c, struct trigd_agg *agg);
/* Module thread, about every 100 ms: refresh the numbers the operator reads. */
void trigd_module_ctl_snapshot(struct trigd_module_ctl *c, const struct trigd_agg *agg,
                               struct trigd_record_sink *sink);
/* Module thread: every issued decision passes here. */
void trigd_module_ctl_on_decision(struct trigd_module_ctl *c, const struct trigd_decision *d);

#endif
