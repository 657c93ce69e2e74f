import Foundation

/// Per-token attributes after llama.cpp's load-time fix-ups (tokens that look like control
/// tokens are made control tokens).
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt8
    static let normal = TokenAttributes(rawValue: 1)
    static let unknown = TokenAttributes(rawValue: 2)
    static let control = TokenAttributes(rawValue: 4)
    static let userDefined = TokenAttributes(rawValue: 8)
    static let unused = TokenAttributes(rawValue: 16)
    static let byte = TokenAttributes(rawValue: 32)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ type: TokenizerVocabulary.TokenType) {
        switch type {
        case .undefined: self = []
        case .normal: self = .normal
        case .unknown: self = .unknown
        case .control: self = .control
        case .userDefined: self = .userDefined
        case .unused: self = .unused
        case .byte: self = .byte
        }
    }

    /// Texts llama.cpp forces to control type (end-of-generation and fill-in-the-middle markers).
    static let controlLookingTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
        "<|code_prefix|>", "<|prefix|>", "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>",
        "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>", "<|fim_middle|>", "<fim-middle>", "<fim_middle>",
        "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>", "<|fim_pad|>", "<fim-pad>",
        "<fim_pad>", "<PAD>", "[PAD]", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
        "<|file_sep|>",
    ]
}

/// Text ⇄ token ids for one vocabulary, reproducing llama.cpp's `llama_tokenize` token for
/// token. Immutable and safe to share across threads.
public final class Tokenizer: Sendable {
    public let vocabulary: TokenizerVocabulary

    private enum Engine: Sendable {
        case bytePair(BytePairEncoder, PreTokenizer)
        case sentencePiece(SentencePieceEncoder)
    }

    private let engine: Engine
    private let splitter: SpecialTokenSplitter
    private let attributes: [TokenAttributes]
    /// Bytes each token decodes to (special tokens: their text).
    private let pieces: [[UInt8]]
    private let tokenIds: ByteStringTable

    public init(vocabulary v: TokenizerVocabulary) throws {
        vocabulary = v
        var attributes = v.tokenTypes.map(TokenAttributes.init)
        for (id, text) in v.tokens.enumerated() where TokenAttributes.controlLookingTexts.contains(text) {
            attributes[id].insert(.control)
        }
        self.attributes = attributes
        // Stored token text → id (llama.cpp renames empty tokens; later duplicates win).
        var table = ByteStringTable(capacity: v.count)
        for (id, text) in v.tokens.enumerated() {
            table.insert(text.isEmpty ? Array("[EMPTY_\(id)]".utf8) : Array(text.utf8), id: Int32(id))
        }
        tokenIds = table
        splitter = SpecialTokenSplitter(vocabulary: v, attributes: attributes)
        switch v.model {
        case .gpt2:
            let pre = try PreTokenizer(name: v.preTokenizer)
            var rawTable = ByteStringTable(capacity: v.count)
            var raw: [[UInt8]] = []
            raw.reserveCapacity(v.count)
            var pieces: [[UInt8]] = []
            pieces.reserveCapacity(v.count)
            for (id, text) in v.tokens.enumerated() {
                let bytes = ByteLevelEncoding.decode(text)
                raw.append(bytes ?? [])
                if let bytes, !text.isEmpty { rawTable.insert(bytes, id: Int32(id)) }
                let a = attributes[id]
                if a.contains(.normal) && !a.contains(.control) && !a.contains(.userDefined) && !a.contains(.unknown) {
                    pieces.append(bytes ?? Array(text.utf8))
                } else {
                    pieces.append(Array(text.utf8))
                }
            }
            self.pieces = pieces
            engine = .bytePair(try BytePairEncoder(tokenBytes: raw, table: rawTable, merges: v.merges), pre)
        case .llama:
            pieces = v.tokens.enumerated().map { id, text in
                let a = attributes[id]
                if a.contains(.byte), let byte = Self.byteValue(text) { return [byte] }
                if a.contains(.normal) && !a.contains(.control) && !a.contains(.userDefined) && !a.contains(.unknown) {
                    return Self.unescapeSpaces(Array(text.utf8))
                }
                return Array(text.utf8)
            }
            engine = .sentencePiece(SentencePieceEncoder(table: table, scores: v.scores, tokens: v.tokens))
        }
    }

    public var count: Int { vocabulary.count }

    /// Token ids for `text`.
    /// - Parameters:
    ///   - addSpecial: add BOS/EOS as the vocabulary asks (`add_bos_token`, `add_eos_token`).
    ///   - parseSpecial: recognise control tokens written in the text (`<|im_start|>` …) as
    ///     single tokens; when false they are tokenized as ordinary text. User-defined tokens
    ///     are always recognised, as in llama.cpp.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) -> [Int] {
        var utf8 = Array(text.utf8)
        var output: [Int] = []
        output.reserveCapacity(utf8.count / 3 + 2)
        let v = vocabulary
        if addSpecial && v.addBOS, let bos = v.bosId { output.append(bos) }
        utf8.withUnsafeMutableBufferPointer { buffer in
            let bytes = UnsafeBufferPointer(buffer)
            let fragments = splitter.split(bytes, parseSpecial: parseSpecial)
            switch engine {
            case .bytePair(let bpe, let pre):
                var cache: [ArraySlice<UInt8>: [Int]] = [:]
                for fragment in fragments {
                    switch fragment {
                    case .token(let id): output.append(id)
                    case .text(let range): encodeBytePair(bytes, range, bpe, pre, &cache, &output)
                    }
                }
            case .sentencePiece(let spm):
                var previousWasSpecial = true
                for fragment in fragments {
                    switch fragment {
                    case .token(let id):
                        output.append(id)
                        previousWasSpecial = true
                    case .text(let range):
                        var piece: [UInt8] = v.addSpacePrefix && previousWasSpecial ? [0x20] : []
                        piece.append(contentsOf: bytes[range])
                        let escaped = Self.escapeSpaces(piece)
                        escaped.withUnsafeBufferPointer { spm.encode($0, into: &output) }
                        previousWasSpecial = false
                    }
                }
            }
        }
        if addSpecial && v.addEOS, let eos = v.eosId { output.append(eos) }
        return output
    }

    private func encodeBytePair(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ bpe: BytePairEncoder,
                                _ pre: PreTokenizer, _ cache: inout [ArraySlice<UInt8>: [Int]], _ output: inout [Int]) {
        // Code points, their classes and UTF-8 offsets (the fragment is valid UTF-8: it comes
        // from a String and is cut only at token boundaries).
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        var scalars: [UInt32] = []
        var classes: [PreTokenizer.CharClass] = []
        var offsets: [Int] = [range.lowerBound]
        for s in text.unicodeScalars {
            scalars.append(s.value)
            classes.append(PreTokenizer.charClass(s))
            offsets.append(offsets[offsets.count - 1] + UTF8.width(s))
        }
        var start = 0
        for end in pre.split(scalars, classes: classes) {
            let word = bytes[offsets[start]..<offsets[end]]
            start = end
            let key = ArraySlice(word)
            if let ids = cache[key] {
                output.append(contentsOf: ids)
                continue
            }
            var ids: [Int] = []
            bpe.encode(UnsafeBufferPointer(rebasing: word), into: &ids)
            cache[key] = ids
            output.append(contentsOf: ids)
        }
    }

    private static func escapeSpaces(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 4)
        for b in bytes {
            if b == 0x20 { out.append(contentsOf: [0xE2, 0x96, 0x81]) } else { out.append(b) }
        }
        return out
    }

    /// `▁` (E2 96 81) back to a space, byte-wise: a `String` replacement would miss a `▁`
    /// fused with a following combining mark into one grapheme.
    private static func unescapeSpaces(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + 2 < bytes.count && bytes[i] == 0xE2 && bytes[i + 1] == 0x96 && bytes[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    private static func byteValue(_ text: String) -> UInt8? {
        let u = Array(text.utf8)
        guard u.count == 6, u.starts(with: Array("<0x".utf8)), u[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    /// Text for `ids`. Special (control) tokens are rendered as their text unless
    /// `skipSpecial`; bytes of split multi-byte characters are joined before decoding, and
    /// invalid UTF-8 becomes U+FFFD.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
        String(decoding: decodeBytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
    }

    /// The raw bytes `ids` stand for (see `decode`).
    public func decodeBytes(_ ids: [Int], skipSpecial: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        var first = true
        for id in ids where id >= 0 && id < pieces.count {
            let a = attributes[id]
            if a.contains(.control) || a.contains(.unknown) {
                if skipSpecial { continue }
            } else if !a.contains(.userDefined) && !a.contains(.normal) && !a.contains(.byte) {
                continue   // unused/undefined tokens render as nothing, as in llama.cpp
            }
            var piece = pieces[id][...]
            // SentencePiece: drop the space prefix that encoding added to the first word.
            if first, vocabulary.model == .llama, vocabulary.addSpacePrefix, a.contains(.normal), piece.first == 0x20 {
                piece = piece.dropFirst()
            }
            if !(a.contains(.control) && id == vocabulary.bosId) { first = false }
            out.append(contentsOf: piece)
        }
        return out
    }

    /// The bytes of text an ordinary token stands for (a normal, byte or user-defined
    /// token; `▁` already a space), nil for control, unknown and unused tokens: what
    /// cross-tokenizer alignment compares between vocabularies.
    public func textBytes(of id: Int) -> [UInt8]? {
        guard id >= 0 && id < pieces.count else { return nil }
        let a = attributes[id]
        guard a.contains(.normal) || a.contains(.byte) || a.contains(.userDefined), !a.contains(.control) else { return nil }
        return pieces[id]
    }

    /// The stored text of a token (`Ġthe`, `▁the`, `<|im_end|>`).
    public func tokenText(_ id: Int) -> String? {
        id >= 0 && id < vocabulary.count ? vocabulary.tokens[id] : nil
    }

    /// The id of a token by its stored text.
    public func tokenId(_ text: String) -> Int? {
        tokenIds.lookup(Array(text.utf8)).map(Int.init)
    }

    /// Whether generation should stop at `id` (EOS, end of turn, or another end marker).
    public func isEndOfGeneration(_ id: Int) -> Bool {
        guard id >= 0 && id < vocabulary.count else { return false }
        if id == vocabulary.eosId || id == vocabulary.eotId { return true }
        return TokenizerVocabulary.endOfTurnTexts.contains(vocabulary.tokens[id])
    }
}
