import Foundation

/// Writes a byte-level BPE vocabulary as HF `tokenizer.json` + `tokenizer_config.json`, in
/// the form `TokenizerVocabulary(huggingFaceTokenizer:)` and the `tokenizers` library read.
/// SentencePiece vocabularies (Gemma) carry scores rather than merges in GGUF; rebuilding
/// HF merges from scores is not attempted, so they export no tokenizer files (nil).
enum HFTokenizerExport {
    /// The pre-tokenizer regexes as HF writes them (Qwen2 and Llama 3 tokenizer.json files).
    static let qwen2Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static func files(_ v: TokenizerVocabulary) throws -> (tokenizer: Data, config: Data)? {
        guard v.model == .gpt2, let preTokenizer = preTokenizer(v.preTokenizer) else { return nil }
        var vocab: [String: Int] = [:]
        var added: [[String: Any]] = []
        for (id, text) in v.tokens.enumerated() where v.tokenTypes[id] != .unused {
            if vocab[text] == nil { vocab[text] = id }
            let type = v.tokenTypes[id]
            if type == .control || type == .userDefined {
                added.append(["id": id, "content": text, "single_word": false, "normalized": type == .userDefined,
                              "lstrip": v.leftStripTokens.contains(id), "rstrip": v.rightStripTokens.contains(id),
                              "special": type == .control])
            }
        }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let tokenizer: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(),
            "added_tokens": added, "normalizer": NSNull(), "pre_tokenizer": preTokenizer,
            "post_processor": byteLevel.merging(["trim_offsets": false]) { _, new in new },
            "decoder": byteLevel,
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": v.merges] as [String: Any],
        ]
        var config: [String: Any] = [
            "tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": v.addBOS, "add_eos_token": v.addEOS,
            "clean_up_tokenization_spaces": false,
        ]
        for (key, id) in [("bos_token", v.bosId), ("eos_token", v.eosId), ("pad_token", v.padId), ("unk_token", v.unknownId)] {
            if let id { config[key] = v.tokens[id] }
        }
        if let template = v.chatTemplate { config["chat_template"] = template }
        return (try JSONSerialization.data(withJSONObject: tokenizer, options: [.sortedKeys]),
                try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]))
    }

    /// The HF `pre_tokenizer` block for a llama.cpp pre-tokenizer name.
    private static func preTokenizer(_ name: String) -> [String: Any]? {
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        func split(_ regex: String) -> [String: Any] {
            ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": regex], "behavior": "Isolated", "invert": false] as [String: Any],
                byteLevel.merging(["use_regex": false]) { _, new in new },
            ]]
        }
        switch name {
        case "gpt-2", "gpt2": return byteLevel
        case "smollm":
            return ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]]
        case "qwen2": return split(qwen2Regex)
        case "llama3", "llama-v3", "llama-bpe": return split(llama3Regex)
        default: return nil
        }
    }
}
