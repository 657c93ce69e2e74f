#ifndef CAST_PACKED_LAYOUT_H
#define CAST_PACKED_LAYOUT_H
// Reading a packed matrix's groups in any layout (packed_matrix.h): int8 q, or q in 4 or 5
// bits. Private to CKernels. Each kernel either reads q through cast_group_q (portable) or
// unpacks a 4- or 5-bit group into the int8 form first (vector paths), then runs its usual
// loop, so every layout gives the same bits.
#include "packed_matrix.h"
#include <stdlib.h>

/// Start of the group holding columns g·group … of panel `panel` (its q; factors follow).
static inline const int8_t *cast_group_base(const CastPackedMatrix *w, int panel, int g) {
    return w->data + cast_packed_group_offset(w->rows, panel * CAST_PANEL_ROWS, g, w->columns, w->group, w->bits,
                                              w->offsets);
}

/// Bytes from one group of `panel` to its next: a group of each panel of its quad.
static inline size_t cast_group_step(const CastPackedMatrix *w, int panel) {
    return (size_t)cast_packed_quad_panels(w->rows, panel) * cast_packed_group_bytes(w->group, w->bits, w->offsets);
}

/// Asks for the group 2 steps after the one at `base` of a panel read with `step`
/// (cast_group_step): a lone panel of an interleaved quad is a strided stream, which the
/// hardware prefetchers leave behind (products of 12 rows from memory ran ~20 % slower than
/// on the layout of one panel after another, Zen 5; within 0–3 % with this).
static inline __attribute__((always_inline)) void cast_prefetch_group(const CastPackedMatrix *w, const int8_t *base,
                                                                      size_t step) {
    const size_t bytes = cast_packed_group_bytes(w->group, w->bits, w->offsets);
    for (size_t i = 0; i < bytes; i += 64) __builtin_prefetch(base + 2 * step + i, 0, 3);
}

/// Panels per block of ~256 KiB of weights: the products walk panels in such blocks, so a
/// block stays in L2 while every tile of rows passes over it.
static inline int cast_panel_block(const CastPackedMatrix *w) {
    const size_t panel_bytes = cast_packed_panel_bytes(w->columns, w->group, w->bits, w->offsets);
    const int block = (int)((256 * 1024) / (panel_bytes ? panel_bytes : 1));
    return block < 1 ? 1 : block;
}

/// The group's 16 scales.
static inline const float *cast_group_factors(const CastPackedMatrix *w, const int8_t *base) {
    return (const float *)(base + cast_packed_q_bytes(w->group, w->bits));
}

/// The offsets of a matrix that leaves them out: 16 × +0, as stored ones would be.
static const float cast_zero_offsets[CAST_PANEL_ROWS] __attribute__((aligned(64), unused)) = {0};

/// The group's 16 offsets: after its scales, or +0 when the matrix leaves them out.
static inline const float *cast_group_offsets(const CastPackedMatrix *w, const int8_t *base) {
    return w->offsets ? cast_group_factors(w, base) + CAST_PANEL_ROWS : cast_zero_offsets;
}

/// q of column k (within the group) and lane of a group, in any layout.
static inline __attribute__((always_inline)) int cast_group_q(const CastPackedMatrix *w, const int8_t *base,
                                                              int k, int lane) {
    if (w->bits == 8) return base[k * CAST_PANEL_ROWS + lane];
    const int half = w->group / 2;
    const uint8_t byte = (uint8_t)base[(k < half ? k : k - half) * CAST_PANEL_ROWS + lane];
    int q = k < half ? byte & 15 : byte >> 4;
    if (w->bits == 5) {
        const uint8_t *fifth = (const uint8_t *)base + w->group * CAST_PANEL_ROWS / 2;
        q |= ((fifth[2 * k + lane / 8] >> (lane % 8)) & 1) << 4;
    }
    return q - w->bias;
}

/// A 4- or 5-bit group's q as the int8 layout's (group × 16 bytes into `out`, 64-byte aligned).
static inline void cast_unpack_group_portable(const CastPackedMatrix *w, const int8_t *base, int8_t *out) {
    for (int k = 0; k < w->group; k++)
        for (int lane = 0; lane < CAST_PANEL_ROWS; lane++)
            out[k * CAST_PANEL_ROWS + lane] = (int8_t)cast_group_q(w, base, k, lane);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

/// 32 bytes: 16 where bit j of the two 16-bit lane masks at `bits` (columns c, c + 1) is set.
__attribute__((target("avx2"), always_inline)) static inline __m256i cast_fifth_bits_avx2(const uint8_t *bits) {
    int32_t word;
    __builtin_memcpy(&word, bits, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(word),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select), _mm256_set1_epi8(16));
}

__attribute__((target("avx2"), always_inline)) static inline void cast_unpack_group_avx2(
        const CastPackedMatrix *w, const int8_t *base, int8_t *out) {
    const int group = w->group, half = group / 2 * CAST_PANEL_ROWS;
    const uint8_t *fifth = (const uint8_t *)base + half;
    const __m256i low = _mm256_set1_epi8(15), b = _mm256_set1_epi8((char)w->bias);
    for (int i = 0; i < half; i += 32) {
        const __m256i v = _mm256_load_si256((const __m256i *)(base + i));
        __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
        if (w->bits == 5) {
            // Bytes i … i + 31 are columns i/16, i/16 + 1 (low nibbles) and group/2 more (high).
            lo = _mm256_or_si256(lo, cast_fifth_bits_avx2(fifth + 2 * (i / 16)));
            hi = _mm256_or_si256(hi, cast_fifth_bits_avx2(fifth + 2 * (group / 2 + i / 16)));
        }
        _mm256_store_si256((__m256i *)(out + i), _mm256_sub_epi8(lo, b));
        _mm256_store_si256((__m256i *)(out + half + i), _mm256_sub_epi8(hi, b));
    }
}

/// This thread's scratch of at least `bytes` bytes, 64-byte aligned (grown as needed, kept for
/// the thread's life); 0 when it cannot be had.
static inline int8_t *cast_panel_scratch(size_t bytes) {
    static _Thread_local int8_t *scratch;
    static _Thread_local size_t capacity;
    if (bytes > capacity) {
        free(scratch);
        capacity = (bytes + 63) / 64 * 64;
        scratch = aligned_alloc(64, capacity);
        if (!scratch) capacity = 0;
    }
    return scratch;
}

/// A 4- or 5-bit panel unpacked once into the 8-bit layout at `buffer` (each group's q as
/// int8, then its factors: cast_packed_panel_bytes(columns, group, 8, offsets) bytes), returned as a
/// one-panel matrix. The AVX2 tiles run a tile of rows as several passes over a panel (16
/// registers hold 6 rows' accumulators); unpacking once instead of once per pass made 4/5-bit
/// products 5–8 % faster on that path (Zen 5, 128 rows). The q are the same, so are the bits.
__attribute__((target("avx2"))) static inline CastPackedMatrix cast_unpack_panel_avx2(
        const CastPackedMatrix *w, int panel, int8_t *buffer) {
    const int group = w->group, groups = w->columns / group;
    const size_t q_bytes = cast_packed_q_bytes(group, w->bits), q8 = cast_packed_q_bytes(group, 8);
    const size_t factor_bytes = cast_packed_factor_bytes(w->offsets);
    const size_t step = cast_group_step(w, panel);
    const int8_t *base = cast_group_base(w, panel, 0);
    int8_t *out = buffer;
    for (int g = 0; g < groups; g++, base += step, out += q8 + factor_bytes) {
        cast_unpack_group_avx2(w, base, out);
        __builtin_memcpy(out + q8, base + q_bytes, factor_bytes);
    }
    const CastPackedMatrix unpacked = {buffer, CAST_PANEL_ROWS, w->columns, group, 8, 0, w->offsets};
    return unpacked;
}

__attribute__((target("avx512f,avx512bw"), always_inline)) static inline void cast_unpack_group_avx512(
        const CastPackedMatrix *w, const int8_t *base, int8_t *out) {
    const int group = w->group, half = group / 2 * CAST_PANEL_ROWS;
    const uint8_t *fifth = (const uint8_t *)base + half;
    const __m512i low = _mm512_set1_epi8(15), b = _mm512_set1_epi8((char)w->bias), sixteen = _mm512_set1_epi8(16);
    for (int i = 0; i < half; i += 64) {
        const __m512i v = _mm512_load_si512((const void *)(base + i));
        __m512i lo = _mm512_and_si512(v, low), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
        if (w->bits == 5) {
            // 64 bytes are 4 columns × 16 lanes: their four 16-bit lane masks are one 64-bit mask.
            uint64_t lo_bits, hi_bits;
            __builtin_memcpy(&lo_bits, fifth + 2 * (i / 16), 8);
            __builtin_memcpy(&hi_bits, fifth + 2 * (group / 2 + i / 16), 8);
            lo = _mm512_or_si512(lo, _mm512_maskz_mov_epi8(lo_bits, sixteen));
            hi = _mm512_or_si512(hi, _mm512_maskz_mov_epi8(hi_bits, sixteen));
        }
        _mm512_store_si512((void *)(out + i), _mm512_sub_epi8(lo, b));
        _mm512_store_si512((void *)(out + half + i), _mm512_sub_epi8(hi, b));
    }
}
#endif

#endif
