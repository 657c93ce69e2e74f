import CastTensor

/// The linear projections of a decoder layer that an adapter can attach to, named as PEFT's
/// `target_modules` name them for llama-style models.
public enum LinearModule: String, CaseIterable, Codable, Sendable {
    case query = "q_proj", key = "k_proj", value = "v_proj", output = "o_proj"
    case gate = "gate_proj", up = "up_proj", down = "down_proj"
}

/// Where an adapter sits: a layer and one of its projections.
public struct AdapterSlot: Hashable, Codable, Sendable, CustomStringConvertible {
    public var layer: Int
    public var module: LinearModule

    public init(layer: Int, module: LinearModule) {
        self.layer = layer
        self.module = module
    }

    public var description: String { "layers.\(layer).\(module.rawValue)" }
}

/// A learned change to a frozen linear projection (LoRA, a CAST layer).
///
/// The model calls `forward` right after the base projection `y = W·x (+ b)` and `backward`
/// during its backward pass; the adapter keeps whatever it saved for backward and
/// accumulates its own parameter gradients.
public protocol LinearAdapter: AnyObject {
    /// Adds the adapter's contribution to `y` (`[rows, out]`) for input `x` (`[rows, in]`).
    /// `saving` is true in a training forward pass, which a `backward` call follows.
    func forward(_ x: Tensor, addingTo y: inout Tensor, saving: Bool) throws
    /// Accumulates `dx += (∂Δy/∂x)ᵀ·dy` (when `dx` is non-nil) and the parameter gradients.
    func backward(dy: Tensor, x: Tensor, dx: inout Tensor?) throws
}
