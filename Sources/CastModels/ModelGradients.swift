import CastTensor

/// A norm weight or bias in the weight tables (which list matrices and vectors alike).
@Sendable func floatWeight(_ t: Tensor?) -> WeightMatrix? { t.map { .dense($0) } }

/// Gradient buffers for the weights of one layer; nil = that weight is frozen.
public struct LayerGradients: Sendable {
    public var attentionNorm, attentionNormBias: Tensor?
    public var query, key, value, attentionOutput: Tensor?
    public var queryBias, keyBias, valueBias, attentionOutputBias: Tensor?
    public var queryNorm, keyNorm, postAttentionNorm: Tensor?
    public var feedForwardNorm, feedForwardNormBias: Tensor?
    public var gate, up, down, upBias, downBias: Tensor?
    public var postFeedForwardNorm: Tensor?

    public init() {}

    /// Whether any weight of the layer is trainable.
    var hasAny: Bool { Self.fields.contains { self[keyPath: $0.gradient] != nil } }

    typealias Field = (suffix: String, weight: @Sendable (LayerWeights) -> WeightMatrix?,
                       gradient: WritableKeyPath<LayerGradients, Tensor?> & Sendable)

    /// Each weight of a layer with its GGUF name suffix, for selecting and naming gradients
    /// (the linear modules' names from `LinearModule`'s table).
    static let fields: [Field] = attentionNorms + [LinearModule.query, .key, .value, .output].map(linearField)
        + attentionVectors + [LinearModule.gate, .up, .down].map(linearField) + feedForwardVectors

    private static let attentionNorms: [Field] = [
        ("attn_norm.weight", { floatWeight($0.attentionNorm) }, \.attentionNorm),
        ("attn_norm.bias", { floatWeight($0.attentionNormBias) }, \.attentionNormBias),
    ]

    private static let attentionVectors: [Field] = [
        ("attn_q.bias", { floatWeight($0.queryBias) }, \.queryBias),
        ("attn_k.bias", { floatWeight($0.keyBias) }, \.keyBias),
        ("attn_v.bias", { floatWeight($0.valueBias) }, \.valueBias),
        ("attn_output.bias", { floatWeight($0.attentionOutputBias) }, \.attentionOutputBias),
        ("attn_q_norm.weight", { floatWeight($0.queryNorm) }, \.queryNorm),
        ("attn_k_norm.weight", { floatWeight($0.keyNorm) }, \.keyNorm),
        ("post_attention_norm.weight", { floatWeight($0.postAttentionNorm) }, \.postAttentionNorm),
        ("ffn_norm.weight", { floatWeight($0.feedForwardNorm) }, \.feedForwardNorm),
        ("ffn_norm.bias", { floatWeight($0.feedForwardNormBias) }, \.feedForwardNormBias),
    ]

    private static let feedForwardVectors: [Field] = [
        ("ffn_up.bias", { floatWeight($0.upBias) }, \.upBias),
        ("ffn_down.bias", { floatWeight($0.downBias) }, \.downBias),
        ("post_ffw_norm.weight", { floatWeight($0.postFeedForwardNorm) }, \.postFeedForwardNorm),
    ]

    private static func linearField(_ m: LinearModule) -> Field {
        ("\(m.ggufName).weight", { m.weight(in: $0) }, m.gradient)
    }
}

/// Gradient buffers for a model's weights, allocated only for the weights chosen as
/// trainable (by GGUF tensor name); everything else stays frozen. Backward accumulates.
public struct ModelGradients: Sendable {
    public var tokenEmbedding: Tensor?
    public var positionEmbedding: Tensor?
    public var layers: [LayerGradients]
    public var finalNorm, finalNormBias: Tensor?
    public var output: Tensor?

    /// The model-level weights with their GGUF names (the layers' are in `LayerGradients.fields`).
    static let fields: [(name: String, weight: @Sendable (ModelWeights) -> WeightMatrix?,
                         gradient: WritableKeyPath<ModelGradients, Tensor?> & Sendable)] = [
        ("token_embd.weight", { $0.tokenEmbedding }, \.tokenEmbedding),
        ("position_embd.weight", { floatWeight($0.positionEmbedding) }, \.positionEmbedding),
        ("output_norm.weight", { floatWeight($0.finalNorm) }, \.finalNorm),
        ("output_norm.bias", { floatWeight($0.finalNormBias) }, \.finalNormBias),
        ("output.weight", { $0.output }, \.output),
    ]

    /// Zero-filled buffers for every weight whose GGUF name `trainable` accepts.
    public init(for weights: ModelWeights, trainable: (String) -> Bool) {
        func buffer(_ name: String, _ weight: WeightMatrix?) -> Tensor? {
            guard let weight, trainable(name) else { return nil }
            return Tensor(zeros: weight.shape)
        }
        layers = weights.layers.enumerated().map { index, layer in
            var g = LayerGradients()
            for field in LayerGradients.fields {
                g[keyPath: field.gradient] = buffer("blk.\(index).\(field.suffix)", field.weight(layer))
            }
            return g
        }
        for field in Self.fields { self[keyPath: field.gradient] = buffer(field.name, field.weight(weights)) }
    }

    /// No trainable weights (gradients flow only to hidden states and adapters).
    public static func frozen(_ weights: ModelWeights) -> ModelGradients {
        ModelGradients(for: weights, trainable: { _ in false })
    }

    /// Every allocated gradient with its GGUF name.
    public var named: [(name: String, gradient: Tensor)] {
        var out: [(String, Tensor)] = []
        for field in Self.fields { if let g = self[keyPath: field.gradient] { out.append((field.name, g)) } }
        for (index, layer) in layers.enumerated() {
            for field in LayerGradients.fields {
                if let g = layer[keyPath: field.gradient] { out.append(("blk.\(index).\(field.suffix)", g)) }
            }
        }
        return out
    }
}
