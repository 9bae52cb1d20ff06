#include "evdisplay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lt_error.h"
#include "ticks.h"

int lt_ev_add_cell(struct lt_event *ev, uint32_t cell, uint32_t n_fembs, unsigned plane_mask,
                   uint64_t t0, uint32_t n_samples)
{
    struct lt_cell_geom g = {n_fembs};
    for (int p = LT_PLANE_U; p <= LT_PLANE_X; p++) {
        if (!(plane_mask & (1u << p))) continue;
        if (ev->n_panels == LT_EV_MAX_PANELS) return LT_EFULL;
        struct lt_ev_panel *pn = &ev->panels[ev->n_panels];
        pn->cell = cell;
        pn->plane = (enum lt_plane)p;
        pn->n_fembs = n_fembs;
        pn->n_wires = lt_geom_wires(&g, (enum lt_plane)p);
        pn->n_samples = n_samples;
        pn->t0 = t0;
        size_t n = (size_t)pn->n_wires * n_samples;
        pn->adc = malloc(n * sizeof *pn->adc);
        if (!pn->adc) return LT_ENOMEM;
        for (size_t i = 0; i < n; i++) pn->adc[i] = NAN;
        ev->n_panels++;
    }
    return 0;
}

void lt_ev_fill_frames(struct lt_event *ev, uint32_t cell, uint32_t stream, const uint8_t *payload,
                       size_t len)
{
    static uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS];
    for (size_t off = 0; off + LT_WIBETH_FRAME_SIZE <= len; off += LT_WIBETH_FRAME_SIZE) {
        lt_wibeth_frame frame;
        memcpy(&frame, payload + off, sizeof frame);
        struct lt_daqeth_header h;
        lt_daqeth_decode(&frame, &h);
        lt_wibeth_unpack(&frame, adc);
        for (size_t p = 0; p < ev->n_panels; p++) {
            struct lt_ev_panel *pn = &ev->panels[p];
            if (pn->cell != cell) continue;
            struct lt_cell_geom g = {pn->n_fembs};
            for (uint32_t ch = 0; ch < LT_WIBETH_CHANNELS; ch++) {
                struct lt_chan_info ci;
                if (lt_chmap_lookup(&g, stream, ch, &ci) != 0 || ci.plane != pn->plane) continue;
                for (uint32_t s = 0; s < LT_WIBETH_SAMPLES; s++) {
                    uint64_t t = h.timestamp + (uint64_t)s * LT_TICKS_PER_SAMPLE;
                    if (t < pn->t0) continue;
                    uint64_t idx = (t - pn->t0) / LT_TICKS_PER_SAMPLE;
                    if (idx >= pn->n_samples) continue;
                    pn->adc[(size_t)ci.wire * pn->n_samples + idx] = adc[s][ch];
                }
            }
        }
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void lt_ev_subtract_baselines(struct lt_event *ev)
{
    for (size_t p = 0; p < ev->n_panels; p++) {
        struct lt_ev_panel *pn = &ev->panels[p];
        float *tmp = malloc(pn->n_samples * sizeof *tmp);
        if (!tmp) return;
        for (uint32_t w = 0; w < pn->n_wires; w++) {
            float *row = pn->adc + (size_t)w * pn->n_samples;
            size_t n = 0;
            for (uint32_t s = 0; s < pn->n_samples; s++)
                if (!isnan(row[s])) tmp[n++] = row[s];
            if (n == 0) continue;
            qsort(tmp, n, sizeof *tmp, cmp_float);
            float median = tmp[n / 2];
            for (uint32_t s = 0; s < pn->n_samples; s++) row[s] -= median;
        }
        free(tmp);
    }
}

void lt_ev_free(struct lt_event *ev)
{
    for (size_t p = 0; p < ev->n_panels; p++) free(ev->panels[p].adc);
    ev->n_panels = 0;
}
