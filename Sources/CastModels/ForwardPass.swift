import CastTensor

/// Everything one forward pass over a batch of sequences produced and its backward pass
/// needs, adapters' saved activations included. Keep one per training loop (its buffers are
/// reused step after step), and one per pass that is in flight at the same time.
///
/// Sequences of different lengths are right-padded to the longest: under causal attention a
/// real token never attends to a later padding row, so the real rows are exactly what each
/// sequence alone gives; padding rows hold junk and backward ignores their gradients.
public struct ForwardPass {
    public internal(set) var batch = 0
    /// Rows per sequence (the longest sequence's length).
    public internal(set) var tokens = 0
    /// Each sequence's own length.
    public internal(set) var lengths: [Int] = []
    public internal(set) var options = ForwardOptions()
    var ids: [Int32] = []
    var positions: [Int32] = []
    /// `inputs[i]` enters layer i; `inputs[layerCount]` is the last layer's output.
    var inputs: [Tensor] = []
    var layers: [LayerActivations] = []
    /// Activations of recomputed layers, one layer at a time, and which layer they are.
    var recomputeScratch = LayerActivations()
    var recomputeHolds: Int?
    var recomputedOutput = Tensor()
    var finalMean = Tensor(), finalRstd = Tensor()
    var saved: Bool { options.training }
    /// Final normed hidden states `[batch·tokens, d]` (what the output head reads); empty
    /// when the pass stopped early.
    public internal(set) var hidden = Tensor()
    /// Logits `[batch·tokens, vocab]`; empty when the pass skipped the output head.
    public internal(set) var logits = Tensor()
    /// With `logitRows`: the hidden states of those rows, what the head read (and backward
    /// reads again).
    var logitHidden = Tensor()
    // backward scratch
    var layerScratch = LayerBackwardScratch()
    var dStream: Tensor? = Tensor(), dStreamNext: Tensor? = Tensor()
    var dHiddenTotal: Tensor? = Tensor()

    public init() {}

    /// Hidden state entering layer `index` (`index == layerCount`: the last layer's output).
    public func residualStream(atLayer index: Int) -> Tensor { inputs[index] }

    /// Whether row `row` (of `batch·tokens`) is padding after the end of its sequence.
    public func isPadding(row: Int) -> Bool { row % tokens >= lengths[row / tokens] }

    public var hasPadding: Bool { lengths.contains { $0 != tokens } }

    /// The batch's rows: sequences, padded length, each sequence's own length.
    public var layout: BatchLayout { BatchLayout(batch: batch, tokens: tokens, lengths: lengths) }

    /// The final hidden states of `rows` (checked), `[rows.count, d]`.
    func hiddenRows(_ rows: [Int]) throws -> Tensor {
        let total = batch * tokens, d = hidden.count / max(total, 1)
        if let bad = rows.first(where: { !(0..<total).contains($0) }) {
            throw ModelError.invalidInput("logitRows: row \(bad) is outside the batch's \(total) rows")
        }
        var out = Tensor(zeros: [rows.count, d])
        for (k, row) in rows.enumerated() { (out.mutableData + k * d).update(from: hidden.data + row * d, count: d) }
        return out
    }

    /// `t` with the rows that are padding zeroed (the tensor itself when there are none).
    /// `t`'s rows are the batch's rows, or with `rows` those rows of the batch in that order.
    func zeroingPadding(_ t: Tensor, rows: [Int]? = nil) -> Tensor {
        guard hasPadding else { return t }
        let batchRows = rows ?? Array(0..<batch * tokens)
        var out = t
        let width = t.count / max(batchRows.count, 1), p = out.mutableData
        for (k, row) in batchRows.enumerated() where isPadding(row: row) {
            (p + k * width).update(repeating: 0, count: width)
        }
        return out
    }
}

extension Transformer {
    /// Runs `sequences` (different lengths allowed, see `ForwardPass`) through the model as
    /// `options` say, keeping in `pass` what its backward needs when `options.training`.
    public func forward(_ sequences: [[Int32]], options: ForwardOptions, pass: inout ForwardPass) throws {
        let lengths = sequences.map(\.count)
        guard let tokens = lengths.max(), tokens > 0, !lengths.contains(0) else {
            throw ModelError.invalidInput(
                "\(name): forward needs one or more non-empty sequences, got lengths \(lengths)")
        }
        let layerCount = config.layerCount
        let last = options.lastLayer ?? layerCount - 1
        guard (0..<layerCount).contains(last) else {
            throw ModelError.invalidInput("\(name): lastLayer \(last) is outside the model's layers 0..<\(layerCount)")
        }
        try options.adapters.validate(for: self)
        let batch = sequences.count
        pass.batch = batch
        pass.tokens = tokens
        pass.lengths = lengths
        pass.options = options
        pass.ids = sequences.flatMap { $0 + Array(repeating: 0, count: tokens - $0.count) }
        pass.positions = (0..<batch).flatMap { _ in (0..<tokens).map { Int32($0) } }
        if pass.inputs.count != layerCount + 1 { pass.inputs = Array(repeating: Tensor(), count: layerCount + 1) }
        let training = options.training
        let perLayer = training ? layerCount : 1
        if pass.layers.count != perLayer { pass.layers = Array(repeating: LayerActivations(), count: perLayer) }

        try embed(pass.ids, positions: pass.positions, into: &pass.inputs[0])
        let context = AttentionContext.sequences(batch: batch, tokens: tokens, saveProbabilities: training)
        let recomputed = training ? min(max(options.recomputedLayers, 0), layerCount) : 0
        pass.recomputeHolds = nil
        for index in 0...last {
            let x = pass.inputs[index]
            let layer = layer(index, options.adapters, options.arithmetic)
            if index < recomputed {
                try layer.forward(x, positions: pass.positions, context: context,
                                  saved: &pass.recomputeScratch, into: &pass.inputs[index + 1])
                pass.recomputeHolds = index
                pass.layers[index] = LayerActivations()  // nothing kept
            } else {
                try layer.forward(x, positions: pass.positions, context: context,
                                  saved: &pass.layers[training ? index : 0], into: &pass.inputs[index + 1])
            }
            if let tap = options.tap {
                let saved = index < recomputed ? pass.recomputeScratch : pass.layers[training ? index : 0]
                try tap.layerFinished(layer.tapView(input: x, saved: saved, output: pass.inputs[index + 1],
                                                    layout: pass.layout))
            }
        }
        pass.hidden.reuse(shape: [0])
        pass.logits.reuse(shape: [0])
        guard last == layerCount - 1 else { return }
        try finalNorm(pass.inputs[layerCount], into: &pass.hidden, mean: &pass.finalMean, rstd: &pass.finalRstd)
        try options.tap?.finalNormFinished(pass.hidden, layout: pass.layout)
        guard options.logits else { return }
        let arithmetic = training ? .float32 : options.arithmetic
        if let rows = options.logitRows {
            pass.logitHidden = try pass.hiddenRows(rows)
            try project(pass.logitHidden, arithmetic: arithmetic, into: &pass.logits)
        } else {
            try project(pass.hidden, arithmetic: arithmetic, into: &pass.logits)
        }
    }

    /// A forward pass over equal- or mixed-length sequences with `adapters`.
    public func forward(_ sequences: [[Int32]], pass: inout ForwardPass, training: Bool,
                        adapters: AdapterSet = .none) throws {
        try forward(sequences, options: ForwardOptions(adapters: adapters, training: training), pass: &pass)
    }

    /// Backpropagates from the gradient of the logits and/or of the final hidden states
    /// (each `[batch·tokens, …]`, nil = no loss on it; padding rows are ignored). Accumulates
    /// into the trainable weights' gradients, the pass's adapters' gradients and, when
    /// non-nil, `dEmbeddings` (`[batch·tokens, d]`, the gradient of the layer-0 input). It
    /// goes no lower than the lowest layer with something to train.
    public func backward(_ pass: inout ForwardPass, dLogits: Tensor?, dHidden: Tensor?,
                         gradients g: inout ModelGradients, dEmbeddings: inout Tensor?) throws {
        guard pass.saved else {
            throw ModelError.invalidInput("\(name): backward needs a forward pass run with training: true")
        }
        let rows = pass.batch * pass.tokens, d = config.hiddenSize, layerCount = config.layerCount
        guard !pass.hidden.shape.contains(0) else {
            throw ModelError.invalidInput("\(name): backward needs a forward pass through every layer (it stopped early)")
        }
        LayerBackwardScratch.prepare(&pass.dHiddenTotal, [rows, d])
        if let dHidden {
            try dHidden.expectShape([rows, d], "Transformer.backward", "dHidden")
            try pass.dHiddenTotal!.add(pass.zeroingPadding(dHidden))
        }
        if let dLogits {
            guard pass.options.logits else {
                throw ModelError.invalidInput("\(name): dLogits given, but the forward pass skipped the output head")
            }
            let logitRows = pass.options.logitRows
            try dLogits.expectShape([logitRows?.count ?? rows, config.vocabularySize], "Transformer.backward", "dLogits")
            var dz = pass.zeroingPadding(dLogits, rows: logitRows)
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
            if let logitRows {
                // Only the chosen rows reach the head: their hidden-state gradient is
                // computed compactly, then added at their rows.
                var dRows: Tensor? = Tensor(zeros: [logitRows.count, d])
                try Linear.backward(dy: dz, x: pass.logitHidden, weight: weights.outputProjection,
                                    dx: &dRows, dWeight: &dOutputWeight, dBias: &noBias)
                let src = dRows!.data, dst = pass.dHiddenTotal!.mutableData
                for (k, row) in logitRows.enumerated() {
                    for j in 0..<d { dst[row * d + j] += src[k * d + j] }
                }
            } else {
                try Linear.backward(dy: dz, x: pass.hidden, weight: weights.outputProjection,
                                    dx: &pass.dHiddenTotal, dWeight: &dOutputWeight, dBias: &noBias)
            }
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
        let needsInputGradient = dEmbeddings != nil || g.tokenEmbedding != nil || g.positionEmbedding != nil
        let lowest = needsInputGradient ? 0 : lowestLayerToTrain(pass.options.adapters, g)
        guard let lowest else { return }
        let recomputed = min(max(pass.options.recomputedLayers, 0), layerCount)
        for index in stride(from: layerCount - 1, through: lowest, by: -1) {
            let layer = layer(index, pass.options.adapters, .float32)
            if index < recomputed && pass.recomputeHolds != index {
                // The forward pass kept only this layer's input: run it again, as it ran then.
                let context = AttentionContext.sequences(batch: pass.batch, tokens: pass.tokens, saveProbabilities: true)
                try self.layer(index, pass.options.adapters, pass.options.arithmetic)
                    .forward(pass.inputs[index], positions: pass.positions, context: context,
                             saved: &pass.recomputeScratch, into: &pass.recomputedOutput)
                pass.recomputeHolds = index
            }
            let saved = index < recomputed ? pass.recomputeScratch : pass.layers[index]
            if index == lowest && !needsInputGradient {
                // Nothing below needs this layer's input gradient.
                var noInput: Tensor? = nil
                try layer.backward(dOut: pass.dStream!, x: pass.inputs[index], positions: pass.positions,
                                   batch: pass.batch, tokens: pass.tokens, saved: saved,
                                   gradients: &g.layers[index], scratch: &pass.layerScratch, dx: &noInput)
                return
            }
            LayerBackwardScratch.prepare(&pass.dStreamNext, [rows, d])
            try layer.backward(dOut: pass.dStream!, x: pass.inputs[index], positions: pass.positions,
                               batch: pass.batch, tokens: pass.tokens, saved: saved,
                               gradients: &g.layers[index], scratch: &pass.layerScratch, dx: &pass.dStreamNext)
            swap(&pass.dStream, &pass.dStreamNext)
        }
        try embeddingBackward(pass.dStream!, pass: pass, gradients: &g)
        if dEmbeddings != nil {
            try dEmbeddings!.expectShape([rows, d], "Transformer.backward", "dEmbeddings")
            try dEmbeddings!.add(pass.dStream!)
        }
    }

    /// The lowest layer with a trainable weight or adapter (nil: none).
    private func lowestLayerToTrain(_ adapters: AdapterSet, _ g: ModelGradients) -> Int? {
        let weightLayer = g.layers.firstIndex { $0.hasAny }
        switch (weightLayer, adapters.lowestTrainableLayer) {
        case let (w?, a?): return min(w, a)
        case let (w, a): return w ?? a
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
