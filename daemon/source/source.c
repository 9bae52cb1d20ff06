#include "source.h"

#include <stdlib.h>
#include <time.h>

#include "lt_error.h"
#include "ticks.h"

int trigd_source_open(const struct trigd_config *cfg, uint32_t index, uint64_t start_ticks,
                      struct trigd_source **out, char *err, size_t errlen)
{
    switch (cfg->cells[index].source) {
    case TRIGD_SOURCE_SIM:
        return trigd_source_sim_open(cfg, index, start_ticks, out, err, errlen);
    case TRIGD_SOURCE_UDP:
        return trigd_source_udp_open(cfg, index, out, err, errlen);
    case TRIGD_SOURCE_FILE:
        return trigd_source_file_open(cfg, index, out, err, errlen);
    }
    lt_seterr(err, errlen, "cell %u: unknown source", cfg->cells[index].id);
    return LT_EINVAL;
}

void trigd_source_close(struct trigd_source *s)
{
    if (s) s->ops->close(s);
}

uint64_t trigd_sim_start_ticks(const struct trigd_config *cfg)
{
    double t = cfg->sim.start_s;
    if (cfg->sim.epoch_unix_s > 0 && cfg->sim.realtime_factor > 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        double elapsed = (double)now.tv_sec + now.tv_nsec * 1e-9 - cfg->sim.epoch_unix_s;
        if (elapsed > 0) t += elapsed * cfg->sim.realtime_factor;
    }
    uint64_t ticks = lt_seconds_to_ticks(t);
    return ticks / LT_TICKS_PER_FRAME * LT_TICKS_PER_FRAME;
}
