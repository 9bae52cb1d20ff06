/* Collection-plane preprocessing: unpack, downsample, pedestal. docs/kernel.md "Input". */
#include "preprocess.h"

#include <string.h>

#include "lt_error.h"

int lt_pre_map_build(struct lt_pre_map *m, const struct lt_cell_geom *g, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    if (g->n_fembs < 1 || g->n_fembs > LT_FEMBS_PER_CELL) {
        lt_seterr(err, errlen, "n_fembs=%u out of range 1..%u", g->n_fembs, LT_FEMBS_PER_CELL);
        return LT_ERANGE;
    }
    m->n_wires = lt_geom_wires(g, LT_PLANE_X);
    m->n_streams = lt_geom_streams(g);
    if (m->n_wires > LT_KERNEL_MAX_WIRES || m->n_streams > LT_KERNEL_MAX_STREAMS) {
        lt_seterr(err, errlen, "cell of %u X wires / %u streams exceeds the kernel maxima",
                  m->n_wires, m->n_streams);
        return LT_ERANGE;
    }
    int8_t used_of_stream[LT_KERNEL_MAX_STREAMS];
    memset(used_of_stream, -1, sizeof(used_of_stream));
    for (uint32_t j = 0; j < m->n_wires; j++) {
        uint32_t stream, chan;
        int rc = lt_chmap_reverse(g, LT_PLANE_X, j, &stream, &chan);
        if (rc < 0 || stream >= m->n_streams || chan >= LT_WIBETH_CHANNELS) {
            lt_seterr(err, errlen, "channel map has no stream/channel for X wire %u", j);
            return rc < 0 ? rc : LT_EFORMAT;
        }
        if (used_of_stream[stream] < 0) {
            used_of_stream[stream] = (int8_t)m->n_used;
            m->used_stream[m->n_used++] = (uint8_t)stream;
        }
        uint32_t u = (uint32_t)used_of_stream[stream];
        if (m->used_chmask[u] & (1ULL << chan)) {
            lt_seterr(err, errlen, "channel map gives stream %u channel %u to two X wires", stream,
                      chan);
            return LT_EFORMAT;
        }
        m->used_chmask[u] |= 1ULL << chan;
        m->wire_used[j] = (uint8_t)u;
        m->wire_chan[j] = (uint8_t)chan;
        m->used_wire[u][m->used_nwires[u]] = (uint16_t)j;
        m->used_chan[u][m->used_nwires[u]] = (uint8_t)chan;
        m->used_nwires[u]++;
    }
    for (uint32_t u = 0; u < m->n_used; u++) {
        uint64_t mask = m->used_chmask[u];
        uint32_t ch0 = (uint32_t)__builtin_ctzll(mask), wire0 = LT_KERNEL_MAX_WIRES;
        for (uint32_t k = 0; k < m->used_nwires[u]; k++)
            if (m->used_wire[u][k] < wire0) wire0 = m->used_wire[u][k];
        int direct = 1;
        for (uint32_t gi = 0; gi < 4; gi++) {
            uint64_t grp = (mask >> (16U * gi)) & 0xFFFFU;
            if (grp != 0 && grp != 0xFFFFU) direct = 0;
        }
        for (uint32_t k = 0; k < m->used_nwires[u]; k++)
            if (m->used_wire[u][k] != wire0 + m->used_chan[u][k] - ch0) direct = 0;
        m->used_direct[u] = (uint8_t)direct;
        m->used_ch0[u] = (uint8_t)ch0;
        m->used_wire0[u] = (uint16_t)wire0;
    }
    return 0;
}

/* Reference unpack: channel ch of a sample starts at bit 14*ch of its 14 words, LSB first, and
 * may straddle two words. */
void lt_pre_unpack_sum_scalar(const lt_wibeth_frame *f, uint32_t d, uint64_t chmask, uint32_t ch0,
                              uint32_t *dst, uint32_t stride)
{
    const uint32_t ncols = LT_WIBETH_SAMPLES >> d;
    for (uint32_t c = 0; c < LT_PRE_COLS_MAX; c++) {
        if (c >= ncols) break;
        for (uint32_t ch = 0; ch < LT_WIBETH_CHANNELS; ch++)
            if (ch >= ch0 && ((chmask >> ch) & 1U)) dst[c * stride + ch - ch0] = 0;
    }
    for (uint32_t s = 0; s < LT_WIBETH_SAMPLES; s++) {
        const uint64_t *w = f->adc_words[s];
        for (uint32_t ch = 0; ch < LT_WIBETH_CHANNELS; ch++) {
#pragma HLS UNROLL factor = 8
            if (!((chmask >> ch) & 1U)) continue;
            uint32_t bit = ch * LT_WIBETH_ADC_BITS;
            uint32_t wi = bit >> 6, sh = bit & 63U;
            uint64_t v = w[wi] >> sh;
            if (sh > 64U - LT_WIBETH_ADC_BITS) v |= w[wi + 1] << (64U - sh);
            dst[(s >> d) * stride + ch - ch0] += (uint32_t)(v & LT_WIBETH_ADC_MAX);
        }
    }
}

void lt_pre_reset(struct lt_pre_state *st, uint32_t d, uint32_t in_shift, int32_t x_max)
{
    st->d = (uint8_t)d;
    st->in_shift = (uint8_t)in_shift;
    st->x_max = (int16_t)x_max;
    st->started = 0;
    memset(st->ped, 0, sizeof(st->ped));
}

uint32_t lt_pre_period(struct lt_pre_state *st, const struct lt_pre_map *m,
                       const lt_wibeth_frame *frames,
                       int16_t x[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES])
{
    const uint32_t d = st->d, ncols = LT_WIBETH_SAMPLES >> d;
    /* Unpack stream by stream (one frame's sums stay in L1), scattering into wire order. */
    for (uint32_t u = 0; u < LT_KERNEL_MAX_STREAMS; u++) {
        if (u >= m->n_used) break;
        const lt_wibeth_frame *f = &frames[m->used_stream[u]];
        const uint64_t mask = m->used_chmask[u];
        /* Straight into wire order when the map allows, else via one stream's sums. */
        uint32_t *dst = m->used_direct[u] ? &st->wsum[0][m->used_wire0[u]] : &st->sums[0][0];
        uint32_t ch0 = m->used_direct[u] ? m->used_ch0[u] : 0;
        uint32_t stride = m->used_direct[u] ? LT_KERNEL_MAX_WIRES : LT_WIBETH_CHANNELS;
#ifndef __SYNTHESIS__
        if (st->unpack)
            st->unpack(f, d, mask, ch0, dst, stride,
                       u + 1U < m->n_used ? &frames[m->used_stream[u + 1U]] : NULL);
        else
#endif
            lt_pre_unpack_sum_scalar(f, d, mask, ch0, dst, stride);
        if (m->used_direct[u]) continue;
        for (uint32_t k = 0; k < LT_WIBETH_CHANNELS; k++) {
            if (k >= m->used_nwires[u]) break;
            uint32_t j = m->used_wire[u][k], ch = m->used_chan[u][k];
            for (uint32_t c = 0; c < LT_PRE_COLS_MAX; c++)
                if (c < ncols) st->wsum[c][j] = st->sums[c][ch];
        }
    }
    return lt_pre_columns(st, m, st->wsum, x);
}

uint32_t lt_pre_columns(struct lt_pre_state *st, const struct lt_pre_map *m,
                        uint32_t wsum[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES],
                        int16_t x[LT_PRE_COLS_MAX][LT_KERNEL_MAX_WIRES])
{
    const uint32_t d = st->d, ncols = LT_WIBETH_SAMPLES >> d;
    /* Pedestal tracking and requantisation, column by column (the tracker is sequential in
     * time, parallel across wires). */
    for (uint32_t c = 0; c < LT_PRE_COLS_MAX; c++) {
        if (c >= ncols) break;
        if (!st->started) {
            for (uint32_t j = 0; j < LT_KERNEL_MAX_WIRES; j++)
                if (j < m->n_wires) st->ped[j] = (int32_t)((wsum[c][j] << 4) >> d);
            st->started = 1;
        }
#ifndef __SYNTHESIS__
        if (st->column)
            st->column(wsum[c], st->ped, x[c], m->n_wires, d, st->in_shift, st->x_max);
        else
#endif
            lt_pre_column_scalar(wsum[c], st->ped, x[c], m->n_wires, d, st->in_shift, st->x_max);
    }
    return ncols;
}

void lt_pre_column_scalar(const uint32_t *wsum, int32_t *ped, int16_t *x, uint32_t n, uint32_t d,
                          uint32_t in_shift, int32_t x_max)
{
    for (uint32_t j = 0; j < LT_KERNEL_MAX_WIRES; j++) {
#pragma HLS PIPELINE II = 1
        if (j >= n) break;
        int32_t v = (int32_t)((wsum[j] << 4) >> d);
        int32_t diff = v - ped[j];
        ped[j] += (diff > 0) - (diff < 0);
        int32_t y = lt_round_shift32(diff, in_shift);
        x[j] = (int16_t)(y < -x_max - 1 ? -x_max - 1 : y > x_max ? x_max : y);
    }
}
