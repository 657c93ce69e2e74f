#ifndef CAST_PACKED_AVX2_H
#define CAST_PACKED_AVX2_H
// The AVX2 + FMA kernels (packed_avx2.c, packed_int8_avx2.c), called by the dispatchers in
// packed_matrix.c and packed_int8.c only where the CPU has AVX2 and FMA. Private to CKernels.
#include "packed_matrix.h"

/// The int8 rows' layout (packed_int8.c): per tile of CAST_TILE_ROWS rows and group, the
/// rows' xq + 128 as bytes, then per row the floats d and d · Σ xq.
static inline size_t cast_int8_group_block_bytes(int group) {
    return (size_t)CAST_TILE_ROWS * group + (size_t)CAST_TILE_ROWS * 2 * sizeof(float);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CAST_HAVE_AVX2_KERNEL 1

/// y[r, 0 ..< lanes] (+)= Σ_k x[r, k] · W[16·panel + lane, k] for r < rows ≤ CAST_TILE_ROWS.
void cast_avx2_tile(const CastPackedMatrix *w, int panel, const float *x, long ldx, int rows,
                    float *y, long ldy, int lanes, int accumulate);

/// Several rows (prefill), as cast_packed_matmul on panels [panel_begin, panel_end), the same
/// bits: each group is dequantized once per block of up to CAST_AVX2_BLOCK_ROWS rows.
enum { CAST_AVX2_BLOCK_ROWS = 24 };
void cast_avx2_matmul_rows(const CastPackedMatrix *w, const float *x, long ldx, int m, float *y, long ldy,
                           int panel_begin, int panel_end, int accumulate);

/// One row of x × the quad of CAST_AVX2_ROW_PANELS whole panels from `panel` on (a multiple
/// of 4): y[0 ..< 16·panels] (+)= as cast_avx2_tile, the panels' FMA chains independent (decode).
enum { CAST_AVX2_ROW_PANELS = CAST_QUAD_PANELS };
void cast_avx2_row_panels(const CastPackedMatrix *w, int panel, const float *x, float *y, int accumulate);

/// The 16 rows of `panel` as floats, row n at out + (n − 16·panel) · columns.
void cast_avx2_dequantize_panel(const CastPackedMatrix *w, int panel, float *out);

/// One row's group of x rounded to 8 bits (as quantize_group_portable in packed_int8.c).
void cast_avx2_quantize_group(const float *x, int group, uint8_t *q, float *factors);

/// As cast_avx2_row_panels, on one quantized row (decode's int8 products).
void cast_avx2_int8_row_panels(const CastPackedMatrix *w, int panel, const uint8_t *xq, float *y, int accumulate);

/// As cast_avx2_tile, on a tile of quantized rows (`xq` at the tile's first group).
void cast_avx2_int8_tile(const CastPackedMatrix *w, int panel, const uint8_t *xq, int rows,
                         float *y, long ldy, int lanes, int accumulate);
#endif

#endif
