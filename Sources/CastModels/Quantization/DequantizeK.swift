/// The 256-element "K" super-block formats (ggml `block_q4_K`, `block_q5_K`, `block_q6_K`).
///
/// Q4_K and Q5_K split a super-block into eight 32-element groups, each with a 6-bit scale
/// and a 6-bit min packed into 12 bytes; x = (d·sc)·q − dmin·m. Q6_K has sixteen
/// 16-element groups with signed 8-bit scales; x = (d·sc)·(q − 32). Products are formed in
/// the same order as ggml and the `gguf` package, so results agree bit for bit.
enum DequantizeK {
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

    /// Q4_K: fp16 d, fp16 dmin, 12 scale bytes, 128 bytes of nibbles. Group 2i takes the low
    /// nibbles of bytes 32i..<32i+32, group 2i+1 their high nibbles.
    static func q4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        q4OrQ5_K(src, dst, blocks: blocks, fifthBits: false)
    }

    /// Q5_K: as Q4_K plus 32 bytes of fifth bits (before the nibbles): bit g of byte l is the
    /// fifth bit of element l of group g.
    static func q5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        q4OrQ5_K(src, dst, blocks: blocks, fifthBits: true)
    }

    /// The walk shared by Q4_K and Q5_K; `fifthBits` is a constant at each call, so the
    /// inlined loop keeps no branch.
    @inline(__always)
    private static func q4OrQ5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int,
                                 fifthBits: Bool) {
        let blockBytes = fifthBits ? 176 : 144, nibblesOffset = fifthBits ? 48 : 16
        var sc: (Float, Float, Float, Float, Float, Float, Float, Float) = (0, 0, 0, 0, 0, 0, 0, 0)
        var mn = sc
        for b in 0..<blocks {
            let block = src + b * blockBytes
            let packed = (block + 4).assumingMemoryBound(to: UInt8.self)
            scalesAndMins(packed, d: HalfBits.load(block), dmin: HalfBits.load(block, 2), scales: &sc, mins: &mn)
            let qh = (block + 16).assumingMemoryBound(to: UInt8.self)
            let qs = (block + nibblesOffset).assumingMemoryBound(to: UInt8.self)
            let y = dst + b * 256
            withUnsafeBytes(of: sc) { sp in
                withUnsafeBytes(of: mn) { mp in
                    let s = sp.bindMemory(to: Float.self), m = mp.bindMemory(to: Float.self)
                    for i in 0..<4 {
                        let q = qs + 32 * i, lo = y + 64 * i, hi = lo + 32
                        let d1 = s[2 * i], m1 = m[2 * i], d2 = s[2 * i + 1], m2 = m[2 * i + 1]
                        let shiftLo = UInt8(2 * i), shiftHi = UInt8(2 * i + 1)
                        for l in 0..<32 {
                            let h0: UInt8 = fifthBits ? ((qh[l] >> shiftLo) & 1) << 4 : 0
                            let h1: UInt8 = fifthBits ? ((qh[l] >> shiftHi) & 1) << 4 : 0
                            lo[l] = d1 * Float((q[l] & 0x0F) | h0) - m1
                            hi[l] = d2 * Float((q[l] >> 4) | h1) - m2
                        }
                    }
                }
            }
        }
    }

    /// Q6_K: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales, fp16 d.
    /// Each 128-element half uses 64 ql bytes and 32 qh bytes: element l + 32k (k = 0…3)
    /// takes the low (k even) or high (k odd) nibble of ql[l + 32·(k & 1)] and bits 2k…2k+1
    /// of qh[l].
    static func q6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 210
            let d = HalfBits.load(block, 208)
            let scales = (block + 192).assumingMemoryBound(to: Int8.self)
            for half in 0..<2 {
                let ql = (block + 64 * half).assumingMemoryBound(to: UInt8.self)
                let qh = (block + 128 + 32 * half).assumingMemoryBound(to: UInt8.self)
                let sc = scales + 8 * half
                let y = dst + b * 256 + 128 * half
                for k in 0..<4 {
                    let low = ql + 32 * (k & 1)
                    let nibbleShift = UInt8(4 * (k >> 1)), highShift = UInt8(2 * k)
                    let out = y + 32 * k
                    let s0 = d * Float(sc[2 * k]), s1 = d * Float(sc[2 * k + 1])
                    for l in 0..<16 {
                        let q = Int32(((low[l] >> nibbleShift) & 0x0F) | (((qh[l] >> highShift) & 3) << 4)) - 32
                        out[l] = s0 * Float(q)
                    }
                    for l in 16..<32 {
                        let q = Int32(((low[l] >> nibbleShift) & 0x0F) | (((qh[l] >> highShift) & 3) << 4)) - 32
                        out[l] = s1 * Float(q)
                    }
                }
            }
        }
    }
}
