/* A small RGB canvas for the event display: heat maps, rectangles, text, PNG output (libpng). */
#ifndef LARTRIG_CANVAS_H
#define LARTRIG_CANVAS_H

#include <stddef.h>
#include <stdint.h>

struct lt_rgb {
    uint8_t r, g, b;
};

struct lt_canvas {
    int width, height;
    uint8_t *pixels; /* width * height * 3 */
};

int lt_canvas_init(struct lt_canvas *c, int width, int height, struct lt_rgb background);
void lt_canvas_free(struct lt_canvas *c);
void lt_canvas_pixel(struct lt_canvas *c, int x, int y, struct lt_rgb col);
void lt_canvas_fill(struct lt_canvas *c, int x0, int y0, int x1, int y1, struct lt_rgb col);
void lt_canvas_rect(struct lt_canvas *c, int x0, int y0, int x1, int y1, int thickness,
                    struct lt_rgb col);
/* Text at (x, y) = top-left, each font pixel drawn as scale x scale. Returns the width drawn. */
int lt_canvas_text(struct lt_canvas *c, int x, int y, int scale, struct lt_rgb col, const char *s);
/* Vertical text, bottom to top (for y-axis titles). */
void lt_canvas_text_up(struct lt_canvas *c, int x, int y, int scale, struct lt_rgb col,
                       const char *s);
/* Colour of v in [0, 1] on a perceptual dark-blue -> yellow scale (viridis-like). */
struct lt_rgb lt_colormap(double v);
/* Write the canvas as an 8-bit RGB PNG; 0 or a negative lt_error with the reason in err. */
int lt_canvas_write_png(const struct lt_canvas *c, const char *path, char *err, size_t errlen);

#endif
