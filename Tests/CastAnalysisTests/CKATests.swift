import CastTensor
import Testing
@testable import CastAnalysis

@Suite struct CKATests {
    /// CKA(X, X) = 1, for the linear kernel and RBF.
    @Test(arguments: [CKAKernel.linear, .rbf(sigmaScale: 0.5), .rbf(sigmaScale: 1)])
    func selfSimilarityIsOne(kernel: CKAKernel) throws {
        for seed in UInt64(1)...4 {
            let x = Matrices.spread(40 + Int(seed) * 7, 6 + Int(seed) * 3, seed: seed)
            #expect(abs(try CKA.similarity(x, x, kernel: kernel) - 1) <= 1e-6)
        }
    }

    /// Linear CKA is invariant to orthogonal transforms and isotropic scaling (and to a
    /// shift); RBF CKA with the median heuristic to the same transforms (distances scale).
    @Test(arguments: [CKAKernel.linear, .rbf(sigmaScale: 0.5)])
    func invariantToOrthogonalMapsAndScaling(kernel: CKAKernel) throws {
        for seed in UInt64(10)...14 {
            let d = 8 + Int(seed % 5)
            let x = Matrices.spread(50, d, seed: seed)
            let y = Matrices.spread(50, 5, seed: seed + 100)
            let base = try CKA.similarity(x, y, kernel: kernel)
            let rotated = Matrices.product(x, Matrices.orthogonal(d, seed: seed + 200))
            let scaled = Matrices.scaled(rotated, by: 7.5, plus: 3)
            #expect(abs(try CKA.similarity(rotated, y, kernel: kernel) - base) <= 1e-5, "rotation, seed \(seed)")
            #expect(abs(try CKA.similarity(scaled, y, kernel: kernel) - base) <= 1e-5, "scaling, seed \(seed)")
            #expect(abs(try CKA.similarity(y, x, kernel: kernel) - base) <= 1e-9, "symmetry, seed \(seed)")
            #expect(base >= 0 && base <= 1)
        }
    }

    /// A non-isotropic scaling changes linear CKA (the invariance tests are not vacuous).
    @Test func anisotropicScalingChangesIt() throws {
        let x = Matrices.spread(60, 6, seed: 21)
        let y = Matrices.product(x, Matrices.orthogonal(6, seed: 22))
        var stretched = x
        for r in 0..<60 { stretched.mutableData[r * 6 + 5] *= 20 }
        let same = try CKA.similarity(x, y), changed = try CKA.similarity(stretched, y)
        #expect(abs(same - 1) <= 1e-5)
        #expect(changed < 0.99, "\(changed)")
    }

    /// Shuffled tokens score near the baseline; identical ones far above it.
    @Test func permutationBaselineIsLowForUnrelatedRows() throws {
        let x = Matrices.spread(200, 10, seed: 31)
        let y = Matrices.product(x, Matrices.orthogonal(10, seed: 32))
        let gx = try CenteredGram(x), gy = try CenteredGram(y)
        let baseline = try CKA.permutationBaseline(gx, gy, permutations: 6, seed: 3)
        #expect(try CKA.similarity(gx, gy) > 0.999)
        #expect(baseline.mean < 0.2, "baseline \(baseline)")
        #expect(try CKA.permutationBaseline(gx, gy, permutations: 6, seed: 3) == baseline)  // seeded
    }

    @Test func mismatchedTokensAndTinyInputsAreErrors() throws {
        let a = Matrices.spread(10, 3, seed: 1), b = Matrices.spread(11, 3, seed: 2)
        let e = #expect(throws: AnalysisError.self) { try CKA.similarity(a, b) }
        #expect(e?.description.contains("10 and 11") == true)
        #expect(throws: AnalysisError.self) { try CKA.similarity(Tensor(zeros: [1, 3]), Tensor(zeros: [1, 3])) }
        #expect(throws: AnalysisError.self) { try CKAKernel(parsing: "poly") }
    }

    /// The order-preserving layer map follows the diagonal of a banded matrix.
    @Test func layerCorrespondenceIsMonotoneAndFollowsTheBand() throws {
        // 4 target layers × 6 source layers, best along s ≈ 1.5·t, with a decoy out of order.
        var scores: [[Double]] = []
        for t in 0..<4 {
            var row: [Double] = []
            for s in 0..<6 { row.append(1 - abs(Double(s) - 1.5 * Double(t)) / 6) }
            scores.append(row)
        }
        scores[1][0] = 0.99  // tempts layer 1 backwards below layer 0's choice
        scores[0][2] = 1.2
        let c = try LayerCorrespondence(scores: scores, targetLayers: [0, 1, 2, 3], sourceLayers: Array(0..<6))
        let chosen = (0..<4).map { c.pairs[$0]! }
        #expect(chosen == chosen.sorted(), "\(chosen)")
        #expect(c.best[1] == 0 || c.best[1] == 2)
        #expect(c.mapping.description == (0..<4).map { "\($0):\(chosen[$0])" }.joined(separator: ","))
    }

    @Test func mutualNeighborsOfIdenticalRepresentationsAgree() throws {
        let x = Matrices.spread(80, 8, seed: 41)
        let rotated = Matrices.product(x, Matrices.orthogonal(8, seed: 42))
        let a = try NearestNeighbors(CenteredGram(x), k: 5), b = try NearestNeighbors(CenteredGram(rotated), k: 5)
        #expect(abs(try NearestNeighbors.mutualAlignment(a, b) - 1) <= 1e-12)
        let unrelated = try NearestNeighbors(CenteredGram(Matrices.spread(80, 8, seed: 43)), k: 5)
        #expect(try NearestNeighbors.mutualAlignment(a, unrelated) < 0.3)
    }
}
