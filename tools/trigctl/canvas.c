#include "canvas.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "font5x7.h"
#include "lt_error.h"

int lt_canvas_init(struct lt_canvas *c, int width, int height, struct lt_rgb bg)
{
    if (width <= 0 || height <= 0 || width > 16384 || height > 16384) return LT_ERANGE;
    c->width = width;
    c->height = height;
    c->pixels = malloc((size_t)width * (size_t)height * 3);
    if (!c->pixels) return LT_ENOMEM;
    lt_canvas_fill(c, 0, 0, width - 1, height - 1, bg);
    return 0;
}

void lt_canvas_free(struct lt_canvas *c)
{
    free(c->pixels);
    c->pixels = NULL;
}

void lt_canvas_pixel(struct lt_canvas *c, int x, int y, struct lt_rgb col)
{
    if (x < 0 || y < 0 || x >= c->width || y >= c->height) return;
    uint8_t *p = c->pixels + ((size_t)y * (size_t)c->width + (size_t)x) * 3;
    p[0] = col.r;
    p[1] = col.g;
    p[2] = col.b;
}

void lt_canvas_fill(struct lt_canvas *c, int x0, int y0, int x1, int y1, struct lt_rgb col)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) lt_canvas_pixel(c, x, y, col);
}

void lt_canvas_rect(struct lt_canvas *c, int x0, int y0, int x1, int y1, int t, struct lt_rgb col)
{
    lt_canvas_fill(c, x0, y0, x1, y0 + t - 1, col);
    lt_canvas_fill(c, x0, y1 - t + 1, x1, y1, col);
    lt_canvas_fill(c, x0, y0, x0 + t - 1, y1, col);
    lt_canvas_fill(c, x1 - t + 1, y0, x1, y1, col);
}

int lt_canvas_text(struct lt_canvas *c, int x, int y, int scale, struct lt_rgb col, const char *s)
{
    int x_start = x;
    for (; *s; s++, x += (LT_FONT_W + 1) * scale) {
        const uint8_t *g = lt_font_glyph(*s);
        for (int row = 0; row < LT_FONT_H; row++)
            for (int bit = 0; bit < LT_FONT_W; bit++)
                if (g[row] & (0x10 >> bit))
                    lt_canvas_fill(c, x + bit * scale, y + row * scale, x + bit * scale + scale - 1,
                                   y + row * scale + scale - 1, col);
    }
    return x - x_start;
}

void lt_canvas_text_up(struct lt_canvas *c, int x, int y, int scale, struct lt_rgb col,
                       const char *s)
{
    /* Rotated 90 degrees counter-clockwise: glyph row r becomes column r, read bottom-up. */
    for (; *s; s++, y -= (LT_FONT_W + 1) * scale) {
        const uint8_t *g = lt_font_glyph(*s);
        for (int row = 0; row < LT_FONT_H; row++)
            for (int bit = 0; bit < LT_FONT_W; bit++)
                if (g[row] & (0x10 >> bit))
                    lt_canvas_fill(c, x + row * scale, y - bit * scale - scale + 1,
                                   x + row * scale + scale - 1, y - bit * scale, col);
    }
}

struct lt_rgb lt_colormap(double v)
{
    /* Piecewise-linear approximation of viridis through five anchor colours. */
    static const double anchors[5][3] = {
        {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    if (!(v > 0)) v = 0; /* also catches NaN */
    if (v > 1) v = 1;
    double pos = v * 4.0;
    int i = (int)pos;
    if (i >= 4) i = 3;
    double f = pos - i;
    struct lt_rgb out;
    out.r = (uint8_t)(anchors[i][0] + f * (anchors[i + 1][0] - anchors[i][0]) + 0.5);
    out.g = (uint8_t)(anchors[i][1] + f * (anchors[i + 1][1] - anchors[i][1]) + 0.5);
    out.b = (uint8_t)(anchors[i][2] + f * (anchors[i + 1][2] - anchors[i][2]) + 0.5);
    return out;
}

int lt_canvas_write_png(const struct lt_canvas *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        lt_seterr(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return LT_EIO;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return LT_ENOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        lt_seterr(err, errlen, "%s: libpng failed while writing", path);
        return LT_EIO;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)c->width, (png_uint_32)c->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < c->height; y++)
        png_write_row(png, c->pixels + (size_t)y * (size_t)c->width * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        lt_seterr(err, errlen, "%s: write failed: %s", path, strerror(errno));
        return LT_EIO;
    }
    return 0;
}
