/* A 5x7 bitmap font for the labels of the event display (ASCII 32..126; lowercase letters are
 * drawn as capitals). */
#ifndef LARTRIG_FONT5X7_H
#define LARTRIG_FONT5X7_H

#include <stdint.h>

#define LT_FONT_W 5
#define LT_FONT_H 7

/* Row bits of a glyph, bit 4 = leftmost column. Unknown characters give a hollow box. */
const uint8_t *lt_font_glyph(char c);

#endif
