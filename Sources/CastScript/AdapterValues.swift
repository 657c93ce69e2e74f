import CastAdapters
import CastModels
import Foundation

/// A task (`task("arith")`): prompts with answers, split into train and test.
public final class TaskValue: ScriptObject {
    public static let typeName = "task"
    public static let summary = "Prompts with answers for training and scoring a LoRA: t.name, t.train, t.test, t.examples."
    public let suite: TaskSuite
    /// What `task` was given: a built-in name or a JSONL path.
    public let source: String

    public init(suite: TaskSuite, source: String) {
        self.suite = suite
        self.source = source
    }

    public static var attributes: [Attribute<TaskValue>] {
        [Attribute("name", "The task's name.") { .string($0.suite.name) },
         Attribute("train", "How many training examples.") { Value($0.suite.train.count) },
         Attribute("test", "How many test examples.") { Value($0.suite.test.count) },
         Attribute("examples", "The first few test examples as a table (prompt, answer).") { .object($0.examples(5)) }]
    }

    func examples(_ n: Int) -> TableValue {
        TableValue(columns: ["prompt", "answer"], rows: suite.test.prefix(n).map { [.string($0.prompt), .string($0.answer)] },
                   caption: "task \(suite.name): \(suite.train.count) train, \(suite.test.count) test examples")
    }

    public func display() -> MIMEBundle { examples(3).display() }

    public var brief: String { "<task \(suite.name): \(suite.train.count) train, \(suite.test.count) test>" }
}

/// General text (`corpus("wiki")`) that `train` distils a CAST adapter on. Its windows for
/// a pair of tokenizers are made once and kept.
public final class CorpusValue: ScriptObject {
    public static let typeName = "corpus"
    public static let summary = "General text for CAST training and held-out KL: c.name, c.documents, c.held_out."
    public let corpus: TextCorpus
    private var paired: [String: PairedCorpus] = [:]

    public init(corpus: TextCorpus) { self.corpus = corpus }

    public static var attributes: [Attribute<CorpusValue>] {
        [Attribute("name", "The corpus's name.") { .string($0.corpus.name) },
         Attribute("documents", "How many training documents.") { Value($0.corpus.train.count) },
         Attribute("held_out", "How many held-out documents (for held_out_kl).") { Value($0.corpus.heldOut.count) }]
    }

    /// The corpus cut into windows of `length` teacher tokens, paired with the student's.
    func paired(teacher: Transformer, student: Transformer, length: Int) throws -> PairedCorpus {
        let key = "\(teacher.name)|\(student.name)|\(length)"
        if let p = paired[key] { return p }
        let p = try PairedCorpus(corpus, teacher: teacher, student: student, length: length)
        paired[key] = p
        return p
    }

    public func display() -> MIMEBundle {
        RecordValue(fields: [("name", .string(corpus.name)), ("documents", Value(corpus.train.count)),
                             ("held_out", Value(corpus.heldOut.count))], caption: "corpus \(corpus.name)").display()
    }

    public var brief: String { "<corpus \(corpus.name): \(corpus.train.count) documents>" }
}

/// Losses of the steps a value was trained for, across runs.
struct TrainingHistory {
    var loss: [Double] = []
    var kl: [Double] = []
    var mse: [Double] = []
}

/// A LoRA for one base model (`lora(m)`, `train_lora(m, t)`, `load_adapter(m, path)`,
/// `cross_lora(…)`). Keeps its training run, so `train` and `step` continue it.
public final class LoRAValue: ScriptObject {
    public static let typeName = "lora"
    public static let summary = "A LoRA adapter for a base model: l.rank, l.modules, l.loss, l.steps; train/step continue it."
    public let adapter: LoRAAdapter
    public let model: ModelValue
    /// Where it came from ("fresh", "trained on arith", "cross-lora from smollm2-135m", a path).
    public let origin: String
    /// The file or folder it was loaded from or last saved to (a CAST folder needs one).
    public var path: String?
    var trainer: LoRATrainer?
    var task: TaskValue?
    var history = TrainingHistory()

    public init(adapter: LoRAAdapter, model: ModelValue, origin: String, path: String? = nil) {
        self.adapter = adapter
        self.model = model
        self.origin = origin
        self.path = path
    }

    var steps: Int { history.loss.count }

    public static var attributes: [Attribute<LoRAValue>] {
        [Attribute("model", "The base model it adapts.") { .object($0.model) },
         Attribute("rank", "The rank r.") { Value($0.adapter.config.rank) },
         Attribute("alpha", "The alpha (scale alpha/r).") { .number($0.adapter.config.alpha) },
         Attribute("modules", "The PEFT module names it targets.") { Value($0.adapter.config.targetModules) },
         Attribute("layers", "The layers it adapts.") { l in Value(Set(l.adapter.modules.flatMap { $0.slots.map(\.slot.layer) }).sorted()) },
         Attribute("parameters", "Number of trainable weights (A and B).") { Value($0.adapter.parameterCount) },
         Attribute("origin", "Where it came from: fresh, trained on a task, loaded, carried by cross_lora.") { .string($0.origin) },
         Attribute("path", "The file or folder it was loaded from or saved to, or none.") { Value($0.path) },
         Attribute("steps", "Optimizer steps trained in this session.") { Value($0.steps) },
         Attribute("loss", "The loss of each step trained in this session.") { .list($0.history.loss.map { .number($0) }) }]
    }

    var layerCount: Int { Set(adapter.modules.flatMap { $0.slots.map(\.slot.layer) }).count }

    var fields: [(String, Value)] {
        var f: [(String, Value)] = [("model", .string(model.transformer.name)), ("origin", .string(origin)),
                                    ("rank", Value(adapter.config.rank)), ("alpha", .number(adapter.config.alpha)),
                                    ("modules", .string(adapter.config.targetModules.joined(separator: ", "))),
                                    ("layers", Value(layerCount)), ("parameters", Value(adapter.parameterCount))]
        if steps > 0 {
            f.append(("steps", Value(steps)))
            f.append(("loss", .string(String(format: "%.4f → %.4f", history.loss.first!, history.loss.last!))))
        }
        if let path { f.append(("path", .string(path))) }
        return f
    }

    public func display() -> MIMEBundle { RecordValue(fields: fields, caption: "lora for \(model.transformer.name)").display() }

    public var brief: String { "<lora r\(adapter.config.rank) for \(model.transformer.name)>" }
}

/// CAST layers carrying a LoRA from its source model to a target (`cast(l, from: s, to: t)`).
/// Keeps its trainer, so `train` and `step` continue where the last call stopped.
public final class CastValue: ScriptObject {
    public static let typeName = "cast"
    public static let summary = "A CAST adapter (a LoRA carried to a target model): c.layers, c.loss, c.kl, c.steps; train/step/export."
    public let cast: CastAdapter
    public let lora: LoRAValue
    public let source: ModelValue
    public let target: ModelValue
    public let variant: String
    public let seed: Int
    var options: CastOptions
    var trainer: CastTrainer?
    var corpus: CorpusValue?
    /// Whether the least-squares initialisation (variant least-squares, delta, excess) ran.
    var initialized: Bool
    var history = TrainingHistory()

    init(cast: CastAdapter, lora: LoRAValue, source: ModelValue, target: ModelValue, variant: String, seed: Int,
         options: CastOptions) {
        self.cast = cast
        self.lora = lora
        self.source = source
        self.target = target
        self.variant = variant
        self.seed = seed
        self.options = options
        initialized = options.initialization == .standard
    }

    var steps: Int { history.loss.count }

    public static var attributes: [Attribute<CastValue>] {
        [Attribute("source", "The model the LoRA was trained on.") { .object($0.source) },
         Attribute("target", "The model it is carried to.") { .object($0.target) },
         Attribute("lora", "The source LoRA.") { .object($0.lora) },
         Attribute("layers", "Number of CAST layers (one per adapted projection of a mapped target layer).") { Value($0.cast.layers.count) },
         Attribute("parameters", "Number of trained weights (the P's and H).") { Value($0.cast.parameterCount) },
         Attribute("layer_map", "How target layers pair with source layers: depth, index or pairs.") { .string($0.cast.layerMap.description) },
         Attribute("variant", "paper, least-squares, delta or excess.") { .string($0.variant) },
         Attribute("steps", "Optimizer steps trained.") { Value($0.steps) },
         Attribute("loss", "The loss of each step.") { .list($0.history.loss.map { .number($0) }) },
         Attribute("kl", "The KL part of each step's loss.") { .list($0.history.kl.map { .number($0) }) },
         Attribute("mse", "The hidden-state MSE part of each step's loss.") { .list($0.history.mse.map { .number($0) }) }]
    }

    public func display() -> MIMEBundle {
        var fields: [(String, Value)] = [("source", .string(source.transformer.name)), ("target", .string(target.transformer.name)),
                                         ("variant", .string(variant)), ("layer_map", .string(cast.layerMap.description)),
                                         ("layers", Value(cast.layers.count)), ("parameters", Value(cast.parameterCount)),
                                         ("steps", Value(steps))]
        if steps > 0 {
            fields.append(("loss", .string(String(format: "%.4f → %.4f", history.loss.first!, history.loss.last!))))
            fields.append(("kl", .string(String(format: "%.4f → %.4f", history.kl.first!, history.kl.last!))))
        }
        return RecordValue(fields: fields, caption: "cast \(source.transformer.name) → \(target.transformer.name)").display()
    }

    public var brief: String { "<cast \(source.transformer.name) → \(target.transformer.name), \(cast.layers.count) layers>" }
}

/// "2.31 · 1.4 steps/s · ETA 12 s": the detail a training step reports beside the bar.
func trainingDetail(loss: Double, kl: Double? = nil, done: Int, total: Int, started: Date, first: Int) -> String {
    let elapsed = Date().timeIntervalSince(started)
    let rate = elapsed > 0 ? Double(done - first) / elapsed : 0
    var text = String(format: "loss %.4f", loss)
    if let kl { text += String(format: " kl %.4f", kl) }
    if rate > 0 {
        text += String(format: " · %.2f steps/s", rate)
        if total > done { text += String(format: " · ETA %.0f s", Double(total - done) / rate) }
    }
    return text
}
