/* The channel map of one cell. A FEMB's 128 channels arrive as two 64-channel WIBEth streams;
 * FEMB-local channel c = (stream % 2) * 64 + link channel. Channels 0..39 are U wires, 40..79 V
 * wires, 80..127 X (collection) wires; each plane numbers its wires board after board. The map
 * is pure arithmetic (no table), so lookup and reverse cost a few integer operations and a cell
 * with any number of boards needs no setup. */
#include "chmap.h"

#include "lt_error.h"

#define LINK_CHANNELS   (LT_CHANNELS_PER_FEMB / LT_STREAMS_PER_FEMB) /* 64 */
#define STREAMS_PER_WIB 8U /* a WIB reads 4 FEMBs, two streams each */

_Static_assert(LT_U_PER_FEMB + LT_V_PER_FEMB + LT_X_PER_FEMB == LT_CHANNELS_PER_FEMB,
               "a FEMB's channels are its U, V and X wires");

static int geom_ok(const struct lt_cell_geom *g)
{
    return g && g->n_fembs >= 1 && g->n_fembs <= LT_FEMBS_PER_CELL;
}

/* First offline channel of a plane: U, then V, then X. */
static uint32_t plane_base(const struct lt_cell_geom *g, enum lt_plane p)
{
    switch (p) {
    case LT_PLANE_U:
        return 0;
    case LT_PLANE_V:
        return g->n_fembs * LT_U_PER_FEMB;
    case LT_PLANE_X:
        return g->n_fembs * (LT_U_PER_FEMB + LT_V_PER_FEMB);
    }
    return 0;
}

int lt_chmap_lookup(const struct lt_cell_geom *g, uint32_t stream, uint32_t channel,
                    struct lt_chan_info *out)
{
    if (!geom_ok(g) || stream >= lt_geom_streams(g) || channel >= LINK_CHANNELS) return LT_ERANGE;
    uint32_t femb = stream / LT_STREAMS_PER_FEMB;
    uint32_t c = (stream % LT_STREAMS_PER_FEMB) * LINK_CHANNELS + channel;
    enum lt_plane plane;
    uint32_t wire;
    if (c < LT_U_PER_FEMB) {
        plane = LT_PLANE_U;
        wire = femb * LT_U_PER_FEMB + c;
    } else if (c < LT_U_PER_FEMB + LT_V_PER_FEMB) {
        plane = LT_PLANE_V;
        wire = femb * LT_V_PER_FEMB + (c - LT_U_PER_FEMB);
    } else {
        plane = LT_PLANE_X;
        wire = femb * LT_X_PER_FEMB + (c - LT_U_PER_FEMB - LT_V_PER_FEMB);
    }
    out->plane = plane;
    out->wire = (uint16_t)wire;
    out->offline_channel = (uint16_t)(plane_base(g, plane) + wire);
    out->femb = (uint8_t)femb;
    return 0;
}

int lt_chmap_reverse(const struct lt_cell_geom *g, enum lt_plane plane, uint32_t wire,
                     uint32_t *stream, uint32_t *channel)
{
    if (!geom_ok(g)) return LT_ERANGE;
    uint32_t per_femb, first;
    switch (plane) {
    case LT_PLANE_U:
        per_femb = LT_U_PER_FEMB;
        first = 0;
        break;
    case LT_PLANE_V:
        per_femb = LT_V_PER_FEMB;
        first = LT_U_PER_FEMB;
        break;
    case LT_PLANE_X:
        per_femb = LT_X_PER_FEMB;
        first = LT_U_PER_FEMB + LT_V_PER_FEMB;
        break;
    default:
        return LT_ERANGE;
    }
    if (wire >= g->n_fembs * per_femb) return LT_ERANGE;
    uint32_t femb = wire / per_femb;
    uint32_t c = first + wire % per_femb;
    *stream = femb * LT_STREAMS_PER_FEMB + c / LINK_CHANNELS;
    *channel = c % LINK_CHANNELS;
    return 0;
}

void lt_chmap_stream_address(uint32_t cell, uint32_t stream, uint16_t *crate, uint8_t *slot,
                             uint8_t *eth_stream)
{
    *crate = (uint16_t)cell;
    *slot = (uint8_t)(stream / STREAMS_PER_WIB);
    *eth_stream = (uint8_t)(stream % STREAMS_PER_WIB);
}

int lt_chmap_stream_from_address(uint16_t crate, uint8_t slot, uint8_t eth_stream, uint32_t *cell,
                                 uint32_t *stream)
{
    if (crate >= LT_MAX_CELLS || eth_stream >= STREAMS_PER_WIB) return LT_ERANGE;
    uint32_t s = (uint32_t)slot * STREAMS_PER_WIB + eth_stream;
    if (s >= LT_STREAMS_PER_CELL) return LT_ERANGE;
    *cell = crate;
    *stream = s;
    return 0;
}

const char *lt_plane_name(enum lt_plane p)
{
    switch (p) {
    case LT_PLANE_U:
        return "U";
    case LT_PLANE_V:
        return "V";
    case LT_PLANE_X:
        return "X";
    }
    return "?";
}
