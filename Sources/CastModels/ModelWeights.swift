import CastTensor

/// The weights of one decoder layer, float32, linear weights in `[out, in]` layout.
/// Optional tensors exist only for the architectures whose traits use them.
public struct LayerWeights: Sendable {
    public var attentionNorm: Tensor
    public var attentionNormBias: Tensor?
    public var query: Tensor
    public var key: Tensor
    public var value: Tensor
    public var attentionOutput: Tensor
    public var queryBias: Tensor?
    public var keyBias: Tensor?
    public var valueBias: Tensor?
    public var attentionOutputBias: Tensor?
    /// Gemma 3: per-head norms on q and k, and norms after attention and FFN.
    public var queryNorm: Tensor?
    public var keyNorm: Tensor?
    public var postAttentionNorm: Tensor?
    public var feedForwardNorm: Tensor
    public var feedForwardNormBias: Tensor?
    /// Absent in GPT-2's ungated MLP.
    public var gate: Tensor?
    public var up: Tensor
    public var down: Tensor
    public var upBias: Tensor?
    public var downBias: Tensor?
    public var postFeedForwardNorm: Tensor?
}

/// All weights of a model.
public struct ModelWeights: Sendable {
    public var tokenEmbedding: Tensor          // [vocab, d]
    public var positionEmbedding: Tensor?      // [context, d] (GPT-2)
    public var layers: [LayerWeights]
    public var finalNorm: Tensor
    public var finalNormBias: Tensor?
    /// Output projection `[vocab, d]`; nil when tied to the token embedding.
    public var output: Tensor?

    public var outputProjection: Tensor { output ?? tokenEmbedding }

    /// Total number of parameters (tied matrices counted once).
    public var parameterCount: Int {
        var n = ModelGradients.fields.reduce(0) { $0 + ($1.weight(self)?.count ?? 0) }
        for layer in layers {
            n += LayerGradients.fields.reduce(0) { $0 + ($1.weight(layer)?.count ?? 0) }
        }
        return n
    }
}
