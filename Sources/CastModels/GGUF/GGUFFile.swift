import Foundation

/// A GGUF model file, memory-mapped read-only.
///
/// Opening parses and validates the header, metadata and tensor infos; tensor data stays in
/// the mapping, which lives as long as this object, and is read (or dequantized) on demand.
public final class GGUFFile: @unchecked Sendable {
    /// The path (or name, for in-memory files) used in error messages.
    public let path: String
    public let version: UInt32
    public let metadata: GGUFMetadata
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute byte offset where the tensor data section starts.
    public let dataOffset: Int
    let bytes: GGUFBytes
    private let tensorIndex: [String: Int]

    /// Maps and parses the file at `url`.
    public convenience init(url: URL) throws {
        try self.init(path: url.path)
    }

    /// Maps and parses the file at `path`.
    public convenience init(path: String) throws {
        try self.init(bytes: GGUFBytes(mapping: path), name: path)
    }

    /// Parses a GGUF image held in memory (built by a writer, or received over the wire).
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
        try self.init(bytes: GGUFBytes(copying: bytes), name: name)
    }

    init(bytes: GGUFBytes, name: String) throws {
        var parser = GGUFParser(bytes: bytes.buffer, file: name)
        let result = try parser.parse()
        self.bytes = bytes
        path = name
        version = result.version
        metadata = result.metadata
        tensors = result.tensors
        alignment = result.alignment
        dataOffset = result.dataOffset
        tensorIndex = Dictionary(uniqueKeysWithValues: result.tensors.enumerated().map { ($1.name, $0) })
    }

    /// Total size of the file in bytes.
    public var byteCount: Int { bytes.count }

    /// `general.architecture`, e.g. `llama`, `qwen2`, `gemma3`.
    public var architecture: String { get throws { try metadata.string("general.architecture") } }

    public func contains(tensor name: String) -> Bool { tensorIndex[name] != nil }

    /// The info of tensor `name`; throws `missingKey` when absent.
    public func tensorInfo(_ name: String) throws -> GGUFTensorInfo {
        guard let i = tensorIndex[name] else {
            throw GGUFError(.missingKey, file: path, offset: nil, field: "tensor \"\(name)\"", "no tensor of that name in the file")
        }
        return tensors[i]
    }

    /// Maps a tensor's data into memory in one call before it is read whole (a load).
    public func prefetch(_ info: GGUFTensorInfo) {
        bytes.populate(offset: info.fileOffset, length: info.byteCount)
    }

    /// Drops the resident pages of a tensor's data once it has been copied out (e.g.
    /// dequantized), so a whole-model load does not hold the file and the copy at once.
    /// The data stays readable: it is paged in from the file again if touched.
    public func releasePages(of info: GGUFTensorInfo) {
        bytes.releasePages(offset: info.fileOffset, length: info.byteCount)
    }

    /// The raw (possibly quantized) bytes of a tensor; valid while this file object lives.
    public func rawData(_ info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes.base + info.fileOffset, count: info.byteCount)
    }
}
