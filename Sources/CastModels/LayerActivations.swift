import CastTensor

/// What a decoder layer's forward pass keeps for its backward pass. A training loop holds one
/// per layer and reuses the buffers step after step; inference shares one across all layers.
/// All tensors are `[rows, width]` with rows = batch × tokens.
struct LayerActivations {
    // attention half
    var attentionNormed = Tensor()
    var attentionMean = Tensor()         // LayerNorm only
    var attentionRstd = Tensor()
    var query = Tensor(), key = Tensor(), value = Tensor()   // projections (+ bias)
    var queryNormed = Tensor(), keyNormed = Tensor()          // Gemma 3 q/k norms
    var queryRstd = Tensor(), keyRstd = Tensor()
    var queryRotated = Tensor(), keyRotated = Tensor()
    var probabilities: Tensor? = nil
    var attended = Tensor()
    var attentionProjected = Tensor()
    var postAttention = Tensor(), postAttentionRstd = Tensor()
    var residual = Tensor()              // input + attention branch
    // feed-forward half
    var feedForwardNormed = Tensor()
    var feedForwardMean = Tensor()
    var feedForwardRstd = Tensor()
    var gate = Tensor(), up = Tensor(), hidden = Tensor()
    var feedForwardOut = Tensor()
    var postFeedForward = Tensor(), postFeedForwardRstd = Tensor()
    /// What each projection's adapter kept for its backward.
    var adapterSaved: [LinearModule: [Tensor]] = [:]

    /// The tensor that q (or k) rotary embedding reads: normed for Gemma 3, raw otherwise.
    func rotaryInput(query isQuery: Bool, _ traits: ArchitectureTraits) -> Tensor {
        traits.qkNorm ? (isQuery ? queryNormed : keyNormed) : (isQuery ? query : key)
    }
}

/// Temporary gradient buffers for one layer's backward pass, shared by all layers.
struct LayerBackwardScratch {
    var dResidual: Tensor? = Tensor()
    var dBranch: Tensor? = Tensor()          // gradient of a branch output before its post-norm
    var dHidden: Tensor? = Tensor()
    var dGate: Tensor? = Tensor(), dUp: Tensor? = Tensor()
    var dNormed: Tensor? = Tensor()
    var dAttended: Tensor? = Tensor()
    var dQueryRotated: Tensor? = Tensor(), dKeyRotated: Tensor? = Tensor(), dValue: Tensor? = Tensor()
    var dQueryNormed: Tensor? = Tensor(), dKeyNormed: Tensor? = Tensor()
    var dQuery: Tensor? = Tensor(), dKey: Tensor? = Tensor()

    /// Sizes `buffer` to `shape` and zeroes it (backward accumulates into it).
    static func prepare(_ buffer: inout Tensor?, _ shape: [Int]) {
        if buffer == nil { buffer = Tensor() }
        buffer!.reuseZeroed(shape: shape)
    }
}
