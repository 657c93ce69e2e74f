@testable import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Foundation
import Testing

/// One CAST step against PyTorch: `scripts/record_cast_step_reference.py` computed the loss,
/// its KL and MSE parts and every gradient with transformers + PEFT + autograd, for the first
/// batch of smollm2-135m (+ a random LoRA) → qwen2.5-0.5b from a CAST folder cast saved
/// before its first step (least-squares P's, so every gradient is non-zero). The same
/// commands make the same folder here, and cast's step must match within 1e-3 relative.
@Suite("CAST step against PyTorch (smollm2-135m → qwen2.5-0.5b)")
struct CastStepReferenceTests {
    struct Gradient: Decodable { let shape: [Int]; let norm: Double; let indices: [Int]; let values: [Double] }
    struct Reference: Decodable {
        let loss: Double, kl: Double, mse: Double
        let gradients: [String: Gradient]
    }

    @Test func stepMatchesPyTorch() throws {
        let url = Bundle.module.url(forResource: "References/cast-step-smollm2-135m-qwen2.5-0.5b", withExtension: "json")!
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        let root = try TestSupport.temporaryFolder()
        let lora = root.appendingPathComponent("lora"), folder = root.appendingPathComponent("cast")
        for command in [["adapter", "init", "-m", "smollm2-135m", "--rank", "4", "--modules", "q_proj,v_proj", "--b-std", "0.02",
                         "--seed", "1", "--out", lora.path],
                        ["transfer", "--source", "smollm2-135m", "--adapter", lora.path, "--target", "qwen2.5-0.5b", "--out", folder.path,
                         "--steps", "0", "--variant", "least-squares", "--batch-size", "2", "--window", "64", "--seed", "0", "--held-out", "0"]] {
            let r = try TestSupport.runCast(command)
            #expect(r.status == 0, "\(command.prefix(2)): \(r.stderr)")
        }
        let teacher = try TestModels.model("smollm2-135m"), student = try TestModels.model("qwen2.5-0.5b")
        let config = try CastAdapterFolder.config(folder)
        let options = try #require(config.options)
        let cast = try CastAdapterFolder.load(folder, target: student)
        let source = try LoRAAdapter.load(lora.path, for: teacher.config)
        let corpus = try PairedCorpus(try TextCorpus.wiki(), teacher: teacher.tokenizer!, student: student.tokenizer!,
                                      length: options.windowLength)
        let trainer = try CastTrainer(teacher: teacher, lora: source, student: student, cast: cast, corpus: corpus, options: options)
        let windows = corpus.batch(step: 0, size: options.training.batchSize, seed: options.training.seed)
        let ours = try trainer.objective.evaluate(windows, scale: 1, step: 1, gradients: true)
        func relative(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-12) }
        print(String(format: "CAST step vs PyTorch: loss %.8f / %.8f, KL %.8f / %.8f, MSE %.8f / %.8f",
                     ours.loss, reference.loss, ours.kl, reference.kl, ours.mse, reference.mse))
        #expect(relative(Double(ours.loss), reference.loss) < 1e-3)
        #expect(relative(Double(ours.kl), reference.kl) < 1e-3)
        #expect(relative(Double(ours.mse), reference.mse) < 1e-3)

        var gradients: [String: Tensor] = ["head": cast.dHead!]
        for layer in cast.layers {
            gradients["\(layer.slot).p_in"] = layer.cast.dPIn!
            gradients["\(layer.slot).p_out"] = try CastAdapterFolder.hfOrder(layer.cast.dPOut!, layer, teacher.config, student.config, toHF: true)
        }
        #expect(Set(gradients.keys) == Set(reference.gradients.keys))
        var worst = (name: "", error: 0.0)
        for (name, expected) in reference.gradients {
            guard let g = gradients[name] else { continue }
            #expect(g.shape == expected.shape, "\(name)")
            let norm = g.scalars.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let sampled = expected.indices.map { Double(g.scalars[$0]) }
            let difference = zip(sampled, expected.values).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            let scale = max(expected.values.reduce(0.0) { $0 + $1 * $1 }.squareRoot(), 1e-3 * expected.norm)
            let error = max(relative(norm, expected.norm), difference / scale)
            if error > worst.error { worst = (name, error) }
            #expect(error < 1e-3, "\(name): norm \(norm) vs \(expected.norm), sampled entries off by \(difference / scale) relative")
        }
        print("CAST step vs PyTorch: \(reference.gradients.count) gradients, worst relative error \(worst.error) (\(worst.name))")
    }
}
