#include "packed_matrix.h"
#include "packed_avx2.h"
#include "packed_layout.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

// Layout of quantized rows: tile t (rows 12t …) holds, group by group, a block of
// TILE_ROWS × group bytes (row r's xq + 128 at r · group) followed by TILE_ROWS pairs of
// floats (d, d · Σ xq). Short last tiles keep the full stride.
enum { TILE_ROWS = CAST_TILE_ROWS };

static size_t group_block_bytes(int group) { return cast_int8_group_block_bytes(group); }

size_t cast_int8_rows_bytes(int m, int columns, int group) {
    const int tiles = (m + TILE_ROWS - 1) / TILE_ROWS;
    return (size_t)tiles * (size_t)(columns / group) * group_block_bytes(group);
}

static const int8_t *weight_group(const CastPackedMatrix *w, int panel, int g) { return cast_group_base(w, panel, g); }

// One row's group: d = max|x| / 127, xq = round-to-even(x · (1/d)). The vector version
// below performs the same float operations, so both give the same bytes.
static void quantize_group_portable(const float *x, int group, uint8_t *q, float *factors) {
    float amax = 0;
    for (int k = 0; k < group; k++) amax = fmaxf(amax, fabsf(x[k]));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int k = 0; k < group; k++) {
        int v = (int)nearbyintf(x[k] * id);
        q[k] = (uint8_t)(v + 128);
        sum += v;
    }
    factors[0] = d;
    factors[1] = d * (float)sum;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define CAST_HAVE_VNNI_KERNEL 1
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,fma")))

VNNI static void quantize_group_vector(const float *x, int group, uint8_t *q, float *factors) {
    // group is 16 or 32: one or two vectors.
    __m512 a = _mm512_loadu_ps(x), b = group == 32 ? _mm512_loadu_ps(x + 16) : _mm512_setzero_ps();
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    const __m512 scale = _mm512_set1_ps(id);
    __m512i va = _mm512_cvt_roundps_epi32(_mm512_mul_ps(a, scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    int sum = _mm512_reduce_add_epi32(va);
    _mm_storeu_si128((__m128i *)q, _mm512_cvtepi32_epi8(_mm512_add_epi32(va, _mm512_set1_epi32(128))));
    if (group == 32) {
        __m512i vb = _mm512_cvt_roundps_epi32(_mm512_mul_ps(b, scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        sum += _mm512_reduce_add_epi32(vb);
        _mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtepi32_epi8(_mm512_add_epi32(vb, _mm512_set1_epi32(128))));
    }
    factors[0] = d;
    factors[1] = d * (float)sum;
}

// Four columns of a panel (64 bytes, column-major) permuted so that each 32-bit lane holds
// one output's four weights, as vpdpbusd reads them.
static const uint8_t vnni_lane_order[64] __attribute__((aligned(64))) = {
    0, 16, 32, 48, 1, 17, 33, 49, 2, 18, 34, 50, 3, 19, 35, 51, 4, 20, 36, 52, 5, 21, 37, 53,
    6, 22, 38, 54, 7, 23, 39, 55, 8, 24, 40, 56, 9, 25, 41, 57, 10, 26, 42, 58, 11, 27, 43, 59,
    12, 28, 44, 60, 13, 29, 45, 61, 14, 30, 46, 62, 15, 31, 47, 63};

// One panel × `rows` quantized rows, `quads` = group / 4 (both constants after inlining).
// Per group: the panel's int8 weights, four columns at a time, are permuted so each 32-bit
// lane holds one output's four weights (vpermb); their sums Σq come from a dot product with
// ones; each row gets one VNNI dot product of its xq + 128 (four bytes broadcast) per four
// columns, in `rows` independent chains; then dot − 128 · Σq is exact and is scaled into
// the float accumulators.
VNNI static inline __attribute__((always_inline)) void int8_tile_body(
        const CastPackedMatrix *w, int panel, const uint8_t *xq, float *y, long ldy, __mmask16 mask,
        int accumulate, const int rows, const int quads, const int packed8) {
    const int group = quads * 4, groups = w->columns / group;
    const size_t block = group_block_bytes(group);
    const __m512i permute = _mm512_loadu_si512(vnni_lane_order), ones = _mm512_set1_epi8(1);
    __m512 acc[TILE_ROWS];
    for (int r = 0; r < rows; r++)
        acc[r] = accumulate ? _mm512_maskz_loadu_ps(mask, y + r * ldy) : _mm512_setzero_ps();
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w, panel);
    int8_t unpacked[32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    const int8_t *base = weight_group(w, panel, 0);
    for (int g = 0; g < groups; g++, base += step) {
        cast_prefetch_group(w, base, step);
        const int8_t *q = base;
        if (!packed8) { cast_unpack_group_avx512(w, base, unpacked); q = unpacked; }
        const uint8_t *xg = xq + (size_t)g * block;
        const float *factors = (const float *)(xg + (size_t)TILE_ROWS * group);
        __m512i dot[TILE_ROWS], qsum = _mm512_setzero_si512();
        for (int r = 0; r < rows; r++) dot[r] = _mm512_setzero_si512();
        for (int j = 0; j < quads; j++) {
            const __m512i weights = _mm512_permutexvar_epi8(permute, _mm512_load_si512(q + 64 * j));
            qsum = _mm512_dpbusd_epi32(qsum, ones, weights);
            for (int r = 0; r < rows; r++)
                dot[r] = _mm512_dpbusd_epi32(dot[r], _mm512_set1_epi32(*(const int32_t *)(xg + r * group + 4 * j)), weights);
        }
        const __m512i correction = _mm512_slli_epi32(qsum, 7);
        const __m512 scale = _mm512_load_ps((const float *)(base + q_bytes));
        const __m512 offset = _mm512_load_ps(cast_group_offsets(w, base));
        for (int r = 0; r < rows; r++) {
            const __m512 exact = _mm512_cvtepi32_ps(_mm512_sub_epi32(dot[r], correction));
            acc[r] = _mm512_fmadd_ps(exact, _mm512_mul_ps(scale, _mm512_set1_ps(factors[2 * r])), acc[r]);
            acc[r] = _mm512_fnmadd_ps(offset, _mm512_set1_ps(factors[2 * r + 1]), acc[r]);
        }
    }
    for (int r = 0; r < rows; r++) _mm512_mask_storeu_ps(y + r * ldy, mask, acc[r]);
}

#define DEFINE_INT8_TILE(ROWS)                                                                      \
VNNI static void int8_tile##ROWS(const CastPackedMatrix *w, int panel, const uint8_t *xq,           \
                                 float *y, long ldy, __mmask16 mask, int accumulate) {               \
    /* 8-bit groups get a loop of their own: the unpacking's constants would otherwise take  \
       vector registers from the 12 rows' accumulators and spill them (int8 prefill −40 %). */ \
    const int packed8 = w->bits == 8;                                                               \
    if (w->group == 32 && packed8) int8_tile_body(w, panel, xq, y, ldy, mask, accumulate, ROWS, 8, 1); \
    else if (w->group == 32) int8_tile_body(w, panel, xq, y, ldy, mask, accumulate, ROWS, 8, 0);    \
    else if (packed8) int8_tile_body(w, panel, xq, y, ldy, mask, accumulate, ROWS, 4, 1);           \
    else int8_tile_body(w, panel, xq, y, ldy, mask, accumulate, ROWS, 4, 0);                        \
}
DEFINE_INT8_TILE(1) DEFINE_INT8_TILE(2) DEFINE_INT8_TILE(3) DEFINE_INT8_TILE(4)
DEFINE_INT8_TILE(5) DEFINE_INT8_TILE(6) DEFINE_INT8_TILE(7) DEFINE_INT8_TILE(8)
DEFINE_INT8_TILE(9) DEFINE_INT8_TILE(10) DEFINE_INT8_TILE(11) DEFINE_INT8_TILE(12)

typedef void (*Int8Tile)(const CastPackedMatrix *, int, const uint8_t *, float *, long, __mmask16, int);
static const Int8Tile int8_tiles[TILE_ROWS + 1] = {
    0, int8_tile1, int8_tile2, int8_tile3, int8_tile4, int8_tile5, int8_tile6, int8_tile7,
    int8_tile8, int8_tile9, int8_tile10, int8_tile11, int8_tile12,
};
// One quantized row × a quad of 4 whole panels (decode): the quad's groups read in address
// order, group row by group row, panel by panel (each panel's own steps, in the tile's order,
// so the same bits). One panel at a time reads a panel of an interleaved quad as a strided
// stream, which the prefetchers leave behind: int8 decode ran at half speed that way.
VNNI static inline __attribute__((always_inline)) void int8_row_panels_body(
        const CastPackedMatrix *w, int panel, const uint8_t *xq, float *y, int accumulate, const int quads,
        const int packed8) {
    enum { P = CAST_QUAD_PANELS };
    const int group = quads * 4, groups = w->columns / group;
    const size_t block = group_block_bytes(group);
    const __m512i permute = _mm512_loadu_si512(vnni_lane_order), ones = _mm512_set1_epi8(1);
    __m512 acc[P];
    for (int p = 0; p < P; p++) acc[p] = accumulate ? _mm512_loadu_ps(y + 16 * p) : _mm512_setzero_ps();
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w, panel);
    const size_t group_bytes = cast_packed_group_bytes(group, w->bits, w->offsets);
    int8_t unpacked[32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    const int8_t *row = weight_group(w, panel, 0);
    for (int g = 0; g < groups; g++, row += step) {
        const uint8_t *xg = xq + (size_t)g * block;
        const float *factors = (const float *)(xg + (size_t)TILE_ROWS * group);
        for (int p = 0; p < P; p++) {
            const int8_t *base = row + p * group_bytes, *q = base;
            if (!packed8) { cast_unpack_group_avx512(w, base, unpacked); q = unpacked; }
            __m512i dot = _mm512_setzero_si512(), qsum = _mm512_setzero_si512();
            for (int j = 0; j < quads; j++) {
                const __m512i weights = _mm512_permutexvar_epi8(permute, _mm512_load_si512(q + 64 * j));
                qsum = _mm512_dpbusd_epi32(qsum, ones, weights);
                dot = _mm512_dpbusd_epi32(dot, _mm512_set1_epi32(*(const int32_t *)(xg + 4 * j)), weights);
            }
            const __m512i correction = _mm512_slli_epi32(qsum, 7);
            const __m512 scale = _mm512_load_ps((const float *)(base + q_bytes));
            const __m512 offset = _mm512_load_ps(cast_group_offsets(w, base));
            const __m512 exact = _mm512_cvtepi32_ps(_mm512_sub_epi32(dot, correction));
            acc[p] = _mm512_fmadd_ps(exact, _mm512_mul_ps(scale, _mm512_set1_ps(factors[0])), acc[p]);
            acc[p] = _mm512_fnmadd_ps(offset, _mm512_set1_ps(factors[1]), acc[p]);
        }
    }
    for (int p = 0; p < P; p++) _mm512_storeu_ps(y + 16 * p, acc[p]);
}

VNNI static void int8_row_panels(const CastPackedMatrix *w, int panel, const uint8_t *xq, float *y, int accumulate) {
    const int packed8 = w->bits == 8;
    if (w->group == 32 && packed8) int8_row_panels_body(w, panel, xq, y, accumulate, 8, 1);
    else if (w->group == 32) int8_row_panels_body(w, panel, xq, y, accumulate, 8, 0);
    else if (packed8) int8_row_panels_body(w, panel, xq, y, accumulate, 4, 1);
    else int8_row_panels_body(w, panel, xq, y, accumulate, 4, 0);
}
#endif


int cast_packed_uses_vnni(void) { return cast_kernel_int8_path(cast_kernel_selected()) == CAST_KERNEL_AVX512VNNI; }

void cast_int8_quantize_rows(const float *x, long ldx, int m, int columns, int group, void *out) {
    cast_int8_quantize_rows_using(cast_kernel_selected(), x, ldx, m, columns, group, out);
}

void cast_int8_quantize_rows_using(CastKernel kernel, const float *x, long ldx, int m, int columns, int group,
                                   void *out) {
    const int groups = columns / group;
    const CastKernel path = cast_kernel_int8_path(cast_kernel_capped(kernel));
    const size_t block = group_block_bytes(group);
    uint8_t *base = out;
    for (int r = 0; r < m; r++) {
        uint8_t *tile = base + (size_t)(r / TILE_ROWS) * groups * block;
        const int row = r % TILE_ROWS;
        for (int g = 0; g < groups; g++) {
            uint8_t *q = tile + (size_t)g * block + (size_t)row * group;
            float *factors = (float *)(tile + (size_t)g * block + (size_t)TILE_ROWS * group) + 2 * row;
            const float *xg = x + (long)r * ldx + (long)g * group;
#ifdef CAST_HAVE_VNNI_KERNEL
            if (path == CAST_KERNEL_AVX512VNNI) { quantize_group_vector(xg, group, q, factors); continue; }
#endif
#ifdef CAST_HAVE_AVX2_KERNEL
            if (path == CAST_KERNEL_AVX2) { cast_avx2_quantize_group(xg, group, q, factors); continue; }
#endif
            quantize_group_portable(xg, group, q, factors);
        }
    }
}

// Same integer sums and the same float operations, in the same order, as the vector tile.
static void int8_tile_portable(const CastPackedMatrix *w, int panel, const uint8_t *xq, int rows,
                               float *y, long ldy, int lanes, int accumulate) {
    const int group = w->group, groups = w->columns / group;
    const size_t block = group_block_bytes(group);
    for (int r = 0; r < rows; r++) {
        for (int lane = 0; lane < lanes; lane++) {
            float acc = accumulate ? y[r * ldy + lane] : 0.0f;
            for (int g = 0; g < groups; g++) {
                const int8_t *q = weight_group(w, panel, g);
                const uint8_t *xg = xq + (size_t)g * block;
                const float *factors = (const float *)(xg + (size_t)TILE_ROWS * group);
                const float *scale = cast_group_factors(w, q), *offset = cast_group_offsets(w, q);
                int32_t dot = 0, qsum = 0;
                for (int k = 0; k < group; k++) {
                    const int32_t weight = cast_group_q(w, q, k, lane);
                    dot += (int32_t)xg[r * group + k] * weight;
                    qsum += weight;
                }
                acc = fmaf((float)(dot - 128 * qsum), scale[lane] * factors[2 * r], acc);
                acc = fmaf(-offset[lane], factors[2 * r + 1], acc);
            }
            y[r * ldy + lane] = acc;
        }
    }
}

// CAST_ROW_PANELS=0: one-row products panel by panel, as in packed_matrix.c (A/B timings).
static int cast_int8_row_panels_enabled(void) {
    static int cached = -1;
    if (cached < 0) { const char *v = getenv("CAST_ROW_PANELS"); cached = !(v && v[0] == '0'); }
    return cached;
}

// One quantized row over panels [panel_begin, panel_end) on a vector path: each whole quad
// at once (its groups in address order), the other panels one at a time.
static void int8_row_product(CastKernel path, const CastPackedMatrix *w, const void *xq, float *y,
                             int panel_begin, int panel_end, int accumulate) {
    const int whole = w->rows / CAST_PANEL_ROWS;
    for (int p = panel_begin; p < panel_end;) {
        float *yp = y + (long)p * CAST_PANEL_ROWS;
        if (p % CAST_QUAD_PANELS == 0 && p + CAST_QUAD_PANELS <= panel_end && p + CAST_QUAD_PANELS <= whole) {
#ifdef CAST_HAVE_VNNI_KERNEL
            if (path == CAST_KERNEL_AVX512VNNI) int8_row_panels(w, p, xq, yp, accumulate);
#endif
#ifdef CAST_HAVE_AVX2_KERNEL
            if (path == CAST_KERNEL_AVX2) cast_avx2_int8_row_panels(w, p, xq, yp, accumulate);
#endif
            p += CAST_QUAD_PANELS;
            continue;
        }
        int lanes = w->rows - p * CAST_PANEL_ROWS;
        if (lanes > CAST_PANEL_ROWS) lanes = CAST_PANEL_ROWS;
#ifdef CAST_HAVE_VNNI_KERNEL
        if (path == CAST_KERNEL_AVX512VNNI) int8_tiles[1](w, p, xq, yp, 0, (__mmask16)((1u << lanes) - 1), accumulate);
#endif
#ifdef CAST_HAVE_AVX2_KERNEL
        if (path == CAST_KERNEL_AVX2) cast_avx2_int8_tile(w, p, xq, 1, yp, 0, lanes, accumulate);
#endif
        p++;
    }
}

void cast_packed_matmul_int8(const CastPackedMatrix *w, const void *xq, int m,
                             float *y, long ldy, int panel_begin, int panel_end, int accumulate) {
    cast_packed_matmul_int8_using(cast_kernel_selected(), w, xq, m, y, ldy, panel_begin, panel_end, accumulate);
}

void cast_packed_matmul_int8_using(CastKernel kernel, const CastPackedMatrix *w, const void *xq, int m,
                                   float *y, long ldy, int panel_begin, int panel_end, int accumulate) {
    const CastKernel path = cast_kernel_int8_path(cast_kernel_capped(kernel));
    const size_t tile_bytes = (size_t)(w->columns / w->group) * group_block_bytes(w->group);
    if (m == 1 && path != CAST_KERNEL_PORTABLE && cast_int8_row_panels_enabled()) {
        int8_row_product(path, w, xq, y, panel_begin, panel_end, accumulate);
        return;
    }
    const int block = cast_panel_block(w);
    for (int p0 = panel_begin; p0 < panel_end; p0 += block) {
        const int p1 = p0 + block < panel_end ? p0 + block : panel_end;
        for (int r0 = 0; r0 < m; r0 += TILE_ROWS) {
            const int rows = m - r0 < TILE_ROWS ? m - r0 : TILE_ROWS;
            const uint8_t *tile = (const uint8_t *)xq + (size_t)(r0 / TILE_ROWS) * tile_bytes;
            for (int p = p0; p < p1; p++) {
                int lanes = w->rows - p * CAST_PANEL_ROWS;
                if (lanes > CAST_PANEL_ROWS) lanes = CAST_PANEL_ROWS;
                float *yr = y + (long)r0 * ldy + (long)p * CAST_PANEL_ROWS;
#ifdef CAST_HAVE_VNNI_KERNEL
                if (path == CAST_KERNEL_AVX512VNNI) {
                    int8_tiles[rows](w, p, tile, yr, ldy, (__mmask16)((1u << lanes) - 1), accumulate);
                    continue;
                }
#endif
#ifdef CAST_HAVE_AVX2_KERNEL
                if (path == CAST_KERNEL_AVX2) {
                    cast_avx2_int8_tile(w, p, tile, rows, yr, ldy, lanes, accumulate);
                    continue;
                }
#endif
                int8_tile_portable(w, p, tile, rows, yr, ldy, lanes, accumulate);
            }
        }
    }
}
