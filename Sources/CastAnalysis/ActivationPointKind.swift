import CastModels
import CastTensor

/// What a point of the forward pass is, named as TransformerLens names its hooks where it
/// has a name (`hook_resid_pre`, `attn.hook_q`, `mlp.hook_post`, …); the inputs of the linear
/// modules, where LoRA and CAST layers sit, are `<module>.hook_in` (`q_proj.hook_in`).
public enum ActivationPointKind: Hashable, Sendable {
    case residPre, residMid, residPost
    case ln1Normalized, ln2Normalized
    case query, key, value, rotatedQuery, rotatedKey, z
    case attnOut
    case mlpPre, mlpPreLinear, mlpPost
    case mlpOut
    case linearInput(LinearModule)
    /// After the last layer: the final norm's output (what the unembedding reads).
    case finalNormalized

    /// Every kind, in the order a layer computes them.
    public static let allKinds: [ActivationPointKind] =
        [.residPre, .ln1Normalized, .query, .key, .value, .rotatedQuery, .rotatedKey, .z, .attnOut, .residMid,
         .ln2Normalized, .mlpPre, .mlpPreLinear, .mlpPost, .mlpOut, .residPost]
        + LinearModule.allCases.map { .linearInput($0) } + [.finalNormalized]

    /// The name after `blocks.{l}.` (or the whole name for `ln_final.hook_normalized`).
    public var suffix: String {
        switch self {
        case .residPre: "hook_resid_pre"
        case .residMid: "hook_resid_mid"
        case .residPost: "hook_resid_post"
        case .ln1Normalized: "ln1.hook_normalized"
        case .ln2Normalized: "ln2.hook_normalized"
        case .query: "attn.hook_q"
        case .key: "attn.hook_k"
        case .value: "attn.hook_v"
        case .rotatedQuery: "attn.hook_rot_q"
        case .rotatedKey: "attn.hook_rot_k"
        case .z: "attn.hook_z"
        case .attnOut: "hook_attn_out"
        case .mlpPre: "mlp.hook_pre"
        case .mlpPreLinear: "mlp.hook_pre_linear"
        case .mlpPost: "mlp.hook_post"
        case .mlpOut: "hook_mlp_out"
        case .linearInput(let m): "\(m.rawValue).hook_in"
        case .finalNormalized: "ln_final.hook_normalized"
        }
    }

    /// Whether the point belongs to a layer (all but the final norm).
    public var isPerLayer: Bool { self != .finalNormalized }

    /// One line on what the point holds, for `cast points`.
    public var summary: String {
        switch self {
        case .residPre: "residual stream entering the layer"
        case .residMid: "residual stream after the attention half"
        case .residPost: "residual stream leaving the layer"
        case .ln1Normalized: "attention norm output, weight applied (= q/k/v_proj.hook_in)"
        case .ln2Normalized: "feed-forward norm output, weight applied (= gate/up_proj.hook_in)"
        case .query: "q projection (+bias), before q-norm and RoPE, heads side by side"
        case .key: "k projection (+bias), before k-norm and RoPE"
        case .value: "v projection (+bias)"
        case .rotatedQuery: "q after q-norm and RoPE"
        case .rotatedKey: "k after k-norm and RoPE"
        case .z: "attention output per head, before the output projection (= o_proj.hook_in)"
        case .attnOut: "what attention adds to the stream (after the post-attention norm, if any)"
        case .mlpPre: "gate projection (up, for an ungated MLP), before the activation"
        case .mlpPreLinear: "up projection of a gated MLP"
        case .mlpPost: "activation entering the down projection (= down_proj.hook_in)"
        case .mlpOut: "what the MLP adds to the stream (after the post-FFN norm, if any)"
        case .linearInput(let m): "input of \(m.rawValue) (where a LoRA or CAST layer reads)"
        case .finalNormalized: "final norm output, weight applied (what the unembedding reads)"
        }
    }

    /// The point's width in a model with `config`, or nil where the architecture lacks it.
    public func width(in config: ModelConfig) -> Int? {
        let gated = config.traits.feedForward != .plainGELU
        switch self {
        case .residPre, .residMid, .residPost, .ln1Normalized, .ln2Normalized, .attnOut, .mlpOut, .finalNormalized:
            return config.hiddenSize
        case .query, .rotatedQuery, .z: return config.queryWidth
        case .key, .value, .rotatedKey: return config.kvWidth
        case .mlpPre, .mlpPost: return config.intermediateSize
        case .mlpPreLinear: return gated ? config.intermediateSize : nil
        case .linearInput(let m):
            guard LinearModule.modules(of: config.architecture).contains(m) else { return nil }
            return m.shape(in: config).input
        }
    }

    /// This kind's activations in a layer's tap view (`[rows, width]`).
    func tensor(in view: LayerTapView) -> Tensor? {
        switch self {
        case .residPre: view.input
        case .residMid: view.residualMid
        case .residPost: view.output
        case .ln1Normalized: view.attentionNormed
        case .ln2Normalized: view.feedForwardNormed
        case .query: view.query
        case .key: view.key
        case .value: view.value
        case .rotatedQuery: view.queryRotated
        case .rotatedKey: view.keyRotated
        case .z: view.attended
        case .attnOut: view.attentionOut
        case .mlpPre: view.gate ?? view.up
        case .mlpPreLinear: view.gate == nil ? nil : view.up
        case .mlpPost: view.hidden
        case .mlpOut: view.feedForwardOut
        case .linearInput(let m):
            switch m {
            case .query, .key, .value: view.attentionNormed
            case .output: view.attended
            case .gate, .up: view.feedForwardNormed
            case .down: view.hidden
            }
        case .finalNormalized: nil
        }
    }
}
