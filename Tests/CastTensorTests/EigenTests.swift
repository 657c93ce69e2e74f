import Testing
@testable import CastTensor

/// Symmetric eigendecomposition. Inputs have norm ≤ ~6, n ≤ 48. Bounds: eigenvalue error and
/// residual ‖Av − λv‖∞ ≤ 2e-5, orthonormality ‖VVᵀ − I‖∞ ≤ 1e-5, top-k vs full 2e-5
/// (measured ≤ 2e-6 each); any mix-up of order, layout or vectors fails by O(1).
@Suite struct EigenTests {
    /// λ = 6, 5.75, …, −5.75 (well separated, both signs), in a scrambled order (17 is
    /// coprime to 48) so LAPACK has to sort them.
    static let spectrum: [Double] = (0..<48).map { 6 - 0.25 * Double(($0 * 17) % 48) }

    /// max over pairs of |A·v − λ·v| (Double accumulation); vectors are rows.
    static func residual(_ a: Tensor, _ e: SymmetricEigendecomposition) -> Double {
        let n = a.shape[0], k = e.values.count
        let ap = a.data, vp = e.vectors.data
        var worst = 0.0
        for i in 0..<k {
            let lambda = Double(e.values.data[i])
            for r in 0..<n {
                var s = 0.0
                for c in 0..<n { s += Double(ap[r * n + c]) * Double(vp[i * n + c]) }
                worst = max(worst, abs(s - lambda * Double(vp[i * n + r])))
            }
        }
        return worst
    }

    @Test func fullDecompositionOfKnownSpectrum() throws {
        let a = LinalgReference.symmetric(eigenvalues: Self.spectrum, seed: 1)
        let e = try Eigen.symmetric(a)
        #expect(e.values.shape == [48])
        #expect(e.vectors.shape == [48, 48])
        #expect(LinalgReference.isDescending(e.values))
        let expected = Self.spectrum.sorted(by: >)
        let valueError = zip(e.values.scalars, expected).map { abs(Double($0) - $1) }.max()!
        #expect(valueError < 2e-5, "eigenvalue error \(valueError)")
        let residual = Self.residual(a, e)
        #expect(residual < 2e-5, "‖Av − λv‖∞ = \(residual)")
        let orthogonality = LinalgReference.rowOrthonormalityError(e.vectors)
        #expect(orthogonality < 1e-5, "‖VVᵀ − I‖∞ = \(orthogonality)")
    }

    /// A random symmetric matrix (odd size, unknown spectrum): the definition, orthonormality,
    /// order, and Σλ = trace(A) within 1e-4 (a sum of 33 floats of size ~5).
    @Test func randomSymmetricMatrix() throws {
        let g = Tensor.randomNormal([33, 33], seed: 5)
        var a = Tensor(zeros: [33, 33])
        for i in 0..<33 { for j in 0..<33 { a[i, j] = 0.5 * (g[i, j] + g[j, i]) } }
        let e = try Eigen.symmetric(a)
        #expect(LinalgReference.isDescending(e.values))
        #expect(Self.residual(a, e) < 2e-5)
        #expect(LinalgReference.rowOrthonormalityError(e.vectors) < 1e-5)
        let trace = (0..<33).reduce(0.0) { $0 + Double(a[$1, $1]) }
        let sum = e.values.scalars.reduce(0.0) { $0 + Double($1) }
        #expect(abs(trace - sum) < 1e-4)
    }

    /// The sign convention: every eigenvector's largest-magnitude entry is positive.
    @Test func eigenvectorSignsAreCanonical() throws {
        let a = LinalgReference.symmetric(eigenvalues: Self.spectrum, seed: 2)
        let e = try Eigen.symmetric(a)
        for i in 0..<48 {
            let row = (0..<48).map { e.vectors[i, $0] }
            let largest = row.max(by: { abs($0) < abs($1) })!
            #expect(largest > 0)
        }
    }

    /// Top-k (ssyevr) against the first k of the full decomposition (ssyevd): values and
    /// vectors element-wise within 2e-5 (gaps are 0.25, so vectors are well defined).
    @Test(arguments: [1, 5, 48])
    func topKMatchesLeadingPairsOfFull(k: Int) throws {
        let a = LinalgReference.symmetric(eigenvalues: Self.spectrum, seed: 3)
        let full = try Eigen.symmetric(a)
        let top = try Eigen.symmetric(a, top: k)
        #expect(top.values.shape == [k])
        #expect(top.vectors.shape == [k, 48])
        #expect(LinalgReference.isDescending(top.values))
        #expect(Self.residual(a, top) < 2e-5)
        for i in 0..<k {
            #expect(abs(top.values[i] - full.values[i]) < 2e-5)
            for j in 0..<48 {
                #expect(abs(top.vectors[i, j] - full.vectors[i, j]) < 2e-5, "pair \(i) entry \(j)")
            }
        }
    }

    /// A covariance computed in float32 (XᵀX through BLAS) is symmetric only up to
    /// rounding; it must be accepted, and its eigenvalues are ≥ 0 up to 1e-3.
    @Test func covarianceFromMatmulIsAccepted() throws {
        let x = Tensor.randomNormal([200, 24], seed: 8)
        let cov = try Tensor.matmul(x, x, transposeA: true, alpha: 1.0 / 200)
        let e = try Eigen.symmetric(cov, top: 4)
        #expect(e.values.scalars.allSatisfy { $0 > -1e-3 })
        #expect(Self.residual(cov, e) < 1e-4)
    }

    @Test func nonSquareInputThrowsNamingShape() {
        #expect { _ = try Eigen.symmetric(Tensor(zeros: [3, 4])) } throws: { "\($0)".contains("[3, 4]") }
        #expect { _ = try Eigen.symmetric(Tensor(zeros: [3, 4]), top: 1) } throws: { "\($0)".contains("[3, 4]") }
        #expect { _ = try Eigen.symmetric(Tensor(zeros: [9])) } throws: { "\($0)".contains("[9]") }
        #expect { _ = try Eigen.symmetric(Tensor(zeros: [0, 0])) } throws: { "\($0)".contains("empty") }
    }

    @Test func outOfRangeKThrows() {
        let a = LinalgReference.symmetric(eigenvalues: [3, 2, 1], seed: 4)
        for k in [0, -1, 4] {
            #expect { _ = try Eigen.symmetric(a, top: k) } throws: { error in
                let text = "\(error)"
                return text.contains("k = \(k)") && text.contains("[3, 3]")
            }
        }
    }

    @Test func nonFiniteInputThrowsNamingElement() {
        var a = LinalgReference.symmetric(eigenvalues: [3, 2, 1], seed: 4)
        a[1, 2] = .nan
        #expect { _ = try Eigen.symmetric(a) } throws: { "\($0)".contains("[1, 2]") && "\($0)".contains("nan") }
        a[1, 2] = .infinity
        #expect { _ = try Eigen.symmetric(a, top: 1) } throws: { "\($0)".contains("[1, 2]") && "\($0)".contains("inf") }
    }

    @Test func asymmetricInputThrows() {
        var a = LinalgReference.symmetric(eigenvalues: [3, 2, 1], seed: 4)
        a[0, 2] += 0.5
        #expect { _ = try Eigen.symmetric(a) } throws: { "\($0)".contains("not symmetric") }
    }
}
