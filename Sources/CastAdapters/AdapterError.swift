/// A problem with an adapter, its files or its fit to a model; the message names the file,
/// the field or tensor, and what was expected.
public struct AdapterError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
