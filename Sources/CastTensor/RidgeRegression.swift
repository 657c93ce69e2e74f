import CBLAS

/// Linear least squares with a ridge, fitted from rows streamed in chunks: the map `W`
/// `[q, p]` (a `Linear` weight, `y ≈ W·x`) minimising `Σ‖W·x − y‖² + λ‖W‖²` with
/// `λ = ridge · mean(diag XᵀX)`, so the ridge is relative to the inputs' scale. Only the
/// `[p, p]` and `[p, q]` sums are kept, never the rows. Sums and the Cholesky solve (LAPACK
/// `dposv`) are in double precision: activations make XᵀX ill-conditioned (outlier
/// dimensions, cond ~1e6 with the default ridge), which in float32 turns last-bit
/// differences between BLAS kernels into percent-level differences in W.
public struct RidgeRegression {
    public let inputs: Int
    public let outputs: Int
    private var gram: [Double]
    private var cross: [Double]
    /// Σy per output and Σ‖y‖², for the share of variance a map explains.
    private var outputSums: [Double]
    private var outputSquares = 0.0
    /// A fixed `[r, q]` view of the outputs and Σ‖V·y‖², for the share of V·y a map explains.
    public let view: Tensor?
    private var viewSquares = 0.0
    public private(set) var rows = 0

    /// `view` `[r, q]`: also keep what `explainedVariance(by:throughView:)` needs to say how
    /// well `V·W·x` fits `V·y` (the outputs as a reader of them sees them, e.g. a LoRA's A).
    public init(inputs p: Int, outputs q: Int, view: Tensor? = nil) {
        precondition(view.map { $0.rank == 2 && $0.shape[1] == q } ?? true, "RidgeRegression: the view must be [r, \(q)]")
        inputs = p
        outputs = q
        self.view = view
        gram = [Double](repeating: 0, count: p * p)
        cross = [Double](repeating: 0, count: p * q)
        outputSums = [Double](repeating: 0, count: q)
    }

    /// Adds rows `x [n, p]`, `y [n, q]`.
    public mutating func add(x: Tensor, y: Tensor) throws {
        let n = x.count / max(inputs, 1)
        guard x.shape.last == inputs, y.shape.last == outputs, y.count == n * outputs else {
            throw TensorError.shapeMismatch("RidgeRegression.add", x.shape, y.shape,
                                            "expected [n, \(inputs)] inputs and [n, \(outputs)] outputs")
        }
        guard n > 0 else { return }
        let xd = (0..<x.count).map { Double(x.data[$0]) }, yd = (0..<y.count).map { Double(y.data[$0]) }
        _ = BLAS.singleThreaded
        let p = Int32(inputs), q = Int32(outputs), k = Int32(n)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p, p, k, 1, xd, p, xd, p, 1, &gram, p)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p, q, k, 1, xd, p, yd, q, 1, &cross, q)
        for (i, v) in yd.enumerated() {
            outputSums[i % outputs] += v
            outputSquares += v * v
        }
        if let view {
            let viewed = try Tensor.matmul(y, view, transposeB: true)
            for i in 0..<viewed.count { viewSquares += Double(viewed.data[i]) * Double(viewed.data[i]) }
        }
        rows += n
    }

    /// R² of `w [q, p]` on the rows added: 1 − Σ‖W·x − y‖² / Σ‖y − ȳ‖², from the kept sums.
    /// 1 when W·x is y, about 0 when it explains no more than y's mean, negative when worse;
    /// nil before any row or when y is constant.
    public func explainedVariance(by w: Tensor) throws -> Double? {
        try explainedVariance(by: w, throughView: false)
    }

    /// With `throughView`, the same for `V·W·x` against `V·y` (`view` given at init):
    /// XᵀVy = XᵀY·Vᵀ and ΣVy = V·Σy follow from the kept sums, Σ‖Vy‖² is kept.
    public func explainedVariance(by w: Tensor, throughView: Bool) throws -> Double? {
        let p = inputs, q = outputs, op = "RidgeRegression.explainedVariance"
        guard w.shape == [q, p] else { throw TensorError.shapeMismatch(op, w.shape, [q, p], "expected W [\(q), \(p)]") }
        guard rows > 0 else { return nil }
        var m = (0..<w.count).map { Double(w.data[$0]) }, cross = self.cross, sums = outputSums, squares = outputSquares, r = q
        _ = BLAS.singleThreaded
        if throughView {
            guard let view else { throw TensorError(op, "no view was given at init") }
            r = view.shape[0]
            let v = (0..<view.count).map { Double(view.data[$0]) }
            var vm = [Double](repeating: 0, count: r * p), viewedCross = [Double](repeating: 0, count: p * r)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r), Int32(p), Int32(q), 1, v, Int32(q), m, Int32(p), 0,
                        &vm, Int32(p))
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(p), Int32(r), Int32(q), 1, cross, Int32(q), v, Int32(q), 0,
                        &viewedCross, Int32(r))
            sums = (0..<r).map { j in (0..<q).reduce(0.0) { $0 + v[j * q + $1] * outputSums[$1] } }
            (m, cross, squares) = (vm, viewedCross, viewSquares)
        }
        // Σ‖M·x − z‖² = Σ‖z‖² − 2·tr(M·XᵀZ) + tr(M·XᵀX·Mᵀ), M [r, p], z the (viewed) outputs.
        var mg = [Double](repeating: 0, count: r * p)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r), Int32(p), Int32(p), 1, m, Int32(p), gram, Int32(p), 0,
                    &mg, Int32(p))
        var quadratic = 0.0, linear = 0.0
        for j in 0..<r {
            for i in 0..<p {
                quadratic += mg[j * p + i] * m[j * p + i]
                linear += m[j * p + i] * cross[i * r + j]
            }
        }
        let residual = max(0, squares - 2 * linear + quadratic)
        let total = squares - sums.reduce(0) { $0 + $1 * $1 } / Double(rows)
        guard total > 0 else { return nil }
        return 1 - residual / total
    }

    /// `W [q, p]`. Throws before any row was added, or when the system is not positive
    /// definite (ridge 0 with too few or collinear rows).
    public func solve(ridge: Float = 1e-3) throws -> Tensor {
        let op = "RidgeRegression.solve"
        guard rows > 0 else { throw TensorError(op, "no rows were added") }
        guard ridge.isFinite, ridge >= 0 else { throw TensorError(op, "ridge must be finite and ≥ 0, got \(ridge)") }
        var a = gram
        let p = inputs, q = outputs
        var trace = 0.0
        for i in 0..<p { trace += a[i * p + i] }
        let lambda = Double(ridge) * trace / Double(p) + Double.leastNormalMagnitude
        for i in 0..<p { a[i * p + i] += lambda }
        // The row-major [p, q] sums read column-major are [q, p]: hand LAPACK the transpose,
        // and its column-major [p, q] answer is W [q, p] row-major.
        var b = [Double](repeating: 0, count: p * q)
        for i in 0..<p { for j in 0..<q { b[j * p + i] = cross[i * q + j] } }
        var n = try LAPACK.int32(p, op, "inputs"), nrhs = try LAPACK.int32(q, op, "outputs")
        var lda = n, ldb = n, info: Int32 = 0
        var uplo = UInt8(ascii: "U")
        _ = BLAS.singleThreaded  // LAPACK's own BLAS calls stay on one thread too
        withUnsafeMutablePointer(to: &uplo) { u in
            u.withMemoryRebound(to: CChar.self, capacity: 1) { uc in
                dposv_(uc, &n, &nrhs, &a, &lda, &b, &ldb, &info, 1)
            }
        }
        try LAPACK.check(info: info, "dposv", op, failure: "the system is not positive definite (add rows or a ridge)")
        return try Tensor(b.map { Float($0) }, shape: [q, p])
    }
}
