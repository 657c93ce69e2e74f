import CastModels
import Foundation

/// A loaded model (`load("smollm2-135m")`). Shared, read-only; its generator keeps KV-cache
/// buffers between `generate` calls.
public final class ModelValue: ScriptObject {
    public static let typeName = "model"
    public static let summary = "A loaded language model: m.layers, m.vocabulary, m.tokenizer, … (see info(m))."
    public let transformer: Transformer
    /// What `load` was given: a registry name or a file path.
    public let source: String
    public let weights: QuantizedWeights
    public let loadSeconds: Double
    /// One generator per model so its cache buffers are reused across calls.
    public private(set) lazy var generator = Generator(model: transformer)

    public init(transformer: Transformer, source: String, weights: QuantizedWeights, loadSeconds: Double) {
        self.transformer = transformer
        self.source = source
        self.weights = weights
        self.loadSeconds = loadSeconds
    }

    public static var attributes: [Attribute<ModelValue>] {
        [Attribute("name", "The model's name (its registry name, or the file's name).") { .string($0.transformer.name) },
         Attribute("architecture", "llama, qwen2, gemma3 or gpt2.") { .string($0.transformer.config.architecture.rawValue) },
         Attribute("layers", "Number of decoder layers.") { Value($0.transformer.config.layerCount) },
         Attribute("hidden_size", "Width of the residual stream (d).") { Value($0.transformer.config.hiddenSize) },
         Attribute("ffn_size", "Width of the feed-forward layer.") { Value($0.transformer.config.intermediateSize) },
         Attribute("heads", "Query heads per layer.") { Value($0.transformer.config.headCount) },
         Attribute("kv_heads", "Key/value heads per layer.") { Value($0.transformer.config.kvHeadCount) },
         Attribute("head_dim", "Width of one attention head.") { Value($0.transformer.config.headDim) },
         Attribute("vocabulary", "Number of tokens in the vocabulary.") { Value($0.transformer.config.vocabularySize) },
         Attribute("context", "Longest sequence the model accepts, in tokens.") { Value($0.transformer.config.contextLength) },
         Attribute("sliding_window", "Window of the local attention layers, or none.") { Value($0.transformer.config.slidingWindow) },
         Attribute("parameters", "Number of weights.") { Value($0.transformer.weights.parameterCount) },
         Attribute("bytes", "Memory the weights take, in bytes.") { Value($0.transformer.weights.byteCount) },
         Attribute("weights", "How quantized matrices are held: packed (8-bit) or float32.") { .string($0.weights.rawValue) },
         Attribute("tokenizer", "The model's tokenizer, or none.") { m in
             m.transformer.tokenizer.map { .object(TokenizerValue(tokenizer: $0, name: m.transformer.name)) } ?? .none
         },
         Attribute("load_seconds", "How long loading took.") { .number($0.loadSeconds) }]
    }

    /// `info(m)`: the model's shape and size, field by field.
    public var info: RecordValue {
        let c = transformer.config
        var fields: [(String, Value)] = [
            ("name", .string(transformer.name)), ("architecture", .string(c.architecture.rawValue)),
            ("layers", Value(c.layerCount)), ("hidden_size", Value(c.hiddenSize)), ("ffn_size", Value(c.intermediateSize)),
            ("heads", Value(c.headCount)), ("kv_heads", Value(c.kvHeadCount)), ("head_dim", Value(c.headDim)),
            ("vocabulary", Value(c.vocabularySize)), ("context", Value(c.contextLength)),
        ]
        if let window = c.slidingWindow { fields.append(("sliding_window", Value(window))) }
        fields += [("parameters", Value(transformer.weights.parameterCount)),
                   ("memory", .string(formatBytes(Int64(transformer.weights.byteCount)))),
                   ("weights", .string(weights.rawValue))]
        return RecordValue(fields: fields, caption: "model \(transformer.name)")
    }

    public func display() -> MIMEBundle { info.display() }

    public var brief: String { "<model \(transformer.name)>" }
}

/// A tokenizer, on its own (`m.tokenizer`); `tokenize` and `decode` take it or a model.
public final class TokenizerValue: ScriptObject {
    public static let typeName = "tokenizer"
    public static let summary = "Text ⇄ token ids for one vocabulary: tokenize(t, text), decode(t, ids)."
    public let tokenizer: Tokenizer
    public let name: String

    public init(tokenizer: Tokenizer, name: String) {
        self.tokenizer = tokenizer
        self.name = name
    }

    public static var attributes: [Attribute<TokenizerValue>] {
        [Attribute("name", "The name of the model the tokenizer belongs to.") { .string($0.name) },
         Attribute("vocabulary", "Number of tokens.") { Value($0.tokenizer.count) },
         Attribute("kind", "bpe (byte-level BPE) or sentencepiece.") { .string($0.kind) },
         Attribute("bos", "The id of the beginning-of-sequence token, or none.") { Value($0.tokenizer.vocabulary.bosId) },
         Attribute("eos", "The id of the end-of-sequence token, or none.") { Value($0.tokenizer.vocabulary.eosId) },
         Attribute("adds_bos", "Whether tokenize puts the BOS token first.") { .bool($0.tokenizer.vocabulary.addBOS) }]
    }

    var kind: String { tokenizer.vocabulary.model == .gpt2 ? "bpe" : "sentencepiece" }

    public func display() -> MIMEBundle {
        let v = tokenizer.vocabulary
        return RecordValue(fields: [("name", .string(name)), ("kind", .string(kind)), ("vocabulary", Value(v.count)),
                                    ("bos", Value(v.bosId)), ("eos", Value(v.eosId)), ("adds_bos", .bool(v.addBOS))],
                           caption: "tokenizer of \(name)").display()
    }

    public var brief: String { "<tokenizer \(name)>" }
}

/// Token ids with their texts (`tokenize(m, "Hello")`): `t.ids`, `t.pieces`, `t[0]`.
public final class TokenListValue: ScriptObject {
    public static let typeName = "tokens"
    public static let summary = "Token ids and their texts, from tokenize: t.ids, t.pieces, t.text, t[i]."
    public let ids: [Int]
    public let tokenizer: Tokenizer
    public let name: String

    public init(ids: [Int], tokenizer: Tokenizer, name: String) {
        self.ids = ids
        self.tokenizer = tokenizer
        self.name = name
    }

    /// The stored text of each token (`Ġthe`, `▁the`, `<|im_start|>`).
    public var pieces: [String] { ids.map { tokenizer.tokenText($0) ?? "" } }

    public static var attributes: [Attribute<TokenListValue>] {
        [Attribute("ids", "The token ids, a list of numbers.") { Value($0.ids) },
         Attribute("pieces", "Each token's stored text (Ġ marks a leading space in byte-level BPE, ▁ in SentencePiece).") {
             Value($0.pieces)
         },
         Attribute("text", "The ids decoded back to text.") { .string($0.tokenizer.decode($0.ids)) },
         Attribute("count", "How many tokens.") { Value($0.ids.count) }]
    }

    public var length: Int? { ids.count }
    public func element(at i: Int) -> Value { Value(ids[i]) }

    static let shownRows = 64

    public func display() -> MIMEBundle {
        let rows = ids.prefix(Self.shownRows).enumerated().map { i, id in
            [String(i), String(id), Value.quote(tokenizer.tokenText(id) ?? "")]
        }
        let footer = ids.count > Self.shownRows ? "… \(ids.count - Self.shownRows) more tokens" : nil
        return RenderedTable(header: ["#", "id", "piece"], rows: rows, rightAligned: [0, 1],
                             caption: "\(ids.count) token\(ids.count == 1 ? "" : "s") (\(name))", footer: footer).bundle
    }

    public var brief: String {
        let shown = ids.prefix(8).map(String.init).joined(separator: ", ")
        return "<tokens \(ids.count): [\(shown)\(ids.count > 8 ? ", …" : "")]>"
    }
}
