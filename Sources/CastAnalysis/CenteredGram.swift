import Foundation
import CastTensor

/// The doubly centred kernel matrix HKH (`[n, n]`, H = I − 11ᵀ/n) of one representation's
/// rows, and its Frobenius norm: what CKA compares. The rows are centred (in double)
/// before their products are taken, so a large common offset does not cancel in float.
public struct CenteredGram: Sendable {
    public let count: Int
    /// Row-major `[n, n]`.
    public let values: [Float]
    public let norm: Double
    public static let maximumTokens = 16384

    public init(_ x: Tensor, kernel: CKAKernel = .linear) throws {
        guard x.rank == 2, x.shape[0] > 0, x.shape[1] > 0 else {
            throw AnalysisError("CKA needs a non-empty [tokens, width] matrix, got shape \(x.shape)")
        }
        let n = x.shape[0], d = x.shape[1]
        guard n >= 2 else { throw AnalysisError("CKA needs at least 2 tokens, got \(n)") }
        // The gram is n² floats per point (plus n² doubles while it is built).
        guard n <= Self.maximumTokens else {
            throw AnalysisError("CKA over \(n) tokens would hold \(n)×\(n) matrices per point; use a token budget of at most \(Self.maximumTokens) (--tokens)")
        }
        let p = x.data
        var mean = [Double](repeating: 0, count: d)
        for r in 0..<n { for j in 0..<d { mean[j] += Double(p[r * d + j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        var centred = Tensor(zeros: [n, d])
        let c = centred.mutableData
        for r in 0..<n {
            for j in 0..<d {
                let v = Double(p[r * d + j]) - mean[j]
                guard v.isFinite else { throw AnalysisError("CKA: the activations hold non-finite values") }
                c[r * d + j] = Float(v)
            }
        }
        var gram = Tensor(zeros: [n, n])
        BLAS.sgemm(transposeA: false, transposeB: true, m: n, n: n, k: d, a: centred.data, lda: d,
                   b: centred.data, ldb: d, beta: 0, c: gram.mutableData, ldc: n)
        var k = [Double](repeating: 0, count: n * n)
        let g = gram.data
        switch kernel {
        case .linear:
            for i in 0..<(n * n) { k[i] = Double(g[i]) }
        case .rbf(let scale):
            var distances = [Double](repeating: 0, count: n * n)
            var upper: [Double] = []
            upper.reserveCapacity(n * (n - 1) / 2)
            for i in 0..<n {
                for j in 0..<n {
                    let d2 = max(Double(g[i * n + i]) + Double(g[j * n + j]) - 2 * Double(g[i * n + j]), 0)
                    distances[i * n + j] = d2
                    if j > i { upper.append(d2) }
                }
            }
            upper.sort()
            let median = upper.isEmpty ? 0 : (upper.count % 2 == 1 ? upper[upper.count / 2]
                                                : 0.5 * (upper[upper.count / 2 - 1] + upper[upper.count / 2]))
            let sigma2 = scale * scale * median
            guard sigma2 > 0 else { throw AnalysisError("RBF CKA: the tokens' activations are all identical (median distance 0)") }
            for i in 0..<(n * n) { k[i] = Foundation.exp(-distances[i] / (2 * sigma2)) }
        }
        // H K H: subtract row and column means, add back the grand mean.
        var rowMean = [Double](repeating: 0, count: n), grand = 0.0
        for i in 0..<n {
            var s = 0.0
            for j in 0..<n { s += k[i * n + j] }
            rowMean[i] = s / Double(n)
            grand += s
        }
        grand /= Double(n * n)
        var out = [Float](repeating: 0, count: n * n)
        var squares = 0.0
        for i in 0..<n {
            for j in 0..<n {
                // K is symmetric, so column means equal row means.
                let v = k[i * n + j] - rowMean[i] - rowMean[j] + grand
                out[i * n + j] = Float(v)
                squares += v * v
            }
        }
        count = n
        values = out
        norm = squares.squareRoot()
    }
}
