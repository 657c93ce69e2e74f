import CastTensor
import Foundation

/// How a LoRA trains. Every field has a default; a JSON object that leaves a field out
/// decodes to it (checkpoints keep the options they were made with).
public struct TrainingOptions: Codable, Equatable, Sendable {
    /// Optimizer steps.
    public var steps = 200
    /// Examples per micro-batch, and micro-batches whose gradients one step accumulates.
    public var batchSize = 8
    public var accumulation = 1
    /// Peak learning rate, reached after `warmupSteps` of linear warm-up, then cosine decay
    /// to `minLearningRate` at the last step.
    public var learningRate: Float = 1e-3
    public var warmupSteps = 10
    public var minLearningRate: Float = 1e-4
    public var weightDecay: Float = 0
    /// Global gradient-norm clip.
    public var maxGradNorm: Float = 1
    /// Seed of the data order (the adapter's own initial values have theirs).
    public var seed: UInt64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case steps, batchSize, accumulation, learningRate, warmupSteps, minLearningRate, weightDecay, maxGradNorm, seed
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingOptions()
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? d.steps
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        accumulation = try c.decodeIfPresent(Int.self, forKey: .accumulation) ?? d.accumulation
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? d.warmupSteps
        minLearningRate = try c.decodeIfPresent(Float.self, forKey: .minLearningRate) ?? d.minLearningRate
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        maxGradNorm = try c.decodeIfPresent(Float.self, forKey: .maxGradNorm) ?? d.maxGradNorm
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
    }

    public func validate() throws {
        func require(_ ok: Bool, _ what: String) throws { if !ok { throw AdapterError("training options: \(what)") } }
        try require(steps >= 0, "steps must be ≥ 0, got \(steps)")
        try require(batchSize >= 1, "batch size must be ≥ 1, got \(batchSize)")
        try require(accumulation >= 1, "accumulation must be ≥ 1, got \(accumulation)")
        try require(learningRate.isFinite && learningRate > 0, "learning rate must be > 0, got \(learningRate)")
        try require(minLearningRate.isFinite && minLearningRate >= 0 && minLearningRate <= learningRate,
                    "min learning rate must be in [0, learning rate], got \(minLearningRate)")
        try require(warmupSteps >= 0, "warm-up steps must be ≥ 0, got \(warmupSteps)")
        try require(weightDecay.isFinite && weightDecay >= 0, "weight decay must be ≥ 0, got \(weightDecay)")
        try require(maxGradNorm.isFinite && maxGradNorm > 0, "max gradient norm must be > 0, got \(maxGradNorm)")
    }

    /// The learning rate of step `step` (1-based): linear warm-up, then cosine decay.
    public func learningRate(atStep step: Int) -> Float {
        if warmupSteps > 0 && step <= warmupSteps { return learningRate * Float(step) / Float(warmupSteps) }
        let decaySteps = max(1, steps - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(decaySteps))
        let cosine = 0.5 * (1 + Foundation.cos(Double.pi * progress))
        return minLearningRate + (learningRate - minLearningRate) * Float(cosine)
    }
}

/// What one optimizer step did, as numbers for whoever shows them.
public struct TrainingStep: Codable, Sendable {
    public let step: Int
    public let loss: Double
    public let gradNorm: Double
    public let learningRate: Double
    /// Real (non-padding) tokens the step ran, and those the loss counted.
    public let tokens: Int
    public let answerTokens: Int
    public let seconds: Double
    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

extension TrainingStep {
    /// A LoRA step's metrics from the shared trainer's.
    init(_ m: StepMetrics) {
        self.init(step: m.step, loss: m.loss, gradNorm: m.gradNorm, learningRate: m.learningRate, tokens: m.tokens,
                  answerTokens: m.counted, seconds: m.seconds)
    }
}
