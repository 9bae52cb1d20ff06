/* record_sink.h on top of the io_uring record writer (daemon/writer/recwriter.h). */
#include <stdlib.h>
#include <string.h>

#include "lt_error.h"
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

int trigd_record_sink_recwriter(const struct lt_recwriter_config *c, struct trigd_record_sink **out,
                                char *err, size_t errlen)
{
    struct trigd_record_sink *s = calloc(1, sizeof *s);
    if (!s) {
        lt_seterr(err, errlen, "record sink: out of memory");
        return LT_ENOMEM;
    }
    struct lt_recwriter *w;
    int rc = lt_recwriter_start(&w, c, err, errlen);
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
