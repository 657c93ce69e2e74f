@testable import CastTensor

/// Double-precision helpers for checking the LAPACK-backed decompositions: matrices are
/// flat row-major `[Double]` arrays.
enum LinalgReference {
    /// A seeded random orthogonal `[n, n]` matrix: the product of `n` Householder reflections.
    static func orthogonal(_ n: Int, seed: UInt64) -> [Double] {
        var q = [Double](repeating: 0, count: n * n)
        for i in 0..<n { q[i * n + i] = 1 }
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<n {
            let v = (0..<n).map { _ in Double(rng.nextNormal()) }
            let vv = v.reduce(0) { $0 + $1 * $1 }
            // Q ← Q·(I − 2vvᵀ/vᵀv)
            for r in 0..<n {
                var qv = 0.0
                for c in 0..<n { qv += q[r * n + c] * v[c] }
                let f = 2 * qv / vv
                for c in 0..<n { q[r * n + c] -= f * v[c] }
            }
        }
        return q
    }

    /// `Q·diag(λ)·Qᵀ` as an exactly symmetric float tensor.
    static func symmetric(eigenvalues lambda: [Double], seed: UInt64) -> Tensor {
        let n = lambda.count
        let q = orthogonal(n, seed: seed)
        var a = Tensor(zeros: [n, n])
        let p = a.mutableData
        for i in 0..<n {
            for j in 0...i {
                var s = 0.0
                for k in 0..<n { s += q[i * n + k] * lambda[k] * q[j * n + k] }
                p[i * n + j] = Float(s)
                p[j * n + i] = Float(s)
            }
        }
        return a
    }

    /// An `[m, n]` tensor with the given singular values (rank = their count), from the
    /// leading columns of two random orthogonal matrices.
    static func matrix(rows m: Int, cols n: Int, singularValues sigma: [Double], seed: UInt64) -> Tensor {
        let qm = orthogonal(m, seed: seed), qn = orthogonal(n, seed: seed &+ 1)
        var a = Tensor(zeros: [m, n])
        let p = a.mutableData
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for k in sigma.indices { s += qm[i * m + k] * sigma[k] * qn[j * n + k] }
                p[i * n + j] = Float(s)
            }
        }
        return a
    }

    /// max |(X·Xᵀ) − I| over the rows of the row-major `[rows, cols]` tensor `x`.
    static func rowOrthonormalityError(_ x: Tensor) -> Double {
        let cols = x.shape[1], p = x.data
        return gramIdentityError(vectors: x.shape[0], length: cols) { v, k in p[v * cols + k] }
    }

    /// max |(Xᵀ·X) − I| over the columns of `x`.
    static func columnOrthonormalityError(_ x: Tensor) -> Double {
        let cols = x.shape[1], p = x.data
        return gramIdentityError(vectors: cols, length: x.shape[0]) { v, k in p[k * cols + v] }
    }

    /// max |G − I| for the Gram matrix G of `vectors` vectors, `element(v, k)` being
    /// element k of vector v.
    private static func gramIdentityError(vectors: Int, length: Int, _ element: (Int, Int) -> Float) -> Double {
        var worst = 0.0
        for i in 0..<vectors {
            for j in 0..<vectors {
                var s = 0.0
                for k in 0..<length { s += Double(element(i, k)) * Double(element(j, k)) }
                worst = max(worst, abs(s - (i == j ? 1 : 0)))
            }
        }
        return worst
    }

    static func maxAbs(_ t: Tensor) -> Double {
        t.scalars.reduce(0) { max($0, Double(abs($1))) }
    }

    static func isDescending(_ t: Tensor) -> Bool {
        let v = t.scalars
        return zip(v, v.dropFirst()).allSatisfy { $0 >= $1 }
    }
}
