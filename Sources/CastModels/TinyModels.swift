import CastTensor

/// Tiny random-weight models of every architecture (for tests and examples), small enough that finite differences
/// over the whole model take milliseconds, yet with every feature of the real ones:
/// GQA (4 query heads over 2 kv heads), biases, LayerNorm, learned positions, q/k norms,
/// post-norms, local and global layers with their own RoPE bases, tied and untied outputs,
/// and a final logit softcap.
public enum TinyModels {
    public static let vocabulary = 37
    public static let hidden = 16
    public static let intermediate = 24

    /// The tiny config of `architecture`:
    /// - llama: 2 layers, untied output projection (so `output.weight` is checked too).
    /// - qwen2: 2 layers, q/k/v biases, tied embeddings.
    /// - gemma3: 3 layers, head dim 8 (query width 32 ≠ d), sliding window 3 with pattern 2
    ///   (layers 0 and 2 local with RoPE base 100, layer 1 global with base 10 000), q/k norms,
    ///   post-norms, embedding ×√d, tied embeddings, final logit softcap 3.
    /// - gpt2: 2 layers, 4 heads (no GQA, as GPT-2), LayerNorm with biases, learned positions,
    ///   biases on every projection, tied embeddings.
    public static func config(_ architecture: Architecture) -> ModelConfig {
        var c = ModelConfig(architecture: architecture, vocabularySize: vocabulary, hiddenSize: hidden,
                            intermediateSize: intermediate, layerCount: 2, headCount: 4, kvHeadCount: 2,
                            headDim: 4, normEpsilon: 1e-5, contextLength: 16)
        switch architecture {
        case .llama:
            c.ropeBase = 500
            c.tiedEmbeddings = false
        case .qwen2:
            c.ropeBase = 1_000
        case .gemma3:
            c.layerCount = 3
            c.headDim = 8
            c.ropeBase = 10_000
            c.localRopeBase = 100
            c.slidingWindow = 3
            c.slidingWindowPattern = 2
            c.finalLogitSoftcap = 3
        case .gpt2:
            c.kvHeadCount = 4
        }
        return c
    }

    /// Random weights for `config`: norm weights 1 + N(0, 0.1), everything else N(0, 0.3),
    /// so that no gradient is vanishingly small.
    public static func weights(for c: ModelConfig, seed: UInt64) -> ModelWeights {
        .random(c, std: 0.3, seed: seed)
    }

    public static func model(_ architecture: Architecture, seed: UInt64 = 11) throws -> Transformer {
        let c = config(architecture)
        return try Transformer(name: "tiny-\(architecture.rawValue)", config: c, weights: weights(for: c, seed: seed))
    }

    /// A qwen2 model 24 wide (queries 4 heads × 6 over 2 kv heads), FFN 28, 3 layers, random
    /// weights: a CAST target whose every P is rectangular beside the 16-wide tiny models.
    public static func wideQwen2(tiedEmbeddings: Bool) throws -> Transformer {
        var c = config(.qwen2)
        c.hiddenSize = 24
        c.intermediateSize = 28
        c.layerCount = 3
        c.headCount = 4
        c.kvHeadCount = 2
        c.headDim = 6
        c.tiedEmbeddings = tiedEmbeddings
        return try Transformer(name: "tiny-qwen2-wide", config: c, weights: .random(c, std: 0.3, seed: 12))
    }

    /// `batch` random sequences of `tokens` ids.
    public static func sequences(batch: Int = 2, tokens: Int = 7, seed: UInt64 = 5) -> [[Int32]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<batch).map { _ in (0..<tokens).map { _ in Int32(rng.next() % UInt64(vocabulary)) } }
    }
}

