/// Where one captured row came from: which sequence and text, the position, the token.
public struct CapturedToken: Sendable, Equatable {
    public let sequence: Int
    public let textIndex: Int
    public let position: Int
    public let id: Int32
    /// Whether the position is in the sequence's answer (task answer or generated token).
    public let isAnswer: Bool
}
