import CBLAS

/// Linear least squares with a ridge, fitted from rows streamed in chunks: the map `W`
/// `[q, p]` (a `Linear` weight, `y ≈ W·x`) minimising `Σ‖W·x − y‖² + λ‖W‖²` with
/// `λ = ridge · mean(diag XᵀX)`, so the ridge is relative to the inputs' scale. Only the
/// `[p, p]` and `[p, q]` sums are kept, never the rows. Solved by Cholesky (LAPACK `sposv`).
public struct RidgeRegression {
    public let inputs: Int
    public let outputs: Int
    private var gram: Tensor
    private var cross: Tensor
    public private(set) var rows = 0

    public init(inputs p: Int, outputs q: Int) {
        inputs = p
        outputs = q
        gram = Tensor(zeros: [p, p])
        cross = Tensor(zeros: [p, q])
    }

    /// Adds rows `x [n, p]`, `y [n, q]`.
    public mutating func add(x: Tensor, y: Tensor) throws {
        let n = x.count / max(inputs, 1)
        guard x.shape.last == inputs, y.shape.last == outputs, y.count == n * outputs else {
            throw TensorError.shapeMismatch("RidgeRegression.add", x.shape, y.shape,
                                            "expected [n, \(inputs)] inputs and [n, \(outputs)] outputs")
        }
        guard n > 0 else { return }
        BLAS.sgemm(transposeA: true, transposeB: false, m: inputs, n: inputs, k: n,
                   a: x.data, lda: inputs, b: x.data, ldb: inputs, beta: 1, c: gram.mutableData, ldc: inputs)
        BLAS.sgemm(transposeA: true, transposeB: false, m: inputs, n: outputs, k: n,
                   a: x.data, lda: inputs, b: y.data, ldb: outputs, beta: 1, c: cross.mutableData, ldc: outputs)
        rows += n
    }

    /// `W [q, p]`. Throws before any row was added, or when the system is not positive
    /// definite (ridge 0 with too few or collinear rows).
    public func solve(ridge: Float = 1e-3) throws -> Tensor {
        let op = "RidgeRegression.solve"
        guard rows > 0 else { throw TensorError(op, "no rows were added") }
        guard ridge.isFinite, ridge >= 0 else { throw TensorError(op, "ridge must be finite and ≥ 0, got \(ridge)") }
        var a = gram
        let p = inputs, ap = a.mutableData
        var trace = 0.0
        for i in 0..<p { trace += Double(ap[i * p + i]) }
        let lambda = Float(Double(ridge) * trace / Double(p)) + Float.leastNormalMagnitude
        for i in 0..<p { ap[i * p + i] += lambda }
        // The row-major [p, q] sums read column-major are [q, p]: hand LAPACK the transpose,
        // and its column-major [p, q] answer is W [q, p] row-major.
        var b = try cross.transposed()
        var n = try LAPACK.int32(p, op, "inputs"), nrhs = try LAPACK.int32(outputs, op, "outputs")
        var lda = n, ldb = n, info: Int32 = 0
        var uplo = UInt8(ascii: "U")
        _ = BLAS.singleThreaded  // LAPACK's own BLAS calls stay on one thread too
        withUnsafeMutablePointer(to: &uplo) { u in
            u.withMemoryRebound(to: CChar.self, capacity: 1) { uc in
                sposv_(uc, &n, &nrhs, ap, &lda, b.mutableData, &ldb, &info, 1)
            }
        }
        try LAPACK.check(info: info, "sposv", op, failure: "the system is not positive definite (add rows or a ridge)")
        return b
    }
}
