import CastAdapters
import CastModels
import CastTensor
import Foundation

/// `cast bench lora`: one LoRA training step (rank 16 on all seven projections, 8 × 128
/// tokens of causal-LM loss, AdamW) on qwen2.5-0.5b, beside the same step in PyTorch + PEFT
/// on CPU (`scripts/bench_peft_lora_step.py` in the venv of `scripts/peft-venv.sh`, on our
/// HF export of the same weights), and our GFLOP/s beside raw sgemm's, in one run.
///
/// FLOPs per step, the same formula on both sides (N = batch·tokens): 4 per frozen linear
/// weight per token (forward and input gradient; the head included), 6 per LoRA parameter
/// per token, and causal attention's 12·layers·heads·head_dim·T(T+1)/2 per sequence.
enum LoRABenchmark {
    static let batch = 8, tokens = 128, rank = 16, timedSteps = 3

    static func run(model name: String = "qwen2.5-0.5b", peer: Bool = true) throws -> BenchReport {
        var report = BenchReport()
        let model = try Transformer.load(name)
        let c = model.config
        let lora = try LoRAAdapter(for: c, config: LoRAConfig(rank: rank, alpha: Double(2 * rank),
                                                                targetModules: LinearModule.allCases.map(\.rawValue)), seed: 0)
        var rng = SeededGenerator(seed: 0)
        let examples = (0..<batch).map { _ in
            TrainingExamples.Example(ids: (0..<tokens).map { _ in Int32(rng.next() % UInt64(c.vocabularySize)) }, promptCount: 1)
        }
        var options = TrainingOptions()
        options.steps = timedSteps + 1
        options.batchSize = batch
        options.warmupSteps = 0
        options.learningRate = 1e-4
        options.minLearningRate = 1e-4
        let trainer = try LoRATrainer(model: model, lora: lora, data: try TrainingExamples(examples: examples), options: options)
        try trainer.step()  // warm-up: buffers sized, pages faulted in
        var seconds: [Double] = []
        for _ in 0..<timedSteps { seconds.append(try trainer.step().seconds) }
        let ours = seconds.min()!
        let rss = Double(try MemoryProbe.peakRSS()) / 1_048_576
        let gflop = flops(model, lora) / 1e9

        let shape = "\(name), r \(rank), 7 modules, \(batch)×\(tokens)"
        let sgemm = EngineBenchmark.rawSgemm(m: batch * tokens, n: c.intermediateSize, k: c.hiddenSize)
        let sgemmSeconds = try fastestRuns(ours: { sgemm.run() }, peer: { sgemm.run() }).peer
        report.rows.append(BenchRow(name: "LoRA step (\(shape)) compute", value: gflop / ours, unit: "GFLOP/s, higher is better",
                                    peer: "raw sgemm \(batch * tokens)×\(c.intermediateSize)×\(c.hiddenSize)",
                                    peerValue: sgemm.flops / sgemmSeconds / 1e9))
        guard peer else {
            report.rows.append(BenchRow(name: "LoRA step (\(shape))", value: ours, unit: "s, lower is better",
                                        peer: "(no peer run)", peerValue: 0))
            report.rows.append(BenchRow(name: "LoRA step peak RSS", value: rss, unit: "MiB, lower is better",
                                        peer: "(no peer run)", peerValue: 0))
            return report
        }
        let theirs = try peerStep(model: model, name: name)
        report.rows.append(BenchRow(name: "LoRA step (\(shape))", value: ours, unit: "s, lower is better",
                                    peer: "PyTorch \(theirs.torch) + PEFT \(theirs.peft), CPU", peerValue: theirs.seconds_min))
        report.rows.append(BenchRow(name: "LoRA step peak RSS", value: rss, unit: "MiB, lower is better",
                                    peer: "PyTorch + PEFT", peerValue: theirs.peak_rss_mib))
        return report
    }

    /// The step's FLOPs by the formula above.
    static func flops(_ model: Transformer, _ lora: LoRAAdapter) -> Double {
        let c = model.config, n = Double(batch * tokens)
        var frozen = Double(model.weights.outputProjection.count)
        for layer in model.weights.layers {
            for module in LinearModule.modules(of: c.architecture) { frozen += Double(module.weight(in: layer)?.count ?? 0) }
        }
        let attention = 12 * Double(c.layerCount * c.headCount * c.headDim) * Double(tokens * (tokens + 1) / 2) * Double(batch)
        return 4 * frozen * n + 6 * Double(lora.parameterCount) * n + attention
    }

    struct PeerStep: Decodable {
        let torch: String, peft: String
        let seconds_min: Double, peak_rss_mib: Double
    }

    /// PyTorch + PEFT's step on our HF export (written once under `$CAST_HOME/hf/`).
    static func peerStep(model: Transformer, name: String) throws -> PeerStep {
        let python = try ModelBenchmark.venvPython(variable: "CAST_PEFT_VENV", folder: ".venv-peft",
                                                   needs: "cast bench lora needs PyTorch and PEFT",
                                                   create: "`scripts/peft-venv.sh`")
        let folder = CastHome.root.appendingPathComponent("hf/\(name)")
        if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path) {
            try model.exportHuggingFace(to: folder)
        }
        let script = try ModelBenchmark.locate("scripts/bench_peft_lora_step.py")
        return try childJSON(python, [script.path, "--model-dir", folder.path, "--rank", "\(rank)", "--alpha", "\(2 * rank)",
                                      "--batch", "\(batch)", "--tokens", "\(tokens)", "--threads", "2",
                                      "--steps", "\(timedSteps)", "--json"], what: script.path)
    }
}
