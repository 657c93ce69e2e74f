/// An error from the tensor engine: the operation and what was wrong, phrased for a user
/// (a notebook shows it and keeps running).
public struct TensorError: Error, CustomStringConvertible, Equatable {
    public let op: String
    public let message: String

    public init(_ op: String, _ message: String) {
        self.op = op
        self.message = message
    }

    public var description: String { "\(op): \(message)" }

    /// Two shapes that should agree and do not.
    public static func shapeMismatch(_ op: String, _ a: [Int], _ b: [Int], _ why: String = "shapes do not match") -> TensorError {
        TensorError(op, "\(why): \(a) vs \(b)")
    }
}
