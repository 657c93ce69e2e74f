import CastTensor
import Foundation

/// Tensors a trainer updates, by name: a LoRA's factors, a CAST adapter's P's and head.
public protocol TrainableTensors: AnyObject {
    /// The names of the tensors `takeParameters` hands out, in its order (checkpoint keys).
    var parameterNames: [String] { get }
    func zeroGradients()
    /// Moves the values and their gradients out as flat lists in `parameterNames` order, so
    /// the optimizer updates them without a copy; `returnParameters` puts them back.
    func takeParameters() -> (values: [Tensor], gradients: [Tensor])
    func returnParameters(values: [Tensor], gradients: [Tensor])
}

/// What one micro-batch of an objective measured.
public struct MicroBatch: Sendable {
    public var loss: Double
    /// Named parts of the loss (KL, MSE…), each averaged over micro-batches like the loss.
    public var parts: [String: Double]
    /// Real tokens run, and the positions the loss counted.
    public var tokens: Int
    public var counted: Int

    public init(loss: Double, parts: [String: Double] = [:], tokens: Int, counted: Int) {
        self.loss = loss
        self.parts = parts
        self.tokens = tokens
        self.counted = counted
    }
}

/// A loss over a stream of micro-batches.
public protocol TrainingObjective: AnyObject {
    /// Runs micro-batch `index` of the run (the same index always reads the same data) and
    /// accumulates the gradients of `scale · loss` into the trainable tensors.
    func microBatch(_ index: Int, scale: Float, step: Int) throws -> MicroBatch
}

/// What one optimizer step did, as numbers for whoever shows them.
public struct StepMetrics: Sendable {
    public let step: Int
    public let loss: Double
    public let parts: [String: Double]
    public let gradNorm: Double
    public let learningRate: Double
    public let tokens: Int
    public let counted: Int
    public let seconds: Double
    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

/// The training loop every adapter kind shares: micro-batch accumulation, global-norm
/// clipping, AdamW with warm-up + cosine, and a guard that keeps the last good step.
///
/// The data, the schedule and the optimizer state depend only on the step number, so a
/// run resumed from a checkpoint (`TrainingCheckpoint`) continues bit for bit.
public final class Trainer {
    public let tensors: any TrainableTensors
    public let objective: any TrainingObjective
    public let options: TrainingOptions
    let optimizer: AdamW
    /// Completed optimizer steps.
    public private(set) var completedSteps = 0

    public init(tensors: any TrainableTensors, objective: any TrainingObjective, options: TrainingOptions) throws {
        try options.validate()
        self.tensors = tensors
        self.objective = objective
        self.options = options
        optimizer = AdamW(config: AdamWConfig(learningRate: options.learningRate, weightDecay: options.weightDecay))
    }

    public var isFinished: Bool { completedSteps >= options.steps }

    /// Continue as if `steps` steps had run (values and optimizer already restored).
    func resume(atStep steps: Int) { completedSteps = steps }

    /// One optimizer step. A NaN or infinite loss or gradient throws before anything is
    /// updated, so the tensors and the optimizer keep the last good step.
    @discardableResult
    public func step() throws -> StepMetrics {
        let start = Date()
        let next = completedSteps + 1, micro = options.accumulation
        tensors.zeroGradients()
        var loss = 0.0, parts: [String: Double] = [:], tokens = 0, counted = 0
        for m in 0..<micro {
            let batch = try objective.microBatch(completedSteps * micro + m, scale: 1 / Float(micro), step: next)
            guard batch.loss.isFinite else { throw TrainingError.nonFinite(step: next, what: "loss \(batch.loss)") }
            loss += batch.loss / Double(micro)
            for (name, value) in batch.parts { parts[name, default: 0] += value / Double(micro) }
            tokens += batch.tokens
            counted += batch.counted
        }
        var (values, gradients) = tensors.takeParameters()
        defer { tensors.returnParameters(values: values, gradients: gradients) }
        let norm = try GradientClipping.clip(&gradients, maxNorm: options.maxGradNorm)
        guard norm.isFinite else { throw TrainingError.nonFinite(step: next, what: "gradient norm \(norm)") }
        optimizer.config.learningRate = options.learningRate(atStep: next)
        try optimizer.step(parameters: &values, gradients: gradients)
        completedSteps = next
        return StepMetrics(step: next, loss: loss, parts: parts, gradNorm: Double(norm),
                           learningRate: Double(optimizer.config.learningRate), tokens: tokens, counted: counted,
                           seconds: Date().timeIntervalSince(start))
    }

    /// Steps until `options.steps` or until `shouldStop` (checked between steps) says so.
    /// Returns whether the run finished.
    @discardableResult
    public func run(shouldStop: () -> Bool = { false }, onStep: (StepMetrics) throws -> Void = { _ in }) throws -> Bool {
        while !isFinished {
            if shouldStop() { return false }
            try onStep(try step())
        }
        return true
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFinite(step: Int, what: String)

    public var description: String {
        switch self {
        case .nonFinite(let step, let what):
            "training stopped at step \(step): \(what) is not finite; the adapter keeps step \(step - 1)"
        }
    }
}
