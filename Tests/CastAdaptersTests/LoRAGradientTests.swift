import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Testing

/// Finite-difference checks of `LoRALayer`'s backward through whole tiny models, frozen
/// base weights, random non-zero B. Bound 1e-2 on the relative error, as the model tests.
@Suite("LoRA: gradient checks on tiny models")
struct LoRAGradientTests {
    static let bound = 1e-2

    /// Checks up to `samples` elements of every module's dA and dB.
    static func check(_ model: Transformer, _ config: LoRAConfig, samples: Int = 12) throws {
        let lora = try LoRAAdapter(for: model.config, config: config, seed: 3, bStd: 0.3)
        let probe = LossProbe(model: model)
        try probe.backward(lora.adapters)
        var rng = SeededGenerator(seed: 5)
        var all = GradientErrors()
        for module in lora.modules {
            let f = module.factors
            for (label, count) in [("A", f.a.count), ("B", f.b.count)] {
                var errors = GradientErrors()
                let picks = count <= samples ? Array(0..<count) : (0..<samples).map { _ in Int(rng.next() % UInt64(count)) }
                for i in picks {
                    let numeric: Double
                    if label == "A" {
                        let original = f.a.data[i]
                        numeric = try probe.centralDifference(lora.adapters) { f.a.mutableData[i] = original + $0 }
                    } else {
                        let original = f.b.data[i]
                        numeric = try probe.centralDifference(lora.adapters) { f.b.mutableData[i] = original + $0 }
                    }
                    errors.record("\(module.path) \(label)[\(i)]", analytic: (label == "A" ? f.dA! : f.dB!).data[i], numeric: numeric)
                }
                #expect(errors.largestNumeric > 1e-3, "\(module.path) d\(label): gradients too small to check")
                #expect(errors.maxError < bound, "\(model.name) \(module.path) d\(label): \(errors)")
                all.merge(errors)
            }
        }
        print("\(model.name) LoRA \(config.targetModules): \(all)")
    }

    @Test(arguments: [Architecture.llama, .qwen2, .gemma3])
    func everyProjection(_ architecture: Architecture) throws {
        let model = try TinyModels.model(architecture)
        try Self.check(model, LoRAConfig(rank: 3, alpha: 6, targetModules: LinearModule.allCases.map(\.rawValue)))
    }

    /// GPT-2's fused c_attn: one LoRA for q, k and v, whose shared A sums three gradients.
    @Test func gpt2FusedAttention() throws {
        let model = try TinyModels.model(.gpt2)
        try Self.check(model, LoRAConfig(rank: 2, alpha: 4, targetModules: ["c_attn", "c_proj", "c_fc"]), samples: 20)
    }

    /// rsLoRA with rank and alpha patterns: scale alpha/√r per module.
    @Test func rsLoRAWithPatterns() throws {
        let model = try TinyModels.model(.qwen2)
        let config = LoRAConfig(rank: 4, alpha: 8, targetModules: ["q_proj", "down_proj"], layers: [1],
                                rankPattern: ["down_proj": 2], alphaPattern: ["q_proj": 3], useRSLoRA: true)
        let lora = try LoRAAdapter(for: model.config, config: config, seed: 1)
        let scales = Dictionary(uniqueKeysWithValues: lora.modules.map { ($0.path, ($0.factors.rank, $0.factors.scale)) })
        #expect(scales["model.layers.1.self_attn.q_proj"]! == (4, Float(3 / 2.0)))
        #expect(scales["model.layers.1.mlp.down_proj"]! == (2, Float(8 / 2.0.squareRoot())))
        try Self.check(model, config)
    }
}
