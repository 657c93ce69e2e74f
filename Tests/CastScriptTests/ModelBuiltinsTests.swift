import CastModels
import CastTestSupport
import Foundation
import Testing
@testable import CastScript

/// Records what a long builtin reports, and asks it to stop after `stopAfter` reports.
final class RecordingProgress: ProgressSink {
    var events: [String] = []
    var reports = 0
    var stopAfter: Int?

    func begin(task: String, unit: String, total: Int) { events.append("begin \(task) \(total) \(unit)") }
    func report(done: Int, total: Int, detail: String) {
        reports += 1
        events.append("\(done)/\(total)")
    }
    func end() { events.append("end") }
    var shouldStop: Bool { stopAfter.map { reports >= $0 } ?? false }
}

/// The model builtins on the real smollm2-135m, against the engine's own calls.
@Suite("Model builtins", .serialized)
struct ModelBuiltinsTests {
    static let name = "smollm2-135m"

    /// An interpreter whose `load` hands out the test process's shared copy of the model,
    /// counting the loads.
    final class Session {
        let interpreter = Interpreter()
        var loads = 0
        var printed = ""

        init() {
            interpreter.loadModel = { [unowned self] name, weights, progress in
                self.loads += 1
                if name.contains("/") { return try Transformer.load(name, quantized: weights, progress: progress) }
                return try TestModels.model(name, weights: weights)
            }
            interpreter.output = { [unowned self] in self.printed += $0 }
            _ = try? interpreter.evaluate("m = load(\"\(ModelBuiltinsTests.name)\")")
        }

        func value(_ source: String) throws -> Value { try interpreter.evaluate(source) }
        func show(_ source: String) throws -> String { try value(source).plainText }
        func error(_ source: String) -> String? {
            scriptError { try self.interpreter.evaluate(source) }.map { "\($0.range.start): \($0.message)" }
        }
    }

    @Test("tokenize gives the engine tokenizer's ids, pieces and text")
    func tokenizeMatchesEngine() throws {
        let session = Session()
        let tokenizer = try TestModels.tokenizer(Self.name)
        for text in ["The quick brown fox jumps over the lazy dog.", "naïve café 1234 — 😀", "<|im_start|>user\nhi<|im_end|>", ""] {
            session.interpreter.set("text", .string(text))
            let tokens = try #require(try session.value("tokenize(m, text)").object as? TokenListValue)
            #expect(tokens.ids == tokenizer.encode(text, addSpecial: true, parseSpecial: true))
            #expect(tokens.pieces == tokens.ids.map { tokenizer.tokenText($0) ?? "" })
            #expect(try session.value("tokenize(m.tokenizer, text, special: false).ids")
                    == Value(tokenizer.encode(text, addSpecial: false, parseSpecial: true)))
            #expect(try session.value("decode(m, tokenize(m, text))") == .string(tokenizer.decode(tokens.ids)))
        }
        #expect(try session.show("t = tokenize(m, \"Hello world\"); [len(t), t[0], t[-1], t.text]") == #"[2, 19556, 905, "Hello world"]"#)
        #expect(try session.show("decode(m, [19556, 905])") == #""Hello world""#)
        #expect(try session.show("t") == """
            2 tokens (smollm2-135m)
            #     id  piece
            0  19556  "Hello"
            1    905  "Ġworld"
            """)
        #expect(try session.value("t").display()["text/html"]?.contains("<td style=\"text-align: right\">19556</td>") == true)
    }

    @Test("greedy generate gives the Generator's tokens and text", arguments: [false, true])
    func generateMatchesGenerator(chat: Bool) throws {
        let session = Session()
        let model = try TestModels.model(Self.name)
        let prompt = "What is the capital of France?"
        let expected = try Generator(model: model).generate(texts: [prompt], chat: chat,
                                                            options: GenerationOptions(maxNewTokens: 12, sampling: .greedy))
        let value = try session.value("generate(m, \"\(prompt)\", max_tokens: 12, chat: \(chat))")
        let generation = try #require(value.object as? GenerationValue)
        #expect(generation.sequence.ids == expected.sequences[0].ids)
        #expect(generation.sequence.text == expected.sequences[0].text)
        #expect(generation.sequence.promptIds == expected.sequences[0].promptIds)
        session.interpreter.set("r", value)
        #expect(try session.value("r.text") == .string(expected.sequences[0].text))
        #expect(try session.value("r.finish_reason") == .string(expected.sequences[0].finishReason.rawValue))
        #expect(try session.value("r.count") == Value(expected.sequences[0].ids.count))
    }

    @Test("generate from a token list equals generate from its text; sampling is seeded")
    func generateOptions() throws {
        let session = Session()
        #expect(try session.value("generate(m, tokenize(m, \"Once upon a time\"), max_tokens: 8).ids")
                == session.value("generate(m, \"Once upon a time\", max_tokens: 8).ids"))
        let sampled = "generate(m, \"Once upon a time\", max_tokens: 8, temperature: 0.9, top_p: 0.9, seed: 7).ids"
        #expect(try session.value(sampled) == session.value(sampled))
        let stopped = try session.value("generate(m, \"1, 2, 3, 4,\", max_tokens: 20, stop: [\"7\"])")
        let generation = try #require(stopped.object as? GenerationValue)
        #expect(generation.sequence.finishReason == .stopString)
        #expect(!generation.sequence.text.contains("7"))
    }

    @Test("logits gives the engine's next-token logits, top first")
    func logitsMatchEngine() throws {
        let session = Session()
        let model = try TestModels.model(Self.name)
        let prompt = "The capital of France is"
        let ids = try #require(model.tokenizer).encode(prompt)
        let full = try model.logits([ids.map(Int32.init)])
        let vocab = model.config.vocabularySize
        let row = Array(UnsafeBufferPointer(start: full.data + (ids.count - 1) * vocab, count: vocab))
        let order = row.indices.sorted { row[$0] > row[$1] }
        let value = try session.value("l = logits(m, \"\(prompt)\", top: 5); l")
        let logits = try #require(value.object as? LogitsValue)
        #expect(logits.promptIds == ids)
        #expect(logits.top.map(\.id) == Array(order.prefix(5)))
        for entry in logits.top { #expect(abs(entry.logit - row[entry.id]) < 1e-3) }
        #expect(try session.show("l.best") == #""ĠParis""#)
        #expect(try session.show("l[0].token") == #""ĠParis""#)
        let probabilities = try session.value("l.probabilities")
        guard case .list(let ps) = probabilities, case .number(let p0) = ps[0] else { throw ScriptError(.type, "", at: SourceRange(.start, .start)) }
        #expect(p0 > 0.5 && p0 < 1)
        #expect(try session.value("len(l)") == .number(5))
        #expect(try session.value("l.table").display()["text/html"]?.contains(">probability</th>") == true)
    }

    @Test("load is cached per session; info and attributes describe the model")
    func loadAndInfo() throws {
        let session = Session()
        #expect(session.loads == 1)
        #expect(try session.show("load(\"smollm2-135m\") == m") == "true")
        #expect(session.loads == 1)
        #expect(try session.show("[m.layers, m.hidden_size, m.heads, m.kv_heads, m.vocabulary, m.architecture, m.name]")
                == #"[30, 576, 9, 3, 49152, "llama", "smollm2-135m"]"#)
        #expect(try session.show("m.tokenizer.vocabulary") == "49152")
        #expect(try session.show("info(m).layers") == "30")
        #expect(try session.show("m").contains("hidden_size   576"))
        #expect(try session.show("type(m) + \" \" + type(m.tokenizer) + \" \" + type(info(m))") == #""model tokenizer record""#)
        #expect(try session.show("m.sliding_window") == "none")
        #expect(try session.show("models().name[0]") == #""smollm2-135m""#)
        #expect(try session.value("help(m)").plainText.contains(".layers"))
    }

    @Test("argument and engine errors are located and leave the session intact")
    func errors() {
        let session = Session()
        let cases: [(String, String)] = [
            ("load(\"smollm2-135\")", "1:6: load: unknown model 'smollm2-135'; did you mean 'smollm2-135m'? (known: smollm2-135m, gemma3-270m, qwen2.5-0.5b, qwen2.5-1.5b; or give the path of a .gguf file)"),
            ("load(\"smollm2-135m\", weights: \"fp32\")", "1:31: load: 'weights' must be \"preferred\", \"packed\" or \"float32\", got \"fp32\""),
            ("load(\"/no/such/model.gguf\")", "1:1: load: /no/such/model.gguf: no such file or folder"),
            ("m.layer", "1:3: a model has no attribute 'layer'; did you mean 'layers'?"),
            ("generate(m, 3)", "1:13: generate: 'prompt' must be a string or tokens, got a number (3)"),
            ("generate(m, \"x\", max_tokens: 0)", "1:30: generate: 'max_tokens' must be between 1 and 8192, got 0"),
            ("generate(m, \"x\", temperature: -1)", "1:31: generate: 'temperature' must be 0 (greedy) or more, got -1"),
            ("generate(m, \"x\", top_p: 0)", "1:25: generate: 'top_p' must be in (0, 1], got 0"),
            ("generate(m, \"x\", max_token: 3)", "1:18: generate has no parameter 'max_token'; did you mean 'max_tokens'?"),
            ("generate(m, \"x\", stop: [1])", "1:24: generate: 'stop' must be a list of strings, got a list"),
            ("generate(\"x\", m)", "1:10: generate: 'model' must be a model, got a string (\"x\")"),
            ("generate(m)", "1:1: generate: missing argument 'prompt' (generate(model, prompt, max_tokens: 32, chat: false, system: none, temperature: 0, top_p: 1, top_k: 0, seed: 0, stop: [], adapter: none) -> generation)"),
            ("logits(m, \"\", top: 5)", "1:11: logits: the prompt has no tokens"),
            ("logits(m, \"x\", top: 0)", "1:21: logits: 'top' must be between 1 and 49152, got 0"),
            ("decode(m, [1, -5])", "1:11: decode: token id -5 at index 1 is outside the vocabulary (0..<49152)"),
            ("tokenize(m)", "1:1: tokenize: missing argument 'text' (tokenize(source, text, special: true) -> tokens)"),
            ("tokenize(1, \"x\")", "1:10: tokenize: 'source' must be a model or tokenizer, got a number (1)"),
        ]
        for (source, expected) in cases {
            #expect(session.error(source) == expected, "\(source)")
        }
        #expect(session.interpreter.variables["m"]?.typeName == "model")
    }

    @Test("generate reports progress token by token and stops when cancelled, keeping its tokens")
    func progressAndCancellation() throws {
        let session = Session()
        let progress = RecordingProgress()
        session.interpreter.progress = progress
        _ = try session.value("r = generate(m, \"Count: 1, 2, 3,\", max_tokens: 6)")
        #expect(progress.events.first == "begin generate 6 tokens")
        #expect(progress.events.last == "end")
        #expect(progress.events.contains("1/6"))

        progress.events = []
        progress.reports = 0
        progress.stopAfter = 3
        session.interpreter.isCancelled = { progress.shouldStop }
        let error = scriptError { try session.interpreter.run("s = generate(m, \"Count: 1, 2, 3,\", max_tokens: 30)\nafter = 1") }
        #expect(error?.kind == .interrupted)
        #expect(error?.range.start.description == "2:1")
        #expect(try session.show("s.finish_reason") == #""interrupted""#)
        #expect(try session.show("s.count") == "3")
        #expect(session.interpreter.variables["after"] == nil)
        #expect(try session.show("r.count") == "6")
    }
}

extension Value {
    /// The engine object inside, for tests.
    var object: (any ScriptObject)? {
        if case .object(let o) = self { return o }
        return nil
    }
}
