import ArgumentParser
import CastAdapters
import CastModels
import Foundation

/// `cast evaluate -m MODEL [--adapter DIR] --task TASK [--split train]`: exact-match score on
/// the test split (or the train split).
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a model (with an adapter) on a task's test split: exact match of greedy generations.",
        discussion: "--split train scores the train split instead: evidence for choosing settings that leaves the test split unseen. Ctrl-C stops after the current batch.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var adapterOption: AdapterOption
    @Option(help: "A built-in task (arith, dates, reverse) or a JSONL file of {\"prompt\", \"answer\"[, \"split\"]}.")
    var task: String
    @Option(help: "Which split to score: test or train.") var split: TaskSplit = .test
    @Option(help: "Judge only the first N examples of the split.") var limit: Int?
    @Option(help: "Prompts generated together.") var batchSize = 32
    @Flag(help: "Print JSON: {\"score\", \"correct\", \"total\", \"examples\": [first few]} (with --adapter also \"floor\", the bare model's score).") var json = false
    @Flag(help: "With --adapter, skip scoring the bare model beside it.") var noFloor = false

    func run() throws {
        let suite = try TaskSuite.load(task)
        let transformer = try model.load().model
        let adapters = try adapterOption.adapters(for: transformer)
        Interrupt.install()
        defer { Interrupt.uninstall() }
        func evaluate(_ label: String, _ adapters: AdapterSet) throws -> TaskScore {
            let bar = ProgressBar(label: label, unit: "examples", enabled: !json)
            defer { bar.finish() }
            return try TaskEvaluation.evaluate(transformer, adapters: adapters, task: suite, split: split, limit: limit,
                                               batchSize: batchSize, arithmetic: model.arithmetic,
                                               shouldStop: { Interrupt.requested }) { done, total in
                bar.update(done: done, total: total)
            }
        }
        let score = try evaluate("evaluate", adapters)
        // The floor: the same model without the adapter, on the same examples.
        let floor = adapters.isEmpty || noFloor ? nil : try evaluate("floor", .none)
        if json {
            struct Output: Encodable {
                let task: String, model: String, adapter: String?, score: Double, correct: Int, total: Int, seconds: Double
                let floor: Double?
                let examples: [TaskScore.Example]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let output = Output(task: suite.name, model: transformer.name, adapter: adapterOption.adapter, score: score.score,
                                correct: score.correct, total: score.total, seconds: score.seconds,
                                floor: floor?.score, examples: Array(score.examples.prefix(5)))
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
            return
        }
        print(String(format: "%@%@ on %@: %d / %d correct, score %.3f (%.1f s)", transformer.name,
                     adapterOption.adapter.map { " + \($0)" } ?? "", suite.name, score.correct, score.total, score.score, score.seconds))
        if let floor {
            print(String(format: "%@ alone (the floor): %d / %d correct, score %.3f", transformer.name,
                         floor.correct, floor.total, floor.score))
        }
        for e in score.examples.prefix(3) {
            print("  \(e.correct ? "✓" : "✗") \(e.prompt.replacingOccurrences(of: "\n", with: " ")) → \(e.generated.debugDescription) (want \(e.answer.debugDescription))")
        }
    }
}

/// `cast tasks`: the built-in task suites.
struct Tasks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the built-in task suites, or write them as JSONL files (`cast tasks --write datasets`).")

    @Option(help: "Write every built-in task as DIR/<name>.jsonl.") var write: String?

    func run() throws {
        for generator in TaskGenerators.all {
            let suite = try generator.suite()
            if let write {
                let url = URL(fileURLWithPath: write).appendingPathComponent("\(generator.name).jsonl")
                try FileManager.default.createDirectory(atPath: write, withIntermediateDirectories: true)
                try Data(try suite.jsonl().utf8).write(to: url, options: .atomic)
                print("wrote \(url.path) (\(suite.train.count) train, \(suite.test.count) test)")
            } else {
                print("\(generator.name.padding(toLength: 8, withPad: " ", startingAt: 0)) \(generator.summary) "
                      + "(\(suite.train.count) train, \(suite.test.count) test); e.g. \(suite.test[0].prompt.debugDescription) → \(suite.test[0].answer.debugDescription)")
            }
        }
    }
}

extension TaskSplit: ExpressibleByArgument {}
