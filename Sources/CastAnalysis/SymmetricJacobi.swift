/// Eigenpairs of a small symmetric matrix in double precision by cyclic Jacobi rotations:
/// slow (O(n³) per sweep) but accurate to double rounding however close the eigenvalues
/// are, which is what PCA's Rayleigh–Ritz refinement needs on its small projected matrix.
enum SymmetricJacobi {
    /// Eigenvalues descending, and eigenvectors as rows (`vectors[i * n + j]`: entry j of the
    /// eigenvector of `values[i]`), for the row-major symmetric `[n, n]` matrix `a`.
    static func eigen(_ a: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        var a = a
        var v = [Double](repeating: 0, count: n * n)  // columns are eigenvectors
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0, diagonal = 0.0
            for i in 0..<n {
                diagonal += a[i * n + i] * a[i * n + i]
                for j in (i + 1)..<max(n, i + 1) { off += a[i * n + j] * a[i * n + j] }
            }
            if off <= 1e-30 * max(diagonal, Double.leastNormalMagnitude) { break }
            for p in 0..<n {
                for q in (p + 1)..<max(n, p + 1) {
                    let apq = a[p * n + q]
                    if apq == 0 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {  // rows/columns p and q of A
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
        var vectors = [Double](repeating: 0, count: n * n)
        for (row, column) in order.enumerated() {
            for k in 0..<n { vectors[row * n + k] = v[k * n + column] }
        }
        return (order.map { a[$0 * n + $0] }, vectors)
    }
}
