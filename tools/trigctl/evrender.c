/* Rendering of the event display: panels stacked vertically (one per cell and plane), time along
 * x, wires along y, a colour scale on the right, candidate and truth boxes on the collection
 * panels. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "canvas.h"
#include "evdisplay.h"
#include "lt_error.h"
#include "ticks.h"

#define MARGIN_LEFT  80
#define MARGIN_RIGHT 120
#define MARGIN_TOP   36
#define PANEL_GAP    46
#define TEXT_SCALE   2

static const struct lt_rgb white = {255, 255, 255}, black = {0, 0, 0}, grey = {90, 90, 90},
                           red = {255, 40, 40}, cyan = {0, 230, 255};

static int panel_height(const struct lt_ev_panel *p)
{
    return p->plane == LT_PLANE_X ? 260 : 180;
}

/* The value shown for a block of samples and wires: the one of largest magnitude, so a narrow
 * pulse survives downscaling. */
static float block_value(const struct lt_ev_panel *p, uint32_t w0, uint32_t w1, uint32_t s0,
                         uint32_t s1)
{
    float best = NAN;
    for (uint32_t w = w0; w < w1; w++)
        for (uint32_t s = s0; s < s1; s++) {
            float v = p->adc[(size_t)w * p->n_samples + s];
            if (!isnan(v) && (isnan(best) || fabsf(v) > fabsf(best))) best = v;
        }
    return best;
}

static void draw_ticks_x(struct lt_canvas *c, int x0, int width, int y, const struct lt_ev_panel *p)
{
    double span_us = p->n_samples * (LT_TICKS_PER_SAMPLE * 1e6 / (double)LT_CLOCK_HZ);
    double step = span_us / 5.0;
    double mag = pow(10.0, floor(log10(step)));
    step = step / mag >= 5 ? 5 * mag : step / mag >= 2 ? 2 * mag : mag;
    for (double t = 0; t <= span_us + 1e-9; t += step) {
        int x = x0 + (int)(t / span_us * (width - 1));
        lt_canvas_fill(c, x, y, x, y + 5, white);
        char label[32];
        snprintf(label, sizeof label, "%.0f", t);
        lt_canvas_text(c, x - 6, y + 8, TEXT_SCALE - 1, white, label);
    }
}

static void draw_box(struct lt_canvas *c, int x0, int y0, int w, int h, const struct lt_ev_panel *p,
                     const struct lt_ev_box *b)
{
    uint64_t t_end = p->t0 + (uint64_t)p->n_samples * LT_TICKS_PER_SAMPLE;
    if (b->cell != p->cell || b->t_end < p->t0 || b->t_start >= t_end) return;
    double fx0 = b->t_start > p->t0 ? (double)(b->t_start - p->t0) : 0.0;
    double fx1 = (double)((b->t_end < t_end ? b->t_end : t_end) - p->t0);
    double span = (double)(t_end - p->t0);
    int bx0 = x0 + (int)(fx0 / span * w) - 2, bx1 = x0 + (int)(fx1 / span * w) + 2;
    /* Wire 0 at the bottom. */
    int by1 = y0 + h - 1 - (int)((double)b->wire_start / p->n_wires * h) + 2;
    int by0 = y0 + h - 1 - (int)((double)(b->wire_end + 1) / p->n_wires * h) - 2;
    if (b->kind == 0) {
        lt_canvas_rect(c, bx0, by0, bx1, by1, 2, red);
    } else {
        for (int x = bx0; x <= bx1; x += 6) {
            lt_canvas_fill(c, x, by0, x + 2, by0, cyan);
            lt_canvas_fill(c, x, by1, x + 2, by1, cyan);
        }
        for (int y = by0; y <= by1; y += 6) {
            lt_canvas_fill(c, bx0, y, bx0, y + 2, cyan);
            lt_canvas_fill(c, bx1, y, bx1, y + 2, cyan);
        }
    }
}

static void draw_colour_bar(struct lt_canvas *c, int x, int y, int h, float zmax, const char *what)
{
    for (int i = 0; i < h; i++)
        lt_canvas_fill(c, x, y + h - 1 - i, x + 16, y + h - 1 - i,
                       lt_colormap((double)i / (h - 1)));
    lt_canvas_rect(c, x - 1, y - 1, x + 17, y + h, 1, white);
    char label[32];
    for (int k = 0; k <= 2; k++) {
        snprintf(label, sizeof label, "%.0f", zmax * k / 2.0f);
        lt_canvas_text(c, x + 22, y + h - 1 - k * (h - 1) / 2 - 3, 1, white, label);
    }
    lt_canvas_text_up(c, x + 56, y + h - 1, 1, white, what);
}

int lt_ev_render_png(const struct lt_event *ev, const char *path, const struct lt_ev_style *style,
                     char *err, size_t errlen)
{
    if (ev->n_panels == 0) {
        lt_seterr(err, errlen, "nothing to draw: no data in the chosen window and cells");
        return LT_ENOTFOUND;
    }
    int width = style->width > 400 ? style->width : 400;
    int plot_w = width - MARGIN_LEFT - MARGIN_RIGHT;
    int height = MARGIN_TOP;
    for (size_t i = 0; i < ev->n_panels; i++) height += panel_height(&ev->panels[i]) + PANEL_GAP;
    struct lt_canvas c;
    int rc = lt_canvas_init(&c, width, height, black);
    if (rc) return rc;
    lt_canvas_text(&c, 10, 10, TEXT_SCALE, white, ev->title);

    int y = MARGIN_TOP;
    for (size_t i = 0; i < ev->n_panels; i++) {
        const struct lt_ev_panel *p = &ev->panels[i];
        int h = panel_height(p);
        float zmax = p->plane == LT_PLANE_X ? style->zmax_collection : style->zmax_induction;
        for (int py = 0; py < h; py++) {
            uint32_t w1 = (uint32_t)((uint64_t)(h - py) * p->n_wires / h);
            uint32_t w0 = (uint32_t)((uint64_t)(h - py - 1) * p->n_wires / h);
            if (w1 <= w0) w1 = w0 + 1;
            for (int px = 0; px < plot_w; px++) {
                uint32_t s0 = (uint32_t)((uint64_t)px * p->n_samples / plot_w);
                uint32_t s1 = (uint32_t)((uint64_t)(px + 1) * p->n_samples / plot_w);
                if (s1 <= s0) s1 = s0 + 1;
                float v = block_value(p, w0, w1, s0, s1);
                /* Induction signals are bipolar: show their magnitude. */
                if (p->plane != LT_PLANE_X) v = fabsf(v);
                struct lt_rgb col = isnan(v) ? grey : lt_colormap(v / zmax);
                lt_canvas_pixel(&c, MARGIN_LEFT + px, y + py, col);
            }
        }
        lt_canvas_rect(&c, MARGIN_LEFT - 1, y - 1, MARGIN_LEFT + plot_w, y + h, 1, white);
        for (size_t b = 0; b < ev->n_boxes; b++)
            if (p->plane == LT_PLANE_X) draw_box(&c, MARGIN_LEFT, y, plot_w, h, p, &ev->boxes[b]);

        char label[96];
        static const char *plane_names[] = {"U (induction)", "V (induction)", "X (collection)"};
        snprintf(label, sizeof label, "cell %u  plane %s", p->cell, plane_names[p->plane]);
        lt_canvas_text(&c, MARGIN_LEFT + 4, y + 4, 1, white, label);
        /* Wire axis: 0 at the bottom. */
        for (int k = 0; k <= 2; k++) {
            snprintf(label, sizeof label, "%u", (unsigned)(p->n_wires * k / 2));
            int ly = y + h - 1 - k * (h - 1) / 2;
            lt_canvas_fill(&c, MARGIN_LEFT - 6, ly, MARGIN_LEFT - 2, ly, white);
            lt_canvas_text(&c, MARGIN_LEFT - 8 - 6 * (int)strlen(label), ly - 3, 1, white, label);
        }
        lt_canvas_text_up(&c, 12, y + h - 10, 1, white, "wire");
        draw_ticks_x(&c, MARGIN_LEFT, plot_w, y + h + 1, p);
        snprintf(label, sizeof label, "time (us) from t0 = %llu ticks", (unsigned long long)p->t0);
        lt_canvas_text(&c, MARGIN_LEFT + plot_w / 2 - 90, y + h + 24, 1, white, label);
        draw_colour_bar(&c, MARGIN_LEFT + plot_w + 16, y, h, zmax,
                        p->plane == LT_PLANE_X ? "ADC - baseline" : "|ADC - baseline|");
        y += h + PANEL_GAP;
    }
    rc = lt_canvas_write_png(&c, path, err, errlen);
    lt_canvas_free(&c);
    return rc;
}
