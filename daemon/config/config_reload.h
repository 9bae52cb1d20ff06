/* Config reload (SIGHUP or the `reload` command): which keys of a freshly read configuration can
 * take effect in a running trigd, and which would need a restart. */
#ifndef TRIGD_CONFIG_RELOAD_H
#define TRIGD_CONFIG_RELOAD_H

#include <jansson.h>

#include "config.h"

/* Compares fresh with running. Keys that can change at run time and differ are copied into
 * *running and their names appended to `applied`; everything else that differs is named in
 * `ignored` (by key for the trigger section, by section otherwise). Returns how many applied. */
int trigd_config_reload_diff(struct trigd_config *running, const struct trigd_config *fresh,
                             json_t *applied, json_t *ignored);

/* Set the process log level from a config string ("error" ... "debug"). */
void trigd_apply_log_level(const char *level);

#endif
