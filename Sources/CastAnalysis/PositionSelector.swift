/// Which positions of each sequence a capture keeps.
public enum PositionSelector: Equatable, Sendable, CustomStringConvertible {
    /// Every token.
    case all
    /// Every token from this position on (`from(1)` drops the BOS / first token, whose
    /// outsized activations often dominate a PCA).
    case from(Int)
    /// Each sequence's last token.
    case last
    /// The answer tokens of a task example or the generated tokens of a generation
    /// (sequences without an answer contribute none).
    case answer

    /// Parses `all`, `last`, `answer`, `from:N` (or `skip-first`, meaning `from:1`).
    public init(parsing text: String) throws {
        switch text {
        case "all": self = .all
        case "last": self = .last
        case "answer", "answers": self = .answer
        case "skip-first", "rest": self = .from(1)
        default:
            if text.hasPrefix("from:"), let n = Int(text.dropFirst(5)), n >= 0 { self = .from(n); return }
            throw AnalysisError("positions '\(text)': expected all, last, answer, skip-first or from:N")
        }
    }

    public var description: String {
        switch self {
        case .all: "all"
        case .from(let n): "from:\(n)"
        case .last: "last"
        case .answer: "answer"
        }
    }

    /// The positions this selector keeps of `sequence`, ascending.
    public func positions(of sequence: CaptureSequence) -> [Int] {
        if let explicit = sequence.positions { return explicit }
        let n = sequence.ids.count
        switch self {
        case .all: return Array(0..<n)
        case .from(let k): return k < n ? Array(k..<n) : []
        case .last: return n > 0 ? [n - 1] : []
        case .answer:
            guard let start = sequence.answerStart, start < n else { return [] }
            return Array(start..<n)
        }
    }
}
