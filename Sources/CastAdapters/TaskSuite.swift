import CastModels
import Foundation

/// One example of a task: the model sees `prompt` and should continue with `answer`.
public struct TaskExample: Codable, Equatable, Sendable {
    public var prompt: String
    public var answer: String
    public var split: String?

    public init(prompt: String, answer: String, split: String? = nil) {
        self.prompt = prompt
        self.answer = answer
        self.split = split
    }
}

/// A task: train and test examples, judged by exact match of a greedy generation.
///
/// File form: JSONL, one `{"prompt", "answer"[, "split"]}` object a line (`split` is
/// `train` or `test`). Without split fields, examples are split 80/20 by a seeded hash of
/// the prompt, so the split does not depend on the file's order.
public struct TaskSuite: Sendable {
    public let name: String
    public let train: [TaskExample]
    public let test: [TaskExample]

    public init(name: String, train: [TaskExample], test: [TaskExample]) throws {
        guard !train.isEmpty else { throw AdapterError("task \(name): the train split is empty") }
        guard !test.isEmpty else { throw AdapterError("task \(name): the test split is empty") }
        self.name = name
        self.train = train
        self.test = test
    }

    /// A built-in task by name (see `TaskGenerators`) or a JSONL file by path.
    public static func load(_ nameOrPath: String) throws -> TaskSuite {
        if let generator = TaskGenerators.named(nameOrPath) { return try generator.suite() }
        guard FileManager.default.fileExists(atPath: nameOrPath) else {
            throw AdapterError("task '\(nameOrPath)': no such file and no built-in task of that name "
                               + "(built-in: \(TaskGenerators.all.map(\.name).joined(separator: ", ")))")
        }
        let url = URL(fileURLWithPath: nameOrPath)
        return try parse(try Data(contentsOf: url), name: url.deletingPathExtension().lastPathComponent, source: nameOrPath)
    }

    /// Parses JSONL; a broken line is reported as `file:line: what`.
    public static func parse(_ data: Data, name: String, source: String) throws -> TaskSuite {
        guard let text = String(data: data, encoding: .utf8) else { throw AdapterError("\(source): not UTF-8 text") }
        var train: [TaskExample] = [], test: [TaskExample] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let at = "\(source):\(index + 1)"
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8)),
                  case .object(let fields) = value else {
                throw AdapterError("\(at): not a JSON object")
            }
            guard let prompt = fields["prompt"]?.string, !prompt.isEmpty else {
                throw AdapterError("\(at): field 'prompt' must be a non-empty string")
            }
            guard let answer = fields["answer"]?.string, !answer.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw AdapterError("\(at): field 'answer' must be a non-empty string")
            }
            if let extra = fields.keys.sorted().first(where: { !["prompt", "answer", "split"].contains($0) }) {
                throw AdapterError("\(at): unknown field '\(extra)' (expected prompt, answer and optionally split)")
            }
            let split: String
            switch fields["split"] {
            case nil: split = splitOf(prompt: prompt)
            case .string(let s)? where s == "train" || s == "test": split = s
            case let other?: throw AdapterError("\(at): field 'split' must be \"train\" or \"test\", found \(other.text)")
            }
            let example = TaskExample(prompt: prompt, answer: answer, split: split)
            if split == "train" { train.append(example) } else { test.append(example) }
        }
        do { return try TaskSuite(name: name, train: train, test: test) } catch let error as AdapterError {
            throw AdapterError("\(source): \(error.description)")
        }
    }

    /// "test" for about one prompt in five: FNV-1a of the prompt's bytes, so the split is
    /// the same on every machine and in every order.
    static func splitOf(prompt: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in prompt.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash % 5 == 0 ? "test" : "train"
    }

    /// The JSONL text of the suite (train then test, each with its split).
    public func jsonl() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try (train + test).map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
    }
}
