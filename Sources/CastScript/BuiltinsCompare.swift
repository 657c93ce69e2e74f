import CastModels
import Foundation

/// `compare`: what several models or adapters say to the same prompts, side by side.
enum CompareBuiltins {
    static var compare: Builtin {
        Builtin("compare", [
            Parameter("subjects", .list(of: TrainingBuiltins.evaluable, named: "list of models and adapters"),
                      help: "Models, LoRAs (run on their model) and CAST adapters (run on their target)."),
            Parameter("prompts", .either(.string, .list(of: .string, named: "list of strings")),
                      help: "A prompt or a list of them; a task's prompts are t.prompts."),
            Parameter("max_tokens", .integer, default: Value(16), help: "Most new tokens per answer."),
            Parameter("chat", .bool, default: .bool(false), help: "Wrap each prompt in the model's chat template."),
        ], returns: "table",
        help: "Greedy continuations of the same prompts by each model or adapter, one row per prompt and one column per "
            + "subject, and a last column saying whether they all agree. Each subject reads the prompt with its own "
            + "tokenizer. Reports progress per answer; interrupted, it stops and keeps nothing.",
        example: "compare([src_lora, tgt, c], [\"Compute 513 ⊕ 67.\\nAnswer:\"], max_tokens: 6)", usesEngine: true) { call in
            guard case .list(let items) = call.value("subjects"), !items.isEmpty else {
                throw call.error("subjects", "the list is empty: give at least one model or adapter")
            }
            let subjects = try items.map {
                try TrainingBuiltins.subject($0, adapter: .none, call: call, parameter: "subjects")
            }
            var prompts: [String] = []
            switch call.value("prompts") {
            case .string(let s): prompts = [s]
            case .list(let list): prompts = list.map { $0.printed() }
            default: break
            }
            guard !prompts.isEmpty else { throw call.error("prompts", "the list is empty: give at least one prompt") }
            let maxTokens = try call.integer("max_tokens", in: 1...4096)
            let interpreter = call.interpreter, sink = interpreter.progress
            let total = subjects.count * prompts.count
            sink?.begin(task: "compare", unit: "answers", total: total)
            defer { sink?.end() }
            var answers: [[String]] = []   // [subject][prompt]
            for s in subjects {
                let generator = Generator(model: s.model.transformer, adapters: s.adapters,
                                          arithmetic: s.model.generator.arithmetic)
                var column: [String] = []
                for prompt in prompts {
                    if interpreter.isCancelled() {
                        throw ScriptError(.interrupted, "compare: stopped after \(answers.count * prompts.count + column.count) "
                                          + "of \(total) answers; nothing was kept", at: call.range)
                    }
                    let result = try generator.generate(texts: [prompt], chat: call.bool("chat"),
                                                        options: GenerationOptions(maxNewTokens: maxTokens, sampling: .greedy),
                                                        shouldStop: { interpreter.isCancelled() })
                    column.append(result.sequences[0].text)
                    sink?.report(done: answers.count * prompts.count + column.count, total: total, detail: "")
                }
                answers.append(column)
            }
            let headers = subjects.map { $0.adapter == "none" ? $0.model.transformer.name : "\($0.model.transformer.name) + \($0.adapter)" }
            let rows = prompts.indices.map { p -> [Value] in
                let texts = answers.map { $0[p] }
                let agree = Set(texts.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }).count == 1
                return [.string(prompts[p])] + texts.map { Value.string($0) } + [.bool(agree)]
            }
            return .object(TableValue(columns: ["prompt"] + headers + ["agree"], rows: rows,
                                      caption: "greedy, at most \(maxTokens) new tokens"))
        }
    }
}
