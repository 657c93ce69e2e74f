import CastModels
import Crypto
import Foundation

/// Trained artifacts and measured results kept by what made them: a folder per entry named
/// by the SHA-256 of a canonical JSON description (models, task contents, options, seed, the
/// code's version), under `$CAST_HOME/experiments` by default. An entry is complete once its
/// `result.json` is written (atomically, last) and reads back with the same description, so
/// an interrupted or truncated entry is redone (a training run resumes from the checkpoint
/// left in its folder), and a changed option or code version makes a new entry.
public struct ArtifactCache: Sendable {
    public let root: URL

    public init(root: URL = CastHome.root.appendingPathComponent("experiments")) {
        self.root = root
    }

    /// One entry: its folder and the description it was made from.
    public struct Entry: Sendable {
        public let folder: URL
        public let description: [String: String]
        public var resultURL: URL { folder.appendingPathComponent("result.json") }
    }

    /// The entry for `kind` described by `parts` (the kind is part of the description).
    public func entry(_ kind: String, _ parts: [String: String]) throws -> Entry {
        var description = parts
        description["kind"] = kind
        let json = try Self.canonical(description)
        let digest = SHA256.hash(data: Data(json.utf8)).map { String(format: "%02x", $0) }.joined()
        return Entry(folder: root.appendingPathComponent("\(kind)-\(digest.prefix(16))"), description: description)
    }

    /// The stored result of a complete entry, or nil (missing, truncated, another description).
    public func result<T: Decodable>(_ entry: Entry, as type: T.Type) -> T? {
        guard let data = FileManager.default.contents(atPath: entry.resultURL.path),
              let stored = try? JSONDecoder().decode(Stored<T>.self, from: data),
              stored.description == entry.description else { return nil }
        return stored.value
    }

    /// Marks `entry` complete with `value`, written atomically.
    public func store<T: Encodable>(_ value: T, in entry: Entry) throws {
        try FileManager.default.createDirectory(at: entry.folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(Stored(description: entry.description, value: value)).write(to: entry.resultURL, options: .atomic)
    }

    /// What `result.json` holds: the entry's description beside its value.
    fileprivate struct Stored<V> { let description: [String: String]; let value: V }

    /// Empties an entry's folder (to redo it from scratch).
    public func reset(_ entry: Entry) throws {
        if FileManager.default.fileExists(atPath: entry.folder.path) { try FileManager.default.removeItem(at: entry.folder) }
        try FileManager.default.createDirectory(at: entry.folder, withIntermediateDirectories: true)
    }

    /// Sorted-key JSON of any encodable value: a stable description part.
    public static func canonical<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The SHA-256 of `text`.
    public static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The version of what training and measuring produce, part of every cache key. It names
    /// the results, not the build: a rebuilt program reuses what an earlier build trained
    /// (hours of runs), so bump it whenever a change alters what a training run, an
    /// evaluation or a measurement gives — `ArtifactVersionTests` pins short runs' losses and
    /// fails when they move, as a reminder.
    public static let codeVersion = "artifacts-2"
}

extension ArtifactCache.Stored: Decodable where V: Decodable {}
extension ArtifactCache.Stored: Encodable where V: Encodable {}
