import CastModels

/// Where two tokenizations of the same text can be compared: positions whose tokens end at
/// the same byte offset, so both models predict the token that starts there.
public enum TokenAlignment {
    /// Byte offset just past each token of `ids` in the text they encode; control tokens
    /// (BOS) take no bytes. Offsets stop being valid after a token whose bytes differ from
    /// `text` at that point (nil from there on), so a mismatch can never pair wrong bytes.
    public static func endOffsets(_ ids: [Int32], tokenizer: Tokenizer, text: [UInt8]) -> [Int?] {
        var ends: [Int?] = []
        ends.reserveCapacity(ids.count)
        var offset = 0, valid = true
        for id in ids {
            let bytes = tokenizer.textBytes(of: Int(id)) ?? []
            if valid {
                let end = offset + bytes.count
                valid = end <= text.count && text[offset..<end].elementsEqual(bytes)
                offset = end
            }
            ends.append(valid ? offset : nil)
        }
        return ends
    }

    /// Pairs `(i, j)` of positions of `a` and `b` whose tokens end at the same byte offset
    /// (> 0); where several tokens of one side end there (a BOS before the first token), the
    /// last one, which is the one that predicts what follows.
    public static func pairs(_ a: [Int?], _ b: [Int?]) -> [(Int, Int)] {
        var lastOfB: [Int: Int] = [:]
        for (j, end) in b.enumerated() { if let end, end > 0 { lastOfB[end] = j } }
        var lastOfA: [Int: Int] = [:]
        for (i, end) in a.enumerated() { if let end, end > 0 { lastOfA[end] = i } }
        return lastOfA.keys.sorted().compactMap { end in lastOfB[end].map { (lastOfA[end]!, $0) } }
    }
}

/// The token strings two vocabularies share: `source[k]` and `target[k]` are the ids of the
/// same bytes. Distributions over different vocabularies are compared over these tokens,
/// each side renormalised (a softmax over the gathered logits).
public struct SharedVocabulary: Sendable {
    public let source: [Int32]
    public let target: [Int32]
    public var count: Int { source.count }

    /// Given pairs of ids (`source[k]` ↔ `target[k]`).
    public init(source: [Int32], target: [Int32]) {
        precondition(source.count == target.count)
        self.source = source
        self.target = target
    }

    public init(source: Tokenizer, target: Tokenizer) {
        var byBytes: [[UInt8]: Int32] = [:]
        for id in 0..<target.count { if let b = target.textBytes(of: id), !b.isEmpty, byBytes[b] == nil { byBytes[b] = Int32(id) } }
        var s: [Int32] = [], t: [Int32] = []
        var seen = Set<Int32>()
        for id in 0..<source.count {
            guard let b = source.textBytes(of: id), !b.isEmpty, let j = byBytes[b], !seen.contains(j) else { continue }
            seen.insert(j)
            s.append(Int32(id))
            t.append(j)
        }
        self.source = s
        self.target = t
    }

    /// Whether two tokenizers are the same vocabulary token for token (no gathering needed).
    public static func identical(_ a: Tokenizer, _ b: Tokenizer) -> Bool {
        a.vocabulary.tokens == b.vocabulary.tokens && a.vocabulary.model == b.vocabulary.model
    }
}
