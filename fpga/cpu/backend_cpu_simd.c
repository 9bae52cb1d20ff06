/* Vectorised stages of the cpu backend, chosen at run time (__builtin_cpu_supports) and compiled
 * per function with target attributes, so one binary runs everywhere. Scalar references:
 * kernels/cnn.c (lt_conv_column_scalar) and kernels/preprocess.c (lt_pre_unpack_sum_scalar);
 * these produce the same integers (tests/kernel/test_accel_cpu.c checks it bit for bit).
 *
 * Conv: vectorised along wires, 16 (AVX-512) or 8 (AVX2) output wires per register, a block of
 * output channels accumulated at once so each input load feeds several multiply-adds. The line
 * buffer already pairs taps (kernels/cnn.h), so one vpdpwssd (AVX-512 VNNI) or vpmaddwd+vpaddd
 * (AVX2) does two taps for 16/8 wires; the weights of a tap pair are one int32 broadcast.
 * Wrap-around int32 accumulation is exactly the contract's (docs/kernel.md), and the summation
 * order cannot change a wrapped sum.
 *
 * Unpack: the 14-bit fields of 16 (AVX-512 VBMI: vpermb) or 8 (AVX2: vpshufb) channels are moved
 * into 32-bit lanes by a byte permutation, shifted into place with a per-lane variable shift and
 * masked; only 16/8-channel groups that hold X wires are touched. */
#include <immintrin.h>
#include <pthread.h>
#include <string.h>

#include "backend_cpu.h"

/* ------------------------------------------------------------------ ISA selection */

int lt_cpu_isa_supported(enum lt_cpu_isa isa)
{
    __builtin_cpu_init();
    switch (isa) {
    case LT_CPU_SCALAR:
        return 1;
    case LT_CPU_AVX2:
        return __builtin_cpu_supports("avx2");
    case LT_CPU_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi");
    }
    return 0;
}

const char *lt_cpu_isa_name(enum lt_cpu_isa isa)
{
    switch (isa) {
    case LT_CPU_SCALAR:
        return "scalar";
    case LT_CPU_AVX2:
        return "avx2";
    case LT_CPU_AVX512:
        return "avx512";
    }
    return "?";
}

int lt_cpu_isa_parse(const char *name)
{
    if (!name || !*name || strcmp(name, "auto") == 0) {
        if (lt_cpu_isa_supported(LT_CPU_AVX512)) return LT_CPU_AVX512;
        if (lt_cpu_isa_supported(LT_CPU_AVX2)) return LT_CPU_AVX2;
        return LT_CPU_SCALAR;
    }
    if (strcmp(name, "scalar") == 0) return LT_CPU_SCALAR;
    if (strcmp(name, "avx2") == 0) return LT_CPU_AVX2;
    if (strcmp(name, "avx512") == 0) return LT_CPU_AVX512;
    return -1;
}

/* ------------------------------------------------------------------ packed weights */

/* Taps per output channel after pairing: channel pairs x kt x kw, or (Cin = 1) kt x wire pairs. */
static uint32_t pair_taps(const struct lt_kernel_layer *L)
{
    if (L->cin == 1) return L->kt * ((L->kw + 1U) / 2U);
    return ((L->cin + 1U) / 2U) * L->kt * L->kw;
}

/* ------------------------------------------------------------------ 8-bit activations
 *
 * Line buffer (the backend's own layout inside the same lb memory, bytes): a layer with Cin >= 2
 * stores channel quads, row q (4 * LT_KERNEL_WSTRIDE bytes) holds (x[4q][p], .., x[4q+3][p]) for
 * every padded wire position p; a layer with Cin = 1 stores wire quads (x[p], .., x[p+3]). A
 * value is its two's-complement byte (a ReLU output in [0, 255] its u8 byte). One vpdpbusd
 * (AVX-512 VNNI) or vpmaddubsw + vpmaddwd (AVX2) takes four taps of 16 / 8 wires at once. The
 * unsigned operand is the activation: a signed input (layer 0, or after a layer without ReLU) is
 * flipped to x + 128 by xor 0x80 when loaded, and the bias corrected by -128 * sum(w[co]) at
 * packing (exact: the zero padding flips to 128 too, and the correction covers every tap).
 * Packed weights: [taps * cout quads][cout corrected biases][flags][taps * cout high-nibble
 * quads][taps * cout low-nibble quads][taps safe masks]; w = 16 * (w >> 4) + (w & 15) for the
 * AVX2 path that cannot saturate (vpmaddubsw saturates a pair sum at int16; 255 * (|w1| + |w2|)
 * may exceed it); bit co of safe mask t: neither pair of tap t's quad of channel co can
 * saturate, so AVX2 takes the single instruction for that tap when every channel of its block
 * is safe (a trained layer that is not safe as a whole mostly is tap by tap). */

#define Q8_FLAG_SIGNED    1 /* the layer's input is signed: xor 0x80 on load */
#define Q8_FLAG_PAIR_SAFE 2 /* no vpmaddubsw pair sum can saturate: one instruction per quad */
/* The rounding constant 2^(shift-1) is in the packed bias, so requantisation is one arithmetic
 * shift: exact when |bias| + sum|w| * max|x| + 2^(shift-1) < 2^31 (no accumulator can wrap,
 * checked at packing; a layer that could wrap keeps the two-shift formula). */
#define Q8_FLAG_ROUND_FOLDED 4

static int net_act8(const struct lt_kernel_net *net)
{
    return lt_kernel_act_bits(net) == 8;
}

static uint32_t quad_taps(const struct lt_kernel_layer *L)
{
    if (L->cin == 1) return L->kt * ((L->kw + 3U) / 4U);
    return ((L->cin + 3U) / 4U) * L->kt * L->kw;
}

/* (channel, dt, dw) of byte b of quad tap `tap`; 0 when that byte is padding. */
static int quad_tap_src(const struct lt_kernel_layer *L, uint32_t tap, uint32_t b, uint32_t *ci,
                        uint32_t *dt, uint32_t *dw)
{
    if (L->cin == 1) {
        const uint32_t per_dt = (L->kw + 3U) / 4U;
        *ci = 0;
        *dt = tap / per_dt;
        *dw = (tap % per_dt) * 4U + b;
        return *dw < L->kw;
    }
    const uint32_t q = tap / (L->kt * L->kw), r = tap % (L->kt * L->kw);
    *ci = 4U * q + b;
    *dt = r / L->kw;
    *dw = r % L->kw;
    return *ci < L->cin;
}

/* Byte offset of quad tap `tap` for output wire 0 within its line-buffer column (row dt). */
static uint32_t quad_tap_offset(const struct lt_kernel_layer *L, uint32_t tap, uint32_t *dt)
{
    uint32_t ci, dw;
    quad_tap_src(L, tap, 0, &ci, dt, &dw);
    const uint32_t half = L->kw / 2U;
    return (ci / 4U) * 4U * LT_KERNEL_WSTRIDE + 4U * (LT_KERNEL_WPAD - half + dw);
}

static int32_t quad(const int8_t b[4])
{
    return (int32_t)((uint32_t)(uint8_t)b[0] | (uint32_t)(uint8_t)b[1] << 8 |
                     (uint32_t)(uint8_t)b[2] << 16 | (uint32_t)(uint8_t)b[3] << 24);
}

static int pack_layer_q8(const struct lt_kernel_net *net, uint32_t l, int32_t *packed)
{
    const struct lt_kernel_layer *L = &net->layer[l];
    const uint32_t cout = L->cout, nt = quad_taps(L);
    const int sgn = l == 0 || !net->layer[l - 1].relu;
    int32_t *bias = packed + nt * cout, *flags = bias + cout;
    int32_t *hi = flags + 1, *lo = hi + nt * cout, *smask = lo + nt * cout;
    int safe = 1, fold = 1;
    for (uint32_t t = 0; t < nt; t++) smask[t] = 0;
    const uint64_t amax = sgn ? 128U : 255U, half = L->shift ? 1ULL << (L->shift - 1U) : 0U;
    for (uint32_t co = 0; co < cout; co++) {
        uint32_t wsum = 0;
        uint64_t wabs = 0;
        for (uint32_t t = 0; t < nt; t++) {
            int8_t b[4], bh[4], bl[4];
            for (uint32_t k = 0; k < 4; k++) {
                uint32_t ci, dt, dw;
                b[k] = quad_tap_src(L, t, k, &ci, &dt, &dw)
                           ? net->w[l][lt_kernel_widx(L, co, ci, dt, dw)]
                           : 0;
                bh[k] = (int8_t)(b[k] >> 4); /* arithmetic: -8 .. 7 */
                bl[k] = (int8_t)(b[k] & 15); /* 0 .. 15 */
                wsum += (uint32_t)(int32_t)b[k];
                wabs += (uint64_t)(b[k] < 0 ? -b[k] : b[k]);
            }
            /* vpmaddubsw pairs bytes (0, 1) and (2, 3); u8 operands reach 255 */
            int tap_safe = 1;
            for (uint32_t k = 0; k < 4; k += 2) {
                int32_t pos = (b[k] > 0 ? b[k] : 0) + (b[k + 1] > 0 ? b[k + 1] : 0);
                int32_t neg = (b[k] < 0 ? -b[k] : 0) + (b[k + 1] < 0 ? -b[k + 1] : 0);
                if (255 * pos > 32767 || 255 * neg > 32768) tap_safe = safe = 0;
            }
            if (tap_safe) smask[t] |= (int32_t)(1U << co);
            packed[t * cout + co] = quad(b);
            hi[t * cout + co] = quad(bh);
            lo[t * cout + co] = quad(bl);
        }
        int64_t b0 = net->bias[l][co];
        if ((uint64_t)(b0 < 0 ? -b0 : b0) + wabs * amax + half >= (1ULL << 31)) fold = 0;
        bias[co] = (int32_t)((uint32_t)net->bias[l][co] - (sgn ? 128U * wsum : 0U));
    }
    if (fold && half)
        for (uint32_t co = 0; co < cout; co++)
            bias[co] = (int32_t)((uint32_t)bias[co] + (uint32_t)half);
    *flags = (sgn ? Q8_FLAG_SIGNED : 0) | (safe ? Q8_FLAG_PAIR_SAFE : 0) |
             (fold ? Q8_FLAG_ROUND_FOLDED : 0);
    return safe;
}

size_t lt_cpu_packed_size(const struct lt_kernel_net *net, uint32_t l)
{
    const struct lt_kernel_layer *L = &net->layer[l];
    if (net_act8(net)) return (size_t)quad_taps(L) * (L->cout * 3U + 1U) + L->cout + 1U;
    return (size_t)pair_taps(L) * L->cout;
}

static int32_t pair(int8_t lo, int8_t hi)
{
    return (int32_t)((uint32_t)(uint16_t)(int16_t)lo | ((uint32_t)(uint16_t)(int16_t)hi << 16));
}

/* packed[tap * cout + co]: the int16 pair (low = first tap) that multiplies one line-buffer pair.
 * Tap order is the loop order of the convs below. */
int lt_cpu_pack_layer(const struct lt_kernel_net *net, uint32_t l, int32_t *packed)
{
    if (net_act8(net)) return pack_layer_q8(net, l, packed);
    const struct lt_kernel_layer *L = &net->layer[l];
    const int8_t *w = net->w[l];
    const uint32_t cout = L->cout, kt = L->kt, kw = L->kw;
    uint32_t tap = 0;
    if (L->cin == 1) {
        for (uint32_t dt = 0; dt < kt; dt++)
            for (uint32_t dw = 0; dw < kw; dw += 2, tap++)
                for (uint32_t co = 0; co < cout; co++) {
                    int8_t lo = w[lt_kernel_widx(L, co, 0, dt, dw)];
                    int8_t hi = dw + 1 < kw ? w[lt_kernel_widx(L, co, 0, dt, dw + 1)] : 0;
                    packed[tap * cout + co] = pair(lo, hi);
                }
        return 0;
    }
    for (uint32_t cp = 0; cp < (L->cin + 1U) / 2U; cp++)
        for (uint32_t dt = 0; dt < kt; dt++)
            for (uint32_t dw = 0; dw < kw; dw++, tap++)
                for (uint32_t co = 0; co < cout; co++) {
                    int8_t lo = w[lt_kernel_widx(L, co, 2 * cp, dt, dw)];
                    int8_t hi =
                        2 * cp + 1 < L->cin ? w[lt_kernel_widx(L, co, 2 * cp + 1, dt, dw)] : 0;
                    packed[tap * cout + co] = pair(lo, hi);
                }
    return 0;
}

/* Pointer (int16 units, relative to a line-buffer column) of tap `tap`'s pair for output wire 0. */
static void tap_offsets(const struct lt_kernel_layer *L, uint32_t *dt_of, uint32_t *off_of)
{
    const uint32_t kt = L->kt, kw = L->kw, half = kw / 2U;
    uint32_t tap = 0;
    if (L->cin == 1) {
        for (uint32_t dt = 0; dt < kt; dt++)
            for (uint32_t dw = 0; dw < kw; dw += 2, tap++) {
                dt_of[tap] = dt;
                off_of[tap] = 2U * (LT_KERNEL_WPAD - half + dw);
            }
        return;
    }
    for (uint32_t cp = 0; cp < (L->cin + 1U) / 2U; cp++)
        for (uint32_t dt = 0; dt < kt; dt++)
            for (uint32_t dw = 0; dw < kw; dw++, tap++) {
                dt_of[tap] = dt;
                off_of[tap] = cp * LT_CNN_ROW + 2U * (LT_KERNEL_WPAD - half + dw);
            }
}

#define MAX_TAPS (LT_CNN_MAX_PAIRS * LT_KERNEL_MAX_KT * LT_KERNEL_MAX_KW)

/* ------------------------------------------------------------------ AVX-512 conv */

/* Requantise 16 accumulators (shift with rounding, ReLU, saturate to [lo, hi]) and store them
 * as int16. */
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) static inline void
finish512(__m512i y, uint32_t s, int relu, __m512i lo, __m512i top, int16_t *dst)
{
    if (s) {
        __m512i hi = _mm512_srai_epi32(y, (unsigned)s);
        __m512i bit =
            _mm512_and_si512(_mm512_srai_epi32(y, (unsigned)(s - 1)), _mm512_set1_epi32(1));
        y = _mm512_add_epi32(hi, bit);
    }
    (void)relu; /* lo is 0 for a ReLU layer */
    y = _mm512_min_epi32(_mm512_max_epi32(y, lo), top);
    _mm256_storeu_si256((__m256i *)dst, _mm512_cvtepi32_epi16(y));
}

/* CB output channels x JB blocks of 16 wires: CB * JB accumulators (<= 32 zmm with the input
 * and weight registers), so one weight broadcast feeds JB multiply-adds and one input load CB. A
 * second block past the last wire computes values nobody reads (the row has room). */
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) static inline void
conv512_block(const struct lt_conv_job *job, const int16_t *const *tap_ptr, uint32_t ntaps,
              const int32_t *packed, uint32_t cout, uint32_t co0, const int CB, const int JB)
{
    const struct lt_kernel_layer *L = job->L;
    const uint32_t s = L->shift, W = job->n_wires;
    const __m512i lo = _mm512_set1_epi32(job->lo), top = _mm512_set1_epi32(job->hi);
    for (uint32_t j0 = 0; j0 < W; j0 += 16U * (uint32_t)JB) {
        __m512i acc[2][16];
#pragma GCC unroll 16
        for (int c = 0; c < CB; c++) {
            acc[0][c] = _mm512_set1_epi32(job->bias[co0 + c]);
            if (JB == 2) acc[1][c] = acc[0][c];
        }
        for (uint32_t t = 0; t < ntaps; t++) {
            __m512i v0 = _mm512_loadu_si512((const void *)(tap_ptr[t] + 2U * j0));
            __m512i v1 =
                JB == 2 ? _mm512_loadu_si512((const void *)(tap_ptr[t] + 2U * j0 + 32U)) : v0;
            const int32_t *wp = packed + t * cout + co0;
#pragma GCC unroll 16
            for (int c = 0; c < CB; c++) {
                __m512i wv = _mm512_set1_epi32(wp[c]);
                acc[0][c] = _mm512_dpwssd_epi32(acc[0][c], v0, wv);
                if (JB == 2) acc[1][c] = _mm512_dpwssd_epi32(acc[1][c], v1, wv);
            }
        }
#pragma GCC unroll 16
        for (int c = 0; c < CB; c++) {
            int16_t *dst = job->out + (co0 + c) * LT_KERNEL_WSTRIDE + j0;
            finish512(acc[0][c], s, L->relu, lo, top, dst);
            if (JB == 2) finish512(acc[1][c], s, L->relu, lo, top, dst + 16);
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static int
conv_avx512(const struct lt_conv_job *job, uint32_t layer_index)
{
    (void)layer_index;
    const struct lt_kernel_layer *L = job->L;
    uint32_t dt_of[MAX_TAPS], off_of[MAX_TAPS];
    const int16_t *tap_ptr[MAX_TAPS];
    tap_offsets(L, dt_of, off_of);
    const uint32_t ntaps = pair_taps(L), cout = L->cout;
    for (uint32_t t = 0; t < ntaps; t++) tap_ptr[t] = job->rows[dt_of[t]] + off_of[t];
    const int32_t *packed = job->packed;
    uint32_t co = 0;
    /* Blocks of output channels: as many accumulators as registers allow (32 zmm). */
    while (co < cout) {
        uint32_t left = cout - co;
        if (left >= 16) {
            conv512_block(job, tap_ptr, ntaps, packed, cout, co, 16, 1);
            co += 16;
        } else if (left >= 8) {
            conv512_block(job, tap_ptr, ntaps, packed, cout, co, 8, 2);
            co += 8;
        } else if (left >= 4) {
            conv512_block(job, tap_ptr, ntaps, packed, cout, co, 4, 2);
            co += 4;
        } else if (left >= 2) {
            conv512_block(job, tap_ptr, ntaps, packed, cout, co, 2, 2);
            co += 2;
        } else {
            conv512_block(job, tap_ptr, ntaps, packed, cout, co, 1, 2);
            co += 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ AVX2 conv */

__attribute__((target("avx2"), always_inline)) static inline void
conv256_block(const struct lt_conv_job *job, const int16_t *const *tap_ptr, uint32_t ntaps,
              const int32_t *packed, uint32_t cout, uint32_t co0, const int CB)
{
    const struct lt_kernel_layer *L = job->L;
    const uint32_t s = L->shift, W = job->n_wires;
    const __m256i lo = _mm256_set1_epi32(job->lo), top = _mm256_set1_epi32(job->hi);
    for (uint32_t j0 = 0; j0 < W; j0 += 8) {
        __m256i acc[8];
#pragma GCC unroll 16
        for (int c = 0; c < CB; c++) acc[c] = _mm256_set1_epi32(job->bias[co0 + c]);
        for (uint32_t t = 0; t < ntaps; t++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(tap_ptr[t] + 2U * j0));
            const int32_t *wp = packed + t * cout + co0;
#pragma GCC unroll 16
            for (int c = 0; c < CB; c++)
                acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(v, _mm256_set1_epi32(wp[c])));
        }
#pragma GCC unroll 16
        for (int c = 0; c < CB; c++) {
            __m256i y = acc[c];
            if (s) {
                __m256i hi = _mm256_srai_epi32(y, (int)s);
                __m256i bit =
                    _mm256_and_si256(_mm256_srai_epi32(y, (int)(s - 1)), _mm256_set1_epi32(1));
                y = _mm256_add_epi32(hi, bit);
            }
            y = _mm256_min_epi32(_mm256_max_epi32(y, lo), top); /* lo = 0 with ReLU */
            __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(y, y), 0x08);
            _mm_storeu_si128((__m128i *)(job->out + (co0 + c) * LT_KERNEL_WSTRIDE + j0),
                             _mm256_castsi256_si128(p));
        }
    }
}

__attribute__((target("avx2"))) static int conv_avx2(const struct lt_conv_job *job,
                                                     uint32_t layer_index)
{
    (void)layer_index;
    const struct lt_kernel_layer *L = job->L;
    uint32_t dt_of[MAX_TAPS], off_of[MAX_TAPS];
    const int16_t *tap_ptr[MAX_TAPS];
    tap_offsets(L, dt_of, off_of);
    const uint32_t ntaps = pair_taps(L), cout = L->cout;
    for (uint32_t t = 0; t < ntaps; t++) tap_ptr[t] = job->rows[dt_of[t]] + off_of[t];
    const int32_t *packed = job->packed;
    uint32_t co = 0;
    while (co < cout) { /* 16 ymm: up to 8 accumulators */
        uint32_t left = cout - co;
        if (left >= 8) {
            conv256_block(job, tap_ptr, ntaps, packed, cout, co, 8);
            co += 8;
        } else if (left >= 4) {
            conv256_block(job, tap_ptr, ntaps, packed, cout, co, 4);
            co += 4;
        } else if (left >= 2) {
            conv256_block(job, tap_ptr, ntaps, packed, cout, co, 2);
            co += 2;
        } else {
            conv256_block(job, tap_ptr, ntaps, packed, cout, co, 1);
            co += 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ 8-bit convs and store */

/* Line-buffer store in the quad layout (see pack_layer_q8) from int16 activations already in
 * range. */

/* Four int16 vectors of 16 activations (already in range) -> 16 byte quads (c0, c1, c2, c3). */
__attribute__((target("avx512f,avx512bw"), always_inline)) static inline __m512i
quads512(__m256i c0, __m256i c1, __m256i c2, __m256i c3)
{
    const __m512i ff = _mm512_set1_epi32(0xFF);
    __m512i r = _mm512_and_si512(_mm512_cvtepu16_epi32(c0), ff);
    r = _mm512_or_si512(r, _mm512_slli_epi32(_mm512_and_si512(_mm512_cvtepu16_epi32(c1), ff), 8));
    r = _mm512_or_si512(r, _mm512_slli_epi32(_mm512_and_si512(_mm512_cvtepu16_epi32(c2), ff), 16));
    return _mm512_or_si512(r, _mm512_slli_epi32(_mm512_cvtepu16_epi32(c3), 24));
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi"))) static void
lb_store_q8_avx512(int16_t *lb16, const int16_t *in, uint32_t stride, uint32_t cin, uint32_t w)
{
    uint8_t *lb = (uint8_t *)lb16;
    if (cin == 1) {
        /* t[i] = x[i - 3], zero outside the wires; quad i (position WPAD - 3 + i) = t[i .. i+3];
         * w + 7 quads (to WPAD + w + 3, the rightmost a kw <= 7 tap reads). The activations are
         * in byte range: a window of 64 of them as bytes gives 48 quads, 16 per vpermb. */
        int16_t t[LT_KERNEL_MAX_WIRES + 3 + 72]; /* windows read to i0 + 63 < w + 70 */
        memset(t, 0, 3 * sizeof(int16_t));
        memcpy(t + 3, in, w * sizeof(int16_t));
        memset(t + 3 + w, 0, 72 * sizeof(int16_t));
        static const uint8_t qidx[3][64] = {
#define Q8_QIDX(g)                                                                                 \
    {16 * g + 0,  16 * g + 1,  16 * g + 2,  16 * g + 3,  16 * g + 1,  16 * g + 2,  16 * g + 3,     \
     16 * g + 4,  16 * g + 2,  16 * g + 3,  16 * g + 4,  16 * g + 5,  16 * g + 3,  16 * g + 4,     \
     16 * g + 5,  16 * g + 6,  16 * g + 4,  16 * g + 5,  16 * g + 6,  16 * g + 7,  16 * g + 5,     \
     16 * g + 6,  16 * g + 7,  16 * g + 8,  16 * g + 6,  16 * g + 7,  16 * g + 8,  16 * g + 9,     \
     16 * g + 7,  16 * g + 8,  16 * g + 9,  16 * g + 10, 16 * g + 8,  16 * g + 9,  16 * g + 10,    \
     16 * g + 11, 16 * g + 9,  16 * g + 10, 16 * g + 11, 16 * g + 12, 16 * g + 10, 16 * g + 11,    \
     16 * g + 12, 16 * g + 13, 16 * g + 11, 16 * g + 12, 16 * g + 13, 16 * g + 14, 16 * g + 12,    \
     16 * g + 13, 16 * g + 14, 16 * g + 15, 16 * g + 13, 16 * g + 14, 16 * g + 15, 16 * g + 16,    \
     16 * g + 14, 16 * g + 15, 16 * g + 16, 16 * g + 17, 16 * g + 15, 16 * g + 16, 16 * g + 17,    \
     16 * g + 18}
            Q8_QIDX(0), Q8_QIDX(1), Q8_QIDX(2)
#undef Q8_QIDX
        };
        uint8_t *row = lb + 4U * (LT_KERNEL_WPAD - 3U);
        const uint32_t nq = w + 7U;
        for (uint32_t i0 = 0; i0 < nq; i0 += 48) {
            __m512i win = _mm512_inserti64x4(
                _mm512_castsi256_si512(
                    _mm512_cvtepi16_epi8(_mm512_loadu_si512((const void *)(t + i0)))),
                _mm512_cvtepi16_epi8(_mm512_loadu_si512((const void *)(t + i0 + 32))), 1);
            for (uint32_t g = 0; g < 3U; g++) {
                const uint32_t i = i0 + 16U * g;
                if (i >= nq) break;
                const uint32_t n = nq - i < 16 ? nq - i : 16;
                _mm512_mask_storeu_epi32(row + 4U * i, (__mmask16)((1U << n) - 1U),
                                         _mm512_permutexvar_epi8(_mm512_loadu_si512(qidx[g]), win));
            }
        }
        return;
    }
    for (uint32_t q = 0; q < (cin + 3U) / 4U; q++) {
        uint8_t *row = lb + q * 4U * LT_KERNEL_WSTRIDE + 4U * LT_KERNEL_WPAD;
        const int16_t *src[4];
        uint32_t have = cin - 4U * q < 4U ? cin - 4U * q : 4U;
        for (uint32_t k = 0; k < 4U; k++) src[k] = in + (4U * q + (k < have ? k : 0)) * stride;
        for (uint32_t j = 0; j < w; j += 16) {
            __mmask16 m = w - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1U << (w - j)) - 1U);
            __m256i c[4];
            for (uint32_t k = 0; k < 4U; k++)
                c[k] = k < have ? _mm256_maskz_loadu_epi16(m, src[k] + j) : _mm256_setzero_si256();
            _mm512_mask_storeu_epi32(row + 4U * j, m, quads512(c[0], c[1], c[2], c[3]));
        }
    }
}

__attribute__((target("avx2"), always_inline)) static inline __m256i
quads256(__m128i c0, __m128i c1, __m128i c2, __m128i c3)
{
    const __m256i ff = _mm256_set1_epi32(0xFF);
    __m256i r = _mm256_and_si256(_mm256_cvtepu16_epi32(c0), ff);
    r = _mm256_or_si256(r, _mm256_slli_epi32(_mm256_and_si256(_mm256_cvtepu16_epi32(c1), ff), 8));
    r = _mm256_or_si256(r, _mm256_slli_epi32(_mm256_and_si256(_mm256_cvtepu16_epi32(c2), ff), 16));
    return _mm256_or_si256(r, _mm256_slli_epi32(_mm256_cvtepu16_epi32(c3), 24));
}

__attribute__((target("avx2"))) static void
lb_store_q8_avx2(int16_t *lb16, const int16_t *in, uint32_t stride, uint32_t cin, uint32_t w)
{
    uint8_t *lb = (uint8_t *)lb16;
    if (cin == 1) {
        int16_t t[LT_KERNEL_MAX_WIRES + 32];
        memset(t, 0, 3 * sizeof(int16_t));
        memcpy(t + 3, in, w * sizeof(int16_t));
        memset(t + 3 + w, 0, 26 * sizeof(int16_t));
        uint8_t *row = lb + 4U * (LT_KERNEL_WPAD - 3U);
        /* w + 7 quads, rounded up to 8: the extra ones are zeros inside the row */
        for (uint32_t i = 0; i < w + 7U; i += 8)
            _mm256_storeu_si256((__m256i *)(row + 4U * i),
                                quads256(_mm_loadu_si128((const __m128i *)(t + i)),
                                         _mm_loadu_si128((const __m128i *)(t + i + 1)),
                                         _mm_loadu_si128((const __m128i *)(t + i + 2)),
                                         _mm_loadu_si128((const __m128i *)(t + i + 3))));
        return;
    }
    for (uint32_t q = 0; q < (cin + 3U) / 4U; q++) {
        uint8_t *row = lb + q * 4U * LT_KERNEL_WSTRIDE + 4U * LT_KERNEL_WPAD;
        const int16_t *src[4];
        uint32_t have = cin - 4U * q < 4U ? cin - 4U * q : 4U;
        for (uint32_t k = 0; k < 4U; k++) src[k] = in + (4U * q + (k < have ? k : 0)) * stride;
        uint32_t j = 0;
        for (; j + 8U <= w; j += 8) {
            __m128i c[4];
            for (uint32_t k = 0; k < 4U; k++)
                c[k] =
                    k < have ? _mm_loadu_si128((const __m128i *)(src[k] + j)) : _mm_setzero_si128();
            _mm256_storeu_si256((__m256i *)(row + 4U * j), quads256(c[0], c[1], c[2], c[3]));
        }
        for (; j < w; j++)
            for (uint32_t k = 0; k < 4U; k++) row[4U * j + k] = k < have ? (uint8_t)src[k][j] : 0;
    }
}

struct q8_layer {
    const uint8_t *tap_ptr[MAX_TAPS];
    uint32_t ntaps, cout;
    const int32_t *w, *bias, *whi, *wlo, *smask;
    int flags;
};

static void q8_setup(const struct lt_conv_job *job, struct q8_layer *q)
{
    const struct lt_kernel_layer *L = job->L;
    q->ntaps = quad_taps(L);
    q->cout = L->cout;
    for (uint32_t t = 0; t < q->ntaps; t++) {
        uint32_t dt, off = quad_tap_offset(L, t, &dt);
        q->tap_ptr[t] = (const uint8_t *)job->rows[dt] + off;
    }
    q->w = job->packed;
    q->bias = q->w + q->ntaps * q->cout;
    q->flags = q->bias[q->cout];
    q->whi = q->bias + q->cout + 1;
    q->wlo = q->whi + q->ntaps * q->cout;
    q->smask = q->wlo + q->ntaps * q->cout;
}

/* The int8 convs' output stage, one piece for AVX-512 and AVX2 (256-bit code, which the AVX-512
 * conv inlines: its target includes AVX2). acc[c][i], i < n: the wire-pooled int32 accumulators of
 * output channel co0 + c at pooled wire o0 + i (the max commutes with requantisation, which is
 * monotone: exact). Requantise (one shift when the rounding constant is in the bias), clamp to
 * [lo, hi], then
 *  - pt = 2, first column of the pair (job->pt_phase 0): keep the values in job->pending, done;
 *  - pt = 2, second column: the max with the pending ones (the time pool);
 *  - and write them to the next layer's line-buffer slot job->next_lb in the quad layout
 *    (channel co at byte co % 4 of quad row co / 4, wire j at position WPAD + j; whole quads of
 *    four channels as 32-bit lanes, others byte by byte; bytes of channels >= cout are never
 *    written and stay the zeros of lt_cnn_reset), or, for the last layer (next_lb NULL), to
 *    job->pool_out as int16.
 * Every store stops at n values: nothing outside the layer's wires is touched. */
#define Q8_OUT_MAX 32 /* pooled values per step: 32 wires of AVX-512 at pw = 1 */

/* Store the low 16 bits of the 8 int32 lanes of y, n <= 8 of them. */
__attribute__((target("avx2"), always_inline)) static inline void q8_store16(int16_t *dst,
                                                                             __m256i y, uint32_t n)
{
    __m128i p = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packs_epi32(y, y), 0x08));
    if (n >= 8) {
        _mm_storeu_si128((__m128i *)dst, p);
    } else { /* AVX2 has no masked 16-bit store */
        int16_t t[8];
        _mm_storeu_si128((__m128i *)t, p);
        memcpy(dst, t, n * sizeof(int16_t));
    }
}

__attribute__((target("avx2"), always_inline)) static inline __m256i q8_load16(const int16_t *src,
                                                                               uint32_t n)
{
    if (n >= 8) return _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)src));
    int16_t t[8] = {0};
    memcpy(t, src, n * sizeof(int16_t));
    return _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)t));
}

enum q8_out_mode { Q8_HOLD, Q8_TPOOL_LB, Q8_LB, Q8_POOL_OUT };

__attribute__((target("avx2"), always_inline)) static inline void
q8_out_mode(const struct lt_conv_job *job, int folded, int32_t acc[][Q8_OUT_MAX], uint32_t co0,
            const uint32_t cb, uint32_t o0, uint32_t n, const enum q8_out_mode mode)
{
    const uint32_t s = job->L->shift;
    const __m256i lo = _mm256_set1_epi32(job->lo), top = _mm256_set1_epi32(job->hi);
    const __m256i one = _mm256_set1_epi32(1), ff = _mm256_set1_epi32(0xFF);
    uint8_t *lb = (uint8_t *)job->next_lb;
    for (uint32_t i0 = 0; i0 < n; i0 += 8) {
        const uint32_t m = n - i0;
        __m256i y[8];
#pragma GCC unroll 8
        for (uint32_t c = 0; c < cb; c++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(acc[c] + i0));
            if (s) {
                __m256i h = _mm256_srai_epi32(v, (int)s);
                if (!folded)
                    h = _mm256_add_epi32(h,
                                         _mm256_and_si256(_mm256_srai_epi32(v, (int)(s - 1)), one));
                v = h;
            }
            v = _mm256_min_epi32(_mm256_max_epi32(v, lo), top);
            int16_t *pend = job->pending + (co0 + c) * LT_KERNEL_MAX_WIRES + o0 + i0;
            if (mode == Q8_HOLD)
                q8_store16(pend, v, m);
            else if (mode == Q8_TPOOL_LB)
                v = _mm256_max_epi32(v, q8_load16(pend, m));
            else if (mode == Q8_POOL_OUT)
                q8_store16(job->pool_out + (co0 + c) * LT_KERNEL_MAX_WIRES + o0 + i0, v, m);
            y[c] = v;
        }
        if (mode == Q8_HOLD || mode == Q8_POOL_OUT) continue;
        const uint32_t pos = 4U * (LT_KERNEL_WPAD + o0 + i0);
        if (cb >= 4) { /* co0 is a multiple of 4: whole quads */
#pragma GCC unroll 2
            for (uint32_t qd = 0; qd < cb / 4U; qd++) {
                __m256i b[3];
                for (uint32_t k = 0; k < 3U; k++) /* a ReLU output is its own u8 byte */
                    b[k] = job->lo < 0 ? _mm256_and_si256(y[4 * qd + k], ff) : y[4 * qd + k];
                __m256i qv = _mm256_or_si256(b[0], _mm256_slli_epi32(b[1], 8));
                qv = _mm256_or_si256(qv, _mm256_slli_epi32(b[2], 16));
                qv = _mm256_or_si256(qv, _mm256_slli_epi32(y[4 * qd + 3], 24));
                uint8_t *dst = lb + (co0 / 4U + qd) * 4U * LT_KERNEL_WSTRIDE + pos;
                if (m >= 8) { /* (vpmaskmovd stores are slow on AMD) */
                    _mm256_storeu_si256((__m256i *)dst, qv);
                } else {
                    int32_t t[8];
                    _mm256_storeu_si256((__m256i *)t, qv);
                    memcpy(dst, t, 4U * m);
                }
            }
            continue;
        }
        for (uint32_t c = 0; c < cb; c++) {
            int32_t t[8];
            _mm256_storeu_si256((__m256i *)t, y[c]);
            const uint32_t co = co0 + c;
            uint8_t *row = lb + (co / 4U) * 4U * LT_KERNEL_WSTRIDE + pos + co % 4U;
            for (uint32_t i = 0; i < 8U && i < m; i++) row[4U * i] = (uint8_t)t[i];
        }
    }
}

/* Whether the conv writes the next layer's line buffer (returns 2): the quad layout is the one of
 * a layer with Cin >= 2; a next layer with Cin = 1 (wire quads) takes pool_out and its own
 * store. */
static int q8_fuses(const struct lt_conv_job *job)
{
    return job->next_lb && job->L->cout >= 2;
}

/* With a wire pool (pw >= 2) the time pool of a fusing conv is taken on the int32 accumulators,
 * before requantising (exact, as for the wire pool): the first column's go to job->pending
 * reinterpreted as int32 [co][LT_KERNEL_MAX_WIRES / 2] (w / pw <= 480 values of cout <= 16
 * channels: the same bytes), the second column takes the max and requantises once. */
static int q8_tpool32(const struct lt_conv_job *job)
{
    return q8_fuses(job) && job->L->pt == 2 && job->L->pw >= 2;
}
#define Q8_PEND32_ROW (LT_KERNEL_MAX_WIRES / 2U)

/* acc_tpooled: the conv did the time pool on the accumulators (q8_tpool32; only called for the
 * second column then). */
__attribute__((target("avx2"), always_inline)) static inline int
q8_out(const struct lt_conv_job *job, int folded, int32_t acc[][Q8_OUT_MAX], uint32_t co0,
       const uint32_t cb, uint32_t o0, uint32_t n, int acc_tpooled)
{
    const struct lt_kernel_layer *L = job->L;
    if (!q8_fuses(job)) {
        q8_out_mode(job, folded, acc, co0, cb, o0, n, Q8_POOL_OUT);
        return 1;
    }
    if (L->pt != 2 || acc_tpooled)
        q8_out_mode(job, folded, acc, co0, cb, o0, n, Q8_LB);
    else if (job->pt_phase == 0)
        q8_out_mode(job, folded, acc, co0, cb, o0, n, Q8_HOLD);
    else
        q8_out_mode(job, folded, acc, co0, cb, o0, n, Q8_TPOOL_LB);
    return 2;
}

/* CB output channels x 32 wires per step; the wire max-pool (pw = 1, 2, 4) is taken on the int32
 * accumulators before requantising (requantisation is monotone, so the max commutes with it:
 * exact), and the pooled values go straight to job->pool_out: no conv_out round trip, a half or
 * a quarter of the requantisation work. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"), always_inline)) static inline int
conv512q_block(const struct lt_conv_job *job, const struct q8_layer *q, uint32_t co0, const int CB,
               const int SIGNED)
{
    const struct lt_kernel_layer *L = job->L;
    const uint32_t W = job->n_wires, cout = q->cout, pw = L->pw, wo = W / pw;
    const int folded = (q->flags & Q8_FLAG_ROUND_FOLDED) != 0;
    const int tp32 = q8_tpool32(job), hold = tp32 && job->pt_phase == 0;
    int ret = hold ? 2 : 1;
    const __m512i flip = _mm512_set1_epi8((char)0x80); /* used when SIGNED */
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (uint32_t j0 = 0; j0 < W; j0 += 32U) {
        __m512i acc[2][8];
#pragma GCC unroll 8
        for (int c = 0; c < CB; c++) acc[0][c] = acc[1][c] = _mm512_set1_epi32(q->bias[co0 + c]);
        for (uint32_t t = 0; t < q->ntaps; t++) {
            const uint8_t *p = q->tap_ptr[t] + 4U * j0;
            __m512i v0 = _mm512_loadu_si512((const void *)p);
            __m512i v1 = _mm512_loadu_si512((const void *)(p + 64U));
            if (SIGNED) {
                v0 = _mm512_xor_si512(v0, flip);
                v1 = _mm512_xor_si512(v1, flip);
            }
            const int32_t *wp = q->w + t * cout + co0;
#pragma GCC unroll 8
            for (int c = 0; c < CB; c++) {
                __m512i wv = _mm512_set1_epi32(wp[c]);
                acc[0][c] = _mm512_dpbusd_epi32(acc[0][c], v0, wv);
                acc[1][c] = _mm512_dpbusd_epi32(acc[1][c], v1, wv);
            }
        }
        const uint32_t o0 = j0 / pw; /* first pooled output of this step */
        const uint32_t n = wo - o0 < 32U / pw ? wo - o0 : 32U / pw;
        const __mmask16 nm = (__mmask16)(n >= 16 ? 0xFFFFU : (1U << n) - 1U);
        int32_t buf[8][Q8_OUT_MAX];
#pragma GCC unroll 8
        for (int c = 0; c < CB; c++) {
            if (pw == 1) {
                _mm512_storeu_si512(buf[c], acc[0][c]);
                _mm512_storeu_si512(buf[c] + 16, acc[1][c]);
                continue;
            }
            __m512i m = _mm512_max_epi32(_mm512_permutex2var_epi32(acc[0][c], even, acc[1][c]),
                                         _mm512_permutex2var_epi32(acc[0][c], odd, acc[1][c]));
            if (pw == 4) /* pairs of pairs: lanes 2i and 2i+1 of m, then the even lanes */
                m = _mm512_permutexvar_epi32(
                    even, _mm512_max_epi32(m, _mm512_srli_epi64(m, 32)) /* low lane of each */);
            if (tp32) {
                int32_t *pend = (int32_t *)job->pending + (co0 + c) * Q8_PEND32_ROW + o0;
                if (hold) {
                    _mm512_mask_storeu_epi32(pend, nm, m);
                    continue;
                }
                m = _mm512_max_epi32(m, _mm512_maskz_loadu_epi32(nm, pend));
            }
            _mm512_storeu_si512(buf[c], m);
        }
        if (hold) continue;
        ret = q8_out(job, folded, buf, co0, (uint32_t)CB, o0, n, tp32);
    }
    return ret;
}

/* Returns what q8_out did: 1 (pool_out) or 2 (the next layer's line buffer; cnn.h). */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) static int
conv_avx512_q8(const struct lt_conv_job *job, uint32_t layer_index)
{
    (void)layer_index;
    struct q8_layer q;
    q8_setup(job, &q);
    const int sgn = (q.flags & Q8_FLAG_SIGNED) != 0;
    uint32_t co = 0;
    int ret = 1;
    while (co < q.cout) { /* 2 x CB accumulators, 16 for CB = 8 (32 zmm) */
        uint32_t left = q.cout - co;
        uint32_t cb = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
        /* constant CB and SIGNED per call, so the inner loops unroll without branches */
        if (sgn) {
            if (cb == 8)
                ret = conv512q_block(job, &q, co, 8, 1);
            else if (cb == 4)
                ret = conv512q_block(job, &q, co, 4, 1);
            else if (cb == 2)
                ret = conv512q_block(job, &q, co, 2, 1);
            else
                ret = conv512q_block(job, &q, co, 1, 1);
        } else {
            if (cb == 8)
                ret = conv512q_block(job, &q, co, 8, 0);
            else if (cb == 4)
                ret = conv512q_block(job, &q, co, 4, 0);
            else if (cb == 2)
                ret = conv512q_block(job, &q, co, 2, 0);
            else
                ret = conv512q_block(job, &q, co, 1, 0);
        }
        co += cb;
    }
    return ret;
}

/* AVX2: vpmaddubsw (u8 x s8 -> int16 pair sums, saturating) then vpmaddwd with ones (-> int32).
 * Exact when the layer's weights cannot saturate a pair (Q8_FLAG_PAIR_SAFE); otherwise each quad
 * goes through the 4-bit halves of the weights, whose pair sums stay far inside int16
 * (255 * 15 * 2 and 255 * 8 * 2), recombined as 16 * high + low in int32. As on AVX-512, the
 * wire max-pool is taken on the accumulators (16 wires per step) and the pooled, requantised
 * values go straight to job->pool_out. */
/* Max of lanes (2i, 2i+1) of the 16 int32 values a[0..7], b[0..7], in order (8 values). */
__attribute__((target("avx2"), always_inline)) static inline __m256i pool2_256(__m256i a, __m256i b)
{
    __m256 fa = _mm256_castsi256_ps(a), fb = _mm256_castsi256_ps(b);
    __m256i ev = _mm256_castps_si256(_mm256_shuffle_ps(fa, fb, 0x88)); /* a0 a2 b0 b2 | a4 .. */
    __m256i od = _mm256_castps_si256(_mm256_shuffle_ps(fa, fb, 0xDD));
    return _mm256_permute4x64_epi64(_mm256_max_epi32(ev, od), 0xD8);
}

__attribute__((target("avx2"), always_inline)) static inline int
conv256q_block(const struct lt_conv_job *job, const struct q8_layer *q, uint32_t co0, const int CB,
               const int SAFE)
{
    const struct lt_kernel_layer *L = job->L;
    const uint32_t W = job->n_wires, cout = q->cout, pw = L->pw, wo = W / pw;
    const int folded = (q->flags & Q8_FLAG_ROUND_FOLDED) != 0;
    const int tp32 = q8_tpool32(job), hold = tp32 && job->pt_phase == 0;
    int ret = hold ? 2 : 1;
    const __m256i flip = _mm256_set1_epi8((q->flags & Q8_FLAG_SIGNED) ? (char)0x80 : 0);
    const __m256i ones = _mm256_set1_epi16(1), sixteen = _mm256_set1_epi16(16);
    for (uint32_t j0 = 0; j0 < W; j0 += 16) {
        __m256i acc[2][4];
#pragma GCC unroll 4
        for (int c = 0; c < CB; c++) acc[0][c] = acc[1][c] = _mm256_set1_epi32(q->bias[co0 + c]);
        for (uint32_t t = 0; t < q->ntaps; t++) {
            const uint8_t *p = q->tap_ptr[t] + 4U * j0;
            __m256i v0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)p), flip);
            __m256i v1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 32U)), flip);
            const uint32_t cbm = (1U << CB) - 1U;
            const int fast = SAFE || (((uint32_t)q->smask[t] >> co0) & cbm) == cbm;
#pragma GCC unroll 4
            for (int c = 0; c < CB; c++) {
                const uint32_t wi = t * cout + co0 + (uint32_t)c;
                if (fast) {
                    __m256i w = _mm256_set1_epi32(q->w[wi]);
                    acc[0][c] = _mm256_add_epi32(
                        acc[0][c], _mm256_madd_epi16(_mm256_maddubs_epi16(v0, w), ones));
                    acc[1][c] = _mm256_add_epi32(
                        acc[1][c], _mm256_madd_epi16(_mm256_maddubs_epi16(v1, w), ones));
                } else {
                    __m256i wh = _mm256_set1_epi32(q->whi[wi]), wl = _mm256_set1_epi32(q->wlo[wi]);
                    acc[0][c] = _mm256_add_epi32(
                        acc[0][c],
                        _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(v0, wh), sixteen),
                                         _mm256_madd_epi16(_mm256_maddubs_epi16(v0, wl), ones)));
                    acc[1][c] = _mm256_add_epi32(
                        acc[1][c],
                        _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(v1, wh), sixteen),
                                         _mm256_madd_epi16(_mm256_maddubs_epi16(v1, wl), ones)));
                }
            }
        }
        const uint32_t o0 = j0 / pw, n = wo - o0 < 16U / pw ? wo - o0 : 16U / pw;
        int32_t buf[4][Q8_OUT_MAX];
#pragma GCC unroll 4
        for (int c = 0; c < CB; c++) {
            if (pw == 1) {
                _mm256_storeu_si256((__m256i *)buf[c], acc[0][c]);
                _mm256_storeu_si256((__m256i *)(buf[c] + 8), acc[1][c]);
                continue;
            }
            __m256i m = pool2_256(acc[0][c], acc[1][c]);
            if (pw == 4) m = pool2_256(m, m); /* the first 4 lanes */
            if (tp32) {                       /* n <= 8 values (pw >= 2) */
                int32_t *pend = (int32_t *)job->pending + (co0 + (uint32_t)c) * Q8_PEND32_ROW + o0;
                int32_t t[8];
                if (hold) {
                    if (n == 8) { /* (no library call in the common case) */
                        _mm256_storeu_si256((__m256i *)pend, m);
                    } else {
                        _mm256_storeu_si256((__m256i *)t, m);
                        memcpy(pend, t, n * sizeof(int32_t));
                    }
                    continue;
                }
                if (n == 8) {
                    m = _mm256_max_epi32(m, _mm256_loadu_si256((const __m256i *)pend));
                } else {
                    memcpy(t, pend, n * sizeof(int32_t));
                    m = _mm256_max_epi32(m, _mm256_loadu_si256((const __m256i *)t));
                }
            }
            _mm256_storeu_si256((__m256i *)buf[c], m);
        }
        if (hold) continue;
        ret = q8_out(job, folded, buf, co0, (uint32_t)CB, o0, n, tp32);
    }
    return ret;
}

/* Returns what q8_out did: 1 (pool_out) or 2 (the next layer's line buffer; cnn.h). */
__attribute__((target("avx2"))) static int conv_avx2_q8(const struct lt_conv_job *job,
                                                        uint32_t layer_index)
{
    (void)layer_index;
    struct q8_layer q;
    q8_setup(job, &q);
    const int safe = (q.flags & Q8_FLAG_PAIR_SAFE) != 0;
    uint32_t co = 0;
    int ret = 1;
    while (co < q.cout) { /* 2 x CB accumulators of 16 ymm */
        uint32_t left = q.cout - co;
        uint32_t cb = left >= 4 ? 4 : left >= 2 ? 2 : 1;
        if (safe) {
            if (cb == 4)
                ret = conv256q_block(job, &q, co, 4, 1);
            else if (cb == 2)
                ret = conv256q_block(job, &q, co, 2, 1);
            else
                ret = conv256q_block(job, &q, co, 1, 1);
        } else {
            if (cb == 4)
                ret = conv256q_block(job, &q, co, 4, 0);
            else if (cb == 2)
                ret = conv256q_block(job, &q, co, 2, 0);
            else
                ret = conv256q_block(job, &q, co, 1, 0);
        }
        co += cb;
    }
    return ret;
}

/* ------------------------------------------------------------------ unpack */

/* For channel group k of G channels: load offset (bytes from the sample's first word), the byte
 * index of each lane's 4 bytes within the load, and each lane's right shift. Channel ch starts
 * at bit 14*ch; loads must stay inside the 112-byte sample (the last sample ends the frame). */
struct unpack_tables {
    uint8_t off512[4];
    uint8_t perm512[4][64];
    uint32_t shift512[4][16];
    uint8_t off256[8];
    uint8_t shuf256[8][32];
    uint32_t shift256[8][8];
};
static struct unpack_tables UT;
static pthread_once_t ut_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (uint32_t k = 0; k < 4; k++) {
        uint32_t off = 28U * k > 48U ? 48U : 28U * k;
        UT.off512[k] = (uint8_t)off;
        for (uint32_t i = 0; i < 16; i++) {
            uint32_t bit = 14U * (16U * k + i), byte = bit / 8U - off;
            for (uint32_t b = 0; b < 4; b++)
                UT.perm512[k][4 * i + b] = (uint8_t)(byte + b < 64 ? byte + b : 63);
            UT.shift512[k][i] = bit % 8U;
        }
    }
    for (uint32_t k = 0; k < 8; k++) {
        uint32_t off = 14U * k > 96U ? 96U : 14U * k;
        UT.off256[k] = (uint8_t)off;
        for (uint32_t i = 0; i < 8; i++) {
            uint32_t bit = 14U * (8U * k + i), byte = bit / 8U - off;
            /* vpshufb works within 128-bit lanes; the 16 loaded bytes are in both lanes */
            for (uint32_t b = 0; b < 4; b++)
                UT.shuf256[k][4 * i + b] = (uint8_t)(byte + b < 16 ? byte + b : 15);
            UT.shift256[k][i] = bit % 8U;
        }
    }
}

/* All four 16-channel groups of the mask `groups` (bit k: group k) in one pass over the frame, D
 * a compile-time constant: each sample's bytes are loaded once per distinct window offset (groups
 * 2 and 3 share one) and feed every group's accumulator, so the frame is read once, in order, and
 * the sample loop unrolls. Same arithmetic as the per-group loop below. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline)) static inline void
unpack512_fused(const lt_wibeth_frame *f, const uint32_t D, const uint32_t groups, uint32_t ch0,
                uint32_t *dst, uint32_t stride, const lt_wibeth_frame *next)
{
    /* The next frame's 113 cache lines, two per sample (the hardware prefetcher restarts at every
     * frame, and every 4 KB page; a burst of prefetches would stall on the miss buffers). */
    const char *pf = next ? (const char *)next : (const char *)f;
    const uint32_t ncols = LT_WIBETH_SAMPLES / D;
    const __m512i mask14 = _mm512_set1_epi32(LT_WIBETH_ADC_MAX);
    __m512i perm[4], shift[4], fmask[4];
    for (uint32_t k = 0; k < 4; k++) {
        perm[k] = _mm512_loadu_si512(UT.perm512[k]);
        shift[k] = _mm512_loadu_si512(UT.shift512[k]);
        fmask[k] = _mm512_sllv_epi32(mask14, shift[k]);
    }
    const uint8_t *adc = (const uint8_t *)f->adc_words[0];
    for (uint32_t c = 0; c < ncols; c++) {
        __m512i acc[4];
        for (uint32_t k = 0; k < 4; k++) acc[k] = _mm512_setzero_si512();
#pragma GCC unroll 32
        for (uint32_t i = 0; i < D; i++) {
            const uint8_t *smp = adc + (c * D + i) * 8U * LT_WIBETH_WORDS_PER_SAMPLE;
            if (next) {
                __builtin_prefetch(pf + 128U * (c * D + i), 0, 3);
                __builtin_prefetch(pf + 128U * (c * D + i) + 64U, 0, 3);
            }
            /* UT.off512: 0, 28, 48, 48 */
            __m512i w48 = _mm512_loadu_si512(smp + 48);
            if (groups & 1U)
                acc[0] = _mm512_add_epi32(
                    acc[0],
                    _mm512_and_si512(_mm512_permutexvar_epi8(perm[0], _mm512_loadu_si512(smp)),
                                     fmask[0]));
            if (groups & 2U)
                acc[1] = _mm512_add_epi32(
                    acc[1],
                    _mm512_and_si512(_mm512_permutexvar_epi8(perm[1], _mm512_loadu_si512(smp + 28)),
                                     fmask[1]));
            if (groups & 4U)
                acc[2] = _mm512_add_epi32(
                    acc[2], _mm512_and_si512(_mm512_permutexvar_epi8(perm[2], w48), fmask[2]));
            if (groups & 8U)
                acc[3] = _mm512_add_epi32(
                    acc[3], _mm512_and_si512(_mm512_permutexvar_epi8(perm[3], w48), fmask[3]));
        }
        for (uint32_t k = 0; k < 4; k++)
            if (groups & (1U << k))
                _mm512_storeu_si512(dst + c * stride + 16U * k - ch0,
                                    _mm512_srlv_epi32(acc[k], shift[k]));
    }
}

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void
unpack_avx512(const lt_wibeth_frame *f, uint32_t d, uint64_t chmask, uint32_t ch0, uint32_t *dst,
              uint32_t stride, const lt_wibeth_frame *next)
{
    uint32_t groups = 0;
    for (uint32_t k = 0; k < 4; k++)
        if ((chmask >> (16U * k)) & 0xFFFFU) groups |= 1U << k;
    /* The channel map's X groups (1, 2, 3) and every D get the fused pass; other masks the
     * group-by-group loop. */
    if (groups == 0xEU) {
        switch (d) {
        case 0:
            unpack512_fused(f, 1, 0xE, ch0, dst, stride, next);
            return;
        case 1:
            unpack512_fused(f, 2, 0xE, ch0, dst, stride, next);
            return;
        case 2:
            unpack512_fused(f, 4, 0xE, ch0, dst, stride, next);
            return;
        case 3:
            unpack512_fused(f, 8, 0xE, ch0, dst, stride, next);
            return;
        case 4:
            unpack512_fused(f, 16, 0xE, ch0, dst, stride, next);
            return;
        default:
            unpack512_fused(f, 32, 0xE, ch0, dst, stride, next);
            return;
        }
    }
    const uint32_t D = 1U << d, ncols = LT_WIBETH_SAMPLES >> d;
    const __m512i mask14 = _mm512_set1_epi32(LT_WIBETH_ADC_MAX);
    for (uint32_t k = 0; k < 4; k++) {
        if (!((chmask >> (16U * k)) & 0xFFFFU)) continue;
        const __m512i perm = _mm512_loadu_si512(UT.perm512[k]);
        const __m512i shift = _mm512_loadu_si512(UT.shift512[k]);
        /* Each lane's field is masked in place (bits r .. r+13, r < 8) and summed there; one
         * shift per column brings the sum down (32 x 16383 << 7 < 2^32): the shift leaves the
         * per-sample loop. */
        const __m512i fmask = _mm512_sllv_epi32(mask14, shift);
        const uint8_t *base = (const uint8_t *)f->adc_words[0] + UT.off512[k];
        for (uint32_t c = 0; c < ncols; c++) {
            __m512i acc = _mm512_setzero_si512();
            for (uint32_t s = c * D; s < (c + 1U) * D; s++) {
                __m512i raw = _mm512_loadu_si512(base + s * 8U * LT_WIBETH_WORDS_PER_SAMPLE);
                acc = _mm512_add_epi32(acc,
                                       _mm512_and_si512(_mm512_permutexvar_epi8(perm, raw), fmask));
            }
            _mm512_storeu_si512(dst + c * stride + 16U * k - ch0, _mm512_srlv_epi32(acc, shift));
        }
    }
}

__attribute__((target("avx2"))) static void unpack_avx2(const lt_wibeth_frame *f, uint32_t d,
                                                        uint64_t chmask, uint32_t ch0,
                                                        uint32_t *dst, uint32_t stride,
                                                        const lt_wibeth_frame *next)
{
    (void)next; /* prefetching it, as unpack_avx512 does, measured slower here */
    const uint32_t D = 1U << d, ncols = LT_WIBETH_SAMPLES >> d;
    const __m256i mask14 = _mm256_set1_epi32(LT_WIBETH_ADC_MAX);
    for (uint32_t k = 0; k < 8; k++) {
        if (!((chmask >> (8U * k)) & 0xFFU)) continue;
        const __m256i shuf = _mm256_loadu_si256((const __m256i *)UT.shuf256[k]);
        const __m256i shift = _mm256_loadu_si256((const __m256i *)UT.shift256[k]);
        const __m256i fmask = _mm256_sllv_epi32(mask14, shift); /* as unpack_avx512 */
        const uint8_t *base = (const uint8_t *)f->adc_words[0] + UT.off256[k];
        for (uint32_t c = 0; c < ncols; c++) {
            __m256i acc = _mm256_setzero_si256();
            for (uint32_t s = c * D; s < (c + 1U) * D; s++) {
                __m128i raw =
                    _mm_loadu_si128((const __m128i *)(base + s * 8U * LT_WIBETH_WORDS_PER_SAMPLE));
                __m256i both = _mm256_broadcastsi128_si256(raw);
                acc =
                    _mm256_add_epi32(acc, _mm256_and_si256(_mm256_shuffle_epi8(both, shuf), fmask));
            }
            _mm256_storeu_si256((__m256i *)(dst + c * stride + 8U * k - ch0),
                                _mm256_srlv_epi32(acc, shift));
        }
    }
}

/* ------------------------------------------------------------------ glue: line-buffer store,
 * wire pooling, pedestal column (AVX-512; AVX2 uses the scalar code for store and pooling) */

/* Interleave a[0..31], b[0..31] into pairs (a[i], b[i]) and store `n` pairs (n <= 32) at dst. */
__attribute__((target("avx512f,avx512bw"), always_inline)) static inline void
store_pairs512(int16_t *dst, __m512i a, __m512i b, uint32_t n)
{
    static const uint16_t lo_idx[32] = {0,  32, 1,  33, 2,  34, 3,  35, 4,  36, 5,
                                        37, 6,  38, 7,  39, 8,  40, 9,  41, 10, 42,
                                        11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
    const __m512i il = _mm512_loadu_si512(lo_idx);
    const __m512i ih = _mm512_add_epi16(il, _mm512_set1_epi16(16));
    __m512i lo = _mm512_permutex2var_epi16(a, il, b), hi = _mm512_permutex2var_epi16(a, ih, b);
    uint32_t nlo = n < 16 ? n : 16, nhi = n > 16 ? n - 16 : 0;
    _mm512_mask_storeu_epi16(dst, (__mmask32)(nlo == 16 ? 0xFFFFFFFFU : (1U << (2 * nlo)) - 1U),
                             lo);
    if (nhi)
        _mm512_mask_storeu_epi16(dst + 32,
                                 (__mmask32)(nhi == 16 ? 0xFFFFFFFFU : (1U << (2 * nhi)) - 1U), hi);
}

__attribute__((target("avx512f,avx512bw"), always_inline)) static inline __m512i
load_upto512(const int16_t *p, int64_t n)
{
    if (n <= 0) return _mm512_setzero_si512();
    return _mm512_maskz_loadu_epi16(n >= 32 ? 0xFFFFFFFFU : (1U << n) - 1U, p);
}

__attribute__((target("avx512f,avx512bw"))) static void
lb_store_avx512(int16_t *lb, const int16_t *in, uint32_t stride, uint32_t cin, uint32_t w)
{
    if (cin == 1) {
        /* pairs (x[p], x[p+1]); the pair left of wire 0 is (0, x[0]) */
        lb[2U * (LT_KERNEL_WPAD - 1U)] = 0;
        lb[2U * (LT_KERNEL_WPAD - 1U) + 1U] = in[0];
        for (uint32_t j0 = 0; j0 < w; j0 += 32) {
            __m512i a = load_upto512(in + j0, (int64_t)w - j0);
            __m512i b = load_upto512(in + j0 + 1, (int64_t)w - j0 - 1);
            uint32_t n = w - j0 < 32 ? w - j0 : 32;
            store_pairs512(lb + 2U * (j0 + LT_KERNEL_WPAD), a, b, n);
        }
        return;
    }
    for (uint32_t cp = 0; cp < (cin + 1U) / 2U; cp++) {
        const int16_t *ra = in + 2U * cp * stride, *rb = ra + stride;
        int has_b = 2U * cp + 1U < cin;
        for (uint32_t j0 = 0; j0 < w; j0 += 32) {
            __m512i a = load_upto512(ra + j0, (int64_t)w - j0);
            __m512i b = has_b ? load_upto512(rb + j0, (int64_t)w - j0) : _mm512_setzero_si512();
            uint32_t n = w - j0 < 32 ? w - j0 : 32;
            store_pairs512(lb + cp * LT_CNN_ROW + 2U * (j0 + LT_KERNEL_WPAD), a, b, n);
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) static void
pool_w_avx512(const int16_t *in, int16_t *out, uint32_t cout, uint32_t w, uint32_t pw)
{
    const uint32_t wo = w / pw;
    for (uint32_t c = 0; c < cout; c++) {
        const int16_t *src = in + c * LT_KERNEL_WSTRIDE;
        int16_t *dst = out + c * LT_KERNEL_MAX_WIRES;
        if (pw == 1) {
            memcpy(dst, src, w * sizeof(int16_t));
        } else if (pw == 2) {
            for (uint32_t j0 = 0; j0 < wo; j0 += 16) { /* 32 inputs -> 16 outputs */
                __m512i a = load_upto512(src + 2U * j0, (int64_t)(2U * (wo - j0)));
                __m512i m = _mm512_max_epi16(a, _mm512_srli_epi32(a, 16));
                uint32_t n = wo - j0 < 16 ? wo - j0 : 16;
                _mm256_mask_storeu_epi16(dst + j0, (__mmask16)((1U << n) - 1U),
                                         _mm512_cvtepi32_epi16(m));
            }
        } else { /* pw == 4: 32 inputs -> 8 outputs */
            for (uint32_t j0 = 0; j0 < wo; j0 += 8) {
                __m512i a = load_upto512(src + 4U * j0, (int64_t)(4U * (wo - j0)));
                __m512i m = _mm512_max_epi16(a, _mm512_srli_epi64(a, 16));
                m = _mm512_max_epi16(m, _mm512_srli_epi64(m, 32));
                uint32_t n = wo - j0 < 8 ? wo - j0 : 8;
                _mm_mask_storeu_epi16(dst + j0, (__mmask8)((1U << n) - 1U),
                                      _mm512_cvtepi64_epi16(m));
            }
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) static void
column_avx512(const uint32_t *wsum, int32_t *ped, int16_t *x, uint32_t n, uint32_t d,
              uint32_t in_shift, int32_t x_max)
{
    const __m512i one = _mm512_set1_epi32(1), mone = _mm512_set1_epi32(-1);
    const __m512i xhi = _mm512_set1_epi32(x_max), xlo = _mm512_set1_epi32(-x_max - 1);
    for (uint32_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1U << (n - j)) - 1U);
        __m512i s = _mm512_maskz_loadu_epi32(m, wsum + j);
        __m512i p = _mm512_maskz_loadu_epi32(m, ped + j);
        __m512i v = _mm512_srl_epi32(_mm512_slli_epi32(s, 4), _mm_cvtsi32_si128((int)d));
        __m512i diff = _mm512_sub_epi32(v, p);
        __m512i sign = _mm512_min_epi32(_mm512_max_epi32(diff, mone), one);
        _mm512_mask_storeu_epi32(ped + j, m, _mm512_add_epi32(p, sign));
        __m512i y = diff;
        if (in_shift) {
            __m512i hi = _mm512_sra_epi32(diff, _mm_cvtsi32_si128((int)in_shift));
            __m512i bit =
                _mm512_and_si512(_mm512_sra_epi32(diff, _mm_cvtsi32_si128((int)in_shift - 1)), one);
            y = _mm512_add_epi32(hi, bit);
        }
        y = _mm512_min_epi32(_mm512_max_epi32(y, xlo), xhi);
        _mm256_mask_storeu_epi16(x + j, m, _mm512_cvtepi32_epi16(y));
    }
}

__attribute__((target("avx2"))) static void column_avx2(const uint32_t *wsum, int32_t *ped,
                                                        int16_t *x, uint32_t n, uint32_t d,
                                                        uint32_t in_shift, int32_t x_max)
{
    const __m256i one = _mm256_set1_epi32(1), mone = _mm256_set1_epi32(-1);
    const __m256i xhi = _mm256_set1_epi32(x_max), xlo = _mm256_set1_epi32(-x_max - 1);
    uint32_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256i s = _mm256_loadu_si256((const __m256i *)(wsum + j));
        __m256i p = _mm256_loadu_si256((const __m256i *)(ped + j));
        __m256i v = _mm256_srl_epi32(_mm256_slli_epi32(s, 4), _mm_cvtsi32_si128((int)d));
        __m256i diff = _mm256_sub_epi32(v, p);
        __m256i sign = _mm256_min_epi32(_mm256_max_epi32(diff, mone), one);
        _mm256_storeu_si256((__m256i *)(ped + j), _mm256_add_epi32(p, sign));
        __m256i y = diff;
        if (in_shift) {
            __m256i hi = _mm256_sra_epi32(diff, _mm_cvtsi32_si128((int)in_shift));
            __m256i bit =
                _mm256_and_si256(_mm256_sra_epi32(diff, _mm_cvtsi32_si128((int)in_shift - 1)), one);
            y = _mm256_add_epi32(hi, bit);
        }
        y = _mm256_min_epi32(_mm256_max_epi32(y, xlo), xhi);
        __m256i pk = _mm256_permute4x64_epi64(_mm256_packs_epi32(y, y), 0x08);
        _mm_storeu_si128((__m128i *)(x + j), _mm256_castsi256_si128(pk));
    }
    if (j < n) lt_pre_column_scalar(wsum + j, ped + j, x + j, n - j, d, in_shift, x_max);
}

/* AVX2 has no masked 16-bit loads/stores: full vectors in the loop, the scalar formula for the
 * tail (a few wires at most). */
__attribute__((target("avx2"), always_inline)) static inline void
store_pairs256(int16_t *dst, __m256i a, __m256i b)
{
    __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
    _mm256_storeu_si256((__m256i *)dst, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256((__m256i *)(dst + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
}

__attribute__((target("avx2"))) static void lb_store_avx2(int16_t *lb, const int16_t *in,
                                                          uint32_t stride, uint32_t cin, uint32_t w)
{
    if (cin == 1) {
        lb[2U * (LT_KERNEL_WPAD - 1U)] = 0;
        lb[2U * (LT_KERNEL_WPAD - 1U) + 1U] = in[0];
        uint32_t j = 0;
        for (; j + 17U <= w; j += 16) /* b reads in[j + 16] */
            store_pairs256(lb + 2U * (j + LT_KERNEL_WPAD),
                           _mm256_loadu_si256((const __m256i *)(in + j)),
                           _mm256_loadu_si256((const __m256i *)(in + j + 1)));
        for (; j < w; j++) {
            lb[2U * (j + LT_KERNEL_WPAD)] = in[j];
            lb[2U * (j + LT_KERNEL_WPAD) + 1U] = j + 1U < w ? in[j + 1U] : 0;
        }
        return;
    }
    for (uint32_t cp = 0; cp < (cin + 1U) / 2U; cp++) {
        const int16_t *ra = in + 2U * cp * stride, *rb = ra + stride;
        int has_b = 2U * cp + 1U < cin;
        int16_t *row = lb + cp * LT_CNN_ROW;
        uint32_t j = 0;
        for (; j + 16U <= w; j += 16)
            store_pairs256(
                row + 2U * (j + LT_KERNEL_WPAD), _mm256_loadu_si256((const __m256i *)(ra + j)),
                has_b ? _mm256_loadu_si256((const __m256i *)(rb + j)) : _mm256_setzero_si256());
        for (; j < w; j++) {
            row[2U * (j + LT_KERNEL_WPAD)] = ra[j];
            row[2U * (j + LT_KERNEL_WPAD) + 1U] = has_b ? rb[j] : 0;
        }
    }
}

__attribute__((target("avx2"))) static void pool_w_avx2(const int16_t *in, int16_t *out,
                                                        uint32_t cout, uint32_t w, uint32_t pw)
{
    if (pw != 2) {
        lt_pool_w_scalar(in, out, cout, w, pw);
        return;
    }
    const uint32_t wo = w / 2U;
    for (uint32_t c = 0; c < cout; c++) {
        const int16_t *src = in + c * LT_KERNEL_WSTRIDE;
        int16_t *dst = out + c * LT_KERNEL_MAX_WIRES;
        uint32_t j = 0;
        for (; j + 16U <= wo; j += 16) { /* 32 inputs -> 16 outputs */
            __m256i a = _mm256_loadu_si256((const __m256i *)(src + 2U * j));
            __m256i b = _mm256_loadu_si256((const __m256i *)(src + 2U * j + 16U));
            /* max of each pair in the low half of a 32-bit lane, sign-extended, then packed */
            a = _mm256_srai_epi32(
                _mm256_slli_epi32(_mm256_max_epi16(a, _mm256_srli_epi32(a, 16)), 16), 16);
            b = _mm256_srai_epi32(
                _mm256_slli_epi32(_mm256_max_epi16(b, _mm256_srli_epi32(b, 16)), 16), 16);
            _mm256_storeu_si256((__m256i *)(dst + j),
                                _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8));
        }
        for (; j < wo; j++)
            dst[j] = src[2U * j] > src[2U * j + 1U] ? src[2U * j] : src[2U * j + 1U];
    }
}

__attribute__((target("avx2"))) static void pool_t_avx2(int16_t *cur, const int16_t *pending,
                                                        uint32_t cout, uint32_t wo)
{
    for (uint32_t c = 0; c < cout; c++) {
        int16_t *a = cur + c * LT_KERNEL_MAX_WIRES;
        const int16_t *b = pending + c * LT_KERNEL_MAX_WIRES;
        uint32_t j = 0;
        for (; j + 16U <= wo; j += 16)
            _mm256_storeu_si256((__m256i *)(a + j),
                                _mm256_max_epi16(_mm256_loadu_si256((const __m256i *)(a + j)),
                                                 _mm256_loadu_si256((const __m256i *)(b + j))));
        for (; j < wo; j++) a[j] = a[j] > b[j] ? a[j] : b[j];
    }
}

void lt_cpu_install(enum lt_cpu_isa isa, const struct lt_kernel_net *net, struct lt_cnn_state *cnn,
                    struct lt_pre_state *pre)
{
    cnn->conv = lt_cpu_conv_fn(isa);
    pre->unpack = lt_cpu_unpack_fn(isa);
    switch (isa) {
    case LT_CPU_AVX512:
        cnn->store = lb_store_avx512;
        cnn->pool_w = pool_w_avx512;
        cnn->pool_t = pool_t_avx2; /* memory-bound: 256-bit is enough */
        pre->column = column_avx512;
        break;
    case LT_CPU_AVX2:
        cnn->store = lb_store_avx2;
        cnn->pool_w = pool_w_avx2;
        cnn->pool_t = pool_t_avx2;
        pre->column = column_avx2;
        break;
    case LT_CPU_SCALAR:
        cnn->store = NULL;
        cnn->pool_w = NULL;
        cnn->pool_t = NULL;
        pre->column = NULL;
        break;
    }
    /* 8-bit activations: the quad line-buffer layout and the u8 x s8 convs */
    if (net && net_act8(net) && isa != LT_CPU_SCALAR) {
        cnn->store = isa == LT_CPU_AVX512 ? lb_store_q8_avx512 : lb_store_q8_avx2;
        cnn->conv = isa == LT_CPU_AVX512 ? conv_avx512_q8 : conv_avx2_q8;
    }
}

lt_conv_fn lt_cpu_conv_fn(enum lt_cpu_isa isa)
{
    switch (isa) {
    case LT_CPU_AVX512:
        return conv_avx512;
    case LT_CPU_AVX2:
        return conv_avx2;
    case LT_CPU_SCALAR:
        break;
    }
    return NULL;
}

lt_pre_unpack_fn lt_cpu_unpack_fn(enum lt_cpu_isa isa)
{
    pthread_once(&ut_once, build_tables); /* accel instances may be opened from several threads */
    switch (isa) {
    case LT_CPU_AVX512:
        return unpack_avx512;
    case LT_CPU_AVX2:
        return unpack_avx2;
    case LT_CPU_SCALAR:
        break;
    }
    return NULL;
}
