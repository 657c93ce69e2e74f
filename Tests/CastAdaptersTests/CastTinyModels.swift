import CastAdapters
import CastModels
import CastTensor

/// Tiny source/target pairs for CAST tests: a llama source with a LoRA (random non-zero B)
/// and targets of other widths and depths, or the source itself with its residual stream
/// rotated (the same function in other coordinates).
enum CastTinyModels {
    static let loraModules = ["q_proj", "v_proj", "o_proj", "down_proj"]

    static func source() throws -> (model: Transformer, lora: LoRAAdapter) {
        let model = try TinyModels.model(.llama, seed: 11)
        let lora = try LoRAAdapter(for: model.config, config: LoRAConfig(rank: 3, alpha: 6, targetModules: loraModules),
                                   seed: 4, bStd: 0.3)
        return (model, lora)
    }

    /// A qwen2 target 24 wide (queries 4 heads × 6 over 2 kv heads), FFN 28, 3 layers: every
    /// P is rectangular.
    static func widerTarget() throws -> Transformer {
        try TinyModels.wideQwen2(tiedEmbeddings: false)
    }

    /// `model` with its residual stream rotated by a random orthogonal `Q`: norm gains folded
    /// into the projections that read them (so the norms commute with Q), embeddings and
    /// everything writing the stream multiplied by Q, everything reading it by Qᵀ. Computes
    /// the same logits as `model` (llama: RMS norms, no biases, untied output).
    static func rotated(_ model: Transformer, seed: UInt64) throws -> (model: Transformer, q: Tensor) {
        let c = model.config
        precondition(c.architecture == .llama && !c.tiedEmbeddings)
        let q = try SVD.thin(Tensor.randomNormal([c.hiddenSize, c.hiddenSize], seed: seed)).u  // orthogonal [d, d]
        var w = model.weights
        func dense(_ m: WeightMatrix) -> Tensor { m.tensor }
        /// W·diag(g)·Qᵀ: reads the rotated, un-gained normed stream.
        func reading(_ m: WeightMatrix, gain: Tensor) throws -> WeightMatrix {
            var t = dense(m)
            let cols = t.shape[1], p = t.mutableData
            for r in 0..<t.shape[0] { for j in 0..<cols { p[r * cols + j] *= gain.data[j] } }
            return .dense(try Tensor.matmul(t, q, transposeB: true))
        }
        /// Q·W: writes the rotated stream.
        func writing(_ m: WeightMatrix) throws -> WeightMatrix { .dense(try Tensor.matmul(q, dense(m))) }
        let ones = Tensor(repeating: 1, shape: [c.hiddenSize])
        for l in 0..<c.layerCount {
            var layer = w.layers[l]
            let g1 = layer.attentionNorm, g2 = layer.feedForwardNorm
            layer.query = try reading(layer.query, gain: g1)
            layer.key = try reading(layer.key, gain: g1)
            layer.value = try reading(layer.value, gain: g1)
            layer.attentionOutput = try writing(layer.attentionOutput)
            layer.gate = try reading(layer.gate!, gain: g2)
            layer.up = try reading(layer.up, gain: g2)
            layer.down = try writing(layer.down)
            layer.attentionNorm = ones
            layer.feedForwardNorm = ones
            w.layers[l] = layer
        }
        w.output = try reading(w.output!, gain: w.finalNorm)
        w.finalNorm = ones
        w.tokenEmbedding = .dense(try Tensor.matmul(dense(w.tokenEmbedding), q, transposeB: true))
        return (try Transformer(name: model.name + "-rotated", config: c, weights: w), q)
    }

    /// Random token windows of the tiny vocabulary (train and held-out).
    static func corpus(train: Int = 24, heldOut: Int = 8, tokens: Int = 10, seed: UInt64 = 9) throws -> PairedCorpus {
        try PairedCorpus(name: "tiny-random", train: TinyModels.sequences(batch: train, tokens: tokens, seed: seed),
                         heldOut: TinyModels.sequences(batch: heldOut, tokens: tokens, seed: seed &+ 1))
    }

    static func options(steps: Int = 4, objective: CastObjective = .paper) -> CastOptions {
        var o = CastOptions()
        o.training.steps = steps
        o.training.batchSize = 3
        o.training.warmupSteps = 0
        o.training.learningRate = 1e-2
        o.training.minLearningRate = 1e-2
        o.windowLength = 10
        o.objective = objective
        o.initWindows = 24
        return o
    }
}
