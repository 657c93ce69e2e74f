import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Foundation
import Testing

/// CAST between real models of different families and vocabularies: smollm2-135m (49k
/// tokens) → qwen2.5-0.5b (152k) and → gemma3-270m (262k). A few steps each (CPU time),
/// from a random LoRA on three source layers.
@Suite("CAST on real pairs: smollm2-135m → qwen2.5-0.5b, gemma3-270m")
struct CastRealPairTests {
    static let source = "smollm2-135m"
    static let loraConfig = LoRAConfig(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"], layers: [10, 20, 29])

    static func lora() throws -> LoRAAdapter {
        try LoRAAdapter(for: try TestModels.model(source).config, config: loraConfig, seed: 1, bStd: 0.02)
    }

    static func options(steps: Int) -> CastOptions {
        var o = CastOptions()
        o.training.steps = steps
        o.training.batchSize = 2
        o.training.learningRate = 1e-2
        o.training.minLearningRate = 1e-3
        o.training.warmupSteps = 1
        o.windowLength = 32
        return o
    }

    static func corpus(_ target: Transformer, _ options: CastOptions) throws -> PairedCorpus {
        try PairedCorpus(try TextCorpus.wiki(), teacher: try TestModels.model(source).tokenizer!, student: target.tokenizer!,
                         length: options.windowLength)
    }

    static func logits(_ model: Transformer, _ adapters: AdapterSet, _ sequences: [[Int32]]) throws -> Tensor {
        var pass = ForwardPass()
        try model.forward(sequences, options: ForwardOptions(adapters: adapters), pass: &pass)
        return pass.logits
    }

    /// The loss on a fixed batch falls over 8 steps, every step is finite, the vocabularies
    /// are compared over their shared tokens, and the exported LoRA (in memory and through a
    /// PEFT folder) gives the target the CAST layers' logits within 1e-3.
    @Test(arguments: ["qwen2.5-0.5b", "gemma3-270m"])
    func transferLearnsAndExports(_ targetName: String) throws {
        let teacher = try TestModels.model(Self.source), target = try TestModels.model(targetName)
        let lora = try Self.lora(), options = Self.options(steps: 8)
        let corpus = try Self.corpus(target, options)
        #expect(!corpus.sameVocabulary)
        let cast = try CastAdapter(lora: lora, source: teacher, target: target, layerMap: .relativeDepth, seed: 3)
        let trainer = try CastTrainer(teacher: teacher, lora: lora, student: target, cast: cast, corpus: corpus, options: options)
        #expect(trainer.shared!.count > 20_000, "shared tokens: \(trainer.shared!.count)")
        let fixed = corpus.heldOut(2)
        let before = try trainer.loss(on: fixed)
        var steps: [CastStep] = []
        try trainer.run(onStep: { steps.append($0) })
        let after = try trainer.loss(on: fixed)
        print("CAST \(Self.source) → \(targetName), \(cast.layers.count) layers: held-out batch loss \(before.loss) → \(after.loss) "
              + "(KL \(before.kl) → \(after.kl), MSE \(before.mse) → \(after.mse)); steps \(steps.map { String(format: "%.3f", $0.loss) })")
        #expect(steps.count == 8 && steps.allSatisfy { $0.loss.isFinite && $0.gradNorm.isFinite && $0.positions > 40 })
        #expect(after.loss < 0.8 * before.loss, "the loss must fall: \(before.loss) → \(after.loss)")

        let sequences = [fixed[0].student]
        let expected = try Self.logits(target, cast.adapters, sequences)
        try #expect(TestSupport.maxDifference(expected, try Self.logits(target, .none, sequences)) > 1e-2,
                    "the trained CAST layers must change the target's logits")
        let exported = try cast.exported()
        let inMemory = TestSupport.maxDifference(try Self.logits(target, exported.adapters, sequences), expected)
        let folder = try TestSupport.temporaryFolder().appendingPathComponent("peft")
        try PEFTAdapterFolder.save(exported, for: target.config, to: folder)
        let peft = try PEFTAdapterFolder.load(folder, for: target.config)
        let throughFolder = TestSupport.maxDifference(try Self.logits(target, peft.adapters, sequences), expected)
        print("exported LoRA vs CAST layers on \(targetName): max |Δlogit| \(inMemory) in memory, \(throughFolder) through PEFT")
        #expect(inMemory <= 1e-3 && throughFolder <= 1e-3)
    }

    /// The user's path on a real pair: `cast transfer` stopped by Ctrl-C after its second
    /// step resumes with `--resume` to the same adapter, byte for byte, and the same losses,
    /// as an uninterrupted run; the result loads as `--adapter` and exports.
    @Test func interruptedTransferResumesBitIdentically() throws {
        let root = try TestSupport.temporaryFolder()
        let loraFolder = root.appendingPathComponent("lora")
        try PEFTAdapterFolder.save(try Self.lora(), for: try TestModels.model(Self.source).config, to: loraFolder)
        let flags = ["transfer", "--source", Self.source, "--adapter", loraFolder.path, "--target", "qwen2.5-0.5b",
                     "--steps", "4", "--batch-size", "2", "--window", "32", "--lr", "1e-2", "--held-out", "0", "--json"]
        func run(_ out: String, _ extra: [String] = [], interruptAfter: Int? = nil) throws -> (status: Int32, lines: [String]) {
            try TestSupport.runCastLines(flags + ["--out", root.appendingPathComponent(out).path] + extra, interruptAfter: interruptAfter)
        }
        let straight = try run("straight")
        #expect(straight.status == 0 && straight.lines.count == 5, "\(straight.lines)")
        let stopped = try run("resumed", interruptAfter: 2)
        #expect(stopped.status == 0, "Ctrl-C must end the command cleanly")
        let stoppedSteps = stopped.lines.filter { $0.contains("\"step\"") }
        #expect((2..<4).contains(stoppedSteps.count), "stopped after \(stoppedSteps.count) steps")
        let resumed = try run("resumed", ["--resume"])
        let resumedSteps = resumed.lines.filter { $0.contains("\"step\"") }
        #expect(resumed.status == 0 && stoppedSteps.count + resumedSteps.count == 4)
        let name = CastAdapterFolder.weightsName
        let a = try Data(contentsOf: root.appendingPathComponent("straight/\(name)"))
        let b = try Data(contentsOf: root.appendingPathComponent("resumed/\(name)"))
        #expect(a == b, "the resumed run's adapter differs from the uninterrupted run's")
        func losses(_ lines: [String]) throws -> [Double] {
            try lines.filter { $0.contains("\"step\"") }.map {
                try JSONDecoder().decode(CastStep.self, from: Data($0.utf8)).loss
            }
        }
        try #expect(losses(stoppedSteps + resumedSteps) == losses(Array(straight.lines.prefix(4))))
        let last = try JSONSerialization.jsonObject(with: Data(straight.lines[4].utf8)) as? [String: Any]
        #expect(last?["seconds"] is Double && last?.keys.contains("held_out_kl_before") == true)

        let logits = try TestSupport.runCast(["logits", "-m", "qwen2.5-0.5b", "--adapter", root.appendingPathComponent("resumed").path,
                                              "--prompt", "The capital of France is"])
        #expect(logits.status == 0, "\(logits.stderr)")
        let export = try TestSupport.runCast(["export", "--cast", root.appendingPathComponent("resumed").path,
                                              "--out", root.appendingPathComponent("peft").path])
        #expect(export.status == 0 && FileManager.default.fileExists(atPath: root.appendingPathComponent("peft/adapter_model.safetensors").path),
                "\(export.stderr)")
        // `cast evaluate` takes the CAST folder and its export alike, with the same generations.
        func evaluate(_ adapter: String) throws -> [String: Any]? {
            let r = try TestSupport.runCast(["evaluate", "-m", "qwen2.5-0.5b", "--task", "arith", "--limit", "4", "--no-floor", "--json",
                                             "--adapter", root.appendingPathComponent(adapter).path])
            #expect(r.status == 0, "\(r.stderr)")
            return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        }
        let viaCast = try evaluate("resumed"), viaExport = try evaluate("peft")
        #expect(viaCast?["total"] as? Int == 4)
        let generated = { (json: [String: Any]?) in (json?["examples"] as? [[String: Any]])?.compactMap { $0["generated"] as? String } }
        #expect(generated(viaCast) != nil && generated(viaCast) == generated(viaExport))
    }

    /// `cast cross-lora` onto the source itself returns the source adapter (q_proj is square,
    /// so both SVD projections are the identity); onto qwen2.5-0.5b it writes a PEFT LoRA
    /// and a GGUF-LoRA that load for the target, agree, and change its logits.
    @Test func crossLoRACommand() throws {
        let smol = try TestModels.model(Self.source)
        let root = try TestSupport.temporaryFolder()
        let lora = try LoRAAdapter(for: smol.config, config: LoRAConfig(rank: 4, alpha: 8, targetModules: ["q_proj"], layers: [10, 20]),
                                   seed: 2, bStd: 0.02)
        try PEFTAdapterFolder.save(lora, for: smol.config, to: root.appendingPathComponent("lora"))
        let onto = try TestSupport.runCast(["cross-lora", "--source", Self.source, "--adapter", root.appendingPathComponent("lora").path,
                                            "--target", Self.source, "--out", root.appendingPathComponent("self").path])
        #expect(onto.status == 0, "\(onto.stderr)")
        let same = try PEFTAdapterFolder.load(root.appendingPathComponent("self"), for: smol.config)
        #expect(same.modules.map(\.path) == lora.modules.map(\.path))
        for (a, b) in zip(same.modules, lora.modules) {
            let da = TestSupport.maxDifference(a.factors.a, b.factors.a), db = TestSupport.maxDifference(a.factors.b, b.factors.b)
            #expect(da < 1e-4 * (b.factors.a.scalars.map(abs).max() ?? 1) && db < 1e-4 * (b.factors.b.scalars.map(abs).max() ?? 1),
                    "\(a.path): A off by \(da), B by \(db)")
        }

        let qwen = try TestModels.model("qwen2.5-0.5b")
        let carried = try TestSupport.runCast(["cross-lora", "--source", Self.source, "--adapter", root.appendingPathComponent("lora").path,
                                               "--target", "qwen2.5-0.5b", "--out", root.appendingPathComponent("qwen").path,
                                               "--gguf", root.appendingPathComponent("qwen.gguf").path])
        #expect(carried.status == 0, "\(carried.stderr)")
        let peft = try PEFTAdapterFolder.load(root.appendingPathComponent("qwen"), for: qwen.config)
        let gguf = try GGUFLoRAFile.load(root.appendingPathComponent("qwen.gguf"), for: qwen.config)
        #expect(peft.config.rank == 4 && peft.modules.count == 2)
        let ids: [[Int32]] = [qwen.tokenizer!.encode("The capital of France is Paris.", addSpecial: true, parseSpecial: false).map { Int32($0) }]
        let withPEFT = try Self.logits(qwen, peft.adapters, ids)
        try #expect(TestSupport.maxDifference(withPEFT, try Self.logits(qwen, gguf.adapters, ids)) <= 1e-3)
        let change = TestSupport.maxDifference(withPEFT, try Self.logits(qwen, .none, ids))
        print("Cross-LoRA smollm2-135m → qwen2.5-0.5b changes the logits by up to \(change)")
        #expect(change > 1e-3, "Cross-LoRA must change the logits")
    }
}
