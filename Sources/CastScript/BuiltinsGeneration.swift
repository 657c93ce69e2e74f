import CastModels
import CastTensor
import Foundation

/// `generate` and `logits`: running a model on a prompt.
enum GenerationBuiltins {
    static var generate: Builtin {
        Builtin("generate", [
            Parameter("model", .model),
            Parameter("prompt", ModelBuiltins.promptText, help: "The text to continue (or a token list, used as it is)."),
            Parameter("max_tokens", .integer, default: Value(32), help: "Most new tokens."),
            Parameter("chat", .bool, default: .bool(false), help: "Wrap the prompt in the model's chat template as a user turn."),
            Parameter("system", .optional(.string), default: Value.none, help: "A system turn before the prompt (with chat: true)."),
            Parameter("temperature", .number, default: Value(0), help: "Sampling temperature; 0 is greedy."),
            Parameter("top_p", .number, default: Value(1), help: "Nucleus sampling: keep the likeliest tokens up to this probability."),
            Parameter("top_k", .integer, default: Value(0), help: "Keep only the k likeliest tokens (0: all)."),
            Parameter("seed", .integer, default: Value(0), help: "Random seed for sampling."),
            Parameter("stop", .list(of: .string, named: "list of strings"), default: .list([]),
                      help: "Stop when the text contains one of these (it is cut before it)."),
            adapterParameter,
        ], returns: "generation",
        help: "Continues a prompt with the model, greedy by default. Reports progress token by token, and stops at the "
            + "next token when interrupted (Ctrl-C), keeping what it generated (finish_reason \"interrupted\"). "
            + "r.text is the new text; r.ids, r.finish_reason and r.tokens_per_second tell the rest. "
            + "With adapter: the model runs with a LoRA or CAST adapter for it.",
        example: "r = generate(m, \"The capital of France is\", max_tokens: 16)\n"
            + "generate(m, \"12+7=\", max_tokens: 4, adapter: l)\n"
            + "generate(m, \"Write a haiku about rain.\", chat: true, temperature: 0.7, seed: 1)",
        usesEngine: true) { call in
            let model = call.object("model", as: ModelValue.self)!
            let options = try generationOptions(call, model)
            let ids = try ModelBuiltins.promptIds(call, model)
            let interpreter = call.interpreter
            let sink = interpreter.progress
            sink?.begin(task: "generate", unit: "tokens", total: options.maxNewTokens)
            defer { sink?.end() }
            var done = 0
            var text = ""
            let result = try generator(call, model).generate(prompts: [ids], options: options,
                                                      shouldStop: { interpreter.isCancelled() }, onToken: { event in
                if event.token != nil { done += 1 }
                text += event.text
                sink?.report(done: done, total: options.maxNewTokens, detail: lastLine(of: text))
            })
            let prompt: String
            if case .string(let s) = call.value("prompt") { prompt = s } else {
                prompt = model.transformer.tokenizer?.decode(ids) ?? ""
            }
            return .object(GenerationValue(prompt: prompt, sequence: result.sequences[0], timing: result.timing))
        }
    }

    static func generationOptions(_ call: Call, _ model: ModelValue) throws -> GenerationOptions {
        let maxTokens = try call.integer("max_tokens", in: 1...model.transformer.config.contextLength)
        let temperature = call.number("temperature"), topP = call.number("top_p")
        guard temperature >= 0, temperature.isFinite else {
            throw call.error("temperature", "'temperature' must be 0 (greedy) or more, got \(Value.format(temperature))")
        }
        guard topP > 0, topP <= 1 else {
            throw call.error("top_p", "'top_p' must be in (0, 1], got \(Value.format(topP))")
        }
        let topK = try call.integer("top_k", in: 0...Int.max)
        let seed = try call.integer("seed", in: 0...Int.max)
        var stops: [String] = []
        if case .list(let items) = call.value("stop") { stops = items.map { $0.printed() } }
        if stops.contains("") { throw call.error("stop", "a stop string must not be empty") }
        let sampling = SamplingOptions(temperature: Float(temperature), topP: Float(topP), topK: topK, seed: UInt64(seed))
        return GenerationOptions(maxNewTokens: maxTokens, sampling: sampling, stopStrings: stops)
    }

    static var adapterParameter: Parameter { Parameter(
        "adapter", .optional(.either(AdapterBuiltins.loraType, AdapterBuiltins.castType)), default: Value.none,
        help: "A LoRA or CAST adapter for this model to run with (none: the bare model).") }

    /// The model's own generator, or one running it with the call's adapter.
    static func generator(_ call: Call, _ model: ModelValue) throws -> Generator {
        if case .none = call.value("adapter") { return model.generator }
        let subject = try TrainingBuiltins.subject(.object(model), adapter: call.value("adapter"), call: call, parameter: "model")
        return Generator(model: model.transformer, adapters: subject.adapters, arithmetic: model.generator.arithmetic)
    }

    /// The end of the text so far, one line, for a progress display.
    static func lastLine(of text: String, width: Int = 48) -> String {
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        return line.count > width ? "…" + String(line.suffix(width - 1)) : line
    }

    static var logits: Builtin {
        Builtin("logits", [
            Parameter("model", .model),
            Parameter("prompt", ModelBuiltins.promptText, help: "The text (or a token list) the model reads."),
            Parameter("top", .integer, default: Value(10), help: "How many of the likeliest next tokens to keep."),
            Parameter("chat", .bool, default: .bool(false), help: "Wrap the prompt in the model's chat template first."),
            adapterParameter,
        ], returns: "logits",
        help: "The model's next-token logits after a prompt: the top tokens with their logits and probabilities "
            + "(softmax over the whole vocabulary), most likely first. l.best is the top token; l[0] its record.",
        example: "l = logits(m, \"The capital of France is\", top: 5)\nl.best", usesEngine: true) { call in
            let model = call.object("model", as: ModelValue.self)!
            let transformer = model.transformer
            let top = try call.integer("top", in: 1...transformer.config.vocabularySize)
            let ids = try ModelBuiltins.promptIds(call, model)
            let generator = try generator(call, model)
            let cache = KVCache(config: transformer.config)
            let logits = try transformer.nextTokenLogits(
                ids.map(Int32.init), batch: KVCacheBatch(caches: [cache], segments: [(0, 0, ids.count)]),
                adapters: generator.adapters, arithmetic: generator.arithmetic)
            let row = logits.scalars
            let ranking = NextTokenRanking(row, top: top)
            let tokenizer = transformer.tokenizer
            return .object(LogitsValue(promptIds: ids,
                                       top: ranking.best.map { (id: $0, token: tokenizer?.tokenText($0) ?? "", logit: row[$0]) },
                                       logSumExp: ranking.logSumExp, model: transformer.name))
        }
    }
}
