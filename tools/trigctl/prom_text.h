/* trigd's status document (docs/monitoring.md) as Prometheus text exposition format 0.0.4: one
 * metric family per counter or gauge of the document, HELP and TYPE lines, labels cell and
 * algorithm, the decision latency as a histogram. Which field becomes which metric is one table
 * in prom_text.c; a field the document lacks (an older trigd, role cell) leaves its family out.
 * Single-threaded (trigctl metrics); no global state. */
#ifndef LARTRIG_PROM_TEXT_H
#define LARTRIG_PROM_TEXT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A growable text buffer; after an allocation failure `oom` is set and further appends do
 * nothing, so one check at the end suffices. */
struct prom_text {
    char *buf;
    size_t len, cap;
    int oom;
};

void prom_text_reset(struct prom_text *t);
void prom_text_free(struct prom_text *t);
void prom_text_printf(struct prom_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What the exporter knows about itself, exported beside trigd's metrics. */
struct prom_exporter_stats {
    uint64_t documents;     /* status documents received */
    uint64_t bad_documents; /* not JSON / not an object: dropped */
    uint64_t alarm_events;  /* alarm events received */
    uint64_t scrapes;       /* /metrics requests served */
    double document_age_s;  /* since the last status document; < 0 = none yet */
    int up;                 /* a status document newer than the staleness limit */
};

/* Append the exposition of `status` (NULL or stale: only the exporter's own metrics and
 * lartrig_up 0) to t. */
void prom_render(const json_t *status, const struct prom_exporter_stats *ex, struct prom_text *t);

#endif
