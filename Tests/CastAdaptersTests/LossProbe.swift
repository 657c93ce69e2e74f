import CastModels
import CastTensor

/// A fixed random linear loss `L = Σ logits ⊙ R1 + Σ hidden ⊙ R2` over one batch, so that
/// backward receives `dLogits = R1`, `dHidden = R2`; and its fourth-order central
/// difference when one parameter is nudged in place. Error measure as in the model tests:
/// `|analytic − numeric| / max(1, |numeric|)`.
struct LossProbe {
    let model: Transformer
    let sequences: [[Int32]]
    let r1: Tensor, r2: Tensor
    var step: Float = 1e-2

    init(model: Transformer, sequences: [[Int32]] = TinyModels.sequences(), seed: UInt64 = 23) {
        self.model = model
        self.sequences = sequences
        let rows = sequences.count * (sequences.map(\.count).max() ?? 0)
        r1 = Tensor.randomNormal([rows, model.config.vocabularySize], seed: seed)
        r2 = Tensor.randomNormal([rows, model.config.hiddenSize], seed: seed &+ 1)
    }

    /// The loss with `adapters` (padding rows excluded).
    func loss(_ adapters: AdapterSet) throws -> Double {
        var pass = ForwardPass()
        try model.forward(sequences, pass: &pass, training: false, adapters: adapters)
        var total = 0.0
        let v = model.config.vocabularySize, d = model.config.hiddenSize
        for row in 0..<pass.batch * pass.tokens where !pass.isPadding(row: row) {
            for j in 0..<v { total += Double(pass.logits.data[row * v + j]) * Double(r1.data[row * v + j]) }
            for j in 0..<d { total += Double(pass.hidden.data[row * d + j]) * Double(r2.data[row * d + j]) }
        }
        return total
    }

    /// One training pass and backward with frozen weights; the adapters accumulate.
    func backward(_ adapters: AdapterSet, dEmbeddings: Bool = false) throws {
        var pass = ForwardPass()
        try model.forward(sequences, pass: &pass, training: true, adapters: adapters)
        var g = ModelGradients.frozen(model.weights)
        var dx: Tensor? = dEmbeddings ? Tensor(zeros: [pass.batch * pass.tokens, model.config.hiddenSize]) : nil
        try model.backward(&pass, dLogits: r1, dHidden: r2, gradients: &g, dEmbeddings: &dx)
    }

    /// `(8(L(+h) − L(−h)) − (L(+2h) − L(−2h))) / 12h`, with `set(δ)` putting the element at
    /// its original value + δ.
    func centralDifference(_ adapters: AdapterSet, set: (Float) -> Void) throws -> Double {
        func at(_ delta: Float) throws -> Double { set(delta); return try loss(adapters) }
        let near = try at(step) - at(-step), far = try at(2 * step) - at(-2 * step)
        set(0)
        return (8 * near - far) / (12 * Double(step))
    }
}
