/* The status document of docs/monitoring.md, composed from each stage's snapshot of its own
 * counters (cell.h trigd_cells_snapshot, module.h trigd_module_snapshot). Rates (frames/s,
 * candidates/s, triggers/s) are differences between two calls, so the builder keeps the previous
 * sample; one caller at a time (the operator thread). */
#ifndef TRIGD_STATUS_JSON_H
#define TRIGD_STATUS_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "cell.h"
#include "config.h"
#include "module.h"

struct trigd_status_src {
    const struct trigd_config *cfg;
    struct trigd_cells *cells; /* NULL in role module */
    struct trigd_module *mod;  /* NULL in role cell */
    const char *state;         /* running / paused / stopping */
    double uptime_s;
    const char *config_digest;
};

struct trigd_status_rates;

struct trigd_status_rates *trigd_status_rates_new(void);
void trigd_status_rates_free(struct trigd_status_rates *r);

/* The document, or NULL when out of memory. */
json_t *trigd_status_json(const struct trigd_status_src *src, struct trigd_status_rates *r);
/* Summary for systemd's STATUS=, from the same rates (call after trigd_status_json). */
void trigd_status_summary(const struct trigd_status_src *src, const struct trigd_status_rates *r,
                          char *buf, size_t len);

#endif
