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
    /// Reads the activations as the pass computes them (activation capture). Nil, the
    /// default, costs one nil check per layer.
    public var tap: (any ForwardTap)?

    public init(adapters: AdapterSet = .none, training: Bool = false, arithmetic: PackedArithmetic = .float32,
                lastLayer: Int? = nil, logits: Bool = true, logitRows: [Int]? = nil, recomputedLayers: Int = 0,
                tap: (any ForwardTap)? = nil) {
        self.adapters = adapters
        self.training = training
        self.arithmetic = arithmetic
        self.lastLayer = lastLayer
        self.logits = logits
        self.logitRows = logitRows
        self.recomputedLayers = recomputedLayers
        self.tap = tap
    }
}

/// Something that reads a forward pass's activations as they are computed, without a second
/// copy of the model or a second pass. It is called on the thread running the pass, after
/// each layer and after the final norm; the tensors it is shown are the pass's own reused
/// buffers, valid only during the call, so it copies what it keeps.
public protocol ForwardTap: AnyObject {
    /// Layer `view.layer` has run.
    func layerFinished(_ view: LayerTapView) throws
    /// The final norm's output `[rows, d]` (what the output head reads); only called when
    /// the pass ran every layer.
    func finalNormFinished(_ normed: Tensor, layout: BatchLayout) throws
    /// A cached call (a generation's prefill or one decode step) is about to run. Its rows
    /// are packed, not padded: the layer views show them as one block (`batch` 1, `tokens`
    /// = rows), and `segments` say whose tokens and which positions they are. The default
    /// does nothing.
    func cachedCallStarting(_ segments: [CachedSegment]) throws
}

extension ForwardTap {
    public func cachedCallStarting(_ segments: [CachedSegment]) throws {}
}

/// Rows `start..<start + count` of a cached call: sequence `sequence`'s tokens at positions
/// `firstPosition..<firstPosition + count` (the sequence is the generation's prompt index).
public struct CachedSegment: Sendable, Equatable {
    public let sequence: Int
    public let start: Int
    public let count: Int
    public let firstPosition: Int

    public init(sequence: Int, start: Int, count: Int, firstPosition: Int) {
        self.sequence = sequence
        self.start = start
        self.count = count
        self.firstPosition = firstPosition
    }
}

/// How a pass's rows are laid out: `batch` sequences right-padded to `tokens` rows each
/// (row = sequence·tokens + position); rows past a sequence's length are padding.
public struct BatchLayout: Sendable, Equatable {
    public let batch: Int
    public let tokens: Int
    public let lengths: [Int]

    public init(batch: Int, tokens: Int, lengths: [Int]) {
        self.batch = batch
        self.tokens = tokens
        self.lengths = lengths
    }
}

/// One decoder layer's activations in a forward pass, each `[rows, width]` (rows as in
/// `layout`). Projections include their bias and any adapter on them.
public struct LayerTapView {
    public let layer: Int
    public let layout: BatchLayout
    /// The residual stream entering the layer, and the stream after its attention half.
    public let input: Tensor, residualMid: Tensor
    /// The attention norm's output (with its weight): the input of q, k and v.
    public let attentionNormed: Tensor
    /// q, k, v projections (before Gemma's q/k norms and before RoPE), and q, k after RoPE.
    public let query: Tensor, key: Tensor, value: Tensor
    public let queryRotated: Tensor, keyRotated: Tensor
    /// Attention's output before the output projection, heads side by side (o's input).
    public let attended: Tensor
    /// What the attention half adds to the stream (after Gemma's post-attention norm).
    public let attentionOut: Tensor
    /// The feed-forward norm's output (with its weight): the input of gate and up.
    public let feedForwardNormed: Tensor
    /// Gate (nil without one) and up projections, and the activation that enters down.
    public let gate: Tensor?, up: Tensor, hidden: Tensor
    /// What the feed-forward half adds to the stream (after Gemma's post-FFN norm).
    public let feedForwardOut: Tensor
    /// The residual stream leaving the layer.
    public let output: Tensor
}
