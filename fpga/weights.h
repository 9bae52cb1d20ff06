/* The versioned binary weights file of the per-cell CNN (byte table in docs/kernel.md, layout in
 * kernels/kernel_weights_format.h): magic, version, architecture descriptor, int8 weights +
 * int32 biases per layer, CRC-32 trailer, all little-endian. Retraining produces a new file; no
 * rebuild. The loader checks everything (magic, version, sizes, CRC, every shape against the
 * kernel maxima) and names the file and the problem when it refuses one. */
#ifndef LARTRIG_WEIGHTS_H
#define LARTRIG_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "kernel_arch.h"
#include "kernel_weights_format.h" /* the byte layout, shared with the card's top function */

/* Far above any valid file: a bigger one is refused before it is read. */
#define LT_WEIGHTS_MAX_FILE (1U << 20)

struct lt_weights {
    struct lt_kernel_net net;
    char name[LT_WEIGHTS_NAME_LEN + 1]; /* e.g. "hand-made default v1" (NUL-terminated here) */
    uint32_t crc;                       /* the file's CRC-32, identifies the exact weights */
    size_t file_size;
};

/* Parse a weights image held in memory. `what` names it in error messages (a path, "<memory>").
 * 0 or a negative lt_error: LT_ESHORT (truncated), LT_EMAGIC, LT_EVERSION, LT_EFORMAT (CRC
 * mismatch, trailing bytes, inconsistent shapes), LT_ERANGE (field beyond the kernel maxima). */
int lt_weights_parse(const void *buf, size_t len, const char *what, struct lt_weights *out,
                     char *err, size_t errlen);

/* Read and parse a file (LT_EIO when it cannot be read). */
int lt_weights_load(const char *path, struct lt_weights *out, char *err, size_t errlen);

/* Size of the encoded file for a (valid) network. */
size_t lt_weights_encoded_size(const struct lt_kernel_net *net);

/* Encode a network (checked with lt_kernel_arch_check first) into buf; *len gets the size.
 * LT_ESHORT when cap is too small. Used by tests and tools; the Python exporter writes the same
 * bytes. */
int lt_weights_encode(const struct lt_kernel_net *net, const char *name, void *buf, size_t cap,
                      size_t *len, char *err, size_t errlen);

/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32 / Python's zlib.crc32). */
uint32_t lt_weights_crc32(const void *buf, size_t len);

#endif
