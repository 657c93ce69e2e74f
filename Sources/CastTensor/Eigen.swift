import CBLAS

/// Eigenpairs of a real symmetric matrix.
///
/// `values` is `[k]` in descending order; `vectors` is `[k, n]` and holds the unit
/// eigenvectors as **rows**: `vectors[i, :]` belongs to `values[i]`, so `A·vᵢ = λᵢ·vᵢ`.
/// (For the usual `A = V·diag(λ)·Vᵀ` with eigenvectors as columns, `V` is `vectors`
/// transposed.) Each eigenvector's largest-magnitude entry is positive, so the result does
/// not depend on which LAPACK routine produced it.
public struct SymmetricEigendecomposition: Sendable {
    public let values: Tensor
    public let vectors: Tensor
}

/// Symmetric eigendecomposition on LAPACK (`ssyevd` for all pairs, `ssyevr` for the top k).
public enum Eigen {
    /// All `n` eigenpairs of the symmetric `[n, n]` matrix `a`.
    ///
    /// `a` must be symmetric up to `symmetryTolerance · max|aᵢⱼ|` (float rounding in a
    /// covariance matrix is fine); it is symmetrised as (A + Aᵀ)/2 before the solve.
    /// Throws for a non-square, empty, non-finite or clearly asymmetric input, or when
    /// LAPACK does not converge.
    public static func symmetric(_ a: Tensor, symmetryTolerance: Float = 1e-4) throws -> SymmetricEigendecomposition {
        let op = "Eigen.symmetric"
        var work = try symmetrised(a, op, symmetryTolerance)
        let n = a.shape[0]
        var n32 = try LAPACK.int32(n, op, "n")
        var values = [Float](repeating: 0, count: n)
        var info: Int32 = 0
        let matrix = work.mutableData
        _ = BLAS.singleThreaded  // LAPACK's own BLAS calls stay on one thread too

        // Workspace query, then the solve. The matrix is symmetric, so reading the row-major
        // buffer as column-major (its transpose) changes nothing.
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workQuery: Float = 0, iworkQuery: Int32 = 0
        ssyevd_("V", "L", &n32, matrix, &n32, &values, &workQuery, &lwork, &iworkQuery, &liwork, &info, 1, 1)
        try LAPACK.check(info: info, "ssyevd", op, failure: "workspace query failed")
        let lworkCount = LAPACK.workspaceLength(queried: workQuery, minimum: 1 + 6 * n + 2 * n * n)
        let liworkCount = max(Int(iworkQuery), 3 + 5 * n)
        lwork = try LAPACK.int32(lworkCount, op, "workspace length")
        liwork = try LAPACK.int32(liworkCount, op, "integer workspace length")
        var scratch = [Float](repeating: 0, count: lworkCount)
        var iscratch = [Int32](repeating: 0, count: liworkCount)
        ssyevd_("V", "L", &n32, matrix, &n32, &values, &scratch, &lwork, &iscratch, &liwork, &info, 1, 1)
        try LAPACK.check(info: info, "ssyevd", op, failure: "the eigenvalue iteration did not converge")

        // Column j of the column-major output (= row j of the buffer) is the eigenvector of
        // values[j], ascending: reverse both.
        return descending(values: values, vectorRows: matrix, count: n, n: n)
    }

    /// The `k` largest eigenpairs (1 ≤ k ≤ n) of the symmetric `[n, n]` matrix `a`; the same
    /// result as the first `k` of `symmetric(a)` (up to rounding), computed without the rest.
    public static func symmetric(_ a: Tensor, top k: Int, symmetryTolerance: Float = 1e-4) throws -> SymmetricEigendecomposition {
        let op = "Eigen.symmetric(top:)"
        var work = try symmetrised(a, op, symmetryTolerance)
        let n = a.shape[0]
        guard k >= 1 && k <= n else {
            throw TensorError(op, "k = \(k) is out of range for a \(a.shape) matrix (need 1 ≤ k ≤ \(n))")
        }
        var n32 = try LAPACK.int32(n, op, "n")
        // range "I" selects eigenvalues il...iu (1-based, ascending): the last k.
        var il = Int32(n - k + 1), iu = n32
        var vl: Float = 0, vu: Float = 0
        // The safe minimum gives the most accurate eigenvalues (LAPACK's recommendation).
        var abstol = Float.leastNormalMagnitude
        var found: Int32 = 0
        var values = [Float](repeating: 0, count: n)
        var vectors = [Float](repeating: 0, count: n * k)
        var support = [Int32](repeating: 0, count: 2 * n)
        var info: Int32 = 0
        let matrix = work.mutableData
        _ = BLAS.singleThreaded  // LAPACK's own BLAS calls stay on one thread too

        var lwork: Int32 = -1, liwork: Int32 = -1
        var workQuery: Float = 0, iworkQuery: Int32 = 0
        ssyevr_("V", "I", "L", &n32, matrix, &n32, &vl, &vu, &il, &iu, &abstol, &found, &values,
                &vectors, &n32, &support, &workQuery, &lwork, &iworkQuery, &liwork, &info, 1, 1, 1)
        try LAPACK.check(info: info, "ssyevr", op, failure: "workspace query failed")
        let lworkCount = LAPACK.workspaceLength(queried: workQuery, minimum: 26 * n)
        let liworkCount = max(Int(iworkQuery), 10 * n)
        lwork = try LAPACK.int32(lworkCount, op, "workspace length")
        liwork = try LAPACK.int32(liworkCount, op, "integer workspace length")
        var scratch = [Float](repeating: 0, count: lworkCount)
        var iscratch = [Int32](repeating: 0, count: liworkCount)
        ssyevr_("V", "I", "L", &n32, matrix, &n32, &vl, &vu, &il, &iu, &abstol, &found, &values,
                &vectors, &n32, &support, &scratch, &lwork, &iscratch, &liwork, &info, 1, 1, 1)
        try LAPACK.check(info: info, "ssyevr", op, failure: "the eigenvalue computation did not converge")
        guard Int(found) == k else {
            throw TensorError(op, "ssyevr returned \(found) eigenpairs, expected \(k)")
        }
        return vectors.withUnsafeMutableBufferPointer { z in
            descending(values: values, vectorRows: z.baseAddress!, count: k, n: n)
        }
    }

    /// A copy of `a` made exactly symmetric, after checking that it nearly is.
    private static func symmetrised(_ a: Tensor, _ op: String, _ tolerance: Float) throws -> Tensor {
        let (rows, cols) = try LAPACK.checkedMatrix(a, op)
        guard rows == cols else {
            throw TensorError(op, "needs a square symmetric matrix, got shape \(a.shape)")
        }
        let n = rows, src = a.data
        var largest: Float = 0
        for i in 0..<a.count { largest = max(largest, abs(src[i])) }
        var out = Tensor(zeros: a.shape)
        let dst = out.mutableData
        for i in 0..<n {
            dst[i * n + i] = src[i * n + i]
            for j in 0..<i {
                let upper = src[j * n + i], lower = src[i * n + j]
                guard abs(upper - lower) <= tolerance * largest else {
                    throw TensorError(op, "the \(a.shape) matrix is not symmetric: a[\(i), \(j)] = \(lower) "
                                      + "but a[\(j), \(i)] = \(upper) (tolerance \(tolerance) × max|a| = \(tolerance * largest))")
                }
                let mean = 0.5 * (upper + lower)
                dst[i * n + j] = mean
                dst[j * n + i] = mean
            }
        }
        return out
    }

    /// Packs `count` ascending eigenpairs (vectors as contiguous rows of length `n`) into a
    /// descending result with the sign convention applied.
    private static func descending(values: [Float], vectorRows: UnsafeMutablePointer<Float>,
                                   count: Int, n: Int) -> SymmetricEigendecomposition {
        var outValues = Tensor(zeros: [count])
        var outVectors = Tensor(zeros: [count, n])
        let v = outValues.mutableData, rows = outVectors.mutableData
        for i in 0..<count {
            let from = count - 1 - i
            v[i] = values[from]
            (rows + i * n).update(from: vectorRows + from * n, count: n)
            LAPACK.makeLargestEntryPositive(rows, row: i, cols: n)
        }
        return SymmetricEigendecomposition(values: outValues, vectors: outVectors)
    }
}
