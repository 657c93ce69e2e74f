import CastAdapters
import CastModels
import Foundation

/// One token sequence to capture activations over, and what is known about its tokens.
public struct CaptureSequence: Sendable {
    public var ids: [Int32]
    /// Tokens from this position on are the answer (a task example's answer, a generation's
    /// new tokens); nil: no answer.
    public var answerStart: Int?
    /// Byte offset just past each token in `text` (nil where unknown: a control token or past
    /// a mismatch), to pair positions across tokenizers.
    public var endOffsets: [Int?]?
    /// Which text this came from (index in the caller's list of texts or documents).
    public var textIndex: Int
    /// Positions to keep whatever the selector says (cross-model alignment sets them).
    public var positions: [Int]?

    public init(ids: [Int32], answerStart: Int? = nil, endOffsets: [Int?]? = nil, textIndex: Int = 0,
                positions: [Int]? = nil) {
        self.ids = ids
        self.answerStart = answerStart
        self.endOffsets = endOffsets
        self.textIndex = textIndex
        self.positions = positions
    }
}

/// Builds capture sequences from the inputs people have: texts, a corpus, a task, a generation.
public enum CaptureInputs {
    /// Each text tokenized as the model reads it (BOS when the tokenizer adds one), cut into
    /// windows of at most `window` tokens (each window a sequence of its own, with its BOS).
    /// Throws for an empty list or a text with no tokens.
    public static func texts(_ texts: [String], tokenizer: Tokenizer, window: Int = 1024) throws -> [CaptureSequence] {
        guard !texts.isEmpty else { throw AnalysisError("no text given: activations need at least one non-empty text") }
        guard window >= 2 else { throw AnalysisError("window must be at least 2 tokens, got \(window)") }
        var out: [CaptureSequence] = []
        for (index, text) in texts.enumerated() {
            guard !text.isEmpty else {
                throw AnalysisError("text \(index + 1) of \(texts.count) is empty: activations need at least one token of text")
            }
            let all = tokenizer.encode(text, addSpecial: true, parseSpecial: false).map(Int32.init)
            let ends = TokenAlignment.endOffsets(all, tokenizer: tokenizer, text: Array(text.utf8))
            let bos = tokenizer.vocabulary.addBOS ? tokenizer.vocabulary.bosId.map { Int32($0) } : nil
            let leading = (bos != nil && all.first == bos) ? 1 : 0
            guard all.count > leading else {
                throw AnalysisError("text \(index + 1) of \(texts.count) has no tokens")
            }
            if all.count <= window {
                out.append(CaptureSequence(ids: all, endOffsets: ends, textIndex: index))
                continue
            }
            let step = window - leading
            var start = leading
            while start < all.count {
                let end = min(all.count, start + step)
                let ids = (leading == 1 ? [all[0]] : []) + all[start..<end]
                let offsets = (leading == 1 ? [ends[0]] : []) + ends[start..<end]
                out.append(CaptureSequence(ids: Array(ids), endOffsets: Array(offsets), textIndex: index))
                start = end
            }
        }
        return out
    }

    /// The first `documents` documents of a corpus's training split (all when nil), as texts.
    public static func corpus(_ corpus: TextCorpus, tokenizer: Tokenizer, documents: Int? = nil,
                              window: Int = 512) throws -> [CaptureSequence] {
        let docs = documents.map { Array(corpus.train.prefix($0)) } ?? corpus.train
        return try texts(docs, tokenizer: tokenizer, window: window)
    }

    /// A task's examples (prompt, then the answer as training reads it); the answer
    /// selector picks the answer's tokens.
    public static func task(_ examples: [TaskExample], tokenizer: Tokenizer, contextLength: Int) throws -> [CaptureSequence] {
        guard !examples.isEmpty else { throw AnalysisError("the task has no examples") }
        let tokenized = try TrainingExamples(examples, tokenizer: tokenizer, contextLength: contextLength)
        return tokenized.examples.enumerated().map { index, e in
            CaptureSequence(ids: e.ids, answerStart: e.promptCount, textIndex: index)
        }
    }

    /// Prompts and tokens already generated after each, for a forward pass over prompt +
    /// generation (the answer selector picks the generated ones). To capture while the
    /// model generates, without that second pass, use `GenerationCapture`.
    public static func generation(prompts: [[Int]], generated: [[Int]]) throws -> [CaptureSequence] {
        guard prompts.count == generated.count, !prompts.isEmpty else {
            throw AnalysisError("generation: \(prompts.count) prompts but \(generated.count) generations")
        }
        return zip(prompts, generated).enumerated().map { index, pair in
            CaptureSequence(ids: (pair.0 + pair.1).map(Int32.init), answerStart: pair.0.count, textIndex: index)
        }
    }
}
