#include "packed_matrix.h"
#include "packed_avx2.h"
#include "packed_layout.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { TILE_ROWS = CAST_TILE_ROWS };

// One-row products (decode) run a quad of four whole panels at a time (row_panels, its
// interleaved groups in address order); CAST_ROW_PANELS=0 runs them panel by panel (tile1)
// for A/B timings, same bits. On this layout a lone panel is a strided stream: that path is
// slower from memory than tile1 was on the layout of one panel after another.
static int cast_row_panels_enabled(void) {
    static int cached = -1;
    if (cached < 0) { const char *v = getenv("CAST_ROW_PANELS"); cached = !(v && v[0] == '0'); }
    return cached;
}

static const int8_t *group_base(const CastPackedMatrix *w, int panel, int g) { return cast_group_base(w, panel, g); }

// CAST_AVX2_ROW_BLOCKS=0 runs products of several rows on the AVX2 path as before (each
// 12-row tile as two 6-row passes that each dequantize the panel: cast_avx2_tile) instead of
// cast_avx2_matmul_rows; the same bits, for A/B timings.
static int cast_avx2_row_blocks_enabled(void) {
    static int cached = -1;
    if (cached < 0) { const char *v = getenv("CAST_AVX2_ROW_BLOCKS"); cached = !(v && v[0] == '0'); }
    return cached;
}

// MARK: portable kernel (same operation order as the vector one, so results match bit for bit)

static inline __attribute__((always_inline)) void tile_portable_body(
        const CastPackedMatrix *w, int panel, const float *x, long ldx, int rows, float *y, long ldy,
        int lanes, int accumulate) {
    const int group = w->group, groups = w->columns / group;
    for (int r = 0; r < rows; r++) {
        for (int lane = 0; lane < lanes; lane++) {
            float acc = accumulate ? y[r * ldy + lane] : 0.0f;
            for (int g = 0; g < groups; g++) {
                const int8_t *q = group_base(w, panel, g);
                const float *scale = cast_group_factors(w, q), *offset = cast_group_offsets(w, q);
                const float *xg = x + r * ldx + g * group;
                for (int k = 0; k < group; k++) {
                    float weight = fmaf((float)cast_group_q(w, q, k, lane), scale[lane], -offset[lane]);
                    acc = fmaf(xg[k], weight, acc);
                }
            }
            y[r * ldy + lane] = acc;
        }
    }
}

// fmaf is a library call unless the compiler may emit FMA instructions: the portable kernels
// are compiled twice and the FMA build is used wherever the CPU has it (same results).
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CAST_PORTABLE_FMA 1
static int cpu_has_fma(void) {
    static int cached = -1;
    if (cached < 0) { __builtin_cpu_init(); cached = __builtin_cpu_supports("fma"); }
    return cached;
}
__attribute__((target("fma"))) static void tile_portable_fma(const CastPackedMatrix *w, int panel, const float *x,
        long ldx, int rows, float *y, long ldy, int lanes, int accumulate) {
    tile_portable_body(w, panel, x, ldx, rows, y, ldy, lanes, accumulate);
}
#endif

static void tile_portable(const CastPackedMatrix *w, int panel, const float *x, long ldx, int rows,
                          float *y, long ldy, int lanes, int accumulate) {
#ifdef CAST_PORTABLE_FMA
    if (cpu_has_fma()) { tile_portable_fma(w, panel, x, ldx, rows, y, ldy, lanes, accumulate); return; }
#endif
    tile_portable_body(w, panel, x, ldx, rows, y, ldy, lanes, accumulate);
}

// MARK: AVX-512 kernel (the AVX2 one is in packed_avx2.c)

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define CAST_HAVE_AVX512_KERNEL 1
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

/// One group of a panel opened for the AVX-512 kernels: its q as int8 (a 4- or 5-bit group
/// unpacked into the caller's 512-byte buffer), its 16 scales and its 16 offsets (+0 from
/// cast_zero_offsets when the matrix leaves them out).
typedef struct {
    const int8_t *q;
    __m512 scale, offset;
} Group512;

/// Opens the group at `base` (`q_bytes` of q, then the factors); `packed8` is constant after
/// inlining, so an 8-bit group costs its two factor loads and nothing else.
AVX512 static inline __attribute__((always_inline)) Group512 open_group(
        const CastPackedMatrix *w, const int8_t *base, size_t q_bytes, const int packed8, int8_t *buffer) {
    Group512 group;
    group.q = base;
    if (!packed8) { cast_unpack_group_avx512(w, base, buffer); group.q = buffer; }
    group.scale = _mm512_load_ps((const float *)(base + q_bytes));
    group.offset = _mm512_load_ps(cast_group_offsets(w, base));
    return group;
}

// One panel (16 outputs) × `rows` rows of x over all of k (`rows`, `packed8` constants after
// inlining). Per column k: one 16-byte load of the panel's weights, widen to float, one fused
// multiply-subtract to dequantize, then one FMA per row with x[r, k] broadcast from memory.
// A 4- or 5-bit group is first unpacked to int8.
AVX512 static inline __attribute__((always_inline)) void tile_body(
        const CastPackedMatrix *w, int panel, const float *x, long ldx, float *y, long ldy, __mmask16 mask,
        int accumulate, const int rows, const int packed8) {
    const int group = w->group, groups = w->columns / group;
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w, panel);
    int8_t unpacked[32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    __m512 acc[TILE_ROWS];
    for (int r = 0; r < rows; r++)
        acc[r] = accumulate ? _mm512_maskz_loadu_ps(mask, y + r * ldy) : _mm512_setzero_ps();
    const int8_t *base = group_base(w, panel, 0);
    for (int g = 0; g < groups; g++, base += step) {
        cast_prefetch_group(w, base, step);
        const Group512 opened = open_group(w, base, q_bytes, packed8, unpacked);
        const float *xg = x + g * group;
        for (int k = 0; k < group; k++) {
            __m128i bytes = _mm_load_si128((const __m128i *)(opened.q + k * CAST_PANEL_ROWS));
            __m512 weight = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes));
            weight = _mm512_fmsub_ps(weight, opened.scale, opened.offset);
            for (int r = 0; r < rows; r++)
                acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(xg[r * ldx + k]), weight, acc[r]);
        }
    }
    for (int r = 0; r < rows; r++) _mm512_mask_storeu_ps(y + r * ldy, mask, acc[r]);
}

// 8-bit groups get a loop of their own, as the int8 tile's, so the unpacking's constants can
// never take the rows' accumulators' registers (there it cost 40 %; here it measured the same
// on Zen 5 either way, the compiler having kept them apart).
#define DEFINE_TILE(ROWS)                                                                          \
AVX512 static void tile##ROWS(const CastPackedMatrix *w, int panel, const float *x, long ldx,      \
                              float *y, long ldy, __mmask16 mask, int accumulate) {                 \
    if (w->bits == 8) tile_body(w, panel, x, ldx, y, ldy, mask, accumulate, ROWS, 1);              \
    else tile_body(w, panel, x, ldx, y, ldy, mask, accumulate, ROWS, 0);                           \
}
DEFINE_TILE(1) DEFINE_TILE(2) DEFINE_TILE(3) DEFINE_TILE(4) DEFINE_TILE(5) DEFINE_TILE(6)
DEFINE_TILE(7) DEFINE_TILE(8) DEFINE_TILE(9) DEFINE_TILE(10) DEFINE_TILE(11) DEFINE_TILE(12)

typedef void (*TileKernel)(const CastPackedMatrix *, int, const float *, long, float *, long, __mmask16, int);
static const TileKernel tiles[TILE_ROWS + 1] = {
    0, tile1, tile2, tile3, tile4, tile5, tile6, tile7, tile8, tile9, tile10, tile11, tile12,
};

// One row of x × a quad of 4 whole panels at once (decode): one row has a single chain of
// FMAs per panel, so a lone panel waits on the FMA latency; four panels are four independent
// chains, their groups side by side in memory (the quad's interleaving). Each output's
// operations and their order are tile1's, so the bits are the same.
enum { ROW_PANELS = CAST_QUAD_PANELS };
AVX512 static inline __attribute__((always_inline)) void row_panels_body(
        const CastPackedMatrix *w, int panel, const float *x, float *y, int accumulate, const int packed8) {
    enum { P = ROW_PANELS };
    const int group = w->group, groups = w->columns / group;
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w, panel);
    const size_t group_bytes = cast_packed_group_bytes(group, w->bits, w->offsets);
    int8_t unpacked[P][32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    __m512 acc[P];
    for (int p = 0; p < P; p++) acc[p] = accumulate ? _mm512_loadu_ps(y + 16 * p) : _mm512_setzero_ps();
    const int8_t *base = group_base(w, panel, 0);
    for (int g = 0; g < groups; g++, base += step) {
        // Panel by panel through the quad's group row, in address order: the four chains
        // still overlap (out-of-order execution runs the next panel's while one waits on
        // its FMA latency). Column by column across the four panels instead read four
        // 16-byte streams a group long each, which ran at half tile1's speed from memory.
        const float *xg = x + g * group;
        for (int p = 0; p < P; p++) {
            const Group512 opened = open_group(w, base + p * group_bytes, q_bytes, packed8, unpacked[p]);
            for (int k = 0; k < group; k++) {
                __m128i bytes = _mm_load_si128((const __m128i *)(opened.q + k * CAST_PANEL_ROWS));
                __m512 weight = _mm512_fmsub_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes)), opened.scale, opened.offset);
                acc[p] = _mm512_fmadd_ps(_mm512_set1_ps(xg[k]), weight, acc[p]);
            }
        }
    }
    for (int p = 0; p < P; p++) _mm512_storeu_ps(y + 16 * p, acc[p]);
}

// 8-bit groups get a loop of their own, as in the tiles.
AVX512 static void row_panels(const CastPackedMatrix *w, int panel, const float *x, float *y, int accumulate) {
    if (w->bits == 8) row_panels_body(w, panel, x, y, accumulate, 1);
    else row_panels_body(w, panel, x, y, accumulate, 0);
}
#endif

#if defined(CAST_HAVE_AVX512_KERNEL) || defined(CAST_HAVE_AVX2_KERNEL)
// One row of x over panels [panel_begin, panel_end) on a vector path: each whole quad (four
// panels of 16 rows) at once, panels of partial quads or with fewer than 16 rows one at a
// time (tile1). No blocks of panels: one row of x stays in L1 whatever the panels.
static void row_product(CastKernel path, const CastPackedMatrix *w, const float *x, float *y,
                        int panel_begin, int panel_end, int accumulate) {
    const int whole = w->rows / CAST_PANEL_ROWS;  // panels with all 16 rows
    for (int p = panel_begin; p < panel_end;) {
        if (p % CAST_QUAD_PANELS == 0 && p + CAST_QUAD_PANELS <= panel_end && p + CAST_QUAD_PANELS <= whole) {
#ifdef CAST_HAVE_AVX512_KERNEL
            if (path == CAST_KERNEL_AVX512) row_panels(w, p, x, y + (long)p * CAST_PANEL_ROWS, accumulate);
#endif
#ifdef CAST_HAVE_AVX2_KERNEL
            if (path == CAST_KERNEL_AVX2) cast_avx2_row_panels(w, p, x, y + (long)p * CAST_PANEL_ROWS, accumulate);
#endif
            p += CAST_QUAD_PANELS;
            continue;
        }
        int lanes = w->rows - p * CAST_PANEL_ROWS;
        if (lanes > CAST_PANEL_ROWS) lanes = CAST_PANEL_ROWS;
        float *yp = y + (long)p * CAST_PANEL_ROWS;
#ifdef CAST_HAVE_AVX512_KERNEL
        if (path == CAST_KERNEL_AVX512) tile1(w, p, x, 0, yp, 0, (__mmask16)((1u << lanes) - 1), accumulate);
#endif
#ifdef CAST_HAVE_AVX2_KERNEL
        if (path == CAST_KERNEL_AVX2) cast_avx2_tile(w, p, x, 0, 1, yp, 0, lanes, accumulate);
#endif
        p++;
    }
}
#endif

void cast_packed_force_portable(int force) { cast_kernel_force(force ? CAST_KERNEL_PORTABLE : -1); }

int cast_packed_uses_avx512(void) { return cast_kernel_float32_path(cast_kernel_selected()) == CAST_KERNEL_AVX512; }

void cast_packed_matmul(const CastPackedMatrix *w, const float *x, long ldx, int m,
                        float *y, long ldy, int panel_begin, int panel_end, int accumulate) {
    cast_packed_matmul_using(cast_kernel_selected(), w, x, ldx, m, y, ldy, panel_begin, panel_end, accumulate);
}

void cast_packed_matmul_using(CastKernel kernel, const CastPackedMatrix *w, const float *x, long ldx, int m,
                              float *y, long ldy, int panel_begin, int panel_end, int accumulate) {
    const CastKernel path = cast_kernel_float32_path(cast_kernel_capped(kernel));
#ifdef CAST_HAVE_AVX2_KERNEL
    // Several rows on the AVX2 path: each group dequantized once per block of rows. One row
    // to six (decode, a single pass) stay on the tiles below.
    if (path == CAST_KERNEL_AVX2 && m > 6 && cast_avx2_row_blocks_enabled()) {
        cast_avx2_matmul_rows(w, x, ldx, m, y, ldy, panel_begin, panel_end, accumulate);
        return;
    }
#endif
#if defined(CAST_HAVE_AVX512_KERNEL) || defined(CAST_HAVE_AVX2_KERNEL)
    if (m == 1 && path != CAST_KERNEL_PORTABLE && cast_row_panels_enabled()) {
        row_product(path, w, x, y, panel_begin, panel_end, accumulate);
        return;
    }
#endif
    // Panels in blocks of ~256 KiB of weights, so a block stays in L2 while every tile of
    // rows of x passes over it; the rows' tile (12 × columns floats) stays in L1/L2.
    const int block = cast_panel_block(w);
    for (int p0 = panel_begin; p0 < panel_end; p0 += block) {
        int p1 = p0 + block < panel_end ? p0 + block : panel_end;
        for (int r0 = 0; r0 < m; r0 += TILE_ROWS) {
            int rows = m - r0 < TILE_ROWS ? m - r0 : TILE_ROWS;
            for (int p = p0; p < p1; p++) {
                int lanes = w->rows - p * CAST_PANEL_ROWS;
                if (lanes > CAST_PANEL_ROWS) lanes = CAST_PANEL_ROWS;
                const float *xr = x + (long)r0 * ldx;
                float *yr = y + (long)r0 * ldy + (long)p * CAST_PANEL_ROWS;
#ifdef CAST_HAVE_AVX512_KERNEL
                if (path == CAST_KERNEL_AVX512) {
                    tiles[rows](w, p, xr, ldx, yr, ldy, (__mmask16)((1u << lanes) - 1), accumulate);
                    continue;
                }
#endif
#ifdef CAST_HAVE_AVX2_KERNEL
                if (path == CAST_KERNEL_AVX2) {
                    cast_avx2_tile(w, p, xr, ldx, rows, yr, ldy, lanes, accumulate);
                    continue;
                }
#endif
                tile_portable(w, p, xr, ldx, rows, yr, ldy, lanes, accumulate);
            }
        }
    }
}

static inline __attribute__((always_inline)) void dequantize_rows_body(
        const CastPackedMatrix *w, int row_begin, int row_end, float *out) {
    const int group = w->group, groups = w->columns / group;
    for (int n = row_begin; n < row_end; n++, out += w->columns) {
        const int panel = n / CAST_PANEL_ROWS, lane = n % CAST_PANEL_ROWS;
        for (int g = 0; g < groups; g++) {
            const int8_t *q = group_base(w, panel, g);
            const float *scale = cast_group_factors(w, q), *offset = cast_group_offsets(w, q);
            for (int k = 0; k < group; k++)
                out[g * group + k] = fmaf((float)cast_group_q(w, q, k, lane), scale[lane], -offset[lane]);
        }
    }
}

#ifdef CAST_PORTABLE_FMA
__attribute__((target("fma"))) static void dequantize_rows_fma(const CastPackedMatrix *w, int row_begin, int row_end,
                                                                 float *out) {
    dequantize_rows_body(w, row_begin, row_end, out);
}
#endif

static void dequantize_rows_portable(const CastPackedMatrix *w, int row_begin, int row_end, float *out) {
#ifdef CAST_PORTABLE_FMA
    if (cpu_has_fma()) { dequantize_rows_fma(w, row_begin, row_end, out); return; }
#endif
    dequantize_rows_body(w, row_begin, row_end, out);
}

#ifdef CAST_HAVE_AVX512_KERNEL
// A whole panel: per column, the 16 rows' weights in one vector (the same fused
// multiply-subtract as everywhere), scattered to their rows.
AVX512 static inline __attribute__((always_inline)) void dequantize_panel_body(
        const CastPackedMatrix *w, int panel, float *out, const int packed8) {
    const int group = w->group, groups = w->columns / group;
    const __m512i rows = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32(w->columns));
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), step = cast_group_step(w, panel);
    int8_t unpacked[32 * CAST_PANEL_ROWS] __attribute__((aligned(64)));
    const int8_t *base = group_base(w, panel, 0);
    for (int g = 0; g < groups; g++, base += step) {
        const Group512 opened = open_group(w, base, q_bytes, packed8, unpacked);
        for (int k = 0; k < group; k++) {
            __m512 weight = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(opened.q + k * CAST_PANEL_ROWS))));
            _mm512_i32scatter_ps(out + g * group + k, rows, _mm512_fmsub_ps(weight, opened.scale, opened.offset), 4);
        }
    }
}

AVX512 static void dequantize_panel(const CastPackedMatrix *w, int panel, float *out) {
    if (w->bits == 8) dequantize_panel_body(w, panel, out, 1);
    else dequantize_panel_body(w, panel, out, 0);
}
#endif

void cast_packed_dequantize_rows(const CastPackedMatrix *w, int row_begin, int row_end, float *out) {
    cast_packed_dequantize_rows_using(cast_kernel_selected(), w, row_begin, row_end, out);
}

// Whole panels on the vector path, rows before and after them on the portable one.
void cast_packed_dequantize_rows_using(CastKernel kernel, const CastPackedMatrix *w, int row_begin, int row_end,
                                       float *out) {
    const CastKernel path = cast_kernel_float32_path(cast_kernel_capped(kernel));
    if (path == CAST_KERNEL_PORTABLE) { dequantize_rows_portable(w, row_begin, row_end, out); return; }
    int n = row_begin;
    for (; n < row_end && n % CAST_PANEL_ROWS != 0; n++) dequantize_rows_portable(w, n, n + 1, out + (size_t)(n - row_begin) * w->columns);
    for (; n + CAST_PANEL_ROWS <= row_end; n += CAST_PANEL_ROWS) {
        float *panel_out = out + (size_t)(n - row_begin) * w->columns;
#ifdef CAST_HAVE_AVX512_KERNEL
        if (path == CAST_KERNEL_AVX512) { dequantize_panel(w, n / CAST_PANEL_ROWS, panel_out); continue; }
#endif
#ifdef CAST_HAVE_AVX2_KERNEL
        if (path == CAST_KERNEL_AVX2) { cast_avx2_dequantize_panel(w, n / CAST_PANEL_ROWS, panel_out); continue; }
#endif
        dequantize_rows_portable(w, n, n + CAST_PANEL_ROWS, panel_out);
    }
    dequantize_rows_portable(w, n, row_end, out + (size_t)(n - row_begin) * w->columns);
}
