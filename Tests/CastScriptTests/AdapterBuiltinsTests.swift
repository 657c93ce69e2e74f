import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Foundation
import Testing
@testable import CastScript

/// The adapter builtins on the real smollm2-135m with tiny settings, against the engine's
/// own calls.
@Suite("Adapter builtins", .serialized)
struct AdapterBuiltinsTests {
    typealias Session = ModelBuiltinsTests.Session

    /// One wiki corpus for every test, so its windows are cut once per window length.
    nonisolated(unsafe) static let wiki: CorpusValue? = try? CorpusValue(corpus: TextCorpus.wiki())

    static func session() throws -> Session {
        let session = Session()
        session.interpreter.set("wiki", .object(try #require(wiki)))
        return session
    }

    static func model(_ session: Session) throws -> Transformer {
        try #require(try session.value("m").object as? ModelValue).transformer
    }

    static func factors(_ adapter: LoRAAdapter) -> [[Float]] {
        adapter.modules.flatMap { [$0.factors.a.scalars, $0.factors.b.scalars] }
    }

    @Test("task and corpus values: counts, attributes, display")
    func taskAndCorpus() throws {
        let session = try Self.session()
        let suite = try TaskSuite.load("arith")
        #expect(try session.value("task(\"arith\").train") == Value(suite.train.count))
        #expect(try session.value("task(\"arith\").test") == Value(suite.test.count))
        #expect(try session.value("task(\"arith\").name") == .string("arith"))
        #expect(try session.value("len(task(\"arith\").examples)") == Value(5))
        let shown = try session.show("task(\"arith\")")
        #expect(shown.hasPrefix("task arith: \(suite.train.count) train, \(suite.test.count) test examples"))
        #expect(shown.contains(suite.test[0].answer))
        let corpus = try #require(Self.wiki)
        #expect(try session.value("wiki.documents") == Value(corpus.corpus.train.count))
        #expect(try session.value("wiki.held_out") == Value(corpus.corpus.heldOut.count))
        #expect(try session.show("wiki").contains("corpus wiki"))
        #expect(try session.value("type(wiki)") == .string("corpus"))
    }

    @Test("lora gives LoRAAdapter's fresh factors; save and load_adapter round-trip PEFT and GGUF")
    func freshLoRAAndFiles() throws {
        let session = try Self.session()
        let model = try Self.model(session)
        let value = try #require(try session.value("l = lora(m, rank: 2, modules: [\"q_proj\", \"v_proj\"], layers: [0, 3], seed: 5)\nl").object as? LoRAValue)
        let config = LoRAConfig(rank: 2, alpha: 4, targetModules: ["q_proj", "v_proj"], layers: [0, 3], baseModel: model.name)
        let engine = try LoRAAdapter(for: model.config, config: config, seed: 5)
        #expect(Self.factors(value.adapter) == Self.factors(engine) ? true : false)
        #expect(try session.value("l.layers") == Value([0, 3]))
        #expect(try session.value("l.parameters") == Value(engine.parameterCount))
        #expect(try session.value("l.alpha") == Value(4))
        #expect(try session.show("l").contains("origin      fresh"))

        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        session.interpreter.set("dir", .string(folder.appendingPathComponent("peft").path))
        session.interpreter.set("file", .string(folder.appendingPathComponent("l.gguf").path))
        #expect(try session.value("save(l, dir, gguf: file)") == .string(folder.appendingPathComponent("peft").path))
        #expect(try session.value("l.path") == .string(folder.appendingPathComponent("peft").path))
        let peft = try #require(try session.value("load_adapter(m, dir)").object as? LoRAValue)
        let gguf = try #require(try session.value("load_adapter(m, file)").object as? LoRAValue)
        #expect(Self.factors(peft.adapter) == Self.factors(engine))
        #expect(Self.factors(gguf.adapter) == Self.factors(engine))
        #expect(peft.origin == "loaded")
    }

    @Test("train_lora equals LoRATrainer with the same options; step and train continue it")
    func trainLoRAMatchesEngine() throws {
        let session = try Self.session()
        let model = try Self.model(session)
        let progress = RecordingProgress()
        session.interpreter.progress = progress
        let value = try #require(try session.value(
            "l = train_lora(m, \"arith\", rank: 2, steps: 3, lr: 3e-3, batch_size: 2, seed: 1)\nl").object as? LoRAValue)
        #expect(progress.events.first == "begin train_lora smollm2-135m 3 steps")
        #expect(progress.events.last == "end")

        var options = TrainingOptions()
        options.steps = 3
        options.learningRate = 3e-3
        options.minLearningRate = 3e-4
        options.batchSize = 2
        options.warmupSteps = 0
        options.seed = 1
        let config = LoRAConfig(rank: 2, alpha: 4, targetModules: ["q_proj", "v_proj"], baseModel: model.name)
        let engine = try LoRAAdapter(for: model.config, config: config, seed: 1)
        let trainer = try LoRATrainer(model: model, lora: engine, task: try TaskSuite.load("arith"), options: options)
        var losses: [Double] = []
        try trainer.run(onStep: { losses.append($0.loss) })
        #expect(Self.factors(value.adapter) == Self.factors(engine) ? true : false)
        #expect(value.history.loss == losses)
        #expect(try session.value("l.steps") == Value(3))
        #expect(try session.value("l.loss") == .list(losses.map { .number($0) }))

        // step runs more steps of the same run, exactly as the engine's trainer does.
        _ = try session.value("step(l, n: 2)")
        for _ in 0..<2 { losses.append(try trainer.step().loss) }
        #expect(value.history.loss == losses)
        #expect(Self.factors(value.adapter) == Self.factors(engine) ? true : false)
    }

    /// The CAST run the tests compare with: smollm2 → smollm2, 1 window of 16 tokens a step.
    static func castOptions(steps: Int) -> CastOptions {
        var o = CastOptions()
        o.training.steps = steps
        o.training.learningRate = 1e-3
        o.training.minLearningRate = 1e-4
        o.training.batchSize = 1
        o.training.warmupSteps = 0
        o.windowLength = 16
        return o
    }

    static func castParameters(_ cast: CastAdapter) -> [[Float]] {
        cast.layers.flatMap { [$0.cast.pIn.scalars, $0.cast.pOut.scalars] } + [cast.head.scalars]
    }

    /// The largest difference between two CAST adapters' P's and H (the same steps agree
    /// within float rounding: the BLAS kernels' reductions differ in the last bits).
    static func castDifference(_ a: CastAdapter, _ b: CastAdapter) -> Float {
        let x = castParameters(a), y = castParameters(b)
        guard x.count == y.count, zip(x, y).allSatisfy({ $0.count == $1.count }) else { return .infinity }
        return zip(x, y).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
    }

    /// Step losses that agree within float rounding.
    static func close(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }
    }

    @Test("cast + train equal CastTrainer; an interrupted train keeps its last step and train continues")
    func castTrainInterruptAndContinue() throws {
        let session = try Self.session()
        let model = try Self.model(session)
        _ = try session.value("l = lora(m, rank: 2, layers: [0, 29], seed: 3)")
        let lora = try #require(try session.value("l").object as? LoRAValue)
        // Give the LoRA an effect so the distillation has something to match.
        for module in lora.adapter.modules {
            var rng = CastTensor.SeededGenerator(seed: 11)
            module.factors.b = Tensor.randomNormal(module.factors.b.shape, std: 0.05, using: &rng)
        }
        let value = try #require(try session.value("c = cast(l, from: m, to: m)\nc").object as? CastValue)
        #expect(try session.value("c.layers") == Value(4))
        #expect(try session.value("c.steps") == Value(0))

        let progress = RecordingProgress()
        progress.stopAfter = 2
        session.interpreter.progress = progress
        session.interpreter.isCancelled = { progress.shouldStop }
        _ = try session.value("train(c, wiki, steps: 4, batch_size: 1, window: 16)")
        #expect(value.steps == 2)
        #expect(value.trainer?.completedSteps == 2)
        #expect(progress.events.first == "begin cast smollm2-135m → smollm2-135m 4 steps")
        progress.stopAfter = nil
        _ = try session.value("train(c, wiki)")
        #expect(value.steps == 4)
        #expect(try session.value("len(c.kl)") == Value(4))
        #expect(try session.value("len(c.mse)") == Value(4))

        let engineCast = try CastAdapter(lora: lora.adapter, source: model, target: model, layerMap: .relativeDepth, seed: 0)
        let corpus = try #require(Self.wiki).paired(teacher: model, student: model, length: 16)
        let trainer = try CastTrainer(teacher: model, lora: lora.adapter, student: model, cast: engineCast, corpus: corpus,
                                      options: Self.castOptions(steps: 4))
        var losses: [Double] = []
        try trainer.run(onStep: { losses.append($0.loss) })
        #expect(Self.close(value.history.loss, losses))
        #expect(Self.castDifference(value.cast, engineCast) < 1e-6)

        // step goes past the run's end, as the engine's trainer does.
        _ = try session.value("step(c)")
        losses.append(try trainer.step().loss)
        #expect(Self.close(value.history.loss, losses))
        #expect(Self.castDifference(value.cast, engineCast) < 1e-6)
        #expect(try session.show("c").contains("steps       5"))

        // export: a PEFT folder that gives the model the CAST layers' logits.
        let folder = try TestSupport.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        session.interpreter.set("dir", .string(folder.appendingPathComponent("peft").path))
        session.interpreter.set("file", .string(folder.appendingPathComponent("c.gguf").path))
        _ = try session.value("export(c, dir, gguf: file)")
        let exported = try PEFTAdapterFolder.load(folder.appendingPathComponent("peft"), for: model.config)
        let tokens: [[Int32]] = [[1, 504, 2365, 6354, 16438, 27003, 690, 260]]
        var castPass = ForwardPass(), exportedPass = ForwardPass()
        try model.forward(tokens, options: ForwardOptions(adapters: value.cast.adapters), pass: &castPass)
        try model.forward(tokens, options: ForwardOptions(adapters: exported.adapters), pass: &exportedPass)
        let difference = zip(castPass.logits.scalars, exportedPass.logits.scalars).map { abs($0 - $1) }.max() ?? 1
        #expect(difference < 1e-3)
        let gguf = try GGUFLoRAFile.load(folder.appendingPathComponent("c.gguf"), for: model.config)
        #expect(Self.factors(gguf) == Self.factors(exported))

        // save: a CAST folder needs the source LoRA on disk; load_adapter reads it back.
        session.interpreter.set("castdir", .string(folder.appendingPathComponent("cast").path))
        session.interpreter.set("loradir", .string(folder.appendingPathComponent("lora").path))
        #expect(session.error("save(c, castdir)")?.hasPrefix("1:6: save: the CAST folder reads its source LoRA from disk") == true)
        _ = try session.value("save(l, loradir)\nsave(c, castdir)")
        let reloaded = try #require(try session.value("load_adapter(m, castdir)").object as? LoRAValue)
        #expect(Self.factors(reloaded.adapter) == Self.factors(exported))
        #expect(reloaded.origin == "CAST folder")

        // held_out_kl equals HeldOutKL.measure.
        let kl = try HeldOutKL.measure(teacher: model, teacherAdapters: lora.adapter.adapters, student: model,
                                       studentAdapters: value.cast.adapters,
                                       corpus: try #require(Self.wiki).paired(teacher: model, student: model, length: 16), windows: 2)
        #expect(try session.value("held_out_kl(m, l, m, c, wiki, windows: 2, window: 16)") == .number(try #require(kl)))
    }

    @Test("the least-squares initialisation reports progress and, interrupted, leaves the adapter as it was")
    func leastSquaresProgressAndStop() throws {
        let session = try Self.session()
        let value = try #require(try session.value(
            "l = lora(m, rank: 2, layers: [0], seed: 3)\nc = cast(l, to: m, variant: \"least-squares\")\nc").object as? CastValue)
        let before = Self.castParameters(value.cast)
        let progress = RecordingProgress()
        progress.stopAfter = 1
        session.interpreter.progress = progress
        session.interpreter.isCancelled = { progress.shouldStop }
        #expect(session.error("train(c, wiki, steps: 1, batch_size: 1, window: 16)")
                == "1:1: train: stopped during the least-squares initialisation; the CAST adapter is as it was (train again to start over)")
        #expect(progress.events.prefix(2) == ["begin least-squares init smollm2-135m → smollm2-135m 32 windows", "4/32"])
        #expect(Self.castParameters(value.cast) == before, "an interrupted initialisation changes nothing")
        #expect(try session.value("c.steps") == Value(0))

        let again = RecordingProgress()
        session.interpreter.progress = again
        session.interpreter.isCancelled = { false }
        _ = try session.value("train(c, wiki, steps: 1, batch_size: 1, window: 16)")
        #expect(again.events.contains("32/32") && again.events.contains("begin cast smollm2-135m → smollm2-135m 1 steps"), "\(again.events)")
        #expect(Self.castParameters(value.cast) != before)
        #expect(try session.value("c.steps") == Value(1))
    }

    @Test("evaluate equals TaskEvaluation for models, LoRAs and CAST adapters")
    func evaluateMatchesEngine() throws {
        let session = try Self.session()
        let model = try Self.model(session)
        let table = try #require(try session.value(
            "l = lora(m, rank: 2, seed: 1)\nc = cast(l, to: m, layer_map: \"index\")\nevaluate([m, l, c], task(\"arith\"), limit: 3)").object as? TableValue)
        let lora = try #require(try session.value("l").object as? LoRAValue)
        let suite = try TaskSuite.load("arith")
        let bare = try TaskEvaluation.evaluate(model, task: suite, limit: 3)
        let adapted = try TaskEvaluation.evaluate(model, adapters: lora.adapter.adapters, task: suite, limit: 3)
        #expect(table.columns == ["model", "adapter", "score", "correct", "total"])
        #expect(table.rows.count == 3)
        #expect(table.rows[0] == [.string("smollm2-135m"), .string("none"), .number(bare.score), Value(bare.correct), Value(3)])
        #expect(table.rows[1][2] == .number(adapted.score))
        #expect(table.rows[1][1] == .string("lora (fresh)"))
        #expect(table.rows[2][1] == .string("cast from smollm2-135m (0 steps)"))
        let single = try #require(try session.value("evaluate(m, \"arith\", adapter: l, limit: 3)").object as? TableValue)
        #expect(single.rows[0][2] == .number(adapted.score))
        #expect(try session.show("evaluate(m, \"arith\", limit: 1)").hasPrefix("task arith\nmodel"))
    }

    @Test("cross_lora equals CrossLoRA.transfer")
    func crossLoRAMatchesEngine() throws {
        let session = try Self.session()
        let model = try Self.model(session)
        let carried = try #require(try session.value("l = lora(m, rank: 2, layers: [2], seed: 4)\nx = cross_lora(l, m, m)\nx").object as? LoRAValue)
        let lora = try #require(try session.value("l").object as? LoRAValue)
        let engine = try CrossLoRA.transfer(lora.adapter, source: model, target: model, layerMap: .relativeDepth)
        #expect(Self.factors(carried.adapter) == Self.factors(engine))
        #expect(carried.origin == "cross_lora from smollm2-135m")
    }

    @Test("generate and logits with adapter: run the model with that LoRA or CAST adapter, as the engine does")
    func generationWithAdapter() throws {
        let session = try Self.session()
        let model = try Self.model(session)
        let lora = try #require(try session.value(
            "l = train_lora(m, \"arith\", rank: 2, steps: 2, lr: 1e-2, batch_size: 2, seed: 1)\nl").object as? LoRAValue)
        let prompt = "12+7="
        let expected = try Generator(model: model, adapters: lora.adapter.adapters)
            .generate(texts: [prompt], chat: false, options: GenerationOptions(maxNewTokens: 6, sampling: .greedy))
        let generated = try #require(try session.value("generate(m, \"\(prompt)\", max_tokens: 6, adapter: l)").object as? GenerationValue)
        #expect(generated.sequence.ids == expected.sequences[0].ids)

        let ids = try #require(model.tokenizer).encode(prompt).map(Int32.init)
        let vocab = model.config.vocabularySize
        func lastRow(_ logits: Tensor) -> [Float] {
            Array(UnsafeBufferPointer(start: logits.data + (ids.count - 1) * vocab, count: vocab))
        }
        let adapted = lastRow(try model.logits([ids], adapters: lora.adapter.adapters))
        let bare = lastRow(try model.logits([ids]))
        let withAdapter = try #require(try session.value("logits(m, \"\(prompt)\", top: 3, adapter: l)").object as? LogitsValue)
        let without = try #require(try session.value("logits(m, \"\(prompt)\", top: 3)").object as? LogitsValue)
        for entry in withAdapter.top { #expect(abs(entry.logit - adapted[entry.id]) < 1e-3) }
        for entry in without.top { #expect(abs(entry.logit - bare[entry.id]) < 1e-3) }
        // The LoRA moved the logits: the test would not notice a dropped adapter otherwise.
        #expect(withAdapter.top.map(\.logit) != without.top.map(\.logit))

        // A CAST adapter for m runs too; one that does not fit the model is refused.
        _ = try session.value("c = cast(l, to: m)")
        #expect(try session.value("logits(m, \"\(prompt)\", top: 3, adapter: c).best") != .none)
        #expect(session.error("generate(m, \"x\", adapter: 3)")
                == "1:27: generate: 'adapter' must be a lora or cast or none, got a number (3)")
    }

    @Test("compare puts each subject's greedy answers side by side, as the engine's generators give them")
    func compareSubjects() throws {
        let session = try Self.session()
        let model = try Self.model(session)
        let lora = try #require(try session.value(
            "l = train_lora(m, \"arith\", rank: 2, steps: 2, lr: 1e-2, batch_size: 2, seed: 1)\nl").object as? LoRAValue)
        let prompts = ["12+7=", "The capital of France is"]
        let table = try #require(try session.value(
            "compare([m, l, m], [\"12+7=\", \"The capital of France is\"], max_tokens: 4)").object as? TableValue)
        #expect(table.columns == ["prompt", "smollm2-135m", "smollm2-135m + lora (trained on arith)", "smollm2-135m", "agree"])
        let options = GenerationOptions(maxNewTokens: 4, sampling: .greedy)
        let bare = try Generator(model: model).generate(texts: prompts, options: options).sequences.map(\.text)
        let adapted = try Generator(model: model, adapters: lora.adapter.adapters).generate(texts: prompts, options: options)
            .sequences.map(\.text)
        for (p, row) in table.rows.enumerated() {
            #expect(row[0] == .string(prompts[p]))
            #expect(row[1] == .string(bare[p]) && row[3] == .string(bare[p]))
            #expect(row[2] == .string(adapted[p]))
            #expect(row[4] == .bool(bare[p].trimmingCharacters(in: .whitespacesAndNewlines)
                                     == adapted[p].trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        #expect(try session.value("compare([m], \"hi\", max_tokens: 1).columns") == Value(["prompt", "smollm2-135m", "agree"]))
        #expect(session.error("compare([], \"hi\")") == "1:9: compare: the list is empty: give at least one model or adapter")
        #expect(session.error("compare([m], [])") == "1:14: compare: the list is empty: give at least one prompt")
        let progress = RecordingProgress()
        progress.stopAfter = 1
        session.interpreter.progress = progress
        session.interpreter.isCancelled = { progress.shouldStop }
        #expect(session.error("compare([m, l], [\"a\", \"b\"], max_tokens: 2)")
                == "1:1: compare: stopped after 1 of 4 answers; nothing was kept")
    }

    @Test("teacher_text writes what SelfText writes: answers to given prompts, or continuations of corpus prefixes")
    func teacherText() throws {
        let session = try Self.session()
        _ = try session.value("l = lora(m, rank: 2, layers: [0], seed: 1)")
        let lora = try #require(try session.value("l").object as? LoRAValue)
        var options = SelfText.Options()
        options.documents = 3
        options.tokens = 5
        let prompts = ["Compute 2 + 3.\nAnswer:", "Reverse the word cat.\nAnswer:"]
        let value = try #require(try session.value("teacher_text(l, prompts: [\"Compute 2 + 3.\\nAnswer:\", \"Reverse the word cat.\\nAnswer:\"], "
                                                   + "documents: 3, tokens: 5, corpus: wiki)").object as? CorpusValue)
        let engine = try #require(try SelfText.write(teacher: try Self.model(session), adapters: lora.adapter.adapters,
                                                     promptTexts: prompts, options: options))
        let trimmed = { (documents: [String]) in documents.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty } }
        #expect(value.corpus.train == trimmed(engine.documents) && value.corpus.heldOut == Self.wiki?.corpus.heldOut)
        // A task gives its train prompts (never its answers); none continues the corpus's prefixes.
        let fromTask = try #require(try session.value("teacher_text(l, prompts: \"arith\", documents: 2, tokens: 4)").object as? CorpusValue)
        let suite = try TaskSuite.load("arith")
        #expect(fromTask.corpus.train.count == 2 && fromTask.corpus.train[0].hasPrefix(suite.train[0].prompt))
        let free = try #require(try session.value("teacher_text(l, documents: 2, tokens: 4, corpus: wiki)").object as? CorpusValue)
        options.documents = 2
        options.tokens = 4
        let wiki = try #require(Self.wiki).corpus
        let selfText = try #require(try SelfText.write(teacher: try Self.model(session), adapters: lora.adapter.adapters,
                                                       prefixesFrom: wiki, options: options))
        #expect(free.corpus.train == trimmed(selfText.documents))
        #expect(session.error("teacher_text(l, prompts: [])") == "1:26: teacher_text: 'prompts' is an empty list")
        #expect(session.error("teacher_text(l, documents: 1)") == "1:28: teacher_text: 'documents' must be between 2 and 1000000, got 1")
        #expect(session.error("teacher_text(l, prompts: \"/nonexistent.jsonl\")")?.hasPrefix("1:26: teacher_text: /nonexistent.jsonl: cannot read") == true)
    }

    @Test("fetch checks a cached model and says where it is; an unknown name suggests one")
    func fetchBuiltin() throws {
        let session = try Self.session()
        let record = try #require(try session.value("fetch(\"smollm2-135m\")").object as? RecordValue)
        let entry = try ModelRegistry.entry(named: "smollm2-135m")
        #expect(record.instanceAttribute("sha256") == .string(entry.file.sha256))
        guard case .string(let path) = try #require(record.instanceAttribute("path")) else { Issue.record("no path"); return }
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(session.error("fetch(\"smolm2-135m\")")?.hasPrefix("1:7: fetch: unknown model or corpus 'smolm2-135m'; did you mean 'smollm2-135m'?") == true)
    }

    @Test("every error names its parameter and points at it")
    func errors() throws {
        let session = try Self.session()
        _ = try session.value("l = lora(m, rank: 2, layers: [0], seed: 1)\nc = cast(l, to: m)")
        let cases: [(String, String)] = [
            ("task(\"nope\")", "1:6: task: task 'nope': no such file and no built-in task of that name (built-in: arith, dates, reverse)"),
            ("corpus(\"nope\")", "1:8: corpus: no corpus 'nope' (wiki, or the path of a JSON file)"),
            ("lora(m, rank: 0)", "1:15: lora: 'rank' must be between 1 and 576, got 0"),
            ("lora(m, alpha: -1)", "1:16: lora: 'alpha' must be a number > 0, got -1"),
            ("lora(m, modules: [])", "1:18: lora: 'modules' must name at least one module"),
            ("lora(m, layers: [30])", "1:17: lora: layer 30 does not exist: smollm2-135m has layers 0..<30"),
            ("lora(m, layers: [])", "1:17: lora: 'layers' must hold at least one layer (or be none)"),
            ("lora(m, seed: -1)", "1:15: lora: 'seed' must be at least 0, got -1"),
            ("lora(m, rank: \"8\")", "1:15: lora: 'rank' must be a whole number, got a string (\"8\")"),
            ("load_adapter(m, \"/nonexistent\")", "1:17: load_adapter: /nonexistent: no such adapter folder or file"),
            ("save(l, \"\")", "1:9: save: 'path' must not be empty"),
            ("save(c, \"x\", gguf: \"y\")", "1:20: save: a CAST folder has no GGUF form; export(c, path, gguf: file) writes the LoRA it stands for"),
            ("train_lora(m, \"arith\", steps: -1)", "1:31: train_lora: 'steps' must be between 0 and 10000000, got -1"),
            ("train_lora(m, \"arith\", lr: 0)", "1:28: train_lora: 'lr' must be a number > 0, got 0"),
            ("train_lora(m, \"arith\", batch_size: 0)", "1:36: train_lora: 'batch_size' must be between 1 and 65536, got 0"),
            ("train_lora(m, \"nope\")", "1:15: train_lora: task 'nope': no such file and no built-in task of that name (built-in: arith, dates, reverse)"),
            ("cast(l, to: m, variant: \"papr\")", "1:25: cast: 'variant' must be one of \"paper\", \"least-squares\", \"delta\", \"excess\", got \"papr\"; did you mean 'paper'?"),
            ("cast(l, to: m, layer_map: \"0-1\")", "1:27: cast: layer map '0-1': expected index, depth or target:source pairs like 0:0,1:2 (at '0-1')"),
            ("cast(l, to: m, layer_map: \"5:9\")", "1:27: cast: layer map 5:9 pairs no target layer with the LoRA's source layers [0]"),
            ("cast(l)", "1:1: cast: missing argument 'to' (cast(lora, from: none, to, layer_map: \"depth\", variant: \"paper\", seed: 0) -> cast)"),
            ("train(c, task(\"arith\"))", "1:10: train: a CAST adapter trains on a corpus (corpus(\"wiki\")), got a task"),
            ("train(l, wiki)", "1:10: train: a LoRA trains on a task (task(\"arith\")), got a corpus"),
            ("train(c, wiki, window: 1)", "1:24: train: 'window' must be between 2 and 8192, got 1"),
            ("train(c, wiki, temperature: 0)", "1:29: train: 'temperature' must be a number > 0, got 0"),
            ("train(c, wiki, beta: -1)", "1:22: train: 'beta' must be a number ≥ 0, got -1"),
            ("train(c, wiki, steps: 1, batch_size: 1, window: 100000)", "1:49: train: 'window' must be between 2 and 8192, got 100000"),
            ("step(c)", "1:6: step: this CAST adapter has no training run yet: train(c, corpus(\"wiki\"), …) starts one"),
            ("step(l)", "1:6: step: this LoRA has no training run yet: train(l, task(\"arith\"), …) starts one"),
            ("step(c, n: 0)", "1:12: step: 'n' must be between 1 and 10000000, got 0"),
            ("evaluate([], \"arith\")", "1:10: evaluate: the list is empty: give at least one model or adapter"),
            ("evaluate([m, 3], \"arith\")", "1:10: evaluate: 'subject' must be a model or lora or cast or list of models and adapters, got a list"),
            ("evaluate(l, \"arith\", adapter: l)", "1:31: evaluate: 'adapter' goes with a model; a LoRA or CAST adapter already runs on its own"),
            ("evaluate([m], \"arith\", adapter: l)", "1:33: evaluate: 'adapter' goes with a single model; put adapters in the list instead"),
            ("evaluate(m, \"arith\", limit: 0)", "1:29: evaluate: 'limit' must be at least 1, got 0"),
            ("cross_lora(l, m, m, layer_map: \"x\")", "1:32: cross_lora: layer map 'x': expected index, depth or target:source pairs like 0:0,1:2 (at 'x')"),
            ("export(c, \"\")", "1:11: export: 'path' must not be empty"),
            ("export(l, \"x\")", "1:8: export: 'cast' must be a cast, got a lora"),
            ("held_out_kl(m, none, m, none, wiki, windows: 0)", "1:46: held_out_kl: 'windows' must be between 1 and 100000, got 0"),
        ]
        for (source, expected) in cases {
            #expect(session.error(source) == expected, "\(source)")
        }
    }
}
