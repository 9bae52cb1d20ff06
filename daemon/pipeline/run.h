/* Running trigd in one of its roles until a signal (or the end of the data), then the orderly
 * shutdown: stop the sources, finish the decisions in flight, write every accepted record. */
#ifndef TRIGD_RUN_H
#define TRIGD_RUN_H

#include <stdint.h>

#include "config.h"

/* sel: cfg->cells[i] runs here when sel[i] (NULL = all). Returns the process exit status. */
int trigd_run(const struct trigd_config *cfg, const uint8_t *sel, double status_interval_s);

#endif
