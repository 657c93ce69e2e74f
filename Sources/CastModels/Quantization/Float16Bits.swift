/// Half- and bfloat16-precision bit patterns as stored in GGUF, converted to Float32.
///
/// Both conversions are exact (every fp16 and bf16 value is representable in fp32).
enum HalfBits {
    /// IEEE 754 binary16 → Float.
    @inline(__always)
    static func float(_ bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// bfloat16 (the top 16 bits of a float32) → Float.
    @inline(__always)
    static func bfloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Reads a little-endian fp16 at `offset` bytes past `p`.
    @inline(__always)
    static func load(_ p: UnsafeRawPointer, _ offset: Int = 0) -> Float {
        float(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
}
