import CastTestSupport
import CastTensor
import Testing
@testable import CastModels

/// Finite-difference checks of `Transformer.backward` on tiny random models of every
/// architecture (`TinyModels`), batch 2 × 7 tokens, loss `Σ logits⊙R1 + Σ hidden⊙R2`
/// (`ModelGradCheck`). Error of an element: `|analytic − numeric| / max(1, |numeric|)`, with
/// fourth-order central differences of step 1e-2 over float32 forward passes.
@Suite("Transformer backward: gradient checks on tiny models")
struct TransformerBackwardTests {
    /// Bound on the error of every checked element. The measured errors of a correct backward
    /// stay below 2e-3 on every architecture; a dropped or wrong term gives errors of 0.05 or
    /// more (checked by breaking the backward on purpose when these tests were written).
    static let bound = 1e-2

    /// `dEmbeddings` (the gradient of the layer-0 input) matches central differences taken by
    /// nudging every element of the layer-0 input (all 14 × 16), with frozen weights.
    /// Bound: `bound`.
    @Test(arguments: Architecture.allCases)
    func inputEmbeddingGradient(_ architecture: Architecture) throws {
        let model = try TinyModels.model(architecture)
        let check = ModelGradCheck(model: model)
        let dEmbeddings = try check.analytic(trainable: { _ in false }).dEmbeddings
        let errors = try check.inputGradientErrors(dEmbeddings)
        #expect(errors.pathMismatch == 0, "the test-only forward path differs from the model's")
        print("\(architecture) dEmbeddings: \(errors)")
        #expect(errors.largestNumeric > 0.1, "\(architecture): gradients too small to check anything")
        #expect(errors.maxError < Self.bound, "\(architecture) dEmbeddings: \(errors)")
    }

    /// Recomputing layers' activations in backward (none, the lowest, all) gives the same
    /// gradients, bit for bit: the recomputation is the forward call itself.
    @Test(arguments: Architecture.allCases)
    func recomputedLayersGiveTheSameGradients(_ architecture: Architecture) throws {
        let model = try TinyModels.model(architecture)
        let check = ModelGradCheck(model: model)
        let kept = try check.analytic(trainable: { _ in true })
        for recomputed in [1, model.config.layerCount] {
            let again = try check.analytic(trainable: { _ in true }, recomputedLayers: recomputed)
            #expect(again.dEmbeddings.scalars == kept.dEmbeddings.scalars, "\(architecture), \(recomputed) recomputed")
            for ((name, a), (_, b)) in zip(again.gradients.named, kept.gradients.named) {
                #expect(a.scalars == b.scalars, "\(architecture) \(name), \(recomputed) recomputed")
            }
        }
    }

    /// Every weight of the model is trainable; for each weight tensor, 8 sampled elements
    /// (token-embedding samples half from rows of tokens in the batch, position-embedding
    /// samples from the positions used) match central differences. This covers attention
    /// q/k/v/o, their biases, q/k norms, post-norms, gate/up/down and their biases, norm
    /// weights and LayerNorm biases, learned positions, the tied token embedding (input and
    /// output at once), the untied output projection (llama) and the final norm.
    /// Bound: `bound` for every element. GPT-2's key biases (no RoPE) have a true gradient of
    /// zero; there the analytic gradient must be below 1e-5 everywhere.
    @Test(arguments: Architecture.allCases)
    func weightGradients(_ architecture: Architecture) throws {
        let model = try TinyModels.model(architecture)
        let check = ModelGradCheck(model: model)
        let gradients = try check.analytic(trainable: { _ in true }).gradients
        // Every weight got a gradient buffer of its own shape.
        #expect(gradients.named.reduce(0) { $0 + $1.gradient.count } == model.weights.parameterCount)

        var rng = SeededGenerator(seed: 31)
        var all = GradientErrors()
        let usedIds = check.sequences.flatMap { $0 }
        let d = model.config.hiddenSize
        for (name, gradient) in gradients.named {
            var errors = GradientErrors()
            for k in 0..<min(8, gradient.count) {
                let i: Int
                switch name {
                case "token_embd.weight" where k % 2 == 0:
                    i = Int(usedIds[Int(rng.next() % UInt64(usedIds.count))]) * d + Int(rng.next() % UInt64(d))
                case "position_embd.weight":
                    i = Int(rng.next() % UInt64(check.sequences[0].count * d))
                default:
                    i = gradient.count <= 8 ? k : Int(rng.next() % UInt64(gradient.count))
                }
                let numeric = try check.numeric(weight: name, element: i)
                errors.record("\(name)[\(i)]", analytic: gradient.data[i], numeric: numeric)
            }
            if name.hasSuffix("attn_k.bias") && !model.config.traits.usesRoPE {
                // Without RoPE a key bias adds the same q·b to all of a query's scores, which
                // softmax ignores: its true gradient is zero.
                #expect(gradient.scalars.allSatisfy { abs($0) < 1e-5 }, "\(architecture) \(name) should vanish")
                #expect(errors.largestNumeric < 1e-2, "\(architecture) \(name) should vanish: \(errors)")
            } else {
                #expect(errors.largestNumeric > 1e-2, "\(architecture) \(name): gradients too small to check anything")
            }
            #expect(errors.maxError < Self.bound, "\(architecture) \(name): \(errors)")
            all.merge(errors)
        }
        print("\(architecture) all weights: \(all)")
    }

    /// With `ModelGradients.frozen` no weight gradient is allocated, before or after backward,
    /// and `dEmbeddings` is bit-identical to the one computed with every weight trainable.
    @Test(arguments: Architecture.allCases)
    func frozenWeightsAllocateNothing(_ architecture: Architecture) throws {
        let check = ModelGradCheck(model: try TinyModels.model(architecture))
        #expect(ModelGradients.frozen(check.model.weights).named.isEmpty)
        let frozen = try check.analytic(trainable: { _ in false })
        let trained = try check.analytic(trainable: { _ in true })
        #expect(frozen.gradients.named.isEmpty)
        #expect(frozen.gradients.tokenEmbedding == nil && frozen.gradients.output == nil)
        #expect(frozen.dEmbeddings.scalars == trained.dEmbeddings.scalars)
        #expect(frozen.dEmbeddings.scalars.contains { $0 != 0 })
    }

    /// Backward accumulates: two backward calls on one forward pass give twice the gradients
    /// of one (relative error ≤ 1e-6), and a logits-only plus a hidden-only backward give the
    /// gradients of one backward with both (relative error ≤ 1e-4: only the summation order
    /// differs).
    @Test(arguments: Architecture.allCases)
    func backwardAccumulates(_ architecture: Architecture) throws {
        let check = ModelGradCheck(model: try TinyModels.model(architecture))
        let model = check.model
        let once = try check.analytic(trainable: { _ in true })

        func run(_ calls: [(dLogits: Tensor?, dHidden: Tensor?)]) throws -> (ModelGradients, Tensor) {
            var g = ModelGradients(for: model.weights, trainable: { _ in true })
            var dEmbeddings: Tensor? = Tensor(zeros: once.dEmbeddings.shape)
            var pass = ForwardPass()
            try model.forward(check.sequences, pass: &pass, training: true)
            for call in calls {
                try model.backward(&pass, dLogits: call.dLogits, dHidden: call.dHidden,
                                   gradients: &g, dEmbeddings: &dEmbeddings)
            }
            return (g, dEmbeddings!)
        }
        func expectClose(_ a: Tensor, _ b: Tensor, scale: Float, _ tolerance: Float, _ what: String) {
            var worst: Float = 0
            for i in 0..<a.count { worst = max(worst, abs(a.data[i] - scale * b.data[i]) / max(1, abs(a.data[i]))) }
            #expect(worst <= tolerance, "\(architecture) \(what): relative error \(worst)")
        }

        let (twice, dTwice) = try run([(check.r1, check.r2), (check.r1, check.r2)])
        expectClose(dTwice, once.dEmbeddings, scale: 2, 1e-6, "dEmbeddings twice")
        for ((name, a), (_, b)) in zip(twice.named, once.gradients.named) {
            expectClose(a, b, scale: 2, 1e-6, "\(name) twice")
        }
        let (split, dSplit) = try run([(check.r1, nil), (nil, check.r2)])
        expectClose(dSplit, once.dEmbeddings, scale: 1, 1e-4, "dEmbeddings split")
        for ((name, a), (_, b)) in zip(split.named, once.gradients.named) {
            expectClose(a, b, scale: 1, 1e-4, "\(name) split")
        }
    }
}
