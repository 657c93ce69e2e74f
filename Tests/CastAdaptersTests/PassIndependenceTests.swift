import CastAdapters
import CastModels
import CastTensor
import CastTestSupport
import Testing

/// Several passes of one model in flight at once, each with its own adapters (CAST runs a
/// teacher, a student and the bare models over one batch before one backward).
@Suite("Passes in flight: interleaved forward and backward keep their own state")
struct PassIndependenceTests {
    static let allModules = LinearModule.allCases.map(\.rawValue)

    /// Gradients of the loss probe's loss for `lora`, from a pass run alone.
    static func alone(_ probe: LossProbe, _ lora: LoRAAdapter) throws -> [Tensor] {
        lora.zeroGradients()
        try probe.backward(lora.adapters)
        return lora.modules.flatMap { [$0.factors.dA!, $0.factors.dB!] }
    }

    /// Forward X, forward Y (same model, other adapters, other batch), backward X, backward Y:
    /// each set of gradients equals its pass run alone, bit for bit.
    @Test(arguments: [Architecture.llama, .gemma3])
    func interleavedPassesGiveTheirOwnGradients(_ architecture: Architecture) throws {
        let model = try TinyModels.model(architecture)
        let x = try LoRAAdapter(for: model.config, config: LoRAConfig(rank: 2, alpha: 4, targetModules: Self.allModules),
                                seed: 1, bStd: 0.3)
        let y = try LoRAAdapter(for: model.config, config: LoRAConfig(rank: 3, alpha: 3, targetModules: ["q_proj", "v_proj", "down_proj"]),
                                seed: 2, bStd: 0.3)
        let probeX = LossProbe(model: model, sequences: TinyModels.sequences(seed: 5))
        let probeY = LossProbe(model: model, sequences: TinyModels.sequences(batch: 3, tokens: 5, seed: 6), seed: 29)
        let expectedX = try Self.alone(probeX, x), expectedY = try Self.alone(probeY, y)
        x.zeroGradients()
        y.zeroGradients()

        var passX = ForwardPass(), passY = ForwardPass()
        try model.forward(probeX.sequences, pass: &passX, training: true, adapters: x.adapters)
        try model.forward(probeY.sequences, pass: &passY, training: true, adapters: y.adapters)
        var gX = ModelGradients.frozen(model.weights), gY = ModelGradients.frozen(model.weights), none: Tensor? = nil
        try model.backward(&passX, dLogits: probeX.r1, dHidden: probeX.r2, gradients: &gX, dEmbeddings: &none)
        try model.backward(&passY, dLogits: probeY.r1, dHidden: probeY.r2, gradients: &gY, dEmbeddings: &none)
        let gotX = x.modules.flatMap { [$0.factors.dA!, $0.factors.dB!] }
        let gotY = y.modules.flatMap { [$0.factors.dA!, $0.factors.dB!] }
        for (got, expected) in zip(gotX, expectedX) { #expect(got.scalars == expected.scalars) }
        for (got, expected) in zip(gotY, expectedY) { #expect(got.scalars == expected.scalars) }
        #expect(expectedX.contains { $0.scalars.contains { $0 != 0 } })
    }

    /// One adapter in two passes over different batches: backward accumulates both.
    @Test func oneAdapterInTwoPassesAccumulates() throws {
        let model = try TinyModels.model(.qwen2)
        let lora = try LoRAAdapter(for: model.config, config: LoRAConfig(rank: 2, alpha: 2, targetModules: Self.allModules),
                                   seed: 4, bStd: 0.3)
        let first = LossProbe(model: model, sequences: TinyModels.sequences(seed: 8))
        let second = LossProbe(model: model, sequences: TinyModels.sequences(seed: 9), seed: 31)
        let a = try Self.alone(first, lora), b = try Self.alone(second, lora)
        lora.zeroGradients()
        var p1 = ForwardPass(), p2 = ForwardPass()
        try model.forward(first.sequences, pass: &p1, training: true, adapters: lora.adapters)
        try model.forward(second.sequences, pass: &p2, training: true, adapters: lora.adapters)
        var g = ModelGradients.frozen(model.weights), none: Tensor? = nil
        try model.backward(&p2, dLogits: second.r1, dHidden: second.r2, gradients: &g, dEmbeddings: &none)
        try model.backward(&p1, dLogits: first.r1, dHidden: first.r2, gradients: &g, dEmbeddings: &none)
        let got = lora.modules.flatMap { [$0.factors.dA!, $0.factors.dB!] }
        for (k, t) in got.enumerated() {
            var sum = a[k]
            try sum.add(b[k])
            #expect(TestSupport.maxDifference(t, sum) <= 1e-5 * max(1, sum.scalars.map(abs).max()!))
        }
    }
}
