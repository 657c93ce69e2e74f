import Foundation
import Testing
@testable import CastModels

/// Tokenizer pieces on small hand-made vocabularies, where the right answer is known by hand.
@Suite struct TokenizerUnitTests {
    /// Words of `text` under a pre-tokenizer.
    func words(_ pre: PreTokenizer, _ text: String) -> [String] {
        let scalars = text.unicodeScalars.map(\.value)
        let classes = text.unicodeScalars.map(PreTokenizer.charClass)
        var start = 0
        return pre.split(scalars, classes: classes).map { end in
            defer { start = end }
            return String(String.UnicodeScalarView(text.unicodeScalars.dropFirst(start).prefix(end - start)))
        }
    }

    @Test func gpt2Split() {
        #expect(words(.gpt2, "Hello world's 123 abc!!  x") == ["Hello", " world", "'s", " 123", " abc", "!!", " ", " x"])
        #expect(words(.gpt2, "a   \n\nb") == ["a", "   \n", "\n", "b"])   // \s+(?!\S) leaves the last space
        #expect(words(.gpt2, "x  ") == ["x", "  "])
        #expect(words(.gpt2, "I'M") == ["I", "'", "M"])   // gpt-2 contractions are case-sensitive
    }

    @Test func smollmIsolatesDigits() {
        #expect(words(.smollm, "abc 2024x") == ["abc", " ", "2", "0", "2", "4", "x"])
        #expect(words(.smollm, "½²") == ["½", "²"])
    }

    @Test func qwen2Split() {
        #expect(words(.qwen2, "Hello world 123") == ["Hello", " world", " ", "1", "2", "3"])
        #expect(words(.qwen2, "I'M (ok)\n\nyes") == ["I", "'M", " (", "ok", ")\n\n", "yes"])
        #expect(words(.qwen2, "a  \n  b") == ["a", "  \n", " ", " b"])
        #expect(words(.llama3, "12345") == ["123", "45"])
    }

    /// A tiny byte-level vocabulary: bytes of "abc " plus merges.
    func byteLevelTokenizer(merges: [String]) throws -> Tokenizer {
        var tokens = ["<|end|>", "a", "b", "c", "Ġ"]
        for m in merges { tokens.append(m.replacingOccurrences(of: " ", with: "")) }
        var types = [TokenizerVocabulary.TokenType](repeating: .normal, count: tokens.count)
        types[0] = .control
        let v = try TokenizerVocabulary(model: .gpt2, preTokenizer: "gpt-2", tokens: tokens, tokenTypes: types,
                                        merges: merges, eosId: 0)
        return try Tokenizer(vocabulary: v)
    }

    @Test func bpeMergesLowestRankFirstLeftmostOnTies() throws {
        // "abab": rank 0 is "a b" → both pairs tie, leftmost first, then "ab ab".
        let t = try byteLevelTokenizer(merges: ["a b", "ab ab", "b a"])
        #expect(t.encode("abab") == [t.tokenId("abab")!])
        // "bab": "b a" (rank 2) loses to "a b" (rank 0) → b, ab.
        #expect(t.encode("bab") == [t.tokenId("b")!, t.tokenId("ab")!])
        #expect(t.decode(t.encode("ab abc")) == "ab abc")
    }

    @Test func specialTokensSplitOnlyWhenParsed() throws {
        let t = try byteLevelTokenizer(merges: ["a b"])
        let parsed = t.encode("ab<|end|>ab")
        #expect(parsed == [t.tokenId("ab")!, 0, t.tokenId("ab")!])
        // As plain text the marker is byte-level BPE over '<', '|', … which this vocab lacks,
        // so those bytes are dropped (llama.cpp's behaviour) and no control id appears.
        #expect(!t.encode("ab<|end|>ab", parseSpecial: false).contains(0))
        #expect(t.decode(parsed, skipSpecial: true) == "abab")
        #expect(t.decode(parsed) == "ab<|end|>ab")
    }

    /// SentencePiece: highest score first, ▁ for spaces, byte fallback for unknown characters.
    @Test func sentencePieceScoresAndByteFallback() throws {
        var tokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "ab", "▁a", "▁ab"]
        var scores: [Float] = [0, 0, 0, -1, -1, -1, -3, -2, -4]
        var types = [TokenizerVocabulary.TokenType](repeating: .normal, count: tokens.count)
        types[0] = .unknown; types[1] = .control; types[2] = .control
        for b in 0..<256 {
            tokens.append(String(format: "<0x%02X>", b))
            scores.append(0)
            types.append(.byte)
        }
        let v = try TokenizerVocabulary(model: .llama, preTokenizer: "default", tokens: tokens, scores: scores,
                                        tokenTypes: types, bosId: 1, eosId: 2, unknownId: 0, addBOS: true,
                                        addSpacePrefix: true)
        let t = try Tokenizer(vocabulary: v)
        // " ab": "▁a" (-2) beats "ab" (-3), then "▁a"+"b" = "▁ab".
        #expect(t.encode("ab") == [1, 8])
        // 'é' is not a token: its two UTF-8 bytes come out as <0xC3> <0xA9>.
        let e = t.encode("é", addSpecial: false)
        #expect(e == [3, 9 + 0xC3, 9 + 0xA9])
        #expect(t.decode(t.encode("ab é")) == "<s>ab é")
        #expect(t.decode(t.encode("ab é"), skipSpecial: true) == "ab é")
    }

    @Test func vocabularyValidation() {
        #expect(throws: TokenizerError.self) {
            try TokenizerVocabulary(model: .gpt2, preTokenizer: "gpt-2", tokens: ["a"], merges: [])
        }
        #expect(throws: TokenizerError.self) {
            try TokenizerVocabulary(model: .llama, preTokenizer: "default", tokens: ["a"], bosId: 5)
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(vocabulary: TokenizerVocabulary(model: .gpt2, preTokenizer: "no-such-pre", tokens: ["a", "b"], merges: ["a b"]))
        }
    }
}
