import CastAdapters
import CastModels
import CastTensor
import Foundation

/// `cast bench cast`: one CAST training step, smollm2-135m (+ a rank-8 LoRA on q_proj and
/// v_proj) → qwen2.5-0.5b, batch 4 × 256 teacher tokens of the wiki corpus, AdamW over the
/// P's and H; its GFLOP/s beside raw sgemm's in the same run, and beside it the same step in
/// PyTorch on CPU (`scripts/record_cast_step_reference.py --bench`, venv of
/// `scripts/peft-venv.sh`).
///
/// FLOPs per step, one formula for both sides: 2 per frozen teacher weight per teacher token
/// (forward, LoRA included) and 4 per frozen student weight per student token (forward and
/// input gradient), the output head counted at the aligned rows only; causal attention
/// 4·layers·heads·head_dim·T(T+1)/2 per teacher sequence, 12·… per student sequence. The
/// CAST layers' own products (per step, not per token) are left out.
enum CastBenchmark {
    static let source = "smollm2-135m", target = "qwen2.5-0.5b"
    static let batch = 4, window = 256, rank = 8, timedSteps = 2

    static func run(peer: Bool = true) throws -> BenchReport {
        var report = BenchReport()
        let teacher = try Transformer.load(source), student = try Transformer.load(target)
        let lora = try LoRAAdapter(for: teacher.config, config: LoRAConfig(rank: rank, alpha: Double(2 * rank),
                                                                            targetModules: ["q_proj", "v_proj"]), seed: 0, bStd: 0.02)
        var options = CastOptions()
        options.training.steps = timedSteps + 1
        options.training.batchSize = batch
        options.windowLength = window
        let corpus = try PairedCorpus(try TextCorpus.wiki(), teacher: teacher.tokenizer!, student: student.tokenizer!, length: window)
        let cast = try CastAdapter(lora: lora, source: teacher, target: student, seed: 0)
        let trainer = try CastTrainer(teacher: teacher, lora: lora, student: student, cast: cast, corpus: corpus, options: options)
        var steps: [CastStep] = [try trainer.step()]  // warm-up: buffers sized, pages faulted in
        for _ in 0..<timedSteps { steps.append(try trainer.step()) }
        let fastest = steps.dropFirst().min { $0.seconds < $1.seconds }!
        let rss = Double(try MemoryProbe.peakRSS()) / 1_048_576
        let gflop = flops(teacher: teacher, student: student, windows: corpus.batch(step: fastest.step - 1, size: batch, seed: 0),
                          positions: fastest.positions) / 1e9

        let shape = "\(source) r\(rank) q,v → \(target), \(batch)×\(window)"
        let m = batch * window, n = student.config.intermediateSize, k = student.config.hiddenSize
        let sgemm = EngineBenchmark.rawSgemm(m: m, n: n, k: k)
        let sgemmSeconds = try fastestRuns(ours: { sgemm.run() }, peer: { sgemm.run() }).peer
        report.rows.append(BenchRow(name: "CAST step (\(shape)) compute", value: gflop / fastest.seconds, unit: "GFLOP/s, higher is better",
                                    peer: "raw sgemm \(m)×\(n)×\(k)", peerValue: sgemm.flops / sgemmSeconds / 1e9))
        let (peerName, peerSeconds, peerRSS) = peer ? try peerStep(teacher: teacher, student: student) : ("(no peer run)", 0.0, 0.0)
        report.rows.append(BenchRow(name: "CAST step (\(shape))", value: fastest.seconds, unit: "s, lower is better",
                                    peer: peerName, peerValue: peerSeconds))
        report.rows.append(BenchRow(name: "CAST step peak RSS", value: rss, unit: "MiB, lower is better",
                                    peer: peerName, peerValue: peerRSS))
        return report
    }

    /// The step's FLOPs by the formula above, for these windows and aligned positions.
    static func flops(teacher: Transformer, student: Transformer, windows: [PairedWindow], positions: Int) -> Double {
        func weights(_ model: Transformer) -> Double {
            model.weights.layers.reduce(0.0) { sum, layer in
                sum + LinearModule.modules(of: model.config.architecture).reduce(0.0) { $0 + Double($1.weight(in: layer)?.count ?? 0) }
            }
        }
        func attention(_ c: ModelConfig, _ lengths: [Int]) -> Double {
            lengths.reduce(0.0) { $0 + Double(c.layerCount * c.headCount * c.headDim) * Double($1 * ($1 + 1) / 2) }
        }
        let t = windows.map(\.teacher.count), s = windows.map(\.student.count)
        let tn = Double(t.reduce(0, +)), sn = Double(s.reduce(0, +)), p = Double(positions)
        return 2 * weights(teacher) * tn + 2 * Double(teacher.weights.outputProjection.count) * p + 4 * attention(teacher.config, t)
            + 4 * weights(student) * sn + 4 * Double(student.weights.outputProjection.count) * p + 12 * attention(student.config, s)
    }

    struct PeerStep: Decodable {
        let seconds: Double
        let peak_rss_bytes: Double
        let torch: String
    }

    /// PyTorch's step on our HF exports of both models (written once under `$CAST_HOME/hf/`).
    static func peerStep(teacher: Transformer, student: Transformer) throws -> (String, Double, Double) {
        let python = try ModelBenchmark.venvPython(variable: "CAST_PEFT_VENV", folder: ".venv-peft",
                                                   needs: "cast bench cast needs PyTorch, transformers and PEFT",
                                                   create: "`scripts/peft-venv.sh`")
        var folders: [String] = []
        for model in [teacher, student] {
            let folder = CastHome.root.appendingPathComponent("hf/\(model.name)")
            if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path) {
                try model.exportHuggingFace(to: folder)
            }
            folders.append(folder.path)
        }
        let script = try ModelBenchmark.locate("scripts/record_cast_step_reference.py")
        let step: PeerStep = try childJSON(python, [script.path, "--bench", "--source-hf", folders[0], "--target-hf", folders[1],
                                                    "--batch", "\(batch)", "--window", "\(window)", "--rank", "\(rank)"],
                                           what: script.path)
        return ("PyTorch \(step.torch), CPU", step.seconds, step.peak_rss_bytes / 1_048_576)
    }
}
