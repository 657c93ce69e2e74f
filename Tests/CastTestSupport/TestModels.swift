import Foundation
import Testing
import CastModels
import CastTensor

/// The real models for tests: fetched into the cache when missing (CI starts empty), and
/// loaded once per test process, since Swift Testing runs suites in parallel.
public enum TestModels {
    public static let names = ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b"]

    private final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var models: [String: Transformer] = [:]
        var tokenizers: [String: Tokenizer] = [:]
    }
    private static let cache = Cache()

    /// The cached file of a registry model or corpus (fetching it first if needed; one fetch
    /// at a time).
    public static func url(_ name: String) throws -> URL {
        cache.lock.lock()
        defer { cache.lock.unlock() }
        return try ModelStore.path(for: name)
    }

    public static func open(_ name: String) throws -> GGUFFile {
        try GGUFFile(url: url(name))
    }

    /// A loaded model shared by every test in the process (weights are read-only; tests must
    /// not attach adapters to it).
    public static func model(_ name: String) throws -> Transformer {
        let path = try url(name)
        cache.lock.lock()
        defer { cache.lock.unlock() }
        if let model = cache.models[name] { return model }
        let model = try Transformer.loadGGUF(path: path.path, name: name)
        cache.models[name] = model
        return model
    }

    /// A tokenizer shared by every test in the process.
    public static func tokenizer(_ name: String) throws -> Tokenizer {
        let path = try url(name)
        cache.lock.lock()
        defer { cache.lock.unlock() }
        if let t = cache.tokenizers[name] { return t }
        let t = try Tokenizer(ggufPath: path.path)
        cache.tokenizers[name] = t
        return t
    }
}


/// Test helpers shared by the test targets.
public enum TestSupport {
    /// A fresh temporary folder.
    public static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cast-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Largest elementwise |a − b| of two tensors of one shape.
    public static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "\(a.shape) vs \(b.shape)")
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a.data[i] - b.data[i])) }
        return m
    }
}
