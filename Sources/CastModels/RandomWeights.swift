import CastTensor

extension ModelWeights {
    /// Seeded random weights for `config` (tests, benchmarks): norm weights near 1, other
    /// weights N(0, std²). Every tensor the architecture's traits need is present.
    public static func random(_ config: ModelConfig, std: Float = 0.02, seed: UInt64) -> ModelWeights {
        var rng = SeededGenerator(seed: seed)
        let c = config, t = config.traits, d = c.hiddenSize
        func matrix(_ rows: Int, _ columns: Int) -> WeightMatrix { .dense(.randomNormal([rows, columns], std: std, using: &rng)) }
        func linear(_ m: LinearModule) -> WeightMatrix { let s = m.shape(in: c); return matrix(s.output, s.input) }
        func vector(_ n: Int) -> Tensor { .randomNormal([n], std: std, using: &rng) }
        func norm(_ n: Int) -> Tensor { .randomNormal([n], mean: 1, std: 0.1, using: &rng) }
        let layers = (0..<c.layerCount).map { _ in
            LayerWeights(
                attentionNorm: norm(d), attentionNormBias: t.norm == .layer ? vector(d) : nil,
                query: linear(.query), key: linear(.key), value: linear(.value),
                attentionOutput: linear(.output),
                queryBias: t.qkvBias ? vector(c.queryWidth) : nil, keyBias: t.qkvBias ? vector(c.kvWidth) : nil,
                valueBias: t.qkvBias ? vector(c.kvWidth) : nil, attentionOutputBias: t.outputBias ? vector(d) : nil,
                queryNorm: t.qkNorm ? norm(c.headDim) : nil, keyNorm: t.qkNorm ? norm(c.headDim) : nil,
                postAttentionNorm: t.postNorms ? norm(d) : nil,
                feedForwardNorm: norm(d), feedForwardNormBias: t.norm == .layer ? vector(d) : nil,
                gate: t.feedForward == .plainGELU ? nil : linear(.gate),
                up: linear(.up), down: linear(.down),
                upBias: t.outputBias ? vector(c.intermediateSize) : nil, downBias: t.outputBias ? vector(d) : nil,
                postFeedForwardNorm: t.postNorms ? norm(d) : nil)
        }
        return ModelWeights(
            tokenEmbedding: matrix(c.vocabularySize, d),
            positionEmbedding: t.positions == .learned ? matrix(c.contextLength, d).tensor : nil,
            layers: layers, finalNorm: norm(d), finalNormBias: t.norm == .layer ? vector(d) : nil,
            output: c.tiedEmbeddings ? nil : matrix(c.vocabularySize, d))
    }
}
