import CastTestSupport
import Foundation
import Testing
@testable import CastModels

/// Loading a Hugging Face tokenizer.json: a GGUF vocabulary written out in tokenizer.json form
/// (as HF ships it: byte-level vocab dict, merges, added tokens, pre-tokenizer block) must give
/// the same ids as the GGUF itself on every reference string.
@Suite struct TokenizerJSONTests {
    /// The tokenizer.json + tokenizer_config.json an HF repo would have for this vocabulary.
    static func huggingFaceFiles(for v: TokenizerVocabulary, preTokenizerBlock: Any, pairMerges: Bool) throws -> (Data, Data) {
        var vocab: [String: Int] = [:]
        var added: [[String: Any]] = []
        for (id, text) in v.tokens.enumerated() {
            switch v.tokenTypes[id] {
            case .control: added.append(["id": id, "content": text, "special": true, "lstrip": false, "rstrip": false])
            case .userDefined: added.append(["id": id, "content": text, "special": false])
            case .unused: continue
            default: vocab[text] = id
            }
        }
        let merges: [Any] = pairMerges
            ? v.merges.map { $0.unicodeScalars.split(separator: " ", maxSplits: 1).map { String(String.UnicodeScalarView($0)) } }
            : v.merges
        let json: [String: Any] = [
            "version": "1.0", "added_tokens": added, "normalizer": NSNull(),
            "pre_tokenizer": preTokenizerBlock,
            "decoder": ["type": "ByteLevel", "add_prefix_space": false],
            "model": ["type": "BPE", "vocab": vocab, "merges": merges, "byte_fallback": false],
        ]
        var config: [String: Any] = ["add_bos_token": v.addBOS, "chat_template": v.chatTemplate ?? ""]
        if let eos = v.eosId { config["eos_token"] = v.tokens[eos] }
        if let bos = v.bosId { config["bos_token"] = ["content": v.tokens[bos]] }
        return (try JSONSerialization.data(withJSONObject: json), try JSONSerialization.data(withJSONObject: config))
    }

    static var byteLevel: [String: Any] { ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true] }

    @Test func smollmFromTokenizerJSONMatchesGGUF() throws {
        let gguf = try TestModels.tokenizer("smollm2-135m")
        let pre: [String: Any] = ["type": "Sequence", "pretokenizers": [
            ["type": "Digits", "individual_digits": true], Self.byteLevel]]
        let (json, config) = try Self.huggingFaceFiles(for: gguf.vocabulary, preTokenizerBlock: pre, pairMerges: false)
        try checkSameIds(gguf, json, config, expectedPre: "smollm")
    }

    @Test func qwenFromTokenizerJSONMatchesGGUF() throws {
        let gguf = try TestModels.tokenizer("qwen2.5-0.5b")
        let regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        let pre: [String: Any] = ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": regex], "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false]]]
        let (json, config) = try Self.huggingFaceFiles(for: gguf.vocabulary, preTokenizerBlock: pre, pairMerges: true)
        try checkSameIds(gguf, json, config, expectedPre: "qwen2")
    }

    func checkSameIds(_ gguf: Tokenizer, _ json: Data, _ config: Data, expectedPre: String) throws {
        let v = try TokenizerVocabulary(huggingFaceTokenizer: json, config: config)
        #expect(v.model == .gpt2)
        #expect(v.preTokenizer == expectedPre)
        #expect(v.eosId == gguf.vocabulary.eosId)
        #expect(v.merges == gguf.vocabulary.merges)
        let hf = try Tokenizer(vocabulary: v)
        let reference = try TokenizerReference.load(gguf.vocabulary.tokens.count == 49152 ? "smollm2-135m" : "qwen2.5-0.5b")
        var differing: [String] = []
        for c in reference.cases where hf.encode(c.text) != gguf.encode(c.text) { differing.append(c.text) }
        #expect(differing.isEmpty, "\(differing.count) strings differ, e.g. \(differing.prefix(3))")
    }

    /// A SentencePiece-style tokenizer.json (Gemma's form: ▁ tokens, merges, byte fallback, no
    /// scores): scores come from merge ranks, so earlier merges win as in the original.
    @Test func sentencePieceStyleTokenizerJSON() throws {
        var vocab: [String: Int] = ["<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "▁": 4, "a": 5, "b": 6,
                                    "ab": 7, "▁a": 8, "▁ab": 9]
        for b in 0..<256 { vocab[String(format: "<0x%02X>", b)] = 10 + b }
        let json: [String: Any] = [
            "added_tokens": [["id": 0, "content": "<pad>", "special": true], ["id": 1, "content": "<eos>", "special": true],
                             ["id": 2, "content": "<bos>", "special": true], ["id": 3, "content": "<unk>", "special": true]],
            "normalizer": ["type": "Replace", "pattern": ["String": " "], "content": "▁"],
            "pre_tokenizer": NSNull(),
            "decoder": ["type": "Sequence", "decoders": [["type": "ByteFallback"]]],
            "model": ["type": "BPE", "vocab": vocab, "merges": ["▁ a", "a b", "▁a b"], "byte_fallback": true, "unk_token": "<unk>"],
        ]
        let config: [String: Any] = ["add_bos_token": true, "bos_token": "<bos>", "eos_token": "<eos>"]
        let v = try TokenizerVocabulary(huggingFaceTokenizer: JSONSerialization.data(withJSONObject: json),
                                        config: JSONSerialization.data(withJSONObject: config))
        #expect(v.model == .llama)
        #expect(v.addSpacePrefix == false)
        #expect(v.bosId == 2 && v.eosId == 1 && v.unknownId == 3)
        #expect(v.scores[8] == 0 && v.scores[7] == -1 && v.scores[9] == -2)
        #expect(v.tokenTypes[10] == .byte && v.tokenTypes[2] == .control)
        let t = try Tokenizer(vocabulary: v)
        // " ab": "▁a" (rank 0) merges before "ab" (rank 1), then "▁a b" → "▁ab".
        #expect(t.encode(" ab") == [2, 9])
        #expect(t.encode("é", addSpecial: false) == [10 + 0xC3, 10 + 0xA9])
        #expect(t.decode(t.encode(" ab é"), skipSpecial: true) == " ab é")
    }

    @Test func badDocumentsThrowNamedErrors() {
        #expect(throws: TokenizerError.badField(source: "tokenizer.json", field: "(document)", expected: "a JSON object")) {
            try TokenizerVocabulary(huggingFaceTokenizer: Data("[1]".utf8))
        }
        #expect(throws: TokenizerError.missingField(source: "tokenizer.json", field: "model.vocab")) {
            try TokenizerVocabulary(huggingFaceTokenizer: Data(#"{"model": {"type": "BPE"}}"#.utf8))
        }
        #expect(throws: TokenizerError.self) {
            try TokenizerVocabulary(huggingFaceTokenizer: Data(#"{"model": {"type": "Unigram", "vocab": []}}"#.utf8))
        }
    }
}
