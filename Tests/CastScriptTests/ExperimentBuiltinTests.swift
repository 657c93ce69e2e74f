import CastTestSupport
import Foundation
import Testing
@testable import CastScript

/// `experiment` runs what `cast experiment` runs, in the same cache: after the builtin, the
/// command line trains nothing and prints the same rows.
@Suite("experiment builtin", .serialized)
struct ExperimentBuiltinTests {
    typealias Session = ModelBuiltinsTests.Session

    static let tiny = "methods: \"floor,source,cast\", lora_steps: 2, steps: 1, batch_size: 1, window: 16, held_out: 1, limit: 4, train_limit: 2"

    @Test func theCommandLineReadsWhatTheBuiltinMade() throws {
        let root = try TestSupport.temporaryFolder()
        let task = try TestSupport.echoTask(in: root), cache = root.appendingPathComponent("cache")
        let session = Session()
        session.interpreter.set("task_file", .string(task.path))
        session.interpreter.set("cache_dir", .string(cache.path))
        let table = try #require(try session.value(
            "experiment(\"smollm2-135m\", \"smollm2-135m\", task_file, \(Self.tiny), cache: cache_dir)").object as? TableValue)
        #expect(table.columns == ["method", "score", "retention", "kl", "train_score", "seconds"])
        #expect(table.rows.map { $0[0] } == [.string("floor"), .string("source"), .string("cast")])
        #expect(session.printed.contains("finished at step 1 of 1"), "the builtin trains CAST: \(session.printed)")

        let r = try TestSupport.runCast(["experiment", "--source", "smollm2-135m", "--target", "smollm2-135m", "--task", task.path,
                                         "--methods", "floor,source,cast", "--lora-steps", "2", "--steps", "1", "--batch-size", "1",
                                         "--window", "16", "--held-out", "1", "--limit", "4", "--train-limit", "2",
                                         "--cache", cache.path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.components(separatedBy: "(cached)").count - 1 == 3 && !r.stderr.contains("finished at step"),
                "the command line must read every row from the builtin's cache: \(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let rows = try #require(json?["rows"] as? [[String: Any]])
        for (row, line) in zip(table.rows, rows) {
            #expect(row[1] == .number(line["score"] as! Double))
            #expect(row[4] == .number(line["train_score"] as! Double))
        }
    }

    @Test func badSettingsAreLocated() throws {
        let session = Session()
        #expect(session.error("experiment(\"smollm2-135m\", \"smollm2-135m\", \"arith\", methods: \"floor,best\")")
                == "1:62: experiment: unknown method 'best' (known: floor, source, retrained, cross-lora, cast)")
        #expect(session.error("experiment(\"smollm2-135m\", \"smollm2-135m\", \"arith\", variants: \"selftext\")")?
                    .contains("unknown variant 'selftext'") == true)
        #expect(session.error("experiment(\"smollm2-135m\", \"smollm2-135m\", \"arith\", steps: 0)")?
                    .contains("'steps' must be at least 1") == true)
        // An unknown model is refused before anything trains, at the argument that names it.
        #expect(session.error("experiment(\"smollm2-135m\", \"no-such-model\", \"arith\")")
                == "1:28: experiment: model 'no-such-model': not a registry model (smollm2-135m, gemma3-270m, qwen2.5-0.5b, qwen2.5-1.5b) and no such file")
    }

    /// A stop request stops at the first step boundary with an interruption error; what
    /// finished stays cached.
    @Test func cancellationStops() throws {
        let root = try TestSupport.temporaryFolder()
        let task = try TestSupport.echoTask(in: root)
        let session = Session()
        session.interpreter.set("task_file", .string(task.path))
        session.interpreter.set("cache_dir", .string(root.appendingPathComponent("cache").path))
        session.interpreter.isCancelled = { true }
        let error = scriptError { try session.interpreter.evaluate("experiment(\"smollm2-135m\", \"smollm2-135m\", task_file, \(Self.tiny), cache: cache_dir)") }
        #expect(error?.kind == .interrupted, "\(String(describing: error))")
    }
}
