/// Where one tensor lives in a GGUF file and how it is laid out.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml `ne` order: `dimensions[0]` is the contiguous dimension.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Byte offset of the data relative to the file's data section.
    public let offset: Int
    /// Absolute byte offset of the data in the file.
    public let fileOffset: Int
    public let elementCount: Int
    public let byteCount: Int

    /// Row-major shape (ne reversed): a weight with ne `[in, out]` has shape `[out, in]`.
    public var shape: [Int] { dimensions.reversed() }

    /// Elements in one row (ne[0]).
    public var rowLength: Int { dimensions.first ?? 1 }

    /// Rows: the product of every dimension but the contiguous one.
    public var rowCount: Int { rowLength == 0 ? 0 : elementCount / rowLength }

    /// Bytes in one row of the stored (possibly quantized) data.
    public var rowByteCount: Int { rowLength / type.blockSize * type.bytesPerBlock }
}
