/* Packing a rendered period into the cell's WIBEth frames: gather each stream's 64 channels from
 * the plane-ordered array through the channel map, pack the 14-bit samples, write the headers
 * as a WIB fills them (block_length, link_valid, ready, COLDATA timestamps:
 * lib/formats/wibeth.h). */
#include "daqfmt.h"
#include "sim_internal.h"

void lt_sim_cell_pack(const struct lt_sim_cell *s, const uint16_t (*adc)[LT_SAMPLES_PER_FRAME],
                      lt_wibeth_frame *frames)
{
    uint16_t buf[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS];
    const lt_ticks ts = s->period_sample * LT_TICKS_PER_SAMPLE;
    for (uint32_t st = 0; st < s->n_streams; st++) {
        const uint16_t *map = &s->stream_offline[st * LT_WIBETH_CHANNELS];
        for (uint32_t ch = 0; ch < LT_WIBETH_CHANNELS; ch++) {
            const uint16_t *row = adc[map[ch]];
            for (uint32_t k = 0; k < LT_WIBETH_SAMPLES; k++) buf[k][ch] = row[k];
        }
        lt_wibeth_frame *f = &frames[st];
        lt_wibeth_pack(f, (const uint16_t(*)[LT_WIBETH_CHANNELS])buf);
        struct lt_daqeth_header h = {
            .version = LT_DAQETH_VERSION,
            .det_id = LT_DETID_HD_TPC,
            .crate = s->stream_crate[st],
            .slot = s->stream_slot[st],
            .stream = s->stream_eth[st],
            .seq_id = (uint16_t)(s->period_index % 4096U),
            .block_length = LT_DAQETH_BLOCK_LENGTH,
            .timestamp = ts,
        };
        /* Field widths are guaranteed by construction (crate < 1024, seq < 4096). */
        (void)lt_daqeth_encode(f, &h);
        struct lt_wibeth_header w;
        lt_wibeth_header_as_wib(&w, ts, (uint8_t)s->stream_eth[st]);
        (void)lt_wibeth_header_encode(f, &w);
    }
}
