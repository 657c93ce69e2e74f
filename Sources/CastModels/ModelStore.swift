import Foundation

/// The cache layout of `CastHome`, under any root (tests use a temporary one).
public struct CacheLayout: Sendable {
    public let root: URL

    public init(root: URL = CastHome.root) { self.root = root }

    public var models: URL { root.appendingPathComponent("models", isDirectory: true) }
    public var corpus: URL { root.appendingPathComponent("corpus", isDirectory: true) }
    public var downloads: URL { root.appendingPathComponent("downloads", isDirectory: true) }

    /// `models/<name>.gguf` or `corpus/<name>.json`.
    public func path(for entry: RegistryEntry) -> URL {
        let directory = entry.kind == .model ? models : corpus
        return directory.appendingPathComponent("\(entry.name).\(entry.fileExtension)")
    }

    /// `models/<name>.licence.<ext>` when a package ships the licence text.
    public func licencePath(for entry: RegistryEntry) -> URL? {
        guard let text = entry.licence.text, let member = text.parts.last?.member else { return nil }
        let ext = (member as NSString).pathExtension
        let directory = path(for: entry).deletingLastPathComponent()
        return directory.appendingPathComponent("\(entry.name).licence" + (ext.isEmpty ? "" : ".\(ext)"))
    }
}

/// What the cache holds for one artifact, judged without hashing.
public enum CacheStatus: String, Sendable, Codable {
    /// Absent, or present with the wrong size.
    case missing
    /// Right size but not (or no longer) covered by a verification stamp: will be hashed on use.
    case unverified
    /// Right size and stamped with the expected sha256 after the file was last written.
    case verified
}

/// `<file>.sha256` in `sha256sum` format, written once the file's digest has been checked, so
/// later lookups need only a size check. A file modified after its stamp counts as unverified.
struct VerificationStamp {
    let file: URL
    var url: URL { file.appendingPathExtension("sha256") }

    init(for file: URL) { self.file = file }

    func state(expecting expected: AssembledFile) -> CacheStatus {
        let fileManager = FileManager.default
        guard let attributes = try? fileManager.attributesOfItem(atPath: file.path),
              let size = (attributes[.size] as? NSNumber)?.int64Value, size == expected.size else {
            return .missing
        }
        guard let stampAttributes = try? fileManager.attributesOfItem(atPath: url.path),
              let contents = try? String(contentsOf: url, encoding: .utf8),
              contents.split(separator: " ").first.map(String.init) == expected.sha256 else {
            return .unverified
        }
        let fileDate = attributes[.modificationDate] as? Date ?? .distantFuture
        let stampDate = stampAttributes[.modificationDate] as? Date ?? .distantPast
        return stampDate >= fileDate ? .verified : .unverified
    }

    func write(sha256: String) throws {
        let line = "\(sha256)  \(file.lastPathComponent)\n"
        do { try line.write(to: url, atomically: true, encoding: .utf8) } catch {
            throw FetchError.io(path: url.path, operation: "write", detail: error.localizedDescription)
        }
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Locates registry models and corpora for the rest of cast, fetching them when asked to.
public enum ModelStore {
    /// The verified local path of the model or corpus `name`.
    /// With `fetchIfMissing`, a missing or damaged file is fetched; without it, a missing file
    /// throws `FetchError.notCached`. A right-sized file without a stamp is hashed once.
    public static func path(for name: String, fetchIfMissing: Bool = true, root: URL = CastHome.root,
                            progress: FetchProgressHandler? = nil) throws -> URL {
        let entry = try ModelRegistry.entry(named: name)
        let destination = CacheLayout(root: root).path(for: entry)
        let fetcher = Fetcher(root: root)
        if fetchIfMissing {
            return try fetcher.fetch(entry, progress: progress)
        }
        let stamp = VerificationStamp(for: destination)
        switch stamp.state(expecting: entry.file) {
        case .verified:
            return destination
        case .unverified:
            let actual = try fetcher.sha256(of: destination, label: name, totalBytes: entry.file.size, progress: progress)
            guard actual == entry.file.sha256 else {
                throw FetchError.checksumMismatch(file: destination.path, expected: entry.file.sha256, actual: actual)
            }
            try stamp.write(sha256: actual)
            return destination
        case .missing:
            throw FetchError.notCached(name: name, path: destination.path)
        }
    }

    /// Cache status of `entry` without hashing (for listings).
    public static func status(of entry: RegistryEntry, root: URL = CastHome.root) -> CacheStatus {
        VerificationStamp(for: CacheLayout(root: root).path(for: entry)).state(expecting: entry.file)
    }
}
