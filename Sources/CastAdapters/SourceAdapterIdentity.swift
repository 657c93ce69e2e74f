import CastModels
import Foundation

/// Which source LoRA a CAST adapter was trained over: where it lives and the SHA-256 of every
/// file cast reads it from. A CAST folder keeps this instead of a copy of the factors, and
/// refuses to load when the adapter is missing or changed (its P's were fitted to those A, B).
public struct SourceAdapterIdentity: Codable, Equatable, Sendable {
    /// Absolute path of the PEFT folder or GGUF-LoRA file.
    public var path: String
    /// File name (inside the folder, or the file's own name) → lowercase hex SHA-256.
    public var sha256: [String: String]

    /// The identity of the adapter at `path` as it is now.
    public init(of path: String) throws {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        self.path = url.path
        sha256 = [:]
        for file in try Self.files(url) { sha256[file.lastPathComponent] = try FileDigest.sha256(of: file) }
    }

    /// The files that make the adapter: a PEFT folder's config and weights, or the file itself.
    static func files(_ url: URL) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw AdapterError("\(url.path): no such adapter folder or file")
        }
        guard isDirectory.boolValue else { return [url] }
        return [url.appendingPathComponent(PEFTConfigFile.fileName), url.appendingPathComponent(PEFTAdapterFolder.weightsName)]
    }

    /// Throws unless the adapter at `path` is still the one recorded (`owner` names the CAST
    /// folder in the message).
    public func verify(for owner: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AdapterError("\(owner): its source adapter \(path) is missing (the CAST layers use that LoRA's frozen A and B; "
                               + "put it back, or pass its new place with --source-adapter)")
        }
        let now = try SourceAdapterIdentity(of: path)
        for name in sha256.keys.sorted() where now.sha256[name] != sha256[name] {
            throw AdapterError("\(owner): its source adapter \(path) has changed since training: \(name) has sha256 "
                               + "\(now.sha256[name] ?? "(missing)"), expected \(sha256[name]!)")
        }
        guard now.sha256.keys.sorted() == sha256.keys.sorted() else {
            throw AdapterError("\(owner): its source adapter \(path) is not the kind it was (files \(now.sha256.keys.sorted()), "
                               + "expected \(sha256.keys.sorted()))")
        }
    }
}
