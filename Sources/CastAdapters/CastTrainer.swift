import CastModels
import CastTensor
import Foundation

/// Trains a CAST adapter: teacher = source + LoRA, student = target + CAST layers, on
/// corpus windows, with the loss in `options` and AdamW over the P's and H.
///
/// Each `step()` is one optimizer step over `accumulation` micro-batches; the windows, the
/// schedule and the optimizer state depend only on the step number, so a run resumed from
/// a checkpoint continues exactly as if it had never stopped.
public final class CastTrainer {
    public let teacher: Transformer
    public let lora: LoRAAdapter
    public let student: Transformer
    public let cast: CastAdapter
    public let corpus: PairedCorpus
    public let options: CastOptions
    /// Nil when both models share one vocabulary.
    public let shared: SharedVocabulary?
    let optimizer: AdamW
    public private(set) var completedSteps = 0
    private var teacherPass = ForwardPass(), basePass = ForwardPass(), targetPass = ForwardPass()
    private var studentPass = ForwardPass()

    public init(teacher: Transformer, lora: LoRAAdapter, student: Transformer, cast: CastAdapter,
                corpus: PairedCorpus, options: CastOptions) throws {
        try options.validate()
        try lora.adapters.validate(for: teacher)
        try cast.adapters.validate(for: student)
        guard corpus.windowCount(.train) >= options.training.batchSize else {
            throw AdapterError("corpus \(corpus.name): \(corpus.windowCount(.train)) training windows of \(corpus.length) tokens, "
                               + "fewer than one batch of \(options.training.batchSize)")
        }
        self.teacher = teacher
        self.lora = lora
        self.student = student
        self.cast = cast
        self.corpus = corpus
        self.options = options
        shared = try Self.sharedVocabulary(teacher, student, corpus)
        optimizer = AdamW(config: AdamWConfig(learningRate: options.training.learningRate,
                                              weightDecay: options.training.weightDecay))
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

    func resume(atStep steps: Int) { completedSteps = steps }

    public var isFinished: Bool { completedSteps >= options.training.steps }

    /// The trainable tensors in a fixed order (P_in, P_out per layer, then H) and their
    /// names, for the optimizer and checkpoints.
    var parameterNames: [String] {
        cast.layers.flatMap { ["\($0.slot).p_in", "\($0.slot).p_out"] } + ["head"]
    }

    /// One optimizer step. A NaN or infinite loss or gradient throws before anything is
    /// updated, so the adapter and the optimizer keep the last good step.
    @discardableResult
    public func step() throws -> CastStep {
        let start = Date()
        let next = completedSteps + 1, o = options.training
        cast.zeroGradients()
        var loss = 0.0, kl = 0.0, mse = 0.0, tokens = 0, positions = 0
        for micro in 0..<o.accumulation {
            let windows = corpus.batch(step: completedSteps * o.accumulation + micro, size: o.batchSize, seed: o.seed)
            let r = try microBatch(windows, scale: 1 / Float(o.accumulation), step: next)
            loss += Double(r.loss) / Double(o.accumulation)
            kl += Double(r.kl) / Double(o.accumulation)
            mse += Double(r.mse) / Double(o.accumulation)
            tokens += windows.reduce(0) { $0 + $1.student.count }
            positions += r.positions
        }
        // Parameters move into flat lists and back, so updating them never copies.
        var parameters: [Tensor] = [], gradients: [Tensor] = []
        for layer in cast.layers {
            parameters += [layer.cast.pIn, layer.cast.pOut]
            gradients += [layer.cast.dPIn!, layer.cast.dPOut!]
            layer.cast.dPIn = Tensor(); layer.cast.dPOut = Tensor()
        }
        parameters.append(cast.head)
        gradients.append(cast.dHead!)
        defer {
            for (k, layer) in cast.layers.enumerated() {
                layer.cast.pIn = parameters[2 * k]; layer.cast.pOut = parameters[2 * k + 1]
                layer.cast.dPIn = gradients[2 * k]; layer.cast.dPOut = gradients[2 * k + 1]
            }
            cast.head = parameters[parameters.count - 1]
            cast.dHead = gradients[gradients.count - 1]
        }
        let norm = try GradientClipping.clip(&gradients, maxNorm: o.maxGradNorm)
        guard norm.isFinite else { throw TrainingError.nonFinite(step: next, what: "gradient norm \(norm)") }
        optimizer.config.learningRate = o.learningRate(atStep: next)
        try optimizer.step(parameters: &parameters, gradients: gradients)
        completedSteps = next
        return CastStep(step: next, loss: loss, kl: kl, mse: mse, gradNorm: Double(norm),
                        learningRate: Double(optimizer.config.learningRate), tokens: tokens, positions: positions,
                        seconds: Date().timeIntervalSince(start))
    }

    /// Steps until `options.training.steps` or until `shouldStop` (checked between steps)
    /// says so. Returns whether the run finished.
    @discardableResult
    public func run(shouldStop: () -> Bool = { false }, onStep: (CastStep) throws -> Void = { _ in }) throws -> Bool {
        while !isFinished {
            if shouldStop() { return false }
            try onStep(try step())
        }
        return true
    }

    /// Forward both models over `windows`, the loss at aligned positions, and the student's
    /// backward (gradients scaled by `scale`, accumulated into the P's and H).
    private func microBatch(_ windows: [PairedWindow], scale: Float, step: Int)
        throws -> (loss: Float, kl: Float, mse: Float, positions: Int) {
        let rows = Self.alignedRows(windows)
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
        if objective == .delta {
            try student.forward(windows.map(\.student), options: ForwardOptions(logitRows: rows.student), pass: &targetPass)
            targetLogits = targetPass.logits
        }
        try student.forward(windows.map(\.student),
                            options: ForwardOptions(adapters: cast.adapters, training: true, logitRows: rows.student),
                            pass: &studentPass)
        var lossOptions = options.loss
        lossOptions.alpha *= scale
        lossOptions.beta *= scale
        let inputs = DistillationLoss.Inputs(
            studentLogits: studentPass.logits, teacherLogits: teacherPass.logits,
            sourceLogits: sourceLogits, targetLogits: targetLogits, shared: shared,
            studentHidden: Self.rows(studentPass.hidden, rows.student),
            teacherHidden: Self.rows(teacherPass.hidden, rows.teacher), head: cast.head)
        let result = try lossOptions.evaluate(inputs, gradients: true)
        guard result.loss.isFinite else { throw TrainingError.nonFinite(step: step, what: "loss \(result.loss / scale)") }
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
