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
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w, panel);
    int8_t unpacked[32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    const int8_t *base = group_base(w, panel, 0);
    for (int g = 0; g < groups; g++, base += step) {
        cast_prefetch_group(w, base, step);
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

// MARK: several rows (prefill)
//
// A panel's groups, 128 columns at a time, are dequantized once into an L1-resident float
// buffer (the same fused multiply-subtract as everywhere), which every pass of ≤ 6 rows of a
// block of up to 24 rows then reads: a pass costs one broadcast and two FMAs per row and
// column (2·6 accumulators, the two halves' weights and x fill the 16 vector registers). The
// tiles above convert and dequantize every column in every pass instead, 2 fused
// multiply-subtracts beside 12 FMAs on the same ports. Between those 128 columns the
// accumulators wait in a small buffer (stored and reloaded exactly: the same sums in the same
// order).

/// The group at `base` as floats, column k's 16 lanes at out[16·k …]. The one place the
/// block kernel reads a group's q and factors.
AVX2 static inline __attribute__((always_inline)) void dequantize_group(
        const CastPackedMatrix *w, const int8_t *base, float *out, const int packed8) {
    int8_t unpacked[32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    const int8_t *q = base;
    if (!packed8) { cast_unpack_group_avx2(w, base, unpacked); q = unpacked; }
    const float *factors = cast_group_factors(w, base), *offsets = cast_group_offsets(w, base);
    const __m256 scale0 = _mm256_load_ps(factors), scale1 = _mm256_load_ps(factors + 8);
    const __m256 offset0 = _mm256_load_ps(offsets), offset1 = _mm256_load_ps(offsets + 8);
    for (int k = 0; k < w->group; k++) {
        __m128i bytes = _mm_load_si128((const __m128i *)(q + k * CAST_PANEL_ROWS));
        __m256 weight0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
        __m256 weight1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(bytes, bytes)));
        _mm256_store_ps(out + k * CAST_PANEL_ROWS, _mm256_fmsub_ps(weight0, scale0, offset0));
        _mm256_store_ps(out + k * CAST_PANEL_ROWS + 8, _mm256_fmsub_ps(weight1, scale1, offset1));
    }
}

/// acc[16·r …] (+)= Σ_k xg[r·ldx + k] · weights[16·k …] for r < rows ≤ 6, k < columns, in
/// order (from zero when `fresh`).
AVX2 static inline __attribute__((always_inline)) void block_pass(
        const float *weights, const float *xg, long ldx, float *acc, int columns, int fresh, const int rows) {
    __m256 acc0[6], acc1[6];
    for (int r = 0; r < rows; r++) {
        acc0[r] = fresh ? _mm256_setzero_ps() : _mm256_load_ps(acc + 16 * r);
        acc1[r] = fresh ? _mm256_setzero_ps() : _mm256_load_ps(acc + 16 * r + 8);
    }
    for (int k = 0; k < columns; k++) {
        const __m256 weight0 = _mm256_load_ps(weights + k * CAST_PANEL_ROWS);
        const __m256 weight1 = _mm256_load_ps(weights + k * CAST_PANEL_ROWS + 8);
        for (int r = 0; r < rows; r++) {
            const __m256 xr = _mm256_broadcast_ss(xg + r * ldx + k);
            acc0[r] = _mm256_fmadd_ps(xr, weight0, acc0[r]);
            acc1[r] = _mm256_fmadd_ps(xr, weight1, acc1[r]);
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm256_store_ps(acc + 16 * r, acc0[r]);
        _mm256_store_ps(acc + 16 * r + 8, acc1[r]);
    }
}

/// acc[16·r …] (+)= Σ_k x[r·ldx + k] · W[16·panel + lane, k] for r < rows (from zero when
/// `fresh`). The passes split the rows evenly (8 rows are 4 + 4, not 6 + 2: a pass of few
/// rows has too few independent FMA chains to hide their latency).
AVX2 static inline __attribute__((always_inline)) void block_body(
        const CastPackedMatrix *w, int panel, const float *x, long ldx, int rows, float *acc, int fresh,
        const int packed8) {
    const int group = w->group, groups = w->columns / group, passes = (rows + 5) / 6;
    enum { COLUMNS = 128 };  // dequantized at a time: 8 KiB of floats; 32 measured 4–8 % slower
    const int per = COLUMNS / group;
    const size_t step = cast_group_step(w, panel);
    float weights[COLUMNS * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    const int8_t *base = group_base(w, panel, 0);
    for (int g = 0; g < groups; g += per, fresh = 0) {
        const int n = groups - g < per ? groups - g : per, columns = n * group;
        for (int j = 0; j < n; j++, base += step) {
            cast_prefetch_group(w, base, step);
            dequantize_group(w, base, weights + j * group * CAST_PANEL_ROWS, packed8);
        }
        const float *xg = x + g * group;
        for (int p = 0; p < passes; p++) {
            const int r0 = rows * p / passes, count = rows * (p + 1) / passes - r0;
            const float *xp = xg + r0 * ldx;
            float *ap = acc + 16 * r0;
            switch (count) {
            case 6: block_pass(weights, xp, ldx, ap, columns, fresh, 6); break;
            case 5: block_pass(weights, xp, ldx, ap, columns, fresh, 5); break;
            case 4: block_pass(weights, xp, ldx, ap, columns, fresh, 4); break;
            case 3: block_pass(weights, xp, ldx, ap, columns, fresh, 3); break;
            case 2: block_pass(weights, xp, ldx, ap, columns, fresh, 2); break;
            default: block_pass(weights, xp, ldx, ap, columns, fresh, 1); break;
            }
        }
    }
}

// 8-bit groups get a loop of their own (no unpacking), as in the tiles.
AVX2 static void block8(const CastPackedMatrix *w, int panel, const float *x, long ldx, int rows, float *acc,
                        int fresh) {
    block_body(w, panel, x, ldx, rows, acc, fresh, 1);
}
AVX2 static void block_nibbles(const CastPackedMatrix *w, int panel, const float *x, long ldx, int rows, float *acc,
                               int fresh) {
    block_body(w, panel, x, ldx, rows, acc, fresh, 0);
}

AVX2 void cast_avx2_matmul_rows(const CastPackedMatrix *w, const float *x, long ldx, int m, float *y, long ldy,
                                int panel_begin, int panel_end, int accumulate) {
    // Panels in blocks of ~256 KiB of weights, so a block stays in L2 while every block of
    // rows passes over it; rows in blocks of 24, or 18 or 12 where x's block would pass
    // 192 KiB (wide matrices: Qwen2.5-0.5B's MLP down projection, 4864 columns, measured
    // 5–15 % slower at 24 rows than at 12 on Zen 5, and 12 rows is the old tiles' footprint
    // for Zen 3's 512 KiB L2), a multiple of 6 so that passes have 5 or 6 rows.
    const int block = cast_panel_block(w);
    int block_rows = (int)((192 * 1024) / ((size_t)w->columns * sizeof(float)));
    if (block_rows > CAST_AVX2_BLOCK_ROWS) block_rows = CAST_AVX2_BLOCK_ROWS;
    block_rows -= block_rows % 6;
    if (block_rows < 12) block_rows = 12;
    const int tiles = (m + block_rows - 1) / block_rows;
    float acc[CAST_AVX2_BLOCK_ROWS * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    for (int p0 = panel_begin; p0 < panel_end; p0 += block) {
        const int p1 = p0 + block < panel_end ? p0 + block : panel_end;
        for (int t = 0; t < tiles; t++) {
            const int r0 = (int)((long)m * t / tiles), rows = (int)((long)m * (t + 1) / tiles) - r0;
            for (int p = p0; p < p1; p++) {
                // The accumulators wait in `acc`, not in y: y's rows may lie a power of 2 apart
                // (4 KiB aliasing, one cache set). The last panel's lanes past w->rows are
                // never read or written (masked).
                const int lanes = w->rows - p * CAST_PANEL_ROWS, whole = lanes >= CAST_PANEL_ROWS;
                const __m256i mask0 = lane_mask(lanes), mask1 = lane_mask(lanes - 8);
                float *yr = y + (long)r0 * ldy + (long)p * CAST_PANEL_ROWS;
                for (int r = 0; accumulate && r < rows; r++) {
                    const float *yrow = yr + r * ldy;
                    _mm256_store_ps(acc + 16 * r, whole ? _mm256_loadu_ps(yrow) : _mm256_maskload_ps(yrow, mask0));
                    _mm256_store_ps(acc + 16 * r + 8, whole ? _mm256_loadu_ps(yrow + 8) : _mm256_maskload_ps(yrow + 8, mask1));
                }
                if (w->bits == 8) block8(w, p, x + (long)r0 * ldx, ldx, rows, acc, !accumulate);
                else block_nibbles(w, p, x + (long)r0 * ldx, ldx, rows, acc, !accumulate);
                for (int r = 0; r < rows; r++) {
                    float *yrow = yr + r * ldy;
                    if (whole) {  // vmaskmovps stores are slow on AMD
                        _mm256_storeu_ps(yrow, _mm256_load_ps(acc + 16 * r));
                        _mm256_storeu_ps(yrow + 8, _mm256_load_ps(acc + 16 * r + 8));
                    } else {
                        _mm256_maskstore_ps(yrow, mask0, _mm256_load_ps(acc + 16 * r));
                        _mm256_maskstore_ps(yrow + 8, mask1, _mm256_load_ps(acc + 16 * r + 8));
                    }
                }
            }
        }
    }
}

// One row × a quad of 4 whole panels: 8 independent chains of FMAs (two 8-lane halves per
// panel) instead of 2, the quad's groups side by side in memory (one sequential stream), each
// output's operations those of tile1, in its order.
AVX2 static inline __attribute__((always_inline)) void row_panels_body(
        const CastPackedMatrix *w, int panel, const float *x, float *y, int accumulate, const int packed8) {
    enum { P = CAST_AVX2_ROW_PANELS };
    const int group = w->group, groups = w->columns / group;
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w, panel);
    const size_t group_bytes = cast_packed_group_bytes(group, w->bits, w->offsets);
    int8_t unpacked[P][32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    __m256 acc0[P], acc1[P];
    for (int p = 0; p < P; p++) {
        acc0[p] = accumulate ? _mm256_loadu_ps(y + 16 * p) : _mm256_setzero_ps();
        acc1[p] = accumulate ? _mm256_loadu_ps(y + 16 * p + 8) : _mm256_setzero_ps();
    }
    const int8_t *base = group_base(w, panel, 0);
    for (int g = 0; g < groups; g++, base += step) {
        // Panel by panel through the quad's group row, in address order (as the AVX-512
        // kernel, packed_matrix.c); the chains overlap in out-of-order execution.
        const float *xg = x + g * group;
        for (int p = 0; p < P; p++) {
            const int8_t *b = base + p * group_bytes, *q = b;
            if (!packed8) { cast_unpack_group_avx2(w, b, unpacked[p]); q = unpacked[p]; }
            const float *factors = (const float *)(b + q_bytes), *offsets = cast_group_offsets(w, b);
            const __m256 scale0 = _mm256_load_ps(factors), scale1 = _mm256_load_ps(factors + 8);
            const __m256 offset0 = _mm256_load_ps(offsets), offset1 = _mm256_load_ps(offsets + 8);
            for (int k = 0; k < group; k++) {
                const __m256 xk = _mm256_broadcast_ss(xg + k);
                __m128i bytes = _mm_load_si128((const __m128i *)(q + k * CAST_PANEL_ROWS));
                __m256 weight0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
                __m256 weight1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(bytes, bytes)));
                weight0 = _mm256_fmsub_ps(weight0, scale0, offset0);
                weight1 = _mm256_fmsub_ps(weight1, scale1, offset1);
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
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w, panel);
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
