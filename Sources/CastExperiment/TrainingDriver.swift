import CastAdapters

/// A step's metrics as a progress display shows them.
public protocol StepReport: Encodable {
    var step: Int { get }
    /// Beside the progress bar ("loss 1.2345, 812 tok/s").
    var progress: String { get }
    /// In the closing line ("last loss 1.2345").
    var summary: String { get }
}

extension TrainingStep: StepReport {
    public var progress: String { String(format: "loss %.4f, %.0f tok/s", loss, tokensPerSecond) }
    public var summary: String { String(format: "last loss %.4f", loss) }
}

extension CastStep: StepReport {
    public var progress: String { String(format: "loss %.4f, KL %.4f, MSE %.4f, %.0f tok/s", loss, kl, mse, tokensPerSecond) }
    public var summary: String { String(format: "last loss %.4f (KL %.4f, MSE %.4f)", loss, kl, mse) }
}

/// A training run for an experiment: progress on the host's display, a stop at a step
/// boundary when the host asks, and `save` every `saveEvery` steps, at the end, and after a
/// non-finite step (the adapter still holds the last good one).
public enum TrainingDriver {
    /// Runs `run` (a trainer's `run(shouldStop:onStep:)`) from step `first` of `total`;
    /// `eachStep` also sees every step (the command line's JSON lines). Returns whether the
    /// run finished and the closing line's summary.
    public static func drive<Step: StepReport>(host: ExperimentHost, label: String, total: Int, first: Int, saveEvery: Int,
                                               save: @escaping () throws -> Void, eachStep: ((Step) throws -> Void)? = nil,
                                               run: (() -> Bool, (Step) throws -> Void) throws -> Bool) throws
        -> (finished: Bool, summary: String) {
        let bar = host.progress(label, unit: "steps")
        var last: Step?
        let finished: Bool
        do {
            finished = try run({ host.shouldStop }) { step in
                last = step
                try eachStep?(step)
                bar.update(done: step.step, total: total, since: first, detail: step.progress)
                if saveEvery > 0, step.step % saveEvery == 0 { try save() }
            }
        } catch let error as TrainingError {
            bar.finish()
            try save()
            throw error
        }
        bar.finish()
        try save()
        return (finished, last?.summary ?? "no step run")
    }
}
