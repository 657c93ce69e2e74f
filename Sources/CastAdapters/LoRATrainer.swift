import CastModels
import CastTensor
import Foundation

/// Trains a LoRA on a task's answer tokens with the shared `Trainer`: frozen base weights
/// (packed ones stay packed), gradients only for the LoRA factors, backward no lower than
/// the lowest adapted layer, logits only at the rows the loss reads.
public final class LoRATrainer {
    /// The loss and everything it reads (the model, adapter, examples and options below).
    let objective: AnswerTokenLoss
    /// What the run reads ("task arith"), for its checkpoints.
    public let dataName: String
    public let trainer: Trainer

    public var model: Transformer { objective.model }
    public var lora: LoRAAdapter { objective.lora }
    public var options: TrainingOptions { objective.options }
    public var data: TrainingExamples { objective.data }

    /// Trains on a task's train split.
    public convenience init(model: Transformer, lora: LoRAAdapter, task: TaskSuite, options: TrainingOptions) throws {
        guard let tokenizer = model.tokenizer else { throw AdapterError("\(model.name): training needs the model's tokenizer") }
        try self.init(model: model, lora: lora, data: try TrainingExamples(task.train, tokenizer: tokenizer,
                                                                          contextLength: model.config.contextLength),
                      dataName: "task \(task.name)", options: options)
    }

    public init(model: Transformer, lora: LoRAAdapter, data: TrainingExamples, dataName: String = "examples",
                options: TrainingOptions) throws {
        try lora.adapters.validate(for: model)
        objective = AnswerTokenLoss(model: model, lora: lora, data: data, options: options)
        self.dataName = dataName
        trainer = try Trainer(tensors: lora, objective: objective, options: options)
        lora.setTrainable(true)
    }

    public var completedSteps: Int { trainer.completedSteps }
    public var isFinished: Bool { trainer.isFinished }

    /// What a checkpoint of this run records.
    public var record: TrainingRecord {
        get throws {
            // The LoRA config as PEFT writes it, on one line.
            let peft = try JSONSerialization.jsonObject(with: try PEFTConfigFile.encode(lora.config, architecture: model.config.architecture))
            let settings = String(decoding: try JSONSerialization.data(withJSONObject: peft, options: [.sortedKeys]), as: UTF8.self)
            return TrainingRecord(kind: "lora", model: model.name, data: dataName, settings: settings)
        }
    }

    /// One optimizer step (see `Trainer.step`).
    @discardableResult
    public func step() throws -> TrainingStep { TrainingStep(try trainer.step()) }

    /// Steps until `options.steps` or until `shouldStop` says so. Returns whether the run finished.
    @discardableResult
    public func run(shouldStop: () -> Bool = { false }, onStep: (TrainingStep) throws -> Void = { _ in }) throws -> Bool {
        try trainer.run(shouldStop: shouldStop) { try onStep(TrainingStep($0)) }
    }

    public func saveCheckpoint(to url: URL) throws { try TrainingCheckpoint.save(trainer, record: try record, to: url) }
    public func restoreCheckpoint(from url: URL) throws { try TrainingCheckpoint.restore(trainer, record: try record, from: url) }
}

/// Cross-entropy on the answer tokens of task examples.
final class AnswerTokenLoss: TrainingObjective {
    let model: Transformer
    let lora: LoRAAdapter
    let data: TrainingExamples
    let options: TrainingOptions
    private var pass = ForwardPass()

    init(model: Transformer, lora: LoRAAdapter, data: TrainingExamples, options: TrainingOptions) {
        self.model = model
        self.lora = lora
        self.data = data
        self.options = options
    }

    func microBatch(_ index: Int, scale: Float, step: Int) throws -> MicroBatch {
        let examples = data.microBatch(index, size: options.batchSize, seed: options.seed)
        let (sequences, rows, targets) = TrainingExamples.batch(examples)
        try model.forward(sequences, options: ForwardOptions(adapters: lora.adapters, training: true, logitRows: rows),
                          pass: &pass)
        var lse = Tensor()
        let loss = try CrossEntropy.forward(logits: pass.logits, targets: targets, logSumExp: &lse)
        guard loss.isFinite else { throw TrainingError.nonFinite(step: step, what: "loss \(loss)") }
        var dLogits: Tensor? = Tensor(zeros: pass.logits.shape)
        try CrossEntropy.backward(dLoss: scale, logits: pass.logits, targets: targets, logSumExp: lse, dLogits: &dLogits)
        var gradients = ModelGradients.frozen(model.weights), noInput: Tensor? = nil
        try model.backward(&pass, dLogits: dLogits, dHidden: nil, gradients: &gradients, dEmbeddings: &noInput)
        return MicroBatch(loss: Double(loss), tokens: sequences.reduce(0) { $0 + $1.count }, counted: targets.count)
    }
}

extension LoRAAdapter: TrainableTensors {
    public var parameterNames: [String] { modules.flatMap { [$0.path + ".lora_A", $0.path + ".lora_B"] } }

    public func takeParameters() -> (values: [Tensor], gradients: [Tensor]) {
        var values: [Tensor] = [], gradients: [Tensor] = []
        for f in modules.map(\.factors) {
            values += [f.a, f.b]
            gradients += [f.dA ?? Tensor(), f.dB ?? Tensor()]
            f.a = Tensor(); f.b = Tensor()
            if f.dA != nil { f.dA = Tensor(); f.dB = Tensor() }
        }
        return (values, gradients)
    }

    public func returnParameters(values: [Tensor], gradients: [Tensor]) {
        for (k, f) in modules.map(\.factors).enumerated() {
            f.a = values[2 * k]; f.b = values[2 * k + 1]
            if f.dA != nil { f.dA = gradients[2 * k]; f.dB = gradients[2 * k + 1] }
        }
    }
}
