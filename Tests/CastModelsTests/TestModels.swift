import Foundation
import Testing
@testable import CastModels

/// The real models for tests: fetched into the cache when missing (CI starts empty), and
/// loaded once per test process, since Swift Testing runs suites in parallel.
enum TestModels {
    static let names = ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b"]

    private final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var models: [String: Transformer] = [:]
        var tokenizers: [String: Tokenizer] = [:]
    }
    private static let cache = Cache()

    /// The cached file of a registry model or corpus (fetching it first if needed; one fetch
    /// at a time).
    static func url(_ name: String) throws -> URL {
        cache.lock.lock()
        defer { cache.lock.unlock() }
        return try ModelStore.path(for: name)
    }

    static func open(_ name: String) throws -> GGUFFile {
        try GGUFFile(url: url(name))
    }

    /// A loaded model shared by every test in the process (weights are read-only; tests must
    /// not attach adapters to it).
    static func model(_ name: String) throws -> Transformer {
        let path = try url(name)
        cache.lock.lock()
        defer { cache.lock.unlock() }
        if let model = cache.models[name] { return model }
        let model = try Transformer.loadGGUF(path: path.path, name: name)
        cache.models[name] = model
        return model
    }

    /// A tokenizer shared by every test in the process.
    static func tokenizer(_ name: String) throws -> Tokenizer {
        let path = try url(name)
        cache.lock.lock()
        defer { cache.lock.unlock() }
        if let t = cache.tokenizers[name] { return t }
        let t = try Tokenizer(ggufPath: path.path)
        cache.tokenizers[name] = t
        return t
    }
}

/// Little-endian byte assembly for hand-built (often deliberately broken) GGUF images.
struct ByteBuilder {
    var bytes: [UInt8] = []
    var count: Int { bytes.count }

    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func int<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { int(v) }
    mutating func i32(_ v: Int32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }
    mutating func i64(_ v: Int64) { int(v) }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); raw(Array(s.utf8)) }

    /// Magic, version 3, tensor and kv counts.
    mutating func header(tensors: Int64, kvs: Int64, magic: String = "GGUF", version: UInt32 = 3) {
        raw(Array(magic.utf8)); u32(version); i64(tensors); i64(kvs)
    }

    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
}
