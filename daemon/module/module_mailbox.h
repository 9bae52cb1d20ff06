/* Operator requests to the module thread, and the module-side numbers the operator thread may
 * read. The operator thread never touches the aggregator or the writer: it posts a request here
 * (pause, resume, a manual trigger, new thresholds) and the module thread applies it in its
 * housekeeping, at most one poll period (a few ms) later. In the other direction the module
 * thread counts the manual triggers it issued (the trigger command waits for its own); the
 * status counters are the stages' snapshots (trigd_module_snapshot). */
#ifndef TRIGD_MODULE_MAILBOX_H
#define TRIGD_MODULE_MAILBOX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "aggregator.h"
#include "trigger_algos.h"

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
/* Module thread: every issued decision passes here. */
void trigd_module_ctl_on_decision(struct trigd_module_ctl *c, const struct trigd_decision *d);

#endif
