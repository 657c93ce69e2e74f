import CastTensor
import Foundation
@testable import CastModels

/// Tiny random-weight models of every architecture, small enough that finite differences
/// over the whole model take milliseconds, yet with every feature of the real ones:
/// GQA (4 query heads over 2 kv heads), biases, LayerNorm, learned positions, q/k norms,
/// post-norms, local and global layers with their own RoPE bases, tied and untied outputs,
/// and a final logit softcap.
enum TinyModels {
    static let vocabulary = 37
    static let hidden = 16
    static let intermediate = 24

    /// The tiny config of `architecture`:
    /// - llama: 2 layers, untied output projection (so `output.weight` is checked too).
    /// - qwen2: 2 layers, q/k/v biases, tied embeddings.
    /// - gemma3: 3 layers, head dim 8 (query width 32 ≠ d), sliding window 3 with pattern 2
    ///   (layers 0 and 2 local with RoPE base 100, layer 1 global with base 10 000), q/k norms,
    ///   post-norms, embedding ×√d, tied embeddings, final logit softcap 3.
    /// - gpt2: 2 layers, 4 heads (no GQA, as GPT-2), LayerNorm with biases, learned positions,
    ///   biases on every projection, tied embeddings.
    static func config(_ architecture: Architecture) -> ModelConfig {
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
    static func weights(for c: ModelConfig, seed: UInt64) -> ModelWeights {
        .random(c, std: 0.3, seed: seed)
    }

    static func model(_ architecture: Architecture, seed: UInt64 = 11) throws -> Transformer {
        let c = config(architecture)
        return try Transformer(name: "tiny-\(architecture.rawValue)", config: c, weights: weights(for: c, seed: seed))
    }

    /// `batch` random sequences of `tokens` ids.
    static func sequences(batch: Int = 2, tokens: Int = 7, seed: UInt64 = 5) -> [[Int32]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<batch).map { _ in (0..<tokens).map { _ in Int32(rng.next() % UInt64(vocabulary)) } }
    }
}

extension ModelWeights {
    /// Runs `body` on the weight named `name` (GGUF naming, as `ModelGradients.named`).
    mutating func withTensor(named name: String, _ body: (inout Tensor) -> Void) throws {
        switch name {
        case "token_embd.weight": try mutateDense(&tokenEmbedding, body)
        case "position_embd.weight": body(&positionEmbedding!)
        case "output_norm.weight": body(&finalNorm)
        case "output_norm.bias": body(&finalNormBias!)
        case "output.weight": try mutateDense(&output!, body)
        default:
            let parts = name.split(separator: ".", maxSplits: 2)
            guard parts.count == 3, parts[0] == "blk", let i = Int(parts[1]), layers.indices.contains(i) else {
                throw ModelError.invalidInput("no weight named \(name)")
            }
            try layers[i].withTensor(suffix: String(parts[2]), body)
        }
    }
}

/// Runs `body` on a float32 weight matrix (the tiny test models have no packed ones).
private func mutateDense(_ weight: inout WeightMatrix, _ body: (inout Tensor) -> Void) throws {
    guard case .dense(var tensor) = weight else { throw ModelError.invalidInput("cannot perturb a packed weight") }
    weight = .dense(Tensor())  // release the enum's reference so the tensor is mutated in place
    body(&tensor)
    weight = .dense(tensor)
}

extension LayerWeights {
    mutating func withTensor(suffix: String, _ body: (inout Tensor) -> Void) throws {
        switch suffix {
        case "attn_norm.weight": body(&attentionNorm)
        case "attn_norm.bias": body(&attentionNormBias!)
        case "attn_q.weight": try mutateDense(&query, body)
        case "attn_k.weight": try mutateDense(&key, body)
        case "attn_v.weight": try mutateDense(&value, body)
        case "attn_output.weight": try mutateDense(&attentionOutput, body)
        case "attn_q.bias": body(&queryBias!)
        case "attn_k.bias": body(&keyBias!)
        case "attn_v.bias": body(&valueBias!)
        case "attn_output.bias": body(&attentionOutputBias!)
        case "attn_q_norm.weight": body(&queryNorm!)
        case "attn_k_norm.weight": body(&keyNorm!)
        case "post_attention_norm.weight": body(&postAttentionNorm!)
        case "ffn_norm.weight": body(&feedForwardNorm)
        case "ffn_norm.bias": body(&feedForwardNormBias!)
        case "ffn_gate.weight": try mutateDense(&gate!, body)
        case "ffn_up.weight": try mutateDense(&up, body)
        case "ffn_down.weight": try mutateDense(&down, body)
        case "ffn_up.bias": body(&upBias!)
        case "ffn_down.bias": body(&downBias!)
        case "post_ffw_norm.weight": body(&postFeedForwardNorm!)
        default: throw ModelError.invalidInput("no layer weight with suffix \(suffix)")
        }
    }
}

extension TinyModels {
    /// A fresh temporary folder (export round trips).
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cast-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "\(a.shape) vs \(b.shape)")
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a.data[i] - b.data[i])) }
        return m
    }
}
