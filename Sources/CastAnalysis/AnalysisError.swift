/// A request the analysis cannot serve (an unknown point, too few tokens, empty text), with
/// a message that says what would work.
public struct AnalysisError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
