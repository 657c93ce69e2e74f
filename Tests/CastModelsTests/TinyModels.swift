import CastTestSupport
import CastTensor
import Foundation
@testable import CastModels

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
    static func temporaryFolder() throws -> URL { try TestSupport.temporaryFolder() }
    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float { TestSupport.maxDifference(a, b) }
}
