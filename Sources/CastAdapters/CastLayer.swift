import CastModels
import CastTensor

/// A CAST layer on one target projection: the source LoRA's frozen `s·B·A` between two
/// learned maps, `Δy = s·P_out·B·A·P_in·x`, with `P_in [in_s, in_t]` taking the target's
/// input into the source's input space and `P_out [out_t, out_s]` the source's change into
/// the target's output space.
///
/// The product is rank r, so it runs as a LoRA with composite factors `A' = A·P_in`
/// `[r, in_t]` and `B' = P_out·B` `[out_t, r]`, built once per change of the P's (a few
/// r·in·out flops) instead of two full-width products per token. Backward follows LoRA's
/// (`dB'`, `dA'`, `dx`) and then the chain rule into the P's: `dP_out += dB'·Bᵀ`,
/// `dP_in += Aᵀ·dA'`. Gradients accumulate.
public final class CastLayer: LinearAdapter {
    /// The source module's frozen factors and the rows of B this slot uses (all but for
    /// GPT-2's fused c_attn).
    public let source: LoRAFactors
    public let sourceRows: Range<Int>
    public var pIn: Tensor { didSet { composite = nil } }
    public var pOut: Tensor { didSet { composite = nil } }
    public var dPIn: Tensor?
    public var dPOut: Tensor?
    private var composite: (a: Tensor, b: Tensor)?

    public init(source: LoRAFactors, sourceRows: Range<Int>? = nil, pIn: Tensor, pOut: Tensor, trainable: Bool = true) throws {
        let rows = sourceRows ?? 0..<source.outputWidth
        guard pIn.rank == 2, pIn.shape[0] == source.inputWidth else {
            throw AdapterError("CAST layer: P_in \(pIn.shape) must be [\(source.inputWidth), target input width]")
        }
        guard pOut.rank == 2, pOut.shape[1] == rows.count else {
            throw AdapterError("CAST layer: P_out \(pOut.shape) must be [target output width, \(rows.count)]")
        }
        self.source = source
        self.sourceRows = rows
        self.pIn = pIn
        self.pOut = pOut
        setTrainable(trainable)
    }

    public var inputWidth: Int { pIn.shape[1] }
    public var outputWidth: Int { pOut.shape[0] }
    public var rank: Int { source.rank }
    public var scale: Float { source.scale }
    public var isTrainable: Bool { dPIn != nil }

    public func setTrainable(_ trainable: Bool) {
        dPIn = trainable ? Tensor(zeros: pIn.shape) : nil
        dPOut = trainable ? Tensor(zeros: pOut.shape) : nil
    }

    /// The rank-r factors this layer adds: `A' = A·P_in`, `B' = P_out·B[rows]` (scale `s`
    /// stays outside, as in the source LoRA). What `export` writes.
    public func compositeFactors() -> (a: Tensor, b: Tensor) {
        if let composite { return composite }
        let r = rank, inS = source.inputWidth, inT = inputWidth, outS = sourceRows.count, outT = outputWidth
        var a = Tensor(zeros: [r, inT]), b = Tensor(zeros: [outT, r])
        BLAS.sgemm(transposeA: false, transposeB: false, m: r, n: inT, k: inS,
                   a: source.a.data, lda: inS, b: pIn.data, ldb: inT, beta: 0, c: a.mutableData, ldc: inT)
        BLAS.sgemm(transposeA: false, transposeB: false, m: outT, n: r, k: outS,
                   a: pOut.data, lda: outS, b: source.b.data + sourceRows.lowerBound * r, ldb: r,
                   beta: 0, c: b.mutableData, ldc: r)
        composite = (a, b)
        return (a, b)
    }

    public func forward(_ x: Tensor, addingTo y: inout Tensor, saving: Bool, saved: inout [Tensor]) throws {
        let (a, b) = compositeFactors()
        let r = rank, n = x.count / max(inputWidth, 1)
        try y.expectShape(Array(x.shape.dropLast()) + [outputWidth], "CastLayer.forward", "y")
        var u = saving ? (saved.first ?? Tensor()) : Tensor()
        saved = []
        try Linear.forward(x, weight: a, into: &u)
        BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: outputWidth, k: r, alpha: scale,
                   a: u.data, lda: r, b: b.data, ldb: r, beta: 1, c: y.mutableData, ldc: outputWidth)
        if saving { saved = [u] }
    }

    public func backward(dy: Tensor, x: Tensor, saved: [Tensor], dx: inout Tensor?) throws {
        guard let u = saved.first else {
            throw AdapterError("CastLayer.backward: the forward pass saved nothing (run it with training: true)")
        }
        let (a, b) = compositeFactors()
        let r = rank, n = x.count / inputWidth, out = outputWidth
        try dy.expectShape(Array(x.shape.dropLast()) + [out], "CastLayer.backward", "dy")
        var du = Tensor(zeros: [n, r])
        BLAS.sgemm(transposeA: false, transposeB: false, m: n, n: r, k: out, alpha: scale,
                   a: dy.data, lda: out, b: b.data, ldb: r, beta: 0, c: du.mutableData, ldc: r)
        if dx != nil {
            try dx!.expectShape(x.shape, "CastLayer.backward", "dx")
            BLAS.sgemm(transposeA: false, transposeB: false, m: n, n: inputWidth, k: r,
                       a: du.data, lda: r, b: a.data, ldb: inputWidth, beta: 1, c: dx!.mutableData, ldc: inputWidth)
        }
        guard dPIn != nil else { return }
        let inS = source.inputWidth, inT = inputWidth, outS = sourceRows.count
        // dB' = s·dyᵀ·u [out_t, r]; dP_out += dB'·B[rows]ᵀ
        var dB = Tensor(zeros: [out, r])
        BLAS.sgemm(transposeA: true, transposeB: false, m: out, n: r, k: n, alpha: scale,
                   a: dy.data, lda: out, b: u.data, ldb: r, beta: 0, c: dB.mutableData, ldc: r)
        BLAS.sgemm(transposeA: false, transposeB: true, m: out, n: outS, k: r,
                   a: dB.data, lda: r, b: source.b.data + sourceRows.lowerBound * r, ldb: r,
                   beta: 1, c: dPOut!.mutableData, ldc: outS)
        // dA' = duᵀ·x [r, in_t]; dP_in += Aᵀ·dA'
        var dA = Tensor(zeros: [r, inT])
        BLAS.sgemm(transposeA: true, transposeB: false, m: r, n: inT, k: n,
                   a: du.data, lda: r, b: x.data, ldb: inT, beta: 0, c: dA.mutableData, ldc: inT)
        BLAS.sgemm(transposeA: true, transposeB: false, m: inS, n: inT, k: r,
                   a: source.a.data, lda: inS, b: dA.data, ldb: inT, beta: 1, c: dPIn!.mutableData, ldc: inT)
    }
}
