/* The live simulator as a cell source (lib/sim/sim.h): renders one frame period of the cell and
 * packs it straight into the ring slot. No allocation per period. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lt_error.h"
#include "sim.h"
#include "source.h"

struct sim_source {
    struct trigd_source base;
    struct lt_sim_cell *sim;
    uint16_t (*adc)[LT_SAMPLES_PER_FRAME]; /* [channel][sample] scratch for one period */
};

void trigd_sim_config_for_cell(const struct trigd_source_config *sc, uint64_t start_ticks,
                               struct lt_sim_config *c)
{
    const struct trigd_cell_config *cell = sc->cell;
    struct lt_cell_geom g = {.n_fembs = cell->n_fembs};
    lt_sim_config_default(c);
    c->seed = sc->sim->seed;
    c->n_fembs = cell->n_fembs;
    c->start_ticks = start_ticks;
    c->noise_collection = sc->sim->noise_rms;
    c->noise_induction = sc->sim->noise_rms;
    /* Our config speaks in decays per cell per second; the simulator in Bq/kg of its argon. */
    double mass = lt_sim_cell_mass_kg(&g);
    c->ar39_bq_per_kg = mass > 0 ? sc->sim->ar39_rate_hz / mass : 0;
    /* The other radiologicals keep the simulator's DUNE-model activities, scaled. */
    c->ar42_bq_per_kg *= sc->sim->radiological_scale;
    c->kr85_bq_per_kg *= sc->sim->radiological_scale;
    c->rn222_bq_per_kg *= sc->sim->radiological_scale;
    c->ncapture_rate_hz *= sc->sim->radiological_scale;
    c->le_rate_hz = sc->sim->low_energy_rate_hz;
    c->he_rate_hz = sc->sim->high_energy_rate_hz;
    c->cosmic_rate_hz = 0;
    /* A live source has nobody to read truth (replay and the physics report read it from run
     * files): keep none, so a long run never fills the truth queue. */
    c->truth_capacity = 0;
}

int trigd_sim_inject_configured(const struct trigd_source_config *sc, uint64_t start_ticks,
                                struct lt_sim_cell *sim)
{
    int n = 0;
    uint64_t t0 = lt_seconds_to_ticks(sc->sim->start_s);
    for (uint32_t i = 0; i < sc->sim->n_inject; i++) {
        const struct trigd_inject *in = &sc->sim->inject[i];
        if (in->cell != sc->cell->id) continue;
        struct lt_sim_event ev = {
            .kind = in->kind,
            .topology = in->topology,
            .energy_mev = in->energy_mev,
            .time = t0 + lt_seconds_to_ticks(in->time_ms * 1e-3),
        };
        if (ev.time < start_ticks) {
            LT_WARN("cell %u: injected event at %.3f ms lies before this process's start; skipped",
                    in->cell, in->time_ms);
            continue;
        }
        char err[256];
        if (lt_sim_cell_inject(sim, &ev, err, sizeof err) == 0)
            n++;
        else
            LT_WARN("cell %u: injection %u refused: %s", in->cell, i, err);
    }
    return n;
}

static int sim_next(struct trigd_source *s, lt_wibeth_frame *frames, uint64_t *ts)
{
    struct sim_source *ss = (struct sim_source *)s;
    *ts = lt_sim_cell_next_time(ss->sim);
    lt_sim_cell_render(ss->sim, ss->adc);
    lt_sim_cell_pack(ss->sim, (const uint16_t(*)[LT_SAMPLES_PER_FRAME])ss->adc, frames);
    return 1;
}

static void sim_close(struct trigd_source *s)
{
    struct sim_source *ss = (struct sim_source *)s;
    lt_sim_cell_destroy(ss->sim);
    free(ss->adc);
    free(ss);
}

static const struct trigd_source_ops sim_ops = {"sim", sim_next, sim_close};

int trigd_source_sim_open(const struct trigd_source_config *cfg, uint64_t start_ticks,
                          struct trigd_source **out, char *err, size_t errlen)
{
    struct lt_sim_config sc;
    trigd_sim_config_for_cell(cfg, start_ticks, &sc);
    int rc = lt_sim_config_validate(&sc, err, errlen);
    if (rc) return rc;
    struct sim_source *ss = calloc(1, sizeof *ss);
    if (!ss) {
        lt_seterr(err, errlen, "sim source: out of memory");
        return LT_ENOMEM;
    }
    rc = lt_sim_cell_create(&sc, cfg->cell->id, &ss->sim, err, errlen);
    if (rc) {
        free(ss);
        return rc;
    }
    ss->adc = calloc(lt_sim_cell_channels(ss->sim), sizeof *ss->adc);
    if (!ss->adc) {
        sim_close(&ss->base);
        lt_seterr(err, errlen, "sim source: out of memory");
        return LT_ENOMEM;
    }
    ss->base.ops = &sim_ops;
    ss->base.cell = cfg->cell->id;
    ss->base.n_streams = lt_sim_cell_streams(ss->sim);
    ss->base.paced = 1;
    ss->base.impl = ss;
    trigd_sim_inject_configured(cfg, start_ticks, ss->sim);
    *out = &ss->base;
    return 0;
}
