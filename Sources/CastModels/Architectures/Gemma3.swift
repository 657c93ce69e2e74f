/// Gemma 3: embedding ×√d, per-head RMSNorm on q and k before RoPE (half-split pairs),
/// norms after attention and after the GELU-tanh gated FFN, and a repeating pattern of
/// sliding-window local layers (rope base 10 000) with one global layer every sixth.
/// GGUF norm weights already include Gemma's "+1".
public enum Gemma3 {
    static let traits = ArchitectureTraits(
        norm: .rms, positions: .ropeHalfSplit, feedForward: .gatedGELU, qkvBias: false,
        outputBias: false, qkNorm: true, postNorms: true, scaleEmbedding: true)

    static let defaultPattern = 6
    static let defaultLocalRopeBase: Float = 10_000

    static func config(_ gguf: GGUFConfigReader) throws -> ModelConfig {
        var config = try gguf.standardConfig(.gemma3)
        config.ropeBase = try gguf.float("rope.freq_base", default: 1_000_000)
        config.localRopeBase = defaultLocalRopeBase
        config.slidingWindow = try gguf.intIfPresent("attention.sliding_window")
        config.slidingWindowPattern = try gguf.intIfPresent("attention.sliding_window_pattern") ?? defaultPattern
        config.finalLogitSoftcap = try gguf.floatIfPresent("final_logit_softcapping")
        return config
    }

    static func config(_ hf: HFConfig, source: String) throws -> ModelConfig {
        var config = try hf.standardConfig(.gemma3, source: source)
        config.ropeBase = hf.rope_theta ?? 1_000_000
        config.localRopeBase = hf.rope_local_base_freq ?? defaultLocalRopeBase
        config.slidingWindow = hf.sliding_window
        config.slidingWindowPattern = try hf.layer_types.map { try pattern(of: $0, source: source) }
            ?? hf.sliding_window_pattern ?? defaultPattern
        config.finalLogitSoftcap = hf.final_logit_softcapping
        if let scalar = hf.query_pre_attn_scalar, scalar != Float(config.headDim) {
            throw ModelError.invalidConfig(source, "query_pre_attn_scalar \(scalar) differs from head_dim \(config.headDim) (only 1/√head_dim query scaling is supported)")
        }
        return config
    }

    /// The period of a `layer_types` list in which every p-th layer is "full_attention" and the
    /// rest "sliding_attention".
    static func pattern(of layerTypes: [String], source: String) throws -> Int {
        let period = (layerTypes.firstIndex(of: "full_attention") ?? layerTypes.count) + 1
        for (i, kind) in layerTypes.enumerated() {
            let expected = (i + 1) % period == 0 ? "full_attention" : "sliding_attention"
            guard kind == expected else {
                throw ModelError.invalidConfig(source, "layer_types[\(i)] is '\(kind)'; only a repeating pattern of sliding layers with every \(period)th layer full is supported")
            }
        }
        return period
    }
}
