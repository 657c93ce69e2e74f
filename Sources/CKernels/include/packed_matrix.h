#ifndef CAST_PACKED_MATRIX_H
#define CAST_PACKED_MATRIX_H
// A weight matrix W [rows, columns] (PyTorch/GGUF [out, in] layout) kept as 8-bit integers
// with one scale and one offset per group of `group` columns of a row:
//     W[n, k] = q[n, k] · scale[n, g] − offset[n, g],   g = k / group,
// computed as one fused multiply-subtract, which is exactly how ggml dequantizes every
// Q4/Q5/Q6/Q8 format (the product q · scale is exact in float32, so only the subtraction
// rounds). Rows are stored in panels of 16 for the matrix-product kernel: panel p holds rows
// 16p … 16p+15, group by group; a group is `group` columns × 16 rows of int8 (column-major,
// so one 16-byte load is one column of the panel), then 16 float scales and 16 float offsets.
// Panels are interleaved in quads of 4 consecutive ones (the last quad may hold 1–3): a
// quad's bytes are group 0 of its panels 0, 1, 2, 3, then group 1 of each, and so on, so one
// row of x meets four panels' weights in one sequential stream (cast_packed_group_offset).
//
// A matrix whose q all lie in 0 … 15 after adding `bias` (ggml's Q4_0, Q4_1, Q4_K) may keep
// them in 4 bits instead (`bits` = 4, half the bytes): in a group, byte i · 16 + lane for
// i < group / 2 holds column i in its low nibble and column i + group / 2 in its high one,
// and q = nibble − bias. With q + bias in 0 … 31 (Q5_0, Q5_1, Q5_K; groups of 32 only, so
// groups stay 64-byte aligned), `bits` = 5: the same nibbles, then 64 bytes of fifth bits,
// column k's 16 lanes as the bits of the little-endian 16-bit word at 2k, and
// q = (nibble | fifth << 4) − bias. The kernels unpack such a group to the int8 form above and
// then do the same operations, so every layout gives the same bits.
//
// A matrix whose offsets are all +0 (ggml's Q4_0, Q5_0, Q8_0, Q6_K) may leave them out
// (`offsets` = 0): a group is then its q followed by its 16 scales only (64 bytes instead of
// 128), and the kernels read their offsets from an array of +0, so the operations and the bits
// are the same; groups stay 64-byte aligned.
#include <stddef.h>
#include <stdint.h>
#include "kernel_dispatch.h"

enum { CAST_PANEL_ROWS = 16 };
/// Rows of x per call of a product kernel: 12 accumulators + the weights fit the 32 vector
/// registers with room to spare, and measured fastest on Zen 5 (14 and more spill).
enum { CAST_TILE_ROWS = 12 };

typedef struct {
    const int8_t *data;  // 64-byte aligned, cast_packed_bytes(rows, columns, group, bits) bytes
    int rows;            // output features
    int columns;         // input features, a multiple of group
    int group;           // 16 or 32
    int bits;            // 8 (int8 q), 4 or 5 (q = unsigned bits − bias)
    int bias;            // 0 with 8 bits; q + bias fits the bits otherwise
    int offsets;         // 1: each group stores 16 offsets after its scales; 0: all +0, not stored
} CastPackedMatrix;

/// Bytes of a group's q (then 16 scales, and 16 offsets unless left out).
static inline size_t cast_packed_q_bytes(int group, int bits) { return (size_t)group * CAST_PANEL_ROWS * bits / 8; }
/// Bytes of a group's factors: 16 float scales, then 16 float offsets when stored.
static inline size_t cast_packed_factor_bytes(int offsets) { return offsets ? 128 : 64; }
static inline size_t cast_packed_group_bytes(int group, int bits, int offsets) {
    return cast_packed_q_bytes(group, bits) + cast_packed_factor_bytes(offsets);
}
static inline size_t cast_packed_panel_bytes(int columns, int group, int bits, int offsets) {
    return (size_t)(columns / group) * cast_packed_group_bytes(group, bits, offsets);
}
static inline int cast_packed_panels(int rows) { return (rows + CAST_PANEL_ROWS - 1) / CAST_PANEL_ROWS; }
static inline size_t cast_packed_bytes(int rows, int columns, int group, int bits, int offsets) {
    return (size_t)cast_packed_panels(rows) * cast_packed_panel_bytes(columns, group, bits, offsets);
}
/// Panels per quad: their groups are interleaved (see above).
enum { CAST_QUAD_PANELS = 4 };
/// Panels in the quad holding `panel` of a matrix of `rows` rows: 4, or 1–3 in a last quad.
static inline int cast_packed_quad_panels(int rows, int panel) {
    const int left = cast_packed_panels(rows) - (panel - panel % CAST_QUAD_PANELS);
    return left < CAST_QUAD_PANELS ? left : CAST_QUAD_PANELS;
}
/// Byte offset of the group holding W[row, g·group …] (its q block; scales follow it) in a
/// matrix of `rows` rows: the quads before it are whole, then g groups of each panel of its
/// quad, then the groups of the panels before it in the quad.
static inline size_t cast_packed_group_offset(int rows, int row, int g, int columns, int group, int bits, int offsets) {
    const int panel = row / CAST_PANEL_ROWS, first = panel - panel % CAST_QUAD_PANELS;
    return (size_t)first * cast_packed_panel_bytes(columns, group, bits, offsets)
         + ((size_t)g * (size_t)cast_packed_quad_panels(rows, panel) + (size_t)(panel - first))
           * cast_packed_group_bytes(group, bits, offsets);
}

/// y[r, n] = Σ_k x[r, k] · W[n, k] for rows r < m and the rows n of panels
/// [panel_begin, panel_end); with `accumulate`, adds to y instead of overwriting it.
/// Each output is summed over k in order, whatever m or the panel range, so a row's
/// result does not depend on the batch it is computed in.
void cast_packed_matmul(const CastPackedMatrix *w, const float *x, long ldx, int m,
                        float *y, long ldy, int panel_begin, int panel_end, int accumulate);

/// out[(n − row_begin) · columns + k] = W[n, k] for n in [row_begin, row_end).
void cast_packed_dequantize_rows(const CastPackedMatrix *w, int row_begin, int row_end, float *out);

/// As cast_packed_matmul and cast_packed_dequantize_rows, on the path of `kernel` (capped at
/// what the CPU supports) instead of the selected one: tests compare the paths this way.
void cast_packed_matmul_using(CastKernel kernel, const CastPackedMatrix *w, const float *x, long ldx, int m,
                              float *y, long ldy, int panel_begin, int panel_end, int accumulate);
void cast_packed_dequantize_rows_using(CastKernel kernel, const CastPackedMatrix *w, int row_begin, int row_end,
                                       float *out);

/// 1 when the float32 products run the AVX-512 kernel.
int cast_packed_uses_avx512(void);

/// With a nonzero argument, use the portable kernels whatever the CPU (tests compare
/// paths); zero restores the default. Same as cast_kernel_force(CAST_KERNEL_PORTABLE / −1).
void cast_packed_force_portable(int force);

// MARK: int8 activations (llama.cpp's precision, ~3× the float kernel's speed)
//
// x is rounded to 8 bits per row and group of `group` columns: d = max|x| / 127,
// xq = round(x / d) (nearest, ties to even), so x ≈ d · xq. Then
//     Σ_k x[r,k] W[n,k] ≈ Σ_g d[r,g] · (scale[n,g] · Σ_k xq·q − offset[n,g] · Σ_k xq),
// with the inner sums exact in int32 (AVX-512 VNNI dot products, or AVX2 products of
// 16-bit integers summed in pairs; the portable kernel defines the result).

/// Bytes of the quantized form of m rows (tiles of CAST_TILE_ROWS rows; per tile and group:
/// the rows' xq + 128 as bytes, then per row the floats d and d · Σ xq).
size_t cast_int8_rows_bytes(int m, int columns, int group);

/// Quantizes x [m, columns] (row stride ldx) into `out` (cast_int8_rows_bytes bytes).
void cast_int8_quantize_rows(const float *x, long ldx, int m, int columns, int group, void *out);

/// As cast_packed_matmul, on rows quantized by cast_int8_quantize_rows (same group size).
void cast_packed_matmul_int8(const CastPackedMatrix *w, const void *xq, int m,
                             float *y, long ldy, int panel_begin, int panel_end, int accumulate);

/// As the two above, on the int8 path of `kernel` (capped at what the CPU supports).
void cast_int8_quantize_rows_using(CastKernel kernel, const float *x, long ldx, int m, int columns, int group,
                                   void *out);
void cast_packed_matmul_int8_using(CastKernel kernel, const CastPackedMatrix *w, const void *xq, int m,
                                   float *y, long ldy, int panel_begin, int panel_end, int accumulate);

/// 1 when the int8 products run on AVX-512 VNNI (else AVX2 or portable, same results).
int cast_packed_uses_vnni(void);

// MARK: packing ggml block formats (load time)

/// ggml type ids of the block formats cast_pack_ggml_rows reads.
enum {
    CAST_GGML_Q4_0 = 2, CAST_GGML_Q4_1 = 3, CAST_GGML_Q5_0 = 6, CAST_GGML_Q5_1 = 7, CAST_GGML_Q8_0 = 8,
    CAST_GGML_Q4_K = 12, CAST_GGML_Q5_K = 13, CAST_GGML_Q6_K = 14,
};

/// Decodes rows [row_begin, row_end) of a ggml tensor of `type` (rows of `row_bytes` bytes from
/// `source`) into `w` (its data written through: the matrix being filled; a whole panel's rows
/// must be written by one thread), in w's layout. Returns 0 (writing nothing) for a type it
/// does not read or a group size that does not match the type's.
int cast_pack_ggml_rows(int type, const void *source, size_t row_bytes, int row_begin, int row_end,
                        const CastPackedMatrix *w);

#endif
