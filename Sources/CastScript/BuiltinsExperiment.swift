import CastAdapters
import CastExperiment
import Foundation

/// `experiment`: the whole CAST pipeline in one call, as `cast experiment` runs it, with the
/// same cache (a rerun is instant, a stopped one continues).
enum ExperimentBuiltins {
    static var all: [Builtin] { [experiment] }

    static var experiment: Builtin {
        Builtin("experiment", [
            Parameter("source", .string, help: "The model the LoRA is trained on (a registry name or a GGUF path)."),
            Parameter("target", .string, help: "The model to carry it to."),
            Parameter("task", .string, help: "A built-in task (arith, dates, reverse) or a JSONL file."),
            Parameter("methods", .string, default: .string("floor,source,cross-lora,cast"),
                      help: "Comma-separated: floor, source, retrained (a LoRA trained on the target: the ceiling), cross-lora, cast."),
            Parameter("variants", .string, default: .string(""),
                      help: "Comma-separated CAST variants, each a row cast-<variant>: \(CastVariant.names.joined(separator: ", "))."),
            Parameter("lora_steps", .integer, default: Value(200), help: "LoRA training steps (source and retrained)."),
            Parameter("steps", .integer, default: Value(100), help: "CAST training steps."),
            Parameter("lr", .number, default: .number(1e-3), help: "CAST's peak learning rate."),
            Parameter("beta", .number, default: .number(1), help: "Weight of CAST's hidden-state MSE term (β)."),
            Parameter("batch_size", .integer, default: Value(4), help: "CAST: corpus windows per step."),
            Parameter("window", .integer, default: Value(128), help: "CAST: teacher tokens per corpus window."),
            Parameter("limit", .optional(.integer), default: Value.none, help: "Score only the first this many test examples."),
            Parameter("train_limit", .integer, default: Value(64),
                      help: "Also score the first this many train examples (what chooses settings; 0: skip)."),
            Parameter("held_out", .integer, default: Value(16), help: "Held-out corpus windows for the KL column (0: skip)."),
            Parameter("recompute_layers", .optional(.integer), default: Value.none,
                      help: "CAST: student layers recomputed in backward instead of kept (none: all; 0: keep all, faster, about twice the memory; the same bits)."),
            Parameter("seed", .integer, default: Value(0), help: "Seed of every training run."),
            Parameter("cache", .optional(.string), default: Value.none,
                      help: "Folder of the cache (none: $CAST_HOME/experiments, shared with cast experiment)."),
        ], returns: "table",
        help: "Trains a task LoRA on the source, carries it to the target by Cross-LoRA and by CAST (general text only), "
            + "and scores each method on the task's test split beside the bare target: one row per method with score, "
            + "retention (over the retrained LoRA's score, else the source's), held-out KL to the teacher, train-split "
            + "score and seconds. Everything is cached by content, as `cast experiment` does: a rerun reads it back, a "
            + "stopped run continues where it stopped.",
        example: "experiment(\"smollm2-135m\", \"qwen2.5-0.5b\", \"arith\", steps: 60, lr: 3e-4, beta: 0, limit: 64)",
        usesEngine: true) { call in
            func list(_ name: String) -> [String] {
                call.string(name).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            var settings = ExperimentSettings(source: call.string("source"), target: call.string("target"), task: call.string("task"))
            settings.methods = list("methods")
            settings.variants = list("variants")
            settings.loraSteps = try call.integer("lora_steps", in: 1...Int.max)
            var cast = CastOptions()
            cast.training.steps = try call.integer("steps", in: 1...Int.max)
            cast.training.learningRate = Float(call.number("lr"))
            cast.training.minLearningRate = cast.training.learningRate / 10
            cast.training.batchSize = try call.integer("batch_size", in: 1...Int.max)
            cast.windowLength = try call.integer("window", in: 2...Int.max)
            cast.beta = Float(call.number("beta"))
            let seed = UInt64(try call.integer("seed", in: 0...Int.max))
            cast.training.seed = seed
            cast.initSeed = seed
            do { try cast.validate() } catch { throw call.error("steps", "\(error)") }
            settings.cast = cast
            settings.limit = try TrainingBuiltins.optionalInteger(call, "limit", in: 1...Int.max)
            settings.trainLimit = try call.integer("train_limit", in: 0...Int.max)
            settings.heldOut = try call.integer("held_out", in: 0...Int.max)
            settings.recomputedLayers = try TrainingBuiltins.optionalInteger(call, "recompute_layers", in: 0...Int.max) ?? Int.max
            let host = ScriptExperimentHost(call.interpreter)
            let run: ExperimentRun
            do {
                let cache = call.optionalString("cache").map { ArtifactCache(root: URL(fileURLWithPath: $0)) } ?? ArtifactCache()
                run = try ExperimentRun(settings, cache: cache, host: host)
            } catch let error as ExperimentError {
                let parameter = error.description.contains("method") ? "methods" : error.description.contains("variant") ? "variants"
                    : error.description.contains("'\(settings.source)'") ? "source" : error.description.contains("'\(settings.target)'") ? "target"
                    : "task"
                throw call.error(parameter, error.description)
            }
            guard let result = try run.run() else {
                throw ScriptError(.interrupted, "experiment: stopped; what finished is cached, so the same call continues from there",
                                  at: call.range)
            }
            func number(_ x: Double?) -> Value { x.map { .number($0) } ?? .none }
            let rows = result.rows.map { r in
                [Value.string(r.method), .number(r.score), number(r.retention), number(r.kl), number(r.trainScore), .number(r.seconds)]
            }
            let caption = "\(result.source) → \(result.target), task \(result.task) (\(result.testCount) test prompts), seed \(result.seed); "
                + "retention over \(result.reference ?? "—"); \(result.loraEffect.line)"
            return .object(TableValue(columns: ["method", "score", "retention", "kl", "train_score", "seconds"], rows: rows,
                                      caption: caption))
        }
    }
}

/// The interpreter as an experiment's host: news to its output, one progress task per long
/// step (started at its first report, when the total is known), the interpreter's
/// cancellation as the stop.
final class ScriptExperimentHost: ExperimentHost {
    let interpreter: Interpreter

    init(_ interpreter: Interpreter) { self.interpreter = interpreter }

    func log(_ text: String) { interpreter.output(text) }

    func progress(_ label: String, unit: String) -> ExperimentProgress { Bar(interpreter.progress, label: label, unit: unit) }

    var shouldStop: Bool { interpreter.isCancelled() }

    final class Bar: ExperimentProgress {
        let sink: ProgressSink?
        let label: String, unit: String
        var begun = false

        init(_ sink: ProgressSink?, label: String, unit: String) {
            self.sink = sink
            self.label = label
            self.unit = unit
        }

        func update(done: Int, total: Int, since: Int, detail: String) {
            if !begun {
                sink?.begin(task: label, unit: unit, total: total)
                begun = true
            }
            sink?.report(done: done, total: total, detail: detail)
        }

        func finish() {
            if begun { sink?.end() }
            begun = false
        }
    }
}
