import Foundation

extension TokenizerVocabulary {
    /// The vocabulary stored in a GGUF file's `tokenizer.ggml.*` metadata.
    public init(gguf metadata: GGUFMetadata) throws {
        let modelName = try metadata.string("tokenizer.ggml.model")
        guard let model = Model(rawValue: modelName) else {
            throw TokenizerError.unsupported("\(metadata.file): tokenizer.ggml.model '\(modelName)' (supported: gpt2, llama)")
        }
        let tokens = try metadata.strings("tokenizer.ggml.tokens")
        var types: [TokenType]?
        if metadata.contains("tokenizer.ggml.token_type") {
            let raw = try metadata.ints("tokenizer.ggml.token_type")
            types = raw.map { TokenType(rawValue: Int32(truncatingIfNeeded: $0)) ?? .undefined }
        }
        func id(_ key: String) throws -> Int? {
            guard let value = try metadata.intIfPresent(key) else { return nil }
            // llama.cpp ignores out-of-range special ids rather than failing.
            return value >= 0 && value < tokens.count ? value : nil
        }
        try self.init(
            model: model,
            preTokenizer: try metadata.stringIfPresent("tokenizer.ggml.pre") ?? "default",
            tokens: tokens,
            scores: try metadata.floatsIfPresent("tokenizer.ggml.scores"),
            tokenTypes: types,
            merges: try metadata.stringsIfPresent("tokenizer.ggml.merges") ?? [],
            bosId: try id("tokenizer.ggml.bos_token_id") ?? (model == .llama ? 1 : nil),
            eosId: try id("tokenizer.ggml.eos_token_id") ?? (model == .llama ? 2 : nil),
            eotId: try id("tokenizer.ggml.eot_token_id"),
            padId: try id("tokenizer.ggml.padding_token_id"),
            unknownId: try id("tokenizer.ggml.unknown_token_id") ?? (model == .llama ? 0 : nil),
            addBOS: try metadata.boolIfPresent("tokenizer.ggml.add_bos_token"),
            addEOS: try metadata.boolIfPresent("tokenizer.ggml.add_eos_token") ?? false,
            addSpacePrefix: try metadata.boolIfPresent("tokenizer.ggml.add_space_prefix"),
            chatTemplate: try metadata.stringIfPresent("tokenizer.chat_template"))
    }
}

extension Tokenizer {
    /// The tokenizer of a GGUF model file.
    public convenience init(gguf file: GGUFFile) throws {
        try self.init(vocabulary: TokenizerVocabulary(gguf: file.metadata))
    }

    public convenience init(ggufPath path: String) throws {
        try self.init(gguf: GGUFFile(path: path))
    }
}
