import CastAdapters
import CastModels
import Foundation

/// What `cast transfer`, `cast experiment` and the language share to train CAST layers: the
/// corpus, the trainer with its initialisation (or restored from a checkpoint), and a run to
/// the end or to a stop with checkpoints along the way.
public enum CastTrainingSetup {
    /// The wiki corpus in windows for these two models.
    public static func corpus(_ source: Transformer, _ target: Transformer, _ options: CastOptions) throws -> PairedCorpus {
        try PairedCorpus(try TextCorpus.wiki(), teacher: source, student: target, length: options.windowLength)
    }

    /// A trainer for `lora` from `source` to `target`, restored from `checkpoint` when given,
    /// else initialised as `options` say (by least squares for that initialisation). `log`
    /// hears what was done (resumed, initialised, the size of the run).
    public static func trainer(lora: LoRAAdapter, source: Transformer, target: Transformer, corpus: PairedCorpus,
                               options: CastOptions, recomputedLayers: Int = Int.max, restoring checkpoint: URL?,
                               log: ((String) -> Void)?) throws -> CastTrainer {
        let cast = try CastAdapter(lora: lora, source: source, target: target, layerMap: options.layerMap, seed: options.initSeed)
        let trainer = try CastTrainer(teacher: source, lora: lora, student: target, cast: cast, corpus: corpus, options: options)
        trainer.recomputedLayers = recomputedLayers
        if let checkpoint {
            try trainer.restoreCheckpoint(from: checkpoint)
            log?("resuming at step \(trainer.completedSteps) of \(options.training.steps)\n")
        } else if options.initialization == .leastSquares {
            let start = Date()
            let fit = try cast.initializeByLeastSquares(source: source, target: target, corpus: corpus,
                                                        windows: options.initWindows, seed: options.initSeed)
            log?(String(format: "least-squares init over %d windows: %.1f s; ", options.initWindows, Date().timeIntervalSince(start))
                 + (fit?.summary ?? "") + "\n")
        }
        log?("CAST \(source.name) → \(target.name): \(cast.layers.count) layers, "
             + "\(cast.parameterCount) parameters; corpus \(corpus.windowCount(.train)) windows of \(corpus.length) tokens"
             + (corpus.sameVocabulary ? "" : ", \(trainer.shared!.count) shared tokens") + "\n")
        return trainer
    }

    /// Trains to the end or to the host's stop, calling `save` every `every` steps and at the
    /// end. Returns whether the run finished.
    public static func train(_ trainer: CastTrainer, host: ExperimentHost, every: Int,
                             save: @escaping () throws -> Void) throws -> Bool {
        let steps = trainer.options.training.steps
        let (finished, summary) = try TrainingDriver.drive(
            host: host, label: "cast", total: steps, first: trainer.completedSteps, saveEvery: every,
            save: save) { shouldStop, onStep in try trainer.run(shouldStop: shouldStop, onStep: onStep) }
        host.log("\(finished ? "finished" : "stopped") at step \(trainer.completedSteps) of \(steps) (\(summary))\n")
        return finished
    }
}
