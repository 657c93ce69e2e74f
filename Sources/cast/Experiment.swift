import ArgumentParser
import CastAdapters
import CastExperiment
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
    @Option(help: "Comma-separated CAST variants, each a row cast-<variant> beside cast: lsq-init (P's and H by least squares), delta (match the adapter's own effect), titok (KL weighted by the LoRA's effect per token), self-text (distil on text the teacher writes), task-text (a diagnostic: the teacher's own answers to the task's train prompts), index-map (layer i to layer i), cka-map (the layer map CKA suggests).")
    var variants = ""
    @Option(help: "self-text and task-text: documents the teacher writes.") var selfTextDocuments = 256
    @Option(help: "self-text and task-text: new tokens per document.") var selfTextTokens = 96
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

    func run() throws {
        func list(_ text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        var settings = ExperimentSettings(source: source, target: target, task: task)
        settings.methods = list(methods)
        settings.variants = list(variants)
        settings.selfTextDocuments = selfTextDocuments
        settings.selfTextTokens = selfTextTokens
        settings.lora = try lora.config(baseModel: nil)
        settings.loraSteps = loraSteps
        settings.loraLr = loraLr
        settings.retrainLr = retrainLr
        settings.cast = try flags.options()
        settings.recomputedLayers = try flags.recomputedLayers()
        settings.limit = limit
        settings.trainLimit = trainLimit
        settings.heldOut = heldOut
        let host = CommandLineHost()
        let run: ExperimentRun
        do {
            run = try ExperimentRun(settings, cache: ArtifactCache(root: cache.map { URL(fileURLWithPath: $0) }
                                                                   ?? CastHome.root.appendingPathComponent("experiments")), host: host)
        } catch let error as ExperimentError {
            throw ValidationError(error.description)
        }
        Interrupt.install()
        defer { Interrupt.uninstall() }
        guard let result = try run.run() else {
            writeStandardError("stopped (Ctrl-C); rerun the same command to continue where it stopped\n")
            throw ExitCode(130)
        }
        if json {
            print(try CastSetup.jsonLine(result), terminator: "")
        } else {
            print(result.table)
        }
    }
}
