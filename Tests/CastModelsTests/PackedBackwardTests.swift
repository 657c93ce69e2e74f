import CastTestSupport
import CastTensor
import Testing
@testable import CastModels

/// Backward through a real model's packed (frozen, 8-bit) weights equals backward through the
/// same weights dequantized to float32, whose backward the tiny-model gradient checks cover.
@Suite struct PackedBackwardTests {
    /// smollm2, 1 × 12 tokens, a seeded loss on the logits and the final hidden states: the
    /// gradient of the layer-0 input and of one trainable norm agree within 1e-3 of their
    /// largest element (sum orders differ; a wrong packed backward is off by O(1)).
    @Test func packedWeightsBackpropagateAsFloat32() throws {
        let name = "smollm2-135m"
        let packed = try Transformer.loadGGUF(path: TestModels.url(name).path, name: name, quantized: .packed)
        let dense = try Transformer.loadGGUF(path: TestModels.url(name).path, name: name, quantized: .float32)
        guard case .packed = packed.weights.layers[3].down, case .dense = dense.weights.layers[3].down else {
            Issue.record("expected packed and float32 weights")
            return
        }
        let tokens: [[Int32]] = [[1, 520, 3012, 44, 9, 600, 71, 8, 4021, 33, 17, 2]]
        let rows = tokens[0].count, c = packed.config
        let dLogits = Tensor.randomNormal([rows, c.vocabularySize], std: 0.01, seed: 1)
        let dHidden = Tensor.randomNormal([rows, c.hiddenSize], seed: 2)
        func gradients(_ model: Transformer) throws -> (Tensor, Tensor) {
            var pass = ForwardPass()
            try model.forward(tokens, pass: &pass, training: true)
            var g = ModelGradients(for: model.weights, trainable: { $0 == "blk.5.ffn_norm.weight" })
            var dEmbeddings: Tensor? = Tensor(zeros: [rows, c.hiddenSize])
            try model.backward(&pass, dLogits: dLogits, dHidden: dHidden, gradients: &g, dEmbeddings: &dEmbeddings)
            return (dEmbeddings!, g.layers[5].feedForwardNorm!)
        }
        let (packedInput, packedNorm) = try gradients(packed)
        let (denseInput, denseNorm) = try gradients(dense)
        for (name, a, b) in [("dEmbeddings", packedInput, denseInput), ("ffn_norm", packedNorm, denseNorm)] {
            let scale = b.scalars.map(abs).max()!
            let difference = TinyModels.maxDifference(a, b)
            print("packed vs float32 backward, \(name): max |Δ| \(difference) of \(scale)")
            #expect(scale > 0.01, "\(name): gradient too small to compare")
            #expect(difference <= 1e-3 * scale, "\(name): \(difference) of \(scale)")
        }
    }
}
