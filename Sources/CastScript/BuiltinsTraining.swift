import CastAdapters
import CastModels
import Foundation

/// cast, train, step, evaluate, cross_lora, export and held_out_kl.
enum TrainingBuiltins {
    typealias A = AdapterBuiltins

    // MARK: LoRA runs

    /// Training options from `steps`, `lr`, `batch_size` (none: the previous run's, else
    /// train_lora's defaults) and `seed`.
    static func loraOptions(_ call: Call, previous: TrainingOptions?) throws -> TrainingOptions {
        var o = TrainingOptions()
        o.steps = try optionalInteger(call, "steps", in: 0...10_000_000) ?? previous?.steps ?? 200
        let lr = try optionalRate(call) ?? previous.map { Double($0.learningRate) } ?? 2e-3
        o.learningRate = Float(lr)
        o.minLearningRate = Float(lr) / 10
        o.batchSize = try optionalInteger(call, "batch_size", in: 1...65_536) ?? previous?.batchSize ?? 8
        o.warmupSteps = min(10, o.steps / 10)
        if call.builtin.parameters.contains(where: { $0.name == "seed" }) {
            o.seed = UInt64(try call.integer("seed", in: 0...Int.max))
        } else {
            o.seed = previous?.seed ?? 0
        }
        return o
    }

    static func optionalInteger(_ call: Call, _ name: String, in bounds: ClosedRange<Int>) throws -> Int? {
        if case .none = call.value(name) { return nil }
        return try call.integer(name, in: bounds)
    }

    static func optionalRate(_ call: Call) throws -> Double? {
        guard case .number(let lr) = call.value("lr") else { return nil }
        guard lr.isFinite, lr > 0 else { throw call.error("lr", "'lr' must be a number > 0, got \(Value.format(lr))") }
        return lr
    }

    static func startLoRARun(_ value: LoRAValue, task: TaskValue, options: TrainingOptions, call: Call) throws {
        do {
            value.trainer = try LoRATrainer(model: value.model.transformer, lora: value.adapter, task: task.suite, options: options)
            value.task = task
        } catch {
            throw call.error("task", Interpreter.describe(error))
        }
    }

    /// Runs the LoRA's trainer to its end (`steps` nil) or `steps` more steps, reporting
    /// progress, stopping after the current step when the session is interrupted.
    static func runLoRA(_ value: LoRAValue, steps: Int?, call: Call) throws {
        guard let trainer = value.trainer else { return }
        value.adapter.setTrainable(true)
        let first = trainer.completedSteps
        let total = steps.map { first + $0 } ?? trainer.options.steps
        try drive(call, task: "train_lora \(value.model.transformer.name)", first: first, total: total) {
            let s = try trainer.step()
            value.history.loss.append(s.loss)
            return (s.loss, nil)
        }
    }

    /// Steps `next` from `first` to `total`, with progress and cancellation at step boundaries.
    static func drive(_ call: Call, task: String, first: Int, total: Int, next: () throws -> (Double, Double?)) throws {
        guard total > first else { return }
        let interpreter = call.interpreter
        let sink = interpreter.progress
        sink?.begin(task: task, unit: "steps", total: total)
        defer { sink?.end() }
        let started = Date()
        var done = first
        while done < total {
            if interpreter.isCancelled() { return }
            let (loss, kl) = try next()
            done += 1
            sink?.report(done: done, total: total,
                         detail: trainingDetail(loss: loss, kl: kl, done: done, total: total, started: started, first: first))
        }
    }

    // MARK: cast

    static var cast: Builtin {
        Builtin("cast", [
            Parameter("lora", A.loraType, help: "The LoRA to carry (trained on its model)."),
            Parameter("from", .optional(.model), default: Value.none, help: "The LoRA's model (none: the one it was made for)."),
            Parameter("to", .model, help: "The target model."),
            Parameter("layer_map", .string, default: .string("depth"),
                      help: "depth (same relative depth), index, or target:source pairs like \"0:0,1:2\"."),
            Parameter("variant", .string, default: .string("paper"),
                      help: "paper (the paper's loss, standard init), least-squares (P's and H by least squares at the first train), delta or excess."),
            Parameter("seed", .integer, default: Value(0), help: "Seed of the initial P's and H and of the window order."),
        ], returns: "cast",
        help: "Sets up CAST layers that carry a LoRA from its model to a target: for each mapped target layer and each "
            + "projection the LoRA adapts there, P_in and P_out around the LoRA's frozen A and B, and a head H. They "
            + "start with P_out = 0 (the bare target); train distils them on general text.",
        example: "c = cast(l, from: m, to: load(\"qwen2.5-0.5b\"))\nc.layers", usesEngine: true) { call in
            let lora = call.object("lora", as: LoRAValue.self)!
            let target = call.object("to", as: ModelValue.self)!
            if let source = call.object("from", as: ModelValue.self), source.transformer !== lora.model.transformer {
                throw call.error("from", "the LoRA was made for \(lora.model.transformer.name), not \(source.transformer.name)")
            }
            let layerMap = try parseLayerMap(call)
            let variant = call.string("variant")
            let seed = try call.integer("seed", in: 0...Int.max)
            var options = CastOptions()
            do { options = try options.variant(variant) } catch {
                throw call.error("variant", "'variant' must be one of \(CastOptions.variants.map { Value.quote($0) }.joined(separator: ", ")), "
                                 + "got \(Value.quote(variant))" + Suggestions.hint(for: variant, among: CastOptions.variants))
            }
            options.layerMap = layerMap
            options.initSeed = UInt64(seed)
            options.training.seed = UInt64(seed)
            do {
                let pairs = try layerMap.pairs(sourceLayers: lora.model.transformer.config.layerCount,
                                               targetLayers: target.transformer.config.layerCount)
                let loraLayers = Set(lora.adapter.modules.flatMap { $0.slots.map(\.slot.layer) })
                guard pairs.values.contains(where: loraLayers.contains) else {
                    throw AdapterError("layer map \(layerMap) pairs no target layer with the LoRA's source layers \(loraLayers.sorted())")
                }
            } catch {
                throw call.error("layer_map", Interpreter.describe(error))
            }
            let adapter: CastAdapter
            do {
                adapter = try CastAdapter(lora: lora.adapter, source: lora.model.transformer, target: target.transformer,
                                          layerMap: layerMap, seed: UInt64(seed))
            } catch {
                throw call.error("to", Interpreter.describe(error))
            }
            return .object(CastValue(cast: adapter, lora: lora, source: lora.model, target: target, variant: variant,
                                     seed: seed, options: options))
        }
    }

    static func parseLayerMap(_ call: Call) throws -> LayerMapping {
        do { return try LayerMapping(parsing: call.string("layer_map")) } catch {
            throw call.error("layer_map", Interpreter.describe(error))
        }
    }

    // MARK: train and step

    static var train: Builtin {
        Builtin("train", [
            Parameter("adapter", .either(A.castType, A.loraType), help: "A CAST adapter (from cast) or a LoRA."),
            Parameter("data", .either(A.corpusType, A.taskType), help: "A corpus for a CAST adapter; a task (or its name) for a LoRA."),
            Parameter("steps", .optional(.integer), default: Value.none,
                      help: "Steps of the run; none: the last run's (to finish it), else 100 (CAST) or 200 (LoRA)."),
            Parameter("lr", .optional(.number), default: Value.none, help: "Peak learning rate; none: the last run's, else 1e-3 (CAST) or 2e-3 (LoRA)."),
            Parameter("batch_size", .optional(.integer), default: Value.none, help: "Windows (CAST) or examples (LoRA) per step; none: the last run's, else 4 or 8."),
            Parameter("window", .optional(.integer), default: Value.none, help: "CAST: teacher tokens per corpus window; none: the last run's, else 128."),
            Parameter("alpha", .optional(.number), default: Value.none, help: "CAST: weight of the KL term; none: the last run's, else 1."),
            Parameter("beta", .optional(.number), default: Value.none, help: "CAST: weight of the hidden-state MSE term; none: the last run's, else 1."),
            Parameter("temperature", .optional(.number), default: Value.none, help: "CAST: distillation temperature; none: the last run's, else 2."),
        ], returns: "cast or lora",
        help: "Trains an adapter and returns it: a CAST adapter by distillation on a corpus (KL to the source model with "
            + "its LoRA, plus hidden-state MSE), a LoRA on a task. Reports loss (and KL), rate and time left; interrupted, "
            + "it stops after the current step, keeping it. Called again with the same settings it continues the "
            + "unfinished run; after a finished run, or with other settings, it starts a new run of `steps` more steps "
            + "from the adapter as it is.",
        example: "train(c, corpus(\"wiki\"), steps: 200, lr: 1e-3)\nc.kl[-1]", usesEngine: true) { call in
            if let value = call.object("adapter", as: CastValue.self) {
                guard let corpus = call.object("data", as: CorpusValue.self) else {
                    throw call.error("data", "a CAST adapter trains on a corpus (corpus(\"wiki\")), got \(call.value("data").typeWithArticle)",
                                     kind: .type)
                }
                let options = try castOptions(call, value)
                if let trainer = value.trainer, !trainer.isFinished, trainer.options == options, value.corpus === corpus {
                    try runCast(value, steps: nil, call: call)
                    return .object(value)
                }
                try startCastRun(value, corpus: corpus, options: options, call: call)
                try runCast(value, steps: nil, call: call)
                return .object(value)
            }
            let value = call.object("adapter", as: LoRAValue.self)!
            guard call.object("data", as: CorpusValue.self) == nil else {
                throw call.error("data", "a LoRA trains on a task (task(\"arith\")), got a corpus", kind: .type)
            }
            let task = try A.taskValue(call, "data")
            let options = try loraOptions(call, previous: value.trainer?.options)
            if let trainer = value.trainer, !trainer.isFinished, trainer.options == options,
               value.task?.suite.name == task.suite.name, value.task?.source == task.source {
                try runLoRA(value, steps: nil, call: call)
                return .object(value)
            }
            try startLoRARun(value, task: task, options: options, call: call)
            try runLoRA(value, steps: nil, call: call)
            return .object(value)
        }
    }

    /// CAST options from train's arguments (none: the last run's, else CAST's defaults).
    static func castOptions(_ call: Call, _ value: CastValue) throws -> CastOptions {
        var o = value.options
        let previous = value.trainer?.options.training
        o.training.steps = try optionalInteger(call, "steps", in: 0...10_000_000) ?? previous?.steps ?? 100
        let lr = try optionalRate(call) ?? previous.map { Double($0.learningRate) } ?? 1e-3
        o.training.learningRate = Float(lr)
        o.training.minLearningRate = Float(lr) / 10
        o.training.batchSize = try optionalInteger(call, "batch_size", in: 1...65_536) ?? previous?.batchSize ?? 4
        o.training.warmupSteps = min(5, o.training.steps / 10)
        let ran = value.trainer != nil
        o.windowLength = try optionalInteger(call, "window", in: 2...min(value.source.transformer.config.contextLength,
                                                                           value.target.transformer.config.contextLength))
            ?? (ran ? value.options.windowLength : 128)
        for name in ["alpha", "beta"] {
            guard case .number(let x) = call.value(name) else { continue }
            guard x >= 0, x.isFinite else { throw call.error(name, "'\(name)' must be a number ≥ 0, got \(Value.format(x))") }
        }
        if case .number(let t) = call.value("temperature"), !(t > 0 && t.isFinite) {
            throw call.error("temperature", "'temperature' must be a number > 0, got \(Value.format(t))")
        }
        func given(_ name: String) -> Float? { if case .number(let x) = call.value(name) { Float(x) } else { nil } }
        o.alpha = given("alpha") ?? (ran ? value.options.alpha : 1)
        o.beta = given("beta") ?? (ran ? value.options.beta : 1)
        o.temperature = given("temperature") ?? (ran ? value.options.temperature : 2)
        do { try o.validate() } catch { throw call.error("adapter", Interpreter.describe(error)) }
        return o
    }

    static func startCastRun(_ value: CastValue, corpus: CorpusValue, options: CastOptions, call: Call) throws {
        let source = value.source.transformer, target = value.target.transformer
        let paired: PairedCorpus
        do { paired = try corpus.paired(teacher: source, student: target, length: options.windowLength) } catch {
            throw call.error("data", Interpreter.describe(error))
        }
        do {
            if !value.initialized {
                let sink = call.interpreter.progress
                sink?.begin(task: "least-squares init \(source.name) → \(target.name)", unit: "windows", total: options.initWindows)
                let finished = try value.cast.initializeByLeastSquares(
                    source: source, target: target, corpus: paired, windows: options.initWindows, seed: options.initSeed,
                    shouldStop: { call.interpreter.isCancelled() },
                    progress: { done, total in sink?.report(done: done, total: total, detail: "") })
                sink?.end()
                guard finished != nil else {
                    throw ScriptError(.interrupted, "train: stopped during the least-squares initialisation; the CAST adapter "
                                      + "is as it was (train again to start over)", at: call.range)
                }
                value.initialized = true
            }
            value.trainer = try CastTrainer(teacher: source, lora: value.lora.adapter, student: target, cast: value.cast,
                                            corpus: paired, options: options)
            value.options = options
            value.corpus = corpus
        } catch let stopped as ScriptError {
            throw stopped
        } catch {
            throw call.error("data", Interpreter.describe(error))
        }
    }

    static func runCast(_ value: CastValue, steps: Int?, call: Call) throws {
        guard let trainer = value.trainer else { return }
        value.lora.adapter.setTrainable(false)
        let first = trainer.completedSteps
        let total = steps.map { first + $0 } ?? trainer.options.training.steps
        try drive(call, task: "cast \(value.source.transformer.name) → \(value.target.transformer.name)", first: first, total: total) {
            let s = try trainer.step()
            value.history.loss.append(s.loss)
            value.history.kl.append(s.kl)
            value.history.mse.append(s.mse)
            return (s.loss, s.kl)
        }
    }

    static var step: Builtin {
        Builtin("step", [Parameter("adapter", .either(A.castType, A.loraType), help: "A CAST adapter or LoRA that train or train_lora trained."),
                         Parameter("n", .integer, default: Value(1), help: "How many steps.")],
                returns: "cast or lora",
                help: "Runs n more optimizer steps of the adapter's last training run (same data, optimizer state and "
                    + "settings; past the run's planned end at its final learning rate) and returns the adapter. "
                    + "Interruptible between steps like train.",
                example: "step(c, n: 10)\nc.loss[-10..<len(c.loss)]", usesEngine: true) { call in
            let n = try call.integer("n", in: 1...10_000_000)
            if let value = call.object("adapter", as: CastValue.self) {
                guard value.trainer != nil else {
                    throw call.error("adapter", "this CAST adapter has no training run yet: train(c, corpus(\"wiki\"), …) starts one")
                }
                try runCast(value, steps: n, call: call)
                return .object(value)
            }
            let value = call.object("adapter", as: LoRAValue.self)!
            guard value.trainer != nil else {
                throw call.error("adapter", "this LoRA has no training run yet: train(l, task(\"arith\"), …) starts one")
            }
            try runLoRA(value, steps: n, call: call)
            return .object(value)
        }
    }

    // MARK: evaluate

    /// A model with the adapters to run it with, and how the table names them.
    struct Subject {
        let model: ModelValue
        let adapters: AdapterSet
        let adapter: String
    }

    static func subject(_ value: Value, adapter: Value, call: Call, parameter: String) throws -> Subject {
        switch value {
        case .object(let o as ModelValue):
            switch adapter {
            case .object(let l as LoRAValue):
                guard l.model.transformer === o.transformer else {
                    throw call.error("adapter", "the LoRA is for \(l.model.transformer.name), not \(o.transformer.name)")
                }
                return Subject(model: o, adapters: l.adapter.adapters, adapter: "lora (\(l.origin))")
            case .object(let c as CastValue):
                guard c.target.transformer === o.transformer else {
                    throw call.error("adapter", "the CAST adapter is for \(c.target.transformer.name), not \(o.transformer.name)")
                }
                return Subject(model: o, adapters: c.cast.adapters, adapter: castLabel(c))
            default:
                return Subject(model: o, adapters: .none, adapter: "none")
            }
        case .object(let l as LoRAValue):
            return Subject(model: l.model, adapters: l.adapter.adapters, adapter: "lora (\(l.origin))")
        case .object(let c as CastValue):
            return Subject(model: c.target, adapters: c.cast.adapters, adapter: castLabel(c))
        default:
            throw call.error(parameter, "evaluate takes models, LoRAs and CAST adapters, got \(value.typeWithArticle)", kind: .type)
        }
    }

    static func castLabel(_ c: CastValue) -> String {
        "cast from \(c.source.transformer.name) (\(c.steps) step\(c.steps == 1 ? "" : "s"))"
    }

    static let evaluable = ParameterType.either(.model, A.loraType, A.castType)

    static var evaluate: Builtin {
        Builtin("evaluate", [
            Parameter("subject", .either(evaluable, .list(of: evaluable, named: "list of models and adapters")),
                      help: "A model, a LoRA or CAST adapter (run on its model), or a list of them."),
            Parameter("task", A.taskType, help: "A task (or its name); its test split is scored."),
            Parameter("adapter", .optional(.either(A.loraType, A.castType)), default: Value.none,
                      help: "An adapter to run a model with (for a single model)."),
            Parameter("limit", .optional(.integer), default: Value.none, help: "Score only the first this many test examples."),
        ], returns: "table",
        help: "Scores greedy answers on a task's test split (the first line generated, compared with the answer after "
            + "trimming spaces): one row per model or adapter with its score, correct and total. A LoRA runs on the "
            + "model it was made for, a CAST adapter on its target.",
        example: "evaluate([tgt, c, cross_lora(l, src, tgt)], task(\"arith\"), limit: 50)", usesEngine: true) { call in
            let task = try A.taskValue(call, "task")
            let limit = try optionalInteger(call, "limit", in: 1...Int.max)
            var subjects: [Subject] = []
            if case .list(let items) = call.value("subject") {
                guard !items.isEmpty else { throw call.error("subject", "the list is empty: give at least one model or adapter") }
                if case .object = call.value("adapter") {
                    throw call.error("adapter", "'adapter' goes with a single model; put adapters in the list instead")
                }
                subjects = try items.map { try subject($0, adapter: .none, call: call, parameter: "subject") }
            } else {
                if case .object = call.value("adapter"), call.object("subject", as: ModelValue.self) == nil {
                    throw call.error("adapter", "'adapter' goes with a model; a LoRA or CAST adapter already runs on its own")
                }
                subjects = [try subject(call.value("subject"), adapter: call.value("adapter"), call: call, parameter: "subject")]
            }
            let interpreter = call.interpreter
            let sink = interpreter.progress
            var rows: [[Value]] = []
            for s in subjects {
                let total = min(limit ?? task.suite.test.count, task.suite.test.count)
                sink?.begin(task: "evaluate \(s.model.transformer.name)", unit: "examples", total: total)
                defer { sink?.end() }
                let score: TaskScore
                do {
                    score = try TaskEvaluation.evaluate(s.model.transformer, adapters: s.adapters, task: task.suite, limit: limit,
                                                        shouldStop: { interpreter.isCancelled() },
                                                        progress: { done, total in sink?.report(done: done, total: total, detail: "") })
                } catch let stop as TaskInterrupted {
                    throw ScriptError(.interrupted, "evaluate: stopped after \(stop.completed) examples of \(s.model.transformer.name)",
                                      at: call.range)
                }
                rows.append([.string(s.model.transformer.name), .string(s.adapter), .number(score.score),
                             Value(score.correct), Value(score.total)])
            }
            return .object(TableValue(columns: ["model", "adapter", "score", "correct", "total"], rows: rows,
                                      caption: "task \(task.suite.name)"))
        }
    }

    // MARK: cross_lora, export, held_out_kl

    static var crossLoRA: Builtin {
        Builtin("cross_lora", [
            Parameter("lora", A.loraType, help: "The LoRA to carry."),
            Parameter("source", .model, help: "The model it was made for."),
            Parameter("target", .model, help: "The model to carry it to."),
            Parameter("layer_map", .string, default: .string("depth"), help: "depth, index, or target:source pairs."),
        ], returns: "lora",
        help: "Cross-LoRA, the training-free baseline: each LoRA delta projected into the target's weight subspaces "
            + "(truncated SVDs of both models' weights), same rank and scale. Returns a LoRA for the target.",
        example: "x = cross_lora(l, m, load(\"qwen2.5-0.5b\"))\nevaluate(x, task(\"arith\"), limit: 20)", usesEngine: true) { call in
            let lora = call.object("lora", as: LoRAValue.self)!
            let source = call.object("source", as: ModelValue.self)!, target = call.object("target", as: ModelValue.self)!
            guard lora.model.transformer === source.transformer else {
                throw call.error("source", "the LoRA was made for \(lora.model.transformer.name), not \(source.transformer.name)")
            }
            let map = try parseLayerMap(call)
            do {
                let carried = try CrossLoRA.transfer(lora.adapter, source: source.transformer, target: target.transformer, layerMap: map)
                return .object(LoRAValue(adapter: carried, model: target, origin: "cross_lora from \(source.transformer.name)"))
            } catch {
                throw call.error("target", Interpreter.describe(error))
            }
        }
    }

    static var export: Builtin {
        Builtin("export", [
            Parameter("cast", A.castType, help: "A CAST adapter."),
            Parameter("path", .string, help: "The PEFT folder to write."),
            Parameter("gguf", .optional(.string), default: Value.none, help: "Also write a GGUF-LoRA file (for llama.cpp)."),
        ], returns: "lora",
        help: "Writes a CAST adapter as the ordinary LoRA it stands for on its target (closed form, the source LoRA's "
            + "rank): a PEFT folder any PEFT-aware tool loads, and a GGUF-LoRA file with gguf:. Returns that LoRA.",
        example: "export(c, \"out/tgt-arith\")\nexport(c, \"out/tgt-arith\", gguf: \"out/tgt-arith.gguf\")", usesEngine: true) { call in
            let value = call.object("cast", as: CastValue.self)!
            let path = call.string("path")
            guard !path.isEmpty else { throw call.error("path", "'path' must not be empty") }
            let lora: LoRAAdapter
            do { lora = try value.cast.exported() } catch { throw call.error("cast", Interpreter.describe(error)) }
            let config = value.target.transformer.config
            do { try PEFTAdapterFolder.save(lora, for: config, to: URL(fileURLWithPath: path)) } catch {
                throw call.error("path", Interpreter.describe(error))
            }
            if let gguf = call.optionalString("gguf") {
                do { try GGUFLoRAFile.save(lora, for: config, to: URL(fileURLWithPath: gguf)) } catch {
                    throw call.error("gguf", Interpreter.describe(error))
                }
            }
            return .object(LoRAValue(adapter: lora, model: value.target, origin: "exported from cast", path: path))
        }
    }

    static func adapterSet(_ call: Call, _ name: String, for model: ModelValue) throws -> AdapterSet {
        switch call.value(name) {
        case .object(let l as LoRAValue):
            guard l.model.transformer === model.transformer else {
                throw call.error(name, "the LoRA is for \(l.model.transformer.name), not \(model.transformer.name)")
            }
            return l.adapter.adapters
        case .object(let c as CastValue):
            guard c.target.transformer === model.transformer else {
                throw call.error(name, "the CAST adapter is for \(c.target.transformer.name), not \(model.transformer.name)")
            }
            return c.cast.adapters
        default:
            return .none
        }
    }

    static var heldOutKL: Builtin {
        let adapterType = ParameterType.optional(.either(A.loraType, A.castType))
        return Builtin("held_out_kl", [
            Parameter("teacher", .model), Parameter("teacher_adapter", adapterType, help: "The teacher's adapter, or none."),
            Parameter("student", .model), Parameter("student_adapter", adapterType, help: "The student's adapter, or none."),
            Parameter("corpus", A.corpusType, help: "Its held-out windows are read."),
            Parameter("windows", .integer, default: Value(16), help: "How many held-out windows."),
            Parameter("window", .integer, default: Value(128), help: "Teacher tokens per window."),
        ], returns: "number",
        help: "The mean KL(teacher ‖ student) at temperature 1 over the aligned positions of a corpus's held-out windows "
            + "(over the shared tokens when the vocabularies differ): how close a transferred adapter brings the "
            + "target to the source with its LoRA. none when interrupted.",
        example: "held_out_kl(src, l, tgt, c, corpus(\"wiki\"), windows: 8)", usesEngine: true) { call in
            let teacher = call.object("teacher", as: ModelValue.self)!, student = call.object("student", as: ModelValue.self)!
            let windows = try call.integer("windows", in: 1...100_000)
            let length = try call.integer("window", in: 2...min(teacher.transformer.config.contextLength,
                                                                 student.transformer.config.contextLength))
            let teacherAdapters = try adapterSet(call, "teacher_adapter", for: teacher)
            let studentAdapters = try adapterSet(call, "student_adapter", for: student)
            let corpus = call.object("corpus", as: CorpusValue.self)!
            let interpreter = call.interpreter
            do {
                let paired = try corpus.paired(teacher: teacher.transformer, student: student.transformer, length: length)
                let kl = try HeldOutKL.measure(teacher: teacher.transformer, teacherAdapters: teacherAdapters,
                                               student: student.transformer, studentAdapters: studentAdapters, corpus: paired,
                                               windows: windows, shouldStop: { interpreter.isCancelled() })
                return kl.map { .number($0) } ?? .none
            } catch {
                throw call.error("corpus", Interpreter.describe(error))
            }
        }
    }
}
