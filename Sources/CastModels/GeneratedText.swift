/// The text of one sequence's generated tokens, built as they arrive: decodes each token in
/// the context of the one before it (so a SentencePiece word keeps its leading space after
/// the prompt), finds stop strings, and hands out text that is safe to stream — whole UTF-8
/// characters that cannot turn out to be the start of a stop string.
struct GeneratedText {
    let tokenizer: Tokenizer
    let stopStrings: [[UInt8]]
    private(set) var bytes: [UInt8] = []
    /// Byte offset where the first stop string begins, once one has appeared.
    private(set) var stopOffset: Int?
    /// Bytes already handed out by `takeReady`.
    private var streamed = 0
    private var previous: Int

    /// `lastPromptToken` is the context the first generated token is decoded in.
    init(tokenizer: Tokenizer, stopStrings: [String], lastPromptToken: Int) {
        self.tokenizer = tokenizer
        self.stopStrings = stopStrings.map { Array($0.utf8) }.filter { !$0.isEmpty }
        previous = lastPromptToken
    }

    /// The text up to (not including) the first stop string.
    var text: String { String(decoding: bytes[..<(stopOffset ?? bytes.count)], as: UTF8.self) }

    /// Appends token `id`'s bytes. Returns true when a stop string is now complete.
    mutating func append(_ id: Int) -> Bool {
        let context = tokenizer.decodeBytes([previous]).count
        let piece = tokenizer.decodeBytes([previous, id]).dropFirst(context)
        previous = id
        let oldCount = bytes.count
        bytes.append(contentsOf: piece)
        guard stopOffset == nil, !stopStrings.isEmpty else { return stopOffset != nil }
        // Only a match that ends in the new bytes is new.
        let longest = stopStrings.map(\.count).max()!
        var searchFrom = max(0, oldCount - longest + 1)
        while searchFrom < bytes.count {
            if stopStrings.contains(where: { matches($0, at: searchFrom) }) {
                stopOffset = searchFrom
                return true
            }
            searchFrom += 1
        }
        return false
    }

    private func matches(_ pattern: [UInt8], at offset: Int) -> Bool {
        offset + pattern.count <= bytes.count && bytes[offset..<(offset + pattern.count)].elementsEqual(pattern)
    }

    /// Text not yet handed out. Unless `final`, holds back an incomplete UTF-8 character and
    /// any tail that could be the beginning of a stop string.
    mutating func takeReady(final: Bool) -> String {
        var end = stopOffset ?? bytes.count
        if !final, stopOffset == nil {
            end -= longestTailThatStartsAStopString()
            end = lastCharacterBoundary(atOrBefore: end)
        }
        guard end > streamed else { return "" }
        defer { streamed = end }
        return String(decoding: bytes[streamed..<end], as: UTF8.self)
    }

    private func longestTailThatStartsAStopString() -> Int {
        var best = 0
        for pattern in stopStrings {
            for length in stride(from: min(pattern.count - 1, bytes.count), to: best, by: -1)
            where bytes[(bytes.count - length)...].elementsEqual(pattern[..<length]) {
                best = length
                break
            }
        }
        return best
    }

    /// The largest offset ≤ `end` that does not split a UTF-8 character.
    private func lastCharacterBoundary(atOrBefore end: Int) -> Int {
        var start = end
        // Step back over continuation bytes (at most 3) to the character's lead byte.
        while start > max(0, end - 3), start > 0, bytes[start - 1] & 0xC0 == 0x80 { start -= 1 }
        guard start > 0 else { return end }
        let lead = bytes[start - 1]
        let length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return end - (start - 1) >= length ? end : start - 1
    }
}
