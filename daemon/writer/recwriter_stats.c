/* Status of the record writer: counters are atomics the writer thread updates and any thread
 * reads; the write rate is smoothed over about a second so a status line at 1 Hz is steady. */
#include "recwriter_int.h"

#include <jansson.h>

#include "lt_clock.h"

void rw_rate_update(struct rw_rate *r, uint64_t bytes_total, _Atomic uint64_t *out)
{
    uint64_t now = lt_mono_ns();
    if (r->t0_ns == 0) {
        r->t0_ns = now;
        r->bytes0 = bytes_total;
        return;
    }
    uint64_t dt = now - r->t0_ns;
    if (dt < 200000000ULL) return; /* at most 5 updates a second */
    double inst = (double)(bytes_total - r->bytes0) * 1e9 / (double)dt;
    /* Exponential smoothing with a ~1 s time constant. */
    double a = (double)dt / 1e9;
    if (a > 1.0) a = 1.0;
    r->rate = r->rate + a * (inst - r->rate);
    r->t0_ns = now;
    r->bytes0 = bytes_total;
    atomic_store(out, (uint64_t)r->rate);
}

const char *lt_rw_io_mode_name(enum lt_rw_io_mode m)
{
    switch (m) {
    case LT_RW_IO_URING:
        return "io_uring";
    case LT_RW_IO_PWRITEV:
        return "pwritev";
    default:
        return "none";
    }
}

#define LOAD(f) out->f = atomic_load(&s->f)
void lt_recwriter_status(const struct lt_recwriter *w, struct lt_recwriter_status *out)
{
    const struct lt_recwriter_stats *s = lt_recwriter_stats(w);
    LOAD(queue_depth);
    LOAD(queue_capacity);
    LOAD(records_accepted);
    LOAD(records_rejected);
    LOAD(records_invalid);
    LOAD(records_written);
    LOAD(records_failed);
    LOAD(bytes_written);
    LOAD(bytes_per_s);
    LOAD(files_closed);
    LOAD(file_index);
    LOAD(free_bytes);
    LOAD(io_errors);
    LOAD(enospc);
    LOAD(space_waits);
    LOAD(retries);
    LOAD(short_writes);
    LOAD(leftover_writing);
    LOAD(close_failures);
    out->io_mode = (enum lt_rw_io_mode)atomic_load(&s->io_mode);
    out->inhibit = lt_recwriter_inhibited(w);
}

json_t *lt_recwriter_status_json(const struct lt_recwriter_status *st)
{
    json_t *o = json_object();
    if (!o) return NULL;
    const struct {
        const char *key;
        uint64_t v;
    } n[] = {
        {"queue_depth", st->queue_depth},
        {"queue_capacity", st->queue_capacity},
        {"records_accepted", st->records_accepted},
        {"records_rejected", st->records_rejected},
        {"records_invalid", st->records_invalid},
        {"records_written", st->records_written},
        {"records_failed", st->records_failed},
        {"bytes_written", st->bytes_written},
        {"bytes_per_s", st->bytes_per_s},
        {"files_closed", st->files_closed},
        {"file_index", st->file_index},
        {"free_bytes", st->free_bytes},
        {"io_errors", st->io_errors},
        {"enospc", st->enospc},
        {"space_waits", st->space_waits},
        {"retries", st->retries},
        {"short_writes", st->short_writes},
        {"leftover_writing", st->leftover_writing},
        {"close_failures", st->close_failures},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
        bad |= json_object_set_new(o, n[i].key, json_integer((json_int_t)n[i].v));
    bad |= json_object_set_new(o, "mb_per_s", json_real((double)st->bytes_per_s / 1e6));
    bad |= json_object_set_new(o, "io_mode", json_string(lt_rw_io_mode_name(st->io_mode)));
    bad |= json_object_set_new(o, "inhibit", json_boolean(st->inhibit));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
