/* Weights file: the committed default loads; encode/parse round trip; every kind of corruption
 * (magic, version, truncation at every length, CRC, trailing bytes, out-of-range and inconsistent
 * shapes, reserved byte, activation width, unreadable file) is refused with a message naming the
 * file and the problem. Version 1 files (no activation width: int16) still load. */
#include "weights.h"
#include "lt_error.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct lt_weights W; /* big: keep off the stack */
static char err[512];

static void random_net(struct lt_kernel_net *n, unsigned seed)
{
    srand(seed);
    memset(n, 0, sizeof(*n));
    n->d = 3;
    n->in_shift = 2;
    n->threshold = -7;
    n->n_layers = 3;
    struct lt_kernel_layer L[3] = {
        {1, 5, 3, 5, 6, 1, 2, 2}, {5, 3, 2, 3, 7, 1, 2, 1}, {3, 1, 1, 3, 4, 0, 1, 1}};
    for (int l = 0; l < 3; l++) {
        n->layer[l] = L[l];
        for (uint32_t i = 0; i < lt_kernel_layer_nweights(&L[l]); i++)
            n->w[l][i] = (int8_t)(rand() % 256 - 128);
        for (int c = 0; c < L[l].cout; c++) n->bias[l][c] = rand() - RAND_MAX / 2;
    }
}

static size_t encode(const struct lt_kernel_net *n, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    ck_assert_int_eq(lt_weights_encode(n, "unit test net", buf, cap, &len, err, sizeof(err)), 0);
    ck_assert_uint_eq(len, lt_weights_encoded_size(n));
    return len;
}

/* Re-seal a modified image with a valid CRC so the structural checks are what fails. */
static void reseal(uint8_t *buf, size_t len)
{
    uint32_t c = lt_weights_crc32(buf, len - 4);
    for (int i = 0; i < 4; i++) buf[len - 4 + i] = (uint8_t)(c >> (8 * i));
}

START_TEST(crc_matches_zlib)
{
    /* zlib.crc32(b"123456789") == 0xcbf43926, the standard check value */
    ck_assert_uint_eq(lt_weights_crc32("123456789", 9), 0xCBF43926U);
}
END_TEST

START_TEST(default_file_loads)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/kernels/weights/default.ltw", LARTRIG_SOURCE_DIR);
    ck_assert_msg(lt_weights_load(path, &W, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_ge(W.net.n_layers, 1);
    ck_assert_int_eq(lt_kernel_arch_check(&W.net, err, sizeof(err)), 0);
    ck_assert_uint_eq(W.file_size, lt_weights_encoded_size(&W.net));
    ck_assert_uint_gt(strlen(W.name), 0);
}
END_TEST

START_TEST(round_trip)
{
    static struct lt_kernel_net n;
    static uint8_t buf[1 << 16];
    random_net(&n, 42);
    size_t len = encode(&n, buf, sizeof(buf));
    ck_assert_msg(lt_weights_parse(buf, len, "rt", &W, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(W.name, "unit test net");
    ck_assert_int_eq(W.net.d, 3);
    ck_assert_int_eq(W.net.in_shift, 2);
    ck_assert_int_eq(W.net.threshold, -7);
    ck_assert_uint_eq(W.net.act_bits, 16); /* a zeroed descriptor's width is written as 16 */
    ck_assert_uint_eq(lt_wf_get_u16(buf + LT_WEIGHTS_OFF_VERSION), 2);
    ck_assert_uint_eq(buf[LT_WEIGHTS_OFF_ACT_BITS], 16);
    for (int l = 0; l < 3; l++) {
        ck_assert_mem_eq(&W.net.layer[l], &n.layer[l], sizeof(n.layer[l]));
        ck_assert_mem_eq(W.net.w[l], n.w[l], lt_kernel_layer_nweights(&n.layer[l]));
        ck_assert_mem_eq(W.net.bias[l], n.bias[l], n.layer[l].cout * sizeof(int32_t));
    }
    /* too small an output buffer is refused */
    size_t l2;
    ck_assert_int_eq(lt_weights_encode(&n, "x", buf, len - 1, &l2, err, sizeof(err)), LT_ESHORT);
}
END_TEST

START_TEST(bad_magic_and_version)
{
    static struct lt_kernel_net n;
    static uint8_t buf[1 << 16];
    random_net(&n, 1);
    size_t len = encode(&n, buf, sizeof(buf));
    buf[0] = 'X';
    reseal(buf, len);
    ck_assert_int_eq(lt_weights_parse(buf, len, "m.ltw", &W, err, sizeof(err)), LT_EMAGIC);
    ck_assert_ptr_nonnull(strstr(err, "m.ltw"));
    ck_assert_ptr_nonnull(strstr(err, "magic"));
    buf[0] = 'L';
    buf[8] = 3;
    reseal(buf, len);
    ck_assert_int_eq(lt_weights_parse(buf, len, "v.ltw", &W, err, sizeof(err)), LT_EVERSION);
    ck_assert_ptr_nonnull(strstr(err, "version 3"));
    ck_assert_ptr_nonnull(strstr(err, "v.ltw"));
    buf[8] = 0;
    reseal(buf, len);
    ck_assert_int_eq(lt_weights_parse(buf, len, "v0.ltw", &W, err, sizeof(err)), LT_EVERSION);
    ck_assert_int_eq(lt_weights_parse(buf, 3, "tiny", &W, err, sizeof(err)), LT_ESHORT);
}
END_TEST

/* Version 2 carries the activation width; version 1 (byte 13 reserved) reads as int16. */
START_TEST(activation_width_and_version_1)
{
    static struct lt_kernel_net n;
    static uint8_t buf[1 << 16];
    random_net(&n, 5);
    n.act_bits = 8;
    size_t len = encode(&n, buf, sizeof(buf));
    ck_assert_uint_eq(buf[LT_WEIGHTS_OFF_ACT_BITS], 8);
    ck_assert_msg(lt_weights_parse(buf, len, "a8", &W, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(W.net.act_bits, 8);
    ck_assert_mem_eq(W.net.w[1], n.w[1], lt_kernel_layer_nweights(&n.layer[1]));
    /* the same bytes as version 1: byte 13 must then be 0 and the width is 16 */
    buf[LT_WEIGHTS_OFF_VERSION] = 1;
    reseal(buf, len);
    ck_assert_int_eq(lt_weights_parse(buf, len, "v1r.ltw", &W, err, sizeof(err)), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "reserved"));
    buf[LT_WEIGHTS_OFF_ACT_BITS] = 0;
    reseal(buf, len);
    ck_assert_msg(lt_weights_parse(buf, len, "v1.ltw", &W, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(W.net.act_bits, 16);
    /* version 2 with a width other than 8 or 16 */
    buf[LT_WEIGHTS_OFF_VERSION] = 2;
    for (uint32_t bad = 0; bad < 256; bad += 3) {
        if (bad == 8 || bad == 16) continue;
        buf[LT_WEIGHTS_OFF_ACT_BITS] = (uint8_t)bad;
        reseal(buf, len);
        ck_assert_int_eq(lt_weights_parse(buf, len, "aw.ltw", &W, err, sizeof(err)), LT_EFORMAT);
        ck_assert_ptr_nonnull(strstr(err, "activation width"));
    }
    /* the encoder refuses a descriptor with an unknown width */
    n.act_bits = 12;
    size_t l2;
    ck_assert_int_eq(lt_weights_encode(&n, "x", buf, sizeof(buf), &l2, err, sizeof(err)),
                     LT_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "act_bits"));
}
END_TEST

START_TEST(every_truncation_rejected)
{
    static struct lt_kernel_net n;
    static uint8_t buf[1 << 16];
    random_net(&n, 2);
    size_t len = encode(&n, buf, sizeof(buf));
    size_t desc_end = LT_WEIGHTS_HEADER_SIZE + 3 * LT_WEIGHTS_LAYER_DESC + 4;
    for (size_t l = 0; l < len; l++) {
        /* a heap copy of exactly l bytes, so ASan catches any read past the end */
        uint8_t *t = malloc(l ? l : 1);
        memcpy(t, buf, l);
        int rc = lt_weights_parse(t, l, "trunc.ltw", &W, err, sizeof(err));
        ck_assert_msg(rc < 0, "truncation to %zu bytes accepted", l);
        ck_assert_ptr_nonnull(strstr(err, "trunc.ltw"));
        if (l >= desc_end) {
            ck_assert_msg(rc == LT_ESHORT, "len %zu: %s", l, err);
            ck_assert_ptr_nonnull(strstr(err, "truncated"));
        }
        free(t);
    }
}
END_TEST

START_TEST(crc_and_trailing)
{
    static struct lt_kernel_net n;
    static uint8_t buf[1 << 16];
    random_net(&n, 3);
    size_t len = encode(&n, buf, sizeof(buf));
    for (size_t pos = 0; pos < len; pos += 7) {
        buf[pos] ^= 0x10;
        int rc = lt_weights_parse(buf, len, "flip.ltw", &W, err, sizeof(err));
        ck_assert_msg(rc < 0, "bit flip at %zu accepted", pos);
        buf[pos] ^= 0x10;
    }
    buf[100] ^= 1;
    ck_assert_int_eq(lt_weights_parse(buf, len, "c.ltw", &W, err, sizeof(err)), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "CRC"));
    buf[100] ^= 1;
    /* one extra byte after a valid file */
    buf[len] = 0;
    ck_assert_int_eq(lt_weights_parse(buf, len + 1, "t.ltw", &W, err, sizeof(err)), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "trailing"));
    /* extra bytes sealed by a CRC that covers them */
    memmove(buf + len - 4 + 5, buf + len - 4, 4);
    memset(buf + len - 4, 0xAB, 5);
    reseal(buf, len + 5);
    ck_assert_int_eq(lt_weights_parse(buf, len + 5, "t2.ltw", &W, err, sizeof(err)), LT_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "trailing"));
}
END_TEST

/* Modify one descriptor byte of a valid file, re-seal, expect rc and a message fragment. */
static void expect_shape_error(size_t off, uint8_t value, int rc_want, const char *frag)
{
    static struct lt_kernel_net n;
    static uint8_t buf[1 << 16];
    random_net(&n, 4);
    size_t len = encode(&n, buf, sizeof(buf));
    buf[off] = value;
    /* keep the length consistent with the new descriptor so the shape check is reached */
    struct lt_kernel_net m = n;
    if (off >= LT_WEIGHTS_HEADER_SIZE) {
        size_t l = (off - LT_WEIGHTS_HEADER_SIZE) / LT_WEIGHTS_LAYER_DESC;
        uint8_t *d = (uint8_t *)&m.layer[l];
        d[(off - LT_WEIGHTS_HEADER_SIZE) % LT_WEIGHTS_LAYER_DESC] = value;
    }
    size_t want_len = len;
    if (off >= LT_WEIGHTS_HEADER_SIZE) want_len = lt_weights_encoded_size(&m);
    static uint8_t buf2[1 << 16];
    memcpy(buf2, buf, len);
    if (want_len > len) memset(buf2 + len - 4, 0, want_len - len + 4);
    reseal(buf2, want_len);
    int rc = lt_weights_parse(buf2, want_len, "shape.ltw", &W, err, sizeof(err));
    ck_assert_msg(rc == rc_want, "offset %zu value %u: rc %d (%s)", off, value, rc, err);
    ck_assert_msg(strstr(err, frag) != NULL, "message \"%s\" lacks \"%s\"", err, frag);
    ck_assert_ptr_nonnull(strstr(err, "shape.ltw"));
}

START_TEST(shapes_out_of_range)
{
    const size_t L0 = LT_WEIGHTS_HEADER_SIZE, L1 = L0 + 8, L2 = L1 + 8;
    expect_shape_error(10, 6, LT_ERANGE, "downsample");
    expect_shape_error(11, 16, LT_ERANGE, "in_shift");
    expect_shape_error(12, 7, LT_ERANGE, "n_layers");
    expect_shape_error(13, 1, LT_EFORMAT, "activation width");
    expect_shape_error(L0 + 0, 2, LT_EFORMAT, "Cin"); /* input has one channel */
    expect_shape_error(L0 + 1, 17, LT_ERANGE, "Cout");
    expect_shape_error(L0 + 2, 8, LT_ERANGE, "kt");
    expect_shape_error(L0 + 3, 4, LT_ERANGE, "kw"); /* even */
    expect_shape_error(L0 + 3, 9, LT_ERANGE, "kw");
    expect_shape_error(L0 + 4, 25, LT_ERANGE, "shift");
    expect_shape_error(L0 + 5, 2, LT_ERANGE, "relu");
    expect_shape_error(L0 + 6, 3, LT_ERANGE, "pw");
    expect_shape_error(L0 + 7, 4, LT_ERANGE, "pt");
    expect_shape_error(L1 + 0, 4, LT_EFORMAT, "Cin"); /* chain broken */
    expect_shape_error(L2 + 1, 2, LT_EFORMAT, "last layer");
    expect_shape_error(L2 + 5, 1, LT_EFORMAT, "last layer");
}
END_TEST

START_TEST(file_errors_name_the_file)
{
    ck_assert_int_eq(lt_weights_load("/nonexistent/dir/w.ltw", &W, err, sizeof(err)), LT_EIO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/w.ltw"));
    char path[] = "/tmp/lt_test_weights_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "LARTRIGW\x01\x00garbage", 17), 17);
    close(fd);
    ck_assert_int_lt(lt_weights_load(path, &W, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, path));
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("weights");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, crc_matches_zlib);
    tcase_add_test(tc, default_file_loads);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, bad_magic_and_version);
    tcase_add_test(tc, activation_width_and_version_1);
    tcase_add_test(tc, every_truncation_rejected);
    tcase_add_test(tc, crc_and_trailing);
    tcase_add_test(tc, shapes_out_of_range);
    tcase_add_test(tc, file_errors_name_the_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
