extension Tokenizer {
    /// The tokenizer described by a GGUF file's `tokenizer.ggml.*` metadata.
    public convenience init(gguf file: GGUFFile) throws {
        try self.init(vocabulary: TokenizerVocabulary(gguf: file))
    }
}
