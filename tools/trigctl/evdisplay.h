/* Event display model: wires x time images of chosen cells and planes, built from WIBEth
 * fragments, plus boxes (candidates, truth) to draw over them. Rendering is in evrender.c. */
#ifndef LARTRIG_EVDISPLAY_H
#define LARTRIG_EVDISPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "chmap.h"
#include "wibeth.h"

#define LT_EV_MAX_PANELS 48
#define LT_EV_MAX_BOXES  1024

/* One cell and plane: ADC minus the per-wire median, wires x samples, over [t0, t0 + n*32). */
struct lt_ev_panel {
    uint32_t cell;
    enum lt_plane plane;
    uint32_t n_fembs;
    uint32_t n_wires;
    uint32_t n_samples;
    uint64_t t0; /* ticks of sample 0 */
    float *adc;  /* [wire * n_samples + sample]; NAN where no data arrived */
};

struct lt_ev_box {
    uint32_t cell;
    uint64_t t_start, t_end;       /* ticks */
    uint16_t wire_start, wire_end; /* collection wires */
    int kind;                      /* 0 = candidate (solid), 1 = truth (dashed) */
};

struct lt_event {
    struct lt_ev_panel panels[LT_EV_MAX_PANELS];
    size_t n_panels;
    struct lt_ev_box boxes[LT_EV_MAX_BOXES];
    size_t n_boxes;
    char title[256];
};

/* Create a panel covering [t0, t0 + n_samples * 32) for every requested plane of a cell. */
int lt_ev_add_cell(struct lt_event *ev, uint32_t cell, uint32_t n_fembs, unsigned plane_mask,
                   uint64_t t0, uint32_t n_samples);
/* Fill the panels of a cell from a fragment payload: the WIBEth frames of one stream. */
void lt_ev_fill_frames(struct lt_event *ev, uint32_t cell, uint32_t stream, const uint8_t *payload,
                       size_t len);
/* Subtract each wire's median so every plane shows signal around zero. */
void lt_ev_subtract_baselines(struct lt_event *ev);
void lt_ev_free(struct lt_event *ev);

/* Draw the panels stacked vertically with axes, colour scale, boxes and title. */
struct lt_ev_style {
    int width;             /* image width in pixels */
    float zmax_collection; /* ADC at the top of the colour scale (collection plane) */
    float zmax_induction;  /* same, |ADC| for the induction planes */
};
int lt_ev_render_png(const struct lt_event *ev, const char *path, const struct lt_ev_style *style,
                     char *err, size_t errlen);

#endif
