/* Running trigd in one of its roles until a signal (or the end of the data), then the orderly
 * shutdown: stop the sources, finish the decisions in flight, write every accepted record. */
#ifndef TRIGD_RUN_H
#define TRIGD_RUN_H

#include <stdint.h>

#include "pipeline.h"

/* sel: the configuration's i-th cell runs here when sel[i] (NULL = all). Returns the process exit
 * status. */
int trigd_run(const struct lt_pipeline_config *cfg, const uint8_t *sel, double status_interval_s);

#endif
