/* Where assembled trigger records go: a small interface so the record builder does not care
 * which writer sits behind it. The record type is the writer's (daemon/writer/recwriter.h): header,
 * component requests and fragments that point at bytes the caller keeps alive until done(). */
#ifndef TRIGD_RECORD_SINK_H
#define TRIGD_RECORD_SINK_H

#include <stddef.h>

#include "recwriter.h"

struct trigd_record_sink {
    const char *name;
    /* Non-blocking: 0 (the record belongs to the sink until rec->done runs, on another thread),
     * LT_EFULL (queue full: keep it and try again), LT_EINVAL (refused, logged). */
    int (*submit)(struct trigd_record_sink *s, struct lt_rw_record *rec);
    /* 1 when the aggregator should inhibit triggers (queue filling, disk short or failing). */
    int (*inhibited)(struct trigd_record_sink *s);
    /* Write everything accepted, then close; at most timeout_ms. Frees the sink. */
    int (*stop)(struct trigd_record_sink *s, unsigned timeout_ms);
    void (*status)(struct trigd_record_sink *s, struct lt_recwriter_status *out);
    void *impl;
};

/* The io_uring record writer (writer.backend "uring", or "pwritev" to force its fallback). */
/* c: the writer's configuration slice (its strings must outlive the sink); layout: the cells and
 * streams every record holds, whose GeoIDs fill each file's source_id_geo_id_map. */
struct trigd_record_layout;
int trigd_record_sink_recwriter(const struct lt_recwriter_config *c,
                                const struct trigd_record_layout *layout,
                                struct trigd_record_sink **out, char *err, size_t errlen);

#endif
