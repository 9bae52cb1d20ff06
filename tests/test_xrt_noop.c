/* The xrt backend's host path, run against XRT's noop shim (XCL_EMULATION_MODE=noop): xclbin
 * load, one kernel handle per compute unit, buffer allocation, weight upload, frame DMA, run
 * submission and completion, several cells multiplexed onto the CUs, and every refusal (no
 * xclbin, a broken one, a wrong kernel name, no device, no XRT environment).
 *
 * The noop shim completes every run at once and runs no kernel: nothing computes candidates.
 * Where a test needs a result it writes the result buffer itself, as the card would (the noop
 * shim's buffers are plain host memory), to check the host's parsing and accounting. Whether the
 * kernel computes the right candidates is the cpu backend's test (the same C source). The xclbin
 * is made by tests/xclbin_gen.c, since Debian's xclbinutil does not work. */
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

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accel.h"
#include "backend_xrt.h"
#include "lt_error.h"
#include "vitis/lartrig_xrt_abi.h"
#include "xclbin_gen.c" /* test helper, not built on its own */

static char tmpdir[256];
static char xclbin2[512]; /* 2 CUs, 2 banks */
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

static struct lt_accel_config config(const char *xclbin)
{
    struct lt_accel_config c = {.backend = "xrt",
                                .max_cells = 4,
                                .max_block_periods = 4,
                                .device_index = 0,
                                .xclbin_path = xclbin,
                                .kernel_name = LT_XRT_KERNEL_NAME,
                                .compute_units = 0,
                                .cells_per_unit = 2};
    return c;
}

static int open_err(const struct lt_accel_config *c)
{
    struct lt_xrt *x = NULL;
    errbuf[0] = '\0';
    int rc = lt_xrt_open(c, &x, errbuf, sizeof errbuf);
    ck_assert_ptr_null(x);
    ck_assert_msg(errbuf[0] != '\0', "a refusal must say why");
    printf("  refused as expected: %s\n", errbuf);
    return rc;
}

/* --- refusals ----------------------------------------------------------------------------- */

START_TEST(no_xclbin)
{
    struct lt_accel_config c = config(NULL);
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
    struct lt_accel_config c = config(path);

    FILE *f = fopen(path, "wb"); /* not an xclbin at all */
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 4096; i++) fputc(i * 7, f);
    fclose(f);
    ck_assert_int_eq(open_err(&c), LT_EMAGIC);

    f = fopen(path, "wb"); /* shorter than a header */
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

    write_xclbin(path, 2, 2, 1U << EMBEDDED_METADATA); /* XRT cannot know the kernel's arguments */
    ck_assert_int_lt(open_err(&c), 0);

    /* Arguments bound to no memory bank. */
    write_xclbin(path, 2, 2, (1U << CONNECTIVITY) | (1U << ASK_GROUP_CONNECTIVITY));
    ck_assert_int_eq(open_err(&c), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(errbuf, "not connected"));

    /* Only the grouped sections missing is a valid xclbin: XRT falls back to the plain ones. */
    write_xclbin(path, 2, 2, (1U << ASK_GROUP_TOPOLOGY) | (1U << ASK_GROUP_CONNECTIVITY));
    struct lt_xrt *x = NULL;
    ck_assert_msg(lt_xrt_open(&c, &x, errbuf, sizeof errbuf) == 0, "%s", errbuf);
    lt_xrt_close(x);
}
END_TEST

START_TEST(wrong_kernel_name)
{
    struct lt_accel_config c = config(xclbin2);
    c.kernel_name = "lartrig_other";
    ck_assert_int_eq(open_err(&c), LT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "lartrig_other"));
    ck_assert_ptr_nonnull(strstr(errbuf, "lartrig_top:lartrig_top_1")); /* what it does have */
    c.kernel_name = "lartrig_top:{x}";
    ck_assert_int_eq(open_err(&c), LT_EINVAL);
    c.kernel_name = LT_XRT_KERNEL_NAME;
    c.compute_units = 3; /* the file has 2 */
    ck_assert_int_eq(open_err(&c), LT_ERANGE);
}
END_TEST

START_TEST(no_device_without_shim)
{
    struct lt_accel_config c = config(xclbin2);
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

    /* The real hardware shim with no card on this machine: device 0 does not open. */
    unsetenv("XCL_EMULATION_MODE");
    ck_assert_int_eq(open_err(&c), LT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "cannot open device 0"));
}
END_TEST

/* --- the working path under the noop shim --------------------------------------------------- */

static struct lt_xrt *open_ok(struct lt_accel_config *c)
{
    struct lt_xrt *x = NULL;
    int rc = lt_xrt_open(c, &x, errbuf, sizeof errbuf);
    ck_assert_msg(rc == 0, "open failed: %s", errbuf);
    ck_assert_ptr_nonnull(x);
    return x;
}

static uint8_t weights_image[3000];

static void upload(struct lt_xrt *x)
{
    for (size_t i = 0; i < sizeof weights_image; i++) weights_image[i] = (uint8_t)(i * 13 + 1);
    int rc = lt_xrt_upload_weights(x, weights_image, sizeof weights_image, errbuf, sizeof errbuf);
    ck_assert_msg(rc == 0, "upload failed: %s", errbuf);
}

/* n_periods x streams frames whose bytes say which cell and period they belong to. */
static lt_wibeth_frame *make_frames(uint32_t cell, const struct lt_cell_geom *g, uint32_t periods)
{
    size_t n = (size_t)periods * lt_geom_streams(g);
    lt_wibeth_frame *f = calloc(n, sizeof *f);
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n; i++) {
        f[i].daq_header[1] = 1000000 + (i / lt_geom_streams(g)) * 2048; /* timestamp */
        for (unsigned s = 0; s < LT_WIBETH_SAMPLES; s++)
            for (unsigned w = 0; w < LT_WIBETH_WORDS_PER_SAMPLE; w++)
                f[i].adc_words[s][w] = ((uint64_t)cell << 48) ^ (i * 7919 + s * 31 + w);
    }
    return f;
}

/* Stand in for the card: write a result the way lartrig_top does. */
static void fake_result(struct lt_xrt *x, int slot, uint32_t i, uint32_t n, uint32_t dropped,
                        int32_t status)
{
    struct lt_xrt_debug_block b;
    ck_assert_int_eq(lt_xrt_debug_block(x, slot, i, &b), 0);
    struct lt_xrt_out_header h = {.magic = LT_XRT_OUT_MAGIC,
                                  .status = status,
                                  .n_candidates = n,
                                  .dropped = dropped,
                                  .sequence = b.sequence,
                                  .watermark = 5000000 + b.sequence,
                                  .columns = 64};
    memcpy(b.out, &h, sizeof h);
    struct lt_candidate *c = (struct lt_candidate *)((uint8_t *)b.out + sizeof h);
    for (uint32_t k = 0; k < n && k < LT_XRT_MAX_CANDIDATES; k++) {
        memset(&c[k], 0, sizeof c[k]);
        c[k].time_start = 1000 * k + b.sequence;
        c[k].channel_start = (uint16_t)k;
        c[k].peak_score = (int32_t)(100 + k);
        c[k].cell = (uint32_t)slot;
    }
}

START_TEST(buffers_weights_and_multiplexing)
{
    struct lt_accel_config c = config(xclbin2);
    struct lt_xrt *x = open_ok(&c);
    struct lt_xrt_stats st;
    lt_xrt_stats(x, &st);
    ck_assert_uint_eq(st.compute_units, 2);

    /* Weights: one buffer per memory group (the two CUs sit in two banks), uploaded once. */
    upload(x);
    lt_xrt_stats(x, &st);
    ck_assert_uint_eq(st.weight_buffers, 2);
    ck_assert_uint_eq(st.bytes_to_card, 2 * sizeof weights_image);
    ck_assert_int_eq(lt_xrt_upload_weights(x, NULL, 0, errbuf, sizeof errbuf), LT_EINVAL);

    /* Four cells, two per CU; the fifth finds no room. */
    struct lt_cell_geom g[4] = {{1}, {2}, {20}, {3}};
    for (int i = 0; i < 4; i++) {
        int slot = lt_xrt_add_cell(x, (uint32_t)(10 + i), &g[i], errbuf, sizeof errbuf);
        ck_assert_msg(slot == i, "add_cell %d: %d %s", i, slot, errbuf);
    }
    ck_assert_str_eq(lt_xrt_debug_slot_cu(x, 0), "lartrig_top_1");
    ck_assert_str_eq(lt_xrt_debug_slot_cu(x, 1), "lartrig_top_1");
    ck_assert_str_eq(lt_xrt_debug_slot_cu(x, 2), "lartrig_top_2");
    ck_assert_str_eq(lt_xrt_debug_slot_cu(x, 3), "lartrig_top_2");
    ck_assert_int_eq(lt_xrt_add_cell(x, 99, &g[0], errbuf, sizeof errbuf), LT_EFULL);
    struct lt_cell_geom bad = {0};
    ck_assert_int_eq(lt_xrt_add_cell(x, 98, &bad, errbuf, sizeof errbuf), LT_EINVAL);

    /* Interleave two blocks on every cell, as four cell threads would, then collect all. */
    lt_wibeth_frame *fr[4];
    for (int i = 0; i < 4; i++) fr[i] = make_frames((uint32_t)i, &g[i], 4);
    for (int blk = 0; blk < 2; blk++)
        for (int i = 0; i < 4; i++) {
            ck_assert_int_eq(lt_xrt_submit(x, i, fr[i], (uint32_t)(blk + 3)), 0);
            struct lt_xrt_debug_block b;
            ck_assert_int_eq(lt_xrt_debug_block(x, i, (uint32_t)blk, &b), 0);
            size_t bytes = (size_t)(blk + 3) * lt_geom_streams(&g[i]) * sizeof(lt_wibeth_frame);
            ck_assert_msg(memcmp(b.frames, fr[i], bytes) == 0, "frames of cell %d block %d", i,
                          blk);
            ck_assert_uint_eq(b.sequence, (uint32_t)blk);
            ck_assert_uint_eq(b.flags, 0U); /* weights came before the cells: no restart */
            fake_result(x, i, (uint32_t)blk, (uint32_t)(i + blk), 0, 0);
        }
    lt_xrt_stats(x, &st);
    ck_assert_uint_eq(st.runs_started, 8);
    for (int blk = 0; blk < 2; blk++)
        for (int i = 0; i < 4; i++) {
            struct lt_candidate cand[8];
            struct lt_accel_result res;
            uint32_t dropped = 99;
            int rc = lt_xrt_collect(x, i, cand, 8, &res, &dropped);
            ck_assert_msg(rc == 0, "collect %d/%d: %s", i, blk, lt_xrt_slot_error(x, i));
            ck_assert_uint_eq(res.n_candidates, (uint32_t)(i + blk));
            ck_assert_uint_eq(dropped, 0);
            ck_assert_uint_eq(res.watermark, 5000000 + (uint64_t)blk);
            ck_assert_uint_eq(res.columns, 64);
            for (uint32_t k = 0; k < res.n_candidates; k++) {
                ck_assert_uint_eq(cand[k].time_start, 1000 * k + (uint64_t)blk);
                ck_assert_int_eq(cand[k].peak_score, (int32_t)(100 + k));
            }
        }
    lt_xrt_stats(x, &st);
    ck_assert_uint_eq(st.runs_completed, 8);
    ck_assert_uint_eq(st.runs_failed, 0);
    ck_assert_uint_eq(st.bytes_from_card,
                      8 * (sizeof(struct lt_xrt_out_header) +
                           LT_XRT_MAX_CANDIDATES * sizeof(struct lt_candidate)));
    for (int i = 0; i < 4; i++) free(fr[i]);
    lt_xrt_close(x);
}
END_TEST

START_TEST(submit_collect_edges)
{
    struct lt_accel_config c = config(xclbin2);
    c.compute_units = 1;  /* only the first CU of the two */
    c.cells_per_unit = 0; /* round robin */
    struct lt_xrt *x = open_ok(&c);
    struct lt_cell_geom g = {2};
    int slot = lt_xrt_add_cell(x, 7, &g, errbuf, sizeof errbuf);
    ck_assert_int_eq(slot, 0);
    lt_wibeth_frame *fr = make_frames(7, &g, 4);
    struct lt_candidate cand[4];
    struct lt_accel_result res;
    uint32_t dropped;

    ck_assert_int_eq(lt_xrt_submit(x, slot, fr, 1), LT_EINVAL); /* no weights yet */
    ck_assert_ptr_nonnull(strstr(lt_xrt_slot_error(x, slot), "no weights"));
    upload(x);
    ck_assert_int_eq(lt_xrt_collect(x, slot, cand, 4, &res, &dropped), LT_EINVAL); /* nothing */
    ck_assert_int_eq(lt_xrt_submit(x, slot, fr, 0), LT_EINVAL);
    ck_assert_int_eq(lt_xrt_submit(x, slot, fr, 5), LT_EINVAL); /* > max_block_periods */
    ck_assert_int_eq(lt_xrt_submit(x, 1, fr, 1), LT_EINVAL);    /* no such slot */

    /* Double buffering: two blocks in flight, the third is refused until one is collected. */
    ck_assert_int_eq(lt_xrt_submit(x, slot, fr, 4), 0);
    ck_assert_int_eq(lt_xrt_submit(x, slot, fr, 4), 0);
    ck_assert_int_eq(lt_xrt_submit(x, slot, fr, 4), LT_EFULL);
    ck_assert_int_eq(lt_xrt_upload_weights(x, weights_image, 10, errbuf, sizeof errbuf),
                     LT_EINVAL); /* not while blocks are in flight */

    /* More candidates than the caller's array: the rest are counted, not lost. */
    fake_result(x, slot, 0, 7, 3, 0);
    ck_assert_int_eq(lt_xrt_collect(x, slot, cand, 4, &res, &dropped), 0);
    ck_assert_uint_eq(res.n_candidates, 4);
    ck_assert_uint_eq(dropped, 3 + 3);

    /* The noop shim ran no kernel for block 1: the host notices the unwritten result. */
    ck_assert_int_eq(lt_xrt_collect(x, slot, cand, 4, &res, &dropped), LT_EFORMAT);
    printf("  unwritten result detected: %s\n", lt_xrt_slot_error(x, slot));
    ck_assert_ptr_nonnull(strstr(lt_xrt_slot_error(x, slot), "wrote no result"));

    /* After a bad block the card's state is undefined: the host initialises it again (one more
     * state DMA) before the next block. A result with a stale sequence number is refused, and
     * so is a kernel-reported error. */
    struct lt_xrt_stats st;
    lt_xrt_stats(x, &st);
    uint64_t before = st.bytes_to_card;
    ck_assert_int_eq(lt_xrt_submit(x, slot, fr, 2), 0);
    struct lt_xrt_debug_block b;
    ck_assert_int_eq(lt_xrt_debug_block(x, slot, 0, &b), 0);
    lt_xrt_stats(x, &st);
    ck_assert_uint_eq(st.bytes_to_card - before,
                      b.state_bytes + 2 * lt_geom_streams(&g) * sizeof(lt_wibeth_frame));
    ck_assert_uint_eq(b.flags, 0U);
    ck_assert_uint_eq(b.sequence, 2);
    fake_result(x, slot, 0, 1, 0, 0);
    ((struct lt_xrt_out_header *)b.out)->sequence = 1;
    ck_assert_int_eq(lt_xrt_collect(x, slot, cand, 4, &res, &dropped), LT_EFORMAT);
    ck_assert_int_eq(lt_xrt_submit(x, slot, fr, 2), 0);
    fake_result(x, slot, 0, 0, 0, LT_EFORMAT);
    ck_assert_int_eq(lt_xrt_collect(x, slot, cand, 4, &res, &dropped), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(lt_xrt_slot_error(x, slot), "kernel on CU lartrig_top_1"));
    ck_assert_int_eq(lt_xrt_submit(x, slot, fr, 1), 0); /* a count beyond the buffer */
    fake_result(x, slot, 0, 0, 0, 0);
    ((struct lt_xrt_out_header *)b.out)->n_candidates = LT_XRT_MAX_CANDIDATES + 1;
    ck_assert_int_eq(lt_xrt_collect(x, slot, cand, 4, &res, &dropped), LT_EFORMAT);

    /* New weights restart every cell's run with its next block. */
    upload(x);
    ck_assert_int_eq(lt_xrt_submit(x, slot, fr, 1), 0);
    ck_assert_int_eq(lt_xrt_debug_block(x, slot, 0, &b), 0);
    ck_assert_uint_eq(b.flags, LT_XRT_FLAG_RESTART);
    ck_assert_int_eq(lt_xrt_set_candidate_params(x, 5, 1, 2, errbuf, sizeof errbuf), LT_EINVAL);
    fake_result(x, slot, 0, 0, 0, 0);
    ck_assert_int_eq(lt_xrt_collect(x, slot, cand, 4, &res, &dropped), 0);
    ck_assert_int_eq(lt_xrt_set_candidate_params(x, 5, 1, 2, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(lt_xrt_submit(x, slot, fr, 1), 0);
    ck_assert_int_eq(lt_xrt_debug_block(x, slot, 0, &b), 0);
    ck_assert_uint_eq(b.flags, 0U);
    fake_result(x, slot, 0, 0, 0, 0);
    ck_assert_int_eq(lt_xrt_collect(x, slot, cand, 4, &res, &dropped), 0);

    lt_xrt_stats(x, &st);
    ck_assert_uint_eq(st.compute_units, 1);
    ck_assert_uint_eq(st.runs_started, 7);
    ck_assert_uint_eq(st.runs_completed, 7);
    free(fr);
    lt_xrt_close(x);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("xrt_noop");
    TCase *t = tcase_create("noop");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, no_xclbin);
    tcase_add_test(t, bad_xclbin);
    tcase_add_test(t, wrong_kernel_name);
    tcase_add_test(t, no_device_without_shim);
    tcase_add_test(t, buffers_weights_and_multiplexing);
    tcase_add_test(t, submit_collect_edges);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    printf("test_xrt_noop: XRT noop shim (XCL_EMULATION_MODE=noop). It completes runs without "
           "running a kernel, so this test covers the host path only; the kernel's results are "
           "checked bit for bit by the cpu backend's tests.\n");
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
#endif
