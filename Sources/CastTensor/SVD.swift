import CBLAS

/// `A ≈ U·diag(S)·Vᵀ` for an `[m, n]` matrix: `u` is `[m, k]` (orthonormal columns), `s` is
/// `[k]` (singular values, descending, ≥ 0), `vt` is `[k, n]` (orthonormal rows).
/// Each right singular vector (row of `vt`) has its largest-magnitude entry positive, the
/// matching column of `u` flipped with it, so the factors are deterministic.
public struct SingularValueDecomposition: Sendable {
    public let u: Tensor
    public let s: Tensor
    public let vt: Tensor
}

/// Singular value decomposition on LAPACK's divide-and-conquer `sgesdd`.
public enum SVD {
    /// Thin SVD, `k = min(m, n)`: `A = U·diag(S)·Vᵀ` up to float rounding.
    /// Throws for an empty or non-finite input, or when LAPACK does not converge.
    public static func thin(_ a: Tensor) throws -> SingularValueDecomposition {
        try decompose(a, op: "SVD.thin")
    }

    /// The `k` leading singular triplets (1 ≤ k ≤ min(m, n)): the best rank-k approximation.
    /// Computed from the thin SVD, so it costs the same as `thin`.
    public static func truncated(_ a: Tensor, rank k: Int) throws -> SingularValueDecomposition {
        let op = "SVD.truncated"
        if a.rank == 2 {
            let limit = min(a.shape[0], a.shape[1])
            guard k >= 1 && k <= limit else {
                throw TensorError(op, "rank k = \(k) is out of range for a \(a.shape) matrix (need 1 ≤ k ≤ \(limit))")
            }
        }
        let full = try decompose(a, op: op)
        let m = full.u.shape[0], n = full.vt.shape[1], width = full.s.count
        if k == width { return full }
        var u = Tensor(zeros: [m, k])
        let uOut = u.mutableData, uIn = full.u.data
        for r in 0..<m { (uOut + r * k).update(from: uIn + r * width, count: k) }
        let s = Tensor(Array(full.s.scalars.prefix(k)))
        var vt = Tensor(zeros: [k, n])
        vt.mutableData.update(from: full.vt.data, count: k * n)
        return SingularValueDecomposition(u: u, s: s, vt: vt)
    }

    private static func decompose(_ a: Tensor, op: String) throws -> SingularValueDecomposition {
        let (m, n) = try LAPACK.checkedMatrix(a, op)
        let k = min(m, n)
        var s = Tensor(zeros: [k]), vt = Tensor(zeros: [k, n]), u = Tensor(zeros: [m, k])
        let up = u.mutableData, vtp = vt.mutableData
        if m <= n {
            // Row-major A read column-major is Aᵀ [n, m], which is tall: LAPACK factors
            // Aᵀ = U′·Σ·V′ᵀ, so A = V′·Σ·U′ᵀ. Its column-major U′ [n, k] read row-major is our
            // Vᵀ [k, n], and its column-major V′ᵀ [k, m] read row-major is our U [m, k].
            var input = a
            let matrix = input.mutableData  // a private copy: sgesdd destroys its input
            try gesdd(matrix, rows: n, cols: m, s: s.mutableData, u: vtp, vt: up, op: op)
        } else {
            // Tall A: hand LAPACK A itself in column-major order rather than the wide Aᵀ,
            // since sgesdd is markedly slower on wide matrices (LQ instead of QR: measured
            // 3.8 s vs 2.2 s for 4864×896). The outputs come back column-major: transpose them.
            var matrix = [Float](repeating: 0, count: m * n)
            var uColumnMajor = [Float](repeating: 0, count: m * k)
            var vtColumnMajor = [Float](repeating: 0, count: k * n)
            try matrix.withUnsafeMutableBufferPointer { colMajor in
                transpose(a.data, rows: m, cols: n, into: colMajor.baseAddress!)
                try uColumnMajor.withUnsafeMutableBufferPointer { uc in
                    try vtColumnMajor.withUnsafeMutableBufferPointer { vtc in
                        try gesdd(colMajor.baseAddress!, rows: m, cols: n, s: s.mutableData,
                                  u: uc.baseAddress!, vt: vtc.baseAddress!, op: op)
                        transpose(uc.baseAddress!, rows: k, cols: m, into: up)
                        transpose(vtc.baseAddress!, rows: n, cols: k, into: vtp)
                    }
                }
            }
        }
        for i in 0..<k where LAPACK.makeLargestEntryPositive(vtp, row: i, cols: n) {
            for r in 0..<m { up[r * k + i] = -up[r * k + i] }
        }
        return SingularValueDecomposition(u: u, s: s, vt: vt)
    }

    /// Thin SVD of the column-major `[rows, cols]` `matrix` (destroyed): `u` receives
    /// column-major `[rows, k]`, `vt` column-major `[k, cols]`, `k = min(rows, cols)`.
    private static func gesdd(_ matrix: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                              s: UnsafeMutablePointer<Float>, u: UnsafeMutablePointer<Float>,
                              vt: UnsafeMutablePointer<Float>, op: String) throws {
        let k = min(rows, cols)
        var m32 = try LAPACK.int32(rows, op, "rows"), n32 = try LAPACK.int32(cols, op, "cols")
        var ldvt = try LAPACK.int32(k, op, "min(m, n)")
        var iscratch = [Int32](repeating: 0, count: 8 * k)
        _ = BLAS.singleThreaded  // LAPACK's own BLAS calls stay on one thread too
        var info: Int32 = 0
        var lwork: Int32 = -1
        var workQuery: Float = 0
        sgesdd_("S", &m32, &n32, matrix, &m32, s, u, &m32, vt, &ldvt, &workQuery, &lwork, &iscratch, &info, 1)
        try LAPACK.check(info: info, "sgesdd", op, failure: "workspace query failed")
        let lworkCount = LAPACK.workspaceLength(queried: workQuery, minimum: 4 * k * k + 7 * k + max(rows, cols))
        lwork = try LAPACK.int32(lworkCount, op, "workspace length")
        var scratch = [Float](repeating: 0, count: lworkCount)
        sgesdd_("S", &m32, &n32, matrix, &m32, s, u, &m32, vt, &ldvt, &scratch, &lwork, &iscratch, &info, 1)
        try LAPACK.check(info: info, "sgesdd", op, failure: "the bidiagonal SVD did not converge")
    }

    /// `dst` = the row-major `[cols, rows]` transpose of the row-major `[rows, cols]` `src`.
    private static func transpose(_ src: UnsafePointer<Float>, rows: Int, cols: Int,
                                  into dst: UnsafeMutablePointer<Float>) {
        for i in 0..<rows {
            for j in 0..<cols { dst[j * rows + i] = src[i * cols + j] }
        }
    }
}
