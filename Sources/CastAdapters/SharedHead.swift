import CastModels
import CastTensor
import Foundation

/// A model's output head restricted to the tokens two vocabularies share: the rows of
/// `W_out` for those ids, dense. Logits over the shared tokens then cost K·d per position
/// instead of V·d (qwen2.5: 39k of 152k columns), and their gradient goes straight back to
/// the hidden states, never scattered into a full-vocabulary buffer.
struct SharedHead {
    /// `[K, d]`: row k is the output row of token `ids[k]`.
    let weight: Tensor
    let softcap: Float?

    init(_ model: Transformer, ids: [Int32]) throws {
        var rows = Tensor()
        try Embedding.forward(ids: ids, table: model.weights.outputProjection, into: &rows)
        weight = rows
        softcap = model.config.finalLogitSoftcap
    }

    /// `[n, K]` logits of hidden states `h [n, d]` (with the model's softcap).
    func forward(_ h: Tensor) throws -> Tensor {
        var z = try Linear.forward(h, weight: weight)
        if let cap = softcap {
            let p = z.mutableData
            for i in 0..<z.count { p[i] = cap * Foundation.tanh(p[i] / cap) }
        }
        return z
    }

    /// Accumulates into `dh [n, d]` the gradient of `dLogits` through `forward` (`logits`
    /// is what it returned).
    func backward(dLogits: Tensor, logits: Tensor, h: Tensor, into dh: inout Tensor?) throws {
        var dz = dLogits
        if let cap = softcap {
            // z = cap·tanh(u/cap) ⇒ dz/du = 1 − (z/cap)²
            let zp = logits.data, dp = dz.mutableData
            for i in 0..<dz.count { let t = zp[i] / cap; dp[i] *= 1 - t * t }
        }
        var noWeight: Tensor? = nil, noBias: Tensor? = nil
        try Linear.backward(dy: dz, x: h, weight: weight, dx: &dh, dWeight: &noWeight, dBias: &noBias)
    }
}
