import CastTensor
import Foundation

/// One tensor's entry in a safetensors header. `byteRange` is relative to the start of the
/// data section (just after the header), as `data_offsets` are.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: SafetensorsDType
    public var shape: [Int]
    public var byteRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file, memory-mapped: `u64` little-endian header length, a JSON header
/// (`{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {…}}`), then the raw data.
/// The whole header is validated on open, so reading a tensor afterwards cannot fail on
/// bounds: every tensor's bytes match its shape and the tensors tile the data section
/// exactly, as the official library requires.
public final class SafetensorsFile: @unchecked Sendable {
    /// The official library refuses headers above 100 MB; so do we, before reading them.
    public static let maximumHeaderLength = 100_000_000

    public let path: String
    public let metadata: [String: String]
    /// Tensor names in the order their data appears in the file.
    public let names: [String]
    private let infos: [String: SafetensorsTensorInfo]
    private let bytes: GGUFBytes
    private let dataStart: Int

    public convenience init(url: URL) throws { try self.init(path: url.path) }

    public convenience init(path: String) throws {
        let bytes: GGUFBytes
        do { bytes = try GGUFBytes(mapping: path) } catch let error as GGUFError {
            throw SafetensorsError(.io, file: path, field: "file", error.message)
        }
        try self.init(bytes: bytes, path: path)
    }

    /// Parses an in-memory image (tests build hostile ones this way).
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
        try self.init(bytes: GGUFBytes(copying: bytes), path: name)
    }

    private init(bytes: GGUFBytes, path: String) throws {
        self.bytes = bytes
        self.path = path
        let header = try SafetensorsHeader(bytes.buffer, file: path)
        metadata = header.metadata
        names = header.tensors.map(\.name)
        infos = Dictionary(header.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        dataStart = header.dataStart
    }

    public func contains(_ name: String) -> Bool { infos[name] != nil }

    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = infos[name] else {
            throw SafetensorsError(.missingTensor, file: path, field: name, "no such tensor (the file has \(names.count))")
        }
        return info
    }

    /// The tensor widened to float32, in its stored shape.
    public func tensor(_ name: String) throws -> Tensor {
        let info = try info(name)
        var out = Tensor(uninitialized: info.shape)
        let src = bytes.base + dataStart + info.byteRange.lowerBound
        let dst = out.mutableData
        let count = info.elementCount, size = info.dtype.byteSize
        let chunk = 1 << 16
        Parallel.forEach((count + chunk - 1) / chunk, grain: 4) { chunks in
            for c in chunks {
                let start = c * chunk
                info.dtype.decode(src + start * size, into: dst + start, count: min(chunk, count - start))
            }
        }
        return out
    }
}
