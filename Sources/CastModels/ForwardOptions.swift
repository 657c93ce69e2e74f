import CastTensor

/// What one forward call computes and with which adapters. Everything that varies between
/// calls lives here (or in the `ForwardPass`), none of it on the shared `Transformer`, so
/// passes of the same model with different adapters can be in flight at once.
public struct ForwardOptions {
    /// Adapters on the projections for this pass (kept by the pass for its backward).
    public var adapters: AdapterSet
    /// Keep every activation the backward pass needs. Training passes are always exact.
    public var training: Bool
    /// Arithmetic of products with packed weights in passes that save nothing.
    public var arithmetic: PackedArithmetic
    /// Stop after this layer: `residualStream(atLayer: lastLayer + 1)` is the last thing
    /// computed (no final norm, no logits). Nil runs every layer.
    public var lastLayer: Int?
    /// Compute the output head's logits (false: stop at the final normed hidden states; the
    /// full-vocabulary logits can be gigabytes, e.g. gemma3's 262k columns).
    public var logits: Bool
    /// Compute logits only at these rows of `batch·tokens` (e.g. the answer tokens a loss
    /// reads): `pass.logits` is then `[logitRows.count, vocab]`, and so is backward's
    /// `dLogits`. Nil: every row.
    public var logitRows: [Int]?
    /// With `training`: keep only the inputs of the lowest `recomputedLayers` layers and
    /// recompute their activations during backward (the same call, so the same bits): one
    /// more forward of those layers for a fraction of the memory. 0 keeps every layer's.
    public var recomputedLayers: Int

    public init(adapters: AdapterSet = .none, training: Bool = false, arithmetic: PackedArithmetic = .float32,
                lastLayer: Int? = nil, logits: Bool = true, logitRows: [Int]? = nil, recomputedLayers: Int = 0) {
        self.adapters = adapters
        self.training = training
        self.arithmetic = arithmetic
        self.lastLayer = lastLayer
        self.logits = logits
        self.logitRows = logitRows
        self.recomputedLayers = recomputedLayers
    }
}
