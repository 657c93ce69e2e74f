import CastAdapters
import CastModels
import CastTensor
import Foundation

/// `cast bench cast`: one CAST training step, smollm2-135m (+ a rank-4 LoRA on q_proj and
/// v_proj, as `cast adapter init --rank 4 --b-std 0.02 --seed 1` makes it) → qwen2.5-0.5b,
/// batch 4 × 256 teacher tokens of the wiki corpus (the first batch of seed 0), AdamW over the
/// P's and H; with every student layer recomputed in backward (the default) and with none;
/// GFLOP/s beside raw sgemm's in the same run, and beside them the same step in PyTorch on
/// CPU (`scripts/record_cast_step_reference.py --bench`, venv of `scripts/peft-venv.sh`).
///
/// FLOPs per step, one formula for both sides: 2 per frozen teacher weight per teacher token
/// (forward, LoRA included) and 4 per frozen student weight per student token (forward and
/// input gradient), each output head counted at the aligned rows and at the columns computed
/// (the student's: the shared tokens only); causal attention 4·layers·heads·head_dim·T(T+1)/2
/// per teacher sequence, 12·… per student sequence; recomputed layers add their forward
/// again. The CAST layers' own products (per step, not per token) are left out. PyTorch's
/// step computes the student's full-vocabulary logits and keeps every activation.
enum CastBenchmark {
    static let source = "smollm2-135m", target = "qwen2.5-0.5b"
    static let batch = 4, window = 256, rank = 4, timedSteps = 2

    static func run(peer: Bool = true) throws -> BenchReport {
        var report = BenchReport()
        let teacher = try Transformer.load(source), student = try Transformer.load(target)
        let lora = try LoRAAdapter(for: teacher.config, config: LoRAConfig(rank: rank, alpha: Double(2 * rank),
                                                                            targetModules: ["q_proj", "v_proj"]), seed: 1, bStd: 0.02)
        var options = CastOptions()
        options.training.steps = 2 * (timedSteps + 1)
        options.training.batchSize = batch
        options.windowLength = window
        let corpus = try PairedCorpus(try TextCorpus.wiki(), teacher: teacher, student: student, length: window)
        let cast = try CastAdapter(lora: lora, source: teacher, target: student, seed: 0)
        let trainer = try CastTrainer(teacher: teacher, lora: lora, student: student, cast: cast, corpus: corpus, options: options)
        let windows = corpus.batch(step: 0, size: batch, seed: 0)
        let shape = "\(source) r\(rank) q,v → \(target), \(batch)×\(window)"
        let m = batch * window, n = student.config.intermediateSize, k = student.config.hiddenSize
        let sgemm = EngineBenchmark.rawSgemm(m: m, n: n, k: k)
        let sgemmGFLOPs = sgemm.flops / (try fastestRuns(ours: { sgemm.run() }, peer: { sgemm.run() }).peer) / 1e9
        let (peerName, peerSeconds, peerRSS) = peer ? try peerStep(teacher: teacher, student: student) : ("(no peer run)", 0.0, 0.0)

        // Least memory first (every layer recomputed), so the peak RSS read after it is its own.
        for (label, recomputed) in [("", student.config.layerCount), (", nothing recomputed", 0)] {
            trainer.recomputedLayers = recomputed
            var steps: [CastStep] = [try trainer.step()]  // warm-up: buffers sized, pages faulted in
            for _ in 0..<timedSteps { steps.append(try trainer.step()) }
            let fastest = steps.dropFirst().min { $0.seconds < $1.seconds }!
            let rss = Double(try MemoryProbe.peakRSS()) / 1_048_576
            let gflop = flops(teacher: teacher, student: student, windows: windows, positions: fastest.positions,
                              studentColumns: trainer.shared?.count ?? student.config.vocabularySize, recomputed: recomputed) / 1e9
            report.rows.append(BenchRow(name: "CAST step (\(shape)\(label)) compute", value: gflop / fastest.seconds,
                                        unit: "GFLOP/s, higher is better", peer: "raw sgemm \(m)×\(n)×\(k)", peerValue: sgemmGFLOPs))
            report.rows.append(BenchRow(name: "CAST step (\(shape)\(label))", value: fastest.seconds, unit: "s, lower is better",
                                        peer: peerName, peerValue: peerSeconds))
            report.rows.append(BenchRow(name: "CAST step peak RSS\(label)", value: rss, unit: "MiB, lower is better",
                                        peer: peerName, peerValue: peerRSS))
        }
        return report
    }

    /// The step's FLOPs by the formula above, for these windows and aligned positions.
    static func flops(teacher: Transformer, student: Transformer, windows: [PairedWindow], positions: Int,
                      studentColumns: Int, recomputed: Int) -> Double {
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
        let again = Double(min(recomputed, student.config.layerCount)) / Double(student.config.layerCount)
        return 2 * weights(teacher) * tn + 2 * Double(teacher.weights.outputProjection.count) * p + 4 * attention(teacher.config, t)
            + (4 + 2 * again) * weights(student) * sn + (12 + 4 * again) * attention(student.config, s)
            + 4 * Double(studentColumns * student.config.hiddenSize) * p
    }

    struct PeerStep: Decodable {
        let seconds: Double
        let peak_rss_bytes: Double
        let torch: String
    }

    /// PyTorch's step, in its own process, on HF exports of both models and the CAST folder and
    /// batch this binary writes for it (under `$CAST_HOME/work/cast-step`).
    static func peerStep(teacher: Transformer, student: Transformer) throws -> (String, Double, Double) {
        let python = try ModelBenchmark.venvPython(variable: "CAST_PEFT_VENV", folder: ".venv-peft",
                                                   needs: "cast bench cast needs PyTorch, transformers and PEFT",
                                                   create: "`scripts/peft-venv.sh`")
        let script = try ModelBenchmark.locate("scripts/record_cast_step_reference.py")
        let cast = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let step: PeerStep = try childJSON(python, [script.path, "--bench", "--cast", cast.path, "--variant", "paper",
                                                    "--batch", "\(batch)", "--window", "\(window)"],
                                           what: script.path)
        return ("PyTorch \(step.torch), CPU", step.seconds, step.peak_rss_bytes / 1_048_576)
    }
}
