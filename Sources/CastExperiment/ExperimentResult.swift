import Foundation

/// How much the source LoRA changes its own model's next-token predictions: the mean
/// `KL(p_source+LoRA ‖ p_source)` per token on held-out corpus text (what CAST distils on) and
/// on the task's train examples (prompt and answer). When the first is small beside the
/// second, general text shows CAST little of what the adapter does on the task.
public struct LoRAEffect: Codable, Sendable {
    public let corpus_kl: Double
    public let task_kl: Double

    public var line: String {
        String(format: "LoRA's effect on the source, KL(source+LoRA ‖ source) per token: %.4f on corpus text, %.4f on the task's text",
               corpus_kl, task_kl)
    }
}

/// One line of the experiment's table.
public struct ExperimentRow: Codable, Sendable {
    public var method: String
    public var score: Double
    public var retention: Double?
    public var kl: Double?
    /// Score on the first examples of the train split (nil: not measured).
    public var trainScore: Double? = nil
    public var seconds: Double
    /// Read back from the cache rather than computed in this run.
    public var cached = false

    enum CodingKeys: String, CodingKey { case method, score, retention, kl, trainScore = "train_score", seconds }

    /// Every key present (null where a value does not apply).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encode(score, forKey: .score)
        try c.encode(retention, forKey: .retention)
        try c.encode(kl, forKey: .kl)
        try c.encode(trainScore, forKey: .trainScore)
        try c.encode(seconds, forKey: .seconds)
    }

    public var line: String {
        String(format: "%@: score %.3f, held-out KL %@, train %@, %.0f s%@", method, score,
               kl.map { String(format: "%.4f", $0) } ?? "—", trainScore.map { String(format: "%.3f", $0) } ?? "—",
               seconds, cached ? " (cached)" : "")
    }

    public static func table(_ rows: [ExperimentRow], title: String, reference: String?) -> String {
        let width = max(11, rows.map(\.method.count).max() ?? 0)
        var lines = [title, "", "method".padding(toLength: width, withPad: " ", startingAt: 0)
                     + "  score   retention   held-out KL   train   seconds"]
        for r in rows {
            let retention = r.retention.map { String(format: "%8.1f %%", 100 * $0) } ?? "       —  "
            let kl = r.kl.map { String(format: "%11.4f", $0) } ?? "          —"
            let train = r.trainScore.map { String(format: "%5.3f", $0) } ?? "    —"
            lines.append(String(format: "%@  %6.3f  %@  %@   %@  %8.0f%@", r.method.padding(toLength: width, withPad: " ", startingAt: 0),
                                r.score, retention, kl, train, r.seconds, r.cached ? "  (cached)" : ""))
        }
        lines.append("")
        lines.append("retention = score / \(reference ?? "—")'s score; held-out KL to the teacher (source + LoRA), temperature 1;")
        lines.append("train = score on the first train-split examples (what chooses settings; the test split never does)")
        return lines.joined(separator: "\n")
    }
}

/// What an experiment gives: its rows (retention filled in), the LoRA's effect, and what it
/// was run on; `--json` and the language show this.
public struct ExperimentResult: Encodable, Sendable {
    public let rows: [ExperimentRow]
    public let source: String
    public let target: String
    public let task: String
    public let seed: UInt64
    public let loraEffect: LoRAEffect
    /// Test examples scored, and the method retention is relative to.
    public let testCount: Int
    public let reference: String?

    enum CodingKeys: String, CodingKey { case rows, source, target, task, seed, loraEffect = "lora_effect" }

    /// The table as text, with its title and the LoRA's effect under it.
    public var table: String {
        ExperimentRow.table(rows, title: "\(source) → \(target), task \(task) (\(testCount) test prompts), seed \(seed)",
                            reference: reference) + "\n" + loraEffect.line
    }
}
