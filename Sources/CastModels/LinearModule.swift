import CastTensor

/// The linear projections of a decoder layer, named as PEFT's `target_modules` name them
/// for llama-style models.
public enum LinearModule: String, CaseIterable, Codable, Sendable {
    case query = "q_proj", key = "k_proj", value = "v_proj", output = "o_proj"
    case gate = "gate_proj", up = "up_proj", down = "down_proj"
}

/// The one table of where each linear module lives: cast's weight and gradient buffers, its shape, and its names in GGUF files, HF checkpoints and PEFT adapters. The
/// loaders, the gradients, random initialisation, HF export and adapter IO all read it.
extension LinearModule {
    /// GGUF tensor stem: the weight is `blk.N.<ggufName>.weight`.
    public var ggufName: String {
        switch self {
        case .query: "attn_q"
        case .key: "attn_k"
        case .value: "attn_v"
        case .output: "attn_output"
        case .gate: "ffn_gate"
        case .up: "ffn_up"
        case .down: "ffn_down"
        }
    }

    /// `(output, input)` widths of the projection in a model with `config`.
    public func shape(in c: ModelConfig) -> (output: Int, input: Int) {
        switch self {
        case .query: (c.queryWidth, c.hiddenSize)
        case .key, .value: (c.kvWidth, c.hiddenSize)
        case .output: (c.hiddenSize, c.queryWidth)
        case .gate, .up: (c.intermediateSize, c.hiddenSize)
        case .down: (c.hiddenSize, c.intermediateSize)
        }
    }

    /// The modules a model of `architecture` has (GPT-2's MLP has no gate).
    public static func modules(of architecture: Architecture) -> [LinearModule] {
        architecture == .gpt2 ? allCases.filter { $0 != .gate } : allCases
    }

    /// The projection's weight in `layer` (nil where the architecture has none).
    public func weight(in layer: LayerWeights) -> WeightMatrix? {
        switch self {
        case .query: layer.query
        case .key: layer.key
        case .value: layer.value
        case .output: layer.attentionOutput
        case .gate: layer.gate
        case .up: layer.up
        case .down: layer.down
        }
    }

    /// Replaces the projection's weight in `layer`.
    public func setWeight(_ weight: WeightMatrix, in layer: inout LayerWeights) {
        switch self {
        case .query: layer.query = weight
        case .key: layer.key = weight
        case .value: layer.value = weight
        case .output: layer.attentionOutput = weight
        case .gate: layer.gate = weight
        case .up: layer.up = weight
        case .down: layer.down = weight
        }
    }

    var gradient: WritableKeyPath<LayerGradients, Tensor?> & Sendable {
        switch self {
        case .query: \.query
        case .key: \.key
        case .value: \.value
        case .output: \.attentionOutput
        case .gate: \.gate
        case .up: \.up
        case .down: \.down
        }
    }

    /// Where the projection lives in an HF checkpoint of `architecture` (nil: it has none).
    public func hf(_ architecture: Architecture) -> HFModuleName? {
        if architecture == .gpt2 {
            switch self {
            case .query: return HFModuleName(path: "attn.c_attn", fusedPart: 0, conv1D: true)
            case .key: return HFModuleName(path: "attn.c_attn", fusedPart: 1, conv1D: true)
            case .value: return HFModuleName(path: "attn.c_attn", fusedPart: 2, conv1D: true)
            case .output: return HFModuleName(path: "attn.c_proj", fusedPart: nil, conv1D: true)
            case .up: return HFModuleName(path: "mlp.c_fc", fusedPart: nil, conv1D: true)
            case .down: return HFModuleName(path: "mlp.c_proj", fusedPart: nil, conv1D: true)
            case .gate: return nil
            }
        }
        let group = [.query, .key, .value, .output].contains(self) ? "self_attn" : "mlp"
        return HFModuleName(path: "\(group).\(rawValue)", fusedPart: nil, conv1D: false)
    }
}

/// A linear module's place in an HF checkpoint (and so in a PEFT adapter).
public struct HFModuleName: Sendable, Equatable {
    /// Path under the layer, e.g. `self_attn.q_proj`; the layer is
    /// `model.layers.N.` (`transformer.h.N.` for GPT-2).
    public let path: String
    /// GPT-2's `c_attn` holds q, k and v as parts 0, 1, 2 of its output rows.
    public let fusedPart: Int?
    /// GPT-2's Conv1D stores weights `[in, out]` (PEFT's `fan_in_fan_out`).
    public let conv1D: Bool

    /// PEFT's `target_modules` name: the path's last component.
    public var peftName: String { String(path.split(separator: ".").last!) }

    /// The full module path in layer `layer` of an `architecture` checkpoint.
    public func modulePath(layer: Int, _ architecture: Architecture) -> String {
        (architecture == .gpt2 ? "transformer.h.\(layer)." : "model.layers.\(layer).") + path
    }

    /// The rows of the fused projection's output that belong to part `fusedPart`.
    public static func fusedRows(part: Int, _ c: ModelConfig) -> Range<Int> {
        let bounds = [0, c.queryWidth, c.queryWidth + c.kvWidth, c.queryWidth + 2 * c.kvWidth]
        return bounds[part]..<bounds[part + 1]
    }
}
