import Foundation

/// Everything that can be wrong with a GGUF file or with a question asked of it.
///
/// Each error names the file, the byte offset where the problem sits (when there is one),
/// the field being read, and what was expected, so a bad download or a hostile file is
/// diagnosable from the message alone.
public struct GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case io                     // the file could not be opened or mapped
        case truncated              // a field runs past the end of the file
        case badMagic
        case unsupportedVersion
        case unknownValueType       // metadata value type outside 0...12
        case unknownTensorType      // ggml type id this reader does not know
        case invalidValue           // a field holds a value outside its legal range
        case tooLarge               // a count or length that cannot fit in the remaining bytes
        case overflow               // a size computation overflows Int
        case duplicate              // a key or tensor name repeated
        case dataOutOfBounds        // tensor data past the end of the file
        case misaligned             // tensor data offset not a multiple of the alignment
        case overlapping            // two tensors' data ranges overlap
        case missingKey             // metadata key or tensor name absent
        case typeMismatch           // metadata value of another type than asked for
        case unsupportedTensorType  // known ggml type with no dequantizer
        case badRange               // a row range outside the tensor
    }

    public let kind: Kind
    public let file: String
    public let offset: Int?
    public let field: String
    public let message: String

    public init(_ kind: Kind, file: String, offset: Int?, field: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.offset = offset
        self.field = field
        self.message = message
    }

    public var description: String {
        let at = offset.map { " at byte \($0)" } ?? ""
        return "GGUF \(file): \(field)\(at): \(message) [\(kind.rawValue)]"
    }
}
