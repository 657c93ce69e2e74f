// AVX2 + FMA float32 kernels for packed weights (CPUs without AVX-512, e.g. AMD Zen 3).
// Same operations in the same order as the portable definition in packed_matrix.c, so the
// results are the same bits: per column, dequantize with one fused multiply-subtract, then
// one FMA per row, each output summed over k in order.
#include "packed_avx2.h"
#include "packed_layout.h"

#ifdef CAST_HAVE_AVX2_KERNEL
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

static const int8_t *group_base(const CastPackedMatrix *w, int panel, int g) { return cast_group_base(w, panel, g); }

/// A mask of the first `lanes` of 8 floats (none for lanes ≤ 0, all for ≥ 8), for
/// maskload/maskstore.
AVX2 static __m256i lane_mask(int lanes) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// One panel (16 outputs, as two 8-lane halves) × `rows` ≤ 6 rows of x over all of k (`rows`,
// `packed8` constants after inlining): 2·rows accumulators, the two halves' weights and x fit
// the 16 vector registers (scale and offset are read from L1). A 12-row tile is two 6-row
// passes over the panel.
AVX2 static inline __attribute__((always_inline)) void tile_body(
        const CastPackedMatrix *w, int panel, const float *x, long ldx, float *y, long ldy, __m256i mask0,
        __m256i mask1, int accumulate, const int rows, const int packed8) {
    enum { PASS_ROWS = 6 };
    const int group = w->group, groups = w->columns / group;
    __m256 acc0[PASS_ROWS], acc1[PASS_ROWS];
    for (int r = 0; r < rows; r++) {
        acc0[r] = accumulate ? _mm256_maskload_ps(y + r * ldy, mask0) : _mm256_setzero_ps();
        acc1[r] = accumulate ? _mm256_maskload_ps(y + r * ldy + 8, mask1) : _mm256_setzero_ps();
    }
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w);
    int8_t unpacked[32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    const int8_t *base = group_base(w, panel, 0);
    for (int g = 0; g < groups; g++, base += step) {
        const int8_t *q = base;
        if (!packed8) { cast_unpack_group_avx2(w, base, unpacked); q = unpacked; }
        const float *factors = (const float *)(base + q_bytes), *offsets = cast_group_offsets(w, base);
        const float *xg = x + g * group;
        for (int k = 0; k < group; k++) {
            __m128i bytes = _mm_load_si128((const __m128i *)(q + k * CAST_PANEL_ROWS));
            __m256 weight0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
            __m256 weight1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(bytes, bytes)));
            weight0 = _mm256_fmsub_ps(weight0, _mm256_load_ps(factors), _mm256_load_ps(offsets));
            weight1 = _mm256_fmsub_ps(weight1, _mm256_load_ps(factors + 8), _mm256_load_ps(offsets + 8));
            for (int r = 0; r < rows; r++) {
                const __m256 xr = _mm256_broadcast_ss(xg + r * ldx + k);
                acc0[r] = _mm256_fmadd_ps(xr, weight0, acc0[r]);
                acc1[r] = _mm256_fmadd_ps(xr, weight1, acc1[r]);
            }
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm256_maskstore_ps(y + r * ldy, mask0, acc0[r]);
        _mm256_maskstore_ps(y + r * ldy + 8, mask1, acc1[r]);
    }
}

// 8-bit groups get a loop of their own, so with only 16 vector registers the 4/5-bit
// unpacking's constants can never push the rows' accumulators out to the stack (measured the
// same on Zen 5 either way).
#define DEFINE_TILE(ROWS)                                                                          \
AVX2 static void tile##ROWS(const CastPackedMatrix *w, int panel, const float *x, long ldx,        \
                            float *y, long ldy, __m256i mask0, __m256i mask1, int accumulate) {     \
    if (w->bits == 8) tile_body(w, panel, x, ldx, y, ldy, mask0, mask1, accumulate, ROWS, 1);      \
    else tile_body(w, panel, x, ldx, y, ldy, mask0, mask1, accumulate, ROWS, 0);                   \
}
DEFINE_TILE(1) DEFINE_TILE(2) DEFINE_TILE(3) DEFINE_TILE(4) DEFINE_TILE(5) DEFINE_TILE(6)

enum { PASS_ROWS = 6 };
typedef void (*TileKernel)(const CastPackedMatrix *, int, const float *, long, float *, long, __m256i, __m256i, int);
static const TileKernel tiles[PASS_ROWS + 1] = {0, tile1, tile2, tile3, tile4, tile5, tile6};

AVX2 void cast_avx2_tile(const CastPackedMatrix *w, int panel, const float *x, long ldx, int rows,
                         float *y, long ldy, int lanes, int accumulate) {
    const __m256i mask0 = lane_mask(lanes), mask1 = lane_mask(lanes - 8);
    CastPackedMatrix unpacked;
    int8_t *scratch;
    if (w->bits != 8 && rows > PASS_ROWS
        && (scratch = cast_panel_scratch(cast_packed_panel_bytes(w->columns, w->group, 8, w->offsets)))) {
        unpacked = cast_unpack_panel_avx2(w, panel, scratch);  // once for all the passes
        w = &unpacked;
        panel = 0;
    }
    for (int r0 = 0; r0 < rows; r0 += PASS_ROWS) {
        const int count = rows - r0 < PASS_ROWS ? rows - r0 : PASS_ROWS;
        tiles[count](w, panel, x + r0 * ldx, ldx, y + r0 * ldy, ldy, mask0, mask1, accumulate);
    }
}

// One row × 4 whole panels: 8 independent chains of FMAs (two 8-lane halves per panel)
// instead of 2, each output's operations those of tile1, in its order.
AVX2 static inline __attribute__((always_inline)) void row_panels_body(
        const CastPackedMatrix *w, int panel, const float *x, float *y, int accumulate, const int packed8) {
    enum { P = CAST_AVX2_ROW_PANELS };
    const int group = w->group, groups = w->columns / group;
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w);
    const size_t panel_bytes = cast_packed_panel_bytes(w->columns, group, w->bits, w->offsets);
    int8_t unpacked[P][32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    __m256 acc0[P], acc1[P];
    for (int p = 0; p < P; p++) {
        acc0[p] = accumulate ? _mm256_loadu_ps(y + 16 * p) : _mm256_setzero_ps();
        acc1[p] = accumulate ? _mm256_loadu_ps(y + 16 * p + 8) : _mm256_setzero_ps();
    }
    const int8_t *base = group_base(w, panel, 0);
    for (int g = 0; g < groups; g++, base += step) {
        const int8_t *q[P];
        const float *factors[P], *offsets[P];
        for (int p = 0; p < P; p++) {
            const int8_t *b = base + p * panel_bytes;
            q[p] = b;
            if (!packed8) { cast_unpack_group_avx2(w, b, unpacked[p]); q[p] = unpacked[p]; }
            factors[p] = (const float *)(b + q_bytes);
            offsets[p] = cast_group_offsets(w, b);
        }
        const float *xg = x + g * group;
        for (int k = 0; k < group; k++) {
            const __m256 xk = _mm256_broadcast_ss(xg + k);
            for (int p = 0; p < P; p++) {
                __m128i bytes = _mm_load_si128((const __m128i *)(q[p] + k * CAST_PANEL_ROWS));
                __m256 weight0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
                __m256 weight1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(bytes, bytes)));
                weight0 = _mm256_fmsub_ps(weight0, _mm256_load_ps(factors[p]), _mm256_load_ps(offsets[p]));
                weight1 = _mm256_fmsub_ps(weight1, _mm256_load_ps(factors[p] + 8), _mm256_load_ps(offsets[p] + 8));
                acc0[p] = _mm256_fmadd_ps(xk, weight0, acc0[p]);
                acc1[p] = _mm256_fmadd_ps(xk, weight1, acc1[p]);
            }
        }
    }
    for (int p = 0; p < P; p++) {
        _mm256_storeu_ps(y + 16 * p, acc0[p]);
        _mm256_storeu_ps(y + 16 * p + 8, acc1[p]);
    }
}

// 8-bit groups get a loop of their own, as in the tiles.
AVX2 void cast_avx2_row_panels(const CastPackedMatrix *w, int panel, const float *x, float *y, int accumulate) {
    if (w->bits == 8) row_panels_body(w, panel, x, y, accumulate, 1);
    else row_panels_body(w, panel, x, y, accumulate, 0);
}

/// Transposes 8 × 8 floats in place: v[c] holds column c of 8 rows, afterwards v[r] row r.
AVX2 static void transpose8(__m256 v[8]) {
    __m256 t[8], s[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        s[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
        v[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
    }
}

// Per block of 8 columns × 8 rows: the same fused multiply-subtract as everywhere, one
// vector per column, then a transpose so each row is stored contiguously (AVX2 has no scatter).
AVX2 void cast_avx2_dequantize_panel(const CastPackedMatrix *w, int panel, float *out) {
    const int group = w->group, groups = w->columns / group;
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w);
    int8_t unpacked[32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    const int8_t *base = group_base(w, panel, 0);
    for (int g = 0; g < groups; g++, base += step) {
        const int8_t *q = base;
        if (w->bits != 8) { cast_unpack_group_avx2(w, base, unpacked); q = unpacked; }
        for (int half = 0; half < 2; half++) {
            const float *factors = (const float *)(base + q_bytes) + 8 * half;
            const __m256 scale = _mm256_load_ps(factors), offset = _mm256_load_ps(cast_group_offsets(w, base) + 8 * half);
            for (int k0 = 0; k0 < group; k0 += 8) {
                __m256 v[8];
                for (int c = 0; c < 8; c++) {
                    __m128i bytes = _mm_loadl_epi64((const __m128i *)(q + (k0 + c) * CAST_PANEL_ROWS + 8 * half));
                    v[c] = _mm256_fmsub_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)), scale, offset);
                }
                transpose8(v);
                for (int r = 0; r < 8; r++)
                    _mm256_storeu_ps(out + (size_t)(8 * half + r) * w->columns + g * group + k0, v[r]);
            }
        }
    }
}
#endif
