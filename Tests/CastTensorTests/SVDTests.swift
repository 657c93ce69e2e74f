import Testing
@testable import CastTensor

/// Thin and truncated SVD. Entries are N(0, 1) or singular values ≤ 9, dimensions ≤ 30.
/// Bounds: reconstruction ‖UΣVᵀ − A‖∞ ≤ 2e-5, orthonormality ≤ 1e-5, known singular values
/// ≤ 2e-5 (measured ≤ 3e-6). A layout or transpose slip fails by O(1).
@Suite struct SVDTests {
    /// max |U·diag(S)·Vᵀ − A| in Double.
    static func reconstructionError(_ a: Tensor, _ d: SingularValueDecomposition) -> Double {
        let (m, n, k) = (a.shape[0], a.shape[1], d.s.count)
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for r in 0..<k { s += Double(d.u[i, r]) * Double(d.s[r]) * Double(d.vt[r, j]) }
                worst = max(worst, abs(s - Double(a[i, j])))
            }
        }
        return worst
    }

    @Test(arguments: [[30, 12], [12, 30], [20, 20], [1, 7], [7, 1]])
    func thinReconstructsTallWideAndSquare(shape: [Int]) throws {
        let a = Tensor.randomNormal(shape, seed: 11)
        let d = try SVD.thin(a)
        let k = shape.min()!
        #expect(d.u.shape == [shape[0], k])
        #expect(d.s.shape == [k])
        #expect(d.vt.shape == [k, shape[1]])
        #expect(LinalgReference.isDescending(d.s))
        #expect(d.s.scalars.allSatisfy { $0 >= 0 })
        let error = Self.reconstructionError(a, d)
        #expect(error < 2e-5, "‖UΣVᵀ − A‖∞ = \(error)")
        #expect(LinalgReference.columnOrthonormalityError(d.u) < 1e-5)
        #expect(LinalgReference.rowOrthonormalityError(d.vt) < 1e-5)
    }

    /// A rank-5 matrix with σ = 9, 7, 5, 3, 1: those come back, then zeros (within 2e-5).
    @Test(arguments: [[24, 16], [16, 24]])
    func recoversKnownSingularValues(shape: [Int]) throws {
        let sigma: [Double] = [9, 7, 5, 3, 1]
        let a = LinalgReference.matrix(rows: shape[0], cols: shape[1], singularValues: sigma, seed: 21)
        let d = try SVD.thin(a)
        for i in 0..<16 {
            #expect(abs(Double(d.s[i]) - (i < 5 ? sigma[i] : 0)) < 2e-5, "σ\(i) = \(d.s[i])")
        }
    }

    /// Truncated rank-k = the leading k triplets of the thin SVD (bit-identical: same
    /// factorisation), and its reconstruction error obeys Eckart–Young: the Frobenius error
    /// is √(Σ_{i≥k} σᵢ²) within 1e-4 relative.
    @Test(arguments: [[30, 12], [12, 30], [20, 20]])
    func truncatedIsLeadingPartOfThin(shape: [Int]) throws {
        let a = Tensor.randomNormal(shape, seed: 31)
        let thin = try SVD.thin(a)
        let k = 4
        let t = try SVD.truncated(a, rank: k)
        #expect(t.u.shape == [shape[0], k])
        #expect(t.s.shape == [k])
        #expect(t.vt.shape == [k, shape[1]])
        for i in 0..<k { #expect(t.s[i] == thin.s[i]) }
        for r in 0..<shape[0] { for i in 0..<k { #expect(t.u[r, i] == thin.u[r, i]) } }
        for i in 0..<k { for c in 0..<shape[1] { #expect(t.vt[i, c] == thin.vt[i, c]) } }

        var squaredError = 0.0
        for i in 0..<shape[0] {
            for j in 0..<shape[1] {
                var s = 0.0
                for r in 0..<k { s += Double(t.u[i, r]) * Double(t.s[r]) * Double(t.vt[r, j]) }
                squaredError += (s - Double(a[i, j])) * (s - Double(a[i, j]))
            }
        }
        let tail = thin.s.scalars.dropFirst(k).reduce(0.0) { $0 + Double($1) * Double($1) }
        #expect(abs(squaredError.squareRoot() - tail.squareRoot()) < 1e-4 * tail.squareRoot())
    }

    @Test func fullRankTruncationEqualsThin() throws {
        let a = Tensor.randomNormal([9, 6], seed: 41)
        let thin = try SVD.thin(a), t = try SVD.truncated(a, rank: 6)
        #expect(t.u == thin.u && t.s == thin.s && t.vt == thin.vt)
    }

    /// Each row of Vᵀ has its largest-magnitude entry positive, and flipping U with it keeps
    /// the product (checked by the reconstruction tests).
    @Test func singularVectorSignsAreCanonical() throws {
        let d = try SVD.thin(Tensor.randomNormal([15, 10], seed: 51))
        for i in 0..<10 {
            let row = (0..<10).map { d.vt[i, $0] }
            #expect(row.max(by: { abs($0) < abs($1) })! > 0)
        }
    }

    @Test func badInputsThrow() {
        let a = Tensor.randomNormal([5, 3], seed: 61)
        for k in [0, 4, -2] {
            #expect { _ = try SVD.truncated(a, rank: k) } throws: { "\($0)".contains("k = \(k)") && "\($0)".contains("[5, 3]") }
        }
        var bad = a
        bad[4, 1] = .nan
        #expect { _ = try SVD.thin(bad) } throws: { "\($0)".contains("[4, 1]") }
        #expect { _ = try SVD.truncated(bad, rank: 2) } throws: { "\($0)".contains("[4, 1]") }
        #expect { _ = try SVD.thin(Tensor(zeros: [2, 3, 4])) } throws: { "\($0)".contains("[2, 3, 4]") }
        #expect { _ = try SVD.thin(Tensor(zeros: [0, 4])) } throws: { "\($0)".contains("empty") }
    }
}
