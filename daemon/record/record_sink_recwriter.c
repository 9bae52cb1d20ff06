/* record_sink.h on top of the io_uring record writer (daemon/writer/recwriter.h). */
#include <stdlib.h>
#include <string.h>

#include "lt_error.h"
#include "record_builder.h"
#include "record_sink.h"

static int rw_submit(struct trigd_record_sink *s, struct lt_rw_record *rec)
{
    return lt_recwriter_enqueue(s->impl, rec);
}

static int rw_inhibited(struct trigd_record_sink *s)
{
    return lt_recwriter_inhibited(s->impl);
}

static int rw_stop(struct trigd_record_sink *s, unsigned timeout_ms)
{
    int rc = lt_recwriter_stop(s->impl, timeout_ms);
    free(s);
    return rc;
}

static void rw_status(struct trigd_record_sink *s, struct lt_recwriter_status *out)
{
    lt_recwriter_status(s->impl, out);
}

int trigd_record_sink_recwriter(const struct lt_recwriter_config *c,
                                const struct trigd_record_layout *layout,
                                struct trigd_record_sink **out, char *err, size_t errlen)
{
    struct trigd_record_sink *s = calloc(1, sizeof *s);
    if (!s) {
        lt_seterr(err, errlen, "record sink: out of memory");
        return LT_ENOMEM;
    }
    /* Every stream a record carries gets its GeoID in the file's source_id_geo_id_map, as the
     * record builder numbers them (cell << 8 | stream, DAQEthHeader crate/slot/stream). */
    uint32_t n_streams = trigd_total_streams(layout);
    struct lt_h5_geoid_entry *geo = n_streams ? calloc(n_streams, sizeof *geo) : NULL;
    if (n_streams && !geo) {
        free(s);
        lt_seterr(err, errlen, "record sink: out of memory");
        return LT_ENOMEM;
    }
    for (uint32_t i = 0, k = 0; i < layout->n_cells; k += layout->cells[i].n_streams, i++)
        lt_h5_cell_geoids(layout->cells[i].id, layout->cells[i].n_streams, &geo[k]);
    struct lt_recwriter_config wc = *c;
    wc.geoids = geo;
    wc.n_geoids = n_streams;
    struct lt_recwriter *w;
    int rc = lt_recwriter_start(&w, &wc, err, errlen); /* copies the GeoIDs */
    free(geo);
    if (rc) {
        free(s);
        return rc;
    }
    s->name = "recwriter";
    s->submit = rw_submit;
    s->inhibited = rw_inhibited;
    s->stop = rw_stop;
    s->status = rw_status;
    s->impl = w;
    *out = s;
    return 0;
}
