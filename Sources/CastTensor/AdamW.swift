import Foundation

/// Hyper-parameters of `AdamW`. Every field has a default, and a JSON object that leaves a
/// field out decodes to that default (so saved configs survive new fields).
public struct AdamWConfig: Codable, Sendable, Equatable {
    /// Step size; may be changed between steps (a schedule sets it before each `step`).
    public var learningRate: Float
    /// Decay rate of the first-moment (mean) estimate.
    public var beta1: Float
    /// Decay rate of the second-moment (uncentred variance) estimate.
    public var beta2: Float
    /// Added to √v̂ so the update stays finite where the gradient is ~0.
    public var epsilon: Float
    /// Decoupled weight decay: each step shrinks a parameter by `learningRate · weightDecay · p`.
    public var weightDecay: Float

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    private enum CodingKeys: String, CodingKey {
        case learningRate, beta1, beta2, epsilon, weightDecay
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AdamWConfig()
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        beta1 = try c.decodeIfPresent(Float.self, forKey: .beta1) ?? d.beta1
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? d.beta2
        epsilon = try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? d.epsilon
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
    }

    /// Throws unless every field is in its meaningful range.
    public func validate() throws {
        func require(_ ok: Bool, _ what: String) throws {
            if !ok { throw TensorError("AdamW", what) }
        }
        try require(learningRate.isFinite && learningRate >= 0, "learningRate must be finite and ≥ 0, got \(learningRate)")
        try require(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), got \(beta1)")
        try require(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), got \(beta2)")
        try require(epsilon.isFinite && epsilon > 0, "epsilon must be finite and > 0, got \(epsilon)")
        try require(weightDecay.isFinite && weightDecay >= 0, "weightDecay must be finite and ≥ 0, got \(weightDecay)")
    }
}

/// AdamW (Loshchilov & Hutter): Adam with bias-corrected moments and weight decay applied
/// to the parameters directly rather than folded into the gradient. Per element, at step t:
///
///     p ← p − lr·wd·p
///     m ← β1·m + (1−β1)·g          v ← β2·v + (1−β2)·g²
///     p ← p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
///
/// The moment buffers are allocated on the first step, one pair per parameter, and reused
/// by every later step; the parameter list must keep its length and shapes from then on.
public final class AdamW {
    /// Change `config.learningRate` between steps to follow a schedule.
    public var config: AdamWConfig
    /// Number of completed steps (t of the last update).
    public private(set) var stepCount = 0
    /// First- and second-moment estimates, one per parameter (empty before the first step).
    private(set) var firstMoments: [Tensor] = []
    private(set) var secondMoments: [Tensor] = []

    public init(config: AdamWConfig = AdamWConfig()) {
        self.config = config
    }

    /// Forgets the moments and the step count (the next step starts a fresh run).
    public func reset() {
        stepCount = 0
        firstMoments = []
        secondMoments = []
    }

    /// The optimizer's whole state (for checkpoints): step count and both moments.
    public var state: (stepCount: Int, firstMoments: [Tensor], secondMoments: [Tensor]) {
        (stepCount, firstMoments, secondMoments)
    }

    /// Restores a state saved from `state`, so the next step continues that run exactly.
    public func restore(stepCount: Int, firstMoments: [Tensor], secondMoments: [Tensor]) throws {
        guard stepCount >= 0, firstMoments.count == secondMoments.count,
              zip(firstMoments, secondMoments).allSatisfy({ $0.shape == $1.shape }),
              (stepCount == 0) == firstMoments.isEmpty else {
            throw TensorError("AdamW.restore", "inconsistent state: step \(stepCount), \(firstMoments.count) first and "
                              + "\(secondMoments.count) second moments")
        }
        self.stepCount = stepCount
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }

    /// Updates `parameters` in place from `gradients` (same order and shapes).
    ///
    /// Throws, leaving parameters and state untouched, when the config is out of range,
    /// a gradient's shape differs from its parameter's, or the parameter list differs in
    /// length or shapes from the one the optimizer was first stepped with.
    public func step(parameters: inout [Tensor], gradients: [Tensor]) throws {
        try config.validate()
        guard parameters.count == gradients.count else {
            throw TensorError("AdamW.step", "\(parameters.count) parameters but \(gradients.count) gradients")
        }
        for (i, (p, g)) in zip(parameters, gradients).enumerated() where p.shape != g.shape {
            throw TensorError.shapeMismatch("AdamW.step", p.shape, g.shape,
                                            "parameter \(i) and its gradient differ in shape")
        }
        if stepCount == 0 {  // first step since init/reset: allocate the moments once
            firstMoments = parameters.map { Tensor(zeros: $0.shape) }
            secondMoments = firstMoments.map { Tensor(zeros: $0.shape) }
        } else {
            guard parameters.count == firstMoments.count else {
                throw TensorError("AdamW.step", "the parameter list changed: \(parameters.count) parameters, "
                                  + "but the optimizer state holds \(firstMoments.count) (call reset() to start over)")
            }
            for (i, (p, m)) in zip(parameters, firstMoments).enumerated() where p.shape != m.shape {
                throw TensorError.shapeMismatch("AdamW.step", p.shape, m.shape,
                                                "the parameter list changed: parameter \(i) no longer matches its optimizer state")
            }
        }

        stepCount += 1
        let t = Double(stepCount)
        let b1 = config.beta1, b2 = config.beta2
        // Bias corrections in Double: 1 − β2ᵗ is tiny for small t and loses digits in Float.
        let correction1 = 1 - pow(Double(b1), t)
        let correction2 = 1 - pow(Double(b2), t)
        let stepSize = Float(Double(config.learningRate) / correction1)
        let inverseSqrtCorrection2 = Float(1 / correction2.squareRoot())
        let decay = 1 - config.learningRate * config.weightDecay
        let eps = config.epsilon

        for i in parameters.indices {
            let n = parameters[i].count
            let p = parameters[i].mutableData
            let g = gradients[i].data
            let m = firstMoments[i].mutableData, v = secondMoments[i].mutableData
            // Element-wise, so any split across cores gives the same bits.
            Parallel.forEach(n, grain: 16_384) { range in
                for j in range {
                    let gj = g[j]
                    let mj = b1 * m[j] + (1 - b1) * gj
                    let vj = b2 * v[j] + (1 - b2) * gj * gj
                    m[j] = mj
                    v[j] = vj
                    p[j] = decay * p[j] - stepSize * mj / (vj.squareRoot() * inverseSqrtCorrection2 + eps)
                }
            }
        }
    }
}
