import CastModels
import CastTensor

/// The factors of one PEFT LoRA module: `Δy = scale·B·A·x` with `A [rank, in]`,
/// `B [out, rank]`, and their gradient buffers (nil while frozen). Backward accumulates.
public final class LoRAFactors {
    public var a: Tensor
    public var b: Tensor
    public let scale: Float
    public var dA: Tensor?
    public var dB: Tensor?

    public var rank: Int { a.shape[0] }
    public var inputWidth: Int { a.shape[1] }
    public var outputWidth: Int { b.shape[0] }

    public init(a: Tensor, b: Tensor, scale: Float, trainable: Bool = true) throws {
        guard a.rank == 2, b.rank == 2, a.shape[0] == b.shape[1], a.shape[0] > 0 else {
            throw AdapterError("LoRA factors: A \(a.shape) and B \(b.shape) do not form A [r, in], B [out, r]")
        }
        self.a = a
        self.b = b
        self.scale = scale
        if trainable { setTrainable(true) }
    }

    public var isTrainable: Bool { dA != nil }

    /// Allocates zeroed gradient buffers (or drops them: frozen).
    public func setTrainable(_ trainable: Bool) {
        dA = trainable ? Tensor(zeros: a.shape) : nil
        dB = trainable ? Tensor(zeros: b.shape) : nil
    }

    /// `scale·B·A` `[out, in]`: the change the module makes to its projection's weight.
    public func delta() throws -> Tensor {
        var d = Tensor(zeros: [outputWidth, inputWidth])
        BLAS.sgemm(transposeA: false, transposeB: false, m: outputWidth, n: inputWidth, k: rank, alpha: scale,
                   a: b.data, lda: rank, b: a.data, ldb: inputWidth, beta: 0, c: d.mutableData, ldc: inputWidth)
        return d
    }
}

/// A LoRA module applied to one projection: rows `rows` of `B` (all of them, except for
/// GPT-2's fused `c_attn`, whose one LoRA covers q, k and v: three `LoRALayer`s then share
/// one `LoRAFactors`, and the shared `dA` sums their gradients).
///
/// Forward keeps `u = A·x` `[n, rank]` in the pass; backward:
/// `dB[rows] += s·dyᵀ·u`, `du = s·dy·B[rows]`, `dA += duᵀ·x`, `dx += du·A`.
public final class LoRALayer: LinearAdapter {
    public let factors: LoRAFactors
    public let rows: Range<Int>

    public init(_ factors: LoRAFactors, rows: Range<Int>? = nil) {
        self.factors = factors
        self.rows = rows ?? 0..<factors.outputWidth
    }

    public var inputWidth: Int { factors.inputWidth }
    public var outputWidth: Int { rows.count }
    public var isTrainable: Bool { factors.isTrainable }

    public func forward(_ x: Tensor, addingTo y: inout Tensor, saving: Bool, saved: inout [Tensor]) throws {
        let f = factors, r = f.rank, n = x.count / max(inputWidth, 1)
        try y.expectShape(Array(x.shape.dropLast()) + [outputWidth], "LoRALayer.forward", "y")
        var u = saving ? (saved.first ?? Tensor()) : Tensor()
        saved = []  // hand the buffer over uniquely so it is reused, not copied
        try Linear.forward(x, weight: f.a, into: &u)
        BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: outputWidth, k: r, alpha: f.scale,
                   a: u.data, lda: r, b: f.b.data + rows.lowerBound * r, ldb: r,
                   beta: 1, c: y.mutableData, ldc: outputWidth)
        if saving { saved = [u] }
    }

    public func backward(dy: Tensor, x: Tensor, saved: [Tensor], dx: inout Tensor?) throws {
        guard let u = saved.first else {
            throw AdapterError("LoRALayer.backward: the forward pass saved nothing (run it with training: true)")
        }
        let f = factors, r = f.rank, n = x.count / inputWidth, out = outputWidth
        try dy.expectShape(Array(x.shape.dropLast()) + [out], "LoRALayer.backward", "dy")
        if f.dB != nil {
            BLAS.sgemm(transposeA: true, transposeB: false, m: out, n: r, k: n, alpha: f.scale,
                       a: dy.data, lda: out, b: u.data, ldb: r,
                       beta: 1, c: f.dB!.mutableData + rows.lowerBound * r, ldc: r)
        }
        guard f.dA != nil || dx != nil else { return }
        var du = Tensor(zeros: [n, r])
        BLAS.sgemm(transposeA: false, transposeB: false, m: n, n: r, k: out, alpha: f.scale,
                   a: dy.data, lda: out, b: f.b.data + rows.lowerBound * r, ldb: r,
                   beta: 0, c: du.mutableData, ldc: r)
        var noBias: Tensor? = nil
        try Linear.backward(dy: du, x: x, weight: f.a, dx: &dx, dWeight: &f.dA, dBias: &noBias)
    }
}
