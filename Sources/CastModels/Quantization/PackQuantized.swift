import CastTensor

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
