import Foundation
import CastTensor

extension GGUFFile {
    /// False when `CAST_SWIFT_PACKING=1`: quantized tensors are packed by the Swift decoder
    /// (`QuantizedGroups.decode`) instead of the C one (same values; tests compare them).
    static let packInC = ProcessInfo.processInfo.environment["CAST_SWIFT_PACKING"] != "1"

    /// A 2-D quantized tensor as a `PackedMatrix` (`[rowCount, rowLength]`), without a float32
    /// copy; nil when its type is not one of the group formats (F32, F16, BF16).
    public func packed(_ info: GGUFTensorInfo) throws -> PackedMatrix? {
        try packed(info, inC: Self.packInC)
    }

    /// As `packed(_:)`, decoding in C or with `QuantizedGroups.decode` (tests compare them).
    func packed(_ info: GGUFTensorInfo, inC: Bool) throws -> PackedMatrix? {
        guard let group = QuantizedGroups.groupSize(info.type) else { return nil }
        let type = info.type
        let matrix = try PackedMatrix(rows: info.rowCount, columns: info.rowLength, group: group,
                                      qRange: QuantizedGroups.qRange(type), offsets: QuantizedGroups.hasOffsets(type))
        guard let base = rawData(info).baseAddress else { return matrix }
        let blocksPerRow = info.rowLength / type.blockSize, groupsPerBlock = type.blockSize / group
        let rowBytes = info.rowByteCount, rows = info.rowCount
        let source = UncheckedSendable(base)
        // Whole panels of 16 rows per chunk: threads never share a cache line of the output.
        Parallel.forEach((rows + 15) / 16, grain: 64) { panels in
            // In C (every group format); the Swift loop below does the same, more slowly.
            let rowRange = (panels.lowerBound * 16)..<min(rows, panels.upperBound * 16)
            if inC, matrix.fill(ggmlType: type.rawValue, source: source.value, rowBytes: rowBytes, rows: rowRange) {
                return
            }
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
