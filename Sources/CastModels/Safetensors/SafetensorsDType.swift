/// The element types cast reads and writes in safetensors files. Reading widens to float32
/// exactly; writing F16/BF16 rounds to nearest even, as PyTorch and numpy do.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"

    public var byteSize: Int { self == .f32 ? 4 : 2 }

    /// The official library's dtype order; its writer puts higher ranks first.
    var serializationRank: Int {
        switch self {
        case .f16: 0
        case .bf16: 1
        case .f32: 2
        }
    }

    /// Widens `count` little-endian elements at `src` into `dst`.
    func decode(_ src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .f32: DequantizeFloat.f32(src, dst, count: count)
        case .f16: DequantizeFloat.f16(src, dst, count: count)
        case .bf16: DequantizeFloat.bf16(src, dst, count: count)
        }
    }

    /// Narrows `count` floats into little-endian elements at `dst`.
    func encode(_ src: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int) {
        switch self {
        case .f32:
            for i in 0..<count { dst.storeBytes(of: src[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        case .f16:
            for i in 0..<count { dst.storeBytes(of: Float16(src[i]).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16:
            for i in 0..<count { dst.storeBytes(of: Self.bfloat16Bits(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        }
    }

    /// float32 → bfloat16 with round-to-nearest-even; NaNs stay (quiet) NaNs.
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }
}
