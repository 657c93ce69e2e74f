import CastModels
import CastTensor
import Foundation

/// One stretch of text as each model reads it, and where their predictions can be compared.
public struct PairedWindow: Sendable {
    /// Token ids for the teacher (source) and the student (target).
    public let teacher: [Int32]
    public let student: [Int32]
    /// `(i, j)`: teacher position i and student position j end at the same byte, so both
    /// predict the same next text.
    public let pairs: [(Int, Int)]
}

/// A corpus cut into fixed-length windows for a teacher/student pair, streamed in a
/// shuffled order that depends only on the seed and the step (so a resumed run reads
/// exactly what it would have read).
///
/// Each split's documents are joined (blank line between) and tokenised once by the
/// teacher; windows are `length` teacher tokens, cut where a token starts a UTF-8
/// character. The student tokenises each window's text itself; with the same vocabulary
/// it reads the teacher's ids and every position pairs with itself.
public final class PairedCorpus: @unchecked Sendable {
    public enum Split: String, Sendable { case train, heldOut = "held-out" }

    private struct Stream {
        var ids: [Int32] = []
        var bytes: [UInt8] = []
        /// Byte offset where each token starts (and the total at the end).
        var starts: [Int] = []
        /// Token ranges of the windows.
        var windows: [Range<Int>] = []
    }

    public let name: String
    public let length: Int
    public let sameVocabulary: Bool
    private let teacher: Tokenizer?
    private let student: Tokenizer?
    private var streams: [Split: Stream] = [:]
    /// Windows given directly as token sequences (tests, tiny models).
    private var given: [Split: [PairedWindow]] = [:]

    /// Windows of `corpus` for these tokenizers.
    public init(_ corpus: TextCorpus, teacher: Tokenizer, student: Tokenizer, length: Int) throws {
        guard length >= 2 else { throw AdapterError("corpus windows: length must be ≥ 2, got \(length)") }
        self.name = corpus.name
        self.length = length
        self.teacher = teacher
        self.student = student
        sameVocabulary = SharedVocabulary.identical(teacher, student)
        for (split, docs) in [(Split.train, corpus.train), (.heldOut, corpus.heldOut)] {
            streams[split] = Self.stream(docs.joined(separator: "\n\n"), teacher, length)
        }
        guard let train = streams[.train], !train.windows.isEmpty else {
            throw AdapterError("corpus \(corpus.name): too short for one window of \(length) tokens")
        }
    }

    /// Windows of `corpus` for a teacher and a student model (both must carry tokenizers).
    public convenience init(_ corpus: TextCorpus, teacher: Transformer, student: Transformer, length: Int) throws {
        guard let t = teacher.tokenizer, let s = student.tokenizer else {
            throw AdapterError("CAST needs both models' tokenizers (GGUF files carry them)")
        }
        try self.init(corpus, teacher: t, student: s, length: length)
    }

    /// Windows given as token sequences of one shared vocabulary (every position paired).
    public init(name: String, train: [[Int32]], heldOut: [[Int32]]) throws {
        guard !train.isEmpty, !train.contains(where: \.isEmpty) else { throw AdapterError("corpus \(name): no training windows") }
        self.name = name
        length = train.map(\.count).max()!
        sameVocabulary = true
        teacher = nil
        student = nil
        func windows(_ s: [[Int32]]) -> [PairedWindow] {
            s.map { PairedWindow(teacher: $0, student: $0, pairs: (0..<$0.count).map { ($0, $0) }) }
        }
        given = [.train: windows(train), .heldOut: windows(heldOut)]
    }

    public func windowCount(_ split: Split) -> Int { given[split]?.count ?? streams[split]?.windows.count ?? 0 }

    /// Window `index` of `split`.
    public func window(_ index: Int, _ split: Split = .train) -> PairedWindow {
        if let given = given[split] { return given[index] }
        let stream = streams[split]!, range = stream.windows[index]
        let bytes = Array(stream.bytes[stream.starts[range.lowerBound]..<stream.starts[range.upperBound]])
        let bos = teacher!.vocabulary.addBOS ? teacher!.vocabulary.bosId.map { [Int32($0)] } ?? [] : []
        let teacherIds = bos + stream.ids[range]
        if sameVocabulary {
            return PairedWindow(teacher: teacherIds, student: teacherIds, pairs: (0..<teacherIds.count).map { ($0, $0) })
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let studentIds = student!.encode(text, addSpecial: true, parseSpecial: false).prefix(2 * length + 1).map { Int32($0) }
        let pairs = TokenAlignment.pairs(TokenAlignment.endOffsets(teacherIds, tokenizer: teacher!, text: bytes),
                                         TokenAlignment.endOffsets(Array(studentIds), tokenizer: student!, text: bytes))
        return PairedWindow(teacher: teacherIds, student: Array(studentIds), pairs: pairs)
    }

    /// The `size` windows of step `step` (0-based): epoch after epoch, each a seeded
    /// permutation of the training windows.
    public func batch(step: Int, size: Int, seed: UInt64) -> [PairedWindow] {
        let count = windowCount(.train)
        return (0..<size).map { k in
            let position = step * size + k
            let epoch = position / count
            return window(Self.permutation(count, seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)[position % count])
        }
    }

    /// The first `count` held-out windows (fewer when the split is shorter).
    public func heldOut(_ count: Int) -> [PairedWindow] {
        (0..<min(count, windowCount(.heldOut))).map { window($0, .heldOut) }
    }

    private static func permutation(_ count: Int, seed: UInt64) -> [Int] { shared.permutation(count, seed: seed) }
    private static let shared = PermutationCache()

    private static func stream(_ text: String, _ tokenizer: Tokenizer, _ length: Int) -> Stream {
        var s = Stream()
        s.bytes = Array(text.utf8)
        s.ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false).map { Int32($0) }
        var offset = 0
        s.starts.reserveCapacity(s.ids.count + 1)
        for id in s.ids {
            s.starts.append(offset)
            offset += tokenizer.textBytes(of: Int(id))?.count ?? 0
        }
        s.starts.append(offset)
        guard offset == s.bytes.count else {
            // The tokens do not spell the text back (should not happen for ordinary text):
            // keep only the prefix they do spell.
            let good = zip(s.bytes, tokenizer.decodeBytes(s.ids.map(Int.init))).prefix { $0 == $1 }.count
            let keep = s.starts.firstIndex { $0 > good }.map { max(0, $0 - 1) } ?? s.ids.count
            s.ids = Array(s.ids[..<keep])
            s.starts = Array(s.starts[...keep])
            return cut(s, length, bosTokens: tokenizer.vocabulary.addBOS ? 1 : 0)
        }
        return cut(s, length, bosTokens: tokenizer.vocabulary.addBOS ? 1 : 0)
    }

    /// Windows of `length` tokens (BOS included), each starting where a token begins a
    /// character (its first byte is not a UTF-8 continuation byte).
    private static func cut(_ stream: Stream, _ length: Int, bosTokens: Int) -> Stream {
        var s = stream
        let step = length - bosTokens
        func startsCharacter(_ token: Int) -> Bool {
            let b = s.starts[token]
            return b >= s.bytes.count || s.bytes[b] & 0xC0 != 0x80
        }
        var start = 0
        while start + step <= s.ids.count {
            var end = start + step
            while end < s.ids.count && !startsCharacter(end) { end += 1 }
            s.windows.append(start..<end)
            start = end
        }
        return s
    }
}

/// Shuffled window orders by seed, computed once (a few per run).
private final class PermutationCache: @unchecked Sendable {
    private var cache: [String: [Int]] = [:]
    private let lock = NSLock()

    func permutation(_ count: Int, seed: UInt64) -> [Int] {
        lock.lock(); defer { lock.unlock() }
        let key = "\(count)/\(seed)"
        if let p = cache[key] { return p }
        var rng = SeededGenerator(seed: seed)
        var p = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { p.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        if cache.count > 8 { cache.removeAll() }
        cache[key] = p
        return p
    }
}
