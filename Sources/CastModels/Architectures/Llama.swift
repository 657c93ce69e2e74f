/// Llama (SmolLM2): RMSNorm, RoPE on adjacent pairs (GGUF converters permute q/k rows so this
/// equals HF's rotate-half), SwiGLU feed-forward, no biases.
public enum Llama {
    static let traits = ArchitectureTraits(
        norm: .rms, positions: .ropeAdjacent, feedForward: .gatedSiLU, qkvBias: false,
        outputBias: false, qkNorm: false, postNorms: false, scaleEmbedding: false)

    static func config(_ gguf: GGUFConfigReader) throws -> ModelConfig {
        var config = try gguf.standardConfig(.llama)
        config.ropeBase = try gguf.float("rope.freq_base", default: 10_000)
        return config
    }

    static func config(_ hf: HFConfig, source: String) throws -> ModelConfig {
        var config = try hf.standardConfig(.llama, source: source)
        config.ropeBase = hf.rope_theta ?? 10_000
        return config
    }
}
