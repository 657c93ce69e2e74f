import CastModels
import CastTensor
import Foundation

/// Trains a LoRA on a task's answer tokens with AdamW: frozen base weights (packed ones stay
/// packed), gradients only for the LoRA factors, backward no lower than the lowest adapted
/// layer, logits only at the rows the loss reads.
///
/// Each `step()` is one optimizer step over `accumulation` micro-batches; the data order,
/// the schedule and the optimizer state depend only on the step number, so a run resumed
/// from a checkpoint continues bit for bit as if it had never stopped.
public final class LoRATrainer {
    public let model: Transformer
    public let lora: LoRAAdapter
    public let options: TrainingOptions
    public let data: TrainingExamples
    let optimizer: AdamW
    /// Completed optimizer steps.
    public private(set) var completedSteps = 0
    private var pass = ForwardPass()

    /// Trains on a task's train split.
    public convenience init(model: Transformer, lora: LoRAAdapter, task: TaskSuite, options: TrainingOptions) throws {
        guard let tokenizer = model.tokenizer else { throw AdapterError("\(model.name): training needs the model's tokenizer") }
        try self.init(model: model, lora: lora, data: try TrainingExamples(task.train, tokenizer: tokenizer,
                                                                          contextLength: model.config.contextLength),
                      options: options)
    }

    public init(model: Transformer, lora: LoRAAdapter, data: TrainingExamples, options: TrainingOptions) throws {
        try options.validate()
        try lora.adapters.validate(for: model)
        self.model = model
        self.lora = lora
        self.options = options
        self.data = data
        optimizer = AdamW(config: AdamWConfig(learningRate: options.learningRate, weightDecay: options.weightDecay))
        lora.setTrainable(true)
    }

    /// Continue as if `steps` steps had run (the factors and optimizer already restored).
    func resume(atStep steps: Int) { completedSteps = steps }

    public var isFinished: Bool { completedSteps >= options.steps }

    /// One optimizer step. A NaN or infinite loss or gradient throws before anything is
    /// updated, so the adapter and the optimizer keep the last good step.
    @discardableResult
    public func step() throws -> TrainingStep {
        let start = Date()
        let next = completedSteps + 1
        lora.zeroGradients()
        var lossSum = 0.0, tokens = 0, answerTokens = 0
        for micro in 0..<options.accumulation {
            let examples = data.microBatch(completedSteps * options.accumulation + micro, size: options.batchSize, seed: options.seed)
            let (sequences, rows, targets) = TrainingExamples.batch(examples)
            try model.forward(sequences, options: ForwardOptions(adapters: lora.adapters, training: true, logitRows: rows),
                              pass: &pass)
            var lse = Tensor()
            let loss = try CrossEntropy.forward(logits: pass.logits, targets: targets, logSumExp: &lse)
            guard loss.isFinite else { throw TrainingError.nonFinite(step: next, what: "loss \(loss)") }
            var dLogits: Tensor? = Tensor(zeros: pass.logits.shape)
            try CrossEntropy.backward(dLoss: 1 / Float(options.accumulation), logits: pass.logits, targets: targets,
                                      logSumExp: lse, dLogits: &dLogits)
            var gradients = ModelGradients.frozen(model.weights), noInput: Tensor? = nil
            try model.backward(&pass, dLogits: dLogits, dHidden: nil, gradients: &gradients, dEmbeddings: &noInput)
            lossSum += Double(loss)
            tokens += sequences.reduce(0) { $0 + $1.count }
            answerTokens += targets.count
        }
        // The factors' tensors move into flat lists and back, so updating them never copies.
        let factors = lora.modules.map(\.factors)
        var parameters: [Tensor] = [], gradients: [Tensor] = []
        for f in factors {
            parameters += [f.a, f.b]
            gradients += [f.dA!, f.dB!]
            f.a = Tensor(); f.b = Tensor(); f.dA = Tensor(); f.dB = Tensor()
        }
        defer {
            for (k, f) in factors.enumerated() {
                f.a = parameters[2 * k]; f.b = parameters[2 * k + 1]
                f.dA = gradients[2 * k]; f.dB = gradients[2 * k + 1]
            }
        }
        let norm = try GradientClipping.clip(&gradients, maxNorm: options.maxGradNorm)
        guard norm.isFinite else { throw TrainingError.nonFinite(step: next, what: "gradient norm \(norm)") }
        optimizer.config.learningRate = options.learningRate(atStep: next)
        try optimizer.step(parameters: &parameters, gradients: gradients)
        completedSteps = next
        return TrainingStep(step: next, loss: lossSum / Double(options.accumulation), gradNorm: Double(norm),
                            learningRate: Double(optimizer.config.learningRate), tokens: tokens,
                            answerTokens: answerTokens, seconds: Date().timeIntervalSince(start))
    }

    /// Steps until `options.steps` or until `shouldStop` (checked between steps) says so.
    /// Returns whether the run finished.
    @discardableResult
    public func run(shouldStop: () -> Bool = { false }, onStep: (TrainingStep) throws -> Void = { _ in }) throws -> Bool {
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
