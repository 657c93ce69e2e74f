import ArgumentParser
import CastAdapters
import CastModels
import Foundation

/// The CAST hyper-parameters, shared by `cast transfer` and `cast experiment`.
struct CastFlags: ParsableArguments {
    @Option(help: "Optimizer steps.") var steps = 100
    @Option(help: "Variant: paper (the paper's loss, standard init), least-squares (paper's loss, P's and H by least squares), delta (the adapter's own effect), excess (KL weighted by the LoRA's effect).")
    var variant = "paper"
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(help: "Corpus windows per step.") var batchSize = 4
    @Option(help: "Teacher tokens per window.") var window = 128
    @Option(help: "Weight of the KL term (α).") var alpha: Float = 1
    @Option(help: "Weight of the hidden-state MSE term (β).") var beta: Float = 0.1
    @Option(help: "Distillation temperature T.") var temperature: Float = 2
    @Option(help: "Layer map: depth (relative depth), index, or target:source pairs like 0:0,1:2.") var layerMap = "depth"
    @Option(help: "Seed of the initial P's and H and of the window order.") var seed: UInt64 = 0

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
        abstract: "Carry a LoRA from its source model to a target model by CAST, trained on general text (the wiki corpus).",
        discussion: """
            OUT gets cast_adapter.safetensors (the CAST layers, head and frozen source factors) and \
            checkpoint.safetensors (the P's, H, optimizer state and step), rewritten atomically every \
            --checkpoint-every steps and at the end. Ctrl-C stops after the current step and saves it; --resume \
            continues exactly where the run stopped (same flags; --steps may grow). `cast export` turns the \
            result into a PEFT LoRA for the target.
            """)

    @Option(help: "The model the LoRA was trained on.") var source: String
    @Option(help: "The source LoRA: a PEFT folder or GGUF-LoRA file.") var adapter: String
    @Option(help: "The model to carry it to.") var target: String
    @Option(help: "Output folder.") var out: String
    @OptionGroup var flags: CastFlags
    @Option(help: "Write the checkpoint every N steps (0: only at the end).") var checkpointEvery = 25
    @Option(help: "Held-out windows to measure KL to the teacher on at the end (0: skip).") var heldOut = 16
    @Flag(help: "Continue from OUT/checkpoint.safetensors.") var resume = false
    @Flag(help: "Print each step's metrics as a JSON line on stdout (no progress bar).") var json = false

    func run() throws {
        let options = try flags.options()
        let sourceModel = try loadModel(source), targetModel = try loadModel(target)
        let lora = try LoRAAdapter.load(adapter, for: sourceModel.config)
        let corpus = try CastSetup.corpus(sourceModel, targetModel, options)
        let folder = URL(fileURLWithPath: out)
        let checkpoint = folder.appendingPathComponent("checkpoint.safetensors")
        let trainer = try CastSetup.trainer(lora: lora, source: sourceModel, target: targetModel, corpus: corpus,
                                            options: options, restoring: resume ? checkpoint : nil, log: !json)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let finished = try CastSetup.train(trainer, checkpoint: checkpoint, adapterFile: folder.appendingPathComponent(CastAdapterFile.fileName),
                                           every: checkpointEvery, json: json)
        if finished && heldOut > 0 {
            let floor = try HeldOutKL.measure(teacher: sourceModel, teacherAdapters: lora.adapters, student: targetModel,
                                              studentAdapters: .none, corpus: corpus, windows: heldOut)
            let cast = try HeldOutKL.measure(teacher: sourceModel, teacherAdapters: lora.adapters, student: targetModel,
                                             studentAdapters: trainer.cast.adapters, corpus: corpus, windows: heldOut)
            if let floor, let cast {
                writeStandardError(String(format: "held-out KL to the teacher (%d windows): bare target %.4f, CAST %.4f\n",
                                          heldOut, floor, cast))
            }
        }
    }
}

/// What `transfer` and `experiment` share: corpus, trainer with its initialisation, and
/// the training loop with progress, checkpoints and Ctrl-C.
enum CastSetup {
    static func corpus(_ source: Transformer, _ target: Transformer, _ options: CastOptions) throws -> PairedCorpus {
        guard let s = source.tokenizer, let t = target.tokenizer else {
            throw AdapterError("CAST needs both models' tokenizers (GGUF files carry them)")
        }
        return try PairedCorpus(try TextCorpus.wiki(), teacher: s, student: t, length: options.windowLength)
    }

    static func trainer(lora: LoRAAdapter, source: Transformer, target: Transformer, corpus: PairedCorpus,
                        options: CastOptions, restoring checkpoint: URL?, log: Bool) throws -> CastTrainer {
        let cast = try CastAdapter(lora: lora, source: source, target: target, layerMap: options.layerMap, seed: options.initSeed)
        let trainer = try CastTrainer(teacher: source, lora: lora, student: target, cast: cast, corpus: corpus, options: options)
        if let checkpoint {
            try trainer.restoreCheckpoint(from: checkpoint)
            if log { writeStandardError("resuming at step \(trainer.completedSteps) of \(options.training.steps)\n") }
        } else if options.initialization == .leastSquares {
            let start = Date()
            try cast.initializeByLeastSquares(source: source, target: target, corpus: corpus,
                                              windows: options.initWindows, seed: options.initSeed)
            if log { writeStandardError(String(format: "least-squares init over %d windows: %.1f s\n",
                                               options.initWindows, Date().timeIntervalSince(start))) }
        }
        if log {
            writeStandardError("CAST \(source.name) → \(target.name): \(cast.layers.count) layers, "
                               + "\(cast.parameterCount) parameters; corpus \(corpus.windowCount(.train)) windows of \(corpus.length) tokens"
                               + (corpus.sameVocabulary ? "" : ", \(trainer.shared!.count) shared tokens") + "\n")
        }
        return trainer
    }

    /// Trains to the end or to Ctrl-C; saves the checkpoint and the adapter every `every`
    /// steps and at the end. Returns whether the run finished.
    static func train(_ trainer: CastTrainer, checkpoint: URL, adapterFile: URL, every: Int, json: Bool) throws -> Bool {
        let steps = trainer.options.training.steps
        func save() throws {
            try trainer.saveCheckpoint(to: checkpoint)
            try CastAdapterFile.save(trainer.cast, to: adapterFile)
        }
        let (finished, summary) = try TrainingLoop.drive(
            label: "cast", total: steps, first: trainer.completedSteps, json: json, saveEvery: every,
            save: save) { shouldStop, onStep in try trainer.run(shouldStop: shouldStop, onStep: onStep) }
        writeStandardError("\(finished ? "finished" : "stopped") at step \(trainer.completedSteps) of \(steps) (\(summary)); "
                           + "wrote \(adapterFile.deletingLastPathComponent().path)\n")
        return finished
    }
}

/// `cast export --adapter DIR --target T --out DIR`: a CAST adapter as a PEFT LoRA.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a CAST adapter as an ordinary LoRA for its target (closed form, rank r): a PEFT folder and/or GGUF-LoRA file.")

    @Option(help: "A CAST adapter: the folder `cast transfer` wrote, or its cast_adapter.safetensors.") var adapter: String
    @Option(help: "The target model it was trained for.") var target: String
    @Option(help: "PEFT output folder.") var out: String?
    @Option(help: "GGUF-LoRA output file.") var gguf: String?

    func run() throws {
        guard out != nil || gguf != nil else { throw ValidationError("give --out (a PEFT folder) and/or --gguf (a file)") }
        let targetModel = try loadModel(target)
        guard let url = CastAdapterFile.locate(adapter) else {
            throw ValidationError("\(adapter): not a CAST adapter (a folder holding \(CastAdapterFile.fileName), or that file)")
        }
        let cast = try CastAdapterFile.load(url, target: targetModel)
        let lora = try cast.exported()
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
