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
        Interrupt.install()
        defer { Interrupt.uninstall() }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try TrainingDriver.drive(host: CommandLineHost(showsProgress: !json), label: label, total: total, first: first,
                                        saveEvery: saveEvery, save: save,
                                        eachStep: json ? { writeStandardOutput(String(decoding: try encoder.encode($0), as: UTF8.self) + "\n") } : nil,
                                        run: run)
    }
}
