import CastTensor

/// Decodes ggml's 8-bit-or-less block formats into groups of small integers with a scale and
/// an offset, `x = q·scale − offset`: the form `PackedMatrix` keeps, and the one decoder of
/// each format (the float32 dequantizers are built on it). Every format fits: Q4_0/Q5_0/Q8_0
/// are d·q (offset 0), Q4_1/Q5_1 are d·q + m (offset −m), Q4_K/Q5_K are (d·sc)·q − dmin·m per
/// 32 elements, Q6_K is (d·sc)·q per 16. q·scale is exact in float32 for all but Q6_K, where it
/// is the only rounding, so q·scale − offset rounds exactly as ggml's dequantizer does.
///
/// Block layouts (ggml-common.h): in the 32-element formats byte j's low nibble is element j
/// and its high nibble element j + 16, and bit j of the u32 of fifth bits belongs to element j.
/// Q4_K/Q5_K: fp16 d, fp16 dmin, 12 bytes of packed 6-bit scales and mins, (Q5_K: 32 bytes of
/// fifth bits, bit g of byte l for element l of group g), 128 bytes of nibbles (group 2i the
/// low nibbles of bytes 32i..<32i+32, group 2i+1 their high nibbles). Q6_K: 128 bytes of low
/// nibbles, 64 of 2-bit highs, 16 int8 scales, fp16 d; element l + 32k of a 128-element half
/// takes the low (k even) or high (k odd) nibble of ql[l + 32·(k & 1)] and bits 2k…2k+1 of qh[l].
enum QuantizedGroups {
    /// Elements sharing a scale: 16 for Q6_K, 32 for the rest; nil for types it cannot hold.
    static func groupSize(_ type: GGMLType) -> Int? {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K: 32
        case .q6_K: 16
        default: nil
        }
    }

    /// Whether `type`'s groups have nonzero offsets (a minimum): decode gives +0 for every
    /// offset of Q4_0, Q5_0, Q8_0 and Q6_K, so their packed matrices leave the offsets out.
    static func hasOffsets(_ type: GGMLType) -> Bool {
        switch type {
        case .q4_0, .q5_0, .q8_0, .q6_K: false
        default: true
        }
    }

    /// The values q takes in `type`'s groups (decode's output): the layout `PackedMatrix`
    /// chooses follows it (4 bits for Q4_0, Q4_1, Q4_K).
    static func qRange(_ type: GGMLType) -> ClosedRange<Int> {
        switch type {
        case .q4_0: -8...7
        case .q4_1, .q4_K: 0...15
        case .q5_0: -16...15
        case .q5_1, .q5_K: 0...31
        case .q6_K: -32...31
        default: -128...127
        }
    }

    /// One block of `type` into `type.blockSize` values of q and one scale and offset per group.
    static func decode(_ type: GGMLType, _ block: UnsafeRawPointer, q: UnsafeMutablePointer<Int8>,
                       scales: UnsafeMutablePointer<Float>, offsets: UnsafeMutablePointer<Float>) {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1:
            let hasMin = type == .q4_1 || type == .q5_1, fifth = type == .q5_0 || type == .q5_1
            let d = HalfBits.load(block), m: Float = hasMin ? HalfBits.load(block, 2) : 0
            let headerBytes = hasMin ? 4 : 2
            let high = fifth ? UInt32(littleEndian: block.loadUnaligned(fromByteOffset: headerBytes, as: UInt32.self)) : 0
            let nibbles = (block + headerBytes + (fifth ? 4 : 0)).assumingMemoryBound(to: UInt8.self)
            let center: Int32 = hasMin ? 0 : (fifth ? 16 : 8)
            for j in 0..<16 {
                let lowHigh = Int32((high >> UInt32(j)) & 1) << 4, highHigh = Int32((high >> UInt32(j + 16)) & 1) << 4
                q[j] = Int8((Int32(nibbles[j] & 0x0F) | lowHigh) - center)
                q[j + 16] = Int8((Int32(nibbles[j] >> 4) | highHigh) - center)
            }
            scales[0] = d
            offsets[0] = hasMin ? -m : 0  // +0, not −0: (−0)·d − 0 must stay −0 as in ggml
        case .q8_0:
            scales[0] = HalfBits.load(block)
            offsets[0] = 0
            q.update(from: (block + 2).assumingMemoryBound(to: Int8.self), count: 32)
        case .q4_K, .q5_K:
            let fifth = type == .q5_K
            var sc: (Float, Float, Float, Float, Float, Float, Float, Float) = (0, 0, 0, 0, 0, 0, 0, 0)
            var mn = sc
            scalesAndMins((block + 4).assumingMemoryBound(to: UInt8.self),
                                      d: HalfBits.load(block), dmin: HalfBits.load(block, 2), scales: &sc, mins: &mn)
            withUnsafeBytes(of: sc) { scales.update(from: $0.bindMemory(to: Float.self).baseAddress!, count: 8) }
            withUnsafeBytes(of: mn) { offsets.update(from: $0.bindMemory(to: Float.self).baseAddress!, count: 8) }
            let qh = (block + 16).assumingMemoryBound(to: UInt8.self)
            let qs = (block + (fifth ? 48 : 16)).assumingMemoryBound(to: UInt8.self)
            for i in 0..<4 {
                for l in 0..<32 {
                    let h0: UInt8 = fifth ? ((qh[l] >> UInt8(2 * i)) & 1) << 4 : 0
                    let h1: UInt8 = fifth ? ((qh[l] >> UInt8(2 * i + 1)) & 1) << 4 : 0
                    q[64 * i + l] = Int8((qs[32 * i + l] & 0x0F) | h0)
                    q[64 * i + 32 + l] = Int8((qs[32 * i + l] >> 4) | h1)
                }
            }
        case .q6_K:
            let d = HalfBits.load(block, 208)
            let sc = (block + 192).assumingMemoryBound(to: Int8.self)
            for g in 0..<16 { scales[g] = d * Float(sc[g]); offsets[g] = 0 }
            for half in 0..<2 {
                let ql = (block + 64 * half).assumingMemoryBound(to: UInt8.self)
                let qh = (block + 128 + 32 * half).assumingMemoryBound(to: UInt8.self)
                for k in 0..<4 {
                    let low = ql + 32 * (k & 1), nibbleShift = UInt8(4 * (k >> 1)), highShift = UInt8(2 * k)
                    for l in 0..<32 {
                        let v = ((low[l] >> nibbleShift) & 0x0F) | (((qh[l] >> highShift) & 3) << 4)
                        q[128 * half + 32 * k + l] = Int8(Int32(v) - 32)
                    }
                }
            }
        default:
            preconditionFailure("QuantizedGroups.decode: \(type.name) has no group form")
        }
    }

    /// `blocks` blocks of `type` as float32: q·scale − offset per element.
    static func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        guard let group = groupSize(type) else { preconditionFailure("QuantizedGroups.dequantize: \(type.name)") }
        let size = type.blockSize, groups = size / group
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { q in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { factors in
                let q = q.baseAddress!, scales = factors.baseAddress!, offsets = scales + 16
                for b in 0..<blocks {
                    decode(type, src + b * type.bytesPerBlock, q: q, scales: scales, offsets: offsets)
                    let y = dst + b * size
                    for g in 0..<groups {
                        let scale = scales[g], offset = offsets[g]
                        for i in (g * group)..<((g + 1) * group) { y[i] = Float(q[i]) * scale - offset }
                    }
                }
            }
        }
    }

    /// Unpacks the eight (scale, min) pairs of a Q4_K/Q5_K super-block. Bytes 0–3 hold the
    /// low 6 bits of scales 0–3 (top 2 bits: high bits of scales 4–7), bytes 4–7 the same
    /// for mins, bytes 8–11 the low nibbles of scales 4–7 and (high nibble) mins 4–7.
    @inline(__always)
    static func scalesAndMins(_ s: UnsafePointer<UInt8>, d: Float, dmin: Float,
                              scales: inout (Float, Float, Float, Float, Float, Float, Float, Float),
                              mins: inout (Float, Float, Float, Float, Float, Float, Float, Float)) {
        withUnsafeMutableBytes(of: &scales) { sp in
            withUnsafeMutableBytes(of: &mins) { mp in
                let sc = sp.bindMemory(to: Float.self), mn = mp.bindMemory(to: Float.self)
                for j in 0..<4 {
                    sc[j] = d * Float(s[j] & 63)
                    mn[j] = dmin * Float(s[j + 4] & 63)
                    sc[j + 4] = d * Float((s[j + 8] & 0x0F) | ((s[j] >> 6) << 4))
                    mn[j + 4] = dmin * Float((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4))
                }
            }
        }
    }
}
