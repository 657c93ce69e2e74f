import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Foundation
import Testing

/// PEFT folders and GGUF-LoRA files written and read back; merging.
@Suite("LoRA files: PEFT and GGUF-LoRA round trips, merging")
struct AdapterFilesTests {
    static let allModules = LinearModule.allCases.map(\.rawValue) + ["c_attn", "c_proj", "c_fc"]

    static func lora(_ model: Transformer, _ config: LoRAConfig? = nil, seed: UInt64 = 1) throws -> LoRAAdapter {
        let targets = model.config.architecture == .gpt2 ? ["c_attn", "c_proj", "c_fc"] : LinearModule.allCases.map(\.rawValue)
        return try LoRAAdapter(for: model.config, config: config ?? LoRAConfig(rank: 3, alpha: 5, targetModules: targets),
                               seed: seed, bStd: 0.3)
    }

    static func logits(_ model: Transformer, _ adapters: AdapterSet = .none) throws -> Tensor {
        try model.logits(TinyModels.sequences(), adapters: adapters)
    }

    /// Save and load give the same factors and logits, on every architecture; llama's q/k B
    /// rows are stored in HF's rotate-half order (so PEFT on transformers reads them right).
    @Test(arguments: Architecture.allCases)
    func peftRoundTrip(_ architecture: Architecture) throws {
        let model = try TinyModels.model(architecture)
        let lora = try Self.lora(model)
        let folder = try TestSupport.temporaryFolder()
        try PEFTAdapterFolder.save(lora, for: model.config, to: folder)
        let back = try PEFTAdapterFolder.load(folder, for: model.config)
        #expect(back.config == lora.config)
        #expect(back.modules.map(\.path) == lora.modules.map(\.path))
        for (a, b) in zip(lora.modules, back.modules) {
            #expect(a.factors.a.scalars == b.factors.a.scalars && a.factors.b.scalars == b.factors.b.scalars)
            #expect(a.factors.scale == b.factors.scale)
        }
        #expect(try Self.logits(model, back.adapters).scalars == Self.logits(model, lora.adapters).scalars)
        let file = try SafetensorsFile(url: folder.appendingPathComponent(PEFTAdapterFolder.weightsName))
        let path = architecture == .gpt2 ? "transformer.h.0.attn.c_attn" : "model.layers.0.self_attn.q_proj"
        let storedB = try file.tensor("base_model.model.\(path).lora_B.weight")
        let castB = lora.modules.first { $0.path == path }!.factors.b
        #expect((storedB.scalars == castB.scalars) == (architecture != .llama), "llama q rows must be permuted to HF order")
    }

    /// GGUF-LoRA: same logits after a round trip; with a rank pattern the file's alpha is 0
    /// and B carries each module's scale.
    @Test(arguments: [false, true])
    func ggufRoundTrip(mixedRanks: Bool) throws {
        let model = try TinyModels.model(.llama)
        let config = LoRAConfig(rank: 4, alpha: 8, targetModules: ["q_proj", "k_proj", "down_proj"],
                                rankPattern: mixedRanks ? ["down_proj": 2] : [:], useRSLoRA: mixedRanks)
        let lora = try Self.lora(model, config)
        let url = try TestSupport.temporaryFolder().appendingPathComponent("lora.gguf")
        try GGUFLoRAFile.save(lora, for: model.config, to: url)
        let file = try GGUFFile(url: url)
        #expect(try file.metadata.string("general.type") == "adapter")
        #expect(try file.metadata.float("adapter.lora.alpha") == (mixedRanks ? 0 : 8))
        #expect(try file.tensorInfo("blk.1.attn_q.weight.lora_a").dimensions == [model.config.hiddenSize, 4])
        let back = try GGUFLoRAFile.load(url, for: model.config)
        let d = TestSupport.maxDifference(try Self.logits(model, back.adapters), try Self.logits(model, lora.adapters))
        #expect(d <= 1e-5, "GGUF-LoRA round trip moved logits by \(d)")
    }

    /// A merged model without adapters gives the unmerged model's logits (tiny float32
    /// models: 1e-5; smollm2's packed weights become float32 where merged: 2e-3).
    @Test(arguments: Architecture.allCases)
    func mergedEqualsUnmerged(_ architecture: Architecture) throws {
        let model = try TinyModels.model(architecture)
        let lora = try Self.lora(model)
        let merged = try lora.merged(into: model)
        let d = TestSupport.maxDifference(try Self.logits(merged), try Self.logits(model, lora.adapters))
        #expect(d <= 1e-5, "\(architecture): merged vs unmerged \(d)")
        #expect(TestSupport.maxDifference(try Self.logits(model), try Self.logits(model, lora.adapters)) > 1e-2)
    }

    @Test func mergedIntoPackedWeights() throws {
        // Packed explicitly: on CPUs where float32 is preferred the packed kernels still run
        // (portable ones), so the merge is checked everywhere.
        let model = try TestModels.model("smollm2-135m", weights: .packed)
        let lora = try LoRAAdapter(for: model.config, config: LoRAConfig(rank: 4, alpha: 8, targetModules: ["q_proj", "down_proj"],
                                                                       layers: [0, 15]), seed: 2, bStd: 0.01)
        guard case .packed = model.weights.layers[0].query else { Issue.record("weights should load packed"); return }
        let merged = try lora.merged(into: model)
        guard case .dense = merged.weights.layers[0].query else { Issue.record("merged weight should be float32"); return }
        guard case .packed = merged.weights.layers[0].key else { Issue.record("untouched weights stay packed"); return }
        let ids: [[Int32]] = [[504, 3575, 282, 4649, 314]]
        let adapted = try model.logits(ids, adapters: lora.adapters), base = try model.logits(ids)
        let d = TestSupport.maxDifference(try merged.logits(ids), adapted)
        #expect(d <= 2e-3, "merged vs unmerged on packed weights: \(d)")
        #expect(TestSupport.maxDifference(base, adapted) > 0.05)
    }
}
