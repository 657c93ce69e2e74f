import Foundation

/// Everything a tokenizer needs, independent of where it came from (GGUF metadata or an
/// HF `tokenizer.json`). Token strings are kept as stored: GPT-2 byte-encoded for `gpt2`
/// vocabularies, with `▁` for spaces in SentencePiece (`llama`) vocabularies.
public struct TokenizerVocabulary: Sendable, Equatable {
    /// `tokenizer.ggml.model`.
    public enum Model: String, Sendable, Equatable {
        /// Byte-level BPE with merge ranks (GPT-2, SmolLM2, Qwen2).
        case gpt2
        /// SentencePiece BPE with scores and byte fallback (Gemma, Llama 1/2).
        case llama
    }

    /// `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
    public enum TokenType: Int32, Sendable, Equatable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public var model: Model
    /// `tokenizer.ggml.pre`: `gpt-2`, `smollm`, `qwen2`, `llama3`, or `default` (SentencePiece).
    public var preTokenizer: String
    public var tokens: [String]
    /// One per token; SentencePiece merges prefer the highest score. Zero when absent.
    public var scores: [Float]
    public var tokenTypes: [TokenType]
    /// `"left right"` pairs in rank order (byte-level BPE only).
    public var merges: [String]
    public var bosId: Int?
    public var eosId: Int?
    /// End of turn (`<|im_end|>`, `<end_of_turn>`); found by text when the metadata has none.
    public var eotId: Int?
    public var padId: Int?
    public var unknownId: Int?
    public var addBOS: Bool
    public var addEOS: Bool
    public var addSpacePrefix: Bool
    /// Tokens whose surrounding whitespace is swallowed when split out (HF `lstrip`/`rstrip`).
    public var leftStripTokens: Set<Int>
    public var rightStripTokens: Set<Int>
    /// `tokenizer.chat_template` (Jinja source), when present.
    public var chatTemplate: String?

    public init(model: Model, preTokenizer: String, tokens: [String], scores: [Float]? = nil,
                tokenTypes: [TokenType]? = nil, merges: [String] = [],
                bosId: Int? = nil, eosId: Int? = nil, eotId: Int? = nil, padId: Int? = nil,
                unknownId: Int? = nil, addBOS: Bool? = nil, addEOS: Bool = false,
                addSpacePrefix: Bool? = nil, leftStripTokens: Set<Int> = [],
                rightStripTokens: Set<Int> = [], chatTemplate: String? = nil) throws {
        let count = tokens.count
        guard count > 0 else { throw TokenizerError.invalidVocabulary("the token list is empty") }
        if let scores, scores.count < count {
            throw TokenizerError.invalidVocabulary("\(scores.count) scores for \(count) tokens")
        }
        if let tokenTypes, tokenTypes.count < count {
            throw TokenizerError.invalidVocabulary("\(tokenTypes.count) token types for \(count) tokens")
        }
        for (name, id) in [("bos", bosId), ("eos", eosId), ("eot", eotId), ("pad", padId), ("unknown", unknownId)] {
            if let id, id < 0 || id >= count {
                throw TokenizerError.invalidVocabulary("\(name) id \(id) is outside the vocabulary of \(count) tokens")
            }
        }
        if model == .gpt2 && merges.isEmpty {
            throw TokenizerError.invalidVocabulary("a gpt2 (byte-level BPE) vocabulary needs merges")
        }
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.scores = Array((scores ?? Array(repeating: 0, count: count)).prefix(count))
        self.tokenTypes = Array((tokenTypes ?? Array(repeating: .normal, count: count)).prefix(count))
        self.merges = merges
        self.bosId = bosId
        self.eosId = eosId
        self.padId = padId
        self.unknownId = unknownId
        // llama.cpp's defaults: SentencePiece adds BOS and a space prefix, byte-level BPE neither.
        self.addBOS = addBOS ?? (model == .llama)
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix ?? (model == .llama)
        self.leftStripTokens = leftStripTokens
        self.rightStripTokens = rightStripTokens
        self.chatTemplate = chatTemplate
        self.eotId = eotId ?? Self.endOfTurnTexts.lazy.compactMap { tokens.firstIndex(of: $0) }.first
        if self.addBOS && self.bosId == nil {
            throw TokenizerError.invalidVocabulary("add_bos_token is set but there is no bos token id")
        }
    }

    /// Texts llama.cpp treats as end-of-generation (and forces to control type).
    static let endOfTurnTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                 "<|end_of_text|>", "<EOT>", "<|eom_id|>"]

    public var count: Int { tokens.count }

    /// Ids of tokens split out of raw text before BPE (control, user-defined, unknown).
    public var specialTokenIds: [Int] {
        tokens.indices.filter { [.control, .userDefined, .unknown].contains(tokenTypes[$0]) }
    }
}

public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case invalidVocabulary(String)
    case unsupported(String)
    case missingField(source: String, field: String)
    case badField(source: String, field: String, expected: String)

    public var description: String {
        switch self {
        case .invalidVocabulary(let why): return "invalid tokenizer vocabulary: \(why)"
        case .unsupported(let what): return "unsupported tokenizer: \(what)"
        case .missingField(let source, let field): return "\(source): missing tokenizer field '\(field)'"
        case .badField(let source, let field, let expected):
            return "\(source): tokenizer field '\(field)' is not \(expected)"
        }
    }
}
