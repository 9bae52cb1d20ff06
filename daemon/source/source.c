#include "source.h"

#include <stdlib.h>
#include <time.h>

#include "lt_error.h"
#include "ticks.h"

int trigd_source_open(const struct trigd_source_config *sc, uint64_t start_ticks,
                      struct trigd_source **out, char *err, size_t errlen)
{
    switch (sc->cell->source) {
    case TRIGD_SOURCE_SIM:
        return trigd_source_sim_open(sc, start_ticks, out, err, errlen);
    case TRIGD_SOURCE_UDP:
        return trigd_source_udp_open(sc, out, err, errlen);
    case TRIGD_SOURCE_FILE:
        return trigd_source_file_open(sc, out, err, errlen);
    }
    lt_seterr(err, errlen, "cell %u: unknown source", sc->cell->id);
    return LT_EINVAL;
}

void trigd_source_close(struct trigd_source *s)
{
    if (s) s->ops->close(s);
}

uint64_t trigd_sim_start_ticks(const struct trigd_sim_config *sim)
{
    double t = sim->start_s;
    if (sim->epoch_unix_s > 0 && sim->realtime_factor > 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        double elapsed = (double)now.tv_sec + now.tv_nsec * 1e-9 - sim->epoch_unix_s;
        if (elapsed > 0) t += elapsed * sim->realtime_factor;
    }
    uint64_t ticks = lt_seconds_to_ticks(t);
    return ticks / LT_TICKS_PER_FRAME * LT_TICKS_PER_FRAME;
}
