// AVX2 kernels for int8 activations (CPUs without AVX-512 VNNI). The integer sums are exact,
// so they equal the portable definition's whatever the order; the float steps that follow
// are the portable kernel's, in its order, so the results are the same bits.
#include "packed_avx2.h"
#include "packed_layout.h"

#ifdef CAST_HAVE_AVX2_KERNEL
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

// Same float operations as quantize_group_portable: max|x| (exact in any order), d and 1/d
// as scalars, x · (1/d) rounded to nearest even (the default rounding mode, as nearbyintf).
AVX2 void cast_avx2_quantize_group(const float *x, int group, uint8_t *q, float *factors) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 amax8 = _mm256_setzero_ps();
    for (int k = 0; k < group; k += 8) amax8 = _mm256_max_ps(amax8, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)));
    __m128 amax4 = _mm_max_ps(_mm256_castps256_ps128(amax8), _mm256_extractf128_ps(amax8, 1));
    amax4 = _mm_max_ps(amax4, _mm_movehl_ps(amax4, amax4));
    amax4 = _mm_max_ss(amax4, _mm_movehdup_ps(amax4));
    const float d = _mm_cvtss_f32(amax4) / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    __m256i sum8 = _mm256_setzero_si256();
    for (int k = 0; k < group; k += 8) {
        const __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k), _mm256_set1_ps(id)));
        sum8 = _mm256_add_epi32(sum8, v);
        // v + 128 is in 1 … 255: two unsigned-saturating packs keep it, in order.
        const __m256i u = _mm256_add_epi32(v, _mm256_set1_epi32(128));
        const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
        _mm_storel_epi64((__m128i *)(q + k), _mm_packus_epi16(words, words));
    }
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, sum8);
    int sum = 0;
    for (int i = 0; i < 8; i++) sum += lanes[i];
    factors[0] = d;
    factors[1] = d * (float)sum;
}

// One panel (16 outputs, as two 8-lane halves) × `rows` ≤ 6 quantized rows, groups of GROUP
// columns (both constants after inlining). Per group: the rows' bytes become signed 16-bit
// xq; per pair of columns k, k+1, the two columns' weights interleave into 16-bit pairs per
// output, and one _mm256_madd_epi16 per row and half adds xq[k]·q[k] + xq[k+1]·q[k+1] into
// 32-bit lanes, exactly (|sum| ≤ 32 · 128 · 128). Then, as the portable kernel:
// acc += Σ·(scale·d), acc −= offset·(d·Σxq).
AVX2 static inline __attribute__((always_inline)) void int8_pass_body(
        const CastPackedMatrix *w, int panel, const uint8_t *xq, int row0, float *y, long ldy, __m256i mask0,
        __m256i mask1, int accumulate, const int rows, const int group, const int packed8) {
    enum { PASS_ROWS = 6 };
    const int groups = w->columns / group;
    const size_t block = cast_int8_group_block_bytes(group);
    __m256 acc[PASS_ROWS][2];
    for (int r = 0; r < rows; r++) {
        acc[r][0] = accumulate ? _mm256_maskload_ps(y + r * ldy, mask0) : _mm256_setzero_ps();
        acc[r][1] = accumulate ? _mm256_maskload_ps(y + r * ldy + 8, mask1) : _mm256_setzero_ps();
    }
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w, panel);
    int8_t unpacked[32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    const int8_t *base = cast_group_base(w, panel, 0);
    for (int g = 0; g < groups; g++, base += step) {
        cast_prefetch_group(w, base, step);
        const int8_t *q = base;
        if (!packed8) { cast_unpack_group_avx2(w, base, unpacked); q = unpacked; }
        const uint8_t *xg = xq + (size_t)g * block + (size_t)row0 * group;
        const float *factors = (const float *)(xq + (size_t)g * block + (size_t)CAST_TILE_ROWS * group) + 2 * row0;
        int16_t xs[PASS_ROWS][32] __attribute__((aligned(32)));
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < group; k += 16) {
                const __m256i wide = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(xg + r * group + k)));
                _mm256_store_si256((__m256i *)&xs[r][k], _mm256_sub_epi16(wide, _mm256_set1_epi16(128)));
            }
        __m256i dot[PASS_ROWS][2];
        for (int r = 0; r < rows; r++) dot[r][0] = dot[r][1] = _mm256_setzero_si256();
        for (int k = 0; k < group; k += 2) {
            const __m128i a = _mm_load_si128((const __m128i *)(q + k * CAST_PANEL_ROWS));
            const __m128i b = _mm_load_si128((const __m128i *)(q + (k + 1) * CAST_PANEL_ROWS));
            const __m256i weights0 = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(a, b));
            const __m256i weights1 = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(a, b));
            for (int r = 0; r < rows; r++) {
                const __m256i pair = _mm256_broadcastd_epi32(_mm_loadu_si32(&xs[r][k]));
                dot[r][0] = _mm256_add_epi32(dot[r][0], _mm256_madd_epi16(pair, weights0));
                dot[r][1] = _mm256_add_epi32(dot[r][1], _mm256_madd_epi16(pair, weights1));
            }
        }
        const float *wf = (const float *)(base + q_bytes);
        for (int h = 0; h < 2; h++) {
            const __m256 scale = _mm256_load_ps(wf + 8 * h), offset = _mm256_load_ps(cast_group_offsets(w, base) + 8 * h);
            for (int r = 0; r < rows; r++) {
                const __m256 exact = _mm256_cvtepi32_ps(dot[r][h]);
                acc[r][h] = _mm256_fmadd_ps(exact, _mm256_mul_ps(scale, _mm256_set1_ps(factors[2 * r])), acc[r][h]);
                acc[r][h] = _mm256_fnmadd_ps(offset, _mm256_set1_ps(factors[2 * r + 1]), acc[r][h]);
            }
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm256_maskstore_ps(y + r * ldy, mask0, acc[r][0]);
        _mm256_maskstore_ps(y + r * ldy + 8, mask1, acc[r][1]);
    }
}

// 8-bit groups get a loop of their own, so the 4/5-bit unpacking's constants leave the
// rows' accumulators their registers (as in the VNNI tile).
#define DEFINE_INT8_PASS(ROWS)                                                                      \
AVX2 static void int8_pass##ROWS(const CastPackedMatrix *w, int panel, const uint8_t *xq, int row0,  \
                                 float *y, long ldy, __m256i mask0, __m256i mask1, int accumulate) { \
    const int packed8 = w->bits == 8;                                                               \
    if (w->group == 32 && packed8) int8_pass_body(w, panel, xq, row0, y, ldy, mask0, mask1, accumulate, ROWS, 32, 1); \
    else if (w->group == 32) int8_pass_body(w, panel, xq, row0, y, ldy, mask0, mask1, accumulate, ROWS, 32, 0); \
    else if (packed8) int8_pass_body(w, panel, xq, row0, y, ldy, mask0, mask1, accumulate, ROWS, 16, 1); \
    else int8_pass_body(w, panel, xq, row0, y, ldy, mask0, mask1, accumulate, ROWS, 16, 0);         \
}
DEFINE_INT8_PASS(1) DEFINE_INT8_PASS(2) DEFINE_INT8_PASS(3)
DEFINE_INT8_PASS(4) DEFINE_INT8_PASS(5) DEFINE_INT8_PASS(6)

typedef void (*Int8Pass)(const CastPackedMatrix *, int, const uint8_t *, int, float *, long, __m256i, __m256i, int);
static const Int8Pass int8_passes[] = {0, int8_pass1, int8_pass2, int8_pass3, int8_pass4, int8_pass5, int8_pass6};

// One quantized row × a quad of 4 whole panels (decode), the quad's groups in address order,
// each panel's steps those of a one-row pass, in its order (same bits; see packed_int8.c).
AVX2 static inline __attribute__((always_inline)) void int8_row_panels_body(
        const CastPackedMatrix *w, int panel, const uint8_t *xq, float *y, int accumulate, const int group,
        const int packed8) {
    enum { P = CAST_QUAD_PANELS };
    const int groups = w->columns / group;
    const size_t block = cast_int8_group_block_bytes(group);
    __m256 acc[P][2];
    for (int p = 0; p < P; p++) {
        acc[p][0] = accumulate ? _mm256_loadu_ps(y + 16 * p) : _mm256_setzero_ps();
        acc[p][1] = accumulate ? _mm256_loadu_ps(y + 16 * p + 8) : _mm256_setzero_ps();
    }
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w, panel);
    const size_t group_bytes = cast_packed_group_bytes(group, w->bits, w->offsets);
    int8_t unpacked[32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    const int8_t *row = cast_group_base(w, panel, 0);
    for (int g = 0; g < groups; g++, row += step) {
        const uint8_t *xg = xq + (size_t)g * block;
        const float *factors = (const float *)(xq + (size_t)g * block + (size_t)CAST_TILE_ROWS * group);
        int16_t xs[32] __attribute__((aligned(32)));
        for (int k = 0; k < group; k += 16) {
            const __m256i wide = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(xg + k)));
            _mm256_store_si256((__m256i *)&xs[k], _mm256_sub_epi16(wide, _mm256_set1_epi16(128)));
        }
        for (int p = 0; p < P; p++) {
            const int8_t *base = row + p * group_bytes, *q = base;
            if (!packed8) { cast_unpack_group_avx2(w, base, unpacked); q = unpacked; }
            __m256i dot0 = _mm256_setzero_si256(), dot1 = _mm256_setzero_si256();
            for (int k = 0; k < group; k += 2) {
                const __m128i a = _mm_load_si128((const __m128i *)(q + k * CAST_PANEL_ROWS));
                const __m128i b = _mm_load_si128((const __m128i *)(q + (k + 1) * CAST_PANEL_ROWS));
                const __m256i pair = _mm256_broadcastd_epi32(_mm_loadu_si32(&xs[k]));
                dot0 = _mm256_add_epi32(dot0, _mm256_madd_epi16(pair, _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(a, b))));
                dot1 = _mm256_add_epi32(dot1, _mm256_madd_epi16(pair, _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(a, b))));
            }
            const float *wf = (const float *)(base + q_bytes);
            const __m256i dot[2] = {dot0, dot1};
            for (int h = 0; h < 2; h++) {
                const __m256 scale = _mm256_load_ps(wf + 8 * h), offset = _mm256_load_ps(cast_group_offsets(w, base) + 8 * h);
                const __m256 exact = _mm256_cvtepi32_ps(dot[h]);
                acc[p][h] = _mm256_fmadd_ps(exact, _mm256_mul_ps(scale, _mm256_set1_ps(factors[0])), acc[p][h]);
                acc[p][h] = _mm256_fnmadd_ps(offset, _mm256_set1_ps(factors[1]), acc[p][h]);
            }
        }
    }
    for (int p = 0; p < P; p++) {
        _mm256_storeu_ps(y + 16 * p, acc[p][0]);
        _mm256_storeu_ps(y + 16 * p + 8, acc[p][1]);
    }
}

AVX2 void cast_avx2_int8_row_panels(const CastPackedMatrix *w, int panel, const uint8_t *xq, float *y, int accumulate) {
    const int packed8 = w->bits == 8;
    if (w->group == 32 && packed8) int8_row_panels_body(w, panel, xq, y, accumulate, 32, 1);
    else if (w->group == 32) int8_row_panels_body(w, panel, xq, y, accumulate, 32, 0);
    else if (packed8) int8_row_panels_body(w, panel, xq, y, accumulate, 16, 1);
    else int8_row_panels_body(w, panel, xq, y, accumulate, 16, 0);
}

/// A mask of the first `lanes` of 8 floats (none for lanes ≤ 0, all for ≥ 8).
AVX2 static __m256i lane_mask(int lanes) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// A tile of up to 12 rows is two passes of up to 6 over the panel.
AVX2 void cast_avx2_int8_tile(const CastPackedMatrix *w, int panel, const uint8_t *xq, int rows,
                              float *y, long ldy, int lanes, int accumulate) {
    const __m256i mask0 = lane_mask(lanes), mask1 = lane_mask(lanes - 8);
    CastPackedMatrix unpacked;
    int8_t *scratch;
    if (w->bits != 8 && rows > 6 && (scratch = cast_panel_scratch(cast_packed_panel_bytes(w->columns, w->group, 8, w->offsets)))) {
        unpacked = cast_unpack_panel_avx2(w, panel, scratch);  // once for both passes
        w = &unpacked;
        panel = 0;
    }
    for (int r0 = 0; r0 < rows; r0 += 6) {
        const int count = rows - r0 < 6 ? rows - r0 : 6;
        int8_passes[count](w, panel, xq, r0, y + r0 * ldy, ldy, mask0, mask1, accumulate);
    }
}
#endif
