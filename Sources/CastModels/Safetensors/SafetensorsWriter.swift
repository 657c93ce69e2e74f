import CastTensor
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Builds a safetensors file the way the official library lays it out: tensors ordered by
/// dtype (F32, then BF16, then F16: larger elements first, so every tensor stays aligned to
/// its element size) then by name, the header keys in that same order after `__metadata__`, and the header padded
/// with spaces to a multiple of 8 bytes. Writes are atomic: a temporary file in the target
/// folder, renamed over the destination once complete.
public struct SafetensorsWriter {
    public var metadata: [String: String]
    private var entries: [String: (tensor: Tensor, dtype: SafetensorsDType)] = [:]

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    public var names: [String] { ordered.map(\.name) }

    /// Adds a tensor under `name`, stored as `dtype`. Names must be unique and not `__metadata__`.
    public mutating func add(_ name: String, _ tensor: Tensor, dtype: SafetensorsDType = .f32) throws {
        guard name != "__metadata__", !name.isEmpty else {
            throw SafetensorsError(.invalidHeader, file: "<writer>", field: name, "is not a valid tensor name")
        }
        guard entries[name] == nil else {
            throw SafetensorsError(.invalidHeader, file: "<writer>", field: name, "was added twice")
        }
        entries[name] = (tensor, dtype)
    }

    private var ordered: [(name: String, tensor: Tensor, dtype: SafetensorsDType)] {
        entries.map { ($0.key, $0.value.tensor, $0.value.dtype) }.sorted {
            $0.dtype.serializationRank != $1.dtype.serializationRank
                ? $0.dtype.serializationRank > $1.dtype.serializationRank : $0.name < $1.name
        }
    }

    /// The 8-byte length prefix and the padded JSON header.
    func header() -> [UInt8] {
        var json = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.keys.sorted().map { "\(Self.quoted($0)):\(Self.quoted(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        for e in ordered {
            let size = e.tensor.count * e.dtype.byteSize
            let shape = e.tensor.shape.map(String.init).joined(separator: ",")
            parts.append("\(Self.quoted(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        json += parts.joined(separator: ",") + "}"
        var bytes = Array(json.utf8)
        bytes.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - bytes.count % 8) % 8))
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { out.append(contentsOf: $0) }
        return out + bytes
    }

    /// The whole file in memory (small files and tests).
    public func bytes() -> [UInt8] {
        var out = header()
        for e in ordered {
            var chunk = [UInt8](repeating: 0, count: e.tensor.count * e.dtype.byteSize)
            chunk.withUnsafeMutableBytes { e.dtype.encode(e.tensor.data, into: $0.baseAddress!, count: e.tensor.count) }
            out += chunk
        }
        return out
    }

    /// Writes the file atomically, streaming tensor by tensor.
    public func write(to url: URL) throws {
        let path = url.path
        let folder = url.deletingLastPathComponent().path
        let temporary = "\(folder)/.\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        func fail(_ what: String) -> SafetensorsError {
            SafetensorsError(.io, file: path, field: "file", "\(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("cannot create \(temporary)") }
        var done = false
        defer {
            if !done { close(fd); unlink(temporary) }
        }
        func writeAll(_ p: UnsafeRawPointer, _ count: Int) throws {
            var written = 0
            while written < count {
                let n = Glibc.write(fd, p + written, min(count - written, 1 << 30))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw fail("cannot write \(temporary)") }
                written += n
            }
        }
        try header().withUnsafeBytes { try writeAll($0.baseAddress!, $0.count) }
        let chunkElements = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkElements * 4, alignment: 64)
        defer { buffer.deallocate() }
        for e in ordered {
            var start = 0
            while start < e.tensor.count {
                let n = min(chunkElements, e.tensor.count - start)
                e.dtype.encode(e.tensor.data + start, into: buffer, count: n)
                try writeAll(buffer, n * e.dtype.byteSize)
                start += n
            }
        }
        guard fsync(fd) == 0 else { throw fail("cannot flush \(temporary)") }
        guard close(fd) == 0 else { throw fail("cannot close \(temporary)") }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            done = true
            throw fail("cannot rename \(temporary) to \(path)")
        }
        done = true
    }

    /// A JSON string literal.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
