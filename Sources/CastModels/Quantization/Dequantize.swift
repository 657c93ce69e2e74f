import CastTensor

/// Dequantization of ggml tensor data to Float32.
public enum Dequantize {
    /// Types with a dequantizer.
    public static let supportedTypes: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

    public static func supports(_ type: GGMLType) -> Bool { supportedTypes.contains(type) }

    typealias Kernel = (UnsafeRawPointer, UnsafeMutablePointer<Float>, Int) -> Void

    /// The block kernel for `type`, nil when there is none.
    static func kernel(_ type: GGMLType) -> Kernel? {
        switch type {
        case .f32: return { DequantizeFloat.f32($0, $1, count: $2) }
        case .f16: return { DequantizeFloat.f16($0, $1, count: $2) }
        case .bf16: return { DequantizeFloat.bf16($0, $1, count: $2) }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K:
            return { QuantizedGroups.dequantize(type, $0, $1, blocks: $2) }
        default: return nil
        }
    }

    static func unsupported(_ type: GGMLType, file: String = "<memory>", offset: Int? = nil, field: String = "type") -> GGUFError {
        GGUFError(.unsupportedTensorType, file: file, offset: offset, field: field,
                  "no dequantizer for \(type.name); supported: \(supportedTypes.map(\.name).joined(separator: ", "))")
    }

    /// Dequantizes `blocks` whole blocks of `type` from `source` into `destination`
    /// (`blocks · type.blockSize` floats), on the calling thread.
    public static func blocks(_ type: GGMLType, from source: UnsafeRawPointer,
                              into destination: UnsafeMutablePointer<Float>, blocks: Int) throws {
        guard let kernel = kernel(type) else { throw unsupported(type) }
        kernel(source, destination, blocks)
    }

    /// Dequantizes `blocks` blocks split across cores (chunks of whole blocks).
    public static func parallelBlocks(_ type: GGMLType, from source: UnsafeRawPointer,
                                      into destination: UnsafeMutablePointer<Float>, blocks: Int) throws {
        guard let kernel = kernel(type) else { throw unsupported(type) }
        // ~16k elements per chunk keeps thread start-up cost negligible.
        let grain = max(1, 16_384 / type.blockSize)
        let src = UncheckedSendable(source), dst = UncheckedSendable(destination)
        Parallel.forEach(blocks, grain: grain) { range in
            kernel(src.value + range.lowerBound * type.bytesPerBlock, dst.value + range.lowerBound * type.blockSize, range.count)
        }
    }
}

extension GGUFFile {
    /// Dequantizes a whole tensor to Float32 with its row-major shape (ne reversed).
    public func dequantize(_ name: String) throws -> Tensor {
        try dequantize(tensorInfo(name))
    }

    public func dequantize(_ info: GGUFTensorInfo) throws -> Tensor {
        var out = Tensor(zeros: [0])
        try dequantize(info, into: &out)
        return out
    }

    /// Dequantizes a whole tensor into `out`, reusing its storage when large enough.
    public func dequantize(_ info: GGUFTensorInfo, into out: inout Tensor) throws {
        try checkSupported(info)
        out.reuse(shape: info.shape)
        try Dequantize.parallelBlocks(info.type, from: rawData(info).baseAddress ?? bytes.base,
                                      into: out.mutableData, blocks: info.elementCount / info.type.blockSize)
    }

    /// Dequantizes rows `rows` of a tensor seen as `[rowCount, rowLength]` (every dimension
    /// but ne[0] folded into rows): an embedding lookup without dequantizing the table.
    /// Returns shape `[rows.count, rowLength]`.
    public func dequantizeRows(_ name: String, _ rows: Range<Int>) throws -> Tensor {
        try dequantizeRows(tensorInfo(name), rows)
    }

    public func dequantizeRows(_ info: GGUFTensorInfo, _ rows: Range<Int>) throws -> Tensor {
        var out = Tensor(zeros: [0])
        try dequantizeRows(info, rows, into: &out)
        return out
    }

    public func dequantizeRows(_ info: GGUFTensorInfo, _ rows: Range<Int>, into out: inout Tensor) throws {
        try checkSupported(info)
        guard rows.lowerBound >= 0, rows.upperBound <= info.rowCount else {
            throw GGUFError(.badRange, file: path, offset: nil, field: "tensor \"\(info.name)\"",
                            "rows \(rows) outside 0..<\(info.rowCount) (shape \(info.shape))")
        }
        out.reuse(shape: [rows.count, info.rowLength])
        let blocksPerRow = info.rowLength / info.type.blockSize
        let source = rawData(info).baseAddress.map { $0 + rows.lowerBound * info.rowByteCount } ?? bytes.base
        try Dequantize.parallelBlocks(info.type, from: source, into: out.mutableData, blocks: rows.count * blocksPerRow)
    }

    /// Dequantizes one row into `destination` (`rowLength` floats) on the calling thread;
    /// for gathering scattered rows, e.g. the tokens of a batch.
    public func dequantizeRow(_ info: GGUFTensorInfo, _ row: Int, into destination: UnsafeMutablePointer<Float>) throws {
        try checkSupported(info)
        guard row >= 0, row < info.rowCount else {
            throw GGUFError(.badRange, file: path, offset: nil, field: "tensor \"\(info.name)\"",
                            "row \(row) outside 0..<\(info.rowCount) (shape \(info.shape))")
        }
        guard let base = rawData(info).baseAddress else { return }
        try Dequantize.blocks(info.type, from: base + row * info.rowByteCount, into: destination,
                              blocks: info.rowLength / info.type.blockSize)
    }

    private func checkSupported(_ info: GGUFTensorInfo) throws {
        guard Dequantize.supports(info.type) else {
            throw Dequantize.unsupported(info.type, file: path, offset: info.fileOffset, field: "tensor \"\(info.name)\".type")
        }
    }
}
