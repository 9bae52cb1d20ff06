/* The fast background path's noise loop (lt_sim_cell_render_x_sums), written once with vector
 * types of LT_SIM_XS_LANES lanes and built twice: sim_xsums.c (XS_FN lt_sim_xs_noise_generic,
 * any x86-64 or other CPU) and sim_xsums_avx2.c (XS_FN lt_sim_xs_noise_avx2, compiled with
 * -mavx2: table gathers and rounding in one instruction each). Both give the same values bit
 * for bit: integer lanes, IEEE float lanes in the same order without contraction, round to
 * nearest even in both (tests/sim/test_sim_xsums.c `generic_equals_avx2`).
 *
 * Per frame period, one vector generator (LT_SIM_XS_LANES xoshiro256** streams seeded from
 * (seed, cell, period)) feeds, in this order: the board-coherent noise (per sample, one normal
 * per board), the low-frequency noise (one per wire) and the white noise of the column sums
 * (one per wire and column). A step's 64 bytes are read as 2 chunks of LT_SIM_XS_LANES 32-bit
 * words (little-endian order), one normal each: 12 bits pick a bin of lt_sim_xs_table, 12 more
 * the place inside it. */
#ifndef XS_FN
#error "define XS_FN (and XS_AVX2 0/1) before including sim_xsums_body.h"
#endif

#include <math.h>
#include <string.h>

#include "sim_internal.h"

#if XS_AVX2
#include <immintrin.h>
#endif

/* Vectors wider than the registers (8 x 64 bits): GCC notes that passing them by value would
 * change the ABI; every function taking them here is always_inline, so no call passes them. */
#if defined(__clang__)
#if __has_warning("-Wpsabi")
#pragma clang diagnostic ignored "-Wpsabi"
#endif
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define XS_L LT_SIM_XS_LANES
typedef uint64_t xs_u64 __attribute__((vector_size(8 * XS_L)));
typedef int32_t xs_i32 __attribute__((vector_size(4 * XS_L)));
typedef uint32_t xs_u32 __attribute__((vector_size(4 * XS_L)));
typedef float xs_f32 __attribute__((vector_size(4 * XS_L)));

#define XS_INLINE static inline __attribute__((always_inline))

union xs_draw {
    xs_u64 v;
    xs_u32 w[2];
};

struct xs_vrng {
    xs_u64 s[4];
};

XS_INLINE xs_u64 xs_rotl(xs_u64 x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** in every lane (the multiplications by 5 and 9 as shifts and adds: AVX2 has no
 * 64-bit multiply). */
XS_INLINE xs_u64 xs_next(struct xs_vrng *r)
{
    xs_u64 *s = r->s;
    const xs_u64 s5 = (s[1] << 2) + s[1];
    const xs_u64 rot = xs_rotl(s5, 7);
    const xs_u64 result = (rot << 3) + rot;
    const xs_u64 t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = xs_rotl(s[3], 45);
    return result;
}

XS_INLINE void xs_seed(struct xs_vrng *r, uint64_t key)
{
    for (uint32_t l = 0; l < XS_L; l++)
        for (uint32_t w = 0; w < 4; w++) r->s[w][l] = lt_sim_splitmix64(&key);
}

#if XS_AVX2
XS_INLINE xs_i32 xs_gather(const int32_t *tab, xs_u32 idx)
{
    return (xs_i32)_mm256_i32gather_epi32((const int *)tab, (__m256i)idx, 4);
}
XS_INLINE xs_i32 xs_round(xs_f32 x)
{
    return (xs_i32)_mm256_cvtps_epi32((__m256)x); /* round to nearest even (MXCSR default) */
}
XS_INLINE int xs_any(xs_i32 m)
{
    return _mm256_movemask_epi8((__m256i)m) != 0;
}
#else
XS_INLINE xs_i32 xs_gather(const int32_t *tab, xs_u32 idx)
{
    xs_i32 z;
    for (uint32_t l = 0; l < XS_L; l++) z[l] = tab[idx[l]];
    return z;
}
XS_INLINE xs_i32 xs_round(xs_f32 x)
{
    xs_i32 v;
    for (uint32_t l = 0; l < XS_L; l++) v[l] = (int32_t)lrintf(x[l]); /* nearest even */
    return v;
}
XS_INLINE int xs_any(xs_i32 m)
{
    int32_t a = 0;
    for (uint32_t l = 0; l < XS_L; l++) a |= m[l];
    return a != 0;
}
#endif

/* The vector generator read chunk by chunk. */
struct xs_src {
    struct xs_vrng r;
    union xs_draw u;
    uint32_t used; /* chunks of u taken */
    const int32_t *tab;
    struct lt_sim_rng *tail; /* the rare draws beyond the table, lane by lane in order */
};

/* The next LT_SIM_XS_LANES standard normals, in table units (LT_SIM_NORMAL_TABLE_ONE = 1). */
XS_INLINE xs_i32 xs_z(struct xs_src *src)
{
    if (src->used == 2) {
        src->u.v = xs_next(&src->r);
        src->used = 0;
    }
    const xs_u32 bits = src->u.w[src->used++];
    const xs_u32 idx = bits & (LT_SIM_XS_TABLE_SIZE - 1);
    const xs_i32 f = (xs_i32)((bits >> LT_SIM_XS_TABLE_BITS) & 4095U);
    const xs_i32 g = xs_gather(src->tab, idx);
    const xs_i32 knot = (g << 16) >> 16, width = g >> 16;
    xs_i32 z = knot + ((width * f) >> 12);
    if (__builtin_expect(xs_any(knot == LT_SIM_NORMAL_TAIL), 0))
        for (uint32_t l = 0; l < XS_L; l++)
            if (knot[l] == LT_SIM_NORMAL_TAIL) z[l] = lt_sim_xs_tail(src->tail, idx[l] == 0);
    return z;
}

XS_INLINE xs_f32 xs_zf(struct xs_src *src)
{
    return __builtin_convertvector(xs_z(src), xs_f32) * (1.0f / LT_SIM_NORMAL_TABLE_ONE);
}

#if XS_AVX2
XS_INLINE xs_i32 xs_clamp(xs_i32 v, int32_t hi)
{
    const __m256i lo = _mm256_setzero_si256();
    return (xs_i32)_mm256_min_epi32(_mm256_max_epi32((__m256i)v, lo), _mm256_set1_epi32(hi));
}
#else
XS_INLINE xs_i32 xs_clamp(xs_i32 v, int32_t hi)
{
    const xs_i32 neg = v<0, big = v> hi; /* C has no vector ?:: the comparison masks */
    v &= ~neg;
    return (v & ~big) | (big & hi);
}
#endif

/* Returns the number of column sums clamped to 0 .. 2^d x 16383. */
uint64_t XS_FN(struct lt_sim_cell *s, uint64_t period_no, uint32_t d, uint32_t *sums, size_t stride,
               struct lt_sim_rng *tail);

uint64_t XS_FN(struct lt_sim_cell *s, uint64_t period_no, uint32_t d, uint32_t *sums, size_t stride,
               struct lt_sim_rng *tail)
{
    struct lt_sim_xs *x = s->xs;
    const uint32_t nx = x->nx, n = 1U << d, ncols = LT_SAMPLES_PER_FRAME >> d;
    const uint32_t nfv = (s->geom.n_fembs + XS_L - 1) / XS_L;
    const float q_one = 256.0f; /* 1/256 ADC */
    struct xs_src src = {.used = 2, .tab = lt_sim_xs_table(), .tail = tail};
    xs_seed(&src.r, lt_sim_mix(s->cfg.seed, s->cell, 0x78737663ULL /* "xsvc" */, period_no));

    /* Board-coherent noise: an AR(1) per board, sample by sample as in the full render. */
    if (s->cfg.coherent_noise > 0.0) {
        const float a = (float)s->coh_a, b = (float)s->coh_b;
        xs_f32 st[LT_SIM_XS_FEMBS / XS_L];
        if (!x->coh_started) {
            for (uint32_t v = 0; v < nfv; v++) {
                xs_f32 st0 = xs_zf(&src) * (float)s->cfg.coherent_noise;
                memcpy(&x->coh_st[v * XS_L], &st0, sizeof st0);
            }
            x->coh_started = 1;
        }
        for (uint32_t v = 0; v < nfv; v++) memcpy(&st[v], &x->coh_st[v * XS_L], sizeof st[v]);
        for (uint32_t k = 0; k < LT_SAMPLES_PER_FRAME; k++) {
            for (uint32_t v = 0; v < nfv; v++) {
                st[v] = a * st[v] + b * xs_zf(&src);
                const xs_f32 cq = st[v] * q_one;
                memcpy(&x->coh[k][v * XS_L], &cq, sizeof cq);
            }
        }
        for (uint32_t v = 0; v < nfv; v++) memcpy(&x->coh_st[v * XS_L], &st[v], sizeof st[v]);
        for (uint32_t c = 0; c < ncols; c++)
            for (uint32_t v = 0; v < nfv; v++) {
                xs_f32 acc, t;
                memcpy(&acc, &x->coh[c * n][v * XS_L], sizeof acc);
                for (uint32_t k = c * n + 1; k < (c + 1) * n; k++) {
                    memcpy(&t, &x->coh[k][v * XS_L], sizeof t);
                    acc += t;
                }
                memcpy(&x->coh_col[c][v * XS_L], &acc, sizeof acc);
            }
    }

    /* Low-frequency noise: per wire an AR(1) stepped once per period, linear within it. */
    if (s->cfg.lowfreq_noise > 0.0) {
        const float a = (float)s->lf_a, b = (float)s->lf_b, lf = (float)s->cfg.lowfreq_noise;
        for (uint32_t j0 = 0; j0 < nx; j0 += XS_L) {
            xs_f32 z = xs_zf(&src), prev;
            if (x->lf_started)
                memcpy(&prev, &x->lf_st[j0], sizeof prev);
            else
                prev = lf * z;
            xs_f32 next = a * prev + b * z;
            memcpy(&x->lf_st[j0], &next, sizeof next);
            const xs_i32 l0 = xs_round(prev * q_one), ld = xs_round((next - prev) * q_one);
            memcpy(&x->lf0[j0], &l0, sizeof l0);
            memcpy(&x->lfd[j0], &ld, sizeof ld);
        }
        x->lf_started = 1;
    }

    /* The column sums: pedestal x 2^d + coherent + low-frequency (summed over the column) + one
     * white-noise draw with the summed variance + the column's signal, rounded, clamped. */
    const int32_t max_sum = (int32_t)(n * LT_WIBETH_ADC_MAX);
    xs_i32 nclamp = {0};
    for (uint32_t j0 = 0; j0 < nx; j0 += XS_L) {
        const uint32_t f = j0 / LT_X_PER_FEMB;
        xs_i32 ibase, lf0, lfd;
        xs_f32 sg;
        memcpy(&ibase, &x->ibase[j0], sizeof ibase);
        memcpy(&lf0, &x->lf0[j0], sizeof lf0);
        memcpy(&lfd, &x->lfd[j0], sizeof lfd);
        memcpy(&sg, &x->sgf[j0], sizeof sg);
        const xs_i32 base_lf = ibase + lf0 * (int32_t)n;
        const xs_f32 sgz = sg * (1.0f / LT_SIM_NORMAL_TABLE_ONE); /* per table unit */
        {
            for (uint32_t c = 0; c < ncols; c++) {
                xs_f32 sig;
                memcpy(&sig, &x->sig[(size_t)c * nx + j0], sizeof sig);
                /* |w| < 2^29 (lt_sim_xs_render bounds the signal): no overflow below. */
                const xs_f32 w = __builtin_convertvector(xs_z(&src), xs_f32) * sgz + sig * q_one +
                                 x->coh_col[c][f];
                /* kk = sum of the column's sample indices: the low-frequency line's sum. */
                const int32_t kk = (int32_t)(c * n * n + n * (n - 1) / 2);
                xs_i32 v = base_lf + xs_round(w) + ((lfd * kk) >> 6);
                v = (v + 128) >> 8;
                const xs_i32 vc = xs_clamp(v, max_sum);
                nclamp -= vc != v;
                memcpy(&sums[(size_t)c * stride + j0], &vc, sizeof vc);
            }
        }
    }
    uint64_t clamped = 0;
    for (uint32_t l = 0; l < XS_L; l++) clamped += (uint32_t)nclamp[l];
    return clamped;
}
