import CastTestSupport
import CastTensor
@testable import CastModels

/// Finite-difference checking of `Transformer.backward`.
///
/// The loss is `L = Σ logits ⊙ R1 + Σ hidden ⊙ R2` for fixed random `R1`, `R2`, so backward
/// receives `dLogits = R1` and `dHidden = R2`. A parameter is nudged by ±h and ±2h in place
/// (float32 forward passes, h = 1e-2), the loss is summed in Double, and the fourth-order
/// central difference is compared with the analytic gradient:
/// `error = |analytic − numeric| / max(1, |numeric|)`.
struct ModelGradCheck {
    let model: Transformer
    let sequences: [[Int32]]
    let r1: Tensor, r2: Tensor
    let step: Float
    /// Adapters applied in every pass of the check.
    var adapters = AdapterSet.none

    var rows: Int { sequences.count * sequences[0].count }

    init(model: Transformer, sequences: [[Int32]] = TinyModels.sequences(), seed: UInt64 = 23, step: Float = 1e-2) {
        self.model = model
        self.sequences = sequences
        let rows = sequences.count * sequences[0].count
        r1 = Tensor.randomNormal([rows, model.config.vocabularySize], seed: seed)
        r2 = Tensor.randomNormal([rows, model.config.hiddenSize], seed: seed &+ 1)
        self.step = step
    }

    // MARK: analytic

    /// One training forward and one backward into fresh gradients (`trainable` by GGUF name)
    /// and a fresh `dEmbeddings`.
    func analytic(trainable: (String) -> Bool, recomputedLayers: Int = 0) throws -> (gradients: ModelGradients, dEmbeddings: Tensor) {
        var g = ModelGradients(for: model.weights, trainable: trainable)
        var dEmbeddings: Tensor? = Tensor(zeros: [rows, model.config.hiddenSize])
        var pass = ForwardPass()
        try model.forward(sequences, options: ForwardOptions(adapters: adapters, training: true, recomputedLayers: recomputedLayers),
                          pass: &pass)
        try model.backward(&pass, dLogits: r1, dHidden: r2, gradients: &g, dEmbeddings: &dEmbeddings)
        return (g, dEmbeddings!)
    }

    // MARK: numeric

    /// The loss with the model's current weights and adapters.
    func loss() throws -> Double {
        var pass = ForwardPass()
        try model.forward(sequences, pass: &pass, training: false, adapters: adapters)
        return Self.dot(pass.logits, r1) + Self.dot(pass.hidden, r2)
    }

    /// The loss of a forward pass that starts from the layer-0 input `x` instead of the ids.
    func loss(fromLayerInput x: Tensor) throws -> Double {
        let out = try model.outputs(fromLayerInput: x, batch: sequences.count, tokens: sequences[0].count,
                                    adapters: adapters)
        return Self.dot(out.logits, r1) + Self.dot(out.hidden, r2)
    }

    /// Fourth-order central difference of `loss` when `set(δ)` puts the checked element at
    /// its original value + δ; `set(0)` restores it afterwards. The five-point stencil
    /// `(8(L(+h) − L(−h)) − (L(+2h) − L(−2h))) / 12h` has an O(h⁴) truncation error, so h can
    /// stay large enough that float32 rounding in the forward pass stays small.
    func centralDifference(_ loss: () throws -> Double, set: (Float) -> Void) rethrows -> Double {
        func at(_ delta: Float) throws -> Double {
            set(delta)
            return try loss()
        }
        let near = try at(step) - at(-step), far = try at(2 * step) - at(-2 * step)
        set(0)
        return (8 * near - far) / (12 * Double(step))
    }

    /// Central difference w.r.t. element `i` of the model weight `name`.
    func numeric(weight name: String, element i: Int) throws -> Double {
        var original: Float = 0
        try model.weights.withTensor(named: name) { original = $0.data[i] }
        var failure: Error?
        let value = try centralDifference(loss) { delta in
            do { try model.weights.withTensor(named: name) { $0.mutableData[i] = original + delta } }
            catch { failure = error }
        }
        if let failure { throw failure }
        return value
    }

    /// Compares `dEmbeddings` with central differences taken by nudging elements of the
    /// layer-0 input (`elements`: all when nil). Also expects the test-only forward path to
    /// reproduce the model's own loss exactly.
    func inputGradientErrors(_ dEmbeddings: Tensor, elements: [Int]? = nil) throws -> GradientErrors {
        var pass = ForwardPass()
        try model.forward(sequences, pass: &pass, training: false, adapters: adapters)
        let x = pass.residualStream(atLayer: 0)
        var perturbed = x
        let reproduced = try loss(fromLayerInput: perturbed)
        var errors = GradientErrors()
        errors.pathMismatch = abs(reproduced - (try loss()))
        let d = model.config.hiddenSize
        for i in elements ?? Array(0..<x.count) {
            let numeric = try centralDifference({ try loss(fromLayerInput: perturbed) }) {
                perturbed.mutableData[i] = x.data[i] + $0
            }
            errors.record("dEmbeddings[\(i / d), \(i % d)]", analytic: dEmbeddings.data[i], numeric: numeric)
        }
        return errors
    }

    static func dot(_ a: Tensor, _ b: Tensor) -> Double {
        var s = 0.0
        for i in 0..<a.count { s += Double(a.data[i]) * Double(b.data[i]) }
        return s
    }
}

extension Transformer {
    /// Test-only: the final hidden states and logits of a forward pass that starts from `x`,
    /// the layer-0 input (`[batch·tokens, d]`), mirroring `forward(_:pass:training:)`.
    func outputs(fromLayerInput x: Tensor, batch: Int, tokens: Int, adapters: AdapterSet) throws -> (logits: Tensor, hidden: Tensor) {
        let positions = (0..<batch).flatMap { _ in (0..<tokens).map { Int32($0) } }
        let context = AttentionContext.sequences(batch: batch, tokens: tokens, saveProbabilities: false)
        var x = x, y = Tensor(), scratch = LayerActivations()
        for index in 0..<config.layerCount {
            try layer(index, adapters, .float32).forward(x, positions: positions, context: context, saved: &scratch, into: &y)
            swap(&x, &y)
        }
        var hidden = Tensor(), mean = Tensor(), rstd = Tensor(), logits = Tensor()
        try finalNorm(x, into: &hidden, mean: &mean, rstd: &rstd)
        try project(hidden, arithmetic: .float32, into: &logits)
        return (logits, hidden)
    }
}
