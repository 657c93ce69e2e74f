/// Why received frames are not a message; the kernel logs it and drops the frames.
public enum WireError: Error, Equatable, CustomStringConvertible, Sendable {
    /// No `<IDS|MSG>` delimiter.
    case missingDelimiter
    /// Fewer than the signature and four JSON frames after the delimiter.
    case tooFewFrames(Int)
    /// The signature does not sign the frames (or is missing while a key is set).
    case badSignature
    /// A JSON frame does not parse, or the header is not an object with a msg_type.
    case malformed(String)

    public var description: String {
        switch self {
        case .missingDelimiter: "no <IDS|MSG> delimiter"
        case .tooFewFrames(let n): "\(n) frames after the delimiter, need at least 5"
        case .badSignature: "bad or missing HMAC signature"
        case .malformed(let what): "malformed \(what)"
        }
    }
}
