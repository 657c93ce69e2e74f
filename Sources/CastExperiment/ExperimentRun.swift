import CastAdapters
import CastAnalysis
import CastModels
import Foundation

/// The experiment's steps, each cached: models load only when something must be computed.
public final class ExperimentRun {
    public let settings: ExperimentSettings
    let host: ExperimentHost
    let cache: ArtifactCache
    let suite: TaskSuite
    let taskDigest: String
    let castOptions: CastOptions
    private var models: [String: Transformer] = [:]
    private var corpus: PairedCorpus?

    public init(_ settings: ExperimentSettings, cache: ArtifactCache = ArtifactCache(), host: ExperimentHost) throws {
        try settings.validate()
        self.settings = settings
        self.cache = cache
        self.host = host
        suite = try TaskSuite.load(settings.task)
        taskDigest = ArtifactCache.digest(try suite.jsonl())
        castOptions = settings.cast
        guard !suite.test.isEmpty else { throw ExperimentError("task \(suite.name): the test split is empty") }
        // Both models named well before anything trains.
        _ = try identity(settings.source)
        _ = try identity(settings.target)
    }

    var testCount: Int { min(settings.limit ?? suite.test.count, suite.test.count) }

    /// Every method's row, then every variant's, and the LoRA's effect; nil when the host
    /// asked to stop (what finished is cached: the next run continues from there).
    public func run() throws -> ExperimentResult? {
        var rows: [ExperimentRow] = []
        for method in ExperimentSettings.knownMethods where settings.methods.contains(method) {
            guard let row = try row(method) else { return nil }
            rows.append(row)
            host.log("  \(row.line)\n")
        }
        for variant in settings.variants {
            guard let row = try variantRow(variant) else { return nil }
            rows.append(row)
            host.log("  \(row.line)\n")
        }
        guard let effect = try loraEffect() else { return nil }
        host.log("  \(effect.line)\n")
        let reference = rows.first { $0.method == "retrained" } ?? rows.first { $0.method == "source" }
        for k in rows.indices { rows[k].retention = reference.map { $0.score > 0 ? rows[k].score / $0.score : nil } ?? nil }
        return ExperimentResult(rows: rows, source: settings.source, target: settings.target, task: suite.name, seed: settings.seed,
                                loraEffect: effect, testCount: testCount, reference: reference?.method)
    }

    func model(_ name: String) throws -> Transformer {
        if let m = models[name] { return m }
        let m = try Transformer.load(name)
        models[name] = m
        return m
    }

    /// What names a model in cache keys: a registry model by its file's SHA-256, a file by
    /// path, size and modification time.
    func identity(_ name: String) throws -> String {
        // How the weights are held changes the rounding of every product: part of the name.
        let weights = QuantizedWeights.preferred.rawValue
        if let entry = try? ModelRegistry.entry(named: name) { return "\(name)@\(entry.file.sha256)@\(weights)" }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: name) else {
            throw ExperimentError("model '\(name)': not a registry model (\(ModelRegistry.models.map(\.name).joined(separator: ", "))) "
                                  + "and no such file")
        }
        return "\(URL(fileURLWithPath: name).standardizedFileURL.path)@\(attributes[.size] ?? 0)@\(attributes[.modificationDate] ?? "")@\(weights)"
    }

    // MARK: trained artifacts

    /// The task LoRA trained on `modelName` (the source, or the target for the ceiling).
    func taskLoRA(on modelName: String, lr: Float) throws -> (folder: URL, key: String, seconds: Double)? {
        var options = TrainingOptions()
        options.steps = settings.loraSteps
        options.learningRate = lr
        options.minLearningRate = lr / 10
        options.seed = settings.seed
        let config = settings.lora
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
            let adapter = try LoRAAdapter(for: model.config, config: settings.lora.withBaseModel(model.name), seed: options.seed)
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
        let (finished, _) = try TrainingDriver.drive(
            host: host, label: "LoRA on \(model.name)", total: options.steps, first: trainer.completedSteps, saveEvery: 50,
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
        host.log("continuing \(entry.folder.lastPathComponent) from its checkpoint\n")
        return true
    }

    private func startAgain(_ entry: ArtifactCache.Entry, _ error: Error) throws {
        host.log("\(entry.folder.path): \(error); starting it again\n")
        try cache.reset(entry)
    }

    func sourceLoRA() throws -> (folder: URL, key: String, seconds: Double)? {
        try taskLoRA(on: settings.source, lr: settings.loraLr)
    }

    /// Cross-LoRA of the source LoRA onto the target (a PEFT folder).
    func crossLoRA(_ source: (folder: URL, key: String, seconds: Double)) throws -> (folder: URL, key: String, seconds: Double) {
        let entry = try cache.entry("cross-lora", ["lora": source.key, "target": try identity(settings.target),
                                                    "layer map": castOptions.layerMap.description, "code": ArtifactCache.codeVersion])
        if let seconds = cache.result(entry, as: Double.self) { return (entry.folder, entry.folder.lastPathComponent, seconds) }
        let started = Date()
        let s = try model(settings.source), t = try model(settings.target)
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
        var parts = ["lora": source.key, "target": try identity(settings.target),
                     "options": try ArtifactCache.canonical(castOptions), "code": ArtifactCache.codeVersion]
        if let selfText { parts["corpus"] = selfText.key }
        let entry = try cache.entry("cast", parts)
        if let seconds = cache.result(entry, as: Double.self) { return (entry.folder, entry.folder.lastPathComponent, seconds) }
        let started = Date()
        let s = try model(settings.source), t = try model(settings.target)
        let lora = try LoRAAdapter.load(source.folder.path, for: s.config)
        let identity = try SourceAdapterIdentity(of: source.folder.path)
        let checkpoint = entry.folder.appendingPathComponent("checkpoint.safetensors")
        func makeTrainer(restoring: Bool) throws -> CastTrainer {
            let corpus = try selfText.map { try PairedCorpus($0.corpus, teacher: s, student: t, length: castOptions.windowLength) }
                ?? pairedCorpus()
            return try CastTrainingSetup.trainer(lora: lora, source: s, target: t, corpus: corpus, options: castOptions,
                                  recomputedLayers: settings.recomputedLayers,
                                  restoring: restoring ? checkpoint : nil, log: host.log)
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
        let finished = try CastTrainingSetup.train(trainer, host: host, every: 25) {
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
    /// With `fromTaskPrompts` (the task-text diagnostic) the documents start from the task's
    /// train prompts instead of corpus prefixes and empty documents.
    func selfText(_ source: (folder: URL, key: String, seconds: Double),
                  fromTaskPrompts: Bool = false) throws -> (corpus: TextCorpus, key: String, seconds: Double)? {
        struct Written: Codable { let documents: [String]; let generatedTokens: Int; let seconds: Double; let taskShare: Double? }
        var options = SelfText.Options()
        options.documents = settings.selfTextDocuments
        options.tokens = settings.selfTextTokens
        options.seed = settings.seed
        var parts = ["lora": source.key, "options": try ArtifactCache.canonical(options), "code": ArtifactCache.codeVersion]
        if fromTaskPrompts { parts["prompts"] = "train prompts of \(taskDigest)" }
        let entry = try cache.entry(fromTaskPrompts ? "task-text" : "self-text", parts)
        let wiki = try TextCorpus.wiki()
        if let w = cache.result(entry, as: Written.self) {
            return (try SelfText(documents: w.documents, generatedTokens: w.generatedTokens, seconds: w.seconds).corpus(heldOutFrom: wiki),
                    entry.folder.lastPathComponent, w.seconds)
        }
        let s = try model(settings.source)
        let adapters = try LoRAAdapter.load(source.folder.path, for: s.config).adapters
        let name = fromTaskPrompts ? "task-text" : "self-text"
        let bar = host.progress("\(name) from \(s.name) + LoRA", unit: "documents")
        let stop = { self.host.shouldStop }, update = { bar.update(done: $0, total: $1) }
        let written = try SelfText.write(teacher: s, adapters: adapters, prompts: fromTaskPrompts ? suite.train.map(\.prompt) : nil,
                                         corpus: wiki, options: options, shouldStop: stop, progress: update)
        guard let written else {
            bar.finish()
            return nil
        }
        bar.finish()
        let share = written.taskShare(suite)
        host.log(String(format: "  \(name): %d documents, %d new tokens in %.0f s (%.0f tokens/s); %@ look like the task\n",
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
        if variant == .selfText || variant == .taskText {
            guard let text = try selfText(source, fromTaskPrompts: variant == .taskText) else { return nil }
            trained = try castAdapter(source, selfText: text)
        } else if variant == .ckaMap {
            var options = castOptions
            options.layerMap = try ckaLayerMap()
            trained = try castAdapter(source, options: options)
        } else {
            trained = try castAdapter(source, options: variant.applied(to: castOptions))
        }
        guard let trained else { return nil }
        return try measured("cast-\(name)", on: settings.target, adapter: trained, teacher: source)
    }

    /// The source LoRA's effect on its own model, on corpus text and on the task's, cached.
    func loraEffect() throws -> LoRAEffect? {
        guard let source = try sourceLoRA() else { return nil }
        let examples = 256
        let entry = try cache.entry("lora-effect", [
            "lora": source.key, "windows": "\(settings.heldOut) × \(castOptions.windowLength)", "examples": "\(examples)",
            "code": ArtifactCache.codeVersion,
        ])
        if let stored = cache.result(entry, as: LoRAEffect.self) { return stored }
        let s = try model(settings.source)
        let adapters = try LoRAAdapter.load(source.folder.path, for: s.config).adapters
        func effect(_ corpus: TextCorpus) throws -> Double? {
            let paired = try PairedCorpus(corpus, teacher: s, student: s, length: castOptions.windowLength)
            return try HeldOutKL.measure(teacher: s, teacherAdapters: adapters, student: s, studentAdapters: .none, corpus: paired,
                                         windows: max(settings.heldOut, 1), shouldStop: { self.host.shouldStop })
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
            "source": try identity(settings.source), "target": try identity(settings.target), "point": CKALayerMap.point,
            "documents": "\(documents)", "tokens": "\(tokens)", "code": ArtifactCache.codeVersion,
        ])
        if let stored = cache.result(entry, as: Stored.self) { return try LayerMapping(parsing: stored.map) }
        let started = Date()
        host.log("  cka-map: CKA between \(settings.target)'s and \(settings.source)'s attention inputs over \(tokens) corpus tokens\n")
        let map = try CKALayerMap.suggest(source: try model(settings.source), target: try model(settings.target),
                                          texts: Array(try TextCorpus.wiki().train.prefix(documents)), tokens: tokens)
        host.log("  cka-map: target:source \(map)\n")
        try cache.store(Stored(map: map.description, seconds: Date().timeIntervalSince(started)), in: entry)
        return map
    }

    func pairedCorpus() throws -> PairedCorpus {
        if let corpus { return corpus }
        let c = try CastTrainingSetup.corpus(try model(settings.source), try model(settings.target), castOptions)
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
            "teacher": teacher.key, "held out": "\(settings.heldOut) × \(castOptions.windowLength)", "train limit": "\(settings.trainLimit)",
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
            let bar = host.progress( "evaluate \(method)\(split == .train ? " (train split)" : "")", unit: "examples")
            defer { bar.finish() }
            do {
                return try TaskEvaluation.evaluate(model, adapters: adapters, task: suite, split: split, limit: limit,
                                                   shouldStop: { self.host.shouldStop }) { done, total in bar.update(done: done, total: total) }
            } catch is TaskInterrupted {
                return nil
            }
        }
        guard let score = try evaluated(.test, limit: testCount) else { return nil }
        var trainScore: Double? = nil
        if settings.trainLimit > 0 {
            guard let s = try evaluated(.train, limit: settings.trainLimit) else { return nil }
            trainScore = s.score
        }
        var kl: Double? = nil
        if settings.heldOut > 0 && modelName == settings.target {
            let s = try self.model(settings.source)
            let teacherAdapters = try LoRAAdapter.load(teacher.folder.path, for: s.config).adapters
            guard let measuredKL = try HeldOutKL.measure(teacher: s, teacherAdapters: teacherAdapters, student: model,
                                                         studentAdapters: adapters, corpus: try pairedCorpus(),
                                                         windows: settings.heldOut, shouldStop: { self.host.shouldStop }) else { return nil }
            kl = measuredKL
        } else if modelName == settings.source && adapter != nil {
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
        case "floor": return try measured(method, on: settings.target, adapter: nil, teacher: source)
        case "source": return try measured(method, on: settings.source, adapter: source, teacher: source)
        case "retrained":
            guard let retrained = try taskLoRA(on: settings.target, lr: settings.retrainLr) else { return nil }
            return try measured(method, on: settings.target, adapter: retrained, teacher: source)
        case "cross-lora": return try measured(method, on: settings.target, adapter: try crossLoRA(source), teacher: source)
        case "cast":
            guard let cast = try castAdapter(source) else { return nil }
            return try measured(method, on: settings.target, adapter: cast, teacher: source)
        default: throw ExperimentError("unknown method '\(method)'")
        }
    }
}

