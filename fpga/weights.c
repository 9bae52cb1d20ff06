/* Weights file reader/writer. Byte table: docs/kernel.md "Weights file". Parsing never trusts a
 * length before checking it against what is left, so a truncated or hostile file is refused with
 * a message, never read out of bounds. */
#include "weights.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lt_error.h"

/* CRC-32, reflected polynomial 0xEDB88320 (zlib's). Bitwise rather than table-driven: a weights
 * file is < 100 kB and read once, so there is no table to initialise or share between threads. */
uint32_t lt_weights_crc32(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint32_t c = 0xFFFFFFFFU;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320U & (0U - (c & 1U)));
    }
    return c ^ 0xFFFFFFFFU;
}

size_t lt_weights_encoded_size(const struct lt_kernel_net *net)
{
    size_t n = lt_wf_desc_offset(net->n_layers) + LT_WEIGHTS_CRC_SIZE;
    for (uint32_t l = 0; l < net->n_layers && l < LT_KERNEL_MAX_LAYERS; l++)
        n += lt_wf_layer_param_bytes(&net->layer[l]);
    return n;
}

int lt_weights_parse(const void *buf, size_t len, const char *what, struct lt_weights *out,
                     char *err, size_t errlen)
{
    const uint8_t *p = buf;
    if (!what) what = "<memory>";
    memset(out, 0, sizeof(*out));
    if (len < LT_WEIGHTS_MAGIC_LEN || memcmp(p, LT_WEIGHTS_MAGIC, LT_WEIGHTS_MAGIC_LEN) != 0) {
        lt_seterr(err, errlen, "%s: not a lartrig weights file (magic is not \"%s\")", what,
                  LT_WEIGHTS_MAGIC);
        return len < LT_WEIGHTS_MAGIC_LEN ? LT_ESHORT : LT_EMAGIC;
    }
    if (len < LT_WEIGHTS_HEADER_SIZE + LT_WEIGHTS_CRC_SIZE) {
        lt_seterr(err, errlen, "%s: truncated: %zu bytes, the header alone needs %u", what, len,
                  LT_WEIGHTS_HEADER_SIZE + LT_WEIGHTS_CRC_SIZE);
        return LT_ESHORT;
    }
    uint32_t version = lt_wf_get_u16(p + LT_WEIGHTS_OFF_VERSION);
    if (!lt_wf_version_known(version)) {
        lt_seterr(err, errlen, "%s: weights file version %u, this build reads versions %u..%u",
                  what, version, LT_WEIGHTS_VERSION_MIN, LT_WEIGHTS_VERSION);
        return LT_EVERSION;
    }
    /* The CRC covers every byte before it; check it before believing any size field, so that a
     * corrupt byte is reported as corruption rather than as a strange shape. A truncated file
     * fails here too, except that we can say "truncated" when the sizes show it. */
    struct lt_kernel_net *net = &out->net;
    lt_wf_get_net_header(p, net);
    uint8_t byte13 = p[LT_WEIGHTS_OFF_RESERVED]; /* v1: reserved, v2: act_bits */
    size_t need_desc = lt_wf_desc_offset(net->n_layers) + LT_WEIGHTS_CRC_SIZE;
    uint32_t crc_stored = lt_wf_get_u32(p + len - LT_WEIGHTS_CRC_SIZE);
    uint32_t crc_calc = lt_weights_crc32(p, len - LT_WEIGHTS_CRC_SIZE);
    if (net->n_layers >= 1 && net->n_layers <= LT_KERNEL_MAX_LAYERS && len >= need_desc) {
        /* Sizes are readable: compare the expected length first for a precise message. */
        size_t expect = need_desc;
        for (uint32_t l = 0; l < net->n_layers; l++) {
            struct lt_kernel_layer L;
            lt_wf_get_desc(p + lt_wf_desc_offset(l), &L);
            expect += lt_wf_layer_param_bytes(&L);
        }
        if (crc_stored != crc_calc && len < expect) {
            lt_seterr(err, errlen, "%s: truncated: %zu bytes, the descriptor needs %zu", what, len,
                      expect);
            return LT_ESHORT;
        }
        if (crc_stored != crc_calc && len > expect) {
            lt_seterr(err, errlen,
                      "%s: %zu trailing bytes after the data the descriptor describes (%zu bytes)",
                      what, len - expect, expect);
            return LT_EFORMAT;
        }
    }
    if (crc_stored != crc_calc) {
        lt_seterr(err, errlen, "%s: CRC-32 mismatch (stored 0x%08x, computed 0x%08x): corrupt file",
                  what, crc_stored, crc_calc);
        return LT_EFORMAT;
    }
    if (version == 1U && byte13 != 0) {
        lt_seterr(err, errlen, "%s: reserved header byte %u is %u, must be 0", what,
                  LT_WEIGHTS_OFF_RESERVED, byte13);
        return LT_EFORMAT;
    }
    if (version >= 2U && byte13 != 8U && byte13 != 16U) {
        lt_seterr(err, errlen, "%s: activation width (header byte %u) is %u, must be 8 or 16", what,
                  LT_WEIGHTS_OFF_ACT_BITS, byte13);
        return LT_EFORMAT;
    }
    if (net->n_layers < 1 || net->n_layers > LT_KERNEL_MAX_LAYERS) {
        lt_seterr(err, errlen, "%s: n_layers=%u out of range 1..%u", what, net->n_layers,
                  LT_KERNEL_MAX_LAYERS);
        return LT_ERANGE;
    }
    if (len < need_desc) {
        lt_seterr(err, errlen, "%s: truncated inside the layer descriptors", what);
        return LT_ESHORT;
    }
    memcpy(out->name, p + LT_WEIGHTS_OFF_NAME, LT_WEIGHTS_NAME_LEN);
    out->name[LT_WEIGHTS_NAME_LEN] = '\0';
    for (uint32_t i = 0; i < LT_WEIGHTS_NAME_LEN && out->name[i]; i++) {
        if (out->name[i] < 0x20 || out->name[i] > 0x7e) {
            lt_seterr(err, errlen, "%s: name field has a non-printable byte at %u", what,
                      LT_WEIGHTS_OFF_NAME + i);
            return LT_EFORMAT;
        }
    }
    for (uint32_t l = 0; l < net->n_layers; l++)
        lt_wf_get_desc(p + lt_wf_desc_offset(l), &net->layer[l]);
    size_t off = lt_wf_desc_offset(net->n_layers);
    char why[200];
    int rc = lt_kernel_arch_check(net, why, sizeof(why));
    if (rc < 0) {
        lt_seterr(err, errlen, "%s: %s", what, why);
        return rc;
    }
    for (uint32_t l = 0; l < net->n_layers; l++) {
        const struct lt_kernel_layer *L = &net->layer[l];
        size_t nw = lt_kernel_layer_nweights(L);
        if (off + lt_wf_layer_param_bytes(L) > len - LT_WEIGHTS_CRC_SIZE) {
            lt_seterr(err, errlen,
                      "%s: truncated in layer %u parameters (need %zu bytes, have %zu)", what, l,
                      off + lt_wf_layer_param_bytes(L) + LT_WEIGHTS_CRC_SIZE, len);
            return LT_ESHORT;
        }
        memcpy(net->w[l], p + off, nw);
        off += nw;
        for (uint32_t co = 0; co < L->cout; co++, off += LT_WEIGHTS_BIAS_SIZE)
            net->bias[l][co] = (int32_t)lt_wf_get_u32(p + off);
    }
    if (off != len - LT_WEIGHTS_CRC_SIZE) {
        lt_seterr(err, errlen, "%s: %zu trailing bytes after the last layer", what,
                  len - LT_WEIGHTS_CRC_SIZE - off);
        return LT_EFORMAT;
    }
    out->crc = crc_stored;
    out->file_size = len;
    return 0;
}

int lt_weights_load(const char *path, struct lt_weights *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        lt_seterr(err, errlen, "%s: cannot open weights file: %s", path, strerror(errno));
        return LT_EIO;
    }
    uint8_t *buf = malloc(LT_WEIGHTS_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        lt_seterr(err, errlen, "%s: out of memory", path);
        return LT_ENOMEM;
    }
    size_t n = fread(buf, 1, LT_WEIGHTS_MAX_FILE + 1, f);
    int rd_err = ferror(f);
    fclose(f);
    int rc;
    if (rd_err) {
        lt_seterr(err, errlen, "%s: read error", path);
        rc = LT_EIO;
    } else if (n > LT_WEIGHTS_MAX_FILE) {
        lt_seterr(err, errlen, "%s: larger than %u bytes: not a weights file", path,
                  LT_WEIGHTS_MAX_FILE);
        rc = LT_EFORMAT;
    } else {
        rc = lt_weights_parse(buf, n, path, out, err, errlen);
    }
    free(buf);
    return rc;
}

int lt_weights_encode(const struct lt_kernel_net *net, const char *name, void *buf, size_t cap,
                      size_t *len, char *err, size_t errlen)
{
    int rc = lt_kernel_arch_check(net, err, errlen);
    if (rc < 0) return rc;
    size_t need = lt_weights_encoded_size(net);
    if (cap < need) {
        lt_seterr(err, errlen, "buffer of %zu bytes, weights need %zu", cap, need);
        return LT_ESHORT;
    }
    uint8_t *p = buf;
    memset(p, 0, LT_WEIGHTS_HEADER_SIZE);
    memcpy(p, LT_WEIGHTS_MAGIC, LT_WEIGHTS_MAGIC_LEN);
    lt_wf_put_net_header(p, net); /* the current version, with the activation width */
    if (name) strncpy((char *)p + LT_WEIGHTS_OFF_NAME, name, LT_WEIGHTS_NAME_LEN);
    for (uint32_t l = 0; l < net->n_layers; l++)
        lt_wf_put_desc(p + lt_wf_desc_offset(l), &net->layer[l]);
    size_t off = lt_wf_desc_offset(net->n_layers);
    for (uint32_t l = 0; l < net->n_layers; l++) {
        const struct lt_kernel_layer *L = &net->layer[l];
        size_t nw = lt_kernel_layer_nweights(L);
        memcpy(p + off, net->w[l], nw);
        off += nw;
        for (uint32_t co = 0; co < L->cout; co++, off += LT_WEIGHTS_BIAS_SIZE)
            lt_wf_put_u32(p + off, (uint32_t)net->bias[l][co]);
    }
    lt_wf_put_u32(p + off, lt_weights_crc32(p, off));
    *len = off + LT_WEIGHTS_CRC_SIZE;
    return 0;
}
