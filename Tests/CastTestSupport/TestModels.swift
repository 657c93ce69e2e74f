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

    /// A loaded model shared by every test in the process (weights are read-only), its
    /// quantized matrices held as `weights` says (default: the machine's preferred form).
    public static func model(_ name: String, weights: QuantizedWeights = .preferred) throws -> Transformer {
        let path = try url(name)
        cache.lock.lock()
        defer { cache.lock.unlock() }
        let key = "\(name)/\(weights.rawValue)"
        if let model = cache.models[key] { return model }
        let model = try Transformer.loadGGUF(path: path.path, name: name, quantized: weights)
        cache.models[key] = model
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
    /// A fresh temporary folder, inside this test process's own folder, which is removed
    /// when the process exits (the suite makes thousands; left behind, they filled the disk).
    public static func temporaryFolder() throws -> URL {
        let url = TestRunFolder.url.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A tiny task file in `folder` for experiments in seconds: "Echo N:" → "N", 8 train and
    /// 4 test examples.
    public static func echoTask(in folder: URL) throws -> URL {
        let lines = (0..<12).map { i in
            "{\"prompt\": \"Echo \(i * 7):\", \"answer\": \"\(i * 7)\", \"split\": \"\(i < 8 ? "train" : "test")\"}"
        }
        let url = folder.appendingPathComponent("echo.jsonl")
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
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

extension TestSupport {
    /// The repository's root (tests read committed files and the built `cast`).
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The `cast` executable built beside the tests: the test bundle's own folder first (so a
    /// build with `--scratch-path` finds its own binary), then `.build/release` and `.build/debug`.
    public static func castExecutable() throws -> URL {
        let beside = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent(),
                      Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL]
        for folder in beside {
            let url = folder.appendingPathComponent("cast")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        for configuration in ["release", "debug"] {
            let url = repository.appendingPathComponent(".build/\(configuration)/cast")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey:
            "no built cast in .build/release or .build/debug: run `swift build --build-tests -c release` first"])
    }

    /// Runs the built `cast` with `arguments` to the end, stdin empty: exit status, stdout and
    /// stderr. `environment` overrides this process's variables (nil removes one); `directory`
    /// is the working directory.
    public static func runCast(_ arguments: [String], environment: [String: String?] = [:],
                               directory: URL? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try castExecutable()
        process.arguments = arguments
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (name, value) in environment { merged[name] = value }
            process.environment = merged
        }
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read stderr on its own thread so neither pipe can fill up and stall the child.
        let errorText = UncheckedBox("")
        let reader = Thread { errorText.value = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        reader.start()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return (process.terminationStatus, output, errorText.value)
    }
}

extension TestSupport {
    /// Runs cast with stderr discarded, collecting stdout's lines; with `interruptAfter`, sends
    /// SIGINT (Ctrl-C) once that many lines have arrived.
    public static func runCastLines(_ arguments: [String], interruptAfter: Int? = nil) throws -> (status: Int32, lines: [String]) {
        let process = Process()
        process.executableURL = try castExecutable()
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var lines: [String] = [], buffer = Data()
        while case let chunk = pipe.fileHandleForReading.availableData, !chunk.isEmpty {
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: 10) {
                lines.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                buffer.removeSubrange(buffer.startIndex...newline)
                if lines.count == interruptAfter { kill(process.processIdentifier, SIGINT) }
            }
        }
        process.waitUntilExit()
        return (process.terminationStatus, lines)
    }
}

/// A mutable value handed to one other thread and read after it finished.
final class UncheckedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
