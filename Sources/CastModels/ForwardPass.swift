import CastTensor

/// Everything one forward pass over a batch of equal-length sequences produced and its
/// backward pass needs. Keep one per training loop: its buffers are reused step after step.
public struct ForwardPass {
    public internal(set) var batch = 0
    public internal(set) var tokens = 0
    var ids: [Int32] = []
    var positions: [Int32] = []
    /// `inputs[i]` enters layer i; `inputs[layerCount]` is the last layer's output.
    var inputs: [Tensor] = []
    var layers: [LayerActivations] = []
    var finalMean = Tensor(), finalRstd = Tensor()
    var saved = false
    /// Final normed hidden states `[batch·tokens, d]` (what the output head reads).
    public internal(set) var hidden = Tensor()
    /// Logits `[batch·tokens, vocab]`.
    public internal(set) var logits = Tensor()
    // backward scratch
    var layerScratch = LayerBackwardScratch()
    var dStream: Tensor? = Tensor(), dStreamNext: Tensor? = Tensor()
    var dHiddenTotal: Tensor? = Tensor()

    public init() {}

    /// Hidden state entering layer `index` (`index == layerCount`: the last layer's output).
    public func residualStream(atLayer index: Int) -> Tensor { inputs[index] }
}

extension Transformer {
    /// Runs equal-length `sequences` through the model. With `training`, keeps every
    /// activation the backward pass needs in `pass`.
    public func forward(_ sequences: [[Int32]], pass: inout ForwardPass, training: Bool) throws {
        guard let tokens = sequences.first?.count, tokens > 0,
              sequences.allSatisfy({ $0.count == tokens }) else {
            throw ModelError.invalidInput(
                "\(name): forward needs one or more non-empty sequences of equal length, got lengths \(sequences.map(\.count))")
        }
        let batch = sequences.count
        pass.batch = batch
        pass.tokens = tokens
        pass.saved = training
        pass.ids = sequences.flatMap { $0 }
        pass.positions = (0..<batch).flatMap { _ in (0..<tokens).map { Int32($0) } }
        let layerCount = config.layerCount
        if pass.inputs.count != layerCount + 1 { pass.inputs = Array(repeating: Tensor(), count: layerCount + 1) }
        let perLayer = training ? layerCount : 1
        if pass.layers.count != perLayer { pass.layers = Array(repeating: LayerActivations(), count: perLayer) }

        try embed(pass.ids, positions: pass.positions, into: &pass.inputs[0])
        let context = AttentionContext.sequences(batch: batch, tokens: tokens, saveProbabilities: training)
        for index in 0..<layerCount {
            let x = pass.inputs[index]
            try layer(index).forward(x, positions: pass.positions, context: context,
                                     saved: &pass.layers[training ? index : 0], into: &pass.inputs[index + 1])
        }
        try finalNorm(pass.inputs[layerCount], into: &pass.hidden, mean: &pass.finalMean, rstd: &pass.finalRstd)
        try project(pass.hidden, training: training, into: &pass.logits)
    }

    /// Backpropagates from the gradient of the logits and/or of the final hidden states
    /// (each `[batch·tokens, …]`, nil = no loss on it). Accumulates into the trainable
    /// weights' gradients, the adapters' gradients and, when non-nil, `dEmbeddings`
    /// (`[batch·tokens, d]`, the gradient of the layer-0 input).
    public func backward(_ pass: inout ForwardPass, dLogits: Tensor?, dHidden: Tensor?,
                         gradients g: inout ModelGradients, dEmbeddings: inout Tensor?) throws {
        guard pass.saved else {
            throw ModelError.invalidInput("\(name): backward needs a forward pass run with training: true")
        }
        let rows = pass.batch * pass.tokens, d = config.hiddenSize, layerCount = config.layerCount
        LayerBackwardScratch.prepare(&pass.dHiddenTotal, [rows, d])
        if let dHidden {
            try dHidden.expectShape([rows, d], "Transformer.backward", "dHidden")
            try pass.dHiddenTotal!.add(dHidden)
        }
        if let dLogits {
            try dLogits.expectShape([rows, config.vocabularySize], "Transformer.backward", "dLogits")
            var dz = dLogits
            if let cap = config.finalLogitSoftcap {
                // z = cap·tanh(u/cap) ⇒ dz/du = 1 − (z/cap)²
                let zp = pass.logits.data, dp = dz.mutableData
                for i in 0..<dz.count { let t = zp[i] / cap; dp[i] *= 1 - t * t }
            }
            // The output weight's gradient buffer (the embedding's when tied) is moved out of
            // `g` and back, so accumulating into it never copies.
            let tied = weights.output == nil
            var dOutputWeight: Tensor? = nil, noBias: Tensor? = nil
            if tied { swap(&dOutputWeight, &g.tokenEmbedding) } else { swap(&dOutputWeight, &g.output) }
            defer { if tied { swap(&dOutputWeight, &g.tokenEmbedding) } else { swap(&dOutputWeight, &g.output) } }
            try Linear.backward(dy: dz, x: pass.hidden, weight: weights.outputProjection,
                                dx: &pass.dHiddenTotal, dWeight: &dOutputWeight, dBias: &noBias)
        }
        LayerBackwardScratch.prepare(&pass.dStream, [rows, d])
        let last = pass.inputs[layerCount]
        switch config.traits.norm {
        case .rms:
            try RMSNorm.backward(dy: pass.dHiddenTotal!, x: last, weight: weights.finalNorm, rstd: pass.finalRstd,
                                 dx: &pass.dStream, dWeight: &g.finalNorm)
        case .layer:
            try LayerNorm.backward(dy: pass.dHiddenTotal!, x: last, weight: weights.finalNorm,
                                   mean: pass.finalMean, rstd: pass.finalRstd, dx: &pass.dStream,
                                   dWeight: &g.finalNorm, dBias: &g.finalNormBias)
        }
        for index in stride(from: layerCount - 1, through: 0, by: -1) {
            LayerBackwardScratch.prepare(&pass.dStreamNext, [rows, d])
            try layer(index).backward(dOut: pass.dStream!, x: pass.inputs[index], positions: pass.positions,
                                      batch: pass.batch, tokens: pass.tokens, saved: pass.layers[index],
                                      gradients: &g.layers[index], scratch: &pass.layerScratch,
                                      dx: &pass.dStreamNext)
            swap(&pass.dStream, &pass.dStreamNext)
        }
        try embeddingBackward(pass.dStream!, pass: pass, gradients: &g)
        if dEmbeddings != nil {
            try dEmbeddings!.expectShape([rows, d], "Transformer.backward", "dEmbeddings")
            try dEmbeddings!.add(pass.dStream!)
        }
    }

    private func embeddingBackward(_ dx: Tensor, pass: ForwardPass, gradients g: inout ModelGradients) throws {
        if g.tokenEmbedding != nil {
            var dy = dx
            if config.traits.scaleEmbedding { dy.scale(by: Float(config.hiddenSize).squareRoot()) }
            try Embedding.backward(dy: dy, ids: pass.ids, dTable: &g.tokenEmbedding)
        }
        if g.positionEmbedding != nil {
            try Embedding.backward(dy: dx, ids: pass.positions, dTable: &g.positionEmbedding)
        }
    }
}
