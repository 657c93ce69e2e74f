import CastTensor

/// The weights of one decoder layer, linear weights in `[out, in]` layout (float32, or packed
/// 8-bit when loaded from a quantized GGUF file); norms and biases are float32.
/// Optional tensors exist only for the architectures whose traits use them.
public struct LayerWeights: Sendable {
    public var attentionNorm: Tensor
    public var attentionNormBias: Tensor?
    public var query: WeightMatrix
    public var key: WeightMatrix
    public var value: WeightMatrix
    public var attentionOutput: WeightMatrix
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
    public var gate: WeightMatrix?
    public var up: WeightMatrix
    public var down: WeightMatrix
    public var upBias: Tensor?
    public var downBias: Tensor?
    public var postFeedForwardNorm: Tensor?
}

/// All weights of a model.
public struct ModelWeights: Sendable {
    public var tokenEmbedding: WeightMatrix    // [vocab, d]
    public var positionEmbedding: Tensor?      // [context, d] (GPT-2)
    public var layers: [LayerWeights]
    public var finalNorm: Tensor
    public var finalNormBias: Tensor?
    /// Output projection `[vocab, d]`; nil when tied to the token embedding.
    public var output: WeightMatrix?

    public var outputProjection: WeightMatrix { output ?? tokenEmbedding }

    /// Total number of parameters (tied matrices counted once).
    public var parameterCount: Int {
        var n = ModelGradients.fields.reduce(0) { $0 + ($1.weight(self)?.count ?? 0) }
        for layer in layers {
            n += LayerGradients.fields.reduce(0) { $0 + ($1.weight(layer)?.count ?? 0) }
        }
        return n
    }

    /// Bytes the weights occupy in memory (packed matrices at their packed size).
    public var byteCount: Int {
        var n = ModelGradients.fields.reduce(0) { $0 + ($1.weight(self)?.byteCount ?? 0) }
        for layer in layers {
            n += LayerGradients.fields.reduce(0) { $0 + ($1.weight(layer)?.byteCount ?? 0) }
        }
        return n
    }
}
