import CastAdapters
import CastModels
import Foundation

/// The builtins over adapters: tasks, corpora, LoRAs (fresh, loaded, saved, trained), CAST
/// (cast, train, step, export), cross_lora, evaluation and held-out KL.
enum AdapterBuiltins {
    static var all: [Builtin] {
        [task, corpus, teacherText, lora, loadAdapter, save, trainLoRA, TrainingBuiltins.cast, TrainingBuiltins.train, TrainingBuiltins.step,
         TrainingBuiltins.evaluate, CompareBuiltins.compare, TrainingBuiltins.crossLoRA, TrainingBuiltins.export, TrainingBuiltins.heldOutKL]
    }

    static let taskType = ParameterType.either(.object(TaskValue.self), .string)
    static let loraType = ParameterType.object(LoRAValue.self)
    static let castType = ParameterType.object(CastValue.self)
    static let corpusType = ParameterType.object(CorpusValue.self)
    static let stringList = ParameterType.list(of: .string, named: "list of strings")
    static let integerList = ParameterType.list(of: .integer, named: "list of whole numbers")

    static var task: Builtin {
        Builtin("task", [Parameter("name", .string, help: "A built-in task (arith, dates, reverse) or a JSONL file of {prompt, answer, split}.")],
                returns: "task",
                help: "A task: prompts with their answers, split into train and test. train_lora trains on the train split; "
                    + "evaluate scores greedy answers on the test split. t.train and t.test count the examples.",
                example: "t = task(\"arith\")\nt.examples", usesEngine: true) { call in
            .object(try taskValue(call, "name"))
        }
    }

    /// A task argument: a task value, or a name or path loaded now.
    static func taskValue(_ call: Call, _ name: String) throws -> TaskValue {
        if let t = call.object(name, as: TaskValue.self) { return t }
        let text = call.string(name)
        do {
            return TaskValue(suite: try TaskSuite.load(text), source: text)
        } catch {
            throw call.error(name, Interpreter.describe(error), kind: .value)
        }
    }

    static var corpus: Builtin {
        Builtin("corpus", [Parameter("name", .string, default: .string("wiki"),
                                     help: "wiki (Wikipedia summaries, fetched into the cache on first use) or a JSON file of texts.")],
                returns: "corpus",
                help: "General text for CAST: train distils on its windows, held_out_kl measures on its held-out part. "
                    + "Windows for a pair of models are cut once and kept.",
                example: "wiki = corpus(\"wiki\")", usesEngine: true) { call in
            do { return .object(CorpusValue(corpus: try TextCorpus.named(call.string("name")))) } catch {
                throw call.error("name", Interpreter.describe(error))
            }
        }
    }

    static var teacherText: Builtin {
        let promptsType = ParameterType.optional(.either(taskType, stringList))
        return Builtin("teacher_text", [
            Parameter("lora", loraType, help: "The source LoRA; its model with it is the teacher that writes."),
            Parameter("prompts", promptsType, default: Value.none,
                      help: "none: continue corpus prefixes and empty documents (no task data at all); a list of prompts, a "
                        + "prompts file (JSONL with a prompt field, or one prompt a line) or a task (its train prompts; answers "
                        + "are never read): the teacher answers each."),
            Parameter("corpus", .optional(corpusType), default: Value.none,
                      help: "Its held-out part stays for held_out_kl, and its prefixes start documents; none: corpus(\"wiki\")."),
            Parameter("documents", .integer, default: Value(256), help: "Documents to write."),
            Parameter("tokens", .integer, default: Value(96), help: "New tokens per document."),
            Parameter("seed", .integer, default: Value(0), help: "Seed of the sampling (temperature 1)."),
        ], returns: "corpus",
        help: "Text the teacher (the LoRA's model with the LoRA) writes, as a corpus for train(c, …): CAST then distils on "
            + "what the adapter makes the teacher say instead of on general text. Across model families a task LoRA's "
            + "behaviour shows mostly on its own kind of input, so unlabelled prompts of that kind carry it where "
            + "general text does not (docs/cast.md). Reports progress; interrupted, nothing is kept.",
        example: "qa = teacher_text(l, prompts: [\"What is 12 + 7?\", \"Reverse the word cat.\"], documents: 64)\ntrain(c, qa, steps: 100)",
        usesEngine: true) { call in
            let lora = call.object("lora", as: LoRAValue.self)!
            var options = SelfText.Options()
            options.documents = try call.integer("documents", in: 2...1_000_000)
            options.tokens = try call.integer("tokens", in: 2...1_000_000)
            options.seed = UInt64(try call.integer("seed", in: 0...Int.max))
            var prompts: [String]?
            switch call.value("prompts") {
            case .none: prompts = nil
            case .list(let items): prompts = items.compactMap { if case .string(let s) = $0 { s } else { nil } }
            case .string(let text) where !TaskGenerators.all.contains(where: { $0.name == text }):
                do { prompts = try PromptList.load(text) } catch { throw call.error("prompts", Interpreter.describe(error)) }
            default: prompts = try taskValue(call, "prompts").suite.train.map(\.prompt)
            }
            if let prompts, prompts.isEmpty { throw call.error("prompts", "'prompts' is an empty list") }
            let interpreter = call.interpreter, sink = interpreter.progress
            let teacher = lora.model.transformer
            do {
                let base = try call.object("corpus", as: CorpusValue.self)?.corpus ?? TextCorpus.wiki()
                sink?.begin(task: "teacher text from \(teacher.name) + LoRA", unit: "documents", total: options.documents)
                defer { sink?.end() }
                let stop = { interpreter.isCancelled() }
                let progress: (Int, Int) -> Void = { sink?.report(done: $0, total: $1, detail: "") }
                let written = try SelfText.write(teacher: teacher, adapters: lora.adapter.adapters, prompts: prompts, corpus: base,
                                                 options: options, shouldStop: stop, progress: progress)
                guard let written else {
                    throw ScriptError(.interrupted, "teacher_text: stopped; nothing was kept", at: call.range)
                }
                return .object(CorpusValue(corpus: try written.corpus(heldOutFrom: base)))
            } catch let error as ScriptError {
                throw error
            } catch {
                throw call.error("lora", Interpreter.describe(error))
            }
        }
    }

    static func loraParameters(rank: Int = 8) -> [Parameter] {
        [Parameter("rank", .integer, default: Value(rank), help: "The rank r of A (r × in) and B (out × r)."),
         Parameter("alpha", .optional(.number), default: Value.none, help: "Scale alpha/r; none: 2 × rank."),
         Parameter("modules", stringList, default: Value(["q_proj", "v_proj"]),
                   help: "PEFT module names: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (GPT-2: c_attn, c_proj, c_fc)."),
         Parameter("layers", .optional(integerList), default: Value.none, help: "Only these layers; none: every layer.")]
    }

    /// The LoRA config `rank`, `alpha`, `modules`, `layers` describe for `model`.
    static func loraConfig(_ call: Call, _ model: ModelValue) throws -> LoRAConfig {
        let config = model.transformer.config
        let rank = try call.integer("rank", in: 1...max(1, config.hiddenSize))
        var alpha = Double(2 * rank)
        if case .number(let a) = call.value("alpha") {
            guard a.isFinite, a > 0 else { throw call.error("alpha", "'alpha' must be a number > 0, got \(Value.format(a))") }
            alpha = a
        }
        guard case .list(let moduleValues) = call.value("modules"), !moduleValues.isEmpty else {
            throw call.error("modules", "'modules' must name at least one module")
        }
        let modules = moduleValues.map { $0.printed() }
        var layers: [Int]?
        if case .list(let items) = call.value("layers") {
            let list = items.compactMap(\.integer)
            guard !list.isEmpty else { throw call.error("layers", "'layers' must hold at least one layer (or be none)") }
            if let bad = list.first(where: { $0 < 0 || $0 >= config.layerCount }) {
                throw call.error("layers", "layer \(bad) does not exist: \(model.transformer.name) has layers 0..<\(config.layerCount)")
            }
            layers = list
        }
        return LoRAConfig(rank: rank, alpha: alpha, targetModules: modules, layers: layers, baseModel: model.transformer.name)
    }

    /// A fresh LoRA (B = 0) for `model`, with errors about the modules located at `modules`.
    static func freshLoRA(_ call: Call, _ model: ModelValue, seed: UInt64) throws -> LoRAAdapter {
        let config = try loraConfig(call, model)
        do {
            return try LoRAAdapter(for: model.transformer.config, config: config, seed: seed)
        } catch {
            throw call.error("modules", Interpreter.describe(error))
        }
    }

    static var lora: Builtin {
        Builtin("lora", [Parameter("model", .model, help: "The base model.")] + loraParameters() + [
            Parameter("seed", .integer, default: Value(0), help: "Seed of A's initial values."),
        ], returns: "lora",
        help: "A fresh LoRA for a model: A random (Kaiming-uniform, as PEFT), B zero, so it does not change the model "
            + "until trained. save writes it as a PEFT folder.",
        example: "l = lora(m, rank: 4, modules: [\"q_proj\", \"k_proj\", \"v_proj\"])\nl.parameters", usesEngine: true) { call in
            let model = call.object("model", as: ModelValue.self)!
            let seed = try call.integer("seed", in: 0...Int.max)
            return .object(LoRAValue(adapter: try freshLoRA(call, model, seed: UInt64(seed)), model: model, origin: "fresh"))
        }
    }

    static var loadAdapter: Builtin {
        Builtin("load_adapter", [Parameter("model", .model, help: "The model the adapter is for (a CAST folder's target)."),
                                 Parameter("path", .string, help: "A PEFT folder, a GGUF-LoRA file or a CAST adapter folder.")],
                returns: "lora",
                help: "Loads an adapter for a model: a PEFT folder (adapter_config.json + adapter_model.safetensors), a "
                    + "GGUF-LoRA file, or a CAST folder (cast transfer's output, read with its source LoRA and turned into "
                    + "the LoRA it exports to).",
                example: "l = load_adapter(m, \"out/arith-lora\")\nevaluate(l, task(\"arith\"), limit: 20)", usesEngine: true) { call in
            let model = call.object("model", as: ModelValue.self)!
            let path = call.string("path")
            do {
                if let folder = CastAdapterFolder.locate(path) {
                    let lora = try CastAdapterFolder.load(folder, target: model.transformer).exported()
                    return .object(LoRAValue(adapter: lora, model: model, origin: "CAST folder", path: path))
                }
                let lora = try LoRAAdapter.load(path, for: model.transformer.config)
                try lora.adapters.validate(for: model.transformer)
                return .object(LoRAValue(adapter: lora, model: model, origin: "loaded", path: path))
            } catch {
                throw call.error("path", Interpreter.describe(error))
            }
        }
    }

    static var save: Builtin {
        Builtin("save", [Parameter("adapter", .either(loraType, castType, PlotBuiltins.plotType, AnalysisBuiltins.activationsType),
                                   help: "A LoRA, a CAST adapter, a plot or activations."),
                         Parameter("path", .string, help: "The folder to write (created if missing); for a plot, an .svg file; "
                                   + "for activations, a .safetensors or .npy file or a folder."),
                         Parameter("gguf", .optional(.string), default: Value.none, help: "Also write a LoRA as a GGUF-LoRA file (for llama.cpp).")],
                returns: "string",
                help: "Writes an adapter and returns the path. A LoRA becomes a PEFT folder (and a GGUF-LoRA file with "
                    + "gguf:). A CAST adapter becomes a CAST folder (cast_config.json + cast_adapter.safetensors), which "
                    + "reads its source LoRA from where that was saved, so save the source LoRA first; export writes a "
                    + "CAST adapter as a plain PEFT LoRA instead. A plot is written as an SVG file. Activations become a "
                    + "safetensors file (one float32 [tokens, width] tensor per point, named by the point, the tokens in its "
                    + "metadata), a .npy file (one point), or a folder of POINT.npy files and tokens.json.",
                example: "save(l, \"out/arith-lora\")\nsave(c, \"out/arith-cast\")\nsave(plot(c), \"out/arith-cast.svg\")",
                usesEngine: true) { call in
            let path = call.string("path")
            guard !path.isEmpty else { throw call.error("path", "'path' must not be empty") }
            if let plot = call.object("adapter", as: PlotValue.self) { return try savePlot(plot, to: path, call: call) }
            if let a = call.object("adapter", as: ActivationsValue.self) { return try AnalysisBuiltins.saveActivations(a, to: path, call: call) }
            if let value = call.object("adapter", as: LoRAValue.self) {
                do {
                    try PEFTAdapterFolder.save(value.adapter, for: value.model.transformer.config, to: URL(fileURLWithPath: path))
                } catch { throw call.error("path", Interpreter.describe(error)) }
                value.path = path
                if let gguf = call.optionalString("gguf") {
                    do {
                        try GGUFLoRAFile.save(value.adapter, for: value.model.transformer.config, to: URL(fileURLWithPath: gguf))
                    } catch { throw call.error("gguf", Interpreter.describe(error)) }
                }
                return .string(path)
            }
            let value = call.object("adapter", as: CastValue.self)!
            if call.optionalString("gguf") != nil {
                throw call.error("gguf", "a CAST folder has no GGUF form; export(c, path, gguf: file) writes the LoRA it stands for")
            }
            guard let sourcePath = value.lora.path else {
                throw call.error("adapter", "the CAST folder reads its source LoRA from disk, and this one was never saved: "
                                 + "save(c.lora, \"folder\") first (or export(c, path) for a plain PEFT LoRA)")
            }
            do {
                let identity = try SourceAdapterIdentity(of: sourcePath)
                try CastAdapterFolder.save(value.cast, sourceAdapter: identity,
                                           training: CastAdapterFolder.Training(options: value.options, step: value.steps),
                                           to: URL(fileURLWithPath: path))
            } catch { throw call.error("path", Interpreter.describe(error)) }
            return .string(path)
        }
    }

    /// Writes a plot's SVG (its folder created if missing).
    static func savePlot(_ plot: PlotValue, to path: String, call: Call) throws -> Value {
        guard path.lowercased().hasSuffix(".svg") else {
            throw call.error("path", "a plot is saved as SVG: give a path ending in .svg, got \(Value.quote(path))")
        }
        if call.optionalString("gguf") != nil { throw call.error("gguf", "gguf: is for LoRAs; a plot is saved as SVG") }
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try plot.svg.write(to: url, atomically: true, encoding: .utf8)
        } catch { throw call.error("path", Interpreter.describe(error)) }
        return .string(path)
    }

    static var trainLoRA: Builtin {
        Builtin("train_lora", [Parameter("model", .model, help: "The base model."),
                               Parameter("task", taskType, help: "A task (or its name): trains on its train split's answers.")]
                + loraParameters() + [
            Parameter("steps", .integer, default: Value(200), help: "Optimizer steps."),
            Parameter("lr", .number, default: Value(2e-3), help: "Peak learning rate (warm-up over a tenth of the steps, at most 10, then cosine to lr/10)."),
            Parameter("batch_size", .integer, default: Value(8), help: "Examples per step."),
            Parameter("seed", .integer, default: Value(0), help: "Seed of the initial LoRA and of the example order."),
        ], returns: "lora",
        help: "Trains a fresh LoRA on a task (loss on the answer tokens, AdamW) and returns it. Reports each step's loss, "
            + "rate and time left; interrupted (Ctrl-C), it stops after the current step and returns the LoRA as it is "
            + "then, and train(l, t) or step(l, n) go on from there. l.loss lists the step losses.",
        example: "l = train_lora(m, task(\"arith\"), rank: 8, steps: 300)\nl.loss[-1]", usesEngine: true) { call in
            let model = call.object("model", as: ModelValue.self)!
            let task = try taskValue(call, "task")
            let seed = try call.integer("seed", in: 0...Int.max)
            let options = try TrainingBuiltins.loraOptions(call, previous: nil)
            let adapter = try freshLoRA(call, model, seed: UInt64(seed))
            let value = LoRAValue(adapter: adapter, model: model, origin: "trained on \(task.suite.name)")
            try TrainingBuiltins.startLoRARun(value, task: task, options: options, call: call)
            try TrainingBuiltins.runLoRA(value, steps: nil, call: call)
            return .object(value)
        }
    }
}
