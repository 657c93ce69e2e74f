import Foundation

extension DecodingError {
    /// Which field was wrong and how, for messages that name the file before it.
    public var fieldDescription: String {
        func path(_ context: Context) -> String { context.codingPath.map(\.stringValue).joined(separator: ".") }
        switch self {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "field '\(path(context))' should be \(type)"
        case .keyNotFound(let key, let context):
            return context.codingPath.isEmpty ? "missing '\(key.stringValue)'" : "missing '\(path(context)).\(key.stringValue)'"
        case .dataCorrupted(let context): return "field '\(path(context))': \(context.debugDescription)"
        @unknown default: return "\(self)"
        }
    }
}
