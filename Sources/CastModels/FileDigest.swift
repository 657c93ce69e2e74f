import Crypto
import Foundation

/// SHA-256 of files, read in chunks (never whole into memory).
public enum FileDigest {
    /// The lowercase hex SHA-256 of the file at `url`; `progress` gets the bytes hashed so far.
    public static func sha256(of url: URL, progress: ((Int64) -> Void)? = nil) throws -> String {
        guard let input = try? FileHandle(forReadingFrom: url) else {
            throw FetchError.io(path: url.path, operation: "open", detail: "cannot read file")
        }
        defer { try? input.close() }
        var hasher = SHA256()
        var hashed: Int64 = 0
        while true {
            let chunk: Data
            do { chunk = try input.read(upToCount: 4 << 20) ?? Data() } catch {
                throw FetchError.io(path: url.path, operation: "read", detail: error.localizedDescription)
            }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            hashed += Int64(chunk.count)
            progress?(hashed)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
