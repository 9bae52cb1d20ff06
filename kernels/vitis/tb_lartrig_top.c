/* C-simulation testbench of the card's kernel (vitis_hls csim_design, `make csim`, and ctest's
 * vitis_csim): runs lartrig_top block after block on synthetic WIBEth frames, exactly as the host
 * drives it (config written once, INIT on the first block, state kept in "card memory" between
 * blocks), and compares every block with the kernels/ reference called directly
 * (lt_kernel_cell_init + lt_kernel_process): candidates, watermark, columns and counters.
 * Usage: tb_lartrig_top WEIGHTS_FILE. Returns 0 when everything matches (what csim requires). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lartrig_top.h"
#include "lt_error.h"
#include "weights.h"

#define TB_FEMBS  2 /* 4 streams, 96 X wires: small enough for RTL co-simulation */
#define TB_PERIOD 3 /* frame periods per block */
#define TB_BLOCKS 8

static lt_wibeth_frame frames[TB_BLOCKS * TB_PERIOD][2 * TB_FEMBS];
static struct lt_kernel_cell ref, card_state; /* card_state: the state buffer in card memory */
static struct lt_xrt_cell_config config;
static struct lt_candidate ref_cand[LT_XRT_MAX_CANDIDATES];
static uint8_t
    out[sizeof(struct lt_xrt_out_header) + LT_XRT_MAX_CANDIDATES * sizeof(struct lt_candidate)];
static uint8_t image[LT_WEIGHTS_MAX_FILE];

static uint32_t rng = 2463534242U;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Pedestals with noise, charge blips, and a missing period before block 5 (a time gap). */
static void make_frames(void)
{
    static uint16_t adc[64][64];
    for (int p = 0; p < TB_BLOCKS * TB_PERIOD; p++)
        for (int s = 0; s < 2 * TB_FEMBS; s++) {
            for (int t = 0; t < 64; t++)
                for (int c = 0; c < 64; c++) adc[t][c] = (uint16_t)(700 + c + rnd() % 9 - 4);
            if (rnd() % 2) {
                int c0 = (int)(rnd() % 56), t0 = (int)(rnd() % 40), amp = 100 + (int)(rnd() % 700);
                for (int t = t0; t < t0 + 20; t++)
                    for (int c = c0; c < c0 + 8; c++) adc[t][c] = (uint16_t)(adc[t][c] + amp);
            }
            memset(&frames[p][s], 0, sizeof frames[p][s]);
            lt_wibeth_pack(&frames[p][s], adc);
            uint64_t gap = p >= 5 * TB_PERIOD ? 4096U : 0U;
            frames[p][s].daq_header[1] = 123456789ULL + (uint64_t)p * 2048U + gap;
        }
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "../weights/cnn.ltw";
    char err[256];
    struct lt_weights w;
    if (lt_weights_load(path, &w, err, sizeof err) != 0) {
        fprintf(stderr, "tb_lartrig_top: %s\n", err);
        return 2;
    }
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(image, 1, sizeof image, f) : 0;
    if (f) fclose(f);
    if (len != w.file_size) {
        fprintf(stderr, "tb_lartrig_top: cannot re-read %s\n", path);
        return 2;
    }
    make_frames();

    const struct lt_cell_geom g = {TB_FEMBS};
    const struct lt_cand_params p = {w.net.threshold, 1, 2};
    if (lt_kernel_cell_init(&ref, 5, &g, &p, err, sizeof err) != 0 ||
        lt_pre_map_build(&config.map, &g, err, sizeof err) != 0) {
        fprintf(stderr, "tb_lartrig_top: %s\n", err);
        return 2;
    }
    config.magic = LT_XRT_CONFIG_MAGIC;
    config.cell_id = 5;

    int bad = 0;
    uint32_t total = 0;
    for (uint32_t b = 0; b < TB_BLOCKS; b++) {
        const lt_wibeth_frame *fb = &frames[b * TB_PERIOD][0];
        struct lt_kernel_block rb;
        uint64_t dropped_before = ref.cand.dropped;
        lt_kernel_process(&ref, &w.net, fb, TB_PERIOD, ref_cand, LT_XRT_MAX_CANDIDATES, &rb, NULL,
                          0);
        memset(out, 0, sizeof out);
        lartrig_top(image, fb, &config, &card_state, out, (uint32_t)len, 1, TB_PERIOD,
                    w.net.threshold, 1, 2, b == 0 ? LT_XRT_FLAG_INIT : 0U, b);
        struct lt_xrt_out_header h;
        memcpy(&h, out, sizeof h);
        int ok =
            h.magic == LT_XRT_OUT_MAGIC && h.status == 0 && h.sequence == b &&
            h.n_candidates == rb.n_candidates &&
            h.dropped == (uint32_t)(ref.cand.dropped - dropped_before) &&
            h.watermark == rb.watermark && h.columns == rb.score_columns &&
            h.cand_evicted == ref.cand.evicted && h.cand_dropped == ref.cand.dropped &&
            h.time_gaps == ref.time_gaps && h.ts_mismatch == ref.ts_mismatch &&
            memcmp(out + sizeof h, ref_cand, rb.n_candidates * sizeof(struct lt_candidate)) == 0;
        printf("block %u: %u candidates (reference %u), watermark %llu, %s\n", b, h.n_candidates,
               rb.n_candidates, (unsigned long long)h.watermark, ok ? "match" : "MISMATCH");
        bad += !ok;
        total += h.n_candidates;
    }
    if (ref.time_gaps != 1) {
        printf("expected the time gap to be seen once, got %llu\n",
               (unsigned long long)ref.time_gaps);
        bad++;
    }
    if (total == 0) {
        printf("no candidates at all: the testbench would prove nothing\n");
        bad++;
    }
    printf("tb_lartrig_top: %s (%u candidates over %d blocks)\n", bad ? "FAILED" : "PASSED", total,
           TB_BLOCKS);
    return bad ? 1 : 0;
}
