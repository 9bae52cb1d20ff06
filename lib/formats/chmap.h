/* The channel map of one cell (APA): 20 front-end boards (FEMBs) of 128 channels each, 40 U + 40 V
 * + 48 X (collection) wires per board, read out as 40 WIBEth streams of 64 channels (two streams
 * per board). A cell may be configured with fewer boards (1..20) for small test setups; wires are
 * then numbered over the boards present. docs/formats.md documents the exact map.
 *
 * "Offline channel" is the plane-ordered index used by the simulator, the kernel and the event
 * display: U wires first (0..nU-1), then V, then X. */
#ifndef LARTRIG_CHMAP_H
#define LARTRIG_CHMAP_H

#include <stdint.h>

#define LT_FEMBS_PER_CELL    20U
#define LT_STREAMS_PER_FEMB  2U
#define LT_STREAMS_PER_CELL  (LT_FEMBS_PER_CELL * LT_STREAMS_PER_FEMB) /* 40 */
#define LT_CHANNELS_PER_FEMB 128U
#define LT_CHANNELS_PER_CELL (LT_FEMBS_PER_CELL * LT_CHANNELS_PER_FEMB) /* 2560 */
#define LT_U_PER_FEMB        40U
#define LT_V_PER_FEMB        40U
#define LT_X_PER_FEMB        48U
#define LT_MAX_CELLS         1024U /* crate field is 10 bits */

enum lt_plane { LT_PLANE_U = 0, LT_PLANE_V = 1, LT_PLANE_X = 2 };

struct lt_chan_info {
    enum lt_plane plane;
    uint16_t wire;            /* wire number within its plane, 0-based */
    uint16_t offline_channel; /* plane-ordered index within the cell */
    uint8_t femb;
};

/* Geometry of a configured cell: how many FEMBs it has (1..20). */
struct lt_cell_geom {
    uint32_t n_fembs;
};

static inline uint32_t lt_geom_streams(const struct lt_cell_geom *g)
{
    return g->n_fembs * LT_STREAMS_PER_FEMB;
}
static inline uint32_t lt_geom_channels(const struct lt_cell_geom *g)
{
    return g->n_fembs * LT_CHANNELS_PER_FEMB;
}
static inline uint32_t lt_geom_wires(const struct lt_cell_geom *g, enum lt_plane p)
{
    return g->n_fembs * (p == LT_PLANE_X ? LT_X_PER_FEMB : LT_U_PER_FEMB);
}

/* (stream 0..2*n_fembs-1, channel 0..63) -> plane, wire, offline channel. 0 or LT_ERANGE. */
int lt_chmap_lookup(const struct lt_cell_geom *g, uint32_t stream, uint32_t channel,
                    struct lt_chan_info *out);
/* plane + wire -> stream, channel. 0 or LT_ERANGE. */
int lt_chmap_reverse(const struct lt_cell_geom *g, enum lt_plane plane, uint32_t wire,
                     uint32_t *stream, uint32_t *channel);

/* DAQEthHeader addressing of a cell's stream: crate = cell, slot = WIB, stream = link stream. */
void lt_chmap_stream_address(uint32_t cell, uint32_t stream, uint16_t *crate, uint8_t *slot,
                             uint8_t *eth_stream);
/* Inverse, from a frame's DAQEthHeader: cell = crate, stream = slot * 8 + eth_stream. LT_ERANGE
 * when the address is outside this map (crate >= LT_MAX_CELLS, eth_stream >= 8 -- e.g. DUNE's
 * second 10G link of a WIB numbers its streams from 64 -- or stream >= LT_STREAMS_PER_CELL). */
int lt_chmap_stream_from_address(uint16_t crate, uint8_t slot, uint8_t eth_stream, uint32_t *cell,
                                 uint32_t *stream);
/* The DUNE SourceID id (subsystem kDetectorReadout) of a cell's stream: (cell << 8) | stream,
 * so `Detector_Readout_0x00000305_WIBEth` is cell 3, stream 5. */
static inline uint32_t lt_stream_source_id(uint32_t cell, uint32_t stream)
{
    return (cell << 8) | stream;
}
static inline uint32_t lt_source_id_cell(uint32_t id)
{
    return id >> 8;
}
static inline uint32_t lt_source_id_stream(uint32_t id)
{
    return id & 0xFFU;
}

const char *lt_plane_name(enum lt_plane p);

#endif
