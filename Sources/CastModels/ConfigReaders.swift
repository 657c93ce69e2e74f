import Foundation

/// Reads `<arch>.*` hyperparameters from GGUF metadata, with the fallbacks GGUF files use.
struct GGUFConfigReader {
    let file: GGUFFile
    let prefix: String

    init(_ file: GGUFFile) throws {
        self.file = file
        prefix = try file.metadata.string("general.architecture")
    }

    func int(_ key: String) throws -> Int { try file.metadata.int("\(prefix).\(key)") }
    func intIfPresent(_ key: String) throws -> Int? { try file.metadata.intIfPresent("\(prefix).\(key)") }
    func float(_ key: String, default value: Float) throws -> Float {
        try file.metadata.floatIfPresent("\(prefix).\(key)") ?? value
    }
    func floatIfPresent(_ key: String) throws -> Float? { try file.metadata.floatIfPresent("\(prefix).\(key)") }

    /// The fields every architecture has. The vocabulary size falls back to the token list
    /// or the embedding's row count (Gemma 3 files have no `vocab_size` key).
    func standardConfig(_ architecture: Architecture,
                        epsilonKey: String = "attention.layer_norm_rms_epsilon") throws -> ModelConfig {
        let d = try int("embedding_length")
        let heads = try int("attention.head_count")
        let embedding = try file.tensorInfo("token_embd.weight")
        let vocab = try intIfPresent("vocab_size") ?? embedding.shape.first ?? 0
        var config = ModelConfig(
            architecture: architecture, vocabularySize: vocab, hiddenSize: d,
            intermediateSize: try int("feed_forward_length"), layerCount: try int("block_count"),
            headCount: heads, kvHeadCount: try intIfPresent("attention.head_count_kv") ?? heads,
            headDim: try intIfPresent("attention.key_length") ?? d / max(heads, 1),
            normEpsilon: try float(epsilonKey, default: 1e-5),
            contextLength: try int("context_length"))
        config.tiedEmbeddings = !file.contains(tensor: "output.weight")
        try config.validate(source: file.path)
        return config
    }
}

/// The fields of an HF `config.json` that the four architectures use (names as HF spells them).
struct HFConfig: Decodable {
    var model_type: String?
    var architectures: [String]?
    var vocab_size: Int?
    var hidden_size: Int?
    var intermediate_size: Int?
    var num_hidden_layers: Int?
    var num_attention_heads: Int?
    var num_key_value_heads: Int?
    var head_dim: Int?
    var rms_norm_eps: Float?
    var rope_theta: Float?
    var rope_local_base_freq: Float?
    var max_position_embeddings: Int?
    var tie_word_embeddings: Bool?
    var sliding_window: Int?
    var sliding_window_pattern: Int?
    /// Newer Gemma 3 configs list each layer's kind instead of a pattern.
    var layer_types: [String]?
    var query_pre_attn_scalar: Float?
    var final_logit_softcapping: Float?
    // GPT-2 spellings
    var n_embd: Int?
    var n_layer: Int?
    var n_head: Int?
    var n_inner: Int?
    var n_positions: Int?
    var layer_norm_epsilon: Float?

    func standardConfig(_ architecture: Architecture, source: String) throws -> ModelConfig {
        func need(_ value: Int?, _ key: String) throws -> Int {
            guard let value else { throw ModelError.invalidConfig(source, "missing '\(key)'") }
            return value
        }
        let d = try need(hidden_size, "hidden_size")
        let heads = try need(num_attention_heads, "num_attention_heads")
        var config = ModelConfig(
            architecture: architecture, vocabularySize: try need(vocab_size, "vocab_size"),
            hiddenSize: d, intermediateSize: try need(intermediate_size, "intermediate_size"),
            layerCount: try need(num_hidden_layers, "num_hidden_layers"), headCount: heads,
            kvHeadCount: num_key_value_heads ?? heads, headDim: head_dim ?? d / max(heads, 1),
            normEpsilon: rms_norm_eps ?? 1e-6,
            contextLength: max_position_embeddings ?? 4096)
        config.tiedEmbeddings = tie_word_embeddings ?? true
        return config
    }
}
