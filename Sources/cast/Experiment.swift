import ArgumentParser
import CastAdapters
import CastModels
import Foundation

/// `cast experiment --source S --target T --task K`: how much of a LoRA's behaviour survives
/// the move. Trains the source LoRA on the task, carries it to the target by Cross-LoRA and
/// by CAST (on general text only), optionally retrains a LoRA on the target (the ceiling),
/// and scores every method on the task's test split beside the bare target (the floor).
/// Everything trained or measured is cached by content, so a rerun reads it back and an
/// interrupted run continues where it stopped.
struct Experiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Carry a task LoRA from one model to another and print the table: floor, source, Cross-LoRA, CAST (and the retrained ceiling).",
        discussion: """
            Methods (--methods): floor (the bare target), source (the LoRA on its own model), retrained (a LoRA \
            trained on the target with the task data: the ceiling), cross-lora (data-free SVD projection), cast \
            (CAST layers trained on the wiki corpus, no task data). Retention is a method's score over the \
            retrained LoRA's, or over the source's when retrained is not run. Held-out KL is to the teacher \
            (source + LoRA) on corpus text no run trained on. Results live under --cache (default \
            $CAST_HOME/experiments), keyed by the models, the task's contents, every option, the seed and the \
            version of what training and scoring produce (a rebuilt cast reuses them unless that changed); \
            Ctrl-C stops at a step boundary and a rerun continues. The train column scores each method on the \
            first --train-limit examples of the task's train split: the evidence for choosing CAST's settings, \
            so that the test split never chooses.
            """)

    @Option(help: "The model the LoRA is trained on.") var source: String
    @Option(help: "The model to carry it to.") var target: String
    @Option(help: "A built-in task (arith, dates, reverse) or a JSONL file.") var task: String
    @Option(help: "Comma-separated methods: floor, source, retrained, cross-lora, cast.") var methods = "floor,source,cross-lora,cast"
    @Option(help: "Comma-separated CAST variants, each a row cast-<variant> beside cast: lsq-init (P's and H by least squares), delta (match the adapter's own effect), titok (KL weighted by the LoRA's effect per token), self-text (distil on text the teacher writes), index-map (layer i to layer i), cka-map (the layer map CKA suggests).")
    var variants = ""
    @Option(help: "self-text: documents the teacher writes.") var selfTextDocuments = 256
    @Option(help: "self-text: new tokens per document.") var selfTextTokens = 96
    @OptionGroup var lora: LoRAFlags
    @Option(help: "LoRA training steps (source and retrained).") var loraSteps = 200
    @Option(help: "LoRA peak learning rate on the source.") var loraLr: Float = 2e-3
    @Option(help: "LoRA peak learning rate on the target (retrained).") var retrainLr: Float = 1e-3
    @OptionGroup var flags: CastFlags
    @Option(help: "Score on the first N test examples (default: all).") var limit: Int?
    @Option(help: "Also score on the first N train examples (the evidence for choosing settings; 0: skip).")
    var trainLimit = 64
    @Option(help: "Held-out corpus windows for the KL column (0: skip).") var heldOut = 16
    @Option(help: "Cache folder (default $CAST_HOME/experiments).") var cache: String?
    @Flag(help: "Print JSON: {\"rows\": [{\"method\", \"score\", \"retention\", \"kl\", \"train_score\", \"seconds\"}], \"source\", \"target\", \"task\", \"seed\", \"lora_effect\": {\"corpus_kl\", \"task_kl\"}}.")
    var json = false

    static let knownMethods = ["floor", "source", "retrained", "cross-lora", "cast"]

    func run() throws {
        let chosen = methods.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let unknown = chosen.first(where: { !Self.knownMethods.contains($0) }) {
            throw ValidationError("--methods: unknown method '\(unknown)' (known: \(Self.knownMethods.joined(separator: ", ")))")
        }
        let chosenVariants = variants.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if let unknown = chosenVariants.first(where: { !CastVariant.names.contains($0) }) {
            throw ValidationError("--variants: unknown variant '\(unknown)' (known: \(CastVariant.names.joined(separator: ", ")))")
        }
        let run = try ExperimentRun(self, cache: ArtifactCache(root: cache.map { URL(fileURLWithPath: $0) }
                                                                 ?? CastHome.root.appendingPathComponent("experiments")))
        Interrupt.install()
        defer { Interrupt.uninstall() }
        var rows: [ExperimentRow] = []
        for method in Self.knownMethods where chosen.contains(method) {
            guard let row = try run.row(method) else {
                writeStandardError("stopped (Ctrl-C); rerun the same command to continue where it stopped\n")
                throw ExitCode(130)
            }
            rows.append(row)
            writeStandardError("  \(row.line)\n")
        }
        for variant in chosenVariants {
            guard let row = try run.variantRow(variant) else {
                writeStandardError("stopped (Ctrl-C); rerun the same command to continue where it stopped\n")
                throw ExitCode(130)
            }
            rows.append(row)
            writeStandardError("  \(row.line)\n")
        }
        guard let effect = try run.loraEffect() else {
            writeStandardError("stopped (Ctrl-C); rerun the same command to continue where it stopped\n")
            throw ExitCode(130)
        }
        writeStandardError("  \(effect.line)\n")
        let reference = rows.first { $0.method == "retrained" } ?? rows.first { $0.method == "source" }
        for k in rows.indices { rows[k].retention = reference.map { $0.score > 0 ? rows[k].score / $0.score : nil } ?? nil }
        if json {
            struct Output: Encodable {
                let rows: [ExperimentRow]; let source, target, task: String; let seed: UInt64; let lora_effect: LoRAEffect
            }
            print(try CastSetup.jsonLine(Output(rows: rows, source: source, target: target, task: run.suite.name, seed: flags.seed,
                                                lora_effect: effect)),
                  terminator: "")
        } else {
            print(ExperimentRow.table(rows, title: "\(source) → \(target), task \(run.suite.name) "
                                      + "(\(run.testCount) test prompts), seed \(flags.seed)", reference: reference?.method))
            print(effect.line)
        }
    }
}

/// How much the source LoRA changes its own model's next-token predictions: the mean
/// `KL(p_source+LoRA ‖ p_source)` per token on held-out corpus text (what CAST distils on) and
/// on the task's train examples (prompt and answer). When the first is small beside the
/// second, general text shows CAST little of what the adapter does on the task.
struct LoRAEffect: Codable {
    let corpus_kl: Double
    let task_kl: Double

    var line: String {
        String(format: "LoRA's effect on the source, KL(source+LoRA ‖ source) per token: %.4f on corpus text, %.4f on the task's text",
               corpus_kl, task_kl)
    }
}

/// One line of the experiment's table.
struct ExperimentRow: Codable {
    var method: String
    var score: Double
    var retention: Double?
    var kl: Double?
    /// Score on the first examples of the train split (nil: not measured).
    var trainScore: Double? = nil
    var seconds: Double
    /// Read back from the cache rather than computed in this run.
    var cached = false

    enum CodingKeys: String, CodingKey { case method, score, retention, kl, trainScore = "train_score", seconds }

    /// Every key present (null where a value does not apply).
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encode(score, forKey: .score)
        try c.encode(retention, forKey: .retention)
        try c.encode(kl, forKey: .kl)
        try c.encode(trainScore, forKey: .trainScore)
        try c.encode(seconds, forKey: .seconds)
    }

    var line: String {
        String(format: "%@: score %.3f, held-out KL %@, train %@, %.0f s%@", method, score,
               kl.map { String(format: "%.4f", $0) } ?? "—", trainScore.map { String(format: "%.3f", $0) } ?? "—",
               seconds, cached ? " (cached)" : "")
    }

    static func table(_ rows: [ExperimentRow], title: String, reference: String?) -> String {
        let width = max(11, rows.map(\.method.count).max() ?? 0)
        var lines = [title, "", "method".padding(toLength: width, withPad: " ", startingAt: 0)
                     + "  score   retention   held-out KL   train   seconds"]
        for r in rows {
            let retention = r.retention.map { String(format: "%8.1f %%", 100 * $0) } ?? "       —  "
            let kl = r.kl.map { String(format: "%11.4f", $0) } ?? "          —"
            let train = r.trainScore.map { String(format: "%5.3f", $0) } ?? "    —"
            lines.append(String(format: "%@  %6.3f  %@  %@   %@  %8.0f%@", r.method.padding(toLength: width, withPad: " ", startingAt: 0),
                                r.score, retention, kl, train, r.seconds, r.cached ? "  (cached)" : ""))
        }
        lines.append("")
        lines.append("retention = score / \(reference ?? "—")'s score; held-out KL to the teacher (source + LoRA), temperature 1;")
        lines.append("train = score on the first train-split examples (what chooses settings; the test split never does)")
        return lines.joined(separator: "\n")
    }
}

/// The experiment's steps, each cached: models load only when something must be computed.
final class ExperimentRun {
    let command: Experiment
    let cache: ArtifactCache
    let suite: TaskSuite
    let taskDigest: String
    let castOptions: CastOptions
    private var models: [String: Transformer] = [:]
    private var corpus: PairedCorpus?

    init(_ command: Experiment, cache: ArtifactCache) throws {
        self.command = command
        self.cache = cache
        suite = try TaskSuite.load(command.task)
        taskDigest = ArtifactCache.digest(try suite.jsonl())
        castOptions = try command.flags.options()
        guard !suite.test.isEmpty else { throw ValidationError("task \(suite.name): the test split is empty") }
    }

    var testCount: Int { min(command.limit ?? suite.test.count, suite.test.count) }

    func model(_ name: String) throws -> Transformer {
        if let m = models[name] { return m }
        let m = try loadModel(name)
        models[name] = m
        return m
    }

    /// What names a model in cache keys: a registry model by its file's SHA-256, a file by
    /// path, size and modification time.
    func identity(_ name: String) throws -> String {
        // How the weights are held changes the rounding of every product: part of the name.
        let weights = QuantizedWeights.preferred.rawValue
        if let entry = try? ModelRegistry.entry(named: name) { return "\(name)@\(entry.file.sha256)@\(weights)" }
        let attributes = try FileManager.default.attributesOfItem(atPath: name)
        return "\(URL(fileURLWithPath: name).standardizedFileURL.path)@\(attributes[.size] ?? 0)@\(attributes[.modificationDate] ?? "")@\(weights)"
    }

    // MARK: trained artifacts

    /// The task LoRA trained on `modelName` (the source, or the target for the ceiling).
    func taskLoRA(on modelName: String, lr: Float) throws -> (folder: URL, key: String, seconds: Double)? {
        var options = TrainingOptions()
        options.steps = command.loraSteps
        options.learningRate = lr
        options.minLearningRate = lr / 10
        options.seed = command.flags.seed
        let config = try command.lora.config(baseModel: nil)
        let entry = try cache.entry("lora", [
            "model": try identity(modelName), "task": taskDigest, "options": try ArtifactCache.canonical(options),
            "lora": "rank \(config.rank) alpha \(config.alpha) modules \(config.targetModules) layers \(config.layers ?? []) rslora \(config.useRSLoRA)",
            "code": ArtifactCache.codeVersion,
        ])
        let key = entry.folder.lastPathComponent
        if let seconds = cache.result(entry, as: Double.self) { return (entry.folder, key, seconds) }
        let started = Date()
        let model = try model(modelName)
        func fresh() throws -> (LoRAAdapter, LoRATrainer) {
            let adapter = try LoRAAdapter(for: model.config, config: try command.lora.config(baseModel: model.name), seed: options.seed)
            return (adapter, try LoRATrainer(model: model, lora: adapter, task: suite, options: options))
        }
        let checkpoint = entry.folder.appendingPathComponent("checkpoint.safetensors")
        var (adapter, trainer) = try fresh()
        if try canResume(entry, checkpoint) {
            do { try trainer.restoreCheckpoint(from: checkpoint) } catch {
                try startAgain(entry, error)
                (adapter, trainer) = try fresh()
            }
        }
        let (finished, _) = try TrainingLoop.drive(
            label: "LoRA on \(model.name)", total: options.steps, first: trainer.completedSteps, json: false, saveEvery: 50,
            save: {
                try trainer.saveCheckpoint(to: checkpoint)
                try PEFTAdapterFolder.save(adapter, for: model.config, to: entry.folder)
            }) { shouldStop, onStep in try trainer.run(shouldStop: shouldStop, onStep: onStep) }
        guard finished else { return nil }
        let seconds = Date().timeIntervalSince(started)
        try cache.store(seconds, in: entry)
        return (entry.folder, key, seconds)
    }

    /// Whether `entry` holds a partial run to continue (else it is emptied for a fresh one).
    private func canResume(_ entry: ArtifactCache.Entry, _ checkpoint: URL) throws -> Bool {
        guard FileManager.default.fileExists(atPath: checkpoint.path) else {
            try cache.reset(entry)
            return false
        }
        writeStandardError("continuing \(entry.folder.lastPathComponent) from its checkpoint\n")
        return true
    }

    private func startAgain(_ entry: ArtifactCache.Entry, _ error: Error) throws {
        writeStandardError("\(entry.folder.path): \(error); starting it again\n")
        try cache.reset(entry)
    }

    func sourceLoRA() throws -> (folder: URL, key: String, seconds: Double)? {
        try taskLoRA(on: command.source, lr: command.loraLr)
    }

    /// Cross-LoRA of the source LoRA onto the target (a PEFT folder).
    func crossLoRA(_ source: (folder: URL, key: String, seconds: Double)) throws -> (folder: URL, key: String, seconds: Double) {
        let entry = try cache.entry("cross-lora", ["lora": source.key, "target": try identity(command.target),
                                                    "layer map": castOptions.layerMap.description, "code": ArtifactCache.codeVersion])
        if let seconds = cache.result(entry, as: Double.self) { return (entry.folder, entry.folder.lastPathComponent, seconds) }
        let started = Date()
        let s = try model(command.source), t = try model(command.target)
        let carried = try CrossLoRA.transfer(try LoRAAdapter.load(source.folder.path, for: s.config), source: s, target: t,
                                             layerMap: castOptions.layerMap)
        try cache.reset(entry)
        try PEFTAdapterFolder.save(carried, for: t.config, to: entry.folder)
        let seconds = Date().timeIntervalSince(started)
        try cache.store(seconds, in: entry)
        return (entry.folder, entry.folder.lastPathComponent, seconds)
    }

    /// CAST layers for the source LoRA on the target, trained on the corpus (a CAST folder):
    /// the wiki corpus, or `selfText` (the teacher's own documents) when given.
    func castAdapter(_ source: (folder: URL, key: String, seconds: Double), options castOptions: CastOptions? = nil,
                     selfText: (corpus: TextCorpus, key: String, seconds: Double)? = nil) throws -> (folder: URL, key: String, seconds: Double)? {
        let castOptions = castOptions ?? self.castOptions
        var parts = ["lora": source.key, "target": try identity(command.target),
                     "options": try ArtifactCache.canonical(castOptions), "code": ArtifactCache.codeVersion]
        if let selfText { parts["corpus"] = selfText.key }
        let entry = try cache.entry("cast", parts)
        if let seconds = cache.result(entry, as: Double.self) { return (entry.folder, entry.folder.lastPathComponent, seconds) }
        let started = Date()
        let s = try model(command.source), t = try model(command.target)
        let lora = try LoRAAdapter.load(source.folder.path, for: s.config)
        let identity = try SourceAdapterIdentity(of: source.folder.path)
        let checkpoint = entry.folder.appendingPathComponent("checkpoint.safetensors")
        func makeTrainer(restoring: Bool) throws -> CastTrainer {
            let corpus = try selfText.map { try PairedCorpus($0.corpus, teacher: s, student: t, length: castOptions.windowLength) }
                ?? pairedCorpus()
            return try CastSetup.trainer(lora: lora, source: s, target: t, corpus: corpus, options: castOptions,
                                  recomputedLayers: try command.flags.recomputedLayers(),
                                  restoring: restoring ? checkpoint : nil, log: true)
        }
        let trainer: CastTrainer
        if try canResume(entry, checkpoint) {
            do { trainer = try makeTrainer(restoring: true) } catch {
                try startAgain(entry, error)
                trainer = try makeTrainer(restoring: false)
            }
        } else {
            trainer = try makeTrainer(restoring: false)
        }
        let finished = try CastSetup.train(trainer, every: 25, json: false) {
            try trainer.saveCheckpoint(to: checkpoint)
            try CastAdapterFolder.save(trainer.cast, sourceAdapter: identity,
                                       training: .init(options: castOptions, step: trainer.completedSteps), to: entry.folder)
        }
        guard finished else { return nil }
        let seconds = Date().timeIntervalSince(started) + (selfText?.seconds ?? 0)
        try cache.store(seconds, in: entry)
        return (entry.folder, entry.folder.lastPathComponent, seconds)
    }

    /// The teacher's own documents for the self-text variant, cached (a JSON file of them and
    /// what share looks like the task).
    func selfText(_ source: (folder: URL, key: String, seconds: Double)) throws -> (corpus: TextCorpus, key: String, seconds: Double)? {
        struct Written: Codable { let documents: [String]; let generatedTokens: Int; let seconds: Double; let taskShare: Double? }
        var options = SelfText.Options()
        options.documents = command.selfTextDocuments
        options.tokens = command.selfTextTokens
        options.seed = command.flags.seed
        let entry = try cache.entry("self-text", ["lora": source.key, "options": try ArtifactCache.canonical(options),
                                                   "code": ArtifactCache.codeVersion])
        let wiki = try TextCorpus.wiki()
        if let w = cache.result(entry, as: Written.self) {
            return (try SelfText(documents: w.documents, generatedTokens: w.generatedTokens, seconds: w.seconds).corpus(heldOutFrom: wiki),
                    entry.folder.lastPathComponent, w.seconds)
        }
        let s = try model(command.source)
        let adapters = try LoRAAdapter.load(source.folder.path, for: s.config).adapters
        let bar = ProgressBar(label: "self-text from \(s.name) + LoRA", unit: "documents", enabled: true)
        guard let written = try SelfText.write(teacher: s, adapters: adapters, prefixesFrom: wiki, options: options,
                                               shouldStop: { Interrupt.requested },
                                               progress: { bar.update(done: $0, total: $1) }) else {
            bar.finish()
            return nil
        }
        bar.finish()
        let share = written.taskShare(suite)
        writeStandardError(String(format: "  self-text: %d documents, %d new tokens in %.0f s (%.0f tokens/s); %@ look like the task\n",
                                  written.documents.count, written.generatedTokens, written.seconds,
                                  Double(written.generatedTokens) / max(written.seconds, 1e-9),
                                  share.map { String(format: "%.1f %%", 100 * $0) } ?? "(no shared prompt ending to look for)"))
        try cache.reset(entry)
        try cache.store(Written(documents: written.documents, generatedTokens: written.generatedTokens, seconds: written.seconds,
                                taskShare: share), in: entry)
        return (try written.corpus(heldOutFrom: wiki), entry.folder.lastPathComponent, written.seconds)
    }

    /// The row `cast-<variant>`: CAST with one thing changed from the `cast` row's options.
    func variantRow(_ name: String) throws -> ExperimentRow? {
        guard let source = try sourceLoRA() else { return nil }
        let variant = try CastVariant(name)
        let trained: (folder: URL, key: String, seconds: Double)?
        if variant == .selfText {
            guard let text = try selfText(source) else { return nil }
            trained = try castAdapter(source, selfText: text)
        } else if variant == .ckaMap {
            var options = castOptions
            options.layerMap = try ckaLayerMap()
            trained = try castAdapter(source, options: options)
        } else {
            trained = try castAdapter(source, options: variant.applied(to: castOptions))
        }
        guard let trained else { return nil }
        return try measured("cast-\(name)", on: command.target, adapter: trained, teacher: source)
    }

    /// The source LoRA's effect on its own model, on corpus text and on the task's, cached.
    func loraEffect() throws -> LoRAEffect? {
        guard let source = try sourceLoRA() else { return nil }
        let examples = 256
        let entry = try cache.entry("lora-effect", [
            "lora": source.key, "windows": "\(command.heldOut) × \(castOptions.windowLength)", "examples": "\(examples)",
            "code": ArtifactCache.codeVersion,
        ])
        if let stored = cache.result(entry, as: LoRAEffect.self) { return stored }
        let s = try model(command.source)
        let adapters = try LoRAAdapter.load(source.folder.path, for: s.config).adapters
        func effect(_ corpus: TextCorpus) throws -> Double? {
            let paired = try PairedCorpus(corpus, teacher: s, student: s, length: castOptions.windowLength)
            return try HeldOutKL.measure(teacher: s, teacherAdapters: adapters, student: s, studentAdapters: .none, corpus: paired,
                                         windows: max(command.heldOut, 1), shouldStop: { Interrupt.requested })
        }
        let wiki = try TextCorpus.wiki()
        // Train examples as the LoRA saw them: the prompt, a space, the answer.
        let texts = suite.train.prefix(examples).map { $0.prompt + " " + $0.answer }
        guard let corpusKL = try effect(try TextCorpus(name: wiki.name, train: Array(wiki.train.prefix(8)), heldOut: wiki.heldOut)),
              let taskKL = try effect(try TextCorpus(name: "\(suite.name) train", train: texts, heldOut: texts)) else { return nil }
        let measured = LoRAEffect(corpus_kl: corpusKL, task_kl: taskKL)
        try cache.store(measured, in: entry)
        return measured
    }

    /// The layer map CKA suggests for the two models over the first corpus documents, cached.
    func ckaLayerMap() throws -> LayerMapping {
        struct Stored: Codable { let map: String; let seconds: Double }
        let documents = 32, tokens = 1024
        let entry = try cache.entry("layer-map", [
            "source": try identity(command.source), "target": try identity(command.target), "point": CKALayerMap.point,
            "documents": "\(documents)", "tokens": "\(tokens)", "code": ArtifactCache.codeVersion,
        ])
        if let stored = cache.result(entry, as: Stored.self) { return try LayerMapping(parsing: stored.map) }
        let started = Date()
        writeStandardError("  cka-map: CKA between \(command.target)'s and \(command.source)'s attention inputs over \(tokens) corpus tokens\n")
        let map = try CKALayerMap.suggest(source: try model(command.source), target: try model(command.target),
                                          texts: Array(try TextCorpus.wiki().train.prefix(documents)), tokens: tokens)
        writeStandardError("  cka-map: target:source \(map)\n")
        try cache.store(Stored(map: map.description, seconds: Date().timeIntervalSince(started)), in: entry)
        return map
    }

    func pairedCorpus() throws -> PairedCorpus {
        if let corpus { return corpus }
        let c = try CastSetup.corpus(try model(command.source), try model(command.target), castOptions)
        corpus = c
        return c
    }

    // MARK: rows

    /// Score and held-out KL of `modelName` with the adapter in `adapter` (nil: bare), cached.
    func measured(_ method: String, on modelName: String, adapter: (folder: URL, key: String, seconds: Double)?,
                  teacher: (folder: URL, key: String, seconds: Double)) throws -> ExperimentRow? {
        struct Measurement: Codable { let score: Double; let kl: Double?; let trainScore: Double?; let seconds: Double }
        // The adapter by its weights' SHA-256 too: an artifact made again gets its scores anew.
        let weights = adapter.map { a in
            a.folder.appendingPathComponent(CastAdapterFolder.locate(a.folder.path) != nil ? CastAdapterFolder.weightsName
                                                                                              : PEFTAdapterFolder.weightsName)
        }
        let entry = try cache.entry("score", [
            "model": try identity(modelName), "adapter": try adapter.map { "\($0.key)@\(try FileDigest.sha256(of: weights!))" } ?? "none", "task": taskDigest, "limit": "\(testCount)",
            "teacher": teacher.key, "held out": "\(command.heldOut) × \(castOptions.windowLength)", "train limit": "\(command.trainLimit)",
            "code": ArtifactCache.codeVersion,
        ])
        if let m = cache.result(entry, as: Measurement.self) {
            return ExperimentRow(method: method, score: m.score, kl: m.kl, trainScore: m.trainScore,
                                 seconds: (adapter?.seconds ?? 0) + m.seconds, cached: true)
        }
        let started = Date()
        let model = try model(modelName)
        let adapters = try adapter.map { a -> AdapterSet in
            if let cast = CastAdapterFolder.locate(a.folder.path) { return try CastAdapterFolder.load(cast, target: model).adapters }
            return try LoRAAdapter.load(a.folder.path, for: model.config).adapters
        } ?? .none
        func evaluated(_ split: TaskSplit, limit: Int) throws -> TaskScore? {
            let bar = ProgressBar(label: "evaluate \(method)\(split == .train ? " (train split)" : "")", unit: "examples", enabled: true)
            defer { bar.finish() }
            do {
                return try TaskEvaluation.evaluate(model, adapters: adapters, task: suite, split: split, limit: limit,
                                                   shouldStop: { Interrupt.requested }) { done, total in bar.update(done: done, total: total) }
            } catch is TaskInterrupted {
                return nil
            }
        }
        guard let score = try evaluated(.test, limit: testCount) else { return nil }
        var trainScore: Double? = nil
        if command.trainLimit > 0 {
            guard let s = try evaluated(.train, limit: command.trainLimit) else { return nil }
            trainScore = s.score
        }
        var kl: Double? = nil
        if command.heldOut > 0 && modelName == command.target {
            let s = try self.model(command.source)
            let teacherAdapters = try LoRAAdapter.load(teacher.folder.path, for: s.config).adapters
            guard let measuredKL = try HeldOutKL.measure(teacher: s, teacherAdapters: teacherAdapters, student: model,
                                                         studentAdapters: adapters, corpus: try pairedCorpus(),
                                                         windows: command.heldOut, shouldStop: { Interrupt.requested }) else { return nil }
            kl = measuredKL
        } else if modelName == command.source && adapter != nil {
            kl = 0  // the teacher itself
        }
        let m = Measurement(score: score.score, kl: kl, trainScore: trainScore, seconds: Date().timeIntervalSince(started))
        try cache.store(m, in: entry)
        return ExperimentRow(method: method, score: m.score, kl: m.kl, trainScore: m.trainScore, seconds: (adapter?.seconds ?? 0) + m.seconds)
    }

    /// The row for `method`, or nil when Ctrl-C stopped it.
    func row(_ method: String) throws -> ExperimentRow? {
        guard let source = try sourceLoRA() else { return nil }
        switch method {
        case "floor": return try measured(method, on: command.target, adapter: nil, teacher: source)
        case "source": return try measured(method, on: command.source, adapter: source, teacher: source)
        case "retrained":
            guard let retrained = try taskLoRA(on: command.target, lr: command.retrainLr) else { return nil }
            return try measured(method, on: command.target, adapter: retrained, teacher: source)
        case "cross-lora": return try measured(method, on: command.target, adapter: try crossLoRA(source), teacher: source)
        case "cast":
            guard let cast = try castAdapter(source) else { return nil }
            return try measured(method, on: command.target, adapter: cast, teacher: source)
        default: throw ValidationError("unknown method '\(method)'")
        }
    }
}

/// The CAST variants `cast experiment --variants` puts beside the `cast` row, each changing
/// one thing from it.
enum CastVariant: String, CaseIterable {
    case lsqInit = "lsq-init"
    case delta
    case titok
    case selfText = "self-text"
    case indexMap = "index-map"
    case ckaMap = "cka-map"

    static var names: [String] { allCases.map(\.rawValue) }

    init(_ name: String) throws {
        guard let v = CastVariant(rawValue: name) else {
            throw ValidationError("unknown CAST variant '\(name)' (known: \(Self.names.joined(separator: ", ")))")
        }
        self = v
    }

    /// `options` with this variant's one change (self-text changes the corpus, and cka-map's
    /// map needs the models: `ExperimentRun.variantRow` makes those two).
    func applied(to options: CastOptions) -> CastOptions {
        var o = options
        switch self {
        case .lsqInit: o.initialization = .leastSquares
        case .delta: o.objective = .delta
        case .titok: o.objective = .excess
        case .selfText, .ckaMap: break
        case .indexMap: o.layerMap = .index
        }
        return o
    }
}
