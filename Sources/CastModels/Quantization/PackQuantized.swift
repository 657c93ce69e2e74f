import CastTensor

/// Decodes ggml's 8-bit-or-less block formats into groups of small integers with a scale and
/// an offset, `x = q·scale − offset`, the form `PackedMatrix` keeps. Every format fits:
/// Q4_0/Q5_0/Q8_0 are d·q (offset 0), Q4_1/Q5_1 are d·q + m (offset −m), Q4_K/Q5_K are
/// (d·sc)·q − dmin·m per 32 elements, Q6_K is (d·sc)·q per 16. q·scale is exact in float32
/// in each, so one fused multiply-subtract rounds exactly as ggml's dequantizer does.
enum QuantizedGroups {
    /// Elements sharing a scale: 16 for Q6_K, 32 for the rest; nil for types it cannot hold.
    static func groupSize(_ type: GGMLType) -> Int? {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K: 32
        case .q6_K: 16
        default: nil
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
            DequantizeK.scalesAndMins((block + 4).assumingMemoryBound(to: UInt8.self),
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
}

extension GGUFFile {
    /// A 2-D quantized tensor as a `PackedMatrix` (`[rowCount, rowLength]`), without a float32
    /// copy; nil when its type is not one of the group formats (F32, F16, BF16).
    public func packed(_ info: GGUFTensorInfo) throws -> PackedMatrix? {
        guard let group = QuantizedGroups.groupSize(info.type) else { return nil }
        let type = info.type
        let matrix = try PackedMatrix(rows: info.rowCount, columns: info.rowLength, group: group)
        guard let base = rawData(info).baseAddress else { return matrix }
        let blocksPerRow = info.rowLength / type.blockSize, groupsPerBlock = type.blockSize / group
        let rowBytes = info.rowByteCount, rows = info.rowCount
        let source = UncheckedSendable(base)
        // Whole panels of 16 rows per chunk: threads never share a cache line of the output.
        Parallel.forEach((rows + 15) / 16, grain: 64) { panels in
            var q = [Int8](repeating: 0, count: 256), scales = [Float](repeating: 0, count: 16), offsets = scales
            q.withUnsafeMutableBufferPointer { q in
                scales.withUnsafeMutableBufferPointer { scales in
                    offsets.withUnsafeMutableBufferPointer { offsets in
                        for row in (panels.lowerBound * 16)..<min(rows, panels.upperBound * 16) {
                            for b in 0..<blocksPerRow {
                                QuantizedGroups.decode(type, source.value + row * rowBytes + b * type.bytesPerBlock,
                                                       q: q.baseAddress!, scales: scales.baseAddress!, offsets: offsets.baseAddress!)
                                for g in 0..<groupsPerBlock {
                                    matrix.setGroup(row: row, group: b * groupsPerBlock + g, values: q.baseAddress! + g * group,
                                                    scale: scales[g], offset: offsets[g])
                                }
                            }
                        }
                    }
                }
            }
        }
        return matrix
    }
}
