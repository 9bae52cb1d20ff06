/* Health words for the status document (docs/monitoring.md, "Health"): a cell and the module are
 * "ok", "degraded" or "failing", each with the reason an operator can act on. Computed from the
 * document's own fields (losses, missing cells, writer state, and a cell's clock-fault state in
 * whatever field the data plane reports it), so it follows the document rather than trigd's
 * internals. The state between documents (previous loss counters, when each last rose) lives in
 * struct trigd_health; one caller at a time (the operator thread). */
#ifndef TRIGD_STATUS_HEALTH_H
#define TRIGD_STATUS_HEALTH_H

#include <jansson.h>

/* A loss counter that rose within this many seconds keeps its owner "degraded". */
#define TRIGD_HEALTH_HOLD_S 10.0
/* A running cell whose frame count has not moved for this long is "failing". */
#define TRIGD_HEALTH_STALL_S 3.0

struct trigd_health;

struct trigd_health *trigd_health_new(void);
void trigd_health_free(struct trigd_health *h);

/* Adds "health" {"state", "reason"} to each element of doc.cells, and "health" {"state",
 * "reason", "reasons"[]} to the document. now_s: monotonic seconds. */
void trigd_health_apply(struct trigd_health *h, json_t *doc, double now_s);

/* "ok", "degraded", "failing" as 0, 1, 2 (and back); -1 / NULL for anything else. */
int trigd_health_level(const char *word);
const char *trigd_health_word(int level);

#endif
