import CBLAS
import CastTensor

/// PCA of one point's activations: mean-centred, the eigen-decomposition of the covariance
/// (normalised by n − 1, as numpy's `np.cov` and sklearn), the top `k` components, their
/// variances and shares of the total, and the participation ratio (Σλ)²/Σλ², the effective
/// number of dimensions the activations spread over.
public struct PrincipalComponents: Sendable {
    public let tokens: Int
    public let width: Int
    public let mean: [Double]
    /// `[k, width]`: unit eigenvectors as rows, each with its largest-magnitude entry positive.
    public let components: Tensor
    /// The covariance's top-k eigenvalues, descending.
    public let explainedVariance: [Double]
    /// Each eigenvalue over the total variance (the covariance's trace): sums to ≤ 1.
    public let explainedVarianceRatio: [Double]
    public let totalVariance: Double
    /// (Σλ)² / Σλ² over all eigenvalues, = tr(C)² / ‖C‖²_F: between 1 and the width.
    public let participationRatio: Double

    public var componentCount: Int { explainedVariance.count }
    /// The components in double precision (what `project` uses), row-major `[k, width]`.
    let componentValues: [Double]

    /// The top `k` components of the covariance `statistics` hold. Needs at least k + 1
    /// tokens (n tokens span at most n − 1 directions around their mean) and k ≤ width.
    public init(_ statistics: CovarianceAccumulator, components k: Int) throws {
        let n = statistics.count, d = statistics.width
        guard k >= 1 else { throw AnalysisError("PCA needs at least 1 component, got \(k)") }
        guard n > 0 else { throw AnalysisError("PCA needs tokens; none were captured (empty text?)") }
        guard k <= d else { throw AnalysisError("PCA: \(k) components asked of a point only \(d) wide; use --components ≤ \(d)") }
        guard n >= k + 1 else {
            throw AnalysisError("PCA: \(k) components need at least \(k + 1) tokens, got \(n) "
                                + "(n tokens span at most n − 1 directions); give more text or ask for ≤ \(max(n - 1, 0)) components")
        }
        let c = try statistics.covariance()
        var trace = 0.0, squares = 0.0
        for i in 0..<d { trace += c[i * d + i] }
        for v in c { squares += v * v }
        guard trace.isFinite, squares.isFinite else { throw AnalysisError("PCA: the activations hold non-finite values") }
        // LAPACK (float32) finds the top directions; a Rayleigh–Ritz step in double then
        // makes them exact to double rounding: residual streams have eigenvalues 10⁴× apart,
        // where float32 alone mixes neighbouring components at the 1e-3 level.
        let extra = min(d, k + 8)
        let single = try Tensor(c.map { Float($0) }, shape: [d, d])
        let start = try (extra == d ? Eigen.symmetric(single) : Eigen.symmetric(single, top: extra))
        let (values, vectors) = Self.rayleighRitz(c, d: d, start: start.vectors, count: extra)
        tokens = n
        width = d
        mean = statistics.mean
        componentValues = Array(vectors[0..<(k * d)])
        components = try Tensor(componentValues.map { Float($0) }, shape: [k, d])
        explainedVariance = values.prefix(k).map { max($0, 0) }
        totalVariance = trace
        explainedVarianceRatio = explainedVariance.map { trace > 0 ? $0 / trace : 0 }
        participationRatio = squares > 0 ? trace * trace / squares : 0
    }

    /// Coordinates of `rows` (`[n, width]`) on the components: `(x − mean)·Vᵀ`, `[n, k]`.
    public func project(_ rows: Tensor) throws -> Tensor {
        guard rows.rank == 2, rows.shape[1] == width else {
            throw AnalysisError("PCA of width \(width) cannot project rows of shape \(rows.shape)")
        }
        let n = rows.shape[0], k = componentCount
        var out = Tensor(zeros: [n, k])
        let p = out.mutableData, x = rows.data
        var centred = [Double](repeating: 0, count: width)
        for r in 0..<n {
            for j in 0..<width { centred[j] = Double(x[r * width + j]) - mean[j] }
            for i in 0..<k {
                var s = 0.0
                for j in 0..<width { s += centred[j] * componentValues[i * width + j] }
                p[r * k + i] = Float(s)
            }
        }
        return out
    }

    /// Ritz pairs of the symmetric `c` on the span of `count` starting rows (after one power
    /// step), in double: orthonormalise C·V, project C onto it, solve that small problem by
    /// Jacobi. Eigenvectors as rows, descending, each with its largest entry positive.
    static func rayleighRitz(_ c: [Double], d: Int, start: Tensor, count m: Int) -> (values: [Double], vectors: [Double]) {
        var v = [Double](repeating: 0, count: m * d)
        for i in 0..<(m * d) { v[i] = Double(start.data[i]) }
        // W = V·C (rows), then modified Gram–Schmidt twice over the rows.
        var w = [Double](repeating: 0, count: m * d)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(d), Int32(d), 1, v, Int32(d), c, Int32(d),
                    0, &w, Int32(d))
        for _ in 0..<2 {
            for i in 0..<m {
                for j in 0..<i {
                    var dot = 0.0
                    for t in 0..<d { dot += w[i * d + t] * w[j * d + t] }
                    for t in 0..<d { w[i * d + t] -= dot * w[j * d + t] }
                }
                var norm = 0.0
                for t in 0..<d { norm += w[i * d + t] * w[i * d + t] }
                norm = norm.squareRoot()
                // A direction C annihilates (rank-deficient data) keeps its LAPACK vector.
                if norm > 0 { for t in 0..<d { w[i * d + t] /= norm } }
            }
        }
        // H = Q·C·Qᵀ (m × m).
        var qc = [Double](repeating: 0, count: m * d), h = [Double](repeating: 0, count: m * m)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(d), Int32(d), 1, w, Int32(d), c, Int32(d),
                    0, &qc, Int32(d))
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(m), Int32(d), 1, qc, Int32(d), w, Int32(d),
                    0, &h, Int32(m))
        for i in 0..<m { for j in 0..<i { let s = 0.5 * (h[i * m + j] + h[j * m + i]); h[i * m + j] = s; h[j * m + i] = s } }
        let small = SymmetricJacobi.eigen(h, n: m)
        var vectors = [Double](repeating: 0, count: m * d)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(d), Int32(m), 1, small.vectors, Int32(m), w, Int32(d),
                    0, &vectors, Int32(d))
        for i in 0..<m {
            var largest = 0
            for t in 1..<max(d, 1) where abs(vectors[i * d + t]) > abs(vectors[i * d + largest]) { largest = t }
            if vectors[i * d + largest] < 0 { for t in 0..<d { vectors[i * d + t] = -vectors[i * d + t] } }
        }
        return (small.values, vectors)
    }
}
