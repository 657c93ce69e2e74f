/// GPT-2: learned position embeddings, LayerNorm with bias, fused QKV with bias (split at
/// load time), GELU-tanh MLP with biases, tied embeddings.
public enum GPT2 {
    static let traits = ArchitectureTraits(
        norm: .layer, positions: .learned, feedForward: .plainGELU, qkvBias: true,
        outputBias: true, qkNorm: false, postNorms: false, scaleEmbedding: false)

    static func config(_ gguf: GGUFConfigReader) throws -> ModelConfig {
        try gguf.standardConfig(.gpt2, epsilonKey: "attention.layer_norm_epsilon")
    }

    static func config(_ hf: HFConfig, source: String) throws -> ModelConfig {
        guard let d = hf.n_embd ?? hf.hidden_size, let layers = hf.n_layer ?? hf.num_hidden_layers,
              let heads = hf.n_head ?? hf.num_attention_heads, let vocab = hf.vocab_size else {
            throw ModelError.invalidConfig(source, "gpt2 config needs n_embd, n_layer, n_head and vocab_size")
        }
        var config = ModelConfig(
            architecture: .gpt2, vocabularySize: vocab, hiddenSize: d,
            intermediateSize: hf.n_inner ?? 4 * d, layerCount: layers, headCount: heads,
            kvHeadCount: heads, headDim: d / max(heads, 1),
            normEpsilon: hf.layer_norm_epsilon ?? 1e-5,
            contextLength: hf.n_positions ?? hf.max_position_embeddings ?? 1024)
        config.tiedEmbeddings = hf.tie_word_embeddings ?? true
        return config
    }
}
