import CastAdapters
import CastModels
import CastTestSupport
import Foundation
import Testing

/// `cast experiment` end to end on the smallest pair and a tiny task: every row, retention
/// from the rows, a rerun served from the cache, a changed option redone (only what it
/// touches), a truncated cache entry redone.
@Suite("cast experiment: rows, cache, reruns")
struct ExperimentCommandTests {
    @Test func rowsCacheAndReruns() throws {
        let root = try TestSupport.temporaryFolder()
        let task = try TestSupport.echoTask(in: root)
        let base = ["experiment", "--source", "smollm2-135m", "--target", "smollm2-135m", "--task", task.path,
                    "--methods", "floor,source,retrained,cross-lora,cast", "--lora-steps", "3", "--rank", "2", "--layers", "28,29",
                    "--batch-size", "2", "--window", "16", "--held-out", "1", "--cache", root.appendingPathComponent("cache").path, "--json"]
        func run(_ extra: [String] = []) throws -> (rows: [[String: Any]], stderr: String, effect: [String: Any]?) {
            let r = try TestSupport.runCast(base + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            return ((json?["rows"] as? [[String: Any]]) ?? [], r.stderr, json?["lora_effect"] as? [String: Any])
        }
        let first = try run(["--steps", "2"])
        // The LoRA's effect on its own model: a KL, so finite and ≥ 0 (up to float rounding; this
        // 3-step LoRA barely moves its model), on corpus and task text.
        for key in ["corpus_kl", "task_kl"] {
            let kl = first.effect?[key] as? Double
            #expect(kl.map { $0.isFinite && $0 > -1e-5 && $0 < 1 } == true, "\(key): \(String(describing: first.effect))")
        }
        #expect(first.rows.map { $0["method"] as? String } == ["floor", "source", "retrained", "cross-lora", "cast"])
        let retrained = first.rows[2]["score"] as! Double
        for row in first.rows {
            #expect(row.keys.sorted() == ["kl", "method", "retention", "score", "seconds", "train_score"])
            let score = row["score"] as! Double
            // The train column: the first train examples (all 8 of this task), never the test split.
            let train = row["train_score"] as? Double
            #expect(train.map { (0...1).contains($0) && ($0 * 8).rounded() == $0 * 8 } == true, "\(row)")
            if retrained > 0 { #expect(abs((row["retention"] as! Double) - score / retrained) < 1e-12) }
            else { #expect(row["retention"] is NSNull) }
        }
        #expect(first.stderr.contains("finished at step 2 of 2"), "CAST must train on the first run")

        let again = try run(["--steps", "2"])
        #expect(again.stderr.components(separatedBy: "(cached)").count - 1 == 5, "every row from the cache: \(again.stderr)")
        #expect(!again.stderr.contains("finished at step"), "nothing trains on a rerun")
        for (a, b) in zip(first.rows, again.rows) { #expect(a["score"] as? Double == b["score"] as? Double) }
        #expect(again.effect?["task_kl"] as? Double == first.effect?["task_kl"] as? Double)

        // More CAST steps: the LoRAs, Cross-LoRA and the floor come from the cache, CAST trains again.
        let more = try run(["--steps", "3"])
        #expect(more.stderr.contains("finished at step 3 of 3") && !more.stderr.contains("LoRA on"))
        #expect(more.stderr.components(separatedBy: "(cached)").count - 1 == 4)

        // A truncated result is not trusted: that entry is redone.
        let cache = root.appendingPathComponent("cache")
        let entries = try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasPrefix("cross-lora-") }
        #expect(entries.count == 1)
        let result = cache.appendingPathComponent(entries[0]).appendingPathComponent("result.json")
        let bytes = try Data(contentsOf: result)
        try bytes.prefix(bytes.count / 2).write(to: result)
        let redone = try run(["--steps", "3"])
        #expect(redone.rows.count == 5 && redone.rows[3]["score"] as? Double == more.rows[3]["score"] as? Double)
        #expect((try? JSONSerialization.jsonObject(with: Data(contentsOf: result))) != nil, "the truncated entry must be redone")
    }

    /// Each variant is a row cast-<variant> trained with its one change; a rerun reads them all
    /// back; the self-text documents are written once and say how many look like the task.
    @Test func variantRows() throws {
        let root = try TestSupport.temporaryFolder()
        let task = try TestSupport.echoTask(in: root)
        let args = ["experiment", "--source", "smollm2-135m", "--target", "smollm2-135m", "--task", task.path,
                    "--methods", "cast", "--variants", "lsq-init,delta,titok,self-text,task-text,index-map,cka-map", "--lora-steps", "2",
                    "--rank", "2", "--layers", "28,29", "--steps", "1", "--batch-size", "1", "--window", "16", "--held-out", "1",
                    "--self-text-documents", "4", "--self-text-tokens", "12",
                    "--cache", root.appendingPathComponent("cache").path, "--json"]
        let first = try TestSupport.runCast(args)
        #expect(first.status == 0, "\(first.stderr)")
        let rows = (try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])?["rows"] as? [[String: Any]] ?? []
        #expect(rows.map { $0["method"] as? String }
                == ["cast", "cast-lsq-init", "cast-delta", "cast-titok", "cast-self-text", "cast-task-text", "cast-index-map", "cast-cka-map"])
        #expect(first.stderr.contains("self-text: 4 documents"), "\(first.stderr)")
        #expect(first.stderr.contains("task-text: 4 documents"), "\(first.stderr)")
        #expect(first.stderr.components(separatedBy: "finished at step 1 of 1").count - 1 == 8, "each variant trains")
        // A model against itself: CKA is 1 on the diagonal, so the suggested map is layer i to i.
        let identity = (0..<30).map { "\($0):\($0)" }.joined(separator: ",")
        #expect(first.stderr.contains("cka-map: target:source \(identity)\n"), "\(first.stderr)")
        let again = try TestSupport.runCast(args)
        #expect(again.status == 0 && !again.stderr.contains("finished at step") && !again.stderr.contains("self-text: 4 documents")
                && !again.stderr.contains("task-text: 4 documents") && !again.stderr.contains("cka-map: CKA between"), "\(again.stderr)")
        let wrong = try TestSupport.runCast(["experiment", "--source", "smollm2-135m", "--target", "smollm2-135m", "--task", "arith",
                                             "--variants", "delta,selftext"])
        #expect(wrong.status != 0 && wrong.stderr.contains("unknown variant 'selftext'"), "\(wrong.stderr)")
    }

    @Test func badInput() throws {
        let root = try TestSupport.temporaryFolder()
        let empty = root.appendingPathComponent("empty.jsonl")
        try "{\"prompt\": \"a\", \"answer\": \"b\", \"split\": \"train\"}".write(to: empty, atomically: true, encoding: .utf8)
        let r = try TestSupport.runCast(["experiment", "--source", "smollm2-135m", "--target", "smollm2-135m", "--task", empty.path,
                                         "--cache", root.path])
        #expect(r.status != 0 && r.stderr.contains("test split is empty"), "\(r.stderr)")
        let m = try TestSupport.runCast(["experiment", "--source", "smollm2-135m", "--target", "smollm2-135m", "--task", "arith",
                                         "--methods", "floor,best"])
        #expect(m.status != 0 && m.stderr.contains("unknown method 'best'"), "\(m.stderr)")
        let missing = try TestSupport.runCast(["experiment", "--source", "smollm2-135m", "--target", "no-such-model", "--task", "arith",
                                               "--cache", root.path])
        #expect(missing.status != 0 && missing.stderr.contains("model 'no-such-model': not a registry model")
                && !missing.stderr.contains("LoRA on"), "refused before anything trains: \(missing.stderr)")
    }
}
