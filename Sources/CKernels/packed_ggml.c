// Packing ggml's block formats straight into a CastPackedMatrix (load time): one decoder per
// format, the same values as QuantizedGroups.decode in Swift (which defines them and is
// what the float32 dequantizers use; tests compare the two through the gguf package's
// values), written into whichever layout the matrix has (8, 5 or 4 bits).
#include "packed_matrix.h"
#include <string.h>

/// IEEE binary16 → float, exactly (every half is a float).
static float half_to_float(const uint8_t *p) {
    const uint16_t h = (uint16_t)(p[0] | p[1] << 8);
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 31, mantissa = h & 1023, bits;
    if (exponent == 31) bits = sign | 0x7F800000u | mantissa << 13;
    else if (exponent != 0) bits = sign | (exponent + 112) << 23 | mantissa << 13;
    else if (mantissa == 0) bits = sign;
    else {  // subnormal half: normalise
        exponent = 113;
        while (!(mantissa & 1024)) { mantissa <<= 1; exponent--; }
        bits = sign | exponent << 23 | (mantissa & 1023) << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// One block into q (block size values), scales and offsets (one per group).
static int decode_block(int type, const uint8_t *b, int8_t *q, float *scales, float *offsets) {
    switch (type) {
    case CAST_GGML_Q4_0: case CAST_GGML_Q4_1: case CAST_GGML_Q5_0: case CAST_GGML_Q5_1: {
        const int has_min = type == CAST_GGML_Q4_1 || type == CAST_GGML_Q5_1;
        const int fifth = type == CAST_GGML_Q5_0 || type == CAST_GGML_Q5_1;
        const int header = has_min ? 4 : 2, center = has_min ? 0 : (fifth ? 16 : 8);
        uint32_t high = 0;
        if (fifth) high = (uint32_t)b[header] | (uint32_t)b[header + 1] << 8 | (uint32_t)b[header + 2] << 16 | (uint32_t)b[header + 3] << 24;
        const uint8_t *nibbles = b + header + (fifth ? 4 : 0);
        for (int j = 0; j < 16; j++) {
            q[j] = (int8_t)(((nibbles[j] & 15) | ((high >> j) & 1) << 4) - center);
            q[j + 16] = (int8_t)(((nibbles[j] >> 4) | ((high >> (j + 16)) & 1) << 4) - center);
        }
        scales[0] = half_to_float(b);
        offsets[0] = has_min ? -half_to_float(b + 2) : 0.0f;
        return 1;
    }
    case CAST_GGML_Q8_0:
        scales[0] = half_to_float(b);
        offsets[0] = 0.0f;
        memcpy(q, b + 2, 32);
        return 1;
    case CAST_GGML_Q4_K: case CAST_GGML_Q5_K: {
        const int fifth = type == CAST_GGML_Q5_K;
        const float d = half_to_float(b), dmin = half_to_float(b + 2);
        const uint8_t *s = b + 4;
        for (int j = 0; j < 4; j++) {
            scales[j] = d * (float)(s[j] & 63);
            offsets[j] = dmin * (float)(s[j + 4] & 63);
            scales[j + 4] = d * (float)((s[j + 8] & 15) | ((s[j] >> 6) << 4));
            offsets[j + 4] = dmin * (float)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
        }
        const uint8_t *qh = b + 16, *qs = b + (fifth ? 48 : 16);
        for (int i = 0; i < 4; i++)
            for (int l = 0; l < 32; l++) {
                const int h0 = fifth ? ((qh[l] >> (2 * i)) & 1) << 4 : 0;
                const int h1 = fifth ? ((qh[l] >> (2 * i + 1)) & 1) << 4 : 0;
                q[64 * i + l] = (int8_t)((qs[32 * i + l] & 15) | h0);
                q[64 * i + 32 + l] = (int8_t)((qs[32 * i + l] >> 4) | h1);
            }
        return 1;
    }
    case CAST_GGML_Q6_K: {
        const float d = half_to_float(b + 208);
        const int8_t *sc = (const int8_t *)(b + 192);
        for (int g = 0; g < 16; g++) { scales[g] = d * (float)sc[g]; offsets[g] = 0.0f; }
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = b + 64 * half, *qh = b + 128 + 32 * half;
            for (int k = 0; k < 4; k++) {
                const uint8_t *low = ql + 32 * (k & 1);
                const int nibble_shift = 4 * (k >> 1), high_shift = 2 * k;
                for (int l = 0; l < 32; l++) {
                    const int v = ((low[l] >> nibble_shift) & 15) | ((qh[l] >> high_shift) & 3) << 4;
                    q[128 * half + 32 * k + l] = (int8_t)(v - 32);
                }
            }
        }
        return 1;
    }
    default:
        return 0;
    }
}

/// Writes one row's group of q, scale and offset into the matrix's layout.
static void set_group(const CastPackedMatrix *w, int row, int g, const int8_t *q, float scale, float offset) {
    uint8_t *base = (uint8_t *)w->data + cast_packed_group_offset(w->rows, row, g, w->columns, w->group, w->bits, w->offsets);
    const int lane = row % CAST_PANEL_ROWS, group = w->group;
    if (w->bits == 8) {
        for (int k = 0; k < group; k++) base[k * CAST_PANEL_ROWS + lane] = (uint8_t)q[k];
    } else {
        const int half = group / 2;
        uint8_t *fifth = base + half * CAST_PANEL_ROWS;
        const uint8_t bit = (uint8_t)(1u << (lane % 8));
        for (int k = 0; k < half; k++) {
            const int low = q[k] + w->bias, high = q[k + half] + w->bias;
            base[k * CAST_PANEL_ROWS + lane] = (uint8_t)((low & 15) | (high & 15) << 4);
            if (w->bits == 5) {
                uint8_t *a = fifth + 2 * k + lane / 8, *b = fifth + 2 * (k + half) + lane / 8;
                *a = (uint8_t)(low & 16 ? *a | bit : *a & ~bit);
                *b = (uint8_t)(high & 16 ? *b | bit : *b & ~bit);
            }
        }
    }
    float *factors = (float *)(base + cast_packed_q_bytes(group, w->bits));
    factors[lane] = scale;
    if (w->offsets) factors[CAST_PANEL_ROWS + lane] = offset;
}

int cast_pack_ggml_rows(int type, const void *source, size_t row_bytes, int row_begin, int row_end,
                        const CastPackedMatrix *w) {
    int block_size, block_bytes, group;
    switch (type) {
    case CAST_GGML_Q4_0: block_size = 32; block_bytes = 18; group = 32; break;
    case CAST_GGML_Q4_1: block_size = 32; block_bytes = 20; group = 32; break;
    case CAST_GGML_Q5_0: block_size = 32; block_bytes = 22; group = 32; break;
    case CAST_GGML_Q5_1: block_size = 32; block_bytes = 24; group = 32; break;
    case CAST_GGML_Q8_0: block_size = 32; block_bytes = 34; group = 32; break;
    case CAST_GGML_Q4_K: block_size = 256; block_bytes = 144; group = 32; break;
    case CAST_GGML_Q5_K: block_size = 256; block_bytes = 176; group = 32; break;
    case CAST_GGML_Q6_K: block_size = 256; block_bytes = 210; group = 16; break;
    default: return 0;
    }
    if (w->group != group || w->columns % block_size != 0) return 0;
    // Without stored offsets only the formats whose offsets are all +0 fit.
    if (!w->offsets && (type == CAST_GGML_Q4_1 || type == CAST_GGML_Q5_1 || type == CAST_GGML_Q4_K
                        || type == CAST_GGML_Q5_K)) return 0;
    const int blocks = w->columns / block_size, groups = block_size / group;
    int8_t q[256];
    float scales[16], offsets[16];
    for (int row = row_begin; row < row_end; row++) {
        const uint8_t *src = (const uint8_t *)source + (size_t)row * row_bytes;
        for (int b = 0; b < blocks; b++) {
            decode_block(type, src + (size_t)b * block_bytes, q, scales, offsets);
            for (int g = 0; g < groups; g++)
                set_group(w, row, b * groups + g, q + g * group, scales[g], offsets[g]);
        }
    }
    return 1;
}
