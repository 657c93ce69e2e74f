import CastTensor
import Foundation
import Testing
@testable import CastAnalysis

@Suite struct PCATests {
    /// Covariance accumulated in batches (and merged) equals the two-pass formula.
    @Test func covarianceMatchesTwoPassFormula() throws {
        let x = Matrices.scaled(Matrices.spread(200, 12, seed: 1), by: 1, plus: 1000)  // a large offset
        var batched = CovarianceAccumulator(width: 12)
        batched.add(x.data, rows: 50)
        var other = CovarianceAccumulator(width: 12)
        other.add(x.data + 50 * 12, rows: 150)
        try batched.merge(other)
        let c = try batched.covariance()
        let n = 200, d = 12
        var mean = [Double](repeating: 0, count: d)
        for r in 0..<n { for j in 0..<d { mean[j] += Double(x.data[r * d + j]) / Double(n) } }
        for i in 0..<d {
            #expect(abs(batched.mean[i] - mean[i]) <= 1e-9 * 1000)
            for j in 0..<d {
                var s = 0.0
                for r in 0..<n { s += (Double(x.data[r * d + i]) - mean[i]) * (Double(x.data[r * d + j]) - mean[j]) }
                s /= Double(n - 1)
                #expect(abs(c[i * d + j] - s) <= 1e-9 * max(1, abs(s)), "C[\(i), \(j)] \(c[i * d + j]) vs \(s)")
            }
        }
    }

    /// Eigenvalues satisfy C·v = λ·v in double, ratios sum to ≤ 1, components are orthonormal
    /// with their largest entry positive, and the participation ratio is (Σλ)²/Σλ².
    @Test func componentsAreEigenpairs() throws {
        let x = Matrices.spread(300, 16, seed: 2)
        var s = CovarianceAccumulator(width: 16)
        try s.add(x)
        let pca = try PrincipalComponents(s, components: 16)
        let c = try s.covariance()
        for i in 0..<16 {
            let v = pca.componentValues[(i * 16)..<((i + 1) * 16)].map { $0 }
            for r in 0..<16 {
                var cv = 0.0
                for t in 0..<16 { cv += c[r * 16 + t] * v[t] }
                #expect(abs(cv - pca.explainedVariance[i] * v[r]) <= 1e-9 * pca.explainedVariance[0])
            }
            let largest = v.indices.max { abs(v[$0]) < abs(v[$1]) }!
            #expect(v[largest] > 0)
        }
        #expect(pca.explainedVariance == pca.explainedVariance.sorted(by: >))
        let ratioSum = pca.explainedVarianceRatio.reduce(0, +)
        #expect(ratioSum <= 1 + 1e-12 && ratioSum > 0.999999)
        let total = pca.explainedVariance.reduce(0, +), squares = pca.explainedVariance.reduce(0) { $0 + $1 * $1 }
        #expect(abs(pca.participationRatio - total * total / squares) <= 1e-9 * pca.participationRatio)
        // Top-k equals the first k of the full decomposition.
        let top = try PrincipalComponents(s, components: 3)
        for i in 0..<3 { #expect(abs(top.explainedVariance[i] - pca.explainedVariance[i]) <= 1e-10 * pca.explainedVariance[0]) }
        #expect(top.explainedVarianceRatio.reduce(0, +) < 1)
    }

    /// Projections have the eigenvalues as their variances and are uncorrelated.
    @Test func projectionsCarryTheVariances() throws {
        let x = Matrices.spread(400, 10, seed: 3)
        var s = CovarianceAccumulator(width: 10)
        try s.add(x)
        let pca = try PrincipalComponents(s, components: 4)
        let y = try pca.project(x)
        for i in 0..<4 {
            var mean = 0.0, variance = 0.0
            for r in 0..<400 { mean += Double(y.data[r * 4 + i]) / 400 }
            for r in 0..<400 { variance += pow(Double(y.data[r * 4 + i]) - mean, 2) / 399 }
            #expect(abs(mean) <= 1e-5)
            #expect(abs(variance - pca.explainedVariance[i]) <= 1e-4 * pca.explainedVariance[i])
        }
    }

    /// A spectrum 10⁴ apart (as in residual streams): the double Rayleigh–Ritz step keeps
    /// small components accurate to the 1e-4 the numpy checks ask for.
    @Test func wideSpectrumStaysAccurate() throws {
        var x = Matrices.spread(500, 20, seed: 4)
        for r in 0..<500 { x.mutableData[r * 20] *= 300 }
        var s = CovarianceAccumulator(width: 20)
        try s.add(x)
        let pca = try PrincipalComponents(s, components: 6)
        let c = try s.covariance()
        let exact = SymmetricJacobi.eigen(c, n: 20)
        for i in 0..<6 {
            #expect(abs(pca.explainedVariance[i] - exact.values[i]) <= 1e-8 * exact.values[i], "λ\(i)")
        }
    }

    @Test func tooFewTokensSayHowManyAreNeeded() throws {
        var s = CovarianceAccumulator(width: 8)
        try s.add(Matrices.spread(4, 8, seed: 5))
        let error = #expect(throws: AnalysisError.self) { try PrincipalComponents(s, components: 5) }
        #expect(error?.description.contains("at least 6 tokens, got 4") == true, "\(error?.description ?? "")")
        let wide = #expect(throws: AnalysisError.self) { try PrincipalComponents(s, components: 9) }
        #expect(wide?.description.contains("only 8 wide") == true)
        let empty = #expect(throws: AnalysisError.self) { try PrincipalComponents(CovarianceAccumulator(width: 8), components: 1) }
        #expect(empty?.description.contains("none were captured") == true)
    }

    @Test func jacobiSolvesSmallMatrices() {
        let a: [Double] = [4, 1, 0, 1, 3, 1, 0, 1, 2]
        let (values, vectors) = SymmetricJacobi.eigen(a, n: 3)
        for i in 0..<3 {
            for r in 0..<3 {
                var av = 0.0
                for t in 0..<3 { av += a[r * 3 + t] * vectors[i * 3 + t] }
                #expect(abs(av - values[i] * vectors[i * 3 + r]) <= 1e-12)
            }
        }
        #expect(abs(values.reduce(0, +) - 9) <= 1e-12)
    }
}

/// The tiled upper triangle the covariance is accumulated in: every entry on or above the
/// diagonal has one place, and a covariance wider than a tile equals the two-pass formula.
@Suite struct TriangleTilesTests {
    @Test func everyUpperEntryHasItsOwnPlace() {
        for width in [1, 5, 128, 200, 257] {
            let tiles = TriangleTiles(width: width)
            #expect(tiles.values.count == TriangleTiles.storage(width: width))
            var seen = Set<Int>()
            for i in 0..<width { for j in i..<width { seen.insert(tiles.index(i, j)) } }
            #expect(seen.count == width * (width + 1) / 2)
            #expect(seen.allSatisfy { (0..<tiles.values.count).contains($0) })
        }
        #expect(TriangleTiles.storage(width: 896) < 896 * 896 * 6 / 10)
    }

    @Test func wideCovarianceMatchesTwoPassFormula() throws {
        let n = 300, d = 200
        let x = Matrices.scaled(Matrices.spread(n, d, seed: 7), by: 1, plus: 50)
        var s = CovarianceAccumulator(width: d)
        s.add(x.data, rows: 120)
        s.add(x.data + 120 * d, rows: 180)
        let c = try s.covariance()
        var mean = [Double](repeating: 0, count: d)
        for r in 0..<n { for j in 0..<d { mean[j] += Double(x.data[r * d + j]) / Double(n) } }
        var squares = 0.0, worst = 0.0
        for i in 0..<d {
            for j in 0..<d {
                var v = 0.0
                for r in 0..<n { v += (Double(x.data[r * d + i]) - mean[i]) * (Double(x.data[r * d + j]) - mean[j]) }
                v /= Double(n - 1)
                squares += v * v
                worst = max(worst, abs(c[i * d + j] - v) / max(1, abs(v)))
            }
        }
        #expect(worst <= 1e-9)
        #expect(abs(try s.squaredNorm() - squares) <= 1e-9 * squares)
    }
}
