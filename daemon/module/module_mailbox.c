/* Operator requests to the module thread: see module_mailbox.h. */
#include "module_mailbox.h"

#include <string.h>

#include "log.h"

void trigd_module_ctl_init(struct trigd_module_ctl *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
}

void trigd_module_ctl_destroy(struct trigd_module_ctl *c)
{
    pthread_mutex_destroy(&c->lock);
}

void trigd_module_ctl_pause(struct trigd_module_ctl *c, int paused)
{
    atomic_store(&c->paused, paused);
}

uint64_t trigd_module_ctl_manual(struct trigd_module_ctl *c)
{
    uint64_t want = atomic_load(&c->manual_issued) + 1;
    atomic_fetch_add(&c->manual_req, 1);
    return want;
}

void trigd_module_ctl_thresholds(struct trigd_module_ctl *c, const struct trigd_trigger_config *t)
{
    pthread_mutex_lock(&c->lock);
    c->new_trigger = *t;
    atomic_store(&c->thresholds_dirty, 1);
    pthread_mutex_unlock(&c->lock);
}

void trigd_module_ctl_service(struct trigd_module_ctl *c, struct trigd_agg *agg)
{
    int p = atomic_load(&c->paused);
    if (p != atomic_load(&c->paused_applied)) {
        trigd_agg_set_paused(agg, p);
        atomic_store(&c->paused_applied, p);
        LT_INFO("triggering %s by the operator", p ? "paused" : "resumed");
    }
    if (atomic_exchange(&c->thresholds_dirty, 0)) {
        pthread_mutex_lock(&c->lock);
        trigd_agg_set_thresholds(agg, &c->new_trigger);
        pthread_mutex_unlock(&c->lock);
    }
    uint64_t req = atomic_load(&c->manual_req);
    if (req != c->manual_taken) {
        /* "Now" in data time is the decided horizon: its data is in every ring, and the
         * decision goes out as soon as the horizon has passed its readout window. */
        struct trigd_agg_stats st;
        trigd_agg_get_stats(agg, &st);
        /* Before the first decision horizon no data has been decided on: keep the request
         * until there is a "now" whose data the cells hold. */
        if (st.horizon)
            for (; c->manual_taken < req; c->manual_taken++) trigd_agg_manual(agg, st.horizon);
    }
}

void trigd_module_ctl_on_decision(struct trigd_module_ctl *c, const struct trigd_decision *d)
{
    if (d->algorithms & (1U << LT_ALGO_MANUAL)) {
        atomic_store(&c->manual_last_number, d->trigger_number);
        atomic_fetch_add(&c->manual_issued, 1);
    }
}
