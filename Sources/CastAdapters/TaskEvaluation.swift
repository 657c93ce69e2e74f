import CastModels
import CastTensor
import Foundation

/// The exact-match score of a model (with adapters) on a task's test split (or its train
/// split, as evidence for choosing among configurations without touching the test split).
public struct TaskScore: Codable, Sendable {
    public struct Example: Codable, Sendable {
        public let prompt: String
        public let answer: String
        public let generated: String
        public let correct: Bool
    }

    public let task: String
    public let score: Double
    public let correct: Int
    public let total: Int
    /// Every judged example, in the split's order.
    public let examples: [Example]
    public let seconds: Double
}

/// Greedy generation on each prompt, cut at the first newline, compared with the answer
/// after trimming spaces. Prompts run in batches (one GEMM per decode step over a batch).
public enum TaskEvaluation {
    public static func evaluate(_ model: Transformer, adapters: AdapterSet = .none, task: TaskSuite,
                                split: TaskSplit = .test, limit: Int? = nil, batchSize: Int = 32,
                                arithmetic: PackedArithmetic = .float32,
                                shouldStop: () -> Bool = { false },
                                progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> TaskScore {
        guard let tokenizer = model.tokenizer else { throw AdapterError("\(model.name): evaluation needs the model's tokenizer") }
        let all = split == .test ? task.test : task.train
        let examples = Array(all.prefix(limit ?? all.count))
        let generator = Generator(model: model, adapters: adapters, arithmetic: arithmetic)
        let longest = examples.map { tokenizer.encode(" " + $0.answer, addSpecial: false).count }.max() ?? 1
        let options = GenerationOptions(maxNewTokens: longest + 4, sampling: .greedy, stopStrings: ["\n"])
        let start = Date()
        var judged: [TaskScore.Example] = []
        for first in stride(from: 0, to: examples.count, by: batchSize) {
            if shouldStop() { throw TaskInterrupted(completed: judged.count) }
            let batch = Array(examples[first..<min(first + batchSize, examples.count)])
            let prompts = batch.map { tokenizer.encode($0.prompt, addSpecial: true, parseSpecial: false) }
            let result = try generator.generate(prompts: prompts, options: options)
            for (example, sequence) in zip(batch, result.sequences) {
                let text = sequence.text.trimmingCharacters(in: .whitespaces)
                judged.append(.init(prompt: example.prompt, answer: example.answer, generated: text,
                                    correct: text == example.answer.trimmingCharacters(in: .whitespaces)))
            }
            progress?(judged.count, examples.count)
        }
        let correct = judged.filter(\.correct).count
        return TaskScore(task: task.name, score: examples.isEmpty ? 0 : Double(correct) / Double(examples.count),
                         correct: correct, total: examples.count, examples: judged,
                         seconds: Date().timeIntervalSince(start))
    }
}

/// Evaluation was asked to stop; `completed` examples had been judged.
public struct TaskInterrupted: Error, CustomStringConvertible {
    public let completed: Int
    public var description: String { "evaluation interrupted after \(completed) examples" }
}

/// Which of a task's splits to score.
public enum TaskSplit: String, Sendable { case train, test }
