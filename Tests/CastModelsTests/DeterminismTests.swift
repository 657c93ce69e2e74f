import CastTensor
import Testing
@testable import CastModels

/// The same seed and thread count give bit-identical results through a whole model: a
/// forward and backward pass large enough that every kernel splits its rows across cores.
@Suite struct DeterminismTests {
    @Test(arguments: [Architecture.llama, .gemma3])
    func forwardBackwardIsBitIdentical(_ architecture: Architecture) throws {
        var config = ModelConfig(architecture: architecture, vocabularySize: 300, hiddenSize: 128,
                                 intermediateSize: 384, layerCount: 2, headCount: 4, kvHeadCount: 2,
                                 headDim: 32, normEpsilon: 1e-6, contextLength: 256)
        if architecture == .gemma3 {
            config.slidingWindow = 48
            config.slidingWindowPattern = 2
            config.localRopeBase = 10_000
        }
        let model = try Transformer(name: "determinism", config: config, weights: .random(config, std: 0.1, seed: 3))
        var rng = SeededGenerator(seed: 9)
        let sequences = (0..<2).map { _ in (0..<160).map { _ in Int32(rng.next() % 300) } }
        let dHidden = Tensor.randomNormal([320, 128], seed: 4)
        func run() throws -> (logits: Tensor, gradients: [Tensor], dEmbeddings: Tensor) {
            var pass = ForwardPass()
            var gradients = ModelGradients(for: model.weights, trainable: { _ in true })
            var dEmbeddings: Tensor? = Tensor(zeros: [320, 128])
            try model.forward(sequences, pass: &pass, training: true)
            try model.backward(&pass, dLogits: pass.logits, dHidden: dHidden, gradients: &gradients,
                               dEmbeddings: &dEmbeddings)
            return (pass.logits, gradients.named.map(\.gradient), dEmbeddings!)
        }
        let first = try run(), second = try run()
        #expect(first.logits == second.logits)
        #expect(first.dEmbeddings == second.dEmbeddings)
        #expect(first.gradients.count == second.gradients.count)
        for (a, b) in zip(first.gradients, second.gradients) { #expect(a == b) }
    }
}
