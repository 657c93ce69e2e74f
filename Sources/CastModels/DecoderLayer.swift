import CastTensor

/// How a layer's attention finds its keys and values.
enum AttentionContext {
    /// Training or a plain forward pass: `batch` sequences of `tokens` rows each, keys are the
    /// sequences themselves; `saveProbabilities` keeps what backward needs.
    case sequences(batch: Int, tokens: Int, saveProbabilities: Bool)
    /// Inference with a KV cache: rows are grouped into segments, one per sequence, each
    /// appended to its sequence's cache and attending to everything cached so far.
    case cached(KVCacheBatch)
}

/// One decoder block, shared by all architectures; `ArchitectureTraits` choose the variant
/// (norm kind, biases, q/k norms, post-norms, gated or plain feed-forward).
struct DecoderLayer {
    let index: Int
    let config: ModelConfig
    let weights: LayerWeights
    let rope: RoPE.Table?
    let adapters: [LinearModule: any LinearAdapter]
    /// Arithmetic of products with packed weights in passes that save nothing for backward.
    let arithmetic: PackedArithmetic

    var traits: ArchitectureTraits { config.traits }

    var attentionConfig: Attention.Config {
        Attention.Config(heads: config.headCount, kvHeads: config.kvHeadCount, headDim: config.headDim,
                         window: config.window(ofLayer: index))
    }

    var ropePairing: RoPE.Pairing {
        traits.positions == .ropeAdjacent ? .adjacent : .halfSplit
    }

    // MARK: forward

    /// `out = x + attention(x) (+ post-norm)`, then `out += feedForward(out)`.
    /// `x` and `out` are `[rows, d]`; `positions` has one entry per row.
    func forward(_ x: Tensor, positions: [Int32], context: AttentionContext,
                 saved s: inout LayerActivations, into out: inout Tensor) throws {
        let w = weights, saving = context.savesForBackward
        try norm(x, w.attentionNorm, w.attentionNormBias, into: &s.attentionNormed,
                 mean: &s.attentionMean, rstd: &s.attentionRstd)
        try project(s.attentionNormed, w.query, w.queryBias, .query, saving, saved: &s.adapterSaved, into: &s.query)
        try project(s.attentionNormed, w.key, w.keyBias, .key, saving, saved: &s.adapterSaved, into: &s.key)
        try project(s.attentionNormed, w.value, w.valueBias, .value, saving, saved: &s.adapterSaved, into: &s.value)
        if traits.qkNorm {
            try headNorm(s.query, w.queryNorm!, into: &s.queryNormed, rstd: &s.queryRstd)
            try headNorm(s.key, w.keyNorm!, into: &s.keyNormed, rstd: &s.keyRstd)
        }
        if let rope {
            try RoPE.forward(s.rotaryInput(query: true, traits), positions: positions, table: rope,
                             pairing: ropePairing, into: &s.queryRotated)
            try RoPE.forward(s.rotaryInput(query: false, traits), positions: positions, table: rope,
                             pairing: ropePairing, into: &s.keyRotated)
        } else {
            s.queryRotated = s.query
            s.keyRotated = s.key
        }
        try attend(context, &s)
        try project(s.attended, w.attentionOutput, w.attentionOutputBias, .output, saving,
                    saved: &s.adapterSaved, into: &s.attentionProjected)
        try addBranch(x, s.attentionProjected, postNorm: w.postAttentionNorm, normed: &s.postAttention,
                      rstd: &s.postAttentionRstd, into: &s.residual)

        try norm(s.residual, w.feedForwardNorm, w.feedForwardNormBias, into: &s.feedForwardNormed,
                 mean: &s.feedForwardMean, rstd: &s.feedForwardRstd)
        if let gate = w.gate {
            try project(s.feedForwardNormed, gate, nil, .gate, saving, saved: &s.adapterSaved, into: &s.gate)
            try project(s.feedForwardNormed, w.up, w.upBias, .up, saving, saved: &s.adapterSaved, into: &s.up)
            try GatedActivation.forward(gate: s.gate, up: s.up, activation: gatedActivation, into: &s.hidden)
        } else {
            try project(s.feedForwardNormed, w.up, w.upBias, .up, saving, saved: &s.adapterSaved, into: &s.up)
            GELU.forward(s.up, into: &s.hidden)
        }
        try project(s.hidden, w.down, w.downBias, .down, saving, saved: &s.adapterSaved, into: &s.feedForwardOut)
        try addBranch(s.residual, s.feedForwardOut, postNorm: w.postFeedForwardNorm,
                      normed: &s.postFeedForward, rstd: &s.postFeedForwardRstd, into: &out)
    }

    private var gatedActivation: Activation { traits.feedForward == .gatedGELU ? .geluTanh : .silu }

    private func norm(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, into y: inout Tensor,
                      mean: inout Tensor, rstd: inout Tensor) throws {
        switch traits.norm {
        case .rms: try RMSNorm.forward(x, weight: weight, eps: config.normEpsilon, into: &y, rstd: &rstd)
        case .layer: try LayerNorm.forward(x, weight: weight, bias: bias, eps: config.normEpsilon,
                                           into: &y, mean: &mean, rstd: &rstd)
        }
    }

    /// RMSNorm over each head's slice (Gemma 3's q/k norms): `[rows, heads·hd]` as `[rows·heads, hd]`.
    private func headNorm(_ x: Tensor, _ weight: Tensor, into y: inout Tensor, rstd: inout Tensor) throws {
        let perHead = try x.reshaped([-1, config.headDim])
        try RMSNorm.forward(perHead, weight: weight, eps: config.normEpsilon, into: &y, rstd: &rstd)
        y = try y.reshaped(x.shape)
    }

    /// `y = W·x + b`, plus the adapter attached to this projection, if any.
    private func project(_ x: Tensor, _ weight: WeightMatrix, _ bias: Tensor?, _ module: LinearModule,
                         _ saving: Bool, saved: inout [LinearModule: [Tensor]], into y: inout Tensor) throws {
        try Linear.forward(x, weight: weight, bias: bias, arithmetic: saving ? .float32 : arithmetic, into: &y)
        if let adapter = adapters[module] {
            try adapter.forward(x, addingTo: &y, saving: saving, saved: &saved[module, default: []])
        }
    }

    /// `out = base + branch`, with the branch first normed when the architecture post-norms it.
    private func addBranch(_ base: Tensor, _ branch: Tensor, postNorm: Tensor?, normed: inout Tensor,
                           rstd: inout Tensor, into out: inout Tensor) throws {
        var added = branch
        if let postNorm {
            try RMSNorm.forward(branch, weight: postNorm, eps: config.normEpsilon, into: &normed, rstd: &rstd)
            added = normed
        }
        try BroadcastAdd.forward(base, added, into: &out)
    }

    private func attend(_ context: AttentionContext, _ s: inout LayerActivations) throws {
        switch context {
        case .sequences(let batch, let tokens, let saveProbabilities):
            let q = try s.queryRotated.reshaped([batch, tokens, config.queryWidth])
            let k = try s.keyRotated.reshaped([batch, tokens, config.kvWidth])
            let v = try s.value.reshaped([batch, tokens, config.kvWidth])
            if saveProbabilities, s.probabilities == nil { s.probabilities = Tensor() }
            if !saveProbabilities { s.probabilities = nil }
            try Attention.forward(q: q, k: k, v: v, config: attentionConfig, into: &s.attended,
                                  probabilities: &s.probabilities)
            s.attended = try s.attended.reshaped([batch * tokens, config.queryWidth])
        case .cached(let caches):
            try caches.attend(layer: index, queries: s.queryRotated, keys: s.keyRotated, values: s.value,
                              config: attentionConfig, into: &s.attended)
        }
    }

    // MARK: backward

    /// Accumulates `dx` (the layer input's gradient) from `dOut`, plus the gradients of the
    /// trainable weights in `g` and of the adapters. Needs the activations of a forward pass
    /// run with `.sequences(…, saveProbabilities: true)`.
    func backward(dOut: Tensor, x: Tensor, positions: [Int32], batch: Int, tokens: Int,
                  saved s: LayerActivations, gradients g: inout LayerGradients,
                  scratch t: inout LayerBackwardScratch, dx: inout Tensor?) throws {
        let w = weights
        let rows = x.shape[0], d = config.hiddenSize

        // Feed-forward half: out = residual + post(ffn(norm(residual))).
        LayerBackwardScratch.prepare(&t.dResidual, [rows, d])
        try t.dResidual!.add(dOut)
        try branchBackward(dOut, branch: s.feedForwardOut, postNorm: w.postFeedForwardNorm,
                           rstd: s.postFeedForwardRstd, dPostNorm: &g.postFeedForwardNorm, scratch: &t)
        LayerBackwardScratch.prepare(&t.dHidden, s.hidden.shape)
        try projectBackward(t.dBranch!, s.hidden, w.down, .down, s, dx: &t.dHidden, dWeight: &g.down, dBias: &g.downBias)
        LayerBackwardScratch.prepare(&t.dNormed, [rows, d])
        LayerBackwardScratch.prepare(&t.dUp, s.up.shape)
        if let gate = w.gate {
            LayerBackwardScratch.prepare(&t.dGate, s.gate.shape)
            try GatedActivation.backward(dy: t.dHidden!, gate: s.gate, up: s.up, activation: gatedActivation,
                                         dGate: &t.dGate, dUp: &t.dUp)
            var gateHasNoBias: Tensor? = nil
            try projectBackward(t.dGate!, s.feedForwardNormed, gate, .gate, s, dx: &t.dNormed, dWeight: &g.gate,
                                dBias: &gateHasNoBias)
        } else {
            try GELU.backward(dy: t.dHidden!, x: s.up, dx: &t.dUp)
        }
        try projectBackward(t.dUp!, s.feedForwardNormed, w.up, .up, s, dx: &t.dNormed, dWeight: &g.up, dBias: &g.upBias)
        try normBackward(t.dNormed!, x: s.residual, w.feedForwardNorm, mean: s.feedForwardMean,
                         rstd: s.feedForwardRstd, dx: &t.dResidual, dWeight: &g.feedForwardNorm,
                         dBias: &g.feedForwardNormBias)

        // Attention half: residual = x + post(o(attention(q, k, v))).
        if dx != nil { try dx!.add(t.dResidual!) }
        // The lowest layer that trains something needs no input gradient: when nothing in
        // its attention half trains either, the backward pass ends here.
        if dx == nil && !attentionHalfTrains(g) { return }
        try branchBackward(t.dResidual!, branch: s.attentionProjected, postNorm: w.postAttentionNorm,
                           rstd: s.postAttentionRstd, dPostNorm: &g.postAttentionNorm, scratch: &t)
        LayerBackwardScratch.prepare(&t.dAttended, s.attended.shape)
        try projectBackward(t.dBranch!, s.attended, w.attentionOutput, .output, s, dx: &t.dAttended,
                            dWeight: &g.attentionOutput, dBias: &g.attentionOutputBias)
        try attentionBackward(s, batch: batch, tokens: tokens, scratch: &t)
        if let rope {
            let qShape = s.query.shape, kShape = s.key.shape
            LayerBackwardScratch.prepare(&t.dQueryNormed, qShape)
            LayerBackwardScratch.prepare(&t.dKeyNormed, kShape)
            try RoPE.backward(dy: t.dQueryRotated!, positions: positions, table: rope, pairing: ropePairing,
                              dx: &t.dQueryNormed)
            try RoPE.backward(dy: t.dKeyRotated!, positions: positions, table: rope, pairing: ropePairing,
                              dx: &t.dKeyNormed)
        } else {
            t.dQueryNormed = t.dQueryRotated
            t.dKeyNormed = t.dKeyRotated
        }
        if traits.qkNorm {
            LayerBackwardScratch.prepare(&t.dQuery, s.query.shape)
            LayerBackwardScratch.prepare(&t.dKey, s.key.shape)
            try headNormBackward(t.dQueryNormed!, x: s.query, w.queryNorm!, rstd: s.queryRstd,
                                 dx: &t.dQuery, dWeight: &g.queryNorm)
            try headNormBackward(t.dKeyNormed!, x: s.key, w.keyNorm!, rstd: s.keyRstd,
                                 dx: &t.dKey, dWeight: &g.keyNorm)
        } else {
            t.dQuery = t.dQueryNormed
            t.dKey = t.dKeyNormed
        }
        LayerBackwardScratch.prepare(&t.dNormed, [rows, d])
        try projectBackward(t.dQuery!, s.attentionNormed, w.query, .query, s, dx: &t.dNormed,
                            dWeight: &g.query, dBias: &g.queryBias)
        try projectBackward(t.dKey!, s.attentionNormed, w.key, .key, s, dx: &t.dNormed,
                            dWeight: &g.key, dBias: &g.keyBias)
        try projectBackward(t.dValue!, s.attentionNormed, w.value, .value, s, dx: &t.dNormed,
                            dWeight: &g.value, dBias: &g.valueBias)
        try normBackward(t.dNormed!, x: x, w.attentionNorm, mean: s.attentionMean, rstd: s.attentionRstd,
                         dx: &dx, dWeight: &g.attentionNorm, dBias: &g.attentionNormBias)
    }

    private func attentionHalfTrains(_ g: LayerGradients) -> Bool {
        let weights = [g.attentionNorm, g.attentionNormBias, g.query, g.key, g.value, g.attentionOutput,
                       g.queryBias, g.keyBias, g.valueBias, g.attentionOutputBias, g.queryNorm, g.keyNorm,
                       g.postAttentionNorm]
        return weights.contains { $0 != nil }
            || [LinearModule.query, .key, .value, .output].contains { adapters[$0]?.isTrainable == true }
    }

    /// Sets `t.dBranch` to the gradient of a branch's output before its post-norm (or to `dy`
    /// itself when the architecture has none).
    private func branchBackward(_ dy: Tensor, branch: Tensor, postNorm: Tensor?, rstd: Tensor,
                                dPostNorm: inout Tensor?, scratch t: inout LayerBackwardScratch) throws {
        guard let postNorm else {
            t.dBranch = dy
            return
        }
        LayerBackwardScratch.prepare(&t.dBranch, branch.shape)
        try RMSNorm.backward(dy: dy, x: branch, weight: postNorm, rstd: rstd, dx: &t.dBranch, dWeight: &dPostNorm)
    }

    private func attentionBackward(_ s: LayerActivations, batch: Int, tokens: Int,
                                   scratch t: inout LayerBackwardScratch) throws {
        guard let probabilities = s.probabilities else {
            throw ModelError.invalidInput("layer \(index): backward needs a forward pass that saved attention probabilities")
        }
        let qShape = [batch, tokens, config.queryWidth], kvShape = [batch, tokens, config.kvWidth]
        LayerBackwardScratch.prepare(&t.dQueryRotated, qShape)
        LayerBackwardScratch.prepare(&t.dKeyRotated, kvShape)
        LayerBackwardScratch.prepare(&t.dValue, kvShape)
        try Attention.backward(dOut: t.dAttended!.reshaped(qShape), q: s.queryRotated.reshaped(qShape),
                               k: s.keyRotated.reshaped(kvShape), v: s.value.reshaped(kvShape),
                               probabilities: probabilities, config: attentionConfig,
                               dq: &t.dQueryRotated, dk: &t.dKeyRotated, dv: &t.dValue)
        let rows = batch * tokens
        t.dQueryRotated = try t.dQueryRotated!.reshaped([rows, config.queryWidth])
        t.dKeyRotated = try t.dKeyRotated!.reshaped([rows, config.kvWidth])
        t.dValue = try t.dValue!.reshaped([rows, config.kvWidth])
    }

    private func projectBackward(_ dy: Tensor, _ x: Tensor, _ weight: WeightMatrix, _ module: LinearModule,
                                 _ saved: LayerActivations,
                                 dx: inout Tensor?, dWeight: inout Tensor?, dBias: inout Tensor?) throws {
        try Linear.backward(dy: dy, x: x, weight: weight, dx: &dx, dWeight: &dWeight, dBias: &dBias)
        try adapters[module]?.backward(dy: dy, x: x, saved: saved.adapterSaved[module] ?? [], dx: &dx)
    }

    private func normBackward(_ dy: Tensor, x: Tensor, _ weight: Tensor, mean: Tensor, rstd: Tensor,
                              dx: inout Tensor?, dWeight: inout Tensor?, dBias: inout Tensor?) throws {
        switch traits.norm {
        case .rms: try RMSNorm.backward(dy: dy, x: x, weight: weight, rstd: rstd, dx: &dx, dWeight: &dWeight)
        case .layer: try LayerNorm.backward(dy: dy, x: x, weight: weight, mean: mean, rstd: rstd,
                                            dx: &dx, dWeight: &dWeight, dBias: &dBias)
        }
    }

    private func headNormBackward(_ dy: Tensor, x: Tensor, _ weight: Tensor, rstd: Tensor,
                                  dx: inout Tensor?, dWeight: inout Tensor?) throws {
        let shape = x.shape, perHead = [-1, config.headDim]
        var dxHeads: Tensor? = try dx.map { try $0.reshaped(perHead) }
        dx = nil  // hand the storage over uniquely so the reshaped view is written in place
        try RMSNorm.backward(dy: dy.reshaped(perHead), x: x.reshaped(perHead), weight: weight, rstd: rstd,
                             dx: &dxHeads, dWeight: &dWeight)
        dx = try dxHeads.map { try $0.reshaped(shape) }
    }
}

extension DecoderLayer {
    /// What a `ForwardTap` is shown after this layer ran with activations `s`.
    func tapView(input: Tensor, saved s: LayerActivations, output: Tensor, layout: BatchLayout) -> LayerTapView {
        let w = weights
        return LayerTapView(
            layer: index, layout: layout, input: input, residualMid: s.residual, attentionNormed: s.attentionNormed,
            query: s.query, key: s.key, value: s.value, queryRotated: s.queryRotated, keyRotated: s.keyRotated,
            attended: s.attended, attentionOut: w.postAttentionNorm == nil ? s.attentionProjected : s.postAttention,
            feedForwardNormed: s.feedForwardNormed, gate: w.gate == nil ? nil : s.gate, up: s.up, hidden: s.hidden,
            feedForwardOut: w.postFeedForwardNorm == nil ? s.feedForwardOut : s.postFeedForward, output: output)
    }
}

extension AttentionContext {
    var savesForBackward: Bool {
        if case .sequences(_, _, let save) = self { return save }
        return false
    }
}
