/// Why a figure cannot be drawn (no data, lengths that disagree): a message for the user.
public struct PlotError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
