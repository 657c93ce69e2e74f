import CastTensor

/// Where an adapter sits: a layer and one of its projections.
public struct AdapterSlot: Hashable, Codable, Sendable, CustomStringConvertible, Comparable {
    public var layer: Int
    public var module: LinearModule

    public init(layer: Int, module: LinearModule) {
        self.layer = layer
        self.module = module
    }

    public var description: String { "layers.\(layer).\(module.rawValue)" }

    public static func < (a: AdapterSlot, b: AdapterSlot) -> Bool {
        a.layer != b.layer ? a.layer < b.layer
            : LinearModule.allCases.firstIndex(of: a.module)! < LinearModule.allCases.firstIndex(of: b.module)!
    }
}

/// A learned change to a frozen linear projection (LoRA, a CAST layer).
///
/// The model calls `forward` right after the base projection `y = W·x (+ b)` and `backward`
/// during its backward pass. Whatever forward keeps for backward goes into `saved`, which
/// belongs to the caller's `ForwardPass`, so one adapter can take part in several passes at
/// once; the adapter itself only holds its parameters and accumulates their gradients.
public protocol LinearAdapter: AnyObject {
    /// Widths of the projection it adapts, `[rows, in] → [rows, out]`.
    var inputWidth: Int { get }
    var outputWidth: Int { get }
    /// Whether `backward` accumulates gradients of its own (false for a frozen adapter).
    var isTrainable: Bool { get }
    /// Adds the adapter's contribution to `y` (`[rows, out]`) for input `x` (`[rows, in]`).
    /// With `saving` (a training pass, which a `backward` call follows) it stores what its
    /// backward needs in `saved`, reusing the buffers already there.
    func forward(_ x: Tensor, addingTo y: inout Tensor, saving: Bool, saved: inout [Tensor]) throws
    /// Accumulates `dx += (∂Δy/∂x)ᵀ·dy` (when `dx` is non-nil) and, if trainable, the
    /// parameter gradients; `saved` is what `forward` stored.
    func backward(dy: Tensor, x: Tensor, saved: [Tensor], dx: inout Tensor?) throws
}

/// The adapters applied in one pass, by slot: an immutable value handed to each forward
/// call (and kept by the pass for its backward), never state on the shared model.
public struct AdapterSet {
    public let bySlot: [AdapterSlot: any LinearAdapter]

    public static var none: AdapterSet { AdapterSet() }

    public init(_ bySlot: [AdapterSlot: any LinearAdapter] = [:]) {
        self.bySlot = bySlot
    }

    public var isEmpty: Bool { bySlot.isEmpty }
    public var slots: [AdapterSlot] { bySlot.keys.sorted() }

    /// This set and `other` together; a slot in both is an error (say which).
    public func adding(_ other: AdapterSet) throws -> AdapterSet {
        var all = bySlot
        for (slot, adapter) in other.bySlot {
            guard all[slot] == nil else { throw ModelError.invalidInput("two adapters on \(slot)") }
            all[slot] = adapter
        }
        return AdapterSet(all)
    }

    func adapters(ofLayer layer: Int) -> [LinearModule: any LinearAdapter] {
        var out: [LinearModule: any LinearAdapter] = [:]
        for (slot, adapter) in bySlot where slot.layer == layer { out[slot.module] = adapter }
        return out
    }

    /// The lowest layer with a trainable adapter (backward need not go below it).
    var lowestTrainableLayer: Int? {
        bySlot.filter { $0.value.isTrainable }.keys.map(\.layer).min()
    }

    /// Checks that every slot exists in `model` and every adapter has its projection's shape.
    public func validate(for model: Transformer) throws {
        let c = model.config
        for slot in slots {
            let adapter = bySlot[slot]!
            guard (0..<c.layerCount).contains(slot.layer) else {
                throw ModelError.invalidInput("\(model.name): adapter on \(slot), but the model has layers 0..<\(c.layerCount)")
            }
            guard LinearModule.modules(of: c.architecture).contains(slot.module) else {
                throw ModelError.invalidInput("\(model.name): adapter on \(slot), but \(c.architecture.rawValue) has no \(slot.module.rawValue)")
            }
            let shape = slot.module.shape(in: c)
            guard adapter.inputWidth == shape.input, adapter.outputWidth == shape.output else {
                throw ModelError.invalidInput(
                    "\(model.name): adapter on \(slot) maps \(adapter.inputWidth) → \(adapter.outputWidth), "
                    + "the projection is \(shape.input) → \(shape.output)")
            }
        }
    }
}
