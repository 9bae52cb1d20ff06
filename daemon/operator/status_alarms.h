/* Alarms of the status document (docs/monitoring.md, "Alarms"): the conditions an operator must
 * act on, as "alarms": [{"alarm", "severity", "message"[, "cell"]}], the ones active now.
 * From the document's own fields, like the health words (status_health.h):
 *   cell_missing              a cell the aggregator declared missing            critical
 *   cell_clock_fault          a cell whose clock the data plane reports faulty  critical
 *                             (aggregator.data_plane.clock_fault_cells, or the cell's clock_fault)
 *   writer_free_space_low     writer.free_bytes below monitor.free_space_alarm_gb  warning
 *   trigger_inhibit           the writer inhibits, or triggers were inhibited in the last
 *                             TRIGD_ALARM_INHIBIT_HOLD_S                          critical
 * The operator thread adds watchdog_near_expiry itself (operator.c owns the watchdog) and turns
 * changes of the set into events on the monitor socket. One caller at a time. */
#ifndef TRIGD_STATUS_ALARMS_H
#define TRIGD_STATUS_ALARMS_H

#include <jansson.h>

#define TRIGD_ALARM_INHIBIT_HOLD_S 10.0

struct trigd_alarms;

struct trigd_alarms *trigd_alarms_new(void);
void trigd_alarms_free(struct trigd_alarms *a);

/* Sets doc["alarms"]. free_space_alarm_bytes 0 = that alarm off; now_s monotonic seconds. */
void trigd_alarms_apply(struct trigd_alarms *a, json_t *doc, double now_s,
                        double free_space_alarm_bytes);

/* Append one alarm to doc["alarms"] (created when absent); cell < 0 = not about a cell. */
void trigd_alarm_add(json_t *doc, const char *alarm, const char *severity, long long cell,
                     const char *message);

#endif
