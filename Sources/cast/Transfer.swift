import ArgumentParser
import CastAdapters
import CastExperiment
import CastModels
import Foundation

/// The CAST hyper-parameters, shared by `cast transfer` and `cast experiment`.
struct CastFlags: ParsableArguments {
    @Option(help: "Optimizer steps.") var steps = 100
    @Option(help: "Variant: paper (the paper's loss, standard init), least-squares (paper's loss, P's and H by least squares), delta (the adapter's own effect), excess (KL weighted by the LoRA's effect).")
    var variant = "paper"
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(name: [.customLong("batch-size"), .customLong("batch")], help: "Corpus windows per step.") var batchSize = 4
    @Option(name: [.customLong("window"), .customLong("seq-len")], help: "Teacher tokens per window.") var window = 128
    @Option(help: "Weight of the KL term (α).") var alpha: Float = 1
    @Option(help: "Weight of the hidden-state MSE term (β).") var beta: Float = 1
    @Option(help: "Distillation temperature T.") var temperature: Float = 2
    @Option(help: "Layer map: depth (relative depth), index, or target:source pairs like 0:0,1:2.") var layerMap = "depth"
    @Option(help: "Seed of the initial P's and H and of the window order.") var seed: UInt64 = 0
    @Option(help: "Student layers whose activations are recomputed in backward instead of kept: all, or the lowest N (0: keep all; faster, about twice the memory). Results are the same bits.")
    var recomputeLayers = "all"

    /// `--recompute-layers` as a count (`Int.max` for all).
    func recomputedLayers() throws -> Int {
        if recomputeLayers == "all" { return Int.max }
        guard let n = Int(recomputeLayers), n >= 0 else {
            throw ValidationError("--recompute-layers: expected all or a count ≥ 0, got '\(recomputeLayers)'")
        }
        return n
    }

    func options() throws -> CastOptions {
        var o = CastOptions()
        o.training.steps = steps
        o.training.learningRate = lr
        o.training.minLearningRate = lr / 10
        o.training.batchSize = batchSize
        o.training.seed = seed
        o.windowLength = window
        o.alpha = alpha
        o.beta = beta
        o.temperature = temperature
        o.layerMap = try LayerMapping(parsing: layerMap)
        o.initSeed = seed
        o = try o.variant(variant)
        try o.validate()
        return o
    }
}

/// Loads a registry model (or GGUF path) by name, with the default weight layout.
func loadModel(_ name: String) throws -> Transformer {
    try ModelOptions.parse(["-m", name]).load().model
}

/// `cast transfer --source S --adapter DIR --target T --out DIR`: trains CAST layers.
struct Transfer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Carry a LoRA from its source model to a target model by CAST, distilled on general text (the wiki corpus, or --corpus) or on the teacher's own answers to your unlabelled prompts (--prompts).",
        discussion: """
            OUT becomes a CAST adapter folder: cast_config.json (models, the source adapter's path and \
            SHA-256s, layer map, options, step, held-out KL, the text distilled on) and \
            cast_adapter.safetensors (the P's and H), plus checkpoint.safetensors (P's, H, optimizer state), \
            all rewritten atomically every --checkpoint-every steps and at the end; with --prompts or \
            --self-text also teacher_text.json, what the teacher wrote (reused by --resume). The folder reads the source adapter's A and B from \
            where it was, so keep it there. Ctrl-C stops after the current step and saves it; --resume \
            continues exactly where the run stopped (same flags; --steps may grow). --steps 0 writes the \
            initial adapter. `cast export` turns the result into a PEFT LoRA for the target.
            """)

    @Option(help: "The model the LoRA was trained on.") var source: String
    @Option(help: "The source LoRA: a PEFT folder or GGUF-LoRA file.") var adapter: String
    @Option(help: "The model to carry it to.") var target: String
    @Option(help: "Output folder.") var out: String
    @OptionGroup var flags: CastFlags
    @Option(help: "General text to distil on: wiki (Wikipedia summaries) or a JSON file of documents (an array of strings or of objects with a text field).")
    var corpus = "wiki"
    @Option(help: "Distil on the teacher's own answers to these unlabelled prompts instead: a JSONL file of objects with a prompt field (a task file works; its answers and test-split lines are never read) or a text file, one prompt a line.")
    var prompts: String?
    @Flag(help: "Distil on text the teacher writes itself, continuing corpus prefixes and empty documents (no task data at all).")
    var selfText = false
    @Option(help: "--prompts or --self-text: documents the teacher writes (once, into OUT/teacher_text.json).") var textDocuments = 256
    @Option(help: "--prompts or --self-text: new tokens per document.") var textTokens = 96
    @Option(help: "Write the checkpoint every N steps (0: only at the end).") var checkpointEvery = 25
    @Option(help: "Held-out windows to measure KL to the teacher on at the start and end (0: skip).") var heldOut = 16
    @Option(help: "Also write the first step's batch (both models' token ids, aligned positions, shared vocabulary) as JSON, to check the step in another framework.")
    var saveBatch: String?
    @Flag(help: "Continue from OUT/checkpoint.safetensors.") var resume = false
    @Flag(help: "Print each step's metrics as a JSON line on stdout (no progress bar), and a last line with the held-out KL before and after.")
    var json = false

    func validate() throws {
        if prompts != nil, selfText { throw ValidationError("--prompts and --self-text are two sources of teacher text: give one") }
        for (flag, value) in [("--text-documents", textDocuments), ("--text-tokens", textTokens)] where value < 2 {
            throw ValidationError("\(flag): expected at least 2, got \(value)")
        }
    }

    /// What the teacher is to write, when it writes the text (--prompts, --self-text).
    func teacherTextRequest(seed: UInt64) throws -> TeacherText.Request? {
        guard prompts != nil || selfText else { return nil }
        var request = TeacherText.Request(prompts: try prompts.map { try PromptList.load($0) })
        request.options.documents = textDocuments
        request.options.tokens = textTokens
        request.options.seed = seed
        return request
    }

    func run() throws {
        let started = Date()
        Interrupt.install()
        defer { Interrupt.uninstall() }
        let options = try flags.options()
        let request = try teacherTextRequest(seed: options.initSeed)
        let base = try TextCorpus.named(corpus)
        let sourceModel = try loadModel(source), targetModel = try loadModel(target)
        let identity = try SourceAdapterIdentity(of: adapter)
        let lora = try LoRAAdapter.load(adapter, for: sourceModel.config)
        let folder = URL(fileURLWithPath: out)
        var text = base, corpusDescription = base.name
        if let request {
            let bar = ProgressBar(label: "teacher text from \(sourceModel.name) + LoRA", unit: "documents", enabled: !json)
            guard let (written, reused) = try TeacherText.prepare(
                request, in: folder, teacher: sourceModel, adapters: lora.adapters, adapter: identity, base: base,
                shouldStop: { Interrupt.requested }, progress: { bar.update(done: $0, total: $1) }) else {
                bar.finish()
                writeStandardError("stopped while the teacher wrote its text; nothing kept (run again to start over)\n")
                return
            }
            bar.finish()
            writeStandardError(reused
                ? "teacher text: \(written.documents.count) documents, as written before (\(folder.path)/\(TeacherText.fileName))\n"
                : String(format: "teacher text: %d documents, %d new tokens in %.0f s, kept in %@\n", written.documents.count,
                         written.generatedTokens, written.seconds, folder.appendingPathComponent(TeacherText.fileName).path))
            text = try written.corpus(heldOutFrom: base)
            corpusDescription = TeacherText.describe(request, base: base, source: prompts)
        }
        let corpus = try PairedCorpus(text, teacher: sourceModel, student: targetModel, length: options.windowLength)
        let checkpoint = folder.appendingPathComponent("checkpoint.safetensors")
        var heldOutKL = heldOut > 0 ? CastAdapterFolder.HeldOutRecord(windows: heldOut) : nil
        if resume, let previous = try? CastAdapterFolder.config(folder) {
            guard previous.sourceAdapter.sha256 == identity.sha256 else {
                throw ValidationError("\(out) was trained over the source adapter \(previous.sourceAdapter.path) with other contents "
                                      + "than \(identity.path) has now; start a new --out")
            }
            guard (previous.corpus ?? "wiki") == corpusDescription else {
                throw ValidationError("\(out) was distilled on \(previous.corpus ?? "wiki"); this run would distil on \(corpusDescription). "
                                      + "Give the same text flags to resume, or start a new --out")
            }
            if previous.heldOutKL?.windows == heldOut { heldOutKL?.start = previous.heldOutKL?.start }
        }
        let trainer = try CastSetup.trainer(lora: lora, source: sourceModel, target: targetModel, corpus: corpus,
                                            options: options, recomputedLayers: try flags.recomputedLayers(),
                                            restoring: resume ? checkpoint : nil, log: !json)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if let saveBatch { try CastSetup.saveBatch(trainer, to: URL(fileURLWithPath: saveBatch)) }
        func measure() throws -> Double? {
            try HeldOutKL.measure(teacher: sourceModel, teacherAdapters: lora.adapters, student: targetModel,
                                  studentAdapters: trainer.cast.adapters, corpus: corpus, windows: heldOut,
                                  shouldStop: { Interrupt.requested })
        }
        if heldOutKL != nil, heldOutKL?.start == nil {
            heldOutKL?.start = try measure()
            if !json, let kl = heldOutKL?.start {
                writeStandardError(String(format: "held-out KL to the teacher at the start (%d windows): %.4f\n", heldOut, kl))
            }
        }
        func save() throws {
            try trainer.saveCheckpoint(to: checkpoint)
            try CastAdapterFolder.save(trainer.cast, sourceAdapter: identity, training: CastAdapterFolder.Training(
                options: options, step: trainer.completedSteps, heldOutKL: heldOutKL, corpus: corpusDescription), to: folder)
        }
        let firstStep = trainer.completedSteps
        let finished = try CastSetup.train(trainer, every: checkpointEvery, json: json, save: save)
        if finished, heldOutKL != nil {
            let unchanged = trainer.completedSteps == firstStep && heldOutKL?.end == nil
            let end = unchanged ? heldOutKL?.start : try measure()
            heldOutKL?.end = end
            try save()
        }
        let seconds = Date().timeIntervalSince(started)
        if json {
            let last: [String: Double?] = ["held_out_kl_before": heldOutKL?.start, "held_out_kl_after": heldOutKL?.end, "seconds": seconds]
            writeStandardOutput(try CastSetup.jsonLine(last))
        } else if let start = heldOutKL?.start, let end = heldOutKL?.end {
            writeStandardError(String(format: "held-out KL to the teacher (%d windows): %.4f at the start, %.4f at the end (%.1f s)\n",
                                      heldOut, start, end, seconds))
        }
        writeStandardError("wrote \(folder.path)\n")
    }
}

/// What `transfer` and `experiment` share: corpus, trainer with its initialisation, and
/// the training loop with progress, checkpoints and Ctrl-C.
enum CastSetup {
    static func trainer(lora: LoRAAdapter, source: Transformer, target: Transformer, corpus: PairedCorpus,
                        options: CastOptions, recomputedLayers: Int = Int.max, restoring checkpoint: URL?,
                        log: Bool) throws -> CastTrainer {
        try CastTrainingSetup.trainer(lora: lora, source: source, target: target, corpus: corpus, options: options,
                                      recomputedLayers: recomputedLayers, restoring: checkpoint,
                                      log: log ? { writeStandardError($0) } : nil)
    }

    /// Trains to the end or to Ctrl-C, calling `save` every `every` steps and at the end.
    /// Returns whether the run finished.
    static func train(_ trainer: CastTrainer, every: Int, json: Bool, save: @escaping () throws -> Void) throws -> Bool {
        let steps = trainer.options.training.steps
        let (finished, summary) = try TrainingLoop.drive(
            label: "cast", total: steps, first: trainer.completedSteps, json: json, saveEvery: every,
            save: save) { shouldStop, onStep in try trainer.run(shouldStop: shouldStop, onStep: onStep) }
        writeStandardError("\(finished ? "finished" : "stopped") at step \(trainer.completedSteps) of \(steps) (\(summary))\n")
        return finished
    }

    /// The first micro-batch as JSON: per window the teacher's and student's token ids and the
    /// aligned (teacher, student) positions, and the shared vocabulary's (teacher id, student
    /// id) pairs (null when the models share one vocabulary).
    static func saveBatch(_ trainer: CastTrainer, to url: URL) throws {
        struct Window: Encodable { let teacher: [Int32], student: [Int32], pairs: [[Int]] }
        struct Batch: Encodable {
            let windows: [Window], sharedVocabulary: [[Int32]]?
            enum CodingKeys: String, CodingKey { case windows, sharedVocabulary = "shared_vocabulary" }
            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(windows, forKey: .windows)
                try c.encode(sharedVocabulary, forKey: .sharedVocabulary)  // null when one vocabulary
            }
        }
        let o = trainer.options.training
        let windows = trainer.corpus.batch(step: 0, size: o.batchSize, seed: o.seed).map {
            Window(teacher: $0.teacher, student: $0.student, pairs: $0.pairs.map { [$0.0, $0.1] })
        }
        let shared = trainer.shared.map { s in zip(s.source, s.target).map { [$0, $1] } }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]  // the same batch, the same bytes
        try encoder.encode(Batch(windows: windows, sharedVocabulary: shared)).write(to: url, options: .atomic)
    }

    static func jsonLine<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }
}

/// `cast export --cast DIR --out DIR [--gguf FILE]`: a CAST adapter as an ordinary LoRA.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a CAST adapter as an ordinary LoRA for its target (closed form, rank r): a PEFT folder and/or GGUF-LoRA file.")

    @Option(help: "A CAST adapter folder (what `cast transfer` writes).") var cast: String
    @Option(help: "The target model (default: the one the folder names).") var target: String?
    @Option(help: "Where the source adapter is now, when it moved since training (checked by SHA-256).") var sourceAdapter: String?
    @Option(help: "PEFT output folder.") var out: String?
    @Option(help: "GGUF-LoRA output file.") var gguf: String?

    func run() throws {
        guard out != nil || gguf != nil else { throw ValidationError("give --out (a PEFT folder) and/or --gguf (a file)") }
        guard let folder = CastAdapterFolder.locate(cast) else {
            throw ValidationError("\(cast): not a CAST adapter folder (no \(CastAdapterFolder.configName))")
        }
        let targetModel = try loadModel(target ?? CastAdapterFolder.config(folder).targetModel)
        let lora = try CastAdapterFolder.load(folder, target: targetModel, sourceAdapter: sourceAdapter).exported()
        if let out {
            try PEFTAdapterFolder.save(lora, for: targetModel.config, to: URL(fileURLWithPath: out))
            writeStandardError("wrote PEFT LoRA \(out) (\(lora.modules.count) modules, rank \(lora.config.rank))\n")
        }
        if let gguf {
            try GGUFLoRAFile.save(lora, for: targetModel.config, to: URL(fileURLWithPath: gguf))
            writeStandardError("wrote GGUF-LoRA \(gguf)\n")
        }
    }
}
