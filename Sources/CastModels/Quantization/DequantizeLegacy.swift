/// The 32-element block formats (ggml `block_q4_0` … `block_q8_0`).
///
/// In every 4-bit and 5-bit block, byte j's low nibble is element j and its high nibble
/// element j + 16. Values are d·q (symmetric types, q centred by subtracting 8 or 16) or
/// d·q + m (the `_1` types), computed in float32 in that order so results equal ggml's and
/// the `gguf` Python package's bit for bit.
enum DequantizeLegacy {
    /// Q4_0: fp16 d, 16 bytes of nibbles; x = (q − 8)·d.
    static func q4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 18
            let d = HalfBits.load(block)
            let qs = (block + 2).assumingMemoryBound(to: UInt8.self)
            let y = dst + b * 32
            for j in 0..<16 {
                y[j] = Float(Int32(qs[j] & 0x0F) - 8) * d
                y[j + 16] = Float(Int32(qs[j] >> 4) - 8) * d
            }
        }
    }

    /// Q4_1: fp16 d, fp16 m, 16 bytes of nibbles; x = q·d + m.
    static func q4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 20
            let d = HalfBits.load(block), m = HalfBits.load(block, 2)
            let qs = (block + 4).assumingMemoryBound(to: UInt8.self)
            let y = dst + b * 32
            for j in 0..<16 {
                y[j] = Float(qs[j] & 0x0F) * d + m
                y[j + 16] = Float(qs[j] >> 4) * d + m
            }
        }
    }

    /// Byte k of entry b is 16 when bit k of b is set: spreads a byte of fifth bits over
    /// eight elements with one lookup instead of eight variable shifts.
    static let fifthBits: [UInt64] = (0..<256).map { (b: Int) -> UInt64 in
        var spread: UInt64 = 0
        for k in 0..<8 where (b >> k) & 1 == 1 { spread |= UInt64(16) << UInt64(8 * k) }
        return spread
    }

    /// The 32 fifth bits of a Q5 block as 32 bytes of 0 or 16, element order.
    @inline(__always)
    static func spread(_ qh: UInt32, _ table: UnsafePointer<UInt64>) -> (UInt64, UInt64, UInt64, UInt64) {
        (table[Int(qh & 0xFF)], table[Int((qh >> 8) & 0xFF)], table[Int((qh >> 16) & 0xFF)], table[Int(qh >> 24)])
    }

    /// Q5_0: fp16 d, u32 of fifth bits (bit j → element j), 16 bytes of nibbles; x = (q − 16)·d.
    static func q5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        fifthBits.withUnsafeBufferPointer { table in
            let table = table.baseAddress!
            for b in 0..<blocks {
                let block = src + b * 22
                let d = HalfBits.load(block)
                let high = spread(UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)), table)
                let qs = (block + 6).assumingMemoryBound(to: UInt8.self)
                let y = dst + b * 32
                withUnsafeBytes(of: high) { h in
                    for j in 0..<16 {
                        y[j] = Float(Int32(qs[j] & 0x0F | h[j]) - 16) * d
                        y[j + 16] = Float(Int32(qs[j] >> 4 | h[j + 16]) - 16) * d
                    }
                }
            }
        }
    }

    /// Q5_1: fp16 d, fp16 m, u32 of fifth bits, 16 bytes of nibbles; x = q·d + m.
    static func q5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        fifthBits.withUnsafeBufferPointer { table in
            let table = table.baseAddress!
            for b in 0..<blocks {
                let block = src + b * 24
                let d = HalfBits.load(block), m = HalfBits.load(block, 2)
                let high = spread(UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self)), table)
                let qs = (block + 8).assumingMemoryBound(to: UInt8.self)
                let y = dst + b * 32
                withUnsafeBytes(of: high) { h in
                    for j in 0..<16 {
                        y[j] = Float(qs[j] & 0x0F | h[j]) * d + m
                        y[j + 16] = Float(qs[j] >> 4 | h[j + 16]) * d + m
                    }
                }
            }
        }
    }

    /// Q8_0: fp16 d, 32 signed bytes; x = q·d.
    static func q8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
        for b in 0..<blocks {
            let block = src + b * 34
            let d = HalfBits.load(block)
            let qs = (block + 2).assumingMemoryBound(to: Int8.self)
            let y = dst + b * 32
            for j in 0..<32 { y[j] = Float(qs[j]) * d }
        }
    }
}
