import CastModels
import Foundation

/// What `generate` produced: `r.text`, `r.ids`, `r.finish_reason`, speeds.
public final class GenerationValue: ScriptObject {
    public static let typeName = "generation"
    public static let summary = "A continuation from generate: r.text, r.ids, r.finish_reason, r.tokens_per_second."
    public let prompt: String
    public let sequence: GeneratedSequence
    public let timing: GenerationTiming

    public init(prompt: String, sequence: GeneratedSequence, timing: GenerationTiming) {
        self.prompt = prompt
        self.sequence = sequence
        self.timing = timing
    }

    public static var attributes: [Attribute<GenerationValue>] {
        [Attribute("text", "The generated text (without the prompt).") { .string($0.sequence.text) },
         Attribute("prompt", "The prompt it continues.") { .string($0.prompt) },
         Attribute("ids", "The generated token ids.") { Value($0.sequence.ids) },
         Attribute("prompt_ids", "The prompt's token ids (with the chat template when chat: true).") { Value($0.sequence.promptIds) },
         Attribute("count", "How many tokens were generated.") { Value($0.sequence.ids.count) },
         Attribute("finish_reason", "Why it stopped: eos, length, stop, context or interrupted.") {
             .string($0.sequence.finishReason.rawValue)
         },
         Attribute("seconds", "Time spent, prefill and decode.") { .number($0.timing.prefillSeconds + $0.timing.decodeSeconds) },
         Attribute("tokens_per_second", "Decode speed.") { .number($0.timing.decodeTokensPerSecond) }]
    }

    /// The text, then one line on how it ended (no timings: a script's output stays the
    /// same from run to run).
    public func display() -> MIMEBundle {
        let n = sequence.ids.count
        let note = "[\(n) token\(n == 1 ? "" : "s"); stopped: \(sequence.finishReason.rawValue)]"
        return [MIMEType.plain: sequence.text + "\n" + note,
                MIMEType.html: "<pre>\(RenderedTable.escape(sequence.text))</pre>\n<p>\(RenderedTable.escape(note))</p>"]
    }

    public var brief: String { "<generation \(sequence.ids.count) tokens: \(Value.quote(sequence.text, limit: 30))>" }
}

/// The most likely next tokens after a prompt (`logits(m, "The capital of France is")`):
/// `l.tokens`, `l.probabilities`, `l[0]` (a record: id, token, logit, probability).
public final class LogitsValue: ScriptObject {
    public static let typeName = "logits"
    public static let summary = "The top next tokens after a prompt: l.tokens, l.logits, l.probabilities, l.best, l[i]."
    public let promptIds: [Int]
    public let top: [(id: Int, token: String, logit: Float)]
    /// log Σ exp(logit) over the whole vocabulary, for probabilities.
    public let logSumExp: Double
    public let model: String

    public init(promptIds: [Int], top: [(id: Int, token: String, logit: Float)], logSumExp: Double, model: String) {
        self.promptIds = promptIds
        self.top = top
        self.logSumExp = logSumExp
        self.model = model
    }

    func probability(_ logit: Float) -> Double { Foundation.exp(Double(logit) - logSumExp) }

    public static var attributes: [Attribute<LogitsValue>] {
        [Attribute("ids", "The top token ids, most likely first.") { Value($0.top.map(\.id)) },
         Attribute("tokens", "The top tokens' stored texts.") { Value($0.top.map(\.token)) },
         Attribute("logits", "Their logits.") { .list($0.top.map { Value($0.logit) }) },
         Attribute("probabilities", "Their probabilities (softmax over the whole vocabulary).") { l in
             .list(l.top.map { .number(l.probability($0.logit)) })
         },
         Attribute("best", "The most likely next token's text.") { .string($0.top.first?.token ?? "") },
         Attribute("prompt_ids", "The prompt's token ids.") { Value($0.promptIds) },
         Attribute("logsumexp", "log Σ exp(logit) over the vocabulary.") { .number($0.logSumExp) },
         Attribute("table", "The top tokens as a table (id, token, logit, probability).") { .object($0.table) }]
    }

    public var table: TableValue {
        TableValue(columns: ["id", "token", "logit", "probability"],
                   rows: top.map { [Value($0.id), .string($0.token), Value($0.logit), .number(probability($0.logit))] })
    }

    public var length: Int? { top.count }
    public func element(at i: Int) -> Value { table.element(at: i) }

    public func display() -> MIMEBundle {
        let rows = top.map { entry in
            [String(entry.id), Value.quote(entry.token), String(format: "%.4f", entry.logit),
             String(format: "%.4f", probability(entry.logit))]
        }
        return RenderedTable(header: ["id", "token", "logit", "probability"], rows: rows, rightAligned: [0, 2, 3],
                             caption: "next token after \(promptIds.count) prompt tokens (\(model))").bundle
    }

    public var brief: String { "<logits top \(top.count): \(Value.quote(top.first?.token ?? ""))>" }
}
