/* The Vitis HLS top function of the lartrig kernel: one run = one block of one cell.
 *
 *   weights -> on-chip network (re-read only when the host's weights generation changes; a CU
 *              keeps it between runs in `static` arrays, i.e. BRAM)
 *   state   -> on-chip working copy of the cell (pedestals, line buffers, open candidates),
 *              processed with the kernels/ C source, written back: many cells share one CU
 *   frames  -> lt_kernel_process (preprocess -> CNN -> candidates)
 *   out     <- candidates, then the header the host checks (magic, echoed sequence)
 *
 * gcc compiles this file too (tests/kernel/test_xrt_noop.c and tb_lartrig_top.c), which is the C
 * simulation: the same integers as the cpu backend, checked bit for bit. */
#include "lartrig_top.h"

#include <string.h>

#include "kernel_weights_format.h" /* the layout the host loader reads too */
#include "lt_error.h"

int32_t lt_xrt_decode_weights(const uint8_t *img, uint32_t len, struct lt_kernel_net *net)
{
    if (len < lt_wf_desc_offset(1) + LT_WEIGHTS_CRC_SIZE) return LT_ESHORT;
    for (uint32_t i = 0; i < LT_WEIGHTS_MAGIC_LEN; i++)
        if (img[i] != (uint8_t)LT_WEIGHTS_MAGIC[i]) return LT_EMAGIC;
    if (!lt_wf_version_known(lt_wf_get_u16(img + LT_WEIGHTS_OFF_VERSION))) return LT_EVERSION;
    lt_wf_get_net_header(img, net);
    if (net->act_bits != 8 && net->act_bits != 16) return LT_ERANGE;
    const uint32_t n = net->n_layers;
    if (n < 1 || n > LT_KERNEL_MAX_LAYERS) return LT_ERANGE;
    if (lt_wf_desc_offset(n) > len) return LT_ESHORT;
    for (uint32_t l = 0; l < LT_KERNEL_MAX_LAYERS; l++) {
        if (l >= n) break;
        struct lt_kernel_layer *L = &net->layer[l];
        lt_wf_get_desc(img + lt_wf_desc_offset(l), L);
        if (L->cin < 1 || L->cin > LT_KERNEL_MAX_CH || L->cout < 1 || L->cout > LT_KERNEL_MAX_CH ||
            L->kt < 1 || L->kt > LT_KERNEL_MAX_KT || L->kw < 1 || L->kw > LT_KERNEL_MAX_KW)
            return LT_ERANGE;
    }
    uint32_t off = lt_wf_desc_offset(n);
    for (uint32_t l = 0; l < LT_KERNEL_MAX_LAYERS; l++) {
        if (l >= n) break;
        const struct lt_kernel_layer *L = &net->layer[l];
        const uint32_t nw = lt_kernel_layer_nweights(L);
        if (off + lt_wf_layer_param_bytes(L) + LT_WEIGHTS_CRC_SIZE > len) return LT_ESHORT;
        for (uint32_t i = 0; i < LT_KERNEL_MAX_WEIGHTS; i++) {
#pragma HLS PIPELINE II = 1
            if (i >= nw) break;
            net->w[l][i] = (int8_t)img[off + i];
        }
        off += nw;
        for (uint32_t c = 0; c < LT_KERNEL_MAX_CH; c++) {
            if (c >= L->cout) break;
            net->bias[l][c] = (int32_t)lt_wf_get_u32(img + off + LT_WEIGHTS_BIAS_SIZE * c);
        }
        off += LT_WEIGHTS_BIAS_SIZE * L->cout;
    }
    return off + LT_WEIGHTS_CRC_SIZE == len ? 0 : LT_EFORMAT; /* the CRC-32 ends the file */
}

/* A fresh cell, as lt_kernel_cell_init leaves it (that function builds the wire table with error
 * strings, so the host builds the table and the card copies it). The host test compares the
 * card path with the cpu backend bit for bit, which catches any drift between the two. */
static void cell_init(struct lt_kernel_cell *k, const struct lt_xrt_cell_config *cfg,
                      const struct lt_cand_params *p)
{
    k->map = cfg->map;
    k->cell_id = cfg->cell_id;
    k->params = *p;
    k->running = 0;
    k->time_gaps = k->ts_mismatch = k->periods = 0;
    k->cand.evicted = k->cand.dropped = 0;
    k->cand.n_open = 0;
    k->cand.next_u = 0;
}

void lartrig_top(const uint8_t *weights, const lt_wibeth_frame *frames,
                 const struct lt_xrt_cell_config *config, struct lt_kernel_cell *state,
                 uint8_t *out, uint32_t weights_bytes, uint32_t weights_gen, uint32_t n_periods,
                 int32_t threshold, uint32_t gap_w, uint32_t gap_t, uint32_t flags,
                 uint32_t sequence)
{
    /* One AXI master per buffer so each can sit in its own memory bank (lartrig_*.cfg). */
    /* clang-format off */
#pragma HLS INTERFACE m_axi port=weights offset=slave bundle=gmem0 max_read_burst_length=64
#pragma HLS INTERFACE m_axi port=frames offset=slave bundle=gmem1 max_read_burst_length=256
#pragma HLS INTERFACE m_axi port=config offset=slave bundle=gmem2
#pragma HLS INTERFACE m_axi port=state offset=slave bundle=gmem3 max_read_burst_length=256 max_write_burst_length=256
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem4
#pragma HLS INTERFACE s_axilite port=weights bundle=control
#pragma HLS INTERFACE s_axilite port=frames bundle=control
#pragma HLS INTERFACE s_axilite port=config bundle=control
#pragma HLS INTERFACE s_axilite port=state bundle=control
#pragma HLS INTERFACE s_axilite port=out bundle=control
#pragma HLS INTERFACE s_axilite port=weights_bytes bundle=control
#pragma HLS INTERFACE s_axilite port=weights_gen bundle=control
#pragma HLS INTERFACE s_axilite port=n_periods bundle=control
#pragma HLS INTERFACE s_axilite port=threshold bundle=control
#pragma HLS INTERFACE s_axilite port=gap_w bundle=control
#pragma HLS INTERFACE s_axilite port=gap_t bundle=control
#pragma HLS INTERFACE s_axilite port=flags bundle=control
#pragma HLS INTERFACE s_axilite port=sequence bundle=control
#pragma HLS INTERFACE s_axilite port=return bundle=control
    /* clang-format on */

    /* Kept on chip between runs of this compute unit. */
    static struct lt_kernel_net net;
    static uint32_t net_gen;
    static int32_t net_status = LT_ENOTFOUND; /* no weights until the first generation */
    static struct lt_kernel_cell cell;
    static struct lt_candidate cand[LT_XRT_MAX_CANDIDATES];

    struct lt_xrt_out_header h;
    memset(&h, 0, sizeof h);
    h.magic = LT_XRT_OUT_MAGIC;
    h.sequence = sequence;

    if (weights_gen != net_gen) {
        net_status = lt_xrt_decode_weights(weights, weights_bytes, &net);
        net_gen = weights_gen;
    }
    const struct lt_cand_params params = {(int16_t)threshold, gap_w, gap_t};
    if (net_status != 0) {
        h.status = net_status;
    } else if ((flags & LT_XRT_FLAG_INIT) && config->magic != LT_XRT_CONFIG_MAGIC) {
        h.status = LT_EFORMAT;
    } else if (n_periods * config->map.n_streams == 0) {
        h.status = LT_EINVAL;
    } else {
        if (flags & LT_XRT_FLAG_INIT)
            cell_init(&cell, config, &params);
        else if (!(flags & LT_XRT_FLAG_RESIDENT))
            memcpy(&cell, state, sizeof cell);
        if (flags & LT_XRT_FLAG_RESTART) lt_kernel_cell_restart(&cell);
        cell.params = params; /* the open candidates carry on with the new parameters */
        cell.cand.p = params;

        uint64_t dropped_before = cell.cand.dropped;
        struct lt_kernel_block res;
        lt_kernel_process(&cell, &net, frames, n_periods, cand, LT_XRT_MAX_CANDIDATES, &res, NULL,
                          0);
        if (!(flags & LT_XRT_FLAG_RESIDENT)) memcpy(state, &cell, sizeof cell);
        memcpy(out + sizeof h, cand, res.n_candidates * sizeof(struct lt_candidate));
        h.n_candidates = res.n_candidates;
        h.dropped = (uint32_t)(cell.cand.dropped - dropped_before);
        h.watermark = res.watermark;
        h.columns = res.score_columns;
        h.cand_evicted = cell.cand.evicted;
        h.cand_dropped = cell.cand.dropped;
        h.time_gaps = cell.time_gaps;
        h.ts_mismatch = cell.ts_mismatch;
    }
    memcpy(out, &h, sizeof h); /* last: the host checks magic and sequence */
}
