import CastModels
import CastTensor
import Foundation

/// Trains a CAST adapter with the shared `Trainer`: teacher = source + LoRA, student =
/// target + CAST layers, on corpus windows, with the loss in `options` and AdamW over the
/// P's and H. A run resumed from a checkpoint continues exactly as if it had never stopped.
public final class CastTrainer {
    /// The loss and everything it reads (the models, adapters, corpus and options below).
    let objective: DistillationObjective
    public let trainer: Trainer

    public var teacher: Transformer { objective.teacher }
    public var lora: LoRAAdapter { objective.lora }
    public var student: Transformer { objective.student }
    public var cast: CastAdapter { objective.cast }
    public var corpus: PairedCorpus { objective.corpus }
    public var options: CastOptions { objective.options }
    /// Nil when both models share one vocabulary.
    public var shared: SharedVocabulary? { objective.shared }

    public init(teacher: Transformer, lora: LoRAAdapter, student: Transformer, cast: CastAdapter,
                corpus: PairedCorpus, options: CastOptions) throws {
        try options.validate()
        try lora.adapters.validate(for: teacher)
        try cast.adapters.validate(for: student)
        guard corpus.windowCount(.train) >= options.training.batchSize else {
            throw AdapterError("corpus \(corpus.name): \(corpus.windowCount(.train)) training windows of \(corpus.length) tokens, "
                               + "fewer than one batch of \(options.training.batchSize)")
        }
        objective = try DistillationObjective(teacher: teacher, lora: lora, student: student, cast: cast, corpus: corpus,
                                              options: options, shared: try Self.sharedVocabulary(teacher, student, corpus))
        trainer = try Trainer(tensors: cast, objective: objective, options: options.training)
        cast.setTrainable(true)
        lora.setTrainable(false)
    }

    /// The shared tokens when the vocabularies differ (nil when they are one).
    static func sharedVocabulary(_ teacher: Transformer, _ student: Transformer, _ corpus: PairedCorpus) throws -> SharedVocabulary? {
        if corpus.sameVocabulary {
            guard teacher.config.vocabularySize == student.config.vocabularySize else {
                throw AdapterError("\(teacher.name) and \(student.name) share a tokenizer but have \(teacher.config.vocabularySize) "
                                   + "and \(student.config.vocabularySize) logits")
            }
            return nil
        }
        guard let t = teacher.tokenizer, let s = student.tokenizer else {
            throw AdapterError("different vocabularies need both models' tokenizers")
        }
        let shared = SharedVocabulary(source: t, target: s)
        guard shared.count > 0 else { throw AdapterError("\(teacher.name) and \(student.name) share no token string") }
        return shared
    }

    /// How many of the student's lowest layers recompute their activations in backward
    /// instead of keeping them: memory for time, the same bits either way. Default: all
    /// (qwen2.5-0.5b student, 4 × 256 tokens: 3.1 GB peak and 16.5 s a step, against 6.1 GB
    /// and 11.8 s keeping every layer's).
    public var recomputedLayers: Int {
        get { objective.recomputedLayers }
        set { objective.recomputedLayers = newValue }
    }

    public var completedSteps: Int { trainer.completedSteps }
    public var isFinished: Bool { trainer.isFinished }

    /// What a checkpoint of this run records: both models, the corpus, and every CAST
    /// option but the training ones (which the checkpoint compares itself).
    public var record: TrainingRecord {
        get throws {
            var settings = options
            settings.training = TrainingOptions()
            return TrainingRecord(kind: "cast", model: "\(teacher.name) → \(student.name)", data: "corpus \(corpus.name)",
                                  settings: try TrainingRecord.canonicalJSON(settings))
        }
    }

    /// One optimizer step (see `Trainer.step`).
    @discardableResult
    public func step() throws -> CastStep { CastStep(try trainer.step()) }

    /// Steps until `options.training.steps` or until `shouldStop` says so. Returns whether
    /// the run finished.
    @discardableResult
    public func run(shouldStop: () -> Bool = { false }, onStep: (CastStep) throws -> Void = { _ in }) throws -> Bool {
        try trainer.run(shouldStop: shouldStop) { try onStep(CastStep($0)) }
    }

    /// The loss on `windows` with the adapter as it is, without gradients (nothing moves):
    /// loss, its KL part (mean, without T²) and MSE part, and the aligned positions read.
    public func loss(on windows: [PairedWindow]) throws -> (loss: Double, kl: Double, mse: Double, positions: Int) {
        let r = try objective.evaluate(windows, scale: 1, step: completedSteps, gradients: false)
        return (Double(r.loss), Double(r.kl), Double(r.mse), r.positions)
    }

    public func saveCheckpoint(to url: URL) throws { try TrainingCheckpoint.save(trainer, record: try record, to: url) }
    public func restoreCheckpoint(from url: URL) throws { try TrainingCheckpoint.restore(trainer, record: try record, from: url) }

    /// Rows (of `batch·tokens`, right-padded to the longest window of each side) of the
    /// aligned positions, teacher and student in the same order.
    static func alignedRows(_ windows: [PairedWindow]) -> (teacher: [Int], student: [Int]) {
        let teacherTokens = windows.map(\.teacher.count).max() ?? 0
        let studentTokens = windows.map(\.student.count).max() ?? 0
        var t: [Int] = [], s: [Int] = []
        for (b, w) in windows.enumerated() {
            for (i, j) in w.pairs {
                t.append(b * teacherTokens + i)
                s.append(b * studentTokens + j)
            }
        }
        return (t, s)
    }

    /// Rows `rows` of a `[N, width]` tensor.
    static func rows(_ x: Tensor, _ rows: [Int]) -> Tensor {
        let width = x.shape[x.rank - 1]
        var out = Tensor(zeros: [rows.count, width])
        let src = x.data, dst = out.mutableData
        for (k, r) in rows.enumerated() { (dst + k * width).update(from: src + r * width, count: width) }
        return out
    }
}

/// The CAST loss over corpus windows: forward both models at the aligned positions, the
/// loss, and the student's backward into the P's and H.
final class DistillationObjective: TrainingObjective {
    let teacher: Transformer, lora: LoRAAdapter, student: Transformer, cast: CastAdapter
    let corpus: PairedCorpus, options: CastOptions, shared: SharedVocabulary?
    /// The student's head over the shared tokens (nil when the vocabularies are one).
    let studentHead: SharedHead?
    var recomputedLayers = Int.max
    private var teacherPass = ForwardPass(), basePass = ForwardPass(), targetPass = ForwardPass()
    private var studentPass = ForwardPass()

    init(teacher: Transformer, lora: LoRAAdapter, student: Transformer, cast: CastAdapter, corpus: PairedCorpus,
         options: CastOptions, shared: SharedVocabulary?) throws {
        self.teacher = teacher
        self.lora = lora
        self.student = student
        self.cast = cast
        self.corpus = corpus
        self.options = options
        self.shared = shared
        studentHead = try shared.map { try SharedHead(student, ids: $0.target) }
    }

    func microBatch(_ index: Int, scale: Float, step: Int) throws -> MicroBatch {
        let windows = corpus.batch(step: index, size: options.training.batchSize, seed: options.training.seed)
        let r = try evaluate(windows, scale: scale, step: step, gradients: true)
        return MicroBatch(loss: Double(r.loss), parts: ["kl": Double(r.kl), "mse": Double(r.mse)],
                          tokens: windows.reduce(0) { $0 + $1.student.count }, counted: r.positions)
    }

    /// Forward both models over `windows`, the loss at aligned positions, and with
    /// `gradients` the student's backward (scaled by `scale`, accumulated into the P's and H).
    func evaluate(_ windows: [PairedWindow], scale: Float, step: Int, gradients wanted: Bool)
        throws -> (loss: Float, kl: Float, mse: Float, positions: Int) {
        let rows = CastTrainer.alignedRows(windows)
        guard !rows.teacher.isEmpty else {
            throw AdapterError("step \(step): no aligned positions in this batch of \(windows.count) windows")
        }
        let objective = options.objective
        try teacher.forward(windows.map(\.teacher), options: ForwardOptions(adapters: lora.adapters, logitRows: rows.teacher),
                            pass: &teacherPass)
        var sourceLogits: Tensor? = nil, targetLogits: Tensor? = nil
        if objective != .paper {
            try teacher.forward(windows.map(\.teacher), options: ForwardOptions(logitRows: rows.teacher), pass: &basePass)
            sourceLogits = basePass.logits
        }
        // With two vocabularies the student's logits come from its shared-token head.
        let head = studentHead
        if objective == .delta {
            try student.forward(windows.map(\.student), options: ForwardOptions(logits: head == nil, logitRows: rows.student),
                                pass: &targetPass)
            targetLogits = try head.map { try $0.forward(CastTrainer.rows(targetPass.hidden, rows.student)) } ?? targetPass.logits
        }
        try student.forward(windows.map(\.student),
                            options: ForwardOptions(adapters: cast.adapters, training: wanted, logits: head == nil,
                                                    logitRows: rows.student, recomputedLayers: recomputedLayers),
                            pass: &studentPass)
        let studentHidden = CastTrainer.rows(studentPass.hidden, rows.student)
        let studentLogits = try head.map { try $0.forward(studentHidden) } ?? studentPass.logits
        var lossOptions = options.loss
        lossOptions.alpha *= scale
        lossOptions.beta *= scale
        var inputs = DistillationLoss.Inputs(
            studentLogits: studentLogits, teacherLogits: teacherPass.logits,
            sourceLogits: sourceLogits, targetLogits: targetLogits, shared: shared,
            studentHidden: studentHidden, teacherHidden: CastTrainer.rows(teacherPass.hidden, rows.teacher), head: cast.head)
        inputs.studentShared = head != nil
        var result = try lossOptions.evaluate(inputs, gradients: wanted)
        guard result.loss.isFinite else { throw TrainingError.nonFinite(step: step, what: "loss \(result.loss / scale)") }
        guard wanted else { return (result.loss / scale, result.kl, result.mse, rows.teacher.count) }
        if let head, let dLogits = result.dStudentLogits {
            try head.backward(dLogits: dLogits, logits: studentLogits, h: studentHidden, into: &result.dStudentHidden)
            result.dStudentLogits = nil
        }
        let d = student.config.hiddenSize
        var dHidden = Tensor(zeros: [studentPass.batch * studentPass.tokens, d])
        let src = result.dStudentHidden!.data, dst = dHidden.mutableData
        for (k, row) in rows.student.enumerated() { (dst + row * d).update(from: src + k * d, count: d) }
        var gradients = ModelGradients.frozen(student.weights), noInput: Tensor? = nil
        try student.backward(&studentPass, dLogits: result.dStudentLogits, dHidden: dHidden,
                             gradients: &gradients, dEmbeddings: &noInput)
        try cast.dHead!.add(result.dHead!)
        return (result.loss / scale, result.kl, result.mse, rows.teacher.count)
    }
}
