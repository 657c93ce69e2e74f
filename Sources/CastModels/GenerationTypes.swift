/// What a generation call does besides sampling. Decoding JSON, missing keys keep their
/// defaults.
public struct GenerationOptions: Codable, Sendable, Equatable {
    /// Most tokens sampled per sequence (an end-of-generation token counts).
    public var maxNewTokens = 256
    public var sampling = SamplingOptions()
    /// A sequence ends when its text contains one of these; the text is cut before it.
    public var stopStrings: [String] = []
    /// Token ids that end a sequence, besides the tokenizer's end-of-generation ids.
    public var stopTokens: [Int] = []

    public init(maxNewTokens: Int = 256, sampling: SamplingOptions = SamplingOptions(),
                stopStrings: [String] = [], stopTokens: [Int] = []) {
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.stopStrings = stopStrings
        self.stopTokens = stopTokens
    }

    private enum CodingKeys: String, CodingKey {
        case maxNewTokens = "max_new_tokens", sampling, stopStrings = "stop", stopTokens = "stop_tokens"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens) ?? 256
        sampling = try c.decodeIfPresent(SamplingOptions.self, forKey: .sampling) ?? SamplingOptions()
        stopStrings = try c.decodeIfPresent([String].self, forKey: .stopStrings) ?? []
        stopTokens = try c.decodeIfPresent([Int].self, forKey: .stopTokens) ?? []
    }
}

/// Why a sequence stopped.
public enum FinishReason: String, Codable, Sendable {
    /// The model produced an end-of-generation token (or one of `stopTokens`).
    case endOfGeneration = "eos"
    /// The text contains one of `stopStrings`.
    case stopString = "stop"
    /// `maxNewTokens` tokens were sampled.
    case maxTokens = "length"
    /// The next token would not fit in the model's context.
    case contextFull = "context"
    /// `shouldStop` returned true; what was generated is kept.
    case interrupted
}

/// One streamed step of one sequence.
public struct GenerationEvent: Sendable {
    /// Index of the prompt this sequence continues.
    public let sequence: Int
    /// The token just sampled; nil for the last event of a sequence stopped by `shouldStop`.
    public let token: Int?
    /// New text, ready to print. Can be empty: an incomplete UTF-8 character or the possible
    /// start of a stop string is held back until it is resolved. Neither stop strings nor
    /// end-of-generation tokens are ever streamed. Concatenated, a sequence's events' texts
    /// are its final text.
    public let text: String
    /// Set on the sequence's last event.
    public let finishReason: FinishReason?
}

/// One prompt's continuation.
public struct GeneratedSequence: Sendable {
    public let promptIds: [Int]
    /// Sampled ids, without a final end-of-generation / stop token.
    public internal(set) var ids: [Int] = []
    /// Text of `ids` (empty without a tokenizer), cut before the first stop string.
    public internal(set) var text = ""
    public internal(set) var finishReason: FinishReason = .interrupted
}

/// Where the time went.
public struct GenerationTiming: Codable, Sendable {
    public var sequences = 0
    /// Prompt tokens, all run through the model in one call.
    public var promptTokens = 0
    public var prefillSeconds = 0.0
    /// Tokens sampled, over all sequences.
    public var generatedTokens = 0
    /// Decode calls, each advancing every unfinished sequence by one token.
    public var decodeSteps = 0
    /// Tokens run through the model in decode calls.
    public var decodeTokens = 0
    public var decodeSeconds = 0.0

    public init() {}

    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptTokens) / prefillSeconds : 0 }
    /// Batched throughput: all sequences' decoded tokens per second.
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(decodeTokens) / decodeSeconds : 0 }
}

public struct GenerationResult: Sendable {
    public var sequences: [GeneratedSequence]
    public var timing: GenerationTiming
}
