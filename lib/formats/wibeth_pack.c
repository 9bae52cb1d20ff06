/* Bulk pack/unpack of a WIBEth frame's 64 x 64 14-bit ADC values.
 *
 * The layout makes this regular: 4 channels x 14 bits = 56 bits = 7 bytes, and a sample's 112
 * bytes hold exactly 16 such groups, so the whole 7168-byte ADC area is 1024 consecutive 7-byte
 * groups (sample boundaries fall on group boundaries). Value k of the frame, in
 * adc[sample][channel] order, is value k % 4 of group k / 4.
 *
 * Scalar path: one unaligned 8-byte load or store per group, shifts and masks, no per-bit work.
 * AVX2 path (chosen at run time when the CPU has it):
 *   unpack: a 14-byte pair of groups is broadcast to both 128-bit lanes; vpshufb gathers the
 *     three bytes holding each channel into a 32-bit lane, vpsrlvd shifts each lane by its bit
 *     offset, a mask keeps 14 bits, and vpackusdw + vpermq turn two such registers into 16
 *     uint16 values in order.
 *   pack: vpmaddwd joins channel pairs (c0 + c1 << 14) into 32-bit lanes, shifts join the pairs
 *     into one 56-bit group per 64-bit lane, and vpshufb squeezes 8-byte lanes to 7 bytes.
 * Both vector loops stop one block short of the end, because their 16-byte loads/stores reach
 * 2 bytes past the block they work on; the scalar code finishes the tail. */
#include "wibeth.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LT_HAVE_AVX2_PATH 1
#endif

#define ADC_BYTES   (LT_WIBETH_SAMPLES * LT_WIBETH_WORDS_PER_SAMPLE * 8U) /* 7168 */
#define GROUP_BYTES 7U                                                    /* 4 channels */
#define GROUPS      (ADC_BYTES / GROUP_BYTES)                             /* 1024 */
#define N_VALUES    (LT_WIBETH_SAMPLES * LT_WIBETH_CHANNELS)              /* 4096 */

_Static_assert(GROUPS *GROUP_BYTES == ADC_BYTES, "the ADC area is whole 7-byte groups");
_Static_assert(sizeof(((lt_wibeth_frame *)0)->adc_words) == ADC_BYTES, "ADC area size");

static inline uint64_t load8(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline void split_group(uint64_t v, uint16_t *dst)
{
    dst[0] = (uint16_t)(v & LT_WIBETH_ADC_MAX);
    dst[1] = (uint16_t)((v >> 14) & LT_WIBETH_ADC_MAX);
    dst[2] = (uint16_t)((v >> 28) & LT_WIBETH_ADC_MAX);
    dst[3] = (uint16_t)((v >> 42) & LT_WIBETH_ADC_MAX);
}

static inline uint64_t join_group(const uint16_t *src)
{
    const uint64_t m = LT_WIBETH_ADC_MAX;
    return (src[0] & m) | (src[1] & m) << 14 | (src[2] & m) << 28 | (src[3] & m) << 42;
}

/* Groups [first, GROUPS). The last group cannot take an 8-byte load at its start (it would
 * read past the frame), so it loads the 8 bytes ending at the frame's end and shifts. */
static void unpack_groups(const uint8_t *src, uint16_t *dst, unsigned first)
{
    for (unsigned g = first; g < GROUPS - 1; g++)
        split_group(load8(src + GROUP_BYTES * g), dst + 4 * g);
    split_group(load8(src + ADC_BYTES - 8) >> 8, dst + 4 * (GROUPS - 1));
}

/* Groups [first, GROUPS), in increasing order: each 8-byte store spills one byte into the next
 * group, which that group's own store then overwrites; the last group stores 7 bytes. */
static void pack_groups(uint8_t *dst, const uint16_t *src, unsigned first)
{
    for (unsigned g = first; g < GROUPS - 1; g++) {
        uint64_t v = join_group(src + 4 * g);
        memcpy(dst + GROUP_BYTES * g, &v, 8);
    }
    uint64_t v = join_group(src + 4 * (GROUPS - 1));
    memcpy(dst + GROUP_BYTES * (GROUPS - 1), &v, GROUP_BYTES);
}

void lt_wibeth_unpack_scalar(const lt_wibeth_frame *f,
                             uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS])
{
    unpack_groups((const uint8_t *)f->adc_words, &adc[0][0], 0);
}

void lt_wibeth_pack_scalar(lt_wibeth_frame *f,
                           const uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS])
{
    pack_groups((uint8_t *)f->adc_words, &adc[0][0], 0);
}

#ifdef LT_HAVE_AVX2_PATH

/* 16 values (4 groups, 28 bytes) per iteration; the last iteration is left to the scalar tail. */
#define VEC_GROUPS 4U

__attribute__((target("avx2"))) static void unpack_avx2(const uint8_t *src, uint16_t *dst)
{
    /* Channel j (0..7) of a 14-byte pair starts at bit 14j: byte 14j/8, shift 14j%8. The low
     * lane builds channels 0..3, the high lane channels 4..7, from the same 16 loaded bytes. */
    const __m256i gather = _mm256_setr_epi8(0, 1, 2, -1, 1, 2, 3, -1, 3, 4, 5, -1, 5, 6, 7, -1, 7,
                                            8, 9, -1, 8, 9, 10, -1, 10, 11, 12, -1, 12, 13, 14, -1);
    const __m256i shifts = _mm256_setr_epi32(0, 6, 4, 2, 0, 6, 4, 2);
    const __m256i mask = _mm256_set1_epi32(LT_WIBETH_ADC_MAX);
    unsigned g = 0;
    for (; g + 2 * VEC_GROUPS <= GROUPS; g += VEC_GROUPS) {
        const uint8_t *p = src + GROUP_BYTES * g;
        __m256i a = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
        __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(p + 14)));
        a = _mm256_and_si256(_mm256_srlv_epi32(_mm256_shuffle_epi8(a, gather), shifts), mask);
        b = _mm256_and_si256(_mm256_srlv_epi32(_mm256_shuffle_epi8(b, gather), shifts), mask);
        /* packus interleaves lanes: a0-3 b0-3 a4-7 b4-7; vpermq restores a0-7 b0-7 */
        __m256i v = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
        _mm256_storeu_si256((__m256i *)(dst + 4 * g), v);
    }
    unpack_groups(src, dst, g);
}

__attribute__((target("avx2"))) static void pack_avx2(uint8_t *dst, const uint16_t *src)
{
    const __m256i mask = _mm256_set1_epi16(LT_WIBETH_ADC_MAX);
    const __m256i pair_mul = _mm256_set1_epi32(1 | (1 << 30)); /* int16 pairs (1, 1 << 14) */
    const __m256i low32 = _mm256_set1_epi64x(0xFFFFFFFF);
    /* keep bytes 0..6 and 8..14 of each lane: two 7-byte groups side by side */
    const __m256i squeeze = _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, -1, -1,
                                             0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, -1, -1);
    unsigned g = 0;
    for (; g + 2 * VEC_GROUPS <= GROUPS; g += VEC_GROUPS) {
        __m256i v = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(src + 4 * g)), mask);
        __m256i pairs = _mm256_madd_epi16(v, pair_mul); /* c0 + c1 << 14 per 32-bit lane */
        __m256i grp = _mm256_or_si256(_mm256_and_si256(pairs, low32),
                                      _mm256_slli_epi64(_mm256_srli_epi64(pairs, 32), 28));
        __m256i packed = _mm256_shuffle_epi8(grp, squeeze);
        uint8_t *p = dst + GROUP_BYTES * g;
        _mm_storeu_si128((__m128i *)p, _mm256_castsi256_si128(packed));
        _mm_storeu_si128((__m128i *)(p + 14), _mm256_extracti128_si256(packed, 1));
    }
    pack_groups(dst, src, g);
}

static int use_avx2(void)
{
    static int cached = -1; /* benign race: every thread computes the same answer */
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return cached;
}

#endif

void lt_wibeth_unpack(const lt_wibeth_frame *f, uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS])
{
#ifdef LT_HAVE_AVX2_PATH
    if (use_avx2()) {
        unpack_avx2((const uint8_t *)f->adc_words, &adc[0][0]);
        return;
    }
#endif
    lt_wibeth_unpack_scalar(f, adc);
}

void lt_wibeth_pack(lt_wibeth_frame *f, const uint16_t adc[LT_WIBETH_SAMPLES][LT_WIBETH_CHANNELS])
{
#ifdef LT_HAVE_AVX2_PATH
    if (use_avx2()) {
        pack_avx2((uint8_t *)f->adc_words, &adc[0][0]);
        return;
    }
#endif
    lt_wibeth_pack_scalar(f, adc);
}

const char *lt_wibeth_pack_impl(void)
{
#ifdef LT_HAVE_AVX2_PATH
    if (use_avx2()) return "avx2";
#endif
    return "scalar";
}
