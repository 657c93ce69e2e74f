import CastModels
import CastTensor

/// Task examples tokenized for training: the prompt (with the model's BOS), then the answer
/// after a space and ending in a newline; the loss counts only the answer's tokens (the
/// newline included, so the model learns to stop).
public struct TrainingExamples: Sendable {
    public struct Example: Sendable {
        public let ids: [Int32]
        /// Number of prompt tokens: positions from `promptCount − 1` on predict the answer.
        public let promptCount: Int

        public init(ids: [Int32], promptCount: Int) {
            self.ids = ids
            self.promptCount = promptCount
        }
    }

    public let examples: [Example]

    /// Examples already tokenized (e.g. plain text, `promptCount` 1: every next token counts).
    public init(examples: [Example]) throws {
        guard !examples.isEmpty else { throw AdapterError("no training examples") }
        if let bad = examples.firstIndex(where: { $0.promptCount < 1 || $0.promptCount >= $0.ids.count }) {
            throw AdapterError("training example \(bad): needs 1 ≤ promptCount < \(examples[bad].ids.count) tokens")
        }
        self.examples = examples
    }

    public init(_ task: [TaskExample], tokenizer: Tokenizer, contextLength: Int) throws {
        examples = try task.enumerated().map { index, example in
            let prompt = tokenizer.encode(example.prompt, addSpecial: true, parseSpecial: false)
            let answer = tokenizer.encode(" " + example.answer.trimmingCharacters(in: .whitespaces) + "\n",
                                          addSpecial: false, parseSpecial: false)
            let ids = (prompt + answer).map(Int32.init)
            guard ids.count <= contextLength, !prompt.isEmpty, !answer.isEmpty else {
                throw AdapterError("training example \(index) has \(ids.count) tokens (context \(contextLength)) "
                                   + "or an empty prompt or answer")
            }
            return Example(ids: ids, promptCount: prompt.count)
        }
        guard !examples.isEmpty else { throw AdapterError("no training examples") }
    }

    /// The examples of micro-batch `index` (0-based over the whole run): consecutive slices of
    /// a seeded permutation of the examples, a new permutation each epoch, so any micro-batch
    /// can be rebuilt from its index alone (what makes resuming exact).
    public func microBatch(_ index: Int, size: Int, seed: UInt64) -> [Example] {
        let n = examples.count
        var orders: [Int: [Int]] = [:]
        return (0..<size).map { j in
            let global = index * size + j
            let epoch = global / n
            if orders[epoch] == nil { orders[epoch] = permutation(epoch: epoch, seed: seed) }
            return examples[orders[epoch]![global % n]]
        }
    }

    private func permutation(epoch: Int, seed: UInt64) -> [Int] {
        var rng = SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch))
        var order = Array(0..<examples.count)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return order
    }

    /// Sequences, the rows whose logits the loss needs (batch·tokens indexing) and their
    /// targets, for one micro-batch.
    static func batch(_ examples: [Example]) -> (sequences: [[Int32]], rows: [Int], targets: [Int32]) {
        let tokens = examples.map(\.ids.count).max() ?? 0
        var rows: [Int] = [], targets: [Int32] = []
        for (s, e) in examples.enumerated() {
            for t in (e.promptCount - 1)..<(e.ids.count - 1) {
                rows.append(s * tokens + t)
                targets.append(e.ids[t + 1])
            }
        }
        return (examples.map(\.ids), rows, targets)
    }
}
