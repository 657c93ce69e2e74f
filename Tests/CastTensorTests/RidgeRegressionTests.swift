import Foundation
import Testing
@testable import CastTensor

/// Streamed ridge least squares against exact answers: a linear map recovered from its
/// rows fed in chunks, the ridge's shrinkage against the closed form in Double, and bad
/// input.
@Suite struct RidgeRegressionTests {
    /// y = W·x exactly, rows fed in three uneven chunks: W comes back (tiny ridge).
    @Test(arguments: [(6, 4), (5, 9), (12, 12)])
    func recoversAnExactMap(p: Int, q: Int) throws {
        let w = Tensor.randomNormal([q, p], seed: 3)
        let x = Tensor.randomNormal([50, p], seed: 4)
        let y = try Tensor.matmul(x, w, transposeB: true)
        var fit = RidgeRegression(inputs: p, outputs: q)
        for range in [0..<7, 7..<31, 31..<50] {
            try fit.add(x: Self.rows(x, range), y: Self.rows(y, range))
        }
        #expect(fit.rows == 50)
        let found = try fit.solve(ridge: 1e-7)
        #expect(found.shape == [q, p])
        var worst: Float = 0
        for i in 0..<w.count { worst = max(worst, abs(found.data[i] - w.data[i])) }
        #expect(worst < 1e-3, "max |W − Ŵ| = \(worst)")
    }

    /// With a real ridge, the answer is (XᵀX + λI)⁻¹XᵀY with λ = ridge·mean(diag XᵀX):
    /// checked against Gaussian elimination in Double on noisy data.
    @Test func ridgeShrinksAsTheClosedFormSays() throws {
        let (n, p, q) = (20, 5, 3)
        let x = Tensor.randomNormal([n, p], seed: 7), y = Tensor.randomNormal([n, q], seed: 8)
        var fit = RidgeRegression(inputs: p, outputs: q)
        try fit.add(x: x, y: y)
        let ridge: Float = 0.3
        let found = try fit.solve(ridge: ridge)
        var g = [[Double]](repeating: [Double](repeating: 0, count: p + q), count: p)
        for i in 0..<p {
            for j in 0..<p { g[i][j] = (0..<n).reduce(0) { $0 + Double(x[$1, i]) * Double(x[$1, j]) } }
            for j in 0..<q { g[i][p + j] = (0..<n).reduce(0) { $0 + Double(x[$1, i]) * Double(y[$1, j]) } }
        }
        let lambda = Double(ridge) * (0..<p).reduce(0) { $0 + g[$1][$1] } / Double(p)
        for i in 0..<p { g[i][i] += lambda }
        for c in 0..<p {  // Gauss-Jordan, SPD so no pivoting needed
            let pivot = g[c][c]
            for j in 0..<(p + q) { g[c][j] /= pivot }
            for r in 0..<p where r != c {
                let f = g[r][c]
                for j in 0..<(p + q) { g[r][j] -= f * g[c][j] }
            }
        }
        for i in 0..<q { for j in 0..<p { #expect(abs(Double(found[i, j]) - g[j][p + i]) < 1e-5, "W[\(i), \(j)]") } }
    }

    /// R² from the kept sums against R² computed from the rows: 1 for an exact map, the
    /// signal's share of the variance for a noisy one, about 0 for unrelated rows.
    @Test func explainedVarianceMatchesTheRows() throws {
        let (n, p, q) = (400, 6, 4)
        let x = Tensor.randomNormal([n, p], seed: 11), w = Tensor.randomNormal([q, p], seed: 12)
        let signal = try Tensor.matmul(x, w, transposeB: true), noise = Tensor.randomNormal([n, q], seed: 13)
        var y = signal
        for i in 0..<y.count { y.mutableData[i] += 2 * noise.data[i] + 1 }  // an offset W·x cannot fit
        var fit = RidgeRegression(inputs: p, outputs: q)
        try fit.add(x: Self.rows(x, 0..<150), y: Self.rows(y, 0..<150))
        try fit.add(x: Self.rows(x, 150..<n), y: Self.rows(y, 150..<n))
        let found = try fit.solve(ridge: 0.01)
        let predicted = try Tensor.matmul(x, found, transposeB: true)
        var residual = 0.0, total = 0.0
        for j in 0..<q {
            let mean = (0..<n).reduce(0.0) { $0 + Double(y[$1, j]) } / Double(n)
            for r in 0..<n {
                residual += pow(Double(predicted[r, j] - y[r, j]), 2)
                total += pow(Double(y[r, j]) - mean, 2)
            }
        }
        let r2 = try #require(try fit.explainedVariance(by: found))
        #expect(abs(r2 - (1 - residual / total)) < 1e-6, "sums \(r2), rows \(1 - residual / total)")
        #expect(r2 > 0.2 && r2 < 0.8, "variance about the mean ~6 signal + 4 noise, residual ~4 noise + 1 offset: R² \(r2)")

        var exact = RidgeRegression(inputs: p, outputs: q)
        try exact.add(x: x, y: signal)
        #expect(try #require(try exact.explainedVariance(by: try exact.solve(ridge: 1e-7))) > 0.999_99)
        var unrelated = RidgeRegression(inputs: p, outputs: q)
        try unrelated.add(x: x, y: noise)
        #expect(abs(try #require(try unrelated.explainedVariance(by: try unrelated.solve()))) < 0.05)
        #expect(try RidgeRegression(inputs: p, outputs: q).explainedVariance(by: found) == nil, "no rows")

        // Through a view V: the same R² computed from V·y and V·Ŵ·x row by row.
        let view = Tensor.randomNormal([2, q], seed: 14)
        var viewed = RidgeRegression(inputs: p, outputs: q, view: view)
        try viewed.add(x: Self.rows(x, 0..<90), y: Self.rows(y, 0..<90))
        try viewed.add(x: Self.rows(x, 90..<n), y: Self.rows(y, 90..<n))
        let z = try Tensor.matmul(y, view, transposeB: true), zHat = try Tensor.matmul(predicted, view, transposeB: true)
        var viewResidual = 0.0, viewTotal = 0.0
        for j in 0..<2 {
            let mean = (0..<n).reduce(0.0) { $0 + Double(z[$1, j]) } / Double(n)
            for r in 0..<n {
                viewResidual += pow(Double(zHat[r, j] - z[r, j]), 2)
                viewTotal += pow(Double(z[r, j]) - mean, 2)
            }
        }
        let viewR2 = try #require(try viewed.explainedVariance(by: found, throughView: true))
        #expect(abs(viewR2 - (1 - viewResidual / viewTotal)) < 1e-6, "sums \(viewR2), rows \(1 - viewResidual / viewTotal)")
        #expect(abs(try #require(try viewed.explainedVariance(by: found)) - r2) < 1e-9, "a view leaves the plain R² alone")
        #expect(throws: TensorError.self) { try fit.explainedVariance(by: found, throughView: true) }
        #expect(throws: TensorError.self) { try exact.explainedVariance(by: Tensor(zeros: [p, q])) }
    }

    @Test func badInput() throws {
        var fit = RidgeRegression(inputs: 3, outputs: 2)
        #expect(throws: TensorError.self) { try fit.solve() }
        #expect(throws: TensorError.self) { try fit.add(x: Tensor(zeros: [4, 3]), y: Tensor(zeros: [4, 3])) }
        try fit.add(x: Tensor(zeros: [4, 3]), y: Tensor(zeros: [4, 2]))
        // Inputs that carry nothing give the zero map, not NaN.
        try #expect(fit.solve().scalars == [Float](repeating: 0, count: 6))
        #expect(throws: TensorError.self) { try fit.solve(ridge: -1) }
    }

    static func rows(_ t: Tensor, _ range: Range<Int>) -> Tensor {
        let width = t.shape[1]
        return try! Tensor(Array(t.scalars[(range.lowerBound * width)..<(range.upperBound * width)]), shape: [range.count, width])
    }
}
