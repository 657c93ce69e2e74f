import CastTensor
import Foundation

/// Packed matrices of GGUF models kept on disk (`$CAST_HOME/packed`), so that only the first
/// load of a file repacks its quantized tensors: later loads map the cache file, whose pages
/// the kernel shares with its page cache (as llama.cpp maps its GGUF), and pack nothing.
///
/// A cache file names the GGUF it was made from (size, mtime, inode), the layout version and
/// its own size; one that is truncated, corrupted, stale or of another version is rebuilt
/// with a warning on stderr, never used. `CAST_PACKED_CACHE=0` turns the cache off.
public struct PackedWeightCache: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// `$CAST_HOME/packed`, or nil when `CAST_PACKED_CACHE=0`.
    public static var standard: PackedWeightCache? {
        ProcessInfo.processInfo.environment["CAST_PACKED_CACHE"] == "0"
            ? nil : PackedWeightCache(directory: CastHome.root.appendingPathComponent("packed", isDirectory: true))
    }

    /// How a load used the cache.
    public enum Outcome: Equatable, Sendable {
        /// Every packed matrix came from the cache file.
        case served
        /// No cache file yet: packed, then written.
        case built
        /// A cache file was unusable (the reason): packed, then written anew.
        case rebuilt(String)
        /// Packed, but the cache file could not be written (the reason; the load still works).
        case unwritten(String)
    }

    /// The cache file for the GGUF file at `path` (one per absolute path and q layout).
    public func url(for path: String) -> URL {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var hash = PackedCacheFile.FNV1a()
        Array(absolute.utf8).withUnsafeBytes { hash.add($0) }
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let nibbles = PackedMatrix.nibblesAllowed ? "" : "-q8", offsets = PackedMatrix.offsetsOmittable ? "" : "-offsets"
        // The layout version in the name (from 2 on): builds of different versions sharing
        // CAST_HOME keep a file each instead of rewriting one another's.
        let version = PackedCacheFile.layoutVersion == 1 ? "" : "-v\(PackedCacheFile.layoutVersion)"
        return directory.appendingPathComponent("\(stem)-\(String(hash.value, radix: 16))\(nibbles)\(offsets)\(version).castpack")
    }

    /// Starts a load of the GGUF file at `path`: maps its cache file when one is usable.
    func session(for path: String) throws -> Session {
        let source = try PackedCacheFile.Source(path: path)
        let url = url(for: path)
        guard FileManager.default.fileExists(atPath: url.path) else { return Session(url: url, source: source, mapping: nil, problem: nil) }
        do {
            return Session(url: url, source: source, mapping: try PackedCacheFile.Mapping(path: url.path, source: source), problem: nil)
        } catch let invalid as PackedCacheFile.Invalid {
            return Session(url: url, source: source, mapping: nil, problem: invalid.description)
        }
    }

    /// One load's use of the cache: matrices are taken from the mapped file where it has them
    /// and recorded as packed otherwise; `finish` writes the file when anything was packed.
    final class Session {
        let url: URL
        let source: PackedCacheFile.Source
        let mapping: PackedCacheFile.Mapping?
        private(set) var problem: String?
        private var matrices: [(name: String, ggmlType: UInt32, matrix: PackedMatrix)] = []
        private var packedAny = false

        init(url: URL, source: PackedCacheFile.Source, mapping: PackedCacheFile.Mapping?, problem: String?) {
            self.url = url
            self.source = source
            self.mapping = mapping
            self.problem = problem
        }

        /// Tensor `info` from the cache file, if it holds it in the layout packing would give
        /// now (else nil, and the file is rewritten at the end).
        func cached(_ info: GGUFTensorInfo) throws -> PackedMatrix? {
            guard let mapping, let group = QuantizedGroups.groupSize(info.type) else { return nil }
            guard let (entry, matrix) = try mapping.matrix(info.name) else {
                problem = problem ?? "has no matrix \(info.name)"
                return nil
            }
            let layout = PackedMatrix.layout(group: group, qRange: QuantizedGroups.qRange(info.type))
            guard entry.ggmlType == info.type.rawValue, entry.rows == info.rowCount, entry.columns == info.rowLength,
                  entry.group == group, entry.bits == layout.bits, entry.bias == layout.bias else {
                problem = problem ?? "holds \(info.name) in another type, shape or layout"
                return nil
            }
            matrices.append((info.name, info.type.rawValue, matrix))
            return matrix
        }

        /// Records a matrix packed from the GGUF file.
        func packed(_ info: GGUFTensorInfo, _ matrix: PackedMatrix) {
            packedAny = true
            matrices.append((info.name, info.type.rawValue, matrix))
        }

        /// Writes the cache file if this load packed anything; what happened.
        func finish() -> Outcome {
            guard packedAny else { return .served }
            let reason = problem.map { "packed-weight cache \(url.path): \($0); rebuilt it" }
            do {
                try PackedCacheFile.write(matrices, source: source, to: url)
            } catch {
                let message = "packed-weight cache \(url.path) not written: \(error)"
                FileHandle.standardError.write(Data("cast: warning: \(reason.map { $0 + "; " } ?? "")\(message)\n".utf8))
                return .unwritten(message)
            }
            if let reason {
                FileHandle.standardError.write(Data("cast: warning: \(reason)\n".utf8))
                return .rebuilt(problem!)
            }
            return .built
        }
    }
}
