/// A safetensors file that cannot be read or written. `field` names the tensor or header
/// field at fault (`header`, `header length`, `<tensor>.dtype` …) so the message says where.
public struct SafetensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case io, truncated, invalidHeader, unsupportedDType, shapeMismatch, badOffsets, tooLarge, missingTensor
    }

    public var kind: Kind
    public var file: String
    public var field: String
    public var message: String

    public init(_ kind: Kind, file: String, field: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String { "\(file): \(field): \(message)" }
}
