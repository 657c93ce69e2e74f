import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Foundation
import Testing

/// LoRA training on the real smollm2-135m (packed weights, as users run it).
@Suite("LoRA training: exact resume, a real run that learns, schedule, bad states")
struct TrainingTests {
    static func trainer(steps: Int, layers: [Int] = [26, 27, 28, 29], seed: UInt64 = 3,
                        task: String = "arith") throws -> LoRATrainer {
        let model = try TestModels.model("smollm2-135m")
        var options = TrainingOptions()
        options.steps = steps
        options.batchSize = 4
        options.accumulation = 2
        options.warmupSteps = 2
        options.seed = seed
        let lora = try LoRAAdapter(for: model.config,
                                   config: LoRAConfig(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "down_proj"], layers: layers),
                                   seed: seed)
        return try LoRATrainer(model: model, lora: lora, task: try TaskSuite.load(task), options: options)
    }

    static func factors(_ t: LoRATrainer) -> [[Float]] {
        t.lora.modules.flatMap { [$0.factors.a.scalars, $0.factors.b.scalars] }
    }

    /// 3 steps, a checkpoint, a fresh trainer restored from it, 3 more steps: the same run
    /// as 6 uninterrupted steps, bit for bit (the same call gives the same bits while other
    /// tests run products beside it: docs/engine.md, Determinism).
    @Test func resumeContinuesTheSameRun() throws {
        let straight = try Self.trainer(steps: 6)
        var straightLosses: [Double] = []
        try straight.run(onStep: { straightLosses.append($0.loss) })

        let first = try Self.trainer(steps: 6)
        for _ in 0..<3 { try first.step() }
        let url = try TestSupport.temporaryFolder().appendingPathComponent("checkpoint.safetensors")
        try first.saveCheckpoint(to: url)
        let resumed = try Self.trainer(steps: 6)
        let fresh = Self.factors(resumed) != Self.factors(first)
        #expect(fresh, "a fresh trainer must start elsewhere")
        try resumed.restoreCheckpoint(from: url)
        #expect(resumed.completedSteps == 3)
        let restored = Self.factors(resumed) == Self.factors(first)
        #expect(restored, "the checkpoint must restore the factors exactly")
        var resumedLosses: [Double] = []
        try resumed.run(onStep: { resumedLosses.append($0.loss) })
        #expect(resumedLosses == Array(straightLosses.suffix(3)))
        let same = Self.factors(resumed) == Self.factors(straight)
        #expect(same, "the resumed run must end on the uninterrupted run's factors, bit for bit")
    }

    /// The user's path: `cast train-lora` stopped by Ctrl-C (SIGINT after its third step's
    /// metrics line) saves its last completed step; `--resume` finishes the run, and the
    /// adapter file is byte-identical to an uninterrupted run's.
    @Test func interruptedCommandResumesBitIdentically() throws {
        let folder = try TestSupport.temporaryFolder()
        let flags = ["train-lora", "-m", "smollm2-135m", "--task", "arith", "--steps", "6", "--rank", "4",
                     "--modules", "q_proj,v_proj,down_proj", "--layers", "26,27,28,29", "--batch-size", "4",
                     "--accumulation", "2", "--warmup", "2", "--seed", "3", "--json"]
        func run(_ out: String, extra: [String] = [], interruptAfter: Int? = nil) throws -> (status: Int32, lines: [String]) {
            try TestSupport.runCastLines(flags + ["--out", folder.appendingPathComponent(out).path] + extra, interruptAfter: interruptAfter)
        }
        let straight = try run("straight")
        #expect(straight.status == 0 && straight.lines.count == 6)
        let stopped = try run("resumed", interruptAfter: 3)
        #expect(stopped.status == 0, "Ctrl-C must end the command cleanly")
        #expect((3..<6).contains(stopped.lines.count), "stopped after \(stopped.lines.count) steps")
        let resumed = try run("resumed", extra: ["--resume"])
        #expect(resumed.status == 0 && stopped.lines.count + resumed.lines.count == 6)
        let a = try Data(contentsOf: folder.appendingPathComponent("straight/adapter_model.safetensors"))
        let b = try Data(contentsOf: folder.appendingPathComponent("resumed/adapter_model.safetensors"))
        #expect(a == b, "the resumed run's adapter differs from the uninterrupted run's")
        let losses = { (lines: [String]) in lines.map { $0.split(separator: ",").first { $0.hasPrefix("\"loss\"") } ?? "" } }
        #expect(losses(stopped.lines + resumed.lines) == losses(straight.lines))
    }

    /// Restoring into another run is refused by name, not silently continued: other
    /// training options, another task, other LoRA layers. More steps are fine.
    @Test func resumeRefusesAnotherRun() throws {
        let a = try Self.trainer(steps: 2)
        try a.step()
        let url = try TestSupport.temporaryFolder().appendingPathComponent("checkpoint.safetensors")
        try a.saveCheckpoint(to: url)
        func refusal(_ other: LoRATrainer) -> String {
            do { try other.restoreCheckpoint(from: url); return "restored" } catch { return "\(error)" }
        }
        #expect(refusal(try Self.trainer(steps: 2, seed: 4)).contains("other training options (seed 3, not 4)"))
        #expect(refusal(try Self.trainer(steps: 2, task: "dates")).hasSuffix("checkpoint was trained on task arith, not task dates"))
        #expect(refusal(try Self.trainer(steps: 2, layers: [27, 28])).contains("other settings"))
        let longer = try Self.trainer(steps: 5)
        try longer.restoreCheckpoint(from: url)
        #expect(longer.completedSteps == 1)
    }

    /// A short real run (all seven projections of every layer, rank 8, 40 steps of 8): the
    /// loss falls and the test score rises far above the bare model's (0 on this format).
    @Test func aShortRunLearnsTheTask() throws {
        let model = try TestModels.model("smollm2-135m")
        let task = try TaskSuite.load("arith")
        var options = TrainingOptions()
        options.steps = 40
        options.learningRate = 2e-3
        options.minLearningRate = 2e-4
        let lora = try LoRAAdapter(for: model.config, config: LoRAConfig(rank: 8, alpha: 16, targetModules: LinearModule.allCases.map(\.rawValue)), seed: 0)
        let trainer = try LoRATrainer(model: model, lora: lora, task: task, options: options)
        var losses: [Double] = []
        try trainer.run(onStep: { losses.append($0.loss) })
        let early = losses.prefix(5).reduce(0, +) / 5, late = losses.suffix(5).reduce(0, +) / 5
        #expect(late < early / 2, "loss \(early) → \(late)")
        let floor = try TaskEvaluation.evaluate(model, task: task, limit: 64)
        let trained = try TaskEvaluation.evaluate(model, adapters: lora.adapters, task: task, limit: 64)
        print("arith on smollm2-135m, 40 steps: loss \(early) → \(late); score \(floor.score) → \(trained.score)")
        #expect(trained.score >= floor.score + 0.3, "score \(floor.score) → \(trained.score)")
    }

    @Test func scheduleWarmsUpThenDecays() {
        var o = TrainingOptions()
        o.steps = 100; o.warmupSteps = 10; o.learningRate = 1e-3; o.minLearningRate = 1e-4
        #expect(abs(o.learningRate(atStep: 1) - 1e-4) < 1e-9)
        #expect(o.learningRate(atStep: 10) == 1e-3)
        #expect(abs(o.learningRate(atStep: 55) - 5.5e-4) < 1e-7)
        #expect(abs(o.learningRate(atStep: 100) - 1e-4) < 1e-9)
    }

    /// A NaN in the LoRA makes the step throw before updating anything.
    @Test func nonFiniteLossKeepsTheLastGoodState() throws {
        let t = try Self.trainer(steps: 3)
        try t.step()
        let good = Self.factors(t)
        t.lora.modules[0].factors.b.mutableData[0] = .nan
        #expect(throws: TrainingError.self) { try t.step() }
        #expect(t.completedSteps == 1)
        var after = Self.factors(t)
        after[1][0] = good[1][0]
        let kept = after == good
        #expect(kept, "the failed step changed the adapter")
    }
}
