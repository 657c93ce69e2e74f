import CastAdapters
import CastExperiment
import Foundation

/// The command-line side of a training run, for every adapter kind: a progress bar (or one
/// JSON line per step on stdout), Ctrl-C at a step boundary, and `save` every `saveEvery`
/// steps, at the end, and after a non-finite step (the adapter still holds the last good one).
enum TrainingLoop {
    /// Runs `run` (a trainer's `run(shouldStop:onStep:)`) from step `first` of `total`.
    /// Returns whether the run finished and the closing line's summary.
    static func drive<Step: StepReport>(label: String, total: Int, first: Int, json: Bool, saveEvery: Int,
                                        save: @escaping () throws -> Void,
                                        run: (() -> Bool, (Step) throws -> Void) throws -> Bool) throws
        -> (finished: Bool, summary: String) {
        let bar = ProgressBar(label: label, unit: "steps", enabled: !json)
        Interrupt.install()
        defer { Interrupt.uninstall() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var last: Step?
        let finished: Bool
        do {
            finished = try run({ Interrupt.requested }) { step in
                last = step
                if json {
                    writeStandardOutput(String(decoding: try encoder.encode(step), as: UTF8.self) + "\n")
                } else {
                    bar.update(done: step.step, total: total, since: first, extra: step.progress)
                }
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
