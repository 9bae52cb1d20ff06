/* Config reload (SIGHUP or the `reload` command): which keys of a freshly read configuration can
 * take effect in a running trigd, and which would need a restart. */
#ifndef TRIGD_CONFIG_RELOAD_H
#define TRIGD_CONFIG_RELOAD_H

#include <jansson.h>

#include "config.h"

/* What a reload can change in a running trigd (starts as the configuration's own values). */
struct trigd_live_config {
    struct trigd_trigger_config trigger; /* its thresholds are live, the rest as started */
    char log_level[sizeof(((struct trigd_config *)0)->log_level)];
};

void trigd_live_config_init(struct trigd_live_config *live, const struct trigd_config *started);

/* Compares fresh with what runs (started, with live on top). Keys that can change at run time
 * and differ are copied into *live and their names appended to `applied`; everything else that
 * differs is named in `ignored` (by key for the trigger section, by section otherwise). Returns
 * how many applied. */
int trigd_config_reload_diff(const struct trigd_config *started, struct trigd_live_config *live,
                             const struct trigd_config *fresh, json_t *applied, json_t *ignored);

/* Set the process log level from a config string ("error" ... "debug"). */
void trigd_apply_log_level(const char *level);

#endif
