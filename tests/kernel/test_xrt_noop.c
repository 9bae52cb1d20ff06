/* The xrt backend's host path, run against XRT's noop shim (XCL_EMULATION_MODE=noop): xclbin
 * load, one kernel handle per compute unit, buffer allocation, weight upload, frame DMA, run
 * submission and completion, several cells multiplexed onto the CUs, and every refusal (no
 * xclbin, a broken one, a wrong kernel name, no device, no XRT environment).
 *
 * The noop shim completes every run at once and runs no kernel. Its buffers are plain host
 * memory, so after each submit this test runs the card's top function (kernels/vitis/
 * lartrig_top.c, compiled by gcc: the C simulation) on exactly the buffers and arguments the run
 * was started with, and then compares what the host collects with the cpu backend, bit for bit.
 * That checks the host path and the card's argument/buffer contract; it does not check the FPGA
 * build itself (no Vitis here: docs/fpga.md). Where noted, the test writes a result buffer by
 * hand to exercise the host's checks. The xclbin is made by tests/kernel/xclbin_gen.c, since
 * Debian's xclbinutil does not work. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef LARTRIG_HAVE_XRT
int main(void)
{
    printf("test_xrt_noop: SKIPPED: built without XRT (libxrt-dev not found at configure time), "
           "so there is no xrt backend to test\n");
    return 0;
}
#else

#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accel.h"
#include "backend_xrt.h"
#include "lt_error.h"
#include "weights.h"
#include "vitis/lartrig_top.c" /* the card's kernel, for the C simulation */
#include "xclbin_gen.c"        /* test helper, not built on its own */

static char tmpdir[256];
static char xclbin2[512]; /* 2 CUs in 2 memory banks */
static char errbuf[512];

static const char *const shim_dirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                                        "/usr/lib64", "/usr/lib", "/opt/xilinx/xrt/lib"};

/* XRT looks for $XILINX_XRT/lib/libxrt_noop.so.2; Debian installs it in the multiarch directory,
 * so XILINX_XRT points at a temporary directory whose lib/ is a link there. */
static void make_xrt_root(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lartrig_xrt_noop_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    const char *libdir = NULL;
    for (size_t i = 0; i < sizeof shim_dirs / sizeof shim_dirs[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/libxrt_noop.so.2", shim_dirs[i]);
        if (access(p, R_OK) == 0) {
            libdir = shim_dirs[i];
            break;
        }
    }
    ck_assert_msg(libdir != NULL, "libxrt_noop.so.2 not found: libxrt-dev is installed but its "
                                  "noop shim is not where Debian puts it");
    char link[512];
    snprintf(link, sizeof link, "%s/lib", tmpdir);
    ck_assert_int_eq(symlink(libdir, link), 0);
}

static void write_xclbin(const char *path, uint32_t cus, uint32_t banks, uint32_t omit)
{
    struct lt_xclbin_spec s = {.kernel_name = LT_XRT_KERNEL_NAME,
                               .compute_units = cus,
                               .banks = banks,
                               .omit_sections = omit};
    memcpy(s.uuid, "lartrig-noop-tst", 16);
    s.uuid[15] = (uint8_t)(cus * 16 + banks);
    ck_assert_int_eq(lt_xclbin_gen_file(&s, path), 0);
}

static void setup(void)
{
    make_xrt_root();
    snprintf(xclbin2, sizeof xclbin2, "%s/lartrig_2cu.xclbin", tmpdir);
    write_xclbin(xclbin2, 2, 2, 0);
    setenv("XILINX_XRT", tmpdir, 1);
    setenv("XCL_EMULATION_MODE", "noop", 1);
    errbuf[0] = '\0';
}

static void teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

#define NF          3 /* FEMBs per test cell: 6 streams, 144 X wires */
#define BLOCK       4 /* periods per block */
#define NBLK        6
#define NCELLS      3

static struct lt_accel_config config(const char *backend, const char *xclbin)
{
    struct lt_accel_config c;
    memset(&c, 0, sizeof c);
    c.backend = backend;
    c.threads = 1;
    c.max_cells = NCELLS;
    c.max_block_periods = BLOCK;
    c.device_index = 0;
    c.xclbin_path = xclbin;
    c.kernel_name = LT_XRT_KERNEL_NAME;
    c.compute_units = 0; /* all the xclbin has */
    c.cells_per_unit = 2;
    return c;
}

static int open_err(const struct lt_accel_config *c)
{
    struct lt_accel *a = NULL;
    errbuf[0] = '\0';
    int rc = lt_accel_open(c, &a, errbuf, sizeof errbuf);
    ck_assert_ptr_null(a);
    ck_assert_int_lt(rc, 0);
    ck_assert_msg(errbuf[0] != '\0', "a refusal must say why");
    printf("  refused as expected: %s\n", errbuf);
    return rc;
}

/* --- refusals: lt_accel_open with backend "xrt" fails cleanly, never crashes or hangs -------- */

START_TEST(no_xclbin)
{
    struct lt_accel_config c = config("xrt", NULL);
    ck_assert_int_eq(open_err(&c), LT_EINVAL);
    char missing[512];
    snprintf(missing, sizeof missing, "%s/nothing_here.xclbin", tmpdir);
    c.xclbin_path = missing;
    ck_assert_int_eq(open_err(&c), LT_EIO);
    ck_assert_ptr_nonnull(strstr(errbuf, missing));
}
END_TEST

START_TEST(bad_xclbin)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bad.xclbin", tmpdir);
    struct lt_accel_config c = config("xrt", path);

    FILE *f = fopen(path, "wb"); /* not an xclbin at all */
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 4096; i++) fputc(i * 7, f);
    fclose(f);
    ck_assert_int_eq(open_err(&c), LT_EMAGIC);

    f = fopen(path, "wb"); /* shorter than a header */
    ck_assert_ptr_nonnull(f);
    fputs("xclbin2", f);
    fclose(f);
    ck_assert_int_eq(open_err(&c), LT_ESHORT);

    write_xclbin(path, 2, 2, 0); /* truncated: the header's length disagrees */
    ck_assert_int_eq(truncate(path, 1000), 0);
    ck_assert_int_eq(open_err(&c), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(errbuf, "truncated"));

    write_xclbin(path, 2, 2, 1U << IP_LAYOUT); /* no compute units at all */
    ck_assert_int_eq(open_err(&c), LT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "IP_LAYOUT"));

    write_xclbin(path, 2, 2, 1U << EMBEDDED_METADATA); /* XRT cannot know the arguments */
    open_err(&c);

    /* Arguments bound to no memory bank. */
    write_xclbin(path, 2, 2, (1U << CONNECTIVITY) | (1U << ASK_GROUP_CONNECTIVITY));
    ck_assert_int_eq(open_err(&c), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(errbuf, "not connected"));

    /* Only the grouped sections missing is a valid xclbin: XRT falls back to the plain ones. */
    write_xclbin(path, 2, 2, (1U << ASK_GROUP_TOPOLOGY) | (1U << ASK_GROUP_CONNECTIVITY));
    struct lt_accel *a = NULL;
    ck_assert_msg(lt_accel_open(&c, &a, errbuf, sizeof errbuf) == 0, "%s", errbuf);
    ck_assert_str_eq(lt_accel_backend_name(a), "xrt");
    lt_accel_close(a);
}
END_TEST

START_TEST(wrong_kernel_name)
{
    struct lt_accel_config c = config("xrt", xclbin2);
    c.kernel_name = "lartrig_other";
    ck_assert_int_eq(open_err(&c), LT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "lartrig_other"));
    ck_assert_ptr_nonnull(strstr(errbuf, "lartrig_top:lartrig_top_1")); /* what it does have */
    c.kernel_name = "lartrig_top:{x}";
    ck_assert_int_eq(open_err(&c), LT_EINVAL);
    c.kernel_name = LT_XRT_KERNEL_NAME;
    c.compute_units = 3; /* the file has 2 */
    ck_assert_int_eq(open_err(&c), LT_ERANGE);
    /* more candidates per block than the card's buffer holds (trigd's kernel.max_candidates) */
    c.compute_units = 0;
    c.max_candidates = LT_XRT_MAX_CANDIDATES + 1U;
    ck_assert_int_eq(open_err(&c), LT_ERANGE);
    ck_assert_ptr_nonnull(strstr(errbuf, "max_candidates"));
    c.max_candidates = LT_XRT_MAX_CANDIDATES; /* the default kernel.max_candidates fits */
    struct lt_accel *a = NULL;
    ck_assert_msg(lt_accel_open(&c, &a, errbuf, sizeof errbuf) == 0, "%s", errbuf);
    lt_accel_close(a);
}
END_TEST

START_TEST(no_device_without_shim)
{
    struct lt_accel_config c = config("xrt", xclbin2);
    /* Without XILINX_XRT, XRT 2.13 itself would std::terminate: the backend must refuse first. */
    unsetenv("XILINX_XRT");
    ck_assert_int_eq(open_err(&c), LT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "XILINX_XRT"));

    setenv("XILINX_XRT", "/nonexistent/xrt", 1); /* no shim library there */
    ck_assert_int_eq(open_err(&c), LT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "libxrt_noop.so.2"));

    setenv("XILINX_XRT", tmpdir, 1);
    setenv("XCL_EMULATION_MODE", "bogus", 1); /* XRT would std::terminate on this too */
    ck_assert_int_eq(open_err(&c), LT_EINVAL);

    /* Emulation needs an xclbin built for that target, and Vitis: without it XRT's sw_emu shim
     * exits or blocks and hw_emu waits for its simulator forever. Both are refused before any
     * emulation library is loaded. */
    setenv("XCL_EMULATION_MODE", "sw_emu", 1);
    ck_assert_int_eq(open_err(&c), LT_EINVAL);
    ck_assert_ptr_nonnull(strstr(errbuf, "built for hw, but XCL_EMULATION_MODE asks for sw_emu"));
    setenv("XCL_EMULATION_MODE", "hw_emu", 1);
    ck_assert_int_eq(open_err(&c), LT_EINVAL);
    char emu[512];
    snprintf(emu, sizeof emu, "%s/sw_emu.xclbin", tmpdir);
    struct lt_xclbin_spec s = {
        .kernel_name = LT_XRT_KERNEL_NAME, .compute_units = 1, .banks = 1, .mode = XCLBIN_SW_EMU};
    ck_assert_int_eq(lt_xclbin_gen_file(&s, emu), 0);
    setenv("XCL_EMULATION_MODE", "sw_emu", 1);
    unsetenv("XILINX_VITIS");
    c.xclbin_path = emu;
    ck_assert_int_eq(open_err(&c), LT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "XILINX_VITIS"));
    s.omit_sections = 1U << IP_LAYOUT; /* as v++ writes sw_emu xclbins: accepted, same refusal */
    ck_assert_int_eq(lt_xclbin_gen_file(&s, emu), 0);
    ck_assert_int_eq(open_err(&c), LT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "XILINX_VITIS"));
    c.xclbin_path = xclbin2;

    /* The real hardware shim with no card on this machine: device 0 does not open. */
    unsetenv("XCL_EMULATION_MODE");
    ck_assert_int_eq(open_err(&c), LT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "cannot open device 0"));
}
END_TEST

/* --- data ------------------------------------------------------------------------------------ */

static lt_wibeth_frame FR[NCELLS][NBLK * BLOCK][NF * 2];
static struct lt_weights WTS;

static uint64_t rs = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (uint32_t)(rs >> 24);
}

/* Pedestal + noise with charge blips on a few neighbouring channels, so candidates appear; one
 * period of cell 1 is missing (a time gap the kernel must notice on both backends). */
static void make_data(void)
{
    static uint16_t adc[64][64];
    for (int cell = 0; cell < NCELLS; cell++)
        for (int p = 0; p < NBLK * BLOCK; p++)
            for (int s = 0; s < NF * 2; s++) {
                for (int t = 0; t < 64; t++)
                    for (int c = 0; c < 64; c++)
                        adc[t][c] = (uint16_t)(900 + 2 * c + (int)(rnd() % 11) - 5);
                if (rnd() % 2 == 0) {
                    int c0 = (int)(rnd() % 56), t0 = (int)(rnd() % 40),
                        amp = 80 + (int)(rnd() % 900);
                    for (int t = t0; t < t0 + 24; t++)
                        for (int c = c0; c < c0 + 8; c++) adc[t][c] = (uint16_t)(adc[t][c] + amp);
                }
                lt_wibeth_frame *f = &FR[cell][p][s];
                memset(f, 0, sizeof *f);
                lt_wibeth_pack(f, adc);
                uint64_t gap = (cell == 1 && p >= 13) ? 2048U : 0U;
                f->daq_header[1] = 9000000ULL + (uint64_t)cell * 3U + (uint64_t)p * 2048U + gap;
            }
}

static void load_default_weights(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/kernels/weights/cnn.ltw", LARTRIG_SOURCE_DIR);
    ck_assert_msg(lt_weights_load(path, &WTS, errbuf, sizeof errbuf) == 0, "%s", errbuf);
}

/* Run the card for the block just submitted: lartrig_top on the very buffers and arguments of
 * the run (under the noop shim, host memory is card memory). */
static void card_runs(struct lt_accel *a, int slot, uint32_t i)
{
    struct lt_xrt_debug_block b;
    ck_assert_int_eq(lt_xrt_debug_block(lt_xrt_of(a), slot, i, &b), 0);
    lartrig_top(b.weights, b.frames, b.config, b.state, b.out, b.weights_bytes, b.weights_gen,
                b.n_periods, b.threshold, b.gap_w, b.gap_t, b.flags, b.sequence);
}

struct collected {
    int rc;
    uint32_t dropped;
    struct lt_accel_result res;
    struct lt_candidate c[256];
};

static void collect(struct lt_accel *a, int slot, struct collected *o)
{
    memset(o, 0, sizeof *o);
    o->rc = lt_accel_collect(a, slot, o->c, 256, &o->res, &o->dropped);
}

static void same(const struct collected *x, const struct collected *c, int cell, int blk)
{
    ck_assert_msg(x->rc == 0, "xrt collect of cell %d block %d: %d", cell, blk, x->rc);
    ck_assert_int_eq(c->rc, 0);
    ck_assert_msg(x->res.n_candidates == c->res.n_candidates,
                  "cell %d block %d: xrt %u candidates, cpu %u", cell, blk, x->res.n_candidates,
                  c->res.n_candidates);
    ck_assert_msg(memcmp(x->c, c->c, c->res.n_candidates * sizeof(struct lt_candidate)) == 0,
                  "cell %d block %d: candidates differ", cell, blk);
    ck_assert_uint_eq(x->dropped, c->dropped);
    ck_assert_uint_eq(x->res.watermark, c->res.watermark);
    ck_assert_uint_eq(x->res.columns, c->res.columns);
    ck_assert_uint_eq(x->res.cand_evicted, c->res.cand_evicted);
    ck_assert_uint_eq(x->res.cand_dropped, c->res.cand_dropped);
    ck_assert_uint_eq(x->res.time_gaps, c->res.time_gaps);
    ck_assert_uint_eq(x->res.ts_mismatch, c->res.ts_mismatch);
}

static struct lt_accel *open_pair(struct lt_accel **cpu)
{
    struct lt_accel_config cx = config("xrt", xclbin2), cc = config("cpu", NULL);
    struct lt_accel *x = NULL;
    ck_assert_msg(lt_accel_open(&cx, &x, errbuf, sizeof errbuf) == 0, "%s", errbuf);
    ck_assert_msg(lt_accel_open(&cc, cpu, errbuf, sizeof errbuf) == 0, "%s", errbuf);
    ck_assert_msg(lt_accel_load_weights(x, &WTS, errbuf, sizeof errbuf) == 0, "%s", errbuf);
    ck_assert_msg(lt_accel_load_weights(*cpu, &WTS, errbuf, sizeof errbuf) == 0, "%s", errbuf);
    struct lt_cell_geom g = {NF};
    for (int i = 0; i < NCELLS; i++) {
        ck_assert_int_eq(lt_accel_add_cell(x, (uint32_t)(40 + i), &g, errbuf, sizeof errbuf), i);
        ck_assert_int_eq(lt_accel_add_cell(*cpu, (uint32_t)(40 + i), &g, errbuf, sizeof errbuf), i);
    }
    return x;
}

/* --- the working path ------------------------------------------------------------------------ */

START_TEST(host_path_matches_cpu)
{
    make_data();
    load_default_weights();
    struct lt_accel *cpu, *x = open_pair(&cpu);
    struct lt_xrt *xr = lt_xrt_of(x);
    ck_assert_ptr_nonnull(xr);

    /* Multiplexing: cells_per_unit = 2 puts cells 0, 1 on the first CU, cell 2 on the second;
     * each CU's buffers sit in its own bank, so the weights went to two buffers. */
    ck_assert_str_eq(lt_xrt_debug_slot_cu(xr, 0), "lartrig_top_1");
    ck_assert_str_eq(lt_xrt_debug_slot_cu(xr, 1), "lartrig_top_1");
    ck_assert_str_eq(lt_xrt_debug_slot_cu(xr, 2), "lartrig_top_2");
    struct lt_xrt_stats st;
    lt_xrt_stats(xr, &st);
    ck_assert_uint_eq(st.compute_units, 2);
    ck_assert_uint_eq(st.weight_buffers, 2);
    ck_assert_uint_eq(st.bytes_to_card,
                      2 * WTS.file_size + NCELLS * sizeof(struct lt_xrt_cell_config));

    uint64_t total = 0;
    for (int blk = 0; blk < NBLK + 1; blk++)
        for (int i = 0; i < NCELLS; i++) {
            if (blk < NBLK) { /* block blk joins block blk-1 in flight: double buffering */
                const lt_wibeth_frame *f = &FR[i][blk * BLOCK][0];
                ck_assert_int_eq(lt_accel_submit(x, i, f, BLOCK), 0);
                ck_assert_int_eq(lt_accel_submit(cpu, i, f, BLOCK), 0);
                struct lt_xrt_debug_block b;
                uint32_t newest = blk >= 1 ? 1U : 0U;
                ck_assert_int_eq(lt_xrt_debug_block(xr, i, newest, &b), 0);
                ck_assert_msg(memcmp(b.frames, f, BLOCK * NF * 2 * sizeof *f) == 0,
                              "frames of cell %d block %d reached the card changed", i, blk);
                ck_assert_uint_eq(b.flags, blk == 0 ? LT_XRT_FLAG_INIT : 0U);
                ck_assert_uint_eq(b.sequence, (uint32_t)blk);
                card_runs(x, i, newest);
            }
            if (blk >= 1) { /* then the older one is collected */
                static struct collected gx, gc;
                collect(x, i, &gx);
                collect(cpu, i, &gc);
                same(&gx, &gc, i, blk - 1);
                total += gx.res.n_candidates;
            }
        }
    ck_assert_msg(total > 0, "the default weights should see the blips");
    lt_xrt_stats(xr, &st);
    ck_assert_uint_eq(st.runs_started, NBLK * NCELLS);
    ck_assert_uint_eq(st.runs_completed, NBLK * NCELLS);
    ck_assert_uint_eq(st.runs_failed, 0);

    /* New weights restart every cell's run; new candidate parameters carry on. */
    ck_assert_int_eq(lt_accel_load_weights(x, &WTS, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(lt_accel_load_weights(cpu, &WTS, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(
        lt_accel_set_candidate_params(x, WTS.net.threshold / 2, 2, 3, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(
        lt_accel_set_candidate_params(cpu, WTS.net.threshold / 2, 2, 3, errbuf, sizeof errbuf), 0);
    for (int blk = 0; blk < 2; blk++)
        for (int i = 0; i < NCELLS; i++) {
            const lt_wibeth_frame *f = &FR[i][blk * BLOCK][0];
            for (int k = 0; k < BLOCK * NF * 2; k++) /* continue in time after the first pass */
                ((lt_wibeth_frame *)f)[k].daq_header[1] += (uint64_t)NBLK * BLOCK * 2048U * 2U;
            ck_assert_int_eq(lt_accel_submit(x, i, f, BLOCK), 0);
            ck_assert_int_eq(lt_accel_submit(cpu, i, f, BLOCK), 0);
            struct lt_xrt_debug_block b;
            ck_assert_int_eq(lt_xrt_debug_block(xr, i, 0, &b), 0);
            ck_assert_uint_eq(b.flags, blk == 0 ? LT_XRT_FLAG_RESTART : 0U);
            card_runs(x, i, 0);
            static struct collected gx, gc;
            collect(x, i, &gx);
            collect(cpu, i, &gc);
            same(&gx, &gc, i, NBLK + blk);
        }
    lt_accel_close(x);
    lt_accel_close(cpu);
}
END_TEST

/* One cell per CU: its state stays in the CU between blocks (RESIDENT), never in card memory. */
START_TEST(resident_state_matches_cpu)
{
    make_data();
    load_default_weights();
    struct lt_accel_config cx = config("xrt", xclbin2), cc = config("cpu", NULL);
    cx.cells_per_unit = cc.cells_per_unit = 1;
    cx.compute_units = 1;
    cx.max_cells = cc.max_cells = 1;
    struct lt_accel *x = NULL, *cpu = NULL;
    ck_assert_msg(lt_accel_open(&cx, &x, errbuf, sizeof errbuf) == 0, "%s", errbuf);
    ck_assert_msg(lt_accel_open(&cc, &cpu, errbuf, sizeof errbuf) == 0, "%s", errbuf);
    ck_assert_int_eq(lt_accel_load_weights(x, &WTS, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(lt_accel_load_weights(cpu, &WTS, errbuf, sizeof errbuf), 0);
    struct lt_cell_geom g = {NF};
    ck_assert_int_eq(lt_accel_add_cell(x, 1, &g, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(lt_accel_add_cell(cpu, 1, &g, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(lt_accel_add_cell(x, 2, &g, errbuf, sizeof errbuf), LT_EFULL);
    struct lt_xrt_debug_block b;
    for (int blk = 0; blk < NBLK; blk++) {
        const lt_wibeth_frame *f = &FR[1][blk * BLOCK][0]; /* the cell with the time gap */
        ck_assert_int_eq(lt_accel_submit(x, 0, f, BLOCK), 0);
        ck_assert_int_eq(lt_accel_submit(cpu, 0, f, BLOCK), 0);
        ck_assert_int_eq(lt_xrt_debug_block(lt_xrt_of(x), 0, 0, &b), 0);
        ck_assert_uint_eq(b.flags, LT_XRT_FLAG_RESIDENT | (blk == 0 ? LT_XRT_FLAG_INIT : 0U));
        memset(b.state, 0x5a, b.state_bytes); /* card memory is not where the state lives */
        card_runs(x, 0, 0);
        static struct collected gx, gc;
        collect(x, 0, &gx);
        collect(cpu, 0, &gc);
        same(&gx, &gc, 1, blk);
    }
    lt_accel_close(x);
    lt_accel_close(cpu);
}
END_TEST

/* Stand in for the card with a hand-written result, to reach the host's checks. */
static void fake_result(struct lt_xrt *xr, int slot, uint32_t n, uint32_t dropped, int32_t status)
{
    struct lt_xrt_debug_block b;
    ck_assert_int_eq(lt_xrt_debug_block(xr, slot, 0, &b), 0);
    struct lt_xrt_out_header h;
    memset(&h, 0, sizeof h);
    h.magic = LT_XRT_OUT_MAGIC;
    h.status = status;
    h.n_candidates = n;
    h.dropped = dropped;
    h.sequence = b.sequence;
    h.watermark = 777;
    memcpy(b.out, &h, sizeof h);
    struct lt_candidate *c = (struct lt_candidate *)((uint8_t *)b.out + sizeof h);
    for (uint32_t k = 0; k < n && k < LT_XRT_MAX_CANDIDATES; k++) {
        memset(&c[k], 0, sizeof c[k]);
        c[k].time_start = 1000U * k;
        c[k].peak_score = (int32_t)(100 + k);
    }
}

START_TEST(host_checks_of_results)
{
    make_data();
    load_default_weights();
    struct lt_accel_config c = config("xrt", xclbin2);
    c.compute_units = 1;  /* only the first of the two CUs */
    c.cells_per_unit = 0; /* round robin */
    c.max_cells = 2;
    struct lt_accel *a = NULL;
    ck_assert_msg(lt_accel_open(&c, &a, errbuf, sizeof errbuf) == 0, "%s", errbuf);
    struct lt_xrt *xr = lt_xrt_of(a);
    struct lt_cell_geom g = {NF};
    ck_assert_int_eq(lt_accel_add_cell(a, 7, &g, errbuf, sizeof errbuf),
                     LT_EINVAL); /* weights first */
    ck_assert_int_eq(lt_accel_load_weights(a, &WTS, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(lt_accel_add_cell(a, 7, &g, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(lt_accel_add_cell(a, 8, &g, errbuf, sizeof errbuf), 1);
    ck_assert_str_eq(lt_xrt_debug_slot_cu(xr, 1), "lartrig_top_1");
    ck_assert_int_eq(lt_accel_add_cell(a, 9, &g, errbuf, sizeof errbuf), LT_EFULL);
    const lt_wibeth_frame *f = &FR[0][0][0];
    struct lt_candidate cand[4];
    struct lt_accel_result res;
    uint32_t dropped;

    ck_assert_int_eq(lt_accel_collect(a, 0, cand, 4, &res, &dropped), LT_ENOTFOUND);
    ck_assert_int_eq(lt_accel_submit(a, 0, f, BLOCK + 1), LT_EINVAL);

    /* Double buffering: two blocks in flight, a third is refused until one is collected;
     * weights and parameters wait for the card too. */
    ck_assert_int_eq(lt_accel_submit(a, 0, f, BLOCK), 0);
    ck_assert_int_eq(lt_accel_submit(a, 0, f, BLOCK), 0);
    ck_assert_int_eq(lt_accel_submit(a, 0, f, BLOCK), LT_EFULL);
    ck_assert_int_eq(lt_accel_load_weights(a, &WTS, errbuf, sizeof errbuf), LT_EINVAL);
    ck_assert_int_eq(lt_accel_set_candidate_params(a, 1, 1, 1, errbuf, sizeof errbuf), LT_EINVAL);

    /* More candidates than the caller's array: the rest are counted, not lost. */
    fake_result(xr, 0, 7, 3, 0);
    ck_assert_int_eq(lt_accel_collect(a, 0, cand, 4, &res, &dropped), 0);
    ck_assert_uint_eq(res.n_candidates, 4);
    ck_assert_uint_eq(dropped, 3 + 3);
    ck_assert_uint_eq(res.watermark, 777);
    ck_assert_uint_eq(cand[3].time_start, 3000);

    /* The noop shim ran no kernel for the second block: the host notices the unwritten result,
     * and the cell starts afresh (INIT) with its next block. */
    ck_assert_int_eq(lt_accel_collect(a, 0, cand, 4, &res, &dropped), LT_EFORMAT);
    printf("  unwritten result detected: %s\n", lt_xrt_slot_error(xr, 0));
    ck_assert_ptr_nonnull(strstr(lt_xrt_slot_error(xr, 0), "wrote no result"));
    ck_assert_int_eq(lt_accel_submit(a, 0, f, 2), 0);
    struct lt_xrt_debug_block b;
    ck_assert_int_eq(lt_xrt_debug_block(xr, 0, 0, &b), 0);
    ck_assert_uint_eq(b.flags, LT_XRT_FLAG_INIT);
    ck_assert_uint_eq(b.sequence, 2);

    /* A stale sequence number, a kernel-reported error and an impossible count are refused. */
    fake_result(xr, 0, 1, 0, 0);
    ((struct lt_xrt_out_header *)b.out)->sequence = 1;
    ck_assert_int_eq(lt_accel_collect(a, 0, cand, 4, &res, &dropped), LT_EFORMAT);
    ck_assert_int_eq(lt_accel_submit(a, 0, f, 1), 0);
    fake_result(xr, 0, 0, 0, LT_EVERSION);
    ck_assert_int_eq(lt_accel_collect(a, 0, cand, 4, &res, &dropped), LT_EVERSION);
    ck_assert_ptr_nonnull(strstr(lt_xrt_slot_error(xr, 0), "kernel on CU lartrig_top_1"));
    ck_assert_int_eq(lt_accel_submit(a, 0, f, 1), 0);
    fake_result(xr, 0, 0, 0, 0);
    ck_assert_int_eq(lt_xrt_debug_block(xr, 0, 0, &b), 0);
    ((struct lt_xrt_out_header *)b.out)->n_candidates = LT_XRT_MAX_CANDIDATES + 1;
    ck_assert_int_eq(lt_accel_collect(a, 0, cand, 4, &res, &dropped), LT_EFORMAT);

    /* The card refuses a weights image it cannot read, and says so in the header. */
    ck_assert_int_eq(lt_accel_submit(a, 1, f, 1), 0);
    ck_assert_int_eq(lt_xrt_debug_block(xr, 1, 0, &b), 0);
    uint8_t junk[64] = {0};
    lartrig_top(junk, b.frames, b.config, b.state, b.out, sizeof junk, b.weights_gen + 1000U,
                b.n_periods, b.threshold, b.gap_w, b.gap_t, b.flags, b.sequence);
    ck_assert_int_eq(lt_accel_collect(a, 1, cand, 4, &res, &dropped), LT_EMAGIC);

    struct lt_xrt_stats st;
    lt_xrt_stats(xr, &st);
    ck_assert_uint_eq(st.compute_units, 1);
    ck_assert_uint_eq(st.weight_buffers, 1);
    ck_assert_uint_eq(st.runs_started, 6);
    ck_assert_uint_eq(st.runs_completed, 6);
    lt_accel_close(a);
}
END_TEST

/* Cell threads submit and collect at once (as trigd's do) while another thread keeps trying to
 * change the candidate parameters: every block comes back in order with its own result, and a
 * change is accepted only while no block is in flight. The card is stood in for by each cell
 * thread writing its own result (lartrig_top's statics are one CU's, not thread-safe in C). */
#define CONC_CELLS  3
#define CONC_BLOCKS 300

struct conc {
    struct lt_accel *a;
    int slot;
    int failures;
};

static void *cell_thread(void *arg)
{
    struct conc *c = arg;
    struct lt_xrt *xr = lt_xrt_of(c->a);
    struct lt_candidate cand[8];
    struct lt_accel_result res;
    uint32_t dropped;
    for (uint32_t b = 0; b < CONC_BLOCKS; b++) {
        if (lt_accel_submit(c->a, c->slot, &FR[c->slot][0][0], 1) != 0) {
            c->failures++;
            continue;
        }
        struct lt_xrt_debug_block db;
        if (lt_xrt_debug_block(xr, c->slot, 0, &db) != 0 || db.sequence != b) c->failures++;
        struct lt_xrt_out_header h;
        memset(&h, 0, sizeof h);
        h.magic = LT_XRT_OUT_MAGIC;
        h.sequence = db.sequence;
        h.n_candidates = 1;
        h.watermark = 1000000ULL * (uint64_t)c->slot + b;
        struct lt_candidate one;
        memset(&one, 0, sizeof one);
        one.cell = (uint32_t)c->slot;
        one.time_start = b;
        memcpy((uint8_t *)db.out + sizeof h, &one, sizeof one);
        memcpy(db.out, &h, sizeof h);
        if (lt_accel_collect(c->a, c->slot, cand, 8, &res, &dropped) != 0 ||
            res.n_candidates != 1 || cand[0].cell != (uint32_t)c->slot || cand[0].time_start != b ||
            res.watermark != 1000000ULL * (uint64_t)c->slot + b)
            c->failures++;
    }
    return NULL;
}

START_TEST(concurrent_cells)
{
    make_data();
    load_default_weights();
    struct lt_accel_config cfg = config("xrt", xclbin2);
    struct lt_accel *a = NULL;
    ck_assert_msg(lt_accel_open(&cfg, &a, errbuf, sizeof errbuf) == 0, "%s", errbuf);
    ck_assert_int_eq(lt_accel_load_weights(a, &WTS, errbuf, sizeof errbuf), 0);
    struct lt_cell_geom g = {NF};
    struct conc cc[CONC_CELLS];
    pthread_t th[CONC_CELLS];
    for (int i = 0; i < CONC_CELLS; i++) {
        ck_assert_int_eq(lt_accel_add_cell(a, (uint32_t)i, &g, errbuf, sizeof errbuf), i);
        cc[i] = (struct conc){a, i, 0};
    }
    for (int i = 0; i < CONC_CELLS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, cell_thread, &cc[i]), 0);
    int accepted = 0, refused = 0;
    for (int k = 0; k < 2000; k++) {
        char e[200];
        int rc = lt_accel_set_candidate_params(a, 7, 1, 2, e, sizeof e);
        if (rc == 0)
            accepted++;
        else if (rc == LT_EINVAL)
            refused++;
        else
            ck_abort_msg("set_candidate_params: %d %s", rc, e);
    }
    for (int i = 0; i < CONC_CELLS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(cc[i].failures == 0, "cell %d: %d bad blocks", i, cc[i].failures);
    }
    printf("  concurrent cells: parameter change accepted %d, refused %d times\n", accepted,
           refused);
    ck_assert_int_eq(accepted + refused, 2000);
    struct lt_xrt_stats st;
    lt_xrt_stats(lt_xrt_of(a), &st);
    ck_assert_uint_eq(st.runs_started, CONC_CELLS * CONC_BLOCKS);
    ck_assert_uint_eq(st.runs_completed, CONC_CELLS * CONC_BLOCKS);
    lt_accel_close(a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("xrt_noop");
    TCase *t = tcase_create("noop");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, no_xclbin);
    tcase_add_test(t, bad_xclbin);
    tcase_add_test(t, wrong_kernel_name);
    tcase_add_test(t, no_device_without_shim);
    tcase_add_test(t, host_path_matches_cpu);
    tcase_add_test(t, resident_state_matches_cpu);
    tcase_add_test(t, host_checks_of_results);
    tcase_add_test(t, concurrent_cells);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    printf("test_xrt_noop: XRT noop shim (XCL_EMULATION_MODE=noop). It completes runs without "
           "running a kernel: the test runs the card's top function in C simulation on the run's "
           "buffers and compares with the cpu backend; the FPGA build itself is not tested here "
           "(no Vitis).\n");
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
#endif
