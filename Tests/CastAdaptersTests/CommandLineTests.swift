import CastAdapters
import CastTestSupport
import Foundation
import Testing

/// What the `cast` command line accepts: options only where they do something.
@Suite("Command line: options where they apply")
struct CommandLineTests {
    /// `--adapter` belongs to the commands that run a model with an adapter; the others
    /// refuse it by name instead of silently ignoring it.
    @Test(arguments: [["tokenize", "hello"], ["export-hf", "--out", "/tmp/unused"], ["train-lora", "--task", "arith", "--out", "/tmp/unused"],
                      ["adapter", "init", "--out", "/tmp/unused"]])
    func adapterIsRefusedWhereItDoesNothing(_ command: [String]) throws {
        let result = try TestSupport.runCast(command + ["--adapter", "/nonexistent"])
        #expect(result.status != 0, "\(command[0]) accepted --adapter")
        #expect(result.stderr.contains("--adapter"), "\(command[0]): \(result.stderr)")
    }

    /// The commands that apply an adapter take it, and name the path when it is missing.
    @Test(arguments: [["logits", "--prompt", "hi"], ["generate", "--prompt", "hi", "--max-tokens", "1"],
                      ["evaluate", "--task", "arith", "--limit", "1"]])
    func adapterIsAppliedWhereItMatters(_ command: [String]) throws {
        let result = try TestSupport.runCast(command + ["-m", "smollm2-135m", "--adapter", "/nonexistent/adapter"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/adapter"), "\(command[0]): \(result.stderr)")
        #expect(!result.stderr.contains("Unknown option"), "\(command[0]): \(result.stderr)")
    }

    /// `cast evaluate --split train` judges the train split's first examples, in order; an
    /// unknown split is refused with the valid ones.
    @Test func evaluateTheTrainSplit() throws {
        let r = try TestSupport.runCast(["evaluate", "-m", "smollm2-135m", "--task", "arith", "--split", "train", "--limit", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let prompts = (json?["examples"] as? [[String: Any]])?.compactMap { $0["prompt"] as? String }
        let train = try TaskSuite.load("arith").train
        #expect(json?["total"] as? Int == 2)
        #expect(prompts == train.prefix(2).map(\.prompt))
        let bad = try TestSupport.runCast(["evaluate", "-m", "smollm2-135m", "--task", "arith", "--split", "dev"])
        #expect(bad.status != 0 && bad.stderr.contains("train") && bad.stderr.contains("test"), "\(bad.stderr)")
    }
}
