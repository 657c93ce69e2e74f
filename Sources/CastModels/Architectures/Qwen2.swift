/// Qwen2 (Qwen2.5): Llama with biases on q, k and v, and RoPE pairing i with i + d/2.
public enum Qwen2 {
    static let traits = ArchitectureTraits(
        norm: .rms, positions: .ropeHalfSplit, feedForward: .gatedSiLU, qkvBias: true,
        outputBias: false, qkNorm: false, postNorms: false, scaleEmbedding: false)

    static func config(_ gguf: GGUFConfigReader) throws -> ModelConfig {
        var config = try gguf.standardConfig(.qwen2)
        config.ropeBase = try gguf.float("rope.freq_base", default: 1_000_000)
        return config
    }

    static func config(_ hf: HFConfig, source: String) throws -> ModelConfig {
        var config = try hf.standardConfig(.qwen2, source: source)
        config.ropeBase = hf.rope_theta ?? 1_000_000
        return config
    }
}
